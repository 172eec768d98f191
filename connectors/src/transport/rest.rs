//! Balances over signed REST: the polling venue trait and the loop every polling venue runs in
//! (rate limits, retries, `Retry-After`, capture, staleness). A venue author writes the request
//! builder with its signature and a pure parser; nothing else.

use crate::auth::{AuthError, Credentials};
use crate::capture::{CaptureLine, CaptureTx};
use crate::error::{ConnectorError, ParseError};
use crate::outbox::Outbox;
use crate::sim::SimFuture;
use crate::spec::VenueSpec;
use crate::transport::session::say_stopped;
use crate::transport::{Backoff, Feed};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rust_decimal::Decimal;
use schemas::{BalanceObs, FeedState, Observation, SourceKind, Ts};
use std::borrow::Cow;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The `stream` of this loop's feed-status records (the private stream's is `balances:ws`).
pub const STREAM: &str = "balances";

pub use super::request::RestRequest;

/// One balance as parsed from a response, in the venue's own asset code and numbers.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ParsedBalance<'a> {
    pub venue_asset: Cow<'a, str>,
    pub total: Decimal,
    pub available: Option<Decimal>,
    pub locked: Option<Decimal>,
    pub borrowed: Option<Decimal>,
    pub pending: Option<Decimal>,
    pub sub_account: Option<Cow<'a, str>>,
    pub wallet: Option<Cow<'a, str>>,
    pub as_of: Option<Ts>,
    /// The chain, when the venue names it beside the code (Network Link `blockchain`); the
    /// normalizer otherwise takes it from the asset registry.
    pub network: Option<Cow<'a, str>>,
    /// The asset's unrealized P&L at the venue beside its wallet balance `total` (Binance
    /// USD-M `crossUnPnl`, Bybit `unrealisedPnl`, OKX `upl`, Deribit `session_upl`).
    pub unrealized_pnl: Option<Decimal>,
}

impl ParsedBalance<'_> {
    /// The observation of this balance for connector `connector`, read at `received_at`.
    pub fn into_obs(self, connector: u32, received_at: Ts) -> BalanceObs {
        BalanceObs {
            connector,
            venue_asset: self.venue_asset.into_owned(),
            total: self.total,
            available: self.available,
            locked: self.locked,
            borrowed: self.borrowed,
            pending: self.pending,
            sub_account: self.sub_account.map(Cow::into_owned),
            wallet: self.wallet.map(Cow::into_owned),
            as_of: self.as_of,
            received_at,
            network: self.network.map(|n| crate::network_id(&n)),
            poll_started: None,
            unrealized_pnl: self.unrealized_pnl,
        }
    }
}

/// A venue's documented rate limit: `capacity` weight units per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub capacity: u32,
    pub per: Duration,
}

/// Who shares a rate-limit budget at the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetScope {
    /// Per IP: every connector of this venue kind on this host shares it (Binance).
    Ip,
    /// Per API key: connectors that use the same key share it (Kraken, OKX).
    Key,
}

/// A venue that reports balances over (signed) REST. What it *is* (base URL, rate limit,
/// budget scope, source kind, aliases) is its [`VenueSpec`]; the constant methods below read
/// it and are only overridden where a figure comes from config (`generic_rest`).
pub trait PollingVenue: Send + Sync + 'static {
    /// This kind's declaration (`venues/<kind>/spec.rs`, `custodians/<kind>/spec.rs`); its
    /// `balances` is set.
    fn spec(&self) -> &'static VenueSpec;
    /// The registry id (`kind` in config, `venue` in captures and records).
    fn kind(&self) -> &'static str {
        self.spec().kind
    }
    fn source_kind(&self) -> SourceKind {
        self.spec().source_kind
    }
    /// The production base URL, overridable per connector with `rest_url`.
    fn default_rest_url(&self) -> &'static str {
        self.spec().rest().rest_url
    }
    fn rate_limit(&self) -> RateLimit {
        self.spec().rest().rate_limit
    }
    fn budget_scope(&self) -> BudgetScope {
        self.spec().rest().scope
    }
    /// Builds and signs the request for one page (`cursor` = None for the first page).
    fn request(
        &self,
        creds: &Credentials,
        now: Ts,
        cursor: Option<&str>,
    ) -> Result<RestRequest, AuthError>;
    /// Pure: one response body in, balances out; returns the next page's cursor, if any.
    /// A venue error carried in a 200 body (Kraken `{"error":[...]}`) is `ParseError::Venue`.
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError>;
    /// [`Self::parse_balances`] told which page `body` answers (`cursor` as given to
    /// [`Self::request`]). Venues that walk several endpoints in one poll (a list, then one
    /// request per item, whose bodies do not name the item) need it; the default ignores it.
    /// Still pure.
    fn parse_page(
        &self,
        body: &str,
        cursor: Option<&str>,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        let _ = cursor;
        self.parse_balances(body, emit)
    }
    /// This venue's own asset codes that differ from canonical ones (`(venue_code, canonical)`),
    /// added to the asset master for this kind only.
    fn asset_aliases(&self) -> &'static [(&'static str, &'static str)] {
        self.spec().aliases
    }
    /// Credentials the simulator accepts when the config names none (demo only).
    fn demo_credentials(&self) -> Credentials;
    /// A valid secret other than the demo one, for the contract's wrong-secret check. Key-pair
    /// venues need it: an edited PEM no longer parses, so the request would fail before the
    /// simulator could refuse it. `None`: the contract edits the demo secret itself.
    fn wrong_demo_secret(&self) -> Option<crate::auth::Secret> {
        None
    }
    /// Starts this venue's REST simulator on 127.0.0.1:0, accepting `credentials` only.
    fn start_sim(&self, credentials: Credentials) -> SimFuture;

    /// Requests a poll makes after its balance pages, for a derivatives venue's margin and
    /// positions (margin.md section 1), by page id; empty for venues that report none.
    fn account_pages(&self) -> &'static [&'static str] {
        &[]
    }
    /// Builds and signs the request of one of [`Self::account_pages`].
    fn account_request(
        &self,
        creds: &Credentials,
        now: Ts,
        page: &str,
    ) -> Result<RestRequest, AuthError> {
        let _ = (creds, now);
        Err(AuthError::Invalid {
            field: "page",
            reason: format!("no account page {page:?}"),
        })
    }
    /// Pure: the margin and positions in a response to the request at `path` (a balance page
    /// or an account page; replay knows only the path). Balances are not emitted here: they
    /// come from [`Self::parse_page`]. The default reports nothing.
    fn parse_account(
        &self,
        path: &str,
        body: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        let _ = (path, body, emit);
        Ok(())
    }
}

/// Counters of one polling connector.
#[derive(Debug, Default)]
pub struct PollStats {
    pub polls: AtomicU64,
    pub balances: AtomicU64,
    pub http_errors: AtomicU64,
    pub parse_errors: AtomicU64,
    pub rate_limited: AtomicU64,
}

type Limiter = Arc<DefaultDirectRateLimiter>;

/// One budget per (venue kind, scope): connectors that share a key or an IP at the venue share
/// the limiter, so together they stay within the documented quota.
pub fn budget(kind: &str, scope: BudgetScope, creds: &Credentials, limit: RateLimit) -> Limiter {
    static BUDGETS: OnceLock<Mutex<HashMap<String, Limiter>>> = OnceLock::new();
    let id = match scope {
        BudgetScope::Ip => format!("{kind}:ip"),
        // A digest, never the key itself, names the budget.
        BudgetScope::Key => format!(
            "{kind}:key:{}",
            &crate::auth::sign::sha256_hex(creds.key().unwrap_or("").as_bytes())[..16]
        ),
    };
    let mut map = BUDGETS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(id)
        .or_insert_with(|| {
            let capacity = NonZeroU32::new(limit.capacity.max(1)).expect("max(1)");
            let period = limit.per / limit.capacity.max(1);
            let quota = Quota::with_period(period.max(Duration::from_micros(1)))
                .expect("non-zero period")
                .allow_burst(capacity);
            Arc::new(RateLimiter::direct(quota))
        })
        .clone()
}

/// Everything one polling connector needs to run.
pub struct PollingConnector {
    pub id: String,
    pub index: u32,
    pub venue: &'static dyn PollingVenue,
    pub rest_url: String,
    pub credentials: Credentials,
    pub interval: Duration,
    pub timeout: Duration,
    pub capture: Option<CaptureTx>,
    pub stats: Arc<PollStats>,
}

impl PollingConnector {
    pub fn new(
        id: &str,
        index: u32,
        venue: &'static dyn PollingVenue,
        rest_url: Option<&str>,
        credentials: Credentials,
        interval: Duration,
    ) -> Self {
        PollingConnector {
            id: id.to_owned(),
            index,
            venue,
            rest_url: rest_url
                .unwrap_or(venue.default_rest_url())
                .trim_end_matches('/')
                .to_owned(),
            credentials,
            interval,
            timeout: Duration::from_secs(10),
            capture: None,
            stats: Arc::default(),
        }
    }
}

/// Runs a polling connector until `cancel`.
pub async fn run_polling(c: PollingConnector, mut outbox: Outbox, cancel: CancellationToken) {
    let client = match reqwest::Client::builder().timeout(c.timeout).build() {
        Ok(cl) => cl,
        Err(e) => {
            tracing::error!(connector = %c.id, error = %e, "cannot build an HTTP client");
            return;
        }
    };
    let limiter = budget(
        c.venue.kind(),
        c.venue.budget_scope(),
        &c.credentials,
        c.venue.rate_limit(),
    );
    let mut feed = Feed::single(&c.id, c.venue.kind(), STREAM);
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    for s in feed.start(Ts::now()) {
        if outbox.push_reliable(Observation::Status(s)).await.is_err() {
            return;
        }
    }
    let mut next = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(next) => {}
        }
        let outcome = tokio::select! {
            _ = cancel.cancelled() => break,
            r = poll_once(&c, &client, &limiter, &mut outbox) => r,
        };
        let wait = match outcome {
            Ok(n) => {
                backoff.reset();
                tracing::debug!(connector = %c.id, balances = n, "balances polled");
                if let Some(s) = feed.on_data(0, Ts::now()) {
                    if outbox.push_reliable(Observation::Status(s)).await.is_err() {
                        return;
                    }
                }
                c.interval
            }
            Err(e) if !e.is_retryable() => return,
            Err(e) => {
                let (state, wait) = match &e {
                    ConnectorError::RateLimited { wait, .. } => {
                        c.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                        (FeedState::Stale, (*wait).max(backoff.next_delay()))
                    }
                    ConnectorError::Refused { .. } => {
                        (FeedState::Down, c.interval.max(backoff.next_delay()))
                    }
                    _ => (
                        FeedState::Stale,
                        backoff.next_delay().max(Duration::from_millis(200)),
                    ),
                };
                tracing::warn!(connector = %c.id, reason = %e, "balance poll failed");
                for s in feed.set_all(state, Ts::now(), Some(e.to_string())) {
                    if outbox.push_reliable(Observation::Status(s)).await.is_err() {
                        return;
                    }
                }
                wait
            }
        };
        next = tokio::time::Instant::now() + wait;
    }
    say_stopped(&mut feed, &mut outbox).await;
}

/// Polls every page once; returns the number of balances sent.
async fn poll_once(
    c: &PollingConnector,
    client: &reqwest::Client,
    limiter: &DefaultDirectRateLimiter,
    outbox: &mut Outbox,
) -> Result<usize, ConnectorError> {
    c.stats.polls.fetch_add(1, Ordering::Relaxed);
    let mut cursor: Option<String> = None;
    let mut sent = 0;
    // The first page's response time: the poll's snapshot is as of then (replay reads the
    // same time from the capture).
    let mut started: Option<Ts> = None;
    // A runaway cursor must not loop forever.
    for _page in 0..1000 {
        let req = c
            .venue
            .request(&c.credentials, Ts::now(), cursor.as_deref())
            .map_err(|e| ConnectorError::refused(e.to_string()))?;
        let (body, received_at) = fetch(c, client, limiter, &req).await?;
        let started = *started.get_or_insert(received_at);
        let mut batch = Vec::new();
        let next = c
            .venue
            .parse_page(&body, cursor.as_deref(), &mut |b| {
                batch.push(b.into_obs(c.index, received_at))
            })
            .map_err(|e| {
                c.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                match e {
                    ParseError::Venue { message, .. } if is_auth_message(&message) => {
                        ConnectorError::refused(format!("venue refused: {message}"))
                    }
                    other => ConnectorError::unavailable(other.to_string()),
                }
            })?;
        for b in batch {
            sent += 1;
            c.stats.balances.fetch_add(1, Ordering::Relaxed);
            // Balances are never conflated or dropped: backpressure.
            outbox
                .push_reliable(Observation::Balance(b))
                .await
                .map_err(|_| ConnectorError::PipelineClosed)?;
        }
        // The margin and positions a balance page also carries (Bybit, OKX, Deribit).
        send_account(c, &req.path, &body, received_at, outbox).await?;
        match next {
            Some(n) => cursor = Some(n),
            None => {
                // Every page read: the poll is the source's full snapshot, so what it no longer
                // lists is gone. Sent reliably, after the balances, like them.
                outbox
                    .push_reliable(Observation::Balance(BalanceObs::poll_closed(
                        c.index,
                        started,
                        received_at,
                    )))
                    .await
                    .map_err(|_| ConnectorError::PipelineClosed)?;
                // Then the derivatives venue's margin and positions pages, if it has any.
                for page in c.venue.account_pages() {
                    let req = c
                        .venue
                        .account_request(&c.credentials, Ts::now(), page)
                        .map_err(|e| ConnectorError::refused(e.to_string()))?;
                    let (body, received_at) = fetch(c, client, limiter, &req).await?;
                    send_account(c, &req.path, &body, received_at, outbox).await?;
                }
                return Ok(sent);
            }
        }
    }
    Err(ConnectorError::unavailable("more than 1000 pages"))
}

/// Sends one request within the venue's budget and records the response in the capture;
/// returns the body of a 200 and its receive time, else the error the status means.
async fn fetch(
    c: &PollingConnector,
    client: &reqwest::Client,
    limiter: &DefaultDirectRateLimiter,
    req: &RestRequest,
) -> Result<(String, Ts), ConnectorError> {
    if let Some(n) = NonZeroU32::new(req.weight) {
        if limiter.until_n_ready(n).await.is_err() {
            tracing::warn!(connector = %c.id, weight = req.weight, "request weight exceeds the whole quota");
        }
    }
    let rb = req
        .to_reqwest(client, &c.rest_url)
        .map_err(ConnectorError::unavailable)?;
    let resp = rb.send().await.map_err(|e| {
        c.stats.http_errors.fetch_add(1, Ordering::Relaxed);
        // reqwest's error names the URL, which may carry a signature in the query.
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "connect failed"
        } else {
            "failed"
        };
        // The innermost cause (a refused certificate, a reset) names no URL.
        let mut cause: &dyn std::error::Error = &e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        ConnectorError::unavailable(format!("request {} {kind}: {cause}", req.path))
    })?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = resp.text().await.map_err(|e| {
        c.stats.http_errors.fetch_add(1, Ordering::Relaxed);
        ConnectorError::unavailable(format!("reading {}: {}", req.path, e.without_url()))
    })?;
    let received_at = Ts::now();
    if let Some(cap) = &c.capture {
        // Only what the venue sent; the request (and its credentials) is never recorded.
        let line = CaptureLine {
            connector: c.id.clone(),
            venue: c.venue.kind().to_owned(),
            received_at,
            channel: format!("rest:{}", req.path),
            frame: crate::auth::redact(&body, &c.credentials).into_owned(),
            epoch: 0,
        };
        let _ = cap.send(line).await;
    }
    if status != 200 {
        c.stats.http_errors.fetch_add(1, Ordering::Relaxed);
        let excerpt = crate::error::excerpt(&body);
        return Err(match status {
            429 | 418 => ConnectorError::RateLimited {
                reason: format!(
                    "http {status}: {}retry after {} s",
                    if status == 418 { "banned, " } else { "" },
                    retry_after.unwrap_or(Duration::from_secs(1)).as_secs()
                ),
                wait: retry_after.unwrap_or(Duration::from_secs(1)),
            },
            401 | 403 => ConnectorError::refused(format!("http {status}: {excerpt}")),
            _ => ConnectorError::unavailable(format!("http {status}: {excerpt}")),
        });
    }
    Ok((body, received_at))
}

/// The margin and positions in one response, sent reliably like balances.
async fn send_account(
    c: &PollingConnector,
    path: &str,
    body: &str,
    received_at: Ts,
    outbox: &mut Outbox,
) -> Result<(), ConnectorError> {
    let mut items = Vec::new();
    c.venue
        .parse_account(path, body, &mut |i| {
            items.push(i.into_obs(c.index, received_at))
        })
        .map_err(|e| {
            c.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
            ConnectorError::unavailable(format!("{path}: {e}"))
        })?;
    for o in items {
        outbox
            .push_reliable(o)
            .await
            .map_err(|_| ConnectorError::PipelineClosed)?;
    }
    Ok(())
}

/// Whether `path` is the path of one of `venue`'s account pages (margin, positions) rather
/// than a balance page: a page id is `path` or `path?query`.
pub fn is_account_path(venue: &dyn PollingVenue, path: &str) -> bool {
    venue
        .account_pages()
        .iter()
        .any(|page| page.split('?').next() == Some(path))
}

fn is_auth_message(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    [
        "key",
        "sign",
        "auth",
        "permission",
        "nonce",
        "timestamp",
        "recvwindow",
    ]
    .iter()
    .any(|w| m.contains(w))
}
