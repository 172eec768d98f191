//! Binance's market-stream server: combined streams named in the URL, `SUBSCRIBE` /
//! `LIST_SUBSCRIPTIONS` requests with `{"result":...,"id":n}` replies, bookTicker frames.

use crate::sim::{fixed, SimProtocol, SimQuote, SimSession};
use crate::traits::StreamingVenue;
use serde_json::json;

pub struct BinanceSim;

impl SimProtocol for BinanceSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::Binance
    }

    fn on_connect(&self, path: &str, session: &mut SimSession) -> Vec<String> {
        session.wrapped = path.starts_with("/stream");
        if let Some(q) = path.split_once("streams=").map(|(_, q)| q) {
            for stream in q.split('&').next().unwrap_or("").split('/') {
                if let Some(sym) = stream.strip_suffix("@bookTicker") {
                    session.subscribe(&sym.to_ascii_uppercase());
                }
            }
        }
        Vec::new()
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let Ok(req) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![json!({"code": 2, "msg": "Invalid JSON payload"}).to_string()];
        };
        let id = req.get("id").cloned().unwrap_or(serde_json::Value::Null);
        match req.get("method").and_then(|m| m.as_str()) {
            Some("SUBSCRIBE") => {
                for p in req["params"].as_array().into_iter().flatten() {
                    if let Some(sym) = p.as_str().and_then(|s| s.strip_suffix("@bookTicker")) {
                        session.subscribe(&sym.to_ascii_uppercase());
                    }
                }
                vec![json!({"result": null, "id": id}).to_string()]
            }
            Some("LIST_SUBSCRIPTIONS") => {
                let list: Vec<String> = session
                    .symbols
                    .iter()
                    .map(|s| format!("{}@bookTicker", s.to_ascii_lowercase()))
                    .collect();
                vec![json!({"result": list, "id": id}).to_string()]
            }
            _ => vec![
                json!({"code": 2, "msg": "Invalid request: unknown method", "id": id}).to_string(),
            ],
        }
    }

    fn heartbeat(&self, _session: &mut SimSession) -> Option<String> {
        None // Binance keeps connections alive with WebSocket pings only.
    }

    fn ticker(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        let dp = q.dp.max(8);
        // Field order as Binance sends it (u, s, b, B, a, A).
        let data = format!(
            r#"{{"u":{},"s":"{}","b":"{}","B":"{}","a":"{}","A":"{}"}}"#,
            400_900_217 + session.next_seq(),
            symbol,
            fixed(q.bid, dp),
            fixed(q.bid_size, 8),
            fixed(q.ask, dp),
            fixed(q.ask_size, 8),
        );
        if session.wrapped {
            format!(
                r#"{{"stream":"{}@bookTicker","data":{data}}}"#,
                symbol.to_ascii_lowercase()
            )
        } else {
            data
        }
    }
}

/// Binance's REST account endpoint: checks `X-MBX-APIKEY`, the HMAC-SHA256 `signature` over the
/// query, and `timestamp` within `recvWindow` (default 5000 ms; `timestamp < serverTime + 1000`),
/// answering refusals with Binance's own codes.
pub struct BinanceRestSim;

/// The simulated spot account (venue codes and decimals as Binance writes them).
pub const SIM_BALANCES: &[(&str, &str, &str)] = &[
    ("BTC", "12.50000000", "0.50000000"),
    ("ETH", "300.00000000", "0.00000000"),
    ("USDT", "1500000.00000000", "25000.00000000"),
    // Dust of an asset no registry knows (`super::super::SIM_UNKNOWN_ASSET`).
    ("ZZZDUST", "0.00000001", "0.00000000"),
];

impl crate::sim::rest::RestSimProtocol for BinanceRestSim {
    fn handle(
        &self,
        req: &crate::sim::rest::SimHttpRequest,
        ctx: &crate::sim::rest::RestSimCtx<'_>,
    ) -> crate::sim::rest::SimHttpResponse {
        use crate::sim::rest::SimHttpResponse as R;
        if req.path != "/api/v3/account" || req.method != "GET" {
            return binance_error(
                404,
                -1000,
                "An unknown error occurred while processing the request.",
            );
        }
        let server = match check_signed(req, ctx) {
            Ok(server) => server,
            Err(refusal) => return refusal,
        };
        let balances: Vec<serde_json::Value> = SIM_BALANCES
            .iter()
            .map(|(a, f, l)| json!({"asset": a, "free": f, "locked": l}))
            .collect();
        R::json(
            200,
            json!({
                "makerCommission": 15, "takerCommission": 15, "buyerCommission": 0, "sellerCommission": 0,
                "canTrade": true, "canWithdraw": true, "canDeposit": true, "brokered": false,
                // A dormant account: its last change is hours before the response.
                "updateTime": server - super::super::SIM_DORMANT_MS, "accountType": "SPOT", "balances": balances,
                "permissions": ["SPOT"], "uid": 354937868
            })
            .to_string(),
        )
    }
}

/// Binance's error body `{"code":-1022,"msg":"..."}`.
pub(crate) fn binance_error(
    status: u16,
    code: i64,
    msg: &str,
) -> crate::sim::rest::SimHttpResponse {
    crate::sim::rest::SimHttpResponse::json(status, json!({"code": code, "msg": msg}).to_string())
}

/// The SIGNED-endpoint checks of Binance spot and USD-M: `X-MBX-APIKEY`, the HMAC-SHA256
/// `signature` over the query, and `timestamp` within `recvWindow` (default 5000 ms, max
/// 60000; `timestamp < serverTime + 1000`). Returns the server time in ms, or Binance's own
/// refusal.
pub(crate) fn check_signed(
    req: &crate::sim::rest::SimHttpRequest,
    ctx: &crate::sim::rest::RestSimCtx<'_>,
) -> Result<i64, crate::sim::rest::SimHttpResponse> {
    let err = |status, code, msg: &str| Err(binance_error(status, code, msg));
    let (Ok(key), Ok(secret)) = (ctx.credentials.key(), ctx.credentials.secret()) else {
        return err(500, -1000, "simulator has no credentials");
    };
    if req.header("x-mbx-apikey") != Some(key) {
        return err(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        );
    }
    let Some((unsigned, signature)) = req.query.rsplit_once("&signature=") else {
        return err(
            400,
            -1102,
            "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
        );
    };
    if !crate::auth::sign::same(
        &crate::auth::sign::hmac_sha256_hex(secret, unsigned),
        &signature.to_ascii_lowercase(),
    ) {
        return err(400, -1022, "Signature for this request is not valid.");
    }
    let Some(ts) = req.param("timestamp").and_then(|t| t.parse::<i64>().ok()) else {
        return err(
            400,
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        );
    };
    let window = req
        .param("recvWindow")
        .and_then(|w| w.parse::<i64>().ok())
        .unwrap_or(5000);
    if window > 60_000 {
        return err(400, -1131, "recvWindow must be less than 60000");
    }
    let server = ctx.now.millis();
    if ts >= server + 1000 || server - ts > window {
        return err(
            400,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        );
    }
    Ok(server)
}

/// The user data stream on Binance's WebSocket API: answers `userDataStream.subscribe.signature`
/// after Binance's SIGNED checks against the credentials it was started with (the API key, then
/// the hex HMAC-SHA256 of the parameters sorted by name, then `timestamp` within `recvWindow`:
/// `timestamp < serverTime + 1000` and `serverTime - timestamp <= recvWindow`, default 5000,
/// max 60000), refusing with Binance's reply envelope and codes (`-2015`, `-1022`, `-1021`,
/// `-1102`, `-1131`); then pushes `outboundAccountPosition` (first tick, then every 2 s) with the same assets and
/// numbers as [`BinanceRestSim`], so REST and stream agree. Answers `ping` as the API does.
pub struct BinanceUserStreamSim {
    credentials: crate::auth::Credentials,
}

/// The `rateLimits` Binance appends to every reply (the request weight of the subscription, 2).
const RATE_LIMITS: &str = r#"[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":2}]"#;

impl BinanceUserStreamSim {
    pub fn new(credentials: crate::auth::Credentials) -> Self {
        BinanceUserStreamSim { credentials }
    }

    fn ok(id: &serde_json::Value, result: &str) -> String {
        format!(r#"{{"id":{id},"status":200,"result":{result},"rateLimits":{RATE_LIMITS}}}"#)
    }

    fn refuse(id: &serde_json::Value, status: u16, code: i64, msg: &str) -> String {
        format!(
            r#"{{"id":{id},"status":{status},"error":{{"code":{code},"msg":{}}},"rateLimits":{RATE_LIMITS}}}"#,
            serde_json::Value::from(msg)
        )
    }

    /// Binance's SIGNED checks; `Err` is the refusal to send.
    fn check(
        &self,
        id: &serde_json::Value,
        params: &serde_json::Value,
        now_ms: i64,
    ) -> Result<(), String> {
        let (Ok(key), Ok(secret)) = (self.credentials.key(), self.credentials.secret()) else {
            return Err(Self::refuse(id, 500, -1000, "simulator has no credentials"));
        };
        let Some(params) = params.as_object() else {
            return Err(Self::refuse(
                id,
                400,
                -1102,
                "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.",
            ));
        };
        match params.get("apiKey").and_then(serde_json::Value::as_str) {
            Some(k) if crate::auth::sign::same(k, key) => {}
            _ => {
                return Err(Self::refuse(
                    id,
                    401,
                    -2015,
                    "Invalid API-key, IP, or permissions for action.",
                ))
            }
        }
        let Some(signature) = params.get("signature").and_then(serde_json::Value::as_str) else {
            return Err(Self::refuse(
                id,
                400,
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            ));
        };
        // Every parameter but the signature, as the client wrote it (strings unquoted).
        let text: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k.as_str() != "signature")
            .map(|(k, v)| {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                (k.clone(), v)
            })
            .collect();
        let pairs: Vec<(&str, &str)> = text.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let expected = super::stream::ws_api_sign(secret, &pairs);
        if !crate::auth::sign::same(&expected, &signature.to_ascii_lowercase()) {
            return Err(Self::refuse(
                id,
                400,
                -1022,
                "Signature for this request is not valid.",
            ));
        }
        let Some(ts) = params.get("timestamp").and_then(serde_json::Value::as_i64) else {
            return Err(Self::refuse(
                id,
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            ));
        };
        let window = params
            .get("recvWindow")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(5000);
        if window > 60_000 {
            return Err(Self::refuse(
                id,
                400,
                -1131,
                "recvWindow must be less than 60000",
            ));
        }
        if ts >= now_ms + 1000 || now_ms - ts > window {
            return Err(Self::refuse(
                id,
                400,
                -1021,
                "Timestamp for this request is outside of the recvWindow.",
            ));
        }
        Ok(())
    }

    /// One `outboundAccountPosition` with every simulated asset (Binance sends only the assets
    /// that changed; the whole account keeps the sim simple and still valid).
    fn position(now_ms: i64) -> String {
        let balances: Vec<String> = SIM_BALANCES
            .iter()
            .map(|(a, f, l)| format!(r#"{{"a":"{a}","f":"{f}","l":"{l}"}}"#))
            .collect();
        format!(
            r#"{{"subscriptionId":0,"event":{{"e":"outboundAccountPosition","E":{},"u":{},"B":[{}]}}}}"#,
            now_ms + 3,
            now_ms - super::super::SIM_DORMANT_MS,
            balances.join(",")
        )
    }
}

/// Ticks (250 ms by default) between account pushes of the private stream.
const PUSH_EVERY_TICKS: u64 = 8;

impl SimProtocol for BinanceUserStreamSim {
    /// Unused: the user data stream has no symbols, so the price model is never asked.
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::Binance
    }

    fn on_connect(&self, _path: &str, _session: &mut SimSession) -> Vec<String> {
        Vec::new()
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let null = serde_json::Value::Null;
        let Ok(req) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![Self::refuse(
                &null,
                400,
                -1000,
                "Malformed request: not JSON.",
            )];
        };
        let id = req.get("id").unwrap_or(&null);
        let reply = match req["method"].as_str() {
            Some("userDataStream.subscribe.signature") => {
                match self.check(id, &req["params"], session.now.millis()) {
                    Ok(()) => {
                        session.authenticated = true;
                        Self::ok(id, r#"{"subscriptionId":0}"#)
                    }
                    Err(refusal) => refusal,
                }
            }
            Some("ping") => Self::ok(id, "{}"),
            _ => Self::refuse(
                id,
                400,
                -1000,
                "An unknown error occurred while processing the request.",
            ),
        };
        vec![reply]
    }

    fn heartbeat(&self, _session: &mut SimSession) -> Option<String> {
        None
    }

    fn ticker(&self, _symbol: &str, _q: &SimQuote, _session: &mut SimSession) -> String {
        String::new() // never called: no symbols are subscribed
    }

    fn on_tick(&self, session: &mut SimSession) -> Vec<String> {
        // Binance pushes on change only; the sim's account "changes" on the first tick after
        // the subscription and then every 2 s, often enough for tests, rare enough to stay an
        // event rather than a feed.
        if session.authenticated && session.next_seq().is_multiple_of(PUSH_EVERY_TICKS) {
            vec![Self::position(session.now.millis())]
        } else {
            Vec::new()
        }
    }
}
