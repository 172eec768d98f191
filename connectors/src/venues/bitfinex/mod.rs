//! Bitfinex, WebSocket v2: the public `ticker` channel of trading pairs.
//!
//! API docs: <https://docs.bitfinex.com/docs/ws-general> (endpoint
//! `wss://api-pub.bitfinex.com/ws/2`; subscribe, info codes, error codes, heartbeats, ping) and
//! <https://docs.bitfinex.com/v1.0.0/reference/ws-public-ticker> (ticker arrays).
//!
//! - **Subscribe**: one `{"event":"subscribe","channel":"ticker","symbol":"tBTCUSD"}` per symbol
//!   (at most 30 public channels per connection, per the docs). The `subscribed` event binds a
//!   numeric `chanId` to the symbol ([`FrameKind::Bind`]); data frames `[chanId,[...]]` name only
//!   the channel, and the parser reads the binding from [`ConnState::channels`]. A data frame of
//!   an unbound channel is refused, never guessed.
//! - **Numbers** are JSON numbers, read exactly from their text (never through `f64`). The
//!   optional `conf` request is not sent: without flags the frames are the documented default
//!   (`FLAG_DEC_S` would turn numbers into strings, which the parser reads too).
//! - **Sizes**: BID_SIZE and ASK_SIZE are the sums of the 25 best levels (ticker docs), not the
//!   size at the best price, so quotes leave `bid_size` / `ask_size` empty.
//! - **Liveness**: `[chanId,"hb"]` after 15 s without data on a channel; the client sends
//!   `{"event":"ping","cid":n}` (answered by `pong`) so a silent socket is noticed.
//! - **Info codes**: 20051 (server restart) and 20061 (maintenance over; the docs advise
//!   resubscribing every channel) replace the connection; 20060 (maintenance starts) is
//!   control traffic, and the data that stops shows as STALE.
//! - **Sequencing**: with the `conf` flag SEQ_ALL a sequence number trails each frame; it is
//!   kept as the quote's `sequence` and only ever increases per channel (heartbeats use numbers
//!   too, so it is not contiguous per quote). Without it quotes carry none.
//! - **Symbols** are Bitfinex's own: `tBTCUSD`, `tBTCUST`, and `tBASE:QUOTE` when a code is
//!   longer than three letters (`tTESTBTC:TESTUSD`). Bitfinex spells some assets its own way
//!   (`UST` for USDT), declared in [`Bitfinex::asset_aliases`].

pub mod parse;
pub mod sim;
pub mod spec;
pub mod wire;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue, SymbolSpec};
use schemas::Market;

pub struct Bitfinex;

pub const KIND: &str = "bitfinex";

fn ping(cid: u64) -> String {
    format!(r#"{{"event":"ping","cid":{cid}}}"#)
}

/// `true` for a non-empty run of upper-case letters and digits (Bitfinex asset codes).
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl StreamingVenue for Bitfinex {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String> {
        symbols
            .iter()
            .map(|s| {
                let symbol = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
                format!(r#"{{"event":"subscribe","channel":"ticker","symbol":{symbol}}}"#)
            })
            .collect()
    }
    fn parse(
        &self,
        frame: &str,
        conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, conn, emit)
    }
    fn split_symbol<'s>(&self, symbol: &'s str) -> SymbolSpec<'s> {
        let Some(pair) = symbol.strip_prefix('t') else {
            return SymbolSpec::Invalid(if symbol.starts_with('f') {
                "Bitfinex funding symbols (fUSD) are not trading pairs; use tBASEQUOTE, e.g. tBTCUSD"
            } else {
                "Bitfinex trading pairs start with t, e.g. tBTCUSD or tTESTBTC:TESTUSD"
            });
        };
        match pair.split_once(':') {
            Some((base, quote)) if is_code(base) && is_code(quote) => SymbolSpec::Split {
                base,
                quote,
                market: Market::Spot,
                expiry: None,
            },
            None if is_code(pair) => SymbolSpec::Joined {
                symbol: pair,
                market: Market::Spot,
                expiry: None,
            },
            _ => SymbolSpec::Invalid(
                "Bitfinex trading pairs are tBASEQUOTE or tBASE:QUOTE in upper case, e.g. tBTCUSD",
            ),
        }
    }
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        Box::pin(crate::sim::serve(sim::BitfinexSim, options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_split_on_the_colon_or_stay_joined() {
        let b = Bitfinex;
        assert_eq!(
            b.split_symbol("tBTCUSD"),
            SymbolSpec::Joined {
                symbol: "BTCUSD",
                market: Market::Spot,
                expiry: None
            }
        );
        assert_eq!(
            b.split_symbol("tTESTBTC:TESTUSD"),
            SymbolSpec::Split {
                base: "TESTBTC",
                quote: "TESTUSD",
                market: Market::Spot,
                expiry: None
            }
        );
        for bad in [
            "BTCUSD",
            "fUSD",
            "t",
            "tbtcusd",
            "tBTC:",
            "t:USD",
            "tBTC:USD:X",
            "tBTC-USD",
        ] {
            assert!(
                matches!(b.split_symbol(bad), SymbolSpec::Invalid(_)),
                "{bad}"
            );
        }
    }
}
