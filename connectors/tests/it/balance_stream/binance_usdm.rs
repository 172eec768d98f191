//! Binance USDⓈ-M's user data stream (`ACCOUNT_UPDATE`, complementing kind `binance_usdm`):
//! balances and positions exactly from a real recorded event (nautilus_trader's fixture, the
//! docs' example), the listen-key request and reply, the other frames' kinds, the simulator
//! agreeing with the REST simulator, and a wrong API key refused end to end. The lifecycle
//! (LIVE on connect, drop, reconnect, stop, no credential leaked) is `contract::balance_stream`.

use crate::support::balance_stream::{balance, is_state, start_with_rest, status};
use connectors::account::{AccountItem, ParsedPosition};
use connectors::auth::{Credentials, Secret};
use connectors::error::ParseError;
use connectors::traits::FrameKind;
use connectors::transport::private_ws::BalanceStream;
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::binance_usdm::account_sim::SimAccount;
use connectors::venues::binance_usdm::sim::SIM_BALANCES;
use connectors::venues::binance_usdm::stream::{
    parse_listen_key, BinanceUsdmUserStream, LISTEN_KEY_PATH,
};
use connectors::venues::binance_usdm::stream_sim::account_update;
use connectors::venues::binance_usdm::BinanceUsdmBalances;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{FeedState, Market, PositionSide, Ts};
use std::str::FromStr;
use std::time::Duration;

const NAUTILUS: &str =
    include_str!("../../fixtures/binance_usdm/ws_user_account_update_nautilus.json");

/// (asset, total, available, locked, as_of)
type Row = (
    String,
    Decimal,
    Option<Decimal>,
    Option<Decimal>,
    Option<Ts>,
);

fn balances(frame: &str) -> (FrameKind, Vec<Row>) {
    let mut out = Vec::new();
    let kind = BinanceUsdmUserStream
        .parse(frame, &mut |b: ParsedBalance<'_>| {
            assert_eq!(b.unrealized_pnl, None);
            out.push((
                b.venue_asset.into_owned(),
                b.total,
                b.available,
                b.locked,
                b.as_of,
            ))
        })
        .unwrap();
    (kind, out)
}

fn positions(frame: &str) -> Vec<ParsedPosition> {
    let mut out = Vec::new();
    BinanceUsdmUserStream
        .parse_account(frame, &mut |i| match i {
            AccountItem::Position(p) => out.push(p),
            other => panic!("only positions are pushed: {other:?}"),
        })
        .unwrap();
    out
}

#[test]
fn account_update_balance_is_the_wallet_with_nothing_free() {
    let (kind, rows) = balances(NAUTILUS);
    assert_eq!(kind, FrameKind::Data);
    let t = Some(Ts::from_millis(1_564_745_798_939));
    assert_eq!(
        rows,
        vec![(
            "USDT".to_owned(),
            dec!(122624.12345678),
            Some(dec!(0)),
            Some(dec!(122624.12345678)),
            t
        )]
    );
}

#[test]
fn account_update_positions_are_pushed_updates_and_zero_closes() {
    let p = positions(NAUTILUS);
    assert_eq!(p.len(), 3);
    let t = Some(Ts::from_millis(1_564_745_798_939));
    for x in &p {
        assert_eq!(x.venue_symbol, "BTCUSDT");
        assert_eq!(x.instrument, "BTC-USDT-PERP");
        assert_eq!(x.market, Market::Perpetual);
        assert_eq!(x.scope, None);
        assert_eq!(x.as_of, t);
        assert_eq!(x.pnl_currency.as_deref(), Some("USDT"));
        assert_eq!(x.margin_mode.as_deref(), Some("isolated"));
        assert_eq!((x.mark_price, x.liquidation_price), (None, None));
    }
    // One-way row at 0: the one-way position is closed.
    assert_eq!(
        (p[0].hedge_side, p[0].side, p[0].size, p[0].contracts),
        (None, PositionSide::Flat, dec!(0), dec!(0))
    );
    assert_eq!(
        (p[0].entry_price, p[0].unrealized_pnl),
        (None, Some(dec!(0)))
    );
    assert_eq!(
        (p[1].hedge_side, p[1].side, p[1].size, p[1].contracts),
        (
            Some(PositionSide::Long),
            PositionSide::Long,
            dec!(20),
            dec!(20)
        )
    );
    assert_eq!(
        (p[1].entry_price, p[1].unrealized_pnl),
        (Some(dec!(6563.6)), Some(dec!(2850.21200)))
    );
    assert_eq!(
        (p[2].hedge_side, p[2].side, p[2].size, p[2].contracts),
        (
            Some(PositionSide::Short),
            PositionSide::Short,
            dec!(10),
            dec!(10)
        )
    );
    assert_eq!(
        (p[2].entry_price, p[2].unrealized_pnl),
        (Some(dec!(6563.8)), Some(dec!(-1423.15600)))
    );
}

#[test]
fn the_combined_stream_wrapper_gives_the_same_event() {
    let wrapped = format!(r#"{{"stream":"someListenKey","data":{NAUTILUS}}}"#);
    assert_eq!(balances(&wrapped), balances(NAUTILUS));
    assert_eq!(positions(&wrapped), positions(NAUTILUS));
}

#[test]
fn other_frames_are_classified_and_carry_nothing() {
    let expired = r#"{"e":"listenKeyExpired","E":"1736996475556","listenKey":"WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv"}"#;
    let order = r#"{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST","S":"SELL"}}"#;
    let error = r#"{"code":-1125,"msg":"This listenKey does not exist."}"#;
    // The docs' listenKeyExpired writes `E` as a string in one venue's example: not read.
    for (frame, kind) in [
        (expired, FrameKind::Reconnect),
        (order, FrameKind::Control),
        (
            error,
            FrameKind::VenueError("code -1125: This listenKey does not exist.".into()),
        ),
    ] {
        let (k, rows) = balances(frame);
        assert_eq!(k, kind, "{frame}");
        assert!(rows.is_empty());
        assert!(positions(frame).is_empty());
    }
    let bad = r#"{"e":"ACCOUNT_UPDATE","E":1,"T":1,"a":{"m":"ORDER","B":[{"a":"USDT","wb":12.5}],"P":[]}}"#;
    let mut n = 0;
    assert!(matches!(
        BinanceUsdmUserStream.parse(bad, &mut |_| n += 1),
        Err(ParseError::Malformed { .. })
    ));
    assert_eq!(n, 0);
}

#[test]
fn the_listen_key_request_carries_the_api_key_only() {
    let creds = Credentials::new("my-api-key", "my-secret");
    let req = BinanceUsdmUserStream
        .token_request(&creds, Ts::from_millis(1_700_000_000_000))
        .unwrap()
        .expect("a listen key is fetched before every connection");
    assert_eq!((req.method, req.path.as_str()), ("POST", LISTEN_KEY_PATH));
    assert_eq!((req.query.as_str(), req.body.as_str()), ("", ""));
    assert_eq!(
        req.headers,
        vec![("X-MBX-APIKEY".to_owned(), "my-api-key".to_owned())]
    );
    assert!(!format!("{req:?}").contains("my-secret"));
    // The docs' reply and refusal.
    let key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1";
    let got = parse_listen_key(&format!(r#"{{"listenKey":"{key}"}}"#)).unwrap();
    assert_eq!(got.expose(), key);
    match parse_listen_key(
        r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#,
    ) {
        Err(ParseError::Venue { message, .. }) => assert_eq!(
            message,
            "code -2015: Invalid API-key, IP, or permissions for action."
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        BinanceUsdmUserStream
            .connect_url_with_token(BinanceUsdmUserStream.default_ws_url(), &Secret::new(key)),
        format!("wss://fstream.binance.com/private/ws/{key}")
    );
    assert!(BinanceUsdmUserStream
        .auth_messages(&creds, Ts::from_millis(1))
        .unwrap()
        .is_empty());
    assert!(BinanceUsdmUserStream.subscribe_messages().is_empty());
}

#[test]
fn the_sim_pushes_the_rest_sims_account() {
    let now = 1_700_000_123_456;
    let frame = account_update(now);
    let (kind, rows) = balances(&frame);
    assert_eq!(kind, FrameKind::Data);
    assert_eq!(rows.len(), SIM_BALANCES.len());
    for (r, (asset, balance, _, _)) in rows.iter().zip(SIM_BALANCES) {
        let total = Decimal::from_str(balance).unwrap();
        assert_eq!(
            r,
            &(
                asset.to_string(),
                total,
                Some(dec!(0)),
                Some(total),
                Some(Ts::from_millis(now))
            )
        );
    }
    let snap = SimAccount::steady().snapshot(Ts::from_millis(now));
    let open: Vec<_> = snap.rows.iter().filter(|r| !r.amt.is_zero()).collect();
    let p = positions(&frame);
    assert_eq!(p.len(), open.len());
    for (p, r) in p.iter().zip(open) {
        assert_eq!(p.venue_symbol, r.symbol);
        assert_eq!(p.size, r.amt.abs());
        assert_eq!(p.entry_price, Some(r.entry));
        assert_eq!(p.unrealized_pnl, Some(r.upnl));
        assert_eq!(p.hedge_side, None);
        assert_eq!(p.margin_mode.as_deref(), Some("cross"));
    }
}

#[test]
fn registry_lists_the_stream_under_the_polling_kind() {
    let s = connectors::registry::balance_stream("binance_usdm").unwrap();
    assert_eq!(s.default_ws_url(), "wss://fstream.binance.com/private/ws");
    assert!(connectors::registry::polling(s.kind()).is_some());
}

#[tokio::test]
async fn a_wrong_api_key_is_refused_at_the_listen_key() {
    let good = BinanceUsdmBalances.demo_credentials();
    let sim = BinanceUsdmUserStream.start_sim(good.clone()).await.unwrap();
    let wrong = Credentials::new("wrong-binance-usdm-key", good.secret().unwrap());
    let mut run = start_with_rest(
        &BinanceUsdmUserStream,
        "binance_usdm-ws",
        &sim.ws_url,
        sim.rest_url.as_deref(),
        wrong,
        3,
        None,
    );
    let refused = run
        .until("a refusal", |o| {
            status(o).is_some_and(|s| s.reason.as_deref().is_some_and(|r| r.contains("auth")))
        })
        .await;
    let s = status(&refused).unwrap();
    assert_eq!(s.state, FeedState::Down);
    assert_eq!(
        s.reason.as_deref(),
        Some("auth failed: token refused: code -2015: Invalid API-key, IP, or permissions for action.")
    );
    run.assert_quiet_after_refusal().await;
    // Refused at the listen key: the socket was never opened.
    assert_eq!(sim.control.connections(), 0);
    assert_eq!(sim.rest_faults.as_ref().unwrap().refused(), 1);
    assert!(!format!("{:?}", run.seen).contains(good.secret().unwrap()));
    run.cancel.cancel();
    tokio::time::timeout(Duration::from_secs(1), &mut run.task)
        .await
        .expect("stopped within 1 s")
        .unwrap();
}

#[tokio::test]
async fn the_right_key_goes_live_without_frames_and_gets_the_sims_balances() {
    let creds = BinanceUsdmBalances.demo_credentials();
    let sim = BinanceUsdmUserStream
        .start_sim(creds.clone())
        .await
        .unwrap();
    let mut run = start_with_rest(
        &BinanceUsdmUserStream,
        "binance_usdm-ws",
        &sim.ws_url,
        sim.rest_url.as_deref(),
        creds,
        5,
        None,
    );
    run.until("LIVE", |o| is_state(o, FeedState::Live)).await;
    // Nothing to authenticate or subscribe: no frame was sent to the socket.
    assert_eq!(sim.control.client_messages(), 0);
    let o = run
        .until("USDT", |o| {
            balance(o).is_some_and(|b| b.venue_asset == "USDT")
        })
        .await;
    let b = balance(&o).unwrap();
    assert_eq!(
        (b.connector, b.total, b.available, b.locked),
        (
            5,
            dec!(250000.00000000),
            Some(dec!(0)),
            Some(dec!(250000.00000000))
        )
    );
    let took = run.stop().await;
    assert!(took < Duration::from_secs(1));
}
