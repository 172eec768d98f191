//! `params_hash` and `input_digest` of the margin records: SHA-256 (lowercase hex) of canonical
//! JSON, as for `collateral_report.v1` (`valuation/digest.rs`), so anyone holding a record and
//! its inputs can recompute both with any JSON library.
//!
//! Every margin record is computed from one collateral report, so its inputs are that report's
//! `input_digest` and `params_hash` (which pin holdings, prices, requirement and the valuation
//! parameters) plus what the report does not hold: the prices of top-up assets not held, the
//! open call carried in, and for collateral at risk the fixings used and the seed CSV's SHA-256.

use super::calls::OpenCall;
use super::config::{AssetSteps, CsaTerms, RiskConfig, Scenario};
use rust_decimal::Decimal;
use schemas::{CollateralReport, Ts};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// SHA-256 hex of `value`'s JSON.
pub fn sha256_json<T: Serialize>(value: &T) -> String {
    // Plain structs of strings and decimals cannot fail to serialize; an empty string would
    // still hash deterministically if one ever did.
    let json = serde_json::to_string(value).unwrap_or_default();
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// SHA-256 hex of raw bytes (the seed CSV).
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Serialize)]
struct CallParams<'a> {
    method_version: &'a str,
    valuation_params_hash: &'a str,
    terms: &'a CsaTerms,
    steps: &'a AssetSteps,
}

/// The call parameters of one account: its terms, the step grids, the valuation's parameters.
pub fn calls_params_hash(
    valuation_params_hash: &str,
    terms: &CsaTerms,
    steps: &AssetSteps,
) -> String {
    sha256_json(&CallParams {
        method_version: super::METHOD_VERSION,
        valuation_params_hash,
        terms,
        steps,
    })
}

#[derive(Serialize)]
struct StressParams<'a> {
    method_version: &'a str,
    valuation_params_hash: &'a str,
    library: &'a [Scenario],
}

/// The stress library in force (its order included) and the valuation's parameters.
pub fn stress_params_hash(valuation_params_hash: &str, library: &[Scenario]) -> String {
    sha256_json(&StressParams {
        method_version: super::METHOD_VERSION,
        valuation_params_hash,
        library,
    })
}

#[derive(Serialize)]
struct RiskParams<'a> {
    method_version: &'a str,
    valuation_params_hash: &'a str,
    risk: &'a RiskConfig,
    liquidity_factors: [(u32, Decimal); 4],
    history_fallback: &'a Scenario,
}

/// `[risk]` (the store's location aside), the liquidity factor table, the fallback shocks.
pub fn risk_params_hash(
    valuation_params_hash: &str,
    risk: &RiskConfig,
    fallback: &Scenario,
) -> String {
    sha256_json(&RiskParams {
        method_version: super::METHOD_VERSION,
        valuation_params_hash,
        risk,
        liquidity_factors: super::risk::LIQUIDITY_FACTORS,
        history_fallback: fallback,
    })
}

#[derive(Serialize)]
struct ReportInputs<'a, X: Serialize> {
    account: &'a str,
    calc_time: Ts,
    collateral_report_input_digest: &'a str,
    collateral_report_params_hash: &'a str,
    extra: X,
}

fn over_report<X: Serialize>(report: &CollateralReport, extra: X) -> String {
    sha256_json(&ReportInputs {
        account: &report.account,
        calc_time: report.calc_time,
        collateral_report_input_digest: &report.input_digest,
        collateral_report_params_hash: &report.params_hash,
        extra,
    })
}

#[derive(Serialize)]
struct CallExtra<'a> {
    topup_prices: &'a [(&'a str, Decimal)],
    open_call: Option<(&'a str, Ts)>,
}

pub fn calls_input_digest(
    report: &CollateralReport,
    topup_prices: &[(&str, Decimal)],
    open: Option<&OpenCall>,
) -> String {
    over_report(
        report,
        CallExtra {
            topup_prices,
            open_call: open.map(|o| (o.call_id.as_str(), o.opened_at)),
        },
    )
}

pub fn stress_input_digest(report: &CollateralReport) -> String {
    over_report(report, ())
}

#[derive(Serialize)]
struct RiskExtra<'a> {
    /// Per asset whose history was used: (asset, SHA-256 of its fixings series).
    fixings: &'a [(&'a str, &'a str)],
    fixings_csv_sha256: Option<&'a str>,
}

pub fn risk_input_digest(
    report: &CollateralReport,
    fixings: &[(&str, &str)],
    csv_sha256: Option<&str>,
) -> String {
    over_report(
        report,
        RiskExtra {
            fixings,
            fixings_csv_sha256: csv_sha256,
        },
    )
}
