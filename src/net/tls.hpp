#pragma once
// TLS contexts: the listener's (--tls-cert/--tls-key, Mozilla "intermediate": TLS 1.2 and 1.3,
// its cipher and group lists, ALPN http/1.1) and the upstream's (peer verification on, CA bundle
// from --upstream-ca or the system store). Built at start-up and on SIGHUP; errors name the file.
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace shimgate {

using tls_context_ptr = std::shared_ptr<boost::asio::ssl::context>;

struct tls_context_or_error {
    tls_context_ptr context;
    std::string error;  // one line naming the flag, the file and the problem
};

tls_context_or_error make_server_tls_context(const std::string& cert_file,
                                             const std::string& key_file);
tls_context_or_error make_upstream_tls_context(const std::string& ca_file);

// Per connection to the upstream: SNI (for names) and host-name / IP verification.
void prepare_upstream_ssl(SSL* ssl, const std::string& host);

// Why the last handshake on `ssl` failed, for the log ("certificate has expired", ...).
std::string tls_failure_reason(SSL* ssl, const boost::system::error_code& ec);

}  // namespace shimgate
