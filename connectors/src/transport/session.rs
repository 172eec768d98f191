//! The one WebSocket session of the framework, shared by the price loop ([`super::ws`]) and the
//! private balance stream ([`crate::transport::private_ws`]): connect with size limits, ping by the venue's
//! policy, decode Text/Binary/Close, refuse oversized messages, detect a dead socket, and the
//! reconnect loop around it (epochs, feed status, backoff, the last DOWN). What a connection
//! does with a frame is the [`Link`]'s business; everything else is written once, here.

use super::backoff::Backoff;
use super::clock::Clock;
pub(crate) use super::dial::{connect, Dial, Ws};
use super::feed::Feed;
use crate::error::ConnectorError;
use crate::outbox::Outbox;
use crate::traits::PingPolicy;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use schemas::{FeedState, Observation, Ts};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

/// Default largest WebSocket message (and frame) accepted: 4 MiB, far above any ticker, book or
/// balance frame of the venues we speak (the largest, an OKX or Bybit snapshot, is a few KiB),
/// and far below tungstenite's own 64 MiB default, so a runaway peer cannot make us buffer much.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 << 20;

/// A refused auth or subscribe is not retried faster than this: the venue said no, and a
/// tight loop of refused logins only risks an IP ban.
const REFUSED_RETRY_MIN: Duration = Duration::from_secs(10);

/// What one kind of connection does on top of the shared loop.
pub(crate) trait Link {
    /// The connector id, for logs.
    fn id(&self) -> &str;
    fn dial(&self) -> &Dial;
    fn backoff(&mut self) -> &mut Backoff;
    /// The wall clock of the loop's stamps ([`Clock::Wall`] but in paused-clock tests).
    fn clock(&self) -> Clock {
        Clock::Wall
    }
    /// Before every connection (a fresh session token); an error ends the attempt.
    async fn prepare(&mut self) -> Result<(), ConnectorError> {
        Ok(())
    }
    /// One connection, until it ends; the epoch is `feed.epoch()`.
    async fn run(
        &mut self,
        ws: Ws,
        feed: &mut Feed,
        outbox: &mut Outbox,
        cancel: &CancellationToken,
    ) -> ConnectorError;
}

/// Runs `link` until `cancel`: reconnects forever with backoff, never returns early on venue
/// errors. Every attempt is a new epoch; the feed says CONNECTING, then RECONNECTING with the
/// reason of the last end, DOWN while a refusal waits out its slower retry, and DOWN "stopped"
/// at the end.
pub(crate) async fn run_reconnecting(
    link: &mut impl Link,
    feed: &mut Feed,
    outbox: &mut Outbox,
    cancel: &CancellationToken,
) {
    let mut epoch = 0u64;
    let mut reason: Option<String> = None;
    let clock = link.clock();
    loop {
        epoch += 1;
        feed.set_epoch(epoch);
        let changes = if epoch == 1 {
            feed.start(clock.now())
        } else {
            feed.set_all(FeedState::Reconnecting, clock.now(), reason.take())
        };
        for s in changes {
            if outbox.push_reliable(Observation::Status(s)).await.is_err() {
                return;
            }
        }
        tracing::debug!(connector = %link.id(), epoch, "connecting");
        let connected = tokio::select! {
            _ = cancel.cancelled() => break,
            r = async {
                link.prepare().await?;
                connect(link.dial()).await
            } => r,
        };
        let end = match connected {
            Ok(ws) => {
                tracing::info!(connector = %link.id(), epoch, "connected");
                link.run(ws, feed, outbox, cancel).await
            }
            Err(e) => e,
        };
        let wait = match &end {
            ConnectorError::Cancelled => break,
            ConnectorError::PipelineClosed => return,
            ConnectorError::Refused { reason } => {
                tracing::warn!(connector = %link.id(), epoch, reason = %reason, "refused");
                let down = feed.set_all(FeedState::Down, clock.now(), Some(reason.clone()));
                for s in down {
                    if outbox.push_reliable(Observation::Status(s)).await.is_err() {
                        return;
                    }
                }
                link.backoff().next_delay().max(REFUSED_RETRY_MIN)
            }
            e => {
                tracing::info!(connector = %link.id(), epoch, reason = %e, "connection lost");
                link.backoff().next_delay()
            }
        };
        let why = end.to_string();
        let attempt = link.backoff().attempt();
        tracing::debug!(connector = %link.id(), delay_ms = wait.as_millis() as u64, attempt, reason = %why, "backing off");
        reason = Some(why);
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    say_stopped_at(feed, outbox, clock.now()).await;
    tracing::debug!(connector = %link.id(), "stopped");
}

/// The last records of a stopping loop: DOWN "stopped", said once, without waiting long on a
/// pipeline that may be draining too.
pub(crate) async fn say_stopped(feed: &mut Feed, outbox: &mut Outbox) {
    say_stopped_at(feed, outbox, Ts::now()).await;
}

/// [`say_stopped`] stamped `now`.
pub(crate) async fn say_stopped_at(feed: &mut Feed, outbox: &mut Outbox, now: Ts) {
    let _ = outbox.try_flush();
    for s in feed.set_all(FeedState::Down, now, Some("stopped".into())) {
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            outbox.push_reliable(Observation::Status(s)),
        )
        .await;
    }
}

/// The timing of one session.
pub(crate) struct Timing {
    pub ping: PingPolicy,
    /// With no frame at all (not even a heartbeat or pong) for this long the socket is dead.
    pub idle_timeout: Duration,
    /// How often [`Event::Check`] comes (staleness, ack deadlines, the idle check).
    pub check_every: Duration,
    /// How often [`Event::Heartbeat`] comes, if at all.
    pub heartbeat_every: Option<Duration>,
    /// What stamps [`Event::Text`].
    pub clock: Clock,
}

/// What [`Session::next`] hands to its link.
pub(crate) enum Event {
    /// A text frame (or a UTF-8 binary one), read at the `Ts`.
    Text(Utf8Bytes, Ts),
    /// A binary frame that is not UTF-8: skipped, counted by the link if it counts.
    NotText,
    /// Time for the link's own checks, then [`Session::check_idle`].
    Check,
    /// Time for the periodic status heartbeat.
    Heartbeat,
}

/// One open connection: the socket halves, pings and the idle clock.
pub(crate) struct Session {
    id: String,
    sink: SplitSink<Ws, Message>,
    source: SplitStream<Ws>,
    ping_every: Option<Duration>,
    text_ping: Option<fn(u64) -> String>,
    ping_id: u64,
    ping: Interval,
    check: Interval,
    heartbeat: Option<Interval>,
    idle_timeout: Duration,
    last_frame_at: Instant,
    max_message_bytes: usize,
    oversized: bool,
    tx: mpsc::Sender<Observation>,
    clock: Clock,
}

fn interval_after(period: Duration) -> Interval {
    tokio::time::interval_at(Instant::now() + period, period)
}

impl Session {
    pub fn new(
        id: &str,
        ws: Ws,
        timing: Timing,
        max_message_bytes: usize,
        outbox: &Outbox,
    ) -> Self {
        let (sink, source) = ws.split();
        let ping_every = timing.ping.interval();
        let text_ping = match timing.ping {
            PingPolicy::Text(_, f) => Some(f),
            PingPolicy::ServerPings | PingPolicy::WsPing(_) => None,
        };
        Session {
            id: id.to_owned(),
            sink,
            source,
            ping_every,
            text_ping,
            ping_id: 0,
            ping: interval_after(ping_every.unwrap_or(Duration::from_secs(3600))),
            check: tokio::time::interval(timing.check_every),
            heartbeat: timing.heartbeat_every.map(interval_after),
            idle_timeout: timing.idle_timeout,
            last_frame_at: Instant::now(),
            max_message_bytes,
            oversized: false,
            tx: outbox.sender(),
            clock: timing.clock,
        }
    }

    /// True once a message over the size limit ended this session.
    pub fn oversized(&self) -> bool {
        self.oversized
    }

    /// Ends the session when no frame at all came for the idle timeout: called on
    /// [`Event::Check`], after the link's own checks (whose reasons are more precise).
    pub fn check_idle(&self) -> Result<(), ConnectorError> {
        if self.last_frame_at.elapsed() > self.idle_timeout {
            return Err(ConnectorError::unavailable(format!(
                "no frame at all for {} ms",
                self.idle_timeout.as_millis()
            )));
        }
        Ok(())
    }

    /// Sends text frames in order; `what` names them in the error (never their content: auth
    /// frames carry credentials).
    pub async fn send(&mut self, msgs: &[String], what: &str) -> Result<(), ConnectorError> {
        for m in msgs {
            if let Err(e) = self.sink.send(Message::Text(m.clone().into())).await {
                return Err(ConnectorError::unavailable(format!("{what} failed: {e}")));
            }
        }
        Ok(())
    }

    /// The next thing the link must handle. Meanwhile it sends pings, moves conflated quotes
    /// waiting in `outbox` as the pipeline takes them, and ends the session on cancel (with a
    /// Close frame), on a close or read error, on an oversized message and on silence.
    pub async fn next(
        &mut self,
        outbox: &mut Outbox,
        cancel: &CancellationToken,
    ) -> Result<Event, ConnectorError> {
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    let _ = tokio::time::timeout(Duration::from_millis(250), self.sink.send(Message::Close(None))).await;
                    return Err(ConnectorError::Cancelled);
                }
                permit = self.tx.reserve(), if outbox.has_pending() => match permit {
                    Ok(p) => outbox.send_pending(p),
                    Err(_) => return Err(ConnectorError::PipelineClosed),
                },
                msg = self.source.next() => {
                    let now = self.clock.now();
                    self.last_frame_at = Instant::now();
                    return match msg {
                        Some(Ok(Message::Text(t))) => Ok(Event::Text(t, now)),
                        Some(Ok(Message::Binary(b))) => match String::from_utf8(b.to_vec()) {
                            Ok(s) => Ok(Event::Text(s.into(), now)),
                            Err(_) => Ok(Event::NotText),
                        },
                        Some(Ok(Message::Close(frame))) => Err(ConnectorError::unavailable(match frame {
                            Some(f) => format!("closed by venue: {} {}", f.code, f.reason),
                            None => "closed by venue".into(),
                        })),
                        Some(Ok(_)) => continue, // ping/pong: tungstenite answers pings itself
                        Some(Err(tungstenite::Error::Capacity(e))) => {
                            self.oversized = true;
                            tracing::warn!(connector = %self.id, error = %e, "oversized message refused");
                            Err(ConnectorError::unavailable(format!(
                                "message refused: {e} (limit {} bytes)", self.max_message_bytes
                            )))
                        }
                        Some(Err(e)) => Err(ConnectorError::unavailable(format!("read failed: {e}"))),
                        None => Err(ConnectorError::unavailable("connection closed")),
                    };
                }
                _ = self.ping.tick(), if self.ping_every.is_some() => {
                    self.ping_id += 1;
                    let msg = match self.text_ping {
                        Some(f) => Message::Text(f(self.ping_id).into()),
                        None => Message::Ping(Vec::new().into()),
                    };
                    if let Err(e) = self.sink.send(msg).await {
                        return Err(ConnectorError::unavailable(format!("ping failed: {e}")));
                    }
                }
                _ = self.check.tick() => return Ok(Event::Check),
                _ = async { self.heartbeat.as_mut().expect("guarded").tick().await }, if self.heartbeat.is_some() => {
                    return Ok(Event::Heartbeat);
                }
            }
        }
    }
}
