#!/usr/bin/env bash
# Soak: runs the tracker in release on the simulators with N instruments (default 1,000) at full
# speed for S seconds (default 600), sampling its resident memory (VmRSS) every 30 s, and prints
# RSS at start, end and max. Memory must stay flat: the script fails if the end is more than
# 25 % above the first sample taken after warm-up (60 s).
#
#   bash scripts/soak.sh                 # 1,000 instruments, 10 minutes
#   INSTRUMENTS=200 SECONDS_TO_RUN=120 bash scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
INSTRUMENTS=${INSTRUMENTS:-1000}
SECONDS_TO_RUN=${SECONDS_TO_RUN:-600}
SAMPLE_S=${SAMPLE_S:-30}
WARMUP_S=${WARMUP_S:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin collateral-tracker
python3 scripts/gen-config.py --instruments "$INSTRUMENTS" > "$work/soak.toml"
./target/release/collateral-tracker check-config "$work/soak.toml" >/dev/null

# A free loopback port for the dashboard, so /metrics, SSE and the snapshot run too.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./target/release/collateral-tracker run --config "$work/soak.toml" --seconds "$SECONDS_TO_RUN" \
    --no-summary --dashboard "127.0.0.1:$port" 2>"$work/stderr" &
pid=$!

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true; }
start=$(date +%s)
samples=()
warm=""
sleep 2
while kill -0 "$pid" 2>/dev/null; do
    rss=$(rss_kb)
    [ -n "$rss" ] || break
    t=$(( $(date +%s) - start ))
    samples+=("$rss")
    if [ -z "$warm" ] && [ "$t" -ge "$WARMUP_S" ]; then warm=$rss; fi
    metrics=$( (curl -sf "http://127.0.0.1:$port/metrics" || true) | awk '/^collateral_quotes_total/ {q+=$2} END {print q+0}')
    printf 'soak t=%4ds rss=%7d kB quotes=%s\n' "$t" "$rss" "$metrics"
    for _ in $(seq "$SAMPLE_S"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
done
wait "$pid" || { echo "soak: tracker exited with $?"; tail -20 "$work/stderr"; exit 1; }
first=${samples[0]}
last=${samples[${#samples[@]}-1]}
max=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
echo "soak: $INSTRUMENTS instruments, ${SECONDS_TO_RUN} s: rss start ${first} kB, after warm-up ${warm:-n/a} kB, end ${last} kB, max ${max} kB; quotes ${metrics}"
if [ -n "$warm" ] && [ "$last" -gt $(( warm * 125 / 100 )) ]; then
    echo "soak: FAIL: memory grew more than 25 % after warm-up"
    exit 1
fi
echo "soak: OK"
