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
command -v mosquitto >/dev/null || PATH=$PATH:/usr/sbin
command -v mosquitto >/dev/null || { echo "mosquitto missing: sudo apt-get install mosquitto" >&2; exit 1; }
if [ -z "${HEARTH_BIN:-}" ]; then
  cargo build --release -q -p hearth
  HEARTH_BIN=${CARGO_TARGET_DIR:-target}/release/hearth
fi
bin=$HEARTH_BIN
[ $# -gt 0 ] || set -- -P 1 -C 1 -n 200000 -s 64 --qos 0
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
hearth_port=$(free_port)
"$bin" serve --listen 127.0.0.1:0 --mqtt-listen "127.0.0.1:$hearth_port" >"$dir/hearth.log" 2>/dev/null &
hearth_pid=$!
mosquitto_port=$(free_port)
# The same Mosquitto settings as scripts/bench-mqtt.sh.
cat >"$dir/mosquitto.conf" <<CONF
listener $mosquitto_port 127.0.0.1
allow_anonymous true
max_queued_messages 0
max_inflight_messages 100
persistence false
CONF
mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
mosquitto_pid=$!
trap 'kill $hearth_pid $mosquitto_pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do grep -q listening "$dir/hearth.log" && break; sleep 0.1; done
sleep 0.3
delivered() { "$bin" bench --protocol mqtt -u "$1" --duration 60 "${@:2}" | tee "$dir/last" >&2; awk '/^delivered/ {print $(NF-1)}' "$dir/last"; }
echo "scenario: $*"
for round in $(seq "${ROUNDS:-5}"); do
  h=$(delivered "127.0.0.1:$hearth_port" "$@")
  m=$(delivered "127.0.0.1:$mosquitto_port" "$@")
  echo "round $round: hearth $h msg/s, mosquitto $m msg/s, ratio $(python3 -c "print(f'{$h / $m:.2f}')")"
done
