//! Invariants of the median reference price (reference-price.md): the result does not depend on
//! the order of the sources, lies within the prices it was formed from, and ignores sources that
//! never delivered anything.

use normalizer::reference::{PairCalculator, PairParams, Quote, SourceSpec, Weighting};
use proptest::prelude::*;
use rust_decimal::Decimal;
use schemas::{ExclusionReason, ReferencePrice, Ts};

const TICKS: usize = 3;

fn t0() -> Ts {
    Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap()
}

/// What one source delivers at one tick.
#[derive(Clone, Debug)]
enum Input {
    None,
    Mid(Decimal),
    Last(Decimal),
    /// A mid stamped 15 s before the tick.
    Stale(Decimal),
    Crossed(Decimal),
}

#[derive(Clone, Debug)]
struct Source {
    connector: String,
    volume: Option<Decimal>,
    static_weight: Option<Decimal>,
    ticks: Vec<Input>,
}

/// Prices on a 0.50 grid around 100: ties are common and about half of the range lies beyond
/// the 5 % band, so outliers, hysteresis and conflicts all occur.
fn price() -> impl Strategy<Value = Decimal> {
    (-24i64..=24).prop_map(|k| Decimal::new(10_000 + k * 50, 2))
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => Just(Input::None),
        5 => price().prop_map(Input::Mid),
        2 => price().prop_map(Input::Last),
        1 => price().prop_map(Input::Stale),
        1 => price().prop_map(Input::Crossed),
    ]
}

fn source() -> impl Strategy<Value = (Option<Decimal>, Option<Decimal>, Vec<Input>)> {
    (
        prop::option::weighted(0.9, (0i64..1000).prop_map(Decimal::from)),
        prop::option::of((0i64..5).prop_map(Decimal::from)),
        prop::collection::vec(input(), TICKS),
    )
}

fn named_sources(max: usize) -> impl Strategy<Value = Vec<Source>> {
    prop::collection::vec(source(), 1..max).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (volume, static_weight, ticks))| Source {
                connector: format!("src{i}"),
                volume,
                static_weight,
                ticks,
            })
            .collect()
    })
}

fn weighting() -> impl Strategy<Value = Weighting> {
    prop_oneof![
        Just(Weighting::Equal),
        Just(Weighting::Volume),
        Just(Weighting::Static),
    ]
}

fn quote(input: &Input, volume: Option<Decimal>, t: Ts) -> Option<Quote> {
    let fresh = t.plus_millis(-500);
    let book = |p: Decimal, half: Decimal, at: Ts| Quote {
        bid: Some(p - half),
        ask: Some(p + half),
        last: None,
        volume_24h: volume,
        exchange_ts: Some(at),
        received_at: at,
    };
    let tick = Decimal::new(1, 2);
    match input {
        Input::None => None,
        Input::Mid(p) => Some(book(*p, tick, fresh)),
        Input::Stale(p) => Some(book(*p, tick, t.plus_millis(-15_000))),
        Input::Crossed(p) => Some(book(*p, -tick, fresh)),
        Input::Last(p) => Some(Quote {
            last: Some(*p),
            volume_24h: volume,
            exchange_ts: Some(fresh),
            received_at: fresh,
            ..Quote::default()
        }),
    }
}

fn no_fx(_: &str) -> Option<Decimal> {
    None
}

/// Runs all ticks over `sources` (slot = position) and returns every record.
fn run(sources: &[Source], weighting: Weighting) -> Vec<ReferencePrice> {
    let mut params = PairParams::new("X", "USD", false);
    params.weighting = weighting;
    let specs = sources
        .iter()
        .enumerate()
        .map(|(slot, s)| SourceSpec {
            venue: "sim".to_owned(),
            connector: s.connector.clone(),
            instrument: "X-USD".to_owned(),
            quote_asset: "USD".to_owned(),
            static_weight: s.static_weight,
            slot,
        })
        .collect();
    let mut calc = PairCalculator::new(params, specs);
    (0..TICKS)
        .map(|k| {
            let t = t0().plus_millis(1000 * k as i64);
            let quotes: Vec<Option<Quote>> = sources
                .iter()
                .map(|s| quote(&s.ticks[k], s.volume, t))
                .collect();
            calc.compute(t, &quotes, &no_fx)
        })
        .collect()
}

/// The parts of a record that must not depend on source order or on silent extra sources.
fn outcome(r: &ReferencePrice) -> impl PartialEq + std::fmt::Debug {
    (
        r.price,
        r.status,
        r.conf,
        r.price_low,
        r.price_high,
        r.n_fresh,
        r.n_valid,
        r.reasons.clone(),
        r.last_good_price,
    )
}

/// Per connector: (included, exclusion reason), sorted by connector.
fn per_source(r: &ReferencePrice) -> Vec<(String, bool, Option<ExclusionReason>)> {
    let mut v: Vec<_> = r
        .constituents
        .iter()
        .map(|c| (c.connector.to_string(), c.included, c.exclusion_reason))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

proptest! {
    #[test]
    fn order_independent(
        (sources, shuffled) in named_sources(9)
            .prop_flat_map(|s| (Just(s.clone()), Just(s).prop_shuffle())),
        w in weighting(),
    ) {
        let a = run(&sources, w);
        let b = run(&shuffled, w);
        for (ra, rb) in a.iter().zip(&b) {
            prop_assert_eq!(outcome(ra), outcome(rb));
            prop_assert_eq!(per_source(ra), per_source(rb));
            prop_assert_eq!(&ra.params_hash, &rb.params_hash);
        }
    }

    #[test]
    fn price_within_included_prices(sources in named_sources(9), w in weighting()) {
        for r in run(&sources, w) {
            let included: Vec<Decimal> = r
                .constituents
                .iter()
                .filter(|c| c.included)
                .map(|c| c.price.expect("an included source has a price"))
                .collect();
            prop_assert_eq!(included.len() as u32, r.n_valid);
            if r.status.is_usable() {
                let p = r.price.expect("a usable record has a price");
                let lo = included.iter().min().copied().expect("a new price has sources");
                let hi = included.iter().max().copied().expect("a new price has sources");
                prop_assert!(lo <= p && p <= hi, "{} not in [{}, {}]", p, lo, hi);
                let conf = r.conf.expect("a new price has a confidence");
                prop_assert!(conf >= Decimal::ZERO);
                prop_assert_eq!(r.price_low, Some(p - conf));
                prop_assert_eq!(r.price_high, Some(p + conf));
            } else {
                prop_assert!(included.is_empty());
                prop_assert_eq!(r.conf, None);
            }
        }
    }

    #[test]
    fn silent_sources_change_nothing(
        sources in named_sources(7),
        extra in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        w in weighting(),
    ) {
        let mut with_extra = sources.clone();
        for (i, at) in extra.iter().enumerate() {
            let pos = at.index(with_extra.len() + 1);
            with_extra.insert(pos, Source {
                connector: format!("silent{i}"),
                volume: None,
                static_weight: Some(Decimal::from(7)),
                ticks: vec![Input::None; TICKS],
            });
        }
        let a = run(&sources, w);
        let b = run(&with_extra, w);
        for (ra, rb) in a.iter().zip(&b) {
            prop_assert_eq!(outcome(ra), outcome(rb));
            prop_assert_eq!(rb.n_configured, ra.n_configured + extra.len() as u32);
            let silent: Vec<_> = rb
                .constituents
                .iter()
                .filter(|c| c.connector.starts_with("silent"))
                .collect();
            prop_assert!(silent
                .iter()
                .all(|c| c.exclusion_reason == Some(ExclusionReason::NoData) && !c.included));
        }
    }
}
