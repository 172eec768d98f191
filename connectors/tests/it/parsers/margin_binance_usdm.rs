//! Binance USDⓈ-M margin and positions (`/fapi/v3/account`, `/fapi/v3/positionRisk`) against
//! the docs' response examples and nautilus_trader's recording (`tests/fixtures/binance_usdm/`,
//! provenance in `tests/fixtures/README.md`), through the venue's `PollingVenue` entry point.
//! Payloads that are not real are inline, say so, and are one-value edits of a fixture.

use crate::support::parsers::assert_dec;
use connectors::account::{AccountItem, ParsedMargin, ParsedPosition};
use connectors::error::ParseError;
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::binance_usdm::BinanceUsdmBalances;
use rust_decimal_macros::dec;
use schemas::{MarginRatioKind, Market, PositionSide, Ts};

const ACCOUNT_V3: &str =
    include_str!("../../fixtures/binance_usdm/rest_account_GET_fapi_v3_account_docs.json");
const ACCOUNT_V2: &str =
    include_str!("../../fixtures/binance_usdm/rest_account_fapi_v2_nautilus.json");
const ONE_WAY: &str = include_str!(
    "../../fixtures/binance_usdm/rest_positionRisk_GET_fapi_v3_positionRisk_oneway_docs.json"
);
const HEDGE: &str = include_str!(
    "../../fixtures/binance_usdm/rest_positionRisk_GET_fapi_v3_positionRisk_hedge_docs.json"
);
const BALANCE: &str =
    include_str!("../../fixtures/binance_usdm/rest_balance_GET_fapi_v3_balance.json");

/// An account item, owned.
#[derive(Debug, PartialEq)]
pub enum Item {
    Margin(ParsedMargin),
    Position(ParsedPosition),
    End(String),
}

fn items(path: &str, body: &str) -> Result<Vec<Item>, ParseError> {
    let mut out = Vec::new();
    BinanceUsdmBalances.parse_account(path, body, &mut |i| {
        out.push(match i {
            AccountItem::Margin(m) => Item::Margin(m),
            AccountItem::Position(p) => Item::Position(p),
            AccountItem::PositionsEnd { scope } => Item::End(scope.into_owned()),
            AccountItem::Balance(b) => panic!("balance from parse_account: {b:?}"),
        })
    })?;
    Ok(out)
}

fn one_margin(path: &str, body: &str) -> ParsedMargin {
    match items(path, body).unwrap().as_slice() {
        [Item::Margin(m)] => m.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn account_v3_docs_example_single_asset_mode() {
    let m = one_margin("/fapi/v3/account", ACCOUNT_V3);
    assert_eq!(m.currency, "USDT");
    assert!(!m.per_currency);
    assert_dec("equity", m.equity, "103.12345678");
    assert_dec("wallet_balance", m.wallet_balance, "103.12345678");
    assert_dec("unrealized_pnl", m.unrealized_pnl, "0.00000000");
    assert_dec("initial_margin", m.initial_margin, "0.00000000");
    assert_dec("maintenance_margin", m.maintenance_margin, "0.00000000");
    // 0 / 103.12345678, the direction of Bybit's accountMMRate: 0 is healthy.
    assert_eq!(m.venue_margin_ratio, Some(dec!(0)));
    assert_eq!(m.venue_margin_ratio_kind, MarginRatioKind::MmOverEquity);
    assert_eq!(m.as_of, None);
}

#[test]
fn account_v2_recording_says_its_mode() {
    let m = one_margin("/fapi/v2/account", ACCOUNT_V2);
    assert_eq!(m.currency, "USDT");
    assert_dec("equity", m.equity, "23.72469206");
    assert_dec("wallet_balance", m.wallet_balance, "23.72469206");
    assert_dec("maintenance_margin", m.maintenance_margin, "0.00000000");
    // NOT a real payload: the recording with `multiAssetsMargin` switched on; the totals are
    // then USD.
    let multi = ACCOUNT_V2.replace(
        r#""multiAssetsMargin": false"#,
        r#""multiAssetsMargin": true"#,
    );
    assert_ne!(multi, ACCOUNT_V2);
    assert_eq!(one_margin("/fapi/v2/account", &multi).currency, "USD");
}

#[test]
fn the_ratio_is_maintenance_over_equity_rounded_up() {
    // NOT a real payload: the docs example with a maintenance margin of a third of the equity
    // plus a little: 34.37448560 / 103.12345678 = 0.33333333339...
    let body = ACCOUNT_V3.replacen(
        r#""totalMaintMargin": "0.00000000""#,
        r#""totalMaintMargin": "34.37448560""#,
        1,
    );
    let m = one_margin("/fapi/v3/account", &body);
    assert_dec("maintenance_margin", m.maintenance_margin, "34.37448560");
    let exact = dec!(34.37448560) / dec!(103.12345678);
    let ratio = m.venue_margin_ratio.unwrap();
    assert_eq!(ratio.scale(), 12);
    assert!(
        ratio >= exact && ratio - exact < dec!(0.000000000001),
        "{ratio}"
    );
    // No positive equity: no ratio (NOT a real payload).
    let broke = ACCOUNT_V3.replacen(
        r#""totalMarginBalance": "103.12345678""#,
        r#""totalMarginBalance": "-1.00000000""#,
        1,
    );
    assert_eq!(
        one_margin("/fapi/v3/account", &broke).venue_margin_ratio,
        None
    );
}

fn positions(body: &str) -> (Vec<ParsedPosition>, Vec<String>) {
    let mut ps = Vec::new();
    let mut ends = Vec::new();
    for i in items("/fapi/v3/positionRisk", body).unwrap() {
        match i {
            Item::Position(p) => {
                assert!(ends.is_empty(), "a position after the end marker");
                ps.push(p)
            }
            Item::End(s) => ends.push(s),
            Item::Margin(m) => panic!("{m:?}"),
        }
    }
    (ps, ends)
}

#[test]
fn position_risk_v3_one_way_docs_example() {
    let (ps, ends) = positions(ONE_WAY);
    assert_eq!(ends, vec!["all".to_owned()]);
    let [p] = ps.as_slice() else { panic!("{ps:?}") };
    assert_eq!(p.venue_symbol, "ADAUSDT");
    assert_eq!(p.instrument, "ADA-USDT-PERP");
    assert_eq!(p.market, Market::Perpetual);
    assert_eq!((p.side, p.hedge_side), (PositionSide::Long, None));
    assert_eq!((p.size, p.contracts), (dec!(30), dec!(30)));
    assert_dec("entry_price", p.entry_price, "0.385");
    assert_dec("mark_price", p.mark_price, "0.41047590");
    assert_dec("unrealized_pnl", p.unrealized_pnl, "0.76427700");
    assert_eq!(p.pnl_currency.as_deref(), Some("USDT"));
    // "liquidationPrice": "0": none.
    assert_eq!(p.liquidation_price, None);
    assert_eq!(p.margin_mode.as_deref(), Some("cross"));
    assert_eq!(p.as_of, Some(Ts::from_millis(1_720_736_417_660)));
    assert_eq!(p.scope.as_deref(), Some("all"));
}

#[test]
fn position_risk_v3_hedge_docs_example() {
    let (ps, ends) = positions(HEDGE);
    assert_eq!(ends, vec!["all".to_owned()]);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].instrument, "ADA-USDT-PERP");
    assert_eq!(
        (ps[0].side, ps[0].hedge_side),
        (PositionSide::Long, Some(PositionSide::Long))
    );
    let s = &ps[1];
    assert_eq!(s.venue_symbol, "COMPUSDT");
    assert_eq!(s.instrument, "COMP-USDT-PERP");
    assert_eq!(
        (s.side, s.hedge_side),
        (PositionSide::Short, Some(PositionSide::Short))
    );
    // "positionAmt": "-1.000": absolute, one contract is one COMP.
    assert_eq!((s.size, s.contracts), (dec!(1), dec!(1)));
    assert_eq!(s.size.to_string(), "1.000");
    assert_dec("entry_price", s.entry_price, "70.92841");
    assert_dec("mark_price", s.mark_price, "49.72023376");
    assert_dec("unrealized_pnl", s.unrealized_pnl, "21.20817624");
    assert_dec("liquidation_price", s.liquidation_price, "2260.56757210");
    assert_eq!(s.margin_mode.as_deref(), Some("cross"));
    assert_eq!(s.as_of, Some(Ts::from_millis(1_708_943_511_656)));
}

#[test]
fn idle_rows_isolated_positions_futures_and_empty_lists() {
    // NOT real payloads: one-value edits of the one-way docs example.
    let idle = ONE_WAY.replacen(r#""positionAmt": "30""#, r#""positionAmt": "0.000""#, 1);
    let (ps, ends) = positions(&idle);
    assert!(ps.is_empty(), "an open-order row is no position: {ps:?}");
    assert_eq!(ends, vec!["all".to_owned()]);
    let isolated = ONE_WAY.replacen(r#""isolatedWallet": "0""#, r#""isolatedWallet": "1.5""#, 1);
    assert_eq!(
        positions(&isolated).0[0].margin_mode.as_deref(),
        Some("isolated")
    );
    let future = ONE_WAY.replacen(r#""ADAUSDT""#, r#""ADAUSDT_250926""#, 1);
    let p = &positions(&future).0[0];
    assert_eq!(
        (p.instrument.as_str(), p.market),
        ("ADA-USDT-20250926", Market::Future)
    );
    let (ps, ends) = positions("[]");
    assert!(ps.is_empty());
    assert_eq!(ends, vec!["all".to_owned()]);
}

#[test]
fn refusals_and_malformed_bodies() {
    let refusal = r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#;
    for path in ["/fapi/v3/account", "/fapi/v3/positionRisk"] {
        let e = items(path, refusal).unwrap_err();
        assert!(
            matches!(e, ParseError::Venue { ref message, .. } if message.contains("-2015")),
            "{e:?}"
        );
        for bad in ["", "[", "null", "{}", r#"[{"symbol":"BTCUSDT"}]"#] {
            assert!(items(path, bad).is_err(), "{path}: {bad:?}");
        }
    }
    for bad in [
        r#"[{"symbol":"BTCEUR","positionAmt":"1"}]"#,
        r#"[{"symbol":"BTCUSDT","positionAmt":"1","positionSide":"UP"}]"#,
        r#"[{"symbol":"BTCUSDT","positionAmt":1}]"#,
    ] {
        assert!(items("/fapi/v3/positionRisk", bad).is_err(), "{bad}");
    }
    // The balance page carries no margin.
    assert!(items("/fapi/v3/balance", BALANCE).unwrap().is_empty());
}

#[test]
fn balances_carry_the_cross_unrealized_pnl() {
    let mut out: Vec<ParsedBalance<'static>> = Vec::new();
    BinanceUsdmBalances
        .parse_balances(BALANCE, &mut |b| {
            out.push(ParsedBalance {
                venue_asset: b.venue_asset.into_owned().into(),
                ..Default::default()
            });
            out.last_mut().unwrap().unrealized_pnl = b.unrealized_pnl;
        })
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_dec("unrealized_pnl", out[0].unrealized_pnl, "0.00000000");
}

#[test]
fn account_requests_are_signed_pages() {
    let v = BinanceUsdmBalances;
    assert_eq!(
        v.account_pages(),
        &["/fapi/v3/account", "/fapi/v3/positionRisk"]
    );
    let creds = v.demo_credentials();
    for page in v.account_pages() {
        let r = v
            .account_request(&creds, Ts::from_millis(1_499_827_319_559), page)
            .unwrap();
        assert_eq!((r.method, r.path.as_str(), r.weight), ("GET", *page, 5));
        assert!(r
            .query
            .starts_with("recvWindow=5000&timestamp=1499827319559&signature="));
    }
    assert!(v
        .account_request(&creds, Ts::from_millis(0), "/fapi/v1/order")
        .is_err());
}
