//! Delivery reports and redelivery: what travels with a record through librdkafka, the
//! callbacks that count and settle each report, the re-sending of failed records with backoff,
//! and the path without a spool (backpressure on a full queue).

use super::KafkaSink;
use crate::publish::spool::SpoolRecord;
use crate::publish::PublishError;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Headers;
use rdkafka::message::{Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Statistics};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A sender blocked on a full queue re-checks at least this often (a delivery report wakes it
/// sooner).
const QUEUE_FULL_RECHECK: Duration = Duration::from_millis(50);
/// First pause before a failed record is re-sent; doubles per attempt up to the cap.
const REDELIVERY_BACKOFF: Duration = Duration::from_millis(100);
const REDELIVERY_BACKOFF_MAX: Duration = Duration::from_secs(10);
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
    pub(super) ticket: Ticket,
}

impl FailedRecord {
    pub(super) fn to_spool(&self) -> SpoolRecord {
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
pub(super) struct Ticket {
    /// Earlier failed deliveries.
    pub(super) attempts: u32,
    /// Position among loss-free records (spool ids); 0 for price ticks.
    pub(super) id: u64,
    /// The record is in the spool already (it was drained from it).
    pub(super) on_disk: bool,
}

pub(super) struct Redelivery {
    pub(super) record: FailedRecord,
    pub(super) not_before: Instant,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) enqueued: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) delivery_failures: AtomicU64,
    pub(super) queue_full_waits: AtomicU64,
    pub(super) redelivered: AtomicU64,
    pub(super) undeliverable: AtomicU64,
    pub(super) broker_retries: AtomicU64,
    pub(super) client_error_reports: AtomicU64,
    pub(super) spooled: AtomicU64,
    pub(super) spooled_bytes: AtomicU64,
    pub(super) drained: AtomicU64,
    pub(super) spooled_at_shutdown: AtomicU64,
    pub(super) conflated_ticks: AtomicU64,
    pub(super) spool_depth: AtomicU64,
    pub(super) spool_max_depth: AtomicU64,
    pub(super) spool_bytes: AtomicU64,
}

/// Shared between the sink and librdkafka's callbacks (which run on the polling thread).
#[derive(Default)]
pub(super) struct SinkContext {
    pub(super) counters: Counters,
    /// Woken on every delivery report: room has been freed in the queue.
    pub(super) wake: Notify,
    /// Bounded by librdkafka's own queue: every entry was a queued record that failed.
    pub(super) redo: Mutex<VecDeque<Redelivery>>,
    pub(super) failed: Mutex<Vec<FailedRecord>>,
    /// Ids of loss-free records whose delivery is settled (written, or handed over as failed).
    pub(super) acks: Mutex<Vec<u64>>,
    /// Loss-free records purged at shutdown that are not on disk yet.
    pub(super) purged: Mutex<Vec<FailedRecord>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

impl KafkaSink {
    /// The path without a spool: waits while librdkafka's queue is full.
    pub(super) async fn send_waiting(
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
            .headers(super::spool_pump::to_owned_headers(headers));
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

    pub(super) fn failed_count(&self) -> usize {
        lock(&self.producer.context().failed).len()
    }

    pub(super) fn check_fatal(&self) -> Result<(), PublishError> {
        match self.producer.client().fatal_error() {
            Some((code, reason)) => Err(PublishError::Fatal { code, reason }),
            None => Ok(()),
        }
    }

    /// Re-enqueues failed records whose backoff has passed; stops at a full queue.
    pub(super) fn redeliver_due(&self) -> Result<(), PublishError> {
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
