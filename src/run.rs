//! `run`: simulators (if asked), connectors, the normalizer loop and the sinks, with ordered
//! shutdown: connectors stop first, the normalizer drains what they sent, the sinks flush.

use crate::config::Config;
use crate::plan::Plan;
use crate::summary::Summary;
use crate::RunArgs;
use anyhow::Context;
use connectors::outbox::{self, Outbox};
use connectors::polling::{run_polling, PollingConnector};
use connectors::sim::{SimHandle, SimOptions};
use connectors::transport::{run_streaming, ConnectorStats, StreamingConnector};
use normalizer::core::{Normalizer, QuoteUpdate};
use normalizer::publish::{JsonlSink, KafkaSettings, KafkaSink, Publisher};
use schemas::{Observation, Record, Ts};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The Kafka sink's settings: the `[kafka]` section (or its defaults, with `--kafka` alone),
/// `--kafka` replacing its brokers; `None` without either.
fn kafka_settings(
    cfg: &Config,
    brokers_flag: Option<&str>,
) -> anyhow::Result<Option<KafkaSettings>> {
    Ok(match (&cfg.kafka, brokers_flag) {
        (Some(k), Some(b)) => Some(KafkaSettings {
            brokers: b.to_owned(),
            ..k.clone()
        }),
        (Some(k), None) => Some(k.clone()),
        (None, Some(b)) => Some(KafkaSettings::new(b)),
        (None, None) => None,
    })
}

/// The Prometheus exposition of every counter the pipeline keeps.
fn metrics_text(
    stats: &[(String, Arc<ConnectorStats>)],
    poll: &[(String, Arc<connectors::polling::PollStats>)],
    summary: &Summary,
    core: &normalizer::core::CoreStats,
    kafka: Option<normalizer::publish::KafkaStats>,
    queue_depth: usize,
) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let mut m = crate::http::MetricsText::new();
    let per = |f: &dyn Fn(&ConnectorStats) -> u64| -> Vec<(String, u64)> {
        stats
            .iter()
            .map(|(id, s)| (format!("connector=\"{id}\""), f(s)))
            .collect()
    };
    m.family(
        "collateral_frames_total",
        "counter",
        "Frames received per connector.",
        &per(&|s| s.frames.load(Relaxed)),
    );
    m.family(
        "collateral_quotes_total",
        "counter",
        "Quotes parsed per connector.",
        &per(&|s| s.quotes.load(Relaxed)),
    );
    m.family(
        "collateral_parse_errors_total",
        "counter",
        "Frames that did not parse (skipped).",
        &per(&|s| s.parse_errors.load(Relaxed)),
    );
    m.family(
        "collateral_reconnects_total",
        "counter",
        "Reconnects per connector.",
        &per(&|s| s.reconnects.load(Relaxed)),
    );
    m.family(
        "collateral_out_of_order_total",
        "counter",
        "Updates dropped as duplicates or out of order.",
        &per(&|s| s.out_of_order.load(Relaxed)),
    );
    m.family(
        "collateral_gaps_total",
        "counter",
        "Sequence gaps that replaced a connection.",
        &per(&|s| s.gaps.load(Relaxed)),
    );
    m.family(
        "collateral_oversized_messages_total",
        "counter",
        "WebSocket messages refused for exceeding the size limit (each replaced the connection).",
        &per(&|s| s.oversized.load(Relaxed)),
    );
    m.family(
        "collateral_conflated_total",
        "counter",
        "Quotes replaced by a newer one while the queue was full.",
        &per(&|s| s.conflated.load(Relaxed)),
    );
    let pper = |f: &dyn Fn(&connectors::polling::PollStats) -> u64| -> Vec<(String, u64)> {
        poll.iter()
            .map(|(id, s)| (format!("connector=\"{id}\""), f(s)))
            .collect()
    };
    m.family(
        "collateral_balance_polls_total",
        "counter",
        "Balance polls per connector.",
        &pper(&|s| s.polls.load(Relaxed)),
    );
    m.family(
        "collateral_balance_http_errors_total",
        "counter",
        "Failed balance requests.",
        &pper(&|s| s.http_errors.load(Relaxed)),
    );
    m.family(
        "collateral_balance_rate_limited_total",
        "counter",
        "429/418 answers.",
        &pper(&|s| s.rate_limited.load(Relaxed)),
    );
    m.family(
        "collateral_feed_live",
        "gauge",
        "1 if the stream is LIVE, 0 otherwise (STALE, RECONNECTING, DOWN...).",
        &summary
            .feed_states()
            .map(|(k, live)| {
                let (c, s) = k.split_once('/').unwrap_or((k, ""));
                (format!("connector=\"{c}\",stream=\"{s}\""), u64::from(live))
            })
            .collect::<Vec<_>>(),
    );
    m.family(
        "collateral_queue_depth",
        "gauge",
        "Observations waiting for the normalizer.",
        &[(String::new(), queue_depth as u64)],
    );
    m.family(
        "collateral_unmapped_assets_total",
        "counter",
        "Balances whose asset code cannot be mapped (shown in the report, counted 0).",
        &[(String::new(), core.unmapped_assets)],
    );
    m.family(
        "collateral_inconsistent_balances_total",
        "counter",
        "Balances whose parts did not add up to the total, published reconciled (available never above the venue's own figure).",
        &[(String::new(), core.inconsistent_balances)],
    );
    let label = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    let unmapped: Vec<(String, u64)> = summary
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
        .collect();
    m.family(
        "collateral_unmapped_holdings",
        "gauge",
        "Balances shown in a report but not valued: their asset code cannot be mapped (1 per holding).",
        &unmapped,
    );
    if let Some(k) = kafka {
        m.family(
            "collateral_kafka_delivered_total",
            "counter",
            "Records acknowledged by Kafka.",
            &[(String::new(), k.delivered)],
        );
        m.family(
            "collateral_kafka_delivery_failures_total",
            "counter",
            "Failed deliveries (re-sent, never dropped).",
            &[(String::new(), k.delivery_failures)],
        );
        m.family(
            "collateral_kafka_spooled_total",
            "counter",
            "Loss-free records written to the disk spool while Kafka did not take them.",
            &[(String::new(), k.spooled)],
        );
        m.family(
            "collateral_kafka_spooled_bytes_total",
            "counter",
            "Bytes written to the disk spool.",
            &[(String::new(), k.spooled_bytes)],
        );
        m.family(
            "collateral_kafka_drained_total",
            "counter",
            "Spooled records handed back to Kafka.",
            &[(String::new(), k.drained)],
        );
        m.family(
            "collateral_kafka_conflated_ticks_total",
            "counter",
            "Price ticks replaced by a newer one of the same instrument while Kafka was away.",
            &[(String::new(), k.conflated_ticks)],
        );
        m.family(
            "collateral_kafka_spool_depth",
            "gauge",
            "Spooled records not yet confirmed delivered.",
            &[(String::new(), k.spool_depth)],
        );
        m.family(
            "collateral_kafka_spool_bytes",
            "gauge",
            "Bytes of the spool's files.",
            &[(String::new(), k.spool_bytes)],
        );
    }
    m.finish()
}

/// The process's peak resident set (`VmHWM` of /proc/self/status, Linux).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
}

/// When a quote or balance was read: the as-of cut it belongs to (statuses have none).
fn received_at(o: &Observation) -> Option<Ts> {
    match o {
        Observation::Quote(q) => Some(q.received_at),
        Observation::Balance(b) => Some(b.received_at),
        Observation::Status(_) => None,
    }
}

/// What waits for the next cut to be computed before it reaches the normalizer's state.
enum Held {
    /// A quote whose price tick is already published: only its reference-state update waits.
    Quote(QuoteUpdate),
    /// A balance (its record, valuation and report wait together).
    Obs(Observation),
}

impl Held {
    fn received_at(&self) -> Option<Ts> {
        match self {
            Held::Quote(u) => Some(u.received_at()),
            Held::Obs(o) => received_at(o),
        }
    }

    fn apply(self, n: &mut Normalizer, out: &mut Vec<Record>) {
        match self {
            Held::Quote(u) => n.apply_quote_state(u),
            Held::Obs(o) => n.apply(o, out),
        }
    }
}

/// What the run loop hands the reference thread, in arrival order.
enum ToReference {
    /// A quote's reference-state update (its price tick is already published).
    Quote(QuoteUpdate),
    /// A balance: record, valuation and report are made there, at the right cut.
    Balance(Observation),
    /// A margin requirement from Kafka.
    Requirement(String, rust_decimal::Decimal),
}

/// Records the reference thread made (reference prices, collateral reports, balances), for the
/// run loop to publish in this order.
struct FromReference {
    records: Vec<Record>,
    stats: normalizer::core::CoreStats,
    /// How long computing the cuts of one clock check took (`--latency`).
    busy: Option<Duration>,
}

/// The reference thread: the normalizer's state, the cuts and the valuations, off the run loop
/// so that computing a cut (milliseconds with a hundred pairs) never delays a price tick.
/// As-of semantics: what is received after the next cut reaches the state only once that cut
/// is computed (`grace` after it on the wall clock, checked every 20 ms), exactly as replay
/// orders it, and to keep arrival order so does everything behind it. Ends when the run loop
/// drops its sender: what is still held goes in, without further cuts.
fn reference_thread(
    mut normalizer: Normalizer,
    rx: std::sync::mpsc::Receiver<ToReference>,
    tx: tokio::sync::mpsc::UnboundedSender<FromReference>,
    cadence_ms: i64,
    grace: Duration,
) {
    use std::sync::mpsc::TryRecvError;
    use std::time::Instant;
    const CLOCK: Duration = Duration::from_millis(20);
    // The thread polls its channel rather than sleeping in `recv`: a blocked receiver costs the
    // run loop a futex wake per quote, a poll every millisecond costs nothing per quote and
    // delays a state update by at most that (the cut waits `grace`, 100 ms by default).
    const POLL: Duration = Duration::from_millis(1);
    let mut held: VecDeque<Held> = VecDeque::new();
    let mut records = Vec::new();
    let mut next_check = Instant::now() + CLOCK;
    loop {
        let mut busy = None;
        match rx.try_recv() {
            Ok(ToReference::Requirement(account, requirement)) => {
                normalizer.set_requirement(&account, requirement);
            }
            Ok(msg) => {
                let item = match msg {
                    ToReference::Quote(u) => Held::Quote(u),
                    ToReference::Balance(o) => Held::Obs(o),
                    ToReference::Requirement(..) => unreachable!("handled above"),
                };
                let after_cut = matches!((item.received_at(), normalizer.next_tick()), (Some(r), Some(t)) if r > t);
                if after_cut || !held.is_empty() {
                    held.push_back(item);
                } else {
                    item.apply(&mut normalizer, &mut records);
                }
            }
            Err(TryRecvError::Empty) => {
                std::thread::sleep(POLL.min(next_check.saturating_duration_since(Instant::now())));
            }
            Err(TryRecvError::Disconnected) => {
                for h in held.drain(..) {
                    h.apply(&mut normalizer, &mut records);
                }
                let _ = tx.send(FromReference {
                    records,
                    stats: normalizer.stats().clone(),
                    busy: None,
                });
                return;
            }
        }
        let now_instant = Instant::now();
        if now_instant >= next_check {
            next_check = now_instant + CLOCK;
            let now = Ts::now();
            let started = Instant::now();
            let mut ran = false;
            while let Some(t) = normalizer.next_tick() {
                if now.micros() < t.micros() + grace.as_micros() as i64 {
                    break;
                }
                ran = true;
                normalizer.run_ticks_until(t, &mut records);
                let next = t.plus_millis(cadence_ms);
                while let Some(h) = held.front() {
                    let due = !matches!(h.received_at(), Some(r) if r > next);
                    if !due {
                        break;
                    }
                    let h = held.pop_front().expect("front exists");
                    h.apply(&mut normalizer, &mut records);
                }
            }
            if ran {
                busy = Some(started.elapsed());
            }
        }
        if !records.is_empty() || busy.is_some() {
            let batch = FromReference {
                records: std::mem::take(&mut records),
                stats: normalizer.stats().clone(),
                busy,
            };
            if tx.send(batch).is_err() {
                return; // the run loop is gone
            }
        }
    }
}

/// Waits for SIGTERM or SIGINT (Ctrl-C); returns its name and the exit code a second one
/// means (128 + the signal number, as shells report a death by signal).
async fn shutdown_signal() -> (&'static str, i32) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = int.recv() => ("SIGINT", 130),
            _ = term.recv() => ("SIGTERM", 143),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        ("Ctrl-C", 130)
    }
}

/// Watches for shutdown signals from the start: the first cancels `stop` (a graceful
/// shutdown), a second exits the process at once, without flushing. A task of its own, so a
/// second signal works even while the pipeline is busy flushing.
fn spawn_signal_watcher(stop: CancellationToken) {
    tokio::spawn(async move {
        let (first, _) = shutdown_signal().await;
        tracing::info!(signal = first, "stopping");
        eprintln!("{first}: stopping (flushing sinks; a second signal exits at once)");
        stop.cancel();
        let (second, code) = shutdown_signal().await;
        eprintln!("{second} again: exiting at once without flushing (exit {code})");
        std::process::exit(code);
    });
}

/// Runs the pipeline; `credentials[i]` are connector i's, loaded before anything starts.
pub async fn run(
    cfg: Config,
    plan: Plan,
    credentials: Vec<Option<connectors::auth::Credentials>>,
    args: RunArgs,
) -> anyhow::Result<()> {
    let Plan {
        connectors: planned,
        mut normalizer,
        pairs,
    } = plan;

    // Signals are handled from here on (also while Kafka is being reached).
    let stop = CancellationToken::new();
    spawn_signal_watcher(stop.clone());

    // Sinks first: a Kafka that cannot be reached fails the start, before any venue is opened.
    let mut publisher = Publisher::new();
    let jsonl_stdout = args.jsonl.as_deref() == Some("-");
    if let Some(path) = &args.jsonl {
        publisher.add_jsonl(JsonlSink::open(path).with_context(|| format!("--jsonl {path}"))?);
    }
    // Margin requirements may also arrive on Kafka; they override the configured ones.
    let (req_tx, mut req_rx) = tokio::sync::mpsc::channel(1024);
    let mut req_task = None;
    if let Some(settings) = kafka_settings(&cfg, args.kafka.as_deref())? {
        let sink = KafkaSink::connect(&settings)
            .await
            .with_context(|| format!("kafka at {}", settings.brokers))?;
        publisher.add_kafka(sink);
        match normalizer::publish::requirements::spawn_requirements_consumer(&settings, req_tx) {
            Ok(task) => req_task = Some(task),
            Err(e) => tracing::warn!(error = %e, "margin requirements topic not consumed"),
        }
    } else {
        drop(req_tx);
    }

    let (capture_tx, capture_task) = match &args.record {
        Some(p) => {
            let (tx, task) = connectors::capture::spawn_writer(p)
                .with_context(|| format!("--record {}", p.display()))?;
            (Some(tx), Some(task))
        }
        None => (None, None),
    };

    let root = CancellationToken::new();
    let connectors_token = root.child_token();
    let tracker = TaskTracker::new();
    let (tx, mut rx) = outbox::channel(cfg.runtime.channel_capacity);
    let mut sims: Vec<SimHandle> = Vec::new();
    let mut stats: Vec<(String, Arc<ConnectorStats>)> = Vec::new();
    let mut poll_stats: Vec<(String, Arc<connectors::polling::PollStats>)> = Vec::new();
    let mut credentials = credentials.into_iter();
    for (i, pc) in planned.into_iter().enumerate() {
        let c = &pc.config;
        let creds = credentials.next().flatten();
        if let Some(poller) = pc.polling {
            // On a simulator with no credentials configured, both sides use the venue's demo
            // credentials; with credentials configured, the simulator accepts exactly those.
            let creds = match creds {
                Some(cr) if !crate::secrets::is_empty(&cr) => cr,
                _ => poller.demo_credentials(),
            };
            let mut rest_url = c.rest_url.clone();
            if c.sim {
                let sim = poller.start_sim(creds.clone()).await.with_context(|| {
                    format!("starting the {} REST simulator for {}", poller.kind(), c.id)
                })?;
                rest_url = sim.rest_url.clone();
                sims.push(sim);
            }
            // Where the venue streams balance changes privately, that stream runs beside the
            // poller; REST stays the periodic truth that reconciles it.
            if let Some(stream) = connectors::registry::balance_stream(poller.kind()) {
                // `ws_url` belongs to the price stream where the kind has one (`binance`,
                // `okx`): pointing the private stream at a market-data endpoint would fail.
                let mut ws_url = c.balance_ws_url.clone().or_else(|| {
                    connectors::registry::streaming(&c.kind)
                        .is_none()
                        .then(|| c.ws_url.clone())
                        .flatten()
                });
                // A session token (Kraken) is fetched from the poller's REST API.
                let mut stream_rest_url = rest_url.clone();
                if c.sim {
                    let sim = stream.start_sim(creds.clone()).await.with_context(|| {
                        format!(
                            "starting the {} balance-stream simulator for {}",
                            poller.kind(),
                            c.id
                        )
                    })?;
                    ws_url = Some(sim.ws_url.clone());
                    if sim.rest_url.is_some() {
                        stream_rest_url = sim.rest_url.clone();
                    }
                    sims.push(sim);
                }
                let bsc = connectors::balance_stream::BalanceStreamConnector {
                    id: c.id.clone(),
                    index: i as u32,
                    venue: stream,
                    ws_url,
                    creds: creds.clone(),
                    rest_url: stream_rest_url,
                    capture: capture_tx.clone(),
                };
                tracker.spawn(connectors::balance_stream::run_balance_stream(
                    bsc,
                    Outbox::new(tx.clone(), Arc::default()),
                    connectors_token.clone(),
                ));
            }
            let interval = Duration::from_millis(c.balance_interval_ms.unwrap_or(10_000));
            let mut pcn = PollingConnector::new(
                &c.id,
                i as u32,
                poller,
                rest_url.as_deref(),
                creds,
                interval,
            );
            pcn.capture = capture_tx.clone();
            poll_stats.push((c.id.clone(), pcn.stats.clone()));
            let ob = Outbox::new(tx.clone(), Arc::default());
            tracker.spawn(run_polling(pcn, ob, connectors_token.clone()));
        }
        let Some(venue) = pc.venue else {
            continue; // balances-only connector: no price stream to open
        };
        let mut ws_url = c.ws_url.clone();
        if c.sim {
            let sim = venue
                .start_sim(SimOptions {
                    faults: c.sim_faults.clone().unwrap_or_default(),
                    frames_per_s: args.sim_frames_per_s.unwrap_or(0),
                    ..Default::default()
                })
                .await
                .with_context(|| format!("starting the {} simulator for {}", venue.kind(), c.id))?;
            ws_url = Some(sim.ws_url.clone());
            sims.push(sim);
        }
        let mut sc = StreamingConnector::new(&c.id, i as u32, venue, ws_url.as_deref(), pc.table);
        if let Some(ms) = c.stale_after_ms {
            sc.stale_after = Duration::from_millis(ms);
            sc.reconnect_after = sc.stale_after * 2;
        }
        sc.capture = capture_tx.clone();
        stats.push((c.id.clone(), sc.stats.clone()));
        let ob = Outbox::new(tx.clone(), sc.stats.conflated.clone());
        tracker.spawn(run_streaming(sc, ob, connectors_token.clone()));
    }
    drop(tx);
    drop(capture_tx);
    tracker.close();
    tracing::info!(
        connectors = stats.len(),
        pairs = pairs.len(),
        "pipeline started"
    );

    // The dashboard is a convenience: if its port is taken the pipeline runs without it.
    let dash = crate::http::Dashboard::new();
    // Without a page to serve, the run loop skips the dashboard's per-record JSON.
    let mut dash_served = false;
    if cfg.dashboard.enabled && !args.no_dashboard {
        let addr = args
            .dashboard
            .clone()
            .unwrap_or_else(|| cfg.dashboard.address.clone());
        match tokio::net::TcpListener::bind(&addr).await {
            Ok(listener) => {
                let shown = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
                eprintln!("dashboard: http://{shown}/");
                dash_served = true;
                tokio::spawn(crate::http::serve(
                    listener,
                    dash.clone(),
                    root.child_token(),
                ));
            }
            Err(e) => tracing::warn!(address = %addr, error = %e, "dashboard not served"),
        }
    }
    let mut metrics_tick = tokio::time::interval(Duration::from_secs(1));
    let summary_every = (!args.no_summary && cfg.runtime.summary_interval_ms > 0)
        .then(|| Duration::from_millis(cfg.runtime.summary_interval_ms));
    let mut summary = Summary::new(pairs, stats.clone(), jsonl_stdout);

    let cadence = cfg.reference.cadence_ms as i64;
    let grace = Duration::from_millis(cfg.runtime.tick_grace_ms);
    normalizer.start_clock(Ts::now());
    // Price ticks are made here; the reference state lives on its own thread. Forward: bounded,
    // backpressure (state updates are never dropped: live must compute what replay computes).
    // Back: one batch per clock check with cuts and per balance at most, so never more than
    // the forward capacity plus the cuts of the moment are outstanding (policy: bounded by
    // construction, never dropped). A capacity on it would deadlock: the loop can block in the
    // forward send while the thread would block here, each waiting for the other to drain.
    let mut recorder = normalizer.quote_recorder();
    let mut front_stats = normalizer::core::CoreStats::default();
    let mut core_stats = normalizer.stats().clone();
    let (to_ref, ref_rx) = std::sync::mpsc::sync_channel(cfg.runtime.channel_capacity);
    let (ref_tx, mut from_ref) = tokio::sync::mpsc::unbounded_channel();
    let reference = std::thread::Builder::new()
        .name("reference".into())
        .spawn(move || reference_thread(normalizer, ref_rx, ref_tx, cadence, grace))
        .context("starting the reference thread")?;
    let mut records: Vec<Record> = Vec::new();
    let mut summary_tick =
        tokio::time::interval(summary_every.unwrap_or(Duration::from_secs(3600)));
    let deadline = async {
        match args.seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut stopping = false;
    let mut publish_error = None;
    // The reference thread ended before the loop (it only does so by panicking): no reference
    // price or report would come any more, so the run stops and fails rather than serve stale.
    let mut reference_gone = false;
    // Frame read -> price tick handed to the producer, in microseconds (`--latency`).
    let mut latency = args.latency.then(|| {
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
    });

    // How long the reference thread takes for the cuts of one clock check (`--latency`).
    let mut tick_busy = args.latency.then(|| {
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
    });
    // Observations still queued behind each one taken (`--latency`): the channel's backlog.
    let mut queue_depth = args.latency.then(|| {
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1 << 24, 3).expect("valid bounds")
    });
    loop {
        tokio::select! {
            _ = stop.cancelled(), if !stopping => {
                stopping = true;
                connectors_token.cancel();
            }
            _ = &mut deadline, if !stopping => {
                stopping = true;
                connectors_token.cancel();
            }
            Some(req) = req_rx.recv() => {
                tracing::info!(account = %req.account, requirement = %req.requirement, "margin requirement from Kafka");
                reference_gone |= to_ref.send(ToReference::Requirement(req.account, req.requirement)).is_err();
            }
            obs = rx.recv() => match obs {
                Some(o) => {
                    if let Some(h) = queue_depth.as_mut() {
                        h.saturating_record(rx.len() as u64);
                    }
                    match o {
                        // The price tick now, the state update in arrival order behind it.
                        Observation::Quote(q) => {
                            if let Some((tick, update)) = recorder.record(q, &mut front_stats) {
                                records.push(Record::PriceTick(tick));
                                reference_gone |= to_ref.send(ToReference::Quote(update)).is_err();
                            }
                        }
                        // A stream's state change touches no state a cut reads.
                        Observation::Status(s) => records.push(Record::FeedStatus(s)),
                        b @ Observation::Balance(_) => {
                            reference_gone |= to_ref.send(ToReference::Balance(b)).is_err();
                        }
                    }
                }
                None => break, // every connector has stopped and the channel is drained
            },
            Some(batch) = from_ref.recv() => {
                records.extend(batch.records);
                core_stats = batch.stats;
                if let (Some(h), Some(b)) = (tick_busy.as_mut(), batch.busy) {
                    h.saturating_record(b.as_micros().max(1) as u64);
                }
            }
            _ = summary_tick.tick(), if summary_every.is_some() => summary.print(),
            _ = metrics_tick.tick() => {
                dash.set_metrics(metrics_text(&stats, &poll_stats, &summary, &core_stats, publisher.kafka_stats(), rx.len()));
            }
        }
        for r in records.drain(..) {
            summary.observe(&r);
            if dash_served {
                dash.observe(&r);
            }
            if let Err(e) = publisher.publish(&r).await {
                tracing::error!(error = %e, "publishing failed");
                publish_error = Some(e);
                break;
            }
            if let (Some(h), Record::PriceTick(t)) = (latency.as_mut(), &r) {
                h.saturating_record((Ts::now().micros() - t.received_at.micros()).max(1) as u64);
            }
        }
        if publish_error.is_some() || reference_gone {
            connectors_token.cancel();
            break;
        }
    }

    // Drain: what the reference thread still holds goes in, then the sinks flush within the
    // grace period.
    drop(to_ref);
    if reference.join().is_err() {
        tracing::error!("the reference thread panicked");
    }
    while let Ok(batch) = from_ref.try_recv() {
        records.extend(batch.records);
    }
    for r in records.drain(..) {
        summary.observe(&r);
        let _ = publisher.publish(&r).await;
    }
    // One grace period for the whole shutdown; whatever the steps before leave is the sinks'.
    let grace_total = Duration::from_millis(cfg.runtime.shutdown_grace_ms);
    let shutdown_deadline = tokio::time::Instant::now() + grace_total;
    let left = || shutdown_deadline.saturating_duration_since(tokio::time::Instant::now());
    if tokio::time::timeout(left(), tracker.wait()).await.is_err() {
        tracing::warn!("connectors did not stop within the grace period");
    }
    root.cancel();
    if let Some(task) = capture_task {
        match tokio::time::timeout(left(), task).await {
            Ok(Ok(Ok(n))) => tracing::info!(frames = n, "capture written"),
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "capture write failed"),
            _ => tracing::warn!("capture writer did not finish in time"),
        }
    }
    let closed = publisher.close(left()).await;
    if let Some(k) = publisher.kafka_stats() {
        eprintln!(
            "kafka: {} delivered; spooled {} ({} bytes), drained {}, max spool depth {}, left in spool {}, conflated ticks {}",
            k.delivered,
            k.spooled,
            k.spooled_bytes,
            k.drained,
            k.spool_max_depth,
            k.spool_depth,
            k.conflated_ticks
        );
    }
    closed.context("flushing sinks")?;
    if summary_every.is_some() {
        summary.print();
    }
    if let Some(h) = latency {
        let conflated: u64 = stats
            .iter()
            .map(|(_, s)| ConnectorStats::get(&s.conflated))
            .sum();
        let frames: u64 = stats
            .iter()
            .map(|(_, s)| ConnectorStats::get(&s.frames))
            .sum();
        eprintln!(
            "latency read->producer: {} price ticks of {frames} frames ({conflated} conflated): p50 {} us, p99 {} us, p999 {} us, max {} us; peak RSS {}",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            peak_rss().unwrap_or_else(|| "unknown".into())
        );
        if let Some(q) = queue_depth.filter(|q| !q.is_empty()) {
            eprintln!(
                "latency queue: observations waiting behind each one read: p50 {}, p99 {}, p999 {}, max {} (capacity {})",
                q.value_at_quantile(0.5),
                q.value_at_quantile(0.99),
                q.value_at_quantile(0.999),
                q.max(),
                cfg.runtime.channel_capacity
            );
        }
        if let Some(b) = tick_busy.filter(|b| !b.is_empty()) {
            eprintln!(
                "latency cuts: {} clock ticks computed: busy p50 {} us, p99 {} us, max {} us",
                b.len(),
                b.value_at_quantile(0.5),
                b.value_at_quantile(0.99),
                b.max()
            );
        }
    }
    drop(sims);
    if let Some(t) = req_task {
        t.abort();
    }
    if let Some(e) = publish_error {
        return Err(anyhow::anyhow!("publishing failed: {e}"));
    }
    if reference_gone {
        return Err(anyhow::anyhow!(
            "the reference thread stopped (see the log): reference prices and reports ended"
        ));
    }
    Ok(())
}
