#pragma once
// Route matching: method + normalised path (exact, trailing slash significant) -> the rules that
// may handle it. Several rules can share a method and path (StateSet's PUT /v1/users/{id} for a
// group body and a profile body); the body decides between them (select_by_body). Pure functions.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/rule_set.hpp"
#include "json/json_members.hpp"

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

// The rule picked for a body, and the body's members read to pick it: the caller hands `body` to
// transform_request, which then reads nothing again.
struct body_choice {
    const rule* picked = nullptr;  // null when there is no candidate (the request passes through)
    body_members body;             // read with the thread's JSON state (valid as body_members says)
};

// The first candidate whose body_has key is a top-level key of `body`, else the first candidate
// without body_has, else the first candidate. Never fails: a malformed body is refused later by the
// transform of the rule picked here, from the members read here (choice.body).
body_choice select_by_body(const path_match& match, std::string_view body, json_context& ctx);

}  // namespace shimgate
