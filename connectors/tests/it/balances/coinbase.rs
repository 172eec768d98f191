//! Coinbase Advanced Trade balances (`GET /api/v3/brokerage/accounts`): the ES256 JWT (no
//! published test vector exists for an ECDSA signature, which is randomized: the test verifies
//! the token with the demo PUBLIC key file through jsonwebtoken's own `decode`, a path separate
//! from the simulator's), the parser against the real payload in `tests/fixtures/coinbase/`, and
//! the simulator's refusals. Bodies that are not fixture files are labelled where they appear.

use connectors::auth::Credentials;
use connectors::registry;
use connectors::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::coinbase::sim::CoinbaseRestSim;
use connectors::venues::coinbase::{self as cb, CdpClaims, CoinbaseBalances};
use connectors::ParseError;
use rust_decimal::Decimal;
use schemas::Ts;
use std::str::FromStr;

const ACCOUNTS: &str =
    include_str!("../../fixtures/coinbase/advtrade_rest_list_accounts_nautilus.json");

fn venue() -> &'static dyn PollingVenue {
    registry::polling("coinbase").expect("coinbase is a polling venue")
}

type Row = (
    String,
    Decimal,
    Option<Decimal>,
    Option<Decimal>,
    Option<String>,
);

fn parse(body: &str) -> Result<(Vec<Row>, Option<String>), ParseError> {
    let mut out = Vec::new();
    let next = venue().parse_balances(body, &mut |b: ParsedBalance<'_>| {
        out.push((
            b.venue_asset.into_owned(),
            b.total,
            b.available,
            b.locked,
            b.sub_account.map(|s| s.into_owned()),
        ))
    })?;
    Ok((out, next))
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn jwt_is_es256_with_cdp_claims_and_verifies_with_the_demo_public_key() {
    let creds = venue().demo_credentials();
    let now = Ts::from_millis(1_900_000_000_123);
    let req = venue().request(&creds, now, None).unwrap();
    assert_eq!(
        (req.method, req.path.as_str()),
        ("GET", "/api/v3/brokerage/accounts")
    );
    assert_eq!(req.query, "limit=250");
    let auth = &req
        .headers
        .iter()
        .find(|(k, _)| k == "Authorization")
        .unwrap()
        .1;
    let token = auth.strip_prefix("Bearer ").unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some(cb::DEMO_KEY_NAME));
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.validate_exp = false; // `now` is in the future of the test's clock
    v.validate_nbf = false;
    let key = jsonwebtoken::DecodingKey::from_ec_pem(cb::DEMO_PUBLIC_KEY_PEM.as_bytes()).unwrap();
    let claims = jsonwebtoken::decode::<CdpClaims>(token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(
        claims,
        CdpClaims {
            sub: cb::DEMO_KEY_NAME.into(),
            iss: "cdp".into(),
            nbf: 1_900_000_000,
            exp: 1_900_000_120,
            uri: "GET api.coinbase.com/api/v3/brokerage/accounts".into(),
        }
    );
    // The header carries a random hex nonce, different per request.
    let raw_header = |t: &str| -> serde_json::Value {
        use base64::Engine;
        let h = t.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .unwrap(),
        )
        .unwrap()
    };
    let again = venue().request(&creds, now, Some("abc=/+")).unwrap();
    assert_eq!(again.query, "limit=250&cursor=abc%3D%2F%2B");
    let t2 = again.headers[0].1.strip_prefix("Bearer ").unwrap();
    assert!(raw_header(token)["nonce"].as_str().unwrap().len() >= 16);
    assert_ne!(raw_header(token)["nonce"], raw_header(t2)["nonce"]);
    // The same key as PKCS#8 signs too; a bad PEM is refused without quoting it.
    assert!(cb::EcKey::from_pem(cb::DEMO_PRIVATE_KEY_PEM)
        .unwrap()
        .public_point
        .is_some());
    let bad = Credentials::new(
        cb::DEMO_KEY_NAME,
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
    );
    let e = venue().request(&bad, now, None).unwrap_err().to_string();
    assert!(!e.contains("AAAA"), "{e}");
    assert_eq!(venue().rate_limit().capacity, 30);
    assert_eq!(venue().rate_limit().per.as_secs(), 1);
}

#[test]
fn accounts_fixture_exact() {
    let (got, next) = parse(ACCOUNTS).unwrap();
    assert_eq!(next, None, "has_next false, cursor \"\"");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "BTC");
    assert_eq!(got[0].2.unwrap().to_string(), "1.23456789");
    assert_eq!(got[0].3.unwrap().to_string(), "0.00500000");
    assert_eq!(got[0].1, d("1.23956789"));
    assert_eq!(got[0].1.to_string(), "1.23956789");
    assert_eq!(got[0].4.as_deref(), Some("portfolio-001"));
    assert_eq!(got[1].0, "USD");
    assert_eq!(got[1].2.unwrap().to_string(), "10000.50");
    assert_eq!(got[1].3.unwrap().to_string(), "450.00");
    assert_eq!(got[1].1.to_string(), "10450.50");
}

/// Edits of the fixture (constructed here): a next page, errors, malformed bodies.
#[test]
fn pagination_errors_and_malformed() {
    let paged = ACCOUNTS
        .replace("\"has_next\": false", "\"has_next\": true")
        .replace("\"cursor\": \"\"", "\"cursor\": \"789002\"");
    assert_eq!(parse(&paged).unwrap().1.as_deref(), Some("789002"));
    let no_cursor = ACCOUNTS.replace("\"has_next\": false", "\"has_next\": true");
    assert!(parse(&no_cursor).is_err());
    match parse(
        r#"{"error":"PERMISSION_DENIED","error_details":"Missing required scopes","message":"Missing required scopes"}"#,
    ) {
        Err(ParseError::Venue { venue, message }) => {
            assert_eq!(venue, "coinbase");
            assert!(message.contains("PERMISSION_DENIED"));
        }
        other => panic!("{other:?}"),
    }
    for body in [
        "",
        "Unauthorized\n",
        "{}",
        r#"{"accounts":[{"currency":"BTC","available_balance":{"value":""},"hold":{"value":"0"}}]}"#,
        r#"{"accounts":[{"currency":"BTC","available_balance":{"value":null},"hold":{"value":"0"}}]}"#,
        r#"{"accounts":[{"currency":"BTC","available_balance":{"value":"1"}}]}"#,
        r#"{"accounts":[{"currency":"BTC","available_balance":{"value":1.5},"hold":{"value":"0"}}]}"#,
        r#"{"accounts":[{"currency":"BTC","available_balance":{"value":"x"},"hold":{"value":"0"}}]}"#,
        r#"{"accounts":[{"currency":"BTC""#,
    ] {
        assert!(parse(body).is_err(), "{body} parsed");
    }
}

fn sim_req(creds: &Credentials, now: Ts, cursor: Option<&str>) -> SimHttpRequest {
    let r = venue().request(creds, now, cursor).unwrap();
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
fn simulator_verifies_the_jwt_as_coinbase_does() {
    let creds = CoinbaseBalances.demo_credentials();
    let now = Ts::now();
    let ctx = RestSimCtx {
        now,
        credentials: &creds,
        requests: 1,
    };
    let ok = CoinbaseRestSim.handle(&sim_req(&creds, now, None), &ctx);
    assert_eq!(ok.status, 200, "{}", ok.body);
    let (rows, next) = parse(&ok.body).unwrap();
    assert_eq!(rows.len(), 5); // four currencies and ZZZDUST dust
    assert!(next.is_none());
    for (_, t, a, l, _) in &rows {
        assert_eq!(a.unwrap() + l.unwrap(), *t);
    }
    let unauthorized = |req: &SimHttpRequest, what: &str| {
        let r = CoinbaseRestSim.handle(req, &ctx);
        assert_eq!(
            (r.status, r.body.as_str()),
            (401, "Unauthorized\n"),
            "{what}"
        );
    };
    // A JWT signed by another (valid) key.
    let mut other = creds.clone();
    other.api_secret = CoinbaseBalances.wrong_demo_secret();
    unauthorized(&sim_req(&other, now, None), "wrong private key");
    // A wrong key name (kid/sub).
    let wrong_name = Credentials::new("organizations/x/apiKeys/y", cb::DEMO_PRIVATE_KEY_PEM);
    unauthorized(&sim_req(&wrong_name, now, None), "wrong key name");
    // Expired: signed 3 minutes ago (exp = +120 s).
    unauthorized(
        &sim_req(&creds, Ts::from_millis(now.millis() - 180_000), None),
        "expired",
    );
    // Not yet valid: nbf a minute ahead.
    unauthorized(
        &sim_req(&creds, Ts::from_millis(now.millis() + 60_000), None),
        "nbf",
    );
    // A token for another path (uri claim) or without a token.
    let mut other_path = sim_req(&creds, now, None);
    other_path.path = "/api/v3/brokerage/accounts/x".into();
    assert_eq!(CoinbaseRestSim.handle(&other_path, &ctx).status, 404);
    let mut none = sim_req(&creds, now, None);
    none.headers.clear();
    unauthorized(&none, "no token");
    // A tampered token (claims swapped, signature kept).
    let mut tampered = sim_req(&creds, now, None);
    let auth = tampered.headers.get_mut("authorization").unwrap();
    let later = sim_req(&creds, Ts::from_millis(now.millis() + 1000), None);
    let later_claims = later.headers["authorization"]
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = auth.split('.').collect();
    *auth = format!("{}.{}.{}", parts[0], later_claims, parts[2]);
    unauthorized(&tampered, "tampered claims");
    // Pagination: limit 2 gives a cursor to the next page.
    let mut page = sim_req(&creds, now, None);
    page.query = "limit=2".into();
    let (rows, next) = parse(&CoinbaseRestSim.handle(&page, &ctx).body).unwrap();
    assert_eq!((rows.len(), next.as_deref()), (2, Some("2")));
}
