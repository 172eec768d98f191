//! Binance USDⓈ-M futures: `bookTicker` (best bid/ask) and `markPrice@1s` (mark and index) over
//! combined streams named in the URL.
//!
//! API docs: <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams>
//! (combined streams `/stream?streams=<symbol>@bookTicker/...`; symbols lower case in stream
//! names; the server pings every 3 minutes and drops a connection that has not answered within
//! 10 minutes, which tungstenite does by itself; a connection lives at most 24 h; at most 1024
//! streams and 10 incoming messages/s per connection).
//!
//! Endpoint tiers. Since the "Important WebSocket Change Notice — Base URL Split & Migration"
//! (<https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Important-WebSocket-Change-Notice>,
//! legacy URLs retired 2026-04-23) `fstream.binance.com` routes streams by path: `/public`
//! carries high-frequency data (`bookTicker`, `depth`), `/market` regular data (`markPrice`,
//! `aggTrade`, `kline`), and a path without a tier delivers `/public` streams only; a stream
//! asked of the wrong tier is silently never sent. One socket therefore cannot carry both streams
//! on production, so the path of the configured URL picks what this connector subscribes:
//! - `.../public` (the default): `bookTicker` only: bid/ask quotes;
//! - `.../market`: `markPrice@1s` only: mark/index quotes without bid/ask (run it as a second
//!   connector beside the first when mark and index are wanted);
//! - anything else (the built-in simulator, a proxy or a testnet that still serves both on one
//!   socket): both; markPrice quotes are then [`Merge::Patch`]ed onto the symbol's last
//!   bookTicker quote by the framework.
//!
//! The account's private user data stream (`ACCOUNT_UPDATE`, beside the REST poll) is
//! [`stream`].
//!
//! Symbols as Binance spells them: `BTCUSDT` is the perpetual (`BTC-USDT-PERP`),
//! `BTCUSDT_250926` the quarterly future expiring 2025-09-26 (`BTC-USDT-20250926`).
//!
//! [`Merge::Patch`]: crate::traits::Merge::Patch

pub mod account;
pub mod account_sim;
pub mod parse;
pub mod sim;
pub mod spec;
pub mod stream;
pub mod stream_sim;
pub mod wire;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue, SymbolSpec};
use schemas::Market;

pub struct BinanceUsdm;

pub const KIND: &str = "binance_usdm";

/// Suffix of the best bid/ask stream (`/public` tier).
pub const BOOK_TICKER: &str = "@bookTicker";
/// Suffix of the mark price stream (`/market` tier); `@1s` asks for the 1 s cadence instead of
/// the default 3 s (docs "Mark Price Stream").
pub const MARK_PRICE: &str = "@markPrice@1s";

/// Which streams a connection to `base` can carry (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Public,
    Market,
    /// No tier in the path: both streams, as one socket carried them before the split.
    Both,
}

impl Tier {
    /// The tier of a base URL (without `/ws` or `/stream`) or of a request path.
    pub fn of(base: &str) -> Tier {
        if base.ends_with("/public") || base.starts_with("/public/") {
            Tier::Public
        } else if base.ends_with("/market") || base.starts_with("/market/") {
            Tier::Market
        } else {
            Tier::Both
        }
    }
    pub fn carries_book(self) -> bool {
        self != Tier::Market
    }
    pub fn carries_mark(self) -> bool {
        self != Tier::Public
    }
}

/// Strips the access mode (`/ws`, `/stream`) and trailing slashes from a configured URL.
fn base_of(url: &str) -> &str {
    let base = url.trim_end_matches('/');
    base.strip_suffix("/ws")
        .or_else(|| base.strip_suffix("/stream"))
        .unwrap_or(base)
}

/// Whether `yymmdd` is a calendar date; returns it as `20YYMMDD`.
fn expiry(yymmdd: &str) -> Option<String> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| yymmdd[r].parse::<u32>().ok();
    let (y, m, d) = (n(0..2)?, n(2..4)?, n(4..6)?);
    chrono::NaiveDate::from_ymd_opt(2000 + y as i32, m, d)?;
    Some(format!("20{yymmdd}"))
}

impl StreamingVenue for BinanceUsdm {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    /// Streams are named in the URL, so a reconnect resubscribes by itself.
    fn connect_url(&self, base: &str, symbols: &[&str]) -> String {
        let base = base_of(base);
        let tier = Tier::of(base);
        let mut streams = Vec::with_capacity(symbols.len() * 2);
        for s in symbols {
            let s = s.to_ascii_lowercase();
            if tier.carries_book() {
                streams.push(format!("{s}{BOOK_TICKER}"));
            }
            if tier.carries_mark() {
                streams.push(format!("{s}{MARK_PRICE}"));
            }
        }
        format!("{base}/stream?streams={}", streams.join("/"))
    }
    fn subscribe_messages(&self, _symbols: &[&str]) -> Vec<String> {
        Vec::new()
    }
    fn parse(
        &self,
        frame: &str,
        _conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, emit)
    }
    fn split_symbol<'s>(&self, symbol: &'s str) -> SymbolSpec<'s> {
        const WHY: &str = "Binance USD-M symbols are upper case letters and digits, \
                           BTCUSDT (perpetual) or BTCUSDT_YYMMDD (quarterly future)";
        let (pair, date) = match symbol.split_once('_') {
            Some((pair, date)) => (pair, Some(date)),
            None => (symbol, None),
        };
        if pair.is_empty()
            || !pair
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return SymbolSpec::Invalid(WHY);
        }
        match date {
            None => SymbolSpec::Joined {
                symbol: pair,
                market: Market::Perpetual,
                expiry: None,
            },
            Some(date) => match expiry(date) {
                Some(expiry) => SymbolSpec::Joined {
                    symbol: pair,
                    market: Market::Future,
                    expiry: Some(expiry),
                },
                None => SymbolSpec::Invalid(WHY),
            },
        }
    }
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        Box::pin(crate::sim::serve(sim::BinanceUsdmSim, options))
    }
}

/// Binance USDⓈ-M futures balances: signed `GET /fapi/v3/balance` (weight 5).
///
/// API docs: <https://developers.binance.com/docs/derivatives/usds-margined-futures/account/rest-api/Futures-Account-Balance-V3>
/// and "General Info" § SIGNED endpoints (signature = hex HMAC-SHA256 of the query string with
/// the secret, `X-MBX-APIKEY` header, `timestamp` in ms, `recvWindow` default 5000). Rate limit:
/// `REQUEST_WEIGHT` 2400 per minute per IP (the `rateLimits` of `GET /fapi/v1/exchangeInfo`).
///
/// Semantics (total, available, locked, `as_of`): the "Balances" section of [`parse`]'s module doc.
pub struct BinanceUsdmBalances;

impl crate::transport::rest::PollingVenue for BinanceUsdmBalances {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        _cursor: Option<&str>,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        crate::venues::binance::signed_get("/fapi/v3/balance", "", creds, now, 5)
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_balance(body, emit)
    }
    /// Account information V3 (the totals) and position information V3 (the positions):
    /// [`account`]'s module doc.
    fn account_pages(&self) -> &'static [&'static str] {
        account::PAGES
    }
    /// The same SIGNED GET as the balance page, weight 5 each.
    fn account_request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        page: &str,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        if !account::PAGES.contains(&page) {
            return Err(crate::auth::AuthError::Invalid {
                field: "page",
                reason: format!("no account page {page:?}"),
            });
        }
        crate::venues::binance::signed_get(page, "", creds, now, 5)
    }
    fn parse_account(
        &self,
        path: &str,
        body: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        account::parse_account(path, body, emit)
    }
    fn demo_credentials(&self) -> crate::auth::Credentials {
        crate::auth::Credentials::new("demo-binance-usdm-key", "demo-binance-usdm-secret")
    }
    fn start_sim(&self, credentials: crate::auth::Credentials) -> SimFuture {
        Box::pin(async move {
            // The demo's margin cycle runs from the simulator's start (see `sim`).
            let proto = sim::BinanceUsdmRestSim::cycling(schemas::Ts::now());
            Ok(crate::sim::rest::serve_rest(proto, credentials)
                .await?
                .handle)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_url_names_the_streams_of_the_tier() {
        let v = BinanceUsdm;
        assert_eq!(
            v.connect_url(v.default_ws_url(), &["BTCUSDT", "ETHUSDT_250926"]),
            "wss://fstream.binance.com/public/stream?streams=btcusdt@bookTicker/ethusdt_250926@bookTicker"
        );
        assert_eq!(
            v.connect_url("wss://fstream.binance.com/market/ws/", &["BTCUSDT"]),
            "wss://fstream.binance.com/market/stream?streams=btcusdt@markPrice@1s"
        );
        assert_eq!(
            v.connect_url("ws://127.0.0.1:9443/stream", &["BTCUSDT", "ETHUSDT"]),
            "ws://127.0.0.1:9443/stream?streams=btcusdt@bookTicker/btcusdt@markPrice@1s/ethusdt@bookTicker/ethusdt@markPrice@1s"
        );
    }

    #[test]
    fn tiers_of_urls_and_paths() {
        assert_eq!(Tier::of("wss://fstream.binance.com/public"), Tier::Public);
        assert_eq!(Tier::of("/public/stream?streams=x"), Tier::Public);
        assert_eq!(Tier::of("wss://fstream.binance.com/market"), Tier::Market);
        assert_eq!(Tier::of("/market/ws/btcusdt@markPrice"), Tier::Market);
        assert_eq!(Tier::of("wss://fstream.binance.com"), Tier::Both);
        assert_eq!(Tier::of("/stream?streams=btcusdt@bookTicker"), Tier::Both);
    }

    #[test]
    fn expiry_dates_are_checked() {
        assert_eq!(expiry("250926").as_deref(), Some("20250926"));
        assert_eq!(expiry("240229").as_deref(), Some("20240229"));
        for bad in [
            "250229", "251301", "250900", "2509", "25092a", "2509266", "",
        ] {
            assert_eq!(expiry(bad), None, "{bad}");
        }
    }
}
