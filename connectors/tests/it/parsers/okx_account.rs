//! OKX margin and positions (`venues::okx::account`) against real payloads: the OKX docs'
//! examples of "Get balance", "Get positions" and the positions channel (as copied in
//! `qiuham/crypto-api-docs`), nautilus_trader's recorded balance (futures mode) and positions
//! (hedge mode), with every number asserted exactly; edits of those payloads are labelled.
//! Provenance in `tests/fixtures/README.md`.

use connectors::account::{AccountItem, ParsedMargin, ParsedPosition};
use connectors::transport::private_ws::BalanceStream;
use connectors::transport::rest::PollingVenue;
use connectors::venues::okx::account::{self, POSITIONS_PATH};
use connectors::venues::okx::stream::OkxAccountStream;
use connectors::venues::okx::OkxBalances;
use connectors::ParseError;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{MarginRatioKind, Market, PositionSide, Ts};

const BALANCE_DOCS: &str =
    include_str!("../../fixtures/okx/rest_account_balance_docs_example.json");
const BALANCE_FUTURES_MODE: &str = include_str!(
    "../../fixtures/okx/rest_account_balance_GET_api_v5_account_balance_nautilus.json"
);
const POSITIONS_DOCS: &str =
    include_str!("../../fixtures/okx/rest_account_positions_docs_example.json");
const POSITIONS_HEDGE: &str =
    include_str!("../../fixtures/okx/rest_account_positions_long_short_nautilus.json");
const POSITIONS_NAUTILUS: &str =
    include_str!("../../fixtures/okx/rest_account_positions_nautilus.json");
const WS_POSITIONS_DOCS: &str = include_str!("../../fixtures/okx/ws_positions_docs_example.json");
const WS_ACCOUNT: &str = include_str!("../../fixtures/okx/ws_private_account_nautilus.json");

/// What one response says, owned.
#[derive(Debug, PartialEq)]
pub enum Item {
    Margin(ParsedMargin),
    Position(ParsedPosition),
    End(String),
}

pub fn own(i: AccountItem<'_>) -> Item {
    match i {
        AccountItem::Margin(m) => Item::Margin(m),
        AccountItem::Position(p) => Item::Position(p),
        AccountItem::PositionsEnd { scope } => Item::End(scope.into_owned()),
        AccountItem::Balance(b) => panic!("a balance from parse_account: {b:?}"),
    }
}

fn rest(path: &str, body: &str) -> Result<Vec<Item>, ParseError> {
    let mut out = Vec::new();
    OkxBalances.parse_account(path, body, &mut |i| out.push(own(i)))?;
    Ok(out)
}

fn ws(frame: &str) -> Result<Vec<Item>, ParseError> {
    let mut out = Vec::new();
    OkxAccountStream.parse_account(frame, &mut |i| out.push(own(i)))?;
    Ok(out)
}

fn positions(items: &[Item]) -> Vec<&ParsedPosition> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Position(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn docs_balance_is_one_account_record_in_usd_with_adjusted_equity() {
    // Multi-currency margin mode (adjEq, imr, mmr given): the account's margin in USD; equity is
    // adjEq 55415.624719833286, not totalEq 55837.43556134779; mgnRatio "" is no ratio.
    let got = rest("/api/v5/account/balance", BALANCE_DOCS).unwrap();
    assert_eq!(
        got,
        vec![Item::Margin(ParsedMargin {
            currency: "USD".into(),
            per_currency: false,
            equity: Some(dec!(55415.624719833286)),
            wallet_balance: None,
            unrealized_pnl: Some(dec!(0)),
            initial_margin: Some(dec!(0)),
            maintenance_margin: Some(dec!(0)),
            venue_margin_ratio: None,
            venue_margin_ratio_kind: MarginRatioKind::EquityOverMm,
            as_of: Some(Ts::from_millis(1_705_474_164_160)),
        })]
    );
    // The currency's upl goes onto its balance, beside cashBal.
    let mut b = Vec::new();
    OkxBalances
        .parse_balances(BALANCE_DOCS, &mut |x| {
            b.push((x.venue_asset.to_string(), x.total, x.unrealized_pnl))
        })
        .unwrap();
    assert_eq!(
        b,
        vec![(
            "USDT".to_owned(),
            dec!(4850.435693622894),
            Some(dec!(-7.545600000000006))
        )]
    );
    assert_eq!(b[0].2.unwrap().to_string(), "-7.545600000000006");
}

#[test]
fn futures_mode_balance_is_margined_per_currency() {
    // nautilus' recorded account: adjEq, imr, mmr "" at the account level (futures mode).
    let got = rest("/api/v5/account/balance", BALANCE_FUTURES_MODE).unwrap();
    assert_eq!(
        got,
        vec![Item::Margin(ParsedMargin {
            currency: "USDT".into(),
            per_currency: true,
            equity: Some(dec!(99.89469657000001)),
            wallet_balance: Some(dec!(94.42612990333333)),
            unrealized_pnl: Some(dec!(-0.0273000000000002)),
            initial_margin: Some(dec!(0)),
            maintenance_margin: Some(dec!(0)),
            venue_margin_ratio: None,
            venue_margin_ratio_kind: MarginRatioKind::EquityOverMm,
            as_of: Some(Ts::from_millis(1_744_498_994_783)),
        })]
    );
    // Edit: the account-level mmr and mgnRatio filled (another mode): one USD record, adjEq ""
    // -> equity unknown rather than totalEq.
    let edited = BALANCE_FUTURES_MODE.replace(
        r#""mgnRatio": "",
      "mmr": "","#,
        r#""mgnRatio": "9.404143929947395",
      "mmr": "1.5","#,
    );
    let got = rest("/api/v5/account/balance", &edited).unwrap();
    let [Item::Margin(m)] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!((m.currency.as_str(), m.per_currency), ("USD", false));
    assert_eq!(m.equity, None);
    assert_eq!(m.maintenance_margin, Some(dec!(1.5)));
    assert_eq!(m.venue_margin_ratio, Some(dec!(9.404143929947395)));
}

#[test]
fn docs_positions_margin_long_in_base_units() {
    let got = rest(POSITIONS_PATH, POSITIONS_DOCS).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        Item::Position(ParsedPosition {
            venue_symbol: "BTC-USDT".into(),
            instrument: "BTC-USDT".into(),
            market: Market::Spot,
            hedge_side: None,
            side: PositionSide::Long,
            size: dec!(0.00190433573),
            contracts: dec!(0.00190433573),
            entry_price: Some(dec!(62961.4)),
            mark_price: Some(dec!(62891.9)),
            unrealized_pnl: Some(dec!(-0.0000033452492717)),
            pnl_currency: Some("BTC".into()),
            liquidation_price: Some(dec!(53615.448336593756)),
            margin_mode: Some("isolated".into()),
            as_of: Some(Ts::from_millis(1_724_742_632_153)),
            scope: Some("all".into()),
        })
    );
    assert_eq!(got[1], Item::End("all".into()));
    // Edit: the short side of a margin position: posCcy the quote, the base owed in liab.
    let short = POSITIONS_DOCS
        .replace(r#""posCcy": "BTC""#, r#""posCcy": "USDT""#)
        .replace(r#""liabCcy": "USDT""#, r#""liabCcy": "BTC""#)
        .replace(r#""liab": "-99.9998177776581948""#, r#""liab": "-0.0015""#);
    let p = rest(POSITIONS_PATH, &short).unwrap();
    let p = positions(&p);
    assert_eq!((p[0].side, p[0].size), (PositionSide::Short, dec!(0.0015)));
}

#[test]
fn hedge_mode_swaps_are_contracts_times_contract_value() {
    // nautilus' long/short recording: BTC-USDT-SWAP, 0.01 BTC a contract.
    let got = rest(POSITIONS_PATH, POSITIONS_HEDGE).unwrap();
    let p = positions(&got);
    assert_eq!(p.len(), 2);
    assert_eq!(got.last(), Some(&Item::End("all".into())));
    let want = [
        (
            PositionSide::Long,
            dec!(0.05),
            dec!(5.00),
            dec!(30000),
            dec!(2500),
            dec!(25000),
            1_622_559_930_237,
        ),
        (
            PositionSide::Short,
            dec!(0.02),
            dec!(2.00),
            dec!(31000),
            dec!(1000),
            dec!(36000),
            1_622_559_931_237,
        ),
    ];
    for (p, (side, size, contracts, entry, upl, liq, t)) in p.iter().zip(want) {
        assert_eq!(p.instrument, "BTC-USDT-PERP");
        assert_eq!(p.venue_symbol, "BTC-USDT-SWAP");
        assert_eq!(p.market, Market::Perpetual);
        assert_eq!((p.side, p.hedge_side), (side, Some(side)));
        assert_eq!((p.size, p.contracts), (size, contracts));
        assert_eq!(p.size.to_string(), size.to_string());
        assert_eq!(p.contracts.to_string(), contracts.to_string());
        assert_eq!(p.entry_price, Some(entry));
        assert_eq!(p.mark_price, Some(dec!(30500)));
        assert_eq!(p.unrealized_pnl, Some(upl));
        assert_eq!(p.liquidation_price, Some(liq));
        assert_eq!(p.pnl_currency.as_deref(), Some("BTC"));
        assert_eq!(p.margin_mode.as_deref(), Some("isolated"));
        assert_eq!(p.as_of, Some(Ts::from_millis(t)));
    }
    let got = rest(POSITIONS_PATH, POSITIONS_NAUTILUS).unwrap();
    let p = positions(&got);
    assert_eq!((p[0].size, p[0].contracts), (dec!(0.005), dec!(0.5)));
    assert_eq!(p[0].unrealized_pnl, Some(dec!(0)));
    // Net mode: the sign of pos is the side (edit).
    let net = POSITIONS_NAUTILUS
        .replace(r#""posSide": "long""#, r#""posSide": "net""#)
        .replace(r#""pos": "0.5""#, r#""pos": "-3""#);
    let got = rest(POSITIONS_PATH, &net).unwrap();
    let p = positions(&got);
    assert_eq!((p[0].side, p[0].hedge_side), (PositionSide::Short, None));
    assert_eq!((p[0].size, p[0].contracts), (dec!(0.03), dec!(3)));
}

#[test]
fn unknown_contract_values_fail_the_page_and_inverse_sizes_round_up() {
    // The docs' push: ETH-USD-210430, whose contract value is not in the table: the frame fails,
    // nothing is guessed, nothing emitted.
    let e = ws(WS_POSITIONS_DOCS).unwrap_err();
    assert!(
        e.to_string()
            .contains("contract value of ETH-USD-210430 unknown"),
        "{e}"
    );
    // Edit: the same row as BTC-USD-210430 (100 USD a contract, inverse): 1 x 100 / 2353.849 =
    // 0.0424836087..., rounded up to 0.04248361 BTC.
    let btc = WS_POSITIONS_DOCS.replace("ETH-USD-210430", "BTC-USD-210430");
    let got = ws(&btc).unwrap();
    let p = positions(&got);
    assert_eq!(p.len(), 1);
    assert_eq!(got.len(), 1, "a push is no full list: no end marker");
    let p = p[0];
    assert_eq!(p.instrument, "BTC-USD-20210430");
    assert_eq!(p.market, Market::Future);
    assert_eq!(
        (p.side, p.hedge_side),
        (PositionSide::Long, Some(PositionSide::Long))
    );
    assert_eq!((p.size, p.contracts), (dec!(0.04248361), dec!(1)));
    assert_eq!(p.entry_price, Some(dec!(2566.31)));
    assert_eq!(p.mark_price, Some(dec!(2353.849)));
    assert_eq!(p.unrealized_pnl, Some(dec!(-0.0000009932766034)));
    assert_eq!(p.pnl_currency.as_deref(), Some("ETH"));
    assert_eq!(p.liquidation_price, Some(dec!(2352.8496681818233)));
    assert_eq!(p.as_of, Some(Ts::from_millis(1_619_507_761_462)));
    assert_eq!(p.scope, None);
    // The REST list with an unknown instrument fails as a whole.
    let rest_body = POSITIONS_NAUTILUS.replace("BTC-USDT-SWAP", "PEPE-USDT-SWAP");
    assert!(rest(POSITIONS_PATH, &rest_body).is_err());
    // A pushed pos 0 is a close (FLAT, size 0).
    let closed = btc.replace(r#""pos":"1""#, r#""pos":"0""#);
    let got = ws(&closed).unwrap();
    let p = positions(&got);
    assert_eq!(
        (p[0].side, p[0].size, p[0].contracts),
        (PositionSide::Flat, dec!(0), dec!(0))
    );
}

#[test]
fn options_and_zero_rows() {
    // Edit: an option row (0.01 BTC a contract) and a dormant pos-0 row.
    let option = POSITIONS_NAUTILUS
        .replace(r#""instType": "SWAP""#, r#""instType": "OPTION""#)
        .replace("BTC-USDT-SWAP", "BTC-USD-241217-92000-C")
        .replace(r#""pos": "0.5""#, r#""pos": "-20""#)
        .replace(r#""posSide": "long""#, r#""posSide": "net""#);
    let got = rest(POSITIONS_PATH, &option).unwrap();
    let p = positions(&got);
    assert_eq!(p[0].instrument, "BTC-USD-20241217-92000-C");
    assert_eq!(p[0].market, Market::Option);
    assert_eq!(
        (p[0].side, p[0].size, p[0].contracts),
        (PositionSide::Short, dec!(0.2), dec!(20))
    );
    let dormant = POSITIONS_NAUTILUS.replace(r#""pos": "0.5""#, r#""pos": "0""#);
    assert_eq!(
        rest(POSITIONS_PATH, &dormant).unwrap(),
        vec![Item::End("all".into())]
    );
    // An empty list closes everything in scope.
    assert_eq!(
        rest(POSITIONS_PATH, r#"{"code":"0","data":[],"msg":""}"#).unwrap(),
        vec![Item::End("all".into())]
    );
    // A mismatched instType is malformed; a venue error is the venue's.
    let wrong = POSITIONS_NAUTILUS.replace(r#""instType": "SWAP""#, r#""instType": "FUTURES""#);
    assert!(rest(POSITIONS_PATH, &wrong).is_err());
    assert!(matches!(
        rest(POSITIONS_PATH, r#"{"msg":"Invalid Sign","code":"50113"}"#),
        Err(ParseError::Venue { .. })
    ));
    // Other paths report nothing.
    assert_eq!(rest("/api/v5/asset/balances", "garbage").unwrap(), vec![]);
}

#[test]
fn account_push_carries_the_same_margin_as_rest() {
    // nautilus' account push (futures mode): per currency, as the REST balance.
    let got = ws(WS_ACCOUNT).unwrap();
    let eqs: Vec<(String, bool, Option<Decimal>, Option<Decimal>)> = got
        .iter()
        .map(|i| match i {
            Item::Margin(m) => (
                m.currency.clone(),
                m.per_currency,
                m.equity,
                m.unrealized_pnl,
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        eqs,
        vec![
            (
                "USDT".into(),
                true,
                Some(dec!(100.52768569797846)),
                Some(dec!(0))
            ),
            ("BTC".into(), true, Some(dec!(0.0000000051)), Some(dec!(0))),
            ("ETH".into(), true, Some(dec!(0.000000185)), Some(dec!(0))),
        ]
    );
    // Control frames report nothing.
    assert_eq!(ws("pong").unwrap(), vec![]);
    assert_eq!(
        ws(r#"{"event":"subscribe","arg":{"channel":"positions","instType":"ANY"},"connId":"a4d3ae55"}"#)
            .unwrap(),
        vec![]
    );
    let _ = account::SCOPE;
}
