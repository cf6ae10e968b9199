#pragma once
// Writing JSON text into a caller-owned buffer. The splice stages copy validated raw text and
// only write the few strings they make up themselves (renamed keys, injected values, error
// messages) through append_json_string, so whatever the shim emits is valid JSON.
#include <cstring>
#include <string>
#include <string_view>

namespace shimgate {

// Appends `s` as a JSON string literal, quotes included. '"' and '\\' are escaped, control
// characters (< 0x20) become \b \f \n \r \t or \u00XX; valid UTF-8 is written as it is and an
// invalid byte becomes U+FFFD, so the output is valid JSON (RFC 8259 §7, §8.1) whatever `s` holds.
void append_json_string(std::string& out, std::string_view s);

// Whether append_json_string writes `s` between the quotes as it is (printable ASCII, DEL
// included, no '"' or '\\'): for writers that copy such text straight into a buffer they sized.
bool is_plain_json_text(std::string_view s) noexcept;

// One JSON object written member by member into `out`: '{' on construction, commas between
// members, '}' on close(). Nested objects are a second writer on the same buffer after key().
class json_object_writer {
  public:
    explicit json_object_writer(std::string& out) : out_(out) { out_.push_back('{'); }

    // `raw_key` is a validated JSON string token, quotes included, copied as it is (with the comma
    // before it and the colon after it: one resize, one copy).
    void raw_key(std::string_view raw_key) {
        const std::size_t comma = first_ ? 0 : 1;
        first_ = false;
        const std::size_t at = out_.size();
        out_.resize(at + comma + raw_key.size() + 1);
        char* p = out_.data() + at;
        if (comma) *p++ = ',';
        std::memcpy(p, raw_key.data(), raw_key.size());
        p[raw_key.size()] = ':';
    }
    // `name` is plain text, escaped here.
    void key(std::string_view name) {
        separator();
        append_json_string(out_, name);
        out_.push_back(':');
    }
    // `raw` is validated JSON text, copied as it is.
    void raw_value(std::string_view raw) { out_.append(raw); }
    void string_value(std::string_view s) { append_json_string(out_, s); }
    void close() { out_.push_back('}'); }

  private:
    void separator() {
        if (!first_) out_.push_back(',');
        first_ = false;
    }

    std::string& out_;
    bool first_ = true;
};

}  // namespace shimgate
