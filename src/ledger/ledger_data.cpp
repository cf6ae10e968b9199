#include "ledger/ledger_data.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>

namespace shimgate {

namespace {

constexpr std::string_view fingerprint_domain = "shimgate-credential-v1:";

// Fetched once: an explicit fetch keeps OpenSSL 3 from looking the algorithm up on every call.
const EVP_MD* sha256() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return md;
}

// The earliest of two instants where 0 means "none".
std::int64_t earliest(std::int64_t a, std::int64_t b) noexcept {
    if (a == 0) return b;
    if (b == 0) return a;
    return std::min(a, b);
}

}  // namespace

std::string_view to_string(call_outcome o) noexcept {
    switch (o) {
        case call_outcome::ok:
            return "ok";
        case call_outcome::gone:
            return "gone";
        case call_outcome::error:
            break;
    }
    return "error";
}

void outcome_counts::add(call_outcome o) noexcept {
    switch (o) {
        case call_outcome::ok:
            ++ok;
            return;
        case call_outcome::gone:
            ++gone;
            return;
        case call_outcome::error:
            ++error;
            return;
    }
}

void outcome_counts::add(const outcome_counts& other) noexcept {
    ok += other.ok;
    gone += other.gone;
    error += other.error;
}

utc_day day_of(std::int64_t unix_seconds) noexcept {
    using namespace std::chrono;
    return static_cast<utc_day>(
        floor<days>(sys_seconds{seconds{unix_seconds}}).time_since_epoch().count());
}

void client_record::add(const client_record& other) {
    first_seen = earliest(first_seen, other.first_seen);
    last_seen = std::max(last_seen, other.last_seen);
    last_successor = std::max(last_successor, other.last_successor);
    for (const auto& [day, counts] : other.days) days[day].add(counts);
}

void ledger_data::add(const ledger_data& other) {
    for (const auto& [id, record] : other.clients) clients[id].add(record);
}

std::size_t ledger_data::day_rows() const noexcept {
    std::size_t n = 0;
    for (const auto& [id, record] : clients) n += record.days.size();
    return n;
}

std::uint64_t fingerprint_of(std::string_view token) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, sha256(), nullptr);
    EVP_DigestUpdate(ctx, fingerprint_domain.data(), fingerprint_domain.size());
    EVP_DigestUpdate(ctx, token.data(), token.size());
    EVP_DigestFinal_ex(ctx, digest.data(), &size);
    EVP_MD_CTX_free(ctx);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | digest[static_cast<std::size_t>(i)];
    return v;
}

void format_fingerprint(std::uint64_t fingerprint, char (&out)[16]) noexcept {
    static constexpr char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
        out[i] = digits[fingerprint & 0xf];
        fingerprint >>= 4;
    }
}

std::string fingerprint_hex(std::uint64_t fingerprint) {
    char out[16];
    format_fingerprint(fingerprint, out);
    return std::string(out, sizeof out);
}

std::optional<std::uint64_t> parse_fingerprint(std::string_view hex) noexcept {
    if (hex.size() != 16) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : hex) {
        int d = 0;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return std::nullopt;
        v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    return v;
}

}  // namespace shimgate
