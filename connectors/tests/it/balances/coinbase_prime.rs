//! Coinbase Prime balances: signing, the two-step poll, parsing and the simulator's checks.

use connectors::auth::Credentials;
use connectors::custodians::coinbase_prime::{self, parse, sim, CoinbasePrime};
use connectors::error::ParseError;
use connectors::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest, SimHttpResponse};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::Ts;

fn collect(body: &str) -> Result<(Vec<ParsedBalance<'static>>, Option<String>), ParseError> {
    let mut out = Vec::new();
    let next = parse::parse_body(body, &mut |b| {
        out.push(ParsedBalance {
            venue_asset: b.venue_asset.into_owned().into(),
            sub_account: None,
            wallet: None,
            network: b.network.map(|s| s.into_owned().into()),
            ..b
        })
    })?;
    Ok((out, next))
}

const PID: &str = "4d0c5e9a-7d6c-4f55-9c59-0f4f1f1a2b3c";

/// Prime publishes no numeric vector; this one was computed independently of the crate with
/// `openssl dgst -sha256 -hmac <secret> -binary | base64` over `ts + METHOD + path + body`. The
/// secret looks like base64 on purpose: Prime uses its raw UTF-8 bytes, not the decoded ones.
#[test]
fn signature_matches_an_independent_vector() {
    let path = format!("/v1/portfolios/{PID}/balances");
    assert_eq!(
        coinbase_prime::signature("dGVzdC1zZWNyZXQ=", 1_700_000_000, "GET", &path, ""),
        "e+zJoqpedws5UHZ7PENqWXtb4qNLallrqjt2/o/BueA="
    );
    let creds = Credentials::new("k1", "dGVzdC1zZWNyZXQ=").with_passphrase("pp");
    let r = CoinbasePrime
        .request(&creds, Ts::from_millis(1_700_000_000_999), Some(PID))
        .unwrap();
    assert_eq!(r.path_and_query(), path);
    let h = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(h("X-CB-ACCESS-KEY"), Some("k1"));
    assert_eq!(h("X-CB-ACCESS-PASSPHRASE"), Some("pp"));
    assert_eq!(h("X-CB-ACCESS-TIMESTAMP"), Some("1700000000"));
    assert_eq!(
        h("X-CB-ACCESS-SIGNATURE"),
        Some("e+zJoqpedws5UHZ7PENqWXtb4qNLallrqjt2/o/BueA=")
    );
    assert!(r
        .headers
        .iter()
        .all(|(_, v)| !v.contains("dGVzdC1zZWNyZXQ=")));
    // First page: the portfolio list. A cursor that is not a portfolio id never reaches a path.
    let first = CoinbasePrime
        .request(&creds, Ts::from_millis(0), None)
        .unwrap();
    assert_eq!(first.path, "/v1/portfolios");
    assert!(CoinbasePrime
        .request(&creds, Ts::from_millis(0), Some("../x?y"))
        .is_err());
    assert!(CoinbasePrime
        .request(&Credentials::new("k1", "s"), Ts::from_millis(0), None)
        .is_err());
}

/// The real docs example: exact decimals. Its figures are placeholders that do not add up
/// (withdrawable 109.42 = amount while 2 are on hold): available is the smaller of
/// withdrawable and amount - holds, so the 2 held stay locked.
#[test]
fn docs_example_balances() {
    let body = include_str!(
        "../../fixtures/coinbase_prime/prime_rest_list_portfolio_balances_docs_example.json"
    );
    let (b, next) = collect(body).unwrap();
    assert_eq!(next, None);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].venue_asset, "BTC");
    assert_eq!(b[0].total, dec!(109.42));
    assert_eq!(b[0].total.to_string(), "109.42");
    assert_eq!(b[0].available.unwrap().to_string(), "107.42");
    assert_eq!(b[0].locked.unwrap().to_string(), "2.00");
    assert_eq!(b[0].pending, None);
    assert_eq!(b[0].as_of, None);
}

#[test]
fn portfolio_list_gives_the_cursor_and_fields_add_up() {
    let (b, next) =
        collect(r#"{"portfolios":[{"id":"4d0c5e9a-7d6c-4f55-9c59-0f4f1f1a2b3c","name":"Main"}]}"#)
            .unwrap();
    assert!(b.is_empty());
    assert_eq!(next.as_deref(), Some(PID));
    assert!(matches!(
        collect(r#"{"portfolios":[]}"#),
        Err(ParseError::Venue { .. })
    ));
    // CONSTRUCTED: amounts that add up give the split; "" is None (withdrawable alone then
    // says what is free).
    let (b, _) = collect(r#"{"balances":[{"symbol":"ETH","amount":"10.5","holds":"0.25","withdrawable_amount":"10.25"},{"symbol":"USDC","amount":"7","holds":"","withdrawable_amount":"7"}]}"#).unwrap();
    assert_eq!(
        (b[0].total, b[0].available, b[0].locked),
        (dec!(10.5), Some(dec!(10.25)), Some(dec!(0.25)))
    );
    assert_eq!(b[0].available.unwrap().to_string(), "10.25");
    assert_eq!(
        (b[1].total, b[1].available, b[1].locked),
        (dec!(7), Some(dec!(7)), Some(dec!(0)))
    );
}

/// CONSTRUCTED in the documented shape, one rule per row.
#[test]
fn held_staked_and_reserved_funds_are_never_available() {
    let (b, _) = collect(r#"{"balances":[
        {"symbol":"ETH","amount":"100","holds":"5","withdrawable_amount":"63","bonded_amount":"32","unbonding_amount":"0"},
        {"symbol":"SOL","amount":"100","holds":"1","bonded_amount":"50","unbonding_amount":"10","reserved_amount":"0.5","unvested_amount":"2"},
        {"symbol":"XRP","amount":"20","holds":"0","withdrawable_amount":"30"},
        {"symbol":"BTC","amount":"1"},
        {"symbol":"DOGE","amount":"0.00000001","holds":"0","withdrawable_amount":"0.00000001"},
        {"symbol":"USDC","amount":"0","holds":"0","withdrawable_amount":"0"},
        {"symbol":"ZZZUNKNOWN","amount":"3","holds":"4","withdrawable_amount":"3"}
    ],"type":"TRADING_BALANCES"}"#)
    .unwrap();
    let codes: Vec<&str> = b.iter().map(|x| x.venue_asset.as_ref()).collect();
    assert_eq!(
        codes,
        ["ETH", "SOL", "XRP", "BTC", "DOGE", "USDC", "ZZZUNKNOWN"]
    );
    let al = |i: usize| {
        (
            b[i].available.map(|d| d.to_string()),
            b[i].locked.map(|d| d.to_string()),
        )
    };
    // Prime's own withdrawable 63 (staked 32 and holds 5 outside it).
    assert_eq!(al(0), (Some("63".into()), Some("37".into())));
    // No withdrawable: every held figure comes off amount.
    assert_eq!(al(1), (Some("36.5".into()), Some("63.5".into())));
    // Withdrawable above amount: clamped.
    assert_eq!(al(2), (Some("20".into()), Some("0".into())));
    // A total only: nothing says what is free.
    assert_eq!(al(3), (None, None));
    assert_eq!(
        al(4),
        (Some("0.00000001".into()), Some("0.00000000".into()))
    );
    assert_eq!(al(5), (Some("0".into()), Some("0".into())));
    // Holds above amount: nothing free, never negative.
    assert_eq!(al(6), (Some("0".into()), Some("3".into())));
    for x in &b {
        if let (Some(a), Some(l)) = (x.available, x.locked) {
            assert_eq!(a + l, x.total);
        }
    }
}

#[test]
fn venue_errors_and_malformed_bodies() {
    assert!(matches!(
        collect(r#"{"message":"Unauthorized"}"#),
        Err(ParseError::Venue { .. })
    ));
    for bad in [
        "",
        "{",
        "[]",
        "null",
        "{}",
        r#"{"balances":[{"symbol":"BTC"}]}"#,
        r#"{"balances":[{"symbol":"BTC","amount":1}]}"#,
        r#"{"balances":[{"symbol":"BTC","amount":"x"}]}"#,
    ] {
        assert!(collect(bad).is_err(), "{bad}");
    }
}

fn sim_req(creds: &Credentials, at: Ts, cursor: Option<&str>) -> SimHttpRequest {
    let r = CoinbasePrime.request(creds, at, cursor).unwrap();
    SimHttpRequest {
        method: r.method.into(),
        path: r.path.clone(),
        query: r.query.clone(),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect(),
        body: r.body,
    }
}

#[test]
fn simulator_checks_key_passphrase_timestamp_and_signature() {
    let creds = CoinbasePrime.demo_credentials();
    let now = Ts::now();
    let ctx = RestSimCtx {
        now,
        credentials: &creds,
        requests: 1,
    };
    let list = sim::PrimeRestSim.handle(&sim_req(&creds, now, None), &ctx);
    assert_eq!(list.status, 200, "{}", list.body);
    let (_, next) = collect(&list.body).unwrap();
    let ok = sim::PrimeRestSim.handle(&sim_req(&creds, now, next.as_deref()), &ctx);
    assert_eq!(ok.status, 200, "{}", ok.body);
    let (b, next) = collect(&ok.body).unwrap();
    assert_eq!(next, None);
    assert_eq!(b.len(), sim::SIM_BALANCES.len());
    for x in &b {
        assert_eq!(x.available.unwrap() + x.locked.unwrap(), x.total);
    }
    assert_eq!(b[0].total.to_string(), "42.5");
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(40)), Some(dec!(2.5)))
    );
    assert_eq!(
        (b[1].available, b[1].locked),
        (Some(dec!(1218.125)), Some(dec!(32)))
    );
    assert_eq!(b[3].total.to_string(), "0.00000001");
    assert_eq!(b[4].total, Decimal::ZERO);
    assert_eq!(b[5].venue_asset, "ZZZUNKNOWN");
    assert!(b.iter().all(|x| x.total >= Decimal::ZERO));

    let refused = |r: SimHttpResponse| {
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.body, r#"{"message":"Unauthorized"}"#);
    };
    let with = |f: &dyn Fn(&mut Credentials)| {
        let mut c = creds.clone();
        f(&mut c);
        c
    };
    refused(sim::PrimeRestSim.handle(
        &sim_req(
            &with(&|c| c.api_key = Some(connectors::auth::Secret::new("other-key"))),
            now,
            None,
        ),
        &ctx,
    ));
    refused(sim::PrimeRestSim.handle(
        &sim_req(
            &with(&|c| c.api_secret = Some(connectors::auth::Secret::new("other-secret"))),
            now,
            None,
        ),
        &ctx,
    ));
    refused(sim::PrimeRestSim.handle(
        &sim_req(
            &with(&|c| c.passphrase = Some(connectors::auth::Secret::new("other-pass"))),
            now,
            None,
        ),
        &ctx,
    ));
    // Correctly signed but 31 s old / 31 s ahead.
    refused(sim::PrimeRestSim.handle(
        &sim_req(&creds, Ts::from_millis(now.millis() - 31_000), None),
        &ctx,
    ));
    refused(sim::PrimeRestSim.handle(
        &sim_req(&creds, Ts::from_millis(now.millis() + 31_000), None),
        &ctx,
    ));
    // A tampered timestamp breaks the signature.
    let mut r = sim_req(&creds, now, None);
    r.headers.insert(
        "x-cb-access-timestamp".into(),
        (now.millis() / 1000 - 1).to_string(),
    );
    refused(sim::PrimeRestSim.handle(&r, &ctx));
}
