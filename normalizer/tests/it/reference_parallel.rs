//! A tick split across threads gives the records of the sequential tick, byte for byte and in
//! the same order, for pair counts spanning several of the engine's 32-pair batches, over
//! dependency chains of FX legs (a leg of a leg), legs that turn unusable, sources moving,
//! vanishing and being rescaled between ticks.

use normalizer::reference::{PairCalculator, PairParams, Quote, ReferenceEngine, SourceSpec};
use proptest::prelude::*;
use rust_decimal::Decimal;
use schemas::{ReferencePrice, Ts};

fn spec(connector: &str, instrument: &str, slot: usize) -> SourceSpec {
    SourceSpec {
        venue: connector.to_owned(),
        connector: connector.to_owned(),
        instrument: instrument.to_owned(),
        quote_asset: instrument.rsplit('-').next().unwrap().to_owned(),
        static_weight: None,
        slot,
    }
}

/// Pairs in config order, dependent ones first: `X<i>-USD` pairs quoted in USD, USDT or USDC,
/// `USDC-USD` partly converted through `USDT-USD` (two levels of legs), 4 sources each.
fn pairs(n: usize) -> (Vec<PairCalculator>, usize) {
    let mut slot = 0;
    let mut next = |connector: &str, instrument: &str| {
        slot += 1;
        spec(connector, instrument, slot - 1)
    };
    let mut calcs = Vec::new();
    for i in 0..n {
        let base = format!("X{i}");
        let srcs = ["USD", "USDT", "USDC", "USD"]
            .iter()
            .enumerate()
            .map(|(k, q)| next(&format!("v{k}"), &format!("{base}-{q}")))
            .collect();
        calcs.push(PairCalculator::new(
            PairParams::new(&base, "USD", false),
            srcs,
        ));
    }
    let usdc = ["USD", "USDT", "USD", "USD"]
        .iter()
        .enumerate()
        .map(|(k, q)| next(&format!("v{k}"), &format!("USDC-{q}")))
        .collect();
    calcs.push(PairCalculator::new(
        PairParams::new("USDC", "USD", true),
        usdc,
    ));
    let usdt = (0..4).map(|k| next(&format!("v{k}"), "USDT-USD")).collect();
    calcs.push(PairCalculator::new(
        PairParams::new("USDT", "USD", true),
        usdt,
    ));
    (calcs, slot)
}

fn run(threads: usize, n: usize, ticks: &[Vec<Option<Quote>>]) -> Vec<Vec<ReferencePrice>> {
    let (calcs, _) = pairs(n);
    let mut engine = ReferenceEngine::new(calcs).unwrap().with_threads(threads);
    assert_eq!(engine.threads(), threads);
    let t0 = Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap();
    ticks
        .iter()
        .enumerate()
        .map(|(k, q)| engine.tick(t0.plus_millis(1000 * k as i64), q))
        .collect()
}

fn quote(base: i64, m: i64, scale: u32, age_ms: i64, t: Ts) -> Option<Quote> {
    let p = Decimal::new(base + m, scale);
    let h = Decimal::new(1, scale);
    Some(Quote {
        bid: Some(p - h),
        ask: Some(p + h),
        last: None,
        volume_24h: None,
        exchange_ts: Some(t.plus_millis(-age_ms)),
        received_at: t.plus_millis(-age_ms),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn threads_do_not_change_the_records(
        n in 1usize..100,
        moves in prop::collection::vec(prop::collection::vec((0u8..6, -300i64..300, 0i64..15_000), 200), 1..6),
    ) {
        let (_, slots) = pairs(n);
        let t0 = Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap();
        let mut quotes: Vec<Option<Quote>> = vec![None; slots];
        let mut ticks = Vec::new();
        for (k, mv) in moves.iter().enumerate() {
            let t = t0.plus_millis(1000 * k as i64);
            for (slot, q) in quotes.iter_mut().enumerate() {
                let (kind, m, age) = mv[slot % mv.len()];
                // Stablecoin legs near 1, the rest near 100; some stale, some gone, some
                // rescaled (equal value, other text).
                let base = if slot >= slots - 8 { 10_000 } else { 1_000_000 };
                *q = match kind {
                    0 => q.clone(),
                    1 => None,
                    2 => quote(base, m, 4, age, t),
                    3 => q.clone().map(|mut q| {
                        q.bid = q.bid.map(|mut d| { d.rescale(d.scale() + 1); d });
                        q
                    }),
                    _ => quote(base, m / 10, 4, age % 3_000, t),
                };
            }
            ticks.push(quotes.clone());
        }
        let one = run(1, n, &ticks);
        for threads in [2, 3, 7] {
            let many = run(threads, n, &ticks);
            prop_assert_eq!(&one, &many);
            for (a, b) in one.iter().zip(&many) {
                prop_assert_eq!(serde_json::to_string(a).unwrap(), serde_json::to_string(b).unwrap());
            }
        }
    }
}

#[test]
fn legs_are_used_in_parallel_ticks() {
    let (calcs, slots) = pairs(5);
    let mut engine = ReferenceEngine::new(calcs).unwrap().with_threads(2);
    let t = Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap();
    let quotes: Vec<Option<Quote>> = (0..slots)
        .map(|s| {
            quote(
                if s >= slots - 8 { 10_000 } else { 1_000_000 },
                0,
                4,
                100,
                t,
            )
        })
        .collect();
    let recs = engine.tick(t, &quotes);
    // USDT-USD, then USDC-USD (through USDT), then the X pairs, in config order after them.
    let keys: Vec<String> = recs
        .iter()
        .map(|r| format!("{}-{}", r.base, r.quote))
        .collect();
    assert_eq!(
        keys,
        ["USDT-USD", "USDC-USD", "X0-USD", "X1-USD", "X2-USD", "X3-USD", "X4-USD"]
    );
    assert_eq!(recs[1].constituents[1].fx_rate, recs[0].price);
    for r in &recs[2..] {
        assert_eq!(r.constituents[1].fx_rate, recs[0].price);
        assert_eq!(r.constituents[2].fx_rate, recs[1].price);
        assert!(r.price.is_some());
    }
}

#[test]
fn small_engines_stay_on_one_thread() {
    let (calcs, _) = pairs(3);
    assert_eq!(ReferenceEngine::new(calcs).unwrap().threads(), 1);
}
