//! margin.md's worked examples M1, B1, S1, E1, E2 and L1 on collateral.md's C4, every figure
//! exactly as the spec states it, plus the call lifecycle and the no-decision cases.

use crate::margin_support::*;
use normalizer::margin::book::Book;
use normalizer::margin::calls::{margin_call, CallBook, CallInputs, OpenCall};
use normalizer::margin::config::{default_library, AssetSteps, CsaTerms, RiskConfig, StressConfig};
use normalizer::margin::risk::{collateral_risk, es_var, Returns, RiskContext, RiskInputs};
use normalizer::margin::stress::stress_report;
use normalizer::margin::{flags, MarginEngine};
use normalizer::valuation::ValuationParams;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{CallDirection, CallState, CollateralReport, MarginCallRecord, StressStatus};
use std::collections::BTreeMap;

fn m1_terms() -> CsaTerms {
    CsaTerms {
        minimum_transfer_amount: dec!(250000),
        rounding: dec!(10000),
        call_target: dec!(1),
        return_above: Some(dec!(1)),
        ..CsaTerms::default()
    }
}

fn call(report: &CollateralReport, terms: &CsaTerms) -> MarginCallRecord {
    let prices = c4_prices();
    let steps = AssetSteps::new();
    let inp = CallInputs {
        report,
        terms,
        prices: &prices,
        steps: &steps,
        params_hash: "p",
        seq: 7,
    };
    margin_call(&kernel(), &inp, None).0
}

#[test]
fn m1_call_rounds_up_to_the_rounding_multiple() {
    let r = call(&c4(Some(dec!(9000000))), &m1_terms());
    assert_eq!(r.direction, CallDirection::Call);
    assert_eq!(r.raw_amount, Some(dec!(329974.21875)));
    assert_eq!(r.amount, dec!(330000));
    assert_eq!(r.credit_support_amount.unwrap().to_string(), "9000000.00");
    assert_eq!(r.collateral_value.to_string(), "8670025.78");
    assert_eq!(r.coverage.unwrap().to_string(), "0.9633");
    assert!(r.flags.is_empty(), "{:?}", r.flags);
    assert_eq!(r.state, Some(CallState::Open));
    assert_eq!(
        r.call_id.as_deref(),
        Some("fund-a-2026-11-24T12:00:00.000000Z")
    );
    assert_eq!(r.call_opened_at, Some(t0()));
    assert_eq!(r.seq, 7);
    assert_eq!(r.method_version, "margin-v1");
    assert!(r.transfers.is_empty());
}

#[test]
fn m1_below_the_mta_calls_nothing() {
    let terms = CsaTerms {
        minimum_transfer_amount: dec!(500000),
        ..m1_terms()
    };
    let r = call(&c4(Some(dec!(9000000))), &terms);
    assert_eq!(r.direction, CallDirection::Call);
    assert_eq!(r.raw_amount, Some(dec!(329974.21875)));
    assert_eq!(r.amount, Decimal::ZERO);
    assert_eq!(r.flags, vec![flags::BELOW_MTA]);
    // Nothing is called, so no call opens.
    assert_eq!((r.state, r.call_id), (None, None));
}

#[test]
fn m1_returns_round_down_and_count_the_independent_amount() {
    let r = call(&c4(Some(dec!(5000000))), &m1_terms());
    assert_eq!(r.direction, CallDirection::Return);
    assert_eq!(r.raw_amount, Some(dec!(3670025.78125)));
    assert_eq!(r.amount, dec!(3670000));
    assert_eq!(r.coverage.unwrap().to_string(), "1.7340");
    assert!(r.topups.is_empty());
    let ia = CsaTerms {
        independent_amount: dec!(1000000),
        ..m1_terms()
    };
    let r = call(&c4(Some(dec!(5000000))), &ia);
    assert_eq!(r.credit_support_amount.unwrap(), dec!(6000000));
    assert_eq!(r.raw_amount, Some(dec!(2670025.78125)));
    assert_eq!(r.amount, dec!(2670000));
}

#[test]
fn m1_threshold_turns_the_call_into_a_return_below_the_mta() {
    let terms = CsaTerms {
        threshold: dec!(500000),
        ..m1_terms()
    };
    let r = call(&c4(Some(dec!(9000000))), &terms);
    assert_eq!(r.credit_support_amount.unwrap(), dec!(8500000));
    assert_eq!(r.direction, CallDirection::Return);
    assert_eq!(r.raw_amount, Some(dec!(170025.78125)));
    assert_eq!(r.amount, Decimal::ZERO);
    assert_eq!(r.flags, vec![flags::BELOW_MTA]);
}

#[test]
fn b1_topups_by_full_revaluation() {
    let terms = CsaTerms {
        call_target: dec!(1.10),
        topup_assets: vec!["USDC".into(), "BTC".into(), "USD".into()],
        ..CsaTerms::default()
    };
    let r = call(&c4(Some(dec!(9000000))), &terms);
    assert_eq!(r.direction, CallDirection::Call);
    assert_eq!(r.raw_amount, Some(dec!(1229974.21875)));
    let got: Vec<(String, String, String)> = r
        .topups
        .iter()
        .map(|t| (t.asset.clone(), t.quantity.to_string(), t.price.to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("USDC".into(), "993918.57".into(), "1.0000".into()),
            ("BTC".into(), "16.62042923".into(), "64003.25".into()),
            ("USD".into(), "983979.38".into(), "1".into()),
        ]
    );
    assert_eq!(r.idle_collateral.to_string(), "1828874.84");
    // The naive gap / (1 - haircut) would ask for far more USDC than needed.
    assert!(dec!(1242398.21) > r.topups[0].quantity);
}

#[test]
fn b1_each_topup_is_the_smallest_on_its_grid() {
    let k = kernel();
    let report = c4(Some(dec!(9000000)));
    let (book, p0) = Book::from_report(&k, &report);
    let target = dec!(9900000);
    for (asset, price, q, step) in [
        ("USDC", dec!(1.0000), dec!(993918.57), dec!(0.01)),
        ("BTC", dec!(64003.25), dec!(16.62042923), dec!(0.00000001)),
        ("USD", dec!(1), dec!(983979.38), dec!(0.01)),
    ] {
        let (mut b, p, i) = book.with_added(&k, asset, &p0, price);
        let base = b.lines[i].quantity;
        b.lines[i].quantity = base + q;
        assert!(k.cv(&b, &p, &mut Vec::new()) >= target, "{asset} {q} cures");
        b.lines[i].quantity = base + q - step;
        assert!(
            k.cv(&b, &p, &mut Vec::new()) < target,
            "{asset} one step less does not"
        );
    }
}

#[test]
fn calls_stay_open_until_cured_then_cured_once() {
    let k = kernel();
    let terms = m1_terms();
    let prices = c4_prices();
    let steps = AssetSteps::new();
    let mut book = CallBook::default();
    let mut eval = |report: &CollateralReport| {
        book.evaluate(
            &k,
            &CallInputs {
                report,
                terms: &terms,
                prices: &prices,
                steps: &steps,
                params_hash: "p",
                seq: 1,
            },
        )
    };
    let first = eval(&c4(Some(dec!(9000000))));
    let id = first.call_id.clone().unwrap();
    // Later and still short: the same call.
    let mut later = c4(Some(dec!(9000000)));
    later.calc_time = t0().plus_millis(60_000);
    let second = eval(&later);
    assert_eq!(
        (second.state, second.call_id.as_deref()),
        (Some(CallState::Open), Some(id.as_str()))
    );
    assert_eq!(second.call_opened_at, Some(t0()));
    // Cured: requirement down to the CV's level.
    let mut cured = c4(Some(dec!(8000000)));
    cured.calc_time = t0().plus_millis(120_000);
    let third = eval(&cured);
    assert_eq!(
        (third.state, third.call_id.as_deref()),
        (Some(CallState::Cured), Some(id.as_str()))
    );
    // Once: the next report has no call.
    cured.calc_time = t0().plus_millis(180_000);
    let fourth = eval(&cured);
    assert_eq!((fourth.state, fourth.call_id), (None, None));
}

#[test]
fn an_open_call_below_the_mta_stays_open() {
    let open = OpenCall {
        call_id: "fund-a-x".into(),
        opened_at: t0(),
    };
    let terms = CsaTerms {
        minimum_transfer_amount: dec!(500000),
        ..m1_terms()
    };
    let report = c4(Some(dec!(9000000)));
    let prices = c4_prices();
    let steps = AssetSteps::new();
    let inp = CallInputs {
        report: &report,
        terms: &terms,
        prices: &prices,
        steps: &steps,
        params_hash: "p",
        seq: 1,
    };
    let (r, next) = margin_call(&kernel(), &inp, Some(&open));
    assert_eq!(r.amount, Decimal::ZERO);
    assert_eq!(r.state, Some(CallState::Open));
    assert_eq!(next, Some(open));
}

#[test]
fn awaiting_balances_and_no_requirement_decide_nothing() {
    let mut report = c4(Some(dec!(9000000)));
    report.flags.push(flags::AWAITING_BALANCES.into());
    let r = call(&report, &m1_terms());
    assert_eq!(
        (r.direction, r.amount, r.raw_amount),
        (CallDirection::None, Decimal::ZERO, None)
    );
    assert_eq!(r.flags, vec![flags::AWAITING_BALANCES]);
    assert!(r.topups.is_empty() && r.state.is_none());
    let r = call(&c4(None), &m1_terms());
    assert_eq!(r.direction, CallDirection::None);
    assert_eq!(r.flags, vec![flags::NO_REQUIREMENT]);
    assert_eq!((r.credit_support_amount, r.coverage), (None, None));
}

#[test]
fn a_degraded_report_withholds_returns_but_not_calls() {
    let mut report = c4(Some(dec!(5000000)));
    report.status = schemas::CollateralStatus::Degraded;
    let r = call(&report, &m1_terms());
    assert_eq!(
        (r.direction, r.amount),
        (CallDirection::None, Decimal::ZERO)
    );
    assert_eq!(r.flags, vec![flags::RETURN_WITHHELD]);
    let mut report = c4(Some(dec!(9000000)));
    report.status = schemas::CollateralStatus::Degraded;
    assert_eq!(call(&report, &m1_terms()).amount, dec!(330000));
}

#[test]
fn s1_stress_by_full_revaluation() {
    let k = kernel();
    let lib = default_library();
    let r = stress_report(&k, &c4(Some(dec!(5000000))), &lib, "h", 3);
    let rows: Vec<(&str, String, String, StressStatus)> = r
        .scenarios
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.collateral_value.to_string(),
                s.coverage.unwrap().to_string(),
                s.status,
            )
        })
        .collect();
    assert_eq!(
        rows[0],
        (
            "okx_mr6_down",
            "6522013.31".into(),
            "1.3044".into(),
            StressStatus::Ok
        )
    );
    assert_eq!(
        rows[2],
        (
            "deribit_pm_down",
            "7341821.65".into(),
            "1.4683".into(),
            StressStatus::Ok
        )
    );
    // No stablecoin held: the de-peg scenarios leave C4's CV as it is.
    assert_eq!(rows[3].1, "8670025.78");
    assert_eq!(rows[4].1, "8670025.78");
    assert_eq!(r.worst.as_deref(), Some("okx_mr6_down"));
    assert!(r.scenarios.iter().all(|s| s.deficit.is_none()));
    // Against 9 M the crash is a call, its deficit rounded up.
    let r = stress_report(&k, &c4(Some(dec!(9000000))), &lib, "h", 3);
    assert_eq!(r.scenarios[0].status, StressStatus::MarginCall);
    assert_eq!(r.scenarios[0].deficit.unwrap().to_string(), "2477986.69");
}

#[test]
fn stress_depegs_a_shocked_stablecoin_and_ties_go_to_the_first() {
    let k = kernel();
    let report = report_of(
        &[hold("x", "USDT", dec!(12000000))],
        &prices(&[("USDT", dec!(1))]),
        None,
    );
    let r = stress_report(&k, &report, &default_library(), "h", 1);
    // USDT at 0.97: alt tiers (C3) and the 25 % alt cap on a single-asset account.
    let usdt = &r.scenarios[3];
    assert_eq!(usdt.name, "usdt_depeg_097");
    assert_eq!(usdt.collateral_value.to_string(), "1958500.00");
    assert_eq!(usdt.status, StressStatus::NoRequirement);
    assert_eq!(r.worst.as_deref(), Some("usdt_depeg_097"));
    // Three scenarios leave it untouched: equal CVs, the first of them is not the worst.
    let cash = report_of(&[hold("x", "USD", dec!(10))], &prices(&[]), Some(dec!(5)));
    let r = stress_report(&k, &cash, &default_library(), "h", 1);
    assert!(r.scenarios.iter().all(|s| s.collateral_value == dec!(10)));
    assert_eq!(r.worst.as_deref(), Some("okx_mr6_down"));
}

fn e1_config() -> RiskConfig {
    RiskConfig {
        alpha: dec!(0.85),
        horizon_days_alt: 2,
        min_scenarios: 10,
        adv: BTreeMap::from([("SOL".to_owned(), dec!(150000))]),
        ..RiskConfig::default()
    }
}

#[test]
fn e1_losses_es_var_and_coverage_after_es() {
    let k = kernel();
    let report = c4(Some(dec!(5000000)));
    let (book, p0) = Book::from_report(&k, &report);
    let cv0 = k.cv(&book, &p0, &mut Vec::new());
    assert_eq!(cv0, dec!(8670025.78125));
    let losses: Vec<Decimal> = E1
        .iter()
        .map(|(b, s)| {
            let p = vec![
                Some(dec!(64003.25) * (Decimal::ONE + b.parse::<Decimal>().unwrap())),
                Some(dec!(150.15) * (Decimal::ONE + s.parse::<Decimal>().unwrap())),
            ];
            cv0 - k.cv(&book, &p, &mut Vec::new())
        })
        .collect();
    let cents: Vec<String> = losses.iter().map(|l| l.round_dp(2).to_string()).collect();
    assert_eq!(
        cents,
        [
            "737461.31",
            "360172.11",
            "-221946.29",
            "1343406.12",
            "-75291.01",
            "24582.45",
            "-617318.48",
            "251354.62",
            "-251419.60",
            "803936.50"
        ]
    );
    let (es, var) = es_var(&losses, dec!(0.85)).unwrap();
    assert_eq!(var, dec!(803936.49921875));
    assert_eq!(
        es.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToPositiveInfinity),
        dec!(1163582.92)
    );

    let (history, days) = e1_history();
    let cfg = e1_config();
    let lib = default_library();
    let ctx = RiskContext {
        kernel: &k,
        cfg: &cfg,
        fallback: &lib[0],
        history: &history,
        params_hash: "h",
        csv_sha256: None,
    };
    let r = collateral_risk(
        &ctx,
        &RiskInputs {
            report: &report,
            seq: 2,
        },
        &mut Returns::default(),
    );
    assert_eq!(r.n_scenarios, 10);
    assert_eq!(r.es.unwrap().to_string(), "1163582.92");
    assert_eq!(r.var.unwrap().to_string(), "803936.50");
    assert_eq!(r.coverage_after_es.unwrap().to_string(), "1.5012");
    assert_eq!(
        r.history_from.as_deref(),
        Some(normalizer::margin::fixings::format_day(days[0]).as_str())
    );
    assert_eq!(r.history_to.as_deref(), Some("2026-11-24"));
    assert_eq!((r.alpha, r.horizon_days), (dec!(0.85), 2));
}

#[test]
fn e2_and_l1_per_asset_es_haircut_and_liquidity() {
    let k = kernel();
    let report = c4(Some(dec!(5000000)));
    let (history, _) = e1_history();
    let cfg = e1_config();
    let lib = default_library();
    let ctx = RiskContext {
        kernel: &k,
        cfg: &cfg,
        fallback: &lib[0],
        history: &history,
        params_hash: "h",
        csv_sha256: None,
    };
    let r = collateral_risk(
        &ctx,
        &RiskInputs {
            report: &report,
            seq: 2,
        },
        &mut Returns::default(),
    );
    let btc = &r.assets[0];
    assert_eq!(btc.asset, "BTC");
    assert_eq!(btc.es_pct.unwrap().to_string(), "0.133667");
    assert_eq!(btc.effective_haircut.unwrap().to_string(), "0.055470");
    assert_eq!(btc.flags, vec![flags::HAIRCUT_BELOW_ES]);
    assert_eq!((btc.liquidity_days, btc.liquidity_addon), (None, None));
    let sol = &r.assets[1];
    assert_eq!(sol.asset, "SOL");
    assert_eq!(sol.es_pct.unwrap().to_string(), "0.195667");
    assert_eq!(sol.effective_haircut.unwrap().to_string(), "0.258475");
    assert!(sol.flags.is_empty(), "{:?}", sol.flags);
    // L1: 40,000 SOL at 10 % of 150,000 a day: 3 days, H_eff 5.
    assert_eq!(sol.es.unwrap().to_string(), "1175174.00");
    assert_eq!(
        (sol.liquidity_days, sol.liquidity_horizon),
        (Some(3), Some(5))
    );
    assert_eq!(sol.liquidity_addon.unwrap().to_string(), "682939.45");
    assert_eq!(r.liquidity_addon.to_string(), "682939.45");
    assert_eq!(r.flags, vec![flags::HAIRCUT_BELOW_ES]);
}

#[test]
fn short_history_falls_back_to_the_class_shock_and_publishes_no_es() {
    let k = kernel();
    let report = c4(Some(dec!(5000000)));
    let (history, _) = e1_history();
    // SOL needs 11 returns: it takes okx_mr6_down's alt shock (-36 %) in every scenario.
    let cfg = RiskConfig {
        min_scenarios: 10,
        horizon_days_alt: 5,
        alpha: dec!(0.85),
        ..RiskConfig::default()
    };
    let lib = default_library();
    let ctx = RiskContext {
        kernel: &k,
        cfg: &cfg,
        fallback: &lib[0],
        history: &history,
        params_hash: "h",
        csv_sha256: None,
    };
    let r = collateral_risk(
        &ctx,
        &RiskInputs {
            report: &report,
            seq: 1,
        },
        &mut Returns::default(),
    );
    assert_eq!(r.n_scenarios, 10);
    let sol = &r.assets[1];
    // 36 % is more than SOL's effective haircut of 25.8475 %.
    assert_eq!(
        (sol.horizon_days, sol.flags.clone()),
        (
            5,
            vec![
                flags::HAIRCUT_BELOW_ES.to_owned(),
                flags::INSUFFICIENT_HISTORY.to_owned()
            ]
        )
    );
    assert_eq!(sol.es_pct.unwrap().to_string(), "0.360000");
    assert!(r.flags.contains(&flags::INSUFFICIENT_HISTORY.to_owned()));
    // Too few scenarios for the account: no ES at all.
    let cfg = RiskConfig {
        min_scenarios: 11,
        ..e1_config()
    };
    let ctx = RiskContext { cfg: &cfg, ..ctx };
    let r = collateral_risk(
        &ctx,
        &RiskInputs {
            report: &report,
            seq: 1,
        },
        &mut Returns::default(),
    );
    assert_eq!(
        (r.es, r.var, r.coverage_after_es, r.n_scenarios),
        (None, None, None, 0)
    );
    assert_eq!(r.flags, vec![flags::INSUFFICIENT_HISTORY]);
}

#[test]
fn the_engine_keeps_terms_per_account_and_hashes_its_parameters() {
    let params = ValuationParams::default();
    let mut engine = MarginEngine::new(
        &params,
        "vh",
        BTreeMap::from([("fund-a".to_owned(), m1_terms())]),
        AssetSteps::new(),
        &StressConfig::default(),
    );
    let r = engine.margin_call(&c4(Some(dec!(9000000))), &c4_prices(), 1);
    assert_eq!(r.amount, dec!(330000));
    assert_eq!(r.params_hash.len(), 64);
    assert_eq!(r.input_digest.len(), 64);
    assert!(engine.open_call("fund-a").is_some());
    let s = engine.stress(&c4(Some(dec!(5000000))), 1);
    assert_eq!(s.scenarios.len(), 5);
    assert_ne!(s.params_hash, r.params_hash);
}
