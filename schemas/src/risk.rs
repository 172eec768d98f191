//! The margin engine's records (margin.md sections 2-4 and "Records"): `margin_call.v1`,
//! `stress_report.v1` and `collateral_risk.v1`, each keyed `<account>`.
//!
//! Money is exact: collateral values are rounded down to the cent, amounts owed (calls,
//! deficits, ES, VaR, add-ons) up, returns down, coverages truncated to 4 dp; `raw_amount` is
//! published unrounded so a reader can check the rounding. Dates of the fixings history are
//! `YYYY-MM-DD` (UTC days).

use crate::time::Ts;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

schema_tag!(MarginCallSchema, "margin_call.v1");
schema_tag!(StressReportSchema, "stress_report.v1");
schema_tag!(CollateralRiskSchema, "collateral_risk.v1");

/// What a margin call asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CallDirection {
    /// The account must deliver collateral.
    Call,
    /// Collateral may be returned to the account.
    Return,
    /// Nothing to move (or no decision can be made yet: see the flags).
    None,
}

/// Where an account's margin call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CallState {
    /// Opened by a report and not yet cured.
    Open,
    /// This report cured the open call (published once; the next report has no call).
    Cured,
}

/// The CSA terms a margin call was computed with (margin.md section 2), every default applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarginTerms {
    pub threshold: Decimal,
    pub independent_amount: Decimal,
    pub minimum_transfer_amount: Decimal,
    pub rounding: Decimal,
    pub call_target: Decimal,
    /// Null: no returns are suggested.
    pub return_above: Option<Decimal>,
    pub return_to: Decimal,
    pub topup_assets: Vec<String>,
}

/// One way to cure a call: this quantity of one asset, added to the holdings, brings the
/// collateral value to `call_target x CSA` (full revaluation: tiers, de-peg, caps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    pub asset: String,
    /// The smallest quantity on the asset's step grid that cures the call.
    pub quantity: Decimal,
    /// The price it was valued at.
    pub price: Decimal,
}

/// A suggested move of collateral between sources (rebalancing; reserved, empty in v1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub asset: String,
    pub quantity: Decimal,
    /// Source ids (connectors).
    pub from: String,
    pub to: String,
    /// The quantity at the asset's reference price, in USD (before any venue haircut).
    pub value_usd: Decimal,
    /// The `venue_margin.v1` key whose coverage the transfer restores.
    pub venue_account: String,
}

/// `margin_call.v1`: one account's call or return under its CSA terms. Topic
/// `collateral.margin-calls.v1`, key `<account>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarginCallRecord {
    pub schema: MarginCallSchema,
    pub account: String,
    pub calc_time: Ts,
    pub seq: u64,
    /// The collateral report's requirement (rounded up to the cent); null when unknown.
    pub requirement: Option<Decimal>,
    /// `max(0, requirement + independent_amount - threshold)`; null without a requirement.
    pub credit_support_amount: Option<Decimal>,
    /// Rounded down to the cent.
    pub collateral_value: Decimal,
    /// CV / CSA truncated to 4 dp; null when the CSA is 0 or unknown.
    pub coverage: Option<Decimal>,
    pub direction: CallDirection,
    /// The unrounded amount before rounding and the MTA; null with direction `NONE`.
    pub raw_amount: Option<Decimal>,
    /// Calls rounded up, returns down, to a multiple of `rounding`; 0 below the MTA.
    pub amount: Decimal,
    /// `BELOW_MTA`, `AWAITING_BALANCES`, ... sorted.
    pub flags: Vec<String>,
    /// `<account>-<calc_time the call opened>`; null when no call is open or just cured.
    pub call_id: Option<String>,
    pub call_opened_at: Option<Ts>,
    pub state: Option<CallState>,
    /// Per eligible asset with a price, the quantity that cures the call; empty unless `CALL`.
    pub topups: Vec<TopUp>,
    /// Sum of the assets' cap excess (collateral counting 0), rounded down to the cent.
    pub idle_collateral: Decimal,
    pub terms: MarginTerms,
    /// Rebalancing suggestions between sources (empty in v1).
    pub transfers: Vec<Transfer>,
    pub method_version: String,
    pub params_hash: String,
    pub input_digest: String,
}

/// A stress scenario's outcome for one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StressStatus {
    Ok,
    MarginCall,
    NoRequirement,
}

/// One scenario of a stress report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StressScenarioResult {
    pub name: String,
    /// The stressed collateral value, rounded down to the cent.
    pub collateral_value: Decimal,
    /// Against the requirement, truncated to 4 dp; null without a positive requirement.
    pub coverage: Option<Decimal>,
    pub status: StressStatus,
    /// requirement - stressed CV rounded up to the cent; null unless `MARGIN_CALL`.
    pub deficit: Option<Decimal>,
}

/// `stress_report.v1`: every scenario of the library on one account. Topic
/// `collateral.stress.v1`, key `<account>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StressReportRecord {
    pub schema: StressReportSchema,
    pub account: String,
    pub calc_time: Ts,
    pub seq: u64,
    pub requirement: Option<Decimal>,
    /// In library order.
    pub scenarios: Vec<StressScenarioResult>,
    /// The scenario with the lowest CV (the first in library order on a tie); null when the
    /// library is empty.
    pub worst: Option<String>,
    pub method_version: String,
    pub params_hash: String,
    pub input_digest: String,
}

/// One held asset of a risk report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetRisk {
    pub asset: String,
    /// The horizon of its returns, in days.
    pub horizon_days: u32,
    /// The asset's own ES (the asset alone, linear loss), rounded up to the cent; null
    /// without enough scenarios.
    pub es: Option<Decimal>,
    /// ES / market value, half-even to 6 dp.
    pub es_pct: Option<Decimal>,
    /// 1 - pre-cap CV / market value, half-even to 6 dp; null without a market value.
    pub effective_haircut: Option<Decimal>,
    /// `ceil(quantity / (participation x adv))`; null without an `adv`.
    pub liquidity_days: Option<u64>,
    /// The smallest of 2, 5, 10, 20 days covering the liquidation; null without an `adv` or
    /// above 20 days (`ILLIQUID`).
    pub liquidity_horizon: Option<u32>,
    /// The asset's liquidity add-on, rounded up to the cent; null without an `adv`.
    pub liquidity_addon: Option<Decimal>,
    /// `INSUFFICIENT_HISTORY`, `HAIRCUT_BELOW_ES`, `ILLIQUID`, sorted.
    pub flags: Vec<String>,
}

/// `collateral_risk.v1`: Expected Shortfall of one account's collateral by historical
/// simulation. Topic `collateral.risk.v1`, key `<account>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollateralRiskRecord {
    pub schema: CollateralRiskSchema,
    pub account: String,
    pub calc_time: Ts,
    pub seq: u64,
    pub alpha: Decimal,
    /// The base horizon (alt and long_tail assets use their own: see `assets`).
    pub horizon_days: u32,
    pub n_scenarios: u64,
    /// First and last scenario day (`YYYY-MM-DD`); null without scenarios.
    pub history_from: Option<String>,
    pub history_to: Option<String>,
    /// Rounded up to the cent; null below `min_scenarios`.
    pub es: Option<Decimal>,
    pub var: Option<Decimal>,
    /// Sum of the assets' add-ons.
    pub liquidity_addon: Decimal,
    pub requirement: Option<Decimal>,
    /// (CV - ES) / requirement truncated to 4 dp; null without ES or a positive requirement.
    pub coverage_after_es: Option<Decimal>,
    pub assets: Vec<AssetRisk>,
    pub flags: Vec<String>,
    pub method_version: String,
    pub params_hash: String,
    pub input_digest: String,
}
