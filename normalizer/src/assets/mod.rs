//! The asset master: canonical assets and instruments, and each venue's codes for them.
//!
//! The assets are data, not code: the versioned registry `normalizer/data/assets.toml`
//! (format and sources: `docs/assets.md`) lists each canonical asset with its `collateral.md`
//! class, every venue's and custodian's own spelling (Kraken `XXBT`, Bitfinex `UST`, Fireblocks
//! `USDC_POLYGON`, BitGo `eth:usdc`) with the network it names, testnet coins (their own
//! `<ASSET>TEST` codes, class `testnet`, never valued), and codes refused as ambiguous with the
//! reason. Config extends or overrides it (`[assets]`: `extra`, `stablecoins`, `aliases`,
//! `registry_file`).
//!
//! Venue codes are mapped, never guessed: a code that is neither canonical nor listed for the
//! venue, or a glued symbol (`BTCUSDT`) that splits more than one way, is refused with the
//! reason. A balance refused this way is still shown (the valuer lists it as unmapped).
//!
//! Lookup order for a venue code: the venue's own row, the venue's own ambiguity, a row for
//! every venue (`"*"`), an ambiguity for every venue, the canonical code itself.

use schemas::Market;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AssetError {
    #[error("unknown asset code {code:?} on {venue} (add it to [assets] extra or an alias)")]
    UnknownAsset { venue: String, code: String },
    #[error("symbol {symbol:?} on {venue} splits no way into known assets")]
    Unsplittable { venue: String, symbol: String },
    #[error("symbol {symbol:?} on {venue} is ambiguous: {candidates}")]
    Ambiguous {
        venue: String,
        symbol: String,
        candidates: String,
    },
    #[error("invalid asset code {code:?}: canonical codes are upper case letters and digits")]
    InvalidCode { code: String },
    #[error("alias {venue}:{code} points to unknown asset {target:?}")]
    AliasTarget {
        venue: String,
        code: String,
        target: String,
    },
    #[error("{venue}: {reason}")]
    InvalidSymbol { venue: String, reason: String },
    #[error("asset code {code:?} on {venue} is ambiguous: {reason}")]
    AmbiguousCode {
        venue: String,
        code: String,
        reason: String,
    },
    #[error("asset registry: {0}")]
    Registry(String),
}

/// How a venue spells a symbol, already split by the venue's own rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SymbolParts<'a> {
    Split {
        base: &'a str,
        quote: &'a str,
        market: Market,
        /// `YYYYMMDD` of a dated future.
        expiry: Option<&'a str>,
    },
    Joined {
        symbol: &'a str,
        market: Market,
        expiry: Option<&'a str>,
    },
}

/// A canonical instrument.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Instrument {
    pub base: String,
    pub quote: String,
    pub market: Market,
    /// `BTC-USDT`, `BTC-USD-PERP`, `BTC-USD-20261225` (records.md).
    pub name: String,
}

impl Instrument {
    pub fn new(base: &str, quote: &str, market: Market) -> Self {
        Self::with_expiry(base, quote, market, None)
    }

    pub fn with_expiry(base: &str, quote: &str, market: Market, expiry: Option<&str>) -> Self {
        let name = match (market, expiry) {
            (Market::Perpetual, _) => format!("{base}-{quote}-PERP"),
            (_, Some(e)) => format!("{base}-{quote}-{e}"),
            _ => format!("{base}-{quote}"),
        };
        Instrument {
            base: base.to_owned(),
            quote: quote.to_owned(),
            market,
            name,
        }
    }
}

/// The registry shipped with the binary.
pub const REGISTRY_TOML: &str = include_str!("../../data/assets.toml");

/// The class of testnet coins: listed, never valued.
pub const TESTNET_CLASS: &str = crate::valuation::TESTNET_CLASS;

/// The classes an asset may have (collateral.md, plus `testnet`).
pub const CLASSES: &[&str] = &[
    "cash",
    "stablecoin",
    "btc",
    "eth",
    "alt",
    "long_tail",
    TESTNET_CLASS,
];

/// The venue of a row that holds for every venue.
pub const ANY_VENUE: &str = "*";

/// One canonical asset of the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetEntry {
    pub code: String,
    pub name: String,
    pub class: String,
    #[serde(default)]
    pub rank: Option<u32>,
}

/// A venue's spelling of an asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeEntry {
    pub venue: String,
    pub code: String,
    pub asset: String,
    #[serde(default)]
    pub network: Option<String>,
}

/// A code refused with a reason (unless the venue has its own row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmbiguousEntry {
    pub venue: String,
    pub code: String,
    pub reason: String,
}

/// The registry file's shape (`docs/assets.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub asset: Vec<AssetEntry>,
    #[serde(default)]
    pub code: Vec<CodeEntry>,
    #[serde(default)]
    pub ambiguous: Vec<AmbiguousEntry>,
}

/// A venue code resolved: the canonical asset and the network the code names, if any.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Resolved {
    pub asset: String,
    pub network: Option<String>,
}

fn valid_network(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

#[derive(Clone, Debug)]
pub struct AssetMaster {
    version: String,
    assets: BTreeMap<String, AssetEntry>,
    stablecoins: BTreeSet<String>,
    /// (venue or `*`, code) -> asset and network.
    codes: HashMap<(String, String), Resolved>,
    /// (venue or `*`, code) -> why it is refused.
    ambiguous: HashMap<(String, String), String>,
}

impl Default for AssetMaster {
    /// The shipped registry (checked by a unit test, so this cannot fail in a release).
    fn default() -> Self {
        AssetMaster::from_toml(REGISTRY_TOML).expect("the shipped asset registry is valid")
    }
}

impl AssetMaster {
    fn empty() -> Self {
        AssetMaster {
            version: String::new(),
            assets: BTreeMap::new(),
            stablecoins: BTreeSet::new(),
            codes: HashMap::new(),
            ambiguous: HashMap::new(),
        }
    }

    /// A master from a registry file's text; every problem is reported.
    pub fn from_toml(text: &str) -> Result<Self, Vec<AssetError>> {
        let file: RegistryFile =
            toml::from_str(text).map_err(|e| vec![AssetError::Registry(e.to_string())])?;
        let mut m = AssetMaster::empty();
        let errors = m.merge(file);
        if errors.is_empty() {
            Ok(m)
        } else {
            Err(errors)
        }
    }

    /// Merges a registry file over this one: its assets and rows replace those with the same
    /// code / (venue, code). Returns every problem (the good rows are still merged).
    pub fn merge(&mut self, file: RegistryFile) -> Vec<AssetError> {
        let mut errors = Vec::new();
        if !file.version.is_empty() {
            self.version = if self.version.is_empty() {
                file.version
            } else {
                format!("{}+{}", self.version, file.version)
            };
        }
        let mut seen = BTreeSet::new();
        for a in file.asset {
            if !schemas::ids::is_valid_asset(&a.code) {
                errors.push(AssetError::InvalidCode { code: a.code });
                continue;
            }
            if !CLASSES.contains(&a.class.as_str()) {
                errors.push(AssetError::Registry(format!(
                    "asset {}: unknown class {:?} (expected one of {})",
                    a.code,
                    a.class,
                    CLASSES.join(", ")
                )));
                continue;
            }
            if !seen.insert(a.code.clone()) {
                errors.push(AssetError::Registry(format!(
                    "asset {} is listed twice",
                    a.code
                )));
                continue;
            }
            if a.class == "stablecoin" {
                self.stablecoins.insert(a.code.clone());
            } else {
                self.stablecoins.remove(&a.code);
            }
            self.assets.insert(a.code.clone(), a);
        }
        let mut seen = BTreeSet::new();
        for c in file.code {
            let key = (c.venue.clone(), c.code.clone());
            if !seen.insert(key.clone()) {
                errors.push(AssetError::Registry(format!(
                    "code {}:{} is listed twice",
                    c.venue, c.code
                )));
                continue;
            }
            if !self.assets.contains_key(&c.asset) {
                errors.push(AssetError::AliasTarget {
                    venue: c.venue,
                    code: c.code,
                    target: c.asset,
                });
                continue;
            }
            if let Some(n) = c.network.as_deref().filter(|n| !valid_network(n)) {
                errors.push(AssetError::Registry(format!(
                    "code {}:{}: invalid network {n:?} (upper case letters, digits, _)",
                    c.venue, c.code
                )));
                continue;
            }
            self.ambiguous.remove(&key);
            self.codes.insert(
                key,
                Resolved {
                    asset: c.asset,
                    network: c.network,
                },
            );
        }
        for a in file.ambiguous {
            let key = (a.venue, a.code);
            if self.codes.contains_key(&key) {
                errors.push(AssetError::Registry(format!(
                    "code {}:{} is both mapped and ambiguous",
                    key.0, key.1
                )));
                continue;
            }
            self.ambiguous.insert(key, a.reason);
        }
        errors
    }

    /// Adds canonical assets, stablecoins and per-venue aliases from config (config wins:
    /// an alias replaces the registry's row for that venue and code).
    pub fn extend(
        &mut self,
        extra: &[String],
        stablecoins: &[String],
        aliases: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Vec<AssetError> {
        let mut errors = Vec::new();
        for code in extra.iter().chain(stablecoins) {
            if schemas::ids::is_valid_asset(code) {
                let class = if stablecoins.contains(code) {
                    "stablecoin"
                } else {
                    "long_tail"
                };
                self.assets
                    .entry(code.clone())
                    .or_insert_with(|| AssetEntry {
                        code: code.clone(),
                        name: code.clone(),
                        class: class.to_owned(),
                        rank: None,
                    });
            } else {
                errors.push(AssetError::InvalidCode { code: code.clone() });
            }
        }
        self.stablecoins.extend(stablecoins.iter().cloned());
        for (venue, map) in aliases {
            for (code, target) in map {
                if !self.assets.contains_key(target) {
                    errors.push(AssetError::AliasTarget {
                        venue: venue.clone(),
                        code: code.clone(),
                        target: target.clone(),
                    });
                    continue;
                }
                let key = (venue.clone(), code.clone());
                self.ambiguous.remove(&key);
                self.codes.insert(
                    key,
                    Resolved {
                        asset: target.clone(),
                        network: None,
                    },
                );
            }
        }
        errors
    }

    /// Adds a venue's built-in table where the registry and config have no row for the code
    /// (the registry is the source of truth; a connector's table only fills gaps).
    pub fn add_venue_defaults(&mut self, venue: &str, table: &[(&str, &str)]) -> Vec<AssetError> {
        let mut errors = Vec::new();
        for (code, target) in table {
            let key = (venue.to_owned(), (*code).to_owned());
            if self.codes.contains_key(&key) || self.ambiguous.contains_key(&key) {
                continue;
            }
            if !self.assets.contains_key(*target) {
                errors.push(AssetError::AliasTarget {
                    venue: venue.to_owned(),
                    code: (*code).to_owned(),
                    target: (*target).to_owned(),
                });
                continue;
            }
            self.codes.insert(
                key,
                Resolved {
                    asset: (*target).to_owned(),
                    network: None,
                },
            );
        }
        errors
    }

    /// The registry's version (`<shipped>+<override>` when a file was merged over it).
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn is_asset(&self, code: &str) -> bool {
        self.assets.contains_key(code)
    }

    pub fn is_stablecoin(&self, code: &str) -> bool {
        self.stablecoins.contains(code)
    }

    pub fn is_testnet(&self, code: &str) -> bool {
        self.assets
            .get(code)
            .is_some_and(|a| a.class == TESTNET_CLASS)
    }

    /// The registry entry of a canonical asset.
    pub fn asset(&self, code: &str) -> Option<&AssetEntry> {
        self.assets.get(code)
    }

    /// Every canonical asset, in code order.
    pub fn assets(&self) -> impl Iterator<Item = &AssetEntry> {
        self.assets.values()
    }

    /// The class of every asset, for the valuation parameters.
    pub fn classes(&self) -> BTreeMap<String, String> {
        self.assets
            .values()
            .map(|a| (a.code.clone(), a.class.clone()))
            .collect()
    }

    /// Every venue spelling of `asset`: `(venue, code, network)`, sorted.
    pub fn codes_of(&self, asset: &str) -> Vec<(String, String, Option<String>)> {
        let mut v: Vec<_> = self
            .codes
            .iter()
            .filter(|(_, r)| r.asset == asset)
            .map(|((venue, code), r)| (venue.clone(), code.clone(), r.network.clone()))
            .collect();
        v.sort();
        v
    }

    /// Every ambiguous code: `(venue, code, reason)`, sorted.
    pub fn ambiguous_codes(&self) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = self
            .ambiguous
            .iter()
            .map(|((venue, code), r)| (venue.clone(), code.clone(), r.clone()))
            .collect();
        v.sort();
        v
    }

    /// A venue code resolved to its canonical asset and the network it names.
    pub fn resolve_code(&self, venue: &str, code: &str) -> Result<Resolved, AssetError> {
        let key = |v: &str| (v.to_owned(), code.to_owned());
        let ambiguous = |reason: &String| AssetError::AmbiguousCode {
            venue: venue.to_owned(),
            code: code.to_owned(),
            reason: reason.clone(),
        };
        if let Some(r) = self.codes.get(&key(venue)) {
            return Ok(r.clone());
        }
        if let Some(reason) = self.ambiguous.get(&key(venue)) {
            return Err(ambiguous(reason));
        }
        if let Some(r) = self.codes.get(&key(ANY_VENUE)) {
            return Ok(r.clone());
        }
        if let Some(reason) = self.ambiguous.get(&key(ANY_VENUE)) {
            return Err(ambiguous(reason));
        }
        if self.assets.contains_key(code) {
            return Ok(Resolved {
                asset: code.to_owned(),
                network: None,
            });
        }
        Err(AssetError::UnknownAsset {
            venue: venue.to_owned(),
            code: code.to_owned(),
        })
    }

    /// The canonical code of a venue's asset code.
    pub fn canonical(&self, venue: &str, code: &str) -> Result<String, AssetError> {
        self.resolve_code(venue, code).map(|r| r.asset)
    }

    /// Resolves a venue symbol to a canonical instrument.
    pub fn resolve(&self, venue: &str, parts: SymbolParts<'_>) -> Result<Instrument, AssetError> {
        match parts {
            SymbolParts::Split {
                base,
                quote,
                market,
                expiry,
            } => Ok(Instrument::with_expiry(
                &self.canonical(venue, base)?,
                &self.canonical(venue, quote)?,
                market,
                expiry,
            )),
            SymbolParts::Joined {
                symbol,
                market,
                expiry,
            } => {
                let splits: Vec<(String, String)> = (1..symbol.len())
                    .filter(|&i| symbol.is_char_boundary(i))
                    .filter_map(|i| {
                        let (b, q) = symbol.split_at(i);
                        Some((
                            self.canonical(venue, b).ok()?,
                            self.canonical(venue, q).ok()?,
                        ))
                    })
                    .collect();
                match splits.as_slice() {
                    [] => Err(AssetError::Unsplittable {
                        venue: venue.to_owned(),
                        symbol: symbol.to_owned(),
                    }),
                    [(b, q)] => Ok(Instrument::with_expiry(b, q, market, expiry)),
                    many => Err(AssetError::Ambiguous {
                        venue: venue.to_owned(),
                        symbol: symbol.to_owned(),
                        candidates: many
                            .iter()
                            .map(|(b, q)| format!("{b}-{q}"))
                            .collect::<Vec<_>>()
                            .join(" or "),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
