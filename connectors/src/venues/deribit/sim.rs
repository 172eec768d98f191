//! Deribit's JSON-RPC server side: `public/subscribe` answered with the list of channels
//! subscribed, `public/set_heartbeat` with `"ok"`, `public/test` with the API version, and a
//! JSON-RPC error for anything else. Once heartbeats are set, every heartbeat tick sends a
//! `test_request` or a plain `heartbeat` in turn, and a `test_request` left unanswered for one
//! interval closes the connection, as Deribit does. Ticker frames write every number as a JSON
//! number from the decimal's own text.
//!
//! [`DeribitRestSim`] is the HTTP side for balances and positions (signed
//! `private/get_account_summaries` and `private/get_positions`, [`super::sim_account`]).
//!
//! Error codes where Deribit's docs give none for a case are JSON-RPC's standard ones
//! (-32700 parse error, -32601 method not found, -32602 invalid params).

use super::{split_name, HEARTBEAT_INTERVAL_S};
use crate::sim::{SimProtocol, SimQuote, SimSession};
use crate::traits::StreamingVenue;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::time::Duration;

pub struct DeribitSim {
    /// How long a `test_request` may stay unanswered before the server closes the socket.
    /// Deribit's deadline is the heartbeat interval; the sim's interval is its heartbeat tick, so
    /// tests run in milliseconds what Deribit does in seconds.
    reply_within: Duration,
}

impl DeribitSim {
    pub fn new(reply_within: Duration) -> Self {
        DeribitSim { reply_within }
    }
}

impl Default for DeribitSim {
    fn default() -> Self {
        DeribitSim::new(Duration::from_secs(HEARTBEAT_INTERVAL_S))
    }
}

/// Response envelope with Deribit's timing fields (`usIn`/`usOut`/`usDiff`, microseconds).
fn reply(id: &Value, outcome: (&str, Value), session: &SimSession) -> String {
    let us = session.now.micros();
    let (key, value) = outcome;
    json!({"jsonrpc": "2.0", "id": id, key: value, "usIn": us, "usOut": us + 50, "usDiff": 50, "testnet": false})
        .to_string()
}

fn error(code: i64, message: &str) -> (&'static str, Value) {
    ("error", json!({"code": code, "message": message}))
}

/// `ticker.BTC-PERPETUAL.100ms` -> `BTC-PERPETUAL`. `raw` is left out because it needs an
/// authorised session, which the sim does not model; options are not simulated.
fn ticker_channel(channel: &str) -> Option<&str> {
    let (instrument, interval) = channel.strip_prefix("ticker.")?.rsplit_once('.')?;
    (matches!(interval, "100ms" | "agg2") && split_name(instrument).is_ok()).then_some(instrument)
}

impl SimProtocol for DeribitSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::Deribit
    }

    fn on_connect(&self, _path: &str, _session: &mut SimSession) -> Vec<String> {
        Vec::new() // Deribit says nothing until asked.
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let Ok(req) = serde_json::from_str::<Value>(text) else {
            return vec![reply(&Value::Null, error(-32700, "Parse error"), session)];
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let params = &req["params"];
        let outcome = match req["method"].as_str() {
            Some("public/subscribe") => {
                let mut subscribed = Vec::new();
                for ch in params["channels"].as_array().into_iter().flatten() {
                    let Some(ch) = ch.as_str() else { continue };
                    if let Some(instrument) = ticker_channel(ch) {
                        session.subscribe(instrument);
                        subscribed.push(ch.to_owned());
                    }
                }
                ("result", json!(subscribed))
            }
            Some("public/set_heartbeat") => match params["interval"].as_u64() {
                // Deribit's minimum interval is 10 s.
                Some(i) if i >= 10 => {
                    session.heartbeats = true;
                    ("result", json!("ok"))
                }
                _ => error(-32602, "Invalid params"),
            },
            Some("public/disable_heartbeat") => {
                session.heartbeats = false;
                session.awaiting_reply = None;
                ("result", json!("ok"))
            }
            Some("public/test") => {
                session.awaiting_reply = None;
                ("result", json!({"version": "1.2.26"}))
            }
            _ => error(-32601, "Method not found"),
        };
        vec![reply(&id, outcome, session)]
    }

    fn heartbeat(&self, session: &mut SimSession) -> Option<String> {
        const TEST_REQUEST: &str =
            r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}"#;
        const HEARTBEAT: &str =
            r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}"#;
        if !session.heartbeats {
            return None;
        }
        if let Some(sent) = session.awaiting_reply {
            // Measured on the clock, not in ticks: a late tick (a busy test machine) must not
            // shorten the client's time to answer.
            if session.now.millis_since(sent) >= self.reply_within.as_millis() as i64 {
                session.close = true;
                return None;
            }
            return Some(HEARTBEAT.to_owned());
        }
        if session.next_seq().is_multiple_of(2) {
            session.awaiting_reply = Some(session.now);
            Some(TEST_REQUEST.to_owned())
        } else {
            Some(HEARTBEAT.to_owned())
        }
    }

    fn ticker(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        let mark = (q.bid + q.ask) / Decimal::TWO;
        let index = mark.round_dp(2);
        // Field order and the fields themselves as in the captured BTC-PERPETUAL ticker.
        format!(
            r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"ticker.{symbol}.100ms","data":{{"timestamp":{},"state":"open","stats":{{"high":{},"low":{},"price_change":0.1,"volume":{},"volume_usd":{}}},"index_price":{index},"instrument_name":"{symbol}","last_price":{},"settlement_price":{index},"min_price":{},"max_price":{},"open_interest":1132329370.0,"mark_price":{mark},"best_ask_price":{},"best_bid_price":{},"estimated_delivery_price":{index},"best_ask_amount":{},"best_bid_amount":{},"current_funding":0.0,"funding_8h":1.742e-05}}}}}}"#,
            session.now.millis(),
            q.ask,
            q.bid,
            q.volume_24h,
            (q.volume_24h * mark).round_dp(0),
            q.last,
            (mark * Decimal::new(97, 2)).round_dp(q.dp),
            (mark * Decimal::new(103, 2)).round_dp(q.dp),
            q.ask,
            q.bid,
            q.ask_size,
            q.bid_size,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::Ts;

    fn session_with_heartbeats() -> SimSession {
        let mut s = SimSession {
            now: Ts::from_millis(1_000_000),
            ..Default::default()
        };
        let r = DeribitSim::default().on_text(
            r#"{"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":10}}"#,
            &mut s,
        );
        assert!(r[0].contains(r#""result":"ok""#), "{r:?}");
        s
    }

    #[test]
    fn no_heartbeats_until_asked() {
        let mut s = SimSession::default();
        assert_eq!(DeribitSim::default().heartbeat(&mut s), None);
    }

    #[test]
    fn an_answered_test_request_keeps_the_connection() {
        let sim = DeribitSim::new(Duration::from_millis(200));
        let mut s = session_with_heartbeats();
        let hb = sim.heartbeat(&mut s).unwrap();
        assert!(hb.contains("test_request"), "{hb}");
        s.now = s.now.plus_millis(150);
        let r = sim.on_text(super::super::TEST_REPLY, &mut s);
        assert!(r[0].contains("version"), "{r:?}");
        s.now = s.now.plus_millis(500);
        assert!(sim
            .heartbeat(&mut s)
            .unwrap()
            .contains(r#""type":"heartbeat""#));
        assert!(sim.heartbeat(&mut s).unwrap().contains("test_request"));
        assert!(!s.close);
    }

    #[test]
    fn an_unanswered_test_request_closes_the_connection() {
        let sim = DeribitSim::new(Duration::from_millis(200));
        let mut s = session_with_heartbeats();
        assert!(sim.heartbeat(&mut s).unwrap().contains("test_request"));
        // A tick before the deadline (a burst of late ticks) is a plain heartbeat.
        s.now = s.now.plus_millis(199);
        assert!(sim
            .heartbeat(&mut s)
            .unwrap()
            .contains(r#""type":"heartbeat""#));
        assert!(!s.close);
        s.now = s.now.plus_millis(1);
        assert_eq!(sim.heartbeat(&mut s), None);
        assert!(s.close);
    }

    #[test]
    fn set_heartbeat_below_ten_seconds_is_refused() {
        let mut s = SimSession::default();
        let r = DeribitSim::default().on_text(
            r#"{"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":5}}"#,
            &mut s,
        );
        assert!(r[0].contains("-32602"), "{r:?}");
        assert!(!s.heartbeats);
    }
}

/// Deribit's HTTP JSON-RPC endpoint for `private/get_account_summaries`, checking the
/// `deri-hmac-sha256` `Authorization` header the way the docs describe it: the client id, the
/// timestamp (valid for 60 s), the HMAC-SHA256 signature over `ts\nnonce\nRequestData`, and a
/// nonce used only once. Refusals are Deribit's JSON-RPC error bodies, HTTP 401:
/// - no or unreadable signed header: 10000 `authorization_required` ("invalid or absent
///   signature"),
/// - an unknown client id: 13004 `invalid_credentials` ("invalid credentials have been used"),
/// - a bad signature, a stale timestamp or a reused nonce: 13009 `unauthorized` ("wrong or
///   expired authorization token or bad signature"; ccxt/ccxt#9133 shows this body, XChange#3783
///   its HTTP status 401).
///
/// The docs name no code for an unknown method over HTTP; JSON-RPC's -32601 is used, HTTP 404.
/// A timestamp more than 60 s in the future is refused too (the docs state only the past bound).
#[derive(Default)]
pub struct DeribitRestSim {
    /// Nonces seen within the timestamp window, with their timestamps (ms), oldest first.
    nonces: std::sync::Mutex<std::collections::VecDeque<(i64, String)>>,
}

/// How long a signed request's timestamp stays valid (docs: 60 seconds).
pub const SIGNATURE_VALID_MS: i64 = 60_000;

/// The simulated account, as Deribit writes it (JSON numbers; integers without a fraction):
/// currency, balance, equity, available_funds, margin_balance, initial_margin,
/// maintenance_margin, available_withdrawal_funds.
pub const SIM_SUMMARIES: &[[&str; 8]] = &[
    [
        "BTC",
        "12.50215433",
        "12.53842109",
        "11.98310512",
        "12.53842109",
        "0.55531597",
        "0.41203118",
        "11.94683836",
    ],
    [
        "ETH",
        "300",
        "300",
        "299.999598",
        "300",
        "0.000402",
        "0",
        "299.999597",
    ],
    [
        "USDC",
        "1500000.1234",
        "1500000.1234",
        "1500000.1234",
        "1500000.1234",
        "0",
        "0",
        "1500000.1234",
    ],
    [
        "USDT", "25000", "25000", "25000", "25000", "0", "0", "25000",
    ],
];

/// A JSON-RPC error reply as Deribit sends it over HTTP (no `id` for a GET without one).
pub fn rpc_error(code: i64, message: &str, now: schemas::Ts) -> String {
    let us = now.micros();
    format!(
        r#"{{"jsonrpc":"2.0","error":{{"message":"{message}","code":{code}}},"testnet":false,"usIn":{us},"usOut":{us},"usDiff":0}}"#
    )
}

/// The fields of a `deri-hmac-sha256` header: id, ts, sig, nonce. The docs write them with a
/// space after each comma, SDKs without; both are read.
fn signed_header(value: &str) -> Option<(&str, i64, &str, &str)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case(super::AUTH_SCHEME) {
        return None;
    }
    let (mut id, mut ts, mut sig, mut nonce) = (None, None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=')? {
            ("id", v) => id = Some(v),
            ("ts", v) => ts = v.parse::<i64>().ok(),
            ("sig", v) => sig = Some(v),
            ("nonce", v) => nonce = Some(v),
            _ => {}
        }
    }
    Some((id?, ts?, sig?, nonce?))
}

impl crate::sim::rest::RestSimProtocol for DeribitRestSim {
    fn handle(
        &self,
        req: &crate::sim::rest::SimHttpRequest,
        ctx: &crate::sim::rest::RestSimCtx<'_>,
    ) -> crate::sim::rest::SimHttpResponse {
        use crate::sim::rest::SimHttpResponse as R;
        let now = ctx.now;
        let refuse = |code, message: &str| R::json(401, rpc_error(code, message, now));
        let known = [
            super::ACCOUNT_SUMMARIES_PATH,
            super::account::POSITIONS_PATH,
        ];
        if !known.contains(&req.path.as_str()) || !matches!(req.method.as_str(), "GET" | "POST") {
            return R::json(404, rpc_error(-32601, "Method not found", now));
        }
        let (Ok(id), Ok(secret)) = (ctx.credentials.key(), ctx.credentials.secret()) else {
            return R::json(500, rpc_error(11094, "internal_server_error", now));
        };
        let Some((client_id, ts, sig, nonce)) = req.header("authorization").and_then(signed_header)
        else {
            return refuse(10000, "authorization_required");
        };
        if !crate::auth::sign::same(client_id, id) {
            return refuse(13004, "invalid_credentials");
        }
        let age = now.millis() - ts;
        if !(-SIGNATURE_VALID_MS..=SIGNATURE_VALID_MS).contains(&age) {
            return refuse(13009, "unauthorized");
        }
        let uri = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        let expected = super::signature(
            secret,
            ts,
            nonce,
            &super::request_data(&req.method, &uri, &req.body),
        );
        if !crate::auth::sign::same(&expected, &sig.to_ascii_lowercase()) {
            return refuse(13009, "unauthorized");
        }
        {
            let mut seen = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
            // Older nonces can no longer be replayed: their timestamps are out of the window.
            while seen
                .front()
                .is_some_and(|(t, _)| now.millis() - t > SIGNATURE_VALID_MS)
            {
                seen.pop_front();
            }
            if seen.iter().any(|(_, n)| n == nonce) {
                return refuse(13009, "unauthorized");
            }
            seen.push_back((ts, nonce.to_owned()));
        }
        if req.path == super::account::POSITIONS_PATH {
            return R::json(200, super::sim_account::positions_body(now));
        }
        R::json(200, summaries_body(now))
    }
}

/// A `private/get_account_summaries` reply at `now`: the balances of [`SIM_SUMMARIES`], the
/// margin of [`super::sim_account`]'s positions; numbers written raw (never through a float),
/// fields in the order Deribit's reply has them.
pub fn summaries_body(now: schemas::Ts) -> String {
    let summaries: Vec<String> = super::sim_account::summaries(now)
        .iter()
        .map(super::sim_account::summary_json)
        .collect();
    let us = now.micros();
    format!(
        r#"{{"jsonrpc":"2.0","result":{{"id":10,"username":"sim","system_name":"sim","type":"main","summaries":[{}]}},"testnet":false,"usIn":{us},"usOut":{us},"usDiff":0}}"#,
        summaries.join(",")
    )
}

/// Deribit's private side of the WebSocket API for balances: `public/auth` with
/// `client_signature`, checked as Deribit does (the client id, the timestamp within
/// [`SIGNATURE_VALID_MS`], the HMAC over `timestamp\nnonce\ndata`, a nonce never reused), then
/// `private/subscribe` to `user.portfolio.{any|btc|eth|usdc|usdt}` (refused before auth with
/// `13009 unauthorized`), and a `user.portfolio` notification per tick for the next currency
/// of [`SIM_SUMMARIES`] (the REST side's numbers). Heartbeats and `public/test` as
/// [`DeribitSim`].
pub struct DeribitPrivateSim {
    credentials: crate::auth::Credentials,
    public: DeribitSim,
    nonces: std::sync::Mutex<std::collections::VecDeque<(i64, String)>>,
    /// Notifications sent, to push the currencies in turn.
    pushes: std::sync::atomic::AtomicUsize,
}

impl DeribitPrivateSim {
    pub fn new(credentials: crate::auth::Credentials) -> Self {
        DeribitPrivateSim {
            credentials,
            public: DeribitSim::default(),
            nonces: Default::default(),
            pushes: Default::default(),
        }
    }

    /// `Ok(())` or Deribit's error for a `public/auth` request's params.
    fn check_auth(&self, params: &Value, now_ms: i64) -> Result<(), (&'static str, Value)> {
        let (Ok(id), Ok(secret)) = (self.credentials.key(), self.credentials.secret()) else {
            return Err(error(11094, "internal_server_error"));
        };
        if params["grant_type"] != "client_signature" {
            return Err(error(-32602, "Invalid params"));
        }
        let (Some(client_id), Some(ts), Some(sig), Some(nonce)) = (
            params["client_id"].as_str(),
            params["timestamp"].as_i64(),
            params["signature"].as_str(),
            params["nonce"].as_str(),
        ) else {
            return Err(error(-32602, "Invalid params"));
        };
        let data = params["data"].as_str().unwrap_or("");
        if !crate::auth::sign::same(client_id, id) {
            return Err(error(13004, "invalid_credentials"));
        }
        if !(-SIGNATURE_VALID_MS..=SIGNATURE_VALID_MS).contains(&(now_ms - ts)) {
            return Err(error(13009, "unauthorized"));
        }
        let expected = super::signature(secret, ts, nonce, data);
        if !crate::auth::sign::same(&expected, &sig.to_ascii_lowercase()) {
            return Err(error(13009, "unauthorized"));
        }
        let mut seen = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        while seen
            .front()
            .is_some_and(|(t, _)| now_ms - t > SIGNATURE_VALID_MS)
        {
            seen.pop_front();
        }
        if seen.iter().any(|(_, n)| n == nonce) {
            return Err(error(13009, "unauthorized"));
        }
        seen.push_back((ts, nonce.to_owned()));
        Ok(())
    }

    /// One `user.portfolio` notification of a summary of [`super::sim_account::summaries`],
    /// fields as in the nautilus capture.
    fn portfolio(channel: &str, summary: &[String; 9]) -> String {
        let [cur, bal, eq, avail, margin, im, mm, withdraw, upl] = summary;
        format!(
            r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"{channel}","data":{{"total_maintenance_margin_usd":0.0,"projected_initial_margin":{im},"fee_balance":0.0,"projected_maintenance_margin":{mm},"session_upl":{upl},"initial_margin":{im},"margin_balance":{margin},"balance":{bal},"maintenance_margin":{mm},"additional_reserve":0.0,"locked_balance":0.0,"options_value":0.0,"margin_model":"segregated_sm","portfolio_margining_enabled":false,"available_funds":{avail},"cross_collateral_enabled":false,"spot_reserve":0.0,"session_rpl":0.0,"available_withdrawal_funds":{withdraw},"equity":{eq},"total_pl":{upl},"estimated_liquidation_ratio":0,"currency":"{cur}"}}}}}}"#
        )
    }
}

/// The currencies a `user.portfolio.*` channel covers (`any`: all).
fn portfolio_currency(channel: &str) -> Option<&str> {
    let c = channel.strip_prefix("user.portfolio.")?;
    (c == "any" || SIM_SUMMARIES.iter().any(|s| s[0].eq_ignore_ascii_case(c))).then_some(c)
}

impl SimProtocol for DeribitPrivateSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::Deribit
    }

    fn on_connect(&self, _path: &str, _session: &mut SimSession) -> Vec<String> {
        Vec::new()
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let Ok(req) = serde_json::from_str::<Value>(text) else {
            return vec![reply(&Value::Null, error(-32700, "Parse error"), session)];
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let params = &req["params"];
        let outcome = match req["method"].as_str() {
            Some("public/auth") => match self.check_auth(params, session.now.millis()) {
                Ok(()) => {
                    session.authenticated = true;
                    let token = |n| {
                        format!(
                            "{}.{}",
                            session.now.millis(),
                            crate::auth::sign::random_hex(n)
                        )
                    };
                    (
                        "result",
                        json!({
                            "access_token": token(40),
                            "expires_in": 31_536_000,
                            "refresh_token": token(40),
                            "scope": "connection mainaccount",
                            "enabled_features": [],
                            "token_type": "bearer"
                        }),
                    )
                }
                Err(e) => e,
            },
            Some("private/subscribe") if !session.authenticated => error(13009, "unauthorized"),
            Some("private/subscribe") => {
                let mut subscribed = Vec::new();
                for ch in params["channels"].as_array().into_iter().flatten() {
                    let Some(ch) = ch.as_str() else { continue };
                    if portfolio_currency(ch).is_some() {
                        if !session.streams.iter().any(|s| s == ch) {
                            session.streams.push(ch.to_owned());
                        }
                        subscribed.push(ch.to_owned());
                    }
                }
                ("result", json!(subscribed))
            }
            _ => return self.public.on_text(text, session),
        };
        vec![reply(&id, outcome, session)]
    }

    fn heartbeat(&self, session: &mut SimSession) -> Option<String> {
        self.public.heartbeat(session)
    }

    fn ticker(&self, _symbol: &str, _q: &SimQuote, _session: &mut SimSession) -> String {
        String::new() // no tickers on this connection
    }

    fn on_tick(&self, session: &mut SimSession) -> Vec<String> {
        let channels = session.streams.clone();
        let mut out = Vec::new();
        for ch in channels {
            let Some(cur) = portfolio_currency(&ch) else {
                continue;
            };
            let matching: Vec<_> = super::sim_account::summaries(session.now)
                .into_iter()
                .filter(|s| cur == "any" || s[0].eq_ignore_ascii_case(cur))
                .collect();
            // One currency per tick, in turn (Deribit pushes a currency when it changes).
            let n = self
                .pushes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            out.push(Self::portfolio(&ch, &matching[n % matching.len()]));
        }
        out
    }
}
