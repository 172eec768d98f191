//! `/metrics`: the Prometheus exposition of the pipeline's counters and gauges, one table
//! ([`FAMILIES`]) that a new metric is one row of.

use crate::summary::Summary;
use connectors::transport::rest::PollStats;
use connectors::transport::ConnectorStats;
use normalizer::core::CoreStats;
use normalizer::publish::KafkaStats;
use rust_decimal::Decimal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Prometheus text exposition of the pipeline's counters.
pub struct MetricsText(String);

impl MetricsText {
    pub fn new() -> Self {
        MetricsText(String::new())
    }
    /// One metric family with its help line and samples `(labels, value)`.
    pub fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, Value)]) {
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

/// A sample's value: a count, or an exact decimal gauge (a coverage), written as Prometheus
/// reads a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Int(u64),
    Dec(Decimal),
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(v)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Dec(d) => write!(f, "{}", d.normalize()),
        }
    }
}

type Samples = Vec<(String, Value)>;

fn per_connector(m: &MetricsInput, f: fn(&ConnectorStats) -> &AtomicU64) -> Option<Samples> {
    Some(
        m.stats
            .iter()
            .map(|(id, s)| {
                (
                    format!("connector=\"{id}\""),
                    f(s).load(Ordering::Relaxed).into(),
                )
            })
            .collect(),
    )
}

fn per_poller(m: &MetricsInput, f: fn(&PollStats) -> &AtomicU64) -> Option<Samples> {
    Some(
        m.poll
            .iter()
            .map(|(id, s)| {
                (
                    format!("connector=\"{id}\""),
                    f(s).load(Ordering::Relaxed).into(),
                )
            })
            .collect(),
    )
}

fn one(v: u64) -> Option<Samples> {
    Some(vec![(String::new(), v.into())])
}

fn kafka(m: &MetricsInput, f: fn(&KafkaStats) -> u64) -> Option<Samples> {
    m.kafka.as_ref().map(|k| vec![(String::new(), f(k).into())])
}

fn feed_live(m: &MetricsInput) -> Option<Samples> {
    Some(
        m.summary
            .feed_states()
            .map(|(k, live)| {
                let (c, s) = k.split_once('/').unwrap_or((k, ""));
                (
                    format!("connector=\"{c}\",stream=\"{s}\""),
                    u64::from(live).into(),
                )
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
                        1.into(),
                    )
                })
            })
            .collect(),
    )
}

/// Per venue account (`account`, `source`, `currency`), `f` of its latest margin record, when
/// it has a figure.
fn per_venue_account(
    m: &MetricsInput,
    f: fn(&schemas::VenueMarginRecord) -> Option<Value>,
) -> Option<Samples> {
    Some(
        m.summary
            .venue_margins()
            .filter_map(|r| {
                let labels = format!(
                    "account=\"{}\",source=\"{}\",currency=\"{}\"",
                    r.account, r.source, r.currency
                );
                Some((labels, f(r)?))
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
        name: "collateral_venue_margin_coverage",
        kind: "gauge",
        help: "Maintenance coverage (equity / maintenance margin, margin.md section 1) per venue account; absent without margin in use.",
        samples: |m| per_venue_account(m, |r| r.maintenance_coverage.map(Value::Dec)),
    },
    Family {
        name: "collateral_venue_margin_status",
        kind: "gauge",
        help: "Venue margin band per venue account: 0 OK, 1 WARN, 2 DANGER, 3 LIQUIDATION.",
        samples: |m| {
            per_venue_account(m, |r| {
                Some(Value::Int(match r.status {
                    schemas::MarginStatus::Ok => 0,
                    schemas::MarginStatus::Warn => 1,
                    schemas::MarginStatus::Danger => 2,
                    schemas::MarginStatus::Liquidation => 3,
                }))
            })
        },
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
    use schemas::{FeedState, FeedStatus, Record, Ts};

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
        let margin = include_str!("../schemas/tests/golden/venue_margin.json");
        let margin: schemas::VenueMarginRecord = serde_json::from_str(margin).unwrap();
        summary.observe(&Record::VenueMargin(margin));
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
        let kafka = || KafkaStats {
            delivered: 11,
            spool_bytes: 12,
            ..Default::default()
        };
        // Made by the hand-written list this table replaced, byte for byte, plus the families
        // added since. `UPDATE_GOLDEN=1` rewrites them (review the diff).
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/");
            std::fs::write(format!("{dir}with_kafka.prom"), input_text(Some(kafka()))).unwrap();
            std::fs::write(format!("{dir}without_kafka.prom"), input_text(None)).unwrap();
        }
        assert_eq!(
            input_text(Some(kafka())),
            include_str!("../tests/fixtures/metrics/with_kafka.prom")
        );
        assert_eq!(
            input_text(None),
            include_str!("../tests/fixtures/metrics/without_kafka.prom")
        );
    }
}
