// TLS both ways with real certificates made by certs/make-dev-certs.sh at test time: curl and
// openssl s_client as clients, the dialects over HTTPS to an HTTPS reference backend, upstream
// verification failures, certificate reload without dropping connections.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>

#include "harness.hpp"

namespace shimgate::testing {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace http = boost::beast::http;

// A blocking HTTPS keep-alive client trusting one CA: proves a connection outlives a reload.
class tls_client {
  public:
    tls_client(unsigned short port, const std::string& ca)
        : ctx_(net::ssl::context::tls_client), stream_(ioc_, ctx_) {
        ctx_.load_verify_file(ca);
        stream_.set_verify_mode(net::ssl::verify_peer);
        stream_.lowest_layer().connect({net::ip::make_address("127.0.0.1"), port});
        stream_.handshake(net::ssl::stream_base::client);
    }
    unsigned get(const std::string& target) {
        http::request<http::empty_body> req(http::verb::get, target, 11);
        req.set(http::field::host, "x");
        http::write(stream_, req);
        http::response<http::string_body> res;
        boost::system::error_code ec;
        http::read(stream_, buffer_, res, ec);
        return ec ? 0 : res.result_int();
    }

  private:
    net::io_context ioc_;
    net::ssl::context ctx_;
    net::ssl::stream<net::ip::tcp::socket> stream_;
    boost::beast::flat_buffer buffer_;
};

class Tls : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("shimgate-certs-" + std::to_string(::getpid()));
        auto r = run_shell("bash " + source_dir() + "/certs/make-dev-certs.sh " + dir_.string());
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    static void TearDownTestSuite() { fs::remove_all(dir_); }
    static std::string cert(const char* name) { return (dir_ / name).string(); }

    static std::vector<std::string> listener_flags() {
        return {"--tls-cert", cert("server-chain.pem"), "--tls-key", cert("server.key")};
    }
    static std::string curl(unsigned short port, const std::string& args) {
        return "curl -sS -i --cacert " + cert("ca-bundle.pem") + " " + args +
               " https://127.0.0.1:" + std::to_string(port);
    }
    static std::string s_client(unsigned short port, const std::string& args) {
        return "echo | timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
               " -CAfile " + cert("ca-bundle.pem") + " " + args;
    }

    static fs::path dir_;
};
fs::path Tls::dir_;

TEST_F(Tls, HttpsListenerPassesThroughAndTranslates) {
    backend be;
    shim gate(be.port, listener_flags());
    auto echo = run_shell(curl(gate.port, "") + "/echo/tls");
    ASSERT_EQ(echo.exit_code, 0) << echo.output;
    EXPECT_NE(echo.output.find("HTTP/1.1 200"), std::string::npos) << echo.output;
    EXPECT_NE(echo.output.find(R"(["X-Forwarded-Proto","https"])"), std::string::npos)
        << echo.output;

    auto explo =
        run_shell(curl(gate.port,
                       "-X POST -H 'Content-Type: application/json' -H 'Explo-Authorization: Token "
                       "demo-token' "
                       "--data-raw '{\"user_group_id\":\"example_1\",\"name\":\"Example 1\"}'") +
                  "/api/update_user_group/");
    ASSERT_EQ(explo.exit_code, 0) << explo.output;
    EXPECT_NE(explo.output.find(R"("provided_id":"example_1")"), std::string::npos) << explo.output;
    EXPECT_NE(explo.output.find("Deprecation: @"), std::string::npos) << explo.output;
}

TEST_F(Tls, OnlyTls12And13WithAlpnHttp11AndTheChain) {
    backend be;
    shim gate(be.port, listener_flags());
    for (const char* old : {"-tls1", "-tls1_1"}) {
        auto r = run_shell(s_client(gate.port, old));
        EXPECT_NE(r.output.find("alert protocol version"), std::string::npos) << old << r.output;
        EXPECT_NE(r.output.find("Cipher is (NONE)"), std::string::npos) << old << r.output;
    }
    for (auto [flag, name] : {std::pair{"-tls1_2", "TLSv1.2"}, std::pair{"-tls1_3", "TLSv1.3"}}) {
        auto r =
            run_shell(s_client(gate.port, std::string(flag) + " -alpn h2,http/1.1 -showcerts"));
        EXPECT_NE(r.output.find("Verify return code: 0 (ok)"), std::string::npos)
            << flag << r.output;
        EXPECT_NE(r.output.find(std::string("New, ") + name + ", Cipher is"), std::string::npos)
            << flag << r.output;
        EXPECT_NE(r.output.find("ALPN protocol: http/1.1"), std::string::npos) << flag << r.output;
        EXPECT_NE(r.output.find(" 1 s:"), std::string::npos)
            << "the chain file's CA is sent too: " << r.output;
    }
    // A TLS 1.2 suite outside Mozilla's intermediate list is refused.
    auto weak = run_shell(s_client(gate.port, "-tls1_2 -cipher AES128-SHA"));
    EXPECT_NE(weak.output.find("Cipher is (NONE)"), std::string::npos) << weak.output;
}

TEST_F(Tls, StartUpErrorsNameTheFile) {
    child_process mismatch(
        SHIMGATE_BIN, {"--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "--rules",
                       source_dir() + "/rules", "--tls-cert", cert("server.pem"), "--tls-key",
                       cert("mismatched.key")});
    EXPECT_EQ(mismatch.wait_exit(std::chrono::seconds(10)), 2);
    EXPECT_EQ(mismatch.output(), "shimgate: --tls-key " + cert("mismatched.key") +
                                     ": does not match the certificate in " + cert("server.pem") +
                                     "\n");
    child_process missing(
        SHIMGATE_BIN, {"--listen", "127.0.0.1:0", "--upstream", "https://127.0.0.1:1", "--rules",
                       source_dir() + "/rules", "--upstream-ca", "/nonexistent/ca.pem"});
    EXPECT_EQ(missing.wait_exit(std::chrono::seconds(10)), 2);
    EXPECT_EQ(missing.output(),
              "shimgate: --upstream-ca /nonexistent/ca.pem: cannot read the file\n");
}

TEST_F(Tls, HandshakeHasADeadline) {
    backend be;
    auto flags = listener_flags();
    flags.insert(flags.end(), {"--header-timeout", "0.5"});
    shim gate(be.port, flags);
    raw_client silent(gate.port);  // connects, never sends a ClientHello
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(silent.closed_by_peer(std::chrono::seconds(5)));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(Tls, CertificateReloadKeepsOpenConnections) {
    backend be;
    // Serve from copies, so the files can be replaced under the running process.
    fs::path live = dir_ / "live";
    fs::create_directories(live);
    fs::copy_file(cert("server-chain.pem"), live / "cert.pem",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(cert("server.key"), live / "key.pem", fs::copy_options::overwrite_existing);
    shim gate(be.port, {"--tls-cert", (live / "cert.pem").string(), "--tls-key",
                        (live / "key.pem").string()});

    // A keep-alive connection made before the reload.
    tls_client client(gate.port, cert("ca-bundle.pem"));
    EXPECT_EQ(client.get("/echo/before"), 200u);
    // Replace the certificate with one from a different CA and reload.
    fs::path fresh = dir_ / "fresh";
    ASSERT_EQ(
        run_shell("bash " + source_dir() + "/certs/make-dev-certs.sh " + fresh.string()).exit_code,
        0);
    fs::copy_file(fresh / "server-chain.pem", live / "cert.pem",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(fresh / "server.key", live / "key.pem", fs::copy_options::overwrite_existing);
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("certificate reloaded")) << gate.proc.output();

    // The old connection still works; a new one gets the new certificate.
    EXPECT_EQ(client.get("/echo/after"), 200u);
    auto old_ca = run_shell(s_client(gate.port, "-verify_return_error"));
    EXPECT_EQ(old_ca.output.find("Verify return code: 0 (ok)"), std::string::npos) << old_ca.output;
    auto new_ca = run_shell(
        "echo | timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(gate.port) +
        " -CAfile " + (fresh / "ca-bundle.pem").string());
    EXPECT_NE(new_ca.output.find("Verify return code: 0 (ok)"), std::string::npos) << new_ca.output;
    fs::remove_all(fresh);
}

// The upstream side: an HTTPS reference backend.
struct https_backend {
    explicit https_backend(const std::string& cert, const std::string& key)
        : be({"--tls-cert", cert, "--tls-key", key}) {}
    backend be;
};

TEST_F(Tls, DialectsEndToEndOverHttpsBothWays) {
    https_backend up(cert("server-chain.pem"), cert("server.key"));
    auto flags = listener_flags();
    flags.insert(flags.end(), {"--upstream", "https://127.0.0.1:" + std::to_string(up.be.port),
                               "--upstream-ca", cert("ca-bundle.pem"), "--threads", "1"});
    shim gate(up.be.port, flags);
    const std::string json = "-H 'Content-Type: application/json' ";
    const std::string body =
        "--data-raw '{\"user_group_id\":\"example_1\",\"name\":\"Example 1\"}'";
    struct call {
        std::string args, path;
    };
    for (const auto& c :
         {call{"-X PUT -H 'Authorization: Token demo-token' " + json + body, "/api/user"},
          call{"-X POST -H 'Explo-Authorization: Token demo-token' " + json + body,
               "/api/update_user_group/"},
          call{"-X PUT -H 'Authorization: Bearer demo-token' " + json + body,
               "/v1/users/example_1"}}) {
        auto r = run_shell(curl(gate.port, c.args) + c.path);
        EXPECT_NE(r.output.find("HTTP/1.1 200"), std::string::npos) << c.path << r.output;
        EXPECT_NE(r.output.find(R"({"success":1,"user_group":{"team_id":113,)"), std::string::npos)
            << r.output;
    }
    // Pooled TLS connections are reused: one upstream connection for all of it (one worker).
    auto stats = run_shell("curl -sS --cacert " + cert("ca-bundle.pem") +
                           " https://127.0.0.1:" + std::to_string(up.be.port) + "/stats");
    EXPECT_NE(stats.output.find("\"connections_accepted\":2"), std::string::npos)
        << "the shim's one pooled connection plus this probe: " << stats.output;
}

TEST_F(Tls, UpstreamThatDoesNotVerifyIs502WithAReason) {
    struct bad_case {
        const char* cert;
        const char* key;
        std::string host;
        const char* why;
    };
    for (const auto& c :
         {bad_case{"untrusted.pem", "untrusted.key", "127.0.0.1", "unable to get local issuer"},
          bad_case{"wrong-host.pem", "wrong-host.key", "127.0.0.1", "mismatch"},
          bad_case{"expired.pem", "expired.key", "127.0.0.1", "expired"}}) {
        https_backend up(cert(c.cert), cert(c.key));
        shim gate(up.be.port, {"--upstream", "https://" + c.host + ":" + std::to_string(up.be.port),
                               "--upstream-ca", cert("ca-bundle.pem")});
        auto r =
            request(gate.port, "POST", "/api/update_user_group/", R"({"user_group_id":"g"})",
                    "Explo-Authorization: Token demo-token\r\nContent-Type: application/json\r\n");
        EXPECT_EQ(r.status, 502u) << c.cert;
        EXPECT_EQ(r.body.rfind(R"({"success":0,"error":")", 0), 0u) << c.cert << r.body;
        auto line = gate.proc.wait_for_line("upstream TLS handshake");
        ASSERT_TRUE(line) << c.cert << gate.proc.output();
        EXPECT_NE(line->find(c.why), std::string::npos) << c.cert << ": " << *line;
    }
}

TEST_F(Tls, UpstreamByNameUsesSniAndNameVerification) {
    // Needs "localhost" to resolve (a bare chroot may have no /etc/hosts).
    if (run_shell("getent hosts localhost").exit_code != 0)
        GTEST_SKIP() << "localhost does not resolve here";
    for (auto [file, key, status] : {std::tuple{"server-chain.pem", "server.key", 200u},
                                     std::tuple{"wrong-host.pem", "wrong-host.key", 502u}}) {
        https_backend up(cert(file), cert(key));
        shim gate(up.be.port, {"--upstream", "https://localhost:" + std::to_string(up.be.port),
                               "--upstream-ca", cert("ca-bundle.pem")});
        EXPECT_EQ(request(gate.port, "GET", "/echo/sni").status, status) << file;
        if (status == 502u) {
            auto line = gate.proc.wait_for_line("upstream TLS handshake");
            ASSERT_TRUE(line);
            EXPECT_NE(line->find("hostname mismatch"), std::string::npos) << *line;
        }
    }
}

}  // namespace
}  // namespace shimgate::testing
