//! Daily fixings (margin.md section 4.1): one price per asset per UTC day, the last
//! `reference_price.v1` with status `OK` or `DEGRADED` and `calc_time <= 00:00:00 UTC` of that
//! day ([`FixingRecorder`]), kept in an embedded database ([`FixingStore`]) and importable from
//! a `date,asset,price` CSV ([`parse_csv`]).
//!
//! **Store.** [redb](https://docs.rs/redb) 2: a single file, no server, ACID transactions on
//! copy-on-write B-trees. A write transaction is durable once `commit` returns (the default
//! `Durability::Immediate` fsyncs); a crash or power loss at any point leaves the file at the
//! last committed transaction (the test kills a writer with `abort` mid-transaction and reopens
//! it). Each import and each live fixing is one transaction, so an import is all or nothing.
//! Rows are keyed (asset, day) with the price as text (exact) and its source: `live`, or
//! `csv:<sha256>` for an import.
//!
//! **Precedence.** A stored fixing wins over the CSV's for the same day (an import adds only
//! missing days); a live fixing replaces a CSV one (the tracker's own observation is the
//! fixing), never another live one (a fixing, once taken, is final).
//!
//! **Live fixings.** The recorder sees each asset's reference prices in `calc_time` order and
//! keeps the last good one; when a record is stamped after a UTC midnight that the last good
//! one is at or before, the last good price is that day's fixing. Only the latest midnight is
//! fixed: a feed dark for days does not fill the days between with one old price (that would
//! read as days without a move and understate risk); those days simply have no fixing.

use super::digest::sha256_json;
use chrono::NaiveDate;
use redb::{Database, ReadableTable, TableDefinition};
use rust_decimal::Decimal;
use schemas::{PriceStatus, ReferencePrice, Ts};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

const DAY_US: i64 = 86_400_000_000;

/// The UTC day of `t`, as days since 1970-01-01.
pub fn day_of(t: Ts) -> i64 {
    t.micros().div_euclid(DAY_US)
}

/// 00:00:00 UTC of `day`.
pub fn midnight(day: i64) -> Ts {
    Ts::from_micros(day.saturating_mul(DAY_US))
}

const EPOCH_CE_DAYS: i64 = 719_163;

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: i64) -> String {
    i32::try_from(day + EPOCH_CE_DAYS)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .map_or_else(|| day.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

/// The day number of `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<i64> {
    if s.len() != 10 {
        return None;
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(i64::from(chrono::Datelike::num_days_from_ce(&d)) - EPOCH_CE_DAYS)
}

/// One fixing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixing {
    pub asset: String,
    pub day: i64,
    pub price: Decimal,
}

/// A stored fixing and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFixing {
    pub asset: String,
    pub day: i64,
    pub price: Decimal,
    /// `live` or `csv:<sha256 of the file>`.
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FixingsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A bad CSV line; `line` counts from 1, the header being line 1.
    #[error("line {line}: {message}")]
    Csv { line: usize, message: String },
    #[error("fixings store: {0}")]
    Store(Box<redb::Error>),
}

fn store_err<E: Into<redb::Error>>(e: E) -> FixingsError {
    FixingsError::Store(Box::new(e.into()))
}

/// Parses a `date,asset,price` CSV (that header first; blank lines ignored). The whole file is
/// refused at the first bad line, named by its number, so nothing half-read is imported.
pub fn parse_csv(text: &str) -> Result<Vec<Fixing>, FixingsError> {
    let mut lines = text.lines().enumerate();
    let bad = |line: usize, message: String| FixingsError::Csv { line, message };
    match lines.next() {
        Some((_, h)) if h.trim().trim_start_matches('\u{feff}') == "date,asset,price" => {}
        Some((_, h)) => {
            return Err(bad(
                1,
                format!("expected the header date,asset,price, got {h:?}"),
            ))
        }
        None => {
            return Err(bad(
                1,
                "empty file: expected the header date,asset,price".into(),
            ))
        }
    }
    let mut out = Vec::new();
    let mut seen: HashMap<(String, i64), usize> = HashMap::new();
    for (i, raw) in lines {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [date, asset, price] = fields[..] else {
            return Err(bad(
                n,
                format!("expected 3 fields date,asset,price, got {}", fields.len()),
            ));
        };
        let day =
            parse_day(date).ok_or_else(|| bad(n, format!("date {date:?} is not YYYY-MM-DD")))?;
        if !schemas::ids::is_valid_asset(asset) {
            return Err(bad(n, format!("{asset:?} is not an asset code")));
        }
        let price = Decimal::from_str(price)
            .ok()
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| bad(n, format!("price {price:?} is not a positive decimal")))?;
        if let Some(first) = seen.insert((asset.to_owned(), day), n) {
            return Err(bad(
                n,
                format!("{asset} {date} already given on line {first}"),
            ));
        }
        out.push(Fixing {
            asset: asset.to_owned(),
            day,
            price,
        });
    }
    Ok(out)
}

/// Reads and parses a CSV file; also returns the SHA-256 of its bytes (for `input_digest`).
pub fn read_csv(path: &Path) -> Result<(Vec<Fixing>, String), FixingsError> {
    let bytes = std::fs::read(path).map_err(|source| FixingsError::Io {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    Ok((parse_csv(&text)?, super::digest::sha256_bytes(&bytes)))
}

/// (asset, day) -> (price as text, source).
const FIXINGS: TableDefinition<(&str, i64), (&str, &str)> = TableDefinition::new("fixings_v1");

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Days added.
    pub added: usize,
    /// Days already stored, kept as they were.
    pub kept: usize,
}

/// The fixings database (one redb file).
pub struct FixingStore {
    db: Database,
}

impl FixingStore {
    /// Opens or creates the store at `path` (and its folder).
    pub fn open(path: &Path) -> Result<Self, FixingsError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| FixingsError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let db = Database::create(path).map_err(store_err)?;
        // The table exists from the start, so readers never meet a missing one.
        let w = db.begin_write().map_err(store_err)?;
        w.open_table(FIXINGS).map_err(store_err)?;
        w.commit().map_err(store_err)?;
        Ok(FixingStore { db })
    }

    /// Imports `fixings` in one transaction; a day already stored is kept.
    pub fn import(
        &self,
        fixings: &[Fixing],
        csv_sha256: &str,
    ) -> Result<ImportSummary, FixingsError> {
        let source = format!("csv:{csv_sha256}");
        let mut summary = ImportSummary::default();
        let w = self.db.begin_write().map_err(store_err)?;
        {
            let mut t = w.open_table(FIXINGS).map_err(store_err)?;
            for f in fixings {
                if t.get((f.asset.as_str(), f.day))
                    .map_err(store_err)?
                    .is_some()
                {
                    summary.kept += 1;
                    continue;
                }
                let price = f.price.to_string();
                t.insert((f.asset.as_str(), f.day), (price.as_str(), source.as_str()))
                    .map_err(store_err)?;
                summary.added += 1;
            }
        }
        w.commit().map_err(store_err)?;
        Ok(summary)
    }

    /// Stores a live fixing: it replaces an imported one, never a live one. Returns whether it
    /// was written.
    pub fn record(&self, f: &Fixing) -> Result<bool, FixingsError> {
        let w = self.db.begin_write().map_err(store_err)?;
        let written = {
            let mut t = w.open_table(FIXINGS).map_err(store_err)?;
            let live = t
                .get((f.asset.as_str(), f.day))
                .map_err(store_err)?
                .is_some_and(|v| v.value().1 == "live");
            if !live {
                let price = f.price.to_string();
                t.insert((f.asset.as_str(), f.day), (price.as_str(), "live"))
                    .map_err(store_err)?;
            }
            !live
        };
        w.commit().map_err(store_err)?;
        Ok(written)
    }

    /// Writes `fixings` in a transaction, calls `during` before committing, then aborts the
    /// transaction: the crash-safety test kills its process inside `during`.
    #[doc(hidden)]
    pub fn with_uncommitted(
        &self,
        fixings: &[Fixing],
        during: impl FnOnce(),
    ) -> Result<(), FixingsError> {
        let w = self.db.begin_write().map_err(store_err)?;
        {
            let mut t = w.open_table(FIXINGS).map_err(store_err)?;
            for f in fixings {
                let price = f.price.to_string();
                t.insert((f.asset.as_str(), f.day), (price.as_str(), "uncommitted"))
                    .map_err(store_err)?;
            }
        }
        during();
        w.abort().map_err(store_err)
    }

    /// Every stored fixing (of `asset` only, when given), by asset then day.
    pub fn list(&self, asset: Option<&str>) -> Result<Vec<StoredFixing>, FixingsError> {
        let r = self.db.begin_read().map_err(store_err)?;
        let t = r.open_table(FIXINGS).map_err(store_err)?;
        let rows = match asset {
            Some(a) => t.range((a, i64::MIN)..=(a, i64::MAX)).map_err(store_err)?,
            None => t.iter().map_err(store_err)?,
        };
        let mut out = Vec::new();
        for row in rows {
            let (k, v) = row.map_err(store_err)?;
            let (asset, day) = k.value();
            let (price, source) = v.value();
            out.push(StoredFixing {
                asset: asset.to_owned(),
                day,
                // Only this module writes the table, always from a Decimal.
                price: Decimal::from_str(price).unwrap_or_default(),
                source: source.to_owned(),
            });
        }
        Ok(out)
    }

    /// A snapshot of every fixing, for a risk run.
    pub fn history(&self) -> Result<History, FixingsError> {
        let mut map: HashMap<String, BTreeMap<i64, Decimal>> = HashMap::new();
        for f in self.list(None)? {
            map.entry(f.asset).or_default().insert(f.day, f.price);
        }
        Ok(History::new(map))
    }
}

/// Fixings by asset and day: an immutable snapshot shared by a risk run.
#[derive(Clone, Debug, Default)]
pub struct History {
    prices: HashMap<String, BTreeMap<i64, Decimal>>,
    digests: HashMap<String, String>,
}

impl History {
    pub fn new(prices: HashMap<String, BTreeMap<i64, Decimal>>) -> Self {
        let digests = prices
            .iter()
            .map(|(a, s)| {
                let rows: Vec<(String, Decimal)> =
                    s.iter().map(|(d, p)| (format_day(*d), *p)).collect();
                (a.clone(), sha256_json(&(a, rows)))
            })
            .collect();
        History { prices, digests }
    }

    /// From a list of fixings (tests, CSV seeds).
    pub fn from_fixings(fixings: &[Fixing]) -> Self {
        let mut map: HashMap<String, BTreeMap<i64, Decimal>> = HashMap::new();
        for f in fixings {
            map.entry(f.asset.clone())
                .or_default()
                .insert(f.day, f.price);
        }
        History::new(map)
    }

    pub fn prices(&self, asset: &str) -> Option<&BTreeMap<i64, Decimal>> {
        self.prices.get(asset)
    }

    /// The last day at or before `day` with a fixing of `asset`.
    pub fn last_day_at_or_before(&self, asset: &str, day: i64) -> Option<i64> {
        self.prices
            .get(asset)?
            .range(..=day)
            .next_back()
            .map(|(d, _)| *d)
    }

    /// SHA-256 of the asset's whole series (`input_digest` of a risk record).
    pub fn digest(&self, asset: &str) -> Option<&str> {
        self.digests.get(asset).map(String::as_str)
    }
}

type AssetFixingState = (Option<(Ts, Decimal)>, Option<i64>);

/// Turns the stream of reference prices into daily fixings (see the module doc).
#[derive(Clone, Debug, Default)]
pub struct FixingRecorder {
    /// Per asset: the last good (calc_time, price) and the last day fixed.
    state: HashMap<String, AssetFixingState>,
}

impl FixingRecorder {
    /// Feeds one `<ASSET>-USD` reference price (in `calc_time` order per asset); returns the
    /// fixing it completes, if any.
    pub fn observe(&mut self, rp: &ReferencePrice) -> Option<Fixing> {
        if rp.quote != crate::valuation::CASH_ASSET {
            return None;
        }
        let (last_good, last_fixed) = self.state.entry(rp.base.clone()).or_default();
        let day = day_of(rp.calc_time);
        let m = midnight(day);
        let mut out = None;
        if let Some((tg, pg)) = *last_good {
            if tg <= m && rp.calc_time > m && last_fixed.is_none_or(|d| d < day) {
                *last_fixed = Some(day);
                out = Some(Fixing {
                    asset: rp.base.clone(),
                    day,
                    price: pg,
                });
            }
        }
        let good = matches!(rp.status, PriceStatus::Ok | PriceStatus::Degraded);
        if let Some(p) = rp.price.filter(|p| good && *p > Decimal::ZERO) {
            if last_good.is_none_or(|(tg, _)| rp.calc_time >= tg) {
                *last_good = Some((rp.calc_time, p));
            }
        }
        out
    }
}
