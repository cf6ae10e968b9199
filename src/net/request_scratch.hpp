#pragma once
// What a request in flight needs besides its connection: its head and its answer's head, the
// bodies, the route match and the strings the session builds. Lent by the worker per request and
// given back when the request is counted, so an idle keep-alive connection holds none of it, and
// kept (LIFO: the most recently used, warm, first) so that a busy worker allocates nothing per
// request once they have grown. One pool per worker thread: no lock.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/buffer_budget.hpp"
#include "observe/request_accounting.hpp"
#include "proxy/chunked_scan.hpp"
#include "proxy/errors.hpp"
#include "proxy/head.hpp"
#include "proxy/head_parser.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/route.hpp"

namespace shimgate {

struct request_scratch {
    request_facts facts;          // what is known about the request, for accounting
    request_head head;            // the request's head
    response_head upstream_head;  // the upstream answer's head
    // The parsers writing into them, started per message (an idle connection holds neither).
    std::optional<request_flat_parser> parser;
    std::optional<response_flat_parser> upstream_parser;
    // A chunked request body's framing, checked as its bytes arrive.
    chunked_scan chunks;
    // The translated bodies' share of --max-buffered-bytes (released when the scratch is given
    // back).
    buffer_hold buffered;
    std::string out;                     // every head the session writes
    std::string path;                    // the normalised path
    std::string upstream_target;         // the target with --upstream's prefix
    std::string body;                    // a request body read whole
    std::string upstream_body;           // an upstream answer read whole (translated routes)
    std::string challenge;               // WWW-Authenticate of a 401
    std::vector<std::string_view> drop;  // client fields not forwarded
    path_match match;
    upstream_call call;    // the translated upstream call
    client_answer answer;  // the rewritten answer
};

class scratch_pool {
  public:
    explicit scratch_pool(std::size_t keep) : keep_(keep) { free_.reserve(keep); }

    std::unique_ptr<request_scratch> take() {
        if (free_.empty()) return std::make_unique<request_scratch>();
        auto s = std::move(free_.back());
        free_.pop_back();
        return s;
    }
    void give(std::unique_ptr<request_scratch> s) noexcept {
        if (s && free_.size() < keep_) free_.push_back(std::move(s));
    }

  private:
    std::size_t keep_;
    std::vector<std::unique_ptr<request_scratch>> free_;
};

}  // namespace shimgate
