//! Binance USDⓈ-M balances: the signer against Binance's published HMAC example, the parser on
//! the docs' response example, and the simulator's refusals (Binance's own codes and bodies).

use connectors::auth::Credentials;
use connectors::error::ParseError;
use connectors::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest};
use connectors::transport::rest::{ParsedBalance, PollingVenue, RestRequest};
use connectors::venues::binance_usdm::sim::BinanceUsdmRestSim;
use connectors::venues::binance_usdm::BinanceUsdmBalances;
use rust_decimal_macros::dec;
use schemas::Ts;

const FIXTURE: &str =
    include_str!("../../fixtures/binance_usdm/rest_balance_GET_fapi_v3_balance.json");

fn parse(body: &str) -> Result<Vec<ParsedBalance<'static>>, ParseError> {
    let mut out = Vec::new();
    BinanceUsdmBalances.parse_balances(body, &mut |b| {
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

/// The HMAC-SHA256 example of Binance's "SIGNED Endpoint Examples" (the same for spot and
/// futures): secret, query and signature as published.
#[test]
fn signer_reproduces_binances_published_example() {
    let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    assert_eq!(
        connectors::auth::sign::hmac_sha256_hex(secret, query),
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    );
}

#[test]
fn request_is_signed_over_its_query() {
    let creds = Credentials::new(
        "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
    );
    let r = BinanceUsdmBalances
        .request(&creds, Ts::from_millis(1_499_827_319_559), None)
        .unwrap();
    assert_eq!(
        (r.method, r.path.as_str(), r.weight),
        ("GET", "/fapi/v3/balance", 5)
    );
    let (unsigned, sig) = r.query.rsplit_once("&signature=").unwrap();
    assert_eq!(unsigned, "recvWindow=5000&timestamp=1499827319559");
    // Computed here with the hmac crate directly, not through auth::sign.
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(
        b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
    )
    .unwrap();
    mac.update(unsigned.as_bytes());
    assert_eq!(sig, hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        r.headers,
        vec![(
            "X-MBX-APIKEY".to_owned(),
            "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A".to_owned()
        )]
    );
}

#[test]
fn parses_the_docs_example_exactly() {
    let b = parse(FIXTURE).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].venue_asset, "USDT");
    assert_eq!(b[0].total, dec!(122607.35137903));
    assert_eq!(b[0].total.to_string(), "122607.35137903");
    // available = min(availableBalance, maxWithdrawAmount) = 23.72469206; the rest of the
    // wallet balance (order / position margin, isolated wallets) is held.
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(23.72469206)), Some(dec!(122583.62668697)))
    );
    assert_eq!(b[0].available.unwrap() + b[0].locked.unwrap(), b[0].total);
    assert_eq!(b[0].as_of, Some(Ts::from_millis(1_617_939_110_373)));
}

#[test]
fn venue_errors_and_malformed_bodies() {
    let e = parse(r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#)
        .unwrap_err();
    assert!(
        matches!(e, ParseError::Venue { ref message, .. } if message.contains("-2015")),
        "{e:?}"
    );
    for bad in [
        "",
        "[",
        "{}",
        "null",
        r#"[{"asset":"USDT"}]"#,
        r#"[{"asset":"USDT","balance":""}]"#,
        r#"[{"asset":"USDT","balance":"abc"}]"#,
        r#"[{"asset":"USDT","balance":1.5}]"#,
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    assert!(parse("[]").unwrap().is_empty());
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
fn simulator_checks_key_signature_and_window() {
    let creds = BinanceUsdmBalances.demo_credentials();
    let now = Ts::from_millis(1_700_000_000_000);
    let ctx = RestSimCtx {
        now,
        credentials: &creds,
        requests: 1,
    };
    let ok = BinanceUsdmRestSim::steady().handle(
        &to_sim(&BinanceUsdmBalances.request(&creds, now, None).unwrap()),
        &ctx,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let b = parse(&ok.body).unwrap();
    assert!(b.len() >= 3);

    let wrong_secret = Credentials::new(creds.key().unwrap(), "another-secret");
    let r = BinanceUsdmRestSim::steady().handle(
        &to_sim(
            &BinanceUsdmBalances
                .request(&wrong_secret, now, None)
                .unwrap(),
        ),
        &ctx,
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            400,
            r#"{"code":-1022,"msg":"Signature for this request is not valid."}"#
        )
    );

    let wrong_key = Credentials::new("another-key", creds.secret().unwrap());
    let r = BinanceUsdmRestSim::steady().handle(
        &to_sim(&BinanceUsdmBalances.request(&wrong_key, now, None).unwrap()),
        &ctx,
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            401,
            r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#
        )
    );

    for stale in [now.plus_millis(-5001), now.plus_millis(1000)] {
        let r = BinanceUsdmRestSim::steady().handle(
            &to_sim(&BinanceUsdmBalances.request(&creds, stale, None).unwrap()),
            &ctx,
        );
        assert_eq!(
            (r.status, r.body.as_str()),
            (
                400,
                r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#
            )
        );
    }
    let edge = BinanceUsdmRestSim::steady().handle(
        &to_sim(
            &BinanceUsdmBalances
                .request(&creds, now.plus_millis(-5000), None)
                .unwrap(),
        ),
        &ctx,
    );
    assert_eq!(edge.status, 200);
}
