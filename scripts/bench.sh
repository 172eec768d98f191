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
replay() { # label capture
    local line
    line=$("$BIN" replay "$OUT/$2" --stats 2>&1 >/dev/null | grep 'frames/s' | tail -1)
    printf '%-28s %s\n' "$1" "$line"
}
REPLAY_BINANCE=$(replay "binance bookTicker" "binance-$N.jsonl")
REPLAY_MIXED=$(replay "mixed, 10 venue kinds" "mixed-$N.jsonl")
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
python3 - "$OURS_COMBINED" "$OURS_RAW" "$BARTER" "$CRYPTOFEED" "$REPLAY_BINANCE" "$REPLAY_MIXED" "$N" <<'EOF'
import re, sys
ours_c, ours_r, barter, cf, rep_b, rep_m, n = sys.argv[1:]

def ours(text, stage):
    for line in text.splitlines():
        if line.startswith("ours " + stage + ":"):
            best = float(re.search(r"([\d.]+) ns/frame best", line).group(1))
            med = float(re.search(r"([\d.]+) ns/frame median", line).group(1))
            return best, med
    return None

def peer(text):
    m = re.search(r"([\d.]+) ns/frame", text or "")
    return float(m.group(1)) if m else None

rows = []
d_raw, d_comb = ours(ours_r, "decode (frame -> QuoteObs)"), ours(ours_c, "decode (frame -> QuoteObs)")
n_raw = ours(ours_r, "decode + normalize (-> price_tick.v1)")
n_comb = ours(ours_c, "decode + normalize (-> price_tick.v1)")
j_comb = ours(ours_c, "decode + normalize + JSON encode")
b, c = peer(barter), peer(cf)
rows.append(("collateral-tracker decode", "raw", d_raw))
rows.append(("collateral-tracker decode+normalize", "raw", n_raw))
rows.append(("collateral-tracker decode", "combined", d_comb))
rows.append(("collateral-tracker decode+normalize", "combined", n_comb))
rows.append(("collateral-tracker +JSON encode", "combined", j_comb))
if b is not None:
    rows.append(("barter-data 0.13 -> MarketEvent<OrderBookL1>", "raw", (b, None)))
if c is not None:
    rows.append(("cryptofeed 2.4.1 message_handler -> Ticker", "combined", (c, None)))
ref = n_raw[0]
print(f"Binance bookTicker, {int(n):,} real frames (cycled), best of passes; ratio = ns/frame / ours decode+normalize (raw)")
print(f"{'implementation':<48} {'frames':<9} {'ns/frame':>9} {'median':>8} {'frames/s':>11} {'ratio':>7}")
for name, form, v in rows:
    if v is None:
        continue
    best, med = v
    ms = f"{med:.0f}" if med else "-"
    print(f"{name:<48} {form:<9} {best:>9.1f} {ms:>8} {1e9/best:>11,.0f} {best/ref:>6.2f}x")
if b is not None:
    print(f"\nbarter-data / ours (same raw frames): {b / n_raw[0]:.2f}x   target >= 2x")
print(f"ours decode+normalize median (combined): {n_comb[1]:.0f} ns   target <= 250 ns")
print("\nreplay --stats:")
print(rep_b)
print(rep_m)
EOF
