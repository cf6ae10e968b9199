#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (GCC): configures the
# `asan-ubsan` preset (build-asan/, Ninja), builds, runs ctest, and fails on any test failure or
# any sanitizer report, including reports from the processes the integration tests start
# (shimgate, customer-api), which are collected from log files rather than their stderr.
#
#   scripts/sanitize.sh            # asan-ubsan: every test
#   scripts/sanitize.sh tsan       # tsan preset (build-tsan/), every test
#   SANITIZE_TESTS=REGEX scripts/sanitize.sh [PRESET]   # only the tests ctest -R REGEX selects
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/common.sh

preset=${1:-asan-ubsan}
case $preset in
    asan-ubsan) dir=$root/build-asan; tests_regex=${SANITIZE_TESTS:-} ;;
    tsan) dir=$root/build-tsan; tests_regex=${SANITIZE_TESTS:-} ;;
    *) echo "sanitize.sh: unknown preset $preset (asan-ubsan|tsan)" >&2; exit 2 ;;
esac

install_packages "${build_packages[@]}"
t0=$(date +%s)
echo "== configuring and building ($preset) into ${dir#$root/}/"
cmake --preset "$preset" -G Ninja >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
echo "   built in $(($(date +%s) - t0)) s"

logs=$dir/sanitizer-logs
rm -rf "$logs" && mkdir -p "$logs"
# Reports go to files (<log_path>.<pid>), so a report from a child process is not lost in a
# harness that does not show the child's stderr. abort_on_error / halt_on_error: the first report
# stops the process with a failing status.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/asan:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="log_path=$logs/lsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$logs/tsan"

echo "== testing ($preset)"
t1=$(date +%s)
rc=0
args=(--test-dir "$dir" --output-on-failure --no-tests=error --timeout 600 -j "$(nproc)")
[ -n "$tests_regex" ] && args+=(-R "$tests_regex")
ctest "${args[@]}" || rc=$?
echo "   tests took $(($(date +%s) - t1)) s"

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
    echo "== sanitizer reports ($(echo "$reports" | wc -l) file(s) in ${logs#$root/}/)" >&2
    for f in $reports; do
        echo "---- $f" >&2
        head -60 "$f" >&2
    done
    rc=1
fi
echo "== sanitize.sh ($preset) took $(($(date +%s) - t0)) s"
[ $rc -eq 0 ] && echo "== no sanitizer report, every test passed"
exit $rc
