#include "bench_cases.hpp"

#include <cstdio>
#include <cstdlib>

#include "config/rule_loader.hpp"

namespace shimgate::bench {
namespace {

// The Explo seed's body as the issue quotes it (compact).
constexpr std::string_view explo_body =
    R"({"user_group_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},)"
    R"("properties":{"filterValue":"value"}})";

// The Mintlify and StateSet seeds' --data-raw, as the pages print it.
constexpr std::string_view seed_pretty_body = R"({
    "user_group_id": "example_1",
    "name": "Example 1",
    "mapping": {"40": "213", "134": "386"},
    "properties": {"filterValue": "value"}
})";

// A StateSet profile update with every documented field.
constexpr std::string_view profile_body =
    R"({"id":"u-1","active":true,"avatar":"https://cdn.example.com/a/u-1.png","bio":"Builds things",)"
    R"("birthday":"1990-02-28","country":"FR","email":"ann.lee@example.com","firstName":"Ann",)"
    R"("lastName":"Lee","last_seen":"2024-01-02T03:04:05Z","last_typed":"2024-01-02T03:04:05.123+02:00",)"
    R"("location":"Paris","organization":"Example Org","phone":"+33 1 23 45 67 89","regions":"EU",)"
    R"("title":"CTO","twitter":"@annlee","username":"annlee"})";

// backend/handlers.cpp render_customer for the seed body: what customer-api answers (as captured
// in bench/peers/customer-answer.json).
constexpr std::string_view customer_answer =
    R"({"success":1,"customer":{"customer_id":"example_1","team_id":113,)"
    R"("token":"cust_tok_43a47ade01cbaef1","name":"Example 1","mapping":{"40":"213","134":"386"},)"
    R"("properties":{"filterValue":"value"},"api_environment_tag":"Customer","is_demo_group":false,)"
    R"("password_hash":"pbkdf2_sha256$260000$fakesalt$c6d65cedab44b43e","internal_shard":14}})";

// backend/handlers.cpp render_user for the profile body.
constexpr std::string_view user_answer =
    R"({"id":"u-1","active":true,"avatar":"https://cdn.example.com/a/u-1.png","bio":"Builds things",)"
    R"("birthday":"1990-02-28","country":"FR","email":"ann.lee@example.com","firstName":"Ann",)"
    R"("lastName":"Lee","last_seen":"2024-01-02T03:04:05Z","last_typed":"2024-01-02T03:04:05.123+02:00",)"
    R"("location":"Paris","organization":"Example Org","phone":"+33 1 23 45 67 89","regions":"EU",)"
    R"("title":"CTO","twitter":"@annlee","username":"annlee",)"
    R"("password_hash":"pbkdf2_sha256$260000$fakesalt$0d4c7a9e21b35f68","internal_flags":["x"]})";

const rule_set& default_rules() {
    static const rules_or_error loaded = load_rules(SHIMGATE_SOURCE_DIR "/rules");
    if (!loaded.error.empty()) {
        std::fprintf(stderr, "shimgate_micro_bench: %s\n", loaded.error.c_str());
        std::exit(2);
    }
    return *loaded.rules;
}

bench_case make(std::string name, std::string method, std::string path, std::string_view request,
                std::string_view answer, std::string_view rule_name) {
    bench_case c{std::move(name),
                 std::move(method),
                 std::move(path),
                 std::string(request),
                 std::string(answer),
                 nullptr,
                 {}};
    c.match = match_route(default_rules(), c.method, c.path);
    for (const rule* r : c.match.candidates)
        if (r->name == rule_name) c.r = r;
    if (c.r == nullptr) {
        std::fprintf(stderr, "shimgate_micro_bench: no rule %.*s for %s %s\n",
                     static_cast<int>(rule_name.size()), rule_name.data(), c.method.c_str(),
                     c.path.c_str());
        std::exit(2);
    }
    return c;
}

}  // namespace

const std::vector<bench_case>& cases() {
    static const std::vector<bench_case> all{
        make("explo", "POST", "/api/update_user_group/", explo_body, customer_answer,
             "explo-update-user-group"),
        make("mintlify", "PUT", "/api/user", seed_pretty_body, customer_answer,
             "mintlify-update-user"),
        make("stateset_group", "PUT", "/v1/users/example_1", seed_pretty_body, customer_answer,
             "stateset-update-user-group"),
        make("stateset_user", "PUT", "/v1/users/u-1", profile_body, user_answer,
             "stateset-update-user"),
    };
    return all;
}

const bench_case& case_named(std::string_view name) {
    for (const bench_case& c : cases())
        if (c.name == name) return c;
    std::fprintf(stderr, "shimgate_micro_bench: no case %.*s\n", static_cast<int>(name.size()),
                 name.data());
    std::exit(2);
}

}  // namespace shimgate::bench
