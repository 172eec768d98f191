//! Bitstamp spot, WebSocket API v2: the live order book channel `order_book_<pair>`, whose first
//! bid and ask levels are the best bid and ask.
//!
//! API docs: <https://www.bitstamp.net/websocket/v2/> (endpoint `wss://ws.bitstamp.net`; one
//! `{"event":"bts:subscribe","data":{"channel":"<name>"}}` per channel, acked by
//! `bts:subscription_succeeded`; `order_book_<pair>` sends the top 100 levels a side as a full
//! snapshot on every book change, `[price, amount]` decimal strings, best first, with
//! `timestamp` (s) and `microtimestamp` (µs) strings and no sequence number; the client checks
//! the server with `{"event":"bts:heartbeat"}`, answered by a `bts:heartbeat` event;
//! `bts:request_reconnect` gives a few seconds to reconnect before maintenance; `bts:error`
//! reports a refused request; at most 1024 subscriptions per connection).
//!
//! Bitstamp has no ticker or best-bid/offer channel: the full book is the cheapest source of a
//! two-sided quote (`diff_order_book` needs a REST snapshot and arrives less often; trades have
//! no bid/ask). A snapshot may briefly show bid >= ask (a warning of the docs, as quoted by a
//! third-party venue profile); such a quote is passed on as sent and the normalizer's
//! crossed-book check excludes it.
//!
//! Symbols: configured upper case, `BTCUSD` (the canonical codes the asset master splits),
//! lower-cased for the channel name (`order_book_btcusd`), which is how Bitstamp spells pairs;
//! the parser upper-cases the channel's pair back, so quotes carry the configured symbol.

pub mod parse;
pub mod sim;
pub mod spec;
pub mod wire;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue};

pub struct Bitstamp;

pub const KIND: &str = "bitstamp";

/// Channel name prefix of the live order book; the pair follows in lower case.
pub const CHANNEL_PREFIX: &str = "order_book_";

/// The docs' heartbeat request; the request id is not part of Bitstamp's protocol.
fn heartbeat(_req_id: u64) -> String {
    r#"{"event":"bts:heartbeat"}"#.to_owned()
}

impl StreamingVenue for Bitstamp {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String> {
        symbols
            .iter()
            .map(|s| {
                format!(
                    r#"{{"event":"bts:subscribe","data":{{"channel":"{CHANNEL_PREFIX}{}"}}}}"#,
                    s.to_ascii_lowercase()
                )
            })
            .collect()
    }
    fn parse(
        &self,
        frame: &str,
        _conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, emit)
    }
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        Box::pin(crate::sim::serve(sim::BitstampSim, options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_subscribe_per_symbol_with_the_lower_case_channel() {
        assert_eq!(
            Bitstamp.subscribe_messages(&["BTCUSD", "ETHUSD"]),
            [
                r#"{"event":"bts:subscribe","data":{"channel":"order_book_btcusd"}}"#,
                r#"{"event":"bts:subscribe","data":{"channel":"order_book_ethusd"}}"#,
            ]
        );
        assert_eq!(heartbeat(7), r#"{"event":"bts:heartbeat"}"#);
    }
}
