#pragma once
// Route matching: method + normalised path (exact, trailing slash significant) -> the rules that
// may handle it. Several rules can share a method and path (StateSet's PUT /v1/users/{id} for a
// group body and a profile body); the body decides between them (select_by_body). Pure functions.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/rule_set.hpp"
#include "json/json_context.hpp"

namespace shimgate {

using path_params = std::vector<std::pair<std::string, std::string>>;  // name -> decoded value

struct path_match {
    std::vector<const rule*> candidates;  // empty: no rule matches, the request passes through
    path_params params;
};

path_match match_route(const rule_set& rules, std::string_view method,
                       std::string_view normalized_path);
// The same into `out` (cleared first), whose capacity a caller reuses from request to request.
void match_route(const rule_set& rules, std::string_view method, std::string_view normalized_path,
                 path_match& out);

// The first candidate whose body_has key is a top-level key of `body`, else the first candidate
// without body_has, else the first candidate. Never fails: a malformed body is refused later by the
// transform of the rule picked here. `body` is read (not changed) with the thread's JSON state, and
// its members are kept there for the transform_request that follows on the same body.
const rule* select_by_body(const path_match& match, std::string& body, json_context& ctx);

}  // namespace shimgate
