// The trusted-proxy chain: CIDR sets and the right-to-left walk of X-Forwarded-For (see the
// header). inet_pton is a pure parser (no resolver, no I/O).
#include "proxy/client_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "proxy/head.hpp"

namespace shimgate {
namespace {

bool is_xff(const field_view& f) {
    return f.name() == boost::beast::http::field::unknown &&
           same_name(f.name_string(), "x-forwarded-for");
}

// Calls `fn(entry)` for each comma-separated entry of every X-Forwarded-For field, right to left,
// until it returns false.
template <class Fn>
void each_entry_from_right(const head_fields& req, Fn&& fn) {
    const std::size_t n = req.size();
    for (std::size_t i = n; i-- > 0;) {
        const field_view f = req.at(i);
        if (!is_xff(f)) continue;
        std::string_view list = f.value();
        for (;;) {
            const auto comma = list.rfind(',');
            const std::string_view entry =
                trim_ows(comma == std::string_view::npos ? list : list.substr(comma + 1));
            if (!entry.empty() && !fn(entry)) return;
            if (comma == std::string_view::npos) break;
            list = list.substr(0, comma);
        }
    }
}

}  // namespace

std::optional<ip_address> parse_ip(std::string_view text) noexcept {
    // INET6_ADDRSTRLEN is 46; anything longer is no address.
    char buf[48];
    if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    ip_address a;
    if (text.find(':') == std::string_view::npos) {
        in_addr v4{};
        if (::inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
        a.bytes[10] = 0xff;
        a.bytes[11] = 0xff;
        std::memcpy(a.bytes.data() + 12, &v4, 4);
        a.v4 = true;
        return a;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, buf, &v6) != 1) return std::nullopt;
    std::memcpy(a.bytes.data(), &v6, 16);
    static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    a.v4 = std::memcmp(a.bytes.data(), mapped, 12) == 0;
    return a;
}

std::string trusted_proxies::parse(std::string_view text) {
    std::vector<cidr_block> blocks;
    if (text.empty()) return "expected CIDR[,CIDR...], got nothing";
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view entry = trim_ows(text.substr(0, comma));
        if (entry.empty()) return "empty entry (expected CIDR[,CIDR...])";
        if (comma != std::string_view::npos && comma + 1 == text.size())
            return "empty entry after the last comma";
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        const auto slash = entry.find('/');
        auto address = parse_ip(entry.substr(0, slash));
        if (!address) return "\"" + std::string(entry) + "\" is not an IPv4 or IPv6 address";
        const unsigned width = address->v4 ? 32 : 128;
        unsigned bits = width;
        if (slash != std::string_view::npos) {
            const std::string_view p = entry.substr(slash + 1);
            auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
            if (p.empty() || ec != std::errc() || end != p.data() + p.size() || bits > width)
                return "\"" + std::string(entry) + "\": prefix length must be 0 to " +
                       std::to_string(width);
        }
        cidr_block b;
        b.prefix = bits + (128 - width);
        b.base = *address;
        for (unsigned i = 0; i < 16; ++i) {
            const unsigned keep = b.prefix > i * 8 ? std::min(8u, b.prefix - i * 8) : 0u;
            b.base.bytes[i] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
        }
        blocks.push_back(b);
    }
    blocks_ = std::move(blocks);
    return {};
}

bool trusted_proxies::contains(const ip_address& a) const noexcept {
    for (const cidr_block& b : blocks_) {
        bool match = true;
        for (unsigned i = 0; i < 16 && match; ++i) {
            const unsigned keep = b.prefix > i * 8 ? std::min(8u, b.prefix - i * 8) : 0u;
            if (keep == 0) break;
            const auto mask = static_cast<std::uint8_t>(0xff << (8 - keep));
            match = (a.bytes[i] & mask) == b.base.bytes[i];
        }
        if (match) return true;
    }
    return false;
}

bool trusted_proxies::contains(std::string_view address_text) const noexcept {
    if (blocks_.empty()) return false;
    auto a = parse_ip(address_text);
    return a && contains(*a);
}

std::string_view forwarded_entry_address(std::string_view entry) noexcept {
    if (!entry.empty() && entry.front() == '[') {  // "[v6]" or "[v6]:port"
        const auto close = entry.find(']');
        if (close == std::string_view::npos) return {};
        const std::string_view rest = entry.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return {};
        entry = entry.substr(1, close - 1);
    } else if (const auto colon = entry.find(':');
               colon != std::string_view::npos && entry.find(':', colon + 1) == entry.npos) {
        entry = entry.substr(0, colon);  // "a.b.c.d:port"
    }
    return parse_ip(entry) ? entry : std::string_view();
}

std::string_view client_address(const head_fields& req, std::string_view peer_ip,
                                const trusted_proxies& trusted) noexcept {
    if (!trusted.contains(peer_ip)) return peer_ip;
    std::string_view client = peer_ip;  // the left-most address seen so far, all trusted
    each_entry_from_right(req, [&](std::string_view entry) {
        const std::string_view address = forwarded_entry_address(entry);
        if (address.empty()) return false;  // junk: the hop to its right is as far as we trust
        client = address;
        return trusted.contains(address);  // the first untrusted one is the client
    });
    return client;
}

}  // namespace shimgate
