#pragma once
// Per-thread JSON state: one simdjson On-Demand parser, reused for every request of the thread,
// and a scratch output buffer. Never shared between threads.
#include <simdjson.h>

#include <string>

namespace shimgate {

struct json_context {
    simdjson::ondemand::parser parser;
    std::string out;  // reused output buffer
};

// Ensure `s` has SIMDJSON_PADDING bytes of capacity past its size, so it can be parsed in place.
inline simdjson::padded_string_view pad_in_place(std::string& s) {
    if (s.capacity() < s.size() + simdjson::SIMDJSON_PADDING) s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(s.data(), s.size(), s.capacity());
}

}  // namespace shimgate
