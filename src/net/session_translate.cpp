// client_session's translate flow: a dialect route's call checked on its head (credential,
// Content-Type, size), its body read whole and rewritten into the canonical call, the upstream's
// answer read whole and rewritten into the envelope the client's documentation promises.
#include <array>
#include <boost/beast/http/field.hpp>

#include "net/session.hpp"
#include "proxy/answer_head.hpp"
#include "proxy/auth.hpp"
#include "proxy/errors.hpp"
#include "proxy/forward_headers.hpp"
#include "proxy/lifecycle.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/response_rewrite.hpp"
#include "proxy/route.hpp"

namespace shimgate {

namespace net = boost::asio;
namespace http = boost::beast::http;

namespace {
constexpr std::size_t max_upstream_answer = 16 * 1024 * 1024;  // translated answers are read whole
}  // namespace

// A coroutine frame over Asio's recycling limit (about 1 KiB) is malloc'ed and freed on every
// call, so what needs no suspension (the upstream head) is built outside this frame, by
// write_translated_head.
net::awaitable<client_session::next> client_session::translate(const rule_set& rules,
                                                               std::string_view query) {
    auto& req = parser_->get();
    const path_match& match = rs().match;
    const rule* first = match.candidates.front();
    // Header-level checks first (credential, Content-Type, declared size): a refused request is
    // answered without reading its body.
    rq().route = first;
    auto token = authenticate(*first, req, rules.credential_headers);
    if (!token) co_return co_await refuse(first, first->errors, token.error(), !body_pending());
    // A deprecated route in a brownout or past its sunset is answered 410 on the head: nothing of
    // the body is needed (when every rule of the path says so; else once the body picked one).
    rq().credential = token.value();  // for the client ledger, once answered
    const auto arrival = std::chrono::system_clock::now();
    std::optional<refusal> why = gone_for_all(match, arrival);
    if (why) {
        rq().lifecycle_gone = true;
        co_return co_await refuse(first, first->errors, *why, !body_pending());
    }
    why = check_content_type(req);
    if (!why) why = check_content_encoding(req);
    if (why) co_return co_await refuse(first, first->errors, *why, !body_pending());
    if (body_over_limit()) {
        why = body_limit_refusal(w_.cfg.max_body);
        co_return co_await refuse(first, first->errors, *why, false);
    }
    // The body will be held whole: its share of --max-buffered-bytes is taken now, before the
    // 100 Continue, or it is a 503 and nothing is read or forwarded.
    if (!hold_declared_body())
        co_return co_await refuse(first, first->errors, exchange_error::buffers_full, false);
    const bool continued = co_await send_continue_if_expected();
    if (!continued) co_return next::close;
    const exchange_error read = co_await read_whole_body(rs().body);
    if (read == exchange_error::body_too_large) {
        why = body_limit_refusal(w_.cfg.max_body);
        co_return co_await refuse(first, first->errors, *why, false);
    }
    if (read == exchange_error::client_gone) co_return unanswered(read);
    if (read != exchange_error::none) co_return co_await refuse(first, first->errors, read, false);
    why = transform_body(token.value(), query, arrival);
    const rule* r = rq().route;
    if (why) co_return co_await refuse(r, r->errors, *why, client_keep_alive());

    const upstream_call& call = rs().call;
    write_translated_head(rules, call);
    const exchange_error sent =
        co_await upstream_.send(rs().out, call.body, r->upstream_idempotent);
    if (sent != exchange_error::none)
        co_return co_await refuse(r, r->errors, sent, client_keep_alive());
    // One deadline for the whole answer: a rewritten answer is read whole, so a trickle of bytes
    // must not stretch it.
    const auto deadline = std::chrono::steady_clock::now() + w_.cfg.upstream_timeout;
    exchange_error e = co_await upstream_.read_head(rs(), false, deadline);
    if (e == exchange_error::none) {
        // The answer is read as JSON text: an encoded one cannot be rewritten.
        auto enc = upstream_.answer()[http::field::content_encoding];
        if (!enc.empty() && !iequals_ascii(enc, "identity")) {
            e = exchange_error::upstream_malformed;
        } else {
            e = co_await upstream_.read_body(rs().upstream_body, max_upstream_answer, deadline,
                                             &rs().buffered);
        }
    }
    if (e != exchange_error::none) {
        upstream_.abandon();
        co_return co_await refuse(r, r->errors, e, client_keep_alive());
    }
    const unsigned upstream_status = upstream_.answer().result_int();
    rq().upstream_status = upstream_status;
    rq().upstream_time = upstream_.elapsed();
    upstream_.finish();
    client_answer& a = rs().answer;  // reused, like rs().call
    rewrite_response(*r, upstream_status, rs().upstream_body, w_.json, a);
    if (a.status == 502) w_.metrics.count_refusal(refusal_reason::upstream_error);
    // Every 401 carries a challenge: the upstream's, or the shim's own (into rs().challenge).
    if (a.status == 401) relayed_challenge(*r, upstream_.answer(), rs().challenge);
    const std::string_view challenge = a.status == 401 ? std::string_view(rs().challenge) : "";
    co_return co_await send_answer(a.status, a.content_type, a.body, r, client_keep_alive(),
                                   challenge);
}

// The rule picked by the body's shape (into rq().route) and the canonical call built from the body
// (into rs().call), or the refusal. The body's members are handed from one to the other here,
// outside the coroutine frame of translate.
std::optional<refusal> client_session::transform_body(
    std::string_view token, std::string_view query, std::chrono::system_clock::time_point arrival) {
    const path_match& match = rs().match;
    const body_choice choice = select_by_body(match, rs().body, w_.json);
    rq().route = choice.picked;
    if (const lifecycle_state s = lifecycle_at(choice.picked->deprecation, arrival);
        s.phase != route_phase::open) {
        rq().lifecycle_gone = true;
        return gone_refusal(choice.picked->deprecation, s);
    }
    return transform_request(*choice.picked, match.params, token, query, choice.body, w_.json,
                             rs().call);  // reused: no allocation per request once grown
}

// The 410 of a path every rule of which is in a brownout or past its sunset at `arrival`.
std::optional<refusal> client_session::gone_for_all(const path_match& match,
                                                    std::chrono::system_clock::time_point arrival) {
    std::optional<refusal> gone;
    for (const rule* r : match.candidates) {
        const lifecycle_state s = lifecycle_at(r->deprecation, arrival);
        if (s.phase == route_phase::open) return std::nullopt;
        if (!gone) gone = gone_refusal(r->deprecation, s);
    }
    return gone;
}

// The upstream head of a translated call, into rs().out.
void client_session::write_translated_head(const rule_set& rules, const upstream_call& call) {
    // The body is new: what described the client's body goes; so does every credential header any
    // dialect knows, so exactly one credential (the canonical one) reaches the upstream.
    std::array<std::string_view, 6> fixed_drop{"content-type",     "accept-encoding",
                                               "content-encoding", "content-digest",
                                               "digest",           "content-md5"};
    std::vector<std::string_view>& drop = rs().drop;  // reused: no allocation per request
    drop.assign(fixed_drop.begin(), fixed_drop.end());
    drop.insert(drop.end(), rules.credential_headers.begin(), rules.credential_headers.end());
    drop.push_back(request_id_field);
    std::array<header_pair, 4> add{header_pair{call.auth_header, call.auth_value},
                                   header_pair{"Content-Type", "application/json"},
                                   header_pair{"Accept-Encoding", "identity"},
                                   header_pair{request_id_field, rq().request_id}};
    rs().out.clear();
    write_upstream_head(rs().out, call.method, upstream_target(call.target), parser_->get(),
                        forwarding(), {body_framing::length, call.body.size()}, drop, add);
}

bool client_session::hold_declared_body() {
    const auto len = parser_->content_length();
    return !len || rs().buffered.grow(*w_.budget, *len);
}

}  // namespace shimgate
