#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (fuzzer + ASan + UBSan) into build-fuzz/
# and runs each for SECONDS (default 60) from its seed corpus and its regressions; fails on any
# crash, sanitizer report, invariant violation, leak, timeout or OOM. Installs clang if missing.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      # e.g. scripts/fuzz.sh 30 fuzz_request_head
#
# Targets run in parallel, one per core (FUZZ_JOBS overrides). New inputs found go to the working
# corpus build-fuzz/corpus/<target>/ (kept between runs, merged/minimised at the end, never
# committed); crashing inputs to build-fuzz/artifacts/<target>/. One summary line per target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-60}
[ $# -gt 0 ] && shift
all_targets=(fuzz_request_head fuzz_request_transform fuzz_response_rewrite fuzz_rule_loader fuzz_json_reader)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
jobs=${FUZZ_JOBS:-$(nproc)}
build=$root/build-fuzz

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ------------------------------------------------------------------ toolchain
pick_clang() {
    for c in clang++-14 clang++; do
        command -v "$c" >/dev/null 2>&1 || continue
        # libFuzzer's runtime comes with libclang-rt-14-dev, not with clang itself.
        if echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long){return 0;}' |
            "$c" -x c++ -fsanitize=fuzzer,address,undefined - -o /tmp/shimgate-fuzz-probe.$$ 2>/dev/null; then
            rm -f /tmp/shimgate-fuzz-probe.$$
            echo "$c"
            return 0
        fi
    done
    return 1
}
packages=(clang-14 libclang-rt-14-dev cmake ninja-build libboost1.81-dev libsimdjson-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || ! pick_clang >/dev/null; then
    echo "== installing ${missing[*]:-clang-14 libclang-rt-14-dev}"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends \
        "${missing[@]:-clang-14}" libclang-rt-14-dev
fi
cxx=$(pick_clang) || { echo "fuzz.sh: no clang with libFuzzer (clang-14 + libclang-rt-14-dev)" >&2; exit 2; }

# ------------------------------------------------------------------ build
echo "== building fuzz targets ($cxx) into build-fuzz/"
t0=$(date +%s)
cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
cmake --build "$build" -j "$(nproc)" -- -k 0 >"$build/build.log" 2>&1 || { cat "$build/build.log"; exit 2; }
echo "   built in $(($(date +%s) - t0)) s"

# ------------------------------------------------------------------ run
dict_of() { case $1 in fuzz_request_head) echo tests/fuzz/dict/http.dict ;; *) echo tests/fuzz/dict/json.dict ;; esac; }
max_len_of() { case $1 in fuzz_request_head) echo 20000 ;; *) echo 8192 ;; esac; }

run_target() {
    local t=$1 log=$build/logs/$1.log
    local work=$build/corpus/$t artifacts=$build/artifacts/$t/
    local seeds=tests/fuzz/corpus/$t regressions=tests/fuzz/regressions/$t
    mkdir -p "$work" "$artifacts" "$regressions"
    : >"$log"
    # Every regression input first, exactly as committed: a fixed bug must stay fixed.
    local files=()
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$regressions" -type f ! -name '.*' -print0)
    if [ ${#files[@]} -gt 0 ]; then
        if ! "$build/$t" -artifact_prefix="$artifacts" "${files[@]}" >>"$log" 2>&1; then
            echo "FAIL(regression)" >"$build/logs/$t.status"
            return 0
        fi
    fi
    local rc=0
    "$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len_of "$t")" \
        -dict="$(dict_of "$t")" -artifact_prefix="$artifacts" -print_final_stats=1 \
        "$work" "$seeds" "$regressions" >>"$log" 2>&1 || rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL(rc=$rc)" >"$build/logs/$t.status"
        return 0
    fi
    # Minimise the working corpus (seeds and regressions stay where they are).
    rm -rf "$work.merged" && mkdir -p "$work.merged"
    if "$build/$t" -merge=1 -timeout=10 -max_len="$(max_len_of "$t")" "$work.merged" "$work" \
        >>"$build/logs/$t.merge.log" 2>&1; then
        rm -rf "$work" && mv "$work.merged" "$work"
    else
        rm -rf "$work.merged"
    fi
    echo "ok" >"$build/logs/$t.status"
}

mkdir -p "$build/logs"
echo "== fuzzing ${#targets[@]} target(s) for ${seconds} s each, $jobs at a time"
t0=$(date +%s)
running=0
for t in "${targets[@]}"; do
    [ -x "$build/$t" ] || { echo "fuzz.sh: no target $t" >&2; exit 2; }
    rm -f "$build/logs/$t.status"
    run_target "$t" &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

failed=0
for t in "${targets[@]}"; do
    log=$build/logs/$t.log
    status=$(cat "$build/logs/$t.status" 2>/dev/null || echo "FAIL(no status)")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(ls "$build/corpus/$t" 2>/dev/null | wc -l)
    printf '%-24s %-16s execs=%s exec/s=%s cov=%s ft=%s corpus=%s rss=%sMB\n' "$t" "$status" \
        "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corp" "${rss:-?}"
    if [ "$status" != ok ]; then
        failed=1
        echo "---- $t: last lines of $log" >&2
        grep -E 'INVARIANT|====|ERROR|SUMMARY|runtime error|Test unit written|Running:' "$log" | tail -20 >&2 || true
        tail -30 "$log" >&2
        ls "$build/artifacts/$t" >&2 2>/dev/null || true
    fi
done
echo "== fuzzing took $(($(date +%s) - t0)) s"
if [ $failed -ne 0 ]; then
    echo "fuzz.sh: FAILED; reproduce with build-fuzz/<target> <artifact>; keep the input under tests/fuzz/regressions/<target>/" >&2
    exit 1
fi
