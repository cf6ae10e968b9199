#pragma once
// A throwaway PostgreSQL server for the tests (Debian's `postgresql` package): its own data
// directory in a fresh temporary directory, trust authentication, 127.0.0.1 on a free port,
// fsync off. Owns the server process and the directory: the destructor stops the one and removes
// the other. Run as root, initdb and pg_ctl run as the `postgres` user (they refuse root).
#include <filesystem>
#include <string>

namespace shimgate::testing {

class pg_cluster {
  public:
    // Only picks the binaries; nothing runs until start().
    pg_cluster();
    ~pg_cluster();
    pg_cluster(const pg_cluster&) = delete;
    pg_cluster& operator=(const pg_cluster&) = delete;

    // The first call makes the cluster (initdb) on a free port; later calls start it again on
    // the same data directory and port (after stop()). "" once it accepts connections, else why
    // (initdb's, pg_ctl's and the server log's own words).
    std::string start();
    // Stops the server (fast shutdown: connections are cut); "" or why.
    std::string stop();

    // postgresql://postgres@127.0.0.1:PORT/DB
    std::string uri(const std::string& database = "postgres") const;
    unsigned short port() const { return port_; }
    // Runs SQL as the superuser on `database` (a direct libpq connection); "" or why.
    std::string execute(const std::string& sql, const std::string& database = "postgres") const;

  private:
    std::string initdb();
    std::string pg_ctl_start();
    std::string as_owner(const std::string& command) const;  // the shell command to run
    std::string server_log() const;

    std::string bin_;            // /usr/lib/postgresql/<major>/bin, "" if none
    std::filesystem::path dir_;  // the temporary directory: data/, the socket, server.log
    unsigned short port_ = 0;
    bool made_ = false;
    bool running_ = false;
    bool as_postgres_ = false;  // run as root: initdb and pg_ctl through runuser
};

}  // namespace shimgate::testing
