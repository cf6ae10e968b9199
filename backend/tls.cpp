#include "tls.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <string_view>
#include <system_error>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

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

template <class T, auto Free>
struct openssl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;

bio_ptr memory_bio(const std::string& pem) {
    return bio_ptr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The reason of the oldest error queued by OpenSSL (clears the queue).
std::string openssl_reason() {
    const unsigned long code = ERR_peek_error();
    const char* r = ERR_reason_error_string(code);
    ERR_clear_error();
    return r != nullptr ? r : "unknown error";
}

bool no_start_line(unsigned long code) {
    return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

// An encrypted key fails to load instead of prompting on the terminal.
int no_password(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
    return 0;
}

// Loads the leaf certificate and the chain after it; returns the problem, or "".
std::string load_chain(SSL_CTX* ctx, const std::string& pem) {
    const bio_ptr bio = memory_bio(pem);
    ERR_clear_error();
    const x509_ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_password, nullptr));
    if (!leaf) {
        if (no_start_line(ERR_peek_error())) {
            ERR_clear_error();
            return "no PEM certificate in it";
        }
        return "malformed certificate (" + openssl_reason() + ")";
    }
    if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
        return "unusable certificate (" + openssl_reason() + ")";
    }
    SSL_CTX_clear_chain_certs(ctx);
    for (;;) {
        x509_ptr ca(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
        if (!ca) break;
        if (SSL_CTX_add0_chain_cert(ctx, ca.get()) != 1) {
            return "unusable chain certificate (" + openssl_reason() + ")";
        }
        static_cast<void>(ca.release());  // owned by ctx now
    }
    if (const unsigned long code = ERR_peek_last_error(); code != 0 && !no_start_line(code)) {
        return "malformed chain certificate (" + openssl_reason() + ")";
    }
    ERR_clear_error();
    return {};
}

bool is_key_mismatch(unsigned long code) {
    return ERR_GET_LIB(code) == ERR_LIB_X509 &&
           (ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH ||
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

    if (auto why = load_chain(native, cert_pem); !why.empty()) {
        error = "--tls-cert: '" + cert_file + "': " + why;
        return nullptr;
    }

    const std::string key_error = "--tls-key: '" + key_file + "': ";
    const bio_ptr bio = memory_bio(key_pem);
    const pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (!key) {
        ERR_clear_error();
        if (key_pem.find("PRIVATE KEY-----") == std::string::npos) {
            error = key_error + "no PEM private key in it";
        } else if (key_pem.find("ENCRYPTED") != std::string::npos) {
            error = key_error + "the key is encrypted (passphrases are not supported)";
        } else {
            error = key_error + "malformed or unsupported private key";
        }
        return nullptr;
    }
    ERR_clear_error();
    bool matches = SSL_CTX_use_PrivateKey(native, key.get()) == 1;
    if (!matches && !is_key_mismatch(ERR_peek_error()) && !is_key_mismatch(ERR_peek_last_error())) {
        error = key_error + "unusable private key (" + openssl_reason() + ")";
        return nullptr;
    }
    // A key of another type than the certificate's loads into its own slot: check the pair.
    matches = matches && SSL_CTX_check_private_key(native) == 1;
    if (!matches) {
        ERR_clear_error();
        error = key_error + "does not match the certificate in '" + cert_file + "'";
        return nullptr;
    }
    ERR_clear_error();
    return ctx;
}

}  // namespace shimgate::backend
