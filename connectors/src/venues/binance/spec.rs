//! `binance` declared as data (see [`crate::spec`]): spot `bookTicker` prices and
//! `/api/v3/account` balances; the user data stream is [`super::stream::BinanceUserStream`].

use crate::spec::{PriceSpec, RestSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://stream.binance.com:9443",
        // bookTicker is real-time; a liquid pair updates many times a second.
        cadence: Duration::from_secs(2),
        // The server pings every 20 s; tungstenite answers.
        ping: PingPolicy::ServerPings,
        // `u` is the order book update id: a lower one is an older book.
        sequencing: Sequencing::Increasing,
        sends_deltas: false,
        symbols: SymbolStyle::Joined {
            hint: "Binance symbols are upper case letters and digits, e.g. BTCUSDT",
        },
    }),
    balances: Some(RestSpec {
        rest_url: "https://api.binance.com",
        // `REQUEST_WEIGHT` 6000 per minute per IP (`GET /api/v3/exchangeInfo` rateLimits).
        rate_limit: RateLimit {
            capacity: 6000,
            per: Duration::from_secs(60),
        },
        scope: BudgetScope::Ip,
    }),
    aliases: &[],
    samples: &["BTCUSDT", "ETHUSDT"],
    described_by: None,
};
