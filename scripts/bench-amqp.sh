#!/usr/bin/env bash
# AMQP throughput and latency as a real client sees it: the load generator
# in bench/clients (built on lapin) against a release `hearth serve` and
# Debian's RabbitMQ, both on free loopback ports (RabbitMQ with its own
# epmd on 127.0.0.1), in the same run, broker by broker, ROUNDS times.
#   scripts/bench-amqp.sh [ROUNDS] [MESSAGES]
# Prints one JSON line per run; docs/benchmarks.md has the table.
set -euo pipefail
rounds=${1:-3}
messages=${2:-200000}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${rabbit_env:-}" ] && env $rabbit_env rabbitmqctl -n "$node" stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

command -v rabbitmq-server >/dev/null || { echo "install RabbitMQ first: apt-get install rabbitmq-server" >&2; exit 1; }
cargo build --release -q -p hearth --manifest-path "$root/Cargo.toml"
cargo build --release -q --manifest-path "$root/bench/clients/Cargo.toml"
load="$root/bench/clients/target/release/amqp-load"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Hearth, in memory (as RabbitMQ's transient queues are).
"$root/target/release/hearth" serve --listen 127.0.0.1:0 --mqtt-listen 127.0.0.1:0 --amqp-listen 127.0.0.1:0 \
  --in-memory >"$dir/hearth.out" 2>"$dir/hearth.log" &
for _ in $(seq 50); do grep -q "AMQP at" "$dir/hearth.out" 2>/dev/null && break; sleep 0.1; done
hearth_port=$(sed -n 's/.*AMQP at 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/hearth.out")

# RabbitMQ, its node, epmd and distribution port on loopback only.
rabbit_port=$(free_port)
node="hearthbench@localhost"
# (Run as root, RabbitMQ's scripts switch to the rabbitmq user: its files
# must be able to write the directory, and the Erlang cookie is its own.)
chmod 777 "$dir"
rabbit_env="RABBITMQ_NODENAME=$node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$rabbit_port \
ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$(free_port) RABBITMQ_DIST_PORT=$(free_port) \
RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log RABBITMQ_ENABLED_PLUGINS_FILE=$dir/plugins"
echo "[]." >"$dir/plugins"
chmod 644 "$dir/plugins"
env $rabbit_env rabbitmq-server >"$dir/rabbit.out" 2>&1 &
for _ in $(seq 60); do env $rabbit_env rabbitmqctl -n "$node" status >/dev/null 2>&1 && break; sleep 1; done
env $rabbit_env rabbitmqctl -n "$node" await_startup >/dev/null
rabbit_version=$(env $rabbit_env rabbitmqctl -n "$node" version 2>/dev/null || echo "?")
echo "RabbitMQ $rabbit_version on $rabbit_port, Hearth on $hearth_port, $messages messages of 64 B per producer" >&2

for round in $(seq "$rounds"); do
  for scenario in auto manual four fanout confirms latency; do
    n=$messages
    [ "$scenario" = fanout ] && n=$((messages / 10))
    [ "$scenario" = latency ] && n=50000
    for broker in hearth rabbitmq; do
      port=$hearth_port
      [ "$broker" = rabbitmq ] && port=$rabbit_port
      printf '{"round":%s,"broker":"%s",' "$round" "$broker"
      "$load" --url "amqp://guest:guest@127.0.0.1:$port/%2f" --scenario "$scenario" --messages "$n" \
        | sed 's/^{//'
    done
  done
done
