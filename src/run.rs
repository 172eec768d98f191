//! `run`: wiring. Simulators (if asked), connectors, the live driver (`normalizer::driver`)
//! and the sinks, with ordered shutdown: connectors stop first, the driver drains what they
//! sent, the sinks flush. No observation or record is handled here but through [`Console`],
//! the driver's tap (summary, dashboard, metrics, latency).

use crate::config::Config;
use crate::plan::Plan;
use crate::summary::Summary;
use crate::RunArgs;
use anyhow::Context;
use connectors::capture::CaptureTx;
use connectors::outbox::{self, Outbox};
use connectors::sim::{SimHandle, SimOptions};
use connectors::transport::rest::PollStats;
use connectors::transport::rest::{run_polling, PollingConnector};
use connectors::transport::{run_streaming, ConnectorStats, StreamingConnector};
use normalizer::driver::{run_live, LiveError, LiveParams, LiveView, Tap};
use normalizer::publish::{JsonlSink, KafkaSettings, KafkaSink, Publisher};
use schemas::{Observation, Record, Ts};
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

/// The process's peak resident set (`VmHWM` of /proc/self/status, Linux).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
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

/// The connectors started: their channel's receiving end and what the process shows of them.
struct Started {
    rx: tokio::sync::mpsc::Receiver<Observation>,
    sims: Vec<SimHandle>,
    stats: Vec<(String, Arc<ConnectorStats>)>,
    poll_stats: Vec<(String, Arc<PollStats>)>,
}

/// Starts every planned connector (and its simulators where `sim = true`) on `tracker`.
async fn start_connectors(
    planned: Vec<crate::plan::PlannedConnector>,
    credentials: Vec<Option<connectors::auth::Credentials>>,
    capacity: usize,
    args: &RunArgs,
    capture_tx: Option<CaptureTx>,
    tracker: &TaskTracker,
    connectors_token: &CancellationToken,
) -> anyhow::Result<Started> {
    let (tx, rx) = outbox::channel(capacity);
    let mut sims: Vec<SimHandle> = Vec::new();
    let mut stats: Vec<(String, Arc<ConnectorStats>)> = Vec::new();
    let mut poll_stats: Vec<(String, Arc<PollStats>)> = Vec::new();
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
                let bsc = connectors::transport::private_ws::BalanceStreamConnector {
                    id: c.id.clone(),
                    index: i as u32,
                    venue: stream,
                    ws_url,
                    creds: creds.clone(),
                    rest_url: stream_rest_url
                        .unwrap_or_else(|| poller.default_rest_url().to_owned()),
                    capture: capture_tx.clone(),
                };
                tracker.spawn(connectors::transport::private_ws::run_balance_stream(
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
    Ok(Started {
        rx,
        sims,
        stats,
        poll_stats,
    })
}

fn histogram(high: u64) -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::<u64>::new_with_bounds(1, high, 3).expect("valid bounds")
}

/// `--latency`'s histograms.
struct Latency {
    /// Frame read -> price tick handed to the producer, in microseconds.
    read_to_producer: hdrhistogram::Histogram<u64>,
    /// How long the reference thread takes for the cuts of one clock check.
    tick_busy: hdrhistogram::Histogram<u64>,
    /// Observations still queued behind each one taken: the channel's backlog.
    queue_depth: hdrhistogram::Histogram<u64>,
}

/// Which of the console's timers fired.
#[derive(Clone, Copy)]
enum Due {
    Metrics,
    Summary,
}

/// The driver's tap: the console summary, the dashboard, `/metrics` and `--latency`.
struct Console {
    summary: Summary,
    dash: Arc<crate::http::Dashboard>,
    /// Without a page to serve, the dashboard's per-record JSON is skipped.
    dash_served: bool,
    stats: Vec<(String, Arc<ConnectorStats>)>,
    poll_stats: Vec<(String, Arc<PollStats>)>,
    metrics_tick: tokio::time::Interval,
    summary_tick: tokio::time::Interval,
    summary_every: Option<Duration>,
    due: Due,
    latency: Option<Latency>,
    /// Cancelled when the driver gives up early.
    connectors_token: CancellationToken,
    /// The day's statements at 00:00 UTC (with an audit log and `[statements] dir`).
    midnight: Option<crate::statement::Midnight>,
}

impl Tap for Console {
    fn record(&mut self, r: &Record) {
        if let (Some(m), Record::CollateralReport(c)) = (self.midnight.as_mut(), r) {
            if let Some(day) = m.on_report(c.calc_time) {
                m.spawn(day);
            }
        }
        self.summary.observe(r);
        if self.dash_served {
            self.dash.observe(r);
        }
    }

    fn published(&mut self, r: &Record) {
        if let (Some(l), Record::PriceTick(t)) = (self.latency.as_mut(), r) {
            let us = (Ts::now().micros() - t.received_at.micros()).max(1) as u64;
            l.read_to_producer.saturating_record(us);
        }
    }

    fn taken(&mut self, queued: usize) {
        if let Some(l) = self.latency.as_mut() {
            l.queue_depth.saturating_record(queued as u64);
        }
    }

    fn cuts(&mut self, busy: Duration) {
        if let Some(l) = self.latency.as_mut() {
            l.tick_busy
                .saturating_record(busy.as_micros().max(1) as u64);
        }
    }

    async fn wait(&mut self) {
        self.due = tokio::select! {
            _ = self.summary_tick.tick(), if self.summary_every.is_some() => Due::Summary,
            _ = self.metrics_tick.tick() => Due::Metrics,
        };
    }

    fn look(&mut self, view: LiveView<'_>) {
        match self.due {
            Due::Summary => self.summary.print(),
            Due::Metrics => self.dash.set_metrics(crate::metrics::metrics_text(
                &crate::metrics::MetricsInput {
                    stats: &self.stats,
                    poll: &self.poll_stats,
                    summary: &self.summary,
                    core: view.stats,
                    kafka: view.kafka,
                    queue_depth: view.queued,
                },
            )),
        }
    }

    fn abort(&mut self) {
        self.connectors_token.cancel();
    }
}

/// Serves the dashboard if enabled; whether it is served. A convenience: if its port is
/// taken the pipeline runs without it.
async fn serve_dashboard(
    cfg: &Config,
    args: &RunArgs,
    dash: &Arc<crate::http::Dashboard>,
    access: Option<Arc<crate::access::Access>>,
    cancel: CancellationToken,
) -> bool {
    if !cfg.dashboard.enabled || args.no_dashboard {
        return false;
    }
    let addr = args
        .dashboard
        .clone()
        .unwrap_or_else(|| cfg.dashboard.address.clone());
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => {
            let shown = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
            eprintln!("dashboard: http://{shown}/");
            tokio::spawn(crate::http::serve(listener, dash.clone(), access, cancel));
            true
        }
        Err(e) => {
            tracing::warn!(address = %addr, error = %e, "dashboard not served");
            false
        }
    }
}

/// Runs the pipeline; `credentials[i]` are connector i's, loaded before anything starts.
pub async fn run(
    cfg: Config,
    plan: Plan,
    credentials: Vec<Option<connectors::auth::Credentials>>,
    access: Option<Arc<crate::access::Access>>,
    args: RunArgs,
) -> anyhow::Result<()> {
    let Plan {
        connectors: planned,
        normalizer,
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
    let mut midnight = None;
    if let Some(dir) = crate::audit_cmd::dir(args.audit.as_deref(), &cfg.audit) {
        let log = crate::audit_cmd::open(&dir, &cfg.audit, Ts::now())
            .with_context(|| format!("audit log {}", dir.display()))?;
        publisher.set_audit(log);
        midnight = cfg
            .statements
            .dir
            .clone()
            .map(|out| crate::statement::Midnight::new(dir, out));
    }
    // Margin requirements may also arrive on Kafka; they override the configured ones.
    let (req_tx, req_rx) = tokio::sync::mpsc::channel(1024);
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
    let Started {
        mut rx,
        sims,
        stats,
        poll_stats,
    } = start_connectors(
        planned,
        credentials,
        cfg.runtime.channel_capacity,
        &args,
        capture_tx,
        &tracker,
        &connectors_token,
    )
    .await?;
    tracker.close();
    tracing::info!(
        connectors = stats.len(),
        pairs = pairs.len(),
        "pipeline started"
    );

    let dash = crate::http::Dashboard::new();
    let dash_served = serve_dashboard(&cfg, &args, &dash, access, root.child_token()).await;
    let summary_every = (!args.no_summary && cfg.runtime.summary_interval_ms > 0)
        .then(|| Duration::from_millis(cfg.runtime.summary_interval_ms));
    let mut console = Console {
        summary: Summary::new(pairs, stats.clone(), jsonl_stdout),
        dash,
        dash_served,
        stats,
        poll_stats,
        metrics_tick: tokio::time::interval(Duration::from_secs(1)),
        summary_tick: tokio::time::interval(summary_every.unwrap_or(Duration::from_secs(3600))),
        summary_every,
        due: Due::Metrics,
        latency: args.latency.then(|| Latency {
            read_to_producer: histogram(600_000_000),
            tick_busy: histogram(600_000_000),
            queue_depth: histogram(1 << 24),
        }),
        connectors_token: connectors_token.clone(),
        midnight,
    };

    // A stop signal or the end of `--seconds` stops the connectors; the driver then drains
    // the channel and ends.
    let deadline = args.seconds.map(Duration::from_secs);
    let stopper = connectors_token.clone();
    tokio::spawn(async move {
        let deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = deadline => {}
            _ = stopper.cancelled() => {}
        }
        stopper.cancel();
    });

    let params = LiveParams {
        cadence_ms: cfg.reference.cadence_ms as i64,
        grace: Duration::from_millis(cfg.runtime.tick_grace_ms),
        capacity: cfg.runtime.channel_capacity,
    };
    let outcome = run_live(
        normalizer,
        params,
        &mut rx,
        req_rx,
        &mut publisher,
        &mut console,
    )
    .await;
    if let Err(LiveError::Spawn(e)) = outcome {
        return Err(e).context("starting the reference thread");
    }
    drop(rx);

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
    // The shutdown checkpoint covers every record logged, before the sinks close.
    let audited = publisher.close_audit(Ts::now());
    let closed = publisher.close(left()).await.and(audited);
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
        console.summary.print();
    }
    if let Some(l) = console.latency.take() {
        print_latency(l, &console.stats, cfg.runtime.channel_capacity);
    }
    drop(sims);
    if let Some(t) = req_task {
        t.abort();
    }
    outcome.map_err(|e| anyhow::anyhow!("{e}"))
}

/// `--latency`'s report at exit.
fn print_latency(l: Latency, stats: &[(String, Arc<ConnectorStats>)], capacity: usize) {
    let Latency {
        read_to_producer: h,
        tick_busy,
        queue_depth,
    } = l;
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
    if !queue_depth.is_empty() {
        let q = queue_depth;
        eprintln!(
            "latency queue: observations waiting behind each one read: p50 {}, p99 {}, p999 {}, max {} (capacity {})",
            q.value_at_quantile(0.5),
            q.value_at_quantile(0.99),
            q.value_at_quantile(0.999),
            q.max(),
            capacity
        );
    }
    if !tick_busy.is_empty() {
        let b = tick_busy;
        eprintln!(
            "latency cuts: {} clock ticks computed: busy p50 {} us, p99 {} us, max {} us",
            b.len(),
            b.value_at_quantile(0.5),
            b.value_at_quantile(0.99),
            b.max()
        );
    }
}
