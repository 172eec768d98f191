//! The normalizer's state machine, shared by `run` and `replay`: observations in, records out.
//! No clock and no I/O: the driver says what time it is, so a replay on the capture's clock
//! produces the same records byte for byte.
//!
//! State is keyed for the planned scale-out: quotes per source slot, reference-price state per
//! pair (inside [`ReferenceEngine`]).

use crate::assets::{AssetMaster, Instrument};
use crate::reference::{Quote, ReferenceEngine};
use crate::valuation::{AccountValuer, Unmapped, ValuationParams, CASH_ASSET as CASH};
use rust_decimal::Decimal;
use schemas::ReferencePrice;
use schemas::{
    BalanceObs, BalanceSchema, BalanceSnapshot, FeedStatus, Market, Observation, PriceTick,
    PriceTickSchema, QuoteObs, Record, SharedStr, SourceKind, Ts,
};
use std::collections::{BTreeMap, HashMap};

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

/// The stream name of a connector's balances (`feed_status.v1`).
pub const BALANCES_STREAM: &str = "balances";

/// The account a connector's balances belong to.
fn account_of(c: &ConnectorInfo) -> String {
    c.account.clone().unwrap_or_else(|| c.id.clone())
}

fn expect_sources(valuer: &mut AccountValuer, connectors: &[ConnectorInfo]) {
    for c in connectors.iter().filter(|c| c.reports_balances) {
        valuer.expect_source(&account_of(c), &c.id, c.source_kind);
    }
}

/// Available and locked from the venue's parts, conservatively and exactly: available is
/// never more than the venue's own available figure (nor than total minus its locked figure),
/// never below 0 nor above the total; locked = total - available, so total = available +
/// locked always holds. A venue that gives no split shows nothing free (available 0: the
/// normalizer never invents available = total). `Err` carries the reconciled split when the
/// venue's parts did not add up.
pub fn reconcile(
    total: Decimal,
    available: Option<Decimal>,
    locked: Option<Decimal>,
) -> Result<(Decimal, Decimal), (Decimal, Decimal)> {
    // The connectors' own rule; no figure at all means nothing free.
    let split = match schemas::split_held(total, available, locked) {
        (Some(a), Some(l)) => (a, l),
        _ => (Decimal::ZERO, total),
    };
    let as_given = available.is_none_or(|a| a == split.0) && locked.is_none_or(|l| l == split.1);
    if as_given {
        Ok(split)
    } else {
        Err(split)
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

    fn apply_balance(&mut self, b: BalanceObs, out: &mut Vec<Record>) -> Option<BalanceSnapshot> {
        let Some(conn) = self.connectors.get(b.connector as usize) else {
            self.stats.unknown_source_dropped += 1;
            return None;
        };
        let account = account_of(conn);
        let resolved = match self.assets.resolve_code(&conn.venue, &b.venue_asset) {
            Ok(r) => r,
            Err(e) => {
                // Publishing it under a guessed code could value it as something else; it is
                // shown in the account's report instead (counting 0), never dropped.
                self.stats.unmapped_assets += 1;
                let reason = e.to_string();
                let first = self
                    .warned_unmapped
                    .insert((b.connector, b.venue_asset.clone()));
                if first {
                    tracing::warn!(connector = %conn.id, error = %e, total = %b.total,
                        "balance shown as unmapped: its asset code cannot be mapped");
                }
                self.valuer.on_unmapped(Unmapped {
                    account,
                    source: conn.id.clone(),
                    source_kind: conn.source_kind,
                    venue: conn.venue.clone(),
                    venue_asset: b.venue_asset.clone(),
                    sub_account: b.sub_account,
                    wallet: b.wallet,
                    quantity: b.total,
                    as_of: b.as_of.unwrap_or(b.received_at),
                    confirmed_at: b.received_at,
                    reason,
                });
                if first {
                    // Say so at once on the source's balances feed (its last status, annotated).
                    if let Some(last) = self.balance_status.get(&b.connector).cloned() {
                        out.push(Record::FeedStatus(
                            self.annotate_balances_status(b.connector, last),
                        ));
                    }
                }
                return None;
            }
        };
        let (available, locked) = match reconcile(b.total, b.available, b.locked) {
            Ok(split) => split,
            Err(split) => {
                self.stats.inconsistent_balances += 1;
                tracing::debug!(connector = %conn.id, asset = %resolved.asset, total = %b.total,
                    available = ?b.available, locked = ?b.locked,
                    "balance parts do not add up: reconciled conservatively");
                split
            }
        };
        self.stats.balances += 1;
        Some(BalanceSnapshot {
            schema: BalanceSchema,
            account,
            source: conn.id.clone(),
            source_kind: conn.source_kind,
            venue: conn.venue.clone(),
            sub_account: b.sub_account,
            wallet: b.wallet,
            asset: resolved.asset,
            venue_asset: b.venue_asset,
            // The venue's own chain name wins over the registry's reading of the code.
            network: b.network.or(resolved.network),
            total: b.total,
            available,
            locked,
            borrowed: b.borrowed,
            pending: b.pending,
            as_of: b.as_of.unwrap_or(b.received_at),
            received_at: b.received_at,
        })
    }

    /// The close of a full poll: holdings the poll no longer listed are gone. Each is
    /// published once more with zero (a compacted `balance.v1` topic must not keep the last
    /// figure forever), and the account is revalued if its status changed.
    fn close_poll(&mut self, b: BalanceObs, out: &mut Vec<Record>) {
        let (Some(conn), Some(started)) =
            (self.connectors.get(b.connector as usize), b.poll_started)
        else {
            self.stats.unknown_source_dropped += 1;
            return;
        };
        let account = account_of(conn);
        let gone = self
            .valuer
            .on_poll_closed(&account, &conn.id, started, b.received_at);
        for (at, h) in gone {
            self.stats.balances += 1;
            out.push(Record::Balance(BalanceSnapshot {
                schema: BalanceSchema,
                account: account.clone(),
                source: conn.id.clone(),
                source_kind: conn.source_kind,
                venue: conn.venue.clone(),
                sub_account: at.sub_account,
                wallet: at.wallet,
                asset: h.asset,
                venue_asset: h.venue_asset,
                network: h.network,
                total: Decimal::ZERO,
                available: Decimal::ZERO,
                locked: Decimal::ZERO,
                borrowed: None,
                pending: None,
                as_of: b.received_at,
                received_at: b.received_at,
            }));
        }
        if let Some(report) = self.valuer.value_if_changed(
            &account,
            b.received_at,
            &self.usd_prices,
            &self.requirements,
        ) {
            out.push(Record::CollateralReport(report));
        }
    }

    /// The codes of `connector` that cannot be mapped, sorted, as a reason suffix.
    fn unmapped_note(&self, connector: u32) -> Option<String> {
        let codes: std::collections::BTreeSet<&str> = self
            .warned_unmapped
            .iter()
            .filter(|(c, _)| *c == connector)
            .map(|(_, code)| code.as_str())
            .collect();
        (!codes.is_empty()).then(|| {
            format!(
                "unmapped asset codes (shown, counted 0): {}",
                codes.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// A connector's `balances` status with the unmapped codes added to its reason, so the
    /// feed that delivered them names them for as long as they are held.
    fn annotate_balances_status(&self, connector: u32, mut s: FeedStatus) -> FeedStatus {
        if let Some(note) = self.unmapped_note(connector) {
            s.reason = Some(match s.reason.take() {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
        }
        s
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
            }
            out.push(Record::ReferencePrice(rp));
        }
        // Every account with balances or a requirement is valued at the same cut, from the
        // reference prices just published.
        for report in self.valuer.value(t, &self.usd_prices, &self.requirements) {
            out.push(Record::CollateralReport(report));
        }
        self.next_tick = Some(t.plus_millis(self.cadence_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{PairCalculator, PairParams, SourceSpec};
    use rust_decimal::Decimal;
    use schemas::{Market, PriceStatus, SourceRef};

    fn normalizer() -> Normalizer {
        let venues = ["a", "b", "c"];
        let connectors: Vec<ConnectorInfo> = venues
            .iter()
            .enumerate()
            .map(|(i, v)| ConnectorInfo {
                id: format!("{v}-spot"),
                venue: (*v).into(),
                account: None,
                source_kind: SourceKind::Exchange,
                reports_balances: false,
                sources: vec![SourceInfo {
                    venue_symbol: "BTC-USD".into(),
                    instrument: Instrument::new("BTC", "USD", Market::Spot),
                    slot: i,
                }],
            })
            .collect();
        let sources = connectors
            .iter()
            .enumerate()
            .map(|(i, c)| SourceSpec {
                venue: c.venue.clone(),
                connector: c.id.clone(),
                instrument: "BTC-USD".into(),
                quote_asset: "USD".into(),
                static_weight: None,
                slot: i,
            })
            .collect();
        let engine = ReferenceEngine::new(vec![PairCalculator::new(
            PairParams::new("BTC", "USD", false),
            sources,
        )])
        .unwrap();
        Normalizer::new(connectors, engine, 1000)
    }

    fn quote(connector: u32, mid: i64, at_ms: i64, epoch: u64) -> Observation {
        Observation::Quote(QuoteObs {
            source: SourceRef {
                connector,
                instrument: 0,
            },
            bid: Some(Decimal::from(mid) - Decimal::new(1, 2)),
            ask: Some(Decimal::from(mid) + Decimal::new(1, 2)),
            bid_size: None,
            ask_size: None,
            last: None,
            mark: None,
            index: None,
            volume_24h: None,
            exchange_ts: None,
            received_at: Ts::from_millis(at_ms),
            sequence: None,
            epoch,
        })
    }

    fn prices(out: &[Record]) -> Vec<(i64, Option<Decimal>, PriceStatus)> {
        out.iter()
            .filter_map(|r| match r {
                Record::ReferencePrice(p) => Some((p.calc_time.millis(), p.price, p.status)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn quotes_become_price_ticks_and_ticks_cut_at_received_at() {
        let mut n = normalizer();
        let mut out = Vec::new();
        n.start_clock(Ts::from_millis(10_500));
        assert_eq!(n.next_tick(), Some(Ts::from_millis(11_000)));
        for (c, mid, at) in [
            (0, 10_000, 10_600),
            (1, 10_002, 10_700),
            (2, 10_004, 11_000),
        ] {
            n.run_ticks_before(Ts::from_millis(at), &mut out);
            n.apply(quote(c, mid, at, 1), &mut out);
        }
        // A quote received at exactly T belongs to tick T.
        n.run_ticks_before(Ts::from_millis(11_001), &mut out);
        assert_eq!(
            prices(&out),
            vec![(11_000, Some(Decimal::from(10_002)), PriceStatus::Ok)]
        );
        let ticks: Vec<&PriceTick> = out
            .iter()
            .filter_map(|r| match r {
                Record::PriceTick(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(ticks.len(), 3);
        assert_eq!(ticks[0].connector, "a-spot");
        assert_eq!(ticks[0].instrument, "BTC-USD");
        assert_eq!(ticks[0].bid, Some(Decimal::new(999_999, 2)));
    }

    /// The live loop's order (every price tick at once, state updates held until their cut is
    /// computed) gives the same reference prices and the same price ticks as replay's order
    /// (cuts before each quote, then the whole quote).
    #[test]
    fn deferred_state_updates_give_the_reference_prices_of_replay_order() {
        // (connector, mid, received_at ms, epoch); cuts every 1 s from 11 s.
        let arrivals = [
            (0, 10_000, 10_600, 1),
            (1, 10_002, 10_700, 1),
            (2, 10_004, 11_000, 1), // at the cut: belongs to it
            (0, 10_010, 11_200, 1), // after the 11 s cut: waits for it
            (1, 10_012, 10_900, 1), // late arrival behind a waiting one: waits too
            (2, 10_020, 11_900, 1),
            (0, 10_030, 12_300, 2),
            (0, 99_999, 12_400, 1), // older epoch: dropped in both
            (1, 10_040, 13_500, 1), // two cuts later
            (2, 10_050, 13_600, 1),
        ];
        let obs = |&(c, mid, at, epoch): &(u32, i64, i64, u64)| quote(c, mid, at, epoch);

        let mut replay = normalizer();
        let mut replayed = Vec::new();
        replay.start_clock(Ts::from_millis(10_500));
        for a in &arrivals {
            let o = obs(a);
            replay.run_ticks_before(Ts::from_millis(a.2), &mut replayed);
            replay.apply(o, &mut replayed);
        }
        replay.run_ticks_until(Ts::from_millis(14_000), &mut replayed);

        // Live: the cut for T is computed when a later quote shows up (as the clock would),
        // held updates are applied after it in arrival order, up to the next cut.
        let mut live = normalizer();
        let mut published = Vec::new();
        live.start_clock(Ts::from_millis(10_500));
        let mut held: std::collections::VecDeque<QuoteUpdate> = Default::default();
        let run_due = |n: &mut Normalizer,
                       held: &mut std::collections::VecDeque<QuoteUpdate>,
                       now: Ts,
                       out: &mut Vec<Record>| {
            while let Some(t) = n.next_tick().filter(|&t| t < now) {
                n.run_ticks_until(t, out);
                let next = t.plus_millis(1000);
                while held.front().is_some_and(|u| u.received_at() <= next) {
                    n.apply_quote_state(held.pop_front().unwrap());
                }
            }
        };
        for a in &arrivals {
            let Observation::Quote(q) = obs(a) else {
                unreachable!()
            };
            let r = q.received_at;
            let wait = live.next_tick().is_some_and(|t| r > t) || !held.is_empty();
            if let Some((tick, update)) = live.quote_record(q) {
                published.push(Record::PriceTick(tick));
                if wait {
                    held.push_back(update);
                } else {
                    live.apply_quote_state(update);
                }
            }
            // The clock runs the cuts already passed by the latest arrival.
            run_due(&mut live, &mut held, r, &mut published);
        }
        run_due(
            &mut live,
            &mut held,
            Ts::from_millis(14_001),
            &mut published,
        );
        assert!(held.is_empty());

        let of = |out: &[Record], reference: bool| -> Vec<Record> {
            out.iter()
                .filter(|r| matches!(r, Record::ReferencePrice(_)) == reference)
                .cloned()
                .collect()
        };
        assert_eq!(of(&published, true), of(&replayed, true));
        assert_eq!(of(&published, true).len(), 4, "cuts 11 s to 14 s");
        assert_eq!(of(&published, false), of(&replayed, false));
        assert_eq!(
            of(&published, false).len(),
            9,
            "one tick dropped (older epoch)"
        );
        // The orders differ across topics: live published the 11.2 s tick before the 11 s cut.
        assert_ne!(published, replayed);
        assert_eq!(live.stats(), replay.stats());
    }

    #[test]
    fn a_quote_from_an_older_epoch_is_dropped() {
        let mut n = normalizer();
        let mut out = Vec::new();
        n.apply(quote(0, 100, 1_000, 2), &mut out);
        n.apply(quote(0, 999, 1_001, 1), &mut out);
        assert_eq!(n.stats().stale_epoch_dropped, 1);
        assert_eq!(out.len(), 1, "only the epoch-2 quote became a price tick");
        // Another connector's epochs are its own.
        n.apply(quote(1, 100, 1_002, 1), &mut out);
        assert_eq!(out.len(), 2);
        // Unknown sources are counted, not trusted.
        n.apply(quote(7, 100, 1_003, 1), &mut out);
        assert_eq!(n.stats().unknown_source_dropped, 1);
    }
}

#[cfg(test)]
mod balance_tests {
    use super::*;
    use crate::reference::ReferenceEngine;
    use rust_decimal_macros::dec;

    fn normalizer() -> Normalizer {
        let conn = ConnectorInfo {
            id: "kraken-main".into(),
            venue: "kraken".into(),
            sources: vec![],
            account: Some("fund-a".into()),
            source_kind: SourceKind::Exchange,
            reports_balances: false,
        };
        Normalizer::new(vec![conn], ReferenceEngine::new(vec![]).unwrap(), 1000)
    }

    fn obs(
        asset: &str,
        total: Decimal,
        available: Option<Decimal>,
        locked: Option<Decimal>,
    ) -> Observation {
        Observation::Balance(BalanceObs {
            connector: 0,
            venue_asset: asset.into(),
            total,
            available,
            locked,
            borrowed: None,
            pending: None,
            sub_account: None,
            wallet: None,
            as_of: None,
            received_at: Ts::from_millis(5),
            poll_started: None,
            network: None,
        })
    }

    use rust_decimal::Decimal;

    #[test]
    fn balances_map_assets_check_sums_and_never_guess() {
        let mut n = normalizer();
        let mut out = Vec::new();
        n.apply(
            obs(
                "XXBT",
                dec!(1.2500000000),
                Some(dec!(1.0)),
                Some(dec!(0.2500000000)),
            ),
            &mut out,
        );
        n.apply(obs("ZUSD", dec!(100), None, None), &mut out);
        n.apply(obs("ETH", dec!(3), Some(dec!(1)), Some(dec!(1))), &mut out); // 1 + 1 != 3
        n.apply(obs("NOTACOIN", dec!(1), None, None), &mut out);
        let recs: Vec<&BalanceSnapshot> = out
            .iter()
            .filter_map(|r| match r {
                Record::Balance(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(
            recs.len(),
            3,
            "an inconsistent balance is reconciled, not dropped"
        );
        assert_eq!(
            (recs[0].asset.as_str(), recs[0].venue_asset.as_str()),
            ("BTC", "XXBT")
        );
        assert_eq!(recs[0].total.to_string(), "1.2500000000");
        assert_eq!(recs[0].account, "fund-a");
        assert_eq!(
            Record::Balance(recs[0].clone()).key(),
            "fund-a/kraken-main/BTC"
        );
        // No split from the venue: nothing is shown free (never available = total).
        assert_eq!(
            (recs[1].asset.as_str(), recs[1].available, recs[1].locked),
            ("USD", dec!(0), dec!(100))
        );
        assert_eq!(
            recs[1].as_of,
            Ts::from_millis(5),
            "as_of falls back to received_at"
        );
        // 1 + 1 != 3: available stays the venue's 1, locked = 3 - 1.
        assert_eq!(
            (recs[2].asset.as_str(), recs[2].available, recs[2].locked),
            ("ETH", dec!(1), dec!(2))
        );
        // The unknown code is not published as a balance but held for the account's report.
        let unmapped: Vec<_> = n.valuer().unmapped().collect();
        assert_eq!(unmapped.len(), 1);
        assert_eq!(
            (unmapped[0].venue_asset.as_str(), unmapped[0].quantity),
            ("NOTACOIN", dec!(1))
        );
        assert_eq!(n.stats().inconsistent_balances, 1);
        assert_eq!(n.stats().unmapped_assets, 1);
    }

    #[test]
    fn reconcile_never_shows_more_free_than_the_venue_says() {
        // Exact parts pass through.
        assert_eq!(
            reconcile(dec!(3), Some(dec!(1)), Some(dec!(2))),
            Ok((dec!(1), dec!(2)))
        );
        // OKX float noise: availBal + frozenBal != cashBal by 1e-16.
        let total = dec!(0.6612664522199999);
        let (a, l) = reconcile(total, Some(dec!(0.66126645222)), Some(dec!(0))).unwrap_err();
        assert_eq!((a, l), (dec!(0.6612664522199999), dec!(0)));
        assert_eq!(a + l, total);
        // Frozen above the total: nothing free, all locked.
        assert_eq!(
            reconcile(dec!(5), Some(dec!(2)), Some(dec!(7))),
            Err((dec!(0), dec!(5)))
        );
        // Available above the total is capped at the total.
        assert_eq!(
            reconcile(dec!(5), Some(dec!(9)), None),
            Err((dec!(5), dec!(0)))
        );
        // Only locked: the rest is free.
        assert_eq!(
            reconcile(dec!(5), None, Some(dec!(2))),
            Ok((dec!(3), dec!(2)))
        );
        // Nothing: nothing free.
        assert_eq!(reconcile(dec!(5), None, None), Ok((dec!(0), dec!(5))));
        // A debt: nothing free, the whole (negative) total locked.
        assert_eq!(reconcile(dec!(-5), None, None), Ok((dec!(0), dec!(-5))));
        assert_eq!(
            reconcile(dec!(-5), Some(dec!(0)), Some(dec!(-5))),
            Ok((dec!(0), dec!(-5)))
        );
    }
}

#[cfg(test)]
mod valuation_tests {
    use super::*;
    use crate::reference::ReferenceEngine;
    use rust_decimal_macros::dec;
    use schemas::{CollateralStatus, SourceKind};

    fn usd(total: rust_decimal::Decimal, at_ms: i64) -> Observation {
        Observation::Balance(BalanceObs {
            connector: 0,
            venue_asset: "ZUSD".into(),
            total,
            available: None,
            locked: None,
            borrowed: None,
            pending: None,
            sub_account: None,
            wallet: None,
            as_of: None,
            received_at: Ts::from_millis(at_ms),
            poll_started: None,
            network: None,
        })
    }

    fn reports(out: &[Record]) -> Vec<(u64, CollateralStatus, i64)> {
        out.iter()
            .filter_map(|r| match r {
                Record::CollateralReport(c) => Some((c.seq, c.status, c.calc_time.millis())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn one_asset_in_several_wallets_of_a_source_counts_in_full() {
        let conn = ConnectorInfo {
            id: "kraken-main".into(),
            venue: "kraken".into(),
            sources: vec![],
            account: Some("fund-a".into()),
            source_kind: SourceKind::Exchange,
            reports_balances: false,
        };
        let mut n = Normalizer::new(vec![conn], ReferenceEngine::new(vec![]).unwrap(), 1000)
            .with_valuation(
                crate::valuation::ValuationParams::default(),
                BTreeMap::from([("fund-a".to_owned(), dec!(150))]),
            );
        let mut out = Vec::new();
        n.start_clock(Ts::from_millis(1_000));
        n.apply(usd(dec!(100), 900), &mut out);
        let mut staked = usd(dec!(60), 950);
        if let Observation::Balance(b) = &mut staked {
            b.wallet = Some("staked".into());
        }
        n.apply(staked, &mut out);
        out.clear();
        n.run_ticks_until(Ts::from_millis(1_000), &mut out);
        let report = out
            .iter()
            .find_map(|r| match r {
                Record::CollateralReport(c) => Some(c),
                _ => None,
            })
            .unwrap();
        assert_eq!(report.assets[0].quantity, dec!(160));
        assert_eq!(report.status, CollateralStatus::Ok);
    }

    #[test]
    fn reports_every_tick_and_at_once_on_a_status_change() {
        let conn = ConnectorInfo {
            id: "kraken-main".into(),
            venue: "kraken".into(),
            sources: vec![],
            account: Some("fund-a".into()),
            source_kind: SourceKind::Exchange,
            reports_balances: false,
        };
        let mut n = Normalizer::new(vec![conn], ReferenceEngine::new(vec![]).unwrap(), 1000)
            .with_valuation(
                crate::valuation::ValuationParams::default(),
                BTreeMap::from([("fund-a".to_owned(), dec!(100))]),
            );
        let mut out = Vec::new();
        n.start_clock(Ts::from_millis(1_000));
        n.apply(usd(dec!(150), 1_000), &mut out);
        n.run_ticks_until(Ts::from_millis(1_000), &mut out);
        assert_eq!(reports(&out), vec![(1, CollateralStatus::Ok, 1_000)]);
        out.clear();
        // Between ticks the cash drops below the requirement: reported at once, not at 2 s.
        n.apply(usd(dec!(50), 1_400), &mut out);
        assert_eq!(
            reports(&out),
            vec![(2, CollateralStatus::MarginCall, 1_400)]
        );
        out.clear();
        // Still short: no extra report until the tick.
        n.apply(usd(dec!(40), 1_500), &mut out);
        assert!(reports(&out).is_empty());
        n.run_ticks_until(Ts::from_millis(2_000), &mut out);
        assert_eq!(
            reports(&out),
            vec![(3, CollateralStatus::MarginCall, 2_000)]
        );
    }
}
