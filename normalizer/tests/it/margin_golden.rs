//! The margin engine's records on C4 pinned byte for byte (B1's call, S1's stress, E1's risk),
//! and what their `params_hash` and `input_digest` depend on. Regenerate deliberately with
//! `UPDATE_GOLDEN=1` and review the diff: a changed file is a changed figure or contract.

use crate::margin_support::*;
use normalizer::margin::config::{default_library, AssetSteps, CsaTerms, RiskConfig, StressConfig};
use normalizer::margin::digest::risk_params_hash;
use normalizer::margin::risk::{compute_all, RiskContext, RiskJob};
use normalizer::margin::MarginEngine;
use normalizer::valuation::ValuationParams;
use rust_decimal_macros::dec;
use schemas::Record;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn golden(name: &str, record: Record) {
    let json = serde_json::to_string_pretty(&record).unwrap() + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(json, want, "{name} drifted from {}", path.display());
}

fn b1_terms() -> CsaTerms {
    CsaTerms {
        minimum_transfer_amount: dec!(250000),
        rounding: dec!(10000),
        call_target: dec!(1.10),
        return_above: Some(dec!(1.50)),
        return_to: dec!(1.30),
        topup_assets: vec!["USDC".into(), "BTC".into(), "USD".into()],
        ..CsaTerms::default()
    }
}

fn engine(terms: CsaTerms) -> MarginEngine {
    MarginEngine::new(
        &ValuationParams::default(),
        "valuation-hash",
        BTreeMap::from([("fund-a".to_owned(), terms)]),
        AssetSteps::new(),
        &StressConfig::default(),
    )
}

fn e1_risk(cfg: &RiskConfig, csv: Option<&str>) -> schemas::CollateralRiskRecord {
    let k = kernel();
    let (history, _) = e1_history();
    let lib = default_library();
    let hash = risk_params_hash("valuation-hash", cfg, &lib[0]);
    let ctx = RiskContext {
        kernel: &k,
        cfg,
        fallback: &lib[0],
        history: &history,
        params_hash: &hash,
        csv_sha256: csv,
    };
    let job = RiskJob {
        accounts: vec![(c4(Some(dec!(5000000))), 4)],
    };
    compute_all(&ctx, &job, 2).remove(0)
}

fn e1_cfg() -> RiskConfig {
    RiskConfig {
        alpha: dec!(0.85),
        horizon_days_alt: 2,
        min_scenarios: 10,
        adv: BTreeMap::from([("SOL".to_owned(), dec!(150000))]),
        ..RiskConfig::default()
    }
}

#[test]
fn engine_records_on_c4_are_pinned() {
    let mut e = engine(b1_terms());
    golden(
        "margin_call_b1",
        Record::MarginCall(e.margin_call(&c4(Some(dec!(9000000))), &c4_prices(), 1)),
    );
    golden(
        "stress_report_s1",
        Record::StressReport(e.stress(&c4(Some(dec!(5000000))), 1)),
    );
    golden(
        "collateral_risk_e1",
        Record::CollateralRisk(e1_risk(&e1_cfg(), None)),
    );
}

#[test]
fn params_hash_follows_the_parameters_and_input_digest_the_inputs() {
    let report = c4(Some(dec!(9000000)));
    let a = engine(b1_terms()).margin_call(&report, &c4_prices(), 1);
    let b = engine(b1_terms()).margin_call(&report, &c4_prices(), 1);
    assert_eq!(
        (&a.params_hash, &a.input_digest),
        (&b.params_hash, &b.input_digest)
    );
    let other_terms = CsaTerms {
        rounding: dec!(1000),
        ..b1_terms()
    };
    let c = engine(other_terms).margin_call(&report, &c4_prices(), 1);
    assert_ne!(c.params_hash, a.params_hash);
    assert_eq!(c.input_digest, a.input_digest);
    // A different requirement is a different collateral report input.
    let d = engine(b1_terms()).margin_call(&c4(Some(dec!(9100000))), &c4_prices(), 1);
    assert_ne!(d.input_digest, a.input_digest);
    // The holdings' order does not matter (the report's digest is order-free).
    let swapped = report_of(
        &[
            hold("binance-spot", "SOL", dec!(40000)),
            hold("binance-spot", "BTC", dec!(100)),
        ],
        &c4_prices(),
        Some(dec!(9000000)),
    );
    let s = engine(b1_terms()).margin_call(&swapped, &c4_prices(), 1);
    assert_eq!(s.input_digest, a.input_digest);
    // A top-up asset's price is an input.
    let mut p = c4_prices();
    p.insert(
        "USDC".into(),
        rp("USDC", dec!(0.9999), schemas::PriceStatus::Ok),
    );
    let u = engine(b1_terms()).margin_call(&report, &p, 1);
    assert_ne!(u.input_digest, a.input_digest);

    let r1 = e1_risk(&e1_cfg(), None);
    let r2 = e1_risk(
        &RiskConfig {
            alpha: dec!(0.9),
            ..e1_cfg()
        },
        None,
    );
    assert_ne!(r1.params_hash, r2.params_hash);
    let r3 = e1_risk(&e1_cfg(), Some("ff"));
    assert_ne!(r3.input_digest, r1.input_digest);
    assert_eq!(r3.params_hash, r1.params_hash);
    // Where the store lives is no parameter of the method.
    let r4 = e1_risk(
        &RiskConfig {
            store: Some("/elsewhere.redb".into()),
            ..e1_cfg()
        },
        None,
    );
    assert_eq!(r4.params_hash, r1.params_hash);
}

#[test]
fn a_risk_run_is_the_same_on_any_number_of_threads() {
    let k = kernel();
    let (history, _) = e1_history();
    let cfg = e1_cfg();
    let lib = default_library();
    let ctx = RiskContext {
        kernel: &k,
        cfg: &cfg,
        fallback: &lib[0],
        history: &history,
        params_hash: "h",
        csv_sha256: None,
    };
    let accounts: Vec<_> = (0..7u64)
        .map(|i| {
            let mut r = c4(Some(dec!(5000000) + rust_decimal::Decimal::from(i)));
            r.account = format!("fund-{i}");
            (r, i + 1)
        })
        .collect();
    let job = RiskJob { accounts };
    let one = compute_all(&ctx, &job, 1);
    let three = compute_all(&ctx, &job, 3);
    assert_eq!(one.len(), 7);
    assert_eq!(one, three);
    let order: Vec<&str> = three.iter().map(|r| r.account.as_str()).collect();
    assert_eq!(
        order,
        ["fund-0", "fund-1", "fund-2", "fund-3", "fund-4", "fund-5", "fund-6"]
    );
    assert!(three.iter().all(|r| r.es == Some(dec!(1163582.92))));
}
