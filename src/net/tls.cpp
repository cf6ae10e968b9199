#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <cstring>
#include <fstream>

namespace shimgate {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" configuration (TLS 1.2 suites; TLS 1.3 suites are OpenSSL's defaults).
constexpr const char* intermediate_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* intermediate_ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* intermediate_groups = "X25519:prime256v1:secp384r1";

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A00018F:SSL routines::ee key too small" -> keep the reason after the last ':'.
    const char* reason = std::strrchr(buf, ':');
    return reason && reason[1] ? reason + 1 : buf;
}

bool readable(const std::string& file) {
    return std::ifstream(file).good();
}

// ALPN: HTTP/1.1 is all this server speaks; a client offering only other protocols gets none.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
    static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, http11, sizeof http11, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

void apply_intermediate(SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_cipher_list(ctx, intermediate_ciphers);
    SSL_CTX_set_ciphersuites(ctx, intermediate_ciphersuites);
    SSL_CTX_set1_groups_list(ctx, intermediate_groups);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
}

}  // namespace

tls_context_or_error make_server_tls_context(const std::string& cert_file,
                                             const std::string& key_file) {
    tls_context_or_error r;
    if (!readable(cert_file))
        return r.error = "--tls-cert " + cert_file + ": cannot read the file", r;
    if (!readable(key_file)) return r.error = "--tls-key " + key_file + ": cannot read the file", r;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    apply_intermediate(native);
    SSL_CTX_set_dh_auto(native, 1);  // the DHE suites use the built-in RFC 7919 groups
    SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
        return r.error = "--tls-cert " + cert_file + ": not a PEM certificate chain (" +
                         openssl_error() + ")",
               r;
    if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            return r.error =
                       "--tls-key " + key_file + ": does not match the certificate in " + cert_file,
                   r;
        }
        return r.error = "--tls-key " + key_file + ": not a usable PEM private key (" +
                         openssl_error() + ")",
               r;
    }
    if (SSL_CTX_check_private_key(native) != 1)
        return r.error =
                   "--tls-key " + key_file + ": does not match the certificate in " + cert_file,
               r;
    r.context = std::move(ctx);
    return r;
}

tls_context_or_error make_upstream_tls_context(const std::string& ca_file) {
    tls_context_or_error r;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    apply_intermediate(native);
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    // Keep client sessions so a new pooled connection can resume instead of a full handshake.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT);
    static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(native, http11, sizeof http11);
    ERR_clear_error();
    if (ca_file.empty()) {
        if (SSL_CTX_set_default_verify_paths(native) != 1)
            return r.error = "--upstream-ca: cannot load the system trust store (" +
                             openssl_error() + ")",
                   r;
    } else {
        if (!readable(ca_file))
            return r.error = "--upstream-ca " + ca_file + ": cannot read the file", r;
        if (SSL_CTX_load_verify_locations(native, ca_file.c_str(), nullptr) != 1)
            return r.error = "--upstream-ca " + ca_file + ": no PEM certificates (" +
                             openssl_error() + ")",
                   r;
    }
    r.context = std::move(ctx);
    return r;
}

void prepare_upstream_ssl(SSL* ssl, const std::string& host) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (!ec) {
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());  // an IP: no SNI, match an IP SAN
    } else {
        SSL_set_tlsext_host_name(ssl, host.c_str());
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    }
}

std::string tls_failure_reason(SSL* ssl, const boost::system::error_code& ec) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
        return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    return ec.message();
}

}  // namespace shimgate
