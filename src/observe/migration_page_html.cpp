// /migration as a page for a person: self-contained (inline CSS, no scripts, no external
// resources), readable at 1200px, every status in colour and in words.
#include <string>
#include <string_view>

#include "observe/migration_page.hpp"
#include "observe/migration_page_parts.hpp"
#include "proxy/lifecycle.hpp"

namespace shimgate {

namespace {

namespace detail = migration_page_detail;

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

// "2026-11-23 10:15 UTC" for the page ("2026-11-23 10:15" in a table whose heading says UTC);
// "never" for 0.
std::string readable(std::int64_t t, bool seconds = false, bool zone = true) {
    if (t == 0) return "never";
    std::string s = detail::utc_rfc3339(t);
    s[10] = ' ';
    s.resize(seconds ? 19 : 16);
    return zone ? s + " UTC" : s;
}

constexpr std::string_view page_head = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shimgate: deprecated route migration</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em 2em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:0 0 .2em}
h2{font-size:1.2em;margin:1.6em 0 .3em}
h2 small{font-weight:normal;color:#555;font-size:.8em}
p.meta{color:#444;margin:.2em 0 .8em;max-width:75em}
p.summary{font-size:1.05em;margin:.6em 0 1em}
code,.fp{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}
.problem{padding:.7em 1em;background:#fff4e5;border:2px solid #d9822b;border-radius:4px;color:#5c3200;max-width:75em}
.note{padding:.7em 1em;background:#f4f5f7;border:1px solid #d5d8dd;border-radius:4px;color:#333;max-width:75em}
section{border-top:1px solid #e2e2e2;margin-top:1.2em}
ul.schedule{list-style:none;padding:0;margin:.3em 0 .4em}
ul.schedule li{display:inline-block;margin:0 .5em .35em 0;padding:.2em .6em;border:1px solid #d5d8dd;border-radius:4px;background:#fafafa}
ul.schedule li.running{border-color:#c0392b;background:#fdecea;font-weight:600}
ul.schedule li.past{color:#666}
.when{font-size:.85em;color:#555}
li.running .when{color:#a12d22}
p.countdown{margin:.2em 0 .7em;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.3em 0 .6em}
th,td{border:1px solid #d8d8d8;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3;font-weight:600}
td.num{text-align:right;white-space:nowrap}
td.time{white-space:nowrap}
td.zero{color:#aaa;text-align:right}
.split{display:block;font-size:.8em;color:#666;white-space:normal}
.unnamed{color:#777;font-style:italic}
.status{display:inline-block;min-width:5.5em;text-align:center;padding:.1em .5em;border-radius:3px;font-weight:600;font-size:.9em}
.status.active{background:#c0392b;color:#fff}
.status.quiet{background:#f1c40f;color:#3d3100}
.status.migrated{background:#2e8b57;color:#fff}
</style>
</head>
<body>
<h1>Deprecated route migration</h1>
)";

void append_uint(std::string& out, std::uint64_t n) {
    out += std::to_string(n);
}

// A calls cell: the total, and by outcome when any call did not end 2xx.
void append_calls(std::string& out, const outcome_counts& c) {
    if (c.total() == 0) {
        out += "<td class=\"zero\">0</td>";
        return;
    }
    out += "<td class=\"num\"><strong>";
    append_uint(out, c.total());
    out += "</strong>";
    if (c.gone != 0 || c.error != 0) {
        out += "<span class=\"split\">";
        append_uint(out, c.ok);
        out += " ok &middot; ";
        append_uint(out, c.gone);
        out += " gone &middot; ";
        append_uint(out, c.error);
        out += " error</span>";
    }
    out += "</td>";
}

void append_schedule(std::string& out, const rule& r, std::chrono::system_clock::time_point now) {
    const deprecation_rule& d = r.deprecation;
    out += "<ul class=\"schedule\">";
    for (const schedule_step& s : schedule_at(d, now)) {
        const std::string_view when = to_string(s.when);
        out += "<li class=\"";
        out += s.when == schedule_when::to_come ? "to-come" : when;
        out += "\">";
        switch (s.kind) {
            case schedule_step_kind::deprecation:
                out += "Deprecated ";
                append_html(out, readable(s.start_unix));
                break;
            case schedule_step_kind::brownout:
                out += "Brownout ";
                append_html(out, readable(s.start_unix));
                out += " &rarr; ";
                append_html(out, readable(s.end_unix));
                break;
            case schedule_step_kind::sunset:
                out += "Sunset ";
                append_html(out, readable(s.start_unix));
                out += d.after_sunset == after_sunset_policy::refuse ? " (then 410)"
                                                                     : " (then still served)";
                break;
        }
        out += " <span class=\"when\">";
        out += s.when == schedule_when::running ? "running now" : when;
        out += "</span></li>";
    }
    out += "</ul>\n";
}

void append_route(std::string& out, const detail::route_view& route, const migration_input& in,
                  const std::string& since) {
    out += "<section>\n<h2>";
    append_html(out, *route.rule_name);
    out += " <small>";
    if (route.deprecated) {
        out += "<code>";
        append_html(out, route.deprecated->method);
        out += " ";
        append_html(out, route.deprecated->path);
        out += "</code>";
        if (!route.deprecated->deprecation.successor.empty()) {
            out += " &rarr; successor <code>";
            append_html(out, route.deprecated->deprecation.successor);
            out += "</code>";
        } else {
            out += " &mdash; no successor set";
        }
    } else if (route.loaded) {
        out += "loaded, no longer deprecated: no schedule";
    } else {
        out += "not in the loaded rules: no schedule";
    }
    out += "</small></h2>\n";
    if (route.deprecated) {
        append_schedule(out, *route.deprecated, in.now);
        out += "<p class=\"countdown\">";
        append_html(out, detail::sunset_countdown(&route.deprecated->deprecation, in.now));
        out += "</p>\n";
    }
    if (route.clients.empty()) {
        out += "<p class=\"note\">No client has called this deprecated route since ";
        append_html(out, since);
        out += " (ledger: <code>";
        append_html(out, in.ledger_source);
        out += "</code>).</p>\n</section>\n";
        return;
    }
    out +=
        "<table>\n<thead><tr><th>Status</th><th>Client</th><th>First seen (UTC)</th>"
        "<th>Last seen (UTC)</th><th>Successor last called (UTC)</th><th>Calls today</th>"
        "<th>7 days</th><th>30 days</th></tr></thead>"
        "\n<tbody>\n";
    for (const auto& c : route.clients) {
        const std::string_view status = to_string(c.status);
        out += "<tr><td><span class=\"status ";
        out += status;
        out += "\">";
        out += status;
        out += "</span></td><td>";
        if (c.name) {
            append_html(out, *c.name);
        } else {
            out += "<span class=\"unnamed\">unnamed</span>";
        }
        out += "<span class=\"split fp\">";
        out += fingerprint_hex(c.fingerprint);
        out += "</span></td><td class=\"time\">";
        append_html(out, readable(c.record->first_seen, false, false));
        out += "</td><td class=\"time\">";
        append_html(out, readable(c.record->last_seen, false, false));
        out += "</td><td class=\"time\">";
        append_html(out, readable(c.record->last_successor, false, false));
        out += "</td>";
        append_calls(out, c.calls_1d);
        append_calls(out, c.calls_7d);
        append_calls(out, c.calls_30d);
        out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n</section>\n";
}

}  // namespace

std::string render_migration_html(const migration_input& in) {
    const auto routes = detail::build_routes(in);
    const std::string since = in.ledger_since == 0 ? "an unknown time" : readable(in.ledger_since);

    std::string out(page_head);
    out += "<p class=\"meta\">Generated ";
    append_html(out, readable(detail::unix_seconds(in.now), true));
    out += " by shimgate. Ledger <code>";
    append_html(out, in.ledger_source);
    out += "</code>, holds data since ";
    append_html(out, since);
    out +=
        ". A client is named by a fingerprint of its credential (16 hex digits of a SHA-256), "
        "never by the credential itself. Days are UTC: today, the last 7 days (today and the six "
        "before), the last 30.</p>\n";
    if (!in.ledger_problem.empty()) {
        out += "<p class=\"problem\" role=\"alert\"><strong>Ledger problem:</strong> ";
        append_html(out, in.ledger_problem);
        out += ". Counts may be incomplete.</p>\n";
    }

    std::size_t counts[3] = {0, 0, 0};
    for (const auto& r : routes)
        for (const auto& c : r.clients) ++counts[static_cast<int>(c.status)];
    if (routes.empty()) {
        out += "<p class=\"note\">No deprecated route is configured.</p>\n";
    } else {
        out += "<p class=\"summary\">";
        append_uint(out, routes.size());
        out += routes.size() == 1 ? " route: " : " routes: ";
        static constexpr client_status order[] = {client_status::active, client_status::quiet,
                                                  client_status::migrated};
        bool first = true;
        for (client_status s : order) {
            if (!first) out += ", ";
            first = false;
            out += "<strong>";
            append_uint(out, counts[static_cast<int>(s)]);
            out += "</strong> ";
            out += to_string(s);
        }
        out += counts[0] + counts[1] + counts[2] == 1 ? " client" : " clients";
        out += ".</p>\n";
    }
    for (const auto& route : routes) append_route(out, route, in, since);
    out += "</body>\n</html>\n";
    return out;
}

}  // namespace shimgate
