#include "ledger/ledger_calls.hpp"

#include <chrono>

#include "common/ascii.hpp"

namespace shimgate {

const rule* successor_route(const rule_set& rules, std::string_view path) noexcept {
    for (const auto& [successor, index] : rules.successors)
        if (successor == path) return &rules.rules[index];
    return nullptr;
}

std::string_view successor_credential(const rule& r, const head_fields& head) noexcept {
    if (head.count(r.upstream_auth_header) != 1) return {};
    std::string_view v = head[r.upstream_auth_header];
    const std::string_view scheme = r.upstream_auth_scheme;
    if (v.size() <= scheme.size() || !iequals_ascii(v.substr(0, scheme.size()), scheme) ||
        v[scheme.size()] != ' ')
        return {};
    v.remove_prefix(scheme.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

namespace {

std::int64_t now_unix() noexcept {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

void note_ledger_call(ledger_recorder& ledger, request_facts& facts, const request_head* head,
                      bool want_client) {
    if (!facts.route) {
        // A pass-through call the upstream answered: the successor of a deprecated route?
        if (!head || facts.upstream_status == 0 || !facts.rules || facts.rules->successors.empty())
            return;
        const std::string_view target = head->target();
        const rule* r = successor_route(*facts.rules, target.substr(0, target.find('?')));
        if (!r) return;
        const std::string_view token = successor_credential(*r, *head);
        if (!token.empty()) ledger.successor_call(r->name, ledger.fingerprint(token), now_unix());
        return;
    }
    if (facts.credential.empty()) return;  // refused before its credential was accepted
    const bool deprecated = facts.route && facts.route->deprecation.enabled;
    if (!deprecated && !want_client) return;
    facts.client = ledger.fingerprint(facts.credential);
    facts.has_client = true;
    if (deprecated) {
        ledger.deprecated_call(
            facts.route->name, facts.client,
            outcome_of(facts.status, facts.upstream_status, facts.lifecycle_gone), now_unix());
    }
}

}  // namespace shimgate
