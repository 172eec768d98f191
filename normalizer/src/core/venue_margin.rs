//! Venue margin and positions in the normalizer (margin.md section 1): the connectors' margin
//! and position observations become `venue_margin.v1` and `position.v1` records, with the
//! bands of [`crate::venue_margin`] and the currency's USD price at the moment.
//!
//! - Every observation is published (a confirmation, like a balance), `seq` per key from 1.
//! - A change of band is logged at WARN with the figures (the first observation too, when it
//!   is not `OK`).
//! - Positions: a position is published on every observation. A full list from a REST
//!   response ends with a marker for its scope: positions of the connector in that scope it
//!   did not list are closed, each published once with size 0 (`FLAT`) and forgotten. A pushed
//!   size 0 closes the position the same way; a size-0 row for a position not open (Bybit lists
//!   them) publishes nothing. A pushed position keeps the scope REST gave it.

use super::balances::account_of;
use super::Normalizer;
use crate::venue_margin::{maintenance_coverage, MarginParams};
use rust_decimal::Decimal;
use schemas::{
    MarginStatus, PositionObs, PositionRecord, PositionSchema, PositionSide, PriceStatus, Record,
    VenueMarginObs, VenueMarginRecord, VenueMarginSchema,
};
use std::collections::{BTreeMap, HashMap};

/// What the normalizer remembers of venue margin and positions.
#[derive(Clone, Debug, Default)]
pub struct VenueState {
    pub(super) params: MarginParams,
    /// Per `venue_margin.v1` key: the last status and `seq`.
    margin: HashMap<String, (MarginStatus, u64)>,
    /// Per `position.v1` key: its last `seq` (kept after a close, so a reopened position goes
    /// on counting).
    position_seq: HashMap<String, u64>,
    /// The latest record per key (rebalancing suggestions read them).
    pub(super) latest: BTreeMap<String, VenueMarginRecord>,
    /// Open positions per key: the last record and the full-list scope it was last listed in.
    open: BTreeMap<String, (PositionRecord, Option<String>, u32)>,
}

impl Normalizer {
    /// The venue margin bands and the unrealized P&L rule (`[margin]`; default: margin.md's).
    pub fn with_margin(mut self, params: MarginParams) -> Self {
        self.venue.params = params;
        self
    }

    /// The USD price of `asset` for the `_usd` figures: 1 for USD, else a usable reference
    /// price (OK, DEGRADED, or STALE holding its last good price).
    pub(super) fn usd_price(&self, asset: &str) -> Option<Decimal> {
        if asset == crate::valuation::CASH_ASSET {
            return Some(Decimal::ONE);
        }
        let rp = self.usd_prices.get(asset)?;
        match rp.status {
            PriceStatus::Ok | PriceStatus::Degraded => rp.price,
            PriceStatus::Stale => rp.price.or(rp.last_good_price),
            PriceStatus::Unavailable => None,
        }
        .filter(|p| *p > Decimal::ZERO)
    }

    /// A venue code as a canonical asset, or the code itself when the registry cannot map it
    /// (a figure is never dropped for its unit's name; the code is shown as given).
    fn canonical(&self, venue: &str, code: &str) -> String {
        self.assets
            .resolve_code(venue, code)
            .map(|r| r.asset)
            .unwrap_or_else(|_| code.to_owned())
    }

    pub(super) fn apply_margin(&mut self, m: VenueMarginObs, out: &mut Vec<Record>) {
        let Some(conn) = self.connectors.get(m.connector as usize) else {
            self.stats.unknown_source_dropped += 1;
            return;
        };
        let (account, source, venue) = (account_of(conn), conn.id.clone(), conn.venue.clone());
        let currency = self.canonical(&venue, &m.currency);
        let usd_price = self.usd_price(&currency);
        let usd = |v: Option<Decimal>| v?.checked_mul(usd_price?);
        let status = self.venue.params.status(m.equity, m.maintenance_margin);
        let mut rec = VenueMarginRecord {
            schema: VenueMarginSchema,
            account,
            source,
            venue,
            currency,
            per_currency: m.per_currency,
            equity: m.equity,
            wallet_balance: m.wallet_balance,
            unrealized_pnl: m.unrealized_pnl,
            initial_margin: m.initial_margin,
            maintenance_margin: m.maintenance_margin,
            venue_margin_ratio: m.venue_margin_ratio,
            venue_margin_ratio_kind: m.venue_margin_ratio_kind,
            maintenance_coverage: maintenance_coverage(m.equity, m.maintenance_margin),
            status,
            usd_price,
            equity_usd: usd(m.equity),
            maintenance_margin_usd: usd(m.maintenance_margin),
            as_of: m.as_of.unwrap_or(m.received_at),
            received_at: m.received_at,
            seq: 0,
        };
        let key = rec.key();
        let entry = self.venue.margin.entry(key.clone());
        let (before, seq) = match entry {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let (before, seq) = *o.get();
                *o.get_mut() = (status, seq + 1);
                (Some(before), seq + 1)
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((status, 1));
                (None, 1)
            }
        };
        rec.seq = seq;
        self.stats.venue_margins += 1;
        if before.unwrap_or(MarginStatus::Ok) != status {
            tracing::warn!(
                key = %key,
                from = before.map_or("none", MarginStatus::as_str),
                to = status.as_str(),
                equity = ?rec.equity,
                maintenance_margin = ?rec.maintenance_margin,
                maintenance_coverage = ?rec.maintenance_coverage,
                currency = %rec.currency,
                "venue margin band changed"
            );
        }
        self.venue.latest.insert(key, rec.clone());
        out.push(Record::VenueMargin(rec));
    }

    pub(super) fn apply_position(&mut self, p: PositionObs, out: &mut Vec<Record>) {
        let Some(conn) = self.connectors.get(p.connector as usize) else {
            self.stats.unknown_source_dropped += 1;
            return;
        };
        let (account, source, venue) = (account_of(conn), conn.id.clone(), conn.venue.clone());
        if p.is_snapshot_end() {
            let scope = p.snapshot_scope.unwrap_or_default();
            let gone: Vec<String> = self
                .venue
                .open
                .iter()
                .filter(|(_, (r, s, c))| {
                    *c == p.connector
                        && s.as_deref() == Some(scope.as_str())
                        && r.received_at < p.received_at
                })
                .map(|(k, _)| k.clone())
                .collect();
            for key in gone {
                if let Some((last, _, _)) = self.venue.open.remove(&key) {
                    let closed = flat(last, p.received_at);
                    self.push_position(key, closed, out);
                }
            }
            return;
        }
        let pnl_currency = p.pnl_currency.as_deref().map(|c| self.canonical(&venue, c));
        let rec = PositionRecord {
            schema: PositionSchema,
            account,
            source,
            venue,
            venue_symbol: p.venue_symbol,
            instrument: p.instrument,
            market: p.market,
            side: if p.size.is_zero() {
                PositionSide::Flat
            } else {
                p.side
            },
            hedge_side: p.hedge_side,
            size: p.size,
            contracts: p.contracts,
            entry_price: p.entry_price,
            mark_price: p.mark_price,
            unrealized_pnl: p.unrealized_pnl,
            pnl_currency,
            liquidation_price: p.liquidation_price,
            margin_mode: p.margin_mode,
            as_of: p.as_of.unwrap_or(p.received_at),
            received_at: p.received_at,
            seq: 0,
        };
        let key = rec.key();
        if rec.size.is_zero() {
            // Closed: published once if it was open, else nothing to say.
            if self.venue.open.remove(&key).is_some() {
                self.push_position(key, rec, out);
            }
            return;
        }
        let scope = p
            .snapshot_scope
            .or_else(|| self.venue.open.get(&key).and_then(|(_, s, _)| s.clone()));
        self.venue
            .open
            .insert(key.clone(), (rec.clone(), scope, p.connector));
        self.push_position(key, rec, out);
    }

    fn push_position(&mut self, key: String, mut rec: PositionRecord, out: &mut Vec<Record>) {
        let seq = self.venue.position_seq.entry(key).or_insert(0);
        *seq += 1;
        rec.seq = *seq;
        self.stats.positions += 1;
        out.push(Record::Position(rec));
    }

    /// The venue accounts' latest margin status by key (metrics and tests).
    pub fn venue_margin_statuses(&self) -> impl Iterator<Item = (&str, MarginStatus)> {
        self.venue.margin.iter().map(|(k, (s, _))| (k.as_str(), *s))
    }
}

/// The record that says a position is closed: size 0, `FLAT`, no P&L or liquidation price.
fn flat(mut last: PositionRecord, at: schemas::Ts) -> PositionRecord {
    last.side = PositionSide::Flat;
    last.size = Decimal::ZERO;
    last.contracts = Decimal::ZERO;
    last.unrealized_pnl = None;
    last.liquidation_price = None;
    last.as_of = at;
    last.received_at = at;
    last
}
