#!/usr/bin/env bash
# Memory under abuse, Hearth beside Mosquitto in the same run, both with
# default settings (recorded in docs/benchmarks.md). For each situation a
# fresh release `hearth serve` and a fresh Debian `mosquitto` are started
# on free loopback ports and measured from outside by
# scripts/abuse-memory.py (RSS from /proc). Bounded: SECONDS of flood,
# MESSAGES QoS 1 messages, CONNECTIONS idle connections.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p hearth
bin=${CARGO_TARGET_DIR:-target}/release/hearth
seconds=${SECONDS_OF_FLOOD:-20}
messages=${MESSAGES:-200000}
connections=${CONNECTIONS:-10000}
command -v mosquitto >/dev/null || PATH=$PATH:/usr/sbin
ulimit -n "$(ulimit -Hn)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
chmod 755 "$dir"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

# Runs `abuse-memory.py SITUATION PID PORT ARGS` against a fresh Hearth
# (on its HTTP port for idle-ws, else MQTT) and, unless it is WebSocket
# only, a fresh Mosquitto.
measure() {
  local situation=$1; shift
  local http mqtt pid port
  http=$(free_port); mqtt=$(free_port)
  # A fresh data directory each time: nothing recovered from the situation before.
  rm -rf "$dir/data"
  "$bin" serve --listen "127.0.0.1:$http" --mqtt-listen "127.0.0.1:$mqtt" --amqp-listen 127.0.0.1:0 --data-dir "$dir/data" >"$dir/hearth.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do grep -qs listening "$dir/hearth.log" && break; sleep 0.1; done
  echo "## hearth $(grep VmRSS /proc/$pid/status | tr -s ' ')"
  port=$mqtt; [ "$situation" = idle-ws ] && port=$http
  python3 scripts/abuse-memory.py "$situation" "$pid" "$port" "$@"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ "$situation" = idle-ws ] && return
  mqtt=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mqtt" >"$dir/mosquitto.conf"
  mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
  pid=$!
  sleep 0.5
  echo "## mosquitto $(grep VmRSS /proc/$pid/status | tr -s ' ')"
  python3 scripts/abuse-memory.py "$situation" "$pid" "$mqtt" "$@"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

measure flood "$seconds"
measure offline "$messages"
measure idle "$connections"
measure idle-ws "$connections"
