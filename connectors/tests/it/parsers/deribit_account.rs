//! Deribit margin and positions (`venues::deribit::account`) against real payloads: the
//! `private/get_positions` docs example (via nautilus_trader), nautilus' recorded account
//! summaries (segregated and cross-collateral portfolio margin) and `user.portfolio` push, every
//! number asserted exactly; edits of those payloads are labelled. Provenance in
//! `tests/fixtures/README.md`.

use super::okx_account::{own, Item};
use connectors::account::{ParsedMargin, ParsedPosition};
use connectors::transport::private_ws::BalanceStream;
use connectors::transport::rest::PollingVenue;
use connectors::venues::deribit::account::POSITIONS_PATH;
use connectors::venues::deribit::{
    DeribitBalances, DeribitPortfolioStream, ACCOUNT_SUMMARIES_PATH,
};
use connectors::ParseError;
use rust_decimal_macros::dec;
use schemas::{MarginRatioKind, Market, PositionSide, Ts};

const SUMMARIES: &str =
    include_str!("../../fixtures/deribit/rest_private_get_account_summaries_nautilus.json");
const SUMMARIES_CROSS: &str = include_str!(
    "../../fixtures/deribit/rest_private_get_account_summaries_cross_margin_nautilus.json"
);
const PORTFOLIO: &str =
    include_str!("../../fixtures/deribit/ws_private_user_portfolio_nautilus.json");
const POSITIONS: &str =
    include_str!("../../fixtures/deribit/rest_private_get_positions_nautilus.json");

fn rest(path: &str, body: &str) -> Result<Vec<Item>, ParseError> {
    let mut out = Vec::new();
    DeribitBalances.parse_account(path, body, &mut |i| out.push(own(i)))?;
    Ok(out)
}

fn position(items: &[Item]) -> &ParsedPosition {
    match &items[0] {
        Item::Position(p) => p,
        other => panic!("{other:?}"),
    }
}

#[test]
fn segregated_summaries_are_margined_per_currency() {
    let got = rest(ACCOUNT_SUMMARIES_PATH, SUMMARIES).unwrap();
    let as_of = Some(Ts::from_micros(1_687_352_432_005_000));
    assert_eq!(
        got,
        vec![
            // equity 302.61869214 is below margin_balance 302.62729214: the smaller counts.
            Item::Margin(ParsedMargin {
                currency: "BTC".into(),
                per_currency: true,
                equity: Some(dec!(302.61869214)),
                wallet_balance: Some(dec!(302.60065765)),
                unrealized_pnl: Some(dec!(0.05271555)),
                initial_margin: Some(dec!(1.24669592)),
                maintenance_margin: Some(dec!(0.8857841)),
                venue_margin_ratio: Some(dec!(0.10098722)),
                venue_margin_ratio_kind: MarginRatioKind::EstimatedLiquidationRatio,
                as_of,
            }),
            Item::Margin(ParsedMargin {
                currency: "ETH".into(),
                per_currency: true,
                equity: Some(dec!(100)),
                wallet_balance: Some(dec!(100)),
                unrealized_pnl: Some(dec!(0)),
                initial_margin: Some(dec!(0.000402)),
                maintenance_margin: Some(dec!(0)),
                venue_margin_ratio: Some(dec!(0)),
                venue_margin_ratio_kind: MarginRatioKind::EstimatedLiquidationRatio,
                as_of,
            }),
        ]
    );
    // session_upl goes onto the balance beside `balance`.
    let mut b = Vec::new();
    DeribitBalances
        .parse_balances(SUMMARIES, &mut |x| {
            b.push((x.venue_asset.to_string(), x.unrealized_pnl))
        })
        .unwrap();
    assert_eq!(
        b,
        vec![
            ("BTC".into(), Some(dec!(0.05271555))),
            ("ETH".into(), Some(dec!(0)))
        ]
    );
}

#[test]
fn cross_collateral_is_one_account_record_in_usd() {
    // Four summaries (BTC, USDT, SOL, ETH) of a cross_pm account: one USD record from the totals.
    let got = rest(ACCOUNT_SUMMARIES_PATH, SUMMARIES_CROSS).unwrap();
    assert_eq!(
        got,
        vec![Item::Margin(ParsedMargin {
            currency: "USD".into(),
            per_currency: false,
            equity: Some(dec!(25.710502678)),
            wallet_balance: None,
            unrealized_pnl: None,
            initial_margin: Some(dec!(0.806292412)),
            maintenance_margin: Some(dec!(0.2671726792)),
            venue_margin_ratio: None,
            venue_margin_ratio_kind: MarginRatioKind::None,
            as_of: Some(Ts::from_micros(1_778_048_572_538_862)),
        })]
    );
    // The push of a cross_sm account: the same record, no time.
    let mut got = Vec::new();
    DeribitPortfolioStream
        .parse_account(PORTFOLIO, &mut |i| got.push(own(i)))
        .unwrap();
    assert_eq!(
        got,
        vec![Item::Margin(ParsedMargin {
            currency: "USD".into(),
            per_currency: false,
            equity: Some(dec!(54.924283065)),
            wallet_balance: None,
            unrealized_pnl: None,
            initial_margin: Some(dec!(1.099130991)),
            maintenance_margin: Some(dec!(0.0)),
            venue_margin_ratio: None,
            venue_margin_ratio_kind: MarginRatioKind::None,
            as_of: None,
        })]
    );
    // Edit: cross collateral off: the push's currency margined on its own (USDT), equity the
    // smaller of equity 55.00055 and margin_balance 54.968258.
    let seg = PORTFOLIO.replace(
        r#""cross_collateral_enabled": true"#,
        r#""cross_collateral_enabled": false"#,
    );
    let mut got = Vec::new();
    DeribitPortfolioStream
        .parse_account(&seg, &mut |i| got.push(own(i)))
        .unwrap();
    let [Item::Margin(m)] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!((m.currency.as_str(), m.per_currency), ("USDT", true));
    assert_eq!(
        (m.equity, m.wallet_balance),
        (Some(dec!(54.968258)), Some(dec!(55.00055)))
    );
    // Heartbeats and replies report nothing.
    let mut n = 0;
    let hb = r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}"#;
    DeribitPortfolioStream
        .parse_account(hb, &mut |_| n += 1)
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn docs_position_inverse_perpetual_in_coins() {
    let got = rest(POSITIONS_PATH, POSITIONS).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        position(&got),
        &ParsedPosition {
            venue_symbol: "BTC-PERPETUAL".into(),
            instrument: "BTC-USD-PERP".into(),
            market: Market::Perpetual,
            hedge_side: None,
            side: PositionSide::Long,
            // 50 USD at 7476.65: Deribit's size_currency 0.006687487 BTC.
            size: dec!(0.006687487),
            contracts: dec!(50),
            entry_price: Some(dec!(7440.18)),
            mark_price: Some(dec!(7476.65)),
            unrealized_pnl: Some(dec!(0)),
            pnl_currency: Some("BTC".into()),
            liquidation_price: None,
            margin_mode: None,
            as_of: None,
            scope: Some("all".into()),
        }
    );
    assert_eq!(got[1], Item::End("all".into()));
    // Edit: a short (sell, negative size) without size_currency: size / mark, rounded up:
    // 50 / 7476.65 = 0.00668748704... -> 0.00668749.
    let short = POSITIONS
        .replace(r#""direction": "buy""#, r#""direction": "sell""#)
        .replace(r#""size": 50"#, r#""size": -50"#)
        .replace(r#""size_currency": 0.006687487,"#, "");
    let got = rest(POSITIONS_PATH, &short).unwrap();
    let p = position(&got);
    assert_eq!(
        (p.side, p.size, p.contracts),
        (PositionSide::Short, dec!(0.00668749), dec!(50))
    );
    // Edit: linear USDC perpetual (size in BTC, P&L in USDC) and a dated future.
    let linear = POSITIONS
        .replace("BTC-PERPETUAL", "BTC_USDC-PERPETUAL")
        .replace(r#""size": 50"#, r#""size": 0.25"#);
    let got = rest(POSITIONS_PATH, &linear).unwrap();
    let p = position(&got);
    assert_eq!(
        (p.instrument.as_str(), p.size, p.contracts),
        ("BTC-USDC-PERP", dec!(0.25), dec!(0.25))
    );
    assert_eq!(p.pnl_currency.as_deref(), Some("USDC"));
    let dated = POSITIONS.replace("BTC-PERPETUAL", "BTC-27DEC24");
    let got = rest(POSITIONS_PATH, &dated).unwrap();
    let p = position(&got);
    assert_eq!(
        (p.instrument.as_str(), p.market),
        ("BTC-USD-20241227", Market::Future)
    );
}

#[test]
fn options_zero_rows_and_refusals() {
    // Edit: a short call, size in BTC.
    let option = POSITIONS
        .replace("BTC-PERPETUAL", "BTC-27DEC24-60000-C")
        .replace(r#""kind": "future""#, r#""kind": "option""#)
        .replace(r#""direction": "buy""#, r#""direction": "sell""#)
        .replace(r#""size": 50"#, r#""size": -2.5"#);
    let got = rest(POSITIONS_PATH, &option).unwrap();
    let p = position(&got);
    assert_eq!(p.instrument, "BTC-USD-20241227-60000-C");
    assert_eq!(
        (p.market, p.side, p.size, p.contracts),
        (Market::Option, PositionSide::Short, dec!(2.5), dec!(2.5))
    );
    // A closed row (direction zero) is skipped: the list closes it.
    let zero = POSITIONS
        .replace(r#""direction": "buy""#, r#""direction": "zero""#)
        .replace(r#""size": 50"#, r#""size": 0"#);
    assert_eq!(
        rest(POSITIONS_PATH, &zero).unwrap(),
        vec![Item::End("all".into())]
    );
    // Direction against the size's sign, a combo, a bad expiry: the page fails.
    let contra = POSITIONS.replace(r#""size": 50"#, r#""size": -50"#);
    assert!(rest(POSITIONS_PATH, &contra).is_err());
    let combo = POSITIONS.replace(r#""kind": "future""#, r#""kind": "future_combo""#);
    assert!(rest(POSITIONS_PATH, &combo).is_err());
    let bad = POSITIONS.replace("BTC-PERPETUAL", "BTC-31FEB24");
    assert!(rest(POSITIONS_PATH, &bad).is_err());
    // A venue refusal (ccxt/ccxt#9133's body) is the venue's error.
    let refused = r#"{"jsonrpc":"2.0","error":{"message":"unauthorized","code":13009},"testnet":false,"usIn":1620162727414410,"usOut":1620162727414499,"usDiff":89}"#;
    assert!(matches!(
        rest(POSITIONS_PATH, refused),
        Err(ParseError::Venue { .. })
    ));
    assert_eq!(
        rest(POSITIONS_PATH, r#"{"jsonrpc":"2.0","result":[],"usOut":5}"#).unwrap(),
        vec![Item::End("all".into())]
    );
}
