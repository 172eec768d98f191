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
//! - A ThreadedProducer polls delivery reports on its own thread; [`ProducerContext::delivery`](rdkafka::producer::ProducerContext::delivery)
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
//!   kind but price ticks) are appended to the disk spool ([`crate::publish::spool`]) instead, and while
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
//!
//! Files: this one is the sink's API (connect, send, flush, close, counters); `settings` the
//! settings (the `[kafka]` config section); `delivery` the delivery reports and redelivery;
//! `spool_pump` the spool's side; `admin` topic creation and metadata.

mod admin;
mod delivery;
mod settings;
mod spool_pump;

pub use delivery::FailedRecord;
pub use settings::KafkaSettings;

use super::murmur2::kafka_partition;
use super::PublishError;
use delivery::{lock, SinkContext};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{Producer, ThreadedProducer};
use schemas::topics::{Record, TopicNames};
use spool_pump::SpoolState;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// One record on its way: where it goes and what it carries.
struct Outgoing<'a> {
    topic: &'a str,
    key: String,
    payload: String,
    partition: i32,
    headers: Vec<(String, String)>,
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

impl KafkaSink {
    /// Creates the producer, creates missing topics (when `create_topics`), reads each
    /// produced topic's partition count from the cluster, and opens the spool (records an
    /// earlier run left there are sent before any new one).
    pub async fn connect(settings: &KafkaSettings) -> Result<Self, PublishError> {
        if let Some(key) = settings
            .properties
            .keys()
            .find(|k| settings::GUARANTEED.contains(&k.as_str()))
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
            let existing = admin::existing_topics(Arc::clone(&producer)).await?;
            let missing: Vec<&str> = topics
                .produced()
                .into_iter()
                .filter(|t| !existing.contains(*t))
                .collect();
            if !missing.is_empty() {
                admin::create_topics(&base, &missing, settings).await?;
            }
        }
        let mut partitions = HashMap::new();
        for topic in topics.produced() {
            let count = admin::partition_count(Arc::clone(&producer), topic.to_owned()).await?;
            partitions.insert(topic.to_owned(), count);
        }

        let spool = if settings.spool {
            let st = SpoolState::open(settings, &producer.context().counters)?;
            Some(Arc::new(Mutex::new(st)))
        } else {
            None
        };
        let drainer = spool
            .as_ref()
            .map(|st| spool_pump::spawn_drainer(&producer, st));

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
        self.send_spooled(
            spool,
            rec,
            Outgoing {
                topic,
                key,
                payload,
                partition,
                headers,
            },
        )
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
                    spool_pump::pump(&self.producer, &mut st)?;
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
                    spool_pump::pump(&self.producer, &mut st)?;
                    st.disk
                        .sync()
                        .map_err(|e| spool_pump::spool_error(st.disk.dir(), e))?;
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
        self.spool_the_rest(spool, flushed).await
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
}
