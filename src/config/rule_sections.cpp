// Reading the request, response and deprecation sections of one rule file (rule_reader, declared
// in rule_reader.hpp): fields and their types, renames, path parameters, the response's keys, and
// the deprecation dates. Each check's message is part of the rule format's contract (tests compare
// them).
#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <vector>

#include "common/rfc3339.hpp"
#include "config/rule_reader.hpp"

namespace shimgate::rule_detail {

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
    if (!keys(e, "deprecation", {"deprecation", "sunset", "successor", "after_sunset", "brownouts"},
              {"deprecation"}, obj))
        return false;
    deprecation_rule& d = r.deprecation;
    d.enabled = true;
    const auto date = [&](std::string_view key, std::int64_t& out) {
        return read_date(obj[key].value_unsafe(), join("deprecation", key), out);
    };
    if (!date("deprecation", d.deprecation_unix)) return false;
    d.deprecation_value = "@" + std::to_string(d.deprecation_unix);
    if (obj["sunset"].error() == simdjson::SUCCESS) {
        std::int64_t sunset = 0;
        if (!date("sunset", sunset)) return false;
        if (sunset < d.deprecation_unix)
            return fail("deprecation.sunset", "is before the deprecation date");
        d.sunset = format_imf_fixdate(std::chrono::sys_seconds{std::chrono::seconds{sunset}});
        d.sunset_unix = sunset;
    }
    dom::element policy;
    if (obj["after_sunset"].get(policy) == simdjson::SUCCESS) {
        std::string text;
        if (!string(policy, "deprecation.after_sunset", text)) return false;
        if (text != "refuse" && text != "serve")
            return fail("deprecation.after_sunset",
                        in_quotes(text) + " is not one of \"refuse\", \"serve\"");
        d.after_sunset = text == "serve" ? after_sunset_policy::serve : after_sunset_policy::refuse;
    }
    dom::element brownouts;
    if (obj["brownouts"].get(brownouts) == simdjson::SUCCESS && !read_brownouts(brownouts, d))
        return false;
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

bool rule_reader::read_date(dom::element e, std::string_view where, std::int64_t& out) {
    std::string text;
    if (!string(e, where, text)) return false;
    // Rule dates are the operator's: a leap second is refused (RFC 3339 cannot say whether that
    // minute had one, and the unix time the headers carry has no room for it), and so is a year
    // before 1970.
    const auto t = parse_rfc3339(text, rfc3339_form::date_or_date_time);
    if (!t || t->leap_second() || t->date.year() < std::chrono::year{1970})
        return fail(where, in_quotes(text) +
                               " is not an RFC 3339 date (YYYY-MM-DD) or date-time "
                               "(YYYY-MM-DDTHH:MM:SSZ) from 1970 on");
    out = t->instant().time_since_epoch().count();
    return true;
}

namespace {

// "12h" -> 43200: a whole number of seconds, minutes, hours or days (at most 10 years).
std::optional<std::int64_t> duration_seconds(std::string_view text) {
    if (text.size() < 2) return std::nullopt;
    std::int64_t unit = 0;
    switch (text.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return std::nullopt;
    }
    std::int64_t n = 0;
    for (char c : text.substr(0, text.size() - 1)) {
        if (c < '0' || c > '9' || n > 10LL * 366 * 86400) return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return n * unit;
}

}  // namespace

bool rule_reader::read_brownouts(dom::element e, deprecation_rule& d) {
    dom::array list;
    if (!array(e, "deprecation.brownouts", list, false)) return false;
    constexpr std::int64_t max_duration = 10LL * 366 * 86400;
    std::size_t i = 0;
    for (dom::element item : list) {
        const std::string w = indexed("deprecation.brownouts", i++);
        dom::object window;
        if (!keys(item, w, {"start", "duration"}, {"start", "duration"}, window)) return false;
        brownout_window b;
        if (!read_date(window["start"].value_unsafe(), join(w, "start"), b.start_unix))
            return false;
        const dom::element duration = window["duration"].value_unsafe();
        std::optional<std::int64_t> seconds;
        std::int64_t number = 0;
        std::string text;
        if (duration.get_int64().get(number) == simdjson::SUCCESS) {
            if (number > 0 && number <= max_duration) seconds = number;
        } else if (duration.type() == dom::element_type::STRING) {
            if (!string(duration, join(w, "duration"), text)) return false;
            seconds = duration_seconds(text);
            if (seconds && (*seconds <= 0 || *seconds > max_duration)) seconds.reset();
        }
        if (!seconds)
            return fail(join(w, "duration"),
                        "must be a whole number of seconds or a string \"<N>s|m|h|d\", more than "
                        "0 and at most 10 years");
        b.end_unix = b.start_unix + *seconds;
        if (b.start_unix < d.deprecation_unix) return fail(w, "starts before the deprecation date");
        if (d.sunset_unix && b.end_unix > *d.sunset_unix) return fail(w, "ends after the sunset");
        d.brownouts.push_back(b);
    }
    // Windows in time order; touching ([a, b) then [b, c)) is fine, overlapping is not.
    std::vector<std::size_t> order(d.brownouts.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return d.brownouts[a].start_unix < d.brownouts[b].start_unix;
    });
    for (std::size_t k = 1; k < order.size(); ++k) {
        const brownout_window& before = d.brownouts[order[k - 1]];
        const brownout_window& after = d.brownouts[order[k]];
        if (after.start_unix < before.end_unix)
            return fail(indexed("deprecation.brownouts", order[k]),
                        "overlaps deprecation.brownouts[" + std::to_string(order[k - 1]) + "]");
    }
    std::vector<brownout_window> sorted;
    for (std::size_t k : order) sorted.push_back(d.brownouts[k]);
    d.brownouts = std::move(sorted);
    return true;
}

}  // namespace shimgate::rule_detail
