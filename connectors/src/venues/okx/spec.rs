//! `okx` declared as data (see [`crate::spec`]): v5 `tickers` prices and
//! `/api/v5/account/balance` balances; the private stream is
//! [`super::stream::OkxAccountStream`].

use crate::spec::{PriceSpec, RestSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://ws.okx.com:8443/ws/v5/public",
        // Tickers arrive on trades and best bid/ask changes; a liquid instrument changes
        // several times a second, a quiet dated future may not (raise `stale_after_ms`).
        cadence: Duration::from_secs(5),
        ping: PingPolicy::Text(Duration::from_secs(20), super::ping),
        // Tickers carry no update id (only the order-book channels have `seqId`), and `ts` is
        // a millisecond time that several updates can share, so it cannot order them.
        sequencing: Sequencing::None,
        sends_deltas: false,
        // Spot, SWAP and dated FUTURES instrument ids: `Okx::split_symbol`.
        symbols: SymbolStyle::Own,
    }),
    balances: Some(RestSpec {
        rest_url: "https://www.okx.com",
        // 10 requests per 2 s per user ID.
        rate_limit: RateLimit {
            capacity: 10,
            per: Duration::from_secs(2),
        },
        scope: BudgetScope::Key,
    }),
    aliases: &[],
    samples: &["BTC-USDT", "ETH-USDT"],
    described_by: None,
};
