//! Kraken spot, WebSocket v2: the `ticker` channel with `event_trigger: "bbo"`.
//!
//! API docs: <https://docs.kraken.com/api/docs/websocket-v2/ticker> (endpoint
//! `wss://ws.kraken.com/v2`; prices are JSON numbers, parsed here from their text, never through
//! f64; `{"channel":"heartbeat"}` about once a second; application ping
//! `{"method":"ping","req_id":n}` answered by `pong`).

pub mod parse;
pub mod sim;
pub mod spec;
pub mod stream;
pub mod wire;

pub use stream::KrakenBalanceStream;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue};

pub struct Kraken;

pub const KIND: &str = "kraken";

fn ping(req_id: u64) -> String {
    format!(r#"{{"method":"ping","req_id":{req_id}}}"#)
}

impl StreamingVenue for Kraken {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    /// `bbo` publishes on every best bid/offer change, which is what a mid price needs (the
    /// default trigger, trades, can leave a quiet book's quote minutes old).
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String> {
        let symbols = serde_json::to_string(symbols).unwrap_or_else(|_| "[]".into());
        vec![format!(
            r#"{{"method":"subscribe","params":{{"channel":"ticker","symbol":{symbols},"event_trigger":"bbo","snapshot":true}},"req_id":1}}"#
        )]
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
        Box::pin(crate::sim::serve(sim::KrakenSim, options))
    }
}

/// Kraken spot balances: `POST /0/private/BalanceEx`, form body `nonce=<ms>`, headers `API-Key`
/// and `API-Sign` = base64(HMAC-SHA512(base64decode(secret), uri_path + SHA256(nonce + postdata))).
///
/// API docs: <https://docs.kraken.com/api/docs/rest-api/get-extended-balance> (endpoint, fields,
/// symbol extensions), <https://docs.kraken.com/api/docs/guides/spot-rest-auth> (signing; the
/// published vector is reproduced in `auth::sign` tests), rate limits
/// <https://docs.kraken.com/api/docs/guides/spot-rest-ratelimits>: a per-key call counter, +1
/// per call, Starter tier max 15 decaying 0.33/s (Intermediate 20 / 0.5, Pro 20 / 1); over it,
/// `EAPI:Rate limit exceeded`. Modelled as 15 calls per 45 s (15 / 0.33), the Starter tier, so a
/// connector is safe on any tier. Errors come with HTTP 200 in the body's `error` array.
pub struct KrakenBalances;

/// Last nonce sent by this process: Kraken refuses a nonce not above the key's last one, and two
/// connectors sharing a key (or two pages) can sign in the same millisecond.
static LAST_NONCE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// The nonce for a request at `now_ms`: the time in ms, or one above the last nonce if that is
/// not larger (Kraken only requires an increasing 64-bit integer).
fn next_nonce(now_ms: i64) -> i64 {
    use std::sync::atomic::Ordering;
    let mut last = LAST_NONCE.load(Ordering::Relaxed);
    loop {
        let n = now_ms.max(last + 1);
        match LAST_NONCE.compare_exchange_weak(last, n, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return n,
            Err(l) => last = l,
        }
    }
}

pub const BALANCE_EX_PATH: &str = "/0/private/BalanceEx";

impl crate::transport::rest::PollingVenue for KrakenBalances {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        _cursor: Option<&str>,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        let nonce = next_nonce(now.millis()).to_string();
        let body = format!("nonce={nonce}");
        let sign =
            crate::auth::sign::kraken_api_sign(creds.secret()?, BALANCE_EX_PATH, &nonce, &body)?;
        Ok(
            crate::transport::rest::RestRequest::post(BALANCE_EX_PATH, body)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("API-Key", creds.key()?)
                .header("API-Sign", sign)
                .weight(1),
        )
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_balances(body, emit)
    }
    /// Demo only: a made-up key and a base64 secret (Kraken secrets are base64 of 64 bytes).
    fn demo_credentials(&self) -> crate::auth::Credentials {
        crate::auth::Credentials::new(
            "demo-kraken-key-not-real",
            "ZGVtby1rcmFrZW4tc2VjcmV0LW5vdC1yZWFsLWRlbW8ta3Jha2VuLXNlY3JldC1ub3QtcmVhbC0wMTIzNA==",
        )
    }
    fn start_sim(&self, credentials: crate::auth::Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(
                crate::sim::rest::serve_rest(sim::KrakenRestSim::default(), credentials)
                    .await?
                    .handle,
            )
        })
    }
}
