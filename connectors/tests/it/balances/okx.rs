//! OKX balances: the signer (OKX publishes no test vector with its secret, so the expected
//! signature is computed here independently, with the hmac and base64 crates directly and in
//! Python: `base64(hmac.new(secret, "2020-12-08T09:08:57.715ZGET/api/v5/account/balance",
//! sha256))`), the parser on a real response, and the simulator's refusals.

use connectors::auth::Credentials;
use connectors::error::ParseError;
use connectors::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest};
use connectors::transport::rest::{ParsedBalance, PollingVenue, RestRequest};
use connectors::venues::okx::sim::OkxRestSim;
use connectors::venues::okx::{okx_timestamp, OkxBalances};
use rust_decimal_macros::dec;
use schemas::Ts;

const FIXTURE: &str = include_str!(
    "../../fixtures/okx/rest_account_balance_GET_api_v5_account_balance_nautilus.json"
);

/// 2020-12-08T09:08:57.715Z, the timestamp of OKX's docs example.
const DOCS_TS: Ts = Ts::from_millis(1_607_418_537_715);

fn parse(body: &str) -> Result<Vec<ParsedBalance<'static>>, ParseError> {
    let mut out = Vec::new();
    OkxBalances.parse_balances(body, &mut |b| {
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
fn timestamp_is_iso_8601_utc_with_milliseconds() {
    assert_eq!(okx_timestamp(DOCS_TS), "2020-12-08T09:08:57.715Z");
    assert_eq!(
        okx_timestamp(Ts::from_millis(1_607_418_537_000)),
        "2020-12-08T09:08:57.000Z"
    );
}

#[test]
fn request_is_signed_as_documented() {
    let creds = OkxBalances.demo_credentials();
    let r = OkxBalances.request(&creds, DOCS_TS, None).unwrap();
    assert_eq!(
        (r.method, r.path.as_str(), r.query.as_str(), r.body.as_str()),
        ("GET", "/api/v5/account/balance", "", "")
    );
    assert_eq!(
        header(&r, "OK-ACCESS-TIMESTAMP"),
        "2020-12-08T09:08:57.715Z"
    );
    assert_eq!(header(&r, "OK-ACCESS-KEY"), creds.key().unwrap());
    assert_eq!(header(&r, "OK-ACCESS-PASSPHRASE"), "demo-passphrase");
    // Computed independently (Python, see the file header).
    assert_eq!(
        header(&r, "OK-ACCESS-SIGN"),
        "cScT0J/F3xjaDnntkJx9hcKsL4xL8IKR26kkNU+gT3U="
    );
    // And with the hmac/base64 crates directly, over a path with a query.
    use base64::Engine;
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(b"DEMO0123456789ABCDEF0123456789AB").unwrap();
    mac.update(b"2020-12-08T09:08:57.715ZGET/api/v5/account/balance?ccy=BTC,ETH");
    assert_eq!(
        connectors::venues::okx::okx_sign(
            "DEMO0123456789ABCDEF0123456789AB",
            "2020-12-08T09:08:57.715Z",
            "GET",
            "/api/v5/account/balance?ccy=BTC,ETH",
            ""
        ),
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    // A passphrase is required: no request without one.
    assert!(OkxBalances
        .request(&Credentials::new("k", "s"), DOCS_TS, None)
        .is_err());
}

#[test]
fn parses_the_real_response_exactly() {
    let b = parse(FIXTURE).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].venue_asset, "USDT");
    assert_eq!(b[0].total, dec!(94.42612990333333));
    assert_eq!(b[0].total.to_string(), "94.42612990333333");
    // availBal (94.42612990333333) + frozenBal (5.468566666666667) != cashBal: frozenBal is
    // isolated-margin equity outside cashBal (= isoEq), so available is availBal, locked 0.
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(94.42612990333333)), Some(dec!(0)))
    );
    assert_eq!((b[0].borrowed, b[0].pending), (None, None));
    assert_eq!(b[0].as_of, Some(Ts::from_millis(1_744_498_994_783)));
}

#[test]
fn consistent_available_and_frozen_are_kept_and_empty_fields_are_none() {
    // Constructed (the real payload's shape, values changed).
    let body = r#"{"code":"0","data":[{"details":[
        {"ccy":"BTC","cashBal":"1.5","availBal":"1.25","frozenBal":"0.25","uTime":"1744498994783"},
        {"ccy":"ETH","cashBal":"2","availBal":"","frozenBal":"","uTime":""}],"uTime":"1744499648556"}],"msg":""}"#;
    let b = parse(body).unwrap();
    assert_eq!(
        (b[0].total, b[0].available, b[0].locked),
        (dec!(1.5), Some(dec!(1.25)), Some(dec!(0.25)))
    );
    assert_eq!(b[0].available.unwrap().to_string(), "1.25");
    assert_eq!(
        (b[1].total, b[1].available, b[1].locked),
        (dec!(2), None, None)
    );
    // Without its own uTime, the account's.
    assert_eq!(b[1].as_of, Some(Ts::from_millis(1_744_499_648_556)));
}

#[test]
fn venue_errors_and_malformed_bodies() {
    // Inline, in the shape of OKX's real refusals (see fixtures/README.md).
    for (body, code) in [
        (r#"{"msg":"Invalid Sign","code":"50113"}"#, "50113"),
        (
            r#"{"code":"50111","msg":"Invalid OK-ACCESS-KEY","data":[]}"#,
            "50111",
        ),
    ] {
        let e = parse(body).unwrap_err();
        assert!(
            matches!(e, ParseError::Venue { ref message, .. } if message.contains(code)),
            "{e:?}"
        );
    }
    for bad in [
        "",
        "{",
        "[]",
        "{}",
        r#"{"code":"0","data":[{"details":[{"ccy":"BTC","cashBal":""}]}]}"#,
        r#"{"code":"0","data":[{"details":[{"ccy":"BTC"}]}]}"#,
        r#"{"code":"0","data":[{"details":[{"ccy":"BTC","cashBal":"x"}]}]}"#,
        r#"{"code":"0","data":[{"details":[{"ccy":"BTC","cashBal":1}]}]}"#,
        r#"{"code":"0","data":[{"details":[{"ccy":"BTC","cashBal":"1","uTime":"soon"}]}]}"#,
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    assert!(parse(r#"{"code":"0","data":[],"msg":""}"#)
        .unwrap()
        .is_empty());
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
fn simulator_checks_key_passphrase_signature_and_timestamp() {
    let creds = OkxBalances.demo_credentials();
    let now = Ts::from_millis(1_700_000_000_000);
    let ctx = RestSimCtx {
        now,
        credentials: &creds,
        requests: 1,
    };
    let ask = |c: &Credentials, at: Ts| {
        OkxRestSim.handle(&to_sim(&OkxBalances.request(c, at, None).unwrap()), &ctx)
    };

    let ok = ask(&creds, now);
    assert_eq!(ok.status, 200, "{}", ok.body);
    let b = parse(&ok.body).unwrap();
    assert_eq!(b.len(), 4);
    assert!(b
        .iter()
        .all(|b| b.available.unwrap() + b.locked.unwrap() == b.total));

    let pp = creds.passphrase().unwrap();
    let wrong_secret = Credentials::new(creds.key().unwrap(), "DEMO0123456789ABCDEF0123456789AC")
        .with_passphrase(pp);
    let r = ask(&wrong_secret, now);
    assert_eq!(
        (r.status, r.body.as_str()),
        (401, r#"{"msg":"Invalid Sign","code":"50113"}"#)
    );

    let wrong_key = Credentials::new(
        "0d3c5d2e-demo-4f1a-9c7b-5e6f7a8b9c0e",
        creds.secret().unwrap(),
    )
    .with_passphrase(pp);
    let r = ask(&wrong_key, now);
    assert_eq!(
        (r.status, r.body.as_str()),
        (401, r#"{"msg":"Invalid OK-ACCESS-KEY","code":"50111"}"#)
    );

    let wrong_pp =
        Credentials::new(creds.key().unwrap(), creds.secret().unwrap()).with_passphrase("other");
    let r = ask(&wrong_pp, now);
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            401,
            r#"{"msg":"Request header OK-ACCESS-PASSPHRASE incorrect.","code":"50105"}"#
        )
    );

    for stale in [now.plus_millis(-30_001), now.plus_millis(30_001)] {
        let r = ask(&creds, stale);
        assert_eq!(
            (r.status, r.body.as_str()),
            (401, r#"{"msg":"Timestamp request expired","code":"50102"}"#)
        );
    }
    assert_eq!(ask(&creds, now.plus_millis(-30_000)).status, 200);

    // A signature over another path (the query left out) is refused.
    let mut r = OkxBalances.request(&creds, now, None).unwrap();
    r.query = "ccy=BTC".into();
    let resp = OkxRestSim.handle(&to_sim(&r), &ctx);
    assert_eq!(resp.status, 401);
    // A timestamp in another format is refused as such.
    let mut r = OkxBalances.request(&creds, now, None).unwrap();
    for h in &mut r.headers {
        if h.0 == "OK-ACCESS-TIMESTAMP" {
            h.1 = now.millis().to_string();
        }
    }
    let resp = OkxRestSim.handle(&to_sim(&r), &ctx);
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (
            401,
            r#"{"msg":"Invalid OK-ACCESS-TIMESTAMP","code":"50112"}"#
        )
    );
}

/// Edits of the real response (constructed): a dormant account, float noise, frozen beyond
/// cash, an unknown dust currency.
#[test]
fn dormant_noise_frozen_and_dust() {
    // uTime days old: still parsed, as_of keeps it (freshness is received_at, not this).
    let body = FIXTURE.replace("1744498994783", "1744000000000");
    let b = parse(&body).unwrap();
    assert_eq!(b[0].as_of, Some(Ts::from_millis(1_744_000_000_000)));
    // Parts with binary-float noise: available is OKX's figure, locked the exact rest.
    let body = FIXTURE
        .replace(
            r#""availBal": "94.42612990333333""#,
            r#""availBal": "0.6612664522199999""#,
        )
        .replace(r#""cashBal": "94.42612990333333""#, r#""cashBal": "1""#);
    let b = parse(&body).unwrap();
    assert_eq!(
        (b[0].total, b[0].available, b[0].locked),
        (
            dec!(1),
            Some(dec!(0.6612664522199999)),
            Some(dec!(0.3387335477800001))
        )
    );
    // No availBal and frozen beyond cash: nothing is free.
    let body = FIXTURE
        .replace(r#""availBal": "94.42612990333333""#, r#""availBal": """#)
        .replace(
            r#""frozenBal": "5.468566666666667""#,
            r#""frozenBal": "100""#,
        );
    let b = parse(&body).unwrap();
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(0)), Some(dec!(94.42612990333333)))
    );
    // An unknown dust currency is passed through unmapped, exactly.
    let body = FIXTURE.replace(r#""ccy": "USDT""#, r#""ccy": "ZZZDUST""#);
    let b = parse(&body).unwrap();
    assert_eq!(b[0].venue_asset, "ZZZDUST");
}
