#pragma once
// One client connection, read top to bottom as Beast's do_session: the lifecycle (TLS handshake,
// the wait for each request, the close), reading each request head, dispatching it, and the two
// flows: pass-through (the request and its answer stream through, re-framed) and translate (the
// body is read whole, checked and rewritten, and the upstream's answer rewritten). Requests on a
// connection are handled one after another, so pipelined requests are answered in order.
// What the flows decide is in pure functions (proxy/: framing, route, auth, the transforms, the
// answer heads); the upstream side is net/upstream_exchange, the I/O steps net/stream_io, and the
// counting observe/request_accounting.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "net/flex_stream.hpp"
#include "net/request_scratch.hpp"
#include "net/stream_io.hpp"
#include "net/tls.hpp"
#include "net/upstream_exchange.hpp"
#include "net/worker.hpp"
#include "observe/request_accounting.hpp"
#include "proxy/exchange_error.hpp"
#include "proxy/forward_headers.hpp"
#include "proxy/refusal.hpp"
#include "proxy/route.hpp"

namespace shimgate {

class client_session {
  public:
    // `tls` non-null: the connection is HTTPS, with that context (kept alive by the session).
    client_session(worker& w, boost::asio::ip::tcp::socket socket, tls_context_ptr tls);
    ~client_session();
    client_session(const client_session&) = delete;
    client_session& operator=(const client_session&) = delete;

    // Serves the connection to its end. `self` is this session, allocated by the accept loop and
    // owned by the coroutine: no second frame holds the session (what an idle keep-alive
    // connection costs, docs/architecture.md).
    boost::asio::awaitable<void> run(std::unique_ptr<client_session> self);

    // Drain: a connection waiting for its next request is closed now; a busy one closes after
    // its current answer.
    void close_if_idle();

  private:
    enum class next { keep_alive, close };

    // Lifecycle and dispatch.
    boost::asio::awaitable<bool> read_head();
    boost::asio::awaitable<next> handle_request();
    boost::asio::awaitable<void> linger_close();
    boost::asio::awaitable<void> tls_close();

    // The two flows.
    boost::asio::awaitable<next> pass_through(std::string_view target);
    boost::asio::awaitable<next> relay_answer(bool head_request);
    boost::asio::awaitable<next> translate(const rule_set& rules, std::string_view query);
    std::optional<refusal> transform_body(std::string_view token, std::string_view query,
                                          std::chrono::system_clock::time_point arrival);
    std::optional<refusal> gone_for_all(const path_match& match,
                                        std::chrono::system_clock::time_point arrival);
    void write_translated_head(const rule_set& rules, const upstream_call& call);

    // The client's side.
    boost::asio::awaitable<exchange_error> read_whole_body(std::string& out);
    // Starts the check of a chunked body (rs().chunks) on what is buffered already; true: bad.
    bool buffered_chunks_bad();
    // A request whose client went away (499) or whose body came too late for an answer (408 on
    // pass-through): counted and logged as such, nothing written, the connection closed.
    next unanswered(exchange_error e);
    boost::asio::awaitable<bool> send_continue_if_expected();
    // The shim's own answer. Arguments are views: GCC 12 double-destroys temporaries with
    // destructors inside co_await expressions, so none are created there. Nor is a co_await the
    // operand of `!` (`if (!co_await f())`): GCC 12 then laid send_answer's frame out 8 bytes off
    // what coroutine_handle::from_promise assumes, and resumed it with garbage (a crash on every
    // refusal); the result goes into a named local first.
    boost::asio::awaitable<next> send_answer(unsigned status, std::string_view content_type,
                                             std::string_view body, const rule* route,
                                             bool keep_alive, std::string_view challenge = {});
    void write_answer_head(unsigned status, std::string_view content_type, std::size_t body_size,
                           const rule* route, bool keep_alive, std::string_view challenge);
    boost::asio::awaitable<next> refuse(const rule* route, error_style style, unsigned status,
                                        std::string_view message, refusal_reason reason,
                                        bool keep_alive);
    boost::asio::awaitable<next> refuse(const rule* route, error_style style, const refusal& why,
                                        bool keep_alive);
    boost::asio::awaitable<next> refuse(const rule* route, error_style style, exchange_error e,
                                        bool keep_alive);
    boost::asio::awaitable<bool> write_client(std::string_view a, std::string_view b = {},
                                              std::string_view c = {}, std::string_view d = {});

    void add_server_timing_field();  // --server-timing: into the answer head in rs().out
    // The request's answer is decided (rq().status set), before any of it is written: the client
    // ledger notes the call now, so the client's next call, wherever it lands, finds it noted.
    void answer_decided(unsigned status);
    bool client_keep_alive() const;
    bool body_pending() const;
    bool body_over_limit() const;  // a Content-Length over --max-body
    // A translated body's declared length taken from --max-buffered-bytes; false: no room.
    bool hold_declared_body();
    // The target with --upstream's path prefix (built in the scratch when there is one).
    std::string_view upstream_target(std::string_view target);
    forward_info forwarding();
    char* relay_buffer();  // the worker's relay block lent to this request (taken on first use)
    void return_relay() noexcept;
    request_scratch& rs() {
        if (!rs_) [[unlikely]]
            take_scratch();
        return *rs_;
    }
    void take_scratch();  // out of line, so that rs() inlines at its many uses
    void return_scratch() noexcept;
    // What is known about the request in flight, for accounting: in the scratch, so an idle
    // connection holds neither it nor the rule set it pins.
    request_facts& rq() { return rs().facts; }

    worker& w_;
    tls_context_ptr tls_;
    flex_stream stream_;
    // Receive buffer: a block of the worker's read pool while bytes are held, none while idle.
    client_buffer buffer_;
    std::string peer_ip_;
    bool peer_trusted_ = false;  // peer_ip_ is in --trusted-proxies (looked up once)
    // The request in flight's heads, bodies and built strings: lent by the worker (rs() takes it on
    // first use), given back once the request is counted, so an idle connection holds none.
    std::unique_ptr<request_scratch> rs_;
    // The parser of the request being read, in the scratch (rs()); null before the first.
    request_flat_parser* parser_ = nullptr;
    upstream_exchange upstream_;
    char* relay_ = nullptr;  // lent by w_.relays for the request in flight, returned after it
    bool idle_ = true;
    bool close_after_ = false;  // set when the connection must end after this answer
    bool aborted_ = false;      // an answer was cut short: end with a reset, not a clean close
};

}  // namespace shimgate
