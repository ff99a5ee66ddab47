#!/usr/bin/env bash
# MQTT throughput and latency as a device's client library sees it: the
# load generator in bench/clients (built on rumqttc) against a release
# `hearth serve`, Debian's Mosquitto and, when RUMQTTD points at one,
# rumqttd (`cargo install rumqttd --version 0.20.0 --no-default-features`),
# all on free loopback ports, broker by broker, ROUNDS times.
#   scripts/bench-mqtt-clients.sh [ROUNDS] [MESSAGES]
# SCENARIOS (default: all) picks runs, e.g. SCENARIOS="fanout latency-q0:nodelay".
# Prints one JSON line per run; docs/benchmarks.md has the table.
set -euo pipefail
rounds=${1:-3}
messages=${2:-200000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p hearth --manifest-path "$root/Cargo.toml"
cargo build --release -q --manifest-path "$root/bench/clients/Cargo.toml"
bin="$root/target/release/hearth"
load="$root/bench/clients/target/release/mqtt-load"
# shellcheck source=scripts/mqtt-brokers.sh
. "$root/scripts/mqtt-brokers.sh"
brokers="hearth:$hearth_port mosquitto:$mosquitto_port"
if [ -n "${RUMQTTD:-}" ]; then
  rumqttd_port=$(free_port)
  cat >"$dir/rumqttd.toml" <<CONF
id = 0
[router]
id = 0
max_connections = 10010
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10
[v4.1]
name = "v4-1"
listen = "127.0.0.1:$rumqttd_port"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 1048576
max_inflight_count = 100
dynamic_filters = true
CONF
  "$RUMQTTD" -c "$dir/rumqttd.toml" >"$dir/rumqttd.log" 2>&1 &
  rumqttd_pid=$!
  trap 'kill $hearth_pid $mosquitto_pid $rumqttd_pid 2>/dev/null || true; rm -rf "$dir"' EXIT
  sleep 1
  brokers="$brokers rumqttd:$rumqttd_port"
fi
echo "brokers: $brokers; $messages messages of 64 B per publisher" >&2
for round in $(seq "$rounds"); do
  # The latency runs go twice: as rumqttc comes (Nagle's algorithm on,
  # which alone costs 17-40 ms at the 99th percentile) and with TCP_NODELAY,
  # as a client that cares about latency sets it.
  for run in ${SCENARIOS:-q0 q1 four-q0 four-q1 fanout latency-q0 latency-q1 latency-q0:nodelay latency-q1:nodelay}; do
    scenario=${run%%:*}
    flags=()
    nodelay=false
    if [ "$run" != "$scenario" ]; then flags=(--tcp-nodelay); nodelay=true; fi
    n=$messages
    case $scenario in latency-*) n=50000 ;; esac
    for entry in $brokers; do
      name=${entry%%:*}
      port=${entry##*:}
      printf '{"round":%s,"broker":"%s","nodelay":%s,' "$round" "$name" "$nodelay"
      "$load" --port "$port" --scenario "$scenario" --messages "$n" "${flags[@]}" | sed 's/^{//' || echo '"failed":true}'
    done
  done
done
