//! The normalizer's state machine, shared by `run` and `replay`: observations in, records out.
//! No clock and no I/O: the driver says what time it is, so a replay on the capture's clock
//! produces the same records byte for byte.
//!
//! State is keyed for the planned scale-out: quotes per source slot, reference-price state per
//! pair (inside [`ReferenceEngine`]).

use crate::assets::{AssetMaster, Instrument};
use crate::reference::{Quote, ReferenceEngine};
use crate::valuation::{AccountValuer, ValuationParams, CASH_ASSET as CASH};
use rust_decimal::Decimal;
use schemas::ReferencePrice;
use schemas::{
    FeedStatus, Market, Observation, PriceTick, PriceTickSchema, QuoteObs, Record, SharedStr,
    SourceKind, Ts,
};
use std::collections::{BTreeMap, HashMap};

mod balances;
pub mod margin;
mod rebalance;
mod venue_margin;

use balances::{account_of, expect_sources};
pub use balances::{reconcile, BALANCES_STREAM};

/// One configured instrument of a connector, resolved through the asset master.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    pub venue_symbol: String,
    pub instrument: Instrument,
    /// Index into the quote table.
    pub slot: usize,
}

#[derive(Clone, Debug)]
pub struct ConnectorInfo {
    pub id: String,
    pub venue: String,
    pub sources: Vec<SourceInfo>,
    /// The account its balances belong to (default: the connector id).
    pub account: Option<String>,
    /// Exchange or custodian, for its balances.
    pub source_kind: SourceKind,
    /// Whether it reports balances (polls or streams them): its account then awaits it
    /// (`AWAITING_BALANCES`) until it has confirmed a first balance.
    pub reports_balances: bool,
}

/// Counters for metrics and `replay --stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreStats {
    pub quotes: u64,
    pub statuses: u64,
    pub stale_epoch_dropped: u64,
    pub unknown_source_dropped: u64,
    pub ticks: u64,
    pub balances: u64,
    /// Balances whose venue asset code the asset master does not know (never guessed).
    pub unmapped_assets: u64,
    /// Balances whose parts did not add up to the total (published reconciled: available is
    /// never more than the venue's own available figure, locked = total - available).
    pub inconsistent_balances: u64,
    /// `venue_margin.v1` records made.
    pub venue_margins: u64,
    /// `position.v1` records made (closes included).
    pub positions: u64,
}

/// The names a `price_tick.v1` of one source carries, made once: a tick clones them without
/// allocating (the per-quote path allocates nothing).
#[derive(Clone, Debug)]
struct TickNames {
    venue: SharedStr,
    connector: SharedStr,
    venue_symbol: SharedStr,
    instrument: SharedStr,
    base: SharedStr,
    quote: SharedStr,
}

/// A quote's effect on the reference state, split from its `price_tick.v1` by
/// [`Normalizer::quote_record`] so that a driver can publish the tick before the cut the quote
/// must wait for is computed.
#[derive(Clone, Debug, PartialEq)]
pub struct QuoteUpdate {
    slot: usize,
    quote: Quote,
}

impl QuoteUpdate {
    /// When the quote was read: the cut it belongs to.
    pub fn received_at(&self) -> Ts {
        self.quote.received_at
    }
}

/// The record half of quotes ([`Normalizer::quote_record`]): per source its tick names, slot
/// and market, per connector the latest epoch seen.
#[derive(Clone, Debug)]
pub struct QuoteRecorder {
    /// `sources[c][i]` for `connectors[c].sources[i]`.
    sources: Vec<Vec<(TickNames, usize, Market)>>,
    epochs: Vec<u64>,
}

impl QuoteRecorder {
    fn new(connectors: &[ConnectorInfo]) -> Self {
        let sources = connectors
            .iter()
            .map(|c| {
                let (venue, connector) = (SharedStr::from(&c.venue), SharedStr::from(&c.id));
                c.sources
                    .iter()
                    .map(|s| {
                        let names = TickNames {
                            venue: venue.clone(),
                            connector: connector.clone(),
                            venue_symbol: SharedStr::from(&s.venue_symbol),
                            instrument: SharedStr::from(&s.instrument.name),
                            base: SharedStr::from(&s.instrument.base),
                            quote: SharedStr::from(&s.instrument.quote),
                        };
                        (names, s.slot, s.instrument.market)
                    })
                    .collect()
            })
            .collect();
        QuoteRecorder {
            sources,
            epochs: vec![0; connectors.len()],
        }
    }

    /// See [`Normalizer::quote_record`]; counts into `stats` (`quotes` and the drops).
    pub fn record(
        &mut self,
        q: QuoteObs,
        stats: &mut CoreStats,
    ) -> Option<(PriceTick, QuoteUpdate)> {
        let ci = q.source.connector as usize;
        let Some(conn) = self.sources.get(ci) else {
            stats.unknown_source_dropped += 1;
            return None;
        };
        let Some((n, slot, market)) = conn.get(q.source.instrument as usize) else {
            stats.unknown_source_dropped += 1;
            return None;
        };
        if q.epoch < self.epochs[ci] {
            stats.stale_epoch_dropped += 1;
            return None;
        }
        self.epochs[ci] = q.epoch;
        stats.quotes += 1;
        let update = QuoteUpdate {
            slot: *slot,
            quote: Quote {
                bid: q.bid,
                ask: q.ask,
                last: q.last,
                volume_24h: q.volume_24h,
                exchange_ts: q.exchange_ts,
                received_at: q.received_at,
            },
        };
        let tick = PriceTick {
            schema: PriceTickSchema,
            venue: n.venue.clone(),
            connector: n.connector.clone(),
            venue_symbol: n.venue_symbol.clone(),
            instrument: n.instrument.clone(),
            base: n.base.clone(),
            quote: n.quote.clone(),
            market: *market,
            bid: q.bid,
            ask: q.ask,
            bid_size: q.bid_size,
            ask_size: q.ask_size,
            last: q.last,
            mark: q.mark,
            index: q.index,
            exchange_ts: q.exchange_ts,
            received_at: q.received_at,
            sequence: q.sequence,
            epoch: q.epoch,
        };
        Some((tick, update))
    }
}

pub struct Normalizer {
    connectors: Vec<ConnectorInfo>,
    /// The record half of quotes (names, epochs).
    recorder: QuoteRecorder,
    quotes: Vec<Option<Quote>>,
    engine: ReferenceEngine,
    cadence_ms: i64,
    next_tick: Option<Ts>,
    stats: CoreStats,
    assets: AssetMaster,
    /// (connector, venue asset) already warned about, so a poll every few seconds does not
    /// repeat the same warning (the counter still counts every refusal).
    warned_unmapped: std::collections::HashSet<(u32, String)>,
    /// The last `balances` feed status of each connector, re-emitted with the unmapped codes
    /// in its reason when a new one appears.
    balance_status: HashMap<u32, FeedStatus>,
    /// Collateral valuation (collateral.md): state per account.
    valuer: AccountValuer,
    /// Margin requirement per account (config).
    requirements: BTreeMap<String, Decimal>,
    /// The latest `<ASSET>-USD` reference price per asset, for valuation.
    usd_prices: HashMap<String, ReferencePrice>,
    /// Venue margin and positions (margin.md section 1).
    venue: venue_margin::VenueState,
    /// Calls, stress, collateral at risk (margin.md sections 2-4), when configured.
    margin: Option<margin::MarginState>,
}

impl Normalizer {
    /// `connectors[i]` must be the connector that observations call `connector: i`.
    pub fn new(connectors: Vec<ConnectorInfo>, engine: ReferenceEngine, cadence_ms: i64) -> Self {
        let slots = connectors
            .iter()
            .flat_map(|c| c.sources.iter().map(|s| s.slot + 1))
            .max()
            .unwrap_or(0);
        let recorder = QuoteRecorder::new(&connectors);
        let mut valuer = AccountValuer::new(ValuationParams::default());
        expect_sources(&mut valuer, &connectors);
        Normalizer {
            recorder,
            connectors,
            quotes: vec![None; slots],
            engine,
            cadence_ms: cadence_ms.max(1),
            next_tick: None,
            stats: CoreStats::default(),
            assets: AssetMaster::default(),
            warned_unmapped: Default::default(),
            balance_status: HashMap::new(),
            valuer,
            requirements: BTreeMap::new(),
            usd_prices: HashMap::new(),
            venue: Default::default(),
            margin: None,
        }
    }

    /// Valuation parameters and margin requirements per account (default: collateral.md's
    /// tables, no requirements).
    pub fn with_valuation(
        mut self,
        params: ValuationParams,
        requirements: BTreeMap<String, Decimal>,
    ) -> Self {
        self.valuer = AccountValuer::new(params);
        expect_sources(&mut self.valuer, &self.connectors);
        self.requirements = requirements;
        self
    }

    /// Encumbrance terms per account (mirrors, pledges, reuse cap: compliance.md section 3).
    pub fn with_encumbrance(
        mut self,
        terms: BTreeMap<String, crate::valuation::encumbrance::Encumbrance>,
    ) -> Self {
        for (account, e) in terms {
            self.valuer.set_encumbrance(&account, e);
        }
        self
    }

    /// The valuer's state (unmapped balances, for metrics and the dashboard).
    pub fn valuer(&self) -> &AccountValuer {
        &self.valuer
    }

    /// Sets an account's margin requirement (from the requirements topic), replacing the
    /// configured one from the next valuation on.
    pub fn set_requirement(&mut self, account: &str, requirement: Decimal) {
        self.requirements.insert(account.to_owned(), requirement);
    }

    /// The asset master that maps balances' venue asset codes (default: the built-in one).
    pub fn with_assets(mut self, assets: AssetMaster) -> Self {
        self.assets = assets;
        self
    }

    pub fn stats(&self) -> &CoreStats {
        &self.stats
    }

    pub fn connectors(&self) -> &[ConnectorInfo] {
        &self.connectors
    }

    pub fn engine(&self) -> &ReferenceEngine {
        &self.engine
    }

    /// The next as-of cut that has not been computed yet.
    pub fn next_tick(&self) -> Option<Ts> {
        self.next_tick
    }

    /// Starts the tick schedule at the first cadence boundary at or after `t`.
    pub fn start_clock(&mut self, t: Ts) {
        if self.next_tick.is_none() {
            self.next_tick = Some(t.ceil_to_millis(self.cadence_ms));
        }
    }

    /// Applies one observation. A quote becomes a normalized `price_tick.v1`; a quote from an
    /// older connection epoch than one already seen is dropped (its socket is gone).
    ///
    /// For a quote this is [`Normalizer::quote_record`] followed at once by
    /// [`Normalizer::apply_quote_state`].
    pub fn apply(&mut self, obs: Observation, out: &mut Vec<Record>) {
        match obs {
            Observation::Quote(q) => {
                if let Some((tick, update)) = self.quote_record(q) {
                    self.apply_quote_state(update);
                    out.push(Record::PriceTick(tick));
                }
            }
            Observation::Balance(b) if b.is_poll_close() => self.close_poll(b, out),
            Observation::Balance(b) => {
                if let Some(rec) = self.apply_balance(b, out) {
                    self.valuer.on_balance(&rec);
                    let (account, at) = (rec.account.clone(), rec.received_at);
                    out.push(Record::Balance(rec));
                    if let Some(report) = self.valuer.value_if_changed(
                        &account,
                        at,
                        &self.usd_prices,
                        &self.requirements,
                    ) {
                        out.push(Record::CollateralReport(report));
                    }
                }
            }
            Observation::Margin(m) => self.apply_margin(m, out),
            Observation::Position(p) => self.apply_position(p, out),
            Observation::Status(mut s) => {
                self.stats.statuses += 1;
                if s.stream == BALANCES_STREAM {
                    if let Some(i) = self.connectors.iter().position(|c| c.id == s.connector) {
                        if s.state == schemas::FeedState::Live {
                            // A successful poll confirms the source even with no row.
                            let c = &self.connectors[i];
                            let account = account_of(c);
                            self.valuer.on_confirmed(
                                &account,
                                &c.id,
                                s.last_data_at.unwrap_or(s.since),
                            );
                        }
                        self.balance_status.insert(i as u32, s.clone());
                        s = self.annotate_balances_status(i as u32, s);
                    }
                }
                out.push(Record::FeedStatus(s));
            }
        }
    }

    /// The record half of a quote: normalization, the source and epoch checks and the
    /// `price_tick.v1` it becomes. Nothing a reference price reads is touched: the returned
    /// [`QuoteUpdate`] carries the quote's effect on the reference state, for
    /// [`Normalizer::apply_quote_state`] once every cut before the quote's `received_at` has
    /// been computed. So a driver may publish the tick at once and defer only the state, and
    /// the reference prices stay those of applying everything in `received_at` order.
    ///
    /// Calls must come in arrival order (the epoch check is per connector, in that order);
    /// `None` when the quote is dropped (unknown source, older epoch).
    pub fn quote_record(&mut self, q: QuoteObs) -> Option<(PriceTick, QuoteUpdate)> {
        self.recorder.record(q, &mut self.stats)
    }

    /// A copy of the record half, for a driver that makes price ticks on one thread and keeps
    /// the reference state on another: its records and decisions are those
    /// [`Normalizer::quote_record`] would make, given the same quotes in the same order.
    pub fn quote_recorder(&self) -> QuoteRecorder {
        self.recorder.clone()
    }

    /// The state half of a quote (see [`Normalizer::quote_record`]): it becomes its source's
    /// latest quote for the reference prices of the cuts at or after its `received_at`.
    pub fn apply_quote_state(&mut self, update: QuoteUpdate) {
        self.quotes[update.slot] = Some(update.quote);
    }

    /// Computes every tick T with `T < before` (quotes received at T belong to tick T, so a
    /// driver calls this with the `received_at` of the next quote before applying it).
    pub fn run_ticks_before(&mut self, before: Ts, out: &mut Vec<Record>) {
        while let Some(t) = self.next_tick {
            if t >= before {
                break;
            }
            self.tick(t, out);
        }
    }

    /// Computes every tick T with `T <= until`.
    pub fn run_ticks_until(&mut self, until: Ts, out: &mut Vec<Record>) {
        self.run_ticks_before(Ts::from_micros(until.micros() + 1), out);
    }

    fn tick(&mut self, t: Ts, out: &mut Vec<Record>) {
        self.stats.ticks += 1;
        for rp in self.engine.tick(t, &self.quotes) {
            if rp.quote == CASH {
                self.usd_prices.insert(rp.base.clone(), rp.clone());
                self.margin_on_reference(&rp);
            }
            out.push(Record::ReferencePrice(rp));
        }
        // Every account with balances or a requirement is valued at the same cut, from the
        // reference prices just published.
        let reports = self.valuer.value(t, &self.usd_prices, &self.requirements);
        let mut margin = Vec::new();
        self.margin_after_reports(t, &reports, &mut margin);
        out.extend(reports.into_iter().map(Record::CollateralReport));
        out.extend(margin);
        self.next_tick = Some(t.plus_millis(self.cadence_ms));
    }
}

#[cfg(test)]
mod tests;
