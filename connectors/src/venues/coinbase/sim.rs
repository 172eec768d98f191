//! Coinbase Advanced Trade's market-data server: `subscribe` per channel answered by a
//! `subscriptions` message, `ticker` frames, and `heartbeats` once a second when subscribed.

use crate::sim::{SimProtocol, SimQuote, SimSession};
use crate::traits::StreamingVenue;
use serde_json::json;

pub struct CoinbaseSim;

fn envelope(channel: &str, session: &mut SimSession, events: serde_json::Value) -> String {
    json!({
        "channel": channel,
        "client_id": "",
        "timestamp": session.now.to_string(),
        "sequence_num": session.next_seq(),
        "events": events,
    })
    .to_string()
}

impl SimProtocol for CoinbaseSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::Coinbase
    }

    fn on_connect(&self, _path: &str, _session: &mut SimSession) -> Vec<String> {
        Vec::new()
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let Ok(req) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![
                json!({"type": "error", "message": "failure to parse request"}).to_string(),
            ];
        };
        if req["type"] != "subscribe" {
            return vec![json!({"type": "error", "message": "unknown message type"}).to_string()];
        }
        match req["channel"].as_str() {
            Some("heartbeats") => session.heartbeats = true,
            Some("ticker") => {
                for p in req["product_ids"].as_array().into_iter().flatten() {
                    if let Some(p) = p.as_str() {
                        session.subscribe(p);
                    }
                }
            }
            _ => {
                return vec![
                    json!({"type": "error", "message": "channel is not supported"}).to_string(),
                ]
            }
        }
        let mut subs = serde_json::Map::new();
        if !session.symbols.is_empty() {
            subs.insert("ticker".into(), json!(session.symbols));
        }
        if session.heartbeats {
            subs.insert("heartbeats".into(), json!(["heartbeats"]));
        }
        vec![envelope(
            "subscriptions",
            session,
            json!([{"subscriptions": subs}]),
        )]
    }

    fn heartbeat(&self, session: &mut SimSession) -> Option<String> {
        if !session.heartbeats {
            return None;
        }
        let counter = session.seq;
        let now = session
            .now
            .to_datetime()
            .format("%Y-%m-%d %H:%M:%S%.9f +0000 UTC");
        Some(envelope(
            "heartbeats",
            session,
            json!([{"current_time": now.to_string(), "heartbeat_counter": counter.to_string()}]),
        ))
    }

    fn ticker(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        envelope(
            "ticker",
            session,
            json!([{"type": "update", "tickers": [{
                "type": "ticker",
                "product_id": symbol,
                "price": q.last.to_string(),
                "volume_24_h": q.volume_24h.to_string(),
                "best_bid": q.bid.to_string(),
                "best_bid_quantity": q.bid_size.to_string(),
                "best_ask": q.ask.to_string(),
                "best_ask_quantity": q.ask_size.to_string(),
            }]}]),
        )
    }
}

/// Advanced Trade's `GET /api/v3/brokerage/accounts`: verifies the Bearer JWT (ES256 signature
/// with the public key of the accepted credentials, `kid` and `sub` = the key name, `iss` cdp,
/// `nbf`/`exp` with a lifetime of at most 2 minutes, `uri` = this method, host and path) and
/// answers a refusal as Coinbase does, HTTP 401 with the body `Unauthorized`; pages of accounts
/// otherwise (`limit`, `cursor`, `has_next`).
pub struct CoinbaseRestSim;

/// The simulated accounts: (currency, available, hold), strings as Coinbase writes them.
pub const SIM_ACCOUNTS: &[(&str, &str, &str)] = &[
    ("BTC", "12.00000000", "0.50000000"),
    ("ETH", "300.00000000", "0.00000000"),
    ("USD", "1475000.00", "25000.00"),
    ("USDC", "250000.000000", "0.000000"),
    // Dust of an asset no registry knows (`super::super::SIM_UNKNOWN_ASSET`).
    ("ZZZDUST", "0.00000001", "0.00000000"),
];

/// Clock skew the simulator tolerates on `nbf`/`exp` (seconds).
const LEEWAY_S: i64 = 5;

impl CoinbaseRestSim {
    fn authorized(
        req: &crate::sim::rest::SimHttpRequest,
        ctx: &crate::sim::rest::RestSimCtx<'_>,
    ) -> bool {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (Ok(key_name), Ok(secret)) = (ctx.credentials.key(), ctx.credentials.secret()) else {
            return false;
        };
        let Some(point) = super::EcKey::from_pem(secret)
            .ok()
            .and_then(|k| k.public_point)
        else {
            return false;
        };
        if point.len() != 65 || point[0] != 4 {
            return false;
        }
        let Some(token) = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            return false;
        };
        let Some((message, sig)) = token.rsplit_once('.') else {
            return false;
        };
        let Some((header, claims)) = message.split_once('.') else {
            return false;
        };
        let decoding = match jsonwebtoken::DecodingKey::from_ec_components(
            &b64.encode(&point[1..33]),
            &b64.encode(&point[33..]),
        ) {
            Ok(k) => k,
            Err(_) => return false,
        };
        if !jsonwebtoken::crypto::verify(
            sig,
            message.as_bytes(),
            &decoding,
            jsonwebtoken::Algorithm::ES256,
        )
        .unwrap_or(false)
        {
            return false;
        }
        let Some(header) = b64
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        else {
            return false;
        };
        let Some(claims) = b64
            .decode(claims)
            .ok()
            .and_then(|c| serde_json::from_slice::<super::CdpClaims>(&c).ok())
        else {
            return false;
        };
        let now = ctx.now.millis().div_euclid(1000);
        let own_host = req.header("host").unwrap_or("");
        let uri_ok = [super::JWT_HOST, own_host]
            .iter()
            .any(|h| claims.uri == format!("{} {h}{}", req.method, req.path));
        header["alg"] == "ES256"
            && header["kid"] == key_name
            && header["nonce"].as_str().is_some_and(|n| !n.is_empty())
            && claims.sub == key_name
            && claims.iss == "cdp"
            && claims.nbf <= now + LEEWAY_S
            && now < claims.exp + LEEWAY_S
            && claims.exp - claims.nbf <= super::JWT_TTL_S
            && uri_ok
    }
}

impl crate::sim::rest::RestSimProtocol for CoinbaseRestSim {
    fn handle(
        &self,
        req: &crate::sim::rest::SimHttpRequest,
        ctx: &crate::sim::rest::RestSimCtx<'_>,
    ) -> crate::sim::rest::SimHttpResponse {
        use crate::sim::rest::SimHttpResponse as R;
        if req.path != super::ACCOUNTS_PATH || req.method != "GET" {
            return R::json(
                404,
                json!({"error": "NOT_FOUND", "error_details": "Not Found", "message": "Not Found"})
                    .to_string(),
            );
        }
        if !Self::authorized(req, ctx) {
            return crate::sim::rest::SimHttpResponse {
                status: 401,
                headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                body: "Unauthorized\n".into(),
            };
        }
        let limit = req
            .param("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(49)
            .clamp(1, 250);
        let start = req
            .param("cursor")
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0)
            .min(SIM_ACCOUNTS.len());
        let end = (start + limit).min(SIM_ACCOUNTS.len());
        let accounts: Vec<serde_json::Value> = SIM_ACCOUNTS[start..end]
            .iter()
            .enumerate()
            .map(|(i, (c, a, h))| {
                json!({
                    "uuid": format!("00000000-0000-4000-8000-{:012}", start + i),
                    "name": format!("{c} Wallet"), "currency": c,
                    "available_balance": {"value": a, "currency": c},
                    "default": true, "active": true,
                    "created_at": "2021-05-31T09:59:59Z", "updated_at": schemas::Ts::from_millis(ctx.now.millis() - super::super::SIM_DORMANT_MS).to_string(),
                    "deleted_at": null,
                    "type": if *c == "USD" { "FIAT" } else { "CRYPTO" }, "ready": true,
                    "hold": {"value": h, "currency": c},
                    "retail_portfolio_id": "demo-portfolio"
                })
            })
            .collect();
        let has_next = end < SIM_ACCOUNTS.len();
        R::json(
            200,
            json!({
                "accounts": accounts, "has_next": has_next,
                "cursor": if has_next { end.to_string() } else { String::new() },
                "size": end - start
            })
            .to_string(),
        )
    }
}
