#pragma once
// The name of simdjson's kernel, for the start-up line and build_info. The request path reads
// JSON with its own reader (json_reader.hpp) and does not include this header; simdjson's DOM reads
// the rule files (config/rule_loader.cpp).
#include <simdjson.h>

#include <string>

namespace shimgate {

// The kernel simdjson's DOM reads the rule files with ("haswell", "westmere", "fallback", ...):
// chosen by the shared library at run time for this CPU, whatever this binary was compiled for.
inline std::string simdjson_kernel() {
    return std::string(simdjson::get_active_implementation()->name());
}

}  // namespace shimgate
