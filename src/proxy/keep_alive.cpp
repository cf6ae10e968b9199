// parse_keep_alive: the Keep-Alive header's value, for the upstream pool's idle limit.
#include "proxy/keep_alive.hpp"

#include <charconv>

#include "common/ascii.hpp"

namespace shimgate {

namespace {

std::optional<std::uint32_t> number(std::string_view v) noexcept {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    std::uint32_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
    return n;
}

void keep_smallest(std::optional<std::uint32_t>& slot, std::optional<std::uint32_t> v) noexcept {
    if (v && (!slot || *v < *slot)) slot = v;
}

}  // namespace

keep_alive_params parse_keep_alive(std::string_view value) noexcept {
    keep_alive_params out;
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view param = trim_ows(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        const auto eq = param.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view name = trim_ows(param.substr(0, eq));
        const std::string_view v = trim_ows(param.substr(eq + 1));
        if (iequals_ascii(name, "timeout"))
            keep_smallest(out.timeout, number(v));
        else if (iequals_ascii(name, "max"))
            keep_smallest(out.max, number(v));
    }
    return out;
}

}  // namespace shimgate
