#pragma once
// The heads of what the shim writes to its client: its own answers (a rewritten answer or a
// refusal: status, type, request id, WWW-Authenticate on a 401, the deprecation headers of the
// route), and the framing of a relayed upstream answer (kept length, chunked, or until close), with
// the chunk lines of each relayed piece. Pure functions: the session only writes what they build.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "proxy/forward_headers.hpp"

namespace shimgate {

inline constexpr std::string_view request_id_field = "X-Request-Id";

// What the head of one of the shim's own answers says.
struct own_answer {
    unsigned status = 200;
    std::string_view content_type;
    std::size_t body_size = 0;
    const rule* route = nullptr;  // the route answered (its deprecation headers), or null
    bool keep_alive = false;
    unsigned client_version = 11;  // 10 or 11
    std::string_view request_id;
    std::string_view challenge;    // WWW-Authenticate value; empty: none
    std::string_view retry_after;  // Retry-After value (a 503); empty: none
};

// Appends the whole head of `a` to `out`.
void write_own_answer_head(std::string& out, const own_answer& a);

// The WWW-Authenticate value of a 401 on `r`: each scheme it accepts once, realm "shimgate"
// ("Token realm=\"shimgate\", Bearer realm=\"shimgate\""), into `out` (cleared first).
void make_challenge(const rule& r, std::string& out);

// How a relayed upstream answer is framed for the client, and whether the connection stays open.
struct relay_plan {
    framing_spec framing;
    bool keep_alive = false;
};

// `content_length` as the answer's parser read it; `content_length_field` the field's text (a HEAD
// answer has no body, but says how long the GET's would be); `keep_alive` what the client allows.
relay_plan plan_relay(bool head_request, unsigned status,
                      std::optional<std::uint64_t> content_length,
                      std::string_view content_length_field, unsigned client_version,
                      bool keep_alive);

// The bytes written around one relayed piece of `size` bytes: a chunk-size line before it and the
// CRLF (plus the last chunk when `last`) after it, when `chunked`; nothing otherwise.
struct piece_frame {
    std::string_view prefix;
    std::string_view suffix;
};
piece_frame frame_piece(bool chunked, std::size_t size, bool last, char (&size_line)[24]);

// X-Request-Id: `incoming` if it is a sane token (1..128 of [A-Za-z0-9._:-]), else `random` as 16
// hex digits. Into `out`.
void choose_request_id(std::string_view incoming, std::uint64_t random, std::string& out);

}  // namespace shimgate
