#pragma once
// The --upstream name looked up again every --dns-refresh, on the main thread's io_context (Asio
// resolves in its own background thread): the request path never waits for DNS. Each good answer
// goes to `apply` (which posts it to every worker's pool); a failed or empty lookup keeps the last
// good answer, logged once per outage. Nothing runs for an address literal.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <vector>

#include "config/config.hpp"

namespace shimgate {

using upstream_answer_fn = std::function<void(std::vector<boost::asio::ip::tcp::endpoint>)>;

void start_upstream_refresh(boost::asio::io_context& ioc, const upstream_url& upstream,
                            std::chrono::milliseconds every, upstream_answer_fn apply);

}  // namespace shimgate
