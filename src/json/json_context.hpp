#pragma once
// Per-thread JSON state: one simdjson On-Demand parser, reused for every request of the thread,
// and a scratch output buffer. Never shared between threads.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shimgate {

// The On-Demand kernel this binary was compiled for ("haswell", or "fallback" without AVX2/PCLMUL).
// simdjson::builtin_implementation() would name the shared library's, not ours.
inline constexpr const char* ondemand_kernel = SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);

// A key with a hash of its bytes, so duplicate detection sorts mostly by integer.
struct hashed_key {
    std::uint64_t hash = 0;
    std::string_view text;
};

struct json_context {
    simdjson::ondemand::parser parser;
    std::string out;  // reused output buffer
    // Scratch lists of the splice stages (cleared per request, capacity kept): keys of the current
    // document for duplicate detection, and output keys / picked values.
    std::vector<hashed_key> keys;
    std::vector<std::string_view> views;
    std::vector<unsigned char> flags;  // which rule fields / path params a body has
};

// Ensure `s` has SIMDJSON_PADDING bytes of capacity past its size, so it can be parsed in place.
inline simdjson::padded_string_view pad_in_place(std::string& s) {
    if (s.capacity() < s.size() + simdjson::SIMDJSON_PADDING)
        s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(s.data(), s.size(), s.capacity());
}

}  // namespace shimgate
