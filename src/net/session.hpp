#pragma once
// One client connection: reads requests (strictly framed), routes each to the translation stages or
// to plain pass-through, exchanges it with the upstream over the worker's pool and writes the
// answer. Requests on a connection are handled one after another, so pipelined requests are
// answered in order. All request logic lives in pure functions (proxy/); this class only moves
// bytes.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/rule_set.hpp"
#include "net/block_pool.hpp"
#include "net/flex_stream.hpp"
#include "net/request_scratch.hpp"
#include "net/tls.hpp"
#include "net/worker.hpp"
#include "observe/metrics.hpp"
#include "proxy/errors.hpp"
#include "proxy/forward_headers.hpp"
#include "proxy/head.hpp"
#include "proxy/head_parser.hpp"
#include "proxy/refusal.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/route.hpp"

namespace shimgate {

class client_session {
  public:
    // `tls` non-null: the connection is HTTPS, with that context (kept alive by the session).
    client_session(worker& w, boost::asio::ip::tcp::socket socket, tls_context_ptr tls);
    ~client_session();
    client_session(const client_session&) = delete;
    client_session& operator=(const client_session&) = delete;

    boost::asio::awaitable<void> run();

    // Drain: a connection waiting for its next request is closed now; a busy one closes after
    // its current answer.
    void close_if_idle();

  private:
    enum class next { keep_alive, close };

    boost::asio::awaitable<bool> read_head();
    boost::asio::awaitable<next> handle_request();
    boost::asio::awaitable<next> pass_through(std::string_view target);
    boost::asio::awaitable<next> translate(const rule_set& rules, std::string_view query);
    void write_translated_head(const rule_set& rules, const upstream_call& call);
    void set_body_limit_message();  // into rs().why

    // Reads the rest of the request body into `out` (limit: --max-body). 0 or the refusal status.
    boost::asio::awaitable<unsigned> read_whole_body(std::string& out);
    bool continue_expected() const;  // the client waits for a 100 before it sends its body
    boost::asio::awaitable<bool> send_continue();

    // Upstream exchange. 0 on success, else 502/504 to answer with (nothing was sent to the
    // client).
    boost::asio::awaitable<unsigned> send_upstream(std::string_view head, std::string_view body);
    boost::asio::awaitable<unsigned> stream_request_body(bool chunked);
    using steady_time = std::chrono::steady_clock::time_point;
    boost::asio::awaitable<unsigned> read_upstream_head(bool head_request, steady_time deadline);
    boost::asio::awaitable<unsigned> read_upstream_body(std::string& out, std::size_t limit,
                                                        steady_time deadline);
    boost::asio::awaitable<next> relay_response(bool head_request);
    void finish_upstream();

    boost::asio::awaitable<next> answer(unsigned status, std::string_view content_type,
                                        std::string_view body, const rule* r, bool keep_alive,
                                        std::string_view extra_name = {},
                                        std::string_view extra_value = {});
    void write_answer_head(unsigned status, std::string_view content_type, std::size_t body_size,
                           const rule* r, bool keep_alive, std::string_view extra_name,
                           std::string_view extra_value);
    // The shim's own answer in `style`. Arguments are views: GCC 12 double-destroys temporaries
    // with destructors inside co_await expressions, so none are created there.
    // `reason` count_: derived from the status.
    boost::asio::awaitable<next> refuse(const rule* r, error_style style, unsigned status,
                                        std::string_view message, bool keep_alive,
                                        refusal_reason reason = refusal_reason::count_);
    void choose_request_id(std::string_view incoming);
    void finish_request();
    boost::asio::awaitable<bool> write_client(std::string_view a, std::string_view b = {},
                                              std::string_view c = {}, std::string_view d = {});
    boost::asio::awaitable<void> linger_close();
    boost::asio::awaitable<void> tls_close();
    bool client_keep_alive() const;
    bool body_pending() const;
    bool body_over_limit() const;  // a Content-Length over --max-body
    char* relay_buffer();  // the worker's relay block lent to this request (taken on first use)
    void return_relay() noexcept;
    request_scratch& rs() {
        if (!rs_) rs_ = w_.scratches.take();
        return *rs_;
    }
    void return_scratch() noexcept;

    worker& w_;
    tls_context_ptr tls_;
    flex_stream stream_;
    // Receive buffer: a block of the worker's read pool while bytes are held, none while idle.
    boost::beast::basic_flat_buffer<pooled_allocator<char>> buffer_;
    std::string peer_ip_;
    // The request in flight's heads, bodies and built strings: lent by the worker (rs() takes it on
    // first use), given back once the request is counted, so an idle connection holds none.
    std::unique_ptr<request_scratch> rs_;
    // The parsers of the message being read, in the scratch (rs()); null before the first.
    request_flat_parser* parser_ = nullptr;
    response_flat_parser* up_parser_ = nullptr;
    upstream_connection_ptr up_;
    char* relay_ = nullptr;  // lent by w_.relays for the request in flight, returned after it
    bool idle_ = true;
    bool close_after_ = false;  // set when the connection must end after this answer
    bool aborted_ = false;      // an answer was cut short: end with a reset, not a clean close

    // What is known about the request in flight, for metrics and the access log.
    struct request_state {
        std::chrono::steady_clock::time_point start;  // head complete
        rule_set_ptr rules;       // keeps `r` alive until the request is counted, across reloads
        const rule* r = nullptr;  // translated route, null for pass-through
        unsigned status = 0;      // answered with; 0 = nothing sent yet
        unsigned upstream_status = 0;
        std::uint64_t bytes_in = 0, bytes_out = 0;
        std::chrono::steady_clock::time_point upstream_start;
        std::chrono::nanoseconds upstream_time{0};
        std::string request_id;
    };
    request_state rq_;
};

}  // namespace shimgate
