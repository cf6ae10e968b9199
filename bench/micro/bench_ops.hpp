#pragma once
// One operation of a micro-benchmark, shared by the Google Benchmark cases and the --drive mode
// (fixed iteration count, for callgrind). Each returns a byte count so the work is not optimised
// away.
#include <string>
#include <string_view>

#include "bench_cases.hpp"
#include "json/json_context.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/response_rewrite.hpp"
#include "simdjson_floor.hpp"

namespace shimgate::bench {

// transform, rewrite: the stages into buffers reused between calls (the overloads taking an
// upstream_call / client_answer); *_returning: the overloads returning a fresh value (three and
// two allocations); route_transform: select_by_body, then transform (what a session does).
enum class op {
    transform,
    transform_returning,
    route_transform,
    rewrite,
    rewrite_returning,
    simdjson_parse_request,
    simdjson_parse_answer
};

// The enumerator's name: "transform", ...
bool op_from_name(std::string_view name, op& out);
std::string_view op_name(op o);

// State reused between runs of one op, as a worker reuses its json_context and buffers.
struct op_state {
    json_context ctx;
    simdjson_floor floor;
    upstream_call call;    // reused by transform
    client_answer answer;  // reused by rewrite
    std::string body;      // the input, padded in place by the first run
};

void prepare(op o, const bench_case& c, op_state& s);
std::size_t run_once(op o, const bench_case& c, op_state& s);

}  // namespace shimgate::bench
