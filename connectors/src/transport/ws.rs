//! The streaming loop every WebSocket venue runs in: connect (TLS via rustls), subscribe, read,
//! ping, detect silence, reconnect forever with backoff. A venue author writes none of this.

use super::backoff::Backoff;
use super::clock::Clock;
use super::dial::Dialer;
use super::feed::Feed;
use super::session::{run_reconnecting, Dial, Event, Link, Session, Timing, Ws};
use crate::book::Book;
use crate::capture::{CaptureLine, CaptureTx};
use crate::error::{ConnectorError, ParseError};
use crate::outbox::Outbox;
use crate::symbols::SymbolTable;
use crate::traits::{ConnState, FrameKind, Merge, ParsedQuote, Sequencing, StreamingVenue};
use schemas::Ts;
use schemas::{Observation, QuoteObs, SourceRef};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Counters of one connector, read by metrics and tests.
#[derive(Debug, Default)]
pub struct ConnectorStats {
    pub frames: AtomicU64,
    pub data_frames: AtomicU64,
    pub heartbeats: AtomicU64,
    pub quotes: AtomicU64,
    pub parse_errors: AtomicU64,
    pub unknown_symbols: AtomicU64,
    pub connects: AtomicU64,
    pub reconnects: AtomicU64,
    /// Quotes dropped because their sequence was not above the last one (duplicates, reorders).
    pub out_of_order: AtomicU64,
    /// Sequence gaps (and deltas without a snapshot) that replaced the connection.
    pub gaps: AtomicU64,
    /// Messages refused for exceeding `max_message_bytes` (each costs the connection).
    pub oversized: AtomicU64,
    pub conflated: Arc<AtomicU64>,
}

impl ConnectorStats {
    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Everything one streaming connector instance needs to run.
pub struct StreamingConnector {
    /// Configured instance id (`binance-spot`).
    pub id: String,
    /// Index of this connector in the running configuration (for [`SourceRef`]).
    pub index: u32,
    pub venue: &'static dyn StreamingVenue,
    /// Base endpoint (the venue default, a config override or a simulator).
    pub ws_url: String,
    pub symbols: SymbolTable,
    /// A stream with no data for this long is STALE (default: twice the expected cadence).
    pub stale_after: Duration,
    /// With no data on any stream for this long the connection is replaced.
    pub reconnect_after: Duration,
    /// With no frame at all (not even a heartbeat or pong) for this long the socket is dead.
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest WebSocket message (and frame) accepted. A bigger one is refused by the WS
    /// layer, which cannot resynchronise after it: counted in `oversized`, and the connection
    /// is replaced.
    pub max_message_bytes: usize,
    pub backoff: Backoff,
    pub capture: Option<CaptureTx>,
    pub stats: Arc<ConnectorStats>,
    /// How the socket is opened: the network, or in memory for paused-clock tests.
    pub dialer: Dialer,
    /// What stamps frames and statuses: the wall clock, or tokio's in paused-clock tests.
    pub clock: Clock,
}

pub use super::session::DEFAULT_MAX_MESSAGE_BYTES;

impl StreamingConnector {
    /// Defaults derived from the venue's expected cadence.
    pub fn new(
        id: &str,
        index: u32,
        venue: &'static dyn StreamingVenue,
        ws_url: Option<&str>,
        symbols: SymbolTable,
    ) -> Self {
        let cadence = venue.expected_cadence();
        StreamingConnector {
            id: id.to_owned(),
            index,
            venue,
            ws_url: ws_url.unwrap_or(venue.default_ws_url()).to_owned(),
            symbols,
            stale_after: cadence * 2,
            reconnect_after: cadence * 4,
            idle_timeout: Duration::from_secs(30).max(cadence * 4),
            connect_timeout: Duration::from_secs(10),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            backoff: Backoff::default(),
            capture: None,
            stats: Arc::default(),
            dialer: Dialer::Net,
            clock: Clock::Wall,
        }
    }
}

/// Where a frame came from: stamped by the transport (or the capture file in replay).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    pub received_at: Ts,
    pub epoch: u64,
    /// Index of the connector in the running configuration.
    pub connector: u32,
}

/// The framework's per-connection state: what parsers may read ([`ConnState`]) plus sequence
/// tracking and the last full quote per instrument for delta merges. A new connection starts
/// with a fresh one; replay keeps one per connector and resets it when the epoch changes.
#[derive(Debug, Default)]
pub struct Connection {
    pub state: ConnState,
    last_seq: HashMap<u32, u64, rustc_hash::FxBuildHasher>,
    full: HashMap<u32, QuoteObs, rustc_hash::FxBuildHasher>,
    /// Quotes dropped as duplicates or out of order on this connection.
    pub out_of_order: u64,
}

fn merge(base: &QuoteObs, p: &ParsedQuote<'_>) -> QuoteObs {
    QuoteObs {
        bid: p.bid.or(base.bid),
        ask: p.ask.or(base.ask),
        bid_size: p.bid_size.or(base.bid_size),
        ask_size: p.ask_size.or(base.ask_size),
        last: p.last.or(base.last),
        mark: p.mark.or(base.mark),
        index: p.index.or(base.index),
        volume_24h: p.volume_24h.or(base.volume_24h),
        exchange_ts: p.exchange_ts.or(base.exchange_ts),
        sequence: p.sequence.or(base.sequence),
        ..base.clone()
    }
}

/// Parses one frame and maps its quotes onto configured sources: the one path shared by the live
/// loop and by replay, so both produce the same observations from the same bytes. Applies the
/// venue's sequencing (duplicates and reorders dropped and counted, gaps reported), merges
/// deltas onto the last full quote, and records channel bindings and order-book changes.
pub fn frame_to_quotes(
    venue: &dyn StreamingVenue,
    frame: &str,
    meta: FrameMeta,
    symbols: &SymbolTable,
    conn: &mut Connection,
    on_quote: &mut dyn FnMut(QuoteObs),
    on_unknown: &mut dyn FnMut(&str),
) -> Result<FrameKind, ParseError> {
    let FrameMeta {
        received_at,
        epoch,
        connector,
    } = meta;
    let sequencing = venue.sequencing();
    // Only venues that send deltas pay for keeping the last full quote.
    let keep_full = venue.sends_deltas();
    let Connection {
        state,
        last_seq,
        full,
        out_of_order,
    } = conn;
    let mut gap: Option<String> = None;
    let kind = venue.parse(frame, state, &mut |p| {
        let Some(instrument) = symbols.get(&p.symbol) else {
            on_unknown(&p.symbol);
            return;
        };
        if let (Some(seq), false) = (p.sequence, sequencing == Sequencing::None) {
            // One probe: the entry is both the check and the update.
            match last_seq.entry(instrument) {
                Entry::Occupied(mut e) => {
                    let last = *e.get();
                    if seq <= last {
                        *out_of_order += 1;
                        return;
                    }
                    if sequencing == Sequencing::Contiguous && seq != last + 1 {
                        gap.get_or_insert(format!("{}: sequence {last} -> {seq}", p.symbol));
                    }
                    e.insert(seq);
                }
                Entry::Vacant(e) => {
                    e.insert(seq);
                }
            }
        }
        let base = match p.merge {
            Merge::Full => None,
            Merge::Delta | Merge::Patch => full.get(&instrument),
        };
        let q = if let Some(base) = base {
            QuoteObs {
                received_at,
                epoch,
                ..merge(base, &p)
            }
        } else if p.merge == Merge::Delta {
            gap.get_or_insert(format!("{}: delta before any snapshot", p.symbol));
            return;
        } else {
            QuoteObs {
                source: SourceRef {
                    connector,
                    instrument,
                },
                bid: p.bid,
                ask: p.ask,
                bid_size: p.bid_size,
                ask_size: p.ask_size,
                last: p.last,
                mark: p.mark,
                index: p.index,
                volume_24h: p.volume_24h,
                exchange_ts: p.exchange_ts,
                received_at,
                sequence: p.sequence,
                epoch,
            }
        };
        if keep_full {
            full.insert(instrument, q.clone());
        }
        on_quote(q);
    })?;
    // The book follows the venue's frames whatever happens to the quotes, so that it stays
    // consistent with what the venue sent on this connection.
    if let FrameKind::Book {
        symbol,
        snapshot,
        changes,
    } = &kind
    {
        if let Some(book) = state.books.get_mut(symbol.as_str()) {
            if *snapshot {
                *book = Book::default();
            }
            book.apply(changes);
        } else {
            let mut book = Book::default();
            book.apply(changes);
            state.books.insert(symbol.clone(), book);
        }
    }
    if let Some(why) = gap {
        return Ok(FrameKind::Gap(why));
    }
    if let FrameKind::Bind { channel, symbol } = &kind {
        state.channels.insert(*channel, symbol.clone());
    }
    Ok(kind)
}

/// The price connection on top of the shared [`Session`]: subscribe, then frames to quotes.
struct PriceLink {
    c: StreamingConnector,
    dial: Dial,
    subscribe: Vec<String>,
}

impl Link for PriceLink {
    fn id(&self) -> &str {
        &self.c.id
    }
    fn dial(&self) -> &Dial {
        &self.dial
    }
    fn backoff(&mut self) -> &mut Backoff {
        &mut self.c.backoff
    }
    fn clock(&self) -> Clock {
        self.c.clock
    }
    async fn run(
        &mut self,
        ws: Ws,
        feed: &mut Feed,
        outbox: &mut Outbox,
        cancel: &CancellationToken,
    ) -> ConnectorError {
        ConnectorStats::bump(&self.c.stats.connects);
        if feed.epoch() > 1 {
            ConnectorStats::bump(&self.c.stats.reconnects);
        }
        match session(&mut self.c, ws, &self.subscribe, feed, outbox, cancel).await {
            Ok(never) => match never {},
            Err(end) => end,
        }
    }
}

/// Runs a connector until `cancel`: reconnects forever, never returns early on venue errors.
pub async fn run_streaming(c: StreamingConnector, mut outbox: Outbox, cancel: CancellationToken) {
    let venue = c.venue;
    let mut feed = Feed::new(
        &c.id,
        venue.kind(),
        c.symbols.instruments().iter().map(|i| i.stream.clone()),
        venue.expected_cadence(),
        c.stale_after,
    );
    let symbols = c.symbols.symbols();
    let dial = Dial {
        url: venue.connect_url(&c.ws_url, &symbols),
        connect_timeout: c.connect_timeout,
        max_message_bytes: c.max_message_bytes,
        dialer: c.dialer.clone(),
    };
    let subscribe = venue.subscribe_messages(&symbols);
    let mut link = PriceLink { c, dial, subscribe };
    run_reconnecting(&mut link, &mut feed, &mut outbox, &cancel).await;
}

async fn session(
    c: &mut StreamingConnector,
    ws: Ws,
    subscribe: &[String],
    feed: &mut Feed,
    outbox: &mut Outbox,
    cancel: &CancellationToken,
) -> Result<Infallible, ConnectorError> {
    let venue = c.venue;
    let epoch = feed.epoch();
    let timing = Timing {
        ping: venue.ping_policy(),
        idle_timeout: c.idle_timeout,
        check_every: Duration::from_millis(100).max(c.stale_after / 10),
        heartbeat_every: Some(Duration::from_secs(30)),
        clock: c.clock,
    };
    let mut ws = Session::new(&c.id, ws, timing, c.max_message_bytes, outbox);
    ws.send(subscribe, "subscribe").await?;
    let connected_at = c.clock.now();
    let mut got_data = false;
    let mut pending_status = Vec::new();
    let mut quotes = Vec::new();
    let mut conn = Connection::default();
    let mut out_of_order_seen = 0;
    loop {
        let event = match ws.next(outbox, cancel).await {
            Ok(e) => e,
            Err(end) => {
                if ws.oversized() {
                    ConnectorStats::bump(&c.stats.oversized);
                }
                return Err(end);
            }
        };
        match event {
            Event::NotText => {
                ConnectorStats::bump(&c.stats.parse_errors);
                continue;
            }
            Event::Text(text, now) => {
                ConnectorStats::bump(&c.stats.frames);
                if let Some(cap) = &c.capture {
                    let line = CaptureLine {
                        connector: c.id.clone(),
                        venue: venue.kind().to_owned(),
                        received_at: now,
                        channel: "ws".into(),
                        frame: text.as_str().to_owned(),
                        epoch,
                    };
                    if cap.send(line).await.is_err() {
                        tracing::warn!(connector = %c.id, "capture writer gone; recording stopped");
                        c.capture = None;
                    }
                }
                let stats = &c.stats;
                let kind = frame_to_quotes(
                    venue,
                    text.as_str(),
                    FrameMeta {
                        received_at: now,
                        epoch,
                        connector: c.index,
                    },
                    &c.symbols,
                    &mut conn,
                    &mut |q| quotes.push(q),
                    &mut |sym| {
                        ConnectorStats::bump(&stats.unknown_symbols);
                        tracing::trace!(symbol = sym, "quote for an unconfigured symbol");
                    },
                );
                match kind {
                    Ok(FrameKind::Data | FrameKind::Book { .. }) => {
                        ConnectorStats::bump(&c.stats.data_frames);
                    }
                    Ok(FrameKind::Heartbeat) => ConnectorStats::bump(&c.stats.heartbeats),
                    Ok(FrameKind::Control) => {}
                    Ok(FrameKind::Reconnect) => {
                        return Err(ConnectorError::unavailable("venue announced shutdown"));
                    }
                    Ok(FrameKind::VenueError(e)) => {
                        tracing::warn!(connector = %c.id, error = %e, "venue error");
                    }
                    Ok(FrameKind::Respond(reply)) => ws.send(&[reply], "reply").await?,
                    Ok(FrameKind::Bind { .. }) => {}
                    Ok(FrameKind::Gap(why)) => {
                        ConnectorStats::bump(&c.stats.gaps);
                        // Quotes of this frame that arrived before the gap are still good.
                        for q in quotes.drain(..) {
                            if outbox.push_quote(q).is_err() {
                                return Err(ConnectorError::PipelineClosed);
                            }
                        }
                        return Err(ConnectorError::unavailable(format!(
                            "sequence gap, resubscribing: {why}"
                        )));
                    }
                    Err(e) => {
                        ConnectorStats::bump(&c.stats.parse_errors);
                        tracing::debug!(connector = %c.id, error = %e, "frame skipped");
                    }
                }
                if conn.out_of_order != out_of_order_seen {
                    c.stats
                        .out_of_order
                        .fetch_add(conn.out_of_order - out_of_order_seen, Ordering::Relaxed);
                    out_of_order_seen = conn.out_of_order;
                }
                for q in quotes.drain(..) {
                    ConnectorStats::bump(&c.stats.quotes);
                    if !got_data {
                        got_data = true;
                        c.backoff.reset();
                    }
                    if let Some(s) = feed.on_data(q.source.instrument as usize, now) {
                        pending_status.push(s);
                    }
                    if outbox.push_quote(q).is_err() {
                        return Err(ConnectorError::PipelineClosed);
                    }
                }
            }
            Event::Check => {
                let now = c.clock.now();
                pending_status.extend(feed.check_stale(now, connected_at));
                if feed.all_quiet_for(now, connected_at, c.reconnect_after) {
                    return Err(ConnectorError::unavailable(format!(
                        "no data on any stream for {} ms",
                        c.reconnect_after.as_millis()
                    )));
                }
                ws.check_idle()?;
            }
            Event::Heartbeat => pending_status.extend(feed.snapshot()),
        }
        for s in pending_status.drain(..) {
            if outbox.push_reliable(Observation::Status(s)).await.is_err() {
                return Err(ConnectorError::PipelineClosed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{LevelChange, Side};
    use crate::sim::{SimFuture, SimOptions};
    use crate::symbols::InstrumentSpec;
    use crate::traits::{PingPolicy, SymbolSpec};
    use rust_decimal::Decimal;
    use std::borrow::Cow;

    /// A venue whose frames are `kind,symbol,seq,bid` (or `bind,id,symbol` and `chan,id,seq,bid`),
    /// to drive the framework's sequencing, delta and channel logic directly.
    struct Toy(Sequencing);

    impl StreamingVenue for Toy {
        /// Unused: every constant method is overridden below.
        fn spec(&self) -> &'static crate::spec::VenueSpec {
            const TOY: crate::spec::VenueSpec = crate::spec::VenueSpec {
                kind: "toy",
                source_kind: schemas::SourceKind::Exchange,
                prices: None,
                balances: None,
                aliases: &[],
                samples: &[],
                described_by: None,
            };
            &TOY
        }
        fn kind(&self) -> &'static str {
            "toy"
        }
        fn default_ws_url(&self) -> &'static str {
            "ws://127.0.0.1:1"
        }
        fn subscribe_messages(&self, _: &[&str]) -> Vec<String> {
            Vec::new()
        }
        fn ping_policy(&self) -> PingPolicy {
            PingPolicy::ServerPings
        }
        fn expected_cadence(&self) -> Duration {
            Duration::from_secs(1)
        }
        fn sequencing(&self) -> Sequencing {
            self.0
        }
        fn sends_deltas(&self) -> bool {
            true
        }
        fn parse(
            &self,
            frame: &str,
            conn: &ConnState,
            emit: &mut dyn FnMut(ParsedQuote<'_>),
        ) -> Result<FrameKind, ParseError> {
            let f: Vec<&str> = frame.split(',').collect();
            let bad = || ParseError::malformed("toy", "bad frame", frame);
            fn quote<'a>(
                symbol: Cow<'a, str>,
                seq: &str,
                bid: &str,
                merge: Merge,
            ) -> ParsedQuote<'a> {
                ParsedQuote {
                    symbol,
                    sequence: seq.parse().ok(),
                    bid: bid.parse().ok(),
                    ask: (merge == Merge::Full).then(|| Decimal::from(1000)),
                    merge,
                    ..Default::default()
                }
            }
            match f.as_slice() {
                ["bind", id, sym] => Ok(FrameKind::Bind {
                    channel: id.parse().map_err(|_| bad())?,
                    symbol: (*sym).to_owned(),
                }),
                ["chan", id, seq, bid] => {
                    let id: i64 = id.parse().map_err(|_| bad())?;
                    let sym = conn.channels.get(&id).ok_or_else(bad)?;
                    emit(quote(Cow::Borrowed(sym.as_str()), seq, bid, Merge::Full));
                    Ok(FrameKind::Data)
                }
                ["book", sym, levels] => {
                    let mut changes = Vec::new();
                    for l in levels.split(';') {
                        let [side, price, qty] = l.split(':').collect::<Vec<_>>()[..] else {
                            return Err(bad());
                        };
                        changes.push(LevelChange {
                            side: if side == "b" { Side::Bid } else { Side::Ask },
                            price: price.parse().map_err(|_| bad())?,
                            qty: qty.parse().map_err(|_| bad())?,
                        });
                    }
                    let book = conn.books.get(*sym);
                    let top = Book::top_after(book, book.is_none(), &changes);
                    emit(ParsedQuote {
                        symbol: Cow::Borrowed(sym),
                        bid: top.bid.map(|b| b.0),
                        ask: top.ask.map(|a| a.0),
                        ..Default::default()
                    });
                    Ok(FrameKind::Book {
                        symbol: (*sym).to_owned(),
                        snapshot: book.is_none(),
                        changes,
                    })
                }
                [kind @ ("full" | "delta" | "patch"), sym, seq, bid] => {
                    let merge = match *kind {
                        "delta" => Merge::Delta,
                        "patch" => Merge::Patch,
                        _ => Merge::Full,
                    };
                    emit(quote(Cow::Borrowed(sym), seq, bid, merge));
                    Ok(FrameKind::Data)
                }
                _ => Err(bad()),
            }
        }
        fn split_symbol<'s>(&self, _: &'s str) -> SymbolSpec<'s> {
            SymbolSpec::Invalid("toy")
        }
        fn sample_symbols(&self) -> &'static [&'static str] {
            &["A"]
        }
        fn start_sim(&self, _: SimOptions) -> SimFuture {
            Box::pin(async { Err(std::io::Error::other("no sim")) })
        }
    }

    fn run(venue: &Toy, frames: &[&str]) -> (Vec<QuoteObs>, Vec<FrameKind>, Connection) {
        let table = SymbolTable::new(vec![InstrumentSpec {
            venue_symbol: "A".into(),
            stream: "ticker:A".into(),
        }]);
        let mut conn = Connection::default();
        let mut quotes = Vec::new();
        let mut kinds = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let meta = FrameMeta {
                received_at: Ts::from_millis(i as i64),
                epoch: 1,
                connector: 0,
            };
            let k = frame_to_quotes(
                venue,
                f,
                meta,
                &table,
                &mut conn,
                &mut |q| quotes.push(q),
                &mut |_| {},
            );
            kinds.push(k.unwrap());
        }
        (quotes, kinds, conn)
    }

    #[test]
    fn duplicates_and_reorders_are_dropped_and_counted() {
        let (quotes, _, conn) = run(
            &Toy(Sequencing::Increasing),
            &["full,A,10,1", "full,A,10,2", "full,A,9,3", "full,A,15,4"],
        );
        let seqs: Vec<u64> = quotes.iter().map(|q| q.sequence.unwrap()).collect();
        assert_eq!(
            seqs,
            vec![10, 15],
            "jumps are fine when numbering only increases"
        );
        assert_eq!(conn.out_of_order, 2);
    }

    #[test]
    fn a_jump_in_contiguous_numbering_is_a_gap() {
        let (quotes, kinds, _) = run(
            &Toy(Sequencing::Contiguous),
            &["full,A,1,1", "full,A,2,1", "full,A,4,1"],
        );
        assert_eq!(quotes.len(), 3, "the quote after the gap is still current");
        assert!(
            matches!(&kinds[2], FrameKind::Gap(why) if why.contains("2 -> 4")),
            "{kinds:?}"
        );
    }

    #[test]
    fn deltas_merge_onto_the_last_full_quote_and_a_lone_delta_is_a_gap() {
        let (quotes, kinds, _) = run(
            &Toy(Sequencing::None),
            &["delta,A,1,5", "full,A,2,5", "delta,A,3,6"],
        );
        assert!(matches!(&kinds[0], FrameKind::Gap(why) if why.contains("before any snapshot")));
        assert_eq!(quotes.len(), 2);
        let merged = &quotes[1];
        assert_eq!(
            merged.bid,
            Some(Decimal::from(6)),
            "changed field from the delta"
        );
        assert_eq!(
            merged.ask,
            Some(Decimal::from(1000)),
            "unchanged field from the snapshot"
        );
        assert_eq!(merged.received_at, Ts::from_millis(2));
        assert_eq!(merged.sequence, Some(3));
    }

    #[test]
    fn a_patch_merges_onto_the_last_quote_or_stands_alone() {
        let (quotes, kinds, _) = run(
            &Toy(Sequencing::None),
            &["patch,A,1,5", "full,A,2,6", "patch,A,3,7"],
        );
        assert!(kinds.iter().all(|k| *k == FrameKind::Data), "{kinds:?}");
        assert_eq!(quotes.len(), 3);
        assert_eq!(quotes[0].ask, None, "nothing to merge onto: taken alone");
        assert_eq!(quotes[2].bid, Some(Decimal::from(7)));
        assert_eq!(
            quotes[2].ask,
            Some(Decimal::from(1000)),
            "kept from the full quote"
        );
    }

    #[test]
    fn book_frames_are_applied_after_the_parse_and_the_first_is_the_snapshot() {
        let (quotes, kinds, conn) = run(
            &Toy(Sequencing::None),
            &[
                "book,A,b:100:1;b:99:2;a:101:1;a:102:2",
                "book,A,b:100:0;a:100.5:3",
                "book,A,a:100.5:0;a:101:0",
            ],
        );
        assert!(matches!(kinds[0], FrameKind::Book { snapshot: true, .. }));
        assert!(matches!(
            kinds[1],
            FrameKind::Book {
                snapshot: false,
                ..
            }
        ));
        let tops: Vec<_> = quotes.iter().map(|q| (q.bid, q.ask)).collect();
        let d = |s: &str| Some(s.parse::<Decimal>().unwrap());
        assert_eq!(
            tops,
            vec![
                (d("100"), d("101")),
                (d("99"), d("100.5")),
                (d("99"), d("102")),
            ]
        );
        assert_eq!(conn.state.books["A"].depth(), (1, 1));
    }

    #[test]
    fn channel_bindings_let_data_frames_name_only_the_channel() {
        let (quotes, kinds, conn) = run(&Toy(Sequencing::None), &["bind,17,A", "chan,17,1,5"]);
        assert!(matches!(kinds[0], FrameKind::Bind { channel: 17, .. }));
        assert_eq!(conn.state.channels.get(&17).map(String::as_str), Some("A"));
        assert_eq!(quotes.len(), 1);
        assert_eq!(quotes[0].source.instrument, 0);
    }
}
