//! Deribit's private WebSocket stream of balances: `user.portfolio.any` on
//! `wss://www.deribit.com/ws/api/v2` after `public/auth`, complementing
//! [`super::DeribitBalances`] (kind `deribit`, same client id and secret); the REST poll stays
//! the periodic truth that reconciles it.
//!
//! API docs: <https://docs.deribit.com/api-reference/authentication/public-auth>
//! (`grant_type` `client_signature`: `client_id`, `timestamp` in ms, `nonce`, `data` and
//! `signature` = hex HMAC-SHA256 of `timestamp + "\n" + nonce + "\n" + data` with the client
//! secret, the signature [`super::signature`] computes; the reply carries `access_token` and
//! `refresh_token`, credentials the connection is now bound to, redacted before a frame is
//! recorded), <https://docs.deribit.com/subscriptions/account/userportfoliocurrency>
//! (`user.portfolio.{currency}`, `any` for every currency: the account summary of a currency
//! pushed on change). Heartbeats as on the public connection: `public/set_heartbeat` with the
//! minimum interval, and a `test_request` answered with `public/test`. A refused login is a
//! JSON-RPC error (`13004 invalid_credentials` for an unknown client id, `13009 unauthorized`
//! for a bad signature, as ccxt#8696 and ccxt#9133 report them live).

use super::{
    parse, sim, HEARTBEAT_INTERVAL_S, ID_AUTH, ID_PRIVATE_SUBSCRIBE, ID_SET_HEARTBEAT, KIND,
};
use crate::auth::{AuthError, Credentials};
use crate::error::ParseError;
use crate::sim::SimFuture;
use crate::traits::{FrameKind, PingPolicy};
use crate::transport::rest::ParsedBalance;
use schemas::Ts;
use std::borrow::Cow;

pub struct DeribitPortfolioStream;

/// Every currency of the account in one subscription.
pub const PORTFOLIO_CHANNEL: &str = "user.portfolio.any";

/// The `public/auth` request of a client-signature login at `now`, with a fresh nonce.
pub fn auth_request(creds: &Credentials, now: Ts, nonce: &str) -> Result<String, AuthError> {
    let ts = now.millis();
    let data = "";
    let sig = super::signature(creds.secret()?, ts, nonce, data);
    let params = serde_json::json!({
        "grant_type": "client_signature",
        "client_id": creds.key()?,
        "timestamp": ts,
        "signature": sig,
        "nonce": nonce,
        "data": data,
    });
    Ok(format!(
        r#"{{"jsonrpc":"2.0","id":{ID_AUTH},"method":"public/auth","params":{params}}}"#
    ))
}

impl crate::transport::private_ws::BalanceStream for DeribitPortfolioStream {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn default_ws_url(&self) -> &'static str {
        "wss://www.deribit.com/ws/api/v2"
    }
    fn auth_messages(&self, creds: &Credentials, now: Ts) -> Result<Vec<String>, AuthError> {
        // The nonce is single use at the venue: a fresh random one per login.
        Ok(vec![auth_request(
            creds,
            now,
            &crate::auth::sign::random_hex(8),
        )?])
    }
    /// Heartbeats first (so a dead socket shows within 10 s), then the portfolio channel.
    fn subscribe_messages(&self) -> Vec<String> {
        vec![
            format!(
                r#"{{"jsonrpc":"2.0","id":{ID_SET_HEARTBEAT},"method":"public/set_heartbeat","params":{{"interval":{HEARTBEAT_INTERVAL_S}}}}}"#
            ),
            format!(
                r#"{{"jsonrpc":"2.0","id":{ID_PRIVATE_SUBSCRIBE},"method":"private/subscribe","params":{{"channels":["{PORTFOLIO_CHANNEL}"]}}}}"#
            ),
        ]
    }
    /// The venue's heartbeats and `test_request`s keep the session alive.
    fn ping_policy(&self) -> PingPolicy {
        PingPolicy::ServerPings
    }
    fn parse(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse_portfolio_stream(frame, emit)
    }
    /// The margin of a `user.portfolio` push (see [`super::account`]).
    fn parse_account(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        super::account::parse_portfolio_margin(frame, emit)
    }
    fn start_sim(&self, creds: Credentials) -> SimFuture {
        Box::pin(crate::sim::serve(
            sim::DeribitPrivateSim::new(creds),
            crate::sim::SimOptions::default(),
        ))
    }
    /// The `public/auth` reply's `access_token` and `refresh_token` are credentials.
    fn redact_frame<'a>(&self, frame: &'a str) -> Cow<'a, str> {
        redact_tokens(frame)
    }
}

/// `frame` with the values of `access_token` and `refresh_token` replaced by `<redacted>`,
/// wherever they are; a frame that is not JSON but names one is cut whole.
pub fn redact_tokens(frame: &str) -> Cow<'_, str> {
    if !frame.contains("access_token") && !frame.contains("refresh_token") {
        return Cow::Borrowed(frame);
    }
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "access_token" || k == "refresh_token" {
                        *x = serde_json::Value::String("<redacted>".into());
                    } else {
                        walk(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(frame) {
        Ok(mut v) => {
            walk(&mut v);
            Cow::Owned(v.to_string())
        }
        Err(_) => Cow::Borrowed("<redacted: unparsable frame naming a token>"),
    }
}
