//! What connectors hand to the normalizer.

use crate::{FeedStatus, Ts};
use rust_decimal::Decimal;

/// Identifies one (connector, instrument) of the running configuration by index: the hot path
/// carries two integers instead of strings, and the normalizer finds the source in O(1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceRef {
    pub connector: u32,
    pub instrument: u32,
}

/// One quote, as the venue gave it, for a configured instrument.
#[derive(Clone, Debug, PartialEq)]
pub struct QuoteObs {
    pub source: SourceRef,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub bid_size: Option<Decimal>,
    pub ask_size: Option<Decimal>,
    pub last: Option<Decimal>,
    pub mark: Option<Decimal>,
    pub index: Option<Decimal>,
    pub volume_24h: Option<Decimal>,
    pub exchange_ts: Option<Ts>,
    pub received_at: Ts,
    pub sequence: Option<u64>,
    pub epoch: u64,
}

/// One asset's balance at one source, as the venue reported it (venue asset code, venue
/// numbers); the normalizer maps the code through the asset master and checks the numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct BalanceObs {
    /// Index of the connector in the running configuration.
    pub connector: u32,
    pub venue_asset: String,
    pub total: Decimal,
    pub available: Option<Decimal>,
    pub locked: Option<Decimal>,
    pub borrowed: Option<Decimal>,
    pub pending: Option<Decimal>,
    pub sub_account: Option<String>,
    pub wallet: Option<String>,
    /// The venue's time for this balance, if it gives one.
    pub as_of: Option<Ts>,
    pub received_at: Ts,
    /// The chain, when the venue names it beside the code (upper snake case, `ARBITRUM`).
    pub network: Option<String>,
    /// Set on the observation that closes a full REST poll of the connector (every page
    /// read), to the poll's first response time: whatever the connector held before and this
    /// poll no longer lists is gone (OKX lists only non-zero currencies). The closing
    /// observation is [`BalanceObs::poll_closed`], with no asset.
    pub poll_started: Option<Ts>,
    /// This asset's unrealized P&L at the venue (derivatives settled in it), when the venue
    /// reports it beside the wallet balance `total`; margin.md section 1 decides how much of it
    /// counts as collateral (`[margin] unrealized_pnl`).
    pub unrealized_pnl: Option<Decimal>,
}

impl BalanceObs {
    /// The close of a full poll of `connector`: no balance of its own (`venue_asset` empty),
    /// read from `started` (the first page's response) to `received_at` (the last page's).
    pub fn poll_closed(connector: u32, started: Ts, received_at: Ts) -> Self {
        BalanceObs {
            connector,
            venue_asset: String::new(),
            total: Decimal::ZERO,
            available: None,
            locked: None,
            borrowed: None,
            pending: None,
            sub_account: None,
            wallet: None,
            as_of: None,
            received_at,
            network: None,
            poll_started: Some(started),
            unrealized_pnl: None,
        }
    }

    /// Whether this is the close of a poll rather than a balance.
    pub fn is_poll_close(&self) -> bool {
        self.venue_asset.is_empty() && self.poll_started.is_some()
    }
}

/// An observation: `PriceTick` material, a balance, or a stream's state change.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    Quote(QuoteObs),
    Balance(BalanceObs),
    Status(FeedStatus),
    /// A venue account's margin (margin.md section 1).
    Margin(crate::margin::VenueMarginObs),
    /// A position at a venue account, or the end of a full list.
    Position(crate::margin::PositionObs),
}

/// The available / locked split of one balance, conservative and exact ("held funds are never
/// free"): `available` is what can be withdrawn or moved now, everything else is held. The one
/// rule for every balance parser and for the normalizer's last-line reconciliation.
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
