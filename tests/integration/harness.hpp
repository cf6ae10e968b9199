#pragma once
// Integration-test plumbing: start real processes (shimgate, customer-api) on loopback port 0,
// discover their ports from their start-up line, talk to them over real sockets, stop them by PID.
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace shimgate::testing {

// A listening TCP socket on 127.0.0.1 with a port the kernel chose (into `port`); throws naming
// `who` if it cannot be made. The test upstreams and relays accept on it.
int listen_on_loopback(unsigned short& port, const char* who);

// A child process whose output is piped; killed (SIGTERM, then SIGKILL) if still running at the
// end.
class child_process {
  public:
    child_process(const std::string& binary, const std::vector<std::string>& args);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    // Reads output lines until one contains `needle`; that line, or nullopt after `timeout`.
    std::optional<std::string> wait_for_line(
        const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // Sends `sig`; returns the exit status (or -signal) once it exits, nullopt after `timeout`.
    std::optional<int> stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    void signal(int sig);
    int pid() const { return pid_; }
    const std::string& output() const { return output_; }  // everything read so far

  private:
    bool read_some(std::chrono::milliseconds timeout);
    int pid_ = -1;
    int out_fd_ = -1;
    std::string output_;
    std::size_t scanned_ = 0;
    std::optional<int> status_;
};

// The port of a "listening on ...:PORT" line.
unsigned short port_of(const std::string& line);

// The reference backend on 127.0.0.1:0.
struct backend {
    backend(std::vector<std::string> extra = {});
    child_process proc;
    unsigned short port = 0;
};

// A copy of the default rules in a fresh temporary directory (removed at the end), for tests that
// change or add a rule file.
struct temp_rules {
    std::filesystem::path dir;
    temp_rules();
    ~temp_rules();
    temp_rules(const temp_rules&) = delete;
    temp_rules& operator=(const temp_rules&) = delete;
    void write(const std::string& name, const std::string& text) const;
    std::string read(const std::string& name) const;
};

// shimgate on 127.0.0.1:0 in front of `upstream_port`, with the default rules, 2 threads and
// --ledger none unless given.
struct shim {
    shim(unsigned short upstream_port, std::vector<std::string> extra = {});
    child_process proc;
    unsigned short port = 0;
    unsigned short admin_port = 0;  // with --admin
};

// A blocking loopback client with a receive timeout, for byte-exact requests.
class raw_client {
  public:
    explicit raw_client(unsigned short port);
    void send(std::string_view bytes);
    void send_in_pieces(std::string_view bytes, std::size_t piece);  // one write per piece
    // Reads one HTTP response (status line, headers, body as framed); empty status if none.
    struct response {
        unsigned status = 0;
        std::string head;  // raw head, for header checks
        std::string body;
        bool complete = false;  // a whole message was read
    };
    response read_response(bool head_request = false);
    // True if the peer closed the connection (EOF or reset) before `timeout`.
    bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    std::string read_until_close(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // True if the connection ended with a reset (ECONNRESET) rather than a clean close, after
    // reading everything that arrived before it.
    bool ends_with_reset(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    boost::asio::ip::tcp::socket& socket() { return socket_; }

  private:
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    std::string pending_;
};

// One request on a new connection: "METHOD target" with headers and body, HTTP/1.1 and Host set.
raw_client::response request(unsigned short port, std::string_view method, std::string_view target,
                             std::string_view body = {}, std::string_view extra_headers = {});

// The value of a header in a raw head (first occurrence, case-insensitive name), or nullopt.
std::optional<std::string> header_of(const std::string& head, std::string_view name);

// Memory bounds assume the normal allocator: under AddressSanitizer (scripts/sanitize.sh) freed
// memory sits in a quarantine, and ThreadSanitizer keeps shadow memory and its own allocator, so
// RSS says nothing about what the shim keeps and they are skipped.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool rss_is_meaningful = false;
#else
inline constexpr bool rss_is_meaningful = true;
#endif

// Resident set high-water mark of a process, in KiB (VmHWM).
long peak_rss_kib(int pid);

std::string source_dir();

// A fresh path in the temporary directory, unique to this process and moment ("shimgate-NAME-...").
std::filesystem::path temp_path(const std::string& name);

// Polls `ok` every 20 ms until it holds or `timeout` passes; whether it held.
bool wait_until(const std::function<bool()>& ok, std::chrono::milliseconds timeout);

// The default Explo rule (as shipped, not as a test left it) with its deprecation object
// replaced by `deprecation` (a JSON object's text).
std::string explo_rule_with(const std::string& deprecation);

// `t` as RFC 3339 UTC to the second: "2027-05-04T14:00:00Z".
std::string utc(std::chrono::system_clock::time_point t);

// Runs a shell command (stderr merged into stdout); its exit code and output.
struct shell_result {
    int exit_code = -1;
    std::string output;
};
shell_result run_shell(const std::string& command);

// Headless Chromium (Debian's `chromium`) with a throwaway profile (removed at the end), to look
// at a page as a person would: its DOM once loaded, and a screenshot. Each run is bounded (60 s).
class headless_chromium {
  public:
    headless_chromium();
    ~headless_chromium();
    headless_chromium(const headless_chromium&) = delete;
    headless_chromium& operator=(const headless_chromium&) = delete;

    static bool installed();
    // "timeout 60 chromium --headless --no-sandbox ... --user-data-dir=PROFILE": the flags of
    // every run; append the action and the URL.
    const std::string& command() const { return command_; }
    // --dump-dom: the serialised DOM in `output`.
    shell_result dump_dom(const std::string& url) const;
    // --screenshot of a width x height window into `png`.
    shell_result screenshot(const std::string& url, const std::filesystem::path& png, int width,
                            int height) const;

  private:
    std::filesystem::path profile_;
    std::string command_;
};

}  // namespace shimgate::testing
