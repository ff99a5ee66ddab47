#!/usr/bin/env bash
# Runs the broker benchmarks recorded in docs/benchmarks.md: a release
# `hearth serve` on a free loopback port, then `hearth bench` over real
# WebSocket connections for each scenario. Bounded: every run stops after
# its message count or --duration seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p hearth
bin=${CARGO_TARGET_DIR:-target}/release/hearth
log=$(mktemp)
"$bin" serve --listen 127.0.0.1:0 --mqtt-listen 127.0.0.1:0 --amqp-listen 127.0.0.1:0 >"$log" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
addr=$(sed -n 's|.*http://\([0-9.:]*\).*|\1|p' "$log" | head -1)
messages=${MESSAGES:-200000}
run() { echo "\$ hearth bench $*"; "$bin" bench -u "$addr" --duration 60 "$@"; echo; }
run -P 1 -C 1 -n "$messages" -s 64
run -P 4 -C 4 -n "$messages" -s 64
run -P 1 -C 1 -n "$((messages / 10))" -s 64 --fanout 10
run -P 1 -C 1 -n 50000 -s 64 --rate 10000
