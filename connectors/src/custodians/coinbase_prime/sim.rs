//! Coinbase Prime REST simulator: checks key, passphrase, timestamp window (30 s) and the
//! HMAC signature as Prime does, and answers Prime's `{"message": ...}` error bodies.

use super::{signature, PORTFOLIOS_PATH};
use crate::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest, SimHttpResponse};
use serde_json::json;

pub struct PrimeRestSim;

/// The simulated portfolio.
pub const SIM_PORTFOLIO: &str = "4d0c5e9a-7d6c-4f55-9c59-0f4f1f1a2b3c";

/// Allowed clock skew of `X-CB-ACCESS-TIMESTAMP` (Prime authentication docs: 30 s).
pub const SKEW_S: i64 = 30;

/// `(symbol, amount, holds, withdrawable_amount, bonded_amount)` in Prime's style: holds for a
/// pending withdrawal (BTC, USDC), staked ETH (32 bonded, not withdrawable), dust (DOGE
/// 0.00000001), a zero row (SOL) and a symbol no registry knows (`ZZZUNKNOWN`). Prime gives no balance time: no dormant portfolio to show.
pub const SIM_BALANCES: &[(&str, &str, &str, &str, &str)] = &[
    ("BTC", "42.5", "2.5", "40", "0"),
    ("ETH", "1250.125", "0", "1218.125", "32"),
    ("USDC", "3500000", "100000", "3400000", "0"),
    ("DOGE", "0.00000001", "0", "0.00000001", "0"),
    ("SOL", "0", "0", "0", "0"),
    ("ZZZUNKNOWN", "500", "0", "500", "0"),
];

fn message(status: u16, m: &str) -> SimHttpResponse {
    SimHttpResponse::json(status, json!({ "message": m }).to_string())
}

impl RestSimProtocol for PrimeRestSim {
    fn handle(&self, req: &SimHttpRequest, ctx: &RestSimCtx<'_>) -> SimHttpResponse {
        let (Ok(key), Ok(secret), Ok(pass)) = (
            ctx.credentials.key(),
            ctx.credentials.secret(),
            ctx.credentials.passphrase(),
        ) else {
            return message(500, "simulator has no credentials");
        };
        let unauthorized = || message(401, "Unauthorized");
        if !crate::auth::sign::same(req.header("x-cb-access-key").unwrap_or(""), key)
            || !crate::auth::sign::same(req.header("x-cb-access-passphrase").unwrap_or(""), pass)
        {
            return unauthorized();
        }
        let Some(ts) = req
            .header("x-cb-access-timestamp")
            .and_then(|t| t.parse::<i64>().ok())
        else {
            return unauthorized();
        };
        let expected = signature(secret, ts, &req.method, &req.path, &req.body);
        if !crate::auth::sign::same(req.header("x-cb-access-signature").unwrap_or(""), &expected) {
            return unauthorized();
        }
        if (ctx.now.millis().div_euclid(1000) - ts).abs() > SKEW_S {
            return unauthorized();
        }
        if req.method != "GET" {
            return message(404, "Not Found");
        }
        if req.path == PORTFOLIOS_PATH {
            return SimHttpResponse::json(
                200,
                json!({"portfolios": [{"id": SIM_PORTFOLIO, "name": "Main", "entity_id": "sim-entity", "organization_id": "sim-org"}]}).to_string(),
            );
        }
        if req.path == format!("{PORTFOLIOS_PATH}/{SIM_PORTFOLIO}/balances") {
            let balances: Vec<serde_json::Value> = SIM_BALANCES
                .iter()
                .map(|(s, a, h, w, bonded)| json!({"symbol": s, "amount": a, "holds": h, "withdrawable_amount": w, "bonded_amount": bonded, "fiat_amount": ""}))
                .collect();
            return SimHttpResponse::json(
                200,
                json!({"balances": balances, "type": "TRADING_BALANCES"}).to_string(),
            );
        }
        message(404, "Not Found")
    }
}
