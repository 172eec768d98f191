//! Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
//! Jitter"): sleep = random(0, min(cap, base * 2^attempt)). Full jitter spreads the reconnects of
//! many connectors after a venue-wide outage instead of synchronising them.
//!
//! The jitter is drawn from the thread's generator, or from a seeded one ([`Backoff::seeded`]):
//! a test can then clone the backoff before the loop takes it and draw the very delays the loop
//! will wait, to assert them exactly on a paused clock.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    attempt: u32,
    /// `None`: the thread's generator (production).
    rng: Option<StdRng>,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
            rng: None,
        }
    }

    /// The same backoff with its jitter drawn from a generator seeded with `seed`: a clone
    /// draws the same delays in the same order.
    pub fn seeded(base: Duration, cap: Duration, seed: u64) -> Self {
        Backoff {
            rng: Some(StdRng::seed_from_u64(seed)),
            ..Backoff::new(base, cap)
        }
    }

    /// The ceiling of the next delay (before jitter).
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The next delay, drawn uniformly from [0, ceiling].
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let ms = ceiling.as_millis() as u64;
        let drawn = match &mut self.rng {
            Some(rng) => rng.gen_range(0..=ms),
            None => rand::thread_rng().gen_range(0..=ms),
        };
        Duration::from_millis(drawn)
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_to_the_cap_and_jitters_below_it() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let ceilings: Vec<u128> = (0..8)
            .map(|_| {
                let c = b.ceiling();
                let d = b.next_delay();
                assert!(d <= c, "{d:?} > {c:?}");
                c.as_millis()
            })
            .collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(100));
        // Full jitter: over many draws the delays spread over the range, not at the ceiling.
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let draws: Vec<Duration> = (0..200).map(|_| b.next_delay()).collect();
        assert!(draws.iter().any(|d| *d < Duration::from_millis(500)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(500)));
    }

    #[test]
    fn a_seeded_backoff_and_its_clone_draw_the_same_delays() {
        let mut a = Backoff::seeded(Duration::from_millis(100), Duration::from_secs(2), 7);
        let mut twin = a.clone();
        let da: Vec<Duration> = (0..10).map(|_| a.next_delay()).collect();
        let dt: Vec<Duration> = (0..10).map(|_| twin.next_delay()).collect();
        assert_eq!(da, dt);
        let mut other = Backoff::seeded(Duration::from_millis(100), Duration::from_secs(2), 8);
        let d8: Vec<Duration> = (0..10).map(|_| other.next_delay()).collect();
        assert_ne!(da, d8, "another seed, other delays");
    }
}
