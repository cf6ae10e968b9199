#include "proxy/head.hpp"

#include <array>
#include <bit>
#include <cstring>
#if defined(__SSSE3__)
#include <tmmintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace shimgate {

namespace http = boost::beast::http;

namespace {

constexpr std::array<bool, 256> tchar_table = [] {
    std::array<bool, 256> t{};
    for (unsigned c = 0; c < 256; ++c) t[c] = is_tchar(static_cast<unsigned char>(c));
    return t;
}();

// Scans within the text [`lo`, `end`) of a head for the first byte of a class, from a position
// `p`: sixteen bytes at a time with SSE2 / SSSE3, the last sixteen of the text loaded again (and
// shifted) rather than read byte by byte. `end` when there is none.
class head_scan {
  public:
    head_scan(const char* lo, const char* end) noexcept : lo_(lo), end_(end) {}

    // The first byte that is not a tchar (the end of a field name).
    const char* not_tchar(const char* p) const noexcept {
#if defined(__SSSE3__)
        if (end_ - lo_ >= 16) return find(p, [](__m128i v) { return non_tchar_mask(v); });
#endif
        while (p < end_ && tchar_table[static_cast<unsigned char>(*p)]) ++p;
        return p;
    }

    // The first byte that is not is_field_value_char (the CR ending a field value, unless the
    // value is bad).
    const char* value_end(const char* p) const noexcept {
#if defined(__SSE2__)
        if (end_ - lo_ >= 16) return find(p, [](__m128i v) { return value_end_mask(v); });
#endif
        while (p < end_ && is_field_value_char(static_cast<unsigned char>(*p))) ++p;
        return p;
    }

  private:
#if defined(__SSE2__)
    template <class Mask>
    const char* find(const char* p, Mask mask) const noexcept {
        while (end_ - p >= 16) {
            if (const unsigned m = mask(load(p)); m != 0) return p + std::countr_zero(m);
            p += 16;
        }
        if (p == end_) return p;
        // The text's last sixteen bytes, from p on; bit end - p marks the end.
        const auto skip = static_cast<unsigned>(p - (end_ - 16));
        const unsigned m = (mask(load(end_ - 16)) >> skip) | (1u << (16 - skip));
        return p + std::countr_zero(m);
    }
    static __m128i load(const char* p) noexcept {
        return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    }
    static unsigned value_end_mask(__m128i v) noexcept {
        const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        const __m128i hit =
            _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), control),
                         _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
        return static_cast<unsigned>(_mm_movemask_epi8(hit));
    }
#endif
#if defined(__SSSE3__)
    // A byte c is a tchar when by_low[c & 15] has bit (c >> 4) set (c < 0x80): two table
    // look-ups for sixteen bytes.
    static unsigned non_tchar_mask(__m128i v) noexcept {
        alignas(16) static constexpr std::array<std::uint8_t, 16> by_low = [] {
            std::array<std::uint8_t, 16> t{};
            for (unsigned c = 0; c < 128; ++c)
                if (tchar_table[c])
                    t[c & 15] = static_cast<std::uint8_t>(t[c & 15] | 1u << (c >> 4));
            return t;
        }();
        alignas(16) static constexpr std::array<std::uint8_t, 16> high_bit = {
            1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0};
        const __m128i nibble = _mm_set1_epi8(0x0f);
        const __m128i low = _mm_shuffle_epi8(load_table(by_low), _mm_and_si128(v, nibble));
        const __m128i high =
            _mm_shuffle_epi8(load_table(high_bit), _mm_and_si128(_mm_srli_epi16(v, 4), nibble));
        const __m128i none = _mm_cmpeq_epi8(_mm_and_si128(low, high), _mm_setzero_si128());
        return static_cast<unsigned>(_mm_movemask_epi8(none));
    }
    static __m128i load_table(const std::array<std::uint8_t, 16>& t) noexcept {
        return _mm_load_si128(reinterpret_cast<const __m128i*>(t.data()));
    }
#endif

    const char* lo_;
    const char* end_;
};

}  // namespace

void head_fields::clear() noexcept {
    text_.clear();
    entries_.clear();
}

std::string_view head_fields::adopt(std::string_view head_bytes) {
    clear();
    // Room for what is appended while the adopted text is being parsed, so it never moves then:
    // a digest (at most the head again) or a value Beast unfolded (shorter than its lines).
    text_.reserve(2 * head_bytes.size() + 2);
    text_.assign(head_bytes);
    return text_;
}

head_fields::span head_fields::copy_in(std::string_view s) {
    span out{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(s.size())};
    text_.append(s);
    return out;
}

bool head_fields::split_fields(std::string_view block) {
    const char* p = block.data();
    const char* const end = p + block.size();
    const head_scan scan(text_.data() <= p && end <= text_.data() + text_.size() ? text_.data() : p,
                         end);
    for (;;) {
        if (end - p < 2) return false;
        if (p[0] == '\r' && p[1] == '\n') return end - p == 2;  // the empty line ends the head
        const char* const name = p;
        p = scan.not_tchar(p);
        // An empty name is also a line starting with SP / HTAB: obs-fold.
        if (p == name || p == end || *p != ':') return false;
        const std::string_view name_text(name, static_cast<std::size_t>(p - name));
        const char* const value = p + 1;
        p = scan.value_end(value);
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return false;
        add(http::string_to_field(name_text), name_text,
            trim_ows({value, static_cast<std::size_t>(p - value)}));
        p += 2;
    }
}

void head_fields::add(http::field id, std::string_view name, std::string_view value) {
    span n = keep(name);
    span v = keep(value);
    entries_.push_back(entry{id, n.at, n.size, v.at, v.size});
}

void head_fields::add(std::string_view name, std::string_view value) {
    add(http::string_to_field(name), name, value);
}

std::string_view head_fields::operator[](http::field id) const noexcept {
    for (const entry& e : entries_)
        if (e.id == id) return view({e.value_at, e.value_size});
    return {};
}

std::string_view head_fields::operator[](std::string_view name) const noexcept {
    for (const entry& e : entries_)
        if (same_name(view({e.name_at, e.name_size}), name))
            return view({e.value_at, e.value_size});
    return {};
}

std::size_t head_fields::count(http::field id) const noexcept {
    std::size_t n = 0;
    for (const entry& e : entries_) n += e.id == id;
    return n;
}

std::size_t head_fields::count(std::string_view name) const noexcept {
    std::size_t n = 0;
    for (const entry& e : entries_) n += same_name(view({e.name_at, e.name_size}), name);
    return n;
}

void request_head::clear() noexcept {
    head_fields::clear();
    method_ = http::verb::unknown;
    method_string_ = target_ = {};
    version_ = 11;
}

void request_head::set_request_line(http::verb method, std::string_view method_string,
                                    std::string_view target, unsigned version) {
    method_ = method;
    method_string_ = keep(method_string);
    target_ = keep(target);
    version_ = version;
}

void response_head::clear() noexcept {
    head_fields::clear();
    status_ = 0;
    reason_ = {};
    version_ = 11;
}

void response_head::set_status_line(unsigned status, std::string_view reason, unsigned version) {
    status_ = status;
    reason_ = keep(reason);
    version_ = version;
}

}  // namespace shimgate
