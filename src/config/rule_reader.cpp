// Reading one rule file: parse_rule, the generic readers of rule_reader (typed values, objects
// with known keys, maps; each records the first problem as a one-line message), the top level
// and the match, auth and upstream sections. The request, response and deprecation sections are
// in rule_sections.cpp; the directory and the checks across rules in rule_loader.cpp.
//
// Rule files are read with the simdjson DOM API: start-up only, and the DOM keeps every member of
// an object, so duplicate keys in a rule file can be found (and refused).
#include <algorithm>
#include <cstring>
#include <set>

#include "common/ascii.hpp"
#include "config/rule_loader.hpp"
#include "config/rule_reader.hpp"
#include "proxy/path.hpp"

namespace shimgate {
namespace rule_detail {

using std::string_view_literals::operator""sv;

bool is_identifier(std::string_view s) {
    if (s.empty() || is_digit_ascii(s[0])) return false;
    for (char c : s)
        if (!is_alpha_ascii(c) && !is_digit_ascii(c) && c != '_') return false;
    return true;
}

bool is_label(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_alpha_ascii(c) && !is_digit_ascii(c) && c != '-' && c != '_' && c != '.')
            return false;
    return true;
}

bool is_pchar(char c) {
    return is_alpha_ascii(c) || is_digit_ascii(c) ||
           (c != '\0' && std::strchr("-._~!$&'()*+,;=:@%", c) != nullptr);
}

std::string in_quotes(std::string_view s) {
    return '"' + std::string(s) + '"';
}

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
            if (iequals_ascii(other.header, c.header))
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
                if (iequals_ascii(other, scheme))
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
        if (iequals_ascii(r.upstream_auth_header, reserved))
            return fail("auth.upstream.header",
                        in_quotes(r.upstream_auth_header) + " is set by the proxy itself");
    return true;
}

bool rule_reader::read_upstream(dom::element e, rule& r) {
    dom::object obj;
    if (!keys(e, "upstream", {"method", "path", "idempotent"}, {"method", "path"}, obj))
        return false;
    if (!method(obj["method"].value_unsafe(), "upstream.method", r.upstream_method)) return false;
    dom::element flag;
    if (obj["idempotent"].get(flag) == simdjson::SUCCESS &&
        !boolean(flag, "upstream.idempotent", r.upstream_idempotent))
        return false;
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

}  // namespace rule_detail

rule_or_error parse_rule(std::string_view file_name, std::string_view json_text) {
    rule_or_error out;
    out.value.file = std::string(file_name);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    const simdjson::padded_string padded(json_text);
    if (const auto err = parser.parse(padded).get(root)) {
        out.error = std::string(file_name) + ": invalid JSON: " + simdjson::error_message(err);
        return out;
    }
    rule_detail::rule_reader reader(file_name);
    if (!reader.read(root, out.value)) out.error = reader.error();
    return out;
}

}  // namespace shimgate
