//! Deribit's private balance stream (`user.portfolio.any` after `public/auth`, complementing
//! kind `deribit`): the parser on the nautilus capture of a portfolio push, REST and WS agreeing
//! field for field, the client-signature login against an independently computed HMAC, and
//! `run_balance_stream` end to end against the simulator (auth, heartbeats, pushes, refused
//! login, dropped connection, cancel, tokens kept out of captures).

use crate::support::balance_stream::{balance, is_state, status, Run};
use connectors::auth::Credentials;
use connectors::traits::FrameKind;
use connectors::transport::private_ws::{BalanceStream, CAPTURE_CHANNEL};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::deribit::sim::SIM_SUMMARIES;
use connectors::venues::deribit::stream::{redact_tokens, PORTFOLIO_CHANNEL};
use connectors::venues::deribit::{DeribitBalances, DeribitPortfolioStream, TEST_REPLY};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{FeedState, Ts};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;

const PORTFOLIO: &str =
    include_str!("../../fixtures/deribit/ws_private_user_portfolio_nautilus.json");
const SUMMARIES: &str =
    include_str!("../../fixtures/deribit/rest_private_get_account_summaries_nautilus.json");
const TEST_REQUEST: &str =
    include_str!("../../fixtures/deribit/ws_heartbeat_test_request_nautilus.json");

type Row = (
    String,
    Decimal,
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
    Option<String>,
);

fn row(b: ParsedBalance<'_>) -> Row {
    (
        b.venue_asset.into_owned(),
        b.total,
        b.available,
        b.locked,
        b.borrowed,
        b.wallet.map(|w| w.into_owned()),
    )
}

fn parse(frame: &str) -> (FrameKind, Vec<Row>) {
    let mut out = Vec::new();
    let kind = DeribitPortfolioStream
        .parse(frame, &mut |b| out.push(row(b)))
        .unwrap();
    (kind, out)
}

#[test]
fn portfolio_push_parses_to_the_exact_balance() {
    let (kind, b) = parse(PORTFOLIO);
    assert_eq!(kind, FrameKind::Data);
    // `balance` (55.00055), not `equity`, `margin_balance` (54.968258) or `available_funds`;
    // available = `available_withdrawal_funds` (54.968257), the rest (margin in use) locked.
    assert_eq!(
        b,
        vec![(
            "USDT".into(),
            dec!(55.00055),
            Some(dec!(54.968257)),
            Some(dec!(0.032293)),
            None,
            None
        )]
    );
    assert_eq!(b[0].1.to_string(), "55.00055");
}

#[test]
fn rest_and_ws_agree_field_for_field() {
    // Each summary of the REST reply, pushed as a portfolio notification, gives the same row.
    let mut rest = Vec::new();
    DeribitBalances
        .parse_balances(SUMMARIES, &mut |b| rest.push(row(b)))
        .unwrap();
    assert!(rest.len() >= 2);
    let v: serde_json::Value = serde_json::from_str(SUMMARIES).unwrap();
    let mut ws = Vec::new();
    for s in v["result"]["summaries"].as_array().unwrap() {
        let frame = format!(
            r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"user.portfolio.any","data":{s}}}}}"#
        );
        ws.extend(parse(&frame).1);
    }
    assert_eq!(rest, ws);
    // And the simulators: the WS side pushes the REST side's numbers.
    let body = connectors::venues::deribit::sim::summaries_body(Ts::now());
    let mut sim_rest = Vec::new();
    DeribitBalances
        .parse_balances(&body, &mut |b| sim_rest.push(row(b)))
        .unwrap();
    let totals: Vec<_> = SIM_SUMMARIES
        .iter()
        .map(|s| (s[0].to_owned(), Decimal::from_str(s[1]).unwrap()))
        .collect();
    assert_eq!(
        sim_rest
            .iter()
            .map(|r| (r.0.clone(), r.1))
            .collect::<Vec<_>>(),
        totals
    );
}

#[test]
fn replies_heartbeats_and_refusals_are_classified() {
    // The auth, set_heartbeat and subscribe replies are the loop's acks.
    let auth = r#"{"jsonrpc":"2.0","id":4,"result":{"access_token":"1582628593469.1MbQ-J_4.CBP","expires_in":31536000,"refresh_token":"1582628593469.1GP4rQd0.A9W","scope":"connection mainaccount","enabled_features":[],"token_type":"bearer"},"usIn":1,"usOut":2,"usDiff":1,"testnet":false}"#;
    assert_eq!(parse(auth), (FrameKind::Control, vec![]));
    let sub = r#"{"jsonrpc":"2.0","id":5,"result":["user.portfolio.any"],"usIn":1,"usOut":2,"usDiff":1,"testnet":false}"#;
    assert_eq!(parse(sub), (FrameKind::Control, vec![]));
    // A test_request is answered; the answer's reply is not an ack.
    assert_eq!(
        parse(TEST_REQUEST),
        (FrameKind::Respond(TEST_REPLY.into()), vec![])
    );
    let test_reply = r#"{"jsonrpc":"2.0","id":3,"result":{"version":"1.2.26"},"usIn":1,"usOut":2,"usDiff":1,"testnet":false}"#;
    assert_eq!(parse(test_reply), (FrameKind::Heartbeat, vec![]));
    let hb = r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}"#;
    assert_eq!(parse(hb), (FrameKind::Heartbeat, vec![]));
    // Refusals name the request.
    let refused = r#"{"jsonrpc":"2.0","id":4,"error":{"message":"unauthorized","code":13009},"usIn":1,"usOut":2,"usDiff":1,"testnet":false}"#;
    assert_eq!(
        parse(refused),
        (
            FrameKind::VenueError("public/auth: code 13009: unauthorized".into()),
            vec![]
        )
    );
    assert!(DeribitPortfolioStream
        .parse("{not json", &mut |_| {})
        .is_err());
    let bad = PORTFOLIO.replace(r#""balance": 55.00055"#, r#""balance": "x""#);
    assert!(DeribitPortfolioStream.parse(&bad, &mut |_| {}).is_err());
    // The auth reply's tokens never reach a capture.
    let r = redact_tokens(auth);
    assert!(
        !r.contains("1MbQ") && !r.contains("1GP4") && r.contains("<redacted>"),
        "{r}"
    );
    assert!(matches!(
        redact_tokens(PORTFOLIO),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn auth_is_a_client_signature_as_documented() {
    use hmac::Mac;
    let creds = DeribitBalances.demo_credentials();
    let now = Ts::from_millis(1_700_000_000_000);
    let msgs = DeribitPortfolioStream.auth_messages(&creds, now).unwrap();
    assert_eq!(msgs.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&msgs[0]).unwrap();
    assert_eq!(v["method"], "public/auth");
    let p = &v["params"];
    assert_eq!(p["grant_type"], "client_signature");
    assert_eq!(p["client_id"], creds.key().unwrap());
    assert_eq!(p["timestamp"].as_i64(), Some(now.millis()));
    let nonce = p["nonce"].as_str().unwrap();
    assert!(!nonce.is_empty());
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(creds.secret().unwrap().as_bytes()).unwrap();
    mac.update(format!("{}\n{nonce}\n", now.millis()).as_bytes());
    assert_eq!(
        p["signature"].as_str().unwrap(),
        hex::encode(mac.finalize().into_bytes())
    );
    // Two logins never share a nonce.
    let again = DeribitPortfolioStream.auth_messages(&creds, now).unwrap();
    assert_ne!(again, msgs);
    let subs = DeribitPortfolioStream.subscribe_messages();
    assert!(subs[0].contains("public/set_heartbeat"));
    assert!(subs[1].contains("private/subscribe") && subs[1].contains(PORTFOLIO_CHANNEL));
    assert_eq!(
        DeribitPortfolioStream.auth_messages(&Credentials::default(), now),
        Err(connectors::auth::AuthError::Missing("api_secret"))
    );
    let s = connectors::registry::balance_stream("deribit").unwrap();
    assert_eq!(s.default_ws_url(), "wss://www.deribit.com/ws/api/v2");
}

fn start(
    url: &str,
    creds: Credentials,
    index: u32,
    capture: Option<connectors::capture::CaptureTx>,
) -> Run {
    crate::support::balance_stream::start(
        &DeribitPortfolioStream,
        "deribit-ws",
        url,
        creds,
        index,
        capture,
    )
}

/// The lifecycle (CONNECTING, LIVE under its name, drop, reconnect, stop, no secret) is
/// `contract::balance_stream`; this is what Deribit's push, logins and capture adds.
#[tokio::test]
async fn the_sim_push_is_exact_and_each_connection_logs_in_once() {
    let creds = DeribitBalances.demo_credentials();
    let sim = DeribitPortfolioStream
        .start_sim(creds.clone())
        .await
        .unwrap();
    let (cap_tx, mut cap_rx) = mpsc::channel(4096);
    let mut run = start(&sim.ws_url, creds.clone(), 9, Some(cap_tx));
    let t0 = std::time::Instant::now();
    run.until("LIVE", |o| is_state(o, FeedState::Live)).await;
    println!(
        "deribit: auth + heartbeat + subscribe to LIVE in {:?}",
        t0.elapsed()
    );
    // Every currency of the simulated account, with the REST sim's `balance`.
    let mut seen_currencies = std::collections::BTreeMap::new();
    while seen_currencies.len() < SIM_SUMMARIES.len() {
        let o = run.until("a balance", |o| balance(o).is_some()).await;
        let b = balance(&o).unwrap();
        assert_eq!(b.connector, 9);
        // The push has no time; available (withdrawable) and locked (margin) are both given.
        assert_eq!(b.as_of, None);
        assert_eq!(b.available.unwrap() + b.locked.unwrap(), b.total);
        seen_currencies.insert(b.venue_asset.clone(), b.total);
    }
    for s in SIM_SUMMARIES {
        assert_eq!(
            seen_currencies[s[0]],
            Decimal::from_str(s[1]).unwrap(),
            "{}",
            s[0]
        );
    }

    // A network failure: RECONNECTING with the reason, a new login, LIVE and balances again.
    sim.control.drop_connections();
    run.until("RECONNECTING", |o| is_state(o, FeedState::Reconnecting))
        .await;
    run.until("LIVE again", |o| is_state(o, FeedState::Live))
        .await;
    run.until("a balance after reconnect", |o| balance(o).is_some())
        .await;

    run.stop().await;
    // The capture holds the auth replies with their tokens cut, and the portfolio pushes as
    // received (they replay through the same parser).
    let mut lines = Vec::new();
    while let Ok(l) = cap_rx.try_recv() {
        lines.push(l);
    }
    let auth_replies: Vec<_> = lines
        .iter()
        .filter(|l| l.frame.contains("access_token"))
        .collect();
    assert_eq!(auth_replies.len(), 2, "one login per connection");
    for l in &auth_replies {
        let v: serde_json::Value = serde_json::from_str(&l.frame).unwrap();
        assert_eq!(v["result"]["access_token"], "<redacted>");
        assert_eq!(v["result"]["refresh_token"], "<redacted>");
    }
    assert!(lines.iter().all(|l| l.channel == CAPTURE_CHANNEL));
    let pushes = lines
        .iter()
        .filter(|l| DeribitPortfolioStream.parse(&l.frame, &mut |_| {}) == Ok(FrameKind::Data))
        .count();
    assert!(pushes >= SIM_SUMMARIES.len());
    let captured = format!("{lines:?}");
    for v in creds.values() {
        assert!(!captured.contains(v), "credential in capture");
    }
}

#[tokio::test]
async fn wrong_secret_is_refused_and_reported_without_the_secret() {
    let good = DeribitBalances.demo_credentials();
    let sim = DeribitPortfolioStream
        .start_sim(good.clone())
        .await
        .unwrap();
    let wrong_secret = "WRONG-deribit-client-secret";
    let wrong = Credentials::new(good.key().unwrap(), wrong_secret);
    let mut run = start(&sim.ws_url, wrong, 1, None);
    let refused = run
        .until("a refusal", |o| {
            status(o).is_some_and(|s| {
                s.reason
                    .as_deref()
                    .is_some_and(|r| r.contains("auth failed"))
            })
        })
        .await;
    let s = status(&refused).unwrap();
    assert_eq!(s.state, FeedState::Down);
    assert_eq!(
        s.reason.as_deref(),
        Some("auth failed: public/auth: code 13009: unauthorized")
    );
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

/// Sends one request and returns the reply with its id (notifications skipped).
async fn ask(ws: &mut Client, msg: String) -> serde_json::Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(msg.into())).await.unwrap();
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v.get("id").is_some() {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn sim_refuses_subscribe_before_auth_a_replayed_nonce_and_an_unknown_client() {
    let creds = DeribitBalances.demo_credentials();
    let sim = DeribitPortfolioStream
        .start_sim(creds.clone())
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url.as_str())
        .await
        .unwrap();
    let sub = DeribitPortfolioStream.subscribe_messages().remove(1);
    let r = ask(&mut ws, sub.clone()).await;
    assert_eq!(r["error"]["code"], 13009);
    let other = Credentials::new("someone-else", creds.secret().unwrap());
    let r = ask(
        &mut ws,
        connectors::venues::deribit::stream::auth_request(&other, Ts::now(), "n1").unwrap(),
    )
    .await;
    assert_eq!(
        (r["error"]["code"].as_i64(), r["error"]["message"].as_str()),
        (Some(13004), Some("invalid_credentials"))
    );
    let login = connectors::venues::deribit::stream::auth_request(&creds, Ts::now(), "n2").unwrap();
    let r = ask(&mut ws, login.clone()).await;
    assert_eq!(r["result"]["token_type"], "bearer");
    assert!(r["result"]["access_token"].is_string());
    // The same signed login again: the nonce was used.
    let r = ask(&mut ws, login).await;
    assert_eq!(r["error"]["code"], 13009);
    let r = ask(&mut ws, sub).await;
    assert_eq!(r["result"], serde_json::json!([PORTFOLIO_CHANNEL]));
}
