#include "config/flags.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace shimgate {
namespace {

flags_result parse(std::vector<const char*> args) {
    args.insert(args.begin(), "shimgate");
    return parse_flags(static_cast<int>(args.size()), args.data());
}

TEST(Flags, Defaults) {
    auto r = parse(
        {"--listen", "127.0.0.1:8080", "--upstream", "http://127.0.0.1:9090", "--rules", "rules"});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.cfg.listen.host, "127.0.0.1");
    EXPECT_EQ(r.cfg.listen.port, 8080);
    EXPECT_EQ(r.cfg.upstream.host_header, "127.0.0.1:9090");
    EXPECT_EQ(r.cfg.max_body, 1048576u);
    EXPECT_EQ(r.cfg.max_header_bytes, 16384u);
    EXPECT_EQ(r.cfg.max_header_fields, 100u);
    EXPECT_EQ(r.cfg.upstream_timeout.count(), 30000);
    EXPECT_EQ(r.cfg.connect_timeout.count(), 5000);
    EXPECT_EQ(r.cfg.header_timeout.count(), 10000);
    EXPECT_EQ(r.cfg.idle_timeout.count(), 60000);
    EXPECT_GE(r.cfg.threads, 1u);
}

TEST(Flags, DecimalSecondsAndLimits) {
    auto r = parse({"--listen", "[::1]:0", "--upstream", "https://api.example/v2/", "--rules", "r",
                    "--upstream-timeout", "0.5", "--max-body", "10", "--threads", "3"});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.cfg.listen.host, "::1");
    EXPECT_TRUE(r.cfg.upstream.tls);
    EXPECT_EQ(r.cfg.upstream.port, 443);
    EXPECT_EQ(r.cfg.upstream.prefix, "/v2");
    EXPECT_EQ(r.cfg.upstream_timeout.count(), 500);
    EXPECT_EQ(r.cfg.max_body, 10u);
    EXPECT_EQ(r.cfg.threads, 3u);
}

TEST(Flags, ErrorsNameTheFlag) {
    EXPECT_EQ(parse({"--upstream", "http://a:1", "--rules", "r"}).error,
              "--listen: is required (see --help)");
    EXPECT_EQ(parse({"--listen", "nope", "--upstream", "http://a:1", "--rules", "r"}).error,
              "--listen: expected HOST:PORT");
    EXPECT_EQ(parse({"--listen", "a:99999", "--upstream", "http://a:1", "--rules", "r"}).error,
              "--listen: invalid port \"99999\"");
    EXPECT_EQ(parse({"--listen", "a:1", "--upstream", "ftp://a:1", "--rules", "r"}).error,
              "--upstream: expected http://host:port or https://host:port");
    EXPECT_EQ(parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r",
                     "--idle-timeout", "-1"})
                  .error,
              "--idle-timeout: expected a positive number of seconds, got \"-1\"");
    EXPECT_EQ(parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r", "--log-format",
                     "xml"})
                  .error,
              "--log-format: expected json or text, got \"xml\"");
    EXPECT_NE(parse({"--bogus"}).error.find("bogus"), std::string::npos);
}

TEST(Flags, BodyTimeoutAndBufferedBytes) {
    auto d = parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r"});
    ASSERT_EQ(d.error, "");
    EXPECT_EQ(d.cfg.body_timeout.count(), 60000);
    EXPECT_EQ(d.cfg.max_buffered_bytes, 268435456u);
    auto r = parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r", "--body-timeout",
                    "2.5", "--max-buffered-bytes", "4096"});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.cfg.body_timeout.count(), 2500);
    EXPECT_EQ(r.cfg.max_buffered_bytes, 4096u);
    EXPECT_EQ(parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r",
                     "--body-timeout", "0"})
                  .error,
              "--body-timeout: expected a positive number of seconds, got \"0\"");
    EXPECT_EQ(parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r",
                     "--max-buffered-bytes", "lots"})
                  .error,
              "--max-buffered-bytes: expected a positive byte count");
    const auto help = parse({"--help"}).help;
    EXPECT_NE(help.find("--body-timeout"), std::string::npos);
    EXPECT_NE(help.find("--max-buffered-bytes"), std::string::npos);
}

TEST(Flags, HelpListsEveryContractFlag) {
    auto r = parse({"--help"});
    for (const char* flag :
         {"--listen", "--upstream", "--rules", "--tls-cert", "--tls-key", "--upstream-ca",
          "--admin", "--threads", "--log-format", "--access-log", "--upstream-timeout",
          "--connect-timeout", "--header-timeout", "--idle-timeout", "--max-body",
          "--max-header-bytes", "--max-header-fields", "--max-connections", "--check-rules"}) {
        EXPECT_NE(r.help.find(flag), std::string::npos) << flag;
    }
}

}  // namespace
}  // namespace shimgate
