//! Stress scenarios (margin.md section 3): each scenario shocks the prices the account's
//! collateral report used, relative to them, by asset code or else by class (`cash` never),
//! and the collateral value is recomputed in full by the valuation kernel: tiers, the de-peg
//! rule (a stablecoin shocked past 2 % moves to the `alt` tiers and cap), every concentration
//! cap against the stressed total.
//!
//! Choices: the class of an asset is its valuation class before any de-peg (`class_of`); an
//! asset without a price stays without one (MV 0 in every scenario, as in the report). The
//! requirement is the report's; without one the status is `NO_REQUIREMENT` and coverage null;
//! with a requirement of 0 coverage is null and only a negative CV is a `MARGIN_CALL`. A config
//! library is in scenario-name order (the config loader keeps no TOML table order), which
//! decides `worst` on a tie; the default library keeps the spec's order.

use super::book::{Book, Kernel};
use super::config::Scenario;
use super::digest;
use super::round::{cents_down, cents_up, ratio_4dp};
use rust_decimal::Decimal;
use schemas::{
    CollateralReport, StressReportRecord, StressReportSchema, StressScenarioResult, StressStatus,
};

/// The prices of `book` under `scenario`: `p0 x (1 + shock)`.
pub fn shocked_prices(
    kernel: &Kernel,
    book: &Book,
    p0: &[Option<Decimal>],
    scenario: &Scenario,
) -> Vec<Option<Decimal>> {
    book.lines
        .iter()
        .zip(p0)
        .map(|(l, p)| {
            let s = scenario.shock(&l.asset, kernel.class_name(&l.asset));
            p.map(|p| {
                if s.is_zero() {
                    p
                } else {
                    p * (Decimal::ONE + s)
                }
            })
        })
        .collect()
}

/// One scenario's result against `requirement`.
pub fn judge(name: &str, cv: Decimal, requirement: Option<Decimal>) -> StressScenarioResult {
    let (coverage, status, deficit) = match requirement {
        None => (None, StressStatus::NoRequirement, None),
        Some(r) => {
            let coverage = (r > Decimal::ZERO).then(|| ratio_4dp(cv, r));
            if cv < r {
                (coverage, StressStatus::MarginCall, Some(cents_up(r - cv)))
            } else {
                (coverage, StressStatus::Ok, None)
            }
        }
    };
    StressScenarioResult {
        name: name.to_owned(),
        collateral_value: cents_down(cv),
        coverage,
        status,
        deficit,
    }
}

/// The exact stressed CV of each scenario, in library order.
pub fn stressed_cvs(
    kernel: &Kernel,
    book: &Book,
    p0: &[Option<Decimal>],
    library: &[Scenario],
) -> Vec<Decimal> {
    let mut scratch = Vec::with_capacity(book.lines.len());
    library
        .iter()
        .map(|s| kernel.cv(book, &shocked_prices(kernel, book, p0, s), &mut scratch))
        .collect()
}

/// The account's `stress_report.v1`. Pure.
pub fn stress_report(
    kernel: &Kernel,
    report: &CollateralReport,
    library: &[Scenario],
    params_hash: &str,
    seq: u64,
) -> StressReportRecord {
    let (book, p0) = Book::from_report(kernel, report);
    let cvs = stressed_cvs(kernel, &book, &p0, library);
    // The first scenario with the lowest CV: `min_by` keeps the first of equals.
    let worst = cvs
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.cmp(b.1))
        .map(|(i, _)| library[i].name.clone());
    StressReportRecord {
        schema: StressReportSchema,
        account: report.account.clone(),
        calc_time: report.calc_time,
        seq,
        requirement: report.requirement,
        scenarios: library
            .iter()
            .zip(&cvs)
            .map(|(s, cv)| judge(&s.name, *cv, report.requirement))
            .collect(),
        worst,
        method_version: super::METHOD_VERSION.to_owned(),
        params_hash: params_hash.to_owned(),
        input_digest: digest::stress_input_digest(report),
    }
}
