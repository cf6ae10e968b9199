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

TEST(Flags, DescribedAsTheyAreInEffect) {
    auto r = parse({"--listen", "[::1]:8080", "--upstream", "https://api.example/base/", "--rules",
                    "rules", "--threads", "3", "--upstream-timeout", "0.5", "--idle-timeout",
                    "1.25", "--admin", "127.0.0.1:9901", "--access-log", "-"});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(describe_flags(r.cfg),
              "--listen [::1]:8080 --upstream https://api.example:443/base --rules rules "
              "--admin 127.0.0.1:9901 --threads 3 --log-format text --access-log - "
              "--upstream-timeout 0.5 --connect-timeout 5 --header-timeout 10 --idle-timeout 1.25 "
              "--drain-timeout 30 --max-body 1048576 --max-header-bytes 16384 "
              "--max-header-fields 100 --max-connections 10000 "
              "--ledger sqlite:shimgate-ledger.sqlite3 --ledger-flush 5");
    EXPECT_FALSE(r.cfg.server_timing);  // off by default
    auto timed = parse({"--listen", "127.0.0.1:1", "--upstream", "http://127.0.0.1:2", "--rules",
                        "rules", "--server-timing"});
    ASSERT_EQ(timed.error, "");
    EXPECT_TRUE(timed.cfg.server_timing);
    EXPECT_TRUE(
        describe_flags(timed.cfg).ends_with(" --max-connections 10000 --server-timing --ledger "
                                            "sqlite:shimgate-ledger.sqlite3 --ledger-flush 5"));
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

TEST(Flags, UpstreamIdleTimeout) {
    auto d = parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r"});
    ASSERT_EQ(d.error, "");
    EXPECT_EQ(d.cfg.upstream_idle_timeout.count(), 4000) << "default 4 s";
    auto r = parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r",
                    "--upstream-idle-timeout", "0.3"});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.cfg.upstream_idle_timeout.count(), 300);
    for (const char* bad : {"0", "-1", "x", "1s"}) {
        EXPECT_EQ(parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r",
                         "--upstream-idle-timeout", bad})
                      .error,
                  std::string("--upstream-idle-timeout: expected a positive number of seconds, "
                              "got \"") +
                      bad + "\"");
    }
    EXPECT_NE(parse({"--help"}).help.find("--upstream-idle-timeout"), std::string::npos);
}

TEST(Flags, DnsRefreshAndEjectTime) {
    auto d = parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r"});
    ASSERT_EQ(d.error, "");
    EXPECT_EQ(d.cfg.dns_refresh.count(), 30000);
    EXPECT_EQ(d.cfg.eject_time.count(), 10000);
    auto r = parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r", "--dns-refresh",
                    "2.5", "--eject-time", "0.5"});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.cfg.dns_refresh.count(), 2500);
    EXPECT_EQ(r.cfg.eject_time.count(), 500);
    for (const char* flag : {"--dns-refresh", "--eject-time"}) {
        EXPECT_EQ(
            parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r", flag, "0"}).error,
            std::string(flag) + ": expected a positive number of seconds, got \"0\"");
        EXPECT_NE(parse({"--help"}).help.find(flag), std::string::npos) << flag;
    }
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

flags_result with(const char* flag, const char* value = nullptr) {
    std::vector<const char*> a{"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r", flag};
    if (value) a.push_back(value);
    return parse(a);
}

TEST(Flags, TrustedProxies) {
    auto ok = with("--trusted-proxies", "10.0.0.0/8, 2001:db8::/32,192.0.2.7");
    ASSERT_EQ(ok.error, "");
    EXPECT_TRUE(ok.cfg.trusted.contains("10.9.8.7"));
    EXPECT_TRUE(ok.cfg.trusted.contains("2001:db8:1::5"));
    EXPECT_TRUE(ok.cfg.trusted.contains("192.0.2.7"));
    EXPECT_FALSE(ok.cfg.trusted.contains("192.0.2.8"));
    EXPECT_TRUE(
        parse({"--listen", "a:1", "--upstream", "http://a:1", "--rules", "r"}).cfg.trusted.empty());
    EXPECT_EQ(with("--trusted-proxies", "10.0.0.0/33").error,
              "--trusted-proxies: \"10.0.0.0/33\": prefix length must be 0 to 32");
    EXPECT_EQ(with("--trusted-proxies", "lb.example").error,
              "--trusted-proxies: \"lb.example\" is not an IPv4 or IPv6 address");
    EXPECT_EQ(with("--trusted-proxies", "10.0.0.1,").error,
              "--trusted-proxies: empty entry after the last comma");
    EXPECT_EQ(with("--trusted-proxies", "").error,
              "--trusted-proxies: expected CIDR[,CIDR...], got nothing");
    EXPECT_NE(parse({"--help"}).help.find("--trusted-proxies"), std::string::npos);
}

TEST(Flags, ReadyRequiresUpstream) {
    EXPECT_TRUE(with("--ready-requires-upstream").cfg.ready_requires_upstream);
    EXPECT_FALSE(with("--threads", "1").cfg.ready_requires_upstream);
    EXPECT_NE(parse({"--help"}).help.find("--ready-requires-upstream"), std::string::npos);
}

TEST(Flags, DrainDelay) {
    EXPECT_EQ(with("--drain-delay", "1.5").cfg.drain_delay.count(), 1500);
    EXPECT_EQ(with("--threads", "1").cfg.drain_delay.count(), 0);
    auto zero = with("--drain-delay", "0");
    EXPECT_EQ(zero.error, "");
    EXPECT_EQ(zero.cfg.drain_delay.count(), 0);
    EXPECT_EQ(with("--drain-delay", "-1").error,
              "--drain-delay: expected a number of seconds, 0 or more, got \"-1\"");
    EXPECT_NE(with("--drain-delay", "soon").error, "");
    EXPECT_NE(parse({"--help"}).help.find("--drain-delay"), std::string::npos);
}

}  // namespace
}  // namespace shimgate
