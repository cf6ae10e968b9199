#pragma once
// Strict HTTP/1.x request framing: the smuggling defences. Boost 1.81's parser alone accepts
// obs-fold, some control characters and several ambiguous framings, so the head's bytes are
// checked strictly (check_raw_head, or head_fields::split_fields and check_head_limits as the
// session does) and the parsed header is checked again before anything is forwarded.
// Pure functions.
#include <cstddef>
#include <string_view>

#include "proxy/head.hpp"
#include "proxy/refusal.hpp"

namespace shimgate {

struct head_limits {
    std::size_t max_request_line = 8192;
    std::size_t max_header_bytes = 16384;  // the field lines, excluding the request line
    std::size_t max_header_fields = 100;
};

struct head_verdict {
    unsigned status = 0;      // 0: acceptable; else 400, 405, 414, 431, 505 (then close)
    std::string_view reason;  // static text naming the problem, for logs and the answer
    refusal_reason kind = refusal_reason::framing;  // what /metrics counts it as
    bool ok() const noexcept { return status == 0; }
};

// Where the head ends in `bytes` (the offset just past the empty line), or 0 if it is incomplete.
// Leading empty lines (RFC 9112 §2.2) are part of the head.
std::size_t find_head_end(std::string_view bytes) noexcept;

// Verdict for an incomplete head of `buffered` bytes: too long already, or keep reading.
head_verdict check_partial_head(std::string_view buffered, const head_limits& limits) noexcept;

// Byte-level checks of a complete head (as located by find_head_end), pass by pass: line
// endings, request-line length, header size and count, obs-fold, field-name syntax, CR/LF/NUL and
// other controls in values. The verdict names the first problem. The session leaves the grammar
// to flat_parser::put_head and the sizes to check_head_limits, and asks this only to name what is
// wrong with a head they refused (tests hold the two ways to the same verdicts).
head_verdict check_raw_head(std::string_view head, const head_limits& limits) noexcept;

// check_raw_head's verdict on a head whose grammar the parser has checked already
// (flat_parser::put_head accepted it, with `fields` fields): only its sizes are left to check,
// without reading its bytes again. `head` as check_raw_head takes it, leading empty lines
// included.
head_verdict check_head_limits(std::string_view head, std::size_t fields,
                               const head_limits& limits) noexcept;

// Semantic checks of the parsed header: version, Host, Content-Length / Transfer-Encoding
// combinations, CONNECT, request-target form.
head_verdict check_request_framing(const request_head& h) noexcept;

// Expect: only "100-continue" on HTTP/1.1 (417 otherwise).
head_verdict check_expect(const request_head& h) noexcept;

// Whether the client waits for a 100 before it sends its body: it asked (a checked Expect),
// nothing of the body is buffered yet, and some is due.
bool continue_expected(const request_head& h, std::size_t buffered, bool body_pending) noexcept;

}  // namespace shimgate
