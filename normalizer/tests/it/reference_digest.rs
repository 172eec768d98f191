//! `input_digest` as reference-price.md and the `reference` module doc define it: SHA-256
//! (lowercase hex) of the JSON `{"calc_time":..,"inputs":[..]}` with one row per configured source
//! in config order, `(connector, instrument, bid, ask, last, volume_24h, exchange_ts,
//! received_at, fx_rate)`. Every expected digest here is recomputed independently with
//! serde_json from the quotes the test fed in (and the record's own `fx_rate`), never taken from
//! a previous run, over the spec's worked examples, random tick sequences that exercise the
//! calculator's per-source caching (unchanged, changed, numerically equal but differently scaled,
//! vanished quotes, moving FX rates, names that need JSON escaping) and a whole engine.

use normalizer::reference::{PairCalculator, PairParams, Quote, ReferenceEngine, SourceSpec};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{ReferencePrice, Ts};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Serialize)]
struct Row<'a> {
    connector: &'a str,
    instrument: &'a str,
    bid: Option<Decimal>,
    ask: Option<Decimal>,
    last: Option<Decimal>,
    volume_24h: Option<Decimal>,
    exchange_ts: Option<Ts>,
    received_at: Option<Ts>,
    fx_rate: Option<Decimal>,
}

#[derive(Serialize)]
struct Canonical<'a> {
    calc_time: Ts,
    inputs: Vec<Row<'a>>,
}

/// The digest of `rec` recomputed from its definition.
fn expected_digest(specs: &[SourceSpec], quotes: &[Option<Quote>], rec: &ReferencePrice) -> String {
    let inputs = specs
        .iter()
        .zip(&rec.constituents)
        .map(|(s, c)| {
            let q = quotes.get(s.slot).and_then(Option::as_ref);
            Row {
                connector: &s.connector,
                instrument: &s.instrument,
                bid: q.and_then(|q| q.bid),
                ask: q.and_then(|q| q.ask),
                last: q.and_then(|q| q.last),
                volume_24h: q.and_then(|q| q.volume_24h),
                exchange_ts: q.and_then(|q| q.exchange_ts),
                received_at: q.map(|q| q.received_at),
                fx_rate: c.fx_rate,
            }
        })
        .collect();
    let json = serde_json::to_vec(&Canonical {
        calc_time: rec.calc_time,
        inputs,
    })
    .unwrap();
    hex::encode(Sha256::digest(&json))
}

fn ts(s: &str) -> Ts {
    Ts::parse_rfc3339(s).unwrap()
}

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

fn specs(base: &str, quote: &str, n: usize) -> Vec<SourceSpec> {
    (0..n)
        .map(|i| {
            spec(
                &((b'a' + i as u8) as char).to_string(),
                &format!("{base}-{quote}"),
                i,
            )
        })
        .collect()
}

fn mid(p: Decimal, at: Ts) -> Option<Quote> {
    let h = p * dec!(0.0001);
    Some(Quote {
        bid: Some(p - h),
        ask: Some(p + h),
        last: None,
        volume_24h: None,
        exchange_ts: Some(at),
        received_at: at,
    })
}

fn no_fx(_: &str) -> Option<Decimal> {
    None
}

/// Runs `ticks` through one calculator and checks every record's digest.
fn check_ticks(
    params: PairParams,
    specs: Vec<SourceSpec>,
    ticks: &[(Ts, Vec<Option<Quote>>)],
    fx: &dyn Fn(&str) -> Option<Decimal>,
) -> Vec<ReferencePrice> {
    let mut calc = PairCalculator::new(params, specs.clone());
    ticks
        .iter()
        .map(|(t, q)| {
            let rec = calc.compute(*t, q, fx);
            assert_eq!(rec.input_digest, expected_digest(&specs, q, &rec), "at {t}");
            rec
        })
        .collect()
}

#[test]
fn worked_examples_digests_follow_the_definition() {
    let t = ts("2026-11-24T12:00:00Z");
    // R1: five BTC-USD mids, one outlier.
    let r1 = mids(
        &[
            dec!(64000.50),
            dec!(63992.00),
            dec!(64011.00),
            dec!(64006.00),
            dec!(67405.00),
        ],
        t,
    );
    let recs = check_ticks(
        PairParams::new("BTC", "USD", false),
        specs("BTC", "USD", 5),
        &[(t, r1)],
        &no_fx,
    );
    assert_eq!(recs[0].price, Some(dec!(64003.25)));

    // R2: one of five ETH-USD sources is 12 s old.
    let t2 = ts("2026-11-24T12:00:10Z");
    let mut r2 = mids(
        &[
            dec!(3000.10),
            dec!(3000.20),
            dec!(3000.90),
            dec!(3000.30),
            dec!(3000.40),
        ],
        t2,
    );
    r2[2] = mid(dec!(3000.90), ts("2026-11-24T11:59:58Z"));
    let recs = check_ticks(
        PairParams::new("ETH", "USD", false),
        specs("ETH", "USD", 5),
        &[(t2, r2)],
        &no_fx,
    );
    assert_eq!(recs[0].price, Some(dec!(3000.25)));

    // R3: two SOL-USD sources agree, then conflict (C has no data), on the same calculator.
    let r3a = vec![mid(dec!(150.00), t), mid(dec!(150.30), t), None];
    let t3 = t.plus_millis(1000);
    let r3b = vec![mid(dec!(150.00), t3), mid(dec!(165.00), t3), None];
    let recs = check_ticks(
        PairParams::new("SOL", "USD", false),
        specs("SOL", "USD", 3),
        &[(t, r3a), (t3, r3b)],
        &no_fx,
    );
    assert_eq!(recs[0].price, Some(dec!(150.15)));
    assert_eq!(recs[1].price, Some(dec!(150.15)), "held");

    // R4: volume weights.
    let r4: Vec<Option<Quote>> = [
        (dec!(100.00), dec!(10)),
        (dec!(100.10), dec!(20)),
        (dec!(100.20), dec!(40)),
        (dec!(100.40), dec!(30)),
    ]
    .iter()
    .map(|&(p, v)| {
        mid(p, t).map(|q| Quote {
            volume_24h: Some(v),
            ..q
        })
    })
    .collect();
    let mut params = PairParams::new("X", "USD", false);
    params.weighting = normalizer::reference::Weighting::Volume;
    check_ticks(params, specs("X", "USD", 4), &[(t, r4)], &no_fx);

    // R5: one source at +5.31 %, +3.0 %, +2.4 % on successive ticks; the others unchanged
    // (their rows repeat byte for byte while calc_time moves).
    let base = [dec!(100), dec!(100), dec!(100), dec!(100)];
    let ticks: Vec<(Ts, Vec<Option<Quote>>)> = [dec!(105.31), dec!(103.0), dec!(102.4)]
        .iter()
        .enumerate()
        .map(|(k, &p)| {
            let tk = t.plus_millis(1000 * k as i64);
            let mut q = mids(&base, t);
            q.push(mid(p, tk));
            (tk, q)
        })
        .collect();
    let recs = check_ticks(
        PairParams::new("Y", "USD", false),
        specs("Y", "USD", 5),
        &ticks,
        &no_fx,
    );
    assert!(recs[2].constituents[4].included);
}

fn mids(prices: &[Decimal], at: Ts) -> Vec<Option<Quote>> {
    prices.iter().map(|p| mid(*p, at)).collect()
}

#[test]
fn converted_sources_hash_the_rate_of_each_tick() {
    let t = ts("2026-11-24T12:00:00Z");
    let specs = vec![
        spec("a", "X-USD", 0),
        spec("b", "X-USDT", 1),
        spec("c", "X-USDT", 2),
    ];
    let q = mids(&[dec!(100), dec!(100), dec!(100)], t);
    let mut calc = PairCalculator::new(PairParams::new("X", "USD", false), specs.clone());
    // Same quotes, rate present, moved, rescaled (equal value, other bytes), gone, back.
    for (k, rate) in [
        Some(dec!(1.0000)),
        Some(dec!(1.0001)),
        Some(dec!(1.00010)),
        None,
        Some(dec!(1.0001)),
    ]
    .into_iter()
    .enumerate()
    {
        let tk = t.plus_millis(100 * k as i64);
        let fx = move |_: &str| rate;
        let rec = calc.compute(tk, &q, &fx);
        assert_eq!(rec.constituents[1].fx_rate, rate);
        assert_eq!(rec.input_digest, expected_digest(&specs, &q, &rec));
    }
}

// ---------------------------------------------------------------- random sequences

/// What a source delivers at one tick relative to its previous quote.
#[derive(Clone, Debug)]
enum Step {
    Same,
    Gone,
    /// A new quote: mantissas, scales, stamps.
    New(i64, u32, i64, u32, Option<i64>, i64),
    /// The same value with two more decimal places (equal as numbers, not as text).
    Rescale,
    /// Only the timestamps move.
    Restamp(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Same),
        1 => Just(Step::Gone),
        3 => (
            -1_000_000i64..100_000_000,
            0u32..8,
            0i64..1_000_000,
            0u32..4,
            prop::option::of(-20_000i64..5_000),
            -20_000i64..0,
        )
            .prop_map(|(m, s, v, vs, ex, rx)| Step::New(m, s, v, vs, ex, rx)),
        1 => Just(Step::Rescale),
        1 => (-3_000i64..3_000).prop_map(Step::Restamp),
    ]
}

fn apply(prev: &Option<Quote>, step: &Step, t: Ts) -> Option<Quote> {
    match step {
        Step::Same => prev.clone(),
        Step::Gone => None,
        Step::New(m, s, v, vs, ex, rx) => {
            let p = Decimal::new(*m, *s);
            let h = Decimal::new(m.abs() / 2000 + 1, *s);
            let last_only = m % 3 == 0;
            Some(Quote {
                bid: (!last_only).then(|| p - h),
                ask: (!last_only).then(|| p + h),
                last: Some(p),
                volume_24h: (v % 5 != 0).then(|| Decimal::new(*v, *vs)),
                exchange_ts: ex.map(|ms| t.plus_millis(ms)),
                received_at: t.plus_millis(*rx),
            })
        }
        Step::Rescale => prev.clone().map(|mut q| {
            let up = |d: Option<Decimal>| {
                d.map(|mut d| {
                    if d.scale() <= 26 {
                        d.rescale(d.scale() + 2);
                    }
                    d
                })
            };
            q.bid = up(q.bid);
            q.ask = up(q.ask);
            q.last = up(q.last);
            q.volume_24h = up(q.volume_24h);
            q
        }),
        Step::Restamp(ms) => prev.clone().map(|mut q| {
            q.received_at = q.received_at.plus_millis(*ms);
            q.exchange_ts = q.exchange_ts.map(|e| e.plus_millis(*ms));
            q
        }),
    }
}

/// Connector names that need JSON escaping or are not ASCII.
fn name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{1,8}-main", "[a-z\"\\\\/\u{0}-\u{1f}\u{7f}é€😀]{0,6}",]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn digests_follow_the_definition_over_tick_sequences(
        names in prop::collection::vec((name(), any::<bool>()), 1..7),
        steps in prop::collection::vec(prop::collection::vec(step(), 7), 1..10),
        rates in prop::collection::vec(prop::option::of((1i64..20_000, 0u32..6)), 10),
    ) {
        let specs: Vec<SourceSpec> = names
            .iter()
            .enumerate()
            .map(|(i, (n, usdt))| spec(n, if *usdt { "X-USDT" } else { "X-USD" }, i))
            .collect();
        let mut calc = PairCalculator::new(PairParams::new("X", "USD", false), specs.clone());
        let mut quotes: Vec<Option<Quote>> = vec![None; specs.len()];
        let t0 = ts("2026-11-24T12:00:00Z");
        for (k, tick) in steps.iter().enumerate() {
            let t = t0.plus_millis(1000 * k as i64);
            quotes = quotes.iter().zip(tick).map(|(q, s)| apply(q, s, t)).collect();
            let rate = rates[k].map(|(m, s)| Decimal::new(m, s));
            let fx = move |_: &str| rate;
            let rec = calc.compute(t, &quotes, &fx);
            prop_assert_eq!(&rec.input_digest, &expected_digest(&specs, &quotes, &rec));
        }
    }
}

#[test]
fn engine_digests_follow_the_definition_when_some_sources_change() {
    // Two pairs converting through a USDT-USD leg, ten ticks, a different source moving each
    // tick; slots shared between pairs as the live quote table does.
    let t0 = ts("2026-11-24T12:00:00Z");
    let leg = vec![
        spec("a", "USDT-USD", 0),
        spec("b", "USDT-USD", 1),
        spec("c", "USDT-USD", 2),
    ];
    let btc = vec![
        spec("a", "BTC-USD", 3),
        spec("b", "BTC-USDT", 4),
        spec("c", "BTC-USDT", 5),
        spec("d", "BTC-USD", 6),
    ];
    let eth = vec![
        spec("a", "ETH-USDT", 7),
        spec("b", "ETH-USD", 8),
        spec("c", "ETH-USD", 9),
    ];
    let mut engine = ReferenceEngine::new(vec![
        PairCalculator::new(PairParams::new("BTC", "USD", false), btc.clone()),
        PairCalculator::new(PairParams::new("ETH", "USD", false), eth.clone()),
        PairCalculator::new(PairParams::new("USDT", "USD", true), leg.clone()),
    ])
    .unwrap();
    let prices = [
        dec!(1.0001),
        dec!(0.9999),
        dec!(1.0000),
        dec!(64000),
        dec!(64010),
        dec!(63990),
        dec!(64005),
        dec!(3200),
        dec!(3201),
        dec!(3199),
    ];
    let mut quotes: Vec<Option<Quote>> = prices.iter().map(|p| mid(*p, t0)).collect();
    for k in 0..10usize {
        let t = t0.plus_millis(1000 * k as i64);
        let moved = k % prices.len();
        quotes[moved] = mid(prices[moved] + Decimal::new(k as i64, 4), t);
        let recs = engine.tick(t, &quotes);
        assert_eq!(recs.len(), 3);
        for (rec, specs) in recs.iter().zip([&leg, &btc, &eth]) {
            assert_eq!(
                rec.input_digest,
                expected_digest(specs, &quotes, rec),
                "{} at {t}",
                rec.base
            );
        }
        assert!(recs[1].constituents[1].fx_rate.is_some());
    }
}
