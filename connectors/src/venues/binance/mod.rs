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
pub mod spec;
pub mod stream;
pub mod wire;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue};

pub struct Binance;

pub const KIND: &str = "binance";

impl StreamingVenue for Binance {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
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
    fn parse(
        &self,
        frame: &str,
        _conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, emit)
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
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
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
