// The three dialects end to end (contract §2–§4): each seed's own curl line, run by real curl
// against shimgate, reaches the upstream in canonical form and comes back in the documented
// envelope; every error row in the dialect's own style; nothing refused ever reaches the upstream.
// Each case runs with the upstream's answers whole and in 1- and 5-byte pieces.
#include <gtest/gtest.h>

#include <cstdio>

#include "fake_upstream.hpp"
#include "harness.hpp"
#include "piecewise_relay.hpp"

namespace shimgate::testing {
namespace {

// The seeds' example body, exactly as their curl lines send it (--data-raw keeps the newlines).
const std::string seed_body =
    "{\n"
    "    \"user_group_id\": \"example_1\",\n"
    "    \"name\": \"Example 1\",\n"
    "    \"mapping\": {\"40\": \"213\", \"134\": \"386\"},\n"
    "    \"properties\": {\"filterValue\": \"value\"}\n"
    "}";
const std::string canonical_body =
    R"({"customer_id":"example_1","name":"Example 1","mapping":{"40": "213", "134": "386"},"properties":{"filterValue": "value"}})";

struct curl_result {
    int exit_code = -1;
    std::string output;  // -i: head and body
};

// Runs real curl with the seed's options, its URL pointed at the shim.
curl_result run_curl(const std::string& method, const std::string& url,
                     const std::string& auth_header, const std::string& body) {
    std::string cmd = "curl -s -i --location --request " + method + " '" + url +
                      "' --header 'Content-Type: application/json' --header '" + auth_header +
                      "' --data-raw '" + body + "' 2>&1";
    curl_result r;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    r.exit_code = ::pclose(p);
    return r;
}

std::string body_after_head(const std::string& response) {
    auto end = response.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : response.substr(end + 4);
}

unsigned status_of(const std::string& response) {
    return response.size() > 12 ? static_cast<unsigned>(std::stoi(response.substr(9, 3))) : 0;
}

struct seed_case {
    const char* name;
    std::string method, path, auth;
};

const std::vector<seed_case> seed_cases{
    {"Mintlify", "PUT", "/api/user", "Authorization: Token tok-123"},
    {"Explo", "POST", "/api/update_user_group/", "Explo-Authorization: Token tok-123"},
    {"StateSet", "PUT", "/v1/users/example_1", "Authorization: Token tok-123"},
};

// The upstream Customer API's answer of contract §3, with internal fields the shim must not pass
// on.
const std::string upstream_customer =
    R"({"success":1,"customer":{"customer_id":"example_1","team_id":113,"token":"ct_\u00e9","name":"Example 1",)"
    R"("properties":{"filterValue": "value"},"api_environment_tag":"Customer","is_demo_group":false,)"
    R"("password_hash":"pbkdf2$secret","internal_shard":7}})";

// Every case runs three times: with the upstream's answers whole, and handed to shimgate in 1-
// and 5-byte pieces (piecewise_relay), as Envoy runs its integration tests.
struct Dialects : ::testing::TestWithParam<std::size_t> {};
INSTANTIATE_TEST_SUITE_P(Answers, Dialects, every_piece_mode(), piece_mode_name);

TEST_P(Dialects, SeedExamplesReachTheUpstreamInCanonicalForm) {
    for (const auto& c : seed_cases) {
        fake_upstream up(
            [](const std::string&) { return fake_upstream::answer(200, upstream_customer); });
        piecewise_relay front(up.port(), GetParam());
        shim gate(front.port());
        auto r = run_curl(c.method, "http://127.0.0.1:" + std::to_string(gate.port) + c.path,
                          c.auth, seed_body);
        ASSERT_EQ(r.exit_code, 0) << c.name << r.output;
        ASSERT_EQ(status_of(r.output), 200u) << c.name << r.output;
        auto reqs = up.requests();
        ASSERT_EQ(reqs.size(), 1u) << c.name;
        const std::string& raw = reqs[0];
        EXPECT_EQ(request_line_of(raw), "POST /api/update_customer/ HTTP/1.1") << c.name;
        EXPECT_EQ(body_of(raw), canonical_body) << c.name;
        EXPECT_EQ(header_of(raw, "Content-Length"), std::to_string(canonical_body.size()))
            << c.name;
        EXPECT_EQ(header_of(raw, "Content-Type"), "application/json") << c.name;
        EXPECT_EQ(header_of(raw, "Authorization"), "Token tok-123") << c.name;
        EXPECT_FALSE(header_of(raw, "Explo-Authorization")) << c.name;
        EXPECT_EQ(header_of(raw, "Accept-Encoding"), "identity") << c.name;
        // exactly one credential header
        EXPECT_EQ(raw.find("Authorization:"), raw.rfind("Authorization:")) << raw;
    }
}

TEST_P(Dialects, SeedExamplesAnswerInTheDocumentedEnvelope) {
    const std::string mintlify =
        R"({"success":1,"user_group":{"team_id":113,"token":"ct_\u00e9","name":"Example 1","provided_id":"example_1",)"
        R"("properties":{"filterValue": "value"},"api_environment_tag":"Customer"}})";
    const std::string explo =
        R"({"success":1,"user_group":{"team_id":113,"token":"ct_\u00e9","name":"Example 1","provided_id":"example_1",)"
        R"("is_demo_group":false,"properties":{"filterValue": "value"},"api_environment_tag":"Customer"}})";
    for (const auto& c : seed_cases) {
        fake_upstream up(
            [](const std::string&) { return fake_upstream::answer(200, upstream_customer); });
        piecewise_relay front(up.port(), GetParam());
        shim gate(front.port());
        auto r = run_curl(c.method, "http://127.0.0.1:" + std::to_string(gate.port) + c.path,
                          c.auth, seed_body);
        ASSERT_EQ(status_of(r.output), 200u) << c.name << r.output;
        std::string body = body_after_head(r.output);
        EXPECT_EQ(body, std::string(c.name) == "Explo" ? explo : mintlify) << c.name;
        EXPECT_EQ(header_of(r.output, "Content-Length"), std::to_string(body.size()));
        EXPECT_EQ(body.find("password_hash"), std::string::npos);
        bool deprecated = std::string(c.name) == "Explo";
        EXPECT_EQ(header_of(r.output, "Deprecation").has_value(), deprecated) << c.name;
    }
}

TEST_P(Dialects, AgainstTheReferenceBackend) {
    backend be;
    piecewise_relay front(be.port, GetParam());
    shim gate(front.port());
    std::string base = "http://127.0.0.1:" + std::to_string(gate.port);
    auto explo = run_curl("POST", base + "/api/update_user_group/",
                          "Explo-Authorization: Token demo-token", seed_body);
    ASSERT_EQ(status_of(explo.output), 200u) << explo.output;
    EXPECT_EQ(
        body_after_head(explo.output),
        R"({"success":1,"user_group":{"team_id":113,"token":"cust_tok_43a47ade01cbaef1","name":"Example 1",)"
        R"("provided_id":"example_1","is_demo_group":false,"properties":{"filterValue": "value"},)"
        R"("api_environment_tag":"Customer"}})");
    EXPECT_EQ(header_of(explo.output, "Deprecation"), "@1704067200");
    EXPECT_EQ(header_of(explo.output, "Sunset"), "Wed, 30 Jun 2027 00:00:00 GMT");
    EXPECT_EQ(header_of(explo.output, "Link"),
              "</api/update_customer/>; rel=\"successor-version\"");

    // StateSet user profile: the bare user object, 18 documented fields only, in document order.
    auto user = run_curl(
        "PUT", base + "/v1/users/u-7", "Authorization: Bearer demo-token",
        R"({"username":"ada","email":"ada@example.com","active":true,"birthday":"1815-12-10",)"
        R"("last_seen":"2026-11-23T10:00:00Z","firstName":"Ada","id":"u-7","nickname":"kept"})");
    ASSERT_EQ(status_of(user.output), 200u) << user.output;
    EXPECT_EQ(
        body_after_head(user.output),
        R"({"id":"u-7","active":true,"birthday":"1815-12-10","email":"ada@example.com","firstName":"Ada",)"
        R"("last_seen":"2026-11-23T10:00:00Z","username":"ada"})");
    EXPECT_EQ(user.output.find("password_hash"), std::string::npos);
    EXPECT_EQ(user.output.find("internal_flags"), std::string::npos);

    // The backend's own refusal keeps its words, in the dialect's style.
    auto bad_token = run_curl("PUT", base + "/api/user", "Authorization: Token wrong", seed_body);
    EXPECT_EQ(status_of(bad_token.output), 401u) << bad_token.output;
    EXPECT_EQ(body_after_head(bad_token.output),
              R"({"success":0,"error":"invalid or missing token"})");
}

TEST_P(Dialects, ByteExactValuesAndKeyOrder) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, upstream_customer); });
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port());
    std::string body =
        R"({"name":"caf\u00e9 \"q\"","user_group_id":"g\u00e9","properties":{"big":1e400,"tiny":0.10000000000000000001,)"
        R"("neg":-0,"arr":[1,2,{"x":null}]},"extra":12345678901234567890})";
    auto r = request(gate.port, "PUT", "/api/user", body,
                     "Authorization: token T\r\nContent-Type: application/json\r\n");
    ASSERT_EQ(r.status, 200u) << r.body;
    auto reqs = up.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(
        body_of(reqs[0]),
        R"({"name":"caf\u00e9 \"q\"","customer_id":"g\u00e9","properties":{"big":1e400,"tiny":0.10000000000000000001,)"
        R"("neg":-0,"arr":[1,2,{"x":null}]},"extra":12345678901234567890})");
    EXPECT_EQ(header_of(reqs[0], "Authorization"), "Token T");  // scheme normalised
}

struct refused_case {
    std::string name, method, path, headers, body;
    unsigned status;
    std::string expected_body;  // exact, or empty to check only the style
};

TEST_P(Dialects, EveryRefusalInTheDialectsStyleAndNothingForwarded) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, upstream_customer); });
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port(), {"--max-body", "1000"});
    const std::string json = "Content-Type: application/json\r\n";
    std::vector<refused_case> cases{
        {"malformed JSON", "PUT", "/api/user", "Authorization: Token t\r\n" + json,
         R"({"user_group_id": )", 400, ""},
        {"wrong type", "POST", "/api/update_user_group/", "Explo-Authorization: Token t\r\n" + json,
         R"({"user_group_id":"g","is_demo_group":"yes"})", 400, ""},
        {"missing user_group_id", "PUT", "/api/user", "Authorization: Token t\r\n" + json,
         R"({"name":"n"})", 400, ""},
        {"null user_group_id", "PUT", "/api/user", "Authorization: Token t\r\n" + json,
         R"({"user_group_id":null})", 400, ""},
        {"duplicate key", "PUT", "/api/user", "Authorization: Token t\r\n" + json,
         R"({"user_group_id":"a","user_group_id":"b"})", 400, ""},
        {"escaped duplicate key", "PUT", "/api/user", "Authorization: Token t\r\n" + json,
         R"({"user_group_id":"a","user_group_\u0069d":"b"})", 400, ""},
        {"array for object", "PUT", "/api/user", "Authorization: Token t\r\n" + json,
         R"({"user_group_id":"a","properties":[1]})", 400, ""},
        {"path id mismatch", "PUT", "/v1/users/other", "Authorization: Token t\r\n" + json,
         R"({"user_group_id":"example_1"})", 400, ""},
        {"body id mismatch", "PUT", "/v1/users/u1", "Authorization: Token t\r\n" + json,
         R"({"id":"u2"})", 400, ""},
        {"bad birthday", "PUT", "/v1/users/u1", "Authorization: Token t\r\n" + json,
         R"({"birthday":"1990-02-30"})", 400, ""},
        {"missing credential", "PUT", "/api/user", json, R"({"user_group_id":"a"})", 401, ""},
        {"wrong scheme", "POST", "/api/update_user_group/",
         "Explo-Authorization: Bearer t\r\n" + json, R"({"user_group_id":"a"})", 401, ""},
        {"Explo credential in Authorization", "POST", "/api/update_user_group/",
         "Authorization: Token t\r\n" + json, R"({"user_group_id":"a"})", 401, ""},
        {"two credentials", "PUT", "/api/user",
         "Authorization: Token t\r\nAuthorization: Token u\r\n" + json, R"({"user_group_id":"a"})",
         400, ""},
        {"not JSON", "PUT", "/api/user", "Authorization: Token t\r\nContent-Type: text/plain\r\n",
         R"({"user_group_id":"a"})", 415, ""},
        {"too big", "PUT", "/api/user", "Authorization: Token t\r\n" + json,
         R"({"user_group_id":"a","name":")" + std::string(2000, 'n') + R"("})", 413, ""},
    };
    for (const auto& c : cases) {
        auto r = request(gate.port, c.method, c.path, c.body, c.headers);
        EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
        bool stateset = c.path.rfind("/v1/", 0) == 0;
        if (stateset) {
            EXPECT_EQ(header_of(r.head, "Content-Type"), "application/problem+json") << c.name;
            EXPECT_NE(r.body.find("\"status\":" + std::to_string(c.status)), std::string::npos)
                << c.name << r.body;
        } else {
            EXPECT_EQ(header_of(r.head, "Content-Type"), "application/json") << c.name;
            EXPECT_EQ(r.body.rfind(R"({"success":0,"error":")", 0), 0u) << c.name << r.body;
        }
        if (c.status == 401) {
            EXPECT_TRUE(header_of(r.head, "WWW-Authenticate")) << c.name;
        }
        if (c.path == "/api/update_user_group/") {
            EXPECT_TRUE(header_of(r.head, "Deprecation")) << c.name;
        }
    }
    EXPECT_EQ(up.requests().size(), 0u) << "a refused request reached the upstream";
}

TEST_P(Dialects, UpstreamRefusalsAndFailures) {
    std::string next;
    fake_upstream up([&](const std::string&) { return next; });
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port(), {"--upstream-timeout", "0.5"});
    const std::string headers =
        "Explo-Authorization: Token t\r\nContent-Type: application/json\r\n";
    const std::string body = R"({"user_group_id":"g"})";

    next = fake_upstream::answer(404, R"({"success":0,"error":"customer g does not exist"})");
    auto r = request(gate.port, "POST", "/api/update_user_group/", body, headers);
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.body, R"({"success":0,"error":"customer g does not exist"})");
    EXPECT_TRUE(header_of(r.head, "Sunset"));

    next = fake_upstream::answer(500, "boom", "text/plain");
    r = request(gate.port, "POST", "/api/update_user_group/", body, headers);
    EXPECT_EQ(r.status, 502u);
    EXPECT_EQ(r.body.rfind(R"({"success":0,"error":")", 0), 0u) << r.body;

    next = fake_upstream::answer(200, "{not json");
    r = request(gate.port, "POST", "/api/update_user_group/", body, headers);
    EXPECT_EQ(r.status, 502u);

    next = fake_upstream::answer(200, upstream_customer, "application/json",
                                 "Content-Encoding: gzip\r\n");
    r = request(gate.port, "POST", "/api/update_user_group/", body, headers);
    EXPECT_EQ(r.status, 502u) << "an encoded body cannot be rewritten";

    // A chunked upstream answer is rewritten whole, with a recomputed Content-Length.
    std::string half = upstream_customer.substr(0, 40), rest = upstream_customer.substr(40);
    auto hex = [](std::size_t n) {
        char b[16];
        std::snprintf(b, sizeof b, "%zx", n);
        return std::string(b);
    };
    next =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
        hex(half.size()) + "\r\n" + half + "\r\n" + hex(rest.size()) + "\r\n" + rest +
        "\r\n0\r\n\r\n";
    r = request(gate.port, "POST", "/api/update_user_group/", body, headers);
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(header_of(r.head, "Content-Length"), std::to_string(r.body.size()));
    EXPECT_FALSE(header_of(r.head, "Transfer-Encoding"));
    EXPECT_EQ(r.body.find("internal_shard"), std::string::npos);

    next = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";  // never finishes: the timeout answers
    r = request(gate.port, "POST", "/api/update_user_group/", body, headers);
    EXPECT_EQ(r.status, 504u);
}

TEST_P(Dialects, NormalisedSpellingsOfADialectRouteAreTranslatedToo) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, upstream_customer); });
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port());
    for (std::string path :
         {"/api//user", "/api/./user", "/x/../api/user", "/%61pi/user", "/api/user?x=1"}) {
        auto r = request(gate.port, "PUT", path, R"({"name":"n"})", "Authorization: Token t\r\n");
        EXPECT_EQ(r.status, 400u) << path << " must be validated as PUT /api/user: " << r.body;
    }
    EXPECT_EQ(up.requests().size(), 0u);
    // The query string is kept and appended upstream.
    auto r = request(gate.port, "PUT", "/api/user?trace=1", R"({"user_group_id":"a"})",
                     "Authorization: Token t\r\n");
    EXPECT_EQ(r.status, 200u);
    ASSERT_EQ(up.requests().size(), 1u);
    EXPECT_EQ(request_line_of(up.requests()[0]), "POST /api/update_customer/?trace=1 HTTP/1.1");
}

TEST_P(Dialects, OnlyTheCanonicalCredentialAndNoStaleBodyHeadersReachTheUpstream) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, upstream_customer); });
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port());
    // Another dialect's credential header riding along on a Mintlify call is a second credential
    // (contract §2): 400, nothing forwarded, so it can never leak.
    auto two = request(gate.port, "PUT", "/api/user", R"({"user_group_id":"x","name":"n"})",
                       "Authorization: Token good\r\nExplo-Authorization: Token secret-other\r\n"
                       "Content-Type: application/json\r\n");
    EXPECT_EQ(two.status, 400u) << two.body;
    EXPECT_TRUE(up.requests().empty());
    auto r = request(gate.port, "PUT", "/api/user", R"({"user_group_id":"x","name":"n"})",
                     "Authorization: Token good\r\nContent-Type: application/json\r\n"
                     "Content-Digest: sha-256=:abc=:\r\nContent-MD5: abc\r\n");
    ASSERT_EQ(r.status, 200u) << r.body;
    auto reqs = up.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_FALSE(header_of(reqs[0], "Content-Digest"));
    EXPECT_FALSE(header_of(reqs[0], "Content-MD5"));
    EXPECT_EQ(header_of(reqs[0], "Authorization"), "Token good");

    // An encoded body cannot be validated or rewritten: 415, nothing forwarded.
    auto gz = request(
        gate.port, "PUT", "/api/user", "\x1f\x8b\x08\x00",
        "Authorization: Token t\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n");
    EXPECT_EQ(gz.status, 415u);
    EXPECT_EQ(up.requests().size(), 1u);
}

TEST_P(Dialects, TricklingUpstreamAnswerStillTimesOut) {
    // The head arrives at once, then the body never completes: one deadline covers the whole
    // answer.
    fake_upstream up([](const std::string&) {
        return std::string(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            "500\r\n\r\n{\"a\":");
    });
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port(), {"--upstream-timeout", "0.5"});
    auto start = std::chrono::steady_clock::now();
    auto r = request(gate.port, "POST", "/api/update_user_group/", R"({"user_group_id":"g"})",
                     "Explo-Authorization: Token t\r\nContent-Type: application/json\r\n");
    EXPECT_EQ(r.status, 504u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace shimgate::testing
