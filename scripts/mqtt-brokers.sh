# Sourced by scripts/bench-mqtt.sh and scripts/bench-mqtt-rounds.sh: starts
# `$bin serve` (Hearth) and Debian's `mosquitto` on free loopback ports, sets
# hearth_port, mosquitto_port and dir (a temp dir for logs), stops both on exit.
command -v mosquitto >/dev/null || PATH=$PATH:/usr/sbin
command -v mosquitto >/dev/null || { echo "mosquitto missing: sudo apt-get install mosquitto" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
hearth_port=$(free_port)
# Session queues that drop nothing, like Mosquitto's below (a benchmark
# counts every message; by default each holds 1000 beyond those in flight).
"$bin" serve --listen 127.0.0.1:0 --mqtt-listen "127.0.0.1:$hearth_port" --amqp-listen 127.0.0.1:0 \
  --mqtt-max-queued-messages 100000000 --mqtt-max-queued-bytes 100000000000 >"$dir/hearth.log" 2>/dev/null &
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
