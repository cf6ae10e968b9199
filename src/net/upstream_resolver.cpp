// start_upstream_refresh: the periodic lookup of the --upstream name, off the request path.
#include "net/upstream_resolver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>

#include "observe/log.hpp"

namespace shimgate {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

net::awaitable<void> refresh(std::string host, std::string port, std::chrono::milliseconds every,
                             upstream_answer_fn apply) {
    auto ex = co_await net::this_coro::executor;
    tcp::resolver resolver(ex);
    net::steady_timer timer(ex);
    bool failing = false;
    for (;;) {
        timer.expires_after(every);
        auto [tec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        if (tec) co_return;
        auto [ec, results] =
            co_await resolver.async_resolve(host, port, net::as_tuple(net::use_awaitable));
        std::vector<tcp::endpoint> answer;
        if (!ec)
            for (const auto& r : results) answer.push_back(r.endpoint());
        if (answer.empty()) {
            if (!failing)
                log_error("--upstream: lookup of \"" + host + "\" failed (" +
                          (ec ? ec.message() : std::string("no address")) +
                          "), keeping the last answer");
            failing = true;
            continue;
        }
        if (failing) log_info("--upstream: lookup of \"" + host + "\" works again");
        failing = false;
        apply(std::move(answer));
    }
}

}  // namespace

void start_upstream_refresh(net::io_context& ioc, const upstream_url& upstream,
                            std::chrono::milliseconds every, upstream_answer_fn apply) {
    boost::system::error_code literal;
    net::ip::make_address(upstream.host, literal);
    if (!literal) return;  // an address: nothing to look up
    net::co_spawn(ioc,
                  refresh(upstream.host, std::to_string(upstream.port), every, std::move(apply)),
                  net::detached);
}

}  // namespace shimgate
