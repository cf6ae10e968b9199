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
};

// Binds, prints "listening on HOST:PORT" (the bound port) on stdout, then serves until SIGTERM or
// SIGINT. Returns the process exit code: 0 after a signal, 2 for a bad address, 1 if binding fails
// (after one line on stderr).
int run(const server_config& config);

}  // namespace shimgate::backend
