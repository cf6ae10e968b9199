#include "config/rule_loader.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <set>

#include "proxy/path.hpp"

// Rule files are read with the simdjson DOM API: start-up only, and the DOM keeps every member of
// an object, so duplicate keys in a rule file can be found (and refused).
namespace shimgate {
namespace {

namespace dom = simdjson::dom;
using std::string_view_literals::operator""sv;

// ---------------------------------------------------------------- character classes

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// RFC 9110 §5.6.2 token (methods, header names, auth schemes).
bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        // (strchr also finds the terminating NUL: c == '\0' must not pass as a token character)
        if (!is_alpha(c) && !is_digit(c) &&
            (c == '\0' || std::strchr("!#$%&'*+-.^_`|~", c) == nullptr))
            return false;
    return true;
}

// Path parameter names: they are also looked up by name in path_params and the upstream path.
bool is_identifier(std::string_view s) {
    if (s.empty() || is_digit(s[0])) return false;
    for (char c : s)
        if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
    return true;
}

// Rule and dialect names end up in logs and metric labels.
bool is_label(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

// RFC 3986 pchar, except '%' which normalize_path checks.
bool is_pchar(char c) {
    return is_alpha(c) || is_digit(c) ||
           (c != '\0' && std::strchr("-._~!$&'()*+,;=:@%", c) != nullptr);
}

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
               };
               return lower(x) == lower(y);
           });
}

std::string in_quotes(std::string_view s) {
    return '"' + std::string(s) + '"';
}

// ---------------------------------------------------------------- dates

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil_date {
    std::int64_t year;
    unsigned month, day;
};

civil_date civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool digits_at(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (!is_digit(s[i])) return false;
        out = out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
}

// RFC 3339 full-date ("2027-06-30", midnight UTC) or date-time ("2027-06-30T12:00:00Z",
// "...+02:00", fractions of a second ignored) -> unix seconds.
std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    unsigned y = 0, mo = 0, d = 0;
    if (!digits_at(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits_at(s, 5, 2, mo) ||
        s[7] != '-' || !digits_at(s, 8, 2, d))
        return std::nullopt;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1) return std::nullopt;
    static constexpr unsigned month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > month_days[mo - 1] + (mo == 2 && leap ? 1u : 0u)) return std::nullopt;
    const std::int64_t day_seconds = days_from_civil(y, mo, d) * 86400;
    if (s.size() == 10) return day_seconds;

    unsigned h = 0, mi = 0, sec = 0;
    if ((s[10] != 'T' && s[10] != 't') || !digits_at(s, 11, 2, h) || s.size() < 19 ||
        s[13] != ':' || !digits_at(s, 14, 2, mi) || s[16] != ':' || !digits_at(s, 17, 2, sec))
        return std::nullopt;
    if (h > 23 || mi > 59 || sec > 59) return std::nullopt;
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
        const std::size_t first = ++pos;
        while (pos < s.size() && is_digit(s[pos])) ++pos;
        if (pos == first) return std::nullopt;
    }
    std::int64_t offset = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else {
        unsigned oh = 0, om = 0;
        if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-') || !digits_at(s, pos + 1, 2, oh) ||
            pos + 3 >= s.size() || s[pos + 3] != ':' || !digits_at(s, pos + 4, 2, om) || oh > 23 ||
            om > 59)
            return std::nullopt;
        offset = (s[pos] == '-' ? -1 : 1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
        pos += 6;
    }
    if (pos != s.size()) return std::nullopt;
    return day_seconds + h * 3600 + mi * 60 + sec - offset;
}

// RFC 9110 §5.6.7 IMF-fixdate: "Wed, 30 Jun 2027 00:00:00 GMT".
std::string imf_fixdate(std::int64_t unix_seconds) {
    static constexpr const char* week[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::int64_t days = unix_seconds / 86400;  // dates before 1970 are refused earlier
    const std::int64_t rest = unix_seconds % 86400;
    const civil_date c = civil_from_days(days);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02lld:%02lld:%02lld GMT",
                  week[(days + 4) % 7], c.day, months[c.month - 1], static_cast<long long>(c.year),
                  static_cast<long long>(rest / 3600), static_cast<long long>(rest / 60 % 60),
                  static_cast<long long>(rest % 60));
    return buf;
}

// ---------------------------------------------------------------- the rule file reader

const char* json_type_name(dom::element e) {
    switch (e.type()) {
        case dom::element_type::ARRAY:
            return "an array";
        case dom::element_type::OBJECT:
            return "an object";
        case dom::element_type::INT64:
        case dom::element_type::UINT64:
        case dom::element_type::DOUBLE:
            return "a number";
        case dom::element_type::STRING:
            return "a string";
        case dom::element_type::BOOL:
            return "a boolean";
        case dom::element_type::NULL_VALUE:
            return "null";
    }
    return "a value";
}

std::string join(std::string_view where, std::string_view key) {
    return where.empty() ? std::string(key) : std::string(where) + "." + std::string(key);
}

std::string indexed(std::string_view where, std::size_t i) {
    return std::string(where) + "[" + std::to_string(i) + "]";
}

std::string one_of(std::initializer_list<std::string_view> names, std::string_view sep) {
    std::string out;
    for (auto n : names) {
        if (!out.empty()) out += sep;
        out += n;
    }
    return out;
}

// Walks one rule file. Every reader returns false after recording the first problem; the
// message names the file, the rule (once its name is known) and the key path.
class rule_reader {
  public:
    explicit rule_reader(std::string_view file) : file_(file) {}

    bool read(dom::element root, rule& r);
    const std::string& error() const { return error_; }

  private:
    bool fail(std::string_view where, std::string_view problem) {
        error_ = file_ + ": ";
        if (!rule_name_.empty()) error_ += "rule " + in_quotes(rule_name_) + ": ";
        if (!where.empty()) error_ += std::string(where) + ": ";
        error_ += problem;
        // One line whatever the rule file holds: quoted keys and values may carry control
        // characters (from JSON escapes); they are shown as \u00XX.
        std::string clean;
        for (const char ch : error_) {
            const auto c = static_cast<unsigned char>(ch);
            if (c < 0x20 || c == 0x7f) {
                static constexpr char hex[] = "0123456789abcdef";
                clean += "\\u00";
                clean += hex[c >> 4];
                clean += hex[c & 0xF];
            } else {
                clean += ch;
            }
        }
        error_ = std::move(clean);
        return false;
    }
    bool wrong_type(std::string_view where, std::string_view expected, dom::element got) {
        return fail(where, "expected " + std::string(expected) + ", got " + json_type_name(got));
    }

    // An object whose keys are all in `allowed`, each at most once, with every `required` key.
    bool keys(dom::element e, std::string_view where,
              std::initializer_list<std::string_view> allowed,
              std::initializer_list<std::string_view> required, dom::object& out);
    // An object used as a map (keys chosen by the author): only duplicates are refused.
    bool map(dom::element e, std::string_view where, dom::object& out);
    bool string(dom::element e, std::string_view where, std::string& out, bool non_empty = true);
    bool boolean(dom::element e, std::string_view where, bool& out);
    bool array(dom::element e, std::string_view where, dom::array& out, bool non_empty = true);
    bool token(dom::element e, std::string_view where, std::string& out, std::string_view what);
    bool method(dom::element e, std::string_view where, std::string& out);

    bool read_match(dom::element e, rule& r);
    bool read_template(std::string_view where, rule& r);
    bool read_auth(dom::element e, rule& r);
    bool read_request(dom::element e, rule& r);
    bool read_field(std::string_view name, dom::element e, std::string_view where, field_rule& f);
    bool read_renames(dom::element e, std::string_view where, rule& r);
    bool read_path_params(dom::element e, std::string_view where, rule& r);
    bool read_upstream(dom::element e, rule& r);
    bool read_response(dom::element e, rule& r);
    bool read_deprecation(dom::element e, rule& r);

    const field_rule* field(const rule& r, std::string_view name) const {
        for (const auto& f : r.fields)
            if (f.name == name) return &f;
        return nullptr;
    }
    static bool has_param(const rule& r, std::string_view name) {
        for (const auto& s : r.segments)
            if (s.is_param && s.text == name) return true;
        return false;
    }

    std::string file_;
    std::string rule_name_;
    std::string error_;
};

bool rule_reader::keys(dom::element e, std::string_view where,
                       std::initializer_list<std::string_view> allowed,
                       std::initializer_list<std::string_view> required, dom::object& out) {
    if (e.get_object().get(out)) return wrong_type(where, "an object", e);
    std::set<std::string_view> seen;
    for (auto [key, value] : out) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            return fail(join(where, key), "unknown key (expected " + one_of(allowed, ", ") + ")");
        if (!seen.insert(key).second) return fail(join(where, key), "duplicate key");
    }
    for (auto key : required)
        if (!seen.count(key)) return fail(where, "missing required key " + in_quotes(key));
    return true;
}

bool rule_reader::map(dom::element e, std::string_view where, dom::object& out) {
    if (e.get_object().get(out)) return wrong_type(where, "an object", e);
    std::set<std::string_view> seen;
    for (auto [key, value] : out) {
        if (key.empty()) return fail(where, "empty key");
        if (!seen.insert(key).second) return fail(join(where, key), "duplicate key");
    }
    return true;
}

bool rule_reader::string(dom::element e, std::string_view where, std::string& out, bool non_empty) {
    std::string_view s;
    if (e.get_string().get(s)) return wrong_type(where, "a string", e);
    if (non_empty && s.empty()) return fail(where, "must not be empty");
    out = std::string(s);
    return true;
}

bool rule_reader::boolean(dom::element e, std::string_view where, bool& out) {
    if (e.get_bool().get(out)) return wrong_type(where, "true or false", e);
    return true;
}

bool rule_reader::array(dom::element e, std::string_view where, dom::array& out, bool non_empty) {
    if (e.get_array().get(out)) return wrong_type(where, "an array", e);
    if (non_empty && out.size() == 0) return fail(where, "must not be empty");
    return true;
}

bool rule_reader::token(dom::element e, std::string_view where, std::string& out,
                        std::string_view what) {
    if (!string(e, where, out)) return false;
    if (!is_token(out)) return fail(where, in_quotes(out) + " is not a valid " + std::string(what));
    return true;
}

bool rule_reader::method(dom::element e, std::string_view where, std::string& out) {
    if (!token(e, where, out, "method token")) return false;
    if (out == "CONNECT") return fail(where, "CONNECT cannot be translated");
    return true;
}

bool rule_reader::read(dom::element root, rule& r) {
    dom::object obj;
    if (root.get_object().get(obj)) return wrong_type("", "a rule object at the top level", root);
    // The name first, so every later message can name the rule.
    dom::element name;
    if (obj["name"].get(name) == simdjson::SUCCESS) {
        if (!string(name, "name", r.name)) return false;
        if (!is_label(r.name))
            return fail("name", in_quotes(r.name) + " may only use letters, digits, '-', '_', '.'");
        rule_name_ = r.name;
    }
    if (!keys(root, "",
              {"name", "description", "dialect", "match", "auth", "request", "upstream", "response",
               "errors", "deprecation"},
              {"name", "dialect", "match", "auth", "request", "upstream", "response", "errors"},
              obj))
        return false;

    for (auto [key, value] : obj) {
        bool ok = true;
        if (key == "description") {
            std::string ignored;
            ok = string(value, key, ignored, false);
        } else if (key == "dialect") {
            ok = string(value, key, r.dialect);
            if (ok && !is_label(r.dialect))
                ok = fail(key,
                          in_quotes(r.dialect) + " may only use letters, digits, '-', '_', '.'");
        } else if (key == "errors") {
            std::string style;
            ok = string(value, key, style);
            if (ok && style == "envelope")
                r.errors = error_style::envelope;
            else if (ok && style == "problem")
                r.errors = error_style::problem;
            else if (ok)
                ok =
                    fail(key, "unknown style " + in_quotes(style) + " (expected envelope|problem)");
        }
        if (!ok) return false;
    }
    // Sections in dependency order: the path template before anything that names its params,
    // the fields before renames and path_params.
    return read_match(obj["match"].value_unsafe(), r) && read_auth(obj["auth"].value_unsafe(), r) &&
           read_request(obj["request"].value_unsafe(), r) &&
           read_upstream(obj["upstream"].value_unsafe(), r) &&
           read_response(obj["response"].value_unsafe(), r) &&
           (obj["deprecation"].error() != simdjson::SUCCESS ||
            read_deprecation(obj["deprecation"].value_unsafe(), r));
}

bool rule_reader::read_match(dom::element e, rule& r) {
    dom::object obj;
    if (!keys(e, "match", {"method", "path", "body_has"}, {"method", "path"}, obj)) return false;
    if (!method(obj["method"].value_unsafe(), "match.method", r.method)) return false;
    if (!string(obj["path"].value_unsafe(), "match.path", r.path)) return false;
    if (!read_template("match.path", r)) return false;
    dom::element body_has;
    if (obj["body_has"].get(body_has) == simdjson::SUCCESS &&
        !string(body_has, "match.body_has", r.body_has))
        return false;
    return true;
}

// "/v1/users/{id}" -> {"v1", "users", {param "id"}}. Literal segments must already be in the
// normalised form requests are matched in, or the rule could never match.
bool rule_reader::read_template(std::string_view where, rule& r) {
    const std::string& p = r.path;
    if (p.empty() || p.front() != '/') return fail(where, in_quotes(p) + " must start with '/'");
    std::string probe;  // the template with each param replaced by a plain segment
    std::size_t start = 1;
    while (true) {
        const auto slash = p.find('/', start);
        const std::string_view seg = std::string_view(p).substr(start, slash - start);
        path_segment s;
        if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
            s.text = std::string(seg.substr(1, seg.size() - 2));
            s.is_param = true;
            if (!is_identifier(s.text))
                return fail(where,
                            "parameter " + in_quotes(seg) +
                                ": name must be letters, digits or '_', not starting with a digit");
            if (has_param(r, s.text))
                return fail(where, "parameter " + in_quotes(seg) + " used twice");
            probe += "/p";
        } else {
            for (char c : seg) {
                if (c == '{' || c == '}')
                    return fail(where, "a parameter must be a whole segment, like /users/{id}");
                if (!is_pchar(c))
                    return fail(where, in_quotes(p) + ": character '" + std::string(1, c) +
                                           "' must be percent-encoded");
            }
            s.text = std::string(seg);
            probe += '/';
            probe += seg;
        }
        r.segments.push_back(std::move(s));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    const auto normal = normalize_path(probe);
    if (!normal) return fail(where, in_quotes(p) + " is not a valid path (bad percent-encoding?)");
    if (*normal != probe)
        return fail(where, in_quotes(p) +
                               " is not in normalised form (requests are matched after "
                               "normalisation: no '.', '..' or empty segments, unreserved "
                               "characters not percent-encoded, upper-case hex)");
    return true;
}

bool rule_reader::read_auth(dom::element e, rule& r) {
    dom::object obj;
    if (!keys(e, "auth", {"accept", "upstream"}, {"accept", "upstream"}, obj)) return false;

    dom::array accept;
    if (!array(obj["accept"].value_unsafe(), "auth.accept", accept)) return false;
    std::size_t i = 0;
    for (dom::element item : accept) {
        const std::string where = indexed("auth.accept", i++);
        dom::object src;
        if (!keys(item, where, {"header", "schemes"}, {"header", "schemes"}, src)) return false;
        credential_source c;
        if (!token(src["header"].value_unsafe(), join(where, "header"), c.header, "header name"))
            return false;
        for (const auto& other : r.accept)
            if (iequal(other.header, c.header))
                return fail(
                    join(where, "header"),
                    in_quotes(c.header) + " listed twice (give it one entry with several schemes)");
        dom::array schemes;
        const std::string swhere = join(where, "schemes");
        if (!array(src["schemes"].value_unsafe(), swhere, schemes)) return false;
        std::size_t j = 0;
        for (dom::element s : schemes) {
            std::string scheme;
            if (!token(s, indexed(swhere, j++), scheme, "auth scheme")) return false;
            for (const auto& other : c.schemes)
                if (iequal(other, scheme))
                    return fail(swhere, "scheme " + in_quotes(scheme) +
                                            " listed twice (schemes are case-insensitive)");
            c.schemes.push_back(std::move(scheme));
        }
        r.accept.push_back(std::move(c));
    }

    dom::object up;
    if (!keys(obj["upstream"].value_unsafe(), "auth.upstream", {"header", "scheme"},
              {"header", "scheme"}, up))
        return false;
    if (!token(up["header"].value_unsafe(), "auth.upstream.header", r.upstream_auth_header,
               "header name") ||
        !token(up["scheme"].value_unsafe(), "auth.upstream.scheme", r.upstream_auth_scheme,
               "auth scheme"))
        return false;
    for (auto reserved :
         {"Host"sv, "Content-Length"sv, "Content-Type"sv, "Transfer-Encoding"sv, "Connection"sv})
        if (iequal(r.upstream_auth_header, reserved))
            return fail("auth.upstream.header",
                        in_quotes(r.upstream_auth_header) + " is set by the proxy itself");
    return true;
}

bool rule_reader::read_request(dom::element e, rule& r) {
    dom::object obj;
    if (!keys(e, "request", {"fields", "renames", "unknown_fields", "path_params"}, {"fields"},
              obj))
        return false;
    dom::object fields;
    if (!map(obj["fields"].value_unsafe(), "request.fields", fields)) return false;
    for (auto [name, value] : fields) {
        field_rule f;
        if (!read_field(name, value, join("request.fields", name), f)) return false;
        r.fields.push_back(std::move(f));
    }
    for (auto [key, value] : obj) {
        bool ok = true;
        if (key == "renames") {
            ok = read_renames(value, "request.renames", r);
        } else if (key == "path_params") {
            ok = read_path_params(value, "request.path_params", r);
        } else if (key == "unknown_fields") {
            std::string policy;
            ok = string(value, "request.unknown_fields", policy);
            if (ok && policy == "pass")
                r.unknown = unknown_policy::pass;
            else if (ok && policy == "drop")
                r.unknown = unknown_policy::drop;
            else if (ok && policy == "reject")
                r.unknown = unknown_policy::reject;
            else if (ok)
                ok = fail("request.unknown_fields",
                          "unknown policy " + in_quotes(policy) + " (expected pass|drop|reject)");
        }
        if (!ok) return false;
    }
    return true;
}

bool rule_reader::read_field(std::string_view name, dom::element e, std::string_view where,
                             field_rule& f) {
    f.name = std::string(name);
    std::string type;
    std::string type_where = std::string(where);
    if (e.type() == dom::element_type::STRING) {  // shorthand: "name": "string"
        if (!string(e, where, type)) return false;
    } else {
        dom::object obj;
        if (e.type() != dom::element_type::OBJECT)
            return wrong_type(where, "a type name or an object", e);
        if (!keys(e, where, {"type", "required", "non_empty"}, {"type"}, obj)) return false;
        type_where = join(where, "type");
        if (!string(obj["type"].value_unsafe(), type_where, type)) return false;
        dom::element flag;
        if (obj["required"].get(flag) == simdjson::SUCCESS &&
            !boolean(flag, join(where, "required"), f.required))
            return false;
        if (obj["non_empty"].get(flag) == simdjson::SUCCESS &&
            !boolean(flag, join(where, "non_empty"), f.non_empty))
            return false;
    }
    static constexpr std::pair<std::string_view, field_type> types[] = {
        {"string", field_type::string},       {"boolean", field_type::boolean},
        {"object", field_type::object},       {"array", field_type::array},
        {"number", field_type::number},       {"date", field_type::date},
        {"date-time", field_type::date_time}, {"any", field_type::any}};
    const auto it = std::find_if(std::begin(types), std::end(types),
                                 [&](const auto& t) { return t.first == type; });
    if (it == std::end(types))
        return fail(type_where,
                    "unknown type " + in_quotes(type) +
                        " (expected string|boolean|object|array|number|date|date-time|any)");
    f.type = it->second;
    const bool sized = f.type == field_type::string || f.type == field_type::object ||
                       f.type == field_type::array || f.type == field_type::any;
    if (f.non_empty && !sized)
        return fail(join(where, "non_empty"), "only applies to string, object, array or any");
    return true;
}

bool rule_reader::read_renames(dom::element e, std::string_view where, rule& r) {
    dom::object obj;
    if (!map(e, where, obj)) return false;
    for (auto [from, value] : obj) {
        const std::string w = join(where, from);
        std::string to;
        if (!string(value, w, to)) return false;
        if (!field(r, from))
            return fail(
                w, in_quotes(from) + " is not a declared field (declare it in request.fields)");
        if (to == from) return fail(w, "renames the field to itself");
        if (field(r, to))
            return fail(w, "target " + in_quotes(to) +
                               " is also a declared field (the upstream body "
                               "would get the key twice)");
        for (const auto& [f, t] : r.renames)
            if (t == to)
                return fail(w,
                            "target " + in_quotes(to) + " is also the target of " + in_quotes(f));
        r.renames.emplace_back(std::string(from), std::move(to));
    }
    return true;
}

bool rule_reader::read_path_params(dom::element e, std::string_view where, rule& r) {
    dom::object obj;
    if (!map(e, where, obj)) return false;
    for (auto [param, value] : obj) {
        const std::string w = join(where, param);
        if (!has_param(r, param))
            return fail(w, "no {" + std::string(param) + "} in match.path " + in_quotes(r.path));
        dom::object spec;
        if (!keys(value, w, {"field", "mode"}, {"field"}, spec)) return false;
        path_param_rule p;
        p.param = std::string(param);
        if (!string(spec["field"].value_unsafe(), join(w, "field"), p.field)) return false;
        dom::element mode;
        if (spec["mode"].get(mode) == simdjson::SUCCESS) {
            std::string m;
            if (!string(mode, join(w, "mode"), m)) return false;
            if (m == "check")
                p.mode = path_param_mode::check;
            else if (m == "inject")
                p.mode = path_param_mode::inject;
            else
                return fail(join(w, "mode"),
                            "unknown mode " + in_quotes(m) + " (expected check|inject)");
        }
        const field_rule* f = field(r, p.field);
        if (!f && p.mode == path_param_mode::check)
            return fail(join(w, "field"), in_quotes(p.field) + " is not a declared field");
        if (f && f->type != field_type::string && f->type != field_type::any)
            return fail(
                join(w, "field"),
                in_quotes(p.field) + " must be declared as string or any to hold a path parameter");
        r.path_params.push_back(std::move(p));
    }
    return true;
}

bool rule_reader::read_upstream(dom::element e, rule& r) {
    dom::object obj;
    if (!keys(e, "upstream", {"method", "path"}, {"method", "path"}, obj)) return false;
    if (!method(obj["method"].value_unsafe(), "upstream.method", r.upstream_method)) return false;
    if (!string(obj["path"].value_unsafe(), "upstream.path", r.upstream_path)) return false;
    const std::string& p = r.upstream_path;
    if (p.front() != '/') return fail("upstream.path", in_quotes(p) + " must start with '/'");
    for (std::size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '{') {
            const auto close = p.find('}', i);
            const std::string name =
                p.substr(i + 1, close == std::string::npos ? 0 : close - i - 1);
            if (close == std::string::npos || !is_identifier(name))
                return fail("upstream.path",
                            in_quotes(p) + ": malformed parameter at offset " + std::to_string(i));
            if (!has_param(r, name))
                return fail("upstream.path",
                            "{" + name + "} is not a parameter of match.path " + in_quotes(r.path));
            i = close;
        } else if (!is_pchar(c) && c != '/') {
            // '?' included: the client's query is appended, a second one would corrupt it.
            return fail("upstream.path",
                        in_quotes(p) + ": character '" + std::string(1, c) + "' is not allowed");
        }
    }
    return true;
}

bool rule_reader::read_response(dom::element e, rule& r) {
    dom::object obj;
    if (!keys(e, "response", {"copy", "wrapper", "source", "keys"}, {"keys"}, obj)) return false;
    response_rule& resp = r.response;
    std::set<std::string> top;  // keys written at the client's top level
    for (auto [key, value] : obj) {
        bool ok = true;
        if (key == "copy") {
            dom::array copy;
            if (!array(value, "response.copy", copy, false)) return false;
            std::size_t i = 0;
            for (dom::element item : copy) {
                std::string k;
                if (!string(item, indexed("response.copy", i++), k)) return false;
                if (!top.insert(k).second)
                    return fail("response.copy", in_quotes(k) + " listed twice");
                resp.copy.push_back(std::move(k));
            }
        } else if (key == "wrapper") {
            ok = string(value, "response.wrapper", resp.wrapper, false);
        } else if (key == "source") {
            ok = string(value, "response.source", resp.source, false);
        }
        if (!ok) return false;
    }
    if (!resp.wrapper.empty() && top.count(resp.wrapper))
        return fail("response.wrapper", in_quotes(resp.wrapper) + " is also in response.copy");

    dom::array keys_array;
    if (!array(obj["keys"].value_unsafe(), "response.keys", keys_array)) return false;
    std::set<std::string> out_names = resp.wrapper.empty() ? top : std::set<std::string>{};
    std::size_t i = 0;
    for (dom::element item : keys_array) {
        const std::string w = indexed("response.keys", i++);
        response_key k;
        if (item.type() == dom::element_type::STRING) {  // plain key, copied under its own name
            if (!string(item, w, k.from)) return false;
            k.as = k.from;
        } else {
            dom::object spec;
            if (item.type() != dom::element_type::OBJECT)
                return wrong_type(w, "a key name or {\"from\": ..., \"as\": ...}", item);
            if (!keys(item, w, {"from", "as"}, {"from", "as"}, spec)) return false;
            if (!string(spec["from"].value_unsafe(), join(w, "from"), k.from) ||
                !string(spec["as"].value_unsafe(), join(w, "as"), k.as))
                return false;
        }
        if (!out_names.insert(k.as).second)
            return fail(w, "the client would get key " + in_quotes(k.as) + " twice");
        resp.keys.push_back(std::move(k));
    }
    return true;
}

bool rule_reader::read_deprecation(dom::element e, rule& r) {
    dom::object obj;
    if (!keys(e, "deprecation", {"deprecation", "sunset", "successor"}, {"deprecation"}, obj))
        return false;
    deprecation_rule& d = r.deprecation;
    d.enabled = true;
    const auto date = [&](std::string_view key, std::int64_t& out) {
        const std::string w = join("deprecation", key);
        std::string text;
        if (!string(obj[key].value_unsafe(), w, text)) return false;
        const auto t = parse_rfc3339(text);
        if (!t)
            return fail(w, in_quotes(text) +
                               " is not an RFC 3339 date (YYYY-MM-DD) or date-time "
                               "(YYYY-MM-DDTHH:MM:SSZ) from 1970 on");
        out = *t;
        return true;
    };
    if (!date("deprecation", d.deprecation_unix)) return false;
    d.deprecation_value = "@" + std::to_string(d.deprecation_unix);
    if (obj["sunset"].error() == simdjson::SUCCESS) {
        std::int64_t sunset = 0;
        if (!date("sunset", sunset)) return false;
        if (sunset < d.deprecation_unix)
            return fail("deprecation.sunset", "is before the deprecation date");
        d.sunset = imf_fixdate(sunset);
    }
    dom::element successor;
    if (obj["successor"].get(successor) == simdjson::SUCCESS) {
        if (!string(successor, "deprecation.successor", d.successor)) return false;
        const std::string& s = d.successor;
        const bool absolute = s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0;
        if (s.front() != '/' && !absolute)
            return fail("deprecation.successor",
                        in_quotes(s) + " must be a path or an http(s) URL");
        for (char c : s)  // it is written into a Link header between '<' and '>'
            if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F || c == '<' || c == '>' ||
                c == '"')
                return fail("deprecation.successor",
                            in_quotes(s) + ": character not allowed in a Link");
        d.link_value = "<" + s + ">; rel=\"successor-version\"";
    }
    return true;
}

// ---------------------------------------------------------------- the directory

// "PUT /v1/users/{}": two rules with the same shape match exactly the same requests.
std::string match_shape(const rule& r) {
    std::string out = r.method + " ";
    for (const auto& s : r.segments) out += "/" + (s.is_param ? std::string("{}") : s.text);
    return out;
}

bool same_credentials(const rule& a, const rule& b) {
    const auto covered = [](const rule& x, const rule& y) {
        for (const auto& sx : x.accept) {
            const auto sy = std::find_if(y.accept.begin(), y.accept.end(), [&](const auto& s) {
                return iequal(s.header, sx.header);
            });
            if (sy == y.accept.end()) return false;
            for (const auto& scheme : sx.schemes)
                if (std::none_of(sy->schemes.begin(), sy->schemes.end(),
                                 [&](const auto& s) { return iequal(s, scheme); }))
                    return false;
        }
        return true;
    };
    return covered(a, b) && covered(b, a);
}

bool read_file(const std::filesystem::path& p, std::string& out, std::string& error) {
    constexpr long max_size = 1 << 20;  // rule files are small; anything bigger is a mistake
    std::FILE* f = std::fopen(p.c_str(), "rb");
    if (!f) {
        error = p.string() + ": cannot open: " + std::strerror(errno);
        return false;
    }
    char buf[8192];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        out.append(buf, n);
        if (out.size() > static_cast<std::size_t>(max_size)) break;
    }
    const int read_errno = std::ferror(f) != 0 ? errno : 0;
    std::fclose(f);
    if (read_errno != 0)
        error = p.string() + ": cannot read: " + std::strerror(read_errno);
    else if (out.size() > static_cast<std::size_t>(max_size))
        error = p.string() + ": larger than 1 MiB";
    return error.empty();
}

}  // namespace

rule_or_error parse_rule(std::string_view file_name, std::string_view json_text) {
    rule_or_error out;
    out.value.file = std::string(file_name);
    dom::parser parser;
    dom::element root;
    const simdjson::padded_string padded(json_text);
    if (const auto err = parser.parse(padded).get(root)) {
        out.error = std::string(file_name) + ": invalid JSON: " + simdjson::error_message(err);
        return out;
    }
    rule_reader reader(file_name);
    if (!reader.read(root, out.value)) out.error = reader.error();
    return out;
}

rules_or_error load_rules(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    rules_or_error out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        out.error = dir.string() + ": " + (ec ? ec.message() : "not a directory");
        return out;
    }
    std::vector<fs::path> files;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (it->path().extension() == ".json" && it->is_regular_file(type_ec))
            files.push_back(it->path());
    }
    if (ec) {
        out.error = dir.string() + ": cannot list: " + ec.message();
        return out;
    }
    if (files.empty()) {
        out.error = dir.string() + ": no rule files (*.json)";
        return out;
    }
    std::sort(files.begin(), files.end());

    auto set = std::make_shared<rule_set>();
    for (const auto& p : files) {
        std::string text;
        if (!read_file(p, text, out.error)) return out;
        auto parsed = parse_rule(p.string(), text);
        if (!parsed.error.empty()) {
            out.error = std::move(parsed.error);
            return out;
        }
        const rule& r = parsed.value;
        const std::string prefix = r.file + ": rule " + in_quotes(r.name) + ": ";
        for (const rule& other : set->rules) {
            if (other.name == r.name) {
                out.error = prefix + "name already used in " + other.file;
                return out;
            }
            if (match_shape(other) != match_shape(r)) continue;
            if (other.body_has == r.body_has) {
                out.error = prefix + "match: same method, path and body_has as rule " +
                            in_quotes(other.name) + " in " + other.file +
                            " (give one of them a different match.body_has)";
                return out;
            }
            // The credential and the Content-Type are checked before the body is read and picks
            // the rule, so rules sharing a route must agree on them and on how refusals look.
            if (!same_credentials(other, r)) {
                out.error = prefix + "auth.accept: differs from rule " + in_quotes(other.name) +
                            " in " + other.file + ", which shares its method and path";
                return out;
            }
            if (other.errors != r.errors) {
                out.error = prefix + "errors: differs from rule " + in_quotes(other.name) + " in " +
                            other.file + ", which shares its method and path";
                return out;
            }
        }
        set->rules.push_back(std::move(parsed.value));
    }
    // Rules that look at the body are tried before the catch-all of the same route.
    std::stable_partition(set->rules.begin(), set->rules.end(),
                          [](const rule& r) { return !r.body_has.empty(); });
    const auto add_credential = [&](std::string name) {
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto& known = set->credential_headers;
        if (std::find(known.begin(), known.end(), name) == known.end())
            known.push_back(std::move(name));
    };
    for (const rule& r : set->rules) {
        for (const credential_source& src : r.accept) add_credential(src.header);
        add_credential(r.upstream_auth_header);
    }
    out.rules = std::move(set);
    return out;
}

}  // namespace shimgate
