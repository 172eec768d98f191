//! A venue kind declared as data: [`VenueSpec`].
//!
//! Why: every venue used to write its constants as trait methods (`kind`, `default_ws_url`,
//! `expected_cadence`, `rate_limit`, ...), so what a venue *is* was spread over boilerplate and
//! could not be listed without running code per venue. Now each venue folder has a `spec.rs`
//! with one `pub const SPEC: VenueSpec` (or several, when one folder serves several kinds, as
//! Bybit's `bybit_spot`, `bybit_linear` and `bybit`), and the traits keep only behaviour
//! (subscribe, parse, request, sign, simulate). The constant trait methods still exist, as
//! default methods that read [`StreamingVenue::spec`](crate::traits::StreamingVenue::spec) /
//! [`PollingVenue::spec`](crate::transport::rest::PollingVenue::spec): the 180-odd callers
//! keep working unchanged, and a venue whose figures come from config at run time
//! (`generic_rest`: rate limit, source kind) still overrides them.
//!
//! The registry ([`crate::registry::VENUES`]) pairs each spec with the kind's trait objects;
//! `collateral-tracker venues --json` prints the specs for scripts and docs.
//!
//! Everything here is `const`-constructible: a spec is a plain struct literal.

use crate::traits::{PingPolicy, Sequencing, SymbolSpec};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::{Market, SourceKind};
use std::time::Duration;

/// What the tracker knows of one venue kind before any connection.
#[derive(Clone, Copy, Debug)]
pub struct VenueSpec {
    /// The registry id (`kind` in config, `venue` in captures and records).
    pub kind: &'static str,
    /// Exchange or custodian (`source_kind` of `balance.v1`).
    pub source_kind: SourceKind,
    /// The public price stream, if this kind streams prices.
    pub prices: Option<PriceSpec>,
    /// Balances over (signed) REST, if this kind reports balances.
    pub balances: Option<RestSpec>,
    /// This venue's own asset codes that differ from canonical ones, as
    /// `(venue_code, canonical)` (Bitfinex `UST` -> `USDT`). The asset master adds them for this
    /// kind only; anything else unknown is refused at config load, never guessed.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Two real symbols of this kind (price kinds only), for the contract test, docs and the
    /// generators' symbol template ([`VenueSpec::symbol_template`]).
    pub samples: &'static [&'static str],
    /// The kind is described by the connector's config table (`[connectors.<table>]`) rather
    /// than by code: `generic_rest` reads `[connectors.generic]`. `None` for every coded venue.
    pub described_by: Option<&'static str>,
}

/// A public WebSocket price stream.
#[derive(Clone, Copy, Debug)]
pub struct PriceSpec {
    /// The production endpoint, overridable per connector with `ws_url`.
    pub ws_url: &'static str,
    /// How often a live instrument's stream normally carries data; a stream is STALE after
    /// twice this without data.
    pub cadence: Duration,
    /// How the client keeps the connection alive.
    pub ping: PingPolicy,
    /// How the venue numbers its quotes.
    pub sequencing: Sequencing,
    /// Whether some quotes are partial (`ParsedQuote::merge`) and need the last full quote.
    pub sends_deltas: bool,
    /// How the venue spells an instrument.
    pub symbols: SymbolStyle,
}

/// Balances over REST.
#[derive(Clone, Copy, Debug)]
pub struct RestSpec {
    /// The production base URL, overridable per connector with `rest_url`; empty when the
    /// kind has none (a described custodian: `rest_url` is then required).
    pub rest_url: &'static str,
    /// The venue's documented rate limit.
    pub rate_limit: RateLimit,
    /// Who shares that budget at the venue.
    pub scope: BudgetScope,
}

/// How a venue spells an instrument. The simple styles split symbols by themselves (the
/// default `StreamingVenue::split_symbol`); [`SymbolStyle::Own`] venues (dated futures,
/// perpetual suffixes, prefixes) override `split_symbol` with their own rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolStyle {
    /// Spot pairs glued together in upper-case letters and digits (`BTCUSDT`); the asset
    /// master splits them against the known quote assets. `hint` is the refusal text.
    Joined { hint: &'static str },
    /// Spot pairs `BASE<sep>QUOTE` (`BTC-USD`, `BTC/USD`). `hint` is the refusal text.
    Separated { sep: char, hint: &'static str },
    /// The venue's own rules, in its `split_symbol`.
    Own,
}

impl SymbolStyle {
    /// A short name for listings: `joined`, `separated '-'`, `own rules`.
    pub fn describe(&self) -> String {
        match self {
            SymbolStyle::Joined { .. } => "joined".to_owned(),
            SymbolStyle::Separated { sep, .. } => format!("separated '{sep}'"),
            SymbolStyle::Own => "own rules".to_owned(),
        }
    }

    /// Splits `symbol` by this style. [`SymbolStyle::Own`] refuses everything: a venue that
    /// declares it overrides `split_symbol` (the registry tests check every sample splits).
    pub fn split<'s>(&self, symbol: &'s str) -> SymbolSpec<'s> {
        match *self {
            SymbolStyle::Joined { hint } => {
                if !symbol.is_empty()
                    && symbol
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    SymbolSpec::Joined {
                        symbol,
                        market: Market::Spot,
                        expiry: None,
                    }
                } else {
                    SymbolSpec::Invalid(hint)
                }
            }
            SymbolStyle::Separated { sep, hint } => match symbol.split_once(sep) {
                Some((base, quote))
                    if !base.is_empty() && !quote.is_empty() && !quote.contains(sep) =>
                {
                    SymbolSpec::Split {
                        base,
                        quote,
                        market: Market::Spot,
                        expiry: None,
                    }
                }
                _ => SymbolSpec::Invalid(hint),
            },
            SymbolStyle::Own => {
                SymbolSpec::Invalid("this venue kind splits symbols with its own rules")
            }
        }
    }
}

/// The base asset a symbol template is derived from: every venue's samples start from it.
pub const TEMPLATE_BASE: &str = "BTC";

impl VenueSpec {
    /// How this kind spells "some base against its usual quote", for config generators: the
    /// first sample symbol with its base [`TEMPLATE_BASE`] replaced by `{BASE}`
    /// (`BTCUSDT` -> `{BASE}USDT`, `tBTCUSD` -> `t{BASE}USD`, `BTC-PERPETUAL` ->
    /// `{BASE}-PERPETUAL`). `None` for a kind without samples (no price stream).
    pub fn symbol_template(&self) -> Option<String> {
        self.samples
            .iter()
            .find(|s| s.contains(TEMPLATE_BASE))
            .map(|s| s.replacen(TEMPLATE_BASE, "{BASE}", 1))
    }

    /// The price stream's spec, or [`PriceSpec::UNSET`] for a kind without one (the registry
    /// refuses, at compile time, a streaming entry whose spec has none).
    pub const fn price(&self) -> &PriceSpec {
        match &self.prices {
            Some(p) => p,
            None => &PriceSpec::UNSET,
        }
    }

    /// The REST spec, or [`RestSpec::UNSET`] for a kind without one (see [`Self::price`]).
    pub const fn rest(&self) -> &RestSpec {
        match &self.balances {
            Some(r) => r,
            None => &RestSpec::UNSET,
        }
    }
}

impl PriceSpec {
    /// Placeholder for a kind without a price stream; never used by a registered streaming
    /// venue (see [`VenueSpec::price`]).
    pub const UNSET: PriceSpec = PriceSpec {
        ws_url: "",
        cadence: Duration::from_secs(5),
        ping: PingPolicy::ServerPings,
        sequencing: Sequencing::None,
        sends_deltas: false,
        symbols: SymbolStyle::Own,
    };
}

impl RestSpec {
    /// Placeholder for a kind without REST balances (see [`VenueSpec::rest`]): no budget.
    pub const UNSET: RestSpec = RestSpec {
        rest_url: "",
        rate_limit: RateLimit {
            capacity: 1,
            per: Duration::from_secs(60),
        },
        scope: BudgetScope::Key,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOINED: SymbolStyle = SymbolStyle::Joined { hint: "joined" };
    const DASH: SymbolStyle = SymbolStyle::Separated {
        sep: '-',
        hint: "dash",
    };

    #[test]
    fn simple_styles_split() {
        assert_eq!(
            JOINED.split("BTCUSDT"),
            SymbolSpec::Joined {
                symbol: "BTCUSDT",
                market: Market::Spot,
                expiry: None
            }
        );
        assert_eq!(JOINED.split("btcusdt"), SymbolSpec::Invalid("joined"));
        assert_eq!(JOINED.split(""), SymbolSpec::Invalid("joined"));
        assert_eq!(
            DASH.split("BTC-USD"),
            SymbolSpec::Split {
                base: "BTC",
                quote: "USD",
                market: Market::Spot,
                expiry: None
            }
        );
        assert_eq!(DASH.split("BTC-USD-X"), SymbolSpec::Invalid("dash"));
        assert_eq!(DASH.split("-USD"), SymbolSpec::Invalid("dash"));
        assert_eq!(DASH.split("BTCUSD"), SymbolSpec::Invalid("dash"));
        assert!(matches!(
            SymbolStyle::Own.split("BTC"),
            SymbolSpec::Invalid(_)
        ));
        assert_eq!(DASH.describe(), "separated '-'");
    }

    #[test]
    fn template_replaces_the_first_base() {
        let spec = VenueSpec {
            kind: "x",
            source_kind: SourceKind::Exchange,
            prices: None,
            balances: None,
            aliases: &[],
            samples: &["tBTCUSD", "tETHUSD"],
            described_by: None,
        };
        assert_eq!(spec.symbol_template().as_deref(), Some("t{BASE}USD"));
        let none = VenueSpec {
            samples: &[],
            ..spec
        };
        assert_eq!(none.symbol_template(), None);
        assert_eq!(none.price().ws_url, "");
        assert_eq!(none.rest().rest_url, "");
    }
}
