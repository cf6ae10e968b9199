#pragma once
// The micro-benchmark cases: the seed bodies (docs in ../shared/seeds/), the Customer API's answers
// to them (what backend/customer-api renders) and the default rules, one case per dialect.
#include <string>
#include <string_view>
#include <vector>

#include "config/rule_set.hpp"
#include "proxy/route.hpp"

namespace shimgate::bench {

struct bench_case {
    std::string name;    // "explo", "mintlify", "stateset_group", "stateset_user"
    std::string method;  // the client's method and path, for route matching
    std::string path;
    std::string request;  // the client's body
    std::string answer;   // the upstream's 200 body
    const rule* r = nullptr;
    path_match match;  // candidates and params (StateSet: both rules, body decides)
};

// The four cases, rules loaded once from rules/.
const std::vector<bench_case>& cases();

const bench_case& case_named(std::string_view name);

}  // namespace shimgate::bench
