#!/usr/bin/env bash
# MQTT: Hearth vs Mosquitto, recorded in docs/benchmarks.md. Starts a release
# `hearth serve` and Debian's `mosquitto` on free loopback ports, then runs
# the SAME `hearth bench --protocol mqtt` load (MQTT 3.1.1, raw TCP) against
# each, scenario by scenario. Bounded: every run stops after its message
# count or --duration seconds. MESSAGES=… changes the message count.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p hearth
bin=${CARGO_TARGET_DIR:-target}/release/hearth
source scripts/mqtt-brokers.sh
messages=${MESSAGES:-200000}
run() {
  for target in "hearth 127.0.0.1:$hearth_port" "mosquitto 127.0.0.1:$mosquitto_port"; do
    set -- "$@"
    name=${target%% *}; addr=${target#* }
    echo "## $name: hearth bench --protocol mqtt -u $addr $*"
    "$bin" bench --protocol mqtt -u "$addr" --duration 60 "$@"
    echo
  done
}
run -P 1 -C 1 -n "$messages" -s 64 --qos 0
run -P 1 -C 1 -n "$messages" -s 64 --qos 1
run -P 4 -C 4 -n "$messages" -s 64 --qos 0
run -P 4 -C 4 -n "$messages" -s 64 --qos 1
run -P 1 -C 1 -n "$((messages / 10))" -s 64 --fanout 10 --qos 0
run -P 1 -C 1 -n "$((messages / 10))" -s 64 --fanout 10 --qos 1
run -P 1 -C 1 -n 50000 -s 64 --rate 10000 --qos 0
run -P 1 -C 1 -n 50000 -s 64 --rate 10000 --qos 1
