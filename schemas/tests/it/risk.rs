//! The margin engine's records: golden JSON, schema tag first, topics and keys, round trip.
//! Regenerate the goldens deliberately with `UPDATE_GOLDEN=1`.

use crate::support::t;
use rust_decimal_macros::dec;
use schemas::*;
use std::path::PathBuf;

pub fn margin_call() -> MarginCallRecord {
    MarginCallRecord {
        schema: MarginCallSchema,
        account: "fund-a".into(),
        calc_time: t("2026-11-24T12:00:00Z"),
        seq: 3,
        requirement: Some(dec!(9000000.00)),
        credit_support_amount: Some(dec!(9000000.00)),
        collateral_value: dec!(8670025.78),
        coverage: Some(dec!(0.9633)),
        direction: CallDirection::Call,
        raw_amount: Some(dec!(1229974.21875)),
        amount: dec!(1230000),
        flags: vec![],
        call_id: Some("fund-a-2026-11-24T12:00:00.000000Z".into()),
        call_opened_at: Some(t("2026-11-24T12:00:00Z")),
        state: Some(CallState::Open),
        topups: vec![TopUp {
            asset: "USDC".into(),
            quantity: dec!(993918.57),
            price: dec!(1.0000),
        }],
        idle_collateral: dec!(1828874.84),
        terms: MarginTerms {
            threshold: dec!(0),
            independent_amount: dec!(0),
            minimum_transfer_amount: dec!(250000),
            rounding: dec!(10000),
            call_target: dec!(1.10),
            return_above: None,
            return_to: dec!(1.00),
            topup_assets: vec!["USDC".into()],
        },
        transfers: vec![],
        method_version: "margin-v1".into(),
        params_hash: "ab".repeat(32),
        input_digest: "cd".repeat(32),
    }
}

pub fn stress_report() -> StressReportRecord {
    StressReportRecord {
        schema: StressReportSchema,
        account: "fund-a".into(),
        calc_time: t("2026-11-24T12:00:00Z"),
        seq: 3,
        requirement: Some(dec!(5000000.00)),
        scenarios: vec![StressScenarioResult {
            name: "okx_mr6_down".into(),
            collateral_value: dec!(6522013.31),
            coverage: Some(dec!(1.3044)),
            status: StressStatus::Ok,
            deficit: None,
        }],
        worst: Some("okx_mr6_down".into()),
        method_version: "margin-v1".into(),
        params_hash: "ab".repeat(32),
        input_digest: "cd".repeat(32),
    }
}

pub fn collateral_risk() -> CollateralRiskRecord {
    CollateralRiskRecord {
        schema: CollateralRiskSchema,
        account: "fund-a".into(),
        calc_time: t("2026-11-24T12:00:00Z"),
        seq: 3,
        alpha: dec!(0.85),
        horizon_days: 2,
        n_scenarios: 10,
        history_from: Some("2026-10-28".into()),
        history_to: Some("2026-11-24".into()),
        es: Some(dec!(1163582.92)),
        var: Some(dec!(803936.50)),
        liquidity_addon: dec!(682939.45),
        requirement: Some(dec!(5000000.00)),
        coverage_after_es: Some(dec!(1.5012)),
        assets: vec![AssetRisk {
            asset: "SOL".into(),
            horizon_days: 2,
            es: Some(dec!(1175174.00)),
            es_pct: Some(dec!(0.195667)),
            effective_haircut: Some(dec!(0.258475)),
            liquidity_days: Some(3),
            liquidity_horizon: Some(5),
            liquidity_addon: Some(dec!(682939.45)),
            flags: vec![],
        }],
        flags: vec!["HAIRCUT_BELOW_ES".into()],
        method_version: "margin-v1".into(),
        params_hash: "ab".repeat(32),
        input_digest: "cd".repeat(32),
    }
}

pub fn all() -> Vec<(&'static str, Record)> {
    vec![
        ("margin_call", Record::MarginCall(margin_call())),
        ("stress_report", Record::StressReport(stress_report())),
        ("collateral_risk", Record::CollateralRisk(collateral_risk())),
    ]
}

#[test]
fn margin_records_match_their_golden_json() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, record) in all() {
        let json = serde_json::to_string_pretty(&record).unwrap() + "\n";
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("{name}.json"));
        if update {
            std::fs::write(&path, &json).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
        assert_eq!(json, want, "{name} drifted from {}", path.display());
        assert!(record
            .to_json()
            .starts_with(&format!("{{\"schema\":\"{name}.v1\",")));
        assert_eq!(record.schema(), format!("{name}.v1"));
    }
}

#[test]
fn margin_records_go_to_their_topics_keyed_by_account() {
    let names = TopicNames::default();
    let got: Vec<(String, String)> = all()
        .into_iter()
        .map(|(_, r)| (r.topic(&names).to_owned(), r.key()))
        .collect();
    assert_eq!(
        got,
        [
            ("collateral.margin-calls.v1", "fund-a"),
            ("collateral.stress.v1", "fund-a"),
            ("collateral.risk.v1", "fund-a"),
        ]
        .map(|(t, k)| (t.to_owned(), k.to_owned()))
    );
    for topic in [&names.margin_calls, &names.stress, &names.risk] {
        assert!(
            names.produced().contains(&topic.as_str()),
            "{topic} not produced"
        );
    }
    let r = Record::MarginCall(margin_call());
    assert_eq!(r.partition_key(), "fund-a");
}

#[test]
fn margin_records_round_trip_and_keep_nulls() {
    let call = margin_call();
    let back: MarginCallRecord =
        serde_json::from_str(&serde_json::to_string(&call).unwrap()).unwrap();
    assert_eq!(back, call);
    let risk = collateral_risk();
    let back: CollateralRiskRecord =
        serde_json::from_str(&serde_json::to_string(&risk).unwrap()).unwrap();
    assert_eq!(back, risk);
    let json: serde_json::Value =
        serde_json::from_str(&Record::MarginCall(call).to_json()).unwrap();
    assert_eq!(json["terms"]["return_above"], serde_json::Value::Null);
    assert_eq!(json["raw_amount"], "1229974.21875");
    assert_eq!(json["transfers"], serde_json::json!([]));
    assert_eq!(json["direction"], "CALL");
    let wrong = serde_json::to_string(&stress_report())
        .unwrap()
        .replace("stress_report.v1", "margin_call.v1");
    assert!(serde_json::from_str::<StressReportRecord>(&wrong).is_err());
}
