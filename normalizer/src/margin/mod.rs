//! The margin engine, method `margin-v1` (`../shared/spec/margin.md` sections 2-4): margin
//! calls under CSA terms with top-ups by full revaluation ([`calls`]), stress scenarios
//! ([`stress`]), collateral at risk by historical simulation ([`risk`]) and the daily fixings it
//! draws on ([`fixings`]).
//!
//! Everything here is a pure function of a `collateral_report.v1` (the counted quantities and
//! the prices the valuation used), the parameters and, for risk, a snapshot of fixings; only
//! the fixings store does I/O. Every revaluation goes through one kernel ([`book`]) that is
//! the valuation method of `collateral.md` compiled per parameter set, so a shocked price
//! crosses tiers, de-pegs a stablecoin and moves every concentration cap exactly as the
//! valuation would. Arithmetic is exact `Decimal`; rounding happens once, at output
//! ([`round`]).
//!
//! Wiring (for the driver): after each collateral report of an account,
//! [`MarginEngine::margin_call`] and, on each stress cadence tick, [`MarginEngine::stress`];
//! collateral at risk off the hot path with [`risk::RiskJob`] built from the latest reports
//! and a [`fixings::History`] snapshot, run on a background thread
//! ([`risk::compute_all`]), every `[risk] cadence_s` or when an account's holdings change.

pub mod book;
pub mod calls;
pub mod config;
pub mod digest;
pub mod fixings;
pub mod risk;
pub mod round;
pub mod stress;

use crate::valuation::ValuationParams;
use book::Kernel;
use calls::{CallBook, CallInputs};
use config::{AssetSteps, CsaTerms, StressConfig};
use rust_decimal::Decimal;
use schemas::{CollateralReport, MarginCallRecord, ReferencePrice, StressReportRecord};
use std::collections::{BTreeMap, HashMap};

pub const METHOD_VERSION: &str = "margin-v1";

/// Flags of the margin records.
pub mod flags {
    pub use crate::valuation::flags::{AWAITING_BALANCES, AWAITING_PRICES};
    /// The rounded amount is below the minimum transfer amount: 0 is moved.
    pub const BELOW_MTA: &str = "BELOW_MTA";
    /// The account has no requirement: no call or return.
    pub const NO_REQUIREMENT: &str = "NO_REQUIREMENT";
    /// A return was due but the report rests on stale or missing data.
    pub const RETURN_WITHHELD: &str = "RETURN_WITHHELD";
    /// Too few returns: the asset takes its class's `okx_mr6_down` shock; the account, no ES.
    pub const INSUFFICIENT_HISTORY: &str = "INSUFFICIENT_HISTORY";
    /// The asset's ES exceeds its effective haircut.
    pub const HAIRCUT_BELOW_ES: &str = "HAIRCUT_BELOW_ES";
    /// Liquidating the asset takes more than 20 days at the participation rate.
    pub const ILLIQUID: &str = "ILLIQUID";
}

/// The engine's parameters and the open calls: what the driver keeps for margin calls and
/// stress (collateral at risk runs apart, see [`risk`]).
#[derive(Clone, Debug)]
pub struct MarginEngine {
    kernel: Kernel,
    valuation_params_hash: String,
    terms: BTreeMap<String, CsaTerms>,
    default_terms: CsaTerms,
    steps: AssetSteps,
    library: Vec<config::Scenario>,
    stress_params_hash: String,
    calls_params_hash: HashMap<String, String>,
    calls: CallBook,
}

impl MarginEngine {
    /// `terms` by account (accounts without get the defaults); `valuation_params_hash` is the
    /// collateral reports' `params_hash`.
    pub fn new(
        params: &ValuationParams,
        valuation_params_hash: &str,
        terms: BTreeMap<String, CsaTerms>,
        steps: AssetSteps,
        stress: &StressConfig,
    ) -> Self {
        let library = stress.library();
        MarginEngine {
            kernel: Kernel::new(params),
            valuation_params_hash: valuation_params_hash.to_owned(),
            stress_params_hash: digest::stress_params_hash(valuation_params_hash, &library),
            library,
            terms,
            default_terms: CsaTerms::default(),
            steps,
            calls_params_hash: HashMap::new(),
            calls: CallBook::default(),
        }
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    pub fn library(&self) -> &[config::Scenario] {
        &self.library
    }

    /// The account's `margin_call.v1` after its collateral report `report`; `prices` are the
    /// latest reference prices by asset (for top-up assets it does not hold). Keeps the call's
    /// lifecycle between reports.
    pub fn margin_call(
        &mut self,
        report: &CollateralReport,
        prices: &HashMap<String, ReferencePrice>,
        seq: u64,
    ) -> MarginCallRecord {
        let terms = self
            .terms
            .get(&report.account)
            .unwrap_or(&self.default_terms);
        let hash = self
            .calls_params_hash
            .entry(report.account.clone())
            .or_insert_with(|| {
                digest::calls_params_hash(&self.valuation_params_hash, terms, &self.steps)
            });
        let inputs = CallInputs {
            report,
            terms,
            prices,
            steps: &self.steps,
            params_hash: hash,
            seq,
        };
        self.calls.evaluate(&self.kernel, &inputs)
    }

    /// The account's `stress_report.v1` for its collateral report `report`.
    pub fn stress(&self, report: &CollateralReport, seq: u64) -> StressReportRecord {
        stress::stress_report(
            &self.kernel,
            report,
            &self.library,
            &self.stress_params_hash,
            seq,
        )
    }

    /// The open call of `account`.
    pub fn open_call(&self, account: &str) -> Option<&calls::OpenCall> {
        self.calls.open_call(account)
    }
}

/// Sum that saturates instead of panicking (absurd magnitudes only).
pub(crate) fn sat_sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    values.fold(Decimal::ZERO, |a, v| a.saturating_add(v))
}
