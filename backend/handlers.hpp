// Request handling of the reference backend: plain functions from a parsed request to a reply.
// No I/O happens here; server.cpp reads the request and writes the reply.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

namespace shimgate::backend {

namespace http = boost::beast::http;

using request_head = http::request_header<>;

// Bodies of the JSON endpoints above this are refused with 413. The test helpers have no limit.
inline constexpr std::uint64_t json_body_limit = std::uint64_t{64} * 1024 * 1024;

// The StateSet user profile fields, in the documented order ("id" first).
inline constexpr std::array<std::string_view, 18> user_field_names = {
    "id",           "active",    "avatar",   "bio",       "birthday",   "country",
    "email",        "firstName", "lastName", "last_seen", "last_typed", "location",
    "organization", "phone",     "regions",  "title",     "twitter",    "username"};

struct customer_record {
    std::string id_json;  // the customer_id as its raw JSON string token (last one received)
    std::string token;    // cust_tok_<hex>
    std::optional<std::string> name_json;
    std::optional<std::string> mapping_json;
    std::optional<std::string> properties_json;
    bool is_demo_group = false;
};

struct user_record {
    // Raw JSON text of each stored field, indexed like user_field_names (index 0 unused).
    std::array<std::optional<std::string>, user_field_names.size()> fields;
};

// Everything the handlers share: accepted tokens (immutable), the store (mutex) and counters.
class state {
  public:
    explicit state(std::vector<std::string> tokens);

    [[nodiscard]] bool token_accepted(std::string_view token) const noexcept;

    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> requests{0};

    std::mutex mutex;  // guards customers and users
    std::unordered_map<std::string, customer_record> customers;
    std::unordered_map<std::string, user_record> users;

  private:
    std::vector<std::string> tokens_;
};

// How the session must read a request's body before calling handle().
enum class body_mode {
    count,    // stream it through a scratch buffer, only count the bytes
    collect,  // keep it in memory (JSON endpoints), at most json_body_limit bytes
};

[[nodiscard]] body_mode body_mode_for(const request_head& head) noexcept;

struct reply {
    enum class kind {
        message,  // status + body (Content-Length)
        stream,   // stream_bytes bytes of 'x', Content-Length or chunked
        abort,    // a head announcing 100000 bytes, 10 bytes of body, then the socket is closed
    };
    kind what = kind::message;
    unsigned status = 200;
    std::string body;
    std::string_view content_type = "application/json";
    std::vector<std::pair<http::field, std::string_view>> headers;  // extra header fields
    bool close = false;              // answer with Connection: close and close afterwards
    std::uint64_t delay_ms = 0;      // wait this long before answering
    std::uint64_t stream_bytes = 0;  // kind::stream
    bool chunked = false;            // kind::stream
};

// The answer to one request. `body` holds the body for body_mode::collect (its capacity may be
// grown for the JSON parser's padding); body_bytes is the body's length in either mode.
[[nodiscard]] reply handle(const request_head& head, std::string& body, std::uint64_t body_bytes,
                           state& st);

// Answers for requests that never reach handle().
[[nodiscard]] reply error_reply(unsigned status, std::string_view message);

// Appends s as a JSON string literal (quotes included). Bytes that are not valid UTF-8 are written
// as \u00XX so the result is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace shimgate::backend
