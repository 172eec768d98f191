//! The streaming contract, run against every streaming entry of `registry::VENUES` and its own
//! simulator (DESIGN.md "Adding a venue"): a new venue is covered by adding its registry line.
//!
//! For each venue, with short timings, one connector runs through:
//!   a. connect + subscribe: CONNECTING then LIVE for every stream, valid quotes for both symbols;
//!   b. garbage frames: counted as parse errors, the connection is kept, quotes keep flowing;
//!   c. a dropped connection: RECONNECTING, then quotes on epoch 2 (reconnect time printed);
//!   d. a stall (no data, heartbeats go on): STALE with "no data", then a reconnect (epoch 3)
//!      after `reconnect_after`, then LIVE again once data flows;
//!   e. cancel: the task ends within 1 s, DOWN is emitted and the outbox is released.
//!
//! Venues run concurrently; every wait is bounded, so a failure reports instead of hanging.
//! Checks that can fail without making the next step meaningless are collected and reported
//! together at the end, so one broken behaviour does not hide the others.

use connectors::outbox::{self, Outbox};
use connectors::registry::streaming_venues;
use connectors::sim::{SimHandle, SimOptions};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{run_streaming, Backoff, ConnectorStats, StreamingConnector};
use connectors::{Observation, QuoteObs, StreamingVenue};
use rust_decimal::Decimal;
use schemas::{FeedState, FeedStatus, Ts};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const CONNECTOR_INDEX: u32 = 0;
const STALE_AFTER: Duration = Duration::from_millis(600);
const RECONNECT_AFTER: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

fn sim_options() -> SimOptions {
    SimOptions {
        tick_interval: Duration::from_millis(50),
        heartbeat_interval: Duration::from_millis(200),
        ..Default::default()
    }
}

fn stat(c: &AtomicU64) -> u64 {
    ConnectorStats::get(c)
}

/// One venue's connector under test, its simulator, and everything it emitted so far.
struct Run {
    kind: &'static str,
    id: String,
    sim: SimHandle,
    stats: Arc<ConnectorStats>,
    rx: mpsc::Receiver<Observation>,
    closed: bool,
    log: Vec<Observation>,
    max_epoch: u64,
    streams: Vec<String>,
    started: Ts,
    cancel: CancellationToken,
    task: JoinHandle<()>,
    /// Contract violations that did not stop the run.
    violations: Vec<String>,
    /// Measurements for the summary.
    notes: Vec<String>,
}

impl Run {
    async fn start(venue: &'static dyn StreamingVenue) -> Result<Run, String> {
        let kind = venue.kind();
        let sim = venue
            .start_sim(sim_options())
            .await
            .map_err(|e| format!("simulator did not start: {e}"))?;
        let instruments: Vec<InstrumentSpec> = venue
            .sample_symbols()
            .iter()
            .map(|s| InstrumentSpec {
                venue_symbol: (*s).to_owned(),
                stream: format!("ticker:{s}"),
            })
            .collect();
        if instruments.len() < 2 {
            return Err(format!(
                "sample_symbols() has {} symbols, need 2",
                instruments.len()
            ));
        }
        let streams = instruments.iter().map(|i| i.stream.clone()).collect();
        let id = format!("{kind}-contract");
        let mut c = StreamingConnector::new(
            &id,
            CONNECTOR_INDEX,
            venue,
            Some(&sim.ws_url),
            SymbolTable::new(instruments),
        );
        c.stale_after = STALE_AFTER;
        c.reconnect_after = RECONNECT_AFTER;
        c.connect_timeout = CONNECT_TIMEOUT;
        c.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(500));
        let stats = c.stats.clone();
        let (tx, rx) = outbox::channel(1024);
        let outbox = Outbox::new(tx, stats.conflated.clone());
        let cancel = CancellationToken::new();
        let started = Ts::now();
        let task = tokio::spawn(run_streaming(c, outbox, cancel.clone()));
        Ok(Run {
            kind,
            id,
            sim,
            stats,
            rx,
            closed: false,
            log: Vec::new(),
            max_epoch: 0,
            streams,
            started,
            cancel,
            task,
            violations: Vec::new(),
            notes: Vec::new(),
        })
    }

    fn violation(&mut self, msg: String) {
        self.violations.push(msg);
    }

    /// Checks every observation as it arrives: quotes are attributable and sane, statuses
    /// belong to this connector.
    fn record(&mut self, o: Observation) {
        let now = Ts::now();
        match &o {
            Observation::Quote(q) => {
                if let Err(e) = check_quote(q, self.streams.len(), self.started, now) {
                    self.violation(format!("invalid quote ({e}): {q:?}"));
                }
                if q.epoch < self.max_epoch {
                    let msg = format!("quote epoch went back from {}: {q:?}", self.max_epoch);
                    self.violation(msg);
                }
                self.max_epoch = self.max_epoch.max(q.epoch);
            }
            Observation::Status(s) => {
                if s.connector != self.id
                    || s.venue != self.kind
                    || !self.streams.contains(&s.stream)
                {
                    self.violation(format!("status of another connector or stream: {s:?}"));
                }
            }
            Observation::Balance(_) | Observation::Margin(_) | Observation::Position(_) => {
                self.violation(format!("a price stream sent account data: {o:?}"));
            }
        }
        self.log.push(o);
    }

    /// Drains what has arrived so far without waiting.
    fn drain(&mut self) {
        while !self.closed {
            match self.rx.try_recv() {
                Ok(o) => self.record(o),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => self.closed = true,
            }
        }
    }

    /// Keeps receiving (so the outbox never fills) until `cond` holds; returns how long it took.
    async fn until(
        &mut self,
        what: &str,
        limit: Duration,
        mut cond: impl FnMut(&Run) -> bool,
    ) -> Result<Duration, String> {
        let t0 = Instant::now();
        loop {
            self.drain();
            if cond(self) {
                return Ok(t0.elapsed());
            }
            if t0.elapsed() > limit {
                return Err(format!("timed out after {limit:?} waiting for {what}"));
            }
            if self.closed {
                return Err(format!("outbox closed while waiting for {what}"));
            }
            if let Ok(Some(o)) =
                tokio::time::timeout(Duration::from_millis(10), self.rx.recv()).await
            {
                self.record(o);
            }
        }
    }

    fn quotes_since(&self, mark: usize) -> impl Iterator<Item = &QuoteObs> {
        self.log[mark..].iter().filter_map(|o| match o {
            Observation::Quote(q) => Some(q),
            _ => None,
        })
    }

    fn statuses_since(&self, mark: usize) -> impl Iterator<Item = &FeedStatus> {
        self.log[mark..].iter().filter_map(|o| match o {
            Observation::Status(s) => Some(s),
            _ => None,
        })
    }

    /// Whether quotes for every instrument arrived since `mark` on `epoch`.
    fn quoted_all_since(&self, mark: usize, epoch: u64) -> bool {
        let seen: BTreeSet<u32> = self.log[mark..]
            .iter()
            .filter_map(|o| match o {
                Observation::Quote(q) if q.epoch == epoch => Some(q.source.instrument),
                _ => None,
            })
            .collect();
        seen.len() == self.streams.len()
    }

    /// Whether every stream reported `state` on `epoch` since `mark`.
    fn all_in_state_since(&self, mark: usize, state: FeedState, epoch: u64) -> bool {
        self.streams.iter().all(|name| {
            self.statuses_since(mark)
                .any(|s| &s.stream == name && s.state == state && s.epoch == epoch)
        })
    }

    fn first_status(&self, mark: usize, stream: &str, state: FeedState) -> Option<&FeedStatus> {
        self.statuses_since(mark)
            .find(|s| s.stream == stream && s.state == state)
    }
}

fn check_quote(q: &QuoteObs, instruments: usize, started: Ts, now: Ts) -> Result<(), String> {
    if q.source.connector != CONNECTOR_INDEX || q.source.instrument as usize >= instruments {
        return Err("source".into());
    }
    let (Some(bid), Some(ask)) = (q.bid, q.ask) else {
        return Err("one-sided".into());
    };
    if bid <= Decimal::ZERO || bid >= ask {
        return Err("bid must be positive and below ask".into());
    }
    for size in [q.bid_size, q.ask_size].into_iter().flatten() {
        if size <= Decimal::ZERO {
            return Err("size".into());
        }
    }
    if q.received_at < started || q.received_at > now {
        return Err("received_at is not the receive time".into());
    }
    if q.epoch == 0 {
        return Err("epoch 0".into());
    }
    Ok(())
}

/// The whole contract for one venue. `Err` stops this venue's run (the next step would be
/// meaningless); softer failures land in `run.violations`.
async fn contract(run: &mut Run, venue: &'static dyn StreamingVenue) -> Result<(), String> {
    let symbols = venue.sample_symbols();
    let n_subscribe = venue.subscribe_messages(symbols).len() as u64;

    // a. connects, subscribes, goes LIVE, quotes both symbols on epoch 1.
    let t = run
        .until(
            "quotes for every symbol and LIVE on epoch 1",
            Duration::from_secs(5),
            |r| r.quoted_all_since(0, 1) && r.all_in_state_since(0, FeedState::Live, 1),
        )
        .await
        .map_err(|e| format!("a: {e}"))?;
    run.notes.push(format!("live in {} ms", t.as_millis()));
    run.until(
        "the subscribe messages at the sim",
        Duration::from_secs(1),
        |r| r.sim.control.client_messages() >= n_subscribe,
    )
    .await
    .map_err(|e| format!("a: {e}"))?;
    if run.sim.control.connections() != 1 {
        let n = run.sim.control.connections();
        run.violation(format!("a: {n} connections, expected 1"));
    }
    for name in run.streams.clone() {
        let states: Vec<(FeedState, u64)> = run
            .statuses_since(0)
            .filter(|s| s.stream == name)
            .map(|s| (s.state, s.epoch))
            .collect();
        if states.first() != Some(&(FeedState::Connecting, 1)) {
            run.violation(format!(
                "a: {name}: first status should be CONNECTING on epoch 1, statuses were {states:?}"
            ));
        }
        let live = run.first_status(0, &name, FeedState::Live).cloned();
        if let Some(live) = live {
            if live.last_data_at.is_none() || live.reason.is_some() {
                run.violation(format!(
                    "a: LIVE without data time or with a reason: {live:?}"
                ));
            }
        }
    }
    if stat(&run.stats.quotes) == 0 || stat(&run.stats.data_frames) == 0 {
        run.violation("a: quotes / data_frames counters did not move".into());
    }
    if stat(&run.stats.connects) != 1 {
        run.violation(format!("a: connects = {}", stat(&run.stats.connects)));
    }

    // b. garbage is counted and skipped; the connection stays.
    let errors_before = stat(&run.stats.parse_errors);
    run.sim.control.send_garbage(3);
    run.until("3 more parse errors", Duration::from_secs(3), |r| {
        stat(&r.stats.parse_errors) >= errors_before + 3
    })
    .await
    .map_err(|e| format!("b: {e}"))?;
    let mark = run.log.len();
    run.until(
        "quotes for every symbol after the garbage",
        Duration::from_secs(3),
        |r| r.quoted_all_since(mark, 1),
    )
    .await
    .map_err(|e| format!("b: {e}"))?;
    if run.sim.control.connections() != 1 || stat(&run.stats.reconnects) != 0 {
        let n = run.sim.control.connections();
        run.violation(format!("b: garbage cost the connection ({n} connections)"));
    }
    if run
        .statuses_since(0)
        .any(|s| s.state != FeedState::Live && s.state != FeedState::Connecting)
    {
        run.violation("b: garbage changed a stream's state".into());
    }

    // c. survives a dropped connection.
    let mark = run.log.len();
    let t0 = Instant::now();
    let dropped_at = Ts::now();
    run.sim.control.drop_connections();
    run.until(
        "RECONNECTING for every stream",
        Duration::from_secs(3),
        |r| r.all_in_state_since(mark, FeedState::Reconnecting, 2),
    )
    .await
    .map_err(|e| format!("c: {e}"))?;
    run.until(
        "quotes for every symbol on epoch 2",
        Duration::from_secs(5),
        |r| r.quoted_all_since(mark, 2),
    )
    .await
    .map_err(|e| format!("c: {e}"))?;
    let all_quoted = t0.elapsed();
    // Receive times of the quotes themselves, so the measure does not include polling.
    let first_quote_ms = run
        .quotes_since(mark)
        .find(|q| q.epoch == 2)
        .map(|q| q.received_at.micros() - dropped_at.micros())
        .unwrap_or_default() as f64
        / 1000.0;
    run.until("LIVE on epoch 2", Duration::from_secs(2), |r| {
        r.all_in_state_since(mark, FeedState::Live, 2)
    })
    .await
    .map_err(|e| format!("c: {e}"))?;
    run.notes.push(format!(
        "reconnect after drop: first quote on epoch 2 after {first_quote_ms:.1} ms, every symbol within {} ms",
        all_quoted.as_millis()
    ));
    if run.sim.control.connections() != 2 {
        let n = run.sim.control.connections();
        run.violation(format!("c: {n} connections after one drop, expected 2"));
    }
    if stat(&run.stats.reconnects) != 1 {
        run.violation(format!("c: reconnects = {}", stat(&run.stats.reconnects)));
    }
    let unexplained: Vec<FeedStatus> = run
        .statuses_since(mark)
        .filter(|s| s.state == FeedState::Reconnecting && s.reason.is_none())
        .cloned()
        .collect();
    if !unexplained.is_empty() {
        run.violation(format!("c: RECONNECTING without a reason: {unexplained:?}"));
    }
    if run.log[mark..]
        .iter()
        .any(|o| matches!(o, Observation::Quote(q) if q.epoch > 2))
    {
        run.violation("c: quotes on an epoch past 2 after one drop".into());
    }

    // d. a stall: heartbeats go on, data stops -> STALE, then a reconnect, then LIVE again.
    let heartbeats_before = stat(&run.stats.heartbeats);
    let mark = run.log.len();
    let t0 = Instant::now();
    run.sim.control.set_stall(true);
    run.until("STALE for every stream", Duration::from_secs(3), |r| {
        r.all_in_state_since(mark, FeedState::Stale, 2)
    })
    .await
    .map_err(|e| format!("d: {e}"))?;
    let stale = t0.elapsed();
    for name in run.streams.clone() {
        let s = run.first_status(mark, &name, FeedState::Stale).cloned();
        let reason = s
            .as_ref()
            .and_then(|s| s.reason.clone())
            .unwrap_or_default();
        if !reason.contains("no data") {
            run.violation(format!("d: STALE reason should say \"no data\": {s:?}"));
        }
        if s.and_then(|s| s.last_data_at).is_none() {
            run.violation(format!("d: {name}: STALE without last_data_at"));
        }
    }
    // Staleness must not fire early: the last data came at most one tick before the stall.
    if stale + Duration::from_millis(100) < STALE_AFTER {
        run.violation(format!("d: STALE after only {} ms", stale.as_millis()));
    }
    run.until("RECONNECTING on epoch 3", Duration::from_secs(6), |r| {
        r.all_in_state_since(mark, FeedState::Reconnecting, 3)
    })
    .await
    .map_err(|e| format!("d: {e}"))?;
    let reconnect = t0.elapsed();
    if reconnect + Duration::from_millis(100) < RECONNECT_AFTER {
        run.violation(format!(
            "d: replaced a quiet connection after only {} ms",
            reconnect.as_millis()
        ));
    }
    let unexplained: Vec<FeedStatus> = run
        .statuses_since(mark)
        .filter(|s| s.state == FeedState::Reconnecting)
        .filter(|s| !s.reason.as_deref().unwrap_or("").contains("no data"))
        .cloned()
        .collect();
    if !unexplained.is_empty() {
        run.violation(format!(
            "d: RECONNECTING after a stall should say why: {unexplained:?}"
        ));
    }
    if heartbeats_before > 0 && stat(&run.stats.heartbeats) <= heartbeats_before {
        run.violation("d: the venue's heartbeats stopped counting during the stall".into());
    }
    let stale_to_reconnect: Vec<bool> = run
        .statuses_since(mark)
        .take_while(|s| s.epoch == 2)
        .map(|s| s.state == FeedState::Live)
        .collect();
    if stale_to_reconnect.contains(&true) {
        run.violation("d: a stream went LIVE during the stall".into());
    }
    run.until("the third connection", Duration::from_secs(3), |r| {
        r.sim.control.connections() >= 3
    })
    .await
    .map_err(|e| format!("d: {e}"))?;
    let mark = run.log.len();
    run.sim.control.set_stall(false);
    run.until(
        "quotes and LIVE on epoch 3 after the stall",
        Duration::from_secs(3),
        |r| r.quoted_all_since(mark, 3) && r.all_in_state_since(mark, FeedState::Live, 3),
    )
    .await
    .map_err(|e| format!("d: {e}"))?;
    run.notes.push(format!(
        "stall: STALE after {} ms, reconnect after {} ms",
        stale.as_millis(),
        reconnect.as_millis()
    ));
    if run.sim.control.connections() != 3 {
        let n = run.sim.control.connections();
        run.violation(format!("d: {n} connections, expected 3"));
    }

    // e. stops promptly on cancel and says so.
    let mark = run.log.len();
    let t0 = Instant::now();
    run.cancel.cancel();
    match tokio::time::timeout(Duration::from_secs(1), &mut run.task).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("e: the connector task failed: {e}")),
        Err(_) => return Err("e: still running 1 s after cancel".into()),
    }
    let stopped = t0.elapsed();
    run.notes
        .push(format!("stopped {} ms after cancel", stopped.as_millis()));
    run.until("the outbox to close", Duration::from_secs(1), |r| r.closed)
        .await
        .map_err(|e| format!("e: {e} (the stopped task still holds a sender)"))?;
    if !run.all_in_state_since(mark, FeedState::Down, 3) {
        let got: Vec<_> = run
            .statuses_since(mark)
            .map(|s| (&s.stream, s.state))
            .collect();
        run.violation(format!(
            "e: DOWN on epoch 3 expected for every stream, got {got:?}"
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registry_venue_meets_the_streaming_contract() {
    assert!(streaming_venues().next().is_some());
    let mut set = tokio::task::JoinSet::new();
    for venue in streaming_venues() {
        set.spawn(async move {
            let mut run = match Run::start(venue).await {
                Ok(r) => r,
                Err(e) => return (venue.kind(), Err(e), Vec::new(), Vec::new()),
            };
            let result = contract(&mut run, venue).await;
            run.cancel.cancel();
            (venue.kind(), result, run.violations, run.notes)
        });
    }
    let outcome = tokio::time::timeout(Duration::from_secs(50), async {
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r);
        }
        out
    })
    .await
    .expect("the contract run exceeded 50 s");
    let mut failures = String::new();
    let mut kinds = Vec::new();
    for r in outcome {
        let (kind, result, violations, notes) = match r {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(failures, "a venue's contract task panicked: {e}");
                continue;
            }
        };
        kinds.push(kind);
        println!("{kind}: {}", notes.join("; "));
        if let Err(e) = result {
            let _ = writeln!(failures, "{kind}: {e}");
        }
        for v in violations {
            let _ = writeln!(failures, "{kind}: {v}");
        }
    }
    kinds.sort();
    let mut expected: Vec<_> = streaming_venues().map(|v| v.kind()).collect();
    expected.sort();
    assert_eq!(kinds, expected, "not every registry entry finished");
    assert!(
        failures.is_empty(),
        "streaming contract violations:\n{failures}"
    );
}

// Cancel while backing off (never connected) is checked for every registry venue on tokio's
// paused clock, to the millisecond: `paused.rs` `every_registry_venue_stops_at_once_while_backing_off`.
