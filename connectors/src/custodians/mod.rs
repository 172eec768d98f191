//! Custodians that report vault balances over REST. One folder per kind, like the exchanges.
//!
//! Rules every custodian parser here follows (each module doc states its own field mapping):
//!
//! - **Time.** None of these endpoints stamps a balance with a time of its own (no vault or
//!   wallet last-change time in the bodies we read), so `as_of` stays `None` unless a module
//!   says otherwise, and the normalizer judges freshness by `received_at` (when our poll got
//!   the answer). A dormant vault whose balance has not moved for months is still a fresh
//!   confirmation; no row is ever dropped or marked old by its venue time here.
//! - **Held is never free.** `available` is what can be withdrawn or moved now; everything
//!   held (outgoing / pending withdrawals, frozen, locked, staked, bonded, unconfirmed,
//!   reserved) is `locked`. Incoming deposits not yet confirmed are `pending`, outside
//!   `total`. The split is [`split`]: available never above the venue's own available figure,
//!   clamped to `[0, total]`, and `locked = total - available` exactly. When a venue gives no
//!   way to know what is held (a total only), both stay `None`, which the normalizer treats
//!   as all locked.
//! - **Codes pass through.** The venue's asset id (`USDT_ERC20`, `USDC_POLYGON`, `BTC_TEST`,
//!   `eth:usdc`, `tbtc`, an id nobody knows yet) is emitted unchanged: never filtered,
//!   lower- or upper-cased, nor stripped of a network suffix. The asset registry maps it.

pub mod bitgo;
pub mod coinbase_prime;
pub mod fireblocks;
pub mod fireblocks_network_link;
pub mod generic_rest;

use rust_decimal::Decimal;

/// `(available, locked)` of a settled `total`, given the most the venue lets us call free
/// (`free_cap`, already the minimum of every figure the venue gives). Exact: available is
/// `free_cap` clamped to `[0, total]` (0 when `total <= 0`), and `available + locked == total`.
pub fn split(total: Decimal, free_cap: Decimal) -> (Decimal, Decimal) {
    match crate::decimal::split_held(total, Some(free_cap), None) {
        (Some(available), Some(locked)) => (available, locked),
        // `split_held` always splits when given a figure; nothing free otherwise.
        _ => (Decimal::ZERO, total),
    }
}

/// The smaller of the figures present (`None` when none is).
pub fn min_of(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}
