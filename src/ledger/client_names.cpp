#include "ledger/client_names.hpp"

#include <simdjson.h>

#include "ledger/ledger_data.hpp"

namespace shimgate {

client_names_or_error load_client_names(const std::string& path) {
    client_names_or_error r;
    auto fail = [&](const std::string& what) {
        r.names.clear();
        r.error = "--clients " + path + ": " + what;
        return r;
    };
    simdjson::padded_string text;
    if (simdjson::padded_string::load(path).get(text) != simdjson::SUCCESS)
        return fail("cannot read the file");
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto e = parser.parse(text).get(root); e != simdjson::SUCCESS)
        return fail(std::string("not valid JSON: ") + simdjson::error_message(e));
    simdjson::dom::object obj;
    if (root.get(obj) != simdjson::SUCCESS)
        return fail("expected a JSON object of fingerprint: name");
    for (auto [key, value] : obj) {
        auto fp = parse_fingerprint(key);
        if (!fp)
            return fail("\"" + std::string(key) + "\" is not a fingerprint (16 hex characters)");
        std::string_view name;
        if (value.get(name) != simdjson::SUCCESS || name.empty())
            return fail("the name of " + std::string(key) + " must be a non-empty string");
        if (!r.names.emplace(*fp, std::string(name)).second)
            return fail(std::string(key) + " is named twice");
    }
    return r;
}

}  // namespace shimgate
