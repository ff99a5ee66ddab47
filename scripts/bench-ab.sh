#!/usr/bin/env bash
# Two Hearth builds side by side: OLD and NEW `hearth serve` on free loopback
# ports, the same `hearth bench` load (NEW's client) against each in turn,
# ROUNDS rounds per scenario, printing delivered msg/s and NEW/OLD. The
# machine is noisy: compare the ratio within one run, not runs hours apart.
# Usage: OLD=/path/to/old/hearth NEW=/path/to/new/hearth scripts/bench-ab.sh
# Bounded: each run stops after its count or 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${OLD:?OLD=path of the old hearth binary}
new=${NEW:-${CARGO_TARGET_DIR:-target}/release/hearth}
messages=${MESSAGES:-200000}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
start() { # NAME BIN ARGS…: prints "http mqtt"
  local name=$1 bin=$2 http mqtt; shift 2
  http=$(free_port); mqtt=$(free_port)
  # In memory: two brokers cannot share the default data directory.
  "$bin" serve --listen "127.0.0.1:$http" --mqtt-listen "127.0.0.1:$mqtt" --amqp-listen 127.0.0.1:0 --in-memory "$@" >"$dir/$name.log" 2>&1 &
  for _ in $(seq 50); do grep -qs listening "$dir/$name.log" && break; sleep 0.1; done
  echo "$http $mqtt"
}
# Session queues that drop nothing (a benchmark counts every message);
# OLD_ARGS replaces these flags for an old build that lacks them.
queued="--mqtt-max-queued-messages 100000000 --mqtt-max-queued-bytes 100000000000"
read -r old_http old_mqtt < <(start old "$old" ${OLD_ARGS-$queued})
read -r new_http new_mqtt < <(start new "$new" $queued)
delivered() { "$new" bench --duration 60 "$@" | tee "$dir/last" >&2; awk '/^delivered/ {print $(NF-1)}' "$dir/last"; }
scenario() { # PROTOCOL ARGS…
  local protocol=$1; shift
  echo "scenario: --protocol $protocol $*"
  for round in $(seq "${ROUNDS:-3}"); do
    local o n
    if [ "$protocol" = mqtt ]; then
      o=$(delivered --protocol mqtt -u "127.0.0.1:$old_mqtt" "$@"); n=$(delivered --protocol mqtt -u "127.0.0.1:$new_mqtt" "$@")
    else
      o=$(delivered -u "127.0.0.1:$old_http" "$@"); n=$(delivered -u "127.0.0.1:$new_http" "$@")
    fi
    echo "round $round: old $o msg/s, new $n msg/s, new/old $(python3 -c "print(f'{$n / $o:.3f}')")"
  done
}
scenario mqtt -P 1 -C 1 -n "$messages" -s 64 --qos 0
scenario mqtt -P 1 -C 1 -n "$messages" -s 64 --qos 1
scenario ws -P 1 -C 1 -n "$messages" -s 64
