//! The HTTP side of `run`: a live dashboard (one page, updated over Server-Sent Events from the
//! same records that go to Kafka), `/snapshot`, `/healthz`, `/readyz` and Prometheus
//! `/metrics`. Listens on 127.0.0.1 unless configured otherwise.

use crate::summary::Summary;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use connectors::transport::rest::PollStats;
use connectors::transport::ConnectorStats;
use normalizer::core::CoreStats;
use normalizer::publish::KafkaStats;
use schemas::Record;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

const PAGE: &str = include_str!("dashboard.html");

/// What the dashboard shows: the latest record per key of each kind, as JSON.
#[derive(Default)]
struct Snapshot {
    reference_prices: BTreeMap<String, String>,
    reports: BTreeMap<String, String>,
    feeds: BTreeMap<String, String>,
}

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
            _ => return,
        };
        let json = r.to_json();
        {
            let mut s = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
            let m = match map {
                "rp" => &mut s.reference_prices,
                "report" => &mut s.reports,
                _ => &mut s.feeds,
            };
            m.insert(key, json.clone());
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
        format!(
            r#"{{"reference_prices":{},"reports":{},"feeds":{}}}"#,
            list(&s.reference_prices),
            list(&s.reports),
            list(&s.feeds)
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
    cancel: tokio_util::sync::CancellationToken,
) {
    let app = axum::Router::new()
        .route("/", get(page))
        .route("/snapshot", get(snapshot))
        .route("/events", get(events))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(dash);
    // Not a graceful shutdown: SSE connections never end by themselves, and the dashboard has
    // nothing to flush.
    tokio::select! {
        _ = axum::serve(listener, app) => {}
        _ = cancel.cancelled() => {}
    }
}

/// Prometheus text exposition of the pipeline's counters.
pub struct MetricsText(String);

impl MetricsText {
    pub fn new() -> Self {
        MetricsText(String::new())
    }
    /// One metric family with its help line and samples `(labels, value)`.
    pub fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
        use std::fmt::Write;
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(self.0, "{name}{{{labels}}} {v}");
        }
    }
    pub fn finish(self) -> String {
        self.0
    }
}

/// What `/metrics` is made from, once a second.
pub struct MetricsInput<'a> {
    pub stats: &'a [(String, Arc<ConnectorStats>)],
    pub poll: &'a [(String, Arc<PollStats>)],
    pub summary: &'a Summary,
    pub core: &'a CoreStats,
    pub kafka: Option<KafkaStats>,
    pub queue_depth: usize,
}

/// One metric family: its samples, or `None` when the family is not exposed (Kafka's without
/// a Kafka sink).
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: fn(&MetricsInput) -> Option<Samples>,
}

type Samples = Vec<(String, u64)>;

fn per_connector(m: &MetricsInput, f: fn(&ConnectorStats) -> &AtomicU64) -> Option<Samples> {
    Some(
        m.stats
            .iter()
            .map(|(id, s)| (format!("connector=\"{id}\""), f(s).load(Ordering::Relaxed)))
            .collect(),
    )
}

fn per_poller(m: &MetricsInput, f: fn(&PollStats) -> &AtomicU64) -> Option<Samples> {
    Some(
        m.poll
            .iter()
            .map(|(id, s)| (format!("connector=\"{id}\""), f(s).load(Ordering::Relaxed)))
            .collect(),
    )
}

fn one(v: u64) -> Option<Samples> {
    Some(vec![(String::new(), v)])
}

fn kafka(m: &MetricsInput, f: fn(&KafkaStats) -> u64) -> Option<Samples> {
    m.kafka.as_ref().map(|k| vec![(String::new(), f(k))])
}

fn feed_live(m: &MetricsInput) -> Option<Samples> {
    Some(
        m.summary
            .feed_states()
            .map(|(k, live)| {
                let (c, s) = k.split_once('/').unwrap_or((k, ""));
                (format!("connector=\"{c}\",stream=\"{s}\""), u64::from(live))
            })
            .collect(),
    )
}

fn unmapped_holdings(m: &MetricsInput) -> Option<Samples> {
    let label = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    Some(
        m.summary
            .reports()
            .flat_map(|r| {
                r.unmapped.iter().map(move |u| {
                    (
                        format!(
                            "account=\"{}\",source=\"{}\",venue_asset=\"{}\"",
                            r.account,
                            u.source,
                            label(&u.venue_asset)
                        ),
                        1,
                    )
                })
            })
            .collect(),
    )
}

/// Every family `/metrics` exposes, in order. A new metric is one row here.
const FAMILIES: &[Family] = &[
    Family {
        name: "collateral_frames_total",
        kind: "counter",
        help: "Frames received per connector.",
        samples: |m| per_connector(m, |s| &s.frames),
    },
    Family {
        name: "collateral_quotes_total",
        kind: "counter",
        help: "Quotes parsed per connector.",
        samples: |m| per_connector(m, |s| &s.quotes),
    },
    Family {
        name: "collateral_parse_errors_total",
        kind: "counter",
        help: "Frames that did not parse (skipped).",
        samples: |m| per_connector(m, |s| &s.parse_errors),
    },
    Family {
        name: "collateral_reconnects_total",
        kind: "counter",
        help: "Reconnects per connector.",
        samples: |m| per_connector(m, |s| &s.reconnects),
    },
    Family {
        name: "collateral_out_of_order_total",
        kind: "counter",
        help: "Updates dropped as duplicates or out of order.",
        samples: |m| per_connector(m, |s| &s.out_of_order),
    },
    Family {
        name: "collateral_gaps_total",
        kind: "counter",
        help: "Sequence gaps that replaced a connection.",
        samples: |m| per_connector(m, |s| &s.gaps),
    },
    Family {
        name: "collateral_oversized_messages_total",
        kind: "counter",
        help: "WebSocket messages refused for exceeding the size limit (each replaced the connection).",
        samples: |m| per_connector(m, |s| &s.oversized),
    },
    Family {
        name: "collateral_conflated_total",
        kind: "counter",
        help: "Quotes replaced by a newer one while the queue was full.",
        samples: |m| per_connector(m, |s| &s.conflated),
    },
    Family {
        name: "collateral_balance_polls_total",
        kind: "counter",
        help: "Balance polls per connector.",
        samples: |m| per_poller(m, |s| &s.polls),
    },
    Family {
        name: "collateral_balance_http_errors_total",
        kind: "counter",
        help: "Failed balance requests.",
        samples: |m| per_poller(m, |s| &s.http_errors),
    },
    Family {
        name: "collateral_balance_rate_limited_total",
        kind: "counter",
        help: "429/418 answers.",
        samples: |m| per_poller(m, |s| &s.rate_limited),
    },
    Family {
        name: "collateral_feed_live",
        kind: "gauge",
        help: "1 if the stream is LIVE, 0 otherwise (STALE, RECONNECTING, DOWN...).",
        samples: feed_live,
    },
    Family {
        name: "collateral_queue_depth",
        kind: "gauge",
        help: "Observations waiting for the normalizer.",
        samples: |m| one(m.queue_depth as u64),
    },
    Family {
        name: "collateral_unmapped_assets_total",
        kind: "counter",
        help: "Balances whose asset code cannot be mapped (shown in the report, counted 0).",
        samples: |m| one(m.core.unmapped_assets),
    },
    Family {
        name: "collateral_inconsistent_balances_total",
        kind: "counter",
        help: "Balances whose parts did not add up to the total, published reconciled (available never above the venue's own figure).",
        samples: |m| one(m.core.inconsistent_balances),
    },
    Family {
        name: "collateral_unmapped_holdings",
        kind: "gauge",
        help: "Balances shown in a report but not valued: their asset code cannot be mapped (1 per holding).",
        samples: unmapped_holdings,
    },
    Family {
        name: "collateral_kafka_delivered_total",
        kind: "counter",
        help: "Records acknowledged by Kafka.",
        samples: |m| kafka(m, |k| k.delivered),
    },
    Family {
        name: "collateral_kafka_delivery_failures_total",
        kind: "counter",
        help: "Failed deliveries (re-sent, never dropped).",
        samples: |m| kafka(m, |k| k.delivery_failures),
    },
    Family {
        name: "collateral_kafka_spooled_total",
        kind: "counter",
        help: "Loss-free records written to the disk spool while Kafka did not take them.",
        samples: |m| kafka(m, |k| k.spooled),
    },
    Family {
        name: "collateral_kafka_spooled_bytes_total",
        kind: "counter",
        help: "Bytes written to the disk spool.",
        samples: |m| kafka(m, |k| k.spooled_bytes),
    },
    Family {
        name: "collateral_kafka_drained_total",
        kind: "counter",
        help: "Spooled records handed back to Kafka.",
        samples: |m| kafka(m, |k| k.drained),
    },
    Family {
        name: "collateral_kafka_conflated_ticks_total",
        kind: "counter",
        help: "Price ticks replaced by a newer one of the same instrument while Kafka was away.",
        samples: |m| kafka(m, |k| k.conflated_ticks),
    },
    Family {
        name: "collateral_kafka_spool_depth",
        kind: "gauge",
        help: "Spooled records not yet confirmed delivered.",
        samples: |m| kafka(m, |k| k.spool_depth),
    },
    Family {
        name: "collateral_kafka_spool_bytes",
        kind: "gauge",
        help: "Bytes of the spool's files.",
        samples: |m| kafka(m, |k| k.spool_bytes),
    },
];

/// The Prometheus exposition of every counter the pipeline keeps.
pub fn metrics_text(input: &MetricsInput) -> String {
    let mut m = MetricsText::new();
    for f in FAMILIES {
        if let Some(samples) = (f.samples)(input) {
            m.family(f.name, f.kind, f.help, &samples);
        }
    }
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{FeedState, FeedStatus, Ts};

    /// Every family with samples, as `/metrics` serves it (pinned: names, types, help and
    /// labels are what dashboards and alerts query).
    fn input_text(kafka: Option<KafkaStats>) -> String {
        let c = Arc::new(ConnectorStats::default());
        c.frames.store(7, Ordering::Relaxed);
        c.conflated.store(3, Ordering::Relaxed);
        c.oversized.store(1, Ordering::Relaxed);
        let p = Arc::new(PollStats::default());
        p.polls.store(5, Ordering::Relaxed);
        p.rate_limited.store(2, Ordering::Relaxed);
        let stats = vec![
            ("binance-spot".to_owned(), c.clone()),
            ("okx".to_owned(), c),
        ];
        let poll = vec![("fireblocks-main".to_owned(), p)];
        let mut summary = Summary::new(vec!["BTC-USD".into()], stats.clone(), false);
        for (connector, stream, state) in [
            ("binance-spot", "ticker:BTC-USDT", FeedState::Live),
            ("fireblocks-main", "balances", FeedState::Stale),
        ] {
            summary.observe(&Record::FeedStatus(FeedStatus {
                schema: Default::default(),
                connector: connector.into(),
                venue: "v".into(),
                stream: stream.into(),
                state,
                epoch: 1,
                since: Ts::from_millis(0),
                last_data_at: None,
                reason: None,
            }));
        }
        let golden = include_str!("../schemas/tests/golden/collateral_report.json")
            .replace("\"ZZZDUST\",", "\"ZZ\\\\Z\\\"DUST\",");
        let report: schemas::CollateralReport = serde_json::from_str(&golden).unwrap();
        summary.observe(&Record::CollateralReport(report));
        let core = CoreStats {
            unmapped_assets: 4,
            inconsistent_balances: 6,
            ..Default::default()
        };
        let input = MetricsInput {
            stats: &stats,
            poll: &poll,
            summary: &summary,
            core: &core,
            kafka,
            queue_depth: 9,
        };
        metrics_text(&input)
    }

    #[test]
    fn metrics_families_are_pinned() {
        let kafka = KafkaStats {
            delivered: 11,
            spool_bytes: 12,
            ..Default::default()
        };
        // Made by the hand-written list this table replaced, byte for byte.
        assert_eq!(
            input_text(Some(kafka)),
            include_str!("../tests/fixtures/metrics/with_kafka.prom")
        );
        assert_eq!(
            input_text(None),
            include_str!("../tests/fixtures/metrics/without_kafka.prom")
        );
    }
}
