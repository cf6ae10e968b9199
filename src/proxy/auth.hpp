#pragma once
// Credential check for a translated route: exactly one of the rule's accepted credential headers,
// with one of its schemes (case-insensitive) and a non-empty token. Pure function.
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "proxy/head.hpp"
#include "proxy/refusal.hpp"

namespace shimgate {

// The token on success. Refusals: 401 for a missing or malformed credential (wrong scheme, empty
// token, token with spaces or control characters), 400 for two credential headers: two of the
// rule's own, or one of them and any other header in `credential_headers` (every credential header
// of the rule set, rule_set::credential_headers, lower case), since the shim and the upstream could
// read such a call as coming from two callers.
result<std::string_view> authenticate(const rule& r, const head_fields& headers,
                                      std::span<const std::string> credential_headers = {});

// The WWW-Authenticate value of a 401 relayed from the upstream on `r`: the upstream's own
// challenges (several fields joined by ", ", as RFC 9110 §5.3 allows for this list), or the shim's
// own (answer_head's make_challenge) when it sent none, so every 401 carries one. Into `out`.
void relayed_challenge(const rule& r, const head_fields& upstream_headers, std::string& out);

// nullopt means accepted: application/json, any +json type (parameters allowed, case-insensitive),
// or no Content-Type at all. Anything else is a 415; two Content-Type headers are a 400.
std::optional<refusal> check_content_type(const head_fields& headers);

// A translated body is read and rewritten as JSON text: an encoded one (Content-Encoding other
// than identity) would be read two ways, so it is a 415.
std::optional<refusal> check_content_encoding(const head_fields& headers);

}  // namespace shimgate
