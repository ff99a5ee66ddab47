#!/usr/bin/env bash
# Start-up time of `hearth serve`: with an empty data directory, and with
# MESSAGES (default 1 000 000) messages of SIZE (default 64) bytes stored in
# one durable queue (written by the store's own `fill` example, as a broker
# would have left them). Each figure: milliseconds from exec to the
# `listening` line, which hearth prints once the store is replayed and the
# engine rebuilt; median of 5.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${MESSAGES:-1000000}
size=${SIZE:-64}
cargo build --release -q -p hearth -p hearth-store --example fill
bin=${CARGO_TARGET_DIR:-target}/release
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin/examples/fill" "$dir/full" "$messages" "$size"
python3 - "$bin/hearth" "$dir" <<'PY'
import statistics, subprocess, sys, time
hearth, dir = sys.argv[1], sys.argv[2]
def start_ms(data):
    t = time.perf_counter()
    p = subprocess.Popen([hearth, "serve", "--listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0", "--amqp-listen", "127.0.0.1:0",
                          "--data-dir", data], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    elapsed = (time.perf_counter() - t) * 1000
    assert b"listening" in line, line
    p.terminate(); p.wait()
    return elapsed
for label, data in [("empty data directory", dir + "/empty"), ("stored messages", dir + "/full")]:
    runs = [start_ms(data) for _ in range(5)]
    print(f"{label}: median {statistics.median(runs):.1f} ms (runs: {', '.join(f'{r:.0f}' for r in runs)})")
PY
du -sh "$dir/full"
