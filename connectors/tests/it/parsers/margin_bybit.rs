//! Bybit unified account margin (account fields of `/v5/account/wallet-balance` and the
//! `wallet` push) and positions (`/v5/position/list`, the `position` push) against the docs'
//! examples and nautilus_trader's recordings (`tests/fixtures/bybit/`, provenance in
//! `tests/fixtures/README.md`), through the venue's `PollingVenue` / `BalanceStream` entry
//! points. Payloads that are not real are inline, say so, and are one-value edits of a fixture.

use crate::support::parsers::assert_dec;
use connectors::account::{AccountItem, ParsedMargin, ParsedPosition};
use connectors::error::ParseError;
use connectors::transport::private_ws::BalanceStream;
use connectors::transport::rest::PollingVenue;
use connectors::venues::bybit::{BybitBalances, BybitWalletStream};
use rust_decimal_macros::dec;
use schemas::{MarginRatioKind, Market, PositionSide, Ts};

const WALLET: &str =
    include_str!("../../fixtures/bybit/rest_wallet_balance_GET_v5_account_wallet-balance.json");
const WALLET_PUSH: &str = include_str!("../../fixtures/bybit/ws_private_wallet_stream.json");
const INVERSE: &str =
    include_str!("../../fixtures/bybit/rest_position_list_GET_v5_position_list_inverse_docs.json");
const LINEAR: &str = include_str!("../../fixtures/bybit/http_get_positions_nautilus.json");
const PUSH_DOCS: &str = include_str!("../../fixtures/bybit/ws_private_position_stream_docs.json");
const PUSH_LONG: &str = include_str!("../../fixtures/bybit/ws_account_position_nautilus.json");
const PUSH_SHORT: &str =
    include_str!("../../fixtures/bybit/ws_account_position_short_nautilus.json");

#[derive(Debug, PartialEq)]
enum Item {
    Margin(ParsedMargin),
    Position(ParsedPosition),
    End(String),
}

fn own(out: &mut Vec<Item>) -> impl FnMut(AccountItem<'_>) + '_ {
    move |i| {
        out.push(match i {
            AccountItem::Margin(m) => Item::Margin(m),
            AccountItem::Position(p) => Item::Position(p),
            AccountItem::PositionsEnd { scope } => Item::End(scope.into_owned()),
            AccountItem::Balance(b) => panic!("balance from parse_account: {b:?}"),
        })
    }
}

fn rest(path: &str, body: &str) -> Result<Vec<Item>, ParseError> {
    let mut out = Vec::new();
    BybitBalances.parse_account(path, body, &mut own(&mut out))?;
    Ok(out)
}

fn push(frame: &str) -> Vec<Item> {
    let mut out = Vec::new();
    BybitWalletStream
        .parse_account(frame, &mut own(&mut out))
        .unwrap();
    out
}

fn margin(items: Vec<Item>) -> ParsedMargin {
    match items.as_slice() {
        [Item::Margin(m)] => m.clone(),
        other => panic!("{other:?}"),
    }
}

fn positions(items: Vec<Item>) -> (Vec<ParsedPosition>, Vec<String>) {
    let (mut ps, mut ends) = (Vec::new(), Vec::new());
    for i in items {
        match i {
            Item::Position(p) => ps.push(p),
            Item::End(s) => ends.push(s),
            Item::Margin(m) => panic!("{m:?}"),
        }
    }
    (ps, ends)
}

#[test]
fn wallet_balance_docs_example_gives_the_account_margin() {
    let m = margin(rest("/v5/account/wallet-balance", WALLET).unwrap());
    assert_eq!(m.currency, "USD");
    // The smaller of totalEquity 3.31216591 and totalMarginBalance 3.00326056.
    assert_dec("equity", m.equity, "3.00326056");
    assert_dec("wallet_balance", m.wallet_balance, "3.00326056");
    assert_dec("unrealized_pnl", m.unrealized_pnl, "0");
    assert_dec("initial_margin", m.initial_margin, "0");
    assert_dec("maintenance_margin", m.maintenance_margin, "0");
    assert_dec("venue_margin_ratio", m.venue_margin_ratio, "0");
    assert_eq!(m.venue_margin_ratio_kind, MarginRatioKind::MmOverEquity);
    assert_eq!(m.as_of, Some(Ts::from_millis(1_690_872_862_481)));
}

#[test]
fn wallet_push_docs_example_gives_the_account_margin() {
    let m = margin(push(WALLET_PUSH));
    assert_eq!(m.currency, "USD");
    // The smaller of totalEquity 10262.91335023 and totalMarginBalance 9684.46297164.
    assert_dec("equity", m.equity, "9684.46297164");
    assert_dec("wallet_balance", m.wallet_balance, "9684.46297164");
    assert_dec("unrealized_pnl", m.unrealized_pnl, "0");
    assert_dec("initial_margin", m.initial_margin, "0");
    assert_dec("maintenance_margin", m.maintenance_margin, "0");
    assert_dec("venue_margin_ratio", m.venue_margin_ratio, "0");
    assert_eq!(m.as_of, Some(Ts::from_millis(1_700_034_722_104)));
}

#[test]
fn empty_account_fields_are_unknown_not_zero() {
    // NOT a real payload: the docs example with the portfolio-margin style "" figures.
    let mut body = WALLET.to_owned();
    for f in [
        "totalEquity",
        "totalMarginBalance",
        "totalMaintenanceMargin",
    ] {
        let at = body.find(&format!("\"{f}\": \"")).unwrap() + f.len() + 5;
        let end = at + body[at..].find('"').unwrap();
        body.replace_range(at..end, "");
    }
    assert!(rest("/v5/account/wallet-balance", &body)
        .unwrap()
        .is_empty());
}

#[test]
fn inverse_docs_example_sizes_in_usd_contracts_and_base_value() {
    let (ps, ends) = positions(rest("/v5/position/list", INVERSE).unwrap());
    assert_eq!(ends, vec!["inverse".to_owned()]);
    let [p] = ps.as_slice() else { panic!("{ps:?}") };
    assert_eq!(p.venue_symbol, "BTCUSD");
    assert_eq!(
        (p.instrument.as_str(), p.market),
        ("BTC-USD-PERP", Market::Perpetual)
    );
    assert_eq!((p.side, p.hedge_side), (PositionSide::Short, None));
    // 300 contracts of 1 USD; in BTC, Bybit's positionValue at the entry price.
    assert_dec("contracts", Some(p.contracts), "300");
    assert_dec("size", Some(p.size), "0.01092319");
    assert_dec("entry_price", p.entry_price, "27464.50441675");
    assert_dec("mark_price", p.mark_price, "28224.50");
    assert_dec("unrealized_pnl", p.unrealized_pnl, "-0.00029413");
    assert_eq!(p.pnl_currency.as_deref(), Some("BTC"));
    assert_eq!(p.liquidation_price, None); // ""
    assert_eq!(p.margin_mode.as_deref(), Some("cross"));
    assert_eq!(p.as_of, Some(Ts::from_millis(1_697_673_600_012)));
    assert_eq!(p.scope.as_deref(), Some("inverse"));
}

#[test]
fn linear_recording_long_short_and_an_empty_row() {
    let (ps, ends) = positions(rest("/v5/position/list", LINEAR).unwrap());
    assert_eq!(ends, vec!["linear".to_owned()]);
    // SOLUSDT has size 0: not a position.
    assert_eq!(ps.len(), 2, "{ps:?}");
    let (b, e) = (&ps[0], &ps[1]);
    assert_eq!(
        (b.instrument.as_str(), b.side),
        ("BTC-USDT-PERP", PositionSide::Long)
    );
    assert_dec("size", Some(b.size), "0.5");
    assert_dec("contracts", Some(b.contracts), "0.5");
    assert_dec("entry_price", b.entry_price, "50000.00");
    assert_dec("mark_price", b.mark_price, "50500.00");
    assert_dec("unrealized_pnl", b.unrealized_pnl, "250.00");
    assert_dec("liquidation_price", b.liquidation_price, "45000.00");
    assert_eq!(b.pnl_currency.as_deref(), Some("USDT"));
    assert_eq!(b.as_of, Some(Ts::from_millis(1_697_673_600_012)));
    assert_eq!(
        (e.instrument.as_str(), e.side),
        ("ETH-USDT-PERP", PositionSide::Short)
    );
    assert_dec("size", Some(e.size), "5.0");
    assert_dec("entry_price", e.entry_price, "3000.00");
    assert_dec("mark_price", e.mark_price, "2950.00");
    assert_dec("unrealized_pnl", e.unrealized_pnl, "250.00");
    assert_dec("liquidation_price", e.liquidation_price, "3500.00");
    assert!(ps
        .iter()
        .all(|p| p.hedge_side.is_none() && p.scope.as_deref() == Some("linear")));
}

#[test]
fn a_partial_list_closes_nothing() {
    // NOT a real payload: the recording with a next page announced.
    let body = LINEAR.replacen(r#""nextPageCursor": """#, r#""nextPageCursor": "page2""#, 1);
    let (ps, ends) = positions(rest("/v5/position/list", &body).unwrap());
    assert_eq!(ps.len(), 2);
    assert!(ends.is_empty(), "{ends:?}");
}

#[test]
fn position_pushes_update_one_position_each() {
    // The docs' push: a hedge-mode sell side that is now empty, so it closes.
    let (ps, ends) = positions(push(PUSH_DOCS));
    assert!(ends.is_empty());
    let [p] = ps.as_slice() else { panic!("{ps:?}") };
    assert_eq!(p.instrument, "BTC-USDT-PERP");
    assert_eq!(
        (p.side, p.hedge_side),
        (PositionSide::Flat, Some(PositionSide::Short))
    );
    assert_eq!((p.size, p.contracts), (dec!(0), dec!(0)));
    assert_dec("entry_price", p.entry_price, "0");
    assert_dec("mark_price", p.mark_price, "28184.5");
    assert_eq!(p.liquidation_price, None); // "0"
    assert_eq!(p.scope, None);
    assert_eq!(p.as_of, Some(Ts::from_millis(1_697_682_317_038)));

    // nautilus' recordings: no `category` (inferred from the symbol), `avgPrice` as entry.
    let (ps, _) = positions(push(PUSH_LONG));
    let p = &ps[0];
    assert_eq!(
        (p.side, p.hedge_side),
        (PositionSide::Long, Some(PositionSide::Short))
    );
    assert_dec("size", Some(p.size), "0.15");
    assert_dec("entry_price", p.entry_price, "28500.50");
    assert_dec("unrealized_pnl", p.unrealized_pnl, "-47.41");
    assert_dec("liquidation_price", p.liquidation_price, "25650.25");
    let (ps, _) = positions(push(PUSH_SHORT));
    let p = &ps[0];
    assert_eq!(
        (p.instrument.as_str(), p.side),
        ("ETH-USDT-PERP", PositionSide::Short)
    );
    assert_dec("size", Some(p.size), "2.5");
    assert_dec("entry_price", p.entry_price, "2450.75");
    assert_dec("mark_price", p.mark_price, "2460.25");
    assert_dec("unrealized_pnl", p.unrealized_pnl, "-23.75");
    assert_dec("liquidation_price", p.liquidation_price, "2550.50");
}

#[test]
fn refusals_malformed_bodies_and_other_frames() {
    let refusal = r#"{"retCode":10003,"retMsg":"API key is invalid.","result":{},"retExtInfo":{},"time":1789299704000}"#;
    for path in ["/v5/position/list", "/v5/account/wallet-balance"] {
        let e = rest(path, refusal).unwrap_err();
        assert!(
            matches!(e, ParseError::Venue { ref message, .. } if message.contains("10003")),
            "{e:?}"
        );
        for bad in ["", "{", "null", r#"{"retCode":0}"#] {
            assert!(rest(path, bad).is_err(), "{path}: {bad:?}");
        }
    }
    for bad in [
        r#"{"retCode":0,"result":{"list":[],"category":"spot"}}"#,
        r#"{"retCode":0,"result":{"list":[{"symbol":"BTCUSDT","side":"Buy"}],"category":"linear"}}"#,
        r#"{"retCode":0,"result":{"list":[{"symbol":"BTCUSDT","side":"","size":"1"}],"category":"linear"}}"#,
        r#"{"retCode":0,"result":{"list":[{"symbol":"BTC","side":"Buy","size":"1"}],"category":"linear"}}"#,
    ] {
        assert!(rest("/v5/position/list", bad).is_err(), "{bad}");
    }
    assert!(rest("/v5/order/realtime", LINEAR).unwrap().is_empty());
    // Acks and pongs carry no account figures.
    assert!(push(r#"{"success":true,"ret_msg":"","op":"auth","conn_id":"x"}"#).is_empty());
}

#[test]
fn account_pages_are_signed_like_the_balance_page() {
    let v = BybitBalances;
    let creds = v.demo_credentials();
    let now = Ts::from_millis(1_672_280_218_882);
    for (page, query) in [
        (
            "/v5/position/list?category=linear&settleCoin=USDT&limit=200",
            "category=linear&settleCoin=USDT&limit=200",
        ),
        (
            "/v5/position/list?category=inverse&limit=200",
            "category=inverse&limit=200",
        ),
    ] {
        assert!(v.account_pages().contains(&page));
        let r = v.account_request(&creds, now, page).unwrap();
        assert_eq!(
            (r.path.as_str(), r.query.as_str()),
            ("/v5/position/list", query)
        );
        let sign = r
            .headers
            .iter()
            .find(|(k, _)| k == "X-BAPI-SIGN")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(
            sign,
            connectors::venues::bybit::bybit_sign(
                "DEMObybitSECRETdemo0123456789abcdefg",
                1_672_280_218_882,
                "DEMObybitKEY1x2y3z",
                "5000",
                query
            )
        );
    }
    assert!(v.account_request(&creds, now, "/v5/position/list").is_err());
}
