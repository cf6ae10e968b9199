// Response rewrite: the upstream's canonical answer becomes the client dialect's documented one.
//
// Why splice: the client must get the upstream's values byte-for-byte, only the documented keys,
// in the documented order. One forward pass over the upstream object (entering its `source`
// object) records where each wanted value is; the answer is then written in the rule's order from
// those raw spans. Keys the rule does not name are read and checked, never copied.
//
// How validity is guaranteed: the pass is the strict reader's (json_reader.hpp), which checks
// every byte of the answer against the full RFC 8259 grammar, so a 2xx the shim cannot fully check
// is a 502, never a half-valid answer. A duplicate key in an upstream object is treated the same
// way (malformed, 502): "first wins" and "last wins" parsers would read it two ways, and there is
// no safe choice.
#include "proxy/response_rewrite.hpp"

#include <cstdint>
#include <optional>
#include <vector>

#include "json/json_reader.hpp"
#include "json/json_splice.hpp"
#include "json/json_writer.hpp"

namespace shimgate {

namespace {

constexpr std::string_view malformed_reply = "malformed upstream reply";

// The hashes of the rule's copy keys, then of its documented keys' sources, in ctx.rule_hashes:
// a member key (hashed when read) is compared by hash first, by bytes only on a match.
void hash_rule_names(const response_rule& rr, json_context& ctx) {
    ctx.rule_hashes.clear();
    for (const std::string& k : rr.copy) ctx.rule_hashes.push_back(make_hashed_key(k).hash);
    for (const response_key& k : rr.keys) ctx.rule_hashes.push_back(make_hashed_key(k.from).hash);
    build_name_table(std::span(ctx.rule_hashes).subspan(rr.copy.size()), ctx.rule_slots);
}

// Records `m`'s value (its key hashed as `hash`) in ctx.views where the rule wants it: copy keys
// first, then picked keys.
void record(const response_rule& rr, bool from_source, const json_member& m, std::uint64_t hash,
            json_context& ctx) {
    const std::uint64_t* h = ctx.rule_hashes.data();
    std::vector<std::string_view>& spans = ctx.views;
    if (!from_source || rr.source.empty()) {
        for (std::size_t i = 0; i < rr.copy.size(); ++i)
            if (h[i] == hash && rr.copy[i] == m.key) spans[i] = m.value;
    }
    if (from_source) {
        const std::size_t base = rr.copy.size();
        for_each_hash_match(ctx.rule_slots, std::span(ctx.rule_hashes).subspan(base), hash,
                            [&](std::size_t i) {
                                if (rr.keys[i].from == m.key) spans[base + i] = m.value;
                            });
    }
}

// Walks the members of the source object (entered by the reader), recording the documented keys.
bool walk_source(const response_rule& rr, json_object_reader& reader, json_context& ctx) {
    const std::size_t first_key = ctx.keys.size();
    json_member m;
    while (reader.next_key(m)) {
        if (!reader.read_value(m)) return false;
        ctx.keys.push_back(make_hashed_key(m.key));
        record(rr, true, m, ctx.keys.back().hash, ctx);
    }
    if (!reader.problem().empty()) return false;
    const bool unique = !find_duplicate(std::span(ctx.keys).subspan(first_key)).has_value();
    ctx.keys.resize(first_key);
    return unique;
}

// A reader over `body` on the thread's scratch buffer (the request's members, which point into that
// buffer, are not used after the transform).
json_object_reader reader_for(std::string_view body, json_context& ctx) {
    return json_object_reader(body, ctx.scratch);
}

// Finds the wanted values of a 2xx answer; false if it is not a fully valid JSON object with the
// source object in it.
bool collect(const response_rule& rr, std::string_view body, json_context& ctx) {
    ctx.keys.clear();
    ctx.views.assign(rr.copy.size() + rr.keys.size(), std::string_view());
    hash_rule_names(rr, ctx);
    json_object_reader reader = reader_for(body, ctx);
    if (!reader.open()) return false;
    bool source_found = rr.source.empty();
    json_member m;
    while (reader.next_key(m)) {
        ctx.keys.push_back(make_hashed_key(m.key));
        if (!rr.source.empty() && m.key == rr.source) {
            if (!reader.enter_object(m) || !walk_source(rr, reader, ctx)) return false;
            source_found = true;
            continue;
        }
        if (!reader.read_value(m)) return false;
        record(rr, rr.source.empty(), m, ctx.keys.back().hash, ctx);
    }
    return reader.done() && source_found && !find_duplicate(ctx.keys).has_value();
}

void rewrite_success(const rule& r, unsigned status, std::string_view body, json_context& ctx,
                     client_answer& a) {
    const response_rule& rr = r.response;
    if (!collect(rr, body, ctx)) {
        a = render_error(r.errors, 502, malformed_reply);
        return;
    }
    a.status = status;
    a.content_type.assign("application/json");
    a.body.clear();
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
}

// The upstream's own words from a 4xx body: its "error" string (the Customer API's envelope), else
// a problem document's "detail"; nullopt if the body is not a valid JSON object carrying either.
std::optional<std::string_view> upstream_error_text(std::string_view body, json_context& ctx) {
    json_object_reader reader = reader_for(body, ctx);
    if (!reader.open()) return std::nullopt;
    std::optional<std::string_view> error, detail;
    json_member m;
    while (reader.next_key(m)) {
        if (!reader.read_value(m)) return std::nullopt;
        if (m.kind != json_kind::string) continue;
        std::optional<std::string_view>* slot =
            m.key == "error" ? &error : (m.key == "detail" ? &detail : nullptr);
        if (slot == nullptr || slot->has_value()) continue;
        std::string_view text;
        if (!reader.string_content(m, text)) return std::nullopt;
        *slot = text;
    }
    if (!reader.done()) return std::nullopt;
    if (error && !error->empty()) return error;
    if (detail && !detail->empty()) return detail;
    return std::nullopt;
}

}  // namespace

void rewrite_response(const rule& r, unsigned upstream_status, std::string_view upstream_body,
                      json_context& ctx, client_answer& answer) {
    if (upstream_status >= 200 && upstream_status <= 299) {
        rewrite_success(r, upstream_status, upstream_body, ctx, answer);
    } else if (upstream_status >= 400 && upstream_status <= 499) {
        if (auto text = upstream_error_text(upstream_body, ctx)) {
            answer = render_error(r.errors, upstream_status, *text);
        } else {
            answer =
                render_error(r.errors, upstream_status,
                             "upstream refused the request (" + std::to_string(upstream_status) +
                                 " " + std::string(reason_phrase(upstream_status)) + ")");
        }
    } else if (upstream_status >= 500 && upstream_status <= 599) {
        answer = render_error(r.errors, 502, "upstream error " + std::to_string(upstream_status));
    } else {
        answer = render_error(r.errors, 502,
                              "unexpected upstream status " + std::to_string(upstream_status));
    }
}

client_answer rewrite_response(const rule& r, unsigned upstream_status, std::string& upstream_body,
                               json_context& ctx) {
    client_answer a;
    rewrite_response(r, upstream_status, upstream_body, ctx, a);
    return a;
}

}  // namespace shimgate
