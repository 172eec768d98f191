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
}
