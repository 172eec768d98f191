//! The worked examples C1-C5 of `collateral.md` and one test per flag, status rule, rounding
//! rule and reproducibility field. Expected figures come from the spec or are derived by hand
//! from its formulas, never from a previous run.

use normalizer::valuation::{
    flags, value_account, AccountValuer, Holding, Tier, ValuationParams, METHOD_VERSION,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{
    BalanceSchema, BalanceSnapshot, CollateralReport, CollateralStatus, PriceStatus,
    ReferencePrice, ReferencePriceSchema, SourceKind, Ts,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// 2026-11-24T12:00:00Z, the as-of cut of every scenario.
fn t0() -> Ts {
    Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap()
}

fn hold_at(source: &str, kind: SourceKind, asset: &str, quantity: Decimal, as_of: Ts) -> Holding {
    Holding::new(source, kind, asset, quantity, as_of)
}

/// A fresh exchange balance (one second old).
fn hold(source: &str, asset: &str, quantity: Decimal) -> Holding {
    hold_at(
        source,
        SourceKind::Exchange,
        asset,
        quantity,
        t0().plus_millis(-1000),
    )
}

fn rp_full(
    asset: &str,
    price: Option<Decimal>,
    status: PriceStatus,
    last_good: Option<Decimal>,
) -> ReferencePrice {
    ReferencePrice {
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
        last_good_price: last_good,
        last_good_time: last_good.map(|_| t0()),
        method_version: "median-v1".to_owned(),
        params_hash: String::new(),
        input_digest: String::new(),
        constituents: Vec::new(),
    }
}

fn rp(asset: &str, price: Decimal, status: PriceStatus) -> ReferencePrice {
    rp_full(asset, Some(price), status, Some(price))
}

/// `OK` reference prices.
fn prices(list: &[(&str, Decimal)]) -> HashMap<String, ReferencePrice> {
    list.iter()
        .map(|(a, p)| ((*a).to_owned(), rp(a, *p, PriceStatus::Ok)))
        .collect()
}

fn value_with(
    params: &ValuationParams,
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
        params,
        "test-hash",
        1,
    )
}

fn value(
    holdings: &[Holding],
    prices: &HashMap<String, ReferencePrice>,
    requirement: Option<Decimal>,
) -> CollateralReport {
    value_with(&ValuationParams::default(), holdings, prices, requirement)
}

fn asset<'a>(r: &'a CollateralReport, code: &str) -> &'a schemas::AssetValuation {
    r.assets
        .iter()
        .find(|a| a.asset == code)
        .unwrap_or_else(|| panic!("no asset {code} in {:?}", r.assets))
}

fn has_flag(list: &[String], flag: &str) -> bool {
    list.iter().any(|f| f == flag)
}

fn assert_flags_sorted_unique(r: &CollateralReport) {
    let check = |list: &[String]| {
        for w in list.windows(2) {
            assert!(w[0] < w[1], "flags not sorted/unique: {list:?}");
        }
    };
    check(&r.flags);
    for a in &r.assets {
        check(&a.flags);
        for f in &a.flags {
            assert!(r.flags.contains(f), "account flags miss {f}");
        }
    }
}

fn c1_holdings() -> Vec<Holding> {
    vec![hold("binance-spot", "BTC", dec!(100))]
}

fn c4_holdings() -> Vec<Holding> {
    vec![
        hold("binance-spot", "BTC", dec!(100)),
        hold("binance-spot", "SOL", dec!(40000)),
    ]
}

fn c4_prices() -> HashMap<String, ReferencePrice> {
    prices(&[("BTC", dec!(64003.25)), ("SOL", dec!(150.15))])
}

// ---------------------------------------------------------------- worked examples

#[test]
fn c1_btc_progressive_tiers() {
    let r = value(&c1_holdings(), &prices(&[("BTC", dec!(64003.25))]), None);
    let btc = asset(&r, "BTC");
    assert_eq!(btc.quantity, dec!(100));
    assert_eq!(btc.price, Some(dec!(64003.25)));
    assert_eq!(btc.price_status, PriceStatus::Ok);
    assert_eq!(btc.market_value, dec!(6400325.00));
    assert_eq!(btc.tiers.len(), 2);
    assert_eq!(btc.tiers[0].from, dec!(0));
    assert_eq!(btc.tiers[0].to, Some(dec!(5000000)));
    assert_eq!(btc.tiers[0].haircut, dec!(0.05));
    assert_eq!(btc.tiers[0].market_value, dec!(5000000));
    assert_eq!(btc.tiers[0].collateral_value, dec!(4750000));
    assert_eq!(btc.tiers[1].from, dec!(5000000));
    assert_eq!(btc.tiers[1].to, Some(dec!(20000000)));
    assert_eq!(btc.tiers[1].haircut, dec!(0.075));
    assert_eq!(btc.tiers[1].market_value, dec!(1400325));
    assert_eq!(btc.tiers[1].collateral_value, dec!(1295300.625));
    assert_eq!(btc.collateral_value_pre_cap, dec!(6045300.625));
    assert_eq!(btc.cap_excess, dec!(0));
    assert_eq!(btc.collateral_value.to_string(), "6045300.62");
    assert_eq!(r.market_value_total, dec!(6400325.00));
    assert_eq!(r.collateral_value_total.to_string(), "6045300.62");
    assert_eq!(r.status, CollateralStatus::NoRequirement);
    assert!(r.flags.is_empty());
    assert_eq!(r.requirement, None);
    assert_eq!(r.coverage, None);
    assert_eq!(r.deficit, None);
    assert_eq!(r.method_version, METHOD_VERSION);
    assert_eq!(r.params_hash, "test-hash");
    assert_eq!(r.seq, 1);
    assert_eq!(r.calc_time, t0());
    assert_eq!(r.account, "fund-a");
}

#[test]
fn c2_sources_summed_before_tiering() {
    let holdings = vec![
        hold_at(
            "custodian-x",
            SourceKind::Custodian,
            "ETH",
            dec!(1000),
            t0().plus_millis(-3_600_000),
        ),
        hold("exchange-y", "ETH", dec!(1200)),
    ];
    let px = prices(&[("ETH", dec!(3000.25))]);
    let r = value(&holdings, &px, None);
    let eth = asset(&r, "ETH");
    assert_eq!(eth.quantity, dec!(2200));
    assert_eq!(eth.market_value, dec!(6600550.00));
    assert_eq!(eth.tiers.len(), 2);
    assert_eq!(eth.tiers[0].collateral_value, dec!(4625000));
    assert_eq!(eth.tiers[1].market_value, dec!(1600550));
    assert_eq!(eth.tiers[1].collateral_value, dec!(1440495));
    assert_eq!(eth.collateral_value_pre_cap, dec!(6065495));
    assert_eq!(eth.collateral_value.to_string(), "6065495.00");
    assert_eq!(r.collateral_value_total.to_string(), "6065495.00");
    let sources: Vec<(&str, Decimal, bool)> = eth
        .by_source
        .iter()
        .map(|s| (s.source.as_str(), s.quantity, s.stale))
        .collect();
    assert_eq!(
        sources,
        vec![
            ("custodian-x", dec!(1000), false),
            ("exchange-y", dec!(1200), false)
        ]
    );

    // Tiering each source apart is the wrong figure of the spec; the method must not give it.
    let per_source: Decimal = holdings
        .iter()
        .map(|h| value(std::slice::from_ref(h), &px, None).collateral_value_total)
        .sum();
    assert_eq!(per_source, dec!(6105508.75));
    assert_ne!(r.collateral_value_total, per_source);
}

#[test]
fn c3_stablecoin_on_peg_and_depegged() {
    let holdings = vec![hold("binance-spot", "USDT", dec!(12000000))];

    let r = value(&holdings, &prices(&[("USDT", dec!(0.9990))]), None);
    let usdt = asset(&r, "USDT");
    assert_eq!(usdt.market_value, dec!(11988000));
    assert_eq!(usdt.tiers[0].haircut, dec!(0.01));
    assert_eq!(usdt.tiers[1].haircut, dec!(0.025));
    assert_eq!(usdt.collateral_value.to_string(), "11838300.00");
    assert_eq!(r.collateral_value_total.to_string(), "11838300.00");
    assert!(usdt.flags.is_empty(), "0.1 % off peg is no watch");
    assert_eq!(r.status, CollateralStatus::NoRequirement);

    let r = value(&holdings, &prices(&[("USDT", dec!(0.9700))]), None);
    let usdt = asset(&r, "USDT");
    assert_eq!(usdt.market_value, dec!(11640000));
    let haircuts: Vec<Decimal> = usdt.tiers.iter().map(|s| s.haircut).collect();
    assert_eq!(haircuts, vec![dec!(0.15), dec!(0.25), dec!(0.40)]);
    assert_eq!(usdt.tiers[0].collateral_value, dec!(850000));
    assert_eq!(usdt.tiers[1].collateral_value, dec!(3000000));
    assert_eq!(usdt.tiers[2].market_value, dec!(6640000));
    assert_eq!(usdt.collateral_value_pre_cap, dec!(7834000.00));
    assert!(has_flag(&usdt.flags, flags::STABLECOIN_DEPEG));
    assert!(has_flag(&usdt.flags, flags::DEPEG_WATCH));
    assert!(has_flag(&r.flags, flags::STABLECOIN_DEPEG));
    // Alone in the account, the de-pegged coin is an `alt` holding of 100 % of the pre-cap
    // total and keeps the alt cap of 25 %: 7,834,000 x 0.25.
    assert!(has_flag(&usdt.flags, flags::CONCENTRATION_CAP));
    assert_eq!(usdt.cap_excess, dec!(5875500));
    assert_eq!(r.collateral_value_total.to_string(), "1958500.00");

    // With enough other collateral the cap does not bind and the spec's figure is the total.
    let mut with_cash = holdings.clone();
    with_cash.push(hold("bank", "USD", dec!(30000000)));
    let r = value(&with_cash, &prices(&[("USDT", dec!(0.9700))]), None);
    let usdt = asset(&r, "USDT");
    assert_eq!(usdt.cap_excess, dec!(0));
    assert_eq!(usdt.collateral_value.to_string(), "7834000.00");
    assert_eq!(r.collateral_value_total.to_string(), "37834000.00");
    assert!(!has_flag(&r.flags, flags::CONCENTRATION_CAP));
}

#[test]
fn c4_alt_concentration_cap() {
    let r = value(&c4_holdings(), &c4_prices(), None);
    let sol = asset(&r, "SOL");
    assert_eq!(sol.market_value, dec!(6006000));
    assert_eq!(sol.collateral_value_pre_cap, dec!(4453600));
    assert_eq!(sol.cap_excess, dec!(1828874.84375));
    assert_eq!(sol.collateral_value.to_string(), "2624725.15");
    assert!(has_flag(&sol.flags, flags::CONCENTRATION_CAP));
    let btc = asset(&r, "BTC");
    assert_eq!(btc.cap_excess, dec!(0));
    assert!(btc.flags.is_empty());
    let pre_cap_total: Decimal = r.assets.iter().map(|a| a.collateral_value_pre_cap).sum();
    assert_eq!(pre_cap_total, dec!(10498900.625));
    assert_eq!(pre_cap_total * dec!(0.25), dec!(2624725.15625));
    assert_eq!(r.market_value_total, dec!(12406325.00));
    // Rounded once from the exact 8,670,025.78125, not summed from the rounded assets
    // (6,045,300.62 + 2,624,725.15 = 8,670,025.77).
    assert_eq!(r.collateral_value_total.to_string(), "8670025.78");
    assert_eq!(r.flags, vec![flags::CONCENTRATION_CAP.to_owned()]);
    assert_eq!(r.status, CollateralStatus::NoRequirement);
}

#[test]
fn c5_coverage_ok_and_margin_call() {
    let r = value(&c4_holdings(), &c4_prices(), Some(dec!(5000000)));
    assert_eq!(r.requirement, Some(dec!(5000000)));
    assert_eq!(r.coverage.unwrap().to_string(), "1.7340");
    assert_eq!(r.deficit, None);
    assert_eq!(r.status, CollateralStatus::Ok);

    let r = value(&c4_holdings(), &c4_prices(), Some(dec!(9000000)));
    assert_eq!(r.status, CollateralStatus::MarginCall);
    assert_eq!(r.deficit.unwrap().to_string(), "329974.22");
    // 8,670,025.78125 / 9,000,000 = 0.96333...
    assert_eq!(r.coverage.unwrap().to_string(), "0.9633");
    assert_eq!(
        r.requirement.unwrap() - r.collateral_value_total,
        r.deficit.unwrap()
    );
}

// ---------------------------------------------------------------- balances

#[test]
fn stale_exchange_balance_counts_zero() {
    let stale_at = t0().plus_millis(-(5 * 60 * 1000 + 1));
    let holdings = vec![
        hold_at("kraken", SourceKind::Exchange, "BTC", dec!(50), stale_at),
        hold("binance-spot", "BTC", dec!(100)),
    ];
    let r = value(&holdings, &prices(&[("BTC", dec!(64003.25))]), None);
    let btc = asset(&r, "BTC");
    assert_eq!(btc.quantity, dec!(100));
    assert_eq!(r.collateral_value_total.to_string(), "6045300.62");
    assert!(has_flag(&btc.flags, flags::STALE_BALANCE));
    assert!(has_flag(&r.flags, flags::STALE_BALANCE));
    assert_eq!(r.status, CollateralStatus::Degraded);
    let kraken = btc.by_source.iter().find(|s| s.source == "kraken").unwrap();
    assert!(kraken.stale);
    assert_eq!(
        kraken.quantity,
        dec!(50),
        "by_source shows what was left out"
    );
    assert_eq!(kraken.as_of, stale_at);
    assert_flags_sorted_unique(&r);
}

#[test]
fn balance_age_limits_per_source_kind() {
    let px = prices(&[("USD", dec!(1))]);
    let at = |ms: i64| t0().plus_millis(-ms);
    let case = |kind, age_ms| {
        let r = value(
            &[hold_at("s", kind, "USD", dec!(10), at(age_ms))],
            &px,
            None,
        );
        r.assets[0].by_source[0].stale
    };
    assert!(
        !case(SourceKind::Exchange, 300_000),
        "exactly 5 min is fresh"
    );
    assert!(case(SourceKind::Exchange, 300_001));
    assert!(!case(SourceKind::Custodian, 23 * 3_600_000));
    assert!(!case(SourceKind::Custodian, 86_400_000));
    assert!(case(SourceKind::Custodian, 86_400_001));
    assert!(
        !case(SourceKind::Exchange, -5_000),
        "stamped after t is not stale"
    );
}

#[test]
fn all_sources_stale_values_zero_and_degrades_even_with_requirement_met() {
    let old = t0().plus_millis(-3_600_000);
    let holdings = vec![
        hold_at("okx", SourceKind::Exchange, "ETH", dec!(10), old),
        hold("bank", "USD", dec!(1000)),
    ];
    let r = value(&holdings, &prices(&[("ETH", dec!(3000))]), Some(dec!(500)));
    let eth = asset(&r, "ETH");
    assert_eq!(eth.quantity, dec!(0));
    assert_eq!(eth.market_value, dec!(0));
    assert!(eth.tiers.is_empty());
    assert_eq!(r.collateral_value_total.to_string(), "1000.00");
    assert_eq!(r.coverage.unwrap().to_string(), "2.0000");
    assert_eq!(
        r.status,
        CollateralStatus::Degraded,
        "DEGRADED wins over OK"
    );
}

#[test]
fn pending_counts_zero() {
    let mut h = hold("fireblocks", "BTC", dec!(100));
    h.pending = Some(dec!(25));
    let r = value(&[h], &prices(&[("BTC", dec!(64003.25))]), None);
    assert_eq!(asset(&r, "BTC").quantity, dec!(100));
    assert_eq!(r.collateral_value_total.to_string(), "6045300.62");
}

#[test]
fn negative_holding_counts_in_full() {
    let holdings = vec![
        hold("binance-spot", "BTC", dec!(100)),
        hold("binance-margin", "ETH", dec!(-100)),
    ];
    let px = prices(&[("BTC", dec!(64003.25)), ("ETH", dec!(3000))]);
    let r = value(&holdings, &px, None);
    let eth = asset(&r, "ETH");
    assert_eq!(eth.market_value, dec!(-300000));
    assert!(eth.tiers.is_empty());
    assert_eq!(eth.collateral_value_pre_cap, dec!(-300000));
    assert_eq!(eth.collateral_value.to_string(), "-300000.00");
    assert!(has_flag(&eth.flags, flags::NEGATIVE_BALANCE));
    // 6,045,300.625 - 300,000.
    assert_eq!(r.collateral_value_total.to_string(), "5745300.62");
    assert_eq!(r.status, CollateralStatus::NoRequirement);
}

// ---------------------------------------------------------------- prices

#[test]
fn cash_usd_needs_no_reference_price() {
    let r = value(
        &[hold("bank", "USD", dec!(2500000.10))],
        &HashMap::new(),
        None,
    );
    let usd = asset(&r, "USD");
    assert_eq!(usd.price, Some(dec!(1)));
    assert_eq!(usd.price_status, PriceStatus::Ok);
    assert_eq!(usd.market_value, dec!(2500000.10));
    assert_eq!(usd.tiers.len(), 1);
    assert_eq!(usd.tiers[0].haircut, dec!(0));
    assert_eq!(usd.tiers[0].to, None);
    assert_eq!(usd.collateral_value.to_string(), "2500000.10");
    assert!(r.flags.is_empty());
}

#[test]
fn stale_price_uses_held_price() {
    let px = HashMap::from([(
        "BTC".to_owned(),
        rp("BTC", dec!(64003.25), PriceStatus::Stale),
    )]);
    let r = value(&c1_holdings(), &px, None);
    let btc = asset(&r, "BTC");
    assert_eq!(btc.price, Some(dec!(64003.25)));
    assert_eq!(btc.price_status, PriceStatus::Stale);
    assert_eq!(r.collateral_value_total.to_string(), "6045300.62");
    assert!(has_flag(&btc.flags, flags::STALE_PRICE));
    assert!(has_flag(&r.flags, flags::STALE_PRICE));
    assert_eq!(r.status, CollateralStatus::Degraded);

    // A STALE record without `price` still names its last good price.
    let px = HashMap::from([(
        "BTC".to_owned(),
        rp_full("BTC", None, PriceStatus::Stale, Some(dec!(64003.25))),
    )]);
    let r = value(&c1_holdings(), &px, None);
    assert_eq!(asset(&r, "BTC").price, Some(dec!(64003.25)));
    assert_eq!(r.collateral_value_total.to_string(), "6045300.62");
}

#[test]
fn unavailable_or_missing_price_is_no_price() {
    let unavailable = HashMap::from([(
        "BTC".to_owned(),
        rp_full("BTC", None, PriceStatus::Unavailable, Some(dec!(60000))),
    )]);
    for (px, status) in [
        (unavailable, PriceStatus::Unavailable),
        (HashMap::new(), PriceStatus::Unavailable),
    ] {
        let r = value(&c1_holdings(), &px, None);
        let btc = asset(&r, "BTC");
        assert_eq!(btc.quantity, dec!(100));
        assert_eq!(btc.price, None);
        assert_eq!(btc.price_status, status);
        assert_eq!(btc.market_value, dec!(0));
        assert_eq!(btc.collateral_value, dec!(0));
        assert!(btc.tiers.is_empty());
        assert_eq!(btc.flags, vec![flags::NO_PRICE.to_owned()]);
        assert_eq!(r.flags, vec![flags::NO_PRICE.to_owned()]);
        assert_eq!(r.status, CollateralStatus::Degraded);
    }
}

#[test]
fn mismatched_or_non_positive_reference_is_no_price() {
    let mut wrong_quote = rp("BTC", dec!(64003.25), PriceStatus::Ok);
    wrong_quote.quote = "EUR".to_owned();
    let zero = rp("BTC", dec!(0), PriceStatus::Ok);
    for record in [wrong_quote, zero] {
        let px = HashMap::from([("BTC".to_owned(), record)]);
        let r = value(&c1_holdings(), &px, None);
        assert_eq!(asset(&r, "BTC").market_value, dec!(0));
        assert!(has_flag(&r.flags, flags::NO_PRICE));
    }
}

#[test]
fn degraded_price_is_used_without_flag() {
    let px = HashMap::from([(
        "BTC".to_owned(),
        rp("BTC", dec!(64003.25), PriceStatus::Degraded),
    )]);
    let r = value(&c1_holdings(), &px, Some(dec!(1000000)));
    assert_eq!(asset(&r, "BTC").price_status, PriceStatus::Degraded);
    assert_eq!(r.collateral_value_total.to_string(), "6045300.62");
    assert!(r.flags.is_empty());
    assert_eq!(r.status, CollateralStatus::Ok);
}

#[test]
fn missing_price_on_zero_holding_raises_nothing() {
    let holdings = vec![
        hold("binance-spot", "BTC", dec!(100)),
        hold("binance-spot", "PEPE", dec!(0)),
    ];
    let r = value(&holdings, &prices(&[("BTC", dec!(64003.25))]), None);
    assert!(asset(&r, "PEPE").flags.is_empty());
    assert_eq!(r.status, CollateralStatus::NoRequirement);
}

#[test]
fn margin_call_wins_over_degraded() {
    let r = value(&c1_holdings(), &HashMap::new(), Some(dec!(1000)));
    assert!(has_flag(&r.flags, flags::NO_PRICE));
    assert_eq!(r.status, CollateralStatus::MarginCall);
    assert_eq!(r.deficit, Some(dec!(1000.00)));
    assert_eq!(r.coverage.unwrap().to_string(), "0.0000");
}

// ---------------------------------------------------------------- stablecoins

#[test]
fn depeg_watch_from_half_a_percent() {
    // Cash beside the coin keeps the alt cap of a de-pegged coin from binding.
    let holdings = vec![
        hold("binance-spot", "USDC", dec!(1000000)),
        hold("bank", "USD", dec!(10000000)),
    ];
    let flags_at = |p: Decimal| {
        let r = value(&holdings, &prices(&[("USDC", p)]), None);
        let usdc = asset(&r, "USDC");
        (usdc.flags.clone(), usdc.tiers[0].haircut)
    };
    let none: Vec<String> = Vec::new();
    let watch = vec![flags::DEPEG_WATCH.to_owned()];
    let depeg = vec![
        flags::DEPEG_WATCH.to_owned(),
        flags::STABLECOIN_DEPEG.to_owned(),
    ];
    assert_eq!(flags_at(dec!(0.9951)), (none.clone(), dec!(0.01)));
    assert_eq!(flags_at(dec!(0.995)), (watch.clone(), dec!(0.01)));
    assert_eq!(flags_at(dec!(1.005)), (watch.clone(), dec!(0.01)));
    assert_eq!(flags_at(dec!(1.0049)), (none, dec!(0.01)));
    assert_eq!(flags_at(dec!(0.9801)), (watch, dec!(0.01)));
    assert_eq!(flags_at(dec!(0.98)), (depeg.clone(), dec!(0.15)));
    assert_eq!(flags_at(dec!(1.02)), (depeg, dec!(0.15)));

    // Watching is not a data problem.
    let r = value(
        &holdings,
        &prices(&[("USDC", dec!(0.995))]),
        Some(dec!(1000)),
    );
    assert_eq!(r.status, CollateralStatus::Ok);
}

// ---------------------------------------------------------------- concentration

#[test]
fn long_tail_capped_at_ten_percent() {
    let holdings = vec![
        hold("binance-spot", "BTC", dec!(100)),
        hold("binance-spot", "FOO", dec!(2000000)),
    ];
    let px = prices(&[("BTC", dec!(64003.25)), ("FOO", dec!(1))]);
    let r = value(&holdings, &px, None);
    let foo = asset(&r, "FOO");
    // 500,000 x 0.70 + 1,500,000 x 0.50.
    assert_eq!(foo.collateral_value_pre_cap, dec!(1100000));
    // 10 % of 7,145,300.625.
    assert_eq!(foo.cap_excess, dec!(385469.9375));
    assert_eq!(foo.collateral_value.to_string(), "714530.06");
    assert!(has_flag(&foo.flags, flags::CONCENTRATION_CAP));
    // 6,045,300.625 + 714,530.0625.
    assert_eq!(r.collateral_value_total.to_string(), "6759830.68");

    // Beyond 2M of MV a long-tail asset adds nothing (100 % haircut).
    let r = value(
        &[hold("binance-spot", "FOO", dec!(3000000))],
        &px,
        Some(dec!(1)),
    );
    let foo = asset(&r, "FOO");
    assert_eq!(foo.tiers[2].haircut, dec!(1));
    assert_eq!(foo.tiers[2].collateral_value, dec!(0));
    assert_eq!(foo.collateral_value_pre_cap, dec!(1100000));
}

// ---------------------------------------------------------------- rounding

#[test]
fn collateral_rounds_down_requirement_and_deficit_up() {
    let usd = |q: Decimal| vec![hold("bank", "USD", q)];
    let none = HashMap::new();

    let r = value(&usd(dec!(10.999)), &none, None);
    assert_eq!(r.collateral_value_total.to_string(), "10.99");
    assert_eq!(r.assets[0].collateral_value.to_string(), "10.99");
    assert_eq!(
        r.market_value_total,
        dec!(10.999),
        "market value stays exact"
    );

    let r = value(&usd(dec!(99.991)), &none, Some(dec!(100)));
    assert_eq!(r.status, CollateralStatus::MarginCall);
    assert_eq!(r.coverage.unwrap().to_string(), "0.9999");
    assert_eq!(r.deficit.unwrap().to_string(), "0.01");
    assert_eq!(r.requirement.unwrap().to_string(), "100.00");

    let r = value(&usd(dec!(100.005)), &none, Some(dec!(100.001)));
    assert_eq!(r.requirement.unwrap().to_string(), "100.01");
    assert_eq!(r.deficit.unwrap().to_string(), "0.01");
    assert_eq!(r.collateral_value_total.to_string(), "100.00");

    let r = value(&usd(dec!(199.99999)), &none, Some(dec!(100)));
    assert_eq!(r.coverage.unwrap().to_string(), "1.9999");
    assert_eq!(r.status, CollateralStatus::Ok);

    // Exactly covered is not a call.
    let r = value(&usd(dec!(100)), &none, Some(dec!(100)));
    assert_eq!(r.coverage.unwrap().to_string(), "1.0000");
    assert_eq!(r.deficit, None);
    assert_eq!(r.status, CollateralStatus::Ok);

    // A quotient whose 28th significant digit rounds up onto 1: the coverage must still read
    // below 1, as the status does.
    let cv = dec!(2.9999999999999999999999999999);
    assert_eq!(
        (cv / dec!(3)).round_dp_with_strategy(4, rust_decimal::RoundingStrategy::ToZero),
        dec!(1),
        "the plain division rounds up here"
    );
    let r = value(&usd(cv), &none, Some(dec!(3)));
    assert_eq!(r.coverage.unwrap().to_string(), "0.9999");
    assert_eq!(r.status, CollateralStatus::MarginCall);
    assert_eq!(r.deficit.unwrap().to_string(), "0.01");
}

#[test]
fn zero_requirement_has_no_coverage() {
    let r = value(
        &[hold("bank", "USD", dec!(5))],
        &HashMap::new(),
        Some(dec!(0)),
    );
    assert_eq!(r.coverage, None);
    assert_eq!(r.deficit, None);
    assert_eq!(r.status, CollateralStatus::Ok);
}

#[test]
fn serialized_report_shape() {
    let r = value(&c1_holdings(), &prices(&[("BTC", dec!(64003.25))]), None);
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(json["schema"], "collateral_report.v1");
    assert_eq!(json["collateral_value_total"], "6045300.62");
    assert_eq!(json["market_value_total"], "6400325.00");
    assert_eq!(json["status"], "NO_REQUIREMENT");
    assert_eq!(json["coverage"], serde_json::Value::Null);
    assert_eq!(json["assets"][0]["tiers"][1]["haircut"], "0.075");
    assert_eq!(json["assets"][0]["by_source"][0]["stale"], false);
    assert_eq!(json["calc_time"], "2026-11-24T12:00:00.000000Z");
    let back: CollateralReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}

// ---------------------------------------------------------------- AccountValuer

fn balance(account: &str, source: &str, asset: &str, total: Decimal, as_of: Ts) -> BalanceSnapshot {
    BalanceSnapshot {
        unrealized_pnl: None,
        schema: BalanceSchema,
        account: account.to_owned(),
        source: source.to_owned(),
        source_kind: SourceKind::Exchange,
        venue: source.to_owned(),
        sub_account: None,
        wallet: None,
        asset: asset.to_owned(),
        venue_asset: asset.to_owned(),
        network: None,
        total,
        available: total,
        locked: Decimal::ZERO,
        borrowed: None,
        pending: None,
        as_of,
        received_at: as_of,
    }
}

#[test]
fn valuer_seq_per_account_and_requirement_only_accounts() {
    let mut v = AccountValuer::new(ValuationParams::default());
    let at = t0().plus_millis(-1000);
    v.on_balance(&balance("fund-a", "binance-spot", "BTC", dec!(100), at));
    v.on_balance(&balance("fund-a", "binance-spot", "SOL", dec!(40000), at));
    let reqs = BTreeMap::from([
        ("fund-a".to_owned(), dec!(5000000)),
        ("fund-z".to_owned(), dec!(1000)),
    ]);

    let first = v.value(t0(), &c4_prices(), &reqs);
    let accounts: Vec<(&str, u64)> = first.iter().map(|r| (r.account.as_str(), r.seq)).collect();
    assert_eq!(accounts, vec![("fund-a", 1), ("fund-z", 1)]);
    assert_eq!(first[0].collateral_value_total.to_string(), "8670025.78");
    assert_eq!(first[0].coverage.unwrap().to_string(), "1.7340");
    assert_eq!(first[0].params_hash, v.params_hash());
    assert!(first[1].assets.is_empty());
    assert_eq!(first[1].status, CollateralStatus::MarginCall);
    assert_eq!(first[1].deficit, Some(dec!(1000.00)));
    assert_eq!(v.last_status("fund-z"), Some(CollateralStatus::MarginCall));

    // The pure method gives the same report.
    let holdings = c4_holdings();
    let direct = value_account(
        "fund-a",
        t0(),
        &holdings,
        &c4_prices(),
        Some(dec!(5000000)),
        v.params(),
        v.params_hash(),
        1,
    );
    assert_eq!(first[0], direct);

    v.on_balance(&balance("fund-b", "okx", "USD", dec!(10), at));
    let second = v.value(t0().plus_millis(1000), &c4_prices(), &reqs);
    let accounts: Vec<(&str, u64)> = second.iter().map(|r| (r.account.as_str(), r.seq)).collect();
    assert_eq!(accounts, vec![("fund-a", 2), ("fund-b", 1), ("fund-z", 2)]);
    assert_eq!(second[1].status, CollateralStatus::NoRequirement);
}

#[test]
fn valuer_keeps_latest_balance_per_source_and_asset() {
    let mut v = AccountValuer::new(ValuationParams::default());
    let t = t0();
    v.on_balance(&balance(
        "fund-a",
        "okx",
        "USD",
        dec!(10),
        t.plus_millis(-2000),
    ));
    v.on_balance(&balance(
        "fund-a",
        "okx",
        "USD",
        dec!(20),
        t.plus_millis(-1000),
    ));
    // Late and older: ignored.
    v.on_balance(&balance(
        "fund-a",
        "okx",
        "USD",
        dec!(99),
        t.plus_millis(-3000),
    ));
    v.on_balance(&balance(
        "fund-a",
        "kraken",
        "USD",
        dec!(5),
        t.plus_millis(-1000),
    ));
    let r = &v.value(t, &HashMap::new(), &BTreeMap::new())[0];
    assert_eq!(r.assets[0].quantity, dec!(25));
    assert_eq!(r.assets[0].by_source.len(), 2);
    // Same as_of: a correction replaces.
    v.on_balance(&balance(
        "fund-a",
        "okx",
        "USD",
        dec!(21),
        t.plus_millis(-1000),
    ));
    let r = &v.value(t, &HashMap::new(), &BTreeMap::new())[0];
    assert_eq!(r.assets[0].quantity, dec!(26));
    assert_eq!(r.seq, 2);
}

// ---------------------------------------------------------------- reproducibility

#[test]
fn params_hash_is_sha256_of_canonical_params() {
    let p = ValuationParams::default();
    let a = AccountValuer::new(p.clone());
    let b = AccountValuer::new(p.clone());
    assert_eq!(a.params_hash(), b.params_hash());
    let json = format!(
        r#"{{"method_version":"{METHOD_VERSION}","params":{}}}"#,
        serde_json::to_string(&p).unwrap()
    );
    let expected = hex::encode(Sha256::digest(json.as_bytes()));
    assert_eq!(a.params_hash(), expected);
    assert_eq!(a.params_hash().len(), 64);

    let mut changed = p.clone();
    changed.depeg = dec!(0.03);
    assert_ne!(AccountValuer::new(changed).params_hash(), a.params_hash());

    let mut tiers = p.clone();
    tiers.classes.get_mut("btc").unwrap()[0].haircut = dec!(0.06);
    assert_ne!(AccountValuer::new(tiers).params_hash(), a.params_hash());

    // Spelling of a decimal is not a different parameter set.
    let mut spelled = p.clone();
    spelled.depeg_watch = dec!(0.0050);
    spelled.caps.insert("alt".to_owned(), dec!(0.250));
    assert_eq!(AccountValuer::new(spelled).params_hash(), a.params_hash());
}

#[test]
fn params_defaults_validate_and_override() {
    let p = ValuationParams::default();
    assert!(p.validate().is_empty(), "{:?}", p.validate());
    assert_eq!(p.class_of("SOL"), "alt");
    assert_eq!(p.class_of("DOGE"), "alt");
    assert_eq!(p.class_of("PEPE"), "long_tail");
    assert_eq!(p.class_of("USD"), "cash");
    assert_eq!(p.max_balance_age_exchange_ms, 300_000);
    assert_eq!(p.max_balance_age_custodian_ms, 86_400_000);

    // Config overrides a field and keeps the rest.
    let o: ValuationParams =
        serde_json::from_str(r#"{"depeg": "0.03", "caps": {"alt": "0.2"}}"#).unwrap();
    assert_eq!(o.depeg, dec!(0.03));
    assert_eq!(o.caps.get("alt"), Some(&dec!(0.2)));
    assert_eq!(
        o.caps.get("long_tail"),
        None,
        "a given map replaces the default"
    );
    assert_eq!(o.classes, p.classes);
    assert!(serde_json::from_str::<ValuationParams>(r#"{"depegg": "0.03"}"#).is_err());
    // The canonical form reads back as the same parameters.
    let round: ValuationParams = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
    assert_eq!(round, p);

    let mut bad = p.clone();
    bad.classes.insert(
        "weird".to_owned(),
        vec![
            Tier {
                up_to: Some(dec!(10)),
                haircut: dec!(1.5),
            },
            Tier {
                up_to: Some(dec!(5)),
                haircut: dec!(0.1),
            },
        ],
    );
    bad.default_class = "nope".to_owned();
    bad.max_balance_age_exchange_ms = 0;
    let errors = bad.validate();
    for path in [
        "classes.weird[0].haircut",
        "classes.weird[1].up_to",
        "default_class",
        "max_balance_age_exchange_ms",
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(path)),
            "no error for {path} in {errors:?}"
        );
    }
}

#[test]
fn input_digest_equal_for_equal_inputs() {
    let px = c4_prices();
    let h = c4_holdings();
    let a = value(&h, &px, Some(dec!(5000000)));
    let mut reversed = h.clone();
    reversed.reverse();
    let b = value(&reversed, &px, Some(dec!(5000000)));
    assert_eq!(a.input_digest, b.input_digest);
    assert_eq!(a, b);
    assert_eq!(a.input_digest.len(), 64);

    let mut more = h.clone();
    more[0].quantity = dec!(101);
    assert_ne!(
        value(&more, &px, Some(dec!(5000000))).input_digest,
        a.input_digest
    );
    assert_ne!(
        value(&h, &px, Some(dec!(5000001))).input_digest,
        a.input_digest
    );
    let mut pending = h.clone();
    pending[0].pending = Some(dec!(1));
    assert_ne!(
        value(&pending, &px, Some(dec!(5000000))).input_digest,
        a.input_digest
    );
    let stale_px = HashMap::from([
        (
            "BTC".to_owned(),
            rp("BTC", dec!(64003.25), PriceStatus::Stale),
        ),
        ("SOL".to_owned(), rp("SOL", dec!(150.15), PriceStatus::Ok)),
    ]);
    assert_ne!(
        value(&h, &stale_px, Some(dec!(5000000))).input_digest,
        a.input_digest
    );
    let later = value_account(
        "fund-a",
        t0().plus_millis(1),
        &h,
        &px,
        Some(dec!(5000000)),
        &ValuationParams::default(),
        "test-hash",
        1,
    );
    assert_ne!(later.input_digest, a.input_digest);
}

#[test]
fn flags_sorted_and_unique_across_assets() {
    let old = t0().plus_millis(-3_600_000);
    let holdings = vec![
        hold("binance-spot", "SOL", dec!(40000)),
        hold("binance-spot", "AVAX", dec!(100000)),
        hold_at("okx", SourceKind::Exchange, "SOL", dec!(1), old),
        hold_at("okx", SourceKind::Exchange, "AVAX", dec!(1), old),
        hold("binance-spot", "USDT", dec!(1000)),
    ];
    let px = prices(&[
        ("SOL", dec!(150.15)),
        ("AVAX", dec!(30)),
        ("USDT", dec!(0.99)),
    ]);
    let r = value(&holdings, &px, None);
    assert_flags_sorted_unique(&r);
    assert_eq!(
        r.flags,
        vec![
            flags::CONCENTRATION_CAP.to_owned(),
            flags::DEPEG_WATCH.to_owned(),
            flags::STALE_BALANCE.to_owned(),
        ]
    );
}
