//! Binance spot: `bookTicker` over combined streams.
//!
//! API docs: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams>
//! (connect `wss://stream.binance.com:9443/stream?streams=<symbol>@bookTicker/...`; the server
//! pings every 20 s and expects a pong within a minute, which tungstenite sends by itself;
//! `serverShutdown` announces a close; at most 1024 streams and 5 messages/s per connection).
//!
//! Balances: [`BinanceBalances`] polls `GET /api/v3/account`; [`stream::BinanceUserStream`]
//! takes the user data stream's pushes on the WebSocket API beside it.

pub mod fast;
pub mod parse;
pub mod sim;
pub mod stream;
pub mod wire;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{
    ConnState, FrameKind, ParsedQuote, PingPolicy, Sequencing, StreamingVenue, SymbolSpec,
};
use schemas::Market;
use std::time::Duration;

pub struct Binance;

pub const KIND: &str = "binance";

impl StreamingVenue for Binance {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn default_ws_url(&self) -> &'static str {
        "wss://stream.binance.com:9443"
    }
    /// Streams are named in the URL, so a reconnect resubscribes by itself.
    fn connect_url(&self, base: &str, symbols: &[&str]) -> String {
        let base = base.trim_end_matches('/');
        let base = base
            .strip_suffix("/ws")
            .or_else(|| base.strip_suffix("/stream"))
            .unwrap_or(base);
        let streams: Vec<String> = symbols
            .iter()
            .map(|s| format!("{}@bookTicker", s.to_ascii_lowercase()))
            .collect();
        format!("{base}/stream?streams={}", streams.join("/"))
    }
    fn subscribe_messages(&self, _symbols: &[&str]) -> Vec<String> {
        Vec::new()
    }
    /// `u` is the order book update id: a lower one is an older book.
    fn sequencing(&self) -> Sequencing {
        Sequencing::Increasing
    }
    fn ping_policy(&self) -> PingPolicy {
        PingPolicy::ServerPings
    }
    /// bookTicker is real-time; a liquid pair updates many times a second.
    fn expected_cadence(&self) -> Duration {
        Duration::from_secs(2)
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
        if !symbol.is_empty()
            && symbol
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            SymbolSpec::Joined {
                symbol,
                market: Market::Spot,
                expiry: None,
            }
        } else {
            SymbolSpec::Invalid("Binance symbols are upper case letters and digits, e.g. BTCUSDT")
        }
    }
    fn sample_symbols(&self) -> &'static [&'static str] {
        &["BTCUSDT", "ETHUSDT"]
    }
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        Box::pin(crate::sim::serve(sim::BinanceSim, options))
    }
}

/// Binance spot balances: signed `GET /api/v3/account` (weight 20), HMAC-SHA256 over the query.
///
/// API docs: <https://developers.binance.com/docs/binance-spot-api-docs/rest-api/account-endpoints>
/// and "Request Security" (signature = hex HMAC-SHA256 of the query string; `X-MBX-APIKEY`
/// header; `timestamp` in ms, `recvWindow` default 5000, max 60000).
pub struct BinanceBalances;

/// `recvWindow` we ask for: small enough that a replayed request is refused quickly, large
/// enough for a slow network path.
const RECV_WINDOW_MS: u32 = 5000;

/// A Binance SIGNED GET (spot and USD-M alike): `params` (each followed by `&`), then
/// `recvWindow` and `timestamp`, signed with hex HMAC-SHA256 of the whole query, and the key in
/// `X-MBX-APIKEY`.
pub(crate) fn signed_get(
    path: &str,
    params: &str,
    creds: &crate::auth::Credentials,
    now: schemas::Ts,
    weight: u32,
) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
    let query = format!(
        "{params}recvWindow={RECV_WINDOW_MS}&timestamp={}",
        now.millis()
    );
    let signature = crate::auth::sign::hmac_sha256_hex(creds.secret()?, &query);
    Ok(
        crate::transport::rest::RestRequest::get(path, format!("{query}&signature={signature}"))
            .header("X-MBX-APIKEY", creds.key()?)
            .weight(weight),
    )
}

impl crate::transport::rest::PollingVenue for BinanceBalances {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn source_kind(&self) -> schemas::SourceKind {
        schemas::SourceKind::Exchange
    }
    fn default_rest_url(&self) -> &'static str {
        "https://api.binance.com"
    }
    /// `REQUEST_WEIGHT` 6000 per minute per IP (`GET /api/v3/exchangeInfo` rateLimits).
    fn rate_limit(&self) -> crate::transport::rest::RateLimit {
        crate::transport::rest::RateLimit {
            capacity: 6000,
            per: Duration::from_secs(60),
        }
    }
    fn budget_scope(&self) -> crate::transport::rest::BudgetScope {
        crate::transport::rest::BudgetScope::Ip
    }
    fn request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        _cursor: Option<&str>,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        signed_get("/api/v3/account", "omitZeroBalances=true&", creds, now, 20)
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_account(body, emit)
    }
    fn demo_credentials(&self) -> crate::auth::Credentials {
        crate::auth::Credentials::new("demo-binance-key", "demo-binance-secret")
    }
    fn start_sim(&self, credentials: crate::auth::Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(
                crate::sim::rest::serve_rest(sim::BinanceRestSim, credentials)
                    .await?
                    .handle,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_url_names_the_streams() {
        assert_eq!(
            Binance.connect_url("wss://stream.binance.com:9443", &["BTCUSDT", "ETHUSDT"]),
            "wss://stream.binance.com:9443/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"
        );
        assert_eq!(
            Binance.connect_url("ws://127.0.0.1:9443/ws", &["BTCUSDT"]),
            "ws://127.0.0.1:9443/stream?streams=btcusdt@bookTicker"
        );
    }
}
