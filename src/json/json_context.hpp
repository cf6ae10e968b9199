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

struct json_context {
    std::string out;      // reused output buffer
    std::string scratch;  // unescaped keys and strings of the current document
    // The top-level members of the current document and their keys hashed (for duplicate
    // detection): the storage behind read_members' body_members (json_members.hpp).
    std::vector<json_member> members;
    std::vector<hashed_key> keys;
    // Scratch lists of the splice stages: output keys / picked values, and which rule fields /
    // path params a body has.
    std::vector<std::string_view> views;
    std::vector<unsigned char> flags;
    // Hashes of the names a rule compares keys with, and the request transform's field table.
    std::vector<std::uint64_t> rule_hashes;
    std::vector<std::uint32_t> rule_slots;
};

}  // namespace shimgate
