//! `bitfinex` declared as data (see [`crate::spec`]): v2 `ticker` prices only.

use crate::spec::{PriceSpec, SymbolStyle, VenueSpec};
use crate::traits::{PingPolicy, Sequencing};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Exchange,
    prices: Some(PriceSpec {
        ws_url: "wss://api-pub.bitfinex.com/ws/2",
        // The ticker of a liquid pair changes every second or so.
        cadence: Duration::from_secs(5),
        ping: PingPolicy::Text(Duration::from_secs(20), super::ping),
        sequencing: Sequencing::Increasing,
        sends_deltas: false,
        // `t` prefix, `tBASEQUOTE` or `tBASE:QUOTE`: `Bitfinex::split_symbol`.
        symbols: SymbolStyle::Own,
    }),
    balances: None,
    // Bitfinex's legacy codes (module docs).
    aliases: &[
        ("UST", "USDT"),
        ("UDC", "USDC"),
        ("TSD", "TUSD"),
        ("ATO", "ATOM"),
    ],
    samples: &["tBTCUSD", "tETHUSD"],
    described_by: None,
};
