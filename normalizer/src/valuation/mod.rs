//! Collateral valuation, method `collateral-v1` (`../shared/spec/collateral.md`).
//!
//! [`value_account`] is the method: a pure function of one account's holdings, the latest
//! `<ASSET>-USD` reference prices, the margin requirement and the parameters, returning one
//! `collateral_report.v1`. [`AccountValuer`] keeps the latest balance per (account, source, asset)
//! and the `seq` of every account, and values all accounts at an as-of cut. State is keyed per
//! account so that an aggregator in a consumer group can own whole accounts (DESIGN.md,
//! scale-out). Arithmetic is exact `Decimal` (within its 28 significant digits; beyond that
//! rust_decimal drops digits far below a cent) and nothing is rounded before the output.
//!
//! Where the spec leaves room, these are the choices (and why):
//!
//! - **Stale balances**: stale when `t - as_of > max_balance_age_*_ms` for the source's kind,
//!   compared in microseconds. A stale source counts 0 and flags `STALE_BALANCE` on the asset
//!   and the account; `by_source` still shows the quantity it reported, with `stale: true`, so a
//!   reader sees what was left out. A balance stamped after `t` is not stale.
//! - **Quantity**: the balance's `total`, summed over the fresh sources of the asset before any
//!   tiering (C2). `pending` counts 0: it is recorded in the input digest and never added.
//!   `by_source` has one row per holding, sorted by (source, as_of, quantity).
//! - **Price**: `USD` is cash at exactly 1 (every reference price is quoted in it), status `OK`.
//!   Any other asset uses the reference record `<ASSET>-USD` from the price table; a record
//!   whose base/quote is not (asset, `USD`) is treated as missing rather than trusted. `OK` /
//!   `DEGRADED`: its price. `STALE`: its `price` (which holds the last good price), else its
//!   `last_good_price`, flag `STALE_PRICE`. `UNAVAILABLE`, missing, or a price that is not
//!   positive: MV 0, `price` null, flag `NO_PRICE`; a missing record reports `price_status`
//!   `UNAVAILABLE`. A price problem on an asset whose counted quantity is 0 changes no figure,
//!   so it raises no flag (venues report many dust and zero rows); the same holds for the
//!   de-peg flags.
//! - **Negative holdings** (records.md allows a negative `total` when the venue says so): a
//!   negative net quantity is a liability. Its MV (negative) counts in full, with no haircut
//!   and no tier slices, so a debt is never discounted; it is never capped (caps limit credit,
//!   not debt) and flags `NEGATIVE_BALANCE`. Concentration caps use `max(pre-cap total, 0)`, so
//!   a net-negative account gives no credit to capped classes.
//! - **Tiers**: progressive on the asset's USD MV. `tiers` lists each slice with MV > 0; `from` /
//!   `to` / `haircut` are the tier's, `market_value` / `collateral_value` the slice's share
//!   (exact). MV beyond the last bounded tier (a table [`ValuationParams::validate`] refuses)
//!   counts at haircut 1, and a haircut outside [0, 1] is clamped into it, so CV <= MV holds
//!   whatever the config.
//! - **Stablecoins** (the `stablecoins` set): valued at their own reference price.
//!   `|P - 1| >= depeg_watch` flags `DEPEG_WATCH`; `|P - 1| >= depeg` also moves the asset to
//!   `depeg_class` (`alt`: its tiers *and* its concentration cap) and flags `STABLECOIN_DEPEG`.
//!   The thresholds nest, so a de-pegged coin carries both flags. The test uses the price
//!   actually used (a held `STALE` price included).
//! - **Concentration**: one pass over the exact pre-cap total; a capped class's asset keeps at
//!   most `caps[class] x max(total, 0)`, the rest is `cap_excess` with flag
//!   `CONCENTRATION_CAP`. An account holding a single capped asset is capped too (the rule has no
//!   exemption): C3's de-pegged 7,834,000 is the asset's pre-cap CV.
//! - **Rounding, once at output**: `market_value` (asset, slice, total), the slices'
//!   `collateral_value`, `collateral_value_pre_cap` and `cap_excess` are exact, so the record
//!   shows the workings. The asset's `collateral_value` and `collateral_value_total` are rounded
//!   down to the cent (toward zero for the positive values the spec speaks of; a negative value
//!   rounds away from zero, so rounding never adds collateral); the total is rounded from the
//!   exact sum, not summed from rounded assets (C4). The requirement is rounded up to the cent
//!   and that rounded figure is the one used: coverage = exact CV / requirement, rounded down to
//!   4 dp by an exact integer test (never rounded up by a division's last digit); deficit =
//!   requirement - exact CV rounded up to the cent, which always equals requirement -
//!   collateral_value_total as shown.
//! - **Status**: `MARGIN_CALL` when the exact CV is below the requirement (coverage < 1; with a
//!   requirement <= 0 coverage is null and only a negative CV calls); it wins over everything
//!   because a risk team must see the call. Otherwise `DEGRADED` when any of `STALE_BALANCE`,
//!   `STALE_PRICE`, `NO_PRICE`, `VALUE_OVERFLOW` is raised, so data problems are never hidden
//!   behind `OK` or `NO_REQUIREMENT`. Otherwise `NO_REQUIREMENT` without a requirement, else
//!   `OK`. An account with a requirement and no balances is valued at 0 (a margin call).
//! - **Overflow**: a quantity or MV beyond `Decimal`'s range counts 0 with `VALUE_OVERFLOW`
//!   (account `DEGRADED`) instead of panicking; totals saturate with the same flag.
//! - **Flags**: per asset and per account (the union), sorted, without duplicates.
//! - **params_hash**: SHA-256 (lowercase hex) of the JSON of `{method_version, params}`, every
//!   decimal normalized (`0.050` == `0.05`); maps and sets serialize sorted.
//! - **input_digest**: SHA-256 of the JSON of `{account, calc_time, holdings, prices,
//!   requirement}`: holdings as `(asset, source, source_kind, quantity, pending, as_of)` sorted,
//!   so holding order does not matter; per held asset other than `USD` the reference record's
//!   `(asset, status, price, last_good_price)` (all null when missing); decimals as given.
//! - **AccountValuer**: keeps per (account, source, asset) the balance with the latest `as_of`
//!   (an equal `as_of` replaces: a correction), so a late, older snapshot cannot roll a balance
//!   back. `value` reports, in account order, every account it has seen a balance or a
//!   requirement for (once seen, an account keeps being reported, so its stream never silently
//!   stops); `seq` starts at 1 per account. As with the reference engine's quote table, the
//!   caller feeds the balances known at the cut; `value` does not filter by `received_at`.

mod digest;
pub mod encumbrance;
mod method;
mod valuer;

pub(crate) use method::coverage;
pub use method::{value_account, value_account_with};
pub use valuer::{AccountValuer, GoneHolding, Unmapped};

use rust_decimal::Decimal;
use schemas::{BalanceSnapshot, SourceKind, Ts};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

pub const METHOD_VERSION: &str = "collateral-v1";

/// The class of testnet coins (asset registry): listed with their quantity, never valued.
pub const TESTNET_CLASS: &str = "testnet";

/// The asset every reference price is quoted in; cash at exactly 1.
pub const CASH_ASSET: &str = "USD";

/// Flags of an asset and of a report.
pub mod flags {
    pub const STALE_BALANCE: &str = "STALE_BALANCE";
    pub const STALE_PRICE: &str = "STALE_PRICE";
    pub const NO_PRICE: &str = "NO_PRICE";
    pub const DEPEG_WATCH: &str = "DEPEG_WATCH";
    pub const STABLECOIN_DEPEG: &str = "STABLECOIN_DEPEG";
    pub const CONCENTRATION_CAP: &str = "CONCENTRATION_CAP";
    pub const NEGATIVE_BALANCE: &str = "NEGATIVE_BALANCE";
    pub const VALUE_OVERFLOW: &str = "VALUE_OVERFLOW";
    /// A balance whose venue code the registry cannot map: listed in `unmapped`, counting 0.
    pub const UNMAPPED_ASSET: &str = "UNMAPPED_ASSET";
    /// A configured balance source has not delivered its first balance and is still within
    /// its staleness limit since start: the account is `DEGRADED`, never `MARGIN_CALL`.
    pub const AWAITING_BALANCES: &str = "AWAITING_BALANCES";
    /// A configured balance source delivered nothing within its staleness limit: counted 0.
    pub const NO_BALANCES: &str = "NO_BALANCES";
    /// A testnet coin: listed, never valued.
    pub const TESTNET_ASSET: &str = "TESTNET_ASSET";
    /// A held asset's first reference price has not come yet at start-up: the account is
    /// `DEGRADED`, never `MARGIN_CALL`, until it comes or the start-up grace has passed.
    pub const AWAITING_PRICES: &str = "AWAITING_PRICES";
    /// A settlement asset's unrealized loss at a derivatives venue reduced its quantity
    /// (margin.md section 1).
    pub const UNREALIZED_LOSS: &str = "UNREALIZED_LOSS";

    /// Flags that make an account `DEGRADED`: the figure rests on missing or old data.
    pub const DEGRADING: &[&str] = &[
        STALE_BALANCE,
        STALE_PRICE,
        NO_PRICE,
        VALUE_OVERFLOW,
        UNMAPPED_ASSET,
        AWAITING_BALANCES,
        AWAITING_PRICES,
        NO_BALANCES,
    ];
}

/// One progressive haircut tier: the slice of USD MV from the previous tier's `up_to` (0 for
/// the first) to this `up_to` (`None`: open-ended) is haircut by `haircut`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Upper bound of the slice in USD of market value; `None` for the open top slice.
    #[serde(default, serialize_with = "canonical_opt_decimal")]
    pub up_to: Option<Decimal>,
    /// Fraction of the slice's MV that does not count, e.g. `0.05`.
    #[serde(serialize_with = "canonical_decimal")]
    pub haircut: Decimal,
}

impl Tier {
    fn new(up_to: Option<i64>, haircut: Decimal) -> Self {
        Tier {
            up_to: up_to.map(Decimal::from),
            haircut,
        }
    }
}

/// Parameters of the method; defaults from collateral.md. Serialize gives the canonical form
/// used for `params_hash`; Deserialize lets config override any field (absent fields keep the
/// default; a given map replaces the default map whole).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValuationParams {
    /// Haircut class -> its progressive tiers, in ascending `up_to`, the last one open.
    pub classes: BTreeMap<String, Vec<Tier>>,
    /// Asset -> haircut class.
    pub asset_class: BTreeMap<String, String>,
    /// Class of any priced asset not in `asset_class`.
    pub default_class: String,
    /// Assets checked for a de-peg against 1 USD.
    pub stablecoins: BTreeSet<String>,
    /// `|P - 1|` from which a stablecoin is flagged `DEPEG_WATCH`.
    #[serde(serialize_with = "canonical_decimal")]
    pub depeg_watch: Decimal,
    /// `|P - 1|` from which a stablecoin is valued in `depeg_class`, flag `STABLECOIN_DEPEG`.
    #[serde(serialize_with = "canonical_decimal")]
    pub depeg: Decimal,
    /// Class a de-pegged stablecoin moves to (tiers and cap).
    pub depeg_class: String,
    /// Class -> the largest share of the account's pre-cap total CV one asset of it may count.
    #[serde(serialize_with = "canonical_decimal_map")]
    pub caps: BTreeMap<String, Decimal>,
    /// An exchange balance older than this counts 0, in milliseconds.
    pub max_balance_age_exchange_ms: i64,
    /// A custodian balance older than this counts 0, in milliseconds.
    pub max_balance_age_custodian_ms: i64,
    /// How a settlement asset's unrealized P&L counts (margin.md section 1): set from
    /// `[margin] unrealized_pnl` (config refuses it under `[valuation]`); part of
    /// `params_hash`.
    pub unrealized_pnl: UnrealizedPnl,
}

/// `[margin] unrealized_pnl`: how much of a settlement asset's unrealized P&L at a
/// derivatives venue counts as collateral (margin.md section 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnrealizedPnl {
    /// Gains and losses both count.
    Include,
    /// Losses reduce collateral; gains do not count until realized (the default).
    #[default]
    LossesOnly,
    /// Neither counts: the wallet balance alone.
    Exclude,
}

impl UnrealizedPnl {
    /// The part of `pnl` that counts under this rule.
    pub fn counted(self, pnl: Option<Decimal>) -> Option<Decimal> {
        let pnl = pnl?;
        let c = match self {
            UnrealizedPnl::Include => pnl,
            UnrealizedPnl::LossesOnly => pnl.min(Decimal::ZERO),
            UnrealizedPnl::Exclude => Decimal::ZERO,
        };
        (!c.is_zero()).then_some(c)
    }
}

/// "Other listed large caps" of collateral.md's `alt` class, besides SOL: the largest
/// non-stablecoin assets by market capitalisation outside BTC and ETH.
pub const DEFAULT_ALTS: &[&str] = &[
    "SOL", "XRP", "ADA", "DOT", "LTC", "BNB", "AVAX", "LINK", "TRX", "BCH", "XLM", "ATOM", "UNI",
    "NEAR", "DOGE",
];

impl Default for ValuationParams {
    /// The tables of collateral.md.
    fn default() -> Self {
        // Per mille, normalized so the record shows `0.01`, not `0.010`.
        let pct = |per_mille: i64| Decimal::new(per_mille, 3).normalize();
        const M: i64 = 1_000_000;
        let classes = BTreeMap::from([
            ("cash".to_owned(), vec![Tier::new(None, Decimal::ZERO)]),
            (
                "stablecoin".to_owned(),
                vec![
                    Tier::new(Some(10 * M), pct(10)),
                    Tier::new(Some(50 * M), pct(25)),
                    Tier::new(None, pct(50)),
                ],
            ),
            (
                "btc".to_owned(),
                vec![
                    Tier::new(Some(5 * M), pct(50)),
                    Tier::new(Some(20 * M), pct(75)),
                    Tier::new(Some(50 * M), pct(100)),
                    Tier::new(None, pct(200)),
                ],
            ),
            (
                "eth".to_owned(),
                vec![
                    Tier::new(Some(5 * M), pct(75)),
                    Tier::new(Some(20 * M), pct(100)),
                    Tier::new(Some(50 * M), pct(150)),
                    Tier::new(None, pct(250)),
                ],
            ),
            (
                "alt".to_owned(),
                vec![
                    Tier::new(Some(M), pct(150)),
                    Tier::new(Some(5 * M), pct(250)),
                    Tier::new(None, pct(400)),
                ],
            ),
            (
                "long_tail".to_owned(),
                vec![
                    Tier::new(Some(M / 2), pct(300)),
                    Tier::new(Some(2 * M), pct(500)),
                    Tier::new(None, pct(1000)),
                ],
            ),
        ]);
        let mut asset_class: BTreeMap<String, String> = BTreeMap::from([
            (CASH_ASSET.to_owned(), "cash".to_owned()),
            ("USDT".to_owned(), "stablecoin".to_owned()),
            ("USDC".to_owned(), "stablecoin".to_owned()),
            ("BTC".to_owned(), "btc".to_owned()),
            ("ETH".to_owned(), "eth".to_owned()),
        ]);
        for alt in DEFAULT_ALTS {
            asset_class.insert((*alt).to_owned(), "alt".to_owned());
        }
        ValuationParams {
            classes,
            asset_class,
            default_class: "long_tail".to_owned(),
            stablecoins: ["USDT", "USDC"].iter().map(|s| (*s).to_owned()).collect(),
            depeg_watch: pct(5),
            depeg: pct(20),
            depeg_class: "alt".to_owned(),
            caps: BTreeMap::from([
                ("alt".to_owned(), Decimal::new(25, 2)),
                ("long_tail".to_owned(), Decimal::new(10, 2)),
            ]),
            max_balance_age_exchange_ms: 5 * 60 * 1000,
            max_balance_age_custodian_ms: 24 * 60 * 60 * 1000,
            unrealized_pnl: UnrealizedPnl::default(),
        }
    }
}

impl ValuationParams {
    /// The haircut class of `asset` before any de-peg move.
    pub fn class_of(&self, asset: &str) -> &str {
        self.asset_class
            .get(asset)
            .map_or(self.default_class.as_str(), String::as_str)
    }

    /// The maximum balance age of a source kind, in milliseconds.
    pub fn max_balance_age_ms(&self, kind: SourceKind) -> i64 {
        match kind {
            SourceKind::Exchange => self.max_balance_age_exchange_ms,
            SourceKind::Custodian => self.max_balance_age_custodian_ms,
        }
    }

    /// Every problem of the parameter set, each as `path: message`; empty when valid. The
    /// method never panics on a bad set, but its figures are only meaningful for a valid one.
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let unit = |d: Decimal| d >= Decimal::ZERO && d <= Decimal::ONE;
        for (class, tiers) in &self.classes {
            if tiers.is_empty() {
                errors.push(format!("classes.{class}: needs at least one tier"));
            }
            let mut prev = Decimal::ZERO;
            for (i, tier) in tiers.iter().enumerate() {
                let last = i + 1 == tiers.len();
                match tier.up_to {
                    Some(u) if u <= prev => errors.push(format!(
                        "classes.{class}[{i}].up_to: {u} must exceed the previous bound {prev}"
                    )),
                    Some(_) if last => errors.push(format!(
                        "classes.{class}[{i}].up_to: the last tier must be open (no up_to)"
                    )),
                    Some(u) => prev = u,
                    None if !last => errors.push(format!(
                        "classes.{class}[{i}].up_to: only the last tier may be open"
                    )),
                    None => {}
                }
                if !unit(tier.haircut) {
                    errors.push(format!(
                        "classes.{class}[{i}].haircut: {} must be within [0, 1]",
                        tier.haircut
                    ));
                }
            }
        }
        let mut known_class = |path: String, class: &str| {
            if !self.classes.contains_key(class) && class != TESTNET_CLASS {
                errors.push(format!("{path}: unknown class {class:?}"));
            }
        };
        known_class("default_class".to_owned(), &self.default_class);
        known_class("depeg_class".to_owned(), &self.depeg_class);
        for (asset, class) in &self.asset_class {
            known_class(format!("asset_class.{asset}"), class);
        }
        for class in self.caps.keys() {
            known_class(format!("caps.{class}"), class);
        }
        for (class, cap) in &self.caps {
            if !unit(*cap) {
                errors.push(format!("caps.{class}: {cap} must be within [0, 1]"));
            }
        }
        if self.depeg_watch < Decimal::ZERO {
            errors.push(format!(
                "depeg_watch: {} must not be negative",
                self.depeg_watch
            ));
        }
        if self.depeg < self.depeg_watch {
            errors.push(format!(
                "depeg: {} must be at least depeg_watch {}",
                self.depeg, self.depeg_watch
            ));
        }
        for (name, ms) in [
            (
                "max_balance_age_exchange_ms",
                self.max_balance_age_exchange_ms,
            ),
            (
                "max_balance_age_custodian_ms",
                self.max_balance_age_custodian_ms,
            ),
        ] {
            if ms <= 0 {
                errors.push(format!("{name}: {ms} must be positive"));
            }
        }
        errors
    }
}

/// One source's balance of one asset, as the method sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub source: String,
    pub source_kind: SourceKind,
    pub asset: String,
    /// The balance's `total`.
    pub quantity: Decimal,
    /// Recorded for the input digest; never counted.
    pub pending: Option<Decimal>,
    /// The venue's own time for the balance (not a freshness).
    pub as_of: Ts,
    /// The chain the holding is on, if the venue's code names one.
    pub network: Option<String>,
    /// The venue's code for the asset.
    pub venue_asset: String,
    /// When the balance was last confirmed (`received_at`): staleness is measured from here.
    pub confirmed_at: Ts,
    /// The venue's unrealized P&L beside the balance (`balance.v1`), counted by the
    /// `unrealized_pnl` rule.
    pub unrealized_pnl: Option<Decimal>,
    /// The balance's held part (`balance.v1` `locked`): a mirrored custodian's locked coins.
    pub locked: Decimal,
}

impl Holding {
    /// A holding whose balance was confirmed at its venue time (tests and examples).
    pub fn new(
        source: &str,
        source_kind: SourceKind,
        asset: &str,
        quantity: Decimal,
        at: Ts,
    ) -> Self {
        Holding {
            source: source.to_owned(),
            source_kind,
            asset: asset.to_owned(),
            quantity,
            pending: None,
            as_of: at,
            network: None,
            venue_asset: asset.to_owned(),
            confirmed_at: at,
            unrealized_pnl: None,
            locked: Decimal::ZERO,
        }
    }
}

/// What an account's report shows besides its mapped holdings: balances whose code cannot be
/// mapped, and configured sources with no balance yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountExtras {
    /// Sorted by (source, venue_asset); `stale` as of the cut.
    pub unmapped: Vec<schemas::UnmappedHolding>,
    /// Sorted by source.
    pub missing_sources: Vec<schemas::MissingSource>,
    /// Held assets whose first reference price is still awaited at start-up (no record yet,
    /// or `UNAVAILABLE` with no good price ever), within the start-up grace.
    pub awaiting_prices: Vec<String>,
    /// The account's encumbrance terms (compliance.md section 3), if it has any.
    pub encumbrance: Option<std::sync::Arc<encumbrance::Encumbrance>>,
}

impl From<&BalanceSnapshot> for Holding {
    fn from(b: &BalanceSnapshot) -> Self {
        Holding {
            source: b.source.clone(),
            source_kind: b.source_kind,
            asset: b.asset.clone(),
            quantity: b.total,
            pending: b.pending,
            as_of: b.as_of,
            network: b.network.clone(),
            venue_asset: b.venue_asset.clone(),
            confirmed_at: b.received_at,
            unrealized_pnl: b.unrealized_pnl,
            locked: b.locked,
        }
    }
}

fn canonical_decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    Serialize::serialize(&d.normalize(), s)
}

fn canonical_opt_decimal<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    Serialize::serialize(&d.map(|d| d.normalize()), s)
}

fn canonical_decimal_map<S: Serializer>(
    m: &BTreeMap<String, Decimal>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().map(|(k, v)| (k, v.normalize())))
}
