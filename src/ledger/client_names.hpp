#pragma once
// --clients FILE (contract §6.2): a JSON object mapping a credential fingerprint (16 hex) to a
// human name, {"3f9a0c...": "Acme billing"}, for /migration and the metrics' `client` label.
// Read at start-up and on SIGHUP (with simdjson's DOM, as the rule files are).
#include <cstdint>
#include <map>
#include <string>

namespace shimgate {

using client_names = std::map<std::uint64_t, std::string>;

struct client_names_or_error {
    client_names names;
    std::string error;  // "" or one line naming the file and what is wrong
};
client_names_or_error load_client_names(const std::string& path);

}  // namespace shimgate
