#pragma once
// The value of an upstream answer's Keep-Alive header (`timeout=5, max=100`), read without I/O:
// how long the upstream keeps an idle connection open, which the pool must stay under.
#include <cstdint>
#include <optional>
#include <string_view>

namespace shimgate {

struct keep_alive_params {
    std::optional<std::uint32_t> timeout;  // seconds
    std::optional<std::uint32_t> max;      // requests
};

// Parameters are `name[=value]` separated by commas, names case-insensitive, optional whitespace
// around them, a value a run of digits, possibly in double quotes. A parameter whose value is not
// a number (or too large) is ignored, as is one the shim does not know; when one is repeated the
// smallest value counts (the cautious reading).
keep_alive_params parse_keep_alive(std::string_view value) noexcept;

}  // namespace shimgate
