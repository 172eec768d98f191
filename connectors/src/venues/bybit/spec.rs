//! The three Bybit kinds declared as data (see [`crate::spec`]): `bybit_spot` and
//! `bybit_linear` stream prices from two public endpoints, `bybit` reports the unified
//! account's balances (REST, plus the private [`super::BybitWalletStream`]). One folder, three
//! kinds: one spec each.

use crate::spec::{PriceSpec, RestSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

/// `bybit_spot`: `orderbook.1` + `tickers` on `/v5/public/spot`.
pub const SPOT_SPEC: VenueSpec = VenueSpec {
    kind: super::SPOT,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://stream.bybit.com/v5/public/spot",
        cadence: super::CADENCE,
        ping: PingPolicy::Text(super::PING_EVERY, super::ping),
        // The book's `seq` (cross sequence) only increases. The ticker's `cs` is not used: the
        // two topics are separate streams, and one numbering per symbol is all the framework
        // compares (a ticker behind the book would be dropped as out of order). The book's `u`
        // is not used either: it restarts at 1 when Bybit restarts the service.
        sequencing: Sequencing::Increasing,
        // Book deltas merge onto the book snapshot.
        sends_deltas: true,
        symbols: SymbolStyle::Joined {
            hint: "Bybit spot symbols are upper case letters and digits, e.g. BTCUSDT",
        },
    }),
    balances: None,
    aliases: &[],
    samples: &["BTCUSDT", "ETHUSDT"],
    described_by: None,
};

/// `bybit_linear`: `tickers` snapshot + deltas on `/v5/public/linear`.
pub const LINEAR_SPEC: VenueSpec = VenueSpec {
    kind: super::LINEAR,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://stream.bybit.com/v5/public/linear",
        cadence: super::CADENCE,
        ping: PingPolicy::Text(super::PING_EVERY, super::ping),
        // `cs`, the cross sequence: increases with jumps, never +1 per message.
        sequencing: Sequencing::Increasing,
        sends_deltas: true,
        // Perpetuals, `PERP` and dated futures: `split_linear` in `mod.rs`.
        symbols: SymbolStyle::Own,
    }),
    balances: None,
    aliases: &[],
    samples: &["BTCUSDT", "ETHUSDT"],
    described_by: None,
};

/// `bybit`: the unified account's balances.
pub const SPEC: VenueSpec = VenueSpec {
    kind: super::BALANCES,
    source_kind: SourceKind::Exchange,
    prices: None,
    balances: Some(RestSpec {
        rest_url: "https://api.bybit.com",
        // 50 requests per second per UID (see `BybitBalances`).
        rate_limit: RateLimit {
            capacity: 50,
            per: Duration::from_secs(1),
        },
        scope: BudgetScope::Key,
    }),
    aliases: &[],
    samples: &[],
    described_by: None,
};
