#pragma once
// The top-level members of a JSON object body, read once per document with the strict reader
// (json_reader.hpp) into the thread's json_context. Route selection reads a body's members before
// the request transform does, and hands them over (body_members) instead of having the transform
// read the same body twice.
#include <span>
#include <string_view>

#include "json/json_context.hpp"

namespace shimgate {

// How reading an object's members ended.
struct object_read {
    enum class status : unsigned char { ok, not_object, malformed };
    status st = status::ok;
    std::string_view problem;  // when malformed: what is wrong
    std::string_view field;    // the member whose value holds the problem (data() null if none)
};

// The members of one body, as read_members read them: views into the body, into ctx.scratch
// (unescaped keys) and into ctx.members / ctx.keys, so valid until the next read of a document
// with the same json_context (read_members, a json_object_reader on ctx.scratch, the response
// rewrite). A user's duplicate check (find_duplicate) sorts `keys` in place.
struct body_members {
    std::string_view text;                 // the body read
    object_read read;                      // how reading it ended
    std::span<const json_member> members;  // in the body's order (complete when read.st == ok)
    std::span<hashed_key> keys;            // the members' keys hashed, same order until sorted
};

// Reads every member of the root object of `text` into ctx.members (keys hashed into ctx.keys).
body_members read_members(std::string_view text, json_context& ctx);

}  // namespace shimgate
