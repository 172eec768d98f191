//! `schemas/json/*.schema.json` are generated from the types; this test fails when they drift.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p schemas --test json_schema`.

use schemas::*;
use std::path::PathBuf;

fn generated() -> Vec<(&'static str, String)> {
    let mut out = vec![
        (
            "price_tick.v1",
            serde_json::to_string_pretty(&json_schema_for::<PriceTick>()),
        ),
        (
            "balance.v1",
            serde_json::to_string_pretty(&json_schema_for::<BalanceSnapshot>()),
        ),
        (
            "reference_price.v1",
            serde_json::to_string_pretty(&json_schema_for::<ReferencePrice>()),
        ),
        (
            "collateral_report.v1",
            serde_json::to_string_pretty(&json_schema_for::<CollateralReport>()),
        ),
        (
            "feed_status.v1",
            serde_json::to_string_pretty(&json_schema_for::<FeedStatus>()),
        ),
        (
            "venue_margin.v1",
            serde_json::to_string_pretty(&json_schema_for::<VenueMarginRecord>()),
        ),
        (
            "position.v1",
            serde_json::to_string_pretty(&json_schema_for::<PositionRecord>()),
        ),
        (
            "margin_call.v1",
            serde_json::to_string_pretty(&json_schema_for::<MarginCallRecord>()),
        ),
        (
            "stress_report.v1",
            serde_json::to_string_pretty(&json_schema_for::<StressReportRecord>()),
        ),
        (
            "collateral_risk.v1",
            serde_json::to_string_pretty(&json_schema_for::<CollateralRiskRecord>()),
        ),
    ]
    .into_iter()
    .map(|(n, s)| (n, s.unwrap() + "\n"))
    .collect::<Vec<_>>();
    out.sort();
    out
}

#[test]
fn json_schema_files_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    for (name, text) in generated() {
        let path = dir.join(format!("{name}.schema.json"));
        if update {
            std::fs::write(&path, &text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SCHEMAS=1)", path.display()));
        assert_eq!(text, on_disk, "{} drifted from the types", path.display());
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, generated().len(), "stray files in {}", dir.display());
}

#[test]
fn schemas_require_every_field_so_nulls_are_present() {
    let schema = serde_json::to_value(json_schema_for::<PriceTick>()).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in ["schema", "bid", "exchange_ts", "sequence", "epoch"] {
        assert!(
            required.contains(&field),
            "{field} not required: {required:?}"
        );
    }
    // The sample records are valid instances of the schema's required set.
    let sample = serde_json::to_value(crate::support::price_tick()).unwrap();
    for field in required {
        assert!(sample.get(field).is_some(), "{field} missing from sample");
    }
}
