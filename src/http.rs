//! The HTTP side of `run`: a live dashboard (one page, updated over Server-Sent Events from the
//! same records that go to Kafka), `/snapshot`, `/healthz`, `/readyz` and Prometheus
//! `/metrics`. Listens on 127.0.0.1 unless configured otherwise.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use schemas::Record;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

const PAGE: &str = include_str!("dashboard.html");

/// What the dashboard shows: the latest record per key of each kind, as JSON, the open
/// positions, and each venue account's maintenance coverage over the last hour.
#[derive(Default)]
struct Snapshot {
    reference_prices: BTreeMap<String, String>,
    reports: BTreeMap<String, String>,
    feeds: BTreeMap<String, String>,
    venue_margins: BTreeMap<String, String>,
    positions: BTreeMap<String, String>,
    /// The latest margin call, stress and risk record per account.
    margin: BTreeMap<String, String>,
    /// Per venue-margin key: `(received_at, coverage)`, oldest first, the last hour.
    coverage: BTreeMap<String, std::collections::VecDeque<(schemas::Ts, String)>>,
}

/// How far back the coverage chart reaches.
const HISTORY_MS: i64 = 60 * 60 * 1000;
/// At most this many points per venue account (one per 5 s poll over the hour).
const HISTORY_POINTS: usize = 720;

/// Shared between the pipeline (which publishes into it) and the HTTP handlers.
pub struct Dashboard {
    /// Live records for SSE clients. A slow client lags and skips (broadcast drops the oldest
    /// for it), it never slows the pipeline: the dashboard's overflow policy.
    tx: broadcast::Sender<Arc<str>>,
    snapshot: RwLock<Snapshot>,
    metrics: RwLock<String>,
    ready: AtomicBool,
}

impl Dashboard {
    pub fn new() -> Arc<Self> {
        Arc::new(Dashboard {
            tx: broadcast::channel(4096).0,
            snapshot: RwLock::default(),
            metrics: RwLock::default(),
            ready: AtomicBool::new(false),
        })
    }

    /// Takes one record (reference prices, reports and feed statuses; price ticks and balances
    /// are too many for a page and are left to Kafka).
    pub fn observe(&self, r: &Record) {
        let (map, key) = match r {
            Record::ReferencePrice(p) => {
                self.ready.store(true, Ordering::Relaxed);
                ("rp", format!("{}-{}", p.base, p.quote))
            }
            Record::CollateralReport(c) => ("report", c.account.clone()),
            Record::FeedStatus(_) => ("feed", r.key()),
            Record::VenueMargin(_) => ("margin", r.key()),
            Record::Position(_) => ("position", r.key()),
            Record::MarginCall(c) => ("engine", format!("call/{}", c.account)),
            Record::StressReport(c) => ("engine", format!("stress/{}", c.account)),
            Record::CollateralRisk(c) => ("engine", format!("risk/{}", c.account)),
            _ => return,
        };
        let json = r.to_json();
        {
            let mut s = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
            if let Record::VenueMargin(m) = r {
                let h = s.coverage.entry(key.clone()).or_default();
                if let Some(c) = m.maintenance_coverage {
                    h.push_back((m.received_at, c.to_string()));
                }
                let since = m.received_at.plus_millis(-HISTORY_MS);
                while h.front().is_some_and(|(t, _)| *t < since) || h.len() > HISTORY_POINTS {
                    h.pop_front();
                }
            }
            let m = match map {
                "rp" => &mut s.reference_prices,
                "report" => &mut s.reports,
                "margin" => &mut s.venue_margins,
                "position" => &mut s.positions,
                "engine" => &mut s.margin,
                _ => &mut s.feeds,
            };
            match r {
                // A closed position leaves the page (its size-0 record still goes out live).
                Record::Position(p) if p.size.is_zero() => {
                    m.remove(&key);
                }
                _ => {
                    m.insert(key, json.clone());
                }
            }
        }
        let _ = self.tx.send(Arc::from(json));
    }

    pub fn set_metrics(&self, text: String) {
        *self.metrics.write().unwrap_or_else(|e| e.into_inner()) = text;
    }

    fn snapshot_json(&self) -> String {
        let s = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        let list = |m: &BTreeMap<String, String>| {
            format!("[{}]", m.values().cloned().collect::<Vec<_>>().join(","))
        };
        let history: Vec<String> = s
            .coverage
            .iter()
            .map(|(k, h)| {
                let points: Vec<String> =
                    h.iter().map(|(t, c)| format!(r#"["{t}","{c}"]"#)).collect();
                format!(
                    "{}:[{}]",
                    serde_json::Value::String(k.clone()),
                    points.join(",")
                )
            })
            .collect();
        format!(
            r#"{{"reference_prices":{},"reports":{},"feeds":{},"venue_margins":{},"positions":{},"margin":{},"coverage_history":{{{}}}}}"#,
            list(&s.reference_prices),
            list(&s.reports),
            list(&s.feeds),
            list(&s.venue_margins),
            list(&s.positions),
            list(&s.margin),
            history.join(",")
        )
    }
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn snapshot(State(d): State<Arc<Dashboard>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        d.snapshot_json(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready once the first reference price has been published.
async fn readyz(State(d): State<Arc<Dashboard>>) -> Response {
    if d.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "no reference price yet").into_response()
    }
}

async fn metrics(State(d): State<Arc<Dashboard>>) -> Response {
    let text = d.metrics.read().unwrap_or_else(|e| e.into_inner()).clone();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn events(
    State(d): State<Arc<Dashboard>>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let rx = d.tx.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(json) => return Some((Ok(Event::default().data(&*json)), rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Serves the dashboard on `listener` until `cancel`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    dash: Arc<Dashboard>,
    access: Option<Arc<crate::access::Access>>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut app = axum::Router::new()
        .route("/", get(page))
        .route("/snapshot", get(snapshot))
        .route("/events", get(events))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(dash);
    if let Some(access) = access {
        app = app.layer(axum::middleware::from_fn_with_state(
            access,
            crate::access::require,
        ));
    }
    // Not a graceful shutdown: SSE connections never end by themselves, and the dashboard has
    // nothing to flush.
    tokio::select! {
        _ = axum::serve(listener, app) => {}
        _ = cancel.cancelled() => {}
    }
}
