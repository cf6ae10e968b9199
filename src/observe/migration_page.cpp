// /migration from the client ledger: the status and call windows of a client, the routes and
// their clients in the order to chase them, and the JSON form. The HTML page is in
// migration_page_html.cpp.
#include "observe/migration_page.hpp"

#include <algorithm>

#include "common/rfc3339.hpp"
#include "json/json_writer.hpp"
#include "observe/migration_page_parts.hpp"

namespace shimgate {

namespace detail = migration_page_detail;

namespace migration_page_detail {

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) noexcept {
    return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string utc_rfc3339(std::int64_t unix_seconds) {
    return format_rfc3339_utc(std::chrono::sys_seconds{std::chrono::seconds{unix_seconds}});
}

namespace {

// "1 day", "3 days".
std::string count_of(std::int64_t n, const char* unit) {
    std::string s = std::to_string(n) + " " + unit;
    if (n != 1) s.push_back('s');
    return s;
}

// The two largest units of a positive span: "203 days 4 hours", "5 hours 12 minutes",
// "7 minutes" (a zero second unit is left out); "" below a minute.
std::string span_text(std::int64_t seconds) {
    const std::int64_t days = seconds / 86400, hours = seconds % 86400 / 3600,
                       minutes = seconds % 3600 / 60;
    std::string s;
    if (days > 0) {
        s = count_of(days, "day");
        if (hours > 0) s += " " + count_of(hours, "hour");
    } else if (hours > 0) {
        s = count_of(hours, "hour");
        if (minutes > 0) s += " " + count_of(minutes, "minute");
    } else if (minutes > 0) {
        s = count_of(minutes, "minute");
    }
    return s;
}

// The largest unit only: "3 days", "5 hours", "12 minutes"; "" below a minute.
std::string coarse_span_text(std::int64_t seconds) {
    if (seconds >= 86400) return count_of(seconds / 86400, "day");
    if (seconds >= 3600) return count_of(seconds / 3600, "hour");
    if (seconds >= 60) return count_of(seconds / 60, "minute");
    return {};
}

}  // namespace

std::string sunset_countdown(const deprecation_rule* d, std::chrono::system_clock::time_point now) {
    if (d == nullptr || !d->enabled) return "no schedule";
    if (!d->sunset_unix) return "no sunset set";
    const std::int64_t left = *d->sunset_unix - unix_seconds(now);
    if (left > 0) {
        const std::string span = span_text(left);
        return span.empty() ? "less than a minute left" : span + " left";
    }
    const std::string ago = coarse_span_text(-left);
    return ago.empty() ? "sunset passed just now" : "sunset passed " + ago + " ago";
}

std::vector<route_view> build_routes(const migration_input& in) {
    std::vector<route_view> routes;
    static const ledger_data no_ledger;
    const ledger_data& ledger = in.ledger ? *in.ledger : no_ledger;
    auto add_clients = [&](route_view& route) {
        for (auto it = ledger.clients.lower_bound(client_id{*route.rule_name, 0});
             it != ledger.clients.end() && it->first.rule == *route.rule_name; ++it) {
            client_view c;
            c.fingerprint = it->first.fingerprint;
            c.record = &it->second;
            if (in.names) {
                auto name = in.names->find(c.fingerprint);
                if (name != in.names->end()) c.name = &name->second;
            }
            c.status = status_of(it->second, in.now);
            c.calls_1d = calls_in_last(it->second, 1, in.now);
            c.calls_7d = calls_in_last(it->second, 7, in.now);
            c.calls_30d = calls_in_last(it->second, 30, in.now);
            route.clients.push_back(c);
        }
        std::sort(route.clients.begin(), route.clients.end(),
                  [](const client_view& a, const client_view& b) {
                      if (a.status != b.status) return a.status < b.status;  // enum order
                      if (a.calls_7d.total() != b.calls_7d.total())
                          return a.calls_7d.total() > b.calls_7d.total();
                      return a.fingerprint < b.fingerprint;
                  });
    };
    auto loaded_rule = [&](const std::string& name) -> const rule* {
        if (!in.rules) return nullptr;
        for (const rule& r : in.rules->rules)
            if (r.name == name) return &r;
        return nullptr;
    };

    if (in.rules) {
        for (const rule& r : in.rules->rules) {
            if (!r.deprecation.enabled) continue;
            route_view route;
            route.rule_name = &r.name;
            route.deprecated = &r;
            route.loaded = true;
            add_clients(route);
            routes.push_back(std::move(route));
        }
    }
    // The ledger's other rules: one route per name (the map is ordered by rule, then client).
    for (auto it = ledger.clients.begin(); it != ledger.clients.end();) {
        const std::string& name = it->first.rule;
        const rule* loaded = loaded_rule(name);
        if (loaded == nullptr || !loaded->deprecation.enabled) {
            route_view route;
            route.rule_name = &name;
            route.loaded = loaded != nullptr;
            add_clients(route);
            routes.push_back(std::move(route));
        }
        while (it != ledger.clients.end() && it->first.rule == name) ++it;
    }
    return routes;
}

}  // namespace migration_page_detail

namespace {

using detail::utc_rfc3339;

void append_counts(json_object_writer& w, std::string& out, const char* key,
                   const outcome_counts& c) {
    w.key(key);
    json_object_writer counts(out);
    counts.key("ok");
    out += std::to_string(c.ok);
    counts.key("gone");
    out += std::to_string(c.gone);
    counts.key("error");
    out += std::to_string(c.error);
    counts.close();
}

// An instant, or null when it is 0 ("none").
void append_instant(json_object_writer& w, std::string& out, const char* key, std::int64_t t) {
    w.key(key);
    if (t == 0)
        out += "null";
    else
        w.string_value(utc_rfc3339(t));
}

}  // namespace

std::string_view to_string(client_status s) noexcept {
    switch (s) {
        case client_status::active:
            return "active";
        case client_status::quiet:
            return "quiet";
        case client_status::migrated:
            break;
    }
    return "migrated";
}

client_status status_of(const client_record& r,
                        std::chrono::system_clock::time_point now) noexcept {
    // Instants are whole seconds: a successor call in the same second as the last deprecated call
    // is taken as the later one (a deprecated call in any later second makes the client active).
    if (r.last_successor != 0 && r.last_successor >= r.last_seen) return client_status::migrated;
    const utc_day first_recent = day_of(detail::unix_seconds(now)) - 6;
    if (r.last_seen != 0 && day_of(r.last_seen) >= first_recent) return client_status::active;
    // Days after the last one held for the rule may be counted in a delta not yet merged into
    // last_seen: any call on a recent day counts.
    for (auto it = r.days.lower_bound(first_recent); it != r.days.end(); ++it)
        if (it->second.total() != 0) return client_status::active;
    return client_status::quiet;
}

outcome_counts calls_in_last(const client_record& r, int days,
                             std::chrono::system_clock::time_point now) noexcept {
    outcome_counts sum;
    if (days <= 0) return sum;
    const utc_day today = day_of(detail::unix_seconds(now));
    for (auto it = r.days.lower_bound(today - (days - 1)); it != r.days.end() && it->first <= today;
         ++it)
        sum.add(it->second);
    return sum;
}

std::string render_migration_json(const migration_input& in) {
    std::string out;
    json_object_writer top(out);
    append_instant(top, out, "ledger_since", in.ledger_since);
    top.key("ledger");
    top.string_value(in.ledger_source);
    top.key("routes");
    out.push_back('[');
    bool first_route = true;
    for (const auto& route : detail::build_routes(in)) {
        if (!first_route) out.push_back(',');
        first_route = false;
        json_object_writer r(out);
        r.key("rule");
        r.string_value(*route.rule_name);
        const deprecation_rule* d = route.deprecated ? &route.deprecated->deprecation : nullptr;
        append_instant(r, out, "sunset", d && d->sunset_unix ? *d->sunset_unix : 0);
        r.key("successor");
        if (d && !d->successor.empty())
            r.string_value(d->successor);
        else
            out += "null";
        r.key("clients");
        out.push_back('[');
        bool first_client = true;
        for (const auto& c : route.clients) {
            if (!first_client) out.push_back(',');
            first_client = false;
            json_object_writer w(out);
            w.key("fingerprint");
            w.string_value(fingerprint_hex(c.fingerprint));
            w.key("name");
            if (c.name)
                w.string_value(*c.name);
            else
                out += "null";
            append_instant(w, out, "first_seen", c.record->first_seen);
            append_instant(w, out, "last_seen", c.record->last_seen);
            append_instant(w, out, "last_successor", c.record->last_successor);
            append_counts(w, out, "calls_1d", c.calls_1d);
            append_counts(w, out, "calls_7d", c.calls_7d);
            append_counts(w, out, "calls_30d", c.calls_30d);
            w.key("status");
            w.string_value(to_string(c.status));
            w.close();
        }
        out.push_back(']');
        r.close();
    }
    out.push_back(']');
    top.close();
    return out;
}

}  // namespace shimgate
