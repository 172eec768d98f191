//! Bybit's private balance stream (`wallet` on `/v5/private`, complementing kind `bybit`): the
//! parser on the docs' push example, the login signature against an independently computed
//! HMAC, and `run_balance_stream` end to end against the simulator (auth, subscribe, pushes,
//! refused login, dropped connection, cancel).

use crate::support::balance_stream::{balance, is_state, status, Run};
use connectors::auth::Credentials;
use connectors::traits::FrameKind;
use connectors::transport::private_ws::BalanceStream;
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::bybit::sim::SIM_BALANCES;
use connectors::venues::bybit::{BybitBalances, BybitWalletStream};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{FeedState, Ts};
use std::str::FromStr;
use std::time::Duration;

const FIXTURE: &str = include_str!("../../fixtures/bybit/ws_private_wallet_stream.json");

fn parse(frame: &str) -> (FrameKind, Vec<ParsedBalance<'static>>) {
    let mut out = Vec::new();
    let kind = BybitWalletStream
        .parse(frame, &mut |b| {
            out.push(ParsedBalance {
                unrealized_pnl: None,
                venue_asset: b.venue_asset.into_owned().into(),
                sub_account: b.sub_account.map(|s| s.into_owned().into()),
                wallet: b.wallet.map(|s| s.into_owned().into()),
                network: b.network.map(|s| s.into_owned().into()),
                ..b
            })
        })
        .unwrap();
    (kind, out)
}

#[test]
fn wallet_push_parses_to_exact_balances() {
    let (kind, b) = parse(FIXTURE);
    assert_eq!(kind, FrameKind::Data);
    assert_eq!(
        b,
        vec![ParsedBalance {
            unrealized_pnl: None,
            venue_asset: "BTC".into(),
            total: dec!(0.00102964),
            // `availableToWithdraw` 0.00102964, `locked` 0, both margins "": all free.
            available: Some(dec!(0.00102964)),
            locked: Some(dec!(0)),
            borrowed: Some(dec!(0)),
            pending: None,
            sub_account: None,
            wallet: Some("UNIFIED".into()),
            as_of: Some(Ts::from_millis(1_700_034_722_104)),
            network: None,
        }]
    );
    assert_eq!(b[0].total.to_string(), "0.00102964");
}

#[test]
fn empty_strings_are_none_and_acks_pongs_refusals_are_classified() {
    let frame = FIXTURE
        .replace(r#""locked": "0""#, r#""locked": """#)
        .replace(r#""borrowAmount": "0""#, r#""borrowAmount": """#);
    let (_, b) = parse(&frame);
    assert_eq!(b[0].borrowed, None);
    // No held part given: the split comes from `availableToWithdraw` alone.
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(0.00102964)), Some(dec!(0)))
    );
    // Nothing at all says what is held (portfolio margin, withdrawable deprecated): no split.
    let (_, b) = parse(&frame.replace(
        r#""availableToWithdraw": "0.00102964""#,
        r#""availableToWithdraw": """#,
    ));
    assert_eq!((b[0].available, b[0].locked), (None, None));
    let ack = include_str!("../../fixtures/bybit/ws_subscribe_response_private.json");
    assert_eq!(parse(ack), (FrameKind::Control, vec![]));
    let auth = include_str!("../../fixtures/bybit/ws_auth_response.json");
    assert_eq!(parse(auth), (FrameKind::Control, vec![]));
    let pong = include_str!("../../fixtures/bybit/ws_pong_private.json");
    assert_eq!(parse(pong), (FrameKind::Heartbeat, vec![]));
    let refused = r#"{"success":false,"ret_msg":"Params Error","op":"auth","conn_id":"cno3gd1qo29t7ommtc60-18fpo"}"#;
    assert_eq!(
        parse(refused),
        (
            FrameKind::VenueError("auth failed: Params Error".into()),
            vec![]
        )
    );
    assert!(BybitWalletStream.parse("{not json", &mut |_| {}).is_err());
}

#[test]
fn rest_and_ws_agree_on_the_same_fields() {
    // The REST parser on a body holding the fixture's coin and account gives the same balance.
    let v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let body = serde_json::json!({
        "retCode": 0, "retMsg": "OK", "result": {"list": v["data"]},
        "retExtInfo": {}, "time": 1_700_034_722_104i64
    })
    .to_string();
    let mut rest = Vec::new();
    BybitBalances
        .parse_balances(&body, &mut |b| {
            rest.push((
                b.venue_asset.into_owned(),
                b.total,
                b.locked,
                b.borrowed,
                b.wallet.map(|w| w.into_owned()),
                b.as_of,
            ))
        })
        .unwrap();
    let (_, ws) = parse(FIXTURE);
    let ws: Vec<_> = ws
        .into_iter()
        .map(|b| {
            (
                b.venue_asset.into_owned(),
                b.total,
                b.locked,
                b.borrowed,
                b.wallet.map(|w| w.into_owned()),
                b.as_of,
            )
        })
        .collect();
    assert_eq!(rest, ws);
}

#[test]
fn auth_message_is_signed_as_documented() {
    use hmac::Mac;
    let creds = BybitBalances.demo_credentials();
    let now = Ts::from_millis(1_662_350_390_000);
    let msgs = BybitWalletStream.auth_messages(&creds, now).unwrap();
    assert_eq!(msgs.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&msgs[0]).unwrap();
    assert_eq!(v["op"], "auth");
    assert!(v["req_id"].is_string());
    let args = v["args"].as_array().unwrap();
    assert_eq!(args[0], "DEMObybitKEY1x2y3z");
    // The docs' example shows `expires` as a JSON number, 10 s ahead of now here.
    assert_eq!(args[1].as_i64(), Some(1_662_350_400_000));
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(b"DEMObybitSECRETdemo0123456789abcdefg")
            .unwrap();
    mac.update(b"GET/realtime1662350400000");
    assert_eq!(
        args[2].as_str().unwrap(),
        hex::encode(mac.finalize().into_bytes())
    );
    assert_eq!(
        BybitWalletStream.subscribe_messages(),
        vec![r#"{"op":"subscribe","args":["wallet","position"]}"#.to_owned()]
    );
    assert_eq!(
        BybitWalletStream.auth_messages(&Credentials::default(), now),
        Err(connectors::auth::AuthError::Missing("api_key"))
    );
}

#[test]
fn registry_lists_the_stream_under_the_polling_kind() {
    let s = connectors::registry::balance_stream("bybit").unwrap();
    assert_eq!(s.default_ws_url(), "wss://stream.bybit.com/v5/private");
    assert!(connectors::registry::polling(s.kind()).is_some());
    assert!(connectors::registry::balance_stream("bybit_spot").is_none());
}

fn start(url: &str, creds: Credentials, index: u32) -> Run {
    crate::support::balance_stream::start(&BybitWalletStream, "bybit-ws", url, creds, index, None)
}

/// The lifecycle (CONNECTING, LIVE under its name, drop, reconnect, stop, no secret) is
/// `contract::balance_stream`; this is what Bybit's push adds.
#[tokio::test]
async fn the_sim_push_is_exact() {
    let creds = BybitBalances.demo_credentials();
    let sim = BybitWalletStream.start_sim(creds.clone()).await.unwrap();
    let mut run = start(&sim.ws_url, creds.clone(), 7);
    run.until("LIVE", |o| is_state(o, FeedState::Live)).await;
    // One whole account push: every coin of the simulated account, with the REST sim's numbers.
    let mut got = Vec::new();
    while got.len() < SIM_BALANCES.len() {
        let o = run.until("a balance", |o| balance(o).is_some()).await;
        got.push(balance(&o).unwrap().clone());
    }
    for (b, (coin, wallet, locked, borrow)) in got.iter().zip(SIM_BALANCES) {
        assert_eq!(b.connector, 7);
        assert_eq!(b.venue_asset, *coin);
        assert_eq!(b.total, Decimal::from_str(wallet).unwrap());
        // Spot-order locks and the initial margin of orders and positions are all held.
        let im: Decimal = connectors::venues::bybit::sim::SIM_MARGIN
            .iter()
            .filter(|(c, _, _)| c == coin)
            .map(|(_, o, p)| Decimal::from_str(o).unwrap() + Decimal::from_str(p).unwrap())
            .sum();
        assert_eq!(b.locked, Some(Decimal::from_str(locked).unwrap() + im));
        assert_eq!(b.available.unwrap() + b.locked.unwrap(), b.total);
        assert_eq!(b.borrowed, Some(Decimal::from_str(borrow).unwrap()));
        assert_eq!(b.wallet.as_deref(), Some("UNIFIED"));
        assert!(b.as_of.is_some() && b.received_at >= b.as_of.unwrap());
    }

    run.stop().await;
}

#[tokio::test]
async fn wrong_secret_is_refused_and_reported_without_the_secret() {
    let good = BybitBalances.demo_credentials();
    let sim = BybitWalletStream.start_sim(good.clone()).await.unwrap();
    let wrong_secret = "WRONGbybitSECRET0123456789abcdefghij";
    let wrong = Credentials::new(good.key().unwrap(), wrong_secret);
    let mut run = start(&sim.ws_url, wrong, 3);
    let refused = run
        .until("an auth refusal", |o| {
            status(o).is_some_and(|s| {
                s.reason
                    .as_deref()
                    .is_some_and(|r| r.contains("auth failed"))
            })
        })
        .await;
    let s = status(&refused).unwrap();
    assert_eq!(s.state, FeedState::Down);
    assert_eq!(s.reason.as_deref(), Some("auth failed: Params Error"));
    // Nothing went LIVE and no balance arrived; the sim pushed nothing.
    run.assert_quiet_after_refusal().await;
    assert_eq!(sim.control.data_frames(), 0);
    let all = format!("{:?}", run.seen);
    assert!(!all.contains(wrong_secret) && !all.contains(good.secret().unwrap()));
    run.cancel.cancel();
    tokio::time::timeout(Duration::from_secs(1), &mut run.task)
        .await
        .expect("stopped within 1 s")
        .unwrap();
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
            // Wallet pushes may come between a request and its answer.
            if v.get("topic").is_none() {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn sim_refuses_an_expired_login_and_a_subscribe_before_auth() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let creds = BybitBalances.demo_credentials();
    let sim = BybitWalletStream.start_sim(creds.clone()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url.as_str())
        .await
        .unwrap();
    let sub = BybitWalletStream.subscribe_messages().remove(0);
    let r = ask(&mut ws, sub.clone()).await;
    assert_eq!(
        (r["success"].as_bool(), r["op"].as_str()),
        (Some(false), Some("subscribe"))
    );
    // `expires` 20 s ago (now - 30 s + 10 s): signed correctly, but in the past.
    let past = Ts::now().plus_millis(-30_000);
    let auth = BybitWalletStream
        .auth_messages(&creds, past)
        .unwrap()
        .remove(0);
    let r = ask(&mut ws, auth).await;
    assert_eq!(r["success"], false);
    assert_eq!(r["ret_msg"], "Params Error");
    let auth = BybitWalletStream
        .auth_messages(&creds, Ts::now())
        .unwrap()
        .remove(0);
    let r = ask(&mut ws, auth).await;
    assert_eq!(
        (
            r["req_id"].as_str(),
            r["success"].as_bool(),
            r["ret_msg"].as_str(),
            r["op"].as_str()
        ),
        (Some("auth"), Some(true), Some(""), Some("auth"))
    );
    let r = ask(&mut ws, sub).await;
    assert_eq!(
        (r["success"].as_bool(), r["op"].as_str()),
        (Some(true), Some("subscribe"))
    );
    let r = ask(&mut ws, r#"{"req_id":"9","op":"ping"}"#.into()).await;
    assert_eq!(
        (r["op"].as_str(), r["req_id"].as_str()),
        (Some("pong"), Some("9"))
    );
    // Then wallet pushes, each parsing to the whole account.
    let frame = loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            break t.as_str().to_owned();
        }
    };
    let (kind, b) = parse(&frame);
    assert_eq!(kind, FrameKind::Data, "{frame}");
    assert_eq!(b.len(), SIM_BALANCES.len());
}
