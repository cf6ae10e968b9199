#pragma once
// The framing of a chunked request body, checked byte by byte as it arrives, before Beast parses
// it: Beast keeps a chunk line or trailer until its CRLF, so a line ending in a bare LF (or a bad
// size or extension followed by no CRLF) would leave the request waiting for the idle timeout.
// This says "bad" at the first byte that cannot belong to a valid body (RFC 9112 §7.1): a size
// that is not 1*HEXDIG or passes 64 bits, an extension that is not `;name[=token|quoted-string]`
// (BWS allowed around `;` and `=`, as Beast's parser does), a CR not followed by LF, an LF not
// after a CR, a chunk's data longer than its size, a control character in a trailer field, or an
// obs-fold (a trailer line beginning with SP or HTAB). Data bytes are skipped at once (no per-byte
// cost for the body). Pure, no allocation.
#include <cstdint>
#include <string_view>

namespace shimgate {

class chunked_scan {
  public:
    enum class verdict : std::uint8_t { more, done, bad };

    // The next bytes of the body, in order, each once (bytes after the body's end are not
    // looked at). The verdict so far.
    verdict feed(std::string_view bytes) noexcept;
    verdict state() const noexcept { return verdict_; }
    // Static text naming the problem once bad.
    std::string_view problem() const noexcept { return problem_; }
    void reset() noexcept { *this = chunked_scan(); }

  private:
    enum class at : std::uint8_t {
        size_start,      // before the first digit of a size
        size,            // in the size's digits
        ext_bws,         // BWS after the size or a value, before ';' or CR
        ext_name_start,  // after ';' (BWS allowed), before the name
        ext_name,        // in a name
        ext_after_name,  // BWS after a name: '=', ';' or CR
        ext_val_start,   // after '=' (BWS allowed)
        ext_token,       // in a token value
        ext_quoted,      // in a quoted-string value
        ext_escape,      // after a backslash in a quoted-string
        line_lf,         // a CR of a chunk line was seen: LF next
        data,            // in a chunk's data
        data_cr,         // after the data: CR next
        data_lf,         // LF next
        trailer_start,   // at the start of a trailer line (or the final empty line)
        trailer,         // in a trailer line
        trailer_lf,      // a CR of a trailer line was seen: LF next
        final_lf,        // the CR of the final empty line was seen: LF next
        end,
    };
    bool fail(std::string_view why) noexcept {
        verdict_ = verdict::bad;
        problem_ = why;
        return false;
    }
    bool step(char c) noexcept;  // one framing byte; false once bad or done
    bool go(at next) noexcept {  // the byte was good; the next one is read in state `next`
        at_ = next;
        return true;
    }

    at at_ = at::size_start;
    verdict verdict_ = verdict::more;
    std::uint64_t size_ = 0;  // the chunk's size, then what is left of its data
    std::string_view problem_;
};

}  // namespace shimgate
