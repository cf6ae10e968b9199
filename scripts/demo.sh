#!/usr/bin/env bash
# Starts shimgate on 127.0.0.1:8080 with the default rules/ in front of the bundled reference
# backend (build/customer-api on 127.0.0.1:9090), after installing and building what it needs.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

install_packages "${build_packages[@]}"
build release

build/customer-api --listen 127.0.0.1:9090 --token demo-token &
backend_pid=$!
trap 'kill "$backend_pid" 2>/dev/null || true' EXIT
# Wait (bounded) for the backend to accept connections.
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/9090) 2>/dev/null && break
    kill -0 "$backend_pid" 2>/dev/null || { echo "customer-api did not start" >&2; exit 1; }
    sleep 0.1
done

cat <<'MSG'

shimgate is starting on http://127.0.0.1:8080 in front of the reference backend. Try (another terminal):

  curl -i -X POST http://127.0.0.1:8080/api/update_user_group/ \
    -H 'Content-Type: application/json' -H 'Explo-Authorization: Token demo-token' \
    --data-raw '{"user_group_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"}}'

Who still calls the deprecated Explo route: http://127.0.0.1:9901/migration
(the client ledger is kept in the file shimgate-ledger.sqlite3 here; it survives restarts)

MSG
build/shimgate --listen 127.0.0.1:8080 --upstream http://127.0.0.1:9090 --rules rules \
               --admin 127.0.0.1:9901 --ledger "sqlite:$PWD/shimgate-ledger.sqlite3"
