#pragma once
// Splice helpers over simdjson On-Demand: the raw text of a key or a value as it is in the
// input buffer, checked by check_json_value, ready to be copied byte-for-byte. Shared by the
// request transform and the response rewrite.
#include <simdjson.h>

#include <optional>
#include <span>
#include <string_view>

#include "json/json_context.hpp"
#include "json/json_validate.hpp"

namespace shimgate {

// What went wrong reading one member: a simdjson error (structure) or a validator problem.
struct splice_error {
    simdjson::error_code code = simdjson::SUCCESS;
    std::string_view problem;  // set when code == SUCCESS

    explicit operator bool() const noexcept {
        return code != simdjson::SUCCESS || !problem.empty();
    }
};

// One object member: its key as written (quotes included) and unescaped, and its checked value.
struct spliced_member {
    std::string_view raw_key;                     // "\u0061" stays "\u0061"
    std::string_view key;                         // unescaped (lives in the parser's string buffer)
    json_value_check value;                       // value.text: the raw value, whitespace trimmed
    simdjson::ondemand::value* handle = nullptr;  // for unescaping a scalar string value later
};

// Reads and fully checks the key of `f` (raw and unescaped); the value is left unread.
splice_error read_key(simdjson::ondemand::field& f, spliced_member& m) noexcept;

// Reads and fully checks the raw value of `f` (after read_key). Object and array values are
// consumed (raw_json); scalar values are not, so a string can still be unescaped via `handle`.
splice_error read_value(simdjson::ondemand::field& f, spliced_member& m) noexcept;

// read_key then read_value.
splice_error read_member(simdjson::ondemand::field& f, spliced_member& m) noexcept;

// The unescaped content of a checked string value `m` (no copy when it has no escapes).
simdjson::error_code unescaped_string(spliced_member& m, std::string_view& out) noexcept;

// `text` with its hash (FNV-1a 64; a collision costs a comparison, never correctness).
hashed_key make_hashed_key(std::string_view text) noexcept;

// Sorts `keys` and returns one key present twice, if any. Sorting (by hash, then bytes) keeps the
// worst case O(n log n) whatever keys a client crafts, with no allocation beyond `keys`.
std::optional<std::string_view> find_duplicate(std::span<hashed_key> keys);

// Whether `text` is among `sorted` (as left by find_duplicate).
bool contains_key(std::span<const hashed_key> sorted, std::string_view text) noexcept;

}  // namespace shimgate
