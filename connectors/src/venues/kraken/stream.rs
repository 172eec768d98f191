//! Kraken's private WebSocket v2 stream of balances: channel `balances` on
//! `wss://ws-auth.kraken.com/v2`, complementing [`super::KrakenBalances`] (kind `kraken`, same
//! credentials); the REST poll stays the periodic truth that reconciles it.
//!
//! API docs: <https://docs.kraken.com/api/docs/websocket-v2/balances> (subscribe with
//! `token`, a snapshot per asset and wallet, then one update per ledger entry carrying the
//! asset's new `balance`), <https://docs.kraken.com/api/docs/rest-api/get-websockets-token>
//! (`POST /0/private/GetWebSocketsToken`, signed like every private REST call; the token must
//! be used within 15 minutes and then lasts as long as the connection) and
//! <https://docs.kraken.com/api/docs/guides/spot-ws-auth> ("obtain a fresh token on each
//! connection"). There is no auth frame: the token rides in the subscribe request. A stale or
//! wrong token is refused as `{"error":"ESession:Invalid session","method":"subscribe",
//! "success":false,...}` (the error knowm/XChange#3697 and ccxt#9924 report live). Ping
//! `{"method":"ping","req_id":n}` every 20 s, as on the public socket.

use super::{parse, sim, KIND};
use crate::auth::{AuthError, Credentials, Secret};
use crate::error::ParseError;
use crate::sim::SimFuture;
use crate::traits::{FrameKind, PingPolicy};
use crate::transport::rest::{ParsedBalance, RestRequest};
use schemas::Ts;
use std::time::Duration;

pub struct KrakenBalanceStream;

pub const WS_TOKEN_PATH: &str = "/0/private/GetWebSocketsToken";

fn ping(req_id: u64) -> String {
    format!(r#"{{"method":"ping","req_id":{req_id}}}"#)
}

/// The `balances` subscribe request of a connection holding `token` (snapshot first).
pub fn subscribe_with(token: &str) -> String {
    let token = serde_json::to_string(token).unwrap_or_else(|_| "\"\"".into());
    format!(
        r#"{{"method":"subscribe","params":{{"channel":"balances","token":{token},"snapshot":true}},"req_id":1}}"#
    )
}

impl crate::transport::private_ws::BalanceStream for KrakenBalanceStream {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn default_ws_url(&self) -> &'static str {
        "wss://ws-auth.kraken.com/v2"
    }
    /// None: the token authenticates the subscribe request itself.
    fn auth_messages(&self, _creds: &Credentials, _now: Ts) -> Result<Vec<String>, AuthError> {
        Ok(Vec::new())
    }
    /// Without a token Kraken refuses the channel; the loop always has one for this venue
    /// ([`Self::subscribe_messages_with_token`]).
    fn subscribe_messages(&self) -> Vec<String> {
        vec![subscribe_with("")]
    }
    fn ping_policy(&self) -> PingPolicy {
        PingPolicy::Text(Duration::from_secs(20), ping)
    }
    fn parse(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse_balances_stream(frame, emit)
    }
    fn start_sim(&self, creds: Credentials) -> SimFuture {
        Box::pin(sim::serve_private(creds))
    }
    /// `POST /0/private/GetWebSocketsToken`, form body `nonce=<n>`, signed as `BalanceEx` (the
    /// nonce shared with the poller, so the two never send the same one).
    fn token_request(
        &self,
        creds: &Credentials,
        now: Ts,
    ) -> Result<Option<RestRequest>, AuthError> {
        let nonce = super::next_nonce(now.millis()).to_string();
        let body = format!("nonce={nonce}");
        let sign =
            crate::auth::sign::kraken_api_sign(creds.secret()?, WS_TOKEN_PATH, &nonce, &body)?;
        Ok(Some(
            RestRequest::post(WS_TOKEN_PATH, body)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("API-Key", creds.key()?)
                .header("API-Sign", sign),
        ))
    }
    fn parse_token(&self, body: &str) -> Result<Secret, ParseError> {
        parse::parse_ws_token(body)
    }
    fn subscribe_messages_with_token(&self, token: &Secret) -> Vec<String> {
        vec![subscribe_with(token.expose())]
    }
}
