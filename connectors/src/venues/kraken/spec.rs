//! `kraken` declared as data (see [`crate::spec`]): v2 `ticker` (bbo trigger) prices and
//! `/0/private/BalanceEx` balances; the private stream is
//! [`super::stream::KrakenBalanceStream`].

use crate::spec::{PriceSpec, RestSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://ws.kraken.com/v2",
        cadence: Duration::from_secs(5),
        ping: PingPolicy::Text(Duration::from_secs(20), super::ping),
        sequencing: Sequencing::None,
        sends_deltas: false,
        symbols: SymbolStyle::Separated {
            sep: '/',
            hint: "Kraken v2 symbols are BASE/QUOTE, e.g. BTC/USD",
        },
    }),
    balances: Some(RestSpec {
        rest_url: "https://api.kraken.com",
        // Starter tier: counter max 15, decay 0.33/s per key = 15 calls per 45 s.
        rate_limit: RateLimit {
            capacity: 15,
            per: Duration::from_secs(45),
        },
        scope: BudgetScope::Key,
    }),
    // Kraken's legacy codes (`XXBT`, `ZUSD`, ...) are rows of the asset registry data file
    // (`normalizer/data/assets.toml`), not aliases here.
    aliases: &[],
    samples: &["BTC/USD", "ETH/USD"],
    described_by: None,
};
