//! `binance_usdm` declared as data (see [`crate::spec`]): USD-M futures `bookTicker` (and
//! `markPrice` on the `/market` tier) prices, `/fapi/v3/balance` balances.

use crate::spec::{PriceSpec, RestSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        // The `/public` tier: the one that carries bid/ask (module docs).
        ws_url: "wss://fstream.binance.com/public",
        // bookTicker is real-time (a liquid perpetual updates many times a second) and
        // markPrice comes every second, so either tier shows data well inside this.
        cadence: Duration::from_secs(2),
        ping: PingPolicy::ServerPings,
        sequencing: Sequencing::Increasing,
        // markPrice quotes are partial (mark/index only) and merge onto the last book quote.
        sends_deltas: true,
        // Perpetuals and `_YYMMDD` quarterly futures: `BinanceUsdm::split_symbol`.
        symbols: SymbolStyle::Own,
    }),
    balances: Some(RestSpec {
        rest_url: "https://fapi.binance.com",
        // `REQUEST_WEIGHT` 2400 per minute per IP (`GET /fapi/v1/exchangeInfo` rateLimits).
        rate_limit: RateLimit {
            capacity: 2400,
            per: Duration::from_secs(60),
        },
        scope: BudgetScope::Ip,
    }),
    aliases: &[],
    samples: &["BTCUSDT", "ETHUSDT"],
    described_by: None,
};
