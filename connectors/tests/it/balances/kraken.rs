//! Kraken balances (`POST /0/private/BalanceEx`): the signer against Kraken's published vector
//! and an independent computation, the parser against real payloads (`tests/fixtures/kraken/`,
//! byte for byte from `shared/venues/kraken/`; provenance in `tests/fixtures/README.md`), and the
//! simulator's refusals. Bodies that are not fixture files are labelled where they appear.

use base64::Engine;
use connectors::auth::sign::{kraken_api_sign, B64};
use connectors::auth::Credentials;
use connectors::registry;
use connectors::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::kraken::sim::KrakenRestSim;
use connectors::venues::kraken::KrakenBalances;
use connectors::ParseError;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use schemas::Ts;
use sha2::{Digest, Sha256, Sha512};
use std::str::FromStr;

const BALANCE_EX: &str =
    include_str!("../../fixtures/kraken/rest_BalanceEx_POST_0_private_BalanceEx_docs_example.json");
const BALANCE: &str =
    include_str!("../../fixtures/kraken/rest_Balance_POST_0_private_Balance.json");

fn venue() -> &'static dyn PollingVenue {
    registry::polling("kraken").expect("kraken is a polling venue")
}

#[derive(Debug, PartialEq)]
struct B {
    asset: String,
    total: Decimal,
    available: Option<Decimal>,
    locked: Option<Decimal>,
    wallet: Option<String>,
}

fn parse(body: &str) -> Result<Vec<B>, ParseError> {
    let mut out = Vec::new();
    venue().parse_balances(body, &mut |b: ParsedBalance<'_>| {
        out.push(B {
            asset: b.venue_asset.into_owned(),
            total: b.total,
            available: b.available,
            locked: b.locked,
            wallet: b.wallet.map(|w| w.into_owned()),
        })
    })?;
    Ok(out)
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Kraken docs, "Spot REST authentication" worked example
/// (`shared/venues/kraken/signing_test_vector_api_sign.json`).
#[test]
fn signer_reproduces_krakens_published_vector() {
    let sig = kraken_api_sign(
        "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
        "/0/private/AddOrder",
        "1616492376594",
        "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
    )
    .unwrap();
    assert_eq!(
        sig,
        "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
    );
}

/// The request the connector sends: form body `nonce=<ms>`, `API-Key`, and an `API-Sign` that
/// this test recomputes from the documented formula with the hmac/sha2 crates directly (a code
/// path independent of `kraken_api_sign`).
#[test]
fn request_is_signed_as_documented() {
    let creds = venue().demo_credentials();
    let now = Ts::from_millis(1_900_000_000_000);
    let req = venue().request(&creds, now, None).unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/0/private/BalanceEx");
    assert!(req.query.is_empty());
    let nonce = req
        .body
        .strip_prefix("nonce=")
        .expect("form body nonce=<ms>");
    assert!(nonce.parse::<i64>().unwrap() >= now.millis());
    let header = |n: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("API-Key"), creds.key().unwrap());
    let mut msg = req.path.as_bytes().to_vec();
    msg.extend_from_slice(&Sha256::digest(format!("{nonce}{}", req.body).as_bytes()));
    let key = B64.decode(creds.secret().unwrap()).unwrap();
    let mut mac = Hmac::<Sha512>::new_from_slice(&key).unwrap();
    mac.update(&msg);
    assert_eq!(header("API-Sign"), B64.encode(mac.finalize().into_bytes()));
    // Nonces only increase, even for two requests in the same millisecond.
    let again = venue().request(&creds, now, None).unwrap();
    let n2: i64 = again.body.strip_prefix("nonce=").unwrap().parse().unwrap();
    assert!(n2 > nonce.parse::<i64>().unwrap());
    // Rate limit: Starter tier, 15 per 45 s, per key.
    assert_eq!(venue().rate_limit().capacity, 15);
    assert_eq!(venue().rate_limit().per.as_secs(), 45);
    // A secret that is not base64 is refused without echoing it.
    let bad = Credentials::new("k", "not base64 ***");
    let e = venue().request(&bad, now, None).unwrap_err().to_string();
    assert!(!e.contains("not base64 ***"), "{e}");
}

#[test]
fn balance_ex_docs_example_exact() {
    let got = parse(BALANCE_EX).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        B {
            asset: "ZUSD".into(),
            total: d("25435.21"),
            available: Some(d("17185.45")),
            locked: Some(d("8249.76")),
            wallet: None,
        }
    );
    assert_eq!(got[0].total.to_string(), "25435.21");
    assert_eq!(got[0].locked.unwrap().to_string(), "8249.76");
    assert_eq!(got[1].asset, "XXBT");
    assert_eq!(got[1].total.to_string(), "1.2435");
    assert_eq!(got[1].locked.unwrap().to_string(), "0.8423");
    assert_eq!(got[1].available.unwrap().to_string(), "0.4012");
    for b in &got {
        assert_eq!(b.available.unwrap() + b.locked.unwrap(), b.total);
    }
}

#[test]
fn balance_endpoint_totals_exact() {
    let got = parse(BALANCE).unwrap();
    let want = [
        ("ZUSD", "2970172.7962"),
        ("ZEUR", "102559.9012"),
        ("ZCAD", "32300.0000"),
        ("KFEE", "0.00"),
        ("XXBT", "3.2223768244"),
        ("XXRP", "0.00000000"),
        ("XETH", "995.0000000000"),
        ("XDAO", "100000.0000000000"),
    ];
    assert_eq!(got.len(), want.len());
    for (b, (asset, total)) in got.iter().zip(want) {
        assert_eq!(b.asset, asset);
        assert_eq!(b.total.to_string(), total);
        assert_eq!(
            (b.available, b.locked),
            (None, None),
            "{asset}: Balance has totals only"
        );
    }
}

/// Edits of the docs example (constructed here): quoted numbers as live replies send them, a
/// credit line, suffixed codes, empty fields.
#[test]
fn live_style_strings_credit_and_suffixes() {
    let body = r#"{"error":[],"result":{"XXBT":{"balance":"1.2435000000","hold_trade":"0.8423000000"},"ZUSD":{"balance":"3.46840030","credit":"1.26844502","credit_used":"0.10002300","hold_trade":"2.14560458"},"XBT.M":{"balance":"0.2500000000","hold_trade":"0.0000000000"},"ETH2.S":{"balance":"5.0000000000","hold_trade":""},"USDT.F":{"balance":"10.00000000","hold_trade":"0.00000000","credit":"0","credit_used":"0"},"AAPLx.T":{"balance":"1.0","hold_trade":"0"}}}"#;
    let got = parse(body).unwrap();
    assert_eq!(got[0].total.to_string(), "1.2435000000");
    assert_eq!(got[0].available.unwrap().to_string(), "0.4012000000");
    assert_eq!(got[0].locked.unwrap().to_string(), "0.8423000000");
    // Unused credit: the venue's "available" (2.49121774) counts money lent, not owned;
    // available is balance − hold_trade, the smaller.
    assert_eq!(got[1].asset, "ZUSD");
    assert_eq!(got[1].total.to_string(), "3.46840030");
    assert_eq!(got[1].locked.unwrap().to_string(), "2.14560458");
    assert_eq!(got[1].available, Some(d("1.32279572")));
    // Earn wallets: all held.
    assert_eq!(
        (got[2].available, got[2].locked),
        (Some(d("0")), Some(d("0.25")))
    );
    assert_eq!(
        (got[2].asset.as_str(), got[2].wallet.as_deref()),
        ("XBT", Some("opt_in_rewards"))
    );
    assert_eq!(got[2].total.to_string(), "0.2500000000");
    assert_eq!(
        (got[3].asset.as_str(), got[3].wallet.as_deref()),
        ("ETH2", Some("staked"))
    );
    assert_eq!(
        (got[3].available, got[3].locked),
        (Some(d("0")), Some(d("5"))),
        "staked: all held, whatever hold_trade says"
    );
    assert_eq!(
        (got[4].asset.as_str(), got[4].wallet.as_deref()),
        ("USDT", Some("auto_earn"))
    );
    assert_eq!(
        (got[4].available, got[4].locked),
        (Some(d("0")), Some(d("10"))),
        "auto earn (.F) is held"
    );
    // An unknown suffix stays in the code: the asset master refuses it, nothing is guessed.
    assert_eq!(
        (got[5].asset.as_str(), got[5].wallet.as_deref()),
        ("AAPLx.T", None)
    );
}

#[test]
fn venue_errors_and_malformed_bodies() {
    for (body, msg) in [
        (
            r#"{"error":["EAPI:Invalid key"],"result":{}}"#,
            "EAPI:Invalid key",
        ),
        (r#"{"error":["EAPI:Invalid nonce"]}"#, "EAPI:Invalid nonce"),
        (
            r#"{"error":["EAPI:Rate limit exceeded"]}"#,
            "EAPI:Rate limit exceeded",
        ),
    ] {
        match parse(body) {
            Err(ParseError::Venue { venue, message }) => {
                assert_eq!(venue, "kraken");
                assert!(message.contains(msg), "{message}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    for body in [
        "",
        "not json",
        "[]",
        r#"{"error":[]}"#,
        r#"{"error":[],"result":[]}"#,
        r#"{"error":[],"result":{"XXBT":{"hold_trade":"1"}}}"#,
        r#"{"error":[],"result":{"XXBT":{"balance":"1.2.3"}}}"#,
        r#"{"error":[],"result":{"XXBT":{"balance":1e999999}}}"#,
        r#"{"error":[],"result":{"XXBT":"abc"}}"#,
        r#"{"error":[],"result":{"XXBT":true}}"#,
        r#"{"error":[],"result":{"XXBT":{"balance":"1""#,
    ] {
        assert!(parse(body).is_err(), "{body} parsed");
    }
}

fn sim_request(creds: &Credentials, now: Ts) -> SimHttpRequest {
    let r = venue().request(creds, now, None).unwrap();
    SimHttpRequest {
        method: r.method.into(),
        path: r.path,
        query: r.query,
        headers: r
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        body: r.body,
    }
}

#[test]
fn simulator_checks_key_signature_and_nonce_as_kraken_does() {
    let creds = KrakenBalances.demo_credentials();
    let sim = KrakenRestSim::default();
    let now = Ts::now();
    let ctx = RestSimCtx {
        now,
        credentials: &creds,
        requests: 1,
    };
    let ok = sim_request(&creds, now);
    let resp = sim.handle(&ok, &ctx);
    assert_eq!(resp.status, 200);
    assert!(!resp.is_refusal());
    let got = parse(&resp.body).unwrap();
    assert!(got
        .iter()
        .any(|b| b.asset == "XXBT" && b.total == d("12.5")));
    assert!(got
        .iter()
        .any(|b| b.asset == "DOT" && b.wallet.as_deref() == Some("staked")));

    let refused = |req: &SimHttpRequest, msg: &str| {
        let r = sim.handle(req, &ctx);
        assert_eq!(r.status, 200, "Kraken refuses with HTTP 200");
        assert_eq!(
            r.body,
            format!(r#"{{"error":["{msg}"],"result":{{}}}}"#),
            "the venue's own error body"
        );
        assert!(r.is_refusal());
    };
    // The same request again: its nonce is no longer above the last one.
    refused(&ok, "EAPI:Invalid nonce");
    // A wrong key.
    let mut bad_key = creds.clone();
    bad_key.api_key = Some(connectors::auth::Secret::new("another-key"));
    refused(&sim_request(&bad_key, now), "EAPI:Invalid key");
    // A wrong secret (valid base64).
    let mut bad_secret = creds.clone();
    bad_secret.api_secret = Some(connectors::auth::Secret::new(B64.encode([7u8; 64])));
    refused(&sim_request(&bad_secret, now), "EAPI:Invalid signature");
    // A tampered body (nonce changed after signing).
    let mut tampered = sim_request(&creds, now);
    tampered.body = format!("nonce={}", i64::MAX);
    refused(&tampered, "EAPI:Invalid signature");
    // A fresh, correctly signed request is still accepted.
    assert!(!sim.handle(&sim_request(&creds, now), &ctx).is_refusal());
}
