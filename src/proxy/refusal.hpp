#pragma once
// A refusal is the shim's own "no": the HTTP status to answer with, a message that names what is
// wrong (and which field), and the reason it is counted under in /metrics, set where the refusal is
// made (never read back from the message). It is rendered in the route's error style by
// proxy/errors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace shimgate {

// Why the shim itself refused or failed a request (the "refusals by reason" family of /metrics).
enum class refusal_reason : std::uint8_t {
    framing,           // smuggling defences, malformed head, bad chunked body (400/405/417/505)
    head_too_large,    // 414, 431
    auth,              // 401, or two credential headers
    content_type,      // 415
    size,              // 413
    bad_json,          // malformed JSON, duplicate key
    type,              // wrong field type, missing required field, id mismatch, unknown field
    upstream_timeout,  // 504
    upstream_error,    // 502: unreachable, reset, malformed, 5xx, TLS verification
    gone,              // 410: a deprecated route in a brownout or past its sunset
    client_abort,      // 499 (logged, never sent): the client went away mid-request
    body_timeout,      // 408: the body did not arrive within --body-timeout
    overloaded,        // 503: --max-buffered-bytes reached
    count_
};
constexpr std::size_t refusal_reason_count = static_cast<std::size_t>(refusal_reason::count_);

// Every field is given where a refusal is made (no defaults: -Wmissing-field-initializers names a
// refusal built without its reason).
struct refusal {
    unsigned status;
    std::string message;
    refusal_reason reason;
};

// A value or a refusal; the data path returns these instead of throwing.
template <class T>
class result {
  public:
    result(T value) : v_(std::move(value)) {}
    result(refusal r) : v_(std::move(r)) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    const refusal& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, refusal> v_;
};

}  // namespace shimgate
