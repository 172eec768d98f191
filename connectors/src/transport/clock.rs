//! The wall clock the WebSocket loops stamp with (`received_at`, feed `since`, staleness).
//!
//! Production reads the wall clock ([`Clock::Wall`], exactly `Ts::now()`). A test on tokio's
//! paused clock cannot: tokio's clock jumps while the wall clock barely moves, so a stream
//! silent for "ten seconds" of tokio time would never look stale. Such a test injects
//! [`Clock::paused`] instead: a fixed origin plus the time elapsed on tokio's clock since the
//! clock was made. Every stamp is then exact and reproducible (the origin is the test's
//! choice), and the staleness the loop computes from stamps agrees with the timers it runs on.
//!
//! Injected rather than global (a process-wide offset) because tests run in parallel on one
//! process, each on its own paused runtime, and a global would mix their clocks.

use schemas::Ts;

/// Where a loop reads the wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    /// `Ts::now()`: production.
    #[default]
    Wall,
    /// `origin` + the tokio time elapsed since `start`.
    Tokio {
        origin: Ts,
        start: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `origin` now and moves with tokio's clock (paused or not).
    pub fn paused(origin: Ts) -> Self {
        Clock::Tokio {
            origin,
            start: tokio::time::Instant::now(),
        }
    }

    #[inline]
    pub fn now(&self) -> Ts {
        match self {
            Clock::Wall => Ts::now(),
            Clock::Tokio { origin, start } => {
                let us = i64::try_from(start.elapsed().as_micros()).unwrap_or(i64::MAX);
                Ts::from_micros(origin.micros().saturating_add(us))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_moves_with_tokio_time_only() {
        let origin = Ts::from_millis(1_700_000_000_000);
        let c = Clock::paused(origin);
        assert_eq!(c.now(), origin);
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(c.now(), origin.plus_millis(2_500));
        // Microseconds too (timers fire on whole milliseconds, `advance` moves exactly).
        tokio::time::advance(Duration::from_micros(250)).await;
        assert_eq!(c.now(), Ts::from_micros(origin.micros() + 2_500_250));
    }

    #[test]
    fn the_wall_clock_is_the_wall_clock() {
        let before = Ts::now();
        let t = Clock::Wall.now();
        assert!(t >= before && t <= Ts::now(), "{t:?}");
    }
}
