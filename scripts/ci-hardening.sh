#!/usr/bin/env bash
# CI's hardening stages, run by .ci/run after scripts/test.sh (and usable on their own):
#   1. asan-ubsan: every unit and integration test under AddressSanitizer + UBSan (build-asan/)
#   2. tsan:       the integration tests (shimgate --threads 2, a multi-threaded backend) under
#                  ThreadSanitizer (build-tsan/)
#   3. fuzz:       every libFuzzer target for FUZZ_SECONDS (default 60) from its corpus, after
#                  replaying its regressions, two at a time (build-fuzz/)
#   4. plain-asio: every unit and integration test against the plain path of timed_socket (public
#                  Asio only, SHIMGATE_ASIO_PRIVATE=OFF) on Asio's select reactor
#                  (-DBOOST_ASIO_DISABLE_EPOLL), plain x86-64 (SHIMGATE_SSSE3=OFF: the scalar
#                  field-name scan), Release, warnings as errors (build-plain/): the build that
#                  must keep working when the private epoll access is switched off or a Boost
#                  upgrade trips its static_assert
# Each fails on any test failure, sanitizer report or fuzzer finding; all stages always run, and
# the script fails if any did. Prints the wall time of each stage.
#
#   scripts/ci-hardening.sh                 # all stages
#   scripts/ci-hardening.sh tsan fuzz       # some stages
#   FUZZ_SECONDS=30 scripts/ci-hardening.sh fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan-ubsan tsan fuzz plain-asio)
for s in "${stages[@]}"; do
    case $s in
        asan-ubsan | tsan | fuzz | plain-asio) ;;
        *) echo "ci-hardening.sh: unknown stage $s (asan-ubsan|tsan|fuzz|plain-asio)" >&2; exit 2 ;;
    esac
done

# Everything up front (one apt-get update at most): the build and test packages, and clang with
# its libFuzzer runtime for the fuzz targets.
install_packages "${build_packages[@]}" "${test_packages[@]}" "${fuzz_packages[@]}"

# The plain-asio stage: the library, shimgate and both test binaries on the select reactor with
# the private access off; the integration tests' reference backend is the Release one (build/, a
# fixture, built here if missing). Select takes descriptors below FD_SETSIZE (1024) only; no test
# holds that many at once.
plain_asio() {  # (errexit is off in a function called from a || list: every step is checked)
    local backend=build/customer-api
    if [ ! -x "$backend" ]; then
        echo "== building the Release reference backend (build/customer-api)"
        cmake --preset release -G Ninja >/dev/null || return
        cmake --build --preset release -j "$(nproc)" --target customer-api || return
    fi
    echo "== building (plain-asio) into build-plain/"
    cmake --preset plain-asio -G Ninja -DSHIMGATE_BACKEND_BIN="$(pwd)/$backend" >/dev/null || return
    cmake --build --preset plain-asio -j "$(nproc)" \
        --target shimgate shimgate_unit_tests shimgate_integration_tests || return
    echo "== testing (plain-asio)"
    ctest --test-dir build-plain --output-on-failure --no-tests=error --timeout 300 -j "$(nproc)"
}

# Lines for stages that ran before (.ci/run passes the release stage's), shown in the table.
summary=()
[ -n "${CI_EARLIER_STAGES:-}" ] && summary+=("$CI_EARLIER_STAGES")
failed=0
t_all=$(date +%s)
for s in "${stages[@]}"; do
    echo
    echo "=================== stage $s"
    t0=$(date +%s)
    rc=0
    case $s in
        asan-ubsan) bash scripts/sanitize.sh asan-ubsan all || rc=$? ;;
        tsan) bash scripts/sanitize.sh tsan integration || rc=$? ;;
        fuzz) FUZZ_JOBS=${FUZZ_JOBS:-2} bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}" || rc=$? ;;
        plain-asio) plain_asio || rc=$? ;;
    esac
    result=ok
    [ $rc -eq 0 ] || { result="FAILED (exit $rc)"; failed=1; }
    summary+=("$(printf '%-12s %5d s  %s' "$s" $(($(date +%s) - t0)) "$result")")
done

echo
echo "=================== hardening stages (wall time)"
printf '%s\n' "${summary[@]}"
echo "hardening    $(printf '%5d' $(($(date +%s) - t_all))) s"
exit $failed
