#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs the packages it needs, builds Release
# (warnings are errors when CI=true) and runs every unit and integration test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

install_packages "${build_packages[@]}" "${test_packages[@]}"
preset=release
[ "${CI:-}" = true ] && preset=ci
build "$preset"
echo "== testing"
ctest --test-dir build --output-on-failure --timeout 300 -j 2
