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

use rust_decimal::Decimal;

/// How long ago the simulated accounts last changed (their `updateTime` / `uTime` /
/// `updated_at`): a dormant account, whose balance is still good although the venue's
/// last-change time is hours old. Freshness is the confirmation time, not this.
pub const SIM_DORMANT_MS: i64 = 6 * 3_600_000;

/// An asset code no registry knows, held as dust in every exchange simulator that can carry
/// one: parsers pass it through; mapping (and refusing) it is the normalizer's job.
pub const SIM_UNKNOWN_ASSET: &str = "ZZZDUST";

/// The available / locked split of one balance, conservative and exact (issue "held funds are
/// never free"): `available` is what can be withdrawn or moved now, everything else is held.
///
/// - `venue_available`: the venue's own figure for what is free (Binance `free`, OKX `availBal`,
///   Deribit `available_withdrawal_funds`, ...);
/// - `held`: the sum of the venue's held parts (open orders, order and position margin,
///   frozen, earn-locked ...).
///
/// `available` is the smallest of the figures given (never more than the venue says is free,
/// never more than `total − held`), clamped to `[0, total]` (to 0 when `total` is negative);
/// `locked = total − available`, so `total = available + locked` holds exactly whatever float
/// noise the venue's parts carry (`availBal` + `frozenBal` = `cashBal` ± 1e-16). With neither
/// figure the venue says nothing about what is held: `(None, None)`.
pub fn split_held(
    total: Decimal,
    venue_available: Option<Decimal>,
    held: Option<Decimal>,
) -> (Option<Decimal>, Option<Decimal>) {
    let from_held = held.map(|h| total - h);
    let cap = match (venue_available, from_held) {
        (None, None) => return (None, None),
        (Some(a), None) | (None, Some(a)) => a,
        (Some(a), Some(b)) => a.min(b),
    };
    let available = cap.min(total).max(Decimal::ZERO);
    (Some(available), Some(total - available))
}

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
