//! Bybit's private WebSocket stream of the unified account (`wallet` and `position` topics),
//! beside the REST poll of [`super::BybitBalances`]. In `stream.rs` like every venue's private
//! stream.

use super::{account, parse, ping, sim, BALANCES, PING_EVERY};
use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{FrameKind, PingPolicy};

/// Bybit's private WebSocket stream of the unified account's balances: topic `wallet` on
/// `wss://stream.bybit.com/v5/private`, complementing [`BybitBalances`] (kind `bybit`, same
/// credentials); the REST poll stays the periodic truth that reconciles it.
///
/// API docs: <https://bybit-exchange.github.io/docs/v5/ws/connect> (§ Authentication:
/// `{"req_id":"10001","op":"auth","args":[api_key, expires, signature]}` with `signature` =
/// hex HMAC-SHA256 of `"GET/realtime" + expires`, `expires` a ms timestamp in the future) and
/// <https://bybit-exchange.github.io/docs/v5/websocket/private/wallet> (the push: the same
/// account and coin objects as the REST wallet balance, no snapshot/delta, pushed on change).
/// Ack: `{"success":true,"ret_msg":"","op":"auth","conn_id":"..."}`; a refused login is
/// `success:false`, live as `"ret_msg":"Params Error"` (reported in bybit-exchange/pybit#152
/// and #300 for late `expires`). Ping `{"req_id":"1","op":"ping"}` every 20 s, answered by
/// `{"req_id":"1","op":"pong","args":["<ms>"],"conn_id":"..."}`.
pub struct BybitWalletStream;

/// How far ahead `expires` is set. The docs' example adds 1 s; pybit#152 reports logins refused
/// with 1 s and accepted with 10 s over ordinary latency, so 10 s.
pub const AUTH_EXPIRES_MS: i64 = 10_000;

/// The signature of a private-stream login, as Bybit documents it.
pub fn bybit_ws_sign(secret: &str, expires_ms: i64) -> String {
    crate::auth::sign::hmac_sha256_hex(secret, &format!("GET/realtime{expires_ms}"))
}

impl crate::transport::private_ws::BalanceStream for BybitWalletStream {
    fn kind(&self) -> &'static str {
        BALANCES
    }
    fn default_ws_url(&self) -> &'static str {
        "wss://stream.bybit.com/v5/private"
    }
    fn auth_messages(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
    ) -> Result<Vec<String>, crate::auth::AuthError> {
        let key = creds.key()?;
        let expires = now.millis() + AUTH_EXPIRES_MS;
        let sign = bybit_ws_sign(creds.secret()?, expires);
        let key = serde_json::to_string(key).map_err(|e| crate::auth::AuthError::Invalid {
            field: "api_key",
            reason: e.to_string(),
        })?;
        Ok(vec![format!(
            r#"{{"req_id":"auth","op":"auth","args":[{key},{expires},"{sign}"]}}"#
        )])
    }
    /// The wallet and, for margin.md section 1, the positions (all categories).
    fn subscribe_messages(&self) -> Vec<String> {
        vec![r#"{"op":"subscribe","args":["wallet","position"]}"#.to_owned()]
    }
    fn ping_policy(&self) -> PingPolicy {
        PingPolicy::Text(PING_EVERY, ping)
    }
    fn parse(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse_wallet_stream(frame, emit)
    }
    /// The account-level margin of `wallet` pushes and the positions of `position` pushes.
    fn parse_account(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        account::parse_stream_account(frame, emit)
    }
    fn start_sim(&self, creds: crate::auth::Credentials) -> SimFuture {
        Box::pin(crate::sim::serve(
            sim::BybitPrivateSim::new(creds),
            SimOptions::default(),
        ))
    }
}
