#pragma once
// Per-thread JSON state: scratch buffers and lists reused for every request of the thread (cleared
// per document, capacity kept). Never shared between threads.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json/json_reader.hpp"

namespace shimgate {

// A key with a hash of its bytes, so duplicate detection sorts mostly by integer.
struct hashed_key {
    std::uint64_t hash = 0;
    std::string_view text;
};

// How reading an object's members ended (json_members.hpp).
struct object_read {
    enum class status : unsigned char { ok, not_object, malformed };
    status st = status::ok;
    std::string_view problem;  // when malformed: what is wrong
    std::string_view field;    // the member whose value holds the problem (data() null if none)
};

struct json_context {
    std::string out;      // reused output buffer
    std::string scratch;  // unescaped keys and strings of the current document
    // The top-level members of the current document, their keys hashed (for duplicate detection),
    // and how reading them ended (json_members.hpp).
    std::vector<json_member> members;
    std::vector<hashed_key> keys;
    object_read read;
    // A document whose members are kept for the next stage (select_by_body, then the transform):
    // its address and a copy of its bytes, so a stale list is never used for another text.
    std::string kept_text;
    const char* kept_at = nullptr;
    bool kept = false;
    // Scratch lists of the splice stages: output keys / picked values, and which rule fields /
    // path params a body has.
    std::vector<std::string_view> views;
    std::vector<unsigned char> flags;
    // Hashes of the names a rule compares keys with, and the request transform's field table.
    std::vector<std::uint64_t> rule_hashes;
    std::vector<std::uint32_t> rule_slots;
};

}  // namespace shimgate
