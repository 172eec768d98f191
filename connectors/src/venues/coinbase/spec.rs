//! `coinbase` declared as data (see [`crate::spec`]): Advanced Trade `ticker` prices and
//! `/api/v3/brokerage/accounts` balances.

use crate::spec::{PriceSpec, RestSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://advanced-trade-ws.coinbase.com",
        // Tickers arrive on trades; liquid products trade every second or so.
        cadence: Duration::from_secs(5),
        ping: PingPolicy::WsPing(Duration::from_secs(20)),
        // `sequence_num` counts every message of the connection, so per product it only
        // increases.
        sequencing: Sequencing::Increasing,
        sends_deltas: false,
        symbols: SymbolStyle::Separated {
            sep: '-',
            hint: "Coinbase product ids are BASE-QUOTE, e.g. BTC-USD",
        },
    }),
    balances: Some(RestSpec {
        rest_url: "https://api.coinbase.com",
        // Private endpoints: 30 requests per second per user.
        rate_limit: RateLimit {
            capacity: 30,
            per: Duration::from_secs(1),
        },
        scope: BudgetScope::Key,
    }),
    aliases: &[],
    samples: &["BTC-USD", "ETH-USD"],
    described_by: None,
};
