//! The one feed-status state machine of the framework: the data-level state of each stream of a
//! connector (one per instrument for prices, one `balances` or `balances:ws` stream for the
//! balance loops) and the `feed_status.v1` records it produces. Heartbeats keep a socket alive
//! but never make a stream LIVE; only data does.

use schemas::{FeedState, FeedStatus, FeedStatusSchema, Ts};
use std::time::Duration;

#[derive(Clone, Debug)]
struct Stream {
    name: String,
    state: FeedState,
    since: Ts,
    last_data_at: Option<Ts>,
    reason: Option<String>,
}

/// When a connection-level move ([`Feed::set_all`]) produces a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// Only for a stream whose state or reason changed: a price connector with many streams
    /// reconnecting for the same reason says so once, not once per attempt.
    OnChange,
    /// Every time, even unchanged: a balance stream says each attempt (with its epoch).
    Always,
}

/// Tracks the streams of one connector and produces `feed_status.v1` records.
#[derive(Clone, Debug)]
pub struct Feed {
    connector: String,
    venue: &'static str,
    epoch: u64,
    stale_after: Duration,
    expected: Duration,
    report: Report,
    streams: Vec<Stream>,
}

impl Feed {
    /// The streams of a price connector (records on change), STALE after `stale_after`
    /// without data, `expected` being the venue's cadence (for the reason).
    pub fn new(
        connector: &str,
        venue: &'static str,
        names: impl IntoIterator<Item = String>,
        expected: Duration,
        stale_after: Duration,
    ) -> Self {
        Feed {
            connector: connector.to_owned(),
            venue,
            epoch: 0,
            stale_after,
            expected,
            report: Report::OnChange,
            streams: names
                .into_iter()
                .map(|name| Stream {
                    name,
                    state: FeedState::Connecting,
                    since: Ts::default(),
                    last_data_at: None,
                    reason: None,
                })
                .collect(),
        }
    }

    /// The one stream of a balance loop, which reports every move ([`Report::Always`]); it
    /// has no staleness of its own (a missed poll or push is reported by its loop).
    pub fn single(connector: &str, venue: &'static str, name: &str) -> Self {
        Feed {
            report: Report::Always,
            ..Feed::new(
                connector,
                venue,
                [name.to_owned()],
                Duration::ZERO,
                Duration::MAX,
            )
        }
    }

    pub fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The state of the first stream (a balance loop's only one).
    pub fn state(&self) -> FeedState {
        self.streams
            .first()
            .map_or(FeedState::Connecting, |s| s.state)
    }

    fn record(&self, s: &Stream) -> FeedStatus {
        FeedStatus {
            schema: FeedStatusSchema,
            connector: self.connector.clone(),
            venue: self.venue.to_owned(),
            stream: s.name.clone(),
            state: s.state,
            epoch: self.epoch,
            since: s.since,
            last_data_at: s.last_data_at,
            reason: s.reason.clone(),
        }
    }

    /// Announces every stream's initial CONNECTING state. Streams start in that state, so
    /// [`Feed::set_all`] sees no change and would emit nothing: a consumer would learn
    /// of a stream only once it had data (or never, while the first connect hangs).
    pub fn start(&mut self, now: Ts) -> Vec<FeedStatus> {
        for s in &mut self.streams {
            s.state = FeedState::Connecting;
            s.since = now;
            s.reason = None;
        }
        self.snapshot()
    }

    /// Moves every stream to `state` (connection-level events), returning the records the
    /// [`Report`] policy asks for. `since` moves only when the state changes.
    pub fn set_all(
        &mut self,
        state: FeedState,
        now: Ts,
        reason: Option<String>,
    ) -> Vec<FeedStatus> {
        let mut out = Vec::new();
        for i in 0..self.streams.len() {
            let s = &mut self.streams[i];
            let changed = s.state != state || s.reason != reason;
            if s.state != state {
                s.state = state;
                s.since = now;
            }
            s.reason = reason.clone();
            if changed || self.report == Report::Always {
                out.push(i);
            }
        }
        out.into_iter()
            .map(|i| self.record(&self.streams[i]))
            .collect()
    }

    /// Data arrived for stream `i`; returns a record if it became LIVE.
    #[inline]
    pub fn on_data(&mut self, i: usize, now: Ts) -> Option<FeedStatus> {
        let s = self.streams.get_mut(i)?;
        s.last_data_at = Some(now);
        if s.state == FeedState::Live {
            return None;
        }
        s.state = FeedState::Live;
        s.since = now;
        s.reason = None;
        Some(self.record(&self.streams[i]))
    }

    /// Data arrived for stream `i` without changing its state (balances pushed while a private
    /// stream is still authenticating).
    pub fn saw_data(&mut self, i: usize, now: Ts) {
        if let Some(s) = self.streams.get_mut(i) {
            s.last_data_at = Some(now);
        }
    }

    /// Marks LIVE (or never-live CONNECTING) streams STALE when they have had no data for
    /// `stale_after`; `connected_at` stands in for the last data of a stream that had none yet
    /// on this connection.
    pub fn check_stale(&mut self, now: Ts, connected_at: Ts) -> Vec<FeedStatus> {
        let mut changed = Vec::new();
        let limit = self.stale_after.as_millis() as i64;
        for (i, s) in self.streams.iter_mut().enumerate() {
            if !matches!(s.state, FeedState::Live | FeedState::Connecting) {
                continue;
            }
            let last = match s.last_data_at {
                Some(t) if t >= connected_at => t,
                _ => connected_at,
            };
            let quiet = now.millis_since(last);
            if quiet > limit {
                s.state = FeedState::Stale;
                s.since = now;
                s.reason = Some(format!(
                    "no data for {} s (expected every {} s)",
                    fmt_secs(quiet),
                    fmt_secs(self.expected.as_millis() as i64)
                ));
                changed.push(i);
            }
        }
        changed
            .into_iter()
            .map(|i| self.record(&self.streams[i]))
            .collect()
    }

    /// True when no stream has had data on this connection for `window`.
    pub fn all_quiet_for(&self, now: Ts, connected_at: Ts, window: Duration) -> bool {
        let limit = window.as_millis() as i64;
        !self.streams.is_empty()
            && self.streams.iter().all(|s| {
                let last = match s.last_data_at {
                    Some(t) if t >= connected_at => t,
                    _ => connected_at,
                };
                now.millis_since(last) > limit
            })
    }

    /// Every stream's current state (the 30 s heartbeat of `feed_status`).
    pub fn snapshot(&self) -> Vec<FeedStatus> {
        self.streams.iter().map(|s| self.record(s)).collect()
    }
}

/// Milliseconds as seconds with one decimal, truncated (`2100` -> `2.1`).
fn fmt_secs(ms: i64) -> String {
    format!("{}.{}", ms / 1000, (ms % 1000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_makes_live_silence_makes_stale() {
        let mut s = Feed::new(
            "k",
            "kraken",
            ["ticker:BTC-USD".to_owned()],
            Duration::from_secs(1),
            Duration::from_secs(2),
        );
        let t0 = Ts::from_millis(1_000_000);
        assert_eq!(s.set_all(FeedState::Connecting, t0, None).len(), 0); // already CONNECTING
        let live = s.on_data(0, t0.plus_millis(100)).unwrap();
        assert_eq!(live.state, FeedState::Live);
        assert!(s.on_data(0, t0.plus_millis(200)).is_none());
        assert!(s.check_stale(t0.plus_millis(2100), t0).is_empty());
        let stale = s.check_stale(t0.plus_millis(2300), t0);
        assert_eq!(stale[0].state, FeedState::Stale);
        assert_eq!(
            stale[0].reason.as_deref(),
            Some("no data for 2.1 s (expected every 1.0 s)")
        );
        assert_eq!(stale[0].last_data_at, Some(t0.plus_millis(200)));
        assert!(s.all_quiet_for(t0.plus_millis(5000), t0, Duration::from_secs(4)));
    }

    #[test]
    fn a_balance_stream_reports_every_attempt_and_keeps_since_while_unchanged() {
        let mut s = Feed::single("k", "bybit", "balances:ws");
        let t0 = Ts::from_millis(1_000_000);
        let start = s.start(t0);
        assert_eq!((start.len(), start[0].state), (1, FeedState::Connecting));
        s.set_epoch(2);
        let why = Some("connect failed".to_owned());
        let a = s.set_all(FeedState::Reconnecting, t0.plus_millis(10), why.clone());
        s.set_epoch(3);
        let b = s.set_all(FeedState::Reconnecting, t0.plus_millis(20), why);
        assert_eq!((a.len(), b.len()), (1, 1), "unchanged, still reported");
        assert_eq!((b[0].epoch, b[0].since), (3, t0.plus_millis(10)));
        let live = s.on_data(0, t0.plus_millis(30)).unwrap();
        assert_eq!((live.state, live.reason), (FeedState::Live, None));
        assert!(s.on_data(0, t0.plus_millis(40)).is_none());
        assert_eq!(s.snapshot()[0].last_data_at, Some(t0.plus_millis(40)));
    }
}
