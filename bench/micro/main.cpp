// shimgate_micro_bench: the JSON stages on the seed bodies, next to the floor (a bare simdjson
// On-Demand parse of the same body that reads every value). See bench/micro/README.md.
//
//   shimgate_micro_bench [--benchmark_filter=REGEX] [other --benchmark_* flags]
//   shimgate_micro_bench --drive OP CASE N     # N runs of one op, no timing (for callgrind)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "bench_cases.hpp"
#include "bench_ops.hpp"

namespace shimgate::bench {
namespace {

void run_benchmark(benchmark::State& state, op o, const bench_case* c) {
    op_state s;
    prepare(o, *c, s);
    std::size_t bytes = 0;
    for (auto _ : state) {
        bytes += run_once(o, *c, s);
        benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(bytes);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(s.body.size()));
}

std::string bench_name(op o, const bench_case& c) {
    switch (o) {
        case op::simdjson_parse_request:
            return "simdjson_parse/" + c.name + "_request";
        case op::simdjson_parse_answer:
            return "simdjson_parse/" + c.name + "_answer";
        default:
            return std::string(op_name(o)) + "/" + c.name;
    }
}

void register_all() {
    for (const bench_case& c : cases()) {
        const bool stateset = c.match.candidates.size() > 1;
        for (op o :
             {op::simdjson_parse_request, op::transform, op::transform_returning,
              op::route_transform, op::simdjson_parse_answer, op::rewrite, op::rewrite_returning}) {
            if (o == op::route_transform && !stateset) continue;  // no body-based choice
            benchmark::RegisterBenchmark(bench_name(o, c).c_str(), run_benchmark, o, &c);
        }
    }
}

// The console table, then each stage divided by the bare parse of the same body.
class ratio_reporter : public benchmark::ConsoleReporter {
  public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& r : runs) {
            if (r.error_occurred) continue;
            if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
            ns_[r.run_name.function_name] = r.GetAdjustedCPUTime();
        }
    }
    void Finalize() override {
        ConsoleReporter::Finalize();
        std::printf("\nfloor: simdjson On-Demand, %s kernel\n%-28s %10s %10s %8s\n",
                    simdjson_floor::kernel(), "stage / case", "ns", "floor ns", "ratio");
        for (const bench_case& c : cases()) {
            for (op o : {op::transform, op::transform_returning, op::route_transform, op::rewrite,
                         op::rewrite_returning}) {
                const bool answer = o == op::rewrite || o == op::rewrite_returning;
                const op floor = answer ? op::simdjson_parse_answer : op::simdjson_parse_request;
                const auto t = ns_.find(bench_name(o, c));
                const auto f = ns_.find(bench_name(floor, c));
                if (t == ns_.end() || f == ns_.end() || f->second <= 0) continue;
                std::printf("%-28s %10.1f %10.1f %8.2f\n", t->first.c_str(), t->second, f->second,
                            t->second / f->second);
            }
        }
        std::fflush(stdout);
    }

  private:
    std::map<std::string, double> ns_;
};

int drive(int argc, char** argv) {
    op o{};
    if (argc != 5 || !op_from_name(argv[2], o)) {
        std::fprintf(stderr,
                     "usage: shimgate_micro_bench --drive OP CASE N\n"
                     "  OP: transform transform_returning route_transform rewrite "
                     "rewrite_returning simdjson_parse_request simdjson_parse_answer\n"
                     "  CASE: explo mintlify stateset_group stateset_user\n");
        return 2;
    }
    const bench_case& c = case_named(argv[3]);
    const long n = std::strtol(argv[4], nullptr, 10);
    op_state s;
    prepare(o, c, s);
    std::size_t bytes = 0;
    for (long i = 0; i < n; ++i) bytes += run_once(o, c, s);
    std::printf("%s/%s x%ld: %zu bytes\n", argv[2], argv[3], n, bytes);
    return 0;
}

}  // namespace
}  // namespace shimgate::bench

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--drive")
        return shimgate::bench::drive(argc, argv);
    shimgate::bench::register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    shimgate::bench::ratio_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
