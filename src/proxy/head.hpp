#pragma once
// A parsed HTTP/1 message head, held flat: the start line and the fields in arrival order, their
// text copied into one string the owner reuses from message to message (no allocation per field,
// no per-field node, no sorted index: heads are a few dozen fields, scanned in order). Filled by
// flat_parser (proxy/head_parser.hpp); read by the pure request stages. Pure data.
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/ascii.hpp"

namespace shimgate {

// field-vchar / SP / HTAB / obs-text (RFC 9110 §5.5): anything but controls (NUL, CR and LF
// included) and DEL.
constexpr bool is_field_value_char(unsigned char c) noexcept {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

// Field names compare case-insensitively; most differ in length, which is checked inline first.
inline bool same_name(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && iequals_ascii(a, b);
}

// One field of a head, as views into the head's text (valid until the head is cleared or added
// to).
class field_view {
  public:
    field_view(boost::beast::http::field id, std::string_view name, std::string_view value)
        : id_(id), name_(name), value_(value) {}
    boost::beast::http::field name() const noexcept {
        return id_;
    }  // unknown if not in Beast's table
    std::string_view name_string() const noexcept { return name_; }
    std::string_view value() const noexcept { return value_; }

  private:
    boost::beast::http::field id_;
    std::string_view name_;
    std::string_view value_;
};

class head_fields {
    struct entry {
        boost::beast::http::field id;
        std::uint32_t name_at, name_size, value_at, value_size;
    };

  public:
    class iterator {
      public:
        using value_type = field_view;
        using difference_type = std::ptrdiff_t;
        iterator(const head_fields* h, std::size_t i) : h_(h), i_(i) {}
        field_view operator*() const { return h_->at(i_); }
        iterator& operator++() {
            ++i_;
            return *this;
        }
        bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }

      private:
        const head_fields* h_;
        std::size_t i_;
    };

    // Forgets every field and the text; keeps the capacity.
    void clear() noexcept;
    // Takes a copy of a whole head, to be parsed from that copy: views into it that add() and the
    // start-line setters are given are kept as positions, not copied again. Clears the head.
    std::string_view adopt(std::string_view head_bytes);
    // Splits `block`, the field lines of the adopted head through its final empty line, into
    // fields, checking each line as Beast's parser does (RFC 9112 §5.1): a token name directly
    // followed by ':', a value of VCHAR / obs-text / SP / HTAB (trimmed of SP / HTAB), a CRLF line
    // end, no obs-fold. false at the first line that fails.
    bool split_fields(std::string_view block);
    // Appends to the text a digest of the head: its first `start_line` bytes (the start line and
    // its CRLF), "name: value" lines for the fields `pick(id, value)` selects, and an empty line.
    // The digest, a view into the text (valid until the head is cleared or added to).
    template <class Pick>
    std::string_view append_digest(std::size_t start_line, Pick pick) {
        std::size_t size = start_line + 2;
        const auto picked = [&](const entry& e) {
            return pick(e.id, view({e.value_at, e.value_size}));
        };
        for (const entry& e : entries_)
            if (picked(e)) size += e.name_size + e.value_size + 4;
        const std::size_t at = text_.size();
        text_.resize(at + size);
        char* out = text_.data() + at;
        const auto put = [&](std::size_t from, std::size_t n) {
            std::memcpy(out, text_.data() + from, n);
            out += n;
        };
        put(0, start_line);
        for (const entry& e : entries_) {
            if (!picked(e)) continue;
            put(e.name_at, e.name_size);
            *out++ = ':';
            *out++ = ' ';
            put(e.value_at, e.value_size);
            *out++ = '\r';
            *out++ = '\n';
        }
        *out++ = '\r';
        *out = '\n';
        return std::string_view(text_).substr(at);
    }
    // Adds a field (copied in, unless it lies in the adopted text). `id`: the name's entry in
    // Beast's table (unknown if none).
    void add(boost::beast::http::field id, std::string_view name, std::string_view value);
    // The same, looking the name up in Beast's table (tests, hand-built heads).
    void add(std::string_view name, std::string_view value);

    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    field_view at(std::size_t i) const noexcept {
        const entry& e = entries_[i];
        return {e.id, view({e.name_at, e.name_size}), view({e.value_at, e.value_size})};
    }
    iterator begin() const noexcept { return {this, 0}; }
    iterator end() const noexcept { return {this, entries_.size()}; }

    // The value of the first field with that name (case-insensitive), or "" if there is none.
    std::string_view operator[](boost::beast::http::field id) const noexcept;
    std::string_view operator[](std::string_view name) const noexcept;
    std::size_t count(boost::beast::http::field id) const noexcept;
    std::size_t count(std::string_view name) const noexcept;
    bool contains(boost::beast::http::field id) const noexcept { return count(id) != 0; }
    bool contains(std::string_view name) const noexcept { return count(name) != 0; }

  protected:
    // `s`'s position in the head's text: where it already lies (the adopted text), else where it
    // is copied to. The position stays valid across later additions.
    struct span {
        std::uint32_t at = 0, size = 0;
    };
    span keep(std::string_view s) {
        // Compared as integers: `s` may point into any buffer.
        const auto at = reinterpret_cast<std::uintptr_t>(s.data());
        const auto begin = reinterpret_cast<std::uintptr_t>(text_.data());
        if (at >= begin && at + s.size() <= begin + text_.size())
            return {static_cast<std::uint32_t>(at - begin), static_cast<std::uint32_t>(s.size())};
        return copy_in(s);
    }
    std::string_view view(span s) const noexcept { return {text_.data() + s.at, s.size}; }

  private:
    span copy_in(std::string_view s);

    std::string text_;
    std::vector<entry> entries_;
};

// A request head: request line and fields.
class request_head : public head_fields {
  public:
    void clear() noexcept;
    void set_request_line(boost::beast::http::verb method, std::string_view method_string,
                          std::string_view target, unsigned version);
    boost::beast::http::verb method() const noexcept { return method_; }
    std::string_view method_string() const noexcept { return view(method_string_); }
    std::string_view target() const noexcept { return view(target_); }
    unsigned version() const noexcept { return version_; }  // 10 or 11

  private:
    boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
    span method_string_, target_;
    unsigned version_ = 11;
};

// A response head: status line and fields.
class response_head : public head_fields {
  public:
    void clear() noexcept;
    void set_status_line(unsigned status, std::string_view reason, unsigned version);
    unsigned result_int() const noexcept { return status_; }
    std::string_view reason() const noexcept { return view(reason_); }
    unsigned version() const noexcept { return version_; }

  private:
    unsigned status_ = 0;
    span reason_;
    unsigned version_ = 11;
};

}  // namespace shimgate
