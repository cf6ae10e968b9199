#include "pg_cluster.hpp"

#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>

#include "harness.hpp"

namespace shimgate::testing {
namespace {

namespace fs = std::filesystem;

// The newest /usr/lib/postgresql/<major>/bin holding initdb, or "".
std::string find_bin() {
    std::error_code ec;
    int best = -1;
    std::string bin;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        const std::string name = e.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        if (!fs::exists(e.path() / "bin" / "initdb", ec)) continue;
        if (int major = std::stoi(name); major > best) {
            best = major;
            bin = (e.path() / "bin").string();
        }
    }
    return bin;
}

std::string shell_quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

unsigned short free_loopback_port() {
    unsigned short port = 0;
    ::close(listen_on_loopback(port, "pg_cluster"));
    return port;
}

}  // namespace

pg_cluster::pg_cluster() : bin_(find_bin()), as_postgres_(::geteuid() == 0) {}

pg_cluster::~pg_cluster() {
    if (made_)
        run_shell(as_owner(bin_ + "/pg_ctl -D " + shell_quoted((dir_ / "data").string()) +
                           " -m immediate -w -t 30 stop"));
    if (!dir_.empty()) {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
}

std::string pg_cluster::as_owner(const std::string& command) const {
    // cd /: the postgres user may not be allowed into the test's working directory.
    return "cd / && " + (as_postgres_ ? "runuser -u postgres -- " + command : command);
}

std::string pg_cluster::server_log() const {
    std::ifstream f(dir_ / "server.log");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string pg_cluster::initdb() {
    if (bin_.empty())
        return "no PostgreSQL server: /usr/lib/postgresql/<major>/bin/initdb not found "
               "(Debian package postgresql, scripts/common.sh's test_packages)";
    std::string pattern = (fs::temp_directory_path() / "shimgate-pg-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) return "pg_cluster: mkdtemp " + pattern + " failed";
    dir_ = pattern;
    if (as_postgres_) {
        const passwd* pw = ::getpwnam("postgres");
        if (!pw) return "pg_cluster: running as root, but there is no `postgres` user to run as";
        if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
            return "pg_cluster: chown " + dir_.string() + " to postgres failed";
    }
    auto r = run_shell(as_owner(bin_ + "/initdb -D " + shell_quoted((dir_ / "data").string()) +
                                " -A trust -U postgres --no-sync --locale=C -E UTF8"));
    if (r.exit_code != 0)
        return "initdb failed (exit " + std::to_string(r.exit_code) + "): " + r.output;
    made_ = true;
    return {};
}

std::string pg_cluster::pg_ctl_start() {
    std::error_code ignored;
    fs::remove(dir_ / "server.log", ignored);  // this attempt's log only
    std::string options = "-p " + std::to_string(port_) + " -k " + dir_.string() +
                          " -c listen_addresses=127.0.0.1 -c fsync=off";
    auto r = run_shell(as_owner(bin_ + "/pg_ctl -D " + shell_quoted((dir_ / "data").string()) +
                                " -l " + shell_quoted((dir_ / "server.log").string()) +
                                " -w -t 30 -o " + shell_quoted(options) + " start"));
    if (r.exit_code == 0) {
        running_ = true;
        return {};
    }
    return "pg_ctl start on port " + std::to_string(port_) + " failed (exit " +
           std::to_string(r.exit_code) + "): " + r.output + "\nserver log:\n" + server_log();
}

std::string pg_cluster::start() {
    if (running_) return {};
    if (made_) return pg_ctl_start();  // again, on the same port
    if (std::string why = initdb(); !why.empty()) return why;
    // The port was free a moment ago; another process may take it before the server binds it.
    std::string why;
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = free_loopback_port();
        why = pg_ctl_start();
        if (why.empty()) return {};
        if (why.find("could not bind") == std::string::npos &&
            why.find("already in use") == std::string::npos)
            break;
    }
    return why;
}

std::string pg_cluster::stop() {
    if (!running_) return {};
    auto r = run_shell(as_owner(bin_ + "/pg_ctl -D " + shell_quoted((dir_ / "data").string()) +
                                " -m fast -w -t 30 stop"));
    if (r.exit_code != 0)
        return "pg_ctl stop failed (exit " + std::to_string(r.exit_code) + "): " + r.output;
    running_ = false;
    return {};
}

std::string pg_cluster::uri(const std::string& database) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string pg_cluster::execute(const std::string& sql, const std::string& database) const {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(
        PQconnectdb((uri(database) + "?connect_timeout=5").c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK)
        return std::string("connecting to ") + uri(database) + ": " + PQerrorMessage(conn.get());
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
    auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        return sql + ": " + PQresultErrorMessage(r.get());
    return {};
}

}  // namespace shimgate::testing
