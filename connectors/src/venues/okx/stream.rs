//! OKX balances pushed on the private WebSocket, channel `account`, beside the REST poll of
//! [`super::OkxBalances`] (kind `okx`, same credentials).
//!
//! API docs: <https://www.okx.com/docs-v5/en/#overview-websocket-login> (login) and
//! <https://www.okx.com/docs-v5/en/#trading-account-websocket-account-channel> (the channel).
//!
//! - Endpoint `wss://ws.okx.com:8443/ws/v5/private`.
//! - Login: `{"op":"login","args":[{"apiKey":..,"passphrase":..,"timestamp":"<unix seconds>","sign":..}]}`
//!   with `sign` = Base64(HMAC-SHA256(secret, timestamp + "GET" + "/users/self/verify")), the
//!   REST signature of a GET of `/users/self/verify` with the timestamp in seconds. Ack:
//!   `{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}`; a refusal is
//!   `{"event":"error","code":"60009","msg":"Login failed.","connId":"a4d3ae55"}` (codes of the
//!   WebSocket error table: 60004 invalid timestamp, 60005 invalid apiKey, 60006 timestamp
//!   expired, 60007 invalid sign, 60024 wrong passphrase, 60011 "Please log in" for a
//!   subscribe before login).
//! - Subscribe `{"op":"subscribe","args":[{"channel":"account"}]}`, acked with
//!   `{"event":"subscribe","arg":{"channel":"account"},"connId":".."}`. The first push holds
//!   every currency with a balance, later ones what changed (and a periodic push), in the
//!   `GET /api/v5/account/balance` shape: `{"arg":{"channel":"account","uid":".."},"data":[{"details":[...],"uTime":"..",...}]}`.
//! - Also `{"channel":"positions","instType":"ANY"}`: every position of the account on
//!   subscription, then each one that changes (`pos` `"0"` once closed), read by
//!   [`super::account`] like the REST positions; the `account` push's margin fields likewise.
//! - Keep-alive as on the public socket: the bare text `ping` every 20 s, answered by `pong`;
//!   OKX closes a connection silent for 30 s.
//! - `""` means "not applicable": `None`, never 0 (the REST parser's rules, shared).

use crate::auth::{AuthError, Credentials};
use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{FrameKind, PingPolicy};
use crate::transport::rest::ParsedBalance;
use schemas::Ts;
use std::time::Duration;

/// The private `account` stream of an OKX trading account (see the module docs).
pub struct OkxAccountStream;

/// The subscription: balances and margin (`account`), positions of every type (`positions`,
/// `instType` `ANY`: docs "Positions channel").
pub const SUBSCRIBE: &str =
    r#"{"op":"subscribe","args":[{"channel":"account"},{"channel":"positions","instType":"ANY"}]}"#;

/// The path OKX signs for a WebSocket login.
pub const LOGIN_PATH: &str = "/users/self/verify";

/// The login signature, as OKX documents it (`timestamp` in Unix seconds).
pub fn okx_login_sign(secret: &str, timestamp_s: &str) -> String {
    super::okx_sign(secret, timestamp_s, "GET", LOGIN_PATH, "")
}

impl crate::transport::private_ws::BalanceStream for OkxAccountStream {
    fn kind(&self) -> &'static str {
        super::KIND
    }
    fn default_ws_url(&self) -> &'static str {
        "wss://ws.okx.com:8443/ws/v5/private"
    }
    fn auth_messages(&self, creds: &Credentials, now: Ts) -> Result<Vec<String>, AuthError> {
        let ts = now.millis().div_euclid(1000).to_string();
        let sign = okx_login_sign(creds.secret()?, &ts);
        let login = serde_json::json!({
            "op": "login",
            "args": [{
                "apiKey": creds.key()?,
                "passphrase": creds.passphrase()?,
                "timestamp": ts,
                "sign": sign,
            }]
        });
        Ok(vec![login.to_string()])
    }
    /// The `account` channel (balances, and the account's margin) and the `positions` channel
    /// of every instrument type (pushed positions, see [`super::account`]).
    fn subscribe_messages(&self) -> Vec<String> {
        vec![SUBSCRIBE.to_owned()]
    }
    fn parse_account(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        super::account::parse_stream_account(frame, emit)
    }
    /// The text `ping` every 20 s (OKX drops a connection silent for 30 s).
    fn ping_policy(&self) -> PingPolicy {
        PingPolicy::Text(Duration::from_secs(20), super::ping)
    }
    fn parse(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<FrameKind, ParseError> {
        super::parse::parse_account_stream(frame, emit)
    }
    fn start_sim(&self, creds: Credentials) -> SimFuture {
        Box::pin(crate::sim::serve(
            super::sim::OkxPrivateSim::new(creds),
            SimOptions::default(),
        ))
    }
}
