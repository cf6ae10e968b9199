// customer-api: the reference upstream behind shimgate (contract §3), in memory.
#include <charconv>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/program_options.hpp>

#include "server.hpp"

namespace po = boost::program_options;

namespace {

constexpr unsigned max_threads = 1024;

int bad_flag(const std::string& message) {
    std::cerr << "customer-api: " << message << '\n';
    return 2;
}

// HOST:PORT, HOST may be [v6]; the port may be 0 (any free port).
bool parse_listen(std::string_view text, shimgate::backend::server_config& config) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view host = text.substr(0, colon);
    const std::string_view port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned value = 0;
    const auto res = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || res.ec != std::errc{} || res.ptr != port.data() + port.size() ||
        value > 65535 || host.empty()) {
        return false;
    }
    config.host = host == "localhost" ? "127.0.0.1" : std::string(host);
    config.port = static_cast<std::uint16_t>(value);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description desc("customer-api [options]");
    // clang-format off
    desc.add_options()
        ("help,h", "print this help and exit")
        ("listen", po::value<std::string>()->default_value("127.0.0.1:9090"),
            "HOST:PORT to listen on; port 0 picks a free port (printed on stdout)")
        ("token", po::value<std::vector<std::string>>()->composing(),
            "an accepted API token for `Authorization: Token <t>`; repeatable (default: demo-token)")
        ("threads", po::value<std::string>()->default_value("1"),
            "I/O threads, each with its own io_context and SO_REUSEPORT acceptor")
        ("tls-cert", po::value<std::string>(),
            "PEM certificate chain file (leaf first): serve HTTPS instead of HTTP; needs --tls-key")
        ("tls-key", po::value<std::string>(), "PEM private key file of --tls-cert");
    // clang-format on

    po::variables_map vm;
    try {
        const po::positional_options_description no_positionals;
        po::store(
            po::command_line_parser(argc, argv).options(desc).positional(no_positionals).run(), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        return bad_flag(e.what());
    }
    if (vm.count("help") != 0) {
        std::cout << desc << '\n';
        return 0;
    }

    shimgate::backend::server_config config;
    const auto& listen = vm["listen"].as<std::string>();
    if (!parse_listen(listen, config)) {
        return bad_flag("--listen: expected HOST:PORT, got '" + listen + "'");
    }
    const auto& threads = vm["threads"].as<std::string>();
    const auto res =
        std::from_chars(threads.data(), threads.data() + threads.size(), config.threads);
    if (threads.empty() || res.ec != std::errc{} || res.ptr != threads.data() + threads.size() ||
        config.threads == 0 || config.threads > max_threads) {
        return bad_flag("--threads: expected an integer from 1 to 1024, got '" + threads + "'");
    }
    if (vm.count("token") != 0) {
        config.tokens = vm["token"].as<std::vector<std::string>>();
        for (const auto& t : config.tokens) {
            if (t.empty()) return bad_flag("--token: must not be empty");
        }
    } else {
        config.tokens = {"demo-token"};
    }
    if ((vm.count("tls-cert") != 0) != (vm.count("tls-key") != 0)) {
        return bad_flag("--tls-cert and --tls-key go together");
    }
    if (vm.count("tls-cert") != 0) {
        config.tls_cert = vm["tls-cert"].as<std::string>();
        config.tls_key = vm["tls-key"].as<std::string>();
        if (config.tls_cert.empty() || config.tls_key.empty()) {
            return bad_flag("--tls-cert, --tls-key: must not be empty");
        }
    }
    return shimgate::backend::run(config);
}
