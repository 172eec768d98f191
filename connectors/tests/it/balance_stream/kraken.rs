//! Kraken's private balance stream (WebSocket v2 `balances`, complementing kind `kraken`): the
//! parser on the docs' snapshot and update examples, REST and WS agreeing on the same account,
//! the `GetWebSocketsToken` pre-connect request, and `run_balance_stream` end to end against the
//! simulator (token, subscribe, snapshot and updates, refused key, dropped connection, cancel).

use crate::support::balance_stream::{balance, is_state, status, Run};
use connectors::auth::{Credentials, Secret};
use connectors::error::ParseError;
use connectors::traits::FrameKind;
use connectors::transport::private_ws::{redact_all, BalanceStream};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::kraken::sim::{SIM_BALANCES, SIM_WS_BALANCES};
use connectors::venues::kraken::stream::WS_TOKEN_PATH;
use connectors::venues::kraken::{KrakenBalanceStream, KrakenBalances};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{FeedState, Ts};
use std::str::FromStr;
use std::time::Duration;

const SNAPSHOT: &str =
    include_str!("../../fixtures/kraken/ws_v2_balances_snapshot_docs_example.json");
const UPDATE: &str = include_str!("../../fixtures/kraken/ws_v2_balances_update_docs_example.json");
const ACK: &str =
    include_str!("../../fixtures/kraken/ws_v2_balances_subscribe_ack_docs_example.json");
const TOKEN: &str = include_str!("../../fixtures/kraken/rest_GetWebSocketsToken_docs_example.json");
const BALANCE_EX: &str =
    include_str!("../../fixtures/kraken/rest_BalanceEx_POST_0_private_BalanceEx_docs_example.json");

type Row = (
    String,
    Decimal,
    Option<Decimal>,
    Option<Decimal>,
    Option<String>,
    Option<Ts>,
);

fn row(b: ParsedBalance<'_>) -> Row {
    (
        b.venue_asset.into_owned(),
        b.total,
        b.available,
        b.locked,
        b.wallet.map(|w| w.into_owned()),
        b.as_of,
    )
}

fn parse(frame: &str) -> (FrameKind, Vec<Row>) {
    let mut out = Vec::new();
    let kind = KrakenBalanceStream
        .parse(frame, &mut |b| out.push(row(b)))
        .unwrap();
    (kind, out)
}

#[test]
fn snapshot_gives_each_spot_wallet_exactly() {
    let (kind, b) = parse(SNAPSHOT);
    assert_eq!(kind, FrameKind::Data);
    // MATIC's earn/flex wallet (200) is left to REST, which reports earn balances under
    // suffixed codes; the spot wallet is 300, not the asset's 500 across wallets.
    assert_eq!(
        b,
        vec![
            ("BTC".into(), dec!(1.2), None, None, None, None),
            ("MATIC".into(), dec!(300), None, None, None, None),
            ("USD".into(), dec!(80595.4943), None, None, None, None),
        ]
    );
    assert_eq!(b[2].1.to_string(), "80595.4943");
}

#[test]
fn update_gives_the_new_absolute_balance_as_of_the_entry() {
    let (kind, b) = parse(UPDATE);
    assert_eq!(kind, FrameKind::Data);
    assert_eq!(
        b,
        vec![(
            "BTC".into(),
            dec!(0.02), // the balance after the deposit, never the amount (0.01)
            None,
            None,
            None,
            Ts::parse_rfc3339("2023-09-22T10:23:42.925034Z"),
        )]
    );
    assert!(b[0].5.is_some());
    // The same entry in an earn wallet is not a spot balance: skipped.
    let earn = UPDATE
        .replace(r#""wallet_type": "spot""#, r#""wallet_type": "earn""#)
        .replace(r#""wallet_id": "main""#, r#""wallet_id": "flex""#);
    assert_eq!(parse(&earn), (FrameKind::Data, vec![]));
    // A suffixed code goes through the REST parser's rule (`DOT.S` is staked DOT).
    let staked = UPDATE.replace(r#""asset": "BTC""#, r#""asset": "DOT.S""#);
    let (_, b) = parse(&staked);
    assert_eq!(
        (b[0].0.as_str(), b[0].4.as_deref()),
        ("DOT", Some("staked"))
    );
}

#[test]
fn acks_heartbeats_status_and_refusals_are_classified() {
    assert_eq!(parse(ACK), (FrameKind::Control, vec![]));
    let hb = include_str!("../../fixtures/kraken/ws_v2_heartbeat.json");
    // Heartbeats and the status sent on connect must never count as the subscribe ack.
    assert_eq!(parse(hb), (FrameKind::Heartbeat, vec![]));
    let status = r#"{"channel":"status","data":[{"api_version":"v2","connection_id":14545728493745856413,"system":"online","version":"2.0.0"}],"type":"update"}"#;
    assert_eq!(parse(status), (FrameKind::Heartbeat, vec![]));
    let pong = r#"{"method":"pong","req_id":3,"time_in":"2023-10-16T13:29:13.111530Z","time_out":"2023-10-16T13:29:13.111775Z"}"#;
    assert_eq!(parse(pong), (FrameKind::Heartbeat, vec![]));
    let refused = r#"{"error":"ESession:Invalid session","method":"subscribe","req_id":1,"success":false,"time_in":"2023-10-16T13:29:13.111530Z","time_out":"2023-10-16T13:29:13.111775Z"}"#;
    assert_eq!(
        parse(refused),
        (
            FrameKind::VenueError("ESession:Invalid session".into()),
            vec![]
        )
    );
    // Bad input is an error, and a bad item spoils the whole frame (nothing half emitted).
    assert!(KrakenBalanceStream.parse("{not json", &mut |_| {}).is_err());
    let bad = SNAPSHOT.replace("80595.4943", r#""x""#);
    let mut n = 0;
    assert!(KrakenBalanceStream.parse(&bad, &mut |_| n += 1).is_err());
    assert_eq!(n, 0);
}

#[test]
fn rest_and_ws_agree_on_the_same_account() {
    // REST BalanceEx (docs example) and a balances snapshot of the same account: the v2
    // channel says BTC/USD where REST says XXBT/ZUSD (the asset master's KRAKEN_ALIASES).
    let v2_code = |c: &str| match c {
        "XXBT" => "BTC".to_owned(),
        "ZUSD" => "USD".to_owned(),
        other => other.to_owned(),
    };
    let mut rest = Vec::new();
    KrakenBalances
        .parse_balances(BALANCE_EX, &mut |b| rest.push(row(b)))
        .unwrap();
    assert!(!rest.is_empty());
    let raw: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str::<serde_json::Value>(BALANCE_EX).unwrap()["result"]
            .as_object()
            .unwrap()
            .clone();
    // Numbers copied as text from the REST body (serde_json keeps the digits it was given).
    let items: Vec<String> = raw
        .iter()
        .map(|(code, v)| {
            let b = v["balance"].to_string();
            format!(
                r#"{{"asset":"{}","asset_class":"currency","balance":{b},"wallets":[{{"type":"spot","id":"main","balance":{b}}}]}}"#,
                v2_code(code)
            )
        })
        .collect();
    let frame = format!(
        r#"{{"channel":"balances","data":[{}],"type":"snapshot","sequence":1}}"#,
        items.join(",")
    );
    let (_, ws) = parse(&frame);
    let rest_totals: Vec<_> = rest
        .iter()
        .map(|r| (v2_code(&r.0), r.1, r.4.clone(), r.5))
        .collect();
    let ws_totals: Vec<_> = ws
        .iter()
        .map(|r| (r.0.clone(), r.1, r.4.clone(), r.5))
        .collect();
    // serde_json's map is sorted by key: compare as sets of rows.
    let (mut rest_totals, mut ws_totals) = (rest_totals, ws_totals);
    rest_totals.sort();
    ws_totals.sort();
    assert_eq!(rest_totals, ws_totals);
    // And the simulators: every spot wallet of the WS side is the REST side's balance.
    for (asset, kind, _, balance) in SIM_WS_BALANCES.iter().filter(|w| w.1 == "spot") {
        let rest_code = match *asset {
            "BTC" => "XXBT",
            "USD" => "ZUSD",
            "ETH" => "XETH",
            a => a,
        };
        let (_, b, _) = SIM_BALANCES.iter().find(|r| r.0 == rest_code).unwrap();
        assert_eq!(
            Decimal::from_str(b).unwrap(),
            Decimal::from_str(balance).unwrap(),
            "{asset} {kind}"
        );
    }
}

#[test]
fn token_request_is_signed_like_balance_ex_and_the_token_is_read() {
    let creds = KrakenBalances.demo_credentials();
    let now = Ts::from_millis(1_700_000_000_000);
    let req = KrakenBalanceStream
        .token_request(&creds, now)
        .unwrap()
        .expect("Kraken needs a token");
    assert_eq!((req.method, req.path.as_str()), ("POST", WS_TOKEN_PATH));
    let nonce = req.body.strip_prefix("nonce=").unwrap();
    assert!(nonce.parse::<i64>().unwrap() >= now.millis());
    let header = |n: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("API-Key"), Some(creds.key().unwrap()));
    let expected = connectors::auth::sign::kraken_api_sign(
        creds.secret().unwrap(),
        WS_TOKEN_PATH,
        nonce,
        &req.body,
    )
    .unwrap();
    assert_eq!(header("API-Sign"), Some(expected.as_str()));
    // The docs' reply gives the token; the subscribe request carries it.
    let token = KrakenBalanceStream.parse_token(TOKEN).unwrap();
    assert_eq!(
        token.expose(),
        "1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw"
    );
    let sub = KrakenBalanceStream.subscribe_messages_with_token(&token);
    let v: serde_json::Value = serde_json::from_str(&sub[0]).unwrap();
    assert_eq!(v["method"], "subscribe");
    assert_eq!(v["params"]["channel"], "balances");
    assert_eq!(v["params"]["token"], token.expose());
    assert!(KrakenBalanceStream
        .auth_messages(&creds, now)
        .unwrap()
        .is_empty());
    // A refusal is the venue's error; a malformed reply is not quoted (it may hold a token).
    assert!(matches!(
        KrakenBalanceStream.parse_token(r#"{"error":["EAPI:Invalid key"]}"#),
        Err(ParseError::Venue { message, .. }) if message == "EAPI:Invalid key"
    ));
    let e = KrakenBalanceStream
        .parse_token(r#"{"result":{"token":"SECRETTOKEN123"#)
        .unwrap_err()
        .to_string();
    assert!(!e.contains("SECRETTOKEN123"), "{e}");
    // The token is redacted from anything recorded or reported.
    let echoed = r#"{"error":"bad token 1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw"}"#;
    let r = redact_all(&KrakenBalanceStream, echoed, &creds, Some(&token));
    assert!(
        !r.contains(token.expose()) && r.contains("<redacted>"),
        "{r}"
    );
}

#[test]
fn registry_lists_the_stream_under_the_polling_kind() {
    let s = connectors::registry::balance_stream("kraken").unwrap();
    assert_eq!(s.default_ws_url(), "wss://ws-auth.kraken.com/v2");
    assert!(connectors::registry::polling(s.kind()).is_some());
}

fn start(ws_url: &str, rest_url: &str, creds: Credentials, index: u32) -> Run {
    crate::support::balance_stream::start_with_rest(
        &KrakenBalanceStream,
        "kraken-ws",
        ws_url,
        Some(rest_url),
        creds,
        index,
        None,
    )
}

/// The lifecycle (CONNECTING, LIVE under its name, drop, reconnect, stop, no secret) is
/// `contract::balance_stream`; this is what Kraken's snapshot, updates and token adds.
#[tokio::test]
async fn the_sim_snapshot_is_exact_and_each_connection_takes_a_fresh_token() {
    let creds = KrakenBalances.demo_credentials();
    let sim = KrakenBalanceStream.start_sim(creds.clone()).await.unwrap();
    let rest_url = sim
        .rest_url
        .clone()
        .expect("the sim serves the token endpoint");
    let mut run = start(&sim.ws_url, &rest_url, creds.clone(), 4);
    let t0 = std::time::Instant::now();
    run.until("LIVE", |o| is_state(o, FeedState::Live)).await;
    println!(
        "kraken: token + connect + subscribe to LIVE in {:?}",
        t0.elapsed()
    );
    // The snapshot: every spot wallet, with the REST sim's numbers; earn wallets left to REST.
    let spot: Vec<_> = SIM_WS_BALANCES.iter().filter(|w| w.1 == "spot").collect();
    let mut got = Vec::new();
    while got.len() < spot.len() {
        let o = run.until("a balance", |o| balance(o).is_some()).await;
        got.push(balance(&o).unwrap().clone());
    }
    for (b, (asset, _, _, total)) in got.iter().zip(&spot) {
        assert_eq!(b.connector, 4);
        assert_eq!(b.venue_asset, *asset);
        assert_eq!(b.total, Decimal::from_str(total).unwrap());
        assert_eq!(
            (b.available, b.locked, b.wallet.as_deref()),
            (None, None, None)
        );
        assert_eq!(b.as_of, None); // a snapshot has no time
    }
    // Then ledger updates, each with its entry's time.
    let u = run
        .until("an update", |o| {
            balance(o).is_some_and(|b| b.as_of.is_some())
        })
        .await;
    let u = balance(&u).unwrap();
    assert!(spot
        .iter()
        .any(|w| w.0 == u.venue_asset && Decimal::from_str(w.3).unwrap() == u.total));
    let tokens_before = sim.rest_faults.as_ref().unwrap().requests();
    assert_eq!(tokens_before, 1, "one token per connection");

    // A network failure: RECONNECTING with the reason, a fresh token, LIVE and balances again.
    sim.control.drop_connections();
    run.until("RECONNECTING", |o| is_state(o, FeedState::Reconnecting))
        .await;
    run.until("LIVE again", |o| is_state(o, FeedState::Live))
        .await;
    assert!(sim.rest_faults.as_ref().unwrap().requests() > tokens_before);
    run.until("a balance after reconnect", |o| balance(o).is_some())
        .await;

    run.stop().await;
}

#[tokio::test]
async fn wrong_secret_is_refused_and_reported_without_the_secret() {
    let good = KrakenBalances.demo_credentials();
    let sim = KrakenBalanceStream.start_sim(good.clone()).await.unwrap();
    // A valid base64 secret, but not the account's.
    let wrong_secret =
        "V1JPTkcta3Jha2VuLXNlY3JldC1ub3QtdGhlLWFjY291bnRzLXNlY3JldC0wMTIzNDU2Nzg5MDEyMw==";
    let wrong = Credentials::new(good.key().unwrap(), wrong_secret);
    let mut run = start(&sim.ws_url, sim.rest_url.as_deref().unwrap(), wrong, 2);
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
        Some("auth failed: token refused: EAPI:Invalid signature")
    );
    run.assert_quiet_after_refusal().await;
    // Refused at the token: the socket was never opened.
    assert_eq!(sim.control.connections(), 0);
    assert_eq!(sim.rest_faults.as_ref().unwrap().refused(), 1);
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

/// Sends one request and returns the next method reply (channel messages skipped).
async fn ask(ws: &mut Client, msg: String) -> serde_json::Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(msg.into())).await.unwrap();
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v.get("method").is_some() {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn sim_accepts_only_a_token_it_issued() {
    let creds = KrakenBalances.demo_credentials();
    let sim = KrakenBalanceStream.start_sim(creds.clone()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url.as_str())
        .await
        .unwrap();
    let forged = Secret::new("1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw");
    let sub = KrakenBalanceStream
        .subscribe_messages_with_token(&forged)
        .remove(0);
    let r = ask(&mut ws, sub).await;
    assert_eq!(
        (r["success"].as_bool(), r["error"].as_str()),
        (Some(false), Some("ESession:Invalid session"))
    );
    // A token from the REST side, fetched as the loop does.
    let req = KrakenBalanceStream
        .token_request(&creds, Ts::now())
        .unwrap()
        .unwrap();
    let mut rb =
        reqwest::Client::new().post(format!("{}{}", sim.rest_url.as_deref().unwrap(), req.path));
    for (k, v) in &req.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    let body = rb
        .body(req.body.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = KrakenBalanceStream.parse_token(&body).unwrap();
    let sub = KrakenBalanceStream
        .subscribe_messages_with_token(&token)
        .remove(0);
    let r = ask(&mut ws, sub).await;
    assert_eq!(
        (r["success"].as_bool(), r["result"]["channel"].as_str()),
        (Some(true), Some("balances"))
    );
    // The snapshot follows the ack.
    use futures_util::StreamExt;
    let frame = loop {
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = ws.next().await {
            if t.contains("snapshot") {
                break t.as_str().to_owned();
            }
        }
    };
    let (kind, b) = parse(&frame);
    assert_eq!(kind, FrameKind::Data);
    assert_eq!(
        b.len(),
        SIM_WS_BALANCES.iter().filter(|w| w.1 == "spot").count()
    );
}
