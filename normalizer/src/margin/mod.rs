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
//! Wiring (for the driver):
//! - at start: [`MarginEngine::new`] (valuation params and their hash, each account's
//!   `terms`, `[assets.steps]`, `[stress]`); [`fixings::FixingStore::open`] at
//!   `RiskConfig::store_path`; [`RiskSetup::new`], whose [`RiskSetup::seed`] imports
//!   `[risk] fixings_csv` (kept stored days win) and keeps its SHA-256 for `input_digest`.
//! - every `reference_price.v1`: [`fixings::FixingRecorder::observe`]; a returned fixing goes
//!   to [`fixings::FixingStore::record`].
//! - every collateral report of an account: [`MarginEngine::margin_call`] (the report, the
//!   latest reference prices, the account's next `seq`), and [`MarginEngine::stress`] on each
//!   cadence tick of the reports.
//! - every `[risk] cadence_s`, or when an account's holdings changed: a [`risk::RiskJob`] of
//!   the latest report (and next `seq`) of each account concerned and
//!   [`fixings::FixingStore::history`], handed to [`RiskSetup::run`] on a background thread
//!   (`spawn_blocking`); its records are published when it returns.

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

/// Everything a background risk run needs, owned (`Send + Sync`, share it in an `Arc`).
#[derive(Clone, Debug)]
pub struct RiskSetup {
    pub kernel: Kernel,
    pub cfg: config::RiskConfig,
    /// The library's `okx_mr6_down` (the default one's when the library has none).
    pub fallback: config::Scenario,
    pub params_hash: String,
    /// SHA-256 of the seed CSV, once imported.
    pub csv_sha256: Option<String>,
}

impl RiskSetup {
    pub fn new(
        params: &ValuationParams,
        valuation_params_hash: &str,
        cfg: &config::RiskConfig,
        stress: &StressConfig,
    ) -> Self {
        let fallback = stress
            .library()
            .into_iter()
            .chain(config::default_library())
            .find(|s| s.name == config::HISTORY_FALLBACK)
            .unwrap_or_else(|| config::default_library().remove(0));
        RiskSetup {
            kernel: Kernel::new(params),
            params_hash: digest::risk_params_hash(valuation_params_hash, cfg, &fallback),
            cfg: cfg.clone(),
            fallback,
            csv_sha256: None,
        }
    }

    /// Imports `[risk] fixings_csv` (relative to `config_dir`) into `store`, if configured.
    pub fn seed(
        &mut self,
        store: &fixings::FixingStore,
        config_dir: Option<&std::path::Path>,
    ) -> Result<Option<fixings::ImportSummary>, fixings::FixingsError> {
        let Some(path) = self.cfg.csv_path(config_dir) else {
            return Ok(None);
        };
        let (rows, sha) = fixings::read_csv(&path)?;
        let summary = store.import(&rows, &sha)?;
        self.csv_sha256 = Some(sha);
        Ok(Some(summary))
    }

    /// Every account's `collateral_risk.v1` of `job` against `history`, on `threads` threads.
    pub fn run(
        &self,
        history: &fixings::History,
        job: &risk::RiskJob,
        threads: usize,
    ) -> Vec<schemas::CollateralRiskRecord> {
        let ctx = risk::RiskContext {
            kernel: &self.kernel,
            cfg: &self.cfg,
            fallback: &self.fallback,
            history,
            params_hash: &self.params_hash,
            csv_sha256: self.csv_sha256.as_deref(),
        };
        risk::compute_all(&ctx, job, threads)
    }
}

/// Sum that saturates instead of panicking (absurd magnitudes only).
pub(crate) fn sat_sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    values.fold(Decimal::ZERO, |a, v| a.saturating_add(v))
}
