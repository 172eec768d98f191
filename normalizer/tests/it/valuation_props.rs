//! Invariants of the collateral valuation (collateral.md): splitting a holding across sources
//! never changes the result, adding collateral never lowers coverage, collateral never exceeds
//! market value, and the report does not depend on the order of the holdings.

use normalizer::valuation::{value_account, Holding, ValuationParams};
use proptest::prelude::*;
use rust_decimal::Decimal;
use schemas::{
    CollateralReport, CollateralStatus, PriceStatus, ReferencePrice, ReferencePriceSchema,
    SourceKind, TierSlice, Ts,
};
use std::collections::HashMap;

const ASSETS: &[&str] = &["BTC", "ETH", "USDT", "SOL", "FOO", "USD"];

fn t0() -> Ts {
    Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap()
}

/// Mostly positive quantities with up to 3 decimals, a few negative (venue debts); large enough
/// that BTC crosses every tier and the caps bind.
fn quantity() -> impl Strategy<Value = Decimal> {
    (-50_000i64..3_000_000, 0u32..=3).prop_map(|(m, s)| Decimal::new(m, s))
}

fn holding() -> impl Strategy<Value = Holding> {
    (
        0..ASSETS.len(),
        0..3usize,
        any::<bool>(),
        quantity(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(a, s, custodian, quantity, stale)| {
            let age_ms = if stale { 2 * 86_400_000 } else { 1_000 };
            Holding {
                locked: Decimal::ZERO,
                unrealized_pnl: None,
                source: format!("src-{s}"),
                source_kind: if custodian {
                    SourceKind::Custodian
                } else {
                    SourceKind::Exchange
                },
                asset: ASSETS[a].to_owned(),
                quantity,
                pending: None,
                as_of: t0().plus_millis(-age_ms),
                network: None,
                venue_asset: ASSETS[a].to_owned(),
                confirmed_at: t0().plus_millis(-age_ms),
            }
        })
}

/// Per asset a price grid that makes every branch reachable: USDT around the peg crosses both
/// de-peg thresholds.
fn price_of(asset: &str) -> BoxedStrategy<Decimal> {
    match asset {
        "BTC" => (1_000_000i64..10_000_000)
            .prop_map(|m| Decimal::new(m, 2))
            .boxed(),
        "ETH" => (100_000i64..500_000)
            .prop_map(|m| Decimal::new(m, 2))
            .boxed(),
        "USDT" => (9_500i64..=10_500).prop_map(|m| Decimal::new(m, 4)).boxed(),
        "SOL" => (1_000i64..30_000).prop_map(|m| Decimal::new(m, 2)).boxed(),
        _ => (1i64..1_000).prop_map(|m| Decimal::new(m, 2)).boxed(),
    }
}

fn reference(asset: &'static str) -> impl Strategy<Value = Option<ReferencePrice>> {
    let status = prop_oneof![
        6 => Just(Some(PriceStatus::Ok)),
        1 => Just(Some(PriceStatus::Degraded)),
        1 => Just(Some(PriceStatus::Stale)),
        1 => Just(Some(PriceStatus::Unavailable)),
        1 => Just(None),
    ];
    (status, price_of(asset)).prop_map(move |(status, p)| {
        let status = status?;
        let price = (status != PriceStatus::Unavailable).then_some(p);
        Some(ReferencePrice {
            schema: ReferencePriceSchema,
            base: asset.to_owned(),
            quote: "USD".to_owned(),
            price,
            status,
            reasons: Vec::new(),
            calc_time: t0(),
            seq: 1,
            conf: None,
            price_low: None,
            price_high: None,
            n_configured: 3,
            n_fresh: 3,
            n_valid: 3,
            last_good_price: Some(p),
            last_good_time: Some(t0()),
            method_version: "median-v1".to_owned(),
            params_hash: String::new(),
            input_digest: String::new(),
            constituents: Vec::new(),
        })
    })
}

fn prices() -> impl Strategy<Value = HashMap<String, ReferencePrice>> {
    (
        reference("BTC"),
        reference("ETH"),
        reference("USDT"),
        reference("SOL"),
        reference("FOO"),
    )
        .prop_map(|(a, b, c, d, e)| {
            [a, b, c, d, e]
                .into_iter()
                .flatten()
                .map(|r| (r.base.clone(), r))
                .collect()
        })
}

fn requirement() -> impl Strategy<Value = Option<Decimal>> {
    prop::option::weighted(0.8, (0i64..5_000_000_000).prop_map(|m| Decimal::new(m, 2)))
}

fn value(
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
        "hash",
        1,
    )
}

/// Per asset: (asset, quantity, price, status, MV, tiers, pre-cap CV, cap excess, CV, flags).
type AssetEssence = (
    String,
    Decimal,
    Option<Decimal>,
    PriceStatus,
    Decimal,
    Vec<TierSlice>,
    Decimal,
    Decimal,
    Decimal,
    Vec<String>,
);

/// Everything a split of a holding may not change: all but `by_source` and the input digest.
#[allow(clippy::type_complexity)]
fn essence(
    r: &CollateralReport,
) -> (
    Decimal,
    Decimal,
    Option<Decimal>,
    Option<Decimal>,
    CollateralStatus,
    Vec<String>,
    Vec<AssetEssence>,
) {
    (
        r.market_value_total,
        r.collateral_value_total,
        r.coverage,
        r.deficit,
        r.status,
        r.flags.clone(),
        r.assets
            .iter()
            .map(|a| {
                (
                    a.asset.clone(),
                    a.quantity,
                    a.price,
                    a.price_status,
                    a.market_value,
                    a.tiers.clone(),
                    a.collateral_value_pre_cap,
                    a.cap_excess,
                    a.collateral_value,
                    a.flags.clone(),
                )
            })
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn independent_of_holding_order(
        (holdings, shuffled) in prop::collection::vec(holding(), 0..10)
            .prop_flat_map(|h| (Just(h.clone()), Just(h).prop_shuffle())),
        prices in prices(),
        requirement in requirement(),
    ) {
        let a = value(&holdings, &prices, requirement);
        let b = value(&shuffled, &prices, requirement);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn splitting_a_holding_across_sources_changes_nothing(
        holdings in prop::collection::vec(holding(), 1..8),
        pick in any::<prop::sample::Index>(),
        part in quantity(),
        prices in prices(),
        requirement in requirement(),
    ) {
        let i = pick.index(holdings.len());
        let mut split = holdings.clone();
        let mut piece = split[i].clone();
        piece.source = "split-elsewhere".to_owned();
        piece.quantity = part;
        split[i].quantity -= part;
        split.push(piece);
        let a = value(&holdings, &prices, requirement);
        let b = value(&split, &prices, requirement);
        prop_assert_eq!(essence(&a), essence(&b));
    }

    #[test]
    fn adding_collateral_never_lowers_coverage(
        holdings in prop::collection::vec(holding(), 0..8),
        extra in holding(),
        prices in prices(),
        requirement in requirement(),
    ) {
        let mut more = holdings.clone();
        more.push(Holding { quantity: extra.quantity.abs(), ..extra });
        let a = value(&holdings, &prices, requirement);
        let b = value(&more, &prices, requirement);
        prop_assert!(b.collateral_value_total >= a.collateral_value_total,
            "{} < {}", b.collateral_value_total, a.collateral_value_total);
        prop_assert!(b.coverage >= a.coverage, "{:?} < {:?}", b.coverage, a.coverage);
        if let Some(d) = b.deficit {
            prop_assert!(a.deficit.is_some_and(|old| d <= old), "{d} vs {:?}", a.deficit);
        }
    }

    #[test]
    fn collateral_never_exceeds_market_value(
        holdings in prop::collection::vec(holding(), 0..10),
        prices in prices(),
        requirement in requirement(),
    ) {
        let r = value(&holdings, &prices, requirement);
        prop_assert!(r.collateral_value_total <= r.market_value_total);
        for a in &r.assets {
            prop_assert!(a.collateral_value <= a.collateral_value_pre_cap);
            prop_assert!(a.collateral_value_pre_cap <= a.market_value);
            prop_assert!(a.cap_excess >= Decimal::ZERO);
            let slices_mv: Decimal = a.tiers.iter().map(|s| s.market_value).sum();
            let slices_cv: Decimal = a.tiers.iter().map(|s| s.collateral_value).sum();
            if a.market_value > Decimal::ZERO {
                prop_assert_eq!(slices_mv, a.market_value);
                prop_assert_eq!(slices_cv, a.collateral_value_pre_cap);
            }
            for s in &a.tiers {
                prop_assert!(s.market_value > Decimal::ZERO);
                prop_assert!(s.collateral_value <= s.market_value);
            }
        }
        // Rounded down once: within a cent below the exact sum.
        let exact: Decimal = r
            .assets
            .iter()
            .map(|a| a.collateral_value_pre_cap - a.cap_excess)
            .sum();
        prop_assert!(r.collateral_value_total <= exact);
        prop_assert!(exact - r.collateral_value_total < Decimal::new(1, 2));
    }
}
