#!/usr/bin/env bash
# Latency from frame read to price tick handed to the producer, under load from the simulators.
#
#   scripts/latency.sh                    10 k and 100 k frames/s, 1,000 instruments, 10 venues
#   LAT_RATES="100000" LAT_SECONDS=30 scripts/latency.sh
#
# Every simulator runs in load mode (`--sim-frames-per-s`): the rate is split evenly over the
# ten connectors. The producer is the JSON-lines sink writing to /dev/null (no Kafka here: with
# Kafka the handoff is rdkafka's enqueue, which the same histogram would measure). Prints the
# lines `run --latency` writes at exit: p50 / p99 / p999 / max in microseconds and the peak RSS
# (the simulators included when they run in the same process), the channel backlog behind each
# observation read, and how long the reference thread's cuts take per clock check. The machine
# load matters (the simulators share the cores): the load average is printed with each rate.
#
# LAT_SIM lists where the simulators run, each rate measured once per entry: "process" (a
# second process, `collateral-tracker sim`, which the tracker reads through each connector's
# `ws_url` like a venue: the load generator is not the tracker's own work, as in production; the
# two still share this machine's two cores) and "inproc" (in the tracker's process and runtime,
# `run --sim-frames-per-s`: the ten simulators compete with the connectors for the same
# workers). Default: both. LAT_WORKERS lists tokio worker counts ("default" = one per core;
# the runtime reads TOKIO_WORKER_THREADS).
#
#   LAT_SIM=process LAT_RATES=100000 scripts/latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${LAT_RATES:-"10000 100000"}
WORKERS=${LAT_WORKERS:-default}
SIMS=${LAT_SIM:-"process inproc"}
SECONDS_RUN=${LAT_SECONDS:-20}
INSTRUMENTS=${LAT_INSTRUMENTS:-1000}
VENUES=${LAT_VENUES:-10}
OUT=target/bench
mkdir -p "$OUT"
cargo build --release --quiet --bin collateral-tracker
python3 scripts/gen-load-config.py --instruments "$INSTRUMENTS" --venues "$VENUES" >"$OUT/load.toml"
./target/release/collateral-tracker check-config "$OUT/load.toml" >&2
sim_pid=""
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true' EXIT
for rate in $RATES; do
  for SIM in $SIMS; do
    for workers in $WORKERS; do
        per=$((rate / VENUES))
        env_workers=()
        if [ "$workers" != default ]; then env_workers=(TOKIO_WORKER_THREADS="$workers"); fi
        config="$OUT/load.toml"
        sim_args=(--sim-frames-per-s "$per")
        if [ "$SIM" = process ]; then
            # The simulators in their own process; the tracker's config points at them.
            ./target/release/collateral-tracker sim --config "$OUT/load.toml" --sim-frames-per-s "$per" \
                --seconds $((SECONDS_RUN + 30)) >"$OUT/sim-urls.txt" 2>"$OUT/sim-stderr.txt" &
            sim_pid=$!
            for _ in $(seq 100); do
                [ "$(wc -l <"$OUT/sim-urls.txt")" -ge "$VENUES" ] && break
                sleep 0.1
            done
            python3 - "$OUT/load.toml" "$OUT/sim-urls.txt" >"$OUT/load-ext.toml" <<'PY'
import sys
urls = dict(line.split() for line in open(sys.argv[2]) if line.strip())
out, cid = [], None
for line in open(sys.argv[1]):
    if line.startswith("id = "):
        cid = line.split('"')[1]
    if line.strip() == "sim = true" and cid in urls:
        line = f'ws_url = "{urls[cid]}"\n'
    out.append(line)
sys.stdout.write("".join(out))
PY
            config="$OUT/load-ext.toml"
            sim_args=()
        fi
        printf '%s frames/s (%s per connector), %s instruments, %s s, simulators %s, tokio workers %s, load %s: ' "$rate" "$per" "$INSTRUMENTS" "$SECONDS_RUN" "$SIM" "$workers" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
        env "${env_workers[@]}" ./target/release/collateral-tracker run --config "$config" --jsonl /dev/null \
            --seconds "$SECONDS_RUN" --no-summary --no-dashboard --latency "${sim_args[@]}" \
            2>&1 >/dev/null | grep '^latency' || echo "(no latency line; see the run's stderr)"
        if [ -n "$sim_pid" ]; then
            kill "$sim_pid" 2>/dev/null || true
            wait "$sim_pid" 2>/dev/null || true
            sim_pid=""
        fi
    done
  done
done
