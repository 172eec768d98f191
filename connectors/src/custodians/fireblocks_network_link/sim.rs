//! A Network Link v2 provider's server side for `GET /accounts` and
//! `GET /accounts/{accountId}/balances`: checks the four `X-FBAPI-*` headers the way the spec's
//! reference validator does (a missing header is 400 `schema-property-error` naming it in
//! `headers`; an unknown key, a bad signature, a timestamp outside the request TTL or a reused
//! nonce is 401 `unauthorized`), pages with `limit`/`startingAfter`, and answers with the spec's
//! error body `{"message":...,"errorType":...}`.

use super::{sign, signing_message, DEFAULT_SCHEME, PAGE_LIMIT};
use crate::auth::sign::same;
use crate::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest, SimHttpResponse as R};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// The validator's default `requestTTL` (10 s): older or further in the future is refused.
pub const REQUEST_TTL_MS: i64 = 10_000;

/// A simulated balance: (balance id, asset reference kind, code, availableAmount, lockedAmount).
/// Kind `n` = `nationalCurrencyCode`, `c` = `cryptocurrencySymbol` (with its blockchain), `a` =
/// `assetId` (a provider's token UUID, which no registry knows).
///
/// Beyond plain balances the demo provider shows held funds (`lockedAmount`: BTC 0.5, ETH 2,
/// EUR 1000), a balance without `lockedAmount` (SOL), dust (BTC 0.00000546 in the trading
/// account), a zero row (main's ETH) and a token by `assetId`. The protocol carries no time, so
/// no dormant account is distinguishable.
pub type SimBalance = (
    &'static str,
    char,
    &'static str,
    &'static str,
    Option<&'static str>,
);

/// The demo provider: (account id, title, parent, balances), in the spec's number style.
pub const SIM_ACCOUNTS: &[(&str, &str, Option<&str>, &[SimBalance])] = &[
    (
        "main",
        "Main account",
        None,
        &[
            (
                "4ff63424-7e09-4cdf-b7f1-da7b7c65eabe",
                'n',
                "USD",
                "1743.43",
                Some("0"),
            ),
            (
                "76a33ed9-8aa2-4781-93f8-d2369c0c2b14",
                'c',
                "BTC",
                "7.00008214",
                Some("0.5"),
            ),
            (
                "8e0b3c71-5f40-4a2e-9d1c-4f5a6b7c8d9e",
                'c',
                "ETH",
                "0",
                Some("0"),
            ),
        ],
    ),
    (
        "sub-trading",
        "Trading",
        Some("main"),
        &[
            (
                "0b8e3a6f-2c1d-4e5f-9a7b-1c2d3e4f5a6b",
                'c',
                "ETH",
                "120.123456789012345678",
                Some("2"),
            ),
            (
                "1c9f4b70-3d2e-4f60-8b8c-2d3e4f5a6b7c",
                'c',
                "SOL",
                "5000",
                None,
            ),
            (
                "9f1c4d82-6a51-4b3f-8e2d-5a6b7c8d9e0f",
                'c',
                "BTC",
                "0.00000546",
                Some("0"),
            ),
            (
                "a02d5e93-7b62-4c40-9f3e-6b7c8d9e0f1a",
                'a',
                "f0844d82-7097-4521-95bc-d843724a893e",
                "1500",
                Some("0"),
            ),
        ],
    ),
    (
        "sub-fiat",
        "Fiat settlement",
        Some("main"),
        &[(
            "2da05c81-4e3f-4071-9c9d-3e4f5a6b7c8d",
            'n',
            "EUR",
            "250000.5",
            Some("1000"),
        )],
    ),
];

fn blockchain(symbol: &str) -> &'static str {
    match symbol {
        "BTC" => "Bitcoin",
        "ETH" => "Ethereum",
        "SOL" => "Solana",
        _ => "Ethereum",
    }
}

pub struct NetworkLinkRestSim {
    /// Nonces seen, with the timestamp after which they may be forgotten.
    nonces: Mutex<HashMap<String, i64>>,
}

impl NetworkLinkRestSim {
    pub fn demo() -> Self {
        NetworkLinkRestSim {
            nonces: Mutex::default(),
        }
    }
}

fn error(status: u16, error_type: &str, message: &str) -> R {
    R::json(
        status,
        json!({"message": message, "errorType": error_type}).to_string(),
    )
}

fn missing_header(name: &str) -> R {
    R::json(
        400,
        json!({"message": format!("Missing required header {name}"),
               "errorType": "schema-property-error", "propertyName": name,
               "requestPart": "headers"})
        .to_string(),
    )
}

fn unauthorized(message: &str) -> R {
    error(401, "unauthorized", message)
}

fn bad_query(property: &str, message: &str) -> R {
    R::json(
        400,
        json!({"message": message, "errorType": "schema-property-error",
               "propertyName": property, "requestPart": "querystring"})
        .to_string(),
    )
}

/// `%XX` -> byte, for `startingAfter`.
fn percent_decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One page of `items` (each with an `id`) after `startingAfter`, at most `limit` long.
fn page(req: &SimHttpRequest, ids: &[&str]) -> Result<(usize, usize), R> {
    let limit = match req.param("limit") {
        None => 10,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=PAGE_LIMIT).contains(&n) => n,
            _ => {
                return Err(bad_query(
                    "/limit",
                    "limit must be an integer from 1 to 200",
                ))
            }
        },
    };
    let start = match req.param("startingAfter") {
        None => 0,
        Some(a) => {
            let a = percent_decode(a).ok_or_else(|| bad_query("/startingAfter", "bad value"))?;
            match ids.iter().position(|id| *id == a) {
                Some(i) => i + 1,
                None => return Err(error(400, "bad-request", "Unknown startingAfter id")),
            }
        }
    };
    Ok((start.min(ids.len()), (start + limit).min(ids.len())))
}

impl NetworkLinkRestSim {
    fn authenticate(&self, req: &SimHttpRequest, ctx: &RestSimCtx<'_>) -> Option<R> {
        let (Ok(key), Ok(secret)) = (ctx.credentials.key(), ctx.credentials.secret()) else {
            return Some(error(500, "internal-error", "simulator has no credentials"));
        };
        let mut h = [""; 4];
        for (slot, name) in h.iter_mut().zip([
            "X-FBAPI-KEY",
            "X-FBAPI-NONCE",
            "X-FBAPI-TIMESTAMP",
            "X-FBAPI-SIGNATURE",
        ]) {
            match req.header(name) {
                Some(v) => *slot = v,
                None => return Some(missing_header(name)),
            }
        }
        let [api_key, nonce, timestamp, signature] = h;
        if !same(api_key, key) {
            return Some(R::json(
                401,
                json!({"message": "Unknown API key", "errorType": "unauthorized",
                       "propertyName": "X-FBAPI-KEY", "requestPart": "headers"})
                .to_string(),
            ));
        }
        let Ok(ts) = timestamp.parse::<i64>() else {
            return Some(R::json(
                400,
                json!({"message": "X-FBAPI-TIMESTAMP must be a number",
                       "errorType": "schema-property-error",
                       "propertyName": "X-FBAPI-TIMESTAMP", "requestPart": "headers"})
                .to_string(),
            ));
        };
        let path_and_query = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        let msg = signing_message(ts, nonce, &req.method, &path_and_query, &req.body);
        if !same(signature, &sign(DEFAULT_SCHEME, secret, &msg)) {
            return Some(unauthorized("Invalid signature"));
        }
        let now = ctx.now.millis();
        if (now - ts).abs() > REQUEST_TTL_MS {
            return Some(unauthorized(
                "Request timestamp is outside the allowed window",
            ));
        }
        let mut seen = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, t| *t + REQUEST_TTL_MS >= now);
        if seen.insert(nonce.to_owned(), ts).is_some() {
            return Some(unauthorized("Nonce was already used"));
        }
        None
    }
}

impl RestSimProtocol for NetworkLinkRestSim {
    fn handle(&self, req: &SimHttpRequest, ctx: &RestSimCtx<'_>) -> R {
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        let account = match (req.method.as_str(), segments.as_slice()) {
            ("GET", ["accounts"]) => None,
            ("GET", ["accounts", id, "balances"]) => Some(*id),
            _ => return error(404, "not-found", "Not found"),
        };
        if let Some(refusal) = self.authenticate(req, ctx) {
            return refusal;
        }
        match account {
            None => {
                let ids: Vec<&str> = SIM_ACCOUNTS.iter().map(|a| a.0).collect();
                let (start, end) = match page(req, &ids) {
                    Ok(p) => p,
                    Err(r) => return r,
                };
                let accounts: Vec<Value> = SIM_ACCOUNTS[start..end]
                    .iter()
                    .map(|(id, title, parent, _)| {
                        let mut a = json!({"id": id, "title": title, "status": "active"});
                        if let Some(p) = parent {
                            a["parentId"] = json!(p);
                        }
                        a
                    })
                    .collect();
                R::json(200, json!({ "accounts": accounts }).to_string())
            }
            Some(id) => {
                let Some((_, _, _, balances)) = SIM_ACCOUNTS.iter().find(|a| a.0 == id) else {
                    return error(404, "not-found", "Account not found");
                };
                let ids: Vec<&str> = balances.iter().map(|b| b.0).collect();
                let (start, end) = match page(req, &ids) {
                    Ok(p) => p,
                    Err(r) => return r,
                };
                let out: Vec<Value> = balances[start..end]
                    .iter()
                    .map(|(bid, kind, code, available, locked)| {
                        let asset = match kind {
                            'n' => json!({"nationalCurrencyCode": code}),
                            'a' => json!({"assetId": code}),
                            _ => json!({"blockchain": blockchain(code), "cryptocurrencySymbol": code}),
                        };
                        let mut b =
                            json!({"id": bid, "asset": asset, "availableAmount": available});
                        if let Some(l) = locked {
                            b["lockedAmount"] = json!(l);
                        }
                        b
                    })
                    .collect();
                R::json(200, json!({ "balances": out }).to_string())
            }
        }
    }
}
