//! BitGo REST simulator: checks the auth-v2 headers as BitGo does (token looked up by its hash,
//! HMAC over `ts|path|body`, timestamp within the validity window) and answers BitGo's bodies.

use super::{auth_v2, BALANCES_PATH};
use crate::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest, SimHttpResponse};
use serde_json::json;

pub struct BitGoRestSim;

/// `@bitgo/sdk-hmac` `verifyResponse` accepts a timestamp up to 5 minutes old; the simulator
/// holds requests to the same window (and refuses any from the future beyond 1 s of skew).
pub const WINDOW_MS: i64 = 5 * 60 * 1000;

/// Simulated enterprise totals, `(coin, balanceString, confirmedBalanceString,
/// spendableBalanceString)` in BitGo's coin codes and base units. ETH carries a 25-digit wei
/// amount (beyond u64) on purpose.
///
/// What a real enterprise shows and the sim reproduces: unspendable funds (btc: 0.5 BTC of
/// pending withdrawals / unconfirmed change; xrp: the 10 XRP account reserve; sol: stake), an
/// incoming deposit still confirming (tbtc, a testnet coin: 0.5 tBTC above confirmed), dust
/// (ltc: 546 litoshi), a zero row (doge) and a token no registry knows (`eth:zzzunknown`,
/// emitted in base units). `GET /api/v2/wallet/balances` totals per coin and carries no time,
/// so there is no dormant wallet to show: every row is as fresh as the poll.
pub const SIM_BALANCES: &[(&str, &str, &str, &str)] = &[
    ("btc", "1250000000", "1250000000", "1200000000"),
    (
        "eth",
        "4200000000000000000000000",
        "4200000000000000000000000",
        "4150000000000000000000000",
    ),
    (
        "eth:usdc",
        "2500000000000",
        "2500000000000",
        "2500000000000",
    ),
    ("sol", "75000000000000", "75000000000000", "70000000000000"),
    ("xrp", "1000000000", "1000000000", "990000000"),
    ("tbtc", "150000000", "100000000", "100000000"),
    ("ltc", "546", "546", "546"),
    ("doge", "0", "0", "0"),
    ("eth:zzzunknown", "1000000", "1000000", "1000000"),
];

/// BitGo's error body (`error`, `name`, `requestId`), as its API returns on a refused token.
pub fn error_body(status: u16, name: &str, error: &str, n: u64) -> SimHttpResponse {
    SimHttpResponse::json(
        status,
        json!({"error": error, "name": name, "requestId": format!("sim{n:020}")}).to_string(),
    )
}

impl RestSimProtocol for BitGoRestSim {
    fn handle(&self, req: &SimHttpRequest, ctx: &RestSimCtx<'_>) -> SimHttpResponse {
        let unauthorized = || error_body(401, "Unauthorized", "unauthorized", ctx.requests);
        if req.method != "GET" || req.path != BALANCES_PATH {
            return error_body(404, "NotFound", "not found", ctx.requests);
        }
        let Ok(token) = ctx.credentials.key() else {
            return error_body(500, "InternalError", "simulator has no token", ctx.requests);
        };
        let hmac_key = ctx.credentials.secret().unwrap_or(token);
        let Some(ts) = req
            .header("auth-timestamp")
            .and_then(|t| t.parse::<i64>().ok())
        else {
            return unauthorized();
        };
        let pq = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        let (bearer, hmac) = auth_v2(hmac_key, token, ts, &pq, &req.body);
        let given = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or("");
        if !crate::auth::sign::same(given, &bearer) {
            return unauthorized();
        }
        if req.header("bitgo-auth-version") != Some("2.0")
            || !crate::auth::sign::same(req.header("hmac").unwrap_or(""), &hmac)
        {
            return error_body(401, "Unauthorized", "invalid hmac", ctx.requests);
        }
        let now = ctx.now.millis();
        if ts > now + 1000 || now - ts > WINDOW_MS {
            return error_body(
                401,
                "Unauthorized",
                "request timestamp out of range",
                ctx.requests,
            );
        }
        let balances: Vec<serde_json::Value> = SIM_BALANCES
            .iter()
            .map(|(coin, b, c, s)| {
                json!({"coin": coin, "balanceString": b, "confirmedBalanceString": c, "spendableBalanceString": s})
            })
            .collect();
        SimHttpResponse::json(200, json!({ "balances": balances }).to_string())
    }
}
