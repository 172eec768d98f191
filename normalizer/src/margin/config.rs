//! The margin engine's config sections (margin.md "Config"; names binding): CSA terms per
//! account (`[accounts.<id>.terms]`), the stress library (`[stress]`), collateral at risk
//! (`[risk]`) and top-up step grids (`[assets.steps]`). Defaults are defined once, here (the
//! `Default` impls); `validate` reports every bad field with its path, like the rest of the
//! config. The binary embeds these structs in its `Config`.

use rust_decimal::Decimal;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One config error: the field's path and what is wrong.
pub type FieldError = (String, String);

/// CSA terms of one account (margin.md section 2); every field optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsaTerms {
    /// Unsecured exposure the account is allowed, in USD (default 0).
    pub threshold: Decimal,
    /// Collateral owed on top of the requirement, in USD (default 0).
    pub independent_amount: Decimal,
    /// A rounded call or return below this is not made (flag `BELOW_MTA`), in USD (default 0).
    pub minimum_transfer_amount: Decimal,
    /// Calls round up, returns down, to a multiple of this, in USD (default 0.01).
    pub rounding: Decimal,
    /// A call brings CV to this multiple of the CSA (default 1.00).
    pub call_target: Decimal,
    /// Returns are suggested only above this multiple of the CSA (default none: never).
    pub return_above: Option<Decimal>,
    /// A return leaves CV at this multiple of the CSA (default 1.00).
    pub return_to: Decimal,
    /// Assets a call may be cured with (default USD, USDC, USDT, BTC, ETH).
    pub topup_assets: Vec<String>,
}

impl Default for CsaTerms {
    fn default() -> Self {
        CsaTerms {
            threshold: Decimal::ZERO,
            independent_amount: Decimal::ZERO,
            minimum_transfer_amount: Decimal::ZERO,
            rounding: Decimal::new(1, 2),
            call_target: Decimal::ONE,
            return_above: None,
            return_to: Decimal::ONE,
            topup_assets: ["USD", "USDC", "USDT", "BTC", "ETH"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

impl CsaTerms {
    /// Every problem, each with its path under `path` (`accounts.<id>.terms`).
    pub fn validate(&self, path: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        for (name, v) in [
            ("threshold", self.threshold),
            ("independent_amount", self.independent_amount),
            ("minimum_transfer_amount", self.minimum_transfer_amount),
        ] {
            if v < Decimal::ZERO {
                e.push((format!("{path}.{name}"), format!("{v} must be >= 0")));
            }
        }
        for (name, v) in [
            ("rounding", self.rounding),
            ("call_target", self.call_target),
            ("return_to", self.return_to),
        ] {
            if v <= Decimal::ZERO {
                e.push((format!("{path}.{name}"), format!("{v} must be > 0")));
            }
        }
        if let Some(above) = self.return_above {
            // A return must not leave the account below its call target, or it would be
            // called back at once (ping-pong).
            if above < self.call_target {
                e.push((
                    format!("{path}.return_above"),
                    format!("{above} must be >= call_target {}", self.call_target),
                ));
            }
            if self.return_to > above || self.return_to < self.call_target {
                e.push((
                    format!("{path}.return_to"),
                    format!(
                        "{} must be within [call_target {}, return_above {above}]",
                        self.return_to, self.call_target
                    ),
                ));
            }
        }
        for (i, a) in self.topup_assets.iter().enumerate() {
            if !schemas::ids::is_valid_asset(a) {
                e.push((
                    format!("{path}.topup_assets[{i}]"),
                    format!("{a:?} is not an asset code"),
                ));
            }
        }
        e
    }
}

/// The classes a stress shock may name; `cash` is never shocked.
pub const SHOCK_CLASSES: &[&str] = &["btc", "eth", "alt", "long_tail", "stablecoin"];

/// One named scenario: relative price shocks by class (lowercase) or asset code (uppercase;
/// an asset code overrides its class).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scenario {
    pub name: String,
    pub shocks: BTreeMap<String, Decimal>,
}

impl Scenario {
    fn new(name: &str, shocks: &[(&str, Decimal)]) -> Self {
        Scenario {
            name: name.to_owned(),
            shocks: shocks.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }

    /// The shock of `asset` of class `class`: its own, else its class's, else 0. `cash` and
    /// `testnet` are never shocked.
    pub fn shock(&self, asset: &str, class: &str) -> Decimal {
        if class == "cash" || class == crate::valuation::TESTNET_CLASS {
            return Decimal::ZERO;
        }
        self.shocks
            .get(asset)
            .or_else(|| self.shocks.get(class))
            .copied()
            .unwrap_or(Decimal::ZERO)
    }
}

/// The default library of margin.md section 3 (names binding), in its order.
pub fn default_library() -> Vec<Scenario> {
    let d = |n: i64| Decimal::new(n, 2);
    vec![
        Scenario::new(
            "okx_mr6_down",
            &[
                ("btc", d(-24)),
                ("eth", d(-24)),
                ("alt", d(-36)),
                ("long_tail", d(-50)),
            ],
        ),
        Scenario::new(
            "okx_mr6_up",
            &[
                ("btc", d(24)),
                ("eth", d(24)),
                ("alt", d(36)),
                ("long_tail", d(50)),
            ],
        ),
        Scenario::new(
            "deribit_pm_down",
            &[
                ("btc", d(-16)),
                ("eth", d(-16)),
                ("alt", d(-16)),
                ("long_tail", d(-16)),
            ],
        ),
        Scenario::new("usdt_depeg_097", &[("USDT", d(-3))]),
        Scenario::new("usdc_depeg_087", &[("USDC", d(-13))]),
    ]
}

/// Name of the scenario whose class shocks stand in for missing history (section 4.2).
pub const HISTORY_FALLBACK: &str = "okx_mr6_down";

/// `[stress]`: a given `[stress.scenarios]` replaces the default library whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StressConfig {
    /// `[stress.scenarios.<name>]`: shocks by class or asset code, e.g. `btc = "-0.30"`.
    /// Kept in the order the deserializer gives the tables: by name through the binary's
    /// config loader (a TOML table has no order there), which is the "library order" of ties.
    #[serde(default, deserialize_with = "scenarios_in_order")]
    pub scenarios: Option<Vec<Scenario>>,
}

impl StressConfig {
    /// The library in force: the configured one, else the default.
    pub fn library(&self) -> Vec<Scenario> {
        self.scenarios.clone().unwrap_or_else(default_library)
    }

    /// Every problem, with its path under `path` (`stress`).
    pub fn validate(&self, path: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        for s in self.scenarios.iter().flatten() {
            let p = format!("{path}.scenarios.{}", s.name);
            if s.name.is_empty()
                || !s
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                e.push((
                    p.clone(),
                    "a scenario name is letters, digits, _ and -".into(),
                ));
            }
            for (k, v) in &s.shocks {
                let is_class = SHOCK_CLASSES.contains(&k.as_str());
                if !is_class && (k == "cash" || k == "usd" || k == "USD") {
                    e.push((format!("{p}.{k}"), "cash is never shocked".into()));
                } else if !is_class && !schemas::ids::is_valid_asset(k) {
                    e.push((
                        format!("{p}.{k}"),
                        format!(
                            "expected a class ({}) or an asset code",
                            SHOCK_CLASSES.join(", ")
                        ),
                    ));
                }
                if *v < -Decimal::ONE {
                    e.push((
                        format!("{p}.{k}"),
                        format!("{v} is below -1 (a negative price)"),
                    ));
                }
            }
        }
        e
    }
}

fn scenarios_in_order<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Scenario>>, D::Error> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Vec<Scenario>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a table of scenarios, each a table of shocks")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out: Vec<Scenario> = Vec::new();
            while let Some((name, shocks)) =
                map.next_entry::<String, BTreeMap<String, Decimal>>()?
            {
                out.push(Scenario { name, shocks });
            }
            Ok(out)
        }
    }
    d.deserialize_map(Ordered).map(Some)
}

/// `[risk]`: collateral at risk (margin.md section 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// ES confidence (default 0.975).
    pub alpha: Decimal,
    /// Return horizon in days (default 2).
    pub horizon_days: u32,
    /// Return horizon of `alt` and `long_tail` assets, in days (default 5).
    pub horizon_days_alt: u32,
    /// How many most recent days the scenarios are drawn from (default 250).
    pub lookback_days: u32,
    /// Fewer scenarios (or an asset with fewer returns): `INSUFFICIENT_HISTORY` (default 60).
    pub min_scenarios: u32,
    /// Optional seed history `date,asset,price`; a relative path is from the config's folder.
    pub fixings_csv: Option<PathBuf>,
    /// Share of the average daily volume one can sell a day (default 0.10).
    pub participation: Decimal,
    /// Average daily volume in units of the asset per day, by asset (optional).
    pub adv: BTreeMap<String, Decimal>,
    /// Risk figures are recomputed at least this often, in seconds (default 60).
    pub cadence_s: u64,
    /// The fixings store (a redb file); a relative path is from the config's folder. Default:
    /// `fixings.redb` in `$COLLATERAL_TRACKER_DATA_DIR`, else `$XDG_DATA_HOME/collateral-tracker`,
    /// else `$HOME/.local/share/collateral-tracker`.
    #[serde(skip_serializing)]
    pub store: Option<PathBuf>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            alpha: Decimal::new(975, 3),
            horizon_days: 2,
            horizon_days_alt: 5,
            lookback_days: 250,
            min_scenarios: 60,
            fixings_csv: None,
            participation: Decimal::new(10, 2),
            adv: BTreeMap::new(),
            cadence_s: 60,
            store: None,
        }
    }
}

impl RiskConfig {
    /// Every problem, with its path under `path` (`risk`).
    pub fn validate(&self, path: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        if self.alpha <= Decimal::ZERO || self.alpha >= Decimal::ONE {
            e.push((
                format!("{path}.alpha"),
                format!("{} must be within (0, 1)", self.alpha),
            ));
        }
        for (name, v) in [
            ("horizon_days", self.horizon_days),
            ("horizon_days_alt", self.horizon_days_alt),
            ("lookback_days", self.lookback_days),
            ("min_scenarios", self.min_scenarios),
        ] {
            if v == 0 {
                e.push((format!("{path}.{name}"), "must be > 0".into()));
            }
        }
        if self.horizon_days > 20 || self.horizon_days_alt > 20 {
            e.push((
                format!("{path}.horizon_days"),
                "horizons above 20 days have no liquidity factor".into(),
            ));
        }
        if self.participation <= Decimal::ZERO || self.participation > Decimal::ONE {
            e.push((
                format!("{path}.participation"),
                format!("{} must be within (0, 1]", self.participation),
            ));
        }
        for (asset, adv) in &self.adv {
            if !schemas::ids::is_valid_asset(asset) {
                e.push((format!("{path}.adv.{asset}"), "not an asset code".into()));
            }
            if *adv <= Decimal::ZERO {
                e.push((format!("{path}.adv.{asset}"), format!("{adv} must be > 0")));
            }
        }
        if self.cadence_s == 0 {
            e.push((format!("{path}.cadence_s"), "must be > 0".into()));
        }
        e
    }

    /// The store's path: `store` (relative to `config_dir`), else the default data dir.
    pub fn store_path(&self, config_dir: Option<&std::path::Path>) -> PathBuf {
        match &self.store {
            Some(p) => resolve(p, config_dir),
            None => default_data_dir().join("fixings.redb"),
        }
    }

    /// The seed CSV's path, relative paths resolved from `config_dir`.
    pub fn csv_path(&self, config_dir: Option<&std::path::Path>) -> Option<PathBuf> {
        self.fixings_csv.as_ref().map(|p| resolve(p, config_dir))
    }
}

/// `p` as given when absolute, else under `dir` (the config file's folder).
pub fn resolve(p: &std::path::Path, dir: Option<&std::path::Path>) -> PathBuf {
    match dir {
        Some(d) if p.is_relative() => d.join(p),
        _ => p.to_path_buf(),
    }
}

/// Where the tracker keeps its own data by default.
pub fn default_data_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("COLLATERAL_TRACKER_DATA_DIR")
        .or_else(|| env("XDG_DATA_HOME").map(|d| d.join("collateral-tracker")))
        .or_else(|| env("HOME").map(|h| h.join(".local/share/collateral-tracker")))
        .unwrap_or_else(|| PathBuf::from("data"))
}

/// `[assets.steps]`: the top-up grid by asset, e.g. `BTC = "0.00000001"`.
pub type AssetSteps = BTreeMap<String, Decimal>;

/// Every problem of `[assets.steps]`, paths under `path` (`assets.steps`).
pub fn validate_steps(steps: &AssetSteps, path: &str) -> Vec<FieldError> {
    let mut e = Vec::new();
    for (asset, step) in steps {
        if !schemas::ids::is_valid_asset(asset) {
            e.push((format!("{path}.{asset}"), "not an asset code".into()));
        }
        if *step <= Decimal::ZERO {
            e.push((format!("{path}.{asset}"), format!("{step} must be > 0")));
        }
    }
    e
}

/// The step of `asset` of class `class`: configured, else 0.01 for cash and stablecoins, else
/// 0.00000001 (BTC, ETH and any other coin).
pub fn step_of(steps: &AssetSteps, asset: &str, class: &str) -> Decimal {
    steps.get(asset).copied().unwrap_or(match class {
        "cash" | "stablecoin" => Decimal::new(1, 2),
        _ => Decimal::new(1, 8),
    })
}
