#!/usr/bin/env bash
# Durable publishing with confirms: Hearth vs RabbitMQ 3.10 (Debian's
# rabbitmq-server, MQTT plugin), driven by the SAME client, `hearth bench
# --protocol mqtt --qos 1 --persistent`: subscribers use clean session false,
# so each subscription is a durable queue and every PUBACK waits for the disk
# (Hearth: fsync by group commit; RabbitMQ: persistent message confirmed).
#
# Scenarios: 1 → 1 and 4 → 4 (four independent 1 → 1 bench processes at the
# same time, each its own topic; the table shows the SUM of their delivered
# msg/s), 64 B and 1 KiB. Each cell is the median of RUNS runs; the brokers
# alternate run by run (order swapped every run). Hearth gets a fresh server
# and data dir per run; RabbitMQ runs one node for the whole script and its
# bench queues are listed (durable?) and deleted after every run.
#
# Needs root (RabbitMQ runs as user `rabbitmq` via setpriv) and Debian's
# rabbitmq-server. Everything listens on 127.0.0.1 only (epmd also on ::1).
#
# Knobs: RUNS=3 N64=100000 N1K=50000 (messages per stream), RMQ_N64 / RMQ_N1K
# (RabbitMQ's counts, default the same), DURATION=60 (bench cut-off, s),
# HEARTH_BIN=path (skip the cargo build), KEEP=1 (keep the temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
n64=${N64:-100000}
n1k=${N1K:-50000}
rmq_n64=${RMQ_N64:-$n64}
rmq_n1k=${RMQ_N1K:-$n1k}
duration=${DURATION:-60}

rmq_lib=/usr/lib/rabbitmq/bin
if [[ ! -x $rmq_lib/rabbitmq-server ]] || ! id rabbitmq >/dev/null 2>&1; then
  echo "rabbitmq-server missing: apt-get install -y rabbitmq-server (Debian's package, 3.10)" >&2
  exit 1
fi
if [[ $(id -u) != 0 ]]; then
  echo "run as root: RabbitMQ is started as user rabbitmq with setpriv" >&2
  exit 1
fi
command -v epmd >/dev/null || { echo "epmd missing (erlang-base)" >&2; exit 1; }

if [[ -n ${HEARTH_BIN:-} ]]; then
  bin=$HEARTH_BIN
  hearth_build="binary $HEARTH_BIN"
else
  cargo build --release -q -p hearth
  bin=${CARGO_TARGET_DIR:-target}/release/hearth
  hearth_build="built at $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes')"
fi
bin=$(realpath "$bin")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=$(mktemp -d /tmp/bench-durable.XXXXXX)
chmod 755 "$work"
hearth_pid=
rmq_pid=
beam_pid=
epmd_pid=

cleanup() {
  set +e
  if [[ -n $hearth_pid ]]; then kill "$hearth_pid" 2>/dev/null; wait "$hearth_pid" 2>/dev/null; fi
  if [[ -n $rmq_pid ]]; then
    # The rabbitmq-server wrapper turns SIGTERM into a clean shutdown.
    kill -TERM "$rmq_pid" 2>/dev/null
    [[ -z $beam_pid && -s $work/rmq/pid ]] && beam_pid=$(cat "$work/rmq/pid")
    for _ in $(seq 60); do
      kill -0 "$rmq_pid" 2>/dev/null || { [[ -n $beam_pid ]] && kill -0 "$beam_pid" 2>/dev/null; } || break
      sleep 0.5
    done
    [[ -n $beam_pid ]] && kill -KILL "$beam_pid" 2>/dev/null
    wait "$rmq_pid" 2>/dev/null
  fi
  if [[ -n $epmd_pid ]]; then kill "$epmd_pid" 2>/dev/null; wait "$epmd_pid" 2>/dev/null; fi
  if [[ -n ${KEEP:-} ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- RabbitMQ
as_rabbitmq() { setpriv --reuid rabbitmq --regid rabbitmq --init-groups "$@"; }
rmq=$work/rmq
mkdir -p "$rmq/mnesia" "$rmq/log" "$rmq/home"
rmq_amqp_port=$(free_port)
rmq_dist_port=$(free_port)
rmq_mqtt_port=$(free_port)
epmd_port=$(free_port)
# mqtt.prefetch: unacked deliveries per subscriber, 100 like Hearth's MQTT
# in-flight window and the bench's own (RabbitMQ's default is 10).
cat >"$rmq/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$rmq_amqp_port
mqtt.listeners.tcp.default = 127.0.0.1:$rmq_mqtt_port
mqtt.allow_anonymous = true
mqtt.prefetch = 100
CONF
echo '[rabbitmq_mqtt].' >"$rmq/enabled_plugins"
: >"$rmq/rabbitmq-env.conf"
chown -R rabbitmq:rabbitmq "$rmq"
export RABBITMQ_NODENAME=benchdurable@localhost \
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$rmq_amqp_port RABBITMQ_DIST_PORT=$rmq_dist_port \
  ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$epmd_port \
  RABBITMQ_MNESIA_BASE=$rmq/mnesia RABBITMQ_LOG_BASE=$rmq/log HOME=$rmq/home \
  RABBITMQ_CONFIG_FILE=$rmq/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$rmq/enabled_plugins \
  RABBITMQ_CONF_ENV_FILE=$rmq/rabbitmq-env.conf RABBITMQ_ADVANCED_CONFIG_FILE=$rmq/advanced.config \
  RABBITMQ_PID_FILE=$rmq/pid \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
  RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
rabbitmqctl() { (cd "$rmq" && as_rabbitmq "$rmq_lib/rabbitmqctl" "$@"); }

(cd "$rmq" && exec setpriv --reuid rabbitmq --regid rabbitmq --init-groups epmd -address 127.0.0.1 -port "$epmd_port") >"$work/epmd.log" 2>&1 &
epmd_pid=$!
(cd "$rmq" && exec setpriv --reuid rabbitmq --regid rabbitmq --init-groups "$rmq_lib/rabbitmq-server") >"$work/rabbitmq.out" 2>&1 &
rmq_pid=$!
echo "starting RabbitMQ (MQTT on 127.0.0.1:$rmq_mqtt_port) ..." >&2
for _ in $(seq 120); do
  grep -q 'Starting broker.*completed' "$work/rabbitmq.out" 2>/dev/null && break
  kill -0 "$rmq_pid" 2>/dev/null || { cat "$work/rabbitmq.out" >&2; echo "RabbitMQ exited" >&2; exit 1; }
  sleep 0.5
done
grep -q 'Starting broker.*completed' "$work/rabbitmq.out" || { tail -n 30 "$work/rabbitmq.out" >&2; echo "RabbitMQ did not start in 60 s" >&2; exit 1; }
beam_pid=$(cat "$rmq/pid")
rmq_version=$(rabbitmqctl -q eval 'rabbit_misc:version().' | tr -d '"')
echo "RabbitMQ $rmq_version up, beam.smp pid $beam_pid" >&2

# ---------------------------------------------------------------- benches
# bench_streams ADDR N SIZE STREAMS TAG: STREAMS `hearth bench` processes at
# once (each picks its topic and client ids from the current millisecond, so
# they start 20 ms apart); sets `sum` to the sum of their delivered msg/s,
# with a trailing '!' if any stream delivered fewer than N. (No subshells
# here or below, so the EXIT trap knows every server pid.)
bench_streams() {
  local addr=$1 n=$2 size=$3 streams=$4 tag=$5 pids=() i t0 t1
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s.%N)
  for ((i = 0; i < streams; i++)); do
    "$bin" bench --protocol mqtt --url "$addr" --qos 1 --persistent -n "$n" -s "$size" \
      --duration "$duration" >"$work/$tag.$i.out" 2>&1 &
    pids+=($!)
    sleep 0.02
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
  t1=$(date +%s.%N)
  local total=0 delivered=0 short= got rate
  for ((i = 0; i < streams; i++)); do
    cat "$work/$tag.$i.out" >>"$work/all.log"
    got= rate=
    read -r got rate < <(awk '/^delivered/ {print $2, $(NF-1)}' "$work/$tag.$i.out") || true
    [[ -n ${rate:-} ]] || { echo "no 'delivered' line from $tag stream $i:" >&2; cat "$work/$tag.$i.out" >&2; rate=0 got=0; }
    ((got < n)) && short='!'
    total=$((total + rate))
    delivered=$((delivered + got))
  done
  sum=$total$short
  # Cross-check for parallel streams: all delivered / wall time of the group
  # (includes connecting and the 20 ms start offsets).
  wall=$(awk -v d="$delivered" -v a="$t0" -v b="$t1" 'BEGIN {printf "%d msg/s over %.2f s wall", d / (b - a), b - a}')
}

# hearth_run N SIZE STREAMS TAG: a fresh server and data dir for one run;
# sets `sum`.
hearth_run() {
  local n=$1 size=$2 streams=$3 tag=$4 http mqtt data=$work/$tag.data
  http=$(free_port)
  mqtt=$(free_port)
  "$bin" serve --listen "127.0.0.1:$http" --mqtt-listen "127.0.0.1:$mqtt" --amqp-listen 127.0.0.1:0 --data-dir "$data" \
    --mqtt-max-queued-messages 100000000 --mqtt-max-queued-bytes 100000000000 >"$work/$tag.log" 2>&1 &
  hearth_pid=$!
  for _ in $(seq 100); do grep -q 'listening' "$work/$tag.log" && break; sleep 0.05; done
  local c0 c1
  c0=$(cpu_s "$hearth_pid")
  bench_streams "127.0.0.1:$mqtt" "$n" "$size" "$streams" "$tag"
  c1=$(cpu_s "$hearth_pid")
  curl -s "127.0.0.1:$http/metrics" |
    grep -E 'hearth_store_(syncs_total|records_total)|batch_changes_(sum|count)|sync_seconds_(sum|count)' >"$work/$tag.metrics" || true
  kill "$hearth_pid"
  wait "$hearth_pid" || true
  hearth_pid=
  rm -rf "$data"
  local stats
  stats=$(awk '{v[$1] = $2} END {
      printf "syncs %d, records %d, changes/sync %.1f, mean sync %.3f ms",
        v["hearth_store_syncs_total"], v["hearth_store_records_total"],
        v["hearth_store_batch_changes_count"] ? v["hearth_store_batch_changes_sum"] / v["hearth_store_batch_changes_count"] : 0,
        v["hearth_store_sync_seconds_count"] ? 1000 * v["hearth_store_sync_seconds_sum"] / v["hearth_store_sync_seconds_count"] : 0
    }' "$work/$tag.metrics")
  echo "  hearth   $tag: $sum msg/s [$wall, load $load, server CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}') s] ($stats)" >&2
  echo "$tag $stats" >>"$work/hearth-stats"
}

# rmq_run N SIZE STREAMS TAG: checks the bench's queues are durable, then
# deletes them so the next run starts from an empty node; sets `sum`.
rmq_run() {
  local n=$1 size=$2 streams=$3 tag=$4 c0 c1
  c0=$(cpu_s "$beam_pid")
  bench_streams "127.0.0.1:$rmq_mqtt_port" "$n" "$size" "$streams" "$tag"
  c1=$(cpu_s "$beam_pid")
  rabbitmqctl -q list_queues name durable messages >"$work/$tag.queues"
  local durable
  durable=$(awk '$1 ~ /^mqtt-subscription-bench/ && $2 == "true"' "$work/$tag.queues" | wc -l)
  echo "  rabbitmq $tag: $sum msg/s [$wall, load $load, server CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}') s] (list_queues: $durable durable bench queue(s), $(awk '$1 ~ /^mqtt-subscription-bench/ {m += $3} END {print m + 0}' "$work/$tag.queues") messages left)" >&2
  ((durable >= streams)) || { echo "expected $streams durable bench queues, list_queues says:" >&2; cat "$work/$tag.queues" >&2; }
  cp "$work/$tag.queues" "$work/last.queues"
  rabbitmqctl -q eval '[rabbit_amqqueue:delete(Q, false, false, <<"bench-durable">>) || Q <- rabbit_amqqueue:list()], ok.' >/dev/null
}

# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t}' "/proc/$1/stat"; }

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR] = $0} END {print a[int((NR + 1) / 2)]}'; }

rows=()
scenario() {
  local label=$1 streams=$2 size=$3 hn=$4 rn=$5 r h=() q=()
  echo "== $label ($streams stream(s), $size B, Hearth n=$hn, RabbitMQ n=$rn per stream)" >&2
  for ((r = 1; r <= runs; r++)); do
    local tag="s${streams}x${size}.r$r"
    if ((r % 2)); then
      hearth_run "$hn" "$size" "$streams" "hearth.$tag"; h+=("$sum")
      rmq_run "$rn" "$size" "$streams" "rabbitmq.$tag"; q+=("$sum")
    else
      rmq_run "$rn" "$size" "$streams" "rabbitmq.$tag"; q+=("$sum")
      hearth_run "$hn" "$size" "$streams" "hearth.$tag"; h+=("$sum")
    fi
  done
  local hm qm ratio
  hm=$(printf '%s\n' "${h[@]//!/}" | median)
  qm=$(printf '%s\n' "${q[@]//!/}" | median)
  ratio=$(awk -v a="$hm" -v b="$qm" 'BEGIN {if (b > 0) printf "%.1f×", a / b; else print "n/a"}')
  rows+=("| $label | $hm | $qm | $ratio | ${h[*]} | ${q[*]} |")
}

uptime >&2
scenario "1 → 1, 64 B" 1 64 "$n64" "$rmq_n64"
scenario "1 → 1, 1 KiB" 1 1024 "$n1k" "$rmq_n1k"
scenario "4 → 4, 64 B" 4 64 "$n64" "$rmq_n64"
scenario "4 → 4, 1 KiB" 4 1024 "$n1k" "$rmq_n1k"

echo
echo "Durable QoS 1 publishing with confirms (hearth bench --protocol mqtt --qos 1 --persistent),"
echo "delivered msg/s, median of $runs; 4 → 4 is the sum of four parallel 1 → 1 streams."
echo "Hearth $("$bin" --version | awk '{print $NF}') ($hearth_build), RabbitMQ $rmq_version (MQTT plugin, mqtt.prefetch 100), $(nproc) cores."
echo "Messages per stream: Hearth $n64 (64 B) / $n1k (1 KiB), RabbitMQ $rmq_n64 / $rmq_n1k. '!' = a stream delivered fewer than n."
echo
echo "| scenario | Hearth msg/s | RabbitMQ msg/s | Hearth / RabbitMQ | Hearth runs | RabbitMQ runs |"
echo "|---|---:|---:|---:|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Hearth group commit per run (from /metrics):"
sed 's/^/  /' "$work/hearth-stats"
echo
echo "RabbitMQ list_queues name durable messages, after its last run:"
awk '{print "  " $0}' "$work/last.queues"
