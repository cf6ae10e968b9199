// Request transform: check a client's JSON body against its rule and splice the upstream body.
//
// Why splice: the upstream must receive the client's values byte-for-byte (numbers keep their
// text, strings their escapes, keys their order), which a parse-and-reserialise cannot promise.
// So the top-level object is walked once with simdjson On-Demand, in order; each member's raw key
// and raw value are located in the client's buffer and copied, except renamed keys (written
// escaped) and dropped unknown fields. The only text the shim makes up (renamed keys, injected
// path values) goes through append_json_string.
//
// How validity is guaranteed: On-Demand checks UTF-8, control characters and the structure it
// walks (commas, colons, the top-level braces, trailing content), but not what it skips. Every
// key and value forwarded is therefore re-checked by check_json_value (the full RFC 8259 grammar,
// iterative, depth-limited), so the upstream never receives a byte the shim did not check.
// Keys are compared unescaped ("\u0061" is "a") for rules and duplicates, but written raw.
#include "proxy/request_transform.hpp"

#include <optional>
#include <utility>

#include "json/json_splice.hpp"
#include "json/json_writer.hpp"

namespace shimgate {
namespace ondemand = simdjson::ondemand;

namespace {

// Messages quote client text: long keys or values are cut (at a UTF-8 boundary).
constexpr std::size_t message_quote_limit = 64;

std::string in_quotes(std::string_view s) {
    std::string q = "\"";
    if (s.size() <= message_quote_limit) {
        q.append(s);
    } else {
        std::size_t n = message_quote_limit;
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
        q.append(s.substr(0, n));
        q.append("...");
    }
    q.push_back('"');
    return q;
}

refusal bad_request(std::string message) {
    return refusal{400, std::move(message)};
}

refusal field_problem(std::string_view field, std::string_view what) {
    return bad_request("field " + in_quotes(field) + " " + std::string(what));
}

refusal malformed(simdjson::error_code err) {
    return bad_request(std::string("malformed JSON: ") + simdjson::error_message(err));
}

refusal malformed(const splice_error& e, const spliced_member& m) {
    std::string msg = "malformed JSON: ";
    msg += e.problem.empty() ? std::string_view(simdjson::error_message(e.code)) : e.problem;
    if (m.key.data() != nullptr) msg += " (in field " + in_quotes(m.key) + ")";
    return bad_request(std::move(msg));
}

std::string_view expected(field_type t) {
    switch (t) {
        case field_type::string:
            return "must be a string";
        case field_type::boolean:
            return "must be a boolean";
        case field_type::object:
            return "must be an object";
        case field_type::array:
            return "must be an array";
        case field_type::number:
            return "must be a number";
        case field_type::date:
            return "must be a date (YYYY-MM-DD)";
        case field_type::date_time:
            return "must be a date-time (RFC 3339)";
        case field_type::any:
            break;
    }
    return "has the wrong type";
}

// Digits s[at, at+n) as a number, -1 if any is not a digit.
int number_at(std::string_view s, std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// YYYY-MM-DD, a real calendar date (RFC 3339 full-date).
bool is_date(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    const int y = number_at(s, 0, 4), m = number_at(s, 5, 2), d = number_at(s, 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1) return false;
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
}

// RFC 3339 date-time: full-date "T" HH:MM:SS [.frac] ("Z" / ("+" / "-") HH:MM). "T" and "Z" may
// be lower case (RFC 3339 §5.6 note); second 60 is a leap second.
bool is_date_time(std::string_view s) {
    if (s.size() < 20 || !is_date(s.substr(0, 10)) || (s[10] != 'T' && s[10] != 't')) return false;
    if (s[13] != ':' || s[16] != ':') return false;
    const int h = number_at(s, 11, 2), mi = number_at(s, 14, 2), sec = number_at(s, 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return false;
    std::size_t i = 19;
    if (s[i] == '.') {
        const std::size_t start = ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        if (i == start) return false;
    }
    if (i == s.size()) return false;
    if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
    if (s[i] != '+' && s[i] != '-') return false;
    if (s.size() - i != 6 || s[i + 3] != ':') return false;
    const int oh = number_at(s, i + 1, 2), om = number_at(s, i + 4, 2);
    return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

const std::string* find_param(const path_params& params, std::string_view name) {
    for (const auto& [n, v] : params)
        if (n == name) return &v;
    return nullptr;
}

// RFC 3986 percent-encoding of everything but unreserved characters: a path value can never
// add a segment, a query or a fragment to the upstream target.
void append_percent_encoded(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        }
    }
}

result<std::string> build_target(const rule& r, const path_params& params, std::string_view query) {
    std::string target;
    target.reserve(r.upstream_path.size() + query.size() + 32);
    const std::string_view t = r.upstream_path;
    std::size_t i = 0;
    while (i < t.size()) {
        const std::size_t open = t.find('{', i);
        const std::size_t close = open == std::string_view::npos ? open : t.find('}', open);
        if (close == std::string_view::npos) {
            target.append(t.substr(i));
            break;
        }
        target.append(t.substr(i, open - i));
        const std::string_view name = t.substr(open + 1, close - open - 1);
        const std::string* value = find_param(params, name);
        if (value == nullptr) {
            return refusal{500, "rule " + in_quotes(r.name) +
                                    ": no value for upstream path parameter " + in_quotes(name)};
        }
        append_percent_encoded(target, *value);
        i = close + 1;
    }
    if (!query.empty()) {
        target.push_back('?');
        target.append(query);
    }
    return target;
}

// One pass over the top-level object: checks and output together; `out` is discarded by the
// caller on a refusal.
class body_splicer {
  public:
    body_splicer(const rule& r, const path_params& params, json_context& ctx, std::string& out)
        : r_(r), params_(params), ctx_(ctx), out_(out) {}

    std::optional<refusal> run(std::string& body) {
        if (trim_json_whitespace(body).empty()) return bad_request("body must be a JSON object");
        ctx_.keys.clear();
        ctx_.views.clear();
        ctx_.flags.assign(r_.fields.size() + r_.path_params.size(), 0);

        // On-Demand checks only the structure it walks (a ':' where ',' belongs after a skipped
        // value got through, found by fuzz_request_transform), so the whole body is checked too.
        // Its verdict is used after the member pass, whose messages name the field.
        const json_value_check whole = check_json_value(body);
        if (whole.ok && whole.kind != json_kind::object)
            return bad_request("body must be a JSON object");

        ondemand::document doc;
        if (auto err = ctx_.parser.iterate(pad_in_place(body)).get(doc)) return malformed(err);
        ondemand::object obj;
        if (auto err = doc.get_object().get(obj)) {
            if (err == simdjson::INCORRECT_TYPE) return bad_request("body must be a JSON object");
            // simdjson's own words ("ended early") also cover `{...} junk`.
            if (err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT)
                return bad_request("malformed JSON: unclosed object, or text after it");
            return malformed(err);
        }

        out_.reserve(body.size() + 64);
        json_object_writer w(out_);
        for (auto member : obj) {
            ondemand::field f;
            if (auto err = std::move(member).get(f)) return malformed(err);
            spliced_member m;
            if (auto e = read_member(f, m)) return malformed(e, m);
            ctx_.keys.push_back(make_hashed_key(m.key));
            if (auto why = take(m, w)) return why;
        }
        // At the end of a well-formed document there is no location left.
        const char* rest = nullptr;
        if (doc.current_location().get(rest) == simdjson::SUCCESS) {
            return bad_request("malformed JSON: trailing content after the object");
        }
        if (!whole.ok) return bad_request("malformed JSON: " + std::string(whole.problem));
        if (auto dup = find_duplicate(ctx_.keys))
            return bad_request("duplicate key " + in_quotes(*dup));

        for (std::size_t i = 0; i < r_.fields.size(); ++i) {
            if (r_.fields[i].required && ctx_.flags[i] != present_value)
                return field_problem(r_.fields[i].name, "is required");
        }
        for (std::size_t i = 0; i < r_.path_params.size(); ++i) {
            const path_param_rule& pp = r_.path_params[i];
            if (pp.mode != path_param_mode::inject || ctx_.flags[r_.fields.size() + i] != 0)
                continue;
            const std::string* value = find_param(params_, pp.param);
            if (value == nullptr) return missing_param(pp.param);
            const std::string_view name = output_name(pp.field);
            w.key(name);
            w.string_value(*value);
            ctx_.views.push_back(name);
        }
        // Renames and injection must not make two members one upstream key. Input keys are unique
        // by now, so a clash needs a renamed/injected name (in views) that another member is
        // written under raw, or two such names that are equal.
        for (std::size_t i = 0; i < ctx_.views.size(); ++i) {
            const std::string_view name = ctx_.views[i];
            bool clash = written_raw(name) && contains_key(ctx_.keys, name);
            for (std::size_t j = i + 1; j < ctx_.views.size() && !clash; ++j)
                clash = ctx_.views[j] == name;
            if (clash) return conflict(name);
        }
        w.close();
        return std::nullopt;
    }

  private:
    static constexpr unsigned char present_null = 1;
    static constexpr unsigned char present_value = 2;

    // Whether a member with this key is copied under its own name (not renamed, not dropped).
    bool written_raw(std::string_view key) const {
        if (output_name(key).data() != key.data()) return false;
        bool known = false;
        for (const field_rule& fr : r_.fields) known = known || fr.name == key;
        for (const path_param_rule& pp : r_.path_params) known = known || pp.field == key;
        return known || r_.unknown == unknown_policy::pass;
    }

    refusal conflict(std::string_view name) const {
        for (const auto& [from, to] : r_.renames) {
            if (to == name) {
                return bad_request("fields " + in_quotes(from) + " and " + in_quotes(to) +
                                   " are the same upstream field");
            }
        }
        return bad_request("duplicate key " + in_quotes(name));
    }

    std::string_view output_name(std::string_view key) const {
        for (const auto& [from, to] : r_.renames)
            if (from == key) return to;
        return key;
    }

    refusal missing_param(std::string_view param) const {
        return refusal{500, "rule " + in_quotes(r_.name) + ": no value for path parameter " +
                                in_quotes(param)};
    }

    // The unescaped text of string member `m`, read once.
    std::optional<refusal> content_of(spliced_member& m, std::optional<std::string_view>& content) {
        if (content) return std::nullopt;
        std::string_view s;
        if (auto err = unescaped_string(m, s)) return malformed(err);
        content = s;
        return std::nullopt;
    }

    std::optional<refusal> check_type(const field_rule& fr, spliced_member& m,
                                      std::optional<std::string_view>& content) {
        const json_kind k = m.value.kind;
        bool ok = true;
        switch (fr.type) {
            case field_type::string:
                ok = k == json_kind::string;
                break;
            case field_type::boolean:
                ok = k == json_kind::boolean;
                break;
            case field_type::object:
                ok = k == json_kind::object;
                break;
            case field_type::array:
                ok = k == json_kind::array;
                break;
            case field_type::number:
                ok = k == json_kind::number;
                break;
            case field_type::date:
            case field_type::date_time:
                ok = k == json_kind::string;
                if (ok) {
                    if (auto why = content_of(m, content)) return why;
                    ok = fr.type == field_type::date ? is_date(*content) : is_date_time(*content);
                }
                break;
            case field_type::any:
                break;
        }
        if (!ok) return field_problem(fr.name, expected(fr.type));
        if (fr.non_empty) {
            const std::string_view t = m.value.text;
            if ((k == json_kind::string && t.size() == 2) || is_empty_container(t))
                return field_problem(fr.name, "must not be empty");
        }
        return std::nullopt;
    }

    std::optional<refusal> check_path_param(const path_param_rule& pp, spliced_member& m,
                                            std::optional<std::string_view>& content) {
        if (pp.mode != path_param_mode::check) return std::nullopt;
        const std::string* value = find_param(params_, pp.param);
        if (value == nullptr) return missing_param(pp.param);
        const auto mismatch = [&](std::string_view shown) {
            return bad_request("body " + in_quotes(pp.field) + " (" + std::string(shown) +
                               ") does not match path " + pp.param + " (" + in_quotes(*value) +
                               ")");
        };
        if (m.value.kind == json_kind::null) return mismatch("null");
        if (m.value.kind != json_kind::string) return field_problem(pp.field, "must be a string");
        if (auto why = content_of(m, content)) return why;
        if (*content != *value) return mismatch(in_quotes(*content));
        return std::nullopt;
    }

    // Checks one member against the rule and writes it (or leaves it out).
    std::optional<refusal> take(spliced_member& m, json_object_writer& w) {
        std::optional<std::string_view> content;
        bool known = false;
        for (std::size_t i = 0; i < r_.fields.size(); ++i) {
            const field_rule& fr = r_.fields[i];
            if (fr.name != m.key) continue;
            known = true;
            if (m.value.kind == json_kind::null) {
                ctx_.flags[i] = present_null;
                if (fr.required) return field_problem(fr.name, "is required");
            } else {
                ctx_.flags[i] = present_value;
                if (auto why = check_type(fr, m, content)) return why;
            }
        }
        for (std::size_t i = 0; i < r_.path_params.size(); ++i) {
            const path_param_rule& pp = r_.path_params[i];
            if (pp.field != m.key) continue;
            known = true;
            ctx_.flags[r_.fields.size() + i] = 1;
            if (auto why = check_path_param(pp, m, content)) return why;
        }
        const std::string_view name = output_name(m.key);
        const bool renamed = name.data() != m.key.data();
        if (!known && !renamed) {
            if (r_.unknown == unknown_policy::reject)
                return bad_request("unknown field " + in_quotes(m.key));
            if (r_.unknown == unknown_policy::drop) return std::nullopt;
        }
        if (renamed) {
            w.key(name);
            ctx_.views.push_back(name);
        } else {
            w.raw_key(m.raw_key);
        }
        w.raw_value(m.value.text);
        return std::nullopt;
    }

    const rule& r_;
    const path_params& params_;
    json_context& ctx_;
    std::string& out_;
};

}  // namespace

result<upstream_call> transform_request(const rule& r, const path_params& params,
                                        std::string_view token, std::string_view query,
                                        std::string& body, json_context& ctx) {
    upstream_call call;
    auto target = build_target(r, params, query);
    if (!target) return target.error();
    if (auto why = body_splicer(r, params, ctx, call.body).run(body)) return std::move(*why);
    call.method = r.upstream_method;
    call.target = std::move(target).value();
    call.auth_header = r.upstream_auth_header;
    call.auth_value.reserve(r.upstream_auth_scheme.size() + 1 + token.size());
    call.auth_value.append(r.upstream_auth_scheme).append(" ").append(token);
    return call;
}

}  // namespace shimgate
