//! The worked examples R1-R5 of `reference-price.md` and one test per exclusion reason, status
//! rule and reproducibility field. Expected figures come from the spec or are derived by hand
//! from its formulas, never from a previous run.

use normalizer::reference::{
    PairCalculator, PairParams, Quote, ReferenceEngine, ReferenceError, SourceSpec, Weighting,
    METHOD_VERSION,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{ExclusionReason, PriceStatus, PriceType, ReferencePrice, Ts};
use sha2::{Digest, Sha256};

fn ts(s: &str) -> Ts {
    Ts::parse_rfc3339(s).unwrap()
}

/// 2026-11-24T12:00:00Z, the first tick of every scenario.
fn t0() -> Ts {
    ts("2026-11-24T12:00:00Z")
}

fn secs(t: Ts, s: i64) -> Ts {
    t.plus_millis(s * 1000)
}

fn src(connector: &str, instrument: &str, slot: usize) -> SourceSpec {
    SourceSpec {
        venue: connector.split('-').next().unwrap().to_owned(),
        connector: connector.to_owned(),
        instrument: instrument.to_owned(),
        quote_asset: instrument.rsplit('-').next().unwrap().to_owned(),
        static_weight: None,
        slot,
    }
}

/// `n` sources of `base-quote`, connectors `a`, `b`, ... on slots 0..n.
fn sources(base: &str, quote: &str, n: usize) -> Vec<SourceSpec> {
    (0..n)
        .map(|i| {
            let name = ((b'a' + i as u8) as char).to_string();
            src(&name, &format!("{base}-{quote}"), i)
        })
        .collect()
}

fn calc(base: &str, quote: &str, n: usize) -> PairCalculator {
    PairCalculator::new(PairParams::new(base, quote, false), sources(base, quote, n))
}

/// A book whose mid is exactly `p` with a 2 bps spread, stamped `at`.
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

fn book(bid: Decimal, ask: Decimal, at: Ts) -> Option<Quote> {
    Some(Quote {
        bid: Some(bid),
        ask: Some(ask),
        last: None,
        volume_24h: None,
        exchange_ts: Some(at),
        received_at: at,
    })
}

fn last(p: Decimal, at: Ts) -> Option<Quote> {
    Some(Quote {
        last: Some(p),
        exchange_ts: Some(at),
        received_at: at,
        ..Quote::default()
    })
}

fn with_volume(q: Option<Quote>, v: Decimal) -> Option<Quote> {
    q.map(|q| Quote {
        volume_24h: Some(v),
        ..q
    })
}

fn mids(prices: &[Decimal], at: Ts) -> Vec<Option<Quote>> {
    prices.iter().map(|p| mid(*p, at)).collect()
}

fn no_fx(_: &str) -> Option<Decimal> {
    None
}

fn excl(r: &ReferencePrice, i: usize) -> Option<ExclusionReason> {
    r.constituents[i].exclusion_reason
}

fn has_reason(r: &ReferencePrice, reason: &str) -> bool {
    r.reasons.iter().any(|x| x == reason)
}

fn assert_no_duplicate_reasons(r: &ReferencePrice) {
    for (i, a) in r.reasons.iter().enumerate() {
        assert!(
            !r.reasons[i + 1..].contains(a),
            "duplicate reason {a} in {:?}",
            r.reasons
        );
    }
}

// ---------------------------------------------------------------- worked examples

#[test]
fn r1_outlier_excluded_median_of_four() {
    let t = t0();
    let mut c = calc("BTC", "USD", 5);
    let q = mids(
        &[
            dec!(64000.50),
            dec!(63992.00),
            dec!(64011.00),
            dec!(64006.00),
            dec!(67405.00),
        ],
        secs(t, -1),
    );
    let r = c.compute(t, &q, &no_fx);

    assert_eq!(r.price, Some(dec!(64003.25)));
    assert_eq!(r.conf, Some(dec!(2.75)));
    assert_eq!(r.price_low, Some(dec!(64000.50)));
    assert_eq!(r.price_high, Some(dec!(64006.00)));
    assert_eq!(r.status, PriceStatus::Ok);
    assert!(r.reasons.is_empty(), "{:?}", r.reasons);
    assert_eq!((r.n_configured, r.n_fresh, r.n_valid), (5, 5, 4));

    let e = &r.constituents[4];
    assert_eq!(e.exclusion_reason, Some(ExclusionReason::Outlier));
    assert!(!e.included);
    assert_eq!(e.weight, None);
    // (67405 - 64006) / 64006 * 10000 = 531.0439...
    assert_eq!(e.dev_bps, Some(dec!(531.04)));
    // D is M0 itself; A is (64000.50 - 64006) / 64006 * 10000 = -0.8593...
    assert_eq!(r.constituents[3].dev_bps, Some(dec!(0.00)));
    assert_eq!(r.constituents[0].dev_bps, Some(dec!(-0.86)));
    for c in &r.constituents[..4] {
        assert!(c.included);
        assert_eq!(c.exclusion_reason, None);
        assert_eq!(c.weight, Some(Decimal::ONE));
        assert_eq!(c.price_type, Some(PriceType::Mid));
        assert_eq!(c.fx_rate, None);
        assert_eq!(c.age_ms, Some(1000));
    }

    assert_eq!(r.seq, 1);
    assert_eq!(r.calc_time, t);
    assert_eq!(r.last_good_price, Some(dec!(64003.25)));
    assert_eq!(r.last_good_time, Some(t));
    assert_eq!(r.method_version, "median-v1");
    assert_eq!(r.base, "BTC");
    assert_eq!(r.quote, "USD");
}

#[test]
fn r2_twelve_second_old_source_is_stale() {
    let t = ts("2026-11-24T12:00:10.000Z");
    let recent = ts("2026-11-24T12:00:09.500Z");
    let mut c = calc("ETH", "USD", 5);
    let mut q = mids(
        &[
            dec!(3000.10),
            dec!(3000.20),
            dec!(2990.00),
            dec!(3000.30),
            dec!(3000.40),
        ],
        recent,
    );
    // Received just now, but the venue stamped it 12 s ago: age follows exchange_ts.
    q[2] = q[2].take().map(|q| Quote {
        exchange_ts: Some(ts("2026-11-24T11:59:58.000Z")),
        ..q
    });
    let r = c.compute(t, &q, &no_fx);

    assert_eq!(r.price, Some(dec!(3000.25)));
    assert_eq!(r.conf, Some(dec!(0.05)));
    assert_eq!(r.status, PriceStatus::Ok);
    assert_eq!((r.n_fresh, r.n_valid), (4, 4));
    assert_eq!(excl(&r, 2), Some(ExclusionReason::Stale));
    assert_eq!(r.constituents[2].age_ms, Some(12_000));
    assert_eq!(r.constituents[2].dev_bps, None);
    assert_eq!(r.constituents[2].source_price, Some(dec!(2990.00)));
}

#[test]
fn stale_boundary_is_exclusive() {
    let t = t0();
    let mut c = calc("ETH", "USD", 3);
    let q = vec![
        mid(dec!(3000), secs(t, -10)),
        mid(dec!(3000), t.plus_millis(-10_001)),
        mid(dec!(3000), t),
    ];
    let r = c.compute(t, &q, &no_fx);
    assert_eq!(excl(&r, 0), None, "exactly max_age old is still fresh");
    assert_eq!(excl(&r, 1), Some(ExclusionReason::Stale));
}

#[test]
fn r3_two_sources_mean_then_conflict_then_unavailable() {
    let t = t0();
    let mut c = calc("SOL", "USD", 3);
    let stale_c = |at: Ts| mid(dec!(149.00), secs(at, -30));

    let r = c.compute(
        t,
        &[mid(dec!(150.00), t), mid(dec!(150.30), t), stale_c(t)],
        &no_fx,
    );
    assert_eq!(r.price, Some(dec!(150.15)));
    assert_eq!(r.status, PriceStatus::Degraded);
    assert_eq!(r.reasons, vec!["QUORUM_NOT_MET".to_owned()]);
    assert_eq!((r.n_fresh, r.n_valid), (2, 2));
    assert_eq!(excl(&r, 2), Some(ExclusionReason::Stale));
    // n = 2, k = 0: max(150.15 - 150.00, 150.30 - 150.15)
    assert_eq!(r.conf, Some(dec!(0.15)));
    assert_eq!(r.seq, 1);

    // B = 165.00: 9.5 % apart, beyond the 5 % band.
    let t1 = secs(t, 1);
    let r = c.compute(
        t1,
        &[mid(dec!(150.00), t1), mid(dec!(165.00), t1), stale_c(t1)],
        &no_fx,
    );
    assert_eq!(r.reasons, vec!["SOURCE_CONFLICT".to_owned()]);
    assert_eq!(r.status, PriceStatus::Stale);
    assert_eq!(r.price, Some(dec!(150.15)));
    assert_eq!(r.last_good_price, Some(dec!(150.15)));
    assert_eq!(r.last_good_time, Some(t));
    assert_eq!((r.conf, r.price_low, r.price_high), (None, None, None));
    assert_eq!((r.n_fresh, r.n_valid), (2, 0));
    assert!(r.constituents.iter().all(|c| !c.included));
    assert_eq!(r.seq, 2);
    assert_no_duplicate_reasons(&r);

    // Held while the last good price is at most max_hold (60 s) old ...
    let t60 = secs(t, 60);
    let r = c.compute(
        t60,
        &[mid(dec!(150.00), t60), mid(dec!(165.00), t60), stale_c(t60)],
        &no_fx,
    );
    assert_eq!(r.status, PriceStatus::Stale);
    assert_eq!(r.price, Some(dec!(150.15)));
    assert_eq!(r.seq, 3);

    // ... then gone.
    let t61 = secs(t, 61);
    let r = c.compute(
        t61,
        &[mid(dec!(150.00), t61), mid(dec!(165.00), t61), stale_c(t61)],
        &no_fx,
    );
    assert_eq!(r.status, PriceStatus::Unavailable);
    assert_eq!(r.price, None);
    assert_eq!(r.last_good_price, Some(dec!(150.15)));
    assert_eq!(r.seq, 4);
}

fn r4_quotes(t: Ts) -> Vec<Option<Quote>> {
    // Config order deliberately not price order.
    vec![
        with_volume(mid(dec!(100.20), t), dec!(40)),
        with_volume(mid(dec!(100.00), t), dec!(10)),
        with_volume(mid(dec!(100.40), t), dec!(30)),
        with_volume(mid(dec!(100.10), t), dec!(20)),
    ]
}

#[test]
fn r4_volume_weighted_median() {
    let t = t0();
    let mut params = PairParams::new("X", "USD", false);
    params.weighting = Weighting::Volume;
    let mut c = PairCalculator::new(params, sources("X", "USD", 4));
    let r = c.compute(t, &r4_quotes(t), &no_fx);
    assert_eq!(r.price, Some(dec!(100.20)));
    assert_eq!(r.status, PriceStatus::Ok);
    assert!(!has_reason(&r, "WEIGHT_FALLBACK"));
    let w: Vec<_> = r.constituents.iter().map(|c| c.weight).collect();
    assert_eq!(
        w,
        vec![
            Some(dec!(40)),
            Some(dec!(10)),
            Some(dec!(30)),
            Some(dec!(20))
        ]
    );
}

#[test]
fn r4_equal_weights_take_the_mean_at_exactly_half() {
    let t = t0();
    let mut c = calc("X", "USD", 4);
    let r = c.compute(t, &r4_quotes(t), &no_fx);
    assert_eq!(r.price, Some(dec!(100.15)));
}

#[test]
fn r4_static_weights() {
    let t = t0();
    let mut params = PairParams::new("X", "USD", false);
    params.weighting = Weighting::Static;
    let mut s = sources("X", "USD", 4);
    for (spec, w) in s.iter_mut().zip([dec!(40), dec!(10), dec!(30), dec!(20)]) {
        spec.static_weight = Some(w);
    }
    let mut c = PairCalculator::new(params, s);
    let r = c.compute(t, &r4_quotes(t), &no_fx);
    assert_eq!(r.price, Some(dec!(100.20)));
    assert_eq!(r.constituents[0].weight, Some(dec!(40)));
}

#[test]
fn r5_outlier_hysteresis_over_successive_ticks() {
    let t = t0();
    let mut c = calc("X", "USD", 4);
    let tick = |c: &mut PairCalculator, s: i64, d: Decimal| {
        let at = secs(t, s);
        let q = mids(&[dec!(100.00), dec!(100.00), dec!(100.00), d], at);
        c.compute(at, &q, &no_fx)
    };

    let r = tick(&mut c, 0, dec!(105.31));
    assert_eq!(excl(&r, 3), Some(ExclusionReason::Outlier));
    assert_eq!(r.constituents[3].dev_bps, Some(dec!(531.00)));
    assert_eq!(r.price, Some(dec!(100.00)));
    assert_eq!(r.status, PriceStatus::Ok);

    let r = tick(&mut c, 1, dec!(103.00));
    assert_eq!(excl(&r, 3), Some(ExclusionReason::OutlierHysteresis));
    assert!(!r.constituents[3].included);
    assert_eq!(r.n_valid, 3);

    // band / 2 itself still keeps it out: it must fall *below* 2.5 %.
    let r = tick(&mut c, 2, dec!(102.50));
    assert_eq!(excl(&r, 3), Some(ExclusionReason::OutlierHysteresis));

    let r = tick(&mut c, 3, dec!(102.40));
    assert_eq!(excl(&r, 3), None);
    assert!(r.constituents[3].included);
    assert_eq!(r.n_valid, 4);

    // Out of the excluded state, +3.0 % is inside the band again.
    let r = tick(&mut c, 4, dec!(103.00));
    assert_eq!(excl(&r, 3), None);
    assert_eq!(r.n_valid, 4);

    // Without the history the same +3.0 % is simply included.
    let r = tick(&mut calc("X", "USD", 4), 1, dec!(103.00));
    assert_eq!(excl(&r, 3), None);
}

#[test]
fn hysteresis_state_is_untouched_with_fewer_than_three_fresh() {
    let t = t0();
    let mut c = calc("X", "USD", 4);
    let q = mids(&[dec!(100), dec!(100), dec!(100), dec!(106)], t);
    assert_eq!(
        excl(&c.compute(t, &q, &no_fx), 3),
        Some(ExclusionReason::Outlier)
    );
    // Two fresh (A and D): no outlier test, D counts, state kept.
    let t1 = secs(t, 1);
    let q = vec![mid(dec!(100), t1), None, None, mid(dec!(103), t1)];
    let r = c.compute(t1, &q, &no_fx);
    assert_eq!(excl(&r, 3), None);
    assert_eq!(r.price, Some(dec!(101.5)));
    // Back to four fresh: D is still in the excluded state.
    let t2 = secs(t, 2);
    let r = c.compute(
        t2,
        &mids(&[dec!(100), dec!(100), dec!(100), dec!(103)], t2),
        &no_fx,
    );
    assert_eq!(excl(&r, 3), Some(ExclusionReason::OutlierHysteresis));
}

// ---------------------------------------------------------------- exclusions

#[test]
fn book_and_time_exclusions() {
    let t = t0();
    let mut c = calc("BTC", "USD", 10);
    let fresh = secs(t, -1);
    let q = vec![
        mid(dec!(64000), fresh),
        mid(dec!(64001), fresh),
        mid(dec!(64002), fresh),
        book(dec!(64010), dec!(64000), fresh),  // crossed
        book(dec!(64000), dec!(64000), fresh),  // locked: bid >= ask
        book(dec!(63000), dec!(65000), fresh),  // 3.1 % spread
        last(dec!(0), fresh),                   // non-positive last
        book(dec!(-1), dec!(64000), fresh),     // non-positive side
        mid(dec!(64000), t.plus_millis(2_001)), // beyond the 2 s tolerance
        book(dec!(99.50), dec!(100.50), t),     // exactly 1 % spread: allowed
    ];
    let r = c.compute(t, &q, &no_fx);
    assert_eq!(excl(&r, 3), Some(ExclusionReason::CrossedBook));
    assert_eq!(excl(&r, 4), Some(ExclusionReason::CrossedBook));
    assert_eq!(excl(&r, 5), Some(ExclusionReason::WideSpread));
    assert_eq!(excl(&r, 6), Some(ExclusionReason::NonPositive));
    assert_eq!(excl(&r, 7), Some(ExclusionReason::NonPositive));
    assert_eq!(excl(&r, 8), Some(ExclusionReason::FutureTs));
    assert_eq!(r.constituents[8].age_ms, Some(-2_001));
    // The 1 %-spread source passes the book checks and fails only as an outlier at 100.
    assert_eq!(excl(&r, 9), Some(ExclusionReason::Outlier));
    assert_eq!(r.constituents[9].source_price, Some(dec!(100.00)));
    assert_eq!(r.n_fresh, 4);
    assert_eq!(r.n_valid, 3);
    assert_eq!(r.price, Some(dec!(64001)));
    assert_eq!(r.status, PriceStatus::Ok);
    // Excluded sources still show what is known of them.
    assert_eq!(r.constituents[5].source_price, Some(dec!(64000)));
    assert_eq!(r.constituents[5].price, Some(dec!(64000)));
    assert_eq!(r.constituents[5].dev_bps, None);
    assert_eq!(r.constituents[6].price_type, Some(PriceType::Last));
}

#[test]
fn future_tolerance_boundary_is_inclusive() {
    let t = t0();
    let mut c = calc("BTC", "USD", 3);
    let q = vec![
        mid(dec!(64000), t.plus_millis(2_000)),
        mid(dec!(64000), t),
        mid(dec!(64000), t),
    ];
    assert_eq!(excl(&c.compute(t, &q, &no_fx), 0), None);
}

#[test]
fn no_data_and_no_fresh_sources() {
    let t = t0();
    let mut c = calc("BTC", "USD", 3);
    let only_bid = Some(Quote {
        bid: Some(dec!(64000)),
        exchange_ts: Some(t),
        received_at: t,
        ..Quote::default()
    });
    let r = c.compute(t, &[None, only_bid, None], &no_fx);
    assert_eq!(r.status, PriceStatus::Unavailable);
    assert_eq!(r.price, None);
    assert_eq!(r.reasons, vec!["NO_FRESH_SOURCES".to_owned()]);
    assert_eq!((r.n_configured, r.n_fresh, r.n_valid), (3, 0, 0));
    assert!(r
        .constituents
        .iter()
        .all(|c| c.exclusion_reason == Some(ExclusionReason::NoData)));
    assert_eq!(r.constituents[0].age_ms, None);
    assert_eq!(r.constituents[0].received_at, None);
    // A quote without a usable price is still recorded as far as it goes.
    assert_eq!(r.constituents[1].bid, Some(dec!(64000)));
    assert_eq!(r.constituents[1].age_ms, Some(0));
    assert_eq!(r.constituents[1].source_price, None);
    assert_eq!(r.last_good_price, None);
    // A slot beyond the quote table is no data as well.
    let r = c.compute(t, &[], &no_fx);
    assert_eq!(r.n_fresh, 0);
}

#[test]
fn last_is_used_without_a_full_book() {
    let t = t0();
    let mut c = calc("BTC", "USD", 3);
    let ask_and_last = Some(Quote {
        ask: Some(dec!(64100)),
        last: Some(dec!(64001)),
        exchange_ts: Some(t),
        received_at: t,
        ..Quote::default()
    });
    let r = c.compute(
        t,
        &[ask_and_last, mid(dec!(64000), t), mid(dec!(64002), t)],
        &no_fx,
    );
    assert_eq!(r.constituents[0].price_type, Some(PriceType::Last));
    assert_eq!(r.constituents[0].source_price, Some(dec!(64001)));
    assert_eq!(r.price, Some(dec!(64001)));
}

/// A stuck source in a moving market: A sits at 100 while B and C move to 101 (1 % >= 0.20 %).
#[test]
fn frozen_source_in_a_moving_market() {
    let t = t0();
    let mut c = calc("X", "USD", 3);
    let q = |at: Ts, b: Decimal| mids(&[dec!(100), b, b], at);

    let r = c.compute(t, &q(t, dec!(100)), &no_fx);
    assert_eq!(r.price, Some(dec!(100)));
    let r = c.compute(secs(t, 1), &q(secs(t, 1), dec!(101)), &no_fx);
    assert_eq!(r.price, Some(dec!(101)));
    assert_eq!(excl(&r, 0), None);

    let r = c.compute(secs(t, 59), &q(secs(t, 59), dec!(101)), &no_fx);
    assert_eq!(excl(&r, 0), None, "59 s unchanged is not yet frozen");

    let r = c.compute(secs(t, 60), &q(secs(t, 60), dec!(101)), &no_fx);
    assert_eq!(excl(&r, 0), Some(ExclusionReason::Frozen));
    assert_eq!(r.n_fresh, 2);
    assert_eq!(r.status, PriceStatus::Degraded);
    assert_eq!(r.price, Some(dec!(101)));

    // A moves: it counts again at once.
    let t61 = secs(t, 61);
    let r = c.compute(
        t61,
        &mids(&[dec!(100.9), dec!(101), dec!(101)], t61),
        &no_fx,
    );
    assert_eq!(excl(&r, 0), None);
    assert_eq!(r.n_valid, 3);
}

#[test]
fn unchanged_source_in_a_flat_market_is_not_frozen() {
    let t = t0();
    let mut c = calc("X", "USD", 3);
    // The reference moves by 0.1 %, below frozen_min_move.
    c.compute(t, &mids(&[dec!(100), dec!(100), dec!(100)], t), &no_fx);
    for s in 1..=120 {
        let at = secs(t, s);
        let r = c.compute(
            at,
            &mids(&[dec!(100), dec!(100.1), dec!(100.1)], at),
            &no_fx,
        );
        assert_eq!(excl(&r, 0), None, "tick {s}");
    }
}

// ---------------------------------------------------------------- FX

fn usdt_and_btc_engine(btc_first: bool) -> ReferenceEngine {
    let btc = PairCalculator::new(
        PairParams::new("BTC", "USD", false),
        vec![
            src("coinbase", "BTC-USD", 0),
            src("binance-spot", "BTC-USDT", 1),
            src("kraken-spot", "BTC-USD", 2),
        ],
    );
    let usdt = PairCalculator::new(
        PairParams::new("USDT", "USD", true),
        vec![
            src("kraken-spot", "USDT-USD", 3),
            src("coinbase", "USDT-USD", 4),
            src("bitstamp", "USDT-USD", 5),
        ],
    );
    let pairs = if btc_first {
        vec![btc, usdt]
    } else {
        vec![usdt, btc]
    };
    ReferenceEngine::new(pairs).unwrap()
}

fn fx_quotes(t: Ts, usdt: bool) -> Vec<Option<Quote>> {
    let mut q = mids(&[dec!(64000.00), dec!(64050.00), dec!(64010.00)], t);
    if usdt {
        q.extend(mids(&[dec!(0.9989), dec!(0.9990), dec!(0.9991)], t));
    } else {
        q.extend([None, None, None]);
    }
    q
}

#[test]
fn fx_conversion_through_the_usdt_leg() {
    let t = t0();
    let mut e = usdt_and_btc_engine(true);
    assert_eq!(e.pairs()[0].params().pair(), "USDT-USD");
    assert_eq!(e.pairs()[1].params().pair(), "BTC-USD");

    let recs = e.tick(t, &fx_quotes(t, true));
    assert_eq!(recs.len(), 2);
    assert_eq!(
        (recs[0].base.as_str(), recs[1].base.as_str()),
        ("USDT", "BTC")
    );
    assert_eq!(recs[0].price, Some(dec!(0.9990)));
    assert_eq!(recs[0].status, PriceStatus::Ok);

    let btc = &recs[1];
    let binance = &btc.constituents[1];
    assert_eq!(binance.source_price, Some(dec!(64050.00)));
    assert_eq!(binance.fx_rate, Some(dec!(0.9990)));
    // 64050 * 0.9990
    assert_eq!(binance.price, Some(dec!(63985.95)));
    assert!(binance.included);
    assert_eq!(btc.constituents[0].fx_rate, None);
    assert_eq!(btc.price, Some(dec!(64000.00)));
    assert_eq!(btc.status, PriceStatus::Ok);
}

#[test]
fn fx_unavailable_when_the_leg_is_unavailable() {
    let t = t0();
    let mut e = usdt_and_btc_engine(false);
    let recs = e.tick(t, &fx_quotes(t, false));
    assert_eq!(recs[0].status, PriceStatus::Unavailable);
    let btc = &recs[1];
    let binance = &btc.constituents[1];
    assert_eq!(
        binance.exclusion_reason,
        Some(ExclusionReason::FxUnavailable)
    );
    assert_eq!(binance.fx_rate, None);
    assert_eq!(binance.price, None);
    assert_eq!(binance.source_price, Some(dec!(64050.00)));
    assert_eq!(btc.price, Some(dec!(64005.00)));
    assert_eq!(btc.status, PriceStatus::Degraded);
    assert_eq!(btc.reasons, vec!["QUORUM_NOT_MET".to_owned()]);
}

#[test]
fn fx_unavailable_when_the_leg_is_only_stale() {
    let t = t0();
    let mut e = usdt_and_btc_engine(true);
    e.tick(t, &fx_quotes(t, true));
    let t1 = secs(t, 1);
    let mut q = fx_quotes(t1, false);
    // USDT sources all 20 s old: the leg holds its price as STALE, not usable for conversion.
    q.splice(
        3..,
        mids(&[dec!(0.9989), dec!(0.9990), dec!(0.9991)], secs(t, -20)),
    );
    let recs = e.tick(t1, &q);
    assert_eq!(recs[0].status, PriceStatus::Stale);
    assert_eq!(recs[0].price, Some(dec!(0.9990)));
    assert_eq!(
        recs[1].constituents[1].exclusion_reason,
        Some(ExclusionReason::FxUnavailable)
    );
}

#[test]
fn fx_closure_on_a_single_calculator() {
    let t = t0();
    let mut c = PairCalculator::new(
        PairParams::new("ETH", "USD", false),
        vec![
            src("binance-spot", "ETH-USDT", 0),
            src("okx", "ETH-USDC", 1),
            src("coinbase", "ETH-USD", 2),
        ],
    );
    let fx = |a: &str| (a == "USDT").then_some(dec!(1.0005));
    let r = c.compute(t, &mids(&[dec!(3000), dec!(3001), dec!(3002)], t), &fx);
    assert_eq!(r.constituents[0].fx_rate, Some(dec!(1.0005)));
    assert_eq!(r.constituents[0].price, Some(dec!(3001.5)));
    assert_eq!(excl(&r, 1), Some(ExclusionReason::FxUnavailable));
    assert_eq!(r.price, Some(dec!(3001.75)));
}

// ---------------------------------------------------------------- weights and status

#[test]
fn weight_fallback_when_one_volume_dominates() {
    let t = t0();
    let mut params = PairParams::new("X", "USD", false);
    params.weighting = Weighting::Volume;
    let mut c = PairCalculator::new(params, sources("X", "USD", 3));
    // 1000 of 1002 is capped to 400.8, still 99.5 % of the capped total.
    let q = vec![
        with_volume(mid(dec!(100.2), t), dec!(1000)),
        with_volume(mid(dec!(100.0), t), dec!(1)),
        with_volume(mid(dec!(100.1), t), dec!(1)),
    ];
    let r = c.compute(t, &q, &no_fx);
    assert_eq!(r.reasons, vec!["WEIGHT_FALLBACK".to_owned()]);
    assert_eq!(r.price, Some(dec!(100.1)));
    assert_eq!(r.status, PriceStatus::Ok);
    assert!(r
        .constituents
        .iter()
        .all(|c| c.weight == Some(Decimal::ONE)));
}

#[test]
fn weight_fallback_when_a_volume_is_missing() {
    let t = t0();
    let mut params = PairParams::new("X", "USD", false);
    params.weighting = Weighting::Volume;
    let mut c = PairCalculator::new(params, sources("X", "USD", 4));
    let mut q = r4_quotes(t);
    q[2] = mid(dec!(100.40), t);
    let r = c.compute(t, &q, &no_fx);
    assert!(has_reason(&r, "WEIGHT_FALLBACK"));
    assert_eq!(r.price, Some(dec!(100.15)));
}

#[test]
fn volume_cap_limits_a_large_source() {
    let t = t0();
    let mut params = PairParams::new("X", "USD", false);
    params.weighting = Weighting::Volume;
    let mut c = PairCalculator::new(params, sources("X", "USD", 4));
    // Total 100: 45 is capped to 40; capped total 95, 40 < 47.5.
    let q = vec![
        with_volume(mid(dec!(100.00), t), dec!(45)),
        with_volume(mid(dec!(100.10), t), dec!(20)),
        with_volume(mid(dec!(100.20), t), dec!(20)),
        with_volume(mid(dec!(100.30), t), dec!(15)),
    ];
    let r = c.compute(t, &q, &no_fx);
    assert_eq!(r.constituents[0].weight, Some(dec!(40)));
    assert!(!has_reason(&r, "WEIGHT_FALLBACK"));
    // cumulative 40, 60 > 47.5 -> 100.10
    assert_eq!(r.price, Some(dec!(100.10)));
}

#[test]
fn dispersion_from_a_wide_confidence_band() {
    let t = t0();
    let mut c = calc("X", "USD", 3);
    // All within the 5 % band; conf = 3 = 3 % of 100.
    let r = c.compute(t, &mids(&[dec!(97), dec!(100), dec!(103)], t), &no_fx);
    assert_eq!(r.price, Some(dec!(100)));
    assert_eq!(r.conf, Some(dec!(3)));
    assert_eq!(r.status, PriceStatus::Degraded);
    assert_eq!(r.reasons, vec!["DISPERSION".to_owned()]);

    // conf exactly 1 % is not above it.
    let r = c.compute(t, &mids(&[dec!(99), dec!(100), dec!(101)], t), &no_fx);
    assert_eq!(r.status, PriceStatus::Ok);
    assert!(r.reasons.is_empty());
}

#[test]
fn dispersion_when_most_fresh_sources_are_outliers() {
    let t = t0();
    let mut c = calc("X", "USD", 5);
    let r = c.compute(
        t,
        &mids(&[dec!(80), dec!(90), dec!(100), dec!(110), dec!(120)], t),
        &no_fx,
    );
    assert_eq!(r.price, Some(dec!(100)));
    assert_eq!(r.n_valid, 1);
    assert_eq!(r.status, PriceStatus::Degraded);
    assert!(has_reason(&r, "SINGLE_SOURCE"));
    assert!(has_reason(&r, "DISPERSION"));
    assert_eq!(r.reasons.len(), 2);
}

#[test]
fn dispersion_is_not_repeated() {
    let t = t0();
    let mut c = calc("X", "USD", 5);
    // 3 of 5 outliers (> half) and the two survivors 4 % apart (conf 2 % of P).
    let r = c.compute(
        t,
        &mids(&[dec!(80), dec!(98), dec!(100), dec!(102), dec!(120)], t),
        &no_fx,
    );
    assert_eq!(r.n_valid, 3);
    let r = c.compute(
        t,
        &mids(&[dec!(80), dec!(85), dec!(100), dec!(104), dec!(120)], t),
        &no_fx,
    );
    assert_eq!(r.n_valid, 2);
    assert_eq!(r.price, Some(dec!(102)));
    assert_eq!(r.status, PriceStatus::Degraded);
    assert_eq!(
        r.reasons,
        vec!["QUORUM_NOT_MET".to_owned(), "DISPERSION".to_owned()]
    );
}

#[test]
fn single_source_within_and_beyond_the_band_of_the_last_good_price() {
    let t = t0();
    let mut c = calc("X", "USD", 3);
    c.compute(t, &mids(&[dec!(100), dec!(100), dec!(100)], t), &no_fx);

    let t1 = secs(t, 1);
    let r = c.compute(t1, &[mid(dec!(104), t1), None, None], &no_fx);
    assert_eq!(r.status, PriceStatus::Degraded);
    assert_eq!(r.price, Some(dec!(104)));
    assert_eq!(r.reasons, vec!["SINGLE_SOURCE".to_owned()]);
    assert_eq!(r.conf, Some(dec!(0)));

    // 110 is more than 5 % away from the last good 104: held, not published.
    let t2 = secs(t, 2);
    let r = c.compute(t2, &[mid(dec!(110), t2), None, None], &no_fx);
    assert_eq!(r.status, PriceStatus::Stale);
    assert_eq!(r.price, Some(dec!(104)));
    assert_eq!(r.n_valid, 0);
    assert!(!r.constituents[0].included);

    // With no last good price at all a single source is accepted.
    let r = calc("X", "USD", 3).compute(t2, &[mid(dec!(110), t2), None, None], &no_fx);
    assert_eq!(r.status, PriceStatus::Degraded);
    assert_eq!(r.price, Some(dec!(110)));
}

// ---------------------------------------------------------------- reproducibility

fn hex64(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[test]
fn params_hash_is_sha256_of_the_canonical_parameter_set() {
    let c = PairCalculator::new(
        PairParams::new("BTC", "USD", false),
        vec![src("a", "BTC-USD", 0)],
    );
    let canonical = concat!(
        r#"{"method_version":"median-v1","params":{"base":"BTC","quote":"USD","#,
        r#""max_spread":"0.01","max_age_ms":10000,"future_tolerance_ms":2000,"#,
        r#""frozen_after_ms":60000,"frozen_min_move":"0.002","band":"0.05","#,
        r#""max_hold_ms":60000,"weighting":"equal","volume_cap":"0.4"},"#,
        r#""sources":[{"connector":"a","instrument":"BTC-USD","static_weight":null}]}"#
    );
    assert_eq!(
        c.params_hash(),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    assert_eq!(METHOD_VERSION, "median-v1");
}

#[test]
fn params_hash_is_stable_and_follows_the_parameters() {
    let base = calc("BTC", "USD", 3);
    assert!(hex64(base.params_hash()));
    assert_eq!(base.params_hash(), calc("BTC", "USD", 3).params_hash());

    let mut p = PairParams::new("BTC", "USD", false);
    p.band = dec!(0.050);
    let respelled = PairCalculator::new(p, sources("BTC", "USD", 3));
    assert_eq!(base.params_hash(), respelled.params_hash());

    let mut reordered = sources("BTC", "USD", 3);
    reordered.reverse();
    let reordered = PairCalculator::new(PairParams::new("BTC", "USD", false), reordered);
    assert_eq!(base.params_hash(), reordered.params_hash());

    let mut p = PairParams::new("BTC", "USD", false);
    p.band = dec!(0.04);
    assert_ne!(
        base.params_hash(),
        PairCalculator::new(p, sources("BTC", "USD", 3)).params_hash()
    );
    let mut p = PairParams::new("BTC", "USD", false);
    p.weighting = Weighting::Volume;
    assert_ne!(
        base.params_hash(),
        PairCalculator::new(p, sources("BTC", "USD", 3)).params_hash()
    );
    assert_ne!(base.params_hash(), calc("BTC", "USD", 4).params_hash());
    let stable = PairCalculator::new(
        PairParams::new("BTC", "USD", true),
        sources("BTC", "USD", 3),
    );
    assert_ne!(base.params_hash(), stable.params_hash());

    let r = calc("BTC", "USD", 3).compute(t0(), &[], &no_fx);
    assert_eq!(r.params_hash, base.params_hash());
}

#[test]
fn same_inputs_same_record_and_digest() {
    let t = t0();
    let q = mids(&[dec!(64000.50), dec!(63992.00), dec!(64011.00)], t);
    let r1 = calc("BTC", "USD", 3).compute(t, &q, &no_fx);
    let r2 = calc("BTC", "USD", 3).compute(t, &q, &no_fx);
    assert_eq!(r1, r2);
    assert!(hex64(&r1.input_digest));
    assert_eq!(
        serde_json::to_string(&r1).unwrap(),
        serde_json::to_string(&r2).unwrap()
    );

    let r_later = calc("BTC", "USD", 3).compute(secs(t, 1), &q, &no_fx);
    assert_ne!(r1.input_digest, r_later.input_digest);

    let mut q2 = q.clone();
    q2[1].as_mut().unwrap().bid = Some(dec!(63991.00));
    let r3 = calc("BTC", "USD", 3).compute(t, &q2, &no_fx);
    assert_ne!(r1.input_digest, r3.input_digest);

    let mut q3 = q.clone();
    q3[2].as_mut().unwrap().volume_24h = Some(dec!(5));
    let r4 = calc("BTC", "USD", 3).compute(t, &q3, &no_fx);
    assert_ne!(r1.input_digest, r4.input_digest);
    assert_eq!(r1.price, r4.price);
}

#[test]
fn input_digest_records_the_fx_rate() {
    let t = t0();
    let specs = || {
        vec![
            src("a", "X-USD", 0),
            src("b", "X-USD", 1),
            src("c", "X-USDT", 2),
        ]
    };
    let q = mids(&[dec!(100), dec!(100), dec!(100)], t);
    let one = |_: &str| Some(dec!(1.0000));
    let other = |_: &str| Some(dec!(1.0001));
    let r1 = PairCalculator::new(PairParams::new("X", "USD", false), specs()).compute(t, &q, &one);
    let r2 =
        PairCalculator::new(PairParams::new("X", "USD", false), specs()).compute(t, &q, &other);
    assert_ne!(r1.input_digest, r2.input_digest);
}

// ---------------------------------------------------------------- engine

#[test]
fn engine_orders_legs_before_their_users_regardless_of_config() {
    for btc_first in [true, false] {
        let e = usdt_and_btc_engine(btc_first);
        let order: Vec<String> = e.pairs().iter().map(|p| p.params().pair()).collect();
        assert_eq!(
            order,
            vec!["USDT-USD", "BTC-USD"],
            "btc_first = {btc_first}"
        );
    }

    // Independent pairs keep their config order around the dependency.
    let eth = calc("ETH", "USD", 2);
    let btc = PairCalculator::new(
        PairParams::new("BTC", "USD", false),
        vec![src("binance-spot", "BTC-USDT", 0)],
    );
    let usdt = calc("USDT", "USD", 1);
    let sol = calc("SOL", "USD", 1);
    let e = ReferenceEngine::new(vec![btc, eth, usdt, sol]).unwrap();
    let order: Vec<String> = e.pairs().iter().map(|p| p.params().pair()).collect();
    let pos = |k: &str| order.iter().position(|p| p == k).unwrap();
    assert!(pos("USDT-USD") < pos("BTC-USD"));
    assert!(pos("ETH-USD") < pos("SOL-USD"));

    let mut e = e;
    let recs = e.tick(t0(), &[]);
    let keys: Vec<String> = recs
        .iter()
        .map(|r| format!("{}-{}", r.base, r.quote))
        .collect();
    assert_eq!(keys, order);
}

#[test]
fn engine_rejects_conversion_cycles_and_duplicates() {
    let usdt = PairCalculator::new(
        PairParams::new("USDT", "USD", true),
        vec![src("a", "USDT-USDC", 0)],
    );
    let usdc = PairCalculator::new(
        PairParams::new("USDC", "USD", true),
        vec![src("b", "USDC-USDT", 1)],
    );
    let btc = calc("BTC", "USD", 1);
    match ReferenceEngine::new(vec![btc, usdt, usdc]) {
        Err(ReferenceError::ConversionCycle { pairs }) => {
            assert_eq!(pairs, vec!["USDT-USD".to_owned(), "USDC-USD".to_owned()]);
        }
        other => panic!("expected a cycle, got {other:?}"),
    }

    let dup = ReferenceEngine::new(vec![calc("BTC", "USD", 1), calc("BTC", "USD", 2)]);
    assert!(matches!(dup, Err(ReferenceError::DuplicatePair { .. })));
}

#[test]
fn engine_without_a_configured_leg_marks_fx_unavailable() {
    let mut e = ReferenceEngine::new(vec![PairCalculator::new(
        PairParams::new("BTC", "USD", false),
        vec![src("a", "BTC-USD", 0), src("b", "BTC-EUR", 1)],
    )])
    .unwrap();
    let t = t0();
    let recs = e.tick(t, &mids(&[dec!(64000), dec!(59000)], t));
    assert_eq!(
        recs[0].constituents[1].exclusion_reason,
        Some(ExclusionReason::FxUnavailable)
    );
    assert_eq!(recs[0].price, Some(dec!(64000)));
}
