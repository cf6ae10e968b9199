// shimgate: flags -> config -> rules -> server.run(). Everything else lives in shimgate_core.
#include <cstdio>
#include <iostream>
#include <string>

#include "config/flags.hpp"
#include "config/rule_loader.hpp"
#include "ledger/client_names.hpp"
#include "ledger/ledger_store.hpp"
#include "net/server.hpp"
#include "net/tls.hpp"
#include "observe/access_log.hpp"
#include "observe/build_info.hpp"
#include "observe/log.hpp"
#include "proxy/lifecycle.hpp"

int main(int argc, char** argv) {
    using namespace shimgate;
    flags_result flags = parse_flags(argc, argv);
    if (!flags.help.empty()) {
        std::cout << flags.help;
        return 0;
    }
    if (flags.version) {
        std::cout << "shimgate " SHIMGATE_VERSION " (revision " << source_revision() << ")\n";
        return 0;
    }
    if (!flags.error.empty()) {
        std::cerr << "shimgate: " << flags.error << "\n";
        return 2;
    }
    config& cfg = flags.cfg;
    set_log_format(cfg.log_format == "json" ? log_format::json : log_format::text);
    rules_or_error rules = load_rules(cfg.rules_dir);
    if (!rules.rules) {
        std::cerr << "shimgate: " << rules.error << "\n";
        return 2;
    }
    if (flags.check_rules_only) {
        std::cout << "shimgate: " << rules.rules->rules.size() << " rules in " << cfg.rules_dir
                  << " are valid\n";
        // The retirement schedule of each deprecated rule, so an operator sees what is coming.
        const auto now = std::chrono::system_clock::now();
        std::string schedules;
        for (const rule& r : rules.rules->rules) schedules += describe_schedule(r, now);
        if (!schedules.empty()) std::cout << "deprecated routes, their schedule:\n" << schedules;
        return 0;
    }
    tls_context_or_error listener_tls, upstream_tls;
    if (!cfg.tls_cert.empty()) listener_tls = make_server_tls_context(cfg.tls_cert, cfg.tls_key);
    if (cfg.upstream.tls) upstream_tls = make_upstream_tls_context(cfg.upstream_ca);
    for (const auto* t : {&listener_tls, &upstream_tls}) {
        if (!t->error.empty()) {
            std::cerr << "shimgate: " << t->error << "\n";
            return 2;
        }
    }
    if (!cfg.upstream_ca.empty() && !cfg.upstream.tls) {
        std::cerr << "shimgate: --upstream-ca: only used with an https:// --upstream\n";
        return 2;
    }
    std::unique_ptr<access_log> access;
    if (!cfg.access_log.empty()) {
        std::string error;
        access = access_log::open(cfg.access_log, error);
        if (!access) {
            std::cerr << "shimgate: " << error << "\n";
            return 2;
        }
    }
    // The client ledger's store and names: a file that cannot be used is a start-up error; a
    // PostgreSQL server that is down is an outage the ledger rides out (ledger_service).
    store_opening ledger = open_ledger_store(cfg.ledger);
    if (!ledger.error.empty()) {
        std::cerr << "shimgate: --ledger: " << ledger.error << "\n";
        return 2;
    }
    client_names_or_error names;
    if (!cfg.clients_file.empty()) {
        names = load_client_names(cfg.clients_file);
        if (!names.error.empty()) {
            std::cerr << "shimgate: " << names.error << "\n";
            return 2;
        }
    }
    log_info("shimgate " SHIMGATE_VERSION " (revision " + std::string(source_revision()) +
             ") starting: " + describe_flags(cfg));
    server s(std::move(cfg), rules.rules, listener_tls.context, upstream_tls.context,
             std::move(access), std::move(ledger.store), std::move(names.names));
    return s.run();
}
