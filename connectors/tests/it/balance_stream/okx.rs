//! OKX's private balance stream (channel `account` on `/ws/v5/private`, complementing kind
//! `okx`): the parser on a real push, REST and stream agreeing field for field (one mapping
//! shared by both), the login signature against an independently computed HMAC, and
//! `run_balance_stream` end to end against the simulator (login, subscribe, pushes, text
//! ping/pong, capture without credentials, refused login, dropped connection, cancel).

use crate::support::balance_stream::{balance, is_state, parse_owned, start, status};
use connectors::auth::Credentials;
use connectors::traits::{FrameKind, PingPolicy};
use connectors::transport::private_ws::{BalanceStream, CAPTURE_CHANNEL};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::okx::sim::SIM_BALANCES;
use connectors::venues::okx::stream::OkxAccountStream;
use connectors::venues::okx::OkxBalances;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{FeedState, Ts};
use std::str::FromStr;
use std::time::Duration;

const FIXTURE: &str = include_str!("../../fixtures/okx/ws_private_account_nautilus.json");

fn parse(frame: &str) -> (FrameKind, Vec<ParsedBalance<'static>>) {
    parse_owned(&OkxAccountStream, frame).unwrap()
}

#[test]
fn account_push_parses_to_exact_balances() {
    let (kind, b) = parse(FIXTURE);
    assert_eq!(kind, FrameKind::Data);
    let one = |ccy: &str, total: Decimal, u_time: i64| ParsedBalance {
        // `upl` "0": the currency's unrealized P&L, beside its cash balance.
        unrealized_pnl: Some(dec!(0)),
        venue_asset: ccy.to_owned().into(),
        total,
        // availBal + frozenBal (0) == cashBal: both given.
        available: Some(total),
        locked: Some(dec!(0)),
        borrowed: None,
        pending: None,
        sub_account: None,
        wallet: None,
        as_of: Some(Ts::from_millis(u_time)),
        network: None,
    };
    assert_eq!(
        b,
        vec![
            one("USDT", dec!(100.52768569797846), 1_751_526_647_084),
            one("BTC", dec!(0.0000000051), 1_746_947_295_126),
            one("ETH", dec!(0.000000185), 1_746_947_229_325),
        ]
    );
    // The venue's digits, unrounded.
    assert_eq!(b[0].total.to_string(), "100.52768569797846");
    assert_eq!(b[1].total.to_string(), "0.0000000051");
}

#[test]
fn empty_strings_are_none_and_control_frames_are_classified() {
    // `""` is "not applicable": without availBal the split comes from frozenBal (0 here), and a
    // currency without cashBal is malformed (nothing of the frame is emitted).
    let frame = FIXTURE.replacen(
        r#""availBal": "100.52768569797846""#,
        r#""availBal": """#,
        1,
    );
    let (_, b) = parse(&frame);
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(100.52768569797846)), Some(dec!(0)))
    );
    assert_eq!(b[0].total, dec!(100.52768569797846));
    // Neither availBal nor frozenBal: nothing says what is held.
    let frame = frame.replacen(r#""frozenBal": "0""#, r#""frozenBal": """#, 1);
    let (_, b) = parse(&frame);
    assert_eq!((b[0].available, b[0].locked), (None, None));
    let frame = FIXTURE.replacen(r#""cashBal": "0.0000000051""#, r#""cashBal": """#, 1);
    let mut n = 0;
    assert!(OkxAccountStream.parse(&frame, &mut |_| n += 1).is_err());
    assert_eq!(n, 0);
    assert!(OkxAccountStream.parse("{not json", &mut |_| {}).is_err());

    assert_eq!(parse("pong"), (FrameKind::Heartbeat, vec![]));
    // Shapes of live OKX replies quoted in public code (login ack and refusal) and the
    // subscribe ack of the public socket's capture with the private channel.
    let login = r#"{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}"#;
    assert_eq!(parse(login), (FrameKind::Control, vec![]));
    let sub = r#"{"event":"subscribe","arg":{"channel":"account"},"connId":"a4d3ae55"}"#;
    assert_eq!(parse(sub), (FrameKind::Control, vec![]));
    let refused = r#"{"event":"error","code":"60009","msg":"Login failed.","connId":"a4d3ae55"}"#;
    assert_eq!(
        parse(refused),
        (FrameKind::VenueError("60009: Login failed.".into()), vec![])
    );
    let notice = r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#;
    assert_eq!(parse(notice), (FrameKind::Reconnect, vec![]));
    let other = r#"{"arg":{"channel":"positions","instType":"ANY"},"data":[]}"#;
    assert_eq!(parse(other), (FrameKind::Control, vec![]));
}

#[test]
fn rest_and_ws_agree_on_the_same_fields() {
    // The REST response holding the fixture's account gives the same balances.
    let v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let body = serde_json::json!({"code": "0", "data": v["data"], "msg": ""}).to_string();
    let mut rest = Vec::new();
    OkxBalances
        .parse_balances(&body, &mut |b| {
            rest.push(ParsedBalance {
                venue_asset: b.venue_asset.into_owned().into(),
                sub_account: None,
                wallet: None,
                network: b.network.map(|s| s.into_owned().into()),
                ..b
            })
        })
        .unwrap();
    let (_, ws) = parse(FIXTURE);
    assert_eq!(rest.len(), 3);
    assert_eq!(rest, ws);
}

#[test]
fn login_is_signed_as_documented() {
    use base64::Engine;
    use hmac::Mac;
    let creds = OkxBalances.demo_credentials();
    let now = Ts::from_millis(1_538_054_050_975);
    let msgs = OkxAccountStream.auth_messages(&creds, now).unwrap();
    assert_eq!(msgs.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&msgs[0]).unwrap();
    assert_eq!(v["op"], "login");
    let arg = &v["args"][0];
    assert_eq!(arg["apiKey"], creds.key().unwrap());
    assert_eq!(arg["passphrase"], creds.passphrase().unwrap());
    // Unix seconds, as a string (the docs' example: "1538054050").
    assert_eq!(arg["timestamp"], "1538054050");
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(creds.secret().unwrap().as_bytes()).unwrap();
    mac.update(b"1538054050GET/users/self/verify");
    assert_eq!(
        arg["sign"].as_str().unwrap(),
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(
        OkxAccountStream.subscribe_messages(),
        vec![r#"{"op":"subscribe","args":[{"channel":"account"},{"channel":"positions","instType":"ANY"}]}"#.to_owned()]
    );
    match OkxAccountStream.ping_policy() {
        PingPolicy::Text(every, f) => {
            assert!(every < Duration::from_secs(30));
            assert_eq!(f(1), "ping");
        }
        other => panic!("{other:?}"),
    }
    let no_passphrase = Credentials::new(creds.key().unwrap(), creds.secret().unwrap());
    assert_eq!(
        OkxAccountStream.auth_messages(&no_passphrase, now),
        Err(connectors::auth::AuthError::Missing("passphrase"))
    );
}

#[test]
fn registry_lists_the_stream_under_the_polling_kind() {
    let s = connectors::registry::balance_stream("okx").unwrap();
    assert_eq!(s.default_ws_url(), "wss://ws.okx.com:8443/ws/v5/private");
    assert!(connectors::registry::polling(s.kind()).is_some());
}

/// The lifecycle (CONNECTING, LIVE under its name, drop, reconnect, stop, no secret) is
/// `contract::balance_stream`; this is what OKX's push and capture adds.
#[tokio::test]
async fn the_sim_push_is_exact_and_the_capture_holds_the_venues_frames() {
    let creds = OkxBalances.demo_credentials();
    let sim = OkxAccountStream.start_sim(creds.clone()).await.unwrap();
    let (cap_tx, mut cap_rx) = tokio::sync::mpsc::channel(4096);
    let mut run = start(
        &OkxAccountStream,
        "okx-ws",
        &sim.ws_url,
        creds.clone(),
        9,
        Some(cap_tx),
    );
    let t0 = std::time::Instant::now();
    run.until("LIVE", |o| is_state(o, FeedState::Live)).await;
    println!("LIVE after {:?}", t0.elapsed());
    let mut got = Vec::new();
    while got.len() < SIM_BALANCES.len() {
        let o = run.until("a balance", |o| balance(o).is_some()).await;
        got.push(balance(&o).unwrap().clone());
    }
    for (b, (ccy, cash, avail, frozen)) in got.iter().zip(SIM_BALANCES) {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(b.connector, 9);
        assert_eq!(b.venue_asset, *ccy);
        assert_eq!(b.total, d(cash));
        assert_eq!((b.available, b.locked), (Some(d(avail)), Some(d(frozen))));
        assert!(b.as_of.is_some() && b.received_at >= b.as_of.unwrap());
    }

    run.stop().await;
    let mut captured = Vec::new();
    while let Ok(line) = cap_rx.try_recv() {
        captured.push(line);
    }
    assert!(captured.iter().all(|l| l.channel == CAPTURE_CHANNEL));
    assert!(captured
        .iter()
        .any(|l| l.frame.contains(r#""event":"login""#)));
    assert!(captured
        .iter()
        .all(|l| !l.frame.contains(r#""op":"login""#)));
}

#[tokio::test]
async fn wrong_secret_is_refused_and_reported_without_the_secret() {
    let good = OkxBalances.demo_credentials();
    let sim = OkxAccountStream.start_sim(good.clone()).await.unwrap();
    let wrong_secret = "WRONG0123456789ABCDEF0123456789A";
    let wrong = Credentials::new(good.key().unwrap(), wrong_secret)
        .with_passphrase(good.passphrase().unwrap());
    let mut run = start(&OkxAccountStream, "okx-ws", &sim.ws_url, wrong, 1, None);
    let refused = run
        .until("a refusal", |o| {
            status(o).is_some_and(|s| s.state == FeedState::Down)
        })
        .await;
    assert_eq!(
        status(&refused).unwrap().reason.as_deref(),
        Some("auth failed: 60007: Invalid sign")
    );
    run.assert_quiet_after_refusal().await;
    assert_eq!(sim.control.data_frames(), 0);
    let all = format!("{:?}", run.seen);
    assert!(!all.contains(wrong_secret) && !all.contains(good.secret().unwrap()));
    run.stop().await;
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sends one request and returns the next reply (account pushes skipped; `pong` as a string).
async fn ask(ws: &mut Client, msg: String) -> serde_json::Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(msg.into())).await.unwrap();
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            if t.as_str() == "pong" {
                return serde_json::Value::from("pong");
            }
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v.get("data").is_none() {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn sim_checks_the_login_as_okx_does() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let creds = OkxBalances.demo_credentials();
    let sim = OkxAccountStream.start_sim(creds.clone()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url.as_str())
        .await
        .unwrap();
    let code = |v: &serde_json::Value| (v["event"].clone(), v["code"].clone());
    let err = |c: &str| (serde_json::json!("error"), serde_json::json!(c));
    let sub = OkxAccountStream.subscribe_messages().remove(0);
    assert_eq!(code(&ask(&mut ws, sub.clone()).await), err("60011"));
    // Signed correctly, 40 s old: OKX allows 30 s.
    let old = Ts::now().plus_millis(-40_000);
    let req = OkxAccountStream
        .auth_messages(&creds, old)
        .unwrap()
        .remove(0);
    assert_eq!(code(&ask(&mut ws, req).await), err("60006"));
    let other = Credentials::new(creds.key().unwrap(), creds.secret().unwrap())
        .with_passphrase("not-the-passphrase");
    let req = OkxAccountStream
        .auth_messages(&other, Ts::now())
        .unwrap()
        .remove(0);
    assert_eq!(code(&ask(&mut ws, req).await), err("60024"));
    let other = Credentials::new(
        "0d3c5d2e-0000-4f1a-9c7b-5e6f7a8b9c0d",
        creds.secret().unwrap(),
    )
    .with_passphrase(creds.passphrase().unwrap());
    let req = OkxAccountStream
        .auth_messages(&other, Ts::now())
        .unwrap()
        .remove(0);
    assert_eq!(code(&ask(&mut ws, req).await), err("60005"));
    assert_eq!(sim.control.data_frames(), 0);
    let req = OkxAccountStream
        .auth_messages(&creds, Ts::now())
        .unwrap()
        .remove(0);
    assert_eq!(
        code(&ask(&mut ws, req).await),
        (serde_json::json!("login"), serde_json::json!("0"))
    );
    let bad = r#"{"op":"subscribe","args":[{"channel":"acount"}]}"#.to_owned();
    assert_eq!(code(&ask(&mut ws, bad).await), err("60018"));
    let r = ask(&mut ws, sub).await;
    assert_eq!(
        (r["event"].as_str(), r["arg"]["channel"].as_str()),
        (Some("subscribe"), Some("account"))
    );
    // The second argument's ack (positions of every type).
    let r = loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v.get("data").is_none() {
                break v;
            }
        }
    };
    assert_eq!(
        (
            r["event"].as_str(),
            r["arg"]["channel"].as_str(),
            r["arg"]["instType"].as_str()
        ),
        (Some("subscribe"), Some("positions"), Some("ANY"))
    );
    assert_eq!(ask(&mut ws, "ping".into()).await, "pong");
    let frame = loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            if t.as_str() != "pong" {
                break t.as_str().to_owned();
            }
        }
    };
    let (kind, b) = parse(&frame);
    assert_eq!(kind, FrameKind::Data, "{frame}");
    assert_eq!(b.len(), SIM_BALANCES.len());
}
