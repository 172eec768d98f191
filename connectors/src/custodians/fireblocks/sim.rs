//! Fireblocks' REST server for `GET /v1/vault/accounts_paged`: verifies the JWT the way
//! Fireblocks documents it (RS256 with the API user's public key, `sub` = `X-API-Key`, `uri` =
//! the request's path and query, `bodyHash`, exp < iat + 30 s and not expired, iat not in the
//! future, nonce never reused) and answers refusals with Fireblocks' error bodies
//! (`{"message":...,"code":-N}`, HTTP 401; codes and messages from
//! <https://developers.fireblocks.com/reference/api-error-codes> and the support articles for
//! -1, -7, -10 and -12).

use super::{Claims, DEMO_PUBLIC_KEY_PEM, PATH};
use crate::auth::sign::{same, sha256_hex, B64};
use crate::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest, SimHttpResponse as R};
use base64::Engine as _;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

/// The simulated workspace: (vault id, name, [(asset id, total, available, pending,
/// lockedAmount, frozen)]), in Fireblocks' asset ids and decimal-string style.
/// total = available + pending + lockedAmount + frozen holds for every row (OpenAPI).
///
/// What a real workspace shows and the sim reproduces: incoming deposits still confirming
/// (`pending`: Treasury ETH and USDT_ERC20), a withdrawal not yet published (`lockedAmount`:
/// Treasury BTC), AML-frozen funds (Cold Storage BTC), one asset on two networks in one vault
/// (`USDC` and `USDC_POLYGON` in the Trading Hot Wallet), a testnet id (`ETH_TEST5`), an id
/// no registry knows (`ZZZ_UNKNOWN_TOKEN`), dust and a zero row, and a dormant vault whose
/// balances never change (Fireblocks sends no balance time; only its old `blockHeight`,
/// [`DORMANT_BLOCK_HEIGHT`], says so).
pub type SimVault = (
    &'static str,
    &'static str,
    &'static [(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    )],
);

/// Vault "3" (dormant): the block its balances were last seen at, long ago.
pub const DORMANT_BLOCK_HEIGHT: &str = "15537393";

pub const SIM_VAULTS: &[SimVault] = &[
    (
        "0",
        "Treasury",
        &[
            ("BTC", "125.5", "125.25", "0", "0.25", "0"),
            (
                "ETH",
                "3200.123456789012345678",
                "3199.123456789012345678",
                "1",
                "0",
                "0",
            ),
            ("USDT_ERC20", "2500000", "2400000", "100000", "0", "0"),
        ],
    ),
    (
        "1",
        "Trading Hot Wallet",
        &[
            ("USDC", "750000.5", "750000.5", "0", "0", "0"),
            ("USDC_POLYGON", "250000", "240000", "0", "10000", "0"),
            ("ETH_TEST5", "10", "10", "0", "0", "0"),
            ("ZZZ_UNKNOWN_TOKEN", "1000", "1000", "0", "0", "0"),
        ],
    ),
    (
        "2",
        "Cold Storage",
        &[
            ("BTC", "1000", "999.5", "0", "0", "0.5"),
            ("SOL", "45000.123456789", "45000.123456789", "0", "0", "0"),
        ],
    ),
    (
        "3",
        "Dormant Reserve",
        &[
            ("ETH", "12.5", "12.5", "0", "0", "0"),
            ("BTC", "0.00000546", "0.00000546", "0", "0", "0"),
            ("XRP", "0", "0", "0", "0", "0"),
        ],
    ),
];

/// Fireblocks' server side, verifying with the API user's public key.
pub struct FireblocksRestSim {
    public_key_pem: &'static str,
    /// Accounts per page, capped further than `limit` so the demo exercises the cursor.
    pub page_size: usize,
    /// Nonces seen, with the `exp` after which they may be forgotten.
    nonces: Mutex<HashMap<String, i64>>,
}

impl FireblocksRestSim {
    pub fn new(public_key_pem: &'static str) -> Self {
        FireblocksRestSim {
            public_key_pem,
            page_size: 2,
            nonces: Mutex::default(),
        }
    }
    /// Verifies with the demo API user's public key.
    pub fn demo() -> Self {
        Self::new(DEMO_PUBLIC_KEY_PEM)
    }
}

fn refuse(code: i64, message: &str) -> R {
    R::json(401, json!({"message": message, "code": code}).to_string())
}

/// `%XX` -> byte, for the cursor in the query.
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

/// Fireblocks' cursors are base64 of `startingVaultIdx=<n>` (OpenAPI examples).
fn cursor(idx: usize) -> String {
    B64.encode(format!("startingVaultIdx={idx}"))
}

fn cursor_index(c: &str) -> Option<usize> {
    let raw = B64.decode(c).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("startingVaultIdx=")?
        .parse()
        .ok()
}

impl RestSimProtocol for FireblocksRestSim {
    fn handle(&self, req: &SimHttpRequest, ctx: &RestSimCtx<'_>) -> R {
        if req.method != "GET" || req.path != PATH {
            return R::json(
                404,
                json!({"message": "Not Found", "code": 1004}).to_string(),
            );
        }
        let Ok(key) = ctx.credentials.key() else {
            return R::json(
                500,
                json!({"message": "simulator has no credentials"}).to_string(),
            );
        };
        let Some(api_key) = req.header("x-api-key") else {
            return refuse(-2, "Missing API Key in the JWT");
        };
        if !same(api_key, key) {
            // An unknown API key: Fireblocks finds no API user for it.
            return refuse(-7, "Unauthorized: Token was not accepted.");
        }
        let Some(token) = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
        else {
            return refuse(-3, "The entire JWT is missing");
        };
        let Ok(decoding) = jsonwebtoken::DecodingKey::from_rsa_pem(self.public_key_pem.as_bytes())
        else {
            return R::json(500, json!({"message": "simulator key"}).to_string());
        };
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        // Time claims are checked below with Fireblocks' own rules, not the crate's leeway.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = match jsonwebtoken::decode::<Claims>(token, &decoding, &validation) {
            Ok(d) => d.claims,
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => {
                return refuse(-1, "invalid signature");
            }
            Err(_) => return refuse(-5, "Unauthorized: Invalid token format"),
        };
        if claims.sub != api_key {
            return refuse(-6, "Wrong User in the JWT");
        }
        let uri = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        if claims.uri != uri {
            return refuse(-4, "Wrong URL in the JWT");
        }
        if !same(&claims.body_hash, &sha256_hex(req.body.as_bytes())) {
            return refuse(-7, "Unauthorized: Token was not accepted.");
        }
        let now_s = ctx.now.millis().div_euclid(1000);
        if claims.exp - claims.iat >= 30 {
            return refuse(-7, "Unauthorized: Token was not accepted.");
        }
        if now_s >= claims.exp {
            return refuse(-10, "The request has expired.");
        }
        // One second for the clock's second boundary between signer and server.
        if claims.iat > now_s + 1 {
            return refuse(
                -12,
                "The request is with a future issuance timestamp (iat).",
            );
        }
        {
            let mut seen = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
            seen.retain(|_, exp| *exp > now_s);
            if seen.insert(claims.nonce.clone(), claims.exp).is_some() {
                return refuse(-7, "Unauthorized: Token was not accepted.");
            }
        }
        let limit = req
            .param("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(200);
        if !(1..=500).contains(&limit) {
            return R::json(
                400,
                json!({"message": "limit must be between 1 and 500", "code": 1000}).to_string(),
            );
        }
        let start = match req.param("after").map(percent_decode) {
            None => 0,
            Some(Some(c)) => match cursor_index(&c) {
                Some(i) => i,
                None => {
                    return R::json(
                        400,
                        json!({"message": "Invalid cursor", "code": 1000}).to_string(),
                    )
                }
            },
            Some(None) => {
                return R::json(
                    400,
                    json!({"message": "Invalid cursor", "code": 1000}).to_string(),
                )
            }
        };
        let end = (start + limit.min(self.page_size)).min(SIM_VAULTS.len());
        let accounts: Vec<serde_json::Value> = SIM_VAULTS
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|(id, name, assets)| {
                let height = if *id == "3" { DORMANT_BLOCK_HEIGHT } else { "-1" };
                let assets: Vec<serde_json::Value> = assets
                    .iter()
                    .map(|(a, total, available, pending, locked, frozen)| {
                        json!({"id": a, "total": total, "balance": total, "available": available,
                               "pending": pending, "frozen": frozen, "lockedAmount": locked,
                               "blockHeight": height,
                               "blockHash": ""})
                    })
                    .collect();
                json!({"id": id, "name": name, "hiddenOnUI": false, "autoFuel": false, "assets": assets})
            })
            .collect();
        let mut body = json!({"accounts": accounts, "paging": {}});
        if start > 0 {
            body["paging"]["before"] = json!(cursor(start));
        }
        if end < SIM_VAULTS.len() {
            body["paging"]["after"] = json!(cursor(end));
            body["nextUrl"] = json!(format!(
                "{PATH}?limit={limit}&after={}",
                super::encode_query_value(&cursor(end))
            ));
        }
        R::json(200, body.to_string())
    }
}
