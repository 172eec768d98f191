//! Shared inputs of the margin tests: collateral.md's C4 portfolio valued by the real
//! valuation, reference prices, and the E1 returns as daily fixings.

use normalizer::margin::book::Kernel;
use normalizer::margin::fixings::{Fixing, History};
use normalizer::valuation::{value_account, Holding, ValuationParams};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{
    CollateralReport, PriceStatus, ReferencePrice, ReferencePriceSchema, SourceKind, Ts,
};
use std::collections::HashMap;

/// 2026-11-24T12:00:00Z.
pub fn t0() -> Ts {
    Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap()
}

pub fn rp(asset: &str, price: Decimal, status: PriceStatus) -> ReferencePrice {
    rp_at(asset, price, status, t0())
}

pub fn rp_at(asset: &str, price: Decimal, status: PriceStatus, at: Ts) -> ReferencePrice {
    ReferencePrice {
        schema: ReferencePriceSchema,
        base: asset.to_owned(),
        quote: "USD".to_owned(),
        price: Some(price),
        status,
        reasons: Vec::new(),
        calc_time: at,
        seq: 1,
        conf: None,
        price_low: None,
        price_high: None,
        n_configured: 3,
        n_fresh: 3,
        n_valid: 3,
        last_good_price: Some(price),
        last_good_time: Some(at),
        method_version: "median-v1".to_owned(),
        params_hash: String::new(),
        input_digest: String::new(),
        constituents: Vec::new(),
    }
}

pub fn prices(list: &[(&str, Decimal)]) -> HashMap<String, ReferencePrice> {
    list.iter()
        .map(|(a, p)| ((*a).to_owned(), rp(a, *p, PriceStatus::Ok)))
        .collect()
}

/// C4's prices plus USDC at 1.
pub fn c4_prices() -> HashMap<String, ReferencePrice> {
    prices(&[
        ("BTC", dec!(64003.25)),
        ("SOL", dec!(150.15)),
        ("USDC", dec!(1.0000)),
    ])
}

pub fn hold(source: &str, asset: &str, q: Decimal) -> Holding {
    Holding::new(
        source,
        SourceKind::Exchange,
        asset,
        q,
        t0().plus_millis(-1000),
    )
}

/// The valuation's report of `holdings` at `prices`.
pub fn report_of(
    holdings: &[Holding],
    prices: &HashMap<String, ReferencePrice>,
    requirement: Option<Decimal>,
) -> CollateralReport {
    value_account(
        "fund-a",
        t0(),
        holdings,
        prices,
        requirement,
        &ValuationParams::default(),
        "valuation-hash",
        1,
    )
}

/// C4: 100 BTC at 64003.25 and 40,000 SOL at 150.15.
pub fn c4(requirement: Option<Decimal>) -> CollateralReport {
    report_of(
        &[
            hold("binance-spot", "BTC", dec!(100)),
            hold("binance-spot", "SOL", dec!(40000)),
        ],
        &c4_prices(),
        requirement,
    )
}

pub fn kernel() -> Kernel {
    Kernel::new(&ValuationParams::default())
}

/// E1's ten joint 2-day returns (BTC, SOL).
pub const E1: [(&str, &str); 10] = [
    ("-0.082", "-0.145"),
    ("-0.041", "-0.063"),
    ("0.025", "0.041"),
    ("-0.153", "-0.221"),
    ("0.012", "-0.015"),
    ("-0.006", "0.022"),
    ("0.071", "0.102"),
    ("-0.028", "-0.049"),
    ("0.033", "0.008"),
    ("-0.095", "-0.112"),
];

/// Day number of 2026-11-24 (the report's day).
pub fn report_day() -> i64 {
    normalizer::margin::fixings::day_of(t0())
}

/// Fixings that give exactly E1's 2-day returns on the ten days ending on the report's day:
/// scenario day t has P_(t-2) = 1 and P_t = 1 + r, so days alternate between anchors and
/// moves. Each scenario i uses its own pair of days 2 apart: t_i = end - 3 (9 - i), t_i - 2.
/// With days spaced 3 apart, no other 2-day return exists (t - 2 of an anchor has no fixing).
pub fn e1_history() -> (History, Vec<i64>) {
    let end = report_day();
    let mut fixings = Vec::new();
    let mut days = Vec::new();
    for (i, (b, s)) in E1.iter().enumerate() {
        let t = end - 3 * (9 - i as i64);
        days.push(t);
        for (asset, r) in [("BTC", b), ("SOL", s)] {
            let r: Decimal = r.parse().unwrap();
            fixings.push(Fixing {
                asset: asset.into(),
                day: t - 2,
                price: Decimal::ONE,
            });
            fixings.push(Fixing {
                asset: asset.into(),
                day: t,
                price: Decimal::ONE + r,
            });
        }
    }
    (History::from_fixings(&fixings), days)
}
