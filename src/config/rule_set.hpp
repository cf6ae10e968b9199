#pragma once
// The typed, immutable form of the rule files in rules/ (one file per dialect route).
// Built and validated once by config/rule_loader; the request path only reads it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace shimgate {

enum class field_type { string, boolean, object, array, number, date, date_time, any };
enum class unknown_policy { pass, drop, reject };
enum class error_style { envelope, problem };  // {"success":0,"error":...} or RFC 9457
enum class path_param_mode { check, inject };  // body field must equal the param / is set from it

struct field_rule {
    std::string name;
    field_type type = field_type::any;
    bool required = false;   // absent or null is refused
    bool non_empty = false;  // "" (string), {} / [] refused
};

// A path template segment: a literal ("api") or a parameter ("{id}" -> name "id").
struct path_segment {
    std::string text;
    bool is_param = false;
};

struct path_param_rule {
    std::string param;  // name in the path template
    std::string field;  // top-level body field it is tied to
    path_param_mode mode = path_param_mode::check;
};

struct credential_source {
    std::string header;                // e.g. "Explo-Authorization"
    std::vector<std::string> schemes;  // e.g. {"Token", "Bearer"}; compared case-insensitively
};

struct response_key {
    std::string from;  // key in the upstream source object
    std::string as;    // key written to the client (== from unless renamed)
};

struct response_rule {
    std::vector<std::string> copy;  // top-level upstream keys copied first, in order ("success")
    std::string wrapper;            // client key the picked object is written under; "" = top level
    std::string source;             // upstream top-level object to pick from; "" = the root
    std::vector<response_key> keys;  // documented keys, in documented order
};

// A dated window in which a deprecated route answers 410 as if it were retired: [start, end).
struct brownout_window {
    std::int64_t start_unix = 0;
    std::int64_t end_unix = 0;
};

// What a deprecated route does from its sunset instant on.
enum class after_sunset_policy { refuse, serve };

struct deprecation_rule {
    bool enabled = false;
    std::int64_t deprecation_unix = 0;        // Deprecation: @<unix-seconds>   (RFC 9745)
    std::string sunset;                       // Sunset: <IMF-fixdate>          (RFC 8594)
    std::string successor;                    // Link: <successor>; rel="successor-version"
    std::optional<std::int64_t> sunset_unix;  // the sunset instant, if there is one
    after_sunset_policy after_sunset = after_sunset_policy::refuse;
    std::vector<brownout_window> brownouts;  // in time order, none overlapping
    // The header values as written on every answer of the route, made once at load.
    std::string deprecation_value;  // "@1704067200"
    std::string link_value;         // "</api/update_customer/>; rel=\"successor-version\"", or ""
};

struct rule {
    std::string file;     // file name in the rules directory, for messages
    std::string name;     // rule name, for messages, metrics and logs
    std::string dialect;  // "mintlify", "explo", "stateset", ...

    // match
    std::string method;  // "PUT"
    std::string path;    // the template as written: "/v1/users/{id}"
    std::vector<path_segment> segments;
    std::string body_has;  // "" = any body; else the top-level key the body must contain

    // credentials
    std::vector<credential_source> accept;
    std::string upstream_auth_header = "Authorization";
    std::string upstream_auth_scheme = "Token";

    // request body
    std::vector<field_rule> fields;
    std::vector<std::pair<std::string, std::string>> renames;  // from -> to
    unknown_policy unknown = unknown_policy::pass;
    std::vector<path_param_rule> path_params;

    // upstream
    std::string upstream_method;       // "POST"
    std::string upstream_path;         // may use the template's params: "/v1/users/{id}"
    bool upstream_idempotent = false;  // safe to send again after a reused connection failed

    // answer
    response_rule response;
    error_style errors = error_style::envelope;
    deprecation_rule deprecation;
};

struct rule_set {
    std::vector<rule> rules;  // in match order (rules with body_has before those without)
    // Every credential header a rule accepts or sends upstream, lower case, each once: a
    // translated call forwards none of them but the one it adds itself (set by load_rules).
    std::vector<std::string> credential_headers;
    // The successor path of each deprecated rule that names one, and that rule's index in
    // `rules` (set by load_rules): a pass-through call of such a path may be a client migrating.
    std::vector<std::pair<std::string, std::size_t>> successors;
};

using rule_set_ptr = std::shared_ptr<const rule_set>;

}  // namespace shimgate
