#!/usr/bin/env bash
# Forwarding through one bridge to a remote Mosquitto, Hearth's bridge
# (durable backlog, then --in-memory) beside Mosquitto's own bridge
# (Mosquitto bridging to Mosquitto), all on free loopback ports:
#  1. throughput: `hearth bench --protocol mqtt` publishes MESSAGES QoS 1
#     messages to the local broker and subscribes at the remote
#     (--subscribe-to), ROUNDS times per bridge;
#  2. drain: with the remote stopped, `hearth bench` publishes DRAIN QoS 1
#     messages locally (and consumes them there: a copy of each waits for
#     the bridge); the remote is started again with a subscriber, and the
#     time from its first to its last message is the drain time.
# Both bridges keep 100 messages in flight (Hearth's max_in_flight,
# Mosquitto's max_inflight_messages), QoS 1, MQTT 3.1.1 to the remote.
#   scripts/bench-bridge.sh [ROUNDS] [MESSAGES] [DRAIN]
# Prints one line per run; docs/benchmarks.md has the table.
set -euo pipefail
rounds=${1:-3}
messages=${2:-100000}
drain=${3:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p hearth --manifest-path "$root/Cargo.toml"
bin="$root/target/release/hearth"
command -v mosquitto >/dev/null || PATH=$PATH:/usr/sbin
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.05; done
  echo "nothing listens on port $1" >&2
  exit 1
}
dir=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT

remote_port=$(free_port)
cat >"$dir/remote.conf" <<CONF
listener $remote_port 127.0.0.1
allow_anonymous true
max_queued_messages 0
max_inflight_messages 100
persistence false
CONF
start_remote() {
  mosquitto -c "$dir/remote.conf" >>"$dir/remote.log" 2>&1 &
  remote_pid=$!
  pids="$pids $remote_pid"
  wait_port "$remote_port"
}

# The local brokers, each bridging bench/# out at QoS 1 to the remote.
local_port=$(free_port)
http_port=$(free_port)
start_hearth() { # $1: --data-dir DIR or --in-memory
  cat >"$dir/hearth.toml" <<CONF
[[bridge]]
name = "bench"
addresses = ["127.0.0.1:$remote_port"]
protocol_version = "mqttv311"
topics = ["bench/# out 1"]
max_in_flight = 100
max_backlog_messages = $((drain * 2))
max_backlog_bytes = 10000000000
reconnect_min_ms = 100
reconnect_max_ms = 200
CONF
  rm -rf "$dir/data"
  # shellcheck disable=SC2086
  "$bin" serve --config "$dir/hearth.toml" --listen "127.0.0.1:$http_port" --mqtt-listen "127.0.0.1:$local_port" \
    --amqp-listen 127.0.0.1:0 --mqtt-max-queued-messages 100000000 \
    --mqtt-max-queued-bytes 100000000000 $1 >"$dir/hearth.log" 2>&1 &
  local_pid=$!
  pids="$pids $local_pid"
  wait_port "$local_port"
}
start_mosquitto_bridge() {
  cat >"$dir/local.conf" <<CONF
listener $local_port 127.0.0.1
allow_anonymous true
max_queued_messages 0
max_inflight_messages 100
persistence false
connection bench
address 127.0.0.1:$remote_port
bridge_protocol_version mqttv311
cleansession false
restart_timeout 1
topic bench/# out 1
CONF
  mosquitto -c "$dir/local.conf" >"$dir/local.log" 2>&1 &
  local_pid=$!
  pids="$pids $local_pid"
  wait_port "$local_port"
}
stop_local() {
  kill "$local_pid"
  wait "$local_pid" 2>/dev/null || true
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$local_port") 2>/dev/null || return 0; sleep 0.05; done
}

throughput() { # $1: label
  sleep 1.5 # the bridge connects
  for round in $(seq "$rounds"); do
    out=$("$bin" bench --protocol mqtt --url "127.0.0.1:$local_port" --subscribe-to "127.0.0.1:$remote_port" \
      --qos 1 -n "$messages" --duration 120 2>&1 | tr '\n' ' ')
    echo "throughput $1 round $round: $out"
  done
}

drain_time() { # $1: label
  kill "$remote_pid"
  wait "$remote_pid" 2>/dev/null || true
  sleep 1.5 # the bridge sees the link down
  # The backlog: DRAIN QoS 1 messages on bench/<run>, consumed locally by
  # the bench's subscriber, a copy of each waiting for the bridge.
  "$bin" bench --protocol mqtt --url "127.0.0.1:$local_port" --qos 1 -n "$drain" >/dev/null
  if [ "${1%% *}" = hearth ]; then
    echo "backlog before the drain: $(curl -s "http://127.0.0.1:$http_port/api/bridges" | grep -o '"backlog":[0-9]*')"
  fi
  sleep 1
  start_remote
  mosquitto_sub -p "$remote_port" -t 'bench/#' -q 1 -C "$drain" -W 120 -F '%U' >"$dir/drain.out" || true
  got=$(wc -l <"$dir/drain.out")
  first=$(head -1 "$dir/drain.out")
  last=$(tail -1 "$dir/drain.out")
  python3 -c "g=$got; s=$last-$first; print(f'drain $1: {g} of $drain messages in {s:.2f} s first to last: {g/s:,.0f} msg/s')"
}

start_remote
for variant in "hearth durable:--data-dir $dir/data" "hearth in-memory:--in-memory" "mosquitto bridge:"; do
  label=${variant%%:*}
  case $label in
    hearth*) start_hearth "${variant#*:}" ;;
    *) start_mosquitto_bridge ;;
  esac
  throughput "$label"
  drain_time "$label"
  stop_local
done
