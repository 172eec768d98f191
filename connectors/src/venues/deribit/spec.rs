//! `deribit` declared as data (see [`crate::spec`]): `ticker.<instrument>.100ms` prices and
//! `private/get_account_summaries` balances; the portfolio stream is
//! [`super::stream::DeribitPortfolioStream`].

use crate::spec::{PriceSpec, RestSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://www.deribit.com/ws/api/v2",
        // A `100ms` ticker is sent when a field changed; mark and index prices move with the
        // index, so a listed contract updates about every second. Illiquid instruments in the
        // recorded session (`shared/venues/deribit/replay_*`) went up to ~6 s between tickers,
        // hence 5 s.
        cadence: Duration::from_secs(5),
        // `public/set_heartbeat`: the server's `test_request`s are answered by the parser.
        ping: PingPolicy::ServerPings,
        sequencing: Sequencing::None,
        sends_deltas: false,
        // Perpetuals, dated futures, `_USDC` linear names: `Deribit::split_symbol`.
        symbols: SymbolStyle::Own,
    }),
    balances: Some(RestSpec {
        rest_url: "https://www.deribit.com",
        // The credit pool: 50,000 credits, refilled in 5 s at 10,000/s; each request weighs
        // 500. Credits are counted per sub-account, which an API key belongs to.
        rate_limit: RateLimit {
            capacity: super::CREDIT_POOL,
            per: Duration::from_millis(
                1000 * (super::CREDIT_POOL / super::CREDIT_REFILL_PER_S) as u64,
            ),
        },
        scope: BudgetScope::Key,
    }),
    aliases: &[],
    samples: &["BTC-PERPETUAL", "ETH-PERPETUAL"],
    described_by: None,
};
