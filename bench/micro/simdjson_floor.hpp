#pragma once
// The floor the JSON stages are compared with: simdjson On-Demand reading every key and value of
// a body (strings unescaped, numbers converted, nested containers walked), nothing checked, copied
// or written. On-Demand picks its kernel when it is compiled, so simdjson_floor.cpp alone is
// compiled for x86-64-v3 (the haswell kernel: simdjson at its best on this machine) while the
// stages it is compared with are compiled as the shim is. The parser stays behind a pointer: its
// type depends on that kernel and must not appear in a header the other files include.
#include <cstddef>
#include <memory>
#include <string>

namespace shimgate::bench {

class simdjson_floor {
  public:
    simdjson_floor();
    ~simdjson_floor();
    simdjson_floor(const simdjson_floor&) = delete;
    simdjson_floor& operator=(const simdjson_floor&) = delete;

    // Reads all of `body` (an object; padded in place, so its capacity may grow). The bytes of
    // keys and strings seen, 0 if simdjson refused it.
    std::size_t parse(std::string& body);
    // The On-Demand kernel it was compiled for ("haswell", or "fallback" without AVX2/PCLMUL).
    static const char* kernel();

  private:
    struct parser;
    std::unique_ptr<parser> parser_;
};

}  // namespace shimgate::bench
