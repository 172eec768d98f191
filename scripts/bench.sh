#!/usr/bin/env bash
# Whole-pipeline throughput and the side-by-side table with the peers (BENCHMARKS.md).
#
#   scripts/bench.sh            everything (first run: builds barter-data and installs cryptofeed)
#   BENCH_FRAMES=200000 scripts/bench.sh      fewer frames
#   BENCH_SKIP_PEERS=1 scripts/bench.sh       ours only (offline)
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
