#!/usr/bin/env bash
# MQTT: Hearth vs Mosquitto, recorded in docs/benchmarks.md. Starts a release
# `hearth serve` and Debian's `mosquitto` on free loopback ports, then runs
# the SAME `hearth bench --protocol mqtt` load (MQTT 3.1.1, raw TCP) against
# each, scenario by scenario. Bounded: every run stops after its message
# count or --duration seconds. MESSAGES=… changes the message count.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mosquitto >/dev/null || PATH=$PATH:/usr/sbin
command -v mosquitto >/dev/null || { echo "mosquitto missing: sudo apt-get install mosquitto" >&2; exit 1; }
cargo build --release -q -p hearth
bin=${CARGO_TARGET_DIR:-target}/release/hearth
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
hearth_port=$(free_port)
"$bin" serve --listen 127.0.0.1:0 --mqtt-listen "127.0.0.1:$hearth_port" >"$dir/hearth.log" 2>/dev/null &
hearth_pid=$!
mosquitto_port=$(free_port)
# Unlimited queued messages (Mosquitto's default of 1000 per client drops
# QoS 1 messages under load) and 100 in flight per client, as Hearth's
# MQTT 3.1.1 prefetch.
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
