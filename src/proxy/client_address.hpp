#pragma once
// Who the client is behind load balancers (--trusted-proxies): CIDR parsing and matching, and the
// walk of the forwarding chain (the X-Forwarded-For entries, then the real peer) from the right to
// the first address that is not a trusted proxy. Pure functions, no I/O, no allocation per call.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shimgate {

class head_fields;

// An IP address as 16 bytes; an IPv4 address (and an IPv4-mapped IPv6 one, ::ffff:a.b.c.d) is
// held mapped, so 10.0.0.1 and ::ffff:10.0.0.1 are the same address.
struct ip_address {
    std::array<std::uint8_t, 16> bytes{};
    bool v4 = false;
};

// "10.0.0.1", "2001:db8::1" (no brackets, no port, no zone). Nullopt for anything else.
std::optional<ip_address> parse_ip(std::string_view text) noexcept;

struct cidr_block {
    ip_address base;        // the host bits are zero
    unsigned prefix = 128;  // over the 16 mapped bytes (an IPv4 /24 is held as /120)
};

class trusted_proxies {
  public:
    // "10.0.0.0/8,192.168.1.7,2001:db8::/32": comma separated, spaces around entries ignored; a
    // bare address is /32 (IPv4) or /128 (IPv6). An empty text or entry is an error. On error,
    // returns one line saying which entry is wrong and leaves the set unchanged.
    std::string parse(std::string_view text);
    bool empty() const noexcept { return blocks_.empty(); }
    bool contains(const ip_address& a) const noexcept;
    bool contains(std::string_view address_text) const noexcept;  // false if not an address

  private:
    std::vector<cidr_block> blocks_;
};

// The client's address: the right-most address of the chain (every X-Forwarded-For entry, in
// order, then `peer_ip`) that is not in `trusted`. If `peer_ip` is not trusted, it is `peer_ip`
// (the X-Forwarded-For fields are not looked at). When every address is trusted, the left-most. An
// entry that is not an address ("unknown", junk) ends the walk: the client is the address to its
// right (the trusted hop that reported it), since nothing left of it can be vouched for. Entries
// may carry a port ("10.0.0.1:5000", "[2001:db8::1]:443") or brackets; the result is the address
// text alone, a view into `peer_ip` or into `req`.
std::string_view client_address(const head_fields& req, std::string_view peer_ip,
                                const trusted_proxies& trusted) noexcept;

// An X-Forwarded-For entry's address text, without brackets or port; empty if it is none.
std::string_view forwarded_entry_address(std::string_view entry) noexcept;

}  // namespace shimgate
