//! Binance spot balances pushed over the user data stream, beside the REST poll of
//! [`super::BinanceBalances`] (kind `binance`, same credentials).
//!
//! API docs: <https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/user-data-stream-requests>
//! (`userDataStream.subscribe.signature`), the WebSocket API's "Request security" (HMAC
//! signature of the request's parameters sorted by name, `parameter=value` joined by `&`,
//! hex HMAC-SHA256 with the secret key) and
//! <https://developers.binance.com/docs/binance-spot-api-docs/user-data-stream> (events).
//!
//! Why the WebSocket API and not a listen key: Binance deprecated the spot listen key
//! (`POST /api/v3/userDataStream` + `wss://stream.binance.com:9443/ws/<listenKey>`) on
//! 2025-04-07 and discontinued it on 2026-02-20 ("Notice on Binance Spot API Update"). The
//! replacement is a request on the WebSocket API, `wss://ws-api.binance.com:443/ws-api/v3`:
//! `{"id":..,"method":"userDataStream.subscribe.signature","params":{"apiKey":..,"recvWindow":..,"timestamp":..,"signature":..}}`,
//! which works with an HMAC key on an unauthenticated connection (`userDataStream.subscribe`
//! needs a `session.logon`, which takes Ed25519 keys only). One signed request both
//! authenticates and subscribes; the reply is `{"id":..,"status":200,"result":{"subscriptionId":0}}`
//! and events then come as `{"subscriptionId":0,"event":{...}}`. No REST step, no keep-alive:
//! the subscription lives as long as the connection (at most 24 h, then the server closes it
//! and the loop reconnects and signs again).
//!
//! Keep-alive: the server sends a ping frame every 20 s and drops a connection that does not
//! pong within a minute; tungstenite pongs by itself ([`PingPolicy::ServerPings`]).

use crate::auth::{AuthError, Credentials};
use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{FrameKind, PingPolicy};
use crate::transport::rest::ParsedBalance;
use schemas::Ts;

/// The private balance stream of a Binance spot account (see the module docs).
pub struct BinanceUserStream;

/// The signature of a WebSocket API request, as Binance documents it: every parameter except
/// `signature`, sorted by name, as `name=value` pairs joined by `&`, signed with hex
/// HMAC-SHA256 of the secret key.
pub fn ws_api_sign(secret: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let payload: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    crate::auth::sign::hmac_sha256_hex(secret, &payload.join("&"))
}

/// The request id of the subscription (echoed in the reply).
pub const SUBSCRIBE_ID: &str = "balances";

impl crate::transport::private_ws::BalanceStream for BinanceUserStream {
    fn kind(&self) -> &'static str {
        super::KIND
    }
    fn default_ws_url(&self) -> &'static str {
        "wss://ws-api.binance.com:443/ws-api/v3"
    }
    /// The one signed `userDataStream.subscribe.signature` request: it authenticates and
    /// subscribes at once, so there are no further subscribe messages.
    fn auth_messages(&self, creds: &Credentials, now: Ts) -> Result<Vec<String>, AuthError> {
        let key = creds.key()?;
        let window = super::RECV_WINDOW_MS.to_string();
        let ts = now.millis().to_string();
        let signature = ws_api_sign(
            creds.secret()?,
            &[("apiKey", key), ("recvWindow", &window), ("timestamp", &ts)],
        );
        let key = serde_json::to_string(key).map_err(|e| AuthError::Invalid {
            field: "api_key",
            reason: e.to_string(),
        })?;
        Ok(vec![format!(
            r#"{{"id":"{SUBSCRIBE_ID}","method":"userDataStream.subscribe.signature","params":{{"apiKey":{key},"recvWindow":{window},"timestamp":{ts},"signature":"{signature}"}}}}"#
        )])
    }
    fn subscribe_messages(&self) -> Vec<String> {
        Vec::new()
    }
    fn ping_policy(&self) -> PingPolicy {
        PingPolicy::ServerPings
    }
    fn parse(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<FrameKind, ParseError> {
        super::parse::parse_user_stream(frame, emit)
    }
    fn start_sim(&self, creds: Credentials) -> SimFuture {
        Box::pin(crate::sim::serve(
            super::sim::BinanceUserStreamSim::new(creds),
            SimOptions::default(),
        ))
    }
}
