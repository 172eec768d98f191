//! Bybit balances (kind `bybit`): the signer (Bybit's docs show a signature but not the secret
//! behind it, so the expected value is computed here independently: with the hmac crate
//! directly, and in Python as `hmac.new(secret, "1658384314791" + key + "5000" +
//! "accountType=UNIFIED", sha256).hexdigest()`), the parser on the docs' response example, and
//! the simulator's refusals (Bybit's own retCodes inside HTTP 200 bodies).

use connectors::auth::Credentials;
use connectors::error::ParseError;
use connectors::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest};
use connectors::transport::rest::{ParsedBalance, PollingVenue, RestRequest};
use connectors::venues::bybit::sim::BybitRestSim;
use connectors::venues::bybit::{bybit_sign, BybitBalances};
use rust_decimal_macros::dec;
use schemas::Ts;

const FIXTURE: &str =
    include_str!("../../fixtures/bybit/rest_wallet_balance_GET_v5_account_wallet-balance.json");

/// The timestamp of the docs' signing example.
const DOCS_TS: Ts = Ts::from_millis(1_658_384_314_791);

fn parse(body: &str) -> Result<Vec<ParsedBalance<'static>>, ParseError> {
    let mut out = Vec::new();
    BybitBalances.parse_balances(body, &mut |b| {
        out.push(ParsedBalance {
            venue_asset: b.venue_asset.into_owned().into(),
            sub_account: b.sub_account.map(|s| s.into_owned().into()),
            wallet: b.wallet.map(|s| s.into_owned().into()),
            network: b.network.map(|s| s.into_owned().into()),
            ..b
        })
    })?;
    Ok(out)
}

fn header<'r>(r: &'r RestRequest, name: &str) -> &'r str {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn request_is_signed_as_documented() {
    let creds = BybitBalances.demo_credentials();
    let r = BybitBalances.request(&creds, DOCS_TS, None).unwrap();
    assert_eq!(
        (r.method, r.path.as_str(), r.query.as_str(), r.weight),
        (
            "GET",
            "/v5/account/wallet-balance",
            "accountType=UNIFIED",
            1
        )
    );
    assert_eq!(header(&r, "X-BAPI-API-KEY"), "DEMObybitKEY1x2y3z");
    assert_eq!(header(&r, "X-BAPI-TIMESTAMP"), "1658384314791");
    assert_eq!(header(&r, "X-BAPI-RECV-WINDOW"), "5000");
    // Computed independently in Python (see the file header).
    assert_eq!(
        header(&r, "X-BAPI-SIGN"),
        "6ea1d7e53a949a6fa7d3a67df0661f4bba05aa9596df29a6016addeb21ab57d9"
    );
    // And with the hmac crate directly, for the docs' example prehash shape.
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"another-secret").unwrap();
    mac.update(b"1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C");
    assert_eq!(
        bybit_sign(
            "another-secret",
            1_658_384_314_791,
            "XXXXXXXXXX",
            "5000",
            "category=option&symbol=BTC-29JUL22-25000-C"
        ),
        hex::encode(mac.finalize().into_bytes())
    );
}

#[test]
fn parses_the_docs_example_exactly() {
    let b = parse(FIXTURE).unwrap();
    assert_eq!(b.len(), 1);
    let btc = &b[0];
    assert_eq!(btc.venue_asset, "BTC");
    assert_eq!(btc.total, dec!(0));
    assert_eq!(btc.total.to_string(), "0");
    // A zero balance: zero available, zero locked (both given).
    assert_eq!(btc.available, Some(dec!(0)));
    assert_eq!(btc.locked, Some(dec!(0)));
    assert_eq!(btc.borrowed, Some(dec!(0.0)));
    assert_eq!(btc.borrowed.unwrap().to_string(), "0.0");
    assert_eq!(btc.wallet.as_deref(), Some("UNIFIED"));
    assert_eq!(btc.as_of, Some(Ts::from_millis(1_690_872_862_481)));
}

#[test]
fn decimals_and_empty_fields() {
    // The docs example with values swapped in (constructed).
    let body = FIXTURE
        .replace(
            r#""walletBalance": "0""#,
            r#""walletBalance": "1.00000001234""#,
        )
        .replace(r#""locked": "0""#, r#""locked": "0.5""#)
        .replace(
            r#""availableToWithdraw": "0""#,
            r#""availableToWithdraw": """#,
        )
        .replace(r#""borrowAmount": "0.0""#, r#""borrowAmount": """#);
    let b = parse(&body).unwrap();
    assert_eq!(b[0].total.to_string(), "1.00000001234");
    assert_eq!(b[0].available, Some(dec!(0.50000001234)));
    assert_eq!(b[0].locked, Some(dec!(0.5)));
    assert_eq!(b[0].borrowed, None);
    // Every held part and the withdrawable amount "": nothing says what is held.
    let body = FIXTURE
        .replace(r#""locked": "0""#, r#""locked": """#)
        .replace(r#""totalOrderIM": "0""#, r#""totalOrderIM": """#)
        .replace(r#""totalPositionIM": "0""#, r#""totalPositionIM": """#)
        .replace(
            r#""availableToWithdraw": "0""#,
            r#""availableToWithdraw": """#,
        );
    let b = parse(&body).unwrap();
    assert_eq!((b[0].available, b[0].locked), (None, None));
}

#[test]
fn venue_errors_are_venue_errors_and_never_quote_the_key() {
    // Inline, in the shape of Bybit's real refusals (see fixtures/README.md).
    let e = parse(r#"{"retCode":10004,"retMsg":"error sign! origin_string[1690872862481DEMObybitKEY1x2y3z5000accountType=UNIFIED]","result":{},"retExtInfo":{},"time":1690872862481}"#).unwrap_err();
    let ParseError::Venue { message, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        message.starts_with("retCode 10004: error sign!"),
        "{message}"
    );
    assert!(!message.contains("DEMObybitKEY1x2y3z"), "{message}");
    let e = parse(r#"{"retCode":10003,"retMsg":"API key is invalid.","result":{},"retExtInfo":{},"time":1789299704000}"#).unwrap_err();
    assert!(
        matches!(e, ParseError::Venue { ref message, .. } if message == "retCode 10003: API key is invalid."),
        "{e:?}"
    );
    let e = parse(r#"{"retCode":10002,"retMsg":"timestamp out of recv_window","result":null}"#)
        .unwrap_err();
    assert!(matches!(e, ParseError::Venue { .. }), "{e:?}");
}

#[test]
fn malformed_bodies_are_errors() {
    for bad in [
        "",
        "{",
        "[]",
        "{}",
        r#"{"retCode":0,"retMsg":"OK"}"#,
        r#"{"retCode":0,"result":{"list":[{"coin":[{"coin":"BTC"}]}]}}"#,
        r#"{"retCode":0,"result":{"list":[{"coin":[{"coin":"BTC","walletBalance":""}]}]}}"#,
        r#"{"retCode":0,"result":{"list":[{"coin":[{"coin":"BTC","walletBalance":"1e"}]}]}}"#,
        r#"{"retCode":0,"result":{"list":[{"coin":[{"coin":"BTC","walletBalance":1}]}]}}"#,
        r#"{"retCode":"0","result":{"list":[]}}"#,
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    assert!(
        parse(r#"{"retCode":0,"retMsg":"OK","result":{"list":[]},"time":1}"#)
            .unwrap()
            .is_empty()
    );
}

fn to_sim(r: &RestRequest) -> SimHttpRequest {
    SimHttpRequest {
        method: r.method.to_owned(),
        path: r.path.clone(),
        query: r.query.clone(),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect(),
        body: r.body.clone(),
    }
}

#[test]
fn simulator_checks_key_window_and_signature() {
    let creds = BybitBalances.demo_credentials();
    let now = Ts::from_millis(1_700_000_000_000);
    let ctx = RestSimCtx {
        now,
        credentials: &creds,
        requests: 1,
    };
    let ask = |c: &Credentials, at: Ts| {
        BybitRestSim.handle(&to_sim(&BybitBalances.request(c, at, None).unwrap()), &ctx)
    };

    let ok = ask(&creds, now);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(!ok.is_refusal());
    let b = parse(&ok.body).unwrap();
    assert_eq!(b.len(), 5);
    assert!(b.iter().all(|b| b.locked.unwrap() <= b.total));
    // USDT: 12000 in spot orders + 1500.25 order IM + 8000.5 position IM held.
    let usdt = b.iter().find(|b| b.venue_asset == "USDT").unwrap();
    assert_eq!(
        (usdt.available, usdt.locked),
        (Some(dec!(390999.58618)), Some(dec!(21500.75)))
    );
    // The unknown dust asset is passed through as the venue wrote it.
    let dust = b.iter().find(|b| b.venue_asset == "ZZZDUST").unwrap();
    assert_eq!(dust.total.to_string(), "0.00000001");

    let wrong_secret =
        Credentials::new(creds.key().unwrap(), "DEMObybitSECRETdemo0123456789abcdefh");
    let r = ask(&wrong_secret, now);
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            200,
            r#"{"retCode":10004,"retMsg":"error sign! origin_string[1700000000000DEMObybitKEY1x2y3z5000accountType=UNIFIED]","result":{},"retExtInfo":{},"time":1700000000000}"#
        )
    );
    assert!(r.is_refusal());

    let wrong_key = Credentials::new("DEMObybitKEY1x2y3y", creds.secret().unwrap());
    let r = ask(&wrong_key, now);
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            200,
            r#"{"retCode":10003,"retMsg":"API key is invalid.","result":{},"retExtInfo":{},"time":1700000000000}"#
        )
    );
    assert!(r.is_refusal());

    // server_time - recv_window <= timestamp < server_time + 1000
    for stale in [now.plus_millis(-5001), now.plus_millis(1000)] {
        let r = ask(&creds, stale);
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with(r#"{"retCode":10002,"retMsg":"invalid request, please check your server timestamp or recv_window param. req_timestamp["#), "{}", r.body);
        assert!(r.is_refusal());
    }
    for edge in [now.plus_millis(-5000), now.plus_millis(999)] {
        assert_eq!(parse(&ask(&creds, edge).body).unwrap().len(), 5);
    }
    // A signature over another query is refused.
    let mut r = BybitBalances.request(&creds, now, None).unwrap();
    r.query = "accountType=UNIFIED&coin=BTC".into();
    let resp = BybitRestSim.handle(&to_sim(&r), &ctx);
    assert!(
        resp.body.starts_with(r#"{"retCode":10004,"#),
        "{}",
        resp.body
    );
}
