#include "ledger/ledger_recorder.hpp"

#include <algorithm>

namespace shimgate {

call_outcome outcome_of(unsigned sent, unsigned upstream, bool gone) noexcept {
    if (gone) return call_outcome::gone;
    const bool sent_ok = sent >= 200 && sent < 300;
    const bool upstream_ok = upstream >= 200 && upstream < 300;
    return sent_ok && upstream_ok ? call_outcome::ok : call_outcome::error;
}

std::uint64_t ledger_recorder::fingerprint(std::string_view token) {
    if (!have_last_ || token != last_token_) {
        last_token_.assign(token);
        last_fingerprint_ = fingerprint_of(token);
        have_last_ = true;
    }
    return last_fingerprint_;
}

bool known_registry::contains(std::string_view rule, std::uint64_t fingerprint) const {
    std::lock_guard lock(mutex_);
    auto it = known_.find(rule);
    return it != known_.end() && it->second.contains(fingerprint);
}

bool known_registry::add(std::string_view rule, std::uint64_t fingerprint) {
    std::lock_guard lock(mutex_);
    auto it = known_.find(rule);
    if (it == known_.end())
        it = known_.emplace(std::string(rule), std::unordered_set<std::uint64_t>{}).first;
    if (it->second.contains(fingerprint)) return true;
    if (size_ >= max_clients) return false;
    it->second.insert(fingerprint);
    ++size_;
    return true;
}

void known_registry::add_all(const ledger_data& ledger) {
    for (const auto& [id, record] : ledger.clients) add(id.rule, id.fingerprint);
}

ledger_recorder::rule_clients& ledger_recorder::clients_of(std::string_view rule) {
    for (auto& c : rules_)
        if (c.rule == rule) return c;
    rules_.push_back({std::string(rule), {}});
    return rules_.back();
}

void ledger_recorder::deprecated_call(std::string_view rule, std::uint64_t fingerprint,
                                      call_outcome o, std::int64_t now) {
    std::lock_guard lock(mutex_);
    rule_clients& c = clients_of(rule);
    auto it = c.delta.find(fingerprint);
    if (it == c.delta.end()) {
        if (!known_.contains(rule, fingerprint)) {
            // Only a call the upstream accepted makes a client: junk credentials never enter.
            if (o != call_outcome::ok || !known_.add(rule, fingerprint)) return;
        }
        it = c.delta.emplace(fingerprint, client_record{}).first;
    }
    client_record& r = it->second;
    if (r.first_seen == 0 || now < r.first_seen) r.first_seen = now;
    r.last_seen = std::max(r.last_seen, now);
    r.days[day_of(now)].add(o);
}

void ledger_recorder::successor_call(std::string_view rule, std::uint64_t fingerprint,
                                     std::int64_t now) {
    std::lock_guard lock(mutex_);
    rule_clients& c = clients_of(rule);
    auto it = c.delta.find(fingerprint);
    if (it == c.delta.end()) {
        if (!known_.contains(rule, fingerprint)) return;  // only known clients are looked up
        it = c.delta.emplace(fingerprint, client_record{}).first;
    }
    it->second.last_successor = std::max(it->second.last_successor, now);
}

ledger_data ledger_recorder::take() {
    ledger_data out;
    std::lock_guard lock(mutex_);
    for (auto& c : rules_) {
        for (auto& [fp, record] : c.delta)
            out.clients.emplace(client_id{c.rule, fp}, std::move(record));
        c.delta.clear();
    }
    return out;
}

}  // namespace shimgate
