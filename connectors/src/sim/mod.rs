//! Shared machinery of the venue simulators: a WebSocket server on 127.0.0.1:0, a price model
//! that all venues agree on, and fault knobs (stall, deviate, drop, garbage) that tests and the
//! demo turn. Each venue's `sim.rs` implements [`SimProtocol`]: how its server answers
//! subscribes and pings and how its frames look; this module drives time and faults.

pub mod price;
pub mod rest;

use crate::traits::StreamingVenue;
use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use schemas::Ts;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

pub use price::{PriceModel, SimQuote};

/// Scheduled faults of a simulator (the demo uses them so a person watching sees sources go
/// stale and come back, or deviate and get excluded). Zero disables a fault.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimFaults {
    /// Every this many seconds the venue stops sending data (heartbeats continue)...
    pub stall_every_s: u64,
    /// ...for this many seconds.
    pub stall_for_s: u64,
    /// Every this many seconds the venue's prices deviate...
    pub deviate_every_s: u64,
    /// ...for this many seconds...
    pub deviate_for_s: u64,
    /// ...by this many basis points.
    pub deviate_bps: i64,
    /// Phase of both schedules: added to the elapsed time, so two simulators' fault windows
    /// need not coincide.
    pub phase_s: u64,
    /// The venue's clock runs this many milliseconds ahead of ours: the event times it stamps
    /// on its frames lie in our future (the reference price excludes them as `FUTURE_TS`).
    pub clock_ahead_ms: i64,
}

impl SimFaults {
    /// Whether a periodic window `[every - for, every)` is active `elapsed_s` after start.
    fn window(every: u64, dur: u64, elapsed_s: u64) -> bool {
        every > 0 && dur > 0 && elapsed_s % every >= every.saturating_sub(dur)
    }
    pub fn stalled(&self, elapsed_s: u64) -> bool {
        Self::window(
            self.stall_every_s,
            self.stall_for_s,
            elapsed_s + self.phase_s,
        )
    }
    pub fn deviation(&self, elapsed_s: u64) -> i64 {
        if Self::window(
            self.deviate_every_s,
            self.deviate_for_s,
            elapsed_s + self.phase_s,
        ) {
            self.deviate_bps
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SimFaults;

    #[test]
    fn fault_windows_close_each_period_and_shift_with_the_phase() {
        let f = SimFaults {
            stall_every_s: 80,
            stall_for_s: 25,
            deviate_every_s: 80,
            deviate_for_s: 15,
            deviate_bps: 600,
            phase_s: 0,
            clock_ahead_ms: 0,
        };
        let stalled: Vec<u64> = (0..160).filter(|&t| f.stalled(t)).collect();
        assert_eq!(stalled.first(), Some(&55));
        assert_eq!(stalled.len(), 50);
        assert!(!f.stalled(80) && f.stalled(135));
        let shifted = SimFaults { phase_s: 40, ..f };
        let deviating: Vec<u64> = (0..160).filter(|&t| shifted.deviation(t) != 0).collect();
        assert_eq!(deviating, (25..40).chain(105..120).collect::<Vec<_>>());
        assert_eq!(shifted.deviation(30), 600);
        assert!(!SimFaults::default().stalled(1000));
    }
}

#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Interval between ticker frames per subscribed symbol.
    pub tick_interval: Duration,
    /// Interval between venue heartbeats (for venues that send them).
    pub heartbeat_interval: Duration,
    pub faults: SimFaults,
    /// Load mode (benchmarks; 0 = off, the default): this many ticker frames per second per
    /// connection, round-robin over the subscribed symbols, instead of one per symbol every
    /// `tick_interval`. Frames go out in bursts every millisecond. In load mode the price model
    /// also prices assets it has no anchor for (from a hash of the name), so generated configs
    /// with synthetic assets (`scripts/gen-config.py`) get quotes.
    pub frames_per_s: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            tick_interval: Duration::from_millis(250),
            heartbeat_interval: Duration::from_secs(1),
            faults: SimFaults::default(),
            frames_per_s: 0,
        }
    }
}

/// Live knobs of a running simulator.
#[derive(Debug)]
pub struct SimControl {
    stall: AtomicBool,
    deviation_bps: AtomicI64,
    garbage: AtomicU64,
    drops: watch::Sender<u64>,
    connections: AtomicU64,
    client_messages: AtomicU64,
    data_frames: AtomicU64,
    truncated: AtomicU64,
    oversized: AtomicU64,
    cuts: AtomicU64,
    clock_ahead_ms: AtomicI64,
}

impl SimControl {
    pub(crate) fn new() -> Self {
        SimControl {
            stall: AtomicBool::new(false),
            deviation_bps: AtomicI64::new(0),
            garbage: AtomicU64::new(0),
            drops: watch::Sender::new(0),
            connections: AtomicU64::new(0),
            client_messages: AtomicU64::new(0),
            data_frames: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            oversized: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            clock_ahead_ms: AtomicI64::new(0),
        }
    }
    /// Send `n` real ticker frames cut off half way (truncated JSON) on the next ticks.
    pub fn send_truncated(&self, n: u64) {
        self.truncated.fetch_add(n, Ordering::SeqCst);
    }
    /// Send one text frame of `bytes` bytes (valid JSON padding) on the next tick, to test the
    /// client's message size limit.
    pub fn send_oversized(&self, bytes: u64) {
        self.oversized.store(bytes, Ordering::SeqCst);
    }
    /// On the next tick, write half of a ticker frame to the socket and close it (TCP FIN in
    /// the middle of a WebSocket frame), as a connection lost mid-transfer looks.
    pub fn drop_mid_frame(&self) {
        self.cuts.fetch_add(1, Ordering::SeqCst);
    }
    /// Run the venue's clock this many milliseconds ahead of ours (event times in frames).
    pub fn set_clock_ahead_ms(&self, ms: i64) {
        self.clock_ahead_ms.store(ms, Ordering::SeqCst);
    }
    /// Stop sending data while keeping the socket, heartbeats and pongs alive.
    pub fn set_stall(&self, on: bool) {
        self.stall.store(on, Ordering::SeqCst);
    }
    /// Shift every price by this many basis points.
    pub fn set_deviation_bps(&self, bps: i64) {
        self.deviation_bps.store(bps, Ordering::SeqCst);
    }
    /// Send `n` malformed frames on the next ticks.
    pub fn send_garbage(&self, n: u64) {
        self.garbage.fetch_add(n, Ordering::SeqCst);
    }
    /// Drop every open connection abruptly (no close frame), as a network failure would.
    pub fn drop_connections(&self) {
        self.drops.send_modify(|g| *g += 1);
    }
    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
    /// Text frames received from clients (subscribes, pings).
    pub fn client_messages(&self) -> u64 {
        self.client_messages.load(Ordering::SeqCst)
    }
    /// Data frames sent (tickers and private pushes such as wallet updates).
    pub fn data_frames(&self) -> u64 {
        self.data_frames.load(Ordering::SeqCst)
    }
}

/// A running simulator; stops when dropped.
pub struct SimHandle {
    pub ws_url: String,
    pub rest_url: Option<String>,
    pub control: Arc<SimControl>,
    pub(crate) task: tokio::task::JoinHandle<()>,
    /// Fault knobs of a REST simulator.
    pub rest_faults: Option<Arc<rest::RestFaults>>,
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub type SimFuture = Pin<Box<dyn Future<Output = std::io::Result<SimHandle>> + Send>>;

/// Per-connection state a protocol keeps.
#[derive(Debug, Default)]
pub struct SimSession {
    /// Subscribed venue symbols, in order.
    pub symbols: Vec<String>,
    /// Whether the client asked for venue heartbeats (Coinbase's `heartbeats` channel).
    pub heartbeats: bool,
    /// Per-connection message counter (Coinbase `sequence_num`, Binance `u`).
    pub seq: u64,
    /// Time of the frame being built.
    pub now: Ts,
    /// A framing choice made at connect time (Binance: combined-stream envelope or raw).
    pub wrapped: bool,
    /// When a request the client must answer was sent and is still unanswered (Deribit
    /// `test_request`), so the protocol can hold the client to the venue's deadline.
    pub awaiting_reply: Option<Ts>,
    /// Set by a protocol to end the connection with a close frame once this turn's frames are
    /// sent, as a venue does when a client breaks its rules (an unanswered `test_request`).
    pub close: bool,
    /// What this connection already sent per symbol, for venues whose frames depend on it
    /// (Bybit linear: a snapshot first, then deltas of only the changed fields; Gemini
    /// `l2_updates` remove the levels of the previous quote). Updated with [`SimSession::remember`].
    pub sent: HashMap<String, Sent>,
    /// The handshake's request path and query, for protocols that route by it and keep it in
    /// `on_connect` (Binance USD-M serves `/public` and `/market` streams on separate paths).
    pub path: String,
    /// Stream names subscribed, for venues with more than one stream per symbol (Binance USD-M
    /// `btcusdt@bookTicker` beside `btcusdt@markPrice@1s`): `ticker` picks the frame from them.
    pub streams: Vec<String>,
    /// Channel ids the server assigned on this connection, with their symbol (Bitfinex
    /// `chanId`), in subscription order.
    pub channels: Vec<(i64, String)>,
    /// Whether the client authenticated on this connection (private streams: Bybit `auth`).
    pub authenticated: bool,
    /// Load mode ([`SimOptions::frames_per_s`]): synthetic assets are priced, so a protocol
    /// that refuses unpriceable symbols (OKX) accepts them.
    pub load: bool,
}

/// What a simulated connection sent for one symbol so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// Data frames sent for the symbol on this connection.
    pub frames: u64,
    /// The quote the client holds after them (what the next delta is computed against).
    pub quote: SimQuote,
}

impl SimSession {
    pub fn next_seq(&mut self) -> u64 {
        let s = self.seq;
        self.seq += 1;
        s
    }
    /// Records that a data frame carrying `q` was sent for `symbol`.
    pub fn remember(&mut self, symbol: &str, q: &SimQuote) {
        let sent = self.sent.entry(symbol.to_owned()).or_insert(Sent {
            frames: 0,
            quote: q.clone(),
        });
        sent.frames += 1;
        sent.quote = q.clone();
    }
    pub fn subscribe(&mut self, symbol: &str) {
        if !self.symbols.iter().any(|s| s == symbol) {
            self.symbols.push(symbol.to_owned());
        }
    }
}

/// What a venue's simulator says; [`serve`] does the rest.
pub trait SimProtocol: Send + Sync + 'static {
    fn venue(&self) -> &'static dyn StreamingVenue;
    /// Called once after the handshake with the request path and query (`/stream?streams=...`).
    fn on_connect(&self, path: &str, session: &mut SimSession) -> Vec<String>;
    /// A text frame from the client: returns the replies (acks, pongs, errors).
    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String>;
    /// A venue heartbeat frame, if this venue sends them now.
    fn heartbeat(&self, session: &mut SimSession) -> Option<String>;
    /// One ticker frame for `symbol`.
    fn ticker(&self, symbol: &str, quote: &SimQuote, session: &mut SimSession) -> String;
    /// Data frames pushed every tick besides the subscribed symbols' tickers: private streams
    /// that are not per symbol (a Bybit `wallet` update). Stalls and garbage apply to them too.
    fn on_tick(&self, _session: &mut SimSession) -> Vec<String> {
        Vec::new()
    }
}

/// Starts a simulator speaking `proto` on 127.0.0.1:0.
// The handshake callback's error type is tungstenite's, not ours to shrink.
#[allow(clippy::result_large_err)]
pub async fn serve<P: SimProtocol>(proto: P, options: SimOptions) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let control = Arc::new(SimControl::new());
    let proto = Arc::new(proto);
    let ctl = control.clone();
    let started = tokio::time::Instant::now();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let proto = proto.clone();
            let ctl = ctl.clone();
            let options = options.clone();
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                let cut = Arc::new(AtomicBool::new(false));
                let tcp = CutStream {
                    inner: tcp,
                    cut: cut.clone(),
                    dead: false,
                };
                let mut path = String::new();
                // Counted before the handshake's response is written: a client that goes LIVE
                // on connect (no login to acknowledge) must never see a count not yet updated.
                let counter = ctl.clone();
                let ws =
                    tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, resp: Response| {
                        path = req.uri().to_string();
                        counter.connections.fetch_add(1, Ordering::SeqCst);
                        Ok(resp)
                    })
                    .await;
                if let Ok(ws) = ws {
                    connection(&*proto, ws, cut, &path, &options, &ctl, started).await;
                }
            });
        }
    });
    Ok(SimHandle {
        ws_url: format!("ws://{addr}"),
        rest_url: None,
        control,
        task,
        rest_faults: None,
    })
}

/// The simulator's side of a TCP connection, which a test can cut in the middle of a write.
struct CutStream {
    inner: tokio::net::TcpStream,
    /// Set: the next write sends half its bytes, then the stream fails every write.
    cut: Arc<AtomicBool>,
    dead: bool,
}

impl tokio::io::AsyncRead for CutStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for CutStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        if self.dead {
            return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        }
        if buf.len() >= 8 && self.cut.load(Ordering::SeqCst) {
            let half = buf.len() / 2;
            let r = Pin::new(&mut self.inner).poll_write(cx, &buf[..half]);
            if let Poll::Ready(Ok(_)) = r {
                self.cut.store(false, Ordering::SeqCst);
                self.dead = true;
            }
            return r;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn connection<P: SimProtocol>(
    proto: &P,
    ws: tokio_tungstenite::WebSocketStream<CutStream>,
    cut: Arc<AtomicBool>,
    path: &str,
    options: &SimOptions,
    ctl: &SimControl,
    started: tokio::time::Instant,
) {
    let (mut tx, mut rx) = ws.split();
    let mut drops = ctl.drops.subscribe();
    drops.borrow_and_update();
    let mut session = SimSession {
        now: Ts::now(),
        load: options.frames_per_s > 0,
        ..Default::default()
    };
    for frame in proto.on_connect(path, &mut session) {
        if tx.send(Message::Text(frame.into())).await.is_err() {
            return;
        }
    }
    let load = options.frames_per_s;
    let mut ticks = tokio::time::interval(if load > 0 {
        Duration::from_millis(1)
    } else {
        options.tick_interval
    });
    // Load mode keeps the average rate when the runtime falls behind (bursts catch up).
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut heartbeats = tokio::time::interval(options.heartbeat_interval);
    let model = PriceModel;
    let venue = proto.venue();
    let load_started = tokio::time::Instant::now();
    let (mut load_sent, mut load_next) = (0u64, 0usize);
    loop {
        let out: Vec<String> = tokio::select! {
            _ = drops.changed() => return, // abrupt: the TCP stream is dropped without a close frame
            msg = rx.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    ctl.client_messages.fetch_add(1, Ordering::SeqCst);
                    session.now = Ts::now();
                    proto.on_text(t.as_str(), &mut session)
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => Vec::new(),
            },
            _ = heartbeats.tick() => {
                session.now = Ts::now();
                proto.heartbeat(&mut session).into_iter().collect()
            }
            _ = ticks.tick() => {
                let elapsed = started.elapsed().as_secs();
                let ahead = ctl.clock_ahead_ms.load(Ordering::SeqCst) + options.faults.clock_ahead_ms;
                if ctl.garbage.load(Ordering::SeqCst) > 0 {
                    ctl.garbage.fetch_sub(1, Ordering::SeqCst);
                    vec!["{\"garbage\": [1, 2,".to_owned()]
                } else if ctl.oversized.load(Ordering::SeqCst) > 0 {
                    let n = ctl.oversized.swap(0, Ordering::SeqCst) as usize;
                    vec![format!("{{\"pad\":\"{}\"}}", "x".repeat(n.saturating_sub(10)))]
                } else if let Some(symbol) = session.symbols.first().cloned().filter(|_| {
                    ctl.truncated.load(Ordering::SeqCst) > 0 || ctl.cuts.load(Ordering::SeqCst) > 0
                }) {
                    session.now = Ts::now().plus_millis(ahead);
                    let q = model.quote_for(venue, &symbol, session.now, 0);
                    let frame = q.map(|q| proto.ticker(&symbol, &q, &mut session)).unwrap_or_default();
                    if ctl.cuts.load(Ordering::SeqCst) > 0 {
                        ctl.cuts.fetch_sub(1, Ordering::SeqCst);
                        // The whole frame is handed to the socket, which writes half and fails.
                        cut.store(true, Ordering::SeqCst);
                        vec![frame]
                    } else {
                        ctl.truncated.fetch_sub(1, Ordering::SeqCst);
                        let mut half = frame.len() / 2;
                        while !frame.is_char_boundary(half) {
                            half -= 1;
                        }
                        vec![frame[..half].to_owned()]
                    }
                } else if ctl.stall.load(Ordering::SeqCst) || options.faults.stalled(elapsed) {
                    Vec::new()
                } else {
                    session.now = Ts::now().plus_millis(ahead);
                    let dev = ctl.deviation_bps.load(Ordering::SeqCst) + options.faults.deviation(elapsed);
                    let symbols = session.symbols.clone();
                    let mut frames: Vec<String> = if load > 0 {
                        // Frames due by now at `load` per second, round-robin over the symbols.
                        let due = (load_started.elapsed().as_micros() as u64 * load / 1_000_000)
                            .saturating_sub(load_sent);
                        load_sent += due;
                        (0..due)
                            .filter_map(|_| {
                                let s = symbols.get(load_next % symbols.len().max(1))?;
                                load_next = load_next.wrapping_add(1);
                                let q = model.quote_any(venue, s, session.now, dev, true)?;
                                ctl.data_frames.fetch_add(1, Ordering::Relaxed);
                                Some(proto.ticker(s, &q, &mut session))
                            })
                            .collect()
                    } else {
                        symbols
                            .iter()
                            .filter_map(|s| {
                                let q = model.quote_for(venue, s, session.now, dev)?;
                                ctl.data_frames.fetch_add(1, Ordering::SeqCst);
                                Some(proto.ticker(s, &q, &mut session))
                            })
                            .collect()
                    };
                    let extra = proto.on_tick(&mut session);
                    ctl.data_frames.fetch_add(extra.len() as u64, Ordering::SeqCst);
                    frames.extend(extra);
                    frames
                }
            }
        };
        for frame in out {
            if tx.send(Message::Text(frame.into())).await.is_err() {
                return;
            }
        }
        if session.close {
            let _ = tx.send(Message::Close(None)).await;
            return;
        }
    }
}

/// Formats a decimal for a venue that sends fixed decimals as strings (`"25.35190000"`).
pub fn fixed(d: Decimal, dp: u32) -> String {
    let mut d = d.round_dp(dp);
    d.rescale(dp);
    d.to_string()
}
