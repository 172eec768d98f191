//! Truth on real accounts (issue "truth"): freshness is confirmation, not last change; a start-up
//! is not a margin call; nothing held vanishes (unmapped codes, two networks, testnet coins).
//! Figures are derived by hand from collateral.md, never from a previous run.

use normalizer::assets::AssetMaster;
use normalizer::core::{ConnectorInfo, Normalizer};
use normalizer::reference::ReferenceEngine;
use normalizer::valuation::{flags, AccountValuer, Unmapped, ValuationParams};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{
    BalanceObs, BalanceSchema, BalanceSnapshot, CollateralReport, CollateralStatus, Observation,
    PriceStatus, Record, ReferencePrice, ReferencePriceSchema, SourceKind, Ts,
};
use std::collections::{BTreeMap, HashMap};

fn t0() -> Ts {
    Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap()
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn usd_price(asset: &str, price: Decimal) -> ReferencePrice {
    ReferencePrice {
        schema: ReferencePriceSchema,
        base: asset.to_owned(),
        quote: "USD".to_owned(),
        price: Some(price),
        status: PriceStatus::Ok,
        reasons: vec![],
        calc_time: t0(),
        seq: 1,
        conf: None,
        price_low: None,
        price_high: None,
        n_configured: 1,
        n_fresh: 1,
        n_valid: 1,
        last_good_price: Some(price),
        last_good_time: Some(t0()),
        method_version: "median-v1".to_owned(),
        params_hash: String::new(),
        input_digest: String::new(),
        constituents: vec![],
    }
}

fn prices() -> HashMap<String, ReferencePrice> {
    [("BTC", dec!(60000)), ("USDC", dec!(1))]
        .into_iter()
        .map(|(a, p)| (a.to_owned(), usd_price(a, p)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn snapshot(
    source: &str,
    kind: SourceKind,
    asset: &str,
    venue_asset: &str,
    network: Option<&str>,
    total: Decimal,
    as_of: Ts,
    received_at: Ts,
) -> BalanceSnapshot {
    BalanceSnapshot {
        unrealized_pnl: None,
        schema: BalanceSchema,
        account: "fund-a".into(),
        source: source.into(),
        source_kind: kind,
        venue: source.into(),
        sub_account: None,
        wallet: None,
        asset: asset.into(),
        venue_asset: venue_asset.into(),
        network: network.map(str::to_owned),
        total,
        available: Decimal::ZERO,
        locked: total,
        borrowed: None,
        pending: None,
        as_of,
        received_at,
    }
}

fn btc(total: Decimal, as_of: Ts, received_at: Ts) -> BalanceSnapshot {
    snapshot(
        "binance-spot",
        SourceKind::Exchange,
        "BTC",
        "BTC",
        None,
        total,
        as_of,
        received_at,
    )
}

fn only(reports: Vec<CollateralReport>) -> CollateralReport {
    assert_eq!(reports.len(), 1, "{reports:?}");
    reports.into_iter().next().unwrap()
}

#[test]
fn a_dormant_account_stays_valued_for_as_long_as_it_is_confirmed() {
    let mut v = AccountValuer::new(ValuationParams::default());
    // Last traded three days ago, confirmed by the poll one second ago.
    let last_trade = t0().plus_millis(-72 * HOUR);
    v.on_balance(&btc(dec!(10), last_trade, t0().plus_millis(-1000)));
    let r = only(v.value(t0(), &prices(), &BTreeMap::new()));
    let a = &r.assets[0];
    assert_eq!(a.quantity, dec!(10));
    assert_eq!(a.market_value, dec!(600000));
    assert!(!a.by_source[0].stale);
    assert_eq!(
        a.by_source[0].as_of, last_trade,
        "the venue's own time is kept"
    );
    assert_eq!(a.by_source[0].confirmed_at, t0().plus_millis(-1000));
    assert!(!r.flags.contains(&flags::STALE_BALANCE.to_owned()));
    assert_eq!(r.status, CollateralStatus::NoRequirement);

    // No confirmation for 5 min + 1 ms: stale, counted 0.
    let later = t0().plus_millis(5 * MIN - 1000 + 1);
    let r = only(v.value(later, &prices(), &BTreeMap::new()));
    assert!(r.assets[0].by_source[0].stale);
    assert_eq!(r.assets[0].quantity, dec!(0));
    assert_eq!(r.flags, vec![flags::STALE_BALANCE.to_owned()]);
    assert_eq!(r.status, CollateralStatus::Degraded);

    // Exactly at the limit it is still fresh.
    let mut v = AccountValuer::new(ValuationParams::default());
    v.on_balance(&btc(dec!(10), last_trade, t0().plus_millis(-5 * MIN)));
    let r = only(v.value(t0(), &prices(), &BTreeMap::new()));
    assert!(!r.assets[0].by_source[0].stale);
}

#[test]
fn the_latest_confirmation_wins_not_the_latest_venue_time() {
    let mut v = AccountValuer::new(ValuationParams::default());
    // A poll confirms 10 BTC (last changed an hour ago)...
    v.on_balance(&btc(
        dec!(10),
        t0().plus_millis(-HOUR),
        t0().plus_millis(-2000),
    ));
    // ... a later poll confirms 12 BTC, stamped by a venue field that did not move forward.
    v.on_balance(&btc(
        dec!(12),
        t0().plus_millis(-2 * HOUR),
        t0().plus_millis(-1000),
    ));
    // A late delivery of an older confirmation cannot roll it back.
    v.on_balance(&btc(dec!(7), t0(), t0().plus_millis(-1500)));
    let r = only(v.value(t0(), &prices(), &BTreeMap::new()));
    assert_eq!(r.assets[0].quantity, dec!(12));
}

#[test]
fn a_start_up_is_not_a_margin_call() {
    let mut v = AccountValuer::new(ValuationParams::default());
    v.expect_source("fund-a", "binance-spot", SourceKind::Exchange);
    v.expect_source("fund-a", "fireblocks-main", SourceKind::Custodian);
    let reqs = BTreeMap::from([("fund-a".to_owned(), dec!(1000000))]);
    // Only the exchange has reported: 10 BTC = 600,000 MV, CV 570,000 < 1,000,000.
    v.on_balance(&btc(dec!(10), t0(), t0()));
    let r = only(v.value(t0().plus_millis(1000), &prices(), &reqs));
    assert_eq!(r.status, CollateralStatus::Degraded);
    assert!(r.flags.contains(&flags::AWAITING_BALANCES.to_owned()));
    assert_eq!(r.collateral_value_total, dec!(570000.00));
    assert_eq!(r.deficit, Some(dec!(430000.00)), "the figures are shown");
    assert_eq!(r.missing_sources.len(), 1);
    assert_eq!(r.missing_sources[0].source, "fireblocks-main");
    assert_eq!(r.missing_sources[0].reason, flags::AWAITING_BALANCES);

    // An empty account confirmed by a successful poll is no longer awaited: a real call.
    v.on_confirmed("fund-a", "fireblocks-main", t0().plus_millis(1500));
    let r = only(v.value(t0().plus_millis(2000), &prices(), &reqs));
    assert_eq!(r.status, CollateralStatus::MarginCall);
    assert!(r.missing_sources.is_empty());
}

#[test]
fn a_source_silent_past_its_limit_counts_zero_and_says_so() {
    let mut v = AccountValuer::new(ValuationParams::default());
    v.expect_source("fund-a", "binance-spot", SourceKind::Exchange);
    v.expect_source("fund-a", "okx", SourceKind::Exchange);
    let reqs = BTreeMap::from([("fund-a".to_owned(), dec!(1000000))]);
    v.on_balance(&btc(dec!(10), t0(), t0()));
    // Keep binance confirmed; okx never reports.
    let at = t0().plus_millis(5 * MIN + 1);
    v.on_balance(&btc(dec!(10), t0(), at));
    let r = only(v.value(at, &prices(), &reqs));
    assert_eq!(r.missing_sources[0].reason, flags::NO_BALANCES);
    assert!(r.flags.contains(&flags::NO_BALANCES.to_owned()));
    assert!(!r.flags.contains(&flags::AWAITING_BALANCES.to_owned()));
    assert_eq!(
        r.status,
        CollateralStatus::MarginCall,
        "the risk is real now"
    );
}

#[test]
fn an_unmapped_balance_is_shown_counting_zero() {
    let mut v = AccountValuer::new(ValuationParams::default());
    v.on_balance(&btc(dec!(1), t0(), t0()));
    v.on_unmapped(Unmapped {
        account: "fund-a".into(),
        source: "okx".into(),
        source_kind: SourceKind::Exchange,
        venue: "okx".into(),
        venue_asset: "ZZZDUST".into(),
        sub_account: None,
        wallet: None,
        quantity: dec!(1234.5),
        as_of: t0(),
        confirmed_at: t0(),
        reason: "unknown asset code \"ZZZDUST\" on okx".into(),
    });
    let r = only(v.value(t0(), &prices(), &BTreeMap::new()));
    assert_eq!(r.unmapped.len(), 1);
    let u = &r.unmapped[0];
    assert_eq!(
        (u.source.as_str(), u.venue_asset.as_str(), u.quantity),
        ("okx", "ZZZDUST", dec!(1234.5))
    );
    assert!(!u.stale);
    assert_eq!(r.market_value_total, dec!(60000), "counted 0");
    assert!(r.flags.contains(&flags::UNMAPPED_ASSET.to_owned()));
    assert_eq!(r.status, CollateralStatus::Degraded);
}

#[test]
fn one_asset_on_two_networks_at_one_source_is_two_holdings() {
    let mut v = AccountValuer::new(ValuationParams::default());
    let at = t0();
    let usdc = |code: &str, network: &str, q: Decimal| {
        snapshot(
            "fireblocks-main",
            SourceKind::Custodian,
            "USDC",
            code,
            Some(network),
            q,
            at,
            at,
        )
    };
    v.on_balance(&usdc("USDC", "ETHEREUM", dec!(1000)));
    v.on_balance(&usdc("USDC_POLYGON", "POLYGON", dec!(250)));
    let r = only(v.value(t0(), &prices(), &BTreeMap::new()));
    let a = &r.assets[0];
    assert_eq!(a.quantity, dec!(1250));
    let mut networks: Vec<_> = a
        .by_source
        .iter()
        .map(|s| (s.network.as_deref(), s.quantity))
        .collect();
    networks.sort();
    assert_eq!(
        networks,
        vec![(Some("ETHEREUM"), dec!(1000)), (Some("POLYGON"), dec!(250))]
    );
}

#[test]
fn testnet_coins_are_listed_never_valued() {
    let mut params = ValuationParams::default();
    params
        .asset_class
        .insert("ETHTEST".into(), "testnet".into());
    assert!(params.validate().is_empty(), "{:?}", params.validate());
    let mut v = AccountValuer::new(params);
    v.on_balance(&snapshot(
        "fireblocks-main",
        SourceKind::Custodian,
        "ETHTEST",
        "ETH_TEST5",
        Some("SEPOLIA"),
        dec!(10),
        t0(),
        t0(),
    ));
    let r = only(v.value(t0(), &prices(), &BTreeMap::new()));
    let a = &r.assets[0];
    assert_eq!((a.quantity, a.market_value), (dec!(10), dec!(0)));
    assert_eq!(a.price, None);
    assert_eq!(a.flags, vec![flags::TESTNET_ASSET.to_owned()]);
    assert_eq!(
        r.status,
        CollateralStatus::NoRequirement,
        "a test coin is not a data problem"
    );
}

// ------------------------------------------------------------- through the normalizer

/// The last `collateral_report.v1` among `out`.
fn last_report(out: &[Record]) -> &CollateralReport {
    out.iter()
        .rev()
        .find_map(|r| match r {
            Record::CollateralReport(c) => Some(c),
            _ => None,
        })
        .expect("a collateral report")
}

fn connector(id: &str, kind: SourceKind) -> ConnectorInfo {
    ConnectorInfo {
        id: id.into(),
        venue: id.into(),
        sources: vec![],
        account: Some("fund-a".into()),
        source_kind: kind,
        reports_balances: true,
    }
}

fn obs(connector: u32, code: &str, total: Decimal, at: Ts) -> Observation {
    Observation::Balance(BalanceObs {
        unrealized_pnl: None,
        connector,
        venue_asset: code.into(),
        total,
        available: None,
        locked: None,
        borrowed: None,
        pending: None,
        sub_account: None,
        wallet: None,
        as_of: Some(at.plus_millis(-48 * HOUR)),
        received_at: at,
        poll_started: None,
        network: None,
    })
}

#[test]
fn the_normalizer_awaits_sources_and_shows_what_it_cannot_map() {
    let conns = vec![
        connector("fireblocks", SourceKind::Custodian),
        connector("okx", SourceKind::Exchange),
    ];
    let mut n = Normalizer::new(conns, ReferenceEngine::new(vec![]).unwrap(), 1000)
        .with_assets(AssetMaster::default())
        .with_valuation(
            ValuationParams::default(),
            BTreeMap::from([("fund-a".to_owned(), dec!(1000))]),
        );
    let mut out = Vec::new();
    n.start_clock(t0());
    let feed = |state: schemas::FeedState, at: Ts| {
        Observation::Status(schemas::FeedStatus {
            schema: schemas::FeedStatusSchema,
            connector: "fireblocks".into(),
            venue: "fireblocks".into(),
            stream: "balances".into(),
            state,
            epoch: 0,
            since: at,
            last_data_at: Some(at),
            reason: None,
        })
    };
    n.apply(feed(schemas::FeedState::Live, t0()), &mut out);
    n.apply(obs(0, "USDC_POLYGON", dec!(5), t0()), &mut out);
    n.apply(obs(0, "ZZZ_UNKNOWN_TOKEN", dec!(7), t0()), &mut out);
    n.run_ticks_until(t0().plus_millis(1000), &mut out);

    let balance = out
        .iter()
        .find_map(|r| match r {
            Record::Balance(b) => Some(b),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (balance.asset.as_str(), balance.network.as_deref()),
        ("USDC", Some("POLYGON"))
    );
    assert_eq!(
        (balance.available, balance.locked),
        (dec!(0), dec!(5)),
        "no split from the venue: nothing shown free"
    );
    // The source's balances feed names the code at once, and keeps naming it.
    let statuses: Vec<_> = out
        .iter()
        .filter_map(|r| match r {
            Record::FeedStatus(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(statuses[0].reason, None);
    assert_eq!(statuses[1].stream, "balances");
    assert_eq!(
        statuses[1].reason.as_deref(),
        Some("unmapped asset codes (shown, counted 0): ZZZ_UNKNOWN_TOKEN")
    );
    let mut down = Vec::new();
    n.apply(
        feed(schemas::FeedState::Down, t0().plus_millis(1200)),
        &mut down,
    );
    match &down[0] {
        Record::FeedStatus(f) => assert!(f
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("ZZZ_UNKNOWN_TOKEN"))),
        other => panic!("{other:?}"),
    }

    let report = last_report(&out);
    // 5 USDC at no price (no USDC-USD yet) and okx still awaited: DEGRADED, not a call.
    assert_eq!(report.status, CollateralStatus::Degraded);
    assert!(report.flags.contains(&flags::AWAITING_BALANCES.to_owned()));
    assert!(report.flags.contains(&flags::UNMAPPED_ASSET.to_owned()));
    assert_eq!(report.unmapped[0].venue_asset, "ZZZ_UNKNOWN_TOKEN");
    assert_eq!(report.missing_sources[0].source, "okx");

    // okx's poll succeeds with no rows: the feed status confirms it, and the call is real.
    let live = schemas::FeedStatus {
        schema: schemas::FeedStatusSchema,
        connector: "okx".into(),
        venue: "okx".into(),
        stream: "balances".into(),
        state: schemas::FeedState::Live,
        epoch: 0,
        since: t0().plus_millis(1500),
        last_data_at: Some(t0().plus_millis(1500)),
        reason: None,
    };
    out.clear();
    n.apply(Observation::Status(live), &mut out);
    n.run_ticks_until(t0().plus_millis(2000), &mut out);
    let report = last_report(&out);
    assert!(report.missing_sources.is_empty());
    // USDC's first price has not come (no USDC-USD pair here): still the start-up grace.
    assert_eq!(
        report.flags,
        vec![
            flags::AWAITING_PRICES,
            flags::NO_PRICE,
            flags::UNMAPPED_ASSET
        ]
    );
    assert_eq!(report.status, CollateralStatus::Degraded);
    // Past the grace (5 min, as long as an exchange balance may take) the call is real.
    out.clear();
    n.run_ticks_until(t0().plus_millis(5 * MIN + 2000), &mut out);
    let report = last_report(&out);
    assert_eq!(report.flags, vec![flags::NO_PRICE, flags::UNMAPPED_ASSET]);
    assert_eq!(report.status, CollateralStatus::MarginCall);
}

#[test]
fn a_held_asset_awaiting_its_first_price_is_not_a_margin_call() {
    let mut v = AccountValuer::new(ValuationParams::default());
    let reqs = BTreeMap::from([("fund-a".to_owned(), dec!(1000000))]);
    v.on_balance(&btc(dec!(10), t0(), t0()));
    // The first cut comes before the first BTC-USD price.
    let r = only(v.value(t0(), &HashMap::new(), &reqs));
    assert_eq!(r.status, CollateralStatus::Degraded);
    assert!(r.flags.contains(&flags::AWAITING_PRICES.to_owned()));
    // An UNAVAILABLE price that was never good is still awaited...
    let mut never = usd_price("BTC", dec!(1));
    never.price = None;
    never.status = PriceStatus::Unavailable;
    never.last_good_price = None;
    let p = HashMap::from([("BTC".to_owned(), never.clone())]);
    let r = only(v.value(t0().plus_millis(1000), &p, &reqs));
    assert_eq!(r.status, CollateralStatus::Degraded);
    // ... a price that has been good once is not: its loss is a real risk.
    let mut lost = never;
    lost.last_good_price = Some(dec!(60000));
    let p = HashMap::from([("BTC".to_owned(), lost)]);
    let r = only(v.value(t0().plus_millis(2000), &p, &reqs));
    assert!(!r.flags.contains(&flags::AWAITING_PRICES.to_owned()));
    assert_eq!(r.status, CollateralStatus::MarginCall);
}

#[test]
fn a_holding_the_next_full_poll_no_longer_lists_is_gone_and_published_as_zero() {
    let conns = vec![connector("okx", SourceKind::Exchange)];
    let mut n = Normalizer::new(conns, ReferenceEngine::new(vec![]).unwrap(), 1000)
        .with_valuation(ValuationParams::default(), BTreeMap::new());
    let mut out = Vec::new();
    n.start_clock(t0());
    // Poll 1 lists BTC and USDC; poll 2 (OKX lists only non-zero currencies) lists BTC only.
    let p1 = t0();
    n.apply(obs(0, "BTC", dec!(1), p1), &mut out);
    n.apply(obs(0, "USDC", dec!(500), p1), &mut out);
    n.apply(
        Observation::Balance(BalanceObs::poll_closed(0, p1, p1)),
        &mut out,
    );
    let p2 = t0().plus_millis(5000);
    n.apply(obs(0, "BTC", dec!(1), p2), &mut out);
    // A stream push between the poll's first page and its close is newer than the poll: kept.
    n.apply(obs(0, "ETH", dec!(2), p2.plus_millis(10)), &mut out);
    out.clear();
    n.apply(
        Observation::Balance(BalanceObs::poll_closed(0, p2, p2.plus_millis(20))),
        &mut out,
    );
    let zeros: Vec<_> = out
        .iter()
        .filter_map(|r| match r {
            Record::Balance(b) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(zeros.len(), 1, "{zeros:?}");
    assert_eq!(
        (
            zeros[0].asset.as_str(),
            zeros[0].total,
            zeros[0].venue_asset.as_str()
        ),
        ("USDC", dec!(0), "USDC")
    );
    out.clear();
    n.run_ticks_until(t0().plus_millis(6000), &mut out);
    let report = last_report(&out);
    let held: Vec<&str> = report.assets.iter().map(|a| a.asset.as_str()).collect();
    assert_eq!(held, vec!["BTC", "ETH"]);
}

#[test]
fn an_empty_accounts_poll_close_confirms_its_source() {
    let conns = vec![
        connector("okx", SourceKind::Exchange),
        connector("kraken", SourceKind::Exchange),
    ];
    let mut n = Normalizer::new(conns, ReferenceEngine::new(vec![]).unwrap(), 1000).with_valuation(
        ValuationParams::default(),
        BTreeMap::from([("fund-a".to_owned(), dec!(1000))]),
    );
    let mut out = Vec::new();
    n.start_clock(t0());
    n.apply(obs(0, "USD", dec!(10), t0()), &mut out);
    n.apply(
        Observation::Balance(BalanceObs::poll_closed(1, t0(), t0())),
        &mut out,
    );
    n.run_ticks_until(t0().plus_millis(1000), &mut out);
    let report = last_report(&out);
    assert!(report.missing_sources.is_empty(), "{report:?}");
    assert_eq!(report.status, CollateralStatus::MarginCall);
}
