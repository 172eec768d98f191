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
}

/// An observation: `PriceTick` material, a balance, or a stream's state change.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    Quote(QuoteObs),
    Balance(BalanceObs),
    Status(FeedStatus),
}
