//! Binance's private balance stream (the user data stream via `userDataStream.subscribe.signature`
//! on the WebSocket API, complementing kind `binance`): the parser on the docs' events, the
//! signature against the docs' HMAC example and an independently computed HMAC, REST and stream
//! agreeing field for field, and `run_balance_stream` end to end against the simulator (signed
//! subscription, pushes, capture without credentials, refused signature, dropped connection,
//! cancel).

use crate::support::balance_stream::{balance, is_state, parse_owned, start, status};
use connectors::auth::Credentials;
use connectors::traits::FrameKind;
use connectors::transport::private_ws::{BalanceStream, CAPTURE_CHANNEL};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::binance::sim::SIM_BALANCES;
use connectors::venues::binance::stream::{ws_api_sign, BinanceUserStream};
use connectors::venues::binance::BinanceBalances;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{FeedState, Ts};
use std::str::FromStr;

const POSITION: &str = include_str!("../../fixtures/binance/ws_user_outboundAccountPosition.json");
const BALANCE_UPDATE: &str = include_str!("../../fixtures/binance/ws_user_balanceUpdate.json");

fn parse(frame: &str) -> (FrameKind, Vec<ParsedBalance<'static>>) {
    parse_owned(&BinanceUserStream, frame).unwrap()
}

#[test]
fn account_position_parses_to_exact_balances() {
    let (kind, b) = parse(POSITION);
    assert_eq!(kind, FrameKind::Data);
    assert_eq!(
        b,
        vec![ParsedBalance {
            unrealized_pnl: None,
            venue_asset: "ETH".into(),
            total: dec!(10000.000000),
            available: Some(dec!(10000.000000)),
            locked: Some(dec!(0.000000)),
            borrowed: None,
            pending: None,
            sub_account: None,
            wallet: None,
            // `u`, the account's last update (REST's `updateTime`), not the event time `E`.
            as_of: Some(Ts::from_millis(1_564_034_571_073)),
            network: None,
        }]
    );
    // The venue's six decimals survive: free + locked keeps the scale.
    assert_eq!(b[0].total.to_string(), "10000.000000");
    assert_eq!(b[0].locked.unwrap().to_string(), "0.000000");
}

#[test]
fn total_is_free_plus_locked_and_bad_assets_fail_the_whole_frame() {
    let frame = POSITION.replace(r#""l": "0.000000""#, r#""l": "2.500000""#);
    let (_, b) = parse(&frame);
    assert_eq!(
        (b[0].total, b[0].available, b[0].locked),
        (dec!(10002.5), Some(dec!(10000)), Some(dec!(2.5)))
    );
    // A balance without `l` is malformed: an error, and nothing emitted.
    let frame = POSITION.replace(r#""l": "0.000000""#, r#""x": "0.000000""#);
    assert_ne!(frame, POSITION);
    let mut n = 0;
    assert!(BinanceUserStream.parse(&frame, &mut |_| n += 1).is_err());
    assert_eq!(n, 0);
    let frame = POSITION.replace(r#""f": "10000.000000""#, r#""f": "ten""#);
    assert!(BinanceUserStream.parse(&frame, &mut |_| n += 1).is_err());
    assert_eq!(n, 0);
    assert!(BinanceUserStream.parse("{not json", &mut |_| {}).is_err());
}

#[test]
fn balance_update_is_a_delta_and_emits_nothing() {
    // `d` is a change, not a balance: the following outboundAccountPosition (and the REST poll)
    // carries the amount; publishing 100 BTC as a balance would be wrong.
    assert_eq!(parse(BALANCE_UPDATE), (FrameKind::Control, vec![]));
}

#[test]
fn replies_and_lifecycle_events_are_classified() {
    // web-socket-api.md "Response format"; the subscription answers `{"subscriptionId":0}`.
    let ack = r#"{"id":"balances","status":200,"result":{"subscriptionId":0},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":2}]}"#;
    assert_eq!(parse(ack), (FrameKind::Control, vec![]));
    let refused = r#"{"id":"balances","status":400,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}"#;
    assert_eq!(
        parse(refused),
        (
            FrameKind::VenueError("code -1022: Signature for this request is not valid.".into()),
            vec![]
        )
    );
    // user-data-stream.md "Event Stream Terminated": the subscription is over, subscribe anew.
    let ended = r#"{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}"#;
    assert_eq!(parse(ended), (FrameKind::Reconnect, vec![]));
    let order = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"ETHBTC","B":"not balances"}}"#;
    assert_eq!(parse(order), (FrameKind::Control, vec![]));
    // The envelope-less event of the older docs parses the same way.
    let bare = r#"{"event":{"e":"outboundAccountPosition","E":1728972148778,"u":1728972148778,"B":[{"a":"ABC","f":"11818.00000000","l":"182.00000000"}]}}"#;
    let (kind, b) = parse(bare);
    assert_eq!(kind, FrameKind::Data);
    assert_eq!(b[0].total, dec!(12000));
}

#[test]
fn rest_and_ws_agree_on_the_same_fields() {
    // The REST account holding the fixture's asset and numbers gives the same balance.
    let v: serde_json::Value = serde_json::from_str(POSITION).unwrap();
    let e = &v["event"];
    let body = serde_json::json!({
        "makerCommission": 15, "updateTime": e["u"], "accountType": "SPOT",
        "balances": [{"asset": e["B"][0]["a"], "free": e["B"][0]["f"], "locked": e["B"][0]["l"]}],
        "permissions": ["SPOT"]
    })
    .to_string();
    let mut rest = Vec::new();
    BinanceBalances
        .parse_balances(&body, &mut |b| {
            rest.push(ParsedBalance {
                unrealized_pnl: None,
                venue_asset: b.venue_asset.into_owned().into(),
                sub_account: None,
                wallet: None,
                network: b.network.map(|s| s.into_owned().into()),
                ..b
            })
        })
        .unwrap();
    let (_, ws) = parse(POSITION);
    assert_eq!(rest, ws);
    assert_eq!(rest[0].total.to_string(), ws[0].total.to_string());
}

#[test]
fn signature_follows_the_docs_example_and_the_request_is_signed() {
    use hmac::Mac;
    // web-socket-api.md "SIGNED request example (HMAC)": the docs' key, secret and parameters.
    let sig = ws_api_sign(
        "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
        &[
            ("symbol", "BTCUSDT"),
            ("side", "SELL"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01000000"),
            ("price", "52000.00"),
            ("newOrderRespType", "ACK"),
            ("recvWindow", "100"),
            ("timestamp", "1645423376532"),
            (
                "apiKey",
                "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            ),
        ],
    );
    assert_eq!(
        sig,
        "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"
    );

    let creds = BinanceBalances.demo_credentials();
    let now = Ts::from_millis(1_700_000_000_123);
    let msgs = BinanceUserStream.auth_messages(&creds, now).unwrap();
    assert_eq!(msgs.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&msgs[0]).unwrap();
    assert_eq!(v["method"], "userDataStream.subscribe.signature");
    assert!(v["id"].is_string());
    let p = &v["params"];
    assert_eq!(p["apiKey"], creds.key().unwrap());
    assert_eq!(p["timestamp"].as_i64(), Some(1_700_000_000_123));
    assert_eq!(p["recvWindow"].as_i64(), Some(5000));
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(creds.secret().unwrap().as_bytes()).unwrap();
    mac.update(
        format!(
            "apiKey={}&recvWindow=5000&timestamp=1700000000123",
            creds.key().unwrap()
        )
        .as_bytes(),
    );
    assert_eq!(
        p["signature"].as_str().unwrap(),
        hex::encode(mac.finalize().into_bytes())
    );
    // One request authenticates and subscribes: nothing else to send.
    assert!(BinanceUserStream.subscribe_messages().is_empty());
    assert_eq!(
        BinanceUserStream.auth_messages(&Credentials::default(), now),
        Err(connectors::auth::AuthError::Missing("api_key"))
    );
}

#[test]
fn registry_lists_the_stream_under_the_polling_kind() {
    let s = connectors::registry::balance_stream("binance").unwrap();
    assert_eq!(s.default_ws_url(), "wss://ws-api.binance.com:443/ws-api/v3");
    assert!(connectors::registry::polling(s.kind()).is_some());
    // USD-M's user data stream is its own (listen key, `ACCOUNT_UPDATE`): `binance_usdm.rs`.
    assert_eq!(
        connectors::registry::balance_stream("binance_usdm").map(|s| s.kind()),
        Some("binance_usdm")
    );
}

/// The lifecycle (CONNECTING, LIVE under its name, drop, reconnect, stop, no secret) is
/// `contract::balance_stream`; this is what Binance's push and capture adds.
#[tokio::test]
async fn the_sim_push_is_exact_and_the_capture_holds_the_venues_frames() {
    let creds = BinanceBalances.demo_credentials();
    let sim = BinanceUserStream.start_sim(creds.clone()).await.unwrap();
    let (cap_tx, mut cap_rx) = tokio::sync::mpsc::channel(4096);
    let mut run = start(
        &BinanceUserStream,
        "binance-ws",
        &sim.ws_url,
        creds.clone(),
        4,
        Some(cap_tx),
    );
    let t0 = std::time::Instant::now();
    run.until("LIVE", |o| is_state(o, FeedState::Live)).await;
    println!("LIVE after {:?}", t0.elapsed());
    // One whole push: every asset of the simulated account, with the REST sim's numbers.
    let mut got = Vec::new();
    while got.len() < SIM_BALANCES.len() {
        let o = run.until("a balance", |o| balance(o).is_some()).await;
        got.push(balance(&o).unwrap().clone());
    }
    for (b, (asset, free, locked)) in got.iter().zip(SIM_BALANCES) {
        let (free, locked) = (
            Decimal::from_str(free).unwrap(),
            Decimal::from_str(locked).unwrap(),
        );
        assert_eq!(b.connector, 4);
        assert_eq!(b.venue_asset, *asset);
        assert_eq!(b.total, free + locked);
        assert_eq!((b.available, b.locked), (Some(free), Some(locked)));
        assert!(b.as_of.is_some() && b.received_at >= b.as_of.unwrap());
    }

    run.stop().await;
    // The capture has the venue's frames only (the ack and pushes), never the signed request.
    let mut captured = Vec::new();
    while let Ok(line) = cap_rx.try_recv() {
        captured.push(line);
    }
    // The ack and at least one push.
    assert!(captured.len() >= 2, "{}", captured.len());
    assert!(captured.iter().all(|l| l.channel == CAPTURE_CHANNEL));
    assert!(captured
        .iter()
        .any(|l| l.frame.contains(r#""result":{"subscriptionId":0}"#)));
    assert!(captured.iter().all(|l| !l.frame.contains("signature")));
}

#[tokio::test]
async fn wrong_secret_is_refused_and_reported_without_the_secret() {
    let good = BinanceBalances.demo_credentials();
    let sim = BinanceUserStream.start_sim(good.clone()).await.unwrap();
    let wrong_secret = "WRONG-binance-secret-0123456789";
    let wrong = Credentials::new(good.key().unwrap(), wrong_secret);
    let mut run = start(
        &BinanceUserStream,
        "binance-ws",
        &sim.ws_url,
        wrong,
        2,
        None,
    );
    let refused = run
        .until("a refusal", |o| {
            status(o).is_some_and(|s| s.state == FeedState::Down)
        })
        .await;
    assert_eq!(
        status(&refused).unwrap().reason.as_deref(),
        Some("auth failed: code -1022: Signature for this request is not valid.")
    );
    run.assert_quiet_after_refusal().await;
    assert_eq!(sim.control.data_frames(), 0);
    let all = format!("{:?}", run.seen);
    assert!(!all.contains(wrong_secret) && !all.contains(good.secret().unwrap()));
    run.stop().await;
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sends one request and returns the next reply (pushes skipped).
async fn ask(ws: &mut Client, msg: String) -> serde_json::Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(msg.into())).await.unwrap();
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v.get("event").is_none() {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn sim_checks_key_signature_and_time_as_binance_does() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let creds = BinanceBalances.demo_credentials();
    let sim = BinanceUserStream.start_sim(creds.clone()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url.as_str())
        .await
        .unwrap();
    let error = |v: &serde_json::Value| (v["status"].as_i64(), v["error"]["code"].as_i64());
    // An unknown key.
    let other = Credentials::new("another-key", creds.secret().unwrap());
    let req = BinanceUserStream
        .auth_messages(&other, Ts::now())
        .unwrap()
        .remove(0);
    assert_eq!(error(&ask(&mut ws, req).await), (Some(401), Some(-2015)));
    // Signed correctly, but 10 s old with a 5 s window.
    let old = Ts::now().plus_millis(-10_000);
    let req = BinanceUserStream
        .auth_messages(&creds, old)
        .unwrap()
        .remove(0);
    assert_eq!(error(&ask(&mut ws, req).await), (Some(400), Some(-1021)));
    // A changed parameter breaks the signature.
    let req = BinanceUserStream
        .auth_messages(&creds, Ts::now())
        .unwrap()
        .remove(0)
        .replace(r#""recvWindow":5000"#, r#""recvWindow":6000"#);
    let r = ask(&mut ws, req).await;
    assert_eq!(error(&r), (Some(400), Some(-1022)));
    assert_eq!(r["id"], "balances");
    assert_eq!(sim.control.data_frames(), 0);
    // The real request: subscribed, then account pushes.
    let req = BinanceUserStream
        .auth_messages(&creds, Ts::now())
        .unwrap()
        .remove(0);
    let r = ask(&mut ws, req).await;
    assert_eq!(
        (r["status"].as_i64(), r["result"]["subscriptionId"].as_i64()),
        (Some(200), Some(0))
    );
    let frame = loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            break t.as_str().to_owned();
        }
    };
    let (kind, b) = parse(&frame);
    assert_eq!(kind, FrameKind::Data, "{frame}");
    assert_eq!(b.len(), SIM_BALANCES.len());
}
