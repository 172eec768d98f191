//! The disk spool's side of the sink: the state behind one lock, the pump that settles
//! delivery reports with the spool and hands spooled records (then conflated price ticks) back
//! to librdkafka as it has room, the drainer task, the spooling path of `send`, and what
//! `close` writes to the spool.

use super::delivery::{lock, Counters, FailedRecord, SinkContext, Ticket};
use super::{KafkaSettings, KafkaSink, Outgoing};
use crate::publish::spool::{Spool, SpoolRecord};
use crate::publish::PublishError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, PurgeConfig, ThreadedProducer};
use schemas::topics::Record;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The drainer looks at the spool at least this often (a delivery report wakes it sooner).
const DRAIN_INTERVAL: Duration = Duration::from_millis(100);
/// How long `close` waits for the delivery reports of purged records.
const PURGE_WAIT: Duration = Duration::from_secs(5);

/// The spool and the conflated price ticks; one lock, taken by `send`, `flush` and the drainer.
pub(super) struct SpoolState {
    pub(super) disk: Spool,
    max_in_flight: usize,
    /// Id of the next loss-free record.
    next_id: u64,
    /// A record read from disk that librdkafka refused (queue full): it goes first next time.
    held: Option<SpoolRecord>,
    /// The latest waiting price tick per (connector, instrument).
    ticks: HashMap<(String, String), PendingTick>,
    /// An error the drainer hit; the next `send` returns it.
    pub(super) error: Option<PublishError>,
    /// Set by `close`: nothing more is handed to librdkafka.
    pub(super) closing: bool,
    /// Whether the spool had records at the last look (to log the start and end of spooling).
    spooling: bool,
}

impl SpoolState {
    /// Opens the spool of `settings` (records an earlier run left there go first) and sets
    /// the gauges from it.
    pub(super) fn open(
        settings: &KafkaSettings,
        counters: &Counters,
    ) -> Result<Self, PublishError> {
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
        counters.spool_gauges(&disk);
        Ok(SpoolState {
            next_id: disk.last_id() + 1,
            spooling: disk.depth() > 0,
            disk,
            max_in_flight: settings.spool_after_in_flight,
            held: None,
            ticks: HashMap::new(),
            error: None,
            closing: false,
        })
    }

    /// Records of this sink not yet handed to librdkafka.
    pub(super) fn unsent(&self) -> u64 {
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

impl Counters {
    /// Sets the spool gauges from `disk`; returns its depth.
    fn spool_gauges(&self, disk: &Spool) -> u64 {
        let depth = disk.depth();
        self.spool_depth.store(depth, Ordering::Relaxed);
        self.spool_max_depth.fetch_max(depth, Ordering::Relaxed);
        self.spool_bytes.store(disk.bytes(), Ordering::Relaxed);
        depth
    }
}

pub(super) fn spool_error(dir: &std::path::Path, e: std::io::Error) -> PublishError {
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

pub(super) fn to_owned_headers(headers: &[(String, String)]) -> OwnedHeaders {
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
pub(super) fn pump(
    producer: &ThreadedProducer<SinkContext>,
    st: &mut SpoolState,
) -> Result<(), PublishError> {
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
    let depth = ctx.counters.spool_gauges(&st.disk);
    if st.spooling && depth == 0 {
        st.spooling = false;
        tracing::info!(
            drained = ctx.counters.drained.load(Ordering::Relaxed),
            "kafka spool drained: every spooled record is delivered"
        );
    }
    Ok(())
}

/// Moves spooled records to librdkafka as deliveries free room, between `send` calls (a quiet
/// pipeline still drains its spool).
pub(super) fn spawn_drainer(
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

impl KafkaSink {
    /// The path with a spool: never waits. A price tick goes to librdkafka when it has room and
    /// no tick waits, else it conflates; a loss-free record goes to librdkafka when nothing is
    /// spooled before it and there is room, else to the spool, in order.
    pub(super) fn send_spooled(
        &self,
        spool: &Mutex<SpoolState>,
        rec: &Record,
        out: Outgoing<'_>,
    ) -> Result<(), PublishError> {
        let Outgoing {
            topic,
            key,
            payload,
            partition,
            headers,
        } = out;
        let ctx = self.producer.context();
        let mut st = lock(spool);
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        pump(&self.producer, &mut st)?;
        let has_room = room(&self.producer, st.max_in_flight) > 0;

        if let Record::PriceTick(t) = rec {
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
        let record = SpoolRecord {
            id,
            topic: topic.to_owned(),
            partition,
            key,
            headers,
            payload,
        };
        let bytes = st
            .disk
            .append(&record)
            .map_err(|e| spool_error(st.disk.dir(), e))?;
        ctx.counters.spooled.fetch_add(1, Ordering::Relaxed);
        ctx.counters
            .spooled_bytes
            .fetch_add(bytes, Ordering::Relaxed);
        ctx.counters.spool_gauges(&st.disk);
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

    /// The end of `close` with a spool when `flush` did not finish: stops handing records to
    /// librdkafka, purges what it holds and writes the loss-free ones to the spool in their
    /// place in the order.
    pub(super) async fn spool_the_rest(
        &self,
        spool: &Mutex<SpoolState>,
        flushed: Result<(), PublishError>,
    ) -> Result<(), PublishError> {
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
        let depth = ctx.counters.spool_gauges(&st.disk);
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
}
