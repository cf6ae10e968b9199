#include "ledger/ledger_store.hpp"

namespace shimgate {

store_opening open_ledger_store(const std::string& url) {
    if (url == "none") return {};
    constexpr std::string_view sqlite = "sqlite:";
    if (url.starts_with(sqlite)) {
        const std::string path = url.substr(sqlite.size());
        if (path.empty()) return {nullptr, "--ledger sqlite: needs a file path (sqlite:PATH)"};
        return open_sqlite_store(path);
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://"))
        return open_postgres_store(url);
    return {nullptr, "--ledger must be none, sqlite:PATH or postgresql://...: got \"" +
                         ledger_source(url) + "\""};
}

std::string ledger_source(const std::string& url) {
    if (url == "none") return "none (in memory)";
    // scheme://user:password@host...: the password goes.
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    const auto authority = scheme + 3;
    const auto at = url.find('@', authority);
    const auto slash = url.find('/', authority);
    if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
    const auto colon = url.find(':', authority);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace shimgate
