#pragma once
// What the shim's users of simdjson itself share: the start-up line and build_info (the kernel
// name) and the micro-benchmark's floor (padding in place). The request path reads JSON with its
// own reader (json_reader.hpp) and does not include this header; simdjson's DOM reads the rule
// files (config/rule_loader.cpp).
#include <simdjson.h>

#include <string>

namespace shimgate {

// The On-Demand kernel this binary was compiled for ("haswell", or "fallback" without AVX2/PCLMUL).
// simdjson::builtin_implementation() would name the shared library's, not ours.
inline constexpr const char* ondemand_kernel = SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);

// Ensure `s` has SIMDJSON_PADDING bytes of capacity past its size, so it can be parsed in place
// by simdjson (the micro-benchmark's floor; the shim's own reader needs no padding).
inline simdjson::padded_string_view pad_in_place(std::string& s) {
    if (s.capacity() < s.size() + simdjson::SIMDJSON_PADDING)
        s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(s.data(), s.size(), s.capacity());
}

}  // namespace shimgate
