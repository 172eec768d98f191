//! Venue margin and positions through the normalizer (margin.md section 1): coverage and bands
//! from the venue's own figures, `seq` per key, band changes, positions closed once, and the
//! unrealized P&L rule in collateral. Figures derived by hand from margin.md.

use normalizer::core::{ConnectorInfo, Normalizer};
use normalizer::reference::ReferenceEngine;
use normalizer::valuation::{flags, UnrealizedPnl, ValuationParams};
use normalizer::venue_margin::MarginParams;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{
    BalanceObs, CollateralReport, MarginRatioKind, MarginStatus, Market, Observation, PositionObs,
    PositionRecord, PositionSide, Record, SourceKind, Ts, VenueMarginObs, VenueMarginRecord,
};
use std::collections::BTreeMap;

fn t(s: i64) -> Ts {
    Ts::parse_rfc3339("2026-12-04T12:00:00Z")
        .unwrap()
        .plus_millis(s * 1000)
}

fn normalizer(params: ValuationParams, margin: MarginParams) -> Normalizer {
    let conns = vec![ConnectorInfo {
        id: "bybit-account".into(),
        venue: "bybit".into(),
        sources: vec![],
        account: Some("fund-b".into()),
        source_kind: SourceKind::Exchange,
        reports_balances: true,
    }];
    let mut n = Normalizer::new(conns, ReferenceEngine::new(vec![]).unwrap(), 1000)
        .with_valuation(params, BTreeMap::new())
        .with_margin(margin);
    n.start_clock(t(0));
    n
}

fn margin(equity: Decimal, mm: Decimal, at: Ts) -> Observation {
    Observation::Margin(VenueMarginObs {
        connector: 0,
        currency: "USD".into(),
        per_currency: false,
        equity: Some(equity),
        wallet_balance: Some(equity - dec!(10)),
        unrealized_pnl: Some(dec!(10)),
        initial_margin: Some(mm * dec!(2)),
        maintenance_margin: Some(mm),
        venue_margin_ratio: Some(mm / equity),
        venue_margin_ratio_kind: MarginRatioKind::MmOverEquity,
        as_of: None,
        received_at: at,
    })
}

fn margins(out: &[Record]) -> Vec<&VenueMarginRecord> {
    out.iter()
        .filter_map(|r| match r {
            Record::VenueMargin(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn positions(out: &[Record]) -> Vec<&PositionRecord> {
    out.iter()
        .filter_map(|r| match r {
            Record::Position(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn venue_margin_moves_between_bands_with_exact_figures() {
    let mut n = normalizer(ValuationParams::default(), MarginParams::default());
    let mut out = Vec::new();
    // Coverage 3 -> 1.6 -> 1.15 -> 1 -> back to 2.5.
    for (i, (e, mm)) in [
        (dec!(300), dec!(100)),
        (dec!(160), dec!(100)),
        (dec!(115), dec!(100)),
        (dec!(100), dec!(100)),
        (dec!(250), dec!(100)),
    ]
    .into_iter()
    .enumerate()
    {
        n.apply(margin(e, mm, t(i as i64)), &mut out);
    }
    let m = margins(&out);
    let got: Vec<_> = m
        .iter()
        .map(|r| (r.maintenance_coverage, r.status, r.seq))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(dec!(3.0000)), MarginStatus::Ok, 1),
            (Some(dec!(1.6000)), MarginStatus::Warn, 2),
            (Some(dec!(1.1500)), MarginStatus::Danger, 3),
            (Some(dec!(1.0000)), MarginStatus::Liquidation, 4),
            (Some(dec!(2.5000)), MarginStatus::Ok, 5),
        ]
    );
    let first = m[0];
    assert_eq!(first.key(), "fund-b/bybit-account");
    assert_eq!(first.currency, "USD");
    assert_eq!(first.usd_price, Some(dec!(1)));
    assert_eq!(first.equity_usd, Some(dec!(300)));
    assert_eq!(first.maintenance_margin_usd, Some(dec!(100)));
    assert_eq!(first.wallet_balance, Some(dec!(290)));
    assert_eq!(first.initial_margin, Some(dec!(200)));
    // No time from the venue: as of its confirmation.
    assert_eq!(first.as_of, t(0));
    let json = Record::VenueMargin(first.clone()).to_json();
    assert!(
        json.starts_with(r#"{"schema":"venue_margin.v1","account":"fund-b""#),
        "{json}"
    );
    assert!(
        json.contains(r#""venue_margin_ratio_kind":"mm_over_equity""#),
        "{json}"
    );
    assert!(
        json.contains(r#""maintenance_coverage":"3.0000""#),
        "{json}"
    );
}

#[test]
fn a_currency_without_a_usd_price_keeps_its_own_figures_and_no_usd() {
    let mut n = normalizer(ValuationParams::default(), MarginParams::default());
    let mut out = Vec::new();
    n.apply(
        Observation::Margin(VenueMarginObs {
            connector: 0,
            currency: "BTC".into(),
            per_currency: true,
            equity: Some(dec!(302.61869214)),
            wallet_balance: Some(dec!(302.60065765)),
            unrealized_pnl: Some(dec!(0.05271555)),
            initial_margin: Some(dec!(1.3)),
            maintenance_margin: Some(dec!(0.8857841)),
            venue_margin_ratio: None,
            venue_margin_ratio_kind: MarginRatioKind::None,
            as_of: Some(t(-5)),
            received_at: t(0),
        }),
        &mut out,
    );
    let m = margins(&out)[0];
    assert_eq!(m.key(), "fund-b/bybit-account/BTC");
    assert_eq!(m.usd_price, None);
    assert_eq!(m.equity_usd, None);
    // 302.61869214 / 0.8857841 = 341.63933642..., truncated.
    assert_eq!(m.maintenance_coverage, Some(dec!(341.6393)));
    assert_eq!(m.status, MarginStatus::Ok);
    assert_eq!(m.as_of, t(-5));
}

fn pos(
    symbol: &str,
    size: Decimal,
    side: PositionSide,
    scope: Option<&str>,
    at: Ts,
) -> Observation {
    Observation::Position(PositionObs {
        connector: 0,
        venue_symbol: symbol.into(),
        instrument: format!("{}-USDT-PERP", symbol.trim_end_matches("USDT")),
        market: Market::Perpetual,
        hedge_side: None,
        side,
        size,
        contracts: size,
        entry_price: Some(dec!(60000)),
        mark_price: Some(dec!(61000)),
        unrealized_pnl: Some(dec!(1000) * size),
        pnl_currency: Some("USDT".into()),
        liquidation_price: Some(dec!(30000)),
        margin_mode: Some("cross".into()),
        as_of: None,
        received_at: at,
        snapshot_scope: scope.map(str::to_owned),
    })
}

fn end(scope: &str, at: Ts) -> Observation {
    Observation::Position(PositionObs::snapshot_end(0, scope, at))
}

#[test]
fn a_position_no_longer_listed_is_closed_once_with_size_zero() {
    let mut n = normalizer(ValuationParams::default(), MarginParams::default());
    let mut out = Vec::new();
    // Poll 1: BTC long and ETH short in the linear list; an inverse list that is empty.
    n.apply(
        pos(
            "BTCUSDT",
            dec!(0.5),
            PositionSide::Long,
            Some("linear"),
            t(0),
        ),
        &mut out,
    );
    n.apply(
        pos(
            "ETHUSDT",
            dec!(3),
            PositionSide::Short,
            Some("linear"),
            t(0),
        ),
        &mut out,
    );
    n.apply(end("linear", t(0)), &mut out);
    n.apply(end("inverse", t(0)), &mut out);
    // A push moves BTC (keeps its REST scope).
    n.apply(
        pos("BTCUSDT", dec!(0.7), PositionSide::Long, None, t(2)),
        &mut out,
    );
    // Poll 2 lists BTC only: ETH is closed. The inverse list's end closes nothing linear.
    n.apply(end("inverse", t(5)), &mut out);
    n.apply(
        pos(
            "BTCUSDT",
            dec!(0.7),
            PositionSide::Long,
            Some("linear"),
            t(5),
        ),
        &mut out,
    );
    n.apply(end("linear", t(5)), &mut out);
    // Poll 3 lists nothing again for ETH: no second close.
    n.apply(
        pos(
            "BTCUSDT",
            dec!(0.7),
            PositionSide::Long,
            Some("linear"),
            t(10),
        ),
        &mut out,
    );
    n.apply(end("linear", t(10)), &mut out);
    // A pushed size 0 closes BTC; a size-0 row of a position not open says nothing.
    n.apply(
        pos("BTCUSDT", dec!(0), PositionSide::Long, None, t(11)),
        &mut out,
    );
    n.apply(
        pos(
            "SOLUSDT",
            dec!(0),
            PositionSide::Flat,
            Some("linear"),
            t(12),
        ),
        &mut out,
    );

    let p = positions(&out);
    let got: Vec<_> = p
        .iter()
        .map(|r| (r.instrument.as_str(), r.side, r.size, r.seq))
        .collect();
    assert_eq!(
        got,
        vec![
            ("BTC-USDT-PERP", PositionSide::Long, dec!(0.5), 1),
            ("ETH-USDT-PERP", PositionSide::Short, dec!(3), 1),
            ("BTC-USDT-PERP", PositionSide::Long, dec!(0.7), 2),
            ("BTC-USDT-PERP", PositionSide::Long, dec!(0.7), 3),
            ("ETH-USDT-PERP", PositionSide::Flat, dec!(0), 2),
            ("BTC-USDT-PERP", PositionSide::Long, dec!(0.7), 4),
            ("BTC-USDT-PERP", PositionSide::Flat, dec!(0), 5),
        ]
    );
    let closed_eth = p[4];
    assert_eq!(closed_eth.key(), "fund-b/bybit-account/ETH-USDT-PERP");
    assert_eq!(closed_eth.unrealized_pnl, None);
    assert_eq!(closed_eth.liquidation_price, None);
    assert_eq!(closed_eth.received_at, t(5));
    assert_eq!(p[0].pnl_currency.as_deref(), Some("USDT"));
    assert_eq!(p[0].unrealized_pnl, Some(dec!(500.0)));
}

fn balance(total: Decimal, pnl: Option<Decimal>, at: Ts) -> Observation {
    Observation::Balance(BalanceObs {
        connector: 0,
        venue_asset: "USD".into(),
        total,
        available: Some(total),
        locked: None,
        borrowed: None,
        pending: None,
        sub_account: None,
        wallet: None,
        as_of: None,
        received_at: at,
        network: None,
        poll_started: None,
        unrealized_pnl: pnl,
    })
}

fn report_after(rule: UnrealizedPnl, pnl: Decimal) -> CollateralReport {
    let params = ValuationParams {
        unrealized_pnl: rule,
        ..Default::default()
    };
    let mut n = normalizer(params, MarginParams::default());
    let mut out = Vec::new();
    n.apply(balance(dec!(1000), Some(pnl), t(0)), &mut out);
    n.run_ticks_until(t(1), &mut out);
    out.into_iter()
        .rev()
        .find_map(|r| match r {
            Record::CollateralReport(c) => Some(c),
            _ => None,
        })
        .expect("a report")
}

#[test]
fn unrealized_pnl_counts_by_the_rule() {
    // losses_only (default): a loss reduces the quantity, a gain does not count.
    let r = report_after(UnrealizedPnl::LossesOnly, dec!(-150));
    assert_eq!(r.assets[0].quantity, dec!(850));
    assert_eq!(r.assets[0].by_source[0].quantity, dec!(1000));
    assert_eq!(r.assets[0].by_source[0].unrealized_pnl, Some(dec!(-150)));
    assert!(r.assets[0]
        .flags
        .contains(&flags::UNREALIZED_LOSS.to_owned()));
    assert!(r.flags.contains(&flags::UNREALIZED_LOSS.to_owned()));
    assert_eq!(r.collateral_value_total, dec!(850.00));
    let r = report_after(UnrealizedPnl::LossesOnly, dec!(150));
    assert_eq!(r.assets[0].quantity, dec!(1000));
    assert_eq!(r.assets[0].by_source[0].unrealized_pnl, None);
    assert!(r.assets[0].flags.is_empty(), "{:?}", r.assets[0].flags);
    // include: both ways.
    let r = report_after(UnrealizedPnl::Include, dec!(150));
    assert_eq!(r.assets[0].quantity, dec!(1150));
    let r = report_after(UnrealizedPnl::Include, dec!(-150));
    assert_eq!(r.assets[0].quantity, dec!(850));
    // exclude: the wallet balance alone.
    let r = report_after(UnrealizedPnl::Exclude, dec!(-150));
    assert_eq!(r.assets[0].quantity, dec!(1000));
    assert!(r.assets[0].flags.is_empty());
}

#[test]
fn the_rule_is_part_of_the_parameters_hash() {
    let a = normalizer::valuation::AccountValuer::new(ValuationParams::default());
    let b = normalizer::valuation::AccountValuer::new(ValuationParams {
        unrealized_pnl: UnrealizedPnl::Include,
        ..Default::default()
    });
    assert_ne!(a.params_hash(), b.params_hash());
}

fn first_call(out: &[Record]) -> &schemas::MarginCallRecord {
    out.iter()
        .find_map(|r| match r {
            Record::MarginCall(c) => Some(c),
            _ => None,
        })
        .expect("a margin_call.v1")
}

/// A venue account in WARN gets transfers of free collateral from the account's custodian
/// first (suggestions in `margin_call.v1`), enough to reach `target_coverage` (2.5).
#[test]
fn a_venue_account_in_warn_gets_transfers_from_the_custodian_first() {
    use normalizer::core::margin::MarginState;
    use normalizer::margin::MarginEngine;
    let conns = vec![
        ConnectorInfo {
            id: "bybit-account".into(),
            venue: "bybit".into(),
            sources: vec![],
            account: Some("fund-b".into()),
            source_kind: SourceKind::Exchange,
            reports_balances: true,
        },
        ConnectorInfo {
            id: "vault".into(),
            venue: "fireblocks".into(),
            sources: vec![],
            account: Some("fund-b".into()),
            source_kind: SourceKind::Custodian,
            reports_balances: true,
        },
    ];
    let params = ValuationParams::default();
    let engine = MarginEngine::new(
        &params,
        "h",
        BTreeMap::new(),
        Default::default(),
        &Default::default(),
    );
    let mut n = Normalizer::new(conns, ReferenceEngine::new(vec![]).unwrap(), 1000)
        .with_valuation(params, BTreeMap::new())
        .with_margin(MarginParams::default());
    n.set_margin_engine(MarginState::new(engine));
    n.start_clock(t(0));
    let mut out = Vec::new();
    let usd = |connector: u32, total: Decimal, locked: Decimal, at: Ts| {
        Observation::Balance(BalanceObs {
            connector,
            venue_asset: "USD".into(),
            total,
            available: Some(total - locked),
            locked: Some(locked),
            borrowed: None,
            pending: None,
            sub_account: None,
            wallet: None,
            as_of: None,
            received_at: at,
            network: None,
            poll_started: None,
            unrealized_pnl: None,
        })
    };
    // The vault holds 1,000 USD of which 400 are locked; the exchange 500 USD.
    n.apply(usd(1, dec!(1000), dec!(400), t(0)), &mut out);
    n.apply(usd(0, dec!(500), dec!(0), t(0)), &mut out);
    // Coverage 1.6 (WARN): 2.5 x 100 - 160 = 90 USD needed.
    n.apply(margin(dec!(160), dec!(100), t(0)), &mut out);
    out.clear();
    n.run_ticks_until(t(1), &mut out);
    let call = first_call(&out);
    assert_eq!(call.transfers.len(), 1, "{:?}", call.transfers);
    let tr = &call.transfers[0];
    assert_eq!(
        (tr.from.as_str(), tr.to.as_str()),
        ("vault", "bybit-account")
    );
    assert_eq!(
        (tr.asset.as_str(), tr.quantity, tr.value_usd),
        ("USD", dec!(90.00), dec!(90.00))
    );
    assert_eq!(tr.venue_account, "fund-b/bybit-account");
    // Needing more than the vault's free 600: the vault gives all it has free, the rest stays
    // a shortfall (the exchange is the account in WARN itself).
    n.apply(margin(dec!(100.5), dec!(300), t(2)), &mut out);
    out.clear();
    n.run_ticks_until(t(3), &mut out);
    let call = first_call(&out);
    assert_eq!(call.transfers.len(), 1);
    assert_eq!(call.transfers[0].quantity, dec!(600));
    // Back to OK: no suggestion.
    n.apply(margin(dec!(300), dec!(100), t(4)), &mut out);
    out.clear();
    n.run_ticks_until(t(5), &mut out);
    let call = first_call(&out);
    assert!(call.transfers.is_empty(), "{:?}", call.transfers);
}
