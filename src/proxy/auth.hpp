#pragma once
// Credential check for a translated route: exactly one of the rule's accepted credential headers,
// with one of its schemes (case-insensitive) and a non-empty token. Pure function.
#include <optional>
#include <string_view>

#include "config/rule_set.hpp"
#include "proxy/head.hpp"
#include "proxy/refusal.hpp"

namespace shimgate {

// The token on success. Refusals: 401 for a missing or malformed credential (wrong scheme, empty
// token, token with spaces or control characters), 400 for two credential headers.
result<std::string_view> authenticate(const rule& r, const head_fields& headers);

// nullopt means accepted: application/json, any +json type (parameters allowed, case-insensitive),
// or no Content-Type at all. Anything else is a 415; two Content-Type headers are a 400.
std::optional<refusal> check_content_type(const head_fields& headers);

// A translated body is read and rewritten as JSON text: an encoded one (Content-Encoding other
// than identity) would be read two ways, so it is a 415.
std::optional<refusal> check_content_encoding(const head_fields& headers);

}  // namespace shimgate
