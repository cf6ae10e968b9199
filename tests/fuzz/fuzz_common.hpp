#pragma once
// Shared by the libFuzzer targets: the default rule set (loaded once), an invariant macro that
// aborts with a readable message (libFuzzer then saves the input as crash-*), and an independent
// strict JSON oracle.
//
// Why an oracle next to simdjson's DOM: the DOM refuses numbers it cannot represent (1e400,
// 123456789012345678901234567890), which are valid JSON the shim is meant to forward byte-for-byte.
// So validity is decided by the DOM when it succeeds, and by this small recursive-descent parser
// (RFC 8259, written independently of src/json/json_validate.cpp) when the DOM's only complaint is
// a number or the depth; every other DOM error means "invalid". The oracle also returns the
// top-level members (unescaped keys, raw value text, unescaped string values) for the
// byte-for-byte and duplicate-key checks.
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/rule_loader.hpp"
#include "config/rule_set.hpp"

#ifndef SHIMGATE_SOURCE_DIR
#error "build with -DSHIMGATE_SOURCE_DIR=\"/path/to/repo\""
#endif

namespace fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* cond, std::string_view what) {
    std::fprintf(stderr, "\n==== INVARIANT VIOLATED %s:%d: %s\n==== %.*s\n", file, line, cond,
                 static_cast<int>(what.size()), what.data());
    std::abort();
}

// FUZZ_CHECK(cond, message-expression): message is only built on failure.
#define FUZZ_CHECK(cond, msg)                                        \
    do {                                                             \
        if (!(cond)) ::fuzz::fail(__FILE__, __LINE__, #cond, (msg)); \
    } while (0)

// Known, reported bugs can be let through while exploring further (never in CI):
//   FUZZ_ALLOW=ondemand-skip,loader-nul-token build-fuzz/fuzz_request_transform ...
// FUZZ_KNOWN(id, cond, msg) behaves like FUZZ_CHECK unless `id` is listed; then the input is
// dropped (the enclosing function returns) instead of aborting.
inline bool allowed(std::string_view id) {
    static const std::string list = [] {
        const char* v = std::getenv("FUZZ_ALLOW");
        return "," + std::string(v ? v : "") + ",";
    }();
    return list.find("," + std::string(id) + ",") != std::string::npos;
}

#define FUZZ_KNOWN(id, cond, msg)                                       \
    do {                                                                \
        if (!(cond)) {                                                  \
            if (::fuzz::allowed(id)) return;                            \
            ::fuzz::fail(__FILE__, __LINE__, "[" id "] " #cond, (msg)); \
        }                                                               \
    } while (0)

// Printable form of bytes for messages: \xNN for anything not printable ASCII.
inline std::string show(std::string_view s, std::size_t limit = 600) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (s.size() > limit) out += "...";
    return out;
}

// FUZZ_TRACE=1 in the environment: targets print what they produce (for reading one input's path).
inline bool tracing() {
    static const bool on = std::getenv("FUZZ_TRACE") != nullptr;
    return on;
}

inline void trace(std::string_view what, std::string_view text) {
    if (!tracing()) return;
    std::fprintf(stderr, "[%.*s] %s\n", static_cast<int>(what.size()), what.data(),
                 show(text, 4000).c_str());
}

inline const shimgate::rule_set& default_rules() {
    static const shimgate::rule_set_ptr rules = [] {
        const char* dir = std::getenv("SHIMGATE_RULES_DIR");
        auto loaded = shimgate::load_rules(dir ? dir : SHIMGATE_SOURCE_DIR "/rules");
        if (!loaded.rules) {
            std::fprintf(stderr, "fuzz: cannot load the default rules: %s\n", loaded.error.c_str());
            std::abort();
        }
        return loaded.rules;
    }();
    return *rules;
}

inline const shimgate::rule& rule_named(std::string_view name) {
    for (const auto& r : default_rules().rules)
        if (r.name == name) return r;
    std::fprintf(stderr, "fuzz: no rule named %.*s in the default rules\n",
                 static_cast<int>(name.size()), name.data());
    std::abort();
}

// The four default rules, in a fixed order independent of the loader's match order.
inline const shimgate::rule& pick_rule(unsigned i) {
    static constexpr std::string_view names[] = {"mintlify-update-user", "explo-update-user-group",
                                                 "stateset-update-user-group",
                                                 "stateset-update-user"};
    return rule_named(names[i % 4]);
}

inline bool is_group_rule(const shimgate::rule& r) {
    return r.name != "stateset-update-user";
}

// ------------------------------------------------------------------ the JSON oracle

struct member {
    std::string key;                  // unescaped
    std::string_view raw;             // the value's text, no surrounding whitespace
    std::optional<std::string> text;  // unescaped, for string values
    int depth = 0;                    // nesting of the value: 0 a scalar, 1 a flat container
};

struct json_verdict {
    bool ok = false;
    std::string problem;
    bool is_object = false;
    std::vector<member> members;  // top-level members, in order (when is_object)
    // Deepest nesting (1 = a flat object or array), when ok. The oracle has no limit of its own
    // below oracle::max_depth; `too_deep` says it stopped there (the text is then refused, and
    // is deeper than any limit of the shim).
    int depth = 0;
    bool too_deep = false;
};

class oracle {
  public:
    explicit oracle(std::string_view s) : s_(s) {}

    json_verdict run() {
        json_verdict v;
        ws();
        const bool top_object = i_ < s_.size() && s_[i_] == '{';
        v.is_object = top_object;
        const bool parsed = value(top_object ? &v.members : nullptr);
        v.depth = peak_;
        v.too_deep = too_deep_;
        if (!parsed) {
            v.problem = problem_;
            return v;
        }
        ws();
        if (i_ != s_.size()) {
            v.problem = "trailing content";
            return v;
        }
        v.ok = true;
        return v;
    }

    static constexpr int max_depth = 4096;

  private:
    bool deeper() {
        if (++depth_ > max_depth) {
            too_deep_ = true;
            return fail("too deep");
        }
        peak_ = std::max(peak_, depth_);
        return true;
    }

    bool fail(const char* p) {
        if (problem_.empty()) problem_ = p + std::string(" at offset ") + std::to_string(i_);
        return false;
    }
    void ws() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }
    bool lit(std::string_view w) {
        if (s_.substr(i_, w.size()) != w) return fail("bad literal");
        i_ += w.size();
        return true;
    }
    bool digits() {
        std::size_t start = i_;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        return i_ > start;
    }
    bool number() {
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        if (i_ < s_.size() && s_[i_] == '0') {
            ++i_;
        } else if (i_ < s_.size() && s_[i_] >= '1' && s_[i_] <= '9') {
            digits();
        } else {
            return fail("bad number");
        }
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (!digits()) return fail("bad fraction");
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (!digits()) return fail("bad exponent");
        }
        return true;
    }
    int hex4(unsigned& out) {
        if (i_ + 4 > s_.size()) return fail("short \\u");
        out = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s_[i_++];
            unsigned d = (c >= '0' && c <= '9')   ? unsigned(c - '0')
                         : (c >= 'a' && c <= 'f') ? unsigned(c - 'a' + 10)
                         : (c >= 'A' && c <= 'F') ? unsigned(c - 'A' + 10)
                                                  : 99u;
            if (d == 99u) return fail("bad hex in \\u");
            out = out * 16 + d;
        }
        return true;
    }
    static void utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out.push_back(char(cp));
        } else if (cp < 0x800) {
            out.push_back(char(0xC0 | (cp >> 6)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(char(0xE0 | (cp >> 12)));
            out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(char(0xF0 | (cp >> 18)));
            out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        }
    }
    // One UTF-8 sequence at i_ (a byte >= 0x80), RFC 3629 table.
    bool utf8_seq(std::string& out) {
        auto b = [&](std::size_t k) -> unsigned {
            return i_ + k < s_.size() ? static_cast<unsigned char>(s_[i_ + k]) : 0u;
        };
        auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
            return b(k) >= lo && b(k) <= hi;
        };
        unsigned c = b(0);
        std::size_t n = 0;
        if (c >= 0xC2 && c <= 0xDF && cont(1))
            n = 2;
        else if (c == 0xE0 && cont(1, 0xA0) && cont(2))
            n = 3;
        else if (((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) && cont(1) && cont(2))
            n = 3;
        else if (c == 0xED && cont(1, 0x80, 0x9F) && cont(2))
            n = 3;
        else if (c == 0xF0 && cont(1, 0x90) && cont(2) && cont(3))
            n = 4;
        else if (c >= 0xF1 && c <= 0xF3 && cont(1) && cont(2) && cont(3))
            n = 4;
        else if (c == 0xF4 && cont(1, 0x80, 0x8F) && cont(2) && cont(3))
            n = 4;
        if (n == 0) return fail("invalid UTF-8");
        out.append(s_.substr(i_, n));
        i_ += n;
        return true;
    }
    bool string(std::string& out) {
        ++i_;  // opening quote
        for (;;) {
            if (i_ >= s_.size()) return fail("unterminated string");
            auto c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') {
                ++i_;
                return true;
            }
            if (c < 0x20) return fail("control character in string");
            if (c >= 0x80) {
                if (!utf8_seq(out)) return false;
                continue;
            }
            if (c != '\\') {
                out.push_back(char(c));
                ++i_;
                continue;
            }
            if (++i_ >= s_.size()) return fail("unterminated escape");
            char e = s_[i_++];
            switch (e) {
                case '"':
                    out.push_back('"');
                    break;
                case '\\':
                    out.push_back('\\');
                    break;
                case '/':
                    out.push_back('/');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'u': {
                    unsigned cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (s_.substr(i_, 2) != "\\u") return fail("unpaired high surrogate");
                        i_ += 2;
                        unsigned lo = 0;
                        if (!hex4(lo)) return false;
                        if (lo < 0xDC00 || lo > 0xDFFF) return fail("unpaired high surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    utf8(out, cp);
                    break;
                }
                default:
                    return fail("bad escape");
            }
        }
    }
    bool value(std::vector<member>* members) {
        ws();
        if (i_ >= s_.size()) return fail("expected a value");
        switch (s_[i_]) {
            case '{': {
                if (!deeper()) return false;
                ++i_;
                ws();
                if (i_ < s_.size() && s_[i_] == '}') {
                    ++i_;
                    --depth_;
                    return true;
                }
                for (;;) {
                    ws();
                    if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a key");
                    std::string key;
                    if (!string(key)) return false;
                    ws();
                    if (i_ >= s_.size() || s_[i_] != ':') return fail("expected ':'");
                    ++i_;
                    ws();
                    const std::size_t start = i_;
                    const bool is_string = i_ < s_.size() && s_[i_] == '"';
                    const int outer_peak = peak_;
                    peak_ = depth_;
                    std::string text;
                    if (is_string) {
                        if (!string(text)) return false;
                    } else if (!value(nullptr)) {
                        return false;
                    }
                    const int value_depth = peak_ - depth_;
                    peak_ = std::max(outer_peak, peak_);
                    if (members) {
                        member m{std::move(key), s_.substr(start, i_ - start), std::nullopt,
                                 value_depth};
                        if (is_string) m.text = std::move(text);
                        members->push_back(std::move(m));
                    }
                    ws();
                    if (i_ < s_.size() && s_[i_] == ',') {
                        ++i_;
                        continue;
                    }
                    if (i_ < s_.size() && s_[i_] == '}') {
                        ++i_;
                        --depth_;
                        return true;
                    }
                    return fail("expected ',' or '}'");
                }
            }
            case '[': {
                if (!deeper()) return false;
                ++i_;
                ws();
                if (i_ < s_.size() && s_[i_] == ']') {
                    ++i_;
                    --depth_;
                    return true;
                }
                for (;;) {
                    if (!value(nullptr)) return false;
                    ws();
                    if (i_ < s_.size() && s_[i_] == ',') {
                        ++i_;
                        continue;
                    }
                    if (i_ < s_.size() && s_[i_] == ']') {
                        ++i_;
                        --depth_;
                        return true;
                    }
                    return fail("expected ',' or ']'");
                }
            }
            case '"': {
                std::string ignored;
                return string(ignored);
            }
            case 't':
                return lit("true");
            case 'f':
                return lit("false");
            case 'n':
                return lit("null");
            default:
                return number();
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
    int depth_ = 0;
    int peak_ = 0;  // deepest depth_ so far
    bool too_deep_ = false;
    std::string problem_;
};

// Valid JSON per simdjson's DOM (number and depth complaints deferred to the oracle) and the
// oracle; the verdict carries the oracle's members.
inline json_verdict check_json(std::string_view text) {
    json_verdict v = oracle(text).run();
    static simdjson::dom::parser dom(1 << 24);
    static bool configured = [] { return dom.allocate(1 << 24, 8192) == simdjson::SUCCESS; }();
    (void)configured;
    simdjson::padded_string padded(text);
    simdjson::dom::element e;
    const auto err = dom.parse(padded).get(e);
    if (err == simdjson::SUCCESS) {
        FUZZ_CHECK(v.ok, "simdjson DOM accepts what the oracle refuses (" + v.problem +
                             "; the oracle is wrong?): " + show(text));
        return v;
    }
    if (err != simdjson::NUMBER_ERROR && err != simdjson::DEPTH_ERROR &&
        err != simdjson::CAPACITY) {
        v.ok = false;
        if (v.problem.empty()) v.problem = std::string("simdjson: ") + simdjson::error_message(err);
    }
    return v;
}

// The first key appearing twice among `members`, if any.
inline std::optional<std::string> duplicate_key(const std::vector<member>& members) {
    std::vector<std::string_view> keys;
    for (const auto& m : members) keys.push_back(m.key);
    std::sort(keys.begin(), keys.end());
    auto it = std::adjacent_find(keys.begin(), keys.end());
    if (it == keys.end()) return std::nullopt;
    return std::string(*it);
}

inline const member* find_member(const std::vector<member>& members, std::string_view key) {
    for (const auto& m : members)
        if (m.key == key) return &m;
    return nullptr;
}

}  // namespace fuzz
