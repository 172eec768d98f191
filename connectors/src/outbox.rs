//! The bounded channel from a connector to the normalizer, with a named policy when it is full
//! (house rule 3):
//! - quotes **conflate**: only the latest quote per source waits, older ones are replaced and
//!   counted (a reference price needs the newest quote, not every one);
//! - status changes and balances take **backpressure**: the connector waits, nothing
//!   is dropped, and any waiting quotes go first so the order per source is kept.

use schemas::{Observation, QuoteObs, SourceRef};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// The channel is closed: the pipeline is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

pub fn channel(capacity: usize) -> (mpsc::Sender<Observation>, mpsc::Receiver<Observation>) {
    mpsc::channel(capacity)
}

pub struct Outbox {
    tx: mpsc::Sender<Observation>,
    pending: HashMap<SourceRef, QuoteObs>,
    order: VecDeque<SourceRef>,
    conflated: Arc<AtomicU64>,
}

impl Outbox {
    pub fn new(tx: mpsc::Sender<Observation>, conflated: Arc<AtomicU64>) -> Self {
        Outbox {
            tx,
            pending: HashMap::new(),
            order: VecDeque::new(),
            conflated,
        }
    }

    /// A clone of the sender, to await capacity in a `select!` without borrowing the outbox.
    pub fn sender(&self) -> mpsc::Sender<Observation> {
        self.tx.clone()
    }

    pub fn has_pending(&self) -> bool {
        !self.order.is_empty()
    }

    pub fn conflated(&self) -> u64 {
        self.conflated.load(Ordering::Relaxed)
    }

    /// Never blocks: sends if there is room, else keeps only the latest quote per source.
    pub fn push_quote(&mut self, q: QuoteObs) -> Result<(), Closed> {
        if self.order.is_empty() {
            match self.tx.try_send(Observation::Quote(q)) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(Closed),
                Err(mpsc::error::TrySendError::Full(Observation::Quote(q))) => {
                    self.order.push_back(q.source);
                    self.pending.insert(q.source, q);
                    return Ok(());
                }
                Err(mpsc::error::TrySendError::Full(_)) => unreachable!("sent a quote"),
            }
        }
        match self.pending.insert(q.source, q.clone()) {
            Some(_) => {
                self.conflated.fetch_add(1, Ordering::Relaxed);
            }
            None => self.order.push_back(q.source),
        }
        self.try_flush()
    }

    /// Moves waiting quotes into the channel while it has room.
    pub fn try_flush(&mut self) -> Result<(), Closed> {
        while let Some(src) = self.order.front().copied() {
            let Ok(permit) = self.tx.try_reserve() else {
                if self.tx.is_closed() {
                    return Err(Closed);
                }
                return Ok(());
            };
            self.order.pop_front();
            if let Some(q) = self.pending.remove(&src) {
                permit.send(Observation::Quote(q));
            }
        }
        Ok(())
    }

    /// Sends one waiting quote through a permit obtained from [`Outbox::sender`].
    pub fn send_pending(&mut self, permit: mpsc::Permit<'_, Observation>) {
        if let Some(src) = self.order.pop_front() {
            if let Some(q) = self.pending.remove(&src) {
                permit.send(Observation::Quote(q));
            }
        }
    }

    /// Waits until every waiting quote is in the channel.
    pub async fn flush(&mut self) -> Result<(), Closed> {
        while let Some(src) = self.order.pop_front() {
            if let Some(q) = self.pending.remove(&src) {
                self.tx
                    .send(Observation::Quote(q))
                    .await
                    .map_err(|_| Closed)?;
            }
        }
        Ok(())
    }

    /// Backpressure: waits for room; never drops. Waiting quotes go first.
    pub async fn push_reliable(&mut self, obs: Observation) -> Result<(), Closed> {
        self.flush().await?;
        self.tx.send(obs).await.map_err(|_| Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::Ts;

    fn q(instrument: u32, n: i64) -> QuoteObs {
        QuoteObs {
            source: SourceRef {
                connector: 0,
                instrument,
            },
            bid: Some(rust_decimal::Decimal::from(n)),
            ask: None,
            bid_size: None,
            ask_size: None,
            last: None,
            mark: None,
            index: None,
            volume_24h: None,
            exchange_ts: None,
            received_at: Ts::from_millis(n),
            sequence: None,
            epoch: 1,
        }
    }

    fn bid(o: Observation) -> i64 {
        match o {
            Observation::Quote(q) => q.bid.unwrap().try_into().unwrap(),
            _ => -1,
        }
    }

    #[tokio::test]
    async fn full_channel_conflates_quotes_to_the_latest_per_source() {
        let (tx, mut rx) = channel(1);
        let mut out = Outbox::new(tx, Arc::default());
        out.push_quote(q(0, 1)).unwrap(); // fills the channel
        out.push_quote(q(0, 2)).unwrap(); // waits
        out.push_quote(q(1, 3)).unwrap(); // waits
        out.push_quote(q(0, 4)).unwrap(); // replaces 2, keeps its place in line
        assert_eq!(out.conflated(), 1);
        let mut got = vec![bid(rx.recv().await.unwrap())];
        while out.has_pending() {
            out.try_flush().unwrap();
            got.push(bid(rx.recv().await.unwrap()));
        }
        assert_eq!(got, vec![1, 4, 3]);
    }

    #[tokio::test]
    async fn reliable_sends_wait_and_keep_order_after_waiting_quotes() {
        let (tx, mut rx) = channel(1);
        let mut out = Outbox::new(tx, Arc::default());
        out.push_quote(q(0, 1)).unwrap();
        out.push_quote(q(1, 2)).unwrap(); // waits
        let status = Observation::Status(schemas::FeedStatus {
            schema: schemas::FeedStatusSchema,
            connector: "c".into(),
            venue: "v".into(),
            stream: "s".into(),
            state: schemas::FeedState::Live,
            epoch: 1,
            since: Ts::from_millis(0),
            last_data_at: None,
            reason: None,
        });
        let consumer = tokio::spawn(async move {
            let mut seen = vec![];
            while let Some(o) = rx.recv().await {
                seen.push(o);
                if seen.len() == 3 {
                    break;
                }
            }
            seen
        });
        out.push_reliable(status.clone()).await.unwrap();
        let seen = consumer.await.unwrap();
        assert!(matches!(&seen[0], Observation::Quote(q) if q.source.instrument == 0));
        assert!(matches!(&seen[1], Observation::Quote(q) if q.source.instrument == 1));
        assert_eq!(seen[2], status);
    }
}
