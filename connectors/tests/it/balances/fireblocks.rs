//! Fireblocks vault balances: the RS256 JWT signer, the parser against the OpenAPI examples and
//! the docs' placeholder response, and the simulator's refusals with Fireblocks' error bodies.
//!
//! Fireblocks publishes no JWT test vector; the signer test checks the token independently of
//! our signer: it splits the token itself, re-derives the payload with serde_json, compares
//! `bodyHash` with the published SHA-256 of the empty string and verifies the RS256 signature
//! with the demo public key (RSASSA-PKCS1-v1_5 is deterministic, so it also pins the token).

use base64::Engine as _;
use connectors::auth::Credentials;
use connectors::custodians::fireblocks::{
    self as fb, parse::parse_vault_accounts, sim::FireblocksRestSim, FireblocksBalances,
};
use connectors::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::ParseError;
use rust_decimal_macros::dec;
use schemas::Ts;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn parse(body: &str) -> Result<(Vec<ParsedBalance<'static>>, Option<String>), ParseError> {
    let mut out = Vec::new();
    let next = parse_vault_accounts(body, &mut |b| {
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
fn jwt_has_the_documented_claims_and_verifies_with_the_demo_public_key() {
    let token = fb::sign_jwt(
        fb::DEMO_API_KEY,
        fb::DEMO_PRIVATE_KEY_PEM,
        "/v1/vault/accounts_paged?limit=200",
        "",
        1_700_000_000,
        "n-1",
    )
    .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let payload: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(payload["uri"], "/v1/vault/accounts_paged?limit=200");
    assert_eq!(payload["nonce"], "n-1");
    assert_eq!(payload["iat"], 1_700_000_000);
    assert!(payload["exp"].as_i64().unwrap() < 1_700_000_000 + 30);
    assert_eq!(payload["sub"], fb::DEMO_API_KEY);
    // SHA-256 of empty input (FIPS 180-2 / NIST CAVS): the docs hash the raw (empty) GET body.
    assert_eq!(
        payload["bodyHash"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(fb::DEMO_PUBLIC_KEY_PEM.as_bytes()).unwrap();
    let msg = format!("{}.{}", parts[0], parts[1]);
    assert!(jsonwebtoken::crypto::verify(
        parts[2],
        msg.as_bytes(),
        &key,
        jsonwebtoken::Algorithm::RS256
    )
    .unwrap());
    // Deterministic: the same input signs to the same token.
    let again = fb::sign_jwt(
        fb::DEMO_API_KEY,
        fb::DEMO_PRIVATE_KEY_PEM,
        "/v1/vault/accounts_paged?limit=200",
        "",
        1_700_000_000,
        "n-1",
    )
    .unwrap();
    assert_eq!(token, again);
}

#[test]
fn request_signs_path_with_query_and_a_fresh_nonce() {
    let creds = FireblocksBalances.demo_credentials();
    let now = Ts::from_millis(1_700_000_000_500);
    let r1 = FireblocksBalances
        .request(&creds, now, Some("c3RhcnRpbmdWYXVsdElkeD0y"))
        .unwrap();
    assert_eq!(r1.method, "GET");
    assert_eq!(r1.path, "/v1/vault/accounts_paged");
    assert_eq!(r1.query, "limit=200&after=c3RhcnRpbmdWYXVsdElkeD0y");
    let header = |r: &connectors::transport::rest::RestRequest, n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header(&r1, "X-API-Key"), fb::DEMO_API_KEY);
    let tok = header(&r1, "Authorization");
    let payload: serde_json::Value = serde_json::from_slice(
        &B64URL
            .decode(
                tok.strip_prefix("Bearer ")
                    .unwrap()
                    .split('.')
                    .nth(1)
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["uri"], r1.path_and_query());
    assert_eq!(payload["iat"], 1_700_000_000);
    let r2 = FireblocksBalances.request(&creds, now, None).unwrap();
    assert_ne!(header(&r1, "Authorization"), header(&r2, "Authorization"));
    // A cursor with base64 padding is percent-encoded in the query (and so in `uri`).
    let r3 = FireblocksBalances
        .request(&creds, now, Some("c3RhcnRpbmdWYXVsdElkeD01NTM1NzUzNg=="))
        .unwrap();
    assert_eq!(
        r3.query,
        "limit=200&after=c3RhcnRpbmdWYXVsdElkeD01NTM1NzUzNg%3D%3D"
    );
    // The secret never appears in the request (only the API key, which Fireblocks requires).
    let shown = format!("{r1:?}{r2:?}{r3:?}");
    assert!(!shown.contains(fb::DEMO_PRIVATE_KEY_PEM.lines().nth(1).unwrap()));
}

#[test]
fn a_bad_pem_is_an_auth_error_that_names_no_secret() {
    let creds = Credentials::new(fb::DEMO_API_KEY, "-----BEGIN PRIVATE KEY-----\nnot-a-key\n");
    let e = FireblocksBalances
        .request(&creds, Ts::from_millis(0), None)
        .unwrap_err();
    assert!(!e.to_string().contains("not-a-key"), "{e}");
}

/// Constructed from the OpenAPI field-level examples (`VaultAsset`: total '10.5', available '9',
/// pending '0.5', frozen '0.5', lockedAmount '0.5'; `VaultAccount` id '0', name
/// 'MyVaultAccount'; paging cursors from the path's examples), which the docs give instead of a
/// full realistic response.
const CONSTRUCTED: &str = r#"{"accounts":[{"id":"0","name":"MyVaultAccount","hiddenOnUI":false,"assets":[{"id":"ETH","total":"10.5","balance":"10.5","available":"9","pending":"0.5","frozen":"0.5","lockedAmount":"0.5","blockHeight":"19911062","blockHash":"0xcc16c4ab5e018d1f05d3a18fcd122a3ef94276c10a4c89bbab10830f5c1ca742"}]}],"paging":{"before":"c3RhcnRpbmdWYXVsdElkeD04NTgzNzA2Mw==","after":"c3RhcnRpbmdWYXVsdElkeD01NTM1NzUzNg=="}}"#;

#[test]
fn parses_the_openapi_examples_exactly() {
    let (b, next) = parse(CONSTRUCTED).unwrap();
    assert_eq!(
        next.as_deref(),
        Some("c3RhcnRpbmdWYXVsdElkeD01NTM1NzUzNg==")
    );
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].venue_asset, "ETH");
    assert_eq!(b[0].sub_account.as_deref(), Some("0"));
    assert_eq!(b[0].wallet, None);
    // Fireblocks' total 10.5 includes the 0.5 incoming deposit still confirming (`pending`):
    // it is `pending`, outside the record's total. lockedAmount 0.5 (outgoing, unpublished)
    // and frozen 0.5 are held: locked 1. available is Fireblocks' own 9.
    assert_eq!(b[0].total.to_string(), "10.0");
    assert_eq!(b[0].available.unwrap().to_string(), "9");
    assert_eq!(b[0].locked.unwrap().to_string(), "1.0");
    assert_eq!(b[0].pending.unwrap().to_string(), "0.5");
    assert_eq!(b[0].available.unwrap() + b[0].locked.unwrap(), b[0].total);
    assert_eq!(b[0].as_of, None);
}

#[test]
fn the_openapi_excerpt_fixture_holds_those_examples() {
    let yaml =
        include_str!("../../fixtures/fireblocks/openapi_excerpt_VaultAsset_VaultAccount.yaml");
    for ex in ["example: '10.5'", "example: '9'", "example: '0.5'"] {
        assert!(yaml.contains(ex), "{ex}");
    }
}

#[test]
fn the_docs_placeholder_response_is_an_error_not_a_panic() {
    let body = include_str!(
        "../../fixtures/fireblocks/rest_GET_v1_vault_accounts_paged_docs_placeholder.json"
    );
    // `"<string>"` is not a decimal: refused, never read as zero.
    assert!(parse(body).is_err());
}

#[test]
fn empty_and_null_fields_are_none_and_last_page_has_no_cursor() {
    let body = r#"{"accounts":[{"id":"7","name":"x","assets":[{"id":"BTC","total":"1.00000001","available":"","pending":null,"frozen":"0","lockedAmount":"0"}]}],"paging":{}}"#;
    let (b, next) = parse(body).unwrap();
    assert_eq!(next, None);
    assert_eq!(b[0].total.to_string(), "1.00000001");
    // No `available` and no `pending`: nothing says what is free, so both stay None (the
    // normalizer then counts it all as locked), never available = total.
    assert_eq!(b[0].available, None);
    assert_eq!(b[0].locked, None);
    assert_eq!(b[0].pending, None);
    // Deprecated `balance` stands in for a missing `total`.
    let (b, _) =
        parse(r#"{"accounts":[{"id":"1","assets":[{"id":"SOL","balance":"2.5"}]}]}"#).unwrap();
    assert_eq!(b[0].total, dec!(2.5));
}

#[test]
fn venue_errors_and_malformed_bodies() {
    let e = parse(r#"{"message":"Unauthorized: Token was not accepted.","code":-7}"#).unwrap_err();
    assert!(
        matches!(e, ParseError::Venue { ref message, .. } if message.contains("-7")),
        "{e}"
    );
    for bad in [
        "",
        "[]",
        "{",
        r#"{"accounts":[{"id":"0","assets":[{"id":"BTC"}]}]}"#,
        r#"{"accounts":[{"id":"0","assets":[{"id":"BTC","total":1.5}]}]}"#,
        r#"{"accounts":[{"id":"0","assets":[{"id":"BTC","total":"abc"}]}]}"#,
        r#"{"paging":{}}"#,
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

// ---- simulator ----

fn sim_req(r: &connectors::transport::rest::RestRequest) -> SimHttpRequest {
    SimHttpRequest {
        method: r.method.into(),
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

fn ask(sim: &FireblocksRestSim, req: &SimHttpRequest, now: Ts) -> (u16, serde_json::Value) {
    let creds = FireblocksBalances.demo_credentials();
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

fn signed(now: Ts, cursor: Option<&str>) -> SimHttpRequest {
    sim_req(
        &FireblocksBalances
            .request(&FireblocksBalances.demo_credentials(), now, cursor)
            .unwrap(),
    )
}

#[test]
fn sim_serves_every_page_to_a_signed_client() {
    let sim = FireblocksRestSim::demo();
    let now = Ts::now();
    let mut cursor: Option<String> = None;
    let mut all = Vec::new();
    for _ in 0..10 {
        let (status, body) = ask(&sim, &signed(now, cursor.as_deref()), now);
        assert_eq!(status, 200, "{body}");
        let (b, next) = parse(&body.to_string()).unwrap();
        all.extend(b);
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let rows: Vec<_> = fb::sim::SIM_VAULTS
        .iter()
        .flat_map(|(id, _, assets)| assets.iter().map(move |a| (*id, a)))
        .collect();
    assert_eq!(all.len(), rows.len());
    for (b, (vault, (code, total, available, pending, _, _))) in all.iter().zip(&rows) {
        assert_eq!(b.sub_account.as_deref(), Some(*vault));
        assert_eq!(b.venue_asset, *code);
        let (a, l, p) = (b.available.unwrap(), b.locked.unwrap(), b.pending.unwrap());
        assert_eq!(a + l, b.total, "{b:?}");
        assert_eq!(b.total + p, total.parse().unwrap(), "{b:?}");
        assert_eq!(a, available.parse().unwrap(), "{b:?}");
        assert_eq!(p, pending.parse().unwrap(), "{b:?}");
    }
    // What the demo now shows (see the sim's doc): both USDC networks, kept apart.
    let find = |v: &str, c: &str| {
        all.iter()
            .find(|b| b.sub_account.as_deref() == Some(v) && b.venue_asset == c)
            .unwrap()
    };
    assert_eq!(find("1", "USDC").total, dec!(750000.5));
    let poly = find("1", "USDC_POLYGON");
    assert_eq!(
        (poly.total, poly.available, poly.locked),
        (dec!(250000), Some(dec!(240000)), Some(dec!(10000)))
    );
    assert_eq!(find("1", "ZZZ_UNKNOWN_TOKEN").total, dec!(1000));
    assert_eq!(find("3", "BTC").total.to_string(), "0.00000546");
    assert_eq!(find("3", "XRP").total, dec!(0));
    let eth = find("0", "ETH");
    assert_eq!(eth.total.to_string(), "3199.123456789012345678");
    assert_eq!(eth.pending, Some(dec!(1)));
    let cold = find("2", "BTC");
    assert_eq!(
        (cold.available, cold.locked),
        (Some(dec!(999.5)), Some(dec!(0.5)))
    );
}

#[test]
fn sim_refuses_with_fireblocks_error_bodies() {
    let sim = FireblocksRestSim::demo();
    let now = Ts::now();
    let code = |r: (u16, serde_json::Value)| {
        assert_eq!(r.0, 401, "{}", r.1);
        assert!(r.1["message"].is_string());
        r.1["code"].as_i64().unwrap()
    };

    // Wrong API key.
    let mut r = signed(now, None);
    r.headers.insert(
        "x-api-key".into(),
        "00000000-0000-4000-8000-000000000000".into(),
    );
    assert_eq!(code(ask(&sim, &r, now)), -7);

    // A token signed with another RSA key (bad signature).
    let other = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap());
    if let Some(other) = other {
        let bad = FireblocksBalances
            .request(&Credentials::new(fb::DEMO_API_KEY, &other), now, None)
            .unwrap();
        assert_eq!(code(ask(&sim, &sim_req(&bad), now)), -1);
    }
    // A tampered token (payload swapped): the signature no longer matches.
    let mut r = signed(now, None);
    let tok = r.headers["authorization"].clone();
    let mut parts: Vec<String> = tok.split('.').map(str::to_owned).collect();
    let mut p: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(&parts[1]).unwrap()).unwrap();
    p["iat"] = serde_json::json!(p["iat"].as_i64().unwrap() + 1);
    parts[1] = B64URL.encode(p.to_string());
    r.headers.insert("authorization".into(), parts.join("."));
    assert_eq!(code(ask(&sim, &r, now)), -1);

    // Stale: signed 60 s ago, expired now.
    let r = signed(Ts::from_millis(now.millis() - 60_000), None);
    assert_eq!(code(ask(&sim, &r, now)), -10);
    // Issued in the future.
    let r = signed(Ts::from_millis(now.millis() + 60_000), None);
    assert_eq!(code(ask(&sim, &r, now)), -12);
    // exp too far after iat (the legacy SDKs' 55 s).
    let iat = now.millis() / 1000;
    let claims = fb::Claims {
        uri: "/v1/vault/accounts_paged?limit=200".into(),
        nonce: "long-lived".into(),
        iat,
        exp: iat + 55,
        sub: fb::DEMO_API_KEY.into(),
        body_hash: connectors::auth::sign::sha256_hex(b""),
    };
    let long = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(fb::DEMO_PRIVATE_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap();
    let mut r = signed(now, None);
    r.headers
        .insert("authorization".into(), format!("Bearer {long}"));
    assert_eq!(code(ask(&sim, &r, now)), -7);

    // uri not the request's path and query.
    let mut r = signed(now, None);
    r.query = "limit=500".into();
    assert_eq!(code(ask(&sim, &r, now)), -4);
    // bodyHash not the body's.
    let mut r = signed(now, None);
    r.body = "{}".into();
    assert_eq!(code(ask(&sim, &r, now)), -7);
    // A replayed nonce.
    let r = signed(now, None);
    assert_eq!(ask(&sim, &r, now).0, 200);
    assert_eq!(code(ask(&sim, &r, now)), -7);
    // No token at all.
    let mut r = signed(now, None);
    r.headers.remove("authorization");
    assert_eq!(code(ask(&sim, &r, now)), -3);
}

#[test]
fn aliases_target_canonical_assets_only() {
    for (code, canonical) in FireblocksBalances.asset_aliases() {
        assert!(
            ["USDT", "USDC", "BNB", "ATOM", "BTC", "ETH"].contains(canonical),
            "{code}"
        );
    }
}

// ---- held funds, networks, codes (CONSTRUCTED bodies in the OpenAPI `VaultAccountsPagedResponse`
// shape, every field name from the spec; values chosen to exercise one rule each) ----

/// One vault, as a Fireblocks workspace shows it: USDC on Ethereum and on Polygon side by side,
/// a testnet id, an id no registry knows, dust and a zero row.
const ONE_VAULT_MANY_IDS: &str = r#"{"accounts":[{"id":"12","name":"Ops","hiddenOnUI":false,"autoFuel":false,"assets":[
{"id":"USDC","total":"1500.25","balance":"1500.25","available":"1500.25","pending":"0","frozen":"0","lockedAmount":"0","blockHeight":"19911062","blockHash":""},
{"id":"USDC_POLYGON","total":"320.5","balance":"320.5","available":"300","pending":"0","frozen":"0","lockedAmount":"20.5","blockHeight":"55000000","blockHash":""},
{"id":"BTC_TEST","total":"0.0421","balance":"0.0421","available":"0.0421","pending":"0","frozen":"0","lockedAmount":"0","blockHeight":"2500000","blockHash":""},
{"id":"ZZZ_UNKNOWN_TOKEN","total":"7","balance":"7","available":"7","pending":"0","frozen":"0","lockedAmount":"0","blockHeight":"-1","blockHash":""},
{"id":"ETH","total":"0.000000000000000001","balance":"0.000000000000000001","available":"0.000000000000000001","pending":"0","frozen":"0","lockedAmount":"0","blockHeight":"-1","blockHash":""},
{"id":"SOL","total":"0","balance":"0","available":"0","pending":"0","frozen":"0","lockedAmount":"0","blockHeight":"-1","blockHash":""}
]}],"paging":{}}"#;

#[test]
fn every_id_passes_through_unchanged_and_both_usdc_networks_are_kept() {
    let (b, next) = parse(ONE_VAULT_MANY_IDS).unwrap();
    assert_eq!(next, None);
    let codes: Vec<&str> = b.iter().map(|b| b.venue_asset.as_ref()).collect();
    assert_eq!(
        codes,
        [
            "USDC",
            "USDC_POLYGON",
            "BTC_TEST",
            "ZZZ_UNKNOWN_TOKEN",
            "ETH",
            "SOL"
        ]
    );
    assert!(b.iter().all(|b| b.sub_account.as_deref() == Some("12")));
    assert_eq!(b[0].total.to_string(), "1500.25");
    assert_eq!(b[0].available.unwrap().to_string(), "1500.25");
    assert_eq!(b[0].locked.unwrap().to_string(), "0.00");
    // A withdrawal not yet published on Polygon: 20.5 held.
    assert_eq!(b[1].total.to_string(), "320.5");
    assert_eq!(b[1].available.unwrap().to_string(), "300");
    assert_eq!(b[1].locked.unwrap().to_string(), "20.5");
    assert_eq!(b[2].total.to_string(), "0.0421");
    assert_eq!(b[3].total.to_string(), "7");
    // Dust to the wei and a zero row are rows like any other.
    assert_eq!(b[4].total.to_string(), "0.000000000000000001");
    assert_eq!(b[4].available.unwrap().to_string(), "0.000000000000000001");
    assert_eq!(b[5].total.to_string(), "0");
    assert_eq!(
        (b[5].available, b[5].locked),
        (Some(dec!(0)), Some(dec!(0)))
    );
    for r in &b {
        assert_eq!(r.available.unwrap() + r.locked.unwrap(), r.total);
        assert_eq!(r.as_of, None);
    }
}

#[test]
fn a_dormant_vault_is_a_row_with_no_venue_time() {
    // Fireblocks gives a block height, never a time: `as_of` stays None and the normalizer
    // judges freshness by when our poll got the answer, so an old vault is not stale.
    let body = r#"{"accounts":[{"id":"40","name":"Dormant","hiddenOnUI":true,"assets":[{"id":"BTC","total":"12","balance":"12","available":"12","pending":"0","frozen":"0","lockedAmount":"0","blockHeight":"700000","blockHash":"00000000000000000002"}]}],"paging":{}}"#;
    let (b, _) = parse(body).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].as_of, None);
    assert_eq!(b[0].total, dec!(12));
    assert_eq!(b[0].available, Some(dec!(12)));
}

#[test]
fn pending_frozen_locked_and_staked_are_never_available() {
    // total 100 = available 60 + pending 10 + lockedAmount 20 + frozen 10; staked 5 on top
    // (deprecated field, DOT raw-signing staking) is kept out of available as well.
    let body = r#"{"accounts":[{"id":"5","assets":[{"id":"DOT","total":"100","available":"60","pending":"10","frozen":"10","lockedAmount":"20","staked":"5"}]}]}"#;
    let (b, _) = parse(body).unwrap();
    assert_eq!(b[0].total, dec!(90));
    assert_eq!(b[0].pending, Some(dec!(10)));
    // min(available 60, 100 - 10 - 20 - 10 - 5 = 55).
    assert_eq!(b[0].available, Some(dec!(55)));
    assert_eq!(b[0].locked, Some(dec!(35)));
}

#[test]
fn inconsistent_parts_reconcile_conservatively_and_exactly() {
    for (body, total, available, locked, pending) in [
        // available above what the parts allow: capped by them (100 - 0 - 30 - 0 = 70).
        (
            r#"{"id":"BTC","total":"100","available":"95","pending":"0","frozen":"0","lockedAmount":"30"}"#,
            "100",
            "70",
            "30",
            "0",
        ),
        // available above total: clamped to the settled total.
        (
            r#"{"id":"BTC","total":"1","available":"2"}"#,
            "1",
            "1",
            "0",
            "-",
        ),
        // negative available: 0 free.
        (
            r#"{"id":"BTC","total":"1","available":"-0.5"}"#,
            "1",
            "0",
            "1",
            "-",
        ),
        // pending beyond total: clamped to total, nothing settled.
        (
            r#"{"id":"BTC","total":"1","available":"0","pending":"3","frozen":"0","lockedAmount":"0"}"#,
            "0",
            "0",
            "0",
            "1",
        ),
        // no `available` but every part: derived from the parts.
        (
            r#"{"id":"BTC","total":"10","pending":"1","frozen":"2","lockedAmount":"3"}"#,
            "9",
            "4",
            "5",
            "1",
        ),
    ] {
        let (b, _) = parse(&format!(
            r#"{{"accounts":[{{"id":"0","assets":[{body}]}}]}}"#
        ))
        .unwrap();
        let r = &b[0];
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        assert_eq!(r.total, d(total), "{body}");
        assert_eq!(r.available, Some(d(available)), "{body}");
        assert_eq!(r.locked, Some(d(locked)), "{body}");
        assert_eq!(r.pending, (pending != "-").then(|| d(pending)), "{body}");
        assert_eq!(r.available.unwrap() + r.locked.unwrap(), r.total, "{body}");
    }
}

const FB_FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fireblocks/");

fn fb_fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FB_FIX}{name}")).unwrap()
}

fn held_is_never_free(b: &ParsedBalance<'_>) {
    let (a, l) = (b.available.unwrap(), b.locked.unwrap());
    assert!(a >= rust_decimal::Decimal::ZERO && l >= rust_decimal::Decimal::ZERO);
    assert_eq!(a + l, b.total);
    assert_eq!(b.as_of, None, "a vault account carries no balance time");
}

/// Fireblocks' own mock of `GET /v1/vault/accounts_paged` in `fireblocks/fireblocks-mcp`
/// (`fixtures/README.md`): two vaults whose incoming `pending` (0.1 BTC, 0.2 ETH) is inside
/// `total`; the record's total is the settled part, pending stays outside it.
#[test]
fn fireblocks_mcp_paged_mock_keeps_pending_outside_total() {
    let (b, next) = parse(&fb_fixture("mcp_get_vault_accounts_spec_mock.json")).unwrap();
    assert_eq!(next.as_deref(), Some("cursor-after"));
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].venue_asset, "BTC");
    assert_eq!(b[0].sub_account.as_deref(), Some("vault-1"));
    // total 1.5 = available 1.4 + pending 0.1 + lockedAmount 0 + frozen 0.
    assert_eq!(b[0].total.to_string(), "1.4");
    assert_eq!(b[0].available.unwrap().to_string(), "1.4");
    assert_eq!(b[0].locked.unwrap().to_string(), "0.0");
    assert_eq!(b[0].pending, Some(dec!(0.1)));
    held_is_never_free(&b[0]);
    assert_eq!(b[1].venue_asset, "ETH");
    assert_eq!(b[1].sub_account.as_deref(), Some("vault-2"));
    // total 10.0 = available 9.8 + pending 0.2.
    assert_eq!(b[1].total.to_string(), "9.8");
    assert_eq!(b[1].available.unwrap().to_string(), "9.8");
    assert_eq!(b[1].locked.unwrap().to_string(), "0.0");
    assert_eq!(b[1].pending, Some(dec!(0.2)));
    held_is_never_free(&b[1]);
}

/// Single vault accounts (`GET /v1/vault/accounts/{id}` bodies) put in a one-account
/// `accounts_paged` envelope (the envelope is constructed, the account is as published).
fn one_vault_page(account: &str) -> String {
    format!(r#"{{"accounts":[{account}],"paging":{{}}}}"#)
}

/// Fireblocks' own single-vault mock (fireblocks-mcp): `balance` (the deprecated twin),
/// `staked` "0" and a `null` customerRefId are read without harm.
#[test]
fn fireblocks_mcp_single_vault_mock() {
    let body = one_vault_page(&fb_fixture("mcp_get_vault_account_by_id_spec_mock.json"));
    let (b, next) = parse(&body).unwrap();
    assert_eq!(next, None);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].venue_asset, "ETH");
    assert_eq!(b[0].sub_account.as_deref(), Some("1"));
    assert_eq!(b[0].total.to_string(), "1.0");
    assert_eq!(b[0].available.unwrap().to_string(), "1.0");
    assert_eq!(b[0].locked.unwrap().to_string(), "0.0");
    assert_eq!(b[0].pending, Some(dec!(0)));
    held_is_never_free(&b[0]);
}

/// A sandbox vault from `fireblocks-sdk-rs`'s test (`fixtures/README.md`): a testnet id
/// (`SOL_TEST`), every figure "0", the EOS staking fields `null`, an empty `blockHash`. Its
/// vault `id` is the JSON number 483 there; the spec types it as a string, and this test
/// quotes it (an EDIT, the only one) to read the asset row.
#[test]
fn sdk_rs_sandbox_vault_zero_testnet_row() {
    let account = fb_fixture("fireblocks-sdk-rs_test_i32_vault_account.json");
    assert!(account.contains(r#""id": 483,"#));
    let body = one_vault_page(&account.replacen(r#""id": 483,"#, r#""id": "483","#, 1));
    let (b, _) = parse(&body).unwrap();
    assert_eq!(b.len(), 1, "a zero row is kept");
    assert_eq!(b[0].venue_asset, "SOL_TEST");
    assert_eq!(b[0].sub_account.as_deref(), Some("483"));
    assert_eq!(b[0].total, dec!(0));
    assert_eq!(b[0].available, Some(dec!(0)));
    assert_eq!(b[0].locked, Some(dec!(0)));
    assert_eq!(b[0].pending, Some(dec!(0)));
    held_is_never_free(&b[0]);
}
