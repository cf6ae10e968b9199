#!/usr/bin/env bash
# CI's hardening stages, run by .ci/run after scripts/test.sh (and usable on their own):
#   1. asan-ubsan: every unit and integration test under AddressSanitizer + UBSan (build-asan/)
#   2. tsan:       the integration tests (shimgate --threads 2, a multi-threaded backend) under
#                  ThreadSanitizer (build-tsan/)
#   3. fuzz:       every libFuzzer target for FUZZ_SECONDS (default 60) from its corpus, after
#                  replaying its regressions, two at a time (build-fuzz/)
# Each fails on any test failure, sanitizer report or fuzzer finding; all three always run, and
# the script fails if any did. Prints the wall time of each stage.
#
#   scripts/ci-hardening.sh                 # all stages
#   scripts/ci-hardening.sh tsan fuzz       # some stages
#   FUZZ_SECONDS=30 scripts/ci-hardening.sh fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan-ubsan tsan fuzz)
for s in "${stages[@]}"; do
    case $s in
        asan-ubsan | tsan | fuzz) ;;
        *) echo "ci-hardening.sh: unknown stage $s (asan-ubsan|tsan|fuzz)" >&2; exit 2 ;;
    esac
done

# Everything up front (one apt-get update at most): the build and test packages, and clang with
# its libFuzzer runtime for the fuzz targets.
install_packages "${build_packages[@]}" "${test_packages[@]}" "${fuzz_packages[@]}"

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
