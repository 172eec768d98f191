//! `generic_rest`: config-mapped balances. The held-funds rule (available never above the
//! mapped available, never above total - locked, clamped, both None when nothing says what is
//! free), `pending` and `as_of` pointers, codes passing through, on the simulated custodian's
//! document and on real documented bodies of other custodians mapped by config.

use connectors::custodians::generic_rest::{
    sim_document, GenericRest, GenericSpec, SIM_DOCUMENT, SIM_DORMANT_UPDATED_AT,
};
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::ParseError;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{SourceKind, Ts};

fn spec() -> GenericSpec {
    GenericSpec {
        path: "/v1/balances".into(),
        auth_header: "Authorization".into(),
        auth_prefix: "Bearer ".into(),
        list: "/data/balances".into(),
        asset: "/currency".into(),
        total: "/total".into(),
        available: Some("/available".into()),
        locked: Some("/locked".into()),
        pending: Some("/pending".into()),
        as_of: Some("/updated_at".into()),
        decimals: Some("/decimals".into()),
        sub_account: Some("/vault".into()),
        source_kind: SourceKind::Custodian,
        requests_per_minute: 60,
    }
}

fn parse(spec: GenericSpec, body: &str) -> Result<Vec<ParsedBalance<'static>>, ParseError> {
    let mut out = Vec::new();
    GenericRest { spec }.parse_balances(body, &mut |b| {
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

#[test]
fn the_simulated_custodian_with_every_pointer() {
    let b = parse(spec(), SIM_DOCUMENT).unwrap();
    let codes: Vec<&str> = b.iter().map(|x| x.venue_asset.as_ref()).collect();
    assert_eq!(
        codes,
        [
            "BTC",
            "ETH",
            "USDC",
            "USDT",
            "USDC",
            "ETH",
            "ZZZ_UNKNOWN_TOKEN"
        ]
    );
    assert_eq!(b[0].available.unwrap().to_string(), "12.00000000");
    assert_eq!(b[0].locked.unwrap().to_string(), "0.50000000");
    // A pending withdrawal is locked; an incoming deposit is pending, outside total.
    assert_eq!(b[3].total.to_string(), "100.000000");
    assert_eq!(b[3].available.unwrap().to_string(), "90.000000");
    assert_eq!(b[3].locked.unwrap().to_string(), "10.000000");
    assert_eq!(b[3].pending.unwrap().to_string(), "5.000000");
    // The dormant vault keeps its own old time as as_of; the others have none.
    assert_eq!(b[4].sub_account.as_deref(), Some("dormant"));
    assert_eq!(b[4].as_of, Ts::parse_rfc3339(SIM_DORMANT_UPDATED_AT));
    assert!(b[4].as_of.is_some());
    assert!(b
        .iter()
        .enumerate()
        .all(|(i, x)| i == 4 || x.as_of.is_none()));
    // Dust: one wei.
    assert_eq!(b[5].total.to_string(), "0.000000000000000001");
    assert_eq!(b[6].total, dec!(1000));
    for x in &b {
        assert_eq!(x.available.unwrap() + x.locked.unwrap(), x.total);
    }
    // The demo's swing still moves only ops' USDC.
    let out = parse(spec(), &sim_document(0)).unwrap();
    assert_eq!(out[2].total, dec!(500000));
    assert_eq!(out[4].total, dec!(1000));
}

#[test]
fn an_unconfigured_available_never_becomes_the_total() {
    let body = r#"{"data":{"balances":[{"currency":"BTC","total":"2","available":"1.5","locked":"0.25"}]}}"#;
    let mut s = spec();
    s.decimals = None;
    // Neither configured: nothing says what is free.
    let mut none = s.clone();
    none.available = None;
    none.locked = None;
    let b = parse(none, body).unwrap();
    assert_eq!(
        (b[0].total, b[0].available, b[0].locked),
        (dec!(2), None, None)
    );
    // Only locked: available is the rest.
    let mut only_locked = s.clone();
    only_locked.available = None;
    let b = parse(only_locked, body).unwrap();
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(1.75)), Some(dec!(0.25)))
    );
    // Only available: locked is the rest.
    let mut only_available = s.clone();
    only_available.locked = None;
    let b = parse(only_available, body).unwrap();
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(1.5)), Some(dec!(0.5)))
    );
    // Both, not adding up: the smaller free figure (1.5 < 2 - 0.25), locked the rest.
    let b = parse(s.clone(), body).unwrap();
    assert_eq!(
        (b[0].available, b[0].locked),
        (Some(dec!(1.5)), Some(dec!(0.5)))
    );
    // Configured but absent in this item: as if not configured.
    let b = parse(
        s.clone(),
        r#"{"data":{"balances":[{"currency":"BTC","total":"2"}]}}"#,
    )
    .unwrap();
    assert_eq!((b[0].available, b[0].locked), (None, None));
    // Out of range: clamped to [0, total].
    for (avail, locked, a, l) in [
        ("5", "0", "2", "0"),
        ("-1", "0", "0", "2"),
        ("2", "3", "0", "2"),
    ] {
        let body = format!(
            r#"{{"data":{{"balances":[{{"currency":"BTC","total":"2","available":"{avail}","locked":"{locked}"}}]}}}}"#
        );
        let b = parse(s.clone(), &body).unwrap();
        let d = |v: &str| v.parse::<Decimal>().unwrap();
        assert_eq!(
            (b[0].available, b[0].locked),
            (Some(d(a)), Some(d(l))),
            "{body}"
        );
    }
}

#[test]
fn as_of_reads_rfc3339_or_epoch_millis_and_refuses_garbage() {
    let mut s = spec();
    s.decimals = None;
    let at = |v: &str| {
        parse(
            s.clone(),
            &format!(
                r#"{{"data":{{"balances":[{{"currency":"BTC","total":"1","updated_at":{v}}}]}}}}"#
            ),
        )
    };
    assert_eq!(
        at("1700000000123").unwrap()[0].as_of,
        Some(Ts::from_millis(1_700_000_000_123))
    );
    assert_eq!(
        at(r#""2023-11-14T22:13:20.123Z""#).unwrap()[0].as_of,
        Some(Ts::from_millis(1_700_000_000_123))
    );
    assert_eq!(at("null").unwrap()[0].as_of, None);
    assert!(at(r#""yesterday""#).is_err());
    assert!(at("true").is_err());
}

/// The Coinbase Prime docs example (byte for byte from `shared/venues/coinbase/`, see
/// fixtures/README.md), read by a generic custodian configured on its fields: the code passes
/// through and the mapped figures reconcile exactly.
#[test]
fn a_real_documented_body_mapped_by_config() {
    let body = include_str!(
        "../../fixtures/coinbase_prime/prime_rest_list_portfolio_balances_docs_example.json"
    );
    let s = GenericSpec {
        list: "/balances".into(),
        asset: "/symbol".into(),
        total: "/amount".into(),
        available: Some("/withdrawable_amount".into()),
        locked: Some("/holds".into()),
        pending: None,
        as_of: None,
        decimals: None,
        sub_account: None,
        ..spec()
    };
    let b = parse(s, body).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].venue_asset, "BTC");
    assert_eq!(b[0].total.to_string(), "109.42");
    assert_eq!(b[0].available.unwrap().to_string(), "107.42");
    assert_eq!(b[0].locked.unwrap().to_string(), "2.00");
}

/// The Network Link spec's `bucketCurrency` example (fixtures/README.md): a token by its
/// provider UUID passes through unchanged; no lockedAmount there, so with only `available`
/// mapped the rest (0) is locked.
#[test]
fn a_provider_uuid_passes_through() {
    let body = include_str!(
        "../../fixtures/fireblocks_network_link/openapi_example_balances_bucketCurrency.json"
    );
    let s = GenericSpec {
        list: "/balances".into(),
        asset: "/asset/assetId".into(),
        total: "/availableAmount".into(),
        available: Some("/availableAmount".into()),
        locked: None,
        pending: None,
        as_of: None,
        decimals: None,
        sub_account: None,
        ..spec()
    };
    let b = parse(s, body).unwrap();
    assert_eq!(b[0].venue_asset, "f0844d82-7097-4521-95bc-d843724a893e");
    assert_eq!(b[0].total.to_string(), "95.03");
    assert_eq!(b[0].locked.unwrap().to_string(), "0.00");
}

/// Fireblocks' own paged mock (fireblocks-mcp, `fixtures/README.md`) read through config: the
/// second vault's assets, Fireblocks' field names mapped one to one. Fireblocks' `total`
/// includes the unconfirmed incoming `pending` (0.2), and `generic_rest` has no way to say so:
/// the 0.2 is in `total` and in `pending`, but never available (available = min(9.8,
/// 10.0 - 0) = 9.8, the rest locked).
#[test]
fn fireblocks_mock_mapped_by_config_never_frees_pending() {
    let body = include_str!("../../fixtures/fireblocks/mcp_get_vault_accounts_spec_mock.json");
    let s = GenericSpec {
        list: "/accounts/1/assets".into(),
        asset: "/id".into(),
        total: "/total".into(),
        available: Some("/available".into()),
        locked: Some("/lockedAmount".into()),
        pending: Some("/pending".into()),
        as_of: None,
        decimals: None,
        sub_account: None,
        ..spec()
    };
    let b = parse(s, body).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].venue_asset, "ETH");
    assert_eq!(b[0].total.to_string(), "10.0");
    assert_eq!(b[0].available.unwrap().to_string(), "9.8");
    assert_eq!(b[0].locked.unwrap().to_string(), "0.2");
    assert_eq!(b[0].pending.unwrap().to_string(), "0.2");
    assert_eq!(b[0].as_of, None);
    assert_eq!(b[0].available.unwrap() + b[0].locked.unwrap(), b[0].total);
}
