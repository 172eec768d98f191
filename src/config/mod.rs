//! The TOML config of interface.md: strict (unknown fields refused), every field documented,
//! defaults defined once, and one validation pass that reports every error with its path.

mod accounts;
mod audit;
mod dashboard;
mod validate;

pub use accounts::AccountConfig;
pub use audit::{AuditConfig, StatementsConfig};
pub use dashboard::DashboardConfig;

use connectors::registry;
use connectors::sim::SimFaults;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// The demo config, compiled in so `cargo run` works from any directory.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/default.toml");
pub const DEFAULT_CONFIG_PATH: &str = "config/default.toml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The folder of the config file, when read from one (relative paths such as
    /// `[risk] fixings_csv` resolve from it); not a config field.
    #[serde(skip)]
    pub dir: Option<std::path::PathBuf>,
    /// One entry per venue instance.
    #[serde(default)]
    pub connectors: Vec<ConnectorConfig>,
    /// Reference price pairs and method parameters.
    #[serde(default)]
    pub reference: ReferenceConfig,
    /// Kafka sink; absent = no Kafka unless `--kafka` is given.
    #[serde(default)]
    pub kafka: Option<normalizer::publish::KafkaSettings>,
    /// Accounts by id.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountConfig>,
    /// Additions to the asset master.
    #[serde(default)]
    pub assets: AssetsConfig,
    /// Process-level settings.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// The dashboard and health/metrics endpoints.
    #[serde(default)]
    pub dashboard: DashboardConfig,
    /// Collateral valuation parameters (collateral.md); absent fields keep the defaults.
    #[serde(default)]
    pub valuation: Option<normalizer::valuation::ValuationParams>,
    /// Venue margin bands and the unrealized P&L rule (margin.md section 1).
    #[serde(default)]
    pub margin: normalizer::venue_margin::MarginParams,
    /// The audit trail (compliance.md section 1).
    #[serde(default)]
    pub audit: AuditConfig,
    /// Statements (compliance.md section 2).
    #[serde(default)]
    pub statements: StatementsConfig,
    /// Stress scenarios (margin.md section 3); `[stress.scenarios]` replaces the default library.
    #[serde(default)]
    pub stress: normalizer::margin::config::StressConfig,
    /// Collateral at risk and the fixings store (margin.md section 4).
    #[serde(default)]
    pub risk: normalizer::margin::config::RiskConfig,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Instance id, unique: lowercase letters, digits, `-`, `_` (`binance-spot`).
    pub id: String,
    /// A venue kind from the registry (`binance`, `okx`, `deribit`, ...; see README).
    pub kind: String,
    /// Symbols as the venue spells them (`BTCUSDT`, `BTC-USD`, `BTC/USD`); none = no prices.
    #[serde(default)]
    pub instruments: Vec<String>,
    /// Balances of this connector belong to this account.
    #[serde(default)]
    pub account: Option<String>,
    /// Override of the venue's WebSocket endpoint (testnets, proxies).
    #[serde(default)]
    pub ws_url: Option<String>,
    /// Override of the venue's REST endpoint.
    #[serde(default)]
    pub rest_url: Option<String>,
    /// Override of the private balance stream's WebSocket endpoint (kinds with one: `binance`,
    /// `bybit`, `okx`). Kinds that stream prices too keep `ws_url` for the price stream; a kind
    /// without a price stream (`bybit`) takes `ws_url` when this is not set.
    #[serde(default)]
    pub balance_ws_url: Option<String>,
    /// Name of the env var holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Path of a file holding the API key.
    #[serde(default)]
    pub api_key_file: Option<String>,
    /// Name of the env var holding the API secret.
    #[serde(default)]
    pub api_secret_env: Option<String>,
    /// Path of a file holding the API secret (a PEM for Fireblocks).
    #[serde(default)]
    pub api_secret_file: Option<String>,
    /// Name of the env var holding the passphrase (OKX, Coinbase Prime).
    #[serde(default)]
    pub passphrase_env: Option<String>,
    /// Path of a file holding the passphrase.
    #[serde(default)]
    pub passphrase_file: Option<String>,
    /// Balance polling interval in milliseconds (default 10000).
    #[serde(default)]
    pub balance_interval_ms: Option<u64>,
    /// Start this venue's simulator on 127.0.0.1 and point the URLs at it.
    #[serde(default)]
    pub sim: bool,
    /// Scheduled faults of the simulator (only with `sim = true`).
    #[serde(default)]
    pub sim_faults: Option<SimFaults>,
    /// A stream with no data for this long is STALE (default: twice the venue's cadence).
    #[serde(default)]
    pub stale_after_ms: Option<u64>,
    /// The custodian's shape, for `kind = "generic_rest"` (see
    /// `config/venues/generic_rest.example.toml`).
    #[serde(default)]
    pub generic: Option<connectors::registry::GenericSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceConfig {
    /// Interval between reference-price ticks, in milliseconds.
    #[serde(default = "default_cadence_ms")]
    pub cadence_ms: u64,
    /// Pairs to price (`BTC-USD`); sources default to every connector instrument whose base
    /// matches and whose quote is the pair's quote or an asset priced by another pair.
    #[serde(default)]
    pub pairs: Vec<String>,
    /// Per-pair overrides of the method's parameters, keyed by pair.
    #[serde(default)]
    pub params: BTreeMap<String, PairOverride>,
}

fn default_cadence_ms() -> u64 {
    1000
}

impl ReferenceConfig {
    /// The checks of this section's own fields; `path` is `reference`. Whether a pair's assets
    /// exist, whether it repeats one, and whether instruments price it are judged by
    /// `plan::build` against the asset master.
    pub fn validate(&self, path: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.cadence_ms == 0 {
            errors.push(ConfigError::new(
                format!("{path}.cadence_ms"),
                "must be > 0",
            ));
        }
        for (k, pair) in self.pairs.iter().enumerate() {
            if split_pair(pair).is_none() {
                errors.push(ConfigError::new(
                    format!("{path}.pairs[{k}]"),
                    format!("expected BASE-QUOTE like \"BTC-USD\", got {pair:?}"),
                ));
            }
        }
        errors
    }
}

/// A pair's base and quote, when it is spelled `BASE-QUOTE` with valid asset codes.
pub fn split_pair(pair: &str) -> Option<(&str, &str)> {
    let (b, q) = pair.split_once('-')?;
    (schemas::ids::is_valid_asset(b) && schemas::ids::is_valid_asset(q)).then_some((b, q))
}

impl Default for ReferenceConfig {
    fn default() -> Self {
        ReferenceConfig {
            cadence_ms: default_cadence_ms(),
            pairs: Vec::new(),
            params: BTreeMap::new(),
        }
    }
}

/// Overrides of reference-price.md's defaults for one pair; absent fields keep the default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairOverride {
    /// Maximum (ask - bid) / mid, e.g. "0.01".
    pub max_spread: Option<Decimal>,
    /// A quote older than this is STALE, in milliseconds.
    pub max_age_ms: Option<i64>,
    /// Outlier band, e.g. "0.05".
    pub band: Option<Decimal>,
    /// How long the last good price is held when no source is usable, in milliseconds.
    pub max_hold_ms: Option<i64>,
    /// After this long without a change a source may be FROZEN, in milliseconds.
    pub frozen_after_ms: Option<i64>,
    /// `equal`, `volume` or `static`.
    pub weighting: Option<normalizer::reference::Weighting>,
    /// Markets whose quotes are sources (default `["spot"]`; opt in `"perpetual"`, `"future"`).
    pub markets: Option<Vec<schemas::Market>>,
    /// Static weights by connector id (with `weighting = "static"`).
    #[serde(default)]
    pub static_weights: BTreeMap<String, Decimal>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetsConfig {
    /// Canonical assets beyond the built-in list.
    #[serde(default)]
    pub extra: Vec<String>,
    /// Additional stablecoins (priced by their own `<X>-USD` pair; 1 % outlier band).
    #[serde(default)]
    pub stablecoins: Vec<String>,
    /// Per-venue aliases: `[assets.aliases.kraken] XBT = "BTC"` (win over the registry).
    #[serde(default)]
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// A registry file in the shipped registry's format (`docs/assets.md`) merged over it:
    /// its assets and codes replace those with the same code / (venue, code).
    #[serde(default)]
    pub registry_file: Option<std::path::PathBuf>,
    /// Top-up step grid by asset (margin.md section 2.6): `BTC = "0.00000001"`.
    #[serde(default)]
    pub steps: normalizer::margin::config::AssetSteps,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Capacity of the connectors -> normalizer channel (quotes conflate when it is full).
    #[serde(default = "default_channel_capacity")]
    pub channel_capacity: usize,
    /// How long a graceful shutdown (SIGTERM, Ctrl-C, `--seconds`) may take in all, in
    /// milliseconds: connectors stop, the normalizer drains, sinks flush; Kafka records still
    /// undelivered then go to the spool. A second signal exits at once.
    #[serde(default = "default_grace_ms")]
    pub shutdown_grace_ms: u64,
    /// How long a tick waits for quotes received before it to arrive, in milliseconds.
    #[serde(default = "default_tick_grace_ms")]
    pub tick_grace_ms: u64,
    /// Interval of the live console summary, in milliseconds (0 = off).
    #[serde(default = "default_summary_ms")]
    pub summary_interval_ms: u64,
}

fn default_channel_capacity() -> usize {
    4096
}
fn default_grace_ms() -> u64 {
    5000
}
fn default_tick_grace_ms() -> u64 {
    100
}
fn default_summary_ms() -> u64 {
    3000
}

impl RuntimeConfig {
    /// The checks of this section's fields; `path` is `runtime`.
    pub fn validate(&self, path: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.shutdown_grace_ms == 0 {
            errors.push(ConfigError::new(
                format!("{path}.shutdown_grace_ms"),
                "must be > 0 (sinks need time to flush)",
            ));
        }
        if self.channel_capacity == 0 {
            errors.push(ConfigError::new(
                format!("{path}.channel_capacity"),
                "must be > 0",
            ));
        }
        errors
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            channel_capacity: default_channel_capacity(),
            shutdown_grace_ms: default_grace_ms(),
            tick_grace_ms: default_tick_grace_ms(),
            summary_interval_ms: default_summary_ms(),
        }
    }
}

/// One config error: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Deserializes one section, naming the path of the first bad field within it.
fn section<T: for<'de> Deserialize<'de>>(
    path: &str,
    value: toml::Value,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let full = match (path.is_empty(), inner.as_str()) {
                (_, ".") => path.to_owned(),
                (true, _) => inner,
                (false, i) if i.starts_with('[') => format!("{path}{i}"),
                (false, i) => format!("{path}.{i}"),
            };
            errors.push(ConfigError::new(full, e.into_inner().message().to_owned()));
            None
        }
    }
}

/// Parses config text. Each section (and each connector) is read on its own, so one bad field
/// does not hide the errors of the others. Semantic checks follow in [`Config::validate`] and `plan::build`.
pub fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let msg = e.message().to_owned();
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].lines().count().max(1);
                format!("line {line}")
            })
            .unwrap_or_default();
        vec![ConfigError::new(at, format!("invalid TOML: {msg}"))]
    })?;
    let mut errors = Vec::new();
    let mut cfg = Config::default();
    for (key, value) in table {
        match key.as_str() {
            "connectors" => match value {
                toml::Value::Array(items) => {
                    for (i, item) in items.into_iter().enumerate() {
                        if let Some(c) = section(&format!("connectors[{i}]"), item, &mut errors) {
                            cfg.connectors.push(c);
                        } else {
                            // Keep indices aligned with the file for later paths.
                            cfg.connectors.push(ConnectorConfig::default());
                        }
                    }
                }
                _ => errors.push(ConfigError::new(
                    "connectors",
                    "expected an array of tables ([[connectors]])",
                )),
            },
            "reference" => {
                if let Some(r) = section("reference", value, &mut errors) {
                    cfg.reference = r;
                }
            }
            "kafka" => cfg.kafka = section("kafka", value, &mut errors),
            "accounts" => {
                if let Some(a) = section("accounts", value, &mut errors) {
                    cfg.accounts = a;
                }
            }
            "assets" => {
                if let Some(a) = section("assets", value, &mut errors) {
                    cfg.assets = a;
                }
            }
            "runtime" => {
                if let Some(r) = section("runtime", value, &mut errors) {
                    cfg.runtime = r;
                }
            }
            "valuation" => {
                if value.get("unrealized_pnl").is_some() {
                    errors.push(ConfigError::new(
                        "valuation.unrealized_pnl",
                        "set in [margin] (margin.md section 1), not in [valuation]",
                    ));
                }
                cfg.valuation = section("valuation", value, &mut errors)
            }
            "margin" => {
                if let Some(m) = section::<normalizer::venue_margin::MarginParams>(
                    "margin", value, &mut errors,
                ) {
                    for (field, message) in m.validate() {
                        errors.push(ConfigError::new(format!("margin.{field}"), message));
                    }
                    cfg.margin = m;
                }
            }
            "dashboard" => {
                if let Some(d) = section("dashboard", value, &mut errors) {
                    cfg.dashboard = d;
                }
            }
            "audit" => cfg.audit = section("audit", value, &mut errors).unwrap_or_default(),
            "statements" => {
                cfg.statements = section("statements", value, &mut errors).unwrap_or_default()
            }
            "stress" => {
                if let Some(d) = section("stress", value, &mut errors) {
                    cfg.stress = d;
                }
            }
            "risk" => {
                if let Some(d) = section("risk", value, &mut errors) {
                    cfg.risk = d;
                }
            }
            other => errors.push(ConfigError::new(
                other,
                "unknown section, expected one of connectors, reference, kafka, accounts, assets, runtime, valuation, margin, dashboard, audit, statements, stress, risk",
            )),
        }
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_parses() {
        let cfg = parse(DEFAULT_CONFIG).unwrap();
        assert!(cfg.connectors.len() >= 3);
        assert_eq!(cfg.reference.cadence_ms, 1000);
    }

    /// The dashboard, health and metrics endpoints share one listener, on loopback unless an
    /// operator configures otherwise (issue 6: nothing is exposed by default).
    #[test]
    fn the_dashboard_and_metrics_listen_on_loopback_by_default() {
        let minimal = parse("[[connectors]]\nid = \"a\"\nkind = \"binance\"\n").unwrap();
        for (what, cfg) in [
            ("a config without [dashboard]", minimal),
            ("config/default.toml", parse(DEFAULT_CONFIG).unwrap()),
            (
                "config/production.example.toml",
                parse(include_str!("../../config/production.example.toml")).unwrap(),
            ),
        ] {
            let addr: std::net::SocketAddr = cfg.dashboard.address.parse().unwrap();
            assert!(addr.ip().is_loopback(), "{what}: {addr}");
        }
        assert_eq!(DashboardConfig::default().address, "127.0.0.1:8080");
    }

    /// The `[kafka]` defaults are the sink's (defined once, in `normalizer::publish`), and they
    /// are the documented ones.
    #[test]
    fn margin_section_parses_and_names_bad_fields() {
        use normalizer::valuation::UnrealizedPnl;
        let dec = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        let cfg = parse("").unwrap();
        assert_eq!(cfg.margin.warn_below, dec("2.0"));
        assert_eq!(cfg.margin.danger_below, dec("1.25"));
        assert_eq!(cfg.margin.unrealized_pnl, UnrealizedPnl::LossesOnly);
        let cfg = parse(
            "[margin]\nwarn_below = \"3\"\ndanger_below = \"1.5\"\nunrealized_pnl = \"include\"\n",
        )
        .unwrap();
        assert_eq!(cfg.margin.warn_below, dec("3"));
        assert_eq!(cfg.margin.unrealized_pnl, UnrealizedPnl::Include);
        let paths = |text: &str| -> Vec<String> {
            parse(text)
                .unwrap_err()
                .into_iter()
                .map(|e| e.path)
                .collect()
        };
        assert_eq!(
            paths("[margin]\nunrealized_pnl = \"gains_only\"\n"),
            vec!["margin.unrealized_pnl"]
        );
        assert_eq!(
            paths("[margin]\nwarn_below = \"1.1\"\ndanger_below = \"1.2\"\n"),
            vec!["margin.warn_below"]
        );
        assert_eq!(
            paths("[valuation]\nunrealized_pnl = \"include\"\n"),
            vec!["valuation.unrealized_pnl"]
        );
    }

    #[test]
    fn kafka_defaults_are_the_sinks() {
        let cfg = parse("[kafka]\nbrokers = \"k:9092\"\n").unwrap();
        let k = cfg.kafka.unwrap();
        assert_eq!(k, normalizer::publish::KafkaSettings::new("k:9092"));
        assert_eq!((k.partitions, k.replication_factor), (3, 1));
        assert!(k.create_topics && k.spool);
        assert_eq!(k.spool_dir, std::path::PathBuf::from("spool"));
        assert_eq!((k.spool_after_in_flight, k.spool_fsync_ms), (1000, 1000));
        assert!(k.validate().is_empty());
        let refused = parse("[kafka]\nbrokers = \"k:9092\"\nclient_id = \"x\"\n").unwrap_err();
        assert_eq!(refused[0].path, "kafka.client_id", "{refused:?}");
    }

    /// A connector's field checks name their paths without the asset master.
    #[test]
    fn connector_validate_names_paths() {
        let cfg = parse(
            "[[connectors]]\nid = \"Bad Id\"\nkind = \"binance\"\nws_url = \"http://x\"\ninstruments = [\"BTCUSDT\", \"BTCUSDT\"]\n",
        )
        .unwrap();
        let paths: Vec<String> = cfg.validate().into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            [
                "connectors[0].id",
                "connectors[0].ws_url",
                "connectors[0].instruments[1]"
            ]
        );
    }

    #[test]
    fn every_section_error_is_reported_with_its_path() {
        let text = r#"
[[connectors]]
id = "a"
kind = "binance"
instrumentz = ["BTCUSDT"]

[[connectors]]
id = "b"
kind = "kraken"
instruments = "BTC/USD"

[reference]
cadence_ms = "fast"

[bogus]
x = 1
"#;
        let errs = parse(text).unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert!(
            paths.contains(&"connectors[0].instrumentz") || paths.contains(&"connectors[0]"),
            "{errs:?}"
        );
        assert!(paths.contains(&"connectors[1].instruments"), "{errs:?}");
        assert!(paths.contains(&"reference.cadence_ms"), "{errs:?}");
        assert!(paths.contains(&"bogus"), "{errs:?}");
    }
}
