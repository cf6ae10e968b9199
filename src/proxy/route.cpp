#include "proxy/route.hpp"

#include <utility>

#include "json/json_members.hpp"

namespace shimgate {
namespace {

// Walks "/a/b/" as "a", "b", "" without allocating: the same split the loader uses for templates.
class segment_cursor {
  public:
    explicit segment_cursor(std::string_view path) : path_(path), pos_(path.empty() ? 0 : 1) {}
    bool next(std::string_view& seg) {
        if (done_) return false;
        const auto slash = path_.find('/', pos_);
        seg = path_.substr(pos_, slash - pos_);
        done_ = slash == std::string_view::npos;
        pos_ = slash + 1;
        return true;
    }

  private:
    std::string_view path_;
    std::size_t pos_;
    bool done_ = false;
};

bool segments_match(const rule& r, std::string_view path) {
    segment_cursor cur(path);
    std::string_view seg;
    for (const path_segment& s : r.segments) {
        if (!cur.next(seg)) return false;
        if (s.is_param ? seg.empty() : s.text != seg) return false;
    }
    return !cur.next(seg);
}

// <0: a is more specific, 0: same shape, >0: b is. At the first position where one template has a
// literal and the other a parameter, the literal wins ("/users/me" beats "/users/{id}").
int compare_shape(const rule& a, const rule& b) {
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
        const bool pa = a.segments[i].is_param;
        const bool pb = b.segments[i].is_param;
        if (pa != pb) return pa ? 1 : -1;
    }
    return 0;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;  // the path is normalised: every '%' is followed by two hex digits
}

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// Index of the first candidate whose body_has is a top-level key of the body, or -1 (also for a
// malformed body, so the choice never depends on how far a broken body happens to parse).
// Keys are compared unescaped, the way the request transform reads them.
int first_present_key(const path_match& m, const body_members& body) {
    if (body.read.st != object_read::status::ok) return -1;
    int best = -1;
    for (const json_member& member : body.members) {
        for (std::size_t i = 0; i < m.candidates.size(); ++i) {
            const auto& want = m.candidates[i]->body_has;
            if (!want.empty() && want == member.key && (best < 0 || static_cast<int>(i) < best))
                best = static_cast<int>(i);
        }
    }
    return best;
}

}  // namespace

path_match match_route(const rule_set& rules, std::string_view method,
                       std::string_view normalized_path) {
    path_match m;
    match_route(rules, method, normalized_path, m);
    return m;
}

void match_route(const rule_set& rules, std::string_view method, std::string_view normalized_path,
                 path_match& m) {
    m.candidates.clear();
    m.params.clear();
    for (const rule& r : rules.rules) {
        if (r.method != method || !segments_match(r, normalized_path)) continue;
        const int cmp = m.candidates.empty() ? -1 : compare_shape(r, *m.candidates.front());
        if (cmp < 0) m.candidates.clear();
        if (cmp <= 0) m.candidates.push_back(&r);
    }
    for (const rule* r : m.candidates) {
        segment_cursor cur(normalized_path);
        std::string_view seg;
        for (const path_segment& s : r->segments) {
            cur.next(seg);
            if (!s.is_param) continue;
            bool known = false;
            for (const auto& p : m.params) known = known || p.first == s.text;
            if (!known) m.params.emplace_back(s.text, percent_decode(seg));
        }
    }
}

body_choice select_by_body(const path_match& match, std::string_view body, json_context& ctx) {
    if (match.candidates.empty()) return {};
    // Read whether or not a candidate looks at the body: the transform needs the members anyway.
    body_choice choice{nullptr, read_members(body, ctx)};
    bool wants_body = false;
    for (const rule* r : match.candidates) wants_body = wants_body || !r->body_has.empty();
    if (wants_body) {
        if (const int i = first_present_key(match, choice.body); i >= 0) {
            choice.picked = match.candidates[static_cast<std::size_t>(i)];
            return choice;
        }
    }
    for (const rule* r : match.candidates) {
        if (r->body_has.empty()) {
            choice.picked = r;
            return choice;
        }
    }
    choice.picked = match.candidates.front();
    return choice;
}

}  // namespace shimgate
