#pragma once
// Loads the rule files of a directory (every *.json, in file-name order; none at all is an error)
// into an immutable rule_set. The format is documented in rules/README.md. Fails fast: the first
// problem found is returned as one line naming the file, the rule and the problem, e.g.
//   rules/explo.json: rule "explo-update-user-group": request.fields.is_demo_group: unknown type
//   "bool" (expected string|boolean|...)        <- one line, wrapped here
#include <filesystem>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"

namespace shimgate {

struct rules_or_error {
    rule_set_ptr rules;  // set on success
    std::string error;   // set on failure
};

rules_or_error load_rules(const std::filesystem::path& dir);

// One rule from its JSON text; `file_name` is only used in messages. Used by load_rules and tests.
struct rule_or_error {
    rule value;
    std::string error;  // empty on success
};
rule_or_error parse_rule(std::string_view file_name, std::string_view json_text);

}  // namespace shimgate
