#pragma once
// Builds the heads the shim sends: the upstream request head and the client response head.
// RFC 9110 §7.6: hop-by-hop fields and those named in Connection are removed, Via is added,
// X-Forwarded-For / -Proto / -Host are set from the real peer (client-supplied ones replaced;
// from a trusted proxy, --trusted-proxies, kept and the peer appended to X-Forwarded-For),
// Host is the upstream's own. Framing fields (Content-Length, Transfer-Encoding) are always
// written by the shim from what it will actually send, never copied. Pure functions.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "proxy/head.hpp"

namespace shimgate {

enum class body_framing { none, length, chunked, until_close };

struct framing_spec {
    body_framing kind = body_framing::none;
    std::uint64_t length = 0;  // for body_framing::length
};

struct forward_info {
    std::string_view peer_ip;        // the real peer: "127.0.0.1", "::1"
    std::string_view proto;          // "http" or "https": how the client reached the shim
    std::string_view upstream_host;  // Host sent upstream: "127.0.0.1:9090"
    // X-Forwarded-Host when the client named the host in an absolute-form target (it wins over
    // Host, RFC 9112 §3.2.2); empty: the client's Host.
    std::string_view forwarded_host = {};
    // The peer is a trusted proxy (--trusted-proxies): its X-Forwarded-For is kept with the peer
    // appended, its X-Forwarded-Proto and X-Forwarded-Host are kept when present.
    bool trusted_peer = false;
};

using header_pair = std::pair<std::string_view, std::string_view>;

// True for fields that never cross the proxy as they are (hop-by-hop, framing, and those the
// proxy rewrites), given the Connection options of the same message.
bool is_connection_specific(std::string_view name, const head_fields& message);

// Appends "Name: value\r\n"; a value carrying CR, LF or NUL is never written (it cannot come from a
// parsed message, this guards values the shim builds itself).
void append_field(std::string& out, std::string_view name, std::string_view value);

// Whether `s` holds a CR, LF or NUL: what must never reach a written head (append_field drops such
// a field).
bool has_line_break_or_nul(std::string_view s) noexcept;

// Appends the whole upstream request head, ending with the empty line. `drop` names extra client
// fields to leave out (a translated route's credential headers and Content-Type); `add` are written
// after the forwarded fields.
void write_upstream_head(std::string& out, std::string_view method, std::string_view target,
                         const head_fields& client, const forward_info& info, framing_spec body,
                         std::span<const std::string_view> drop = {},
                         std::span<const header_pair> add = {});

// Appends the whole client response head. `keep_alive` false adds `Connection: close`; an HTTP/1.0
// client kept alive gets `Connection: keep-alive`. `upstream` may be null for the shim's own
// answers.
void write_client_head(std::string& out, unsigned status, std::string_view reason,
                       const head_fields* upstream, framing_spec body, bool keep_alive,
                       unsigned client_version, std::span<const header_pair> add = {});

}  // namespace shimgate
