#include "observe/migration.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "common/rfc3339.hpp"
#include "json/json_writer.hpp"

namespace shimgate {

namespace {

constexpr std::string_view fingerprint_domain = "shimgate-credential-v1:";
constexpr std::string_view overflow_fingerprint = "other";

// Fetched once: an explicit fetch keeps OpenSSL 3 from looking the algorithm up on every call.
const EVP_MD* sha256() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return md;
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::chrono::sys_seconds as_time(std::int64_t unix_seconds) {
    return std::chrono::sys_seconds{std::chrono::seconds{unix_seconds}};
}

std::chrono::sys_days day_of(std::int64_t unix_seconds) {
    return std::chrono::floor<std::chrono::days>(as_time(unix_seconds));
}

struct client_row {
    const std::string* fingerprint;
    const client_usage* usage;
};

struct route_group {
    const std::string* rule;
    std::uint64_t calls = 0;
    std::vector<client_row> clients;  // by calls descending, then fingerprint
};

std::vector<route_group> group_by_route(const migration_snapshot& s) {
    std::vector<route_group> routes;
    for (const auto& [key, usage] : s.clients) {
        if (routes.empty() || *routes.back().rule != key.first)
            routes.push_back({&key.first, 0, {}});
        routes.back().calls += usage.calls;
        routes.back().clients.push_back({&key.second, &usage});
    }
    for (auto& r : routes) {
        std::stable_sort(r.clients.begin(), r.clients.end(),
                         [](const client_row& a, const client_row& b) {
                             return a.usage->calls > b.usage->calls;
                         });
    }
    return routes;
}

void append_uint(std::string& out, std::uint64_t v) {
    out += std::to_string(v);
}

void append_html(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(c);
        }
    }
}

// "2026-11-23 10:15:07" (UTC), for the page.
std::string utc_readable(std::int64_t t) {
    std::string s = format_rfc3339_utc(as_time(t));
    s[10] = ' ';
    s.pop_back();  // 'Z'
    return s;
}

constexpr std::string_view page_head = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shimgate: deprecated route usage</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:0 0 .2em}
h2{font-size:1.15em;margin:1.8em 0 .5em}
h2 small{font-weight:normal;color:#666}
p.meta{color:#555;margin:.2em 0 1.2em;max-width:60em}
p.summary{font-size:1.05em}
table{border-collapse:collapse;margin-bottom:.5em}
th,td{border:1px solid #d8d8d8;padding:.3em .55em;text-align:right;white-space:nowrap}
th{background:#f3f3f3;font-weight:600}
th.day{font-weight:normal;font-size:.8em;padding:.3em .3em}
td.n,td.z{padding:.3em .35em;font-size:.9em}
td.fp,th.fp{text-align:left;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
td.total{font-weight:600}
td.z{color:#c4c4c4}
td.n{background:#ffe9c7}
.empty{padding:1em 1.2em;background:#eaf6ea;border:1px solid #c4e2c4;border-radius:4px;max-width:40em}
</style>
</head>
<body>
<h1>Deprecated route usage</h1>
)";

}  // namespace

std::string credential_fingerprint(std::string_view token) {
    std::string input;
    input.reserve(fingerprint_domain.size() + token.size());
    input.append(fingerprint_domain).append(token);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    const EVP_MD* md = sha256();
    if (md == nullptr ||
        EVP_Digest(input.data(), input.size(), digest, &length, md, nullptr) != 1 || length < 8) {
        return std::string(16, '0');  // no SHA-256 in this OpenSSL: never the token itself
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(16, '0');
    for (std::size_t i = 0; i < 8; ++i) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    return out;
}

void client_usage::add(const client_usage& other) {
    if (other.calls == 0) return;
    if (calls == 0) {
        first_seen = other.first_seen;
        last_seen = other.last_seen;
    } else {
        first_seen = std::min(first_seen, other.first_seen);
        last_seen = std::max(last_seen, other.last_seen);
    }
    calls += other.calls;
    for (const auto& [day, n] : other.calls_per_day) calls_per_day[day] += n;
}

void migration_snapshot::add(const migration_snapshot& other) {
    for (const auto& [key, usage] : other.clients) clients[key].add(usage);
}

void migration_tracker::record(std::string_view rule, std::string_view token,
                               std::chrono::system_clock::time_point now) {
    const std::int64_t t = unix_seconds(now);
    client_usage* u = recent_.usage;
    if (u == nullptr || recent_.rule != rule || recent_.token != token) {
        std::pair<std::string, std::string> key{std::string(rule), credential_fingerprint(token)};
        auto it = data_.clients.find(key);
        if (it == data_.clients.end()) {
            if (data_.clients.size() >= max_clients) {
                key.second = overflow_fingerprint;
                it = data_.clients.find(key);
            }
            if (it == data_.clients.end())
                it = data_.clients.emplace(std::move(key), client_usage{}).first;
        }
        u = &it->second;  // map nodes never move, and clients are never erased
        recent_.rule.assign(rule);
        recent_.token.assign(token);
        recent_.usage = u;
        recent_.day_calls = nullptr;
    }
    if (u->calls == 0) {
        u->first_seen = u->last_seen = t;
    } else {
        u->first_seen = std::min(u->first_seen, t);
        u->last_seen = std::max(u->last_seen, t);
    }
    ++u->calls;
    if (recent_.day_calls != nullptr && t >= recent_.day_begin && t < recent_.day_end) {
        ++*recent_.day_calls;
        return;
    }
    auto day = u->calls_per_day.try_emplace(format_rfc3339_date(day_of(t)), 0).first;
    ++day->second;
    // Only the newest day is remembered: it is never the one erased below.
    const bool newest = std::next(day) == u->calls_per_day.end();
    while (u->calls_per_day.size() > max_days) u->calls_per_day.erase(u->calls_per_day.begin());
    recent_.day_calls = newest ? &day->second : nullptr;
    const std::chrono::sys_days day_start = day_of(t);
    recent_.day_begin = std::chrono::sys_seconds{day_start}.time_since_epoch().count();
    recent_.day_end =
        std::chrono::sys_seconds{day_start + std::chrono::days{1}}.time_since_epoch().count();
}

std::string render_migration_json(const migration_snapshot& s) {
    std::string out;
    out += "{\"routes\":[";
    bool first_route = true;
    for (const auto& route : group_by_route(s)) {
        if (!first_route) out.push_back(',');
        first_route = false;
        json_object_writer r(out);
        r.key("rule");
        r.string_value(*route.rule);
        r.key("clients");
        out.push_back('[');
        bool first_client = true;
        for (const auto& c : route.clients) {
            if (!first_client) out.push_back(',');
            first_client = false;
            json_object_writer w(out);
            w.key("fingerprint");
            w.string_value(*c.fingerprint);
            w.key("calls");
            append_uint(out, c.usage->calls);
            w.key("first_seen");
            w.string_value(format_rfc3339_utc(as_time(c.usage->first_seen)));
            w.key("last_seen");
            w.string_value(format_rfc3339_utc(as_time(c.usage->last_seen)));
            w.key("calls_per_day");
            json_object_writer days(out);
            for (const auto& [day, n] : c.usage->calls_per_day) {
                days.key(day);
                append_uint(out, n);
            }
            days.close();
            w.close();
        }
        out.push_back(']');
        r.close();
    }
    out += "]}";
    return out;
}

std::string render_migration_html(const migration_snapshot& s,
                                  std::chrono::system_clock::time_point now) {
    const std::int64_t now_s = unix_seconds(now);
    // The window: html_days UTC dates ending with today, oldest first.
    std::vector<std::string> window;
    const std::chrono::sys_days today = day_of(now_s);
    for (int i = html_days - 1; i >= 0; --i)
        window.push_back(format_rfc3339_date(today - std::chrono::days{i}));

    const auto routes = group_by_route(s);
    std::size_t client_count = 0;
    std::uint64_t call_count = 0;
    for (const auto& r : routes) client_count += r.clients.size(), call_count += r.calls;

    std::string out(page_head);
    out += "<p class=\"meta\">Generated ";
    append_html(out, utc_readable(now_s));
    out +=
        " UTC by shimgate. Counts since the process started. A client is named by a fingerprint of "
        "its credential (the first 16 hex digits of a SHA-256), never by the credential itself. "
        "Days are UTC.</p>\n";

    if (routes.empty()) {
        out +=
            "<p class=\"empty\">No client has called a deprecated route since start.</p>\n"
            "</body>\n</html>\n";
        return out;
    }

    out += "<p class=\"summary\"><strong>";
    append_uint(out, client_count);
    out += client_count == 1 ? " client" : " clients";
    out += "</strong> still call <strong>";
    append_uint(out, routes.size());
    out += routes.size() == 1 ? " deprecated route" : " deprecated routes";
    out += "</strong> (";
    append_uint(out, call_count);
    out += call_count == 1 ? " call" : " calls";
    out += ").</p>\n";

    for (const auto& route : routes) {
        out += "<section>\n<h2>";
        append_html(out, *route.rule);
        out += " <small>&mdash; ";
        append_uint(out, route.clients.size());
        out += route.clients.size() == 1 ? " client, " : " clients, ";
        append_uint(out, route.calls);
        out += route.calls == 1 ? " call" : " calls";
        out +=
            "</small></h2>\n<table>\n<thead><tr><th class=\"fp\">Client</th><th>Calls</th>"
            "<th>First seen (UTC)</th><th>Last seen (UTC)</th><th class=\"day\" title=\"before ";
        append_html(out, window.front());
        out += "\">earlier</th>";
        for (const auto& day : window) {
            out += "<th class=\"day\" title=\"";
            append_html(out, day);
            out += "\">";
            append_html(out, std::string_view(day).substr(5));  // "11-23"
            out += "</th>";
        }
        out += "</tr></thead>\n<tbody>\n";
        for (const auto& c : route.clients) {
            out += "<tr><td class=\"fp\">";
            append_html(out, *c.fingerprint);
            out += "</td><td class=\"total\">";
            append_uint(out, c.usage->calls);
            out += "</td><td>";
            append_html(out, utc_readable(c.usage->first_seen));
            out += "</td><td>";
            append_html(out, utc_readable(c.usage->last_seen));
            out += "</td>";
            std::uint64_t in_window = 0;
            std::string cells;
            for (const auto& day : window) {
                auto it = c.usage->calls_per_day.find(day);
                const std::uint64_t n = it == c.usage->calls_per_day.end() ? 0 : it->second;
                in_window += n;
                if (n == 0) {
                    cells += "<td class=\"z\">&middot;</td>";
                } else {
                    cells += "<td class=\"n\">";
                    append_uint(cells, n);
                    cells += "</td>";
                }
            }
            // Calls before the window (or pruned days): what the total has beyond the columns.
            const std::uint64_t earlier =
                c.usage->calls > in_window ? c.usage->calls - in_window : 0;
            if (earlier == 0) {
                out += "<td class=\"z\">&middot;</td>";
            } else {
                out += "<td>";
                append_uint(out, earlier);
                out += "</td>";
            }
            out += cells;
            out += "</tr>\n";
        }
        out += "</tbody>\n</table>\n</section>\n";
    }
    out += "</body>\n</html>\n";
    return out;
}

}  // namespace shimgate
