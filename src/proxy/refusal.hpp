#pragma once
// A refusal is the shim's own "no": the HTTP status to answer with and a message that names
// what is wrong (and which field). It is rendered in the route's error style by proxy/errors.
#include <string>
#include <utility>
#include <variant>

namespace shimgate {

struct refusal {
    unsigned status = 400;
    std::string message;
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
