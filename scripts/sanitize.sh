#!/usr/bin/env bash
# The test suite under a sanitizer (GCC): configures a preset (Ninja), builds only what the chosen
# tests need, runs them with ctest, and fails on any test failure or any sanitizer report,
# including reports from the processes the integration tests start (the sanitizer-built shimgate
# of the same build directory), collected from log files rather than their stderr.
#
#   scripts/sanitize.sh                    # asan-ubsan (build-asan/): every test
#   scripts/sanitize.sh tsan               # tsan (build-tsan/): the integration tests (threads)
#   scripts/sanitize.sh PRESET SCOPE       # SCOPE: all | unit | integration
#   SANITIZE_TESTS=REGEX scripts/sanitize.sh [PRESET]   # only the tests ctest -R REGEX selects
#
# Both presets build the library at -O1 -g1, see CMakePresets.json; the tests at -O0.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/common.sh

preset=${1:-asan-ubsan}
case $preset in
    asan-ubsan) dir=$root/build-asan; scope=${2:-all} ;;
    tsan) dir=$root/build-tsan; scope=${2:-integration} ;;
    *) echo "sanitize.sh: unknown preset $preset (asan-ubsan|tsan)" >&2; exit 2 ;;
esac
case $scope in
    all) targets=(shimgate shimgate_unit_tests shimgate_integration_tests) ;;
    unit) targets=(shimgate_unit_tests) ;;
    integration) targets=(shimgate shimgate_integration_tests) ;;
    *) echo "sanitize.sh: unknown scope $scope (all|unit|integration)" >&2; exit 2 ;;
esac

install_packages "${build_packages[@]}" "${test_packages[@]}"
t0=$(date +%s)
echo "== configuring and building ($preset: ${targets[*]}) into ${dir#"$root"/}/"
# The reference backend the integration tests start is a fixture, not the code under test: the
# Release one (build/, built here if missing) serves them, so no instrumented copy is compiled.
# The test sources are compiled at -O0 (the library keeps the preset's -O1).
backend=$root/build/customer-api
if [ "$scope" != unit ] && [ ! -x "$backend" ]; then
    echo "== building the Release reference backend (build/customer-api)"
    cmake --preset release -G Ninja >/dev/null
    cmake --build --preset release -j "$(nproc)" --target customer-api
fi
cmake --preset "$preset" -G Ninja -DSHIMGATE_BACKEND_BIN="$backend" -DSHIMGATE_TEST_OPTIONS=-O0 >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" --target "${targets[@]}"
echo "   built in $(($(date +%s) - t0)) s"

# The tests of the chosen binaries only (a binary not built would show up as a failing
# <name>_NOT_BUILT test): ctest -R over their gtest suite names.
suites=()
for t in "${targets[@]}"; do
    case $t in *_tests) ;; *) continue ;; esac
    while IFS= read -r s; do suites+=("$s"); done < <("$dir/$t" --gtest_list_tests |
        sed -n 's/^\([A-Za-z0-9_/]*\)\.\( .*\)\{0,1\}$/\1/p')
done
[ ${#suites[@]} -gt 0 ] || { echo "sanitize.sh: no test suites found in ${targets[*]}" >&2; exit 2; }
suites_regex="^($(IFS='|'; echo "${suites[*]}"))\\."
tests_regex=${SANITIZE_TESTS:-$suites_regex}

logs=$dir/sanitizer-logs
rm -rf "$logs" && mkdir -p "$logs"
# Reports go to files (<log_path>.<pid>), so a report from a child process is not lost in a
# harness that does not show the child's stderr. abort_on_error / halt_on_error: the first report
# stops the process with a failing status.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/asan:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="log_path=$logs/lsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$logs/tsan"

echo "== testing ($preset, $scope)"
t1=$(date +%s)
rc=0
ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 600 -j "$(nproc)" \
    -R "$tests_regex" || rc=$?
echo "   tests took $(($(date +%s) - t1)) s"

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
    echo "== sanitizer reports ($(echo "$reports" | wc -l) file(s) in ${logs#"$root"/}/)" >&2
    for f in $reports; do
        echo "---- $f" >&2
        head -60 "$f" >&2
    done
    rc=1
fi
echo "== sanitize.sh ($preset, $scope) took $(($(date +%s) - t0)) s"
[ $rc -eq 0 ] && echo "== no sanitizer report, every test passed"
exit $rc
