// Loading a rule directory: the *.json files in file-name order, each read by parse_rule
// (rule_reader.cpp), the checks across rules (names, routes that would match the same requests,
// what rules sharing a route must agree on), the order rules are tried in, and the credential
// headers of the set.
#include "config/rule_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/ascii.hpp"
#include "config/rule_reader.hpp"

namespace shimgate {
namespace {

using rule_detail::in_quotes;

// "PUT /v1/users/{}": two rules with the same shape match exactly the same requests.
std::string match_shape(const rule& r) {
    std::string out = r.method + " ";
    for (const auto& s : r.segments) out += "/" + (s.is_param ? std::string("{}") : s.text);
    return out;
}

bool same_credentials(const rule& a, const rule& b) {
    const auto covered = [](const rule& x, const rule& y) {
        for (const auto& sx : x.accept) {
            const auto sy = std::find_if(y.accept.begin(), y.accept.end(), [&](const auto& s) {
                return iequals_ascii(s.header, sx.header);
            });
            if (sy == y.accept.end()) return false;
            for (const auto& scheme : sx.schemes)
                if (std::none_of(sy->schemes.begin(), sy->schemes.end(),
                                 [&](const auto& s) { return iequals_ascii(s, scheme); }))
                    return false;
        }
        return true;
    };
    return covered(a, b) && covered(b, a);
}

bool read_file(const std::filesystem::path& p, std::string& out, std::string& error) {
    constexpr long max_size = 1 << 20;  // rule files are small; anything bigger is a mistake
    std::FILE* f = std::fopen(p.c_str(), "rb");
    if (!f) {
        error = p.string() + ": cannot open: " + std::strerror(errno);
        return false;
    }
    char buf[8192];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        out.append(buf, n);
        if (out.size() > static_cast<std::size_t>(max_size)) break;
    }
    const int read_errno = std::ferror(f) != 0 ? errno : 0;
    std::fclose(f);
    if (read_errno != 0)
        error = p.string() + ": cannot read: " + std::strerror(read_errno);
    else if (out.size() > static_cast<std::size_t>(max_size))
        error = p.string() + ": larger than 1 MiB";
    return error.empty();
}

}  // namespace

rules_or_error load_rules(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    rules_or_error out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        out.error = dir.string() + ": " + (ec ? ec.message() : "not a directory");
        return out;
    }
    std::vector<fs::path> files;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (it->path().extension() == ".json" && it->is_regular_file(type_ec))
            files.push_back(it->path());
    }
    if (ec) {
        out.error = dir.string() + ": cannot list: " + ec.message();
        return out;
    }
    if (files.empty()) {
        out.error = dir.string() + ": no rule files (*.json)";
        return out;
    }
    std::sort(files.begin(), files.end());

    auto set = std::make_shared<rule_set>();
    for (const auto& p : files) {
        std::string text;
        if (!read_file(p, text, out.error)) return out;
        auto parsed = parse_rule(p.string(), text);
        if (!parsed.error.empty()) {
            out.error = std::move(parsed.error);
            return out;
        }
        const rule& r = parsed.value;
        const std::string prefix = r.file + ": rule " + in_quotes(r.name) + ": ";
        for (const rule& other : set->rules) {
            if (other.name == r.name) {
                out.error = prefix + "name already used in " + other.file;
                return out;
            }
            if (match_shape(other) != match_shape(r)) continue;
            if (other.body_has == r.body_has) {
                out.error = prefix + "match: same method, path and body_has as rule " +
                            in_quotes(other.name) + " in " + other.file +
                            " (give one of them a different match.body_has)";
                return out;
            }
            // The credential and the Content-Type are checked before the body is read and picks
            // the rule, so rules sharing a route must agree on them and on how refusals look.
            if (!same_credentials(other, r)) {
                out.error = prefix + "auth.accept: differs from rule " + in_quotes(other.name) +
                            " in " + other.file + ", which shares its method and path";
                return out;
            }
            if (other.errors != r.errors) {
                out.error = prefix + "errors: differs from rule " + in_quotes(other.name) + " in " +
                            other.file + ", which shares its method and path";
                return out;
            }
        }
        set->rules.push_back(std::move(parsed.value));
    }
    // Rules that look at the body are tried before the catch-all of the same route.
    std::stable_partition(set->rules.begin(), set->rules.end(),
                          [](const rule& r) { return !r.body_has.empty(); });
    const auto add_credential = [&](std::string name) {
        lower_ascii(name);
        auto& known = set->credential_headers;
        if (std::find(known.begin(), known.end(), name) == known.end())
            known.push_back(std::move(name));
    };
    for (std::size_t i = 0; i < set->rules.size(); ++i) {
        const rule& r = set->rules[i];
        for (const credential_source& src : r.accept) add_credential(src.header);
        add_credential(r.upstream_auth_header);
        if (r.deprecation.enabled && !r.deprecation.successor.empty())
            set->successors.emplace_back(r.deprecation.successor, i);
    }
    out.rules = std::move(set);
    return out;
}

}  // namespace shimgate
