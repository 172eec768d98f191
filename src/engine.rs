//! The margin engine of a run or a replay, from config: CSA terms, stress library, collateral
//! at risk and its fixings (margin.md sections 2-4). Live, the fixings store (embedded, redb)
//! is opened, seeded from `[risk] fixings_csv` and kept; a replay reads the CSV only and writes
//! nothing.

use crate::config::{Config, ConfigError};
use normalizer::core::margin::MarginState;
use normalizer::core::Normalizer;
use normalizer::margin::fixings::{self, Fixing, FixingStore};
use normalizer::margin::{MarginEngine, RiskSetup};

/// The engine for `normalizer` (its valuation parameters) under `cfg`; `store` for a live run.
pub fn margin_state(
    cfg: &Config,
    normalizer: &Normalizer,
    store: Option<FixingStore>,
) -> Result<MarginState, ConfigError> {
    let params = normalizer.valuer().params();
    let hash = normalizer.valuer().params_hash();
    let terms = cfg
        .accounts
        .iter()
        .filter_map(|(id, a)| Some((id.clone(), a.terms.clone()?)))
        .collect();
    let engine = MarginEngine::new(params, hash, terms, cfg.assets.steps.clone(), &cfg.stress);
    let mut setup = RiskSetup::new(params, hash, &cfg.risk, &cfg.stress);
    let dir = cfg.dir.as_deref();
    let csv_error = |e: fixings::FixingsError| ConfigError::new("risk.fixings_csv", e.to_string());
    let seed: Vec<Fixing> = match &store {
        Some(store) => {
            setup.seed(store, dir).map_err(csv_error)?;
            store
                .list(None)
                .map_err(|e| ConfigError::new("risk.store", e.to_string()))?
                .into_iter()
                .map(|f| Fixing {
                    asset: f.asset,
                    day: f.day,
                    price: f.price,
                })
                .collect()
        }
        None => match cfg.risk.csv_path(dir) {
            Some(path) => {
                let (rows, sha) = fixings::read_csv(&path).map_err(csv_error)?;
                setup.csv_sha256 = Some(sha);
                rows
            }
            None => Vec::new(),
        },
    };
    Ok(MarginState::new(engine).with_risk(setup, &seed, store))
}

/// The store of a live run: `[risk] store` (or the default data dir), created if missing.
pub fn open_store(cfg: &Config) -> Result<FixingStore, ConfigError> {
    let path = cfg.risk.store_path(cfg.dir.as_deref());
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    FixingStore::open(&path).map_err(|e| ConfigError::new("risk.store", e.to_string()))
}
