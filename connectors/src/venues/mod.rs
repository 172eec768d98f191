//! Exchanges that stream prices. One folder per venue kind: `mod.rs` (the connector),
//! `wire.rs` (the venue's messages), `parse.rs` (pure wire -> quotes), `sim.rs` (its server).

pub mod binance;
pub mod binance_usdm;
pub mod bitfinex;
pub mod bitstamp;
pub mod bybit;
pub mod coinbase;
pub mod deribit;
pub mod gemini;
pub mod kraken;
pub mod okx;
pub(crate) mod scan;

/// How long ago the simulated accounts last changed (their `updateTime` / `uTime` /
/// `updated_at`): a dormant account, whose balance is still good although the venue's
/// last-change time is hours old. Freshness is the confirmation time, not this.
pub const SIM_DORMANT_MS: i64 = 6 * 3_600_000;

/// An asset code no registry knows, held as dust in every exchange simulator that can carry
/// one: parsers pass it through; mapping (and refusing) it is the normalizer's job.
pub const SIM_UNKNOWN_ASSET: &str = "ZZZDUST";

/// The split of held funds every balance parser uses (exchanges and custodians alike).
pub use crate::decimal::split_held;

#[cfg(test)]
mod tests {
    use super::split_held;
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn split_is_exact_and_conservative() {
        // Float noise: the parts overshoot the total by 1e-16; available is the venue's figure.
        let (a, l) = split_held(
            d("1"),
            Some(d("0.6612664522199999")),
            Some(d("0.3387335477800002")),
        );
        assert_eq!(a, Some(d("0.6612664522199998")));
        assert_eq!(a.unwrap() + l.unwrap(), d("1"));
        // Frozen beyond the total: nothing is free.
        assert_eq!(
            split_held(d("5"), None, Some(d("7"))),
            (Some(d("0")), Some(d("5")))
        );
        // A venue figure above the total is capped at it.
        assert_eq!(
            split_held(d("5"), Some(d("9")), None),
            (Some(d("5")), Some(d("0")))
        );
        // Negative available (venue said so) is clamped to 0.
        assert_eq!(
            split_held(d("5"), Some(d("-1")), None),
            (Some(d("0")), Some(d("5")))
        );
        // A negative total: nothing available, the debt is all "locked", still exact.
        assert_eq!(
            split_held(d("-2"), Some(d("0")), None),
            (Some(d("0")), Some(d("-2")))
        );
        assert_eq!(split_held(d("5"), None, None), (None, None));
    }
}
