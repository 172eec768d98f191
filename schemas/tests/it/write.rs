//! `Record::write_json` (the direct `price_tick.v1` writer) against serde_json: the same bytes
//! for every tick, whether the direct writer or its serde_json fallback writes it.

use proptest::prelude::*;
use rust_decimal::Decimal;
use schemas::{Market, PriceTick, PriceTickSchema, Record, SharedStr, Ts};

fn serde_bytes(r: &Record) -> Vec<u8> {
    let mut v = Vec::new();
    serde_json::to_writer(&mut v, r).unwrap();
    v
}

fn ours(r: &Record) -> Vec<u8> {
    // Appends: what is already in the buffer stays.
    let mut v = b"prefix".to_vec();
    r.write_json(&mut v);
    assert_eq!(&v[..6], b"prefix");
    v.split_off(6)
}

fn tick() -> PriceTick {
    PriceTick {
        schema: PriceTickSchema,
        venue: "binance".into(),
        connector: "binance-spot".into(),
        venue_symbol: "BTCUSDT".into(),
        instrument: "BTC-USDT".into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        market: Market::Spot,
        bid: Some(Decimal::new(6400325, 2)),
        ask: Some(Decimal::new(6400350, 2)),
        bid_size: Some(Decimal::new(12, 1)),
        ask_size: None,
        last: None,
        mark: None,
        index: None,
        exchange_ts: Some(Ts::from_millis(1_764_000_000_123)),
        received_at: Ts::from_micros(1_764_000_000_123_456),
        sequence: Some(400_900_217),
        epoch: 1,
    }
}

fn decimal(lo: u32, mid: u32, hi: u32, neg: bool, scale: u32) -> Decimal {
    Decimal::from_parts(lo, mid, hi, neg, scale % 29)
}

#[test]
fn fixed_ticks_and_fallbacks_write_what_serde_json_writes() {
    let mut cases = vec![tick()];
    let mut t = tick();
    t.venue_symbol = "XBT/\"USD\"\\\n\u{1}é€".into(); // escapes: serde_json's fallback
    cases.push(t);
    let mut t = tick();
    t.exchange_ts = Some(Ts::from_micros(-1)); // before 1970: chrono's fallback
    cases.push(t);
    let mut t = tick();
    t.received_at = Ts::from_micros(i64::MAX);
    t.exchange_ts = None;
    t.sequence = None;
    t.epoch = u64::MAX;
    cases.push(t);
    for m in [
        Market::Spot,
        Market::Perpetual,
        Market::Future,
        Market::Option,
        Market::Index,
    ] {
        let mut t = tick();
        t.market = m;
        t.bid = Some(Decimal::ZERO);
        t.ask = Some(Decimal::from_parts(0, 0, 0, true, 0)); // -0
        t.bid_size = Some(Decimal::from_parts(0, 0, 0, true, 3)); // -0.000
        t.ask_size = Some(Decimal::MAX);
        t.last = Some(Decimal::MIN);
        t.mark = Some(Decimal::from_parts(1, 0, 0, false, 28));
        t.index = Some(Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, true, 28));
        cases.push(t);
    }
    for t in cases {
        let r = Record::PriceTick(t);
        assert_eq!(
            String::from_utf8(ours(&r)).unwrap(),
            String::from_utf8(serde_bytes(&r)).unwrap()
        );
        assert_eq!(r.to_json().as_bytes(), serde_bytes(&r).as_slice());
    }
}

fn any_str() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_./-]{0,12}",
        any::<String>(),
        "[\"\\\\\u{0}-\u{1f}a\u{7f}é]{0,6}",
    ]
}

fn any_ts() -> impl Strategy<Value = Ts> {
    prop_oneof![
        (0i64..=253_402_300_799_999_999).prop_map(Ts::from_micros),
        any::<i64>().prop_map(Ts::from_micros),
    ]
}

fn any_decimal() -> impl Strategy<Value = Option<Decimal>> {
    proptest::option::of(prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..29
        )
            .prop_map(|(l, m, h, n, s)| decimal(l, m, h, n, s)),
        (any::<u32>(), any::<bool>(), 0u32..29).prop_map(|(l, n, s)| decimal(l, 0, 0, n, s)),
        (0u32..1000, any::<bool>(), 0u32..6).prop_map(|(l, n, s)| decimal(l, 0, 0, n, s)),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn any_price_tick_writes_what_serde_json_writes(
        names in proptest::collection::vec(any_str(), 6),
        market in 0usize..5,
        decs in proptest::collection::vec(any_decimal(), 7),
        exchange_ts in proptest::option::of(any_ts()),
        received_at in any_ts(),
        sequence in proptest::option::of(any::<u64>()),
        epoch in any::<u64>(),
    ) {
        let s = |i: usize| SharedStr::from(names[i].as_str());
        let t = PriceTick {
            schema: PriceTickSchema,
            venue: s(0),
            connector: s(1),
            venue_symbol: s(2),
            instrument: s(3),
            base: s(4),
            quote: s(5),
            market: [Market::Spot, Market::Perpetual, Market::Future, Market::Option, Market::Index][market],
            bid: decs[0],
            ask: decs[1],
            bid_size: decs[2],
            ask_size: decs[3],
            last: decs[4],
            mark: decs[5],
            index: decs[6],
            exchange_ts,
            received_at,
            sequence,
            epoch,
        };
        let r = Record::PriceTick(t);
        prop_assert_eq!(ours(&r), serde_bytes(&r));
    }

    #[test]
    fn any_decimal_writes_what_serde_json_writes(d in any_decimal()) {
        if let Some(d) = d {
            let mut v = Vec::new();
            schemas::write::write_decimal(&d, &mut v);
            prop_assert_eq!(String::from_utf8(v).unwrap(), serde_json::to_value(d).unwrap().as_str().unwrap().to_owned());
        }
    }
}
