//! `bitstamp` declared as data (see [`crate::spec`]): `order_book_` prices only.

use crate::spec::{PriceSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://ws.bitstamp.net",
        // The book is sent on every change: BTC/USD and ETH/USD change several times a second.
        cadence: Duration::from_secs(5),
        // The server sends no heartbeats of its own; a quiet book can be silent for tens of
        // seconds, so we send `bts:heartbeat`.
        ping: PingPolicy::Text(Duration::from_secs(10), super::heartbeat),
        sequencing: Sequencing::None,
        sends_deltas: false,
        symbols: SymbolStyle::Joined {
            hint: "Bitstamp symbols are upper case letters and digits, e.g. BTCUSD \
                   (lower-cased for the channel name)",
        },
    }),
    balances: None,
    aliases: &[],
    samples: &["BTCUSD", "ETHUSD"],
    described_by: None,
};
