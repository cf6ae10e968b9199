#include "tls.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <string_view>
#include <system_error>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/buffer.hpp>

namespace shimgate::backend {

namespace {

namespace ssl = boost::asio::ssl;

constexpr std::size_t max_pem_bytes = 1024 * 1024;

struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

// Reads a whole PEM file into `out`; on failure returns the reason, else "".
std::string read_pem_file(const std::string& path, std::string& out) {
    const std::unique_ptr<std::FILE, file_closer> f(std::fopen(path.c_str(), "rb"));
    if (!f) return std::generic_category().message(errno);
    std::array<char, 16 * 1024> piece{};
    for (;;) {
        const std::size_t n = std::fread(piece.data(), 1, piece.size(), f.get());
        out.append(piece.data(), n);
        if (out.size() > max_pem_bytes) return "larger than 1 MiB";
        if (n < piece.size()) break;
    }
    if (std::ferror(f.get()) != 0) return std::generic_category().message(errno);
    return {};
}

// The OpenSSL reason behind an error from ssl::context, without Asio's "(lib)" suffix.
std::string reason(const boost::system::error_code& ec) {
    if (ec.category() == boost::asio::error::get_ssl_category()) {
        if (const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) {
            return r;
        }
    }
    return ec.message();
}

bool is_key_mismatch(const boost::system::error_code& ec) {
    if (ec.category() != boost::asio::error::get_ssl_category()) return false;
    const auto code = static_cast<unsigned long>(ec.value());
    return ERR_GET_LIB(code) == ERR_LIB_X509 && (ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH ||
                                                 ERR_GET_REASON(code) == X509_R_KEY_TYPE_MISMATCH);
}

// ALPN: http/1.1 if the client offers it; otherwise go on without ALPN.
int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_len,
                const unsigned char* in, unsigned int in_len, void* /*arg*/) {
    constexpr std::string_view ours = "http/1.1";
    for (unsigned int i = 0; i < in_len;) {
        const unsigned int len = in[i];
        if (len > in_len - i - 1) break;
        const std::string_view offered(reinterpret_cast<const char*>(in + i + 1), len);
        if (offered == ours) {
            *out = in + i + 1;
            *out_len = static_cast<unsigned char>(len);
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::unique_ptr<ssl::context> make_tls_context(const std::string& cert_file,
                                               const std::string& key_file, std::string& error) {
    std::string cert_pem;
    std::string key_pem;
    if (auto why = read_pem_file(cert_file, cert_pem); !why.empty()) {
        error = "--tls-cert: cannot read '" + cert_file + "': " + why;
        return nullptr;
    }
    if (auto why = read_pem_file(key_file, key_pem); !why.empty()) {
        error = "--tls-key: cannot read '" + key_file + "': " + why;
        return nullptr;
    }

    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
    // An encrypted key must fail to load, not prompt on the terminal.
    ctx->set_password_callback([](std::size_t, ssl::context::password_purpose) { return std::string(); });

    boost::system::error_code ec;
    ctx->use_certificate_chain(boost::asio::buffer(cert_pem), ec);
    if (ec) {
        error = "--tls-cert: '" + cert_file + "' is not a PEM certificate chain: " + reason(ec);
        return nullptr;
    }
    ctx->use_private_key(boost::asio::buffer(key_pem), ssl::context::pem, ec);
    if (ec && !is_key_mismatch(ec)) {
        error = "--tls-key: '" + key_file + "' is not a usable PEM private key: " + reason(ec);
        return nullptr;
    }
    if (ec || SSL_CTX_check_private_key(native) != 1) {
        error = "--tls-key: '" + key_file + "' does not match the certificate in '" + cert_file +
                "'";
        return nullptr;
    }
    ERR_clear_error();
    return ctx;
}

}  // namespace shimgate::backend
