//! Golden tests: each record's serialized JSON is pinned byte for byte in `tests/golden/`.
//! Regenerate deliberately with `UPDATE_GOLDEN=1 cargo test -p schemas --test golden` and review
//! the diff: a changed golden file is a changed public contract.

use schemas::*;
use std::path::PathBuf;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"))
}

#[test]
fn every_record_matches_its_golden_json() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, record) in crate::support::all() {
        let json = serde_json::to_string_pretty(&record).unwrap() + "\n";
        let path = golden_path(name);
        if update {
            std::fs::write(&path, &json).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
        assert_eq!(json, want, "{name} drifted from {}", path.display());
    }
}

#[test]
fn schema_is_the_first_field_and_matches_the_record() {
    for (name, record) in crate::support::all() {
        let json = record.to_json();
        let expected = format!("{{\"schema\":\"{name}.v1\",");
        assert!(json.starts_with(&expected), "{json}");
        assert_eq!(record.schema(), format!("{name}.v1"));
    }
}

#[test]
fn decimals_are_plain_strings_and_nulls_are_present() {
    let json: serde_json::Value =
        serde_json::from_str(&Record::PriceTick(crate::support::price_tick()).to_json()).unwrap();
    // Trailing zeros are kept as the venue sent them: the number is exactly what was received.
    assert_eq!(json["bid"], serde_json::json!("64003.25000000"));
    assert_eq!(json["last"], serde_json::Value::Null);
    assert!(json.as_object().unwrap().contains_key("exchange_ts"));
    assert_eq!(json["received_at"], "2026-11-24T11:00:00.123456Z");
    // A tiny value must not turn into exponent notation.
    let mut tick = crate::support::price_tick();
    tick.bid = Some(rust_decimal::Decimal::new(12, 6));
    let json = Record::PriceTick(tick).to_json();
    assert!(json.contains("\"bid\":\"0.000012\""), "{json}");
}

#[test]
fn records_round_trip_and_refuse_a_wrong_schema() {
    let tick = crate::support::price_tick();
    let back: PriceTick = serde_json::from_str(&serde_json::to_string(&tick).unwrap()).unwrap();
    assert_eq!(back, tick);
    let rp = crate::support::reference_price();
    let back: ReferencePrice = serde_json::from_str(&serde_json::to_string(&rp).unwrap()).unwrap();
    assert_eq!(back, rp);
    let report = crate::support::collateral_report();
    let back: CollateralReport =
        serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(back, report);
    let wrong = serde_json::to_string(&tick)
        .unwrap()
        .replace("price_tick.v1", "balance.v1");
    let err = serde_json::from_str::<PriceTick>(&wrong).unwrap_err();
    assert!(err.to_string().contains("expected schema"), "{err}");
}

#[test]
fn keys_follow_records_md() {
    let keys: Vec<(String, String)> = crate::support::all()
        .into_iter()
        .map(|(_, r)| (r.key(), r.topic(&TopicNames::default()).to_owned()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("BTC".into(), "collateral.prices.v1".into()),
            (
                "fund-a/kraken-main/BTC".into(),
                "collateral.balances.v1".into()
            ),
            ("BTC-USD".into(), "collateral.reference-prices.v1".into()),
            ("fund-a".into(), "collateral.reports.v1".into()),
            (
                "kraken-spot/ticker:BTC-USD".into(),
                "collateral.feed-status.v1".into()
            ),
            (
                "fund-b/bybit-account".into(),
                "collateral.venue-margin.v1".into()
            ),
            (
                "fund-a/binance-usdm-account/BTC-USDT-PERP:SHORT".into(),
                "collateral.positions.v1".into()
            ),
        ]
    );
    // Venue margin and positions are partitioned by account, like balances.
    let all = crate::support::all();
    assert_eq!(all[5].1.partition_key(), "fund-b");
    assert_eq!(all[6].1.partition_key(), "fund-a");
    // Per-currency margin (Deribit segregated) and one-way positions key without suffixes.
    let mut m = crate::support::venue_margin();
    m.per_currency = true;
    m.currency = "BTC".into();
    assert_eq!(m.key(), "fund-b/bybit-account/BTC");
    let mut p = crate::support::position();
    p.hedge_side = None;
    assert_eq!(p.key(), "fund-a/binance-usdm-account/BTC-USDT-PERP");
    assert_eq!(
        Record::Balance(crate::support::balance()).partition_key(),
        "fund-a"
    );
}
