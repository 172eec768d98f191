//! Median reference price, method `median-v1` (`../shared/spec/reference-price.md`).
//!
//! [`PairCalculator`] turns the latest quote of every configured source of one pair into one
//! `reference_price.v1` record per cadence tick; [`ReferenceEngine`] runs all pairs of a tick in
//! dependency order so that an FX leg (`USDT-USD`) is published before the pairs converting
//! through it. Everything is exact `Decimal` arithmetic and a pure function of the inputs and the
//! calculator's own state, so a replay of the same quotes at the same cuts gives the same records.
//!
//! Where the spec leaves room, these are the choices (and why):
//!
//! - **Check order per source**: `NO_DATA` -> `NON_POSITIVE` / `CROSSED_BOOK` / `WIDE_SPREAD` ->
//!   `FUTURE_TS` -> `STALE` -> `FROZEN` -> `FX_UNAVAILABLE`; the first failing check is the
//!   reason. Book sanity comes first because a broken book says nothing about time.
//! - **Source price**: mid when both bid and ask are present, else `last`; neither is `NO_DATA`.
//!   A mid with a non-positive bid or ask is `NON_POSITIVE` (venues send 0 for an empty side, so
//!   such a mid is not a price). Sources passing every per-source check are *fresh*
//!   (`n_fresh`); outliers are fresh sources left out by the median test. Extreme numbers never
//!   panic: an FX product beyond `Decimal`'s range is `FX_UNAVAILABLE`.
//! - **Time**: age and the future check use `exchange_ts`, else `received_at`. Staleness compares
//!   in microseconds (`age > max_age_ms`); `age_ms` in the record is floored to whole ms.
//! - **FROZEN**: per source the calculator keeps the tick at which its source price last changed
//!   and the reference price at that moment, taken as the first good price published at or
//!   after that tick (so a source stuck since start-up, before any price existed, is caught
//!   too). FROZEN when `t - changed_at >= frozen_after_ms` and the last good price before this
//!   tick moved by `>= frozen_min_move` relative to that price. The change tracking sees every
//!   source price, excluded or not: "changed" is a property of the feed, not of our checks.
//! - **Outliers** (>= 3 fresh): M0 = plain median of the fresh prices; `|p - M0| > band * M0` is
//!   `OUTLIER` and puts the source in the excluded state; a source in that state with
//!   `|p - M0| >= band / 2 * M0` is `OUTLIER_HYSTERESIS`, below that it is included and leaves
//!   the state. With fewer than 3 fresh there is no test and the state is left as it is.
//!   Comparisons are multiplied out, so no division rounds a boundary case.
//! - **Two fresh sources**: within band (`|a - b| * 2 <= band * (a + b)`) the price is their mean
//!   whatever the weighting (the spec says "mean"; weights recorded as 1); otherwise reason
//!   `SOURCE_CONFLICT` and the fallback of 0 sources. Two *survivors* out of >= 3 fresh use the
//!   weighted median.
//! - **One survivor**: `SINGLE_SOURCE` when within band of the last good price (any age) or when
//!   there is none; otherwise the fallback of 0 sources with reason `SINGLE_SOURCE_REJECTED`.
//!   Weighting is not applied to a single source (weight 1).
//! - **Weights**: `volume` needs a non-negative `volume_24h` on every survivor, else it falls back
//!   to equal with `WEIGHT_FALLBACK`; each volume is capped at `volume_cap` times the original
//!   total and if one capped weight still is `>= 50 %` of the capped total, equal weights and
//!   `WEIGHT_FALLBACK`. `static` uses `static_weight` (default 1, negatives count as 0). Zero
//!   weights take no part in the median; a zero total falls back to equal (`WEIGHT_FALLBACK`).
//! - **Weighted median**: sort by (price, connector, instrument, config index); the first price
//!   whose cumulative weight exceeds half the total; exactly half at k gives the mean of p_k and
//!   p_k+1. Compared as `cum > total - cum`, so no halving of the total rounds.
//! - **dev_bps**: `(p - M0) / M0 * 10000`, rounded half away from zero to 2 dp, for fresh sources
//!   whenever there is at least one; null otherwise.
//! - **Status**: >= 3 survivors `OK`; 2 `DEGRADED` + `QUORUM_NOT_MET`; 1 see above; `conf / P >
//!   1 %` or more than half of the fresh sources outliers (`OUTLIER` or `OUTLIER_HYSTERESIS`) ->
//!   at least `DEGRADED` + `DISPERSION` (the reason is also added to a `STALE`/`UNAVAILABLE`
//!   record when the outlier share caused it). No new price: `STALE` with the last good price
//!   while `t - last_good_time <= max_hold_ms`, else `UNAVAILABLE` with a null price;
//!   `NO_FRESH_SOURCES` when nothing was fresh. `conf`, `price_low`, `price_high` only with a
//!   new price. Reasons keep a fixed order (status reason, `WEIGHT_FALLBACK`, `DISPERSION`) and
//!   never repeat.
//! - **last_good_price / last_good_time** in a record are the state *after* that record: an `OK`
//!   record names itself, a `STALE` one the price it holds.
//! - **Constituents**: one per source in config order, filled as far as known: an excluded
//!   source still shows its `source_price`, `fx_rate` and `price` when they could be formed;
//!   `weight` only on included sources; `dev_bps` only on fresh ones; with no new price (conflict,
//!   rejected single source) no source is `included` and the fresh ones have no exclusion reason.
//! - **params_hash**: SHA-256 (lowercase hex) of the JSON of `{method_version, params, sources}`
//!   with sources as `(connector, instrument, static_weight)` sorted by connector and instrument,
//!   and every decimal normalized (`0.050` == `0.05`), so equal parameter sets hash equally
//!   whatever their spelling or config order.
//! - **input_digest**: SHA-256 of the JSON of `{calc_time, inputs}` with inputs in config order:
//!   `(connector, instrument, bid, ask, last, volume_24h, exchange_ts, received_at, fx_rate)`,
//!   decimals as given (the venue's own scale).
//! - **Engine**: pair `B-U` converting a source quoted in `Q` uses this tick's record of `Q-U`
//!   when that pair is configured and `OK`/`DEGRADED` (a `STALE` leg is not used); pairs run
//!   dependencies first, then in config order; a conversion cycle or a pair configured twice is
//!   an error at construction. A tick may be shared out to several threads by dependency level
//!   (`ReferenceEngine::with_threads`; by default for 2,048 sources or more): the records, their
//!   order and their bytes are the same as on one thread.
//! - **Caches**: the calculator keeps, per source, the canonical JSON of its `input_digest` row
//!   and the results of pure functions of its quote (source price, book checks, `dev_bps`),
//!   keyed by the exact bits of their inputs; they save work and change no output.

mod calc;
mod digest;
mod engine;
pub mod median;

pub use calc::PairCalculator;
pub use engine::{ReferenceEngine, ReferenceError};

use rust_decimal::Decimal;
use schemas::Ts;
use serde::{Serialize, Serializer};

pub const METHOD_VERSION: &str = "median-v1";

/// Reasons a record can carry besides the exclusion reasons of its constituents.
pub mod reasons {
    pub const QUORUM_NOT_MET: &str = "QUORUM_NOT_MET";
    pub const SINGLE_SOURCE: &str = "SINGLE_SOURCE";
    pub const SINGLE_SOURCE_REJECTED: &str = "SINGLE_SOURCE_REJECTED";
    pub const SOURCE_CONFLICT: &str = "SOURCE_CONFLICT";
    pub const NO_FRESH_SOURCES: &str = "NO_FRESH_SOURCES";
    pub const WEIGHT_FALLBACK: &str = "WEIGHT_FALLBACK";
    pub const DISPERSION: &str = "DISPERSION";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weighting {
    Equal,
    Volume,
    Static,
}

/// Parameters of one pair; defaults from reference-price.md. Serialize gives the canonical form
/// used for `params_hash` (decimals normalized, so `0.050` and `0.05` are one parameter set).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairParams {
    pub base: String,
    pub quote: String,
    /// `(ask - bid) / mid` above this -> `WIDE_SPREAD`.
    #[serde(serialize_with = "canonical_decimal")]
    pub max_spread: Decimal,
    pub max_age_ms: i64,
    pub future_tolerance_ms: i64,
    pub frozen_after_ms: i64,
    /// Relative move of the reference price that makes an unchanged source `FROZEN`.
    #[serde(serialize_with = "canonical_decimal")]
    pub frozen_min_move: Decimal,
    /// Relative outlier band around the median of the fresh sources.
    #[serde(serialize_with = "canonical_decimal")]
    pub band: Decimal,
    /// How long the last good price is held (`STALE`) before `UNAVAILABLE`.
    pub max_hold_ms: i64,
    pub weighting: Weighting,
    /// Cap of one volume weight as a share of the total volume.
    #[serde(serialize_with = "canonical_decimal")]
    pub volume_cap: Decimal,
}

impl PairParams {
    /// The spec's defaults; `stablecoin` narrows the outlier band to 1 %.
    pub fn new(base: &str, quote: &str, stablecoin: bool) -> Self {
        PairParams {
            base: base.to_owned(),
            quote: quote.to_owned(),
            max_spread: Decimal::new(1, 2),
            max_age_ms: 10_000,
            future_tolerance_ms: 2_000,
            frozen_after_ms: 60_000,
            frozen_min_move: Decimal::new(2, 3),
            band: if stablecoin {
                Decimal::new(1, 2)
            } else {
                Decimal::new(5, 2)
            },
            max_hold_ms: 60_000,
            weighting: Weighting::Equal,
            volume_cap: Decimal::new(40, 2),
        }
    }

    /// The record key, `<base>-<quote>`.
    pub fn pair(&self) -> String {
        format!("{}-{}", self.base, self.quote)
    }
}

/// One configured source of a pair.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    pub venue: String,
    pub connector: String,
    /// Canonical, e.g. `BTC-USDT`.
    pub instrument: String,
    /// The instrument's quote, e.g. `USDT`; differs from the pair quote -> converted.
    pub quote_asset: String,
    pub static_weight: Option<Decimal>,
    /// Index into the quote table passed to `compute` / `tick`.
    pub slot: usize,
}

/// The latest quote of one source (what the normalizer keeps per (connector, venue_symbol)).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Quote {
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub last: Option<Decimal>,
    pub volume_24h: Option<Decimal>,
    pub exchange_ts: Option<Ts>,
    pub received_at: Ts,
}

fn canonical_decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    Serialize::serialize(&d.normalize(), s)
}
