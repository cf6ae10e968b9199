// TLS for the reference backend: the server context built from --tls-cert and --tls-key.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace shimgate::backend {

// A TLS 1.2/1.3 server context (ALPN: selects http/1.1 when the client offers it) holding the PEM
// certificate chain of cert_file (leaf first) and the PEM private key of key_file. On failure
// returns null and sets `error` to one line naming the file and the problem (unreadable, not PEM,
// encrypted key, key not matching the certificate).
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file,
                                                            const std::string& key_file,
                                                            std::string& error);

}  // namespace shimgate::backend
