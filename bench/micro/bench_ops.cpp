#include "bench_ops.hpp"

#include <cstdio>
#include <cstdlib>

namespace shimgate::bench {
namespace {

constexpr std::string_view names[] = {
    "transform",         "transform_returning",    "route_transform",      "rewrite",
    "rewrite_returning", "simdjson_parse_request", "simdjson_parse_answer"};

[[noreturn]] void fail(const bench_case& c, op o, std::string_view why) {
    std::fprintf(stderr, "shimgate_micro_bench: %s/%s: %.*s\n", std::string(op_name(o)).c_str(),
                 c.name.c_str(), static_cast<int>(why.size()), why.data());
    std::exit(2);
}

}  // namespace

bool op_from_name(std::string_view name, op& out) {
    for (std::size_t i = 0; i < std::size(names); ++i) {
        if (names[i] == name) {
            out = static_cast<op>(i);
            return true;
        }
    }
    return false;
}

std::string_view op_name(op o) {
    return names[static_cast<std::size_t>(o)];
}

void prepare(op o, const bench_case& c, op_state& s) {
    const bool answer =
        o == op::rewrite || o == op::rewrite_returning || o == op::simdjson_parse_answer;
    s.body = answer ? c.answer : c.request;
    // One run to check the case works and to warm the parser and the padding.
    if (run_once(o, c, s) == 0) fail(c, o, "the operation failed on its seed body");
}

std::size_t run_once(op o, const bench_case& c, op_state& s) {
    switch (o) {
        case op::transform: {
            if (auto why = transform_request(*c.r, c.match.params, "demo-token", "",
                                             read_members(s.body, s.ctx), s.ctx, s.call))
                fail(c, o, why->message);
            return s.call.body.size();
        }
        case op::transform_returning: {
            auto call = transform_request(*c.r, c.match.params, "demo-token", "",
                                          read_members(s.body, s.ctx), s.ctx);
            if (!call) fail(c, o, call.error().message);
            return call->body.size();
        }
        case op::route_transform: {
            const body_choice choice = select_by_body(c.match, s.body, s.ctx);
            if (choice.picked != c.r) fail(c, o, "select_by_body picked another rule");
            if (auto why = transform_request(*choice.picked, c.match.params, "demo-token", "",
                                             choice.body, s.ctx, s.call))
                fail(c, o, why->message);
            return s.call.body.size();
        }
        case op::rewrite: {
            rewrite_response(*c.r, 200, s.body, s.ctx, s.answer);
            if (s.answer.status != 200) fail(c, o, s.answer.body);
            return s.answer.body.size();
        }
        case op::rewrite_returning: {
            const client_answer a = rewrite_response(*c.r, 200, s.body, s.ctx);
            if (a.status != 200) fail(c, o, a.body);
            return a.body.size();
        }
        case op::simdjson_parse_request:
        case op::simdjson_parse_answer:
            return s.floor.parse(s.body);
    }
    return 0;
}

}  // namespace shimgate::bench
