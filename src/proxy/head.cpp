#include "proxy/head.hpp"

namespace shimgate {

namespace http = boost::beast::http;

void head_fields::clear() noexcept {
    text_.clear();
    entries_.clear();
}

std::string_view head_fields::adopt(std::string_view head_bytes) {
    clear();
    text_.assign(head_bytes);
    return text_;
}

head_fields::span head_fields::copy_in(std::string_view s) {
    span out{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(s.size())};
    text_.append(s);
    return out;
}

void head_fields::add(http::field id, std::string_view name, std::string_view value) {
    span n = keep(name);
    span v = keep(value);
    entries_.push_back(entry{id, n.at, n.size, v.at, v.size});
}

void head_fields::add(std::string_view name, std::string_view value) {
    add(http::string_to_field(name), name, value);
}

std::string_view head_fields::operator[](http::field id) const noexcept {
    for (const entry& e : entries_)
        if (e.id == id) return view({e.value_at, e.value_size});
    return {};
}

std::string_view head_fields::operator[](std::string_view name) const noexcept {
    for (const entry& e : entries_)
        if (same_name(view({e.name_at, e.name_size}), name))
            return view({e.value_at, e.value_size});
    return {};
}

std::size_t head_fields::count(http::field id) const noexcept {
    std::size_t n = 0;
    for (const entry& e : entries_) n += e.id == id;
    return n;
}

std::size_t head_fields::count(std::string_view name) const noexcept {
    std::size_t n = 0;
    for (const entry& e : entries_) n += same_name(view({e.name_at, e.name_size}), name);
    return n;
}

void request_head::clear() noexcept {
    head_fields::clear();
    method_ = http::verb::unknown;
    method_string_ = target_ = {};
    version_ = 11;
}

void request_head::set_request_line(http::verb method, std::string_view method_string,
                                    std::string_view target, unsigned version) {
    method_ = method;
    method_string_ = keep(method_string);
    target_ = keep(target);
    version_ = version;
}

void response_head::clear() noexcept {
    head_fields::clear();
    status_ = 0;
    reason_ = {};
    version_ = 11;
}

void response_head::set_status_line(unsigned status, std::string_view reason, unsigned version) {
    status_ = status;
    reason_ = keep(reason);
    version_ = version;
}

}  // namespace shimgate
