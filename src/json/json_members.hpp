#pragma once
// The top-level members of a JSON object body, read once per document with the strict reader
// (json_reader.hpp) into the thread's json_context. Route selection reads a body's members before
// the request transform does: it keeps them, and the transform takes them over instead of reading
// the same body twice.
#include <string_view>

#include "json/json_context.hpp"

namespace shimgate {

// Reads every member of the root object of `text` into ctx.members (keys hashed into ctx.keys)
// and returns how that ended (also in ctx.read). A list kept for this very text (same address,
// same bytes) by read_members(..., keep = true) is taken over instead, and is kept no longer.
// With `keep`, the list is kept for the next call.
const object_read& read_members(std::string_view text, json_context& ctx, bool keep = false);

}  // namespace shimgate
