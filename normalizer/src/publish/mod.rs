//! Publishers: Kafka (rdkafka) and JSON lines, behind one fan-out [`Publisher`].
//!
//! Kafka delivery design (details in [`kafka`]): an idempotent producer (`acks=all`,
//! `enable.idempotence=true`) with `message.timeout.ms=0`, so librdkafka retries a record until
//! it is delivered and never expires it, keeping per-partition order through retries; a full
//! local queue sends loss-free records to a disk spool ([`spool`]) in order and conflates price
//! ticks (or, without a spool, is backpressure: the sender waits), never a drop; delivery
//! reports are counted
//! in a `ProducerContext`, and a record the broker refused is re-sent, or kept for spooling
//! when no retry can help.

pub mod jsonl;
pub mod kafka;
mod murmur2;
pub mod requirements;
pub mod spool;

pub use jsonl::JsonlSink;
pub use kafka::{FailedRecord, KafkaSettings, KafkaSink, KafkaStats};
pub use murmur2::{kafka_partition, murmur2};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use schemas::topics::Record;
use std::time::Duration;

/// Longest key quoted in an error (keys are ids, but an error message should stay one line).
const KEY_IN_ERROR_MAX: usize = 64;

/// Why a record could not be published. [`PublishError::is_retryable`] says whether trying the
/// same operation again can succeed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Settings the Kafka client refuses (bad property, guarantee override). Terminal.
    #[error("kafka configuration: {reason}")]
    Config { reason: String },
    /// Topic creation failed for a reason other than "already exists".
    #[error("creating kafka topic {topic}: {code}")]
    TopicCreate {
        topic: String,
        code: RDKafkaErrorCode,
    },
    /// The cluster did not describe a produced topic in time (unreachable, or missing topic).
    #[error("kafka metadata for {topic}: {reason}")]
    Metadata { topic: String, reason: String },
    /// librdkafka refused to enqueue a record (other than a full queue, which is waited out).
    #[error("enqueueing to kafka topic {topic} (key {key}): {code}")]
    Enqueue {
        topic: String,
        /// Truncated to 64 characters.
        key: String,
        code: RDKafkaErrorCode,
    },
    /// The producer hit a fatal error (e.g. the idempotence guarantee could not be kept); it
    /// must be recreated. Records it still held are available from `KafkaSink::take_failed`.
    #[error("kafka producer fatal error {code}: {reason}")]
    Fatal {
        code: RDKafkaErrorCode,
        reason: String,
    },
    /// Records the broker rejected for good (e.g. too large); `KafkaSink::take_failed` hands
    /// them over for spooling.
    #[error("{records} record(s) rejected by kafka for good")]
    Undeliverable { records: usize },
    /// `flush` ran out of time with records still on their way (they are not lost: they stay
    /// queued and librdkafka keeps retrying).
    #[error("kafka flush timed out with {in_flight} record(s) in flight")]
    FlushTimeout { in_flight: u64 },
    /// The Kafka sink's disk spool could not be read or written (disk full, permissions).
    /// Terminal: an operator must act, since records would otherwise be lost.
    #[error("kafka spool {dir}: {source}")]
    Spool {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    /// The audit log could not be written: nothing more is published (a record must be logged
    /// before it is published). Terminal.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// Writing a JSON lines sink failed.
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl PublishError {
    /// Whether the same operation may succeed if tried again (later, or after reconnecting).
    pub fn is_retryable(&self) -> bool {
        match self {
            PublishError::Config { .. }
            | PublishError::Spool { .. }
            | PublishError::Fatal { .. }
            | PublishError::Undeliverable { .. }
            | PublishError::Audit(_) => false,
            PublishError::TopicCreate { code, .. } => !matches!(
                code,
                RDKafkaErrorCode::InvalidPartitions
                    | RDKafkaErrorCode::InvalidReplicationFactor
                    | RDKafkaErrorCode::InvalidConfig
                    | RDKafkaErrorCode::PolicyViolation
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
                    | RDKafkaErrorCode::InvalidTopic
            ),
            PublishError::Metadata { .. } | PublishError::FlushTimeout { .. } => true,
            PublishError::Enqueue { code, .. } => !matches!(
                code,
                RDKafkaErrorCode::MessageSizeTooLarge
                    | RDKafkaErrorCode::InvalidMessageSize
                    | RDKafkaErrorCode::UnknownTopic
                    | RDKafkaErrorCode::UnknownPartition
                    | RDKafkaErrorCode::InvalidArgument
                    | RDKafkaErrorCode::Fatal
            ),
            PublishError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// Whether retrying cannot help (the opposite of [`PublishError::is_retryable`]).
    pub fn is_terminal(&self) -> bool {
        !self.is_retryable()
    }

    pub(crate) fn enqueue(topic: &str, key: &str, err: &KafkaError) -> Self {
        let key = match key.char_indices().nth(KEY_IN_ERROR_MAX) {
            Some((cut, _)) => format!("{}...", &key[..cut]),
            None => key.to_owned(),
        };
        PublishError::Enqueue {
            topic: topic.to_owned(),
            key,
            code: err.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail),
        }
    }

    fn io(path: &str, source: std::io::Error) -> Self {
        PublishError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

enum Sink {
    Jsonl(JsonlSink),
    Kafka(Box<KafkaSink>),
}

/// Fan-out to every configured sink, in order.
///
/// A failing sink does not stop the others: every sink gets the record, then the first error
/// is returned. The audit log is apart: [`Publisher::log`] writes a batch to it durably before
/// the batch is published, and a failure there stops publication.
#[derive(Default)]
pub struct Publisher {
    sinks: Vec<Sink>,
    audit: Option<crate::audit::AuditLog>,
}

impl Publisher {
    pub fn new() -> Self {
        Publisher::default()
    }

    pub fn add_jsonl(&mut self, s: JsonlSink) {
        self.sinks.push(Sink::Jsonl(s));
    }

    pub fn add_kafka(&mut self, s: KafkaSink) {
        self.sinks.push(Sink::Kafka(Box::new(s)));
    }

    /// Logs every published record to `log` first ([`Publisher::log`]).
    pub fn set_audit(&mut self, log: crate::audit::AuditLog) {
        self.audit = Some(log);
    }

    /// Whether an audit log is set.
    pub fn has_audit(&self) -> bool {
        self.audit.is_some()
    }

    /// Takes the audit log out (to write a batch off the loop's thread); put it back with
    /// [`Publisher::set_audit`].
    pub fn take_audit(&mut self) -> Option<crate::audit::AuditLog> {
        self.audit.take()
    }

    /// Whether any sink is configured.
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty() && self.audit.is_none()
    }

    /// Appends a batch about to be published to the audit log (if any), durably, at the
    /// tracker's `clock`: call before [`Publisher::publish`] of each of them.
    pub fn log(&mut self, records: &[Record], clock: schemas::Ts) -> Result<(), PublishError> {
        match &mut self.audit {
            Some(a) => Ok(a.append(records, clock)?),
            None => Ok(()),
        }
    }

    /// The audit log's shutdown checkpoint at `clock` (before [`Publisher::close`]).
    pub fn close_audit(&mut self, clock: schemas::Ts) -> Result<(), PublishError> {
        match &mut self.audit {
            Some(a) => Ok(a.close(clock)?),
            None => Ok(()),
        }
    }

    /// Writes `rec` to every sink, in the order they were added.
    pub async fn publish(&mut self, rec: &Record) -> Result<(), PublishError> {
        let mut first_error = None;
        for sink in &mut self.sinks {
            let result = match sink {
                Sink::Jsonl(s) => s.write(rec).map_err(|e| PublishError::io(s.path(), e)),
                Sink::Kafka(k) => k.send(rec).await,
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Flushes every sink; Kafka sinks get up to `grace` each to deliver what they hold, then
    /// spool the rest (when they have a spool).
    pub async fn close(&mut self, grace: Duration) -> Result<(), PublishError> {
        let mut first_error = None;
        for sink in &mut self.sinks {
            let result = match sink {
                Sink::Jsonl(s) => s.flush().map_err(|e| PublishError::io(s.path(), e)),
                Sink::Kafka(k) => {
                    let r = k.close(grace).await;
                    let stats = k.stats();
                    tracing::info!(
                        enqueued = stats.enqueued,
                        delivered = stats.delivered,
                        delivery_failures = stats.delivery_failures,
                        queue_full_waits = stats.queue_full_waits,
                        in_flight = stats.in_flight,
                        spooled = stats.spooled,
                        drained = stats.drained,
                        spooled_at_shutdown = stats.spooled_at_shutdown,
                        spool_depth = stats.spool_depth,
                        conflated_ticks = stats.conflated_ticks,
                        "kafka sink closed"
                    );
                    r
                }
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The Kafka counters, summed over Kafka sinks; `None` without a Kafka sink.
    pub fn kafka_stats(&self) -> Option<KafkaStats> {
        let mut total: Option<KafkaStats> = None;
        for sink in &self.sinks {
            if let Sink::Kafka(k) = sink {
                let s = k.stats();
                let t = total.get_or_insert_with(KafkaStats::default);
                t.enqueued += s.enqueued;
                t.delivered += s.delivered;
                t.delivery_failures += s.delivery_failures;
                t.queue_full_waits += s.queue_full_waits;
                t.redelivered += s.redelivered;
                t.undeliverable += s.undeliverable;
                t.broker_retries += s.broker_retries;
                t.client_error_reports += s.client_error_reports;
                t.in_flight += s.in_flight;
                t.spooled += s.spooled;
                t.spooled_bytes += s.spooled_bytes;
                t.drained += s.drained;
                t.spooled_at_shutdown += s.spooled_at_shutdown;
                t.conflated_ticks += s.conflated_ticks;
                t.spool_depth += s.spool_depth;
                t.spool_max_depth += s.spool_max_depth;
                t.spool_bytes += s.spool_bytes;
            }
        }
        total
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        if let Some(a) = &self.audit {
            list.entry(a);
        }
        for sink in &self.sinks {
            match sink {
                Sink::Jsonl(s) => list.entry(s),
                Sink::Kafka(k) => list.entry(k),
            };
        }
        list.finish()
    }
}
