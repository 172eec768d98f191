//! The WebSocket transport's clock behaviour on tokio's paused clock (issue 13): staleness,
//! heartbeats, idle limits, backoff and cancel, with exact durations and no real sleeping.
//!
//! The venue is Kraken spot v2 played by a scripted server ([`crate::support::scripted`]) over
//! the in-memory dialer, sending Kraken's own documentation examples
//! (`tests/fixtures/kraken/ws_v2_*.json`, provenance in `tests/fixtures/README.md`) through the
//! real Kraken parser. The connector stamps with [`Clock::paused`] from [`ORIGIN`], so every
//! `since`, `received_at` and `last_data_at` is `ORIGIN` plus the tokio time it happened at.
//!
//! Kraken's production timings apply: cadence 5 s, so STALE after 10 s without data, the
//! connection replaced after 20 s without data, the socket dead after 30 s without any frame;
//! staleness checked every second (stale_after / 10), a text ping every 20 s. The feed checks
//! "quiet > limit" on those ticks: a stream goes STALE on the first check after twice the
//! cadence has passed, which the tests pin to the millisecond.
//!
//! Binance, with its own timings, replays the old real-socket silent-socket fault test.
//!
//! Real sockets stay tested where they are the subject: the streaming contract against every
//! venue's simulator, the reconnect latency over 20 drops, oversized and truncated frames.

use crate::support::scripted::{scripted, Conn, Step, Venue};
use connectors::outbox::{self, Outbox};
use connectors::registry::{self, streaming_venues};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{
    run_streaming, Backoff, Clock, ConnectorStats, Dialer, StreamingConnector,
};
use connectors::{Observation, StreamingVenue};
use rust_decimal::Decimal;
use schemas::{FeedState, FeedStatus, QuoteObs, Ts};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The paused clock's wall-clock origin (2023-11-14T22:13:20Z).
const ORIGIN: Ts = Ts::from_millis(1_700_000_000_000);
/// No test needs more tokio time than this; a missing record fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(3600);
const SEED: u64 = 13;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/kraken/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ack() -> Step {
    Step::Send(fixture("ws_v2_subscribe_ack.json"))
}
fn snapshot() -> Step {
    Step::Send(fixture("ws_v2_ticker_snapshot.json"))
}
fn update() -> Step {
    Step::Send(fixture("ws_v2_ticker_update.json"))
}
fn heartbeat() -> Step {
    Step::Send(fixture("ws_v2_heartbeat.json"))
}
fn sleep_ms(ms: u64) -> Step {
    Step::Sleep(Duration::from_millis(ms))
}

fn at(ms: u64) -> Ts {
    ORIGIN.plus_millis(ms as i64)
}

fn dec(s: &str) -> Option<Decimal> {
    Some(s.parse().unwrap())
}

fn table(symbols: &[&str]) -> SymbolTable {
    SymbolTable::new(
        symbols
            .iter()
            .map(|s| InstrumentSpec {
                venue_symbol: (*s).to_owned(),
                stream: format!("ticker:{s}"),
            })
            .collect(),
    )
}

/// A connector on the paused clock and everything it emitted.
struct Run {
    rx: mpsc::Receiver<Observation>,
    log: Vec<Observation>,
    venue: Venue,
    stats: Arc<ConnectorStats>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
    start: Instant,
}

/// Starts `venue`'s connector over `script` with production timings but `backoff` and
/// what `tune` changes.
fn start_with(
    venue: &'static dyn StreamingVenue,
    symbols: &[&str],
    script: Vec<Conn>,
    backoff: Backoff,
    tune: impl FnOnce(&mut StreamingConnector),
) -> Run {
    let start = Instant::now();
    let (dialer, log) = scripted(script);
    let mut c = StreamingConnector::new("paused", 0, venue, None, table(symbols));
    c.dialer = dialer;
    c.clock = Clock::paused(ORIGIN);
    c.backoff = backoff;
    tune(&mut c);
    let stats = c.stats.clone();
    let (tx, rx) = outbox::channel(4096);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run_streaming(
        c,
        Outbox::new(tx, stats.conflated.clone()),
        cancel.clone(),
    ));
    Run {
        rx,
        log: Vec::new(),
        venue: log,
        stats,
        cancel,
        task,
        start,
    }
}

fn start(script: Vec<Conn>, backoff: Backoff, tune: impl FnOnce(&mut StreamingConnector)) -> Run {
    let kraken = registry::streaming("kraken").expect("kraken is registered");
    start_with(kraken, &["ALGO/USD"], script, backoff, tune)
}

fn seeded() -> Backoff {
    Backoff::seeded(Duration::from_millis(250), Duration::from_secs(30), SEED)
}

impl Run {
    /// Receives until a status in `state` on `epoch` arrives; returns it.
    async fn status(&mut self, state: FeedState, epoch: u64) -> FeedStatus {
        let found = tokio::time::timeout(LIMIT, async {
            loop {
                let o = self.rx.recv().await.expect("the connector runs");
                self.log.push(o.clone());
                if let Observation::Status(s) = o {
                    if s.state == state && s.epoch == epoch {
                        return s;
                    }
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {state:?} on epoch {epoch}: {:?}", self.log))
    }
    fn quotes(&self) -> Vec<&QuoteObs> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Observation::Quote(q) => Some(q),
                _ => None,
            })
            .collect()
    }
    fn statuses(&self) -> Vec<&FeedStatus> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Observation::Status(s) => Some(s),
                _ => None,
            })
            .collect()
    }
    /// Tokio time since the run started.
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

#[tokio::test(start_paused = true)]
async fn a_stream_goes_stale_at_the_first_check_after_twice_the_cadence_and_live_on_data() {
    let script = vec![Conn::Serve(vec![
        ack(),
        snapshot(),
        sleep_ms(500),
        update(),
        sleep_ms(12_000),
        update(),
    ])];
    let mut run = start(script, seeded(), |_| {});
    let connecting = run.status(FeedState::Connecting, 1).await;
    assert_eq!(connecting.since, ORIGIN);
    let live = run.status(FeedState::Live, 1).await;
    assert_eq!((live.since, live.last_data_at), (at(0), Some(at(0))));
    // Last data at 0.5 s; checks at every whole second; 10.5 s > 10 s first at 11 s.
    let stale = run.status(FeedState::Stale, 1).await;
    assert_eq!(stale.stream, "ticker:ALGO/USD");
    assert_eq!(stale.since, at(11_000));
    assert_eq!(stale.last_data_at, Some(at(500)));
    assert_eq!(
        stale.reason.as_deref(),
        Some("no data for 10.5 s (expected every 5.0 s)")
    );
    assert_eq!(ms(run.elapsed()), 11_000);
    // Data again at 12.5 s: LIVE at once, on the same connection.
    let live = run.status(FeedState::Live, 1).await;
    assert_eq!(
        (live.since, live.last_data_at, live.reason),
        (at(12_500), Some(at(12_500)), None)
    );
    let quotes = run.quotes();
    let stamps: Vec<(Ts, u64)> = quotes.iter().map(|q| (q.received_at, q.epoch)).collect();
    assert_eq!(stamps, vec![(at(0), 1), (at(500), 1), (at(12_500), 1)]);
    // The documentation's numbers, exactly: snapshot ask 0.10036, update ask 0.10035.
    assert_eq!(
        (quotes[0].bid, quotes[0].ask, quotes[0].bid_size),
        (dec("0.10025"), dec("0.10036"), dec("740.0"))
    );
    assert_eq!(
        (quotes[2].ask, quotes[2].ask_size),
        (dec("0.10035"), dec("740.0"))
    );
    assert_eq!(run.venue.dials(), vec![Duration::ZERO], "one connection");
    // What the venue got: the subscribe at 0, nothing else (the first ping is due at 20 s).
    let received = run.venue.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!((received[0].0, received[0].1), (0, Duration::ZERO));
    assert!(
        received[0].2.contains(r#""channel":"ticker""#),
        "{received:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_the_socket_but_neither_freshen_a_stream_nor_save_the_connection() {
    let mut beats = vec![ack(), snapshot()];
    for _ in 0..40 {
        beats.extend([sleep_ms(1_000), heartbeat()]);
    }
    let script = vec![Conn::Serve(beats), Conn::Serve(vec![ack(), snapshot()])];
    let backoff = seeded();
    let mut twin = backoff.clone();
    let mut run = start(script, backoff, |_| {});
    run.status(FeedState::Live, 1).await;
    let stale = run.status(FeedState::Stale, 1).await;
    // Data at 0, a heartbeat every second after it: STALE as if they were silence.
    assert_eq!((stale.since, stale.last_data_at), (at(11_000), Some(at(0))));
    assert_eq!(
        stale.reason.as_deref(),
        Some("no data for 11.0 s (expected every 5.0 s)")
    );
    // No data for more than 20 s (4x the cadence): the connection is dropped at 21 s, while
    // heartbeats still flow; RECONNECTING (epoch 2) is said when the backoff wait ends and the
    // next dial starts.
    let replaced = run.status(FeedState::Reconnecting, 2).await;
    let wait = ms(twin.next_delay());
    assert_eq!(replaced.since, at(21_000 + wait));
    assert_eq!(
        replaced.reason.as_deref(),
        Some("no data on any stream for 20000 ms")
    );
    let live = run.status(FeedState::Live, 2).await;
    assert_eq!(live.since, at(21_000 + wait));
    assert_eq!(
        run.venue.dials(),
        vec![Duration::ZERO, Duration::from_millis(21_000 + wait)]
    );
    // Heartbeats at 1..=20 s reached the connector on the first connection (the 21st is sent
    // in the same instant as the replacement, and may or may not be read first).
    let beats = ConnectorStats::get(&run.stats.heartbeats);
    assert!((20..=21).contains(&beats), "{beats} heartbeats");
    // The client's text ping went out at exactly 20 s, on the first connection.
    let pings: Vec<(usize, Duration)> = run
        .venue
        .received()
        .into_iter()
        .filter(|(_, _, t)| t.contains(r#""method":"ping""#))
        .map(|(i, t, _)| (i, t))
        .collect();
    assert_eq!(pings, vec![(0, Duration::from_secs(20))]);
    assert_eq!(run.venue.ended(), vec![(0, Duration::from_secs(21))]);
}

#[tokio::test(start_paused = true)]
async fn a_socket_without_any_frame_is_replaced_after_the_idle_timeout_with_a_new_epoch() {
    let script = vec![
        Conn::Serve(vec![ack(), snapshot()]),
        Conn::Serve(vec![ack(), snapshot()]),
    ];
    let backoff = seeded();
    let mut twin = backoff.clone();
    // Data silence alone would replace the connection at 20 s; push that past the idle
    // timeout (30 s) so the dead-socket check is the one that fires.
    let mut run = start(script, backoff, |c| {
        c.reconnect_after = Duration::from_secs(120)
    });
    let stale = run.status(FeedState::Stale, 1).await;
    assert_eq!(stale.since, at(11_000));
    // The ping at 20 s goes unanswered; no frame at all since 0: dead after 30 s, at the
    // first check past it.
    let replaced = run.status(FeedState::Reconnecting, 2).await;
    let wait = ms(twin.next_delay());
    assert_eq!(replaced.since, at(31_000 + wait));
    assert_eq!(
        replaced.reason.as_deref(),
        Some("no frame at all for 30000 ms")
    );
    let live = run.status(FeedState::Live, 2).await;
    assert_eq!(live.since, at(31_000 + wait));
    let epochs: Vec<(Ts, u64)> = run
        .quotes()
        .iter()
        .map(|q| (q.received_at, q.epoch))
        .collect();
    assert_eq!(epochs, vec![(at(0), 1), (at(31_000 + wait), 2)]);
    assert_eq!(run.venue.ended(), vec![(0, Duration::from_secs(31))]);
    assert_eq!(ConnectorStats::get(&run.stats.reconnects), 1);
}

#[tokio::test(start_paused = true)]
async fn failed_dials_back_off_exponentially_to_the_cap_and_start_over_after_data() {
    let backoff = Backoff::seeded(Duration::from_millis(100), Duration::from_secs(1), SEED);
    let mut twin = backoff.clone();
    let mut script = vec![Conn::Refuse; 6];
    script.push(Conn::Serve(vec![
        ack(),
        snapshot(),
        sleep_ms(2_000),
        Step::Close,
    ]));
    script.extend([Conn::Refuse, Conn::Refuse]);
    script.push(Conn::Serve(vec![ack(), snapshot()]));
    let mut run = start(script, backoff, |_| {});

    // What the loop must wait: the twin's draws, under ceilings doubling from 100 ms to 1 s.
    let mut ceilings = Vec::new();
    let mut draw = |twin: &mut Backoff| {
        ceilings.push(ms(twin.ceiling()));
        let d = ms(twin.next_delay());
        assert!(d <= *ceilings.last().unwrap());
        d
    };
    let mut expected = vec![0u64];
    for _ in 0..6 {
        let next = expected.last().unwrap() + draw(&mut twin);
        expected.push(next);
    }
    let connected = *expected.last().unwrap();
    // Data on the 7th connection resets the backoff; the venue closes it 2 s later.
    twin.reset();
    let closed = connected + 2_000;
    expected.push(closed + draw(&mut twin));
    for _ in 0..2 {
        let next = expected.last().unwrap() + draw(&mut twin);
        expected.push(next);
    }
    assert_eq!(
        ceilings,
        vec![100, 200, 400, 800, 1000, 1000, 100, 200, 400]
    );

    // RECONNECTING is said as each new attempt starts, after its wait.
    let first = run.status(FeedState::Reconnecting, 2).await;
    assert_eq!(first.since, at(expected[1]));
    assert!(
        first
            .reason
            .as_deref()
            .unwrap()
            .contains("connect failed: IO error: scripted refusal"),
        "{first:?}"
    );
    let live = run.status(FeedState::Live, 7).await;
    assert_eq!(live.since, at(connected));
    let closed_status = run.status(FeedState::Reconnecting, 8).await;
    assert_eq!(
        (closed_status.since, closed_status.reason.as_deref()),
        (at(expected[7]), Some("closed by venue"))
    );
    assert_eq!(run.venue.ended()[0], (6, Duration::from_millis(closed)));
    let live = run.status(FeedState::Live, 10).await;
    assert_eq!(live.since, at(expected[9]));
    let dials: Vec<u64> = run.venue.dials().into_iter().map(ms).collect();
    assert_eq!(dials, expected);
    assert_eq!(ConnectorStats::get(&run.stats.connects), 2);
}

#[tokio::test(start_paused = true)]
async fn cancel_during_a_backoff_wait_stops_at_once_with_down() {
    let backoff = Backoff::seeded(Duration::from_secs(10), Duration::from_secs(30), SEED);
    let mut twin = backoff.clone();
    let waits: Vec<u64> = (0..3).map(|_| ms(twin.next_delay())).collect();
    assert!(
        waits[2] >= 2,
        "the seed gives a wait to cancel in: {waits:?}"
    );
    let third_dial = waits[0] + waits[1];
    let cancel_at = third_dial + waits[2] / 2;
    let mut run = start(Vec::new(), backoff, |_| {});
    tokio::time::sleep_until(run.start + Duration::from_millis(cancel_at)).await;
    run.cancel.cancel();
    (&mut run.task).await.expect("the loop ends cleanly");
    assert_eq!(
        ms(run.elapsed()),
        cancel_at,
        "no time passed after the cancel"
    );
    while let Some(o) = run.rx.recv().await {
        run.log.push(o);
    }
    let dials: Vec<u64> = run.venue.dials().into_iter().map(ms).collect();
    assert_eq!(dials, vec![0, waits[0], third_dial]);
    let last = *run.statuses().last().unwrap();
    assert_eq!(
        (last.state, last.since, last.epoch, last.reason.as_deref()),
        (FeedState::Down, at(cancel_at), 3, Some("stopped"))
    );
}

/// Every registry venue, never connecting (every dial refused), stops on a cancel that lands in
/// a backoff wait: at that very instant, DOWN for every stream, the outbox released, no quote,
/// no connect counted. (Formerly `contract::streaming`, over a closed TCP port and real sleeps.)
#[tokio::test(start_paused = true)]
async fn every_registry_venue_stops_at_once_while_backing_off() {
    for venue in streaming_venues() {
        let kind = venue.kind();
        let backoff = Backoff::seeded(Duration::from_millis(50), Duration::from_millis(500), SEED);
        let mut twin = backoff.clone();
        let mut run = start_with(venue, venue.sample_symbols(), Vec::new(), backoff, |_| {});
        // Four refusals, then cancel halfway through the fourth wait.
        let waits: Vec<u64> = (0..4).map(|_| ms(twin.next_delay())).collect();
        let cancel_at = waits[..3].iter().sum::<u64>() + waits[3] / 2;
        tokio::time::sleep_until(run.start + Duration::from_millis(cancel_at)).await;
        run.cancel.cancel();
        (&mut run.task).await.expect("the loop ends cleanly");
        assert_eq!(ms(run.elapsed()), cancel_at, "{kind}: stopped late");
        // The task ended, so the channel closes once drained: the outbox was released.
        while let Some(o) = run.rx.recv().await {
            run.log.push(o);
        }
        assert_eq!(run.venue.dials().len(), 4, "{kind}");
        assert!(run.quotes().is_empty(), "{kind}: a quote without a venue");
        assert_eq!(ConnectorStats::get(&run.stats.connects), 0, "{kind}");
        let n = venue.sample_symbols().len();
        let statuses = run.statuses();
        // The first refusal is reported with its cause, once (a repeat changes nothing).
        let reconnecting: Vec<_> = statuses
            .iter()
            .filter(|s| s.state == FeedState::Reconnecting)
            .collect();
        assert_eq!(reconnecting.len(), n, "{kind}: {reconnecting:?}");
        assert!(reconnecting
            .iter()
            .all(|s| s.epoch == 2 && s.reason.as_deref().unwrap().contains("connect failed")));
        let down: BTreeSet<&str> = statuses
            .iter()
            .filter(|s| s.state == FeedState::Down)
            .inspect(|s| assert_eq!((s.since, s.epoch), (at(cancel_at), 4), "{kind}"))
            .map(|s| s.stream.as_str())
            .collect();
        assert_eq!(down.len(), n, "{kind}: DOWN for {down:?}");
    }
}

/// Binance with its default timings (cadence 2 s: STALE after 4 s, checked every 400 ms, the
/// connection replaced after 8 s without data): the socket stays up, the venue pings every
/// second and the client answers, but no data comes. STALE at the first check past twice the
/// cadence, then RECONNECTING on epoch 2 and quotes again. The frame is a real capture
/// (`fixtures/binance/ws_bookTicker_combined_live_capture.json`, cryptofeed). Formerly in
/// `faults.rs` over the simulator and real sleeps (about 9 s), with a 1 s tolerance.
#[tokio::test(start_paused = true)]
async fn a_silent_socket_answering_pings_goes_stale_within_twice_the_cadence_then_reconnects() {
    let binance = registry::streaming("binance").expect("binance is registered");
    let path = format!(
        "{}/tests/fixtures/binance/ws_bookTicker_combined_live_capture.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let frame = std::fs::read_to_string(path).unwrap().trim().to_owned();
    let mut silent = vec![Step::Send(frame.clone())];
    for _ in 0..30 {
        silent.extend([sleep_ms(1_000), Step::Ping]);
    }
    let script = vec![Conn::Serve(silent), Conn::Serve(vec![Step::Send(frame)])];
    let backoff = seeded();
    let mut twin = backoff.clone();
    let mut run = start_with(binance, &["NKNUSDT"], script, backoff, |_| {});
    let live = run.status(FeedState::Live, 1).await;
    assert_eq!(
        (live.stream.as_str(), live.since),
        ("ticker:NKNUSDT", at(0))
    );
    let stale = run.status(FeedState::Stale, 1).await;
    // Checks at 0, 0.4, ... 4.0 s (4000 ms quiet: not yet over 4 s), 4.4 s.
    assert_eq!((stale.since, stale.last_data_at), (at(4_400), Some(at(0))));
    assert_eq!(
        stale.reason.as_deref(),
        Some("no data for 4.4 s (expected every 2.0 s)")
    );
    let replaced = run.status(FeedState::Reconnecting, 2).await;
    let wait = ms(twin.next_delay());
    assert_eq!(replaced.since, at(8_400 + wait));
    assert_eq!(
        replaced.reason.as_deref(),
        Some("no data on any stream for 8000 ms")
    );
    // The pings kept the socket alive (each answered at once): it was the data silence that
    // replaced it, at 8.4 s.
    let pongs: Vec<u64> = run
        .venue
        .pongs()
        .into_iter()
        .map(|(i, t)| {
            assert_eq!(i, 0);
            ms(t)
        })
        .collect();
    assert_eq!(pongs, (1..=8).map(|s| s * 1_000).collect::<Vec<u64>>());
    assert_eq!(run.venue.ended(), vec![(0, Duration::from_millis(8_400))]);
    run.status(FeedState::Live, 2).await;
    let quotes: Vec<(Ts, u64, Option<Decimal>)> = run
        .quotes()
        .iter()
        .map(|q| (q.received_at, q.epoch, q.bid))
        .collect();
    assert_eq!(
        quotes,
        vec![
            (at(0), 1, dec("0.35210000")),
            (at(8_400 + wait), 2, dec("0.35210000"))
        ]
    );
}

/// The in-memory dialer is a seam, not a shortcut: the production default is the network.
#[test]
fn the_default_dialer_and_clock_are_the_network_and_the_wall() {
    let kraken = registry::streaming("kraken").unwrap();
    let c = StreamingConnector::new("k", 0, kraken, None, table(&["ALGO/USD"]));
    assert!(matches!(c.dialer, Dialer::Net));
    assert!(matches!(c.clock, Clock::Wall));
}
