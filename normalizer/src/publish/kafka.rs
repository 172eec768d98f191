//! The Kafka sink: an idempotent librdkafka producer that never drops a record.
//!
//! How a record travels, and why it cannot be lost or reordered:
//!
//! - [`KafkaSink::send`] enqueues into librdkafka's local queue and returns. When that queue is
//!   full (`QueueFull`) it waits for deliveries to free room and tries again: the caller sees
//!   backpressure, never a drop.
//! - The producer runs with `enable.idempotence=true`, `acks=all` and `message.timeout.ms=0`
//!   (records never expire). librdkafka then retries every retriable broker error (leader moves,
//!   broker restarts, `NOT_ENOUGH_REPLICAS`, timeouts, dropped connections) on its own, for as
//!   long as it takes, and the producer id + sequence numbers make those retries neither
//!   duplicate nor reorder records within a partition.
//! - A ThreadedProducer polls delivery reports on its own thread; [`ProducerContext::delivery`]
//!   counts successes and failures in atomics. The only failures that reach it are errors
//!   librdkafka treats as permanent (e.g. a broker policy rejecting the write, an authorization
//!   failure), after which librdkafka bumps the producer epoch and carries on. Such a record is
//!   not logged-and-dropped: it is copied into a redelivery queue and re-sent with its original
//!   topic, partition, key and headers on the next `send`/`flush`, with exponential backoff.
//!   A re-sent record lands after records of the same key that were enqueued later; reference
//!   prices and reports carry `seq`, so a consumer can tell. Records that no retry can help
//!   (the broker says the record itself is invalid or too large, or the producer hit a fatal
//!   error) are kept aside and surface as a terminal [`PublishError`]; [`KafkaSink::take_failed`]
//!   hands them over for spooling.
//! - With a spool configured ([`KafkaSettings::spool`]), an outage never blocks the caller. Once
//!   librdkafka holds `spool_after_in_flight` records (or says `QueueFull`), loss-free records (every
//!   kind but price ticks) are appended to the disk spool ([`super::spool`]) instead, and while
//!   the spool holds unsent records every later loss-free record goes behind them, so none
//!   overtakes another. A drainer task hands spooled records back to librdkafka, in order, as
//!   room frees up (that is, once the broker acknowledges again); a spooled record is deleted
//!   only after its delivery report says it was written. Price ticks conflate instead: the
//!   latest per (connector, instrument) waits in memory and older ones are dropped (counted).
//!   At shutdown, whatever librdkafka still holds after the grace period is purged and written
//!   to the spool in its original place in the order; a new start sends the spool first.
//! - Every loss-free record carries two extra headers: `producer_run` (when this sink
//!   connected) and `key_seq` (1, 2, ... per topic and key within that run), so a consumer can
//!   check any key for gaps, duplicates and reordering, including balances and feed statuses,
//!   whose payloads carry no `seq`.
//! - Partitions: `partitioner=murmur2_random` makes librdkafka hash keys like the Java client.
//!   Balances are keyed `<account>/<source>/<asset>` but partitioned by `<account>` (records.md),
//!   so their partition is computed here with [`kafka_partition`] from the partition counts read
//!   from the cluster's metadata at connect.

use super::murmur2::kafka_partition;
use super::spool::{Spool, SpoolRecord};
use super::PublishError;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Headers;
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig, ThreadedProducer,
};
use rdkafka::{ClientContext, Statistics};
use schemas::topics::{Record, TopicNames};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// librdkafka properties that carry the delivery guarantees above; `overrides` may not change them.
const GUARANTEED: [&str; 7] = [
    "bootstrap.servers",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "partitioner",
];

/// How long `connect` keeps asking for topic metadata before it gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// One metadata request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// One CreateTopics request (a broker answers in well under a second; when the admin API is
/// unavailable we fall back to auto-creation instead of waiting long).
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);
/// A sender blocked on a full queue re-checks at least this often (a delivery report wakes it
/// sooner).
const QUEUE_FULL_RECHECK: Duration = Duration::from_millis(50);
/// First pause before a failed record is re-sent; doubles per attempt up to the cap.
const REDELIVERY_BACKOFF: Duration = Duration::from_millis(100);
const REDELIVERY_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// The drainer looks at the spool at least this often (a delivery report wakes it sooner).
const DRAIN_INTERVAL: Duration = Duration::from_millis(100);
/// How long `close` waits for the delivery reports of purged records.
const PURGE_WAIT: Duration = Duration::from_secs(5);

/// The `[kafka]` section of the config, and the Kafka sink's settings: one struct, so a field's
/// name, doc and default are defined here only. Unknown fields are refused;
/// [`KafkaSettings::validate`] checks the values.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port]` (librdkafka's `bootstrap.servers`).
    pub brokers: String,
    /// Topic prefix: topics are `<prefix>.<name>.v1`.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// Partitions of topics this sink creates at start-up (existing topics keep theirs).
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor of topics this sink creates at start-up.
    #[serde(default = "default_replication_factor")]
    pub replication_factor: i32,
    /// Create the produced topics at start-up when they are missing.
    #[serde(default = "default_true")]
    pub create_topics: bool,
    /// `client.id`, visible in broker logs and quotas. Not a config field: every tracker
    /// process uses the default.
    #[serde(skip, default = "default_client_id")]
    pub client_id: String,
    /// Extra librdkafka properties (`security.protocol`, `sasl.mechanism`, `linger.ms`,
    /// `statistics.interval.ms`, ...). Properties that carry the delivery guarantees cannot be
    /// overridden. Secrets do not belong here: use `sasl_password_env`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Name of the env var holding `sasl.password`, if any; read when a client is created.
    #[serde(default)]
    pub sasl_password_env: Option<String>,
    /// Spool loss-free records (balances, reference prices, reports, feed statuses) to disk
    /// while Kafka does not take them; `false` = a full producer queue blocks the pipeline
    /// (backpressure).
    #[serde(default = "default_true")]
    pub spool: bool,
    /// The spool directory, one per tracker process; relative paths are from the working
    /// directory. Created when first needed.
    #[serde(default = "default_spool_dir")]
    pub spool_dir: PathBuf,
    /// Records the Kafka client may hold in memory before loss-free records go to the spool
    /// (records in memory do not survive a crash of the process; spooled ones do).
    #[serde(default = "default_spool_after_in_flight")]
    pub spool_after_in_flight: usize,
    /// Longest time a spooled record waits for fsync, in milliseconds (0 = every record).
    #[serde(default = "default_spool_fsync_ms")]
    pub spool_fsync_ms: u64,
}

fn default_topic_prefix() -> String {
    TopicNames::DEFAULT_PREFIX.to_owned()
}
fn default_partitions() -> i32 {
    3
}
fn default_replication_factor() -> i32 {
    1
}
fn default_true() -> bool {
    true
}
fn default_client_id() -> String {
    "collateral-tracker".to_owned()
}
fn default_spool_dir() -> PathBuf {
    PathBuf::from("spool")
}
fn default_spool_after_in_flight() -> usize {
    1000
}
fn default_spool_fsync_ms() -> u64 {
    1000
}

/// The longest `spool_fsync_ms` accepted: a power failure loses at most this much of the spool.
const SPOOL_FSYNC_MAX_MS: u64 = 60_000;

impl KafkaSettings {
    /// The defaults of every other field (a spool in `./spool` included).
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaSettings {
            brokers: brokers.into(),
            topic_prefix: default_topic_prefix(),
            partitions: default_partitions(),
            replication_factor: default_replication_factor(),
            create_topics: true,
            client_id: default_client_id(),
            properties: BTreeMap::new(),
            sasl_password_env: None,
            spool: true,
            spool_dir: default_spool_dir(),
            spool_after_in_flight: default_spool_after_in_flight(),
            spool_fsync_ms: default_spool_fsync_ms(),
        }
    }

    /// Every problem with the values, as (field, message); empty when the settings are usable.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.brokers.trim().is_empty() {
            errors.push(("brokers", "expected host:port[,host:port]".to_owned()));
        }
        if self.topic_prefix.is_empty()
            || !self
                .topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            errors.push((
                "topic_prefix",
                "expected letters, digits, '.', '_' or '-'".to_owned(),
            ));
        }
        if self.partitions < 1 {
            errors.push(("partitions", "must be >= 1".to_owned()));
        }
        if self.replication_factor < 1 {
            errors.push(("replication_factor", "must be >= 1".to_owned()));
        }
        if self.spool && self.spool_dir.to_string_lossy().trim().is_empty() {
            errors.push((
                "spool_dir",
                "expected a directory path (or spool = false)".to_owned(),
            ));
        }
        if self.spool_after_in_flight == 0 {
            errors.push(("spool_after_in_flight", "must be >= 1".to_owned()));
        }
        if self.spool_fsync_ms > SPOOL_FSYNC_MAX_MS {
            errors.push((
                "spool_fsync_ms",
                format!(
                    "must be <= {SPOOL_FSYNC_MAX_MS} (a power failure loses at most this much of the spool)"
                ),
            ));
        }
        errors
    }

    /// `properties` plus `sasl.password` read from `sasl_password_env`: what every client of
    /// these settings (the producer, the requirements consumer) is configured with.
    pub fn client_properties(&self) -> Result<BTreeMap<String, String>, PublishError> {
        let mut props = self.properties.clone();
        if let Some(var) = &self.sasl_password_env {
            let password = std::env::var(var).map_err(|_| PublishError::Config {
                reason: format!("kafka.sasl_password_env: env var {var} is not set"),
            })?;
            props.insert("sasl.password".to_owned(), password);
        }
        Ok(props)
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings::new("127.0.0.1:9092")
    }
}

/// Counters of one Kafka sink since it connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KafkaStats {
    /// Records accepted into librdkafka's queue by `send` (redeliveries not included).
    pub enqueued: u64,
    /// Delivery reports that said "written" (acknowledged by all in-sync replicas).
    pub delivered: u64,
    /// Delivery reports that said "failed" (each such record is re-sent or kept, never dropped).
    pub delivery_failures: u64,
    /// `send` calls that found the local queue full and had to wait.
    pub queue_full_waits: u64,
    /// Failed records enqueued again.
    pub redelivered: u64,
    /// Records kept aside because no retry can deliver them (see [`KafkaSink::take_failed`]).
    pub undeliverable: u64,
    /// Requests librdkafka re-sent on its own (`txretries` of its statistics; stays 0 unless
    /// `statistics.interval.ms` is set in `overrides`). Produce errors are retried per message
    /// and do not show here.
    pub broker_retries: u64,
    /// Non-fatal error reports from librdkafka (broker connection lost, all brokers down, ...),
    /// each retried internally. rdkafka 0.39 hands an error event to the context twice, so this
    /// counts reports, not distinct incidents.
    pub client_error_reports: u64,
    /// Records in librdkafka's queues or in flight, plus records waiting for redelivery.
    pub in_flight: u64,
    /// Loss-free records written to the spool (while the broker was away, or at shutdown).
    pub spooled: u64,
    /// Bytes written to the spool.
    pub spooled_bytes: u64,
    /// Spooled records handed back to librdkafka.
    pub drained: u64,
    /// Records written to the spool at shutdown because librdkafka still held them.
    pub spooled_at_shutdown: u64,
    /// Price ticks dropped because a newer tick of the same (connector, instrument) replaced
    /// them while Kafka could not take them (or still waiting at shutdown).
    pub conflated_ticks: u64,
    /// Records on disk not yet confirmed delivered (a gauge).
    pub spool_depth: u64,
    /// The largest `spool_depth` seen.
    pub spool_max_depth: u64,
    /// Bytes of the spool's files (a gauge).
    pub spool_bytes: u64,
}

/// A record that failed delivery, with everything needed to produce it again or spool it.
#[derive(Clone, Debug)]
pub struct FailedRecord {
    pub topic: String,
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Option<OwnedHeaders>,
    /// The last error.
    pub code: RDKafkaErrorCode,
    /// Deliveries tried so far.
    pub attempts: u32,
    ticket: Ticket,
}

impl FailedRecord {
    fn to_spool(&self) -> SpoolRecord {
        let text = |b: &Option<Vec<u8>>| {
            String::from_utf8_lossy(b.as_deref().unwrap_or_default()).into_owned()
        };
        let headers = self
            .headers
            .as_ref()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        SpoolRecord {
            id: self.ticket.id,
            topic: self.topic.clone(),
            partition: self.partition,
            key: text(&self.key),
            headers,
            payload: text(&self.payload),
        }
    }
}

/// What travels with a record through librdkafka, back to its delivery report.
#[derive(Clone, Copy, Debug, Default)]
struct Ticket {
    /// Earlier failed deliveries.
    attempts: u32,
    /// Position among loss-free records (spool ids); 0 for price ticks.
    id: u64,
    /// The record is in the spool already (it was drained from it).
    on_disk: bool,
}

struct Redelivery {
    record: FailedRecord,
    not_before: Instant,
}

#[derive(Default)]
struct Counters {
    enqueued: AtomicU64,
    delivered: AtomicU64,
    delivery_failures: AtomicU64,
    queue_full_waits: AtomicU64,
    redelivered: AtomicU64,
    undeliverable: AtomicU64,
    broker_retries: AtomicU64,
    client_error_reports: AtomicU64,
    spooled: AtomicU64,
    spooled_bytes: AtomicU64,
    drained: AtomicU64,
    spooled_at_shutdown: AtomicU64,
    conflated_ticks: AtomicU64,
    spool_depth: AtomicU64,
    spool_max_depth: AtomicU64,
    spool_bytes: AtomicU64,
}

/// Shared between the sink and librdkafka's callbacks (which run on the polling thread).
#[derive(Default)]
struct SinkContext {
    counters: Counters,
    /// Woken on every delivery report: room has been freed in the queue.
    wake: Notify,
    /// Bounded by librdkafka's own queue: every entry was a queued record that failed.
    redo: Mutex<VecDeque<Redelivery>>,
    failed: Mutex<Vec<FailedRecord>>,
    /// Ids of loss-free records whose delivery is settled (written, or handed over as failed).
    acks: Mutex<Vec<u64>>,
    /// Loss-free records purged at shutdown that are not on disk yet.
    purged: Mutex<Vec<FailedRecord>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the queues half-updated (each critical
    // section is a single push or drain), so poisoning carries no information.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(facility = fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(facility = fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(facility = fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(facility = fac, "librdkafka: {log_message}"),
        }
    }

    fn stats(&self, statistics: Statistics) {
        let retries: u64 = statistics.brokers.values().map(|b| b.txretries).sum();
        self.counters
            .broker_retries
            .fetch_max(retries, Ordering::Relaxed);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if code == Some(RDKafkaErrorCode::Fatal) {
            // The producer is unusable; the next send/flush returns PublishError::Fatal.
            tracing::error!(error = %error, reason, "kafka producer fatal error");
        } else {
            self.counters
                .client_error_reports
                .fetch_add(1, Ordering::Relaxed);
            // Transport errors, all brokers down, ...: librdkafka reconnects and retries.
            tracing::warn!(error = %error, reason, "kafka client error (retried by librdkafka)");
        }
    }
}

/// Broker answers that say the record itself is unacceptable: re-sending the same bytes cannot
/// succeed, so such records are kept for the operator instead of looping.
fn no_retry_can_help(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::Fatal
    )
}

fn backoff(attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    REDELIVERY_BACKOFF
        .saturating_mul(factor)
        .min(REDELIVERY_BACKOFF_MAX)
}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = Box<Ticket>;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: Box<Ticket>) {
        let ticket = *ticket;
        match result {
            Ok(_) => {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                if ticket.id != 0 {
                    lock(&self.acks).push(ticket.id);
                }
            }
            Err((err, msg))
                if matches!(
                    err.rdkafka_error_code(),
                    Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
                ) =>
            {
                // Only KafkaSink::close purges (and dropping the producer, after Drop has said
                // how many records that discards). Loss-free records not on disk yet go to the
                // spool; price ticks are superseded by the next run's.
                if ticket.id == 0 {
                    self.counters
                        .conflated_ticks
                        .fetch_add(1, Ordering::Relaxed);
                } else if !ticket.on_disk {
                    let owned: OwnedMessage = msg.detach();
                    lock(&self.purged).push(FailedRecord {
                        topic: owned.topic().to_owned(),
                        partition: owned.partition(),
                        key: owned.key().map(<[u8]>::to_vec),
                        payload: owned.payload().map(<[u8]>::to_vec),
                        headers: owned.headers().cloned(),
                        code: err.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail),
                        attempts: ticket.attempts,
                        ticket,
                    });
                }
            }
            Err((err, msg)) => {
                self.counters
                    .delivery_failures
                    .fetch_add(1, Ordering::Relaxed);
                let code = err.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
                let owned: OwnedMessage = msg.detach();
                let attempts = ticket.attempts.saturating_add(1);
                let record = FailedRecord {
                    topic: owned.topic().to_owned(),
                    partition: owned.partition(),
                    key: owned.key().map(<[u8]>::to_vec),
                    payload: owned.payload().map(<[u8]>::to_vec),
                    headers: owned.headers().cloned(),
                    code,
                    attempts,
                    ticket: Ticket { attempts, ..ticket },
                };
                if no_retry_can_help(code) {
                    self.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
                    // Handed over through take_failed: settled as far as the spool goes.
                    if ticket.id != 0 {
                        lock(&self.acks).push(ticket.id);
                    }
                    tracing::error!(
                        topic = %record.topic,
                        partition = record.partition,
                        error = %code,
                        "kafka rejected a record for good; kept for spooling"
                    );
                    lock(&self.failed).push(record);
                } else {
                    tracing::warn!(
                        topic = %record.topic,
                        partition = record.partition,
                        error = %code,
                        attempts,
                        "kafka delivery failed; record will be re-sent"
                    );
                    let not_before = Instant::now() + backoff(attempts);
                    lock(&self.redo).push_back(Redelivery { record, not_before });
                }
            }
        }
        self.wake.notify_waiters();
    }
}

/// Publishes records to the five produced topics. See the module doc for the delivery design.
///
/// Call [`KafkaSink::close`] (or `Publisher::close`) before dropping it: dropping discards
/// whatever is still queued (and says so at ERROR).
pub struct KafkaSink {
    producer: Arc<ThreadedProducer<SinkContext>>,
    topics: TopicNames,
    /// Partition count of each produced topic, from the cluster's metadata at connect.
    partitions: HashMap<String, i32>,
    /// The `producer_run` header: when this sink connected.
    run: String,
    /// The last `key_seq` per (schema, key) of loss-free records.
    key_seq: Mutex<HashMap<(&'static str, String), u64>>,
    spool: Option<Arc<Mutex<SpoolState>>>,
    drainer: Option<tokio::task::JoinHandle<()>>,
}

/// The spool and the conflated price ticks; one lock, taken by `send`, `flush` and the drainer.
struct SpoolState {
    disk: Spool,
    max_in_flight: usize,
    /// Id of the next loss-free record.
    next_id: u64,
    /// A record read from disk that librdkafka refused (queue full): it goes first next time.
    held: Option<SpoolRecord>,
    /// The latest waiting price tick per (connector, instrument).
    ticks: HashMap<(String, String), PendingTick>,
    /// An error the drainer hit; the next `send` returns it.
    error: Option<PublishError>,
    /// Set by `close`: nothing more is handed to librdkafka.
    closing: bool,
    /// Whether the spool had records at the last look (to log the start and end of spooling).
    spooling: bool,
}

impl SpoolState {
    /// Records of this sink not yet handed to librdkafka.
    fn unsent(&self) -> u64 {
        self.disk.unread() + u64::from(self.held.is_some()) + self.ticks.len() as u64
    }
}

struct PendingTick {
    topic: String,
    partition: i32,
    key: String,
    payload: String,
    headers: OwnedHeaders,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("topics", &self.topics)
            .field("partitions", &self.partitions)
            .field("run", &self.run)
            .field(
                "spool",
                &self.spool.as_ref().map(|s| lock(s).disk.dir().to_owned()),
            )
            .finish_non_exhaustive()
    }
}

fn spool_error(dir: &std::path::Path, e: std::io::Error) -> PublishError {
    PublishError::Spool {
        dir: dir.display().to_string(),
        source: e,
    }
}

/// Room left in librdkafka before records spool (or ticks conflate).
fn room(producer: &ThreadedProducer<SinkContext>, max_in_flight: usize) -> usize {
    let in_flight = usize::try_from(producer.in_flight_count()).unwrap_or(0);
    max_in_flight.saturating_sub(in_flight)
}

fn to_owned_headers(headers: &[(String, String)]) -> OwnedHeaders {
    headers.iter().fold(
        OwnedHeaders::new_with_capacity(headers.len()),
        |h, (k, v)| {
            h.insert(Header {
                key: k,
                value: Some(v.as_str()),
            })
        },
    )
}

/// Settles delivery reports with the spool, hands spooled records and then conflated ticks to
/// librdkafka while it has room, and keeps the spool's files tidy.
fn pump(producer: &ThreadedProducer<SinkContext>, st: &mut SpoolState) -> Result<(), PublishError> {
    let ctx = producer.context();
    let acks = std::mem::take(&mut *lock(&ctx.acks));
    for id in acks {
        st.disk.ack(id);
    }
    if !st.closing {
        // Spooled records first, in order.
        while room(producer, st.max_in_flight) > 0 {
            let rec = match st.held.take() {
                Some(r) => r,
                None => match st.disk.read().map_err(|e| spool_error(st.disk.dir(), e))? {
                    Some(r) => r,
                    None => break,
                },
            };
            let ticket = Ticket {
                attempts: 0,
                id: rec.id,
                on_disk: true,
            };
            let record = BaseRecord::with_opaque_to(&rec.topic, Box::new(ticket))
                .partition(rec.partition)
                .key(rec.key.as_str())
                .payload(rec.payload.as_str())
                .headers(to_owned_headers(&rec.headers));
            match producer.send(record) {
                Ok(()) => {
                    ctx.counters.drained.fetch_add(1, Ordering::Relaxed);
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    st.held = Some(rec);
                    break;
                }
                Err((err, _)) => {
                    // librdkafka refuses this record for good (too large, unknown topic):
                    // hand it over like a rejected one instead of retrying it forever.
                    let error = PublishError::enqueue(&rec.topic, &rec.key, &err);
                    ctx.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
                    lock(&ctx.failed).push(FailedRecord {
                        topic: rec.topic.clone(),
                        partition: rec.partition,
                        key: Some(rec.key.into_bytes()),
                        payload: Some(rec.payload.into_bytes()),
                        headers: Some(to_owned_headers(&rec.headers)),
                        code: err.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail),
                        attempts: 0,
                        ticket,
                    });
                    st.disk.ack(ticket.id);
                    return Err(error);
                }
            }
        }
        // Then the latest tick of each instrument.
        if st.held.is_none() && st.disk.unread() == 0 && !st.ticks.is_empty() {
            let waiting: Vec<_> = st.ticks.drain().collect();
            let mut waiting = waiting.into_iter();
            for (k, t) in waiting.by_ref() {
                if room(producer, st.max_in_flight) == 0 {
                    st.ticks.insert(k, t);
                    break;
                }
                let record = BaseRecord::with_opaque_to(&t.topic, Box::new(Ticket::default()))
                    .partition(t.partition)
                    .key(t.key.as_str())
                    .payload(t.payload.as_str())
                    .headers(t.headers.clone());
                match producer.send(record) {
                    Ok(()) => {
                        ctx.counters.enqueued.fetch_add(1, Ordering::Relaxed);
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        st.ticks.insert(k, t);
                        break;
                    }
                    Err((err, _)) => {
                        st.ticks.extend(waiting);
                        return Err(PublishError::enqueue(&t.topic, &t.key, &err));
                    }
                }
            }
            st.ticks.extend(waiting);
        }
    }
    st.disk
        .maintain()
        .map_err(|e| spool_error(st.disk.dir(), e))?;
    let depth = st.disk.depth();
    ctx.counters.spool_depth.store(depth, Ordering::Relaxed);
    ctx.counters
        .spool_max_depth
        .fetch_max(depth, Ordering::Relaxed);
    ctx.counters
        .spool_bytes
        .store(st.disk.bytes(), Ordering::Relaxed);
    if st.spooling && depth == 0 {
        st.spooling = false;
        tracing::info!(
            drained = ctx.counters.drained.load(Ordering::Relaxed),
            "kafka spool drained: every spooled record is delivered"
        );
    }
    Ok(())
}

impl KafkaSink {
    /// Creates the producer, creates missing topics (when `create_topics`), reads each
    /// produced topic's partition count from the cluster, and opens the spool (records an
    /// earlier run left there are sent before any new one).
    pub async fn connect(settings: &KafkaSettings) -> Result<Self, PublishError> {
        if let Some(key) = settings
            .properties
            .keys()
            .find(|k| GUARANTEED.contains(&k.as_str()))
        {
            return Err(PublishError::Config {
                reason: format!("kafka override `{key}` would weaken the delivery guarantees"),
            });
        }
        let problems = settings.validate();
        if !problems.is_empty() {
            let reason = problems
                .iter()
                .map(|(field, message)| format!("kafka.{field}: {message}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(PublishError::Config { reason });
        }

        let mut base = ClientConfig::new();
        base.set("bootstrap.servers", &settings.brokers)
            .set("client.id", &settings.client_id);
        for (k, v) in &settings.client_properties()? {
            base.set(k, v);
        }
        let mut config = base.clone();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "0")
            .set("partitioner", "murmur2_random");

        let producer: ThreadedProducer<SinkContext> = config
            .create_with_context(SinkContext::default())
            .map_err(|e| PublishError::Config {
                reason: format!("kafka producer: {e}"),
            })?;
        let topics = TopicNames::new(&settings.topic_prefix);

        let producer = Arc::new(producer);
        if settings.create_topics {
            let existing = existing_topics(Arc::clone(&producer)).await?;
            let missing: Vec<&str> = topics
                .produced()
                .into_iter()
                .filter(|t| !existing.contains(*t))
                .collect();
            if !missing.is_empty() {
                create_topics(&base, &missing, settings).await?;
            }
        }
        let mut partitions = HashMap::new();
        for topic in topics.produced() {
            let count = partition_count(Arc::clone(&producer), topic.to_owned()).await?;
            partitions.insert(topic.to_owned(), count);
        }

        let spool = if settings.spool {
            let dir = &settings.spool_dir;
            let fsync = Duration::from_millis(settings.spool_fsync_ms);
            let disk = Spool::open(dir, fsync).map_err(|e| spool_error(dir, e))?;
            let waiting = disk.unread();
            if waiting > 0 {
                tracing::warn!(
                    records = waiting,
                    dir = %dir.display(),
                    "kafka spool holds records from an earlier run; sending them first"
                );
            }
            let counters = &producer.context().counters;
            counters.spool_depth.store(disk.depth(), Ordering::Relaxed);
            counters
                .spool_max_depth
                .store(disk.depth(), Ordering::Relaxed);
            counters.spool_bytes.store(disk.bytes(), Ordering::Relaxed);
            Some(Arc::new(Mutex::new(SpoolState {
                next_id: disk.last_id() + 1,
                spooling: disk.depth() > 0,
                disk,
                max_in_flight: settings.spool_after_in_flight,
                held: None,
                ticks: HashMap::new(),
                error: None,
                closing: false,
            })))
        } else {
            None
        };
        let drainer = spool.as_ref().map(|st| spawn_drainer(&producer, st));

        tracing::info!(
            brokers = %settings.brokers,
            prefix = %settings.topic_prefix,
            partitions = ?partitions,
            spool = ?settings.spool.then(|| settings.spool_dir.display().to_string()),
            "kafka sink connected"
        );
        Ok(KafkaSink {
            producer,
            topics,
            partitions,
            run: schemas::time::Ts::now().to_string(),
            key_seq: Mutex::new(HashMap::new()),
            spool,
            drainer,
        })
    }

    /// The topic names this sink writes.
    pub fn topics(&self) -> &TopicNames {
        &self.topics
    }

    /// Partition count of a produced topic, as read at connect.
    pub fn partitions(&self, topic: &str) -> Option<i32> {
        self.partitions.get(topic).copied()
    }

    /// The `producer_run` header value of this sink's records.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// Hands one record to Kafka. Without a spool it waits (backpressure) while librdkafka's
    /// queue is full; with one it never waits: see the module doc.
    pub async fn send(&self, rec: &Record) -> Result<(), PublishError> {
        self.check_fatal()?;
        self.redeliver_due()?;

        let topic = rec.topic(&self.topics);
        let key = rec.key();
        let payload = rec.to_json();
        // Kafka's default partitioner (murmur2 of the key) computed here rather than by
        // librdkafka, so a spooled record keeps the partition it would have had; balances hash
        // their account only (records.md).
        let partition = match self.partitions.get(topic) {
            Some(&n) => kafka_partition(rec.partition_key().as_bytes(), n),
            // RD_KAFKA_PARTITION_UA: librdkafka's partitioner picks.
            None => -1,
        };
        let loss_free = !matches!(rec, Record::PriceTick(_));
        let mut headers = vec![
            ("schema".to_owned(), rec.schema().to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        if loss_free {
            let seq = {
                let mut seqs = lock(&self.key_seq);
                let seq = seqs.entry((rec.schema(), key.clone())).or_insert(0);
                *seq += 1;
                *seq
            };
            headers.push(("producer_run".to_owned(), self.run.clone()));
            headers.push(("key_seq".to_owned(), seq.to_string()));
        }

        let Some(spool) = &self.spool else {
            return self
                .send_waiting(topic, &key, &payload, partition, &headers)
                .await;
        };
        let ctx = self.producer.context();
        let mut st = lock(spool);
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        pump(&self.producer, &mut st)?;
        let has_room = room(&self.producer, st.max_in_flight) > 0;

        if !loss_free {
            let Record::PriceTick(t) = rec else {
                unreachable!("only price ticks are not loss-free")
            };
            let tick = PendingTick {
                topic: topic.to_owned(),
                partition,
                key,
                payload,
                headers: to_owned_headers(&headers),
            };
            if st.ticks.is_empty() && has_room {
                let record = BaseRecord::with_opaque_to(topic, Box::new(Ticket::default()))
                    .partition(partition)
                    .key(tick.key.as_str())
                    .payload(tick.payload.as_str())
                    .headers(tick.headers.clone());
                match self.producer.send(record) {
                    Ok(()) => {
                        ctx.counters.enqueued.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {}
                    Err((err, _)) => return Err(PublishError::enqueue(topic, &tick.key, &err)),
                }
            }
            let at = (t.connector.to_string(), t.instrument.to_string());
            if st.ticks.insert(at, tick).is_some() {
                ctx.counters.conflated_ticks.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }

        let id = st.next_id;
        st.next_id += 1;
        if st.held.is_none() && st.disk.unread() == 0 && has_room {
            let ticket = Ticket {
                attempts: 0,
                id,
                on_disk: false,
            };
            let record = BaseRecord::with_opaque_to(topic, Box::new(ticket))
                .partition(partition)
                .key(key.as_str())
                .payload(payload.as_str())
                .headers(to_owned_headers(&headers));
            match self.producer.send(record) {
                Ok(()) => {
                    ctx.counters.enqueued.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {}
                Err((err, _)) => {
                    st.disk.ack(id);
                    return Err(PublishError::enqueue(topic, &key, &err));
                }
            }
        }
        // Behind the spooled records, or librdkafka is full: to disk, in order.
        let rec = SpoolRecord {
            id,
            topic: topic.to_owned(),
            partition,
            key,
            headers,
            payload,
        };
        let bytes = st
            .disk
            .append(&rec)
            .map_err(|e| spool_error(st.disk.dir(), e))?;
        ctx.counters.spooled.fetch_add(1, Ordering::Relaxed);
        ctx.counters
            .spooled_bytes
            .fetch_add(bytes, Ordering::Relaxed);
        let depth = st.disk.depth();
        ctx.counters.spool_depth.store(depth, Ordering::Relaxed);
        ctx.counters
            .spool_max_depth
            .fetch_max(depth, Ordering::Relaxed);
        if !st.spooling {
            st.spooling = true;
            tracing::warn!(
                dir = %st.disk.dir().display(),
                in_flight = self.producer.in_flight_count(),
                "kafka not taking records fast enough; spooling to disk"
            );
        }
        Ok(())
    }

    /// The path without a spool: waits while librdkafka's queue is full.
    async fn send_waiting(
        &self,
        topic: &str,
        key: &str,
        payload: &str,
        partition: i32,
        headers: &[(String, String)],
    ) -> Result<(), PublishError> {
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(Ticket::default()))
            .key(key)
            .payload(payload)
            .partition(partition)
            .headers(to_owned_headers(headers));
        let ctx = self.producer.context();
        let mut waited = false;
        loop {
            // Register for the wake-up before trying, so a delivery report that lands between a
            // QueueFull and the wait is not missed.
            let woken = ctx.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match self.producer.send(record) {
                Ok(()) => {
                    ctx.counters.enqueued.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    if !waited {
                        waited = true;
                        ctx.counters
                            .queue_full_waits
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(topic, "kafka queue full; waiting");
                    }
                    self.check_fatal()?;
                    tokio::select! {
                        _ = &mut woken => {}
                        _ = tokio::time::sleep(QUEUE_FULL_RECHECK) => {}
                    }
                }
                Err((err, _)) => return Err(PublishError::enqueue(topic, key, &err)),
            }
        }
    }

    /// Waits until every record is delivered (re-sending failed ones, draining the spool), up
    /// to `timeout`.
    pub async fn flush(&self, timeout: Duration) -> Result<(), PublishError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let ctx = self.producer.context();
        loop {
            self.check_fatal()?;
            let woken = ctx.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            self.redeliver_due()?;
            let unsent = match &self.spool {
                Some(s) => {
                    let mut st = lock(s);
                    if let Some(e) = st.error.take() {
                        return Err(e);
                    }
                    pump(&self.producer, &mut st)?;
                    st.unsent()
                }
                None => 0,
            };
            let in_flight = self.producer.in_flight_count();
            let waiting = lock(&ctx.redo).len();
            if in_flight == 0 && waiting == 0 && unsent == 0 {
                if let Some(s) = &self.spool {
                    let mut st = lock(s);
                    // The last delivery reports, then the files.
                    pump(&self.producer, &mut st)?;
                    st.disk.sync().map_err(|e| spool_error(st.disk.dir(), e))?;
                }
                return match self.failed_count() {
                    0 => Ok(()),
                    n => Err(PublishError::Undeliverable { records: n }),
                };
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PublishError::FlushTimeout {
                    in_flight: u64::try_from(in_flight).unwrap_or(0) + waiting as u64 + unsent,
                });
            }
            // A zero-timeout flush makes librdkafka send what it holds back for linger.ms.
            let _ = self.producer.flush(Duration::ZERO);
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// Flushes within `grace`; with a spool, whatever is still undelivered then is written to
    /// the spool (in its place in the order) rather than dropped, and the close succeeds: the
    /// next start sends it first. Price ticks still waiting are dropped (counted in
    /// `conflated_ticks`): the next run's ticks supersede them.
    pub async fn close(&self, grace: Duration) -> Result<(), PublishError> {
        let flushed = self.flush(grace).await;
        let Some(spool) = &self.spool else {
            return flushed;
        };
        if flushed.is_ok() {
            if let Some(d) = &self.drainer {
                d.abort();
            }
            return Ok(());
        }
        lock(spool).closing = true;
        if let Some(d) = &self.drainer {
            d.abort();
        }
        let ctx = self.producer.context();
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        // Purged records come back through delivery reports on the polling thread.
        let until = tokio::time::Instant::now() + PURGE_WAIT;
        while self.producer.in_flight_count() > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut st = lock(spool);
        pump(&self.producer, &mut st)?;
        let mut recs: Vec<SpoolRecord> =
            lock(&ctx.purged).drain(..).map(|f| f.to_spool()).collect();
        recs.extend(
            lock(&ctx.redo)
                .drain(..)
                .filter(|r| r.record.ticket.id != 0 && !r.record.ticket.on_disk)
                .map(|r| r.record.to_spool()),
        );
        let dropped_ticks = st.ticks.len() as u64;
        st.ticks.clear();
        ctx.counters
            .conflated_ticks
            .fetch_add(dropped_ticks, Ordering::Relaxed);
        let dir = st.disk.dir().to_owned();
        let n = st
            .disk
            .insert_older(recs)
            .map_err(|e| spool_error(&dir, e))?;
        st.disk.sync().map_err(|e| spool_error(&dir, e))?;
        ctx.counters.spooled.fetch_add(n, Ordering::Relaxed);
        ctx.counters
            .spooled_at_shutdown
            .fetch_add(n, Ordering::Relaxed);
        let depth = st.disk.depth();
        ctx.counters.spool_depth.store(depth, Ordering::Relaxed);
        ctx.counters
            .spool_max_depth
            .fetch_max(depth, Ordering::Relaxed);
        ctx.counters
            .spool_bytes
            .store(st.disk.bytes(), Ordering::Relaxed);
        tracing::warn!(
            spooled_now = n,
            spool_depth = depth,
            dir = %dir.display(),
            error = %flushed.as_ref().err().map(ToString::to_string).unwrap_or_default(),
            "kafka did not take every record within the grace period; the rest is in the spool and is sent first at the next start"
        );
        match flushed {
            Err(PublishError::FlushTimeout { .. }) => Ok(()),
            other => other,
        }
    }

    /// Counters since connect.
    pub fn stats(&self) -> KafkaStats {
        let c = &self.producer.context().counters;
        let waiting = lock(&self.producer.context().redo).len() as u64;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        KafkaStats {
            enqueued: load(&c.enqueued),
            delivered: load(&c.delivered),
            delivery_failures: load(&c.delivery_failures),
            queue_full_waits: load(&c.queue_full_waits),
            redelivered: load(&c.redelivered),
            undeliverable: load(&c.undeliverable),
            broker_retries: load(&c.broker_retries),
            client_error_reports: load(&c.client_error_reports),
            in_flight: u64::try_from(self.producer.in_flight_count()).unwrap_or(0) + waiting,
            spooled: load(&c.spooled),
            spooled_bytes: load(&c.spooled_bytes),
            drained: load(&c.drained),
            spooled_at_shutdown: load(&c.spooled_at_shutdown),
            conflated_ticks: load(&c.conflated_ticks),
            spool_depth: load(&c.spool_depth),
            spool_max_depth: load(&c.spool_max_depth),
            spool_bytes: load(&c.spool_bytes),
        }
    }

    /// Hands over every record that cannot be delivered by this producer: those the broker
    /// rejected for good, and, after a fatal producer error, those still waiting for
    /// redelivery. The caller spools them (nothing is dropped silently).
    pub fn take_failed(&self) -> Vec<FailedRecord> {
        let ctx = self.producer.context();
        let mut out = std::mem::take(&mut *lock(&ctx.failed));
        if self.producer.client().fatal_error().is_some() {
            out.extend(lock(&ctx.redo).drain(..).map(|r| r.record));
        }
        out
    }

    fn failed_count(&self) -> usize {
        lock(&self.producer.context().failed).len()
    }

    fn check_fatal(&self) -> Result<(), PublishError> {
        match self.producer.client().fatal_error() {
            Some((code, reason)) => Err(PublishError::Fatal { code, reason }),
            None => Ok(()),
        }
    }

    /// Re-enqueues failed records whose backoff has passed; stops at a full queue.
    fn redeliver_due(&self) -> Result<(), PublishError> {
        let ctx = self.producer.context();
        let now = Instant::now();
        let due: Vec<Redelivery> = {
            let mut redo = lock(&ctx.redo);
            if redo.is_empty() {
                return Ok(());
            }
            let (due, later): (VecDeque<_>, VecDeque<_>) =
                redo.drain(..).partition(|r| r.not_before <= now);
            *redo = later;
            due.into()
        };
        let mut due = due.into_iter();
        while let Some(entry) = due.next() {
            let r = &entry.record;
            let mut record =
                BaseRecord::with_opaque_to(&r.topic, Box::new(r.ticket)).partition(r.partition);
            if let Some(key) = &r.key {
                record = record.key(key.as_slice());
            }
            if let Some(payload) = &r.payload {
                record = record.payload(payload.as_slice());
            }
            if let Some(headers) = &r.headers {
                record = record.headers(headers.clone());
            }
            match self.producer.send(record) {
                Ok(()) => {
                    ctx.counters.redelivered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(topic = %r.topic, partition = r.partition, attempts = r.attempts, "kafka record re-sent");
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // Put this one and the rest back at the front, in their order.
                    let mut redo = lock(&ctx.redo);
                    for back in std::iter::once(entry).chain(due).rev() {
                        redo.push_front(back);
                    }
                    return Ok(());
                }
                Err((err, _)) => {
                    let key = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default());
                    let error = PublishError::enqueue(&r.topic, &key, &err);
                    ctx.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
                    if entry.record.ticket.id != 0 {
                        lock(&ctx.acks).push(entry.record.ticket.id);
                    }
                    lock(&ctx.failed).push(entry.record);
                    let mut redo = lock(&ctx.redo);
                    for back in due.rev() {
                        redo.push_front(back);
                    }
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}

/// Moves spooled records to librdkafka as deliveries free room, between `send` calls (a quiet
/// pipeline still drains its spool).
fn spawn_drainer(
    producer: &Arc<ThreadedProducer<SinkContext>>,
    state: &Arc<Mutex<SpoolState>>,
) -> tokio::task::JoinHandle<()> {
    let producer = Arc::downgrade(producer);
    let state = Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            let Some(p) = producer.upgrade() else { return };
            {
                let woken = p.context().wake.notified();
                tokio::select! {
                    _ = woken => {}
                    _ = tokio::time::sleep(DRAIN_INTERVAL) => {}
                }
            }
            let Some(s) = state.upgrade() else { return };
            let mut st = lock(&s);
            if st.closing {
                return;
            }
            if st.error.is_none() {
                if let Err(e) = pump(&p, &mut st) {
                    tracing::error!(error = %e, "kafka spool drainer");
                    st.error = Some(e);
                }
            }
        }
    })
}

/// Names of the topics the cluster has, retried until [`CONNECT_TIMEOUT`] while it is unreachable.
async fn existing_topics(
    producer: Arc<ThreadedProducer<SinkContext>>,
) -> Result<HashSet<String>, PublishError> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let p = Arc::clone(&producer);
        // fetch_metadata blocks the calling thread; asking for all topics never auto-creates.
        let answer = tokio::task::spawn_blocking(move || {
            p.client().fetch_metadata(None, REQUEST_TIMEOUT).map(|md| {
                md.topics()
                    .iter()
                    .filter(|t| t.error().is_none())
                    .map(|t| t.name().to_owned())
                    .collect::<HashSet<String>>()
            })
        })
        .await
        .map_err(|e| PublishError::Metadata {
            topic: "*".to_owned(),
            reason: format!("metadata task: {e}"),
        })?;
        match answer {
            Ok(names) => return Ok(names),
            Err(e) if Instant::now() >= deadline => {
                return Err(PublishError::Metadata {
                    topic: "*".to_owned(),
                    reason: e.to_string(),
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "kafka cluster not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        if let Some(d) = &self.drainer {
            d.abort();
        }
        let stats = self.stats();
        if stats.in_flight > 0 {
            tracing::error!(
                in_flight = stats.in_flight,
                "kafka sink dropped before its records were delivered; they are discarded"
            );
        }
    }
}

/// Creates `missing` topics. A cluster that cannot create them through the admin API (no
/// CreateTopics support, no reachable controller) gets a warning only: the metadata step that
/// follows is the judge of whether the topics exist (brokers that auto-create topics create
/// them there).
async fn create_topics(
    base: &ClientConfig,
    missing: &[&str],
    settings: &KafkaSettings,
) -> Result<(), PublishError> {
    let admin: AdminClient<DefaultClientContext> =
        base.create().map_err(|e| PublishError::Config {
            reason: format!("kafka admin client: {e}"),
        })?;
    let new_topics: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
        })
        .collect();
    let opts = AdminOptions::new()
        .request_timeout(Some(CREATE_TIMEOUT))
        .operation_timeout(Some(CREATE_TIMEOUT));
    let results = match admin.create_topics(&new_topics, &opts).await {
        Ok(results) => results,
        Err(KafkaError::AdminOp(
            code @ (RDKafkaErrorCode::UnsupportedFeature | RDKafkaErrorCode::OperationTimedOut),
        )) => {
            tracing::warn!(
                brokers = %settings.brokers,
                error = %code,
                "kafka topics not created through the admin API; relying on auto-creation"
            );
            return Ok(());
        }
        Err(e) => {
            return Err(PublishError::TopicCreate {
                topic: "*".to_owned(),
                code: e.rdkafka_error_code().unwrap_or(admin_code(&e)),
            })
        }
    };
    for result in results {
        match result {
            Ok(topic) => tracing::info!(
                topic,
                partitions = settings.partitions,
                replication_factor = settings.replication_factor,
                "kafka topic created"
            ),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic, "kafka topic exists")
            }
            Err((_, RDKafkaErrorCode::UnsupportedFeature)) => {
                tracing::warn!("broker does not support CreateTopics; relying on existing or auto-created topics");
            }
            Err((topic, code)) => return Err(PublishError::TopicCreate { topic, code }),
        }
    }
    Ok(())
}

fn admin_code(e: &KafkaError) -> RDKafkaErrorCode {
    match e {
        KafkaError::AdminOp(code) => *code,
        _ => RDKafkaErrorCode::Fail,
    }
}

/// Asks the cluster for `topic`'s partition count, retrying while the topic is still being
/// created or the broker is unreachable, up to [`CONNECT_TIMEOUT`].
async fn partition_count(
    producer: Arc<ThreadedProducer<SinkContext>>,
    topic: String,
) -> Result<i32, PublishError> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let p = Arc::clone(&producer);
        let t = topic.clone();
        // fetch_metadata blocks the calling thread.
        let answer = tokio::task::spawn_blocking(move || {
            let md = p.client().fetch_metadata(Some(&t), REQUEST_TIMEOUT)?;
            let found = md.topics().iter().find(|mt| mt.name() == t).map(|mt| {
                (
                    mt.error().map(RDKafkaErrorCode::from),
                    mt.partitions().len(),
                )
            });
            Ok::<_, KafkaError>(found)
        })
        .await
        .map_err(|e| PublishError::Metadata {
            topic: topic.clone(),
            reason: format!("metadata task: {e}"),
        })?;
        let reason = match answer {
            Ok(Some((None, n))) if n > 0 => {
                return Ok(i32::try_from(n).unwrap_or(i32::MAX));
            }
            Ok(Some((Some(code), _))) => code.to_string(),
            Ok(_) => "topic has no partitions yet".to_owned(),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(PublishError::Metadata { topic, reason });
        }
        tracing::debug!(topic = %topic, reason = %reason, "waiting for kafka topic metadata");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
