//! The driver: in which order observations reach the [`Normalizer`] and when its as-of cuts
//! are computed. `replay` and `run` both drive the normalizer through this file, so "live
//! equals replay" is decided in one place.
//!
//! - [`Driver`] is replay's order, on a clock it is told: every cut before an observation's
//!   `received_at` is computed before the observation is applied.
//! - [`run_live`] is the live loop: observations from the connectors' channel, records to the
//!   [`Publisher`]. A quote's `price_tick.v1` is published at once; its effect on the reference
//!   state (and every balance) waits, on the reference thread, until the cut it comes after has
//!   been computed on the wall clock (`grace` after the cut). The reference prices are those
//!   replay computes from the same arrivals (`core.rs`,
//!   `deferred_state_updates_give_the_reference_prices_of_replay_order`).

use crate::audit::{AuditError, AuditLog};
use crate::core::{CoreStats, Normalizer, QuoteRecorder, QuoteUpdate};
use crate::publish::requirements::MarginRequirement;
use crate::publish::{KafkaStats, PublishError, Publisher};
use schemas::{BalanceObs, Observation, QuoteObs, Record, Ts};
use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;

/// Replay's driver: the normalizer on a clock the caller reads from its capture.
pub struct Driver {
    normalizer: Normalizer,
    /// The clock's last reading: `finish` computes the cuts up to it.
    last: Option<Ts>,
}

impl Driver {
    pub fn new(normalizer: Normalizer) -> Self {
        Driver {
            normalizer,
            last: None,
        }
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// The clock reads `at` (a capture line was read at `at`, whatever it holds): the cut
    /// schedule starts at the first cadence boundary at or after the first reading, and every
    /// cut before `at` is computed.
    pub fn on_clock(&mut self, at: Ts, out: &mut Vec<Record>) {
        self.normalizer.start_clock(at);
        self.normalizer.run_ticks_before(at, out);
        self.last = Some(at);
    }

    /// A quote, after every cut before its `received_at`.
    pub fn on_quote(&mut self, q: QuoteObs, out: &mut Vec<Record>) {
        self.on_clock(q.received_at, out);
        self.normalizer.apply(Observation::Quote(q), out);
    }

    /// A balance, after every cut before its `received_at`.
    pub fn on_balance(&mut self, b: BalanceObs, out: &mut Vec<Record>) {
        self.on_clock(b.received_at, out);
        self.normalizer.apply(Observation::Balance(b), out);
    }

    /// A venue account's margin or position (or the end of a positions list), after every cut
    /// before its `received_at`; anything else goes the way of its kind.
    pub fn on_account(&mut self, o: Observation, out: &mut Vec<Record>) {
        match o {
            Observation::Quote(q) => self.on_quote(q, out),
            Observation::Balance(b) => self.on_balance(b, out),
            o => {
                if let Some(t) = received_at(&o) {
                    self.on_clock(t, out);
                }
                self.normalizer.apply(o, out);
            }
        }
    }

    /// The end of the capture: every cut up to the clock's last reading (inclusive).
    pub fn finish(&mut self, out: &mut Vec<Record>) {
        if let Some(t) = self.last {
            self.normalizer.run_ticks_until(t, out);
        }
    }
}

/// How the live loop cuts and how much it holds.
#[derive(Clone, Copy, Debug)]
pub struct LiveParams {
    /// The reference cadence (the normalizer's).
    pub cadence_ms: i64,
    /// How long after a cut's time it is computed: what arrives late by up to this still
    /// belongs to it.
    pub grace: Duration,
    /// Capacity of the channel to the reference thread (backpressure when full).
    pub capacity: usize,
}

/// What the loop shows its owner, each time [`Tap::wait`] returns.
pub struct LiveView<'a> {
    /// The reference thread's normalizer counters (as of its last batch).
    pub stats: &'a CoreStats,
    /// Observations waiting in the connectors' channel.
    pub queued: usize,
    pub kafka: Option<KafkaStats>,
}

/// The owner's view of the live loop (console summary, dashboard, metrics, latency). Called on
/// the loop's task, between records: keep each call cheap.
pub trait Tap {
    /// Every record, in publish order, before the publisher takes it.
    fn record(&mut self, r: &Record);
    /// A record the publisher took (not called for what is drained at shutdown).
    fn published(&mut self, _r: &Record) {}
    /// An observation was taken from the channel with `queued` still behind it.
    fn taken(&mut self, _queued: usize) {}
    /// The reference thread computed the cuts of one clock check in `busy`.
    fn cuts(&mut self, _busy: Duration) {}
    /// Resolves when the owner wants to look ([`Tap::look`]); must be cancel-safe (an
    /// interval's `tick`).
    fn wait(&mut self) -> impl Future<Output = ()> + Send;
    /// The loop's figures, after [`Tap::wait`] resolved.
    fn look(&mut self, _view: LiveView<'_>) {}
    /// The loop stops early (publishing failed or the reference thread is gone): stop the
    /// sources now; the loop then drains what the reference thread holds.
    fn abort(&mut self) {}
}

/// Why the live loop ended early.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("starting the reference thread: {0}")]
    Spawn(std::io::Error),
    #[error("publishing failed: {0}")]
    Publish(PublishError),
    #[error("the reference thread stopped (see the log): reference prices and reports ended")]
    ReferenceGone,
}

/// When a quote or balance was read: the as-of cut it belongs to (statuses have none).
fn received_at(o: &Observation) -> Option<Ts> {
    match o {
        Observation::Quote(q) => Some(q.received_at),
        Observation::Balance(b) => Some(b.received_at),
        Observation::Status(_) => None,
        Observation::Margin(m) => Some(m.received_at),
        Observation::Position(p) => Some(p.received_at),
    }
}

/// What waits for the next cut to be computed before it reaches the normalizer's state.
enum Held {
    /// A quote whose price tick is already published: only its reference-state update waits.
    Quote(QuoteUpdate),
    /// A balance (its record, valuation and report wait together).
    Obs(Observation),
}

impl Held {
    fn received_at(&self) -> Option<Ts> {
        match self {
            Held::Quote(u) => Some(u.received_at()),
            Held::Obs(o) => received_at(o),
        }
    }

    fn apply(self, n: &mut Normalizer, out: &mut Vec<Record>) {
        match self {
            Held::Quote(u) => n.apply_quote_state(u),
            Held::Obs(o) => n.apply(o, out),
        }
    }
}

/// What the loop hands the reference thread, in arrival order.
enum ToReference {
    /// A quote's reference-state update (its price tick is already published).
    Quote(QuoteUpdate),
    /// A balance: record, valuation and report are made there, at the right cut.
    Balance(Observation),
    /// A margin requirement from Kafka.
    Requirement(String, rust_decimal::Decimal),
}

/// Records the reference thread made (reference prices, collateral reports, balances), for the
/// loop to publish in this order.
struct FromReference {
    records: Vec<Record>,
    /// The normalizer's counters (none from the risk worker).
    stats: Option<CoreStats>,
    /// How long computing the cuts of one clock check took.
    busy: Option<Duration>,
}

/// The reference thread: the normalizer's state, the cuts and the valuations, off the loop so
/// that computing a cut (milliseconds with a hundred pairs) never delays a price tick.
/// As-of semantics: what is received after the next cut reaches the state only once that cut
/// is computed (`grace` after it on the wall clock, checked every 20 ms), exactly as replay
/// orders it, and to keep arrival order so does everything behind it. Ends when the loop
/// drops its sender: what is still held goes in, without further cuts.
fn reference_thread(
    mut normalizer: Normalizer,
    rx: std::sync::mpsc::Receiver<ToReference>,
    tx: mpsc::UnboundedSender<FromReference>,
    cadence_ms: i64,
    grace: Duration,
) {
    use std::sync::mpsc::TryRecvError;
    use std::time::Instant;
    const CLOCK: Duration = Duration::from_millis(20);
    // The thread polls its channel rather than sleeping in `recv`: a blocked receiver costs the
    // loop a futex wake per quote, a poll every millisecond costs nothing per quote and
    // delays a state update by at most that (the cut waits `grace`, 100 ms by default).
    const POLL: Duration = Duration::from_millis(1);
    // Collateral at risk runs on its own thread (margin.md section 4: never delaying a cut);
    // its records join the loop's stream when a run returns.
    // Bounded: one job waiting at most (see `core::margin`: a busy worker skips a cadence).
    let (risk_tx, risk_rx) = std::sync::mpsc::sync_channel::<crate::core::margin::RiskWork>(1);
    if normalizer.risk_worker(risk_tx) {
        let out = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("risk".into())
            .spawn(move || {
                for (setup, history, job) in risk_rx {
                    let records = setup
                        .run(&history, &job, 2)
                        .into_iter()
                        .map(Record::CollateralRisk)
                        .collect();
                    let batch = FromReference {
                        records,
                        stats: None,
                        busy: None,
                    };
                    if out.send(batch).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the risk thread: no collateral_risk.v1");
        }
    }
    let mut held: VecDeque<Held> = VecDeque::new();
    let mut records = Vec::new();
    let mut next_check = Instant::now() + CLOCK;
    loop {
        let mut busy = None;
        match rx.try_recv() {
            Ok(ToReference::Requirement(account, requirement)) => {
                normalizer.set_requirement(&account, requirement);
            }
            Ok(msg) => {
                let item = match msg {
                    ToReference::Quote(u) => Held::Quote(u),
                    ToReference::Balance(o) => Held::Obs(o),
                    ToReference::Requirement(..) => unreachable!("handled above"),
                };
                let after_cut = matches!((item.received_at(), normalizer.next_tick()), (Some(r), Some(t)) if r > t);
                if after_cut || !held.is_empty() {
                    held.push_back(item);
                } else {
                    item.apply(&mut normalizer, &mut records);
                }
            }
            Err(TryRecvError::Empty) => {
                std::thread::sleep(POLL.min(next_check.saturating_duration_since(Instant::now())));
            }
            Err(TryRecvError::Disconnected) => {
                for h in held.drain(..) {
                    h.apply(&mut normalizer, &mut records);
                }
                let _ = tx.send(FromReference {
                    records,
                    stats: Some(normalizer.stats().clone()),
                    busy: None,
                });
                return;
            }
        }
        let now_instant = Instant::now();
        if now_instant >= next_check {
            next_check = now_instant + CLOCK;
            let now = Ts::now();
            let started = Instant::now();
            let mut ran = false;
            while let Some(t) = normalizer.next_tick() {
                if now.micros() < t.micros() + grace.as_micros() as i64 {
                    break;
                }
                ran = true;
                normalizer.run_ticks_until(t, &mut records);
                let next = t.plus_millis(cadence_ms);
                while let Some(h) = held.front() {
                    let due = !matches!(h.received_at(), Some(r) if r > next);
                    if !due {
                        break;
                    }
                    let h = held.pop_front().expect("front exists");
                    h.apply(&mut normalizer, &mut records);
                }
            }
            if ran {
                busy = Some(started.elapsed());
            }
        }
        if !records.is_empty() || busy.is_some() {
            let batch = FromReference {
                records: std::mem::take(&mut records),
                stats: Some(normalizer.stats().clone()),
                busy,
            };
            if tx.send(batch).is_err() {
                return; // the loop is gone
            }
        }
    }
}

/// The live loop's front half: price ticks made here, the reference state on its thread.
struct Front {
    recorder: QuoteRecorder,
    /// Counts of the record half (the reference thread's normalizer counts the rest).
    stats: CoreStats,
    to_ref: std::sync::mpsc::SyncSender<ToReference>,
    /// The reference thread ended before the loop (it only does so by panicking): no
    /// reference price or report would come any more, so the run stops rather than serve stale.
    gone: bool,
}

impl Front {
    fn send(&mut self, msg: ToReference) {
        self.gone |= self.to_ref.send(msg).is_err();
    }

    /// One observation: a quote's price tick now and its state update in arrival order behind
    /// it; a balance (and its source's `balances` feed status) entirely to the reference thread.
    fn on_observation(&mut self, o: Observation, out: &mut Vec<Record>) {
        match o {
            Observation::Quote(q) => {
                if let Some((tick, update)) = self.recorder.record(q, &mut self.stats) {
                    out.push(Record::PriceTick(tick));
                    self.send(ToReference::Quote(update));
                }
            }
            // A source's balances feed goes with its balances, in arrival order: a successful
            // poll confirms the source, and its record names the codes that cannot be mapped.
            Observation::Status(s) if s.stream == crate::core::BALANCES_STREAM => {
                self.send(ToReference::Balance(Observation::Status(s)))
            }
            // Any other stream's state change touches no state a cut reads.
            Observation::Status(s) => out.push(Record::FeedStatus(s)),
            // Balances, venue margin and positions: valuation reads them, so they go to the
            // reference thread in arrival order.
            b @ (Observation::Balance(_) | Observation::Margin(_) | Observation::Position(_)) => {
                self.send(ToReference::Balance(b))
            }
        }
    }
}

/// Records waiting for the audit write in flight beyond which the loop stops taking
/// observations until it is done (backpressure: the connectors' channel fills, nothing is
/// dropped).
const MAX_UNLOGGED: usize = 65_536;

/// A batch being appended to the audit log on a blocking thread: the log (taken out of the
/// publisher), the batch and the outcome come back.
type AuditWrite = tokio::task::JoinHandle<AuditDone>;

/// What an audit write hands back: the log, the batch, the outcome.
type AuditDone = (AuditLog, Vec<Record>, Result<(), AuditError>);

/// Starts writing `records` (all of them) to the publisher's audit log at the wall clock.
fn start_audit_write(publisher: &mut Publisher, records: &mut Vec<Record>) -> Option<AuditWrite> {
    let mut log = publisher.take_audit()?;
    let batch = std::mem::take(records);
    let clock = Ts::now();
    Some(tokio::task::spawn_blocking(move || {
        let result = log.append(&batch, clock);
        (log, batch, result)
    }))
}

/// A finished audit write: the log goes back to the publisher; the batch, now publishable.
fn audit_written(
    publisher: &mut Publisher,
    done: Result<AuditDone, tokio::task::JoinError>,
) -> Result<Vec<Record>, PublishError> {
    let (log, batch, result) = done.map_err(|e| {
        tracing::error!(error = %e, "the audit writer failed: publishing stops");
        PublishError::Audit(AuditError::Poisoned {
            dir: "(writer panicked)".into(),
        })
    })?;
    publisher.set_audit(log);
    result.map_err(|e| {
        tracing::error!(error = %e, "audit log failed: publishing stops");
        PublishError::Audit(e)
    })?;
    Ok(batch)
}

/// Most observations taken from the channel in one go, published (and logged to the audit
/// log with one fsync) together.
const MAX_BATCH: usize = 512;

/// Runs the live pipeline until `rx` closes (every connector has stopped and the channel is
/// drained): observations in, records published in order, margin requirements from
/// `requirements` applied from the next valuation on. At the end, what the reference thread
/// still holds goes in and is published (errors ignored: the first one is returned). The
/// caller closes the publisher.
pub async fn run_live<T: Tap>(
    mut normalizer: Normalizer,
    params: LiveParams,
    rx: &mut mpsc::Receiver<Observation>,
    mut requirements: mpsc::Receiver<MarginRequirement>,
    publisher: &mut Publisher,
    tap: &mut T,
) -> Result<(), LiveError> {
    normalizer.start_clock(Ts::now());
    // Forward: bounded, backpressure (state updates are never dropped: live must compute what
    // replay computes). Back: one batch per clock check with cuts and per balance at most, so
    // never more than the forward capacity plus the cuts of the moment are outstanding
    // (policy: bounded by construction, never dropped). A capacity on it would deadlock: the
    // loop can block in the forward send while the thread would block here, each waiting for
    // the other to drain.
    let recorder = normalizer.quote_recorder();
    let mut core_stats = normalizer.stats().clone();
    let (to_ref, ref_rx) = std::sync::mpsc::sync_channel(params.capacity);
    let (ref_tx, mut from_ref) = mpsc::unbounded_channel();
    let (cadence, grace) = (params.cadence_ms, params.grace);
    let reference = std::thread::Builder::new()
        .name("reference".into())
        .spawn(move || reference_thread(normalizer, ref_rx, ref_tx, cadence, grace))
        .map_err(LiveError::Spawn)?;
    let mut front = Front {
        recorder,
        stats: CoreStats::default(),
        to_ref,
        gone: false,
    };
    let mut requirements_open = true;
    let mut records: Vec<Record> = Vec::new();
    let mut publish_error = None;
    let audited = publisher.has_audit();
    let mut writing: Option<AuditWrite> = None;
    let mut logged: Vec<Record> = Vec::new();
    loop {
        tokio::select! {
            req = requirements.recv(), if requirements_open => match req {
                Some(req) => {
                    tracing::info!(account = %req.account, requirement = %req.requirement, "margin requirement from Kafka");
                    front.send(ToReference::Requirement(req.account, req.requirement));
                }
                None => requirements_open = false,
            },
            // Backpressure while the disk is behind: a bounded backlog of unlogged records.
            obs = rx.recv(), if writing.is_none() || records.len() < MAX_UNLOGGED => match obs {
                Some(o) => {
                    tap.taken(rx.len());
                    front.on_observation(o, &mut records);
                    // What else is waiting joins this batch.
                    while records.len() < MAX_BATCH {
                        let Ok(o) = rx.try_recv() else { break };
                        tap.taken(rx.len());
                        front.on_observation(o, &mut records);
                    }
                }
                None => break, // every connector has stopped and the channel is drained
            },
            Some(batch) = from_ref.recv() => {
                records.extend(batch.records);
                if let Some(s) = batch.stats {
                    core_stats = s;
                }
                if let Some(b) = batch.busy {
                    tap.cuts(b);
                }
            }
            _ = tap.wait() => tap.look(LiveView {
                stats: &core_stats,
                queued: rx.len(),
                kafka: publisher.kafka_stats(),
            }),
            done = async { writing.as_mut().expect("guarded").await }, if writing.is_some() => {
                writing = None;
                match audit_written(publisher, done) {
                    Ok(batch) => logged = batch,
                    Err(e) => publish_error = Some(e),
                }
            }
        }
        // With an audit log, a batch is published once it is in the log (durably); the next
        // batch gathers meanwhile (group commit) and the loop keeps feeding the reference
        // thread, so a slow disk delays publication, never the reference state.
        let mut ready = if audited {
            if writing.is_none() && !records.is_empty() && publish_error.is_none() {
                writing = start_audit_write(publisher, &mut records);
            }
            std::mem::take(&mut logged)
        } else {
            std::mem::take(&mut records)
        };
        for r in ready.drain(..) {
            tap.record(&r);
            if let Err(e) = publisher.publish(&r).await {
                tracing::error!(error = %e, "publishing failed");
                publish_error = Some(e);
                break;
            }
            tap.published(&r);
        }
        if publish_error.is_some() || front.gone {
            tap.abort();
            break;
        }
    }

    // Drain: the audit write in flight, then what the reference thread still holds.
    if let Some(w) = writing.take() {
        match audit_written(publisher, w.await) {
            Ok(batch) => {
                for r in batch {
                    tap.record(&r);
                    let _ = publisher.publish(&r).await;
                }
            }
            Err(e) => {
                publish_error.get_or_insert(e);
            }
        }
    }
    let gone = front.gone;
    drop(front);
    if reference.join().is_err() {
        tracing::error!("the reference thread panicked");
    }
    while let Ok(batch) = from_ref.try_recv() {
        records.extend(batch.records);
    }
    // Nothing goes out unlogged: after an audit failure the rest is dropped, not published.
    if publisher.log(&records, Ts::now()).is_ok() {
        for r in records.drain(..) {
            tap.record(&r);
            let _ = publisher.publish(&r).await;
        }
    }
    match (publish_error, gone) {
        (Some(e), _) => Err(LiveError::Publish(e)),
        (None, true) => Err(LiveError::ReferenceGone),
        (None, false) => Ok(()),
    }
}
