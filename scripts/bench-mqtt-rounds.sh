#!/usr/bin/env bash
# One MQTT scenario, Hearth and Mosquitto alternating for ROUNDS rounds in the
# same run, printing each round's delivered msg/s and the ratio: the figure
# that matters for the ≥ 2× target, without the noise of runs hours apart.
# Usage: scripts/bench-mqtt-rounds.sh [hearth bench args…]
#   (default: -P 1 -C 1 -n 200000 -s 64 --qos 0, i.e. 1 → 1 QoS 0)
# HEARTH_BIN=… compares another build (e.g. one saved before a change);
# ROUNDS=… (default 5). Bounded: each run stops after its count or 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${HEARTH_BIN:-}" ]; then
  cargo build --release -q -p hearth
  HEARTH_BIN=${CARGO_TARGET_DIR:-target}/release/hearth
fi
bin=$HEARTH_BIN
[ $# -gt 0 ] || set -- -P 1 -C 1 -n 200000 -s 64 --qos 0
source scripts/mqtt-brokers.sh
delivered() { "$bin" bench --protocol mqtt -u "$1" --duration 60 "${@:2}" | tee "$dir/last" >&2; awk '/^delivered/ {print $(NF-1)}' "$dir/last"; }
echo "scenario: $*"
for round in $(seq "${ROUNDS:-5}"); do
  h=$(delivered "127.0.0.1:$hearth_port" "$@")
  m=$(delivered "127.0.0.1:$mosquitto_port" "$@")
  echo "round $round: hearth $h msg/s, mosquitto $m msg/s, ratio $(python3 -c "print(f'{$h / $m:.2f}')")"
done
