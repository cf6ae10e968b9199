#pragma once
// Request-target handling: split origin-form / absolute-form targets into path and query, and
// normalise the path the way routes are matched (RFC 3986 §6.2.2: percent-decoding of unreserved
// characters, dot-segment removal) plus merged slashes. Pure functions.
#include <optional>
#include <string>
#include <string_view>

namespace shimgate {

struct split_target {
    std::string_view path;   // "/a/b" (absolute-form: the path after the authority, "/" if empty)
    std::string_view query;  // without the '?', empty if none
    bool has_query = false;
};

// nullopt for targets that are neither origin-form nor absolute-form (e.g. "*" or authority-form).
std::optional<split_target> split_request_target(std::string_view target);

// nullopt if the path is invalid (bad percent-encoding, NUL or %00, a control character or space,
// or it does not start with '/'). Other percent-encoded characters stay encoded (hex upper-cased),
// so "%2F" is no segment separator: "/a%2Fb" stays one segment.
std::optional<std::string> normalize_path(std::string_view path);
// The same into `out` (a buffer the caller reuses): false if the path is invalid. A path that is
// already normal is only copied.
bool normalize_path(std::string_view path, std::string& out);

}  // namespace shimgate
