#include "harness.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstring>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace shimgate::testing {

namespace fs = std::filesystem;

temp_rules::temp_rules() {
    dir = temp_path("rules");
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(source_dir() + "/rules"))
        if (e.path().extension() == ".json") fs::copy_file(e.path(), dir / e.path().filename());
}

temp_rules::~temp_rules() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
}

void temp_rules::write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
}

std::string temp_rules::read(const std::string& name) const {
    std::ifstream in(dir / name);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int listen_on_loopback(unsigned short& port, const char* who) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 64) != 0)
        throw std::runtime_error(std::string(who) + ": bind/listen failed");
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    return fd;
}

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

child_process::child_process(const std::string& binary, const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(binary.c_str()));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
}

child_process::~child_process() {
    if (!status_) {
        if (!stop(SIGTERM, std::chrono::seconds(10))) {
            ::kill(pid_, SIGKILL);
            wait_exit(std::chrono::seconds(5));
        }
    }
    if (out_fd_ >= 0) ::close(out_fd_);
}

bool child_process::read_some(std::chrono::milliseconds timeout) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[4096];
    auto n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
}

std::optional<std::string> child_process::wait_for_line(const std::string& needle,
                                                        std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        for (;;) {
            auto eol = output_.find('\n', scanned_);
            if (eol == std::string::npos) break;
            std::string line = output_.substr(scanned_, eol - scanned_);
            scanned_ = eol + 1;
            if (line.find(needle) != std::string::npos) return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !read_some(left)) return std::nullopt;
    }
}

void child_process::signal(int sig) {
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
            while (read_some(std::chrono::milliseconds(0))) {
            }
            return status_;
        }
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        // Drain output while waiting, so a chatty child never blocks on a full pipe.
        if (!read_some(std::chrono::milliseconds(20))) std::this_thread::yield();
    }
}

std::optional<int> child_process::stop(int sig, std::chrono::milliseconds timeout) {
    if (status_) return status_;
    signal(sig);
    return wait_exit(timeout);
}

unsigned short port_of(const std::string& line) {
    auto colon = line.rfind(':', line.find(' ', line.find("listening on ") + 13));
    return static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
}

backend::backend(std::vector<std::string> extra)
    : proc(CUSTOMER_API_BIN, [&] {
          std::vector<std::string> a{"--listen", "127.0.0.1:0", "--threads", "1"};
          a.insert(a.end(), extra.begin(), extra.end());
          return a;
      }()) {
    auto line = proc.wait_for_line("listening on");
    if (!line) throw std::runtime_error("customer-api did not start: " + proc.output());
    port = port_of(*line);
}

shim::shim(unsigned short upstream_port, std::vector<std::string> extra)
    : proc(SHIMGATE_BIN, [&] {
          std::vector<std::string> a{"--listen", "127.0.0.1:0"};
          auto given = [&](const char* flag) {
              return std::find(extra.begin(), extra.end(), flag) != extra.end();
          };
          // push_back, not insert of an initializer list: GCC 12 sees a false -Warray-bounds
          // in the list's temporary strings.
          if (!given("--upstream")) {
              a.push_back("--upstream");
              a.push_back("http://127.0.0.1:");
              a.back() += std::to_string(upstream_port);
          }
          if (!given("--rules")) {
              a.push_back("--rules");
              a.push_back(source_dir());
              a.back() += "/rules";
          }
          if (!given("--threads")) {
              a.push_back("--threads");
              a.push_back("2");
          }
          // No ledger file in the tests' working directory unless a test asks for one.
          if (!given("--ledger")) {
              a.push_back("--ledger");
              a.push_back("none");
          }
          a.insert(a.end(), extra.begin(), extra.end());
          return a;
      }()) {
    // "admin listening on ..." (with --admin) comes before the public "listening on ...".
    for (;;) {
        auto line = proc.wait_for_line("listening on");
        if (!line) throw std::runtime_error("shimgate did not start: " + proc.output());
        if (line->find("admin listening on") == std::string::npos) {
            port = port_of(*line);
            return;
        }
        admin_port = port_of(*line);
    }
}

raw_client::raw_client(unsigned short port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    socket_.set_option(tcp::no_delay(true));
    timeval tv{10, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void raw_client::send(std::string_view bytes) {
    net::write(socket_, net::buffer(bytes));
}

void raw_client::send_in_pieces(std::string_view bytes, std::size_t piece) {
    while (!bytes.empty()) {
        auto n = std::min(piece, bytes.size());
        net::write(socket_, net::buffer(bytes.substr(0, n)));
        bytes.remove_prefix(n);
    }
}

raw_client::response raw_client::read_response(bool head_request) {
    response r;
    boost::beast::flat_buffer buffer;
    if (!pending_.empty()) {
        auto b = buffer.prepare(pending_.size());
        std::memcpy(b.data(), pending_.data(), pending_.size());
        buffer.commit(pending_.size());
        pending_.clear();
    }
    http::response_parser<http::string_body> p;
    p.body_limit(boost::none);
    if (head_request) p.skip(true);
    boost::beast::error_code ec;
    http::read_header(socket_, buffer, p, ec);
    if (ec) return r;
    r.status = p.get().result_int();
    std::ostringstream os;
    os << p.get().base();
    r.head = os.str();
    http::read(socket_, buffer, p, ec);
    r.body = p.get().body();
    r.complete = !ec && p.is_done();
    auto rest = buffer.data();
    pending_.assign(static_cast<const char*>(rest.data()), rest.size());
    return r;
}

bool raw_client::closed_by_peer(std::chrono::milliseconds timeout) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[4096];
        auto n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
        if (n <= 0) return true;  // EOF or reset
    }
}

std::string raw_client::read_until_close(std::chrono::milliseconds timeout) {
    std::string out = std::move(pending_);
    pending_.clear();
    pollfd p{socket_.native_handle(), POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
        char buf[4096];
        auto n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
        if (n <= 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

bool raw_client::ends_with_reset(std::chrono::milliseconds timeout) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[4096];
        auto n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
        if (n == 0) return false;
        if (n < 0) return errno == ECONNRESET;
    }
}

raw_client::response request(unsigned short port, std::string_view method, std::string_view target,
                             std::string_view body, std::string_view extra_headers) {
    raw_client c(port);
    std::string req =
        std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    req += extra_headers;
    if (!body.empty() || method == "POST" || method == "PUT")
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n";
    req += body;
    c.send(req);
    return c.read_response(method == "HEAD");
}

std::optional<std::string> header_of(const std::string& head, std::string_view name) {
    std::size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string::npos) {
        pos += 2;
        auto colon = head.find(':', pos);
        auto eol = head.find("\r\n", pos);
        if (colon == std::string::npos || colon > eol) continue;
        std::string_view n(head.data() + pos, colon - pos);
        if (n.size() == name.size() &&
            std::equal(n.begin(), n.end(), name.begin(),
                       [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
            auto v = head.substr(colon + 1, eol - colon - 1);
            while (!v.empty() && v.front() == ' ') v.erase(0, 1);
            return v;
        }
    }
    return std::nullopt;
}

long peak_rss_kib(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

std::string source_dir() {
    return SHIMGATE_SOURCE_DIR;
}

}  // namespace shimgate::testing

namespace shimgate::testing {

shell_result run_shell(const std::string& command) {
    shell_result r;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    int st = ::pclose(p);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

fs::path temp_path(const std::string& name) {
    return fs::temp_directory_path() /
           ("shimgate-" + name + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
}

bool wait_until(const std::function<bool()>& ok, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (ok()) return true;
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a bounded wait's interval
    }
}

std::string explo_rule_with(const std::string& deprecation) {
    std::ifstream in(source_dir() + "/rules/explo.json");
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::regex object(R"("deprecation"\s*:\s*\{[^}]*\})");
    if (!std::regex_search(text, object))
        throw std::runtime_error("rules/explo.json has no deprecation object");
    return std::regex_replace(text, object, "\"deprecation\": " + deprecation);
}

std::string utc(std::chrono::system_clock::time_point t) {
    const std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&s, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

headless_chromium::headless_chromium() : profile_(temp_path("chromium")) {
    command_ =
        "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
        "--disable-background-networking --disable-component-update --disable-sync "
        "--user-data-dir=" +
        profile_.string();
}

headless_chromium::~headless_chromium() {
    std::error_code ignored;
    std::filesystem::remove_all(profile_, ignored);
}

bool headless_chromium::installed() {
    return run_shell("command -v chromium").exit_code == 0;
}

shell_result headless_chromium::dump_dom(const std::string& url) const {
    return run_shell(command_ + " --dump-dom '" + url + "'");
}

shell_result headless_chromium::screenshot(const std::string& url, const std::filesystem::path& png,
                                           int width, int height) const {
    return run_shell(command_ + " --window-size=" + std::to_string(width) + "," +
                     std::to_string(height) + " --screenshot='" + png.string() + "' '" + url + "'");
}

}  // namespace shimgate::testing
