#!/usr/bin/env bash
# Fuzzes every venue parser and the capture reader (cargo fuzz, libFuzzer; nightly toolchain).
#
#   bash scripts/fuzz.sh            # every target for 60 s
#   SECONDS_PER_TARGET=600 bash scripts/fuzz.sh venue_frame
#
# New inputs that widen coverage land in fuzz/corpus/<target>/; commit the small interesting
# ones: `cargo test -p connectors fuzz_corpus` replays every corpus file in the normal
# suite. A crash leaves its input in fuzz/artifacts/<target>/: copy it into the corpus once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-60}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# Seeds: the real payloads of connectors/tests/fixtures, one file per parser they belong to.
cargo test -q -p connectors --test fuzz_corpus -- --ignored write_seed_corpus >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi
for t in "${targets[@]}"; do
    echo "fuzz: $t for ${SECONDS_PER_TARGET} s"
    mkdir -p "fuzz/corpus/$t"
    (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -print_final_stats=1)
done
