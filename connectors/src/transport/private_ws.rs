//! Balances over a venue's private WebSocket: the trait a venue implements and the loop every
//! balance stream runs in (a session token, authenticate, subscribe; the socket, pings and
//! reconnects are the shared [`super::session`]).
//!
//! A balance stream complements the REST poller of the same kind ([`super::rest`]): the
//! stream brings changes within milliseconds, the poller stays the periodic truth that
//! reconciles them (a missed push is corrected at the next poll). Both emit
//! `Observation::Balance` with the same connector index, so downstream the latest one wins.

use crate::auth::{AuthError, Credentials, Secret};
use crate::error::{ConnectorError, ParseError};
use crate::outbox::Outbox;
use crate::sim::SimFuture;
use crate::traits::{FrameKind, PingPolicy};
use crate::transport::feed::Feed;
use crate::transport::rest::{ParsedBalance, RestRequest};
use crate::transport::session::{
    run_reconnecting, Dial, Event, Link, Session, Timing, Ws, DEFAULT_MAX_MESSAGE_BYTES,
};
use crate::transport::Backoff;
use schemas::{BalanceObs, FeedState, Observation, Ts};
use std::borrow::Cow;
use std::convert::Infallible;
use std::time::Duration;
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
    /// Pure: the margin and positions one frame pushes (Bybit `position`, OKX `positions`,
    /// Binance USD-M `ACCOUNT_UPDATE`, Deribit `user.portfolio`), beside REST, which stays the
    /// periodic truth. Balances are not emitted here (they come from [`Self::parse`]). The
    /// default reports nothing.
    fn parse_account(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        let _ = (frame, emit);
        Ok(())
    }

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
    /// The URL dialed by a connection that fetched `token`, from the configured `base`
    /// (Binance USD-M names its listen key in the path: `<base>/<listenKey>`). Default: `base`.
    /// Never logged: it may carry the token.
    fn connect_url_with_token(&self, base: &str, token: &Secret) -> String {
        let _ = token;
        base.to_owned()
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
) -> Result<Option<Secret>, ConnectorError> {
    let req = venue
        .token_request(creds, Ts::now())
        .map_err(|e| ConnectorError::refused(format!("auth failed: token request: {e}")))?;
    let Some(req) = req else { return Ok(None) };
    let rb = req
        .to_reqwest(client, rest_url.trim_end_matches('/'))
        .map_err(|e| ConnectorError::unavailable(format!("token request: {e}")))?;
    // reqwest's errors name the URL; only the path is reported.
    let resp = rb.send().await.map_err(|e| {
        ConnectorError::unavailable(format!(
            "token request {} failed: {}",
            req.path,
            e.without_url()
        ))
    })?;
    let status = resp.status().as_u16();
    let body = resp.text().await.map_err(|e| {
        ConnectorError::unavailable(format!("token reply {}: {}", req.path, e.without_url()))
    })?;
    match venue.parse_token(&body) {
        Ok(t) if status == 200 => Ok(Some(t)),
        Ok(_) => Err(ConnectorError::unavailable(format!(
            "token request {}: http {status}",
            req.path
        ))),
        Err(ParseError::Venue { message, .. }) => Err(ConnectorError::refused(format!(
            "auth failed: token refused: {}",
            redact_all(venue, &message, creds, None)
        ))),
        Err(e) => {
            let e = redact_all(venue, &e.to_string(), creds, None).into_owned();
            Err(if matches!(status, 401 | 403) {
                ConnectorError::refused(format!("auth failed: token refused: http {status}: {e}"))
            } else {
                ConnectorError::unavailable(format!("token reply {}: http {status}: {e}", req.path))
            })
        }
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Auth and subscribe must be acknowledged within this long, or the connection is replaced.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// REST base URL of [`BalanceStream::token_request`]: the connector's override, a
    /// simulator, or the default REST URL of the polling venue of the same kind (the caller
    /// resolves it; unused by venues that need no token).
    pub rest_url: String,
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
    let client = match reqwest::Client::builder().timeout(TOKEN_TIMEOUT).build() {
        Ok(cl) => cl,
        Err(e) => {
            tracing::error!(connector = %id, error = %e, "cannot build an HTTP client");
            return;
        }
    };
    let mut feed = Feed::single(&id, venue.kind(), STREAM);
    let base_url = ws_url.unwrap_or_else(|| venue.default_ws_url().to_owned());
    let mut link = BalanceLink {
        dial: Dial {
            url: base_url.clone(),
            connect_timeout: CONNECT_TIMEOUT,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            dialer: crate::transport::Dialer::Net,
        },
        base_url,
        id,
        index,
        venue,
        creds,
        rest_url,
        capture,
        client,
        backoff: Backoff::default(),
        token: None,
    };
    run_reconnecting(&mut link, &mut feed, &mut outbox, &cancel).await;
}

/// Where a connection is in its handshake: acks still expected per phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Auth(usize),
    Subscribe(usize),
    Live,
}

/// The private connection on top of the shared [`Session`]: a token, auth, subscribe, then
/// frames to balances.
struct BalanceLink {
    id: String,
    index: u32,
    venue: &'static dyn BalanceStream,
    creds: Credentials,
    rest_url: String,
    capture: Option<crate::capture::CaptureTx>,
    client: reqwest::Client,
    dial: Dial,
    /// The configured endpoint; a token may be added to it per connection
    /// ([`BalanceStream::connect_url_with_token`]).
    base_url: String,
    backoff: Backoff,
    /// This connection's session token, if the venue needs one.
    token: Option<Secret>,
}

impl Link for BalanceLink {
    fn id(&self) -> &str {
        &self.id
    }
    fn dial(&self) -> &Dial {
        &self.dial
    }
    fn backoff(&mut self) -> &mut Backoff {
        &mut self.backoff
    }
    /// A fresh session token per connection, for venues that need one (Kraken: "obtain a
    /// fresh token on each connection"); the others skip this.
    async fn prepare(&mut self) -> Result<(), ConnectorError> {
        self.token = fetch_token(self.venue, &self.client, &self.rest_url, &self.creds).await?;
        self.dial.url = match &self.token {
            Some(t) => self.venue.connect_url_with_token(&self.base_url, t),
            None => self.base_url.clone(),
        };
        Ok(())
    }
    async fn run(
        &mut self,
        ws: Ws,
        feed: &mut Feed,
        outbox: &mut Outbox,
        cancel: &CancellationToken,
    ) -> ConnectorError {
        match self.session(ws, feed, outbox, cancel).await {
            Ok(never) => match never {},
            Err(end) => end,
        }
    }
}

/// Backpressure, but a shutdown is not held up by a full pipeline.
async fn push(
    outbox: &mut Outbox,
    cancel: &CancellationToken,
    obs: Observation,
) -> Result<(), ConnectorError> {
    tokio::select! {
        _ = cancel.cancelled() => Err(ConnectorError::Cancelled),
        r = outbox.push_reliable(obs) => r.map_err(|_| ConnectorError::PipelineClosed),
    }
}

impl BalanceLink {
    async fn go_live(
        &mut self,
        feed: &mut Feed,
        outbox: &mut Outbox,
        cancel: &CancellationToken,
    ) -> Result<Phase, ConnectorError> {
        self.backoff.reset();
        tracing::info!(connector = %self.id, "balance stream live");
        for s in feed.set_all(FeedState::Live, Ts::now(), None) {
            push(outbox, cancel, Observation::Status(s)).await?;
        }
        Ok(Phase::Live)
    }

    async fn session(
        &mut self,
        ws: Ws,
        feed: &mut Feed,
        outbox: &mut Outbox,
        cancel: &CancellationToken,
    ) -> Result<Infallible, ConnectorError> {
        let venue = self.venue;
        let ping = venue.ping_policy();
        // Pings keep answers coming on a quiet account: with none for three intervals the
        // socket is dead even if TCP has not noticed.
        let idle_timeout = ping.interval().map_or(Duration::from_secs(120), |d| {
            (d * 3).max(Duration::from_secs(30))
        });
        let timing = Timing {
            ping,
            idle_timeout,
            check_every: Duration::from_millis(250),
            heartbeat_every: None,
            clock: crate::transport::Clock::Wall,
        };
        let mut ws = Session::new(&self.id, ws, timing, self.dial.max_message_bytes, outbox);
        let auth = venue
            .auth_messages(&self.creds, Ts::now())
            .map_err(|e| ConnectorError::refused(format!("auth failed: {e}")))?;
        let subscribe = match &self.token {
            Some(t) => venue.subscribe_messages_with_token(t),
            None => venue.subscribe_messages(),
        };
        // Auth frames are never logged, not even on failure.
        let mut phase = if auth.is_empty() {
            ws.send(&subscribe, "subscribe send").await?;
            Phase::Subscribe(subscribe.len())
        } else {
            ws.send(&auth, "auth send").await?;
            Phase::Auth(auth.len())
        };
        drop(auth);
        if phase == Phase::Subscribe(0) {
            phase = self.go_live(feed, outbox, cancel).await?;
        }
        let connected_at = tokio::time::Instant::now();
        let mut batch: Vec<BalanceObs> = Vec::new();
        loop {
            let (text, now) = match ws.next(outbox, cancel).await? {
                Event::Text(text, now) => (text, now),
                Event::NotText | Event::Heartbeat => continue,
                Event::Check => {
                    if phase != Phase::Live && connected_at.elapsed() > ACK_TIMEOUT {
                        let what = if matches!(phase, Phase::Auth(_)) {
                            "auth"
                        } else {
                            "subscribe"
                        };
                        return Err(ConnectorError::unavailable(format!(
                            "no {what} ack within {} ms",
                            ACK_TIMEOUT.as_millis()
                        )));
                    }
                    ws.check_idle()?;
                    continue;
                }
            };
            if let Some(cap) = &self.capture {
                // What the venue sent, with any echoed credential redacted.
                let line = crate::capture::CaptureLine {
                    connector: self.id.clone(),
                    venue: venue.kind().to_owned(),
                    received_at: now,
                    channel: CAPTURE_CHANNEL.to_owned(),
                    frame: redact_all(venue, text.as_str(), &self.creds, self.token.as_ref())
                        .into_owned(),
                    epoch: feed.epoch(),
                };
                let _ = cap.send(line).await;
            }
            let index = self.index;
            let kind = venue.parse(text.as_str(), &mut |b| batch.push(b.into_obs(index, now)));
            let mut account = Vec::new();
            if let Err(e) =
                venue.parse_account(text.as_str(), &mut |i| account.push(i.into_obs(index, now)))
            {
                tracing::debug!(connector = %self.id, error = %e, "account frame skipped");
            }
            match kind {
                Ok(FrameKind::Control) => {
                    phase = match phase {
                        Phase::Auth(n) if n > 1 => Phase::Auth(n - 1),
                        Phase::Auth(_) => {
                            ws.send(&subscribe, "subscribe send").await?;
                            Phase::Subscribe(subscribe.len())
                        }
                        Phase::Subscribe(n) if n > 1 => Phase::Subscribe(n - 1),
                        Phase::Subscribe(_) | Phase::Live => Phase::Live,
                    };
                    if phase == Phase::Subscribe(0)
                        || (phase == Phase::Live && feed.state() != FeedState::Live)
                    {
                        phase = self.go_live(feed, outbox, cancel).await?;
                    }
                }
                Ok(FrameKind::VenueError(e)) => {
                    let e = redact_all(venue, &e, &self.creds, self.token.as_ref()).into_owned();
                    match phase {
                        Phase::Auth(_) => {
                            return Err(ConnectorError::refused(if e.contains("auth failed") {
                                e
                            } else {
                                format!("auth failed: {e}")
                            }));
                        }
                        Phase::Subscribe(_) => {
                            return Err(ConnectorError::refused(format!("subscribe refused: {e}")));
                        }
                        Phase::Live => {
                            tracing::warn!(connector = %self.id, error = %e, "venue error");
                        }
                    }
                }
                Ok(FrameKind::Reconnect) => {
                    return Err(ConnectorError::unavailable("venue announced shutdown"));
                }
                Ok(FrameKind::Respond(reply)) => ws.send(&[reply], "reply send").await?,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(connector = %self.id, error = %e, "frame skipped");
                }
            }
            if !batch.is_empty() {
                feed.saw_data(0, now);
                tracing::debug!(connector = %self.id, balances = batch.len(), "balances pushed");
            }
            for b in batch.drain(..) {
                push(outbox, cancel, Observation::Balance(b)).await?;
            }
            for o in account {
                push(outbox, cancel, o).await?;
            }
        }
    }
}
