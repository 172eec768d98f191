#!/usr/bin/env bash
# Latency from frame read to price tick handed to the producer, under load from the simulators.
#
#   scripts/latency.sh                    10 k and 100 k frames/s, 1,000 instruments, 10 venues
#   LAT_RATES="100000" LAT_SECONDS=30 scripts/latency.sh
#
# Every simulator runs in load mode (`run --sim-frames-per-s`): the rate is split evenly over the
# ten connectors. The producer is the JSON-lines sink writing to /dev/null (no Kafka here: with
# Kafka the handoff is rdkafka's enqueue, which the same histogram would measure). Prints the
# lines `run --latency` writes at exit: p50 / p99 / p999 / max in microseconds and the peak RSS
# (simulators included: they run in the same process), the channel backlog behind each
# observation read, and how long the reference thread's cuts take per clock check. The machine
# load matters (the simulators share the cores): the load average is printed with each rate.
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${LAT_RATES:-"10000 100000"}
SECONDS_RUN=${LAT_SECONDS:-20}
INSTRUMENTS=${LAT_INSTRUMENTS:-1000}
VENUES=${LAT_VENUES:-10}
OUT=target/bench
mkdir -p "$OUT"
cargo build --release --quiet --bin collateral-tracker
python3 scripts/gen-load-config.py --instruments "$INSTRUMENTS" --venues "$VENUES" >"$OUT/load.toml"
./target/release/collateral-tracker check-config "$OUT/load.toml" >&2
for rate in $RATES; do
    per=$((rate / VENUES))
    printf '%s frames/s (%s per connector), %s instruments, %s s, load %s: ' "$rate" "$per" "$INSTRUMENTS" "$SECONDS_RUN" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
    ./target/release/collateral-tracker run --config "$OUT/load.toml" --jsonl /dev/null \
        --seconds "$SECONDS_RUN" --no-summary --no-dashboard --latency --sim-frames-per-s "$per" \
        2>&1 >/dev/null | grep '^latency' || echo "(no latency line; see the run's stderr)"
done
