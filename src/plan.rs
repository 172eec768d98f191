//! From a parsed config to a runnable plan: every symbol resolved through the asset master,
//! every pair given its sources, every error collected with its path. `run`, `replay` and
//! `check-config` all go through here, so they agree on what a config means.

use crate::config::{split_pair, Config, ConfigError, ConnectorConfig};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::rest::PollingVenue;
use connectors::{registry, StreamingVenue, SymbolSpec};
use normalizer::assets::{AssetMaster, Instrument, SymbolParts};
use normalizer::core::{ConnectorInfo, Normalizer, SourceInfo};
use normalizer::reference::{PairCalculator, PairParams, ReferenceEngine, SourceSpec, Weighting};
#[cfg(test)]
use std::collections::BTreeMap;
use std::collections::{BTreeSet, HashSet};

/// A connector ready to run.
pub struct PlannedConnector {
    pub config: ConnectorConfig,
    /// Its price stream, if the kind streams prices and instruments are configured.
    pub venue: Option<&'static dyn StreamingVenue>,
    /// Its balance poller, if the kind reports balances and the connector has credentials
    /// (or runs on its simulator with an account).
    pub polling: Option<&'static dyn PollingVenue>,
    pub table: SymbolTable,
}

pub struct Plan {
    pub connectors: Vec<PlannedConnector>,
    pub normalizer: Normalizer,
    pub pairs: Vec<String>,
}

fn parts<'s>(spec: &'s SymbolSpec<'s>) -> Result<SymbolParts<'s>, &'static str> {
    match spec {
        SymbolSpec::Split {
            base,
            quote,
            market,
            expiry,
        } => Ok(SymbolParts::Split {
            base,
            quote,
            market: *market,
            expiry: expiry.as_deref(),
        }),
        SymbolSpec::Joined {
            symbol,
            market,
            expiry,
        } => Ok(SymbolParts::Joined {
            symbol,
            market: *market,
            expiry: expiry.as_deref(),
        }),
        SymbolSpec::Invalid(why) => Err(why),
    }
}

/// Resolves one venue symbol to its canonical instrument.
pub fn resolve_symbol(
    assets: &AssetMaster,
    venue: &dyn StreamingVenue,
    symbol: &str,
) -> Result<Instrument, String> {
    let spec = venue.split_symbol(symbol);
    let p = parts(&spec).map_err(|e| e.to_owned())?;
    assets.resolve(venue.kind(), p).map_err(|e| e.to_string())
}

/// The asset master: the shipped registry, the optional registry file over it, the venues'
/// built-in tables where neither has a row, then config (`extra`, `stablecoins`, `aliases`),
/// which wins.
pub fn build_assets(
    cfg: &crate::config::AssetsConfig,
    errors: &mut Vec<ConfigError>,
) -> AssetMaster {
    let mut assets = AssetMaster::default();
    if let Some(path) = &cfg.registry_file {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|text| {
                toml::from_str::<normalizer::assets::RegistryFile>(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))
            });
        match parsed {
            Ok(file) => {
                for e in assets.merge(file) {
                    errors.push(ConfigError::new("assets.registry_file", e.to_string()));
                }
            }
            Err(e) => errors.push(ConfigError::new("assets.registry_file", e)),
        }
    }
    for spec in registry::VENUES.iter().map(|e| e.spec) {
        for e in assets.add_venue_defaults(spec.kind, spec.aliases) {
            errors.push(ConfigError::new("assets", e.to_string()));
        }
    }
    for e in assets.extend(&cfg.extra, &cfg.stablecoins, &cfg.aliases) {
        errors.push(ConfigError::new("assets", e.to_string()));
    }
    assets
}

/// The valuation parameters: config's (or collateral.md's defaults), with every registry
/// asset's class where config names none, and every registry stablecoin watched for a de-peg.
pub fn valuation_params(
    configured: Option<&normalizer::valuation::ValuationParams>,
    assets: &AssetMaster,
) -> normalizer::valuation::ValuationParams {
    let mut v = configured.cloned().unwrap_or_default();
    for (code, class) in assets.classes() {
        if class != v.default_class {
            v.asset_class.entry(code).or_insert(class);
        }
    }
    v.stablecoins.extend(
        assets
            .assets()
            .filter(|a| assets.is_stablecoin(&a.code))
            .map(|a| a.code.clone()),
    );
    v
}

/// The start of the error of a pair no configured instrument prices (`replay` skips those).
pub const UNPRICEABLE: &str = "no configured connector instrument prices";

/// Validates `cfg` ([`Config::validate`]) and resolves it into the plan: symbols through the
/// asset master, pairs to their sources. Every error found is returned, each with its path:
/// the field checks' and those only resolution can find (an unknown symbol or asset, a pair
/// nothing prices).
pub fn build(cfg: &Config) -> Result<Plan, Vec<ConfigError>> {
    let mut errors = cfg.validate();
    let assets = build_assets(&cfg.assets, &mut errors);

    let mut planned = Vec::new();
    let mut infos = Vec::new();
    let mut slot = 0usize;
    for (i, c) in cfg.connectors.iter().enumerate() {
        let path = format!("connectors[{i}]");
        let streaming = registry::streaming(&c.kind);
        let described = c
            .generic
            .as_ref()
            .and_then(|table| registry::described(&c.kind, table));
        let polling = registry::polling(&c.kind).or(described);
        if streaming.is_none() && polling.is_none() && registry::described_by(&c.kind).is_none() {
            // An unknown kind: reported by validate.
            continue;
        }
        let polls = polling.filter(|_| c.has_credentials() || (c.sim && c.account.is_some()));
        let mut specs = Vec::new();
        let mut sources = Vec::new();
        let mut seen = HashSet::new();
        for (j, sym) in c.instruments.iter().enumerate() {
            let Some(venue) = streaming else { break };
            if !seen.insert(sym) {
                // A duplicate: reported by validate.
                continue;
            }
            match resolve_symbol(&assets, venue, sym) {
                Ok(instrument) => {
                    specs.push(InstrumentSpec {
                        venue_symbol: sym.clone(),
                        stream: format!("ticker:{}", instrument.name),
                    });
                    sources.push(SourceInfo {
                        venue_symbol: sym.clone(),
                        instrument,
                        slot,
                    });
                    slot += 1;
                }
                Err(e) => errors.push(ConfigError::new(format!("{path}.instruments[{j}]"), e)),
            }
        }
        infos.push(ConnectorInfo {
            id: c.id.clone(),
            venue: c.kind.clone(),
            sources,
            account: c.account.clone(),
            source_kind: polling.map_or(schemas::SourceKind::Exchange, |p| p.source_kind()),
            reports_balances: polls.is_some(),
        });
        planned.push(PlannedConnector {
            config: c.clone(),
            venue: streaming.filter(|_| !specs.is_empty()),
            polling: polls,
            table: SymbolTable::new(specs),
        });
    }
    // Pairs and their sources.
    let mut pair_set = BTreeSet::new();
    let mut valid_pairs = Vec::new();
    for (k, pair) in cfg.reference.pairs.iter().enumerate() {
        match split_pair(pair) {
            Some((b, q)) if assets.is_asset(b) && assets.is_asset(q) => {
                if pair_set.insert(pair.clone()) {
                    valid_pairs.push((b.to_owned(), q.to_owned()));
                } else {
                    errors.push(ConfigError::new(
                        format!("reference.pairs[{k}]"),
                        format!("duplicate pair {pair:?}"),
                    ));
                }
            }
            Some(_) => errors.push(ConfigError::new(
                format!("reference.pairs[{k}]"),
                format!("{pair:?} names an unknown asset"),
            )),
            // Not BASE-QUOTE: reported by validate.
            None => {}
        }
    }
    for key in cfg.reference.params.keys() {
        if !pair_set.contains(key) {
            errors.push(ConfigError::new(
                format!("reference.params.{key}"),
                "not a configured pair",
            ));
        }
    }
    let mut calculators = Vec::new();
    for (k, (base, quote)) in valid_pairs.iter().enumerate() {
        let pair = format!("{base}-{quote}");
        let mut params = PairParams::new(base, quote, assets.is_stablecoin(base));
        let ov = cfg.reference.params.get(&pair);
        if let Some(o) = ov {
            if let Some(v) = o.max_spread {
                params.max_spread = v;
            }
            if let Some(v) = o.max_age_ms {
                params.max_age_ms = v;
            }
            if let Some(v) = o.band {
                params.band = v;
            }
            if let Some(v) = o.max_hold_ms {
                params.max_hold_ms = v;
            }
            if let Some(v) = o.frozen_after_ms {
                params.frozen_after_ms = v;
            }
            if let Some(v) = o.weighting {
                params.weighting = v;
            }
            if params.weighting != Weighting::Static && !o.static_weights.is_empty() {
                errors.push(ConfigError::new(
                    format!("reference.params.{pair}.static_weights"),
                    "only used with weighting = \"static\"",
                ));
            }
        }
        let markets = ov
            .and_then(|o| o.markets.clone())
            .unwrap_or_else(|| vec![schemas::Market::Spot]);
        let mut sources = Vec::new();
        for info in &infos {
            for s in &info.sources {
                let i = &s.instrument;
                let convertible =
                    i.quote == *quote || pair_set.contains(&format!("{}-{quote}", i.quote));
                if i.base == *base && markets.contains(&i.market) && convertible && i.quote != *base
                {
                    sources.push(SourceSpec {
                        venue: info.venue.clone(),
                        connector: info.id.clone(),
                        instrument: i.name.clone(),
                        quote_asset: i.quote.clone(),
                        static_weight: ov.and_then(|o| o.static_weights.get(&info.id).copied()),
                        slot: s.slot,
                    });
                }
            }
        }
        if sources.is_empty() {
            errors.push(ConfigError::new(
                format!("reference.pairs[{k}]"),
                format!("{UNPRICEABLE} {pair}"),
            ));
        }
        calculators.push(PairCalculator::new(params, sources));
    }
    let engine = match ReferenceEngine::new(calculators) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.push(ConfigError::new("reference.pairs", e.to_string()));
            None
        }
    };
    let mut valuation = valuation_params(cfg.valuation.as_ref(), &assets);
    // `[margin] unrealized_pnl` is a valuation parameter (it changes CV, so it is hashed).
    valuation.unrealized_pnl = cfg.margin.unrealized_pnl;
    for problem in valuation.validate() {
        errors.push(ConfigError::new("valuation", problem));
    }
    let requirements = cfg
        .accounts
        .iter()
        .filter_map(|(name, a)| Some((name.clone(), a.requirement?)))
        .collect();
    // Mirrors name sources: configured connectors.
    for (name, a) in &cfg.accounts {
        for (i, m) in a.mirrors.iter().enumerate() {
            for (field, id) in [("custodian", &m.custodian), ("exchange", &m.exchange)] {
                if !cfg.connectors.iter().any(|c| &c.id == id) {
                    errors.push(ConfigError::new(
                        format!("accounts.{name}.mirrors[{i}].{field}"),
                        format!("no connector {id:?}"),
                    ));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let engine = engine.expect("no errors means the engine was built");
    let encumbrance = cfg
        .accounts
        .iter()
        .map(|(name, a)| (name.clone(), a.encumbrance()))
        .filter(|(_, e)| !e.is_empty())
        .collect();
    Ok(Plan {
        connectors: planned,
        normalizer: Normalizer::new(infos, engine, cfg.reference.cadence_ms as i64)
            .with_assets(assets)
            .with_valuation(valuation, requirements)
            .with_encumbrance(encumbrance)
            .with_margin(cfg.margin.clone()),
        pairs: pair_set.into_iter().collect(),
    })
}

/// Errors that matter only to a process that connects (`run`, `check-config`), not to
/// `replay`, which reads frames from a file: an endpoint a connector cannot do without. Every
/// registered venue defaults to its TLS endpoint; a generic custodian has none.
pub fn connect_errors(cfg: &Config) -> Vec<ConfigError> {
    cfg.connectors
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            registry::spec(&c.kind)
                .is_some_and(|s| s.balances.is_some() && s.rest().rest_url.is_empty())
                && !c.sim
                && c.rest_url.is_none()
        })
        .map(|(i, c)| {
            ConfigError::new(
                format!("connectors[{i}].rest_url"),
                format!(
                    "kind {} has no default endpoint: set rest_url (https://...)",
                    c.kind
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(extra: &str) -> Plan {
        let text = format!(
            r#"
[[connectors]]
id = "coinbase"
kind = "coinbase"
instruments = ["BTC-USD", "USDT-USD"]

[[connectors]]
id = "deribit"
kind = "deribit"
instruments = ["BTC-PERPETUAL"]

[[connectors]]
id = "okx"
kind = "okx"
instruments = ["BTC-USDT", "BTC-USDT-SWAP"]

[reference]
pairs = ["BTC-USD", "USDT-USD"]
{extra}
"#
        );
        build(&crate::config::parse(&text).unwrap()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn sources(p: &Plan, pair: &str) -> Vec<String> {
        let calc = p
            .normalizer
            .engine()
            .pairs()
            .iter()
            .find(|c| c.params().pair() == pair)
            .unwrap();
        calc.sources()
            .iter()
            .map(|s| format!("{} {}", s.connector, s.instrument))
            .collect()
    }

    #[test]
    fn spot_sources_by_default_with_stablecoin_quotes_converted() {
        let p = plan("");
        assert_eq!(
            sources(&p, "BTC-USD"),
            vec!["coinbase BTC-USD", "okx BTC-USDT"]
        );
        assert_eq!(sources(&p, "USDT-USD"), vec!["coinbase USDT-USD"]);
    }

    #[test]
    fn a_pair_may_opt_in_perpetuals() {
        let p = plan("[reference.params.BTC-USD]\nmarkets = [\"spot\", \"perpetual\"]");
        assert_eq!(
            sources(&p, "BTC-USD"),
            vec![
                "coinbase BTC-USD",
                "deribit BTC-USD-PERP",
                "okx BTC-USDT",
                "okx BTC-USDT-PERP"
            ]
        );
    }

    #[test]
    fn venue_aliases_reach_the_asset_master() {
        let assets = {
            let mut a = AssetMaster::default();
            let mut aliases = BTreeMap::new();
            aliases.insert(
                "kraken".to_owned(),
                BTreeMap::from([("XBT".to_owned(), "BTC".to_owned())]),
            );
            a.extend(&[], &[], &aliases);
            a
        };
        let kraken = registry::streaming("kraken").unwrap();
        assert_eq!(
            resolve_symbol(&assets, kraken, "XBT/USD").unwrap().name,
            "BTC-USD"
        );
        assert!(resolve_symbol(&assets, kraken, "BTC-USD").is_err());
    }
}
