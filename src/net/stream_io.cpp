#include "net/stream_io.hpp"

namespace shimgate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

net::awaitable<beast::error_code> read_and_parse(flex_stream& s, client_buffer& b,
                                                 request_flat_parser& p, chunked_scan* scan) {
    for (;;) {
        const std::size_t size = beast::read_size(b, 65536);
        if (size == 0) co_return http::error::buffer_overflow;
        client_buffer::mutable_buffers_type space;
        try {
            space = b.prepare(size);
        } catch (const std::length_error&) {
            co_return http::error::buffer_overflow;
        }
        beast::error_code ec;
        std::size_t n = s.read_now(space, ec);
        if (ec == net::error::would_block)
            std::tie(ec, n) = co_await s.async_read_some(space, use_tuple);
        b.commit(n);
        if (scan && n) {
            const std::string_view all = as_view(b.data());
            if (scan->feed(all.substr(all.size() - n)) == chunked_scan::verdict::bad)
                co_return http::error::bad_chunk;
        }
        if (ec == net::error::eof) {
            if (!p.got_some()) co_return http::error::end_of_stream;
            beast::error_code end;
            p.put_eof(end);
            co_return end;
        }
        if (ec) co_return ec;
        if (auto parsed = parse_buffered(b, p); parsed != http::error::need_more) co_return parsed;
    }
}

}  // namespace shimgate
