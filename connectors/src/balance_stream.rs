//! Balances over a venue's private WebSocket: the trait a venue implements and the loop every
//! balance stream runs in (connect, authenticate, subscribe, ping, reconnect with backoff).
//!
//! A balance stream complements the REST poller of the same kind ([`crate::polling`]): the
//! stream brings changes within milliseconds, the poller stays the periodic truth that
//! reconciles them (a missed push is corrected at the next poll). Both emit
//! `Observation::Balance` with the same connector index, so downstream the latest one wins.

use crate::auth::{AuthError, Credentials, Secret};
use crate::error::ParseError;
use crate::outbox::Outbox;
use crate::polling::{ParsedBalance, RestRequest};
use crate::sim::SimFuture;
use crate::traits::{FrameKind, PingPolicy};
use crate::transport::Backoff;
use futures_util::{SinkExt, StreamExt};
use schemas::{BalanceObs, FeedState, FeedStatus, FeedStatusSchema, Observation, Ts};
use std::borrow::Cow;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// The `stream` of this loop's feed-status records (the poller's is `balances`).
pub const STREAM: &str = "balances:ws";
/// The capture `channel` of private balance-stream frames (beside `ws` and `rest:<path>`).
pub const CAPTURE_CHANNEL: &str = "ws:balances";

/// A venue with a private WebSocket stream of balance changes.
pub trait BalanceStream: Send + Sync + 'static {
    /// The polling kind this stream complements (`bybit`): same credentials, same asset codes.
    fn kind(&self) -> &'static str;
    /// The production endpoint, overridable per connector.
    fn default_ws_url(&self) -> &'static str;
    /// The frames that authenticate the connection, sent first. Never logged: they carry the
    /// key and a signature.
    fn auth_messages(&self, creds: &Credentials, now: Ts) -> Result<Vec<String>, AuthError>;
    /// Sent once every auth frame was acknowledged.
    fn subscribe_messages(&self) -> Vec<String>;
    fn ping_policy(&self) -> PingPolicy;
    /// Pure: one frame in, balances out. Acks are `Control` (one per auth and subscribe frame,
    /// in order), pongs `Heartbeat`, a refusal `VenueError`.
    fn parse(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<FrameKind, ParseError>;
    /// Starts the venue's private-stream simulator on 127.0.0.1:0, accepting `creds` only.
    /// A venue with a [`Self::token_request`] serves that endpoint too (`SimHandle::rest_url`).
    fn start_sim(&self, creds: Credentials) -> SimFuture;

    // Optional steps, for venues whose private stream needs more than static frames.

    /// A signed REST request made before every connection whose reply holds a session token
    /// (Kraken's `GetWebSocketsToken`), sent to the connector's REST URL (by default the
    /// polling kind's). `None` (the default): no request, the stream signs its own frames.
    fn token_request(
        &self,
        creds: &Credentials,
        now: Ts,
    ) -> Result<Option<RestRequest>, AuthError> {
        let _ = (creds, now);
        Ok(None)
    }
    /// Pure: the token in the reply to [`Self::token_request`]; a refusal is
    /// `ParseError::Venue` with the venue's message.
    fn parse_token(&self, body: &str) -> Result<Secret, ParseError> {
        Err(ParseError::Unknown {
            venue: self.kind(),
            payload: crate::error::excerpt(body),
        })
    }
    /// The subscribe frames of a connection that fetched `token` (default:
    /// [`Self::subscribe_messages`]). Never logged: they carry the token.
    fn subscribe_messages_with_token(&self, token: &Secret) -> Vec<String> {
        let _ = token;
        self.subscribe_messages()
    }
    /// `frame` with any session credential the venue sends back cut out (Deribit's
    /// `access_token` and `refresh_token` in the `public/auth` reply), before it is recorded
    /// or reported. API key and secret are redacted by the loop whatever this returns.
    fn redact_frame<'a>(&self, frame: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(frame)
    }
}

/// `text` without the credentials, the session token or any session credential the venue
/// echoed (see [`BalanceStream::redact_frame`]).
pub fn redact_all<'a>(
    venue: &dyn BalanceStream,
    text: &'a str,
    creds: &Credentials,
    token: Option<&Secret>,
) -> Cow<'a, str> {
    let mut out = match venue.redact_frame(text) {
        Cow::Borrowed(t) => crate::auth::redact(t, creds),
        Cow::Owned(t) => Cow::Owned(crate::auth::redact(&t, creds).into_owned()),
    };
    if let Some(tok) = token.map(Secret::expose).filter(|t| t.len() >= 4) {
        if out.contains(tok) {
            out = Cow::Owned(out.replace(tok, "<redacted>"));
        }
    }
    out
}

/// How long the token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Fetches the session token of a venue that needs one; `Ok(None)` for venues that do not.
async fn fetch_token(
    venue: &dyn BalanceStream,
    client: &reqwest::Client,
    rest_url: &str,
    creds: &Credentials,
) -> Result<Option<Secret>, End> {
    let req = venue
        .token_request(creds, Ts::now())
        .map_err(|e| End::Refused(format!("auth failed: token request: {e}")))?;
    let Some(req) = req else { return Ok(None) };
    let url = format!("{}{}", rest_url.trim_end_matches('/'), req.path_and_query());
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|e| End::Lost(format!("token request: {e}")))?;
    let mut rb = client.request(method, &url);
    for (k, v) in &req.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    if !req.body.is_empty() {
        rb = rb.body(req.body.clone());
    }
    // reqwest's errors name the URL; only the path is reported.
    let resp = rb.send().await.map_err(|e| {
        End::Lost(format!(
            "token request {} failed: {}",
            req.path,
            e.without_url()
        ))
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .map_err(|e| End::Lost(format!("token reply {}: {}", req.path, e.without_url())))?;
    match venue.parse_token(&body) {
        Ok(t) if status == 200 => Ok(Some(t)),
        Ok(_) => Err(End::Lost(format!(
            "token request {}: http {status}",
            req.path
        ))),
        Err(ParseError::Venue { message, .. }) => Err(End::Refused(format!(
            "auth failed: token refused: {}",
            redact_all(venue, &message, creds, None)
        ))),
        Err(e) => {
            let e = redact_all(venue, &e.to_string(), creds, None).into_owned();
            Err(if matches!(status, 401 | 403) {
                End::Refused(format!("auth failed: token refused: http {status}: {e}"))
            } else {
                End::Lost(format!("token reply {}: http {status}: {e}", req.path))
            })
        }
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Auth and subscribe must be acknowledged within this long, or the connection is replaced.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// A refused auth or subscribe is not retried faster than this: the venue said no, and a
/// tight loop of refused logins only risks an IP ban.
const REFUSED_RETRY_MIN: Duration = Duration::from_secs(10);

enum End {
    Cancelled,
    PipelineClosed,
    /// Network trouble: reconnect with backoff.
    Lost(String),
    /// The venue refused auth or the subscription: DOWN, retried slowly.
    Refused(String),
}

/// The `balances:ws` stream state of one connector.
struct Status {
    connector: String,
    venue: &'static str,
    state: FeedState,
    since: Ts,
    epoch: u64,
    last_data_at: Option<Ts>,
}

impl Status {
    fn set(&mut self, state: FeedState, reason: Option<String>) -> FeedStatus {
        if state != self.state {
            self.state = state;
            self.since = Ts::now();
        }
        FeedStatus {
            schema: FeedStatusSchema,
            connector: self.connector.clone(),
            venue: self.venue.to_owned(),
            stream: STREAM.into(),
            state: self.state,
            epoch: self.epoch,
            since: self.since,
            last_data_at: self.last_data_at,
            reason,
        }
    }
}

/// Everything one private balance stream needs to run.
pub struct BalanceStreamConnector {
    /// The connector instance id (the same as its poller's).
    pub id: String,
    /// Index of the connector in the running configuration (its balances carry it).
    pub index: u32,
    pub venue: &'static dyn BalanceStream,
    /// Endpoint override (a simulator, a testnet); `None` = the venue's default.
    pub ws_url: Option<String>,
    pub creds: Credentials,
    /// REST base URL of [`BalanceStream::token_request`] (a simulator, a testnet); `None` =
    /// the default REST URL of the polling venue of the same kind.
    pub rest_url: Option<String>,
    /// Where received frames are recorded (channel [`CAPTURE_CHANNEL`]), credentials redacted.
    pub capture: Option<crate::capture::CaptureTx>,
}

/// Runs one private balance stream until `cancel`: reconnects forever, never returns early on
/// venue errors. Balances go out with `push_reliable` (never dropped, backpressure).
pub async fn run_balance_stream(
    c: BalanceStreamConnector,
    mut outbox: Outbox,
    cancel: CancellationToken,
) {
    let BalanceStreamConnector {
        id,
        index,
        venue,
        ws_url,
        creds,
        rest_url,
        capture,
    } = c;
    let id = id.as_str();
    let url = ws_url.unwrap_or_else(|| venue.default_ws_url().to_owned());
    let rest_url = rest_url.unwrap_or_else(|| {
        crate::registry::polling(venue.kind())
            .map(|p| p.default_rest_url().to_owned())
            .unwrap_or_default()
    });
    let client = match reqwest::Client::builder().timeout(TOKEN_TIMEOUT).build() {
        Ok(cl) => cl,
        Err(e) => {
            tracing::error!(connector = %id, error = %e, "cannot build an HTTP client");
            return;
        }
    };
    let mut backoff = Backoff::default();
    let mut status = Status {
        connector: id.to_owned(),
        venue: venue.kind(),
        state: FeedState::Connecting,
        since: Ts::now(),
        epoch: 0,
        last_data_at: None,
    };
    let mut reason: Option<String> = None;
    loop {
        status.epoch += 1;
        let s = if status.epoch == 1 {
            status.set(FeedState::Connecting, None)
        } else {
            status.set(FeedState::Reconnecting, reason.take())
        };
        if outbox.push_reliable(Observation::Status(s)).await.is_err() {
            return;
        }
        tracing::debug!(connector = %id, epoch = status.epoch, "balance stream connecting");
        // A fresh session token per connection, for venues that need one (Kraken: "obtain a
        // fresh token on each connection"); the others skip this.
        let token = tokio::select! {
            _ = cancel.cancelled() => break,
            t = fetch_token(venue, &client, &rest_url, &creds) => t,
        };
        let connected = match token {
            Err(end) => Err(end),
            Ok(token) => tokio::select! {
                _ = cancel.cancelled() => break,
                r = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url.as_str())) => Ok((token, r)),
            },
        };
        let end = match connected {
            Err(end) => end,
            Ok((token, Ok(Ok((ws, _))))) => {
                tracing::info!(connector = %id, epoch = status.epoch, "balance stream connected");
                let mut s = Session {
                    id,
                    index,
                    venue,
                    creds: &creds,
                    token: token.as_ref(),
                    capture: capture.as_ref(),
                    status: &mut status,
                    backoff: &mut backoff,
                    outbox: &mut outbox,
                    cancel: &cancel,
                };
                s.run(ws).await
            }
            Ok((_, Ok(Err(e)))) => End::Lost(format!("connect failed: {e}")),
            Ok((_, Err(_))) => End::Lost(format!(
                "connect timed out after {} ms",
                CONNECT_TIMEOUT.as_millis()
            )),
        };
        let wait = match end {
            End::Cancelled => break,
            End::PipelineClosed => return,
            End::Lost(why) => {
                tracing::info!(connector = %id, reason = %why, "balance stream lost");
                reason = Some(why);
                backoff.next_delay()
            }
            End::Refused(why) => {
                tracing::warn!(connector = %id, reason = %why, "balance stream refused");
                let s = status.set(FeedState::Down, Some(why.clone()));
                if outbox.push_reliable(Observation::Status(s)).await.is_err() {
                    return;
                }
                reason = Some(why);
                backoff.next_delay().max(REFUSED_RETRY_MIN)
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    let s = status.set(FeedState::Down, Some("stopped".into()));
    let _ = tokio::time::timeout(
        Duration::from_millis(200),
        outbox.push_reliable(Observation::Status(s)),
    )
    .await;
    tracing::debug!(connector = %id, "balance stream stopped");
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Where a connection is in its handshake: acks still expected per phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Auth(usize),
    Subscribe(usize),
    Live,
}

struct Session<'a> {
    id: &'a str,
    index: u32,
    venue: &'static dyn BalanceStream,
    creds: &'a Credentials,
    /// This connection's session token, if the venue needs one.
    token: Option<&'a Secret>,
    capture: Option<&'a crate::capture::CaptureTx>,
    status: &'a mut Status,
    backoff: &'a mut Backoff,
    outbox: &'a mut Outbox,
    cancel: &'a CancellationToken,
}

impl Session<'_> {
    async fn push(&mut self, obs: Observation) -> Result<(), End> {
        // Backpressure, but a shutdown is not held up by a full pipeline.
        tokio::select! {
            _ = self.cancel.cancelled() => Err(End::Cancelled),
            r = self.outbox.push_reliable(obs) => r.map_err(|_| End::PipelineClosed),
        }
    }

    /// Sends `msgs` in order (auth frames are never logged, not even on failure).
    async fn send_all<S>(sink: &mut S, msgs: &[String], what: &str) -> Result<(), End>
    where
        S: SinkExt<Message> + Unpin,
        S::Error: std::fmt::Display,
    {
        for m in msgs {
            if let Err(e) = sink.send(Message::Text(m.clone().into())).await {
                return Err(End::Lost(format!("{what} send failed: {e}")));
            }
        }
        Ok(())
    }

    async fn go_live(&mut self) -> Result<Phase, End> {
        self.backoff.reset();
        tracing::info!(connector = %self.id, "balance stream live");
        let s = self.status.set(FeedState::Live, None);
        self.push(Observation::Status(s)).await?;
        Ok(Phase::Live)
    }

    async fn run(&mut self, ws: Ws) -> End {
        match self.session(ws).await {
            Ok(never) => match never {},
            Err(end) => end,
        }
    }

    async fn session(&mut self, ws: Ws) -> Result<std::convert::Infallible, End> {
        let venue = self.venue;
        let (mut sink, mut source) = ws.split();
        let auth = venue
            .auth_messages(self.creds, Ts::now())
            .map_err(|e| End::Refused(format!("auth failed: {e}")))?;
        let subscribe = match self.token {
            Some(t) => venue.subscribe_messages_with_token(t),
            None => venue.subscribe_messages(),
        };
        let mut phase = if auth.is_empty() {
            Self::send_all(&mut sink, &subscribe, "subscribe").await?;
            Phase::Subscribe(subscribe.len())
        } else {
            Self::send_all(&mut sink, &auth, "auth").await?;
            Phase::Auth(auth.len())
        };
        drop(auth);
        if phase == Phase::Subscribe(0) {
            phase = self.go_live().await?;
        }
        let (ping_every, text_ping) = match venue.ping_policy() {
            PingPolicy::ServerPings => (None, None),
            PingPolicy::WsPing(d) => (Some(d), None),
            PingPolicy::Text(d, f) => (Some(d), Some(f)),
        };
        // Pings keep answers coming on a quiet account: with none for three intervals the
        // socket is dead even if TCP has not noticed.
        let idle_timeout = ping_every.map_or(Duration::from_secs(120), |d| {
            (d * 3).max(Duration::from_secs(30))
        });
        let mut ping = tokio::time::interval(ping_every.unwrap_or(Duration::from_secs(3600)));
        ping.tick().await;
        let mut check = tokio::time::interval(Duration::from_millis(250));
        let connected_at = tokio::time::Instant::now();
        let mut last_frame_at = connected_at;
        let mut ping_id = 0u64;
        let mut batch: Vec<BalanceObs> = Vec::new();
        loop {
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    let _ = tokio::time::timeout(Duration::from_millis(250), sink.send(Message::Close(None))).await;
                    return Err(End::Cancelled);
                }
                msg = source.next() => {
                    last_frame_at = tokio::time::Instant::now();
                    let now = Ts::now();
                    let text = match msg {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Binary(b))) => match String::from_utf8(b.to_vec()) {
                            Ok(s) => s.into(),
                            Err(_) => continue,
                        },
                        Some(Ok(Message::Close(frame))) => {
                            return Err(End::Lost(match frame {
                                Some(f) => format!("closed by venue: {} {}", f.code, f.reason),
                                None => "closed by venue".into(),
                            }));
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(End::Lost(format!("read failed: {e}"))),
                        None => return Err(End::Lost("connection closed".into())),
                    };
                    if let Some(cap) = self.capture {
                        // What the venue sent, with any echoed credential redacted.
                        let line = crate::capture::CaptureLine {
                            connector: self.id.to_owned(),
                            venue: venue.kind().to_owned(),
                            received_at: now,
                            channel: CAPTURE_CHANNEL.to_owned(),
                            frame: redact_all(venue, text.as_str(), self.creds, self.token).into_owned(),
                            epoch: self.status.epoch,
                        };
                        let _ = cap.send(line).await;
                    }
                    let index = self.index;
                    let kind = venue.parse(text.as_str(), &mut |b| {
                        batch.push(b.into_obs(index, now))
                    });
                    match kind {
                        Ok(FrameKind::Control) => {
                            phase = match phase {
                                Phase::Auth(n) if n > 1 => Phase::Auth(n - 1),
                                Phase::Auth(_) => {
                                    Self::send_all(&mut sink, &subscribe, "subscribe").await?;
                                    Phase::Subscribe(subscribe.len())
                                }
                                Phase::Subscribe(n) if n > 1 => Phase::Subscribe(n - 1),
                                Phase::Subscribe(_) | Phase::Live => Phase::Live,
                            };
                            if phase == Phase::Subscribe(0)
                                || (phase == Phase::Live && self.status.state != FeedState::Live)
                            {
                                phase = self.go_live().await?;
                            }
                        }
                        Ok(FrameKind::VenueError(e)) => {
                            let e = redact_all(venue, &e, self.creds, self.token).into_owned();
                            match phase {
                                Phase::Auth(_) => {
                                    return Err(End::Refused(if e.contains("auth failed") {
                                        e
                                    } else {
                                        format!("auth failed: {e}")
                                    }));
                                }
                                Phase::Subscribe(_) => {
                                    return Err(End::Refused(format!("subscribe refused: {e}")));
                                }
                                Phase::Live => {
                                    tracing::warn!(connector = %self.id, error = %e, "venue error");
                                }
                            }
                        }
                        Ok(FrameKind::Reconnect) => {
                            return Err(End::Lost("venue announced shutdown".into()));
                        }
                        Ok(FrameKind::Respond(reply)) => {
                            Self::send_all(&mut sink, &[reply], "reply").await?;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::debug!(connector = %self.id, error = %e, "frame skipped");
                        }
                    }
                    if !batch.is_empty() {
                        self.status.last_data_at = Some(now);
                        tracing::debug!(connector = %self.id, balances = batch.len(), "balances pushed");
                    }
                    for b in batch.drain(..) {
                        self.push(Observation::Balance(b)).await?;
                    }
                }
                _ = ping.tick(), if ping_every.is_some() => {
                    ping_id += 1;
                    let msg = match text_ping {
                        Some(f) => Message::Text(f(ping_id).into()),
                        None => Message::Ping(Vec::new().into()),
                    };
                    if let Err(e) = sink.send(msg).await {
                        return Err(End::Lost(format!("ping failed: {e}")));
                    }
                }
                _ = check.tick() => {
                    if phase != Phase::Live && connected_at.elapsed() > ACK_TIMEOUT {
                        let what = if matches!(phase, Phase::Auth(_)) { "auth" } else { "subscribe" };
                        return Err(End::Lost(format!(
                            "no {what} ack within {} ms", ACK_TIMEOUT.as_millis()
                        )));
                    }
                    if last_frame_at.elapsed() > idle_timeout {
                        return Err(End::Lost(format!(
                            "no frame at all for {} ms", idle_timeout.as_millis()
                        )));
                    }
                }
            }
        }
    }
}
