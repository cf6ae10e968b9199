// The reference backend's network side: acceptors, sessions, threads and signals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shimgate::backend {

struct server_config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9090;
    std::vector<std::string> tokens;  // accepted API tokens
    unsigned threads = 1;             // one io_context and one SO_REUSEPORT acceptor per thread
    std::string tls_cert;             // PEM certificate chain; with tls_key: HTTPS, else HTTP
    std::string tls_key;              // PEM private key of tls_cert
};

// Loads the TLS certificate and key if given, binds, prints "listening on HOST:PORT" (the bound
// port; the same line with or without TLS) on stdout, then serves until SIGTERM or SIGINT.
// Returns the process exit code: 0 after a signal, 2 for a bad address, 1 if the certificate or
// key cannot be used or binding fails (after one line on stderr).
int run(const server_config& config);

}  // namespace shimgate::backend
