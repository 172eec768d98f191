//! Fireblocks Network Link v2: the X-FBAPI signer, the accounts-then-balances walk, the parser
//! against the spec's balance examples, and the simulator's refusals with the spec's error body.
//!
//! The spec publishes a message-to-sign example (README "Security": timestamp `1691606624184`,
//! nonce `c3d5f400-0e7e-4f94-a199-44b8cc7b6b81`, `GET /accounts/A1234/balances`) but no signature.
//! The signer test checks our message against that published text, and the signature against
//! one computed here independently (the `hmac`/`sha2` crates directly, our own percent-encoding
//! written out by hand), not through `connectors::auth::sign`.

use base64::Engine as _;
use connectors::auth::Credentials;
use connectors::custodians::fireblocks_network_link::{
    self as fnl, parse::parse_page, sim::NetworkLinkRestSim, FireblocksNetworkLinkBalances, Page,
    DEFAULT_SCHEME,
};
use connectors::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest};
use connectors::transport::rest::{ParsedBalance, PollingVenue, RestRequest};
use connectors::ParseError;
use hmac::{Hmac, Mac};
use rust_decimal_macros::dec;
use schemas::Ts;

const FIX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/fireblocks_network_link/"
);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIX}{name}")).unwrap()
}

type Parsed = (Vec<ParsedBalance<'static>>, Option<String>);

fn parse(body: &str, cursor: Option<&str>) -> Result<Parsed, ParseError> {
    let mut out = Vec::new();
    let next = parse_page(body, cursor, &mut |b| {
        out.push(ParsedBalance {
            venue_asset: b.venue_asset.into_owned().into(),
            sub_account: b.sub_account.map(|s| s.into_owned().into()),
            wallet: b.wallet.map(|s| s.into_owned().into()),
            network: b.network.map(|s| s.into_owned().into()),
            ..b
        })
    })?;
    Ok((out, next))
}

#[test]
fn message_matches_the_readme_and_signature_an_independent_hmac() {
    let msg = fnl::signing_message(
        1691606624184,
        "c3d5f400-0e7e-4f94-a199-44b8cc7b6b81",
        "get",
        "/accounts/A1234/balances?limit=2",
        "",
    );
    // README "Security" (its table writes `&limit=2`; its SDK docs and every client send `?`).
    assert_eq!(
        msg,
        "1691606624184c3d5f400-0e7e-4f94-a199-44b8cc7b6b81GET/accounts/A1234/balances?limit=2"
    );
    // encodeURIComponent of that message, by hand: `/` `?` `=` escaped, `-` kept.
    let pre = "1691606624184c3d5f400-0e7e-4f94-a199-44b8cc7b6b81GET%2Faccounts%2FA1234%2Fbalances%3Flimit%3D2";
    assert_eq!(fnl::encode_uri_component(&msg), pre);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"test-secret").unwrap();
    mac.update(pre.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(fnl::sign(DEFAULT_SCHEME, "test-secret", &msg), expected);

    // The other supported schemes: plain message, SHA-512, hex.
    let plain_512_hex = fnl::SigningScheme {
        pre: fnl::PreEncoding::Plain,
        hash: fnl::HmacHash::Sha512,
        post: fnl::PostEncoding::HexStr,
    };
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(b"test-secret").unwrap();
    mac.update(msg.as_bytes());
    assert_eq!(
        fnl::sign(plain_512_hex, "test-secret", &msg),
        hex::encode(mac.finalize().into_bytes())
    );
    // encodeURIComponent keeps exactly these marks.
    assert_eq!(
        fnl::encode_uri_component("a-_.!~*'()b c+"),
        "a-_.!~*'()b%20c%2B"
    );
}

#[test]
fn request_carries_the_four_headers_and_walks_the_cursor() {
    let v = FireblocksNetworkLinkBalances;
    let now = Ts::from_millis(1_700_000_000_123);
    let r = v.request(&v.demo_credentials(), now, None).unwrap();
    assert_eq!(
        (r.method, r.path.as_str(), r.query.as_str()),
        ("GET", "/accounts", "limit=200")
    );
    let h = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(h("X-FBAPI-KEY"), fnl::DEMO_API_KEY);
    assert_eq!(h("X-FBAPI-TIMESTAMP"), "1700000000123");
    let nonce = h("X-FBAPI-NONCE");
    assert_eq!(nonce.len(), 36);
    assert_eq!(&nonce[14..15], "4", "a UUID v4");
    let msg = format!("1700000000123{nonce}GET/accounts?limit=200");
    assert_eq!(
        h("X-FBAPI-SIGNATURE"),
        fnl::sign(DEFAULT_SCHEME, fnl::DEMO_API_SECRET, &msg)
    );
    let r2 = v.request(&v.demo_credentials(), now, None).unwrap();
    assert_ne!(r.headers, r2.headers, "a fresh nonce per request");

    let r = v
        .request(
            &v.demo_credentials(),
            now,
            Some("b:acc-9:acc-1,acc-2:bal x/1"),
        )
        .unwrap();
    assert_eq!(r.path, "/accounts/acc-1/balances");
    assert_eq!(r.query, "limit=200&startingAfter=bal%20x%2F1");
    let r = v
        .request(&v.demo_credentials(), now, Some("a:acc-9"))
        .unwrap();
    assert_eq!(
        (r.path.as_str(), r.query.as_str()),
        ("/accounts", "limit=200&startingAfter=acc-9")
    );
    assert!(v.request(&v.demo_credentials(), now, Some("zzz")).is_err());
    // No secret in what can be logged.
    let dbg = format!("{:?}", v.demo_credentials());
    assert!(!dbg.contains(fnl::DEMO_API_SECRET));
}

#[test]
fn cursor_round_trips() {
    for c in [
        "a:",
        "a:acc-1",
        "b::x:",
        "b:acc-9:acc-1,acc-2:bal:with:colons",
    ] {
        assert_eq!(Page::decode(Some(c)).unwrap().encode(), c);
    }
    assert!(Page::decode(Some("b::bad id:")).is_none());
    assert!(Page::decode(Some("b::a,b")).is_none());
}

#[test]
fn parses_the_spec_examples_exactly() {
    let (b, next) = parse(
        &fixture("openapi_example_balances_nationalCurrency.json"),
        Some("b::A1234:"),
    )
    .unwrap();
    assert_eq!(next, None);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].venue_asset, "USD");
    assert_eq!(b[0].total, dec!(1743.43));
    assert_eq!(b[0].total.to_string(), "1743.43");
    assert_eq!(b[0].available, Some(dec!(1743.43)));
    assert_eq!(b[0].locked.map(|l| l.to_string()), Some("0".into()));
    assert_eq!(b[0].sub_account.as_deref(), Some("A1234"));

    let (b, _) = parse(
        &fixture("openapi_example_balances_blockchainNativeCurrency.json"),
        Some("b::A1234:"),
    )
    .unwrap();
    assert_eq!(b[0].venue_asset, "BTC");
    assert_eq!(b[0].total.to_string(), "7.00008214");
    assert_eq!(b[0].available, Some(dec!(7.00008214)));

    // No lockedAmount: nothing held, locked 0, total = available (the provider's own split).
    let (b, _) = parse(
        &fixture("openapi_example_balances_bucketCurrency.json"),
        Some("b::A1234,B5:"),
    )
    .unwrap();
    assert_eq!(b[0].venue_asset, "f0844d82-7097-4521-95bc-d843724a893e");
    assert_eq!(b[0].total.to_string(), "95.03");
    assert_eq!(b[0].available.map(|a| a.to_string()), Some("95.03".into()));
    assert_eq!(b[0].locked.map(|l| l.to_string()), Some("0".into()));
    assert_eq!(b[0].as_of, None);
}

#[test]
fn walk_moves_from_accounts_to_balances_to_the_next_account() {
    // Constructed (the spec has no GET /accounts example), from its Account schema.
    let accounts = r#"{"accounts":[{"id":"main","title":"Main","status":"active"},{"id":"sub-1","title":"T","status":"active","parentId":"main"}]}"#;
    let (b, next) = parse(accounts, None).unwrap();
    assert!(b.is_empty());
    assert_eq!(next.as_deref(), Some("b::main,sub-1:"));
    // Constructed: locked plus available, a credit balance, an empty lockedAmount.
    let page = r#"{"balances":[{"id":"x1","asset":{"cryptocurrencySymbol":"ETH"},"availableAmount":"120.123456789012345678","lockedAmount":"2"},
        {"id":"x2","asset":{"nationalCurrencyCode":"EUR"},"availableAmount":"10","lockedAmount":"","creditAmount":"500"}]}"#;
    let (b, next) = parse(page, next.as_deref()).unwrap();
    assert_eq!(next.as_deref(), Some("b::sub-1:"));
    assert_eq!(b[0].total.to_string(), "122.123456789012345678");
    assert_eq!(
        b[0].available.unwrap().to_string(),
        "120.123456789012345678"
    );
    assert_eq!(b[0].locked, Some(dec!(2)));
    // "" is no lockedAmount: 0 held.
    assert_eq!(b[1].locked, Some(dec!(0)));
    assert_eq!(
        b[1].total,
        dec!(10),
        "creditAmount is not the owner's asset"
    );
    assert_eq!(b[1].borrowed, None);
    let (_, next) = parse(r#"{"balances":[]}"#, next.as_deref()).unwrap();
    assert_eq!(next, None);
    // An empty account list ends the walk; a full accounts page continues after its last id.
    assert_eq!(parse(r#"{"accounts":[]}"#, None).unwrap().1, None);
    let ids: Vec<String> = (0..200).map(|i| format!(r#"{{"id":"a{i}"}}"#)).collect();
    let full = format!(r#"{{"accounts":[{}]}}"#, ids.join(","));
    let next = parse(&full, None).unwrap().1.unwrap();
    assert!(next.starts_with("b:a199:a0,a1,"));
    let (_, n) = parse(r#"{"balances":[]}"#, Some("b:a199:a0:")).unwrap();
    assert_eq!(n.as_deref(), Some("a:a199"));
}

#[test]
fn venue_errors_and_malformed_bodies() {
    let e = parse(
        r#"{"message":"Invalid signature","errorType":"unauthorized"}"#,
        None,
    )
    .unwrap_err();
    assert!(matches!(e, ParseError::Venue { .. }), "{e}");
    let e = parse(
        r#"{"message":"Account not found","errorType":"not-found"}"#,
        Some("b::x:"),
    )
    .unwrap_err();
    assert!(matches!(e, ParseError::Venue { .. }));
    for (body, cursor) in [
        ("", None),
        ("not json", None),
        ("[]", None),
        (r#"{"accounts":[{"id":"bad id"}]}"#, None),
        (r#"{"accounts":null}"#, None),
        (
            r#"{"balances":[{"id":"1","asset":{},"availableAmount":"1"}]}"#,
            Some("b::x:"),
        ),
        (
            r#"{"balances":[{"id":"1","asset":{"nationalCurrencyCode":"USD"}}]}"#,
            Some("b::x:"),
        ),
        (
            r#"{"balances":[{"id":"1","asset":{"nationalCurrencyCode":"USD"},"availableAmount":1.5}]}"#,
            Some("b::x:"),
        ),
        (
            r#"{"balances":[{"id":"1","asset":{"nationalCurrencyCode":"USD"},"availableAmount":"x"}]}"#,
            Some("b::x:"),
        ),
        (r#"{"balances":[]}"#, Some("garbage")),
    ] {
        assert!(parse(body, cursor).is_err(), "{body}");
    }
}

fn sim_req(r: &RestRequest) -> SimHttpRequest {
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

fn ask(sim: &NetworkLinkRestSim, req: &SimHttpRequest, now: Ts) -> (u16, serde_json::Value) {
    let creds = FireblocksNetworkLinkBalances.demo_credentials();
    let r = sim.handle(
        req,
        &RestSimCtx {
            now,
            credentials: &creds,
            requests: 1,
        },
    );
    (r.status, serde_json::from_str(&r.body).unwrap())
}

#[test]
fn sim_serves_the_whole_walk_to_a_signed_client() {
    let v = FireblocksNetworkLinkBalances;
    let sim = NetworkLinkRestSim::demo();
    let now = Ts::now();
    let mut cursor: Option<String> = None;
    let mut all = Vec::new();
    for _ in 0..20 {
        let r = v
            .request(&v.demo_credentials(), now, cursor.as_deref())
            .unwrap();
        let (status, body) = ask(&sim, &sim_req(&r), now);
        assert_eq!(status, 200, "{body}");
        let (b, next) = parse(&body.to_string(), cursor.as_deref()).unwrap();
        all.extend(b);
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let rows: usize = connectors::custodians::fireblocks_network_link::sim::SIM_ACCOUNTS
        .iter()
        .map(|a| a.3.len())
        .sum();
    assert_eq!(all.len(), rows);
    for b in &all {
        assert_eq!(b.total, b.available.unwrap() + b.locked.unwrap());
    }
    // What the demo shows: the token by assetId (unchanged), dust, a zero row.
    assert!(all
        .iter()
        .any(|b| b.venue_asset == "f0844d82-7097-4521-95bc-d843724a893e" && b.total == dec!(1500)));
    assert!(all
        .iter()
        .any(|b| b.venue_asset == "BTC" && b.total.to_string() == "0.00000546"));
    assert!(all
        .iter()
        .any(|b| b.venue_asset == "ETH" && b.total.is_zero()));
    let eur = all.iter().find(|b| b.venue_asset == "EUR").unwrap();
    assert_eq!(eur.sub_account.as_deref(), Some("sub-fiat"));
    assert_eq!(eur.total.to_string(), "251000.5");
}

#[test]
fn sim_refuses_with_the_spec_error_body() {
    let v = FireblocksNetworkLinkBalances;
    let sim = NetworkLinkRestSim::demo();
    let now = Ts::now();
    let sign = |creds: &Credentials, at: Ts| sim_req(&v.request(creds, at, None).unwrap());

    // Wrong secret: bad signature.
    let (s, b) = ask(
        &sim,
        &sign(&Credentials::new(fnl::DEMO_API_KEY, "other"), now),
        now,
    );
    assert_eq!((s, b["errorType"].as_str()), (401, Some("unauthorized")));
    assert_eq!(b["message"], "Invalid signature");
    // Wrong key.
    let (s, b) = ask(
        &sim,
        &sign(&Credentials::new("other-key", fnl::DEMO_API_SECRET), now),
        now,
    );
    assert_eq!((s, b["errorType"].as_str()), (401, Some("unauthorized")));
    assert_eq!(b["propertyName"], "X-FBAPI-KEY");
    // Stale and future timestamps, beyond the 10 s request TTL.
    for skew in [-11_000, 11_000] {
        let at = Ts::from_millis(now.millis() + skew);
        let (s, b) = ask(&sim, &sign(&v.demo_credentials(), at), now);
        assert_eq!(
            (s, b["errorType"].as_str()),
            (401, Some("unauthorized")),
            "{skew}"
        );
    }
    // A reused nonce.
    let req = sign(&v.demo_credentials(), now);
    assert_eq!(ask(&sim, &req, now).0, 200);
    let (s, b) = ask(&sim, &req, now);
    assert_eq!((s, b["errorType"].as_str()), (401, Some("unauthorized")));
    // A tampered query is a bad signature.
    let mut req = sign(&v.demo_credentials(), now);
    req.query = "limit=1".into();
    assert_eq!(ask(&sim, &req, now).1["message"], "Invalid signature");
    // A missing header.
    let mut req = sign(&v.demo_credentials(), now);
    req.headers.remove("x-fbapi-signature");
    let (s, b) = ask(&sim, &req, now);
    assert_eq!(
        (s, b["errorType"].as_str()),
        (400, Some("schema-property-error"))
    );
    assert_eq!(b["propertyName"], "X-FBAPI-SIGNATURE");
    assert_eq!(b["requestPart"], "headers");
    // Unknown account.
    let r = v
        .request(&v.demo_credentials(), now, Some("b::nope:"))
        .unwrap();
    let (s, b) = ask(&sim, &sim_req(&r), now);
    assert_eq!((s, b["errorType"].as_str()), (404, Some("not-found")));
    // Every refusal parses as a venue error.
    assert!(matches!(
        parse(&b.to_string(), None),
        Err(ParseError::Venue { .. })
    ));
}

/// Fireblocks' own API-validator mock-server data (`fixtures/README.md`): one account of
/// `v2/api-validator/capability-presets/all-capabilities/accounts.json`, verbatim, whose
/// `balances` items are put in a `GET /accounts/{id}/balances` body here (the envelope is
/// constructed; every item is as published). 372 items: ISO codes, native coins (ETH on four
/// chains), provider UUIDs, leading-zero amounts (`"00465225099"`, `"05"`), 11-decimal amounts,
/// two credit balances.
#[test]
fn the_providers_validator_account_exactly() {
    const ACC: &str = "173e7d94-4de9-4860-9774-4ef565b2eeef";
    let account: serde_json::Value = serde_json::from_str(&fixture(
        "api_validator_preset_all_capabilities_account_173e7d94.json",
    ))
    .unwrap();
    assert_eq!(account["id"], ACC);
    let items = account["balances"].as_array().unwrap();
    let body = format!(r#"{{"balances":{}}}"#, account["balances"]);
    let (b, next) = parse(&body, Some(&format!("b::{ACC}:"))).unwrap();
    assert_eq!(b.len(), 372, "every item is a row, none dropped");
    // A full page (>= 200): more of this account's balances after the last id.
    let last = items.last().unwrap()["id"].as_str().unwrap();
    assert_eq!(next, Some(format!("b::{ACC}:{last}")));
    for (row, item) in b.iter().zip(items) {
        assert_eq!(row.sub_account.as_deref(), Some(ACC));
        assert_eq!(row.as_of, None);
        assert_eq!(row.pending, None);
        assert_eq!(row.borrowed, None);
        let (a, l) = (row.available.unwrap(), row.locked.unwrap());
        assert!(a >= dec!(0) && l >= dec!(0));
        assert_eq!(a + l, row.total);
        let text = |k: &str| item[k].as_str().unwrap().parse::<rust_decimal::Decimal>();
        assert_eq!(Ok(a), text("availableAmount"));
        assert_eq!(Ok(l), text("lockedAmount"));
    }
    // By hand (total = availableAmount + lockedAmount, the provider's own split kept).
    let row = |i: usize| {
        let r = &b[i];
        (
            r.venue_asset.as_ref(),
            r.total.to_string(),
            r.available.unwrap().to_string(),
            r.locked.unwrap().to_string(),
        )
    };
    assert_eq!(
        row(0),
        (
            "bcd54bf9-db49-4e71-adad-71b5090db7fb",
            "9823952".into(),
            "9823068".into(),
            "884".into()
        )
    );
    // Leading zeros (allowed by `^\d+(\.\d+)?`) read as the number they write.
    assert_eq!(
        row(1),
        (
            "d9790799-5539-4c54-803b-d7d998cf38f6",
            "465793377".into(),
            "465225099".into(),
            "568278".into()
        )
    );
    assert_eq!(
        row(9),
        (
            "4858e4b6-f8ff-4111-8b18-2330262c4983",
            "47971.6394049".into(),
            "47966.6394049".into(),
            "5".into()
        )
    );
    assert_eq!(
        row(34),
        ("BTC", "927.582".into(), "92".into(), "835.582".into())
    );
    // 11 decimals kept exactly.
    assert_eq!(
        row(47),
        (
            "ETH",
            "6432545592.54917158622".into(),
            "6432545340.08974550782".into(),
            "252.4594260784".into()
        )
    );
    assert_eq!(
        row(168),
        (
            "ERN",
            "92085567353.23191567817".into(),
            "92085567352.23191567817".into(),
            "1".into()
        )
    );
    assert_eq!(
        row(332),
        (
            "USD",
            "925995.55512778".into(),
            "865365".into(),
            "60630.55512778".into()
        )
    );
    // Credit balances: `creditAmount` (1000 in both) is in no figure.
    assert_eq!(
        row(49),
        (
            "EVMOS",
            "6634155818".into(),
            "6634155328".into(),
            "490".into()
        )
    );
    assert_eq!(
        row(50),
        ("FLR", "999945".into(), "897".into(), "999048".into())
    );
    // ETH on Arbitrum, Base, Ethereum and Optimism (`asset.blockchain`): four rows, each with
    // its own figures, none merged or dropped.
    assert_eq!(row(22).1, "44645497158.582533");
    assert_eq!(row(28).1, "9299145279.601323725");
    assert_eq!(row(64).1, "117676233.31");
    // ... and each keeps its chain, so no holding key can fold one into another.
    let mut eth: Vec<(&str, Option<&str>)> = b
        .iter()
        .filter(|r| r.venue_asset == "ETH")
        .map(|r| (r.venue_asset.as_ref(), r.network.as_deref()))
        .collect();
    eth.sort();
    assert_eq!(
        eth,
        [
            ("ETH", Some("Arbitrum")),
            ("ETH", Some("Base")),
            ("ETH", Some("Ethereum")),
            ("ETH", Some("Optimism"))
        ]
    );
    // Into observations: the network id of balance.v1.
    let obs = b[22].clone().into_obs(0, schemas::Ts::from_millis(0));
    assert!(obs
        .network
        .as_deref()
        .is_some_and(|n| n == n.to_uppercase()));
    // National currencies and asset ids name no chain.
    assert!(b
        .iter()
        .filter(|r| r.venue_asset == "USD")
        .all(|r| r.network.is_none()));
}
