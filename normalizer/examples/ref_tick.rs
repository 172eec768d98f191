//! Fixed-work driver for instruction counts of one reference tick (the criterion bench's
//! 1,000 pairs x 10 sources), e.g.
//! `valgrind --tool=callgrind target/release/examples/ref_tick same 20`.
//! Modes: `same` (no quote changes between ticks), `some` (1 source in 10 changes per tick),
//! `all` (every quote changes every tick). A third argument `fp` prints a SHA-256 over every
//! record's JSON (to compare builds); wall times per tick (and of dropping the
//! returned records, timed apart) go to stderr. `REF_THREADS=n` sets
//! the engine's threads (default: the engine's own choice).

use normalizer::reference::{PairCalculator, PairParams, Quote, ReferenceEngine, SourceSpec};
use rust_decimal::Decimal;
use schemas::Ts;
use sha2::{Digest, Sha256};

const PAIRS: usize = 1_000;
const SOURCES: usize = 10;
const T0: i64 = 1_795_000_000_000; // ms

fn quote(s: usize, shift: i64) -> Option<Quote> {
    let mid = Decimal::new(
        6_400_325 + (s as i64) * 7 + shift + if s == 9 { 900_000 } else { 0 },
        2,
    );
    Some(Quote {
        bid: Some(mid - Decimal::new(1, 2)),
        ask: Some(mid + Decimal::new(1, 2)),
        last: Some(mid),
        volume_24h: Some(Decimal::new(12_345, 1)),
        exchange_ts: Some(Ts::from_millis(T0 - 150 + shift)),
        received_at: Ts::from_millis(T0 - 100 + shift),
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "same".into());
    let ticks: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let fingerprint = args.next().as_deref() == Some("fp");
    let mut calcs = Vec::with_capacity(PAIRS);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for p in 0..PAIRS {
        let base = format!("A{p:03}");
        let sources = (0..SOURCES)
            .map(|s| SourceSpec {
                venue: format!("venue{s}"),
                connector: format!("venue{s}-main"),
                instrument: format!("{base}-USD"),
                quote_asset: "USD".into(),
                static_weight: None,
                slot: p * SOURCES + s,
            })
            .collect();
        calcs.push(PairCalculator::new(
            PairParams::new(&base, "USD", false),
            sources,
        ));
        for s in 0..SOURCES {
            a.push(quote(s, 0));
            let changes = match mode.as_str() {
                "all" => true,
                "some" => s == p % SOURCES,
                _ => false,
            };
            b.push(quote(s, if changes { 1 } else { 0 }));
        }
    }
    let mut engine = ReferenceEngine::new(calcs).expect("pairs");
    if let Some(n) = std::env::var("REF_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        engine = engine.with_threads(n);
    }
    eprintln!("threads: {}", engine.threads());
    let mut n = 0usize;
    // A fingerprint of every record's bytes, to compare builds.
    let mut all = Sha256::new();
    let mut times = Vec::with_capacity(ticks);
    let mut drops = Vec::with_capacity(ticks);
    for i in 0..ticks {
        let quotes = if i % 2 == 0 { &a } else { &b };
        let start = std::time::Instant::now();
        let recs = engine.tick(Ts::from_millis(T0 + i as i64), quotes);
        times.push(start.elapsed());
        n += recs.iter().filter(|r| r.price.is_some()).count();
        if fingerprint {
            for r in &recs {
                all.update(serde_json::to_vec(r).expect("encodes"));
            }
        }
        let start = std::time::Instant::now();
        drop(recs);
        drops.push(start.elapsed());
    }
    let all = hex::encode(all.finalize());
    println!("{mode}: {ticks} ticks, {n} priced records, records sha256 {all}");
    // Wall time per tick after the first (which builds the row caches): min and median.
    let mut rest = times.split_off(1.min(times.len()));
    rest.sort();
    drops.sort();
    if let (Some(min), Some(med), Some(drop)) = (
        rest.first(),
        rest.get(rest.len() / 2),
        drops.get(drops.len() / 2),
    ) {
        eprintln!(
            "{mode}: tick min {min:?}, median {med:?} ({} ticks); dropping the records: median {drop:?}",
            rest.len()
        );
    }
}
