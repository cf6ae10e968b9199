#pragma once
// Beast's HTTP/1 parser (framing, chunked decoding, limits: all of basic_parser) writing the head
// into a flat request_head / response_head owned by the caller, which keeps its storage from
// message to message, and the body into a caller-lent buffer (like http::buffer_body). Replaces
// http::parser<_, buffer_body>, whose basic_fields allocates and sorts one node per field.
// A whole head is split by head_fields::split_fields and only a digest of it goes through Beast
// (put_head). No I/O: http::read / async_read_some drive it like any basic_parser.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <type_traits>

#include "proxy/head.hpp"

namespace shimgate {

template <bool isRequest>
class flat_parser : public boost::beast::http::basic_parser<isRequest> {
  public:
    using head_type = std::conditional_t<isRequest, request_head, response_head>;
    using error_code = boost::beast::error_code;

    // `head` is cleared and filled as the head is parsed; it must outlive the parser's use.
    explicit flat_parser(head_type& head) : head_(head) { head_.clear(); }

    // Parses a whole head (`bytes` ends with its empty line) from a copy the head keeps, so its
    // fields are views into that copy rather than copies each. The fields are split and checked
    // by head_fields::split_fields; Beast's parser is then given a digest of the head: the start
    // line and only the fields it frames the message by (decides_framing). It decides the framing
    // and persistence exactly as from the whole head, without the cost of every other field
    // passing through it (about 600 instructions each). The bytes used, or 0 and `ec`.
    std::size_t put_head(std::string_view bytes, error_code& ec) {
        const std::string_view kept = head_.adopt(bytes);
        const std::size_t start_line = kept.find("\r\n");
        if (start_line == std::string_view::npos ||
            !head_.split_fields(kept.substr(start_line + 2))) {
            ec = boost::beast::http::error::bad_field;
            return 0;
        }
        // "Connection: keep-alive" changes nothing for HTTP/1.1 (Beast's keep_alive() reads it
        // for HTTP/1.0 only), and it is in nearly every answer: it is left out of the digest then.
        const std::string_view line = kept.substr(0, start_line);
        const bool http11 = isRequest ? line.ends_with(" HTTP/1.1") : line.starts_with("HTTP/1.1 ");
        const std::string_view digest = head_.append_digest(
            start_line + 2, [http11](boost::beast::http::field id, std::string_view value) {
                return decides_framing(id) &&
                       !(http11 && is_connection(id) && iequals_ascii(value, "keep-alive"));
            });
        digest_ = true;
        const std::size_t used =
            this->put(boost::asio::const_buffer(digest.data(), digest.size()), ec);
        digest_ = false;
        if (ec) return 0;
        if (used != digest.size() || !this->is_header_done()) {
            ec = boost::beast::http::error::partial_message;
            return 0;
        }
        return bytes.size();
    }

    // The same, every field going through Beast's parser: the reference put_head is tested
    // against.
    std::size_t put_whole_head(std::string_view bytes, error_code& ec) {
        const std::string_view kept = head_.adopt(bytes);
        return this->put(boost::asio::const_buffer(kept.data(), kept.size()), ec);
    }

    static bool is_connection(boost::beast::http::field id) noexcept {
        using boost::beast::http::field;
        return id == field::connection || id == field::proxy_connection;
    }
    // The fields basic_parser::do_field acts on: the rest only pass through it.
    static bool decides_framing(boost::beast::http::field id) noexcept {
        using boost::beast::http::field;
        return id == field::content_length || id == field::transfer_encoding || is_connection(id) ||
               id == field::upgrade;
    }

    head_type& get() noexcept { return head_; }
    const head_type& get() const noexcept { return head_; }

    // Where the next body bytes go (at most `size`); after a read, body_left() says how much of
    // it is still free. With no buffer lent, a read stops with http::error::need_buffer.
    void lend_body_buffer(char* data, std::size_t size) noexcept {
        body_data_ = data;
        body_size_ = size;
    }
    std::size_t body_left() const noexcept { return body_size_; }

  private:
    using string_view = boost::beast::string_view;

    void on_request_impl(boost::beast::http::verb method, string_view method_str,
                         string_view target, int version, error_code&) override {
        if constexpr (isRequest) {
            head_.set_request_line(method, {method_str.data(), method_str.size()},
                                   {target.data(), target.size()}, static_cast<unsigned>(version));
        }
    }
    void on_response_impl(int code, string_view reason, int version, error_code&) override {
        if constexpr (!isRequest) {
            head_.set_status_line(static_cast<unsigned>(code), {reason.data(), reason.size()},
                                  static_cast<unsigned>(version));
        }
    }
    void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                       error_code&) override {
        if (digest_) return;  // split_fields has added the head's fields already
        head_.add(name, {name_string.data(), name_string.size()}, {value.data(), value.size()});
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(string_view body, error_code& ec) override {
        return copy_body(body, ec);
    }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
        return copy_body(body, ec);
    }
    void on_finish_impl(error_code&) override {}

    // As buffer_body's reader: copy what fits, need_buffer if something is left over.
    std::size_t copy_body(string_view body, error_code& ec) {
        if (!body_data_) {
            ec = boost::beast::http::error::need_buffer;
            return 0;
        }
        std::size_t n = std::min(body.size(), body_size_);
        if (n) std::memcpy(body_data_, body.data(), n);
        body_data_ += n;
        body_size_ -= n;
        if (n != body.size()) ec = boost::beast::http::error::need_buffer;
        return n;
    }

    head_type& head_;
    bool digest_ = false;  // parsing a digest (put_head): its fields are not added
    char* body_data_ = nullptr;
    std::size_t body_size_ = 0;
};

using request_flat_parser = flat_parser<true>;
using response_flat_parser = flat_parser<false>;

}  // namespace shimgate
