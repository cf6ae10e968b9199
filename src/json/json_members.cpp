#include "json/json_members.hpp"

#include "json/json_splice.hpp"

namespace shimgate {
namespace {

object_read malformed(std::string_view problem, std::string_view field = {}) {
    return {object_read::status::malformed, problem, field};
}

object_read read_all(std::string_view text, json_context& ctx) {
    ctx.members.clear();
    ctx.keys.clear();
    json_object_reader reader(text, ctx.scratch);
    if (!reader.open()) return {object_read::status::not_object, {}, {}};
    // The root object must end the text: said first, as simdjson's "ended early" used to.
    if (const std::string_view t = trim_json_whitespace(text); t.back() != '}' || t.size() < 2)
        return malformed("unclosed object, or text after it");
    json_member m;
    while (reader.next_key(m)) {
        if (!reader.read_value(m)) return malformed(reader.problem(), m.key);
        ctx.members.push_back(m);
        ctx.keys.push_back(make_hashed_key(m.key));
    }
    if (!reader.done()) return malformed(reader.problem());
    return {};
}

}  // namespace

body_members read_members(std::string_view text, json_context& ctx) {
    const object_read read = read_all(text, ctx);
    return {text, read, ctx.members, ctx.keys};
}

}  // namespace shimgate
