#!/usr/bin/env bash
# Whole-pipeline throughput and the side-by-side table with the peers (BENCHMARKS.md).
#
#   scripts/bench.sh            everything (first run: builds barter-data and installs cryptofeed)
#   BENCH_FRAMES=200000 scripts/bench.sh      fewer frames
#   BENCH_SKIP_PEERS=1 scripts/bench.sh       ours only (offline)
#   BENCH_SKIP_OTHER=1 scripts/bench.sh       only the side-by-side table (no criterion figures
#                                             of the big frames and the reference tick, no latency)
#
# Needs: cargo, python3; crates.io and PyPI the first time only. Everything generated lives in
# target/bench/ (captures) and ~/.cache/collateral-tracker/peers/ (the peers), never in the
# workspace. Figures are wall clock: run it on a quiet machine and say under what load.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${BENCH_FRAMES:-1000000}
PASSES=${BENCH_PASSES:-5}
OUT=$ROOT/target/bench
PEERS=${BENCH_PEERS_DIR:-$HOME/.cache/collateral-tracker/peers}
mkdir -p "$OUT" "$PEERS"

say() { printf '\n== %s\n' "$*" >&2; }

say "build (release)"
cargo build --release --quiet --bin collateral-tracker --example decode_frames
BIN=$ROOT/target/release/collateral-tracker
DECODE=$ROOT/target/release/examples/decode_frames

say "captures from the fixtures ($N frames each)"
gen() { # mode file
    [ -s "$OUT/$2" ] || python3 scripts/gen-capture.py "$1" "$N" "$OUT/$2"
}
gen binance "binance-$N.jsonl"
gen mixed "mixed-$N.jsonl"
gen frames "frames-$N.txt"
gen raw-frames "raw-$N.txt"

say "replay --stats (one thread, records written to /dev/null)"
replay() { # label capture config
    local line
    line=$("$BIN" replay "$OUT/$2" --config "scripts/bench/$3" --stats 2>&1 >/dev/null | grep 'frames/s' | tail -1)
    printf '%-28s %s\n' "$1" "$line"
}
REPLAY_BINANCE=$(replay "binance bookTicker" "binance-$N.jsonl" binance.toml)
REPLAY_MIXED=$(replay "mixed, 10 venue kinds" "mixed-$N.jsonl" mixed.toml)
echo "$REPLAY_BINANCE"
echo "$REPLAY_MIXED"

say "ours: the same frames through the live path"
OURS_COMBINED=$("$DECODE" "$OUT/frames-$N.txt" "$PASSES")
OURS_RAW=$("$DECODE" "$OUT/raw-$N.txt" "$PASSES")
echo "$OURS_COMBINED"
echo "$OURS_RAW"

BARTER="" CRYPTOFEED=""
if [ -z "${BENCH_SKIP_PEERS:-}" ]; then
    say "barter-data 0.13 (throwaway crate in $PEERS/barter)"
    mkdir -p "$PEERS/barter/src"
    cat >"$PEERS/barter/Cargo.toml" <<'EOF'
[package]
name = "barter-peer"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
barter-data = "0.13"
barter-instrument = "0.3"
barter-integration = "0.12"
serde_json = "1"
tokio = { version = "1", features = ["rt", "sync"] }

[profile.release]
debug = 1
EOF
    cp scripts/peers/barter/main.rs "$PEERS/barter/src/main.rs"
    (cd "$PEERS/barter" && cargo build --release --quiet)
    BARTER=$("$PEERS/barter/target/release/barter-peer" "$OUT/raw-$N.txt" "$PASSES")
    echo "$BARTER"

    say "cryptofeed (venv in $PEERS/cryptofeed-venv)"
    if [ ! -x "$PEERS/cryptofeed-venv/bin/python" ]; then
        python3 -m venv "$PEERS/cryptofeed-venv"
    fi
    "$PEERS/cryptofeed-venv/bin/python" -c 'import cryptofeed' 2>/dev/null ||
        "$PEERS/cryptofeed-venv/bin/pip" install --quiet 'cryptofeed==2.4.1'
    CRYPTOFEED=$("$PEERS/cryptofeed-venv/bin/python" scripts/peers/cryptofeed_peer.py \
        "$OUT/frames-$N.txt" "${BENCH_PY_PASSES:-1}")
    echo "$CRYPTOFEED"
fi

say "side by side"
python3 scripts/bench/table.py "$OURS_COMBINED" "$OURS_RAW" "$BARTER" "$CRYPTOFEED" "$REPLAY_BINANCE" "$REPLAY_MIXED" "$N"

if [ -z "${BENCH_SKIP_OTHER:-}" ]; then
    # The remaining targets, measured here too so that one run prints them all.
    say "largest ticker frames, frame -> quotes (criterion, short run)"
    FRAMES=$(cargo bench --quiet -p connectors --bench parsers -- \
        '^frame_to_quotes/(coinbase|bybit_linear|deribit)/' --warm-up-time 1 --measurement-time 2 2>/dev/null |
        grep -E '^[a-z_]+/|time:' || true)
    echo "$FRAMES"
    say "one reference tick, 1,000 pairs x 10 sources (criterion, short run)"
    TICK=$(cargo bench --quiet -p normalizer --bench normalizer -- \
        '^reference/tick_1000_pairs_x_10_sources(_1_thread)?$' --warm-up-time 1 --measurement-time 3 2>/dev/null |
        grep -E '^[a-z_]+/|time:' || true)
    echo "$TICK"
    say "latency and memory at 100 k frames/s (simulators in another process)"
    LAT=$(LAT_SIM=process LAT_RATES=100000 LAT_SECONDS=${BENCH_LAT_SECONDS:-20} bash scripts/latency.sh 2>/dev/null | grep 'read->producer' || true)
    echo "$LAT"
    say "targets"
    python3 - "$FRAMES" "$TICK" "$LAT" "$REPLAY_BINANCE" <<'PY'
import re, sys
frames, tick, lat, replay = sys.argv[1:5]
def unit(v, u):
    return float(v) * {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}[u]
def medians(text):  # criterion "name\n time: [lo mid hi]" -> [(name, mid in us)]
    out, name = [], None
    for line in text.splitlines():
        m = re.match(r"([a-z_]+/\S+)", line)
        if m:
            name = m.group(1)
        m = re.search(r"time:\s+\[\S+ \S+ ([0-9.]+) (\S+) \S+ \S+\]", line)
        if m and name:
            out.append((name, unit(m.group(1), m.group(2))))
            name = None  # the next "time:" line of this bench is the change, not a figure
    return out
for name, us in medians(frames):
    print(f"{name:<66} {us * 1000:8.0f} ns   (target <= 1,000 ns)  {'met' if us <= 1 else 'NOT met'}")
for name, us in medians(tick):
    print(f"{name:<66} {us / 1000:8.2f} ms   (target <= 2 ms)      {'met' if us <= 2000 else 'NOT met'}")
m = re.search(r"(\d+) frames/s", replay)
if m:
    v = int(m.group(1))
    print(f"{'replay, 1 M Binance bookTicker, one thread':<66} {v:>8,} frames/s (target >= 500,000) {'met' if v >= 500_000 else 'NOT met'}")
m = re.search(r"p99 (\d+) us.*peak RSS (\d+) kB", lat)
if m:
    p99, rss = int(m.group(1)), int(m.group(2))
    print(f"{'p99 read -> producer at 100 k frames/s':<66} {p99:>8} us   (target <= 1,000 us) {'met' if p99 <= 1000 else 'NOT met'}")
    print(f"{'peak RSS, 1,000 instruments on 10 venues':<66} {rss / 1024:8.1f} MB   (target <= 200 MB)   {'met' if rss <= 200 * 1024 else 'NOT met'}")
print("Where a target is not met: the profile and what it would take are in BENCHMARKS.md.")
PY
fi
