# Shared by scripts/*.sh and .ci/run: install what the build needs from Debian bookworm packages
# (only when something is missing), then configure and build with a preset.

build_packages=(g++ cmake ninja-build libboost1.81-dev libboost-program-options1.81-dev
                libsimdjson-dev libssl-dev libpq-dev libsqlite3-dev libgtest-dev libbenchmark-dev
                curl openssl)
# Real peers the tests talk to: the Prometheus text parser, a browser for the /migration page and
# a throwaway PostgreSQL cluster for the ledger's store (tests/integration/pg_cluster.hpp);
# for deploy/ (tests/deploy/): the YAML parser for the Kubernetes manifests, systemd-analyze
# (verify, security) for the unit, logrotate for the rotation snippet.
test_packages=(python3-prometheus-client chromium python3-yaml systemd logrotate postgresql)
# The libFuzzer targets (scripts/fuzz.sh): clang and its fuzzer/sanitizer runtimes.
fuzz_packages=(clang-14 libclang-rt-14-dev)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== installing ${missing[*]}"
        as_root apt-get update -q
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

# build PRESET: configure (Ninja) and build everything into the preset's directory.
build() {
    echo "== building ($1)"
    cmake --preset "$1" -G Ninja >/dev/null
    cmake --build --preset "$1" -j "$(nproc)"
}
