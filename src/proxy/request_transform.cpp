// Request transform: check a client's JSON body against its rule and splice the upstream body.
//
// Why splice: the upstream must receive the client's values byte-for-byte (numbers keep their
// text, strings their escapes, keys their order), which a parse-and-reserialise cannot promise.
// So the top-level object is read once, in order; each member's raw key and raw value are located
// in the client's buffer and copied, except renamed keys (written escaped) and dropped unknown
// fields. The only text the shim makes up (renamed keys, injected path values) goes through
// append_json_string.
//
// How validity is guaranteed: the members are read by the strict reader (json_reader.hpp), which
// checks every byte of the body against the full RFC 8259 grammar (iterative, depth-limited) in
// that same single pass, so the upstream never receives a byte the shim did not check. A
// malformed body is refused before any rule is applied. Keys are compared unescaped ("\u0061" is
// "a") for rules and duplicates, but written raw.
#include "proxy/request_transform.hpp"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/rfc3339.hpp"
#include "json/json_members.hpp"
#include "json/json_splice.hpp"
#include "json/json_writer.hpp"

namespace shimgate {

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

// A body that is valid JSON but not what the rule asks for (type, presence, id, unknown field).
refusal bad_request(std::string message) {
    return refusal{400, std::move(message), refusal_reason::type};
}

// A body that cannot be read one way only: not JSON, or a key given twice.
refusal bad_json(std::string message) {
    return refusal{400, std::move(message), refusal_reason::bad_json};
}

refusal field_problem(std::string_view field, std::string_view what) {
    return bad_request("field " + in_quotes(field) + " " + std::string(what));
}

refusal malformed(std::string_view problem, std::string_view field = {}) {
    std::string msg = "malformed JSON: ";
    msg += problem;
    if (field.data() != nullptr) msg += " (in field " + in_quotes(field) + ")";
    return bad_json(std::move(msg));
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

// RFC 3339 full-date, a real calendar date.
bool is_date(std::string_view s) {
    return parse_rfc3339(s, rfc3339_form::full_date).has_value();
}

// RFC 3339 date-time. Client values get the whole grammar: "T" and "Z" may be lower case (§5.6
// note) and second 60, a leap second, is accepted.
bool is_date_time(std::string_view s) {
    return parse_rfc3339(s, rfc3339_form::date_time).has_value();
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

// The upstream target into `target` (cleared first); a refusal if a parameter has no value.
std::optional<refusal> build_target(const rule& r, const path_params& params,
                                    std::string_view query, std::string& target) {
    target.clear();
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
            return refusal{500,
                           "rule " + in_quotes(r.name) + ": no value for upstream path parameter " +
                               in_quotes(name),
                           refusal_reason::type};
        }
        append_percent_encoded(target, *value);
        i = close + 1;
    }
    if (!query.empty()) {
        target.push_back('?');
        target.append(query);
    }
    return std::nullopt;
}

// The rule applied to the body's members (read once, strictly, by read_members, and handed over),
// in order: checks and output together; `out` is discarded by the caller on a refusal.
class body_splicer {
  public:
    body_splicer(const rule& r, const path_params& params, json_context& ctx, std::string& out)
        : r_(r), params_(params), ctx_(ctx), out_(out) {}

    std::optional<refusal> run(const body_members& body) {
        body_size_ = body.text.size();
        const object_read& read = body.read;
        if (read.st == object_read::status::not_object)
            return bad_request("body must be a JSON object");
        if (read.st == object_read::status::malformed) return malformed(read.problem, read.field);

        ctx_.views.clear();
        ctx_.flags.assign(r_.fields.size() + r_.path_params.size(), 0);
        out_.reserve(body.text.size() + 64);
        json_object_writer w(out_);
        index_fields();
        for (std::size_t i = 0; i < body.members.size(); ++i) {
            if (auto why = take(body.members[i], body.keys[i].hash, w)) return why;
        }
        if (auto dup = find_duplicate(body.keys))
            return bad_json("duplicate key " + in_quotes(*dup));

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
            bool clash = written_raw(name) && contains_key(body.keys, name);
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
                return bad_json("fields " + in_quotes(from) + " and " + in_quotes(to) +
                                " are the same upstream field");
            }
        }
        return bad_json("duplicate key " + in_quotes(name));
    }

    std::string_view output_name(std::string_view key) const {
        for (const auto& [from, to] : r_.renames)
            if (from == key) return to;
        return key;
    }

    refusal missing_param(std::string_view param) const {
        return refusal{
            500, "rule " + in_quotes(r_.name) + ": no value for path parameter " + in_quotes(param),
            refusal_reason::type};
    }

    // The unescaped text of string member `m`, read once.
    std::optional<refusal> content_of(const json_member& m,
                                      std::optional<std::string_view>& content) {
        if (content) return std::nullopt;
        std::string_view s;
        if (!member_string(m, ctx_.scratch, body_size_, s))
            return malformed("string read twice", m.key);
        content = s;
        return std::nullopt;
    }

    std::optional<refusal> check_type(const field_rule& fr, const json_member& m,
                                      std::optional<std::string_view>& content) {
        const json_kind k = m.kind;
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
            const std::string_view t = m.value;
            if ((k == json_kind::string && t.size() == 2) || is_empty_container(t))
                return field_problem(fr.name, "must not be empty");
        }
        return std::nullopt;
    }

    std::optional<refusal> check_path_param(const path_param_rule& pp, const json_member& m,
                                            std::optional<std::string_view>& content) {
        if (pp.mode != path_param_mode::check) return std::nullopt;
        const std::string* value = find_param(params_, pp.param);
        if (value == nullptr) return missing_param(pp.param);
        const auto mismatch = [&](std::string_view shown) {
            return bad_request("body " + in_quotes(pp.field) + " (" + std::string(shown) +
                               ") does not match path " + pp.param + " (" + in_quotes(*value) +
                               ")");
        };
        if (m.kind == json_kind::null) return mismatch("null");
        if (m.kind != json_kind::string) return field_problem(pp.field, "must be a string");
        if (auto why = content_of(m, content)) return why;
        if (*content != *value) return mismatch(in_quotes(*content));
        return std::nullopt;
    }

    // Field names are hashed once per call and compared with a member's key (hashed when read) by
    // hash first, by bytes only on a match. A rule with many fields (the StateSet profile's 18)
    // also has them put in an open-addressing table (json_splice.hpp), so a member finds its field
    // in a probe or two instead of a pass over all of them.
    static constexpr std::size_t table_from_fields = 9;

    void index_fields() {
        std::vector<std::uint64_t>& h = ctx_.rule_hashes;
        h.resize(r_.fields.size());
        for (std::size_t i = 0; i < h.size(); ++i) h[i] = make_hashed_key(r_.fields[i].name).hash;
        use_table_ = r_.fields.size() >= table_from_fields;
        if (use_table_) build_name_table(h, ctx_.rule_slots);
    }

    // Checks member `m` against field rule `i` (whose name is its key).
    std::optional<refusal> check_field(std::size_t i, const json_member& m,
                                       std::optional<std::string_view>& content) {
        const field_rule& fr = r_.fields[i];
        if (m.kind == json_kind::null) {
            ctx_.flags[i] = present_null;
            if (fr.required) return field_problem(fr.name, "is required");
            return std::nullopt;
        }
        ctx_.flags[i] = present_value;
        return check_type(fr, m, content);
    }

    // Checks one member (its key hashed as `hash`) against the rule and writes it (or leaves it
    // out).
    std::optional<refusal> take(const json_member& m, std::uint64_t hash, json_object_writer& w) {
        std::optional<std::string_view> content;
        bool known = false;
        const std::uint64_t* field_hash = ctx_.rule_hashes.data();
        if (use_table_) {
            const std::vector<std::uint32_t>& slots = ctx_.rule_slots;
            const std::size_t mask = slots.size() - 1;
            for (std::size_t slot = hash & mask; slots[slot] != 0; slot = (slot + 1) & mask) {
                const std::size_t i = slots[slot] - 1;
                if (field_hash[i] != hash || r_.fields[i].name != m.key) continue;
                known = true;
                if (auto why = check_field(i, m, content)) return why;
            }
        } else {
            const std::size_t count = r_.fields.size();
            for (std::size_t i = 0; i < count; ++i) {
                if (field_hash[i] != hash || r_.fields[i].name != m.key) continue;
                known = true;
                if (auto why = check_field(i, m, content)) return why;
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
        w.raw_value(m.value);
        return std::nullopt;
    }

    const rule& r_;
    const path_params& params_;
    json_context& ctx_;
    std::string& out_;
    std::size_t body_size_ = 0;
    bool use_table_ = false;
};

}  // namespace

std::optional<refusal> transform_request(const rule& r, const path_params& params,
                                         std::string_view token, std::string_view query,
                                         const body_members& body, json_context& ctx,
                                         upstream_call& call) {
    if (auto why = build_target(r, params, query, call.target)) return why;
    call.body.clear();
    if (auto why = body_splicer(r, params, ctx, call.body).run(body)) return why;
    call.method.assign(r.upstream_method);
    call.auth_header.assign(r.upstream_auth_header);
    call.auth_value.clear();
    call.auth_value.reserve(r.upstream_auth_scheme.size() + 1 + token.size());
    call.auth_value.append(r.upstream_auth_scheme).append(" ").append(token);
    return std::nullopt;
}

result<upstream_call> transform_request(const rule& r, const path_params& params,
                                        std::string_view token, std::string_view query,
                                        const body_members& body, json_context& ctx) {
    upstream_call call;
    if (auto why = transform_request(r, params, token, query, body, ctx, call))
        return std::move(*why);
    return call;
}

}  // namespace shimgate
