//! `gemini` declared as data (see [`crate::spec`]): v2 `l2` book prices only.

use crate::spec::{PriceSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://api.gemini.com/v2/marketdata",
        // Books of liquid pairs change several times a second.
        cadence: Duration::from_secs(5),
        // Gemini documents no client ping and sends its own heartbeat every 5 s; a WebSocket
        // ping (answered by any RFC 6455 server) keeps intermediaries from timing out a
        // connection on which the client otherwise never speaks.
        ping: PingPolicy::WsPing(Duration::from_secs(20)),
        // v2 messages carry no sequence numbers (`event_id` numbers trades, not book updates).
        sequencing: Sequencing::None,
        // Trades are patches onto the last quote.
        sends_deltas: true,
        // Joined, but perpetuals (`...PERP`) refused: `Gemini::split_symbol`.
        symbols: SymbolStyle::Own,
    }),
    balances: None,
    aliases: &[],
    samples: &["BTCUSD", "ETHUSD"],
    described_by: None,
};
