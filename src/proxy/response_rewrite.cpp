// Response rewrite: the upstream's canonical answer becomes the client dialect's documented one.
//
// Why splice: the client must get the upstream's values byte-for-byte, only the documented keys,
// in the documented order. One forward On-Demand pass over the upstream object (and over its
// `source` object) records where each wanted value is; the answer is then written in the rule's
// order from those raw spans. Keys the rule does not name are read and checked, never copied.
//
// How validity is guaranteed: every key and value of the walked objects goes through
// check_json_value (see json_validate.hpp), so a 2xx the shim cannot fully check is a 502, never a
// half-valid answer. A duplicate key in an upstream object is treated the same way (malformed,
// 502): "first wins" and "last wins" parsers would read it two ways, and there is no safe choice.
#include "proxy/response_rewrite.hpp"

#include <optional>

#include "json/json_splice.hpp"
#include "json/json_writer.hpp"

namespace shimgate {
namespace ondemand = simdjson::ondemand;

namespace {

constexpr std::string_view malformed_reply = "malformed upstream reply";

// Records `m`'s value in `spans` where the rule wants it: copy keys first, then picked keys.
void record(const response_rule& rr, bool from_source, const spliced_member& m,
            std::vector<std::string_view>& spans) {
    if (!from_source || rr.source.empty()) {
        for (std::size_t i = 0; i < rr.copy.size(); ++i)
            if (rr.copy[i] == m.key) spans[i] = m.value.text;
    }
    if (from_source) {
        for (std::size_t i = 0; i < rr.keys.size(); ++i)
            if (rr.keys[i].from == m.key) spans[rr.copy.size() + i] = m.value.text;
    }
}

// Walks the members of the source object, recording the documented keys.
bool walk_source(const response_rule& rr, ondemand::value& v, json_context& ctx) {
    ondemand::object src;
    if (v.get_object().get(src)) return false;
    const std::size_t first_key = ctx.keys.size();
    for (auto member : src) {
        ondemand::field f;
        if (std::move(member).get(f)) return false;
        spliced_member m;
        if (read_member(f, m)) return false;
        ctx.keys.push_back(make_hashed_key(m.key));
        record(rr, true, m, ctx.views);
    }
    const bool unique = !find_duplicate(std::span(ctx.keys).subspan(first_key)).has_value();
    ctx.keys.resize(first_key);
    return unique;
}

// Finds the wanted values of a 2xx answer; false if it is not a fully valid JSON object with the
// source object in it.
bool collect(const response_rule& rr, std::string& body, json_context& ctx) {
    ctx.keys.clear();
    ctx.views.assign(rr.copy.size() + rr.keys.size(), std::string_view());
    // The whole answer first: On-Demand does not check what it skips between members.
    const json_value_check whole = check_json_value(body);
    if (!whole.ok || whole.kind != json_kind::object) return false;
    ondemand::document doc;
    if (ctx.parser.iterate(pad_in_place(body)).get(doc)) return false;
    ondemand::object root;
    if (doc.get_object().get(root)) return false;
    bool source_found = rr.source.empty();
    for (auto member : root) {
        ondemand::field f;
        if (std::move(member).get(f)) return false;
        spliced_member m;
        if (read_key(f, m)) return false;
        ctx.keys.push_back(make_hashed_key(m.key));
        if (!rr.source.empty() && m.key == rr.source) {
            if (!walk_source(rr, f.value(), ctx)) return false;
            source_found = true;
            continue;
        }
        if (read_value(f, m)) return false;
        record(rr, rr.source.empty(), m, ctx.views);
    }
    const char* rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) return false;  // trailing content
    return source_found && !find_duplicate(ctx.keys).has_value();
}

client_answer rewrite_success(const rule& r, unsigned status, std::string& body,
                              json_context& ctx) {
    const response_rule& rr = r.response;
    if (!collect(rr, body, ctx)) return render_error(r.errors, 502, malformed_reply);

    client_answer a;
    a.status = status;
    a.content_type = "application/json";
    a.body.reserve(body.size() + 64);
    const auto& spans = ctx.views;
    json_object_writer top(a.body);
    for (std::size_t i = 0; i < rr.copy.size(); ++i) {
        if (spans[i].empty()) continue;
        top.key(rr.copy[i]);
        top.raw_value(spans[i]);
    }
    const auto write_picked = [&](json_object_writer& w) {
        for (std::size_t i = 0; i < rr.keys.size(); ++i) {
            const std::string_view v = spans[rr.copy.size() + i];
            if (v.empty()) continue;  // a documented key the upstream did not send
            w.key(rr.keys[i].as);
            w.raw_value(v);
        }
    };
    if (rr.wrapper.empty()) {
        write_picked(top);
    } else {
        top.key(rr.wrapper);
        json_object_writer inner(a.body);
        write_picked(inner);
        inner.close();
    }
    top.close();
    return a;
}

// The upstream's own words from a 4xx body: its "error" string (the Customer API's envelope), else
// a problem document's "detail"; nullopt if the body is not a valid JSON object carrying either.
std::optional<std::string_view> upstream_error_text(std::string& body, json_context& ctx) {
    const json_value_check whole = check_json_value(body);
    if (!whole.ok || whole.kind != json_kind::object) return std::nullopt;
    ondemand::document doc;
    if (ctx.parser.iterate(pad_in_place(body)).get(doc)) return std::nullopt;
    ondemand::object root;
    if (doc.get_object().get(root)) return std::nullopt;
    std::optional<std::string_view> error, detail;
    for (auto member : root) {
        ondemand::field f;
        if (std::move(member).get(f)) return std::nullopt;
        spliced_member m;
        if (read_member(f, m)) return std::nullopt;
        if (m.value.kind != json_kind::string) continue;
        std::optional<std::string_view>* slot =
            m.key == "error" ? &error : (m.key == "detail" ? &detail : nullptr);
        if (slot == nullptr || slot->has_value()) continue;
        std::string_view text;
        if (unescaped_string(m, text)) return std::nullopt;
        *slot = text;
    }
    const char* rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) return std::nullopt;
    if (error && !error->empty()) return error;
    if (detail && !detail->empty()) return detail;
    return std::nullopt;
}

}  // namespace

client_answer rewrite_response(const rule& r, unsigned upstream_status, std::string& upstream_body,
                               json_context& ctx) {
    if (upstream_status >= 200 && upstream_status <= 299)
        return rewrite_success(r, upstream_status, upstream_body, ctx);
    if (upstream_status >= 400 && upstream_status <= 499) {
        if (auto text = upstream_error_text(upstream_body, ctx))
            return render_error(r.errors, upstream_status, *text);
        return render_error(r.errors, upstream_status,
                            "upstream refused the request (" + std::to_string(upstream_status) +
                                " " + std::string(reason_phrase(upstream_status)) + ")");
    }
    if (upstream_status >= 500 && upstream_status <= 599)
        return render_error(r.errors, 502, "upstream error " + std::to_string(upstream_status));
    return render_error(r.errors, 502,
                        "unexpected upstream status " + std::to_string(upstream_status));
}

}  // namespace shimgate
