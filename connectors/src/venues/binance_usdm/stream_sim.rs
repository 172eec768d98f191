//! Binance USDⓈ-M's user data stream, simulated: the REST side's `POST`/`PUT
//! /fapi/v1/listenKey` (API key checked as the venue does, no signature) and the socket at
//! `/ws/<listenKey>` (or `/private/ws/<listenKey>`, `/stream?streams=<listenKey>`), which
//! pushes an `ACCOUNT_UPDATE` every tick with the REST simulator's numbers: the wallets of
//! [`SIM_BALANCES`] and the positions of the steady [`SimAccount`] at the tick's time. (The
//! venue pushes only on change and only what changed; the simulator repeats the whole
//! account so a connection sees data at once.) A key the REST side never issued gets its
//! connection closed without a frame.

use super::account_sim::SimAccount;
use super::sim::{BinanceUsdmRestSim, SIM_BALANCES};
use super::stream::ACCOUNT_UPDATE;
use crate::sim::rest::{RestSimCtx, SimHttpRequest, SimHttpResponse};
use crate::sim::{fixed, SimProtocol, SimQuote, SimSession};
use crate::traits::StreamingVenue;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// Listen keys issued by the REST side, checked by the socket side.
pub type ListenKeys = Arc<Mutex<Vec<String>>>;

/// `POST /fapi/v1/listenKey` (the account's active key, or a new one) and `PUT` (keep-alive).
pub fn listen_key(
    keys: &ListenKeys,
    req: &SimHttpRequest,
    ctx: &RestSimCtx<'_>,
) -> SimHttpResponse {
    let error = crate::venues::binance::sim::binance_error;
    let Ok(key) = ctx.credentials.key() else {
        return error(500, -1000, "simulator has no credentials");
    };
    match req.header("x-mbx-apikey") {
        Some(k) if crate::auth::sign::same(k, key) => {}
        _ => {
            return error(
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            )
            .refusal()
        }
    }
    let mut keys = keys.lock().unwrap_or_else(|e| e.into_inner());
    if req.method == "PUT" {
        return match keys.last() {
            Some(_) => SimHttpResponse::json(200, "{}".to_owned()),
            None => error(400, -1125, "This listenKey does not exist."),
        };
    }
    if keys.is_empty() {
        // 64 characters, as the venue's keys.
        let k = format!(
            "simUsdmListenKey{:048}",
            ctx.now.millis() * 1000 + ctx.requests as i64
        );
        keys.push(k);
    }
    let k = keys.last().cloned().unwrap_or_default();
    SimHttpResponse::json(200, json!({ "listenKey": k }).to_string())
}

/// The user-data socket: accepts a key [`listen_key`] issued.
pub struct BinanceUsdmPrivateSim {
    pub keys: ListenKeys,
}

/// The listen key a connection path names, if any.
fn key_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/private").unwrap_or(path);
    if let Some((_, q)) = rest.split_once("streams=") {
        return q.split('&').next();
    }
    let rest = rest.strip_prefix("/ws").unwrap_or(rest);
    rest.strip_prefix('/')
        .filter(|k| !k.is_empty() && !k.contains(['/', '?']))
}

/// One `ACCOUNT_UPDATE` of the simulated account at `now` (ms), fields in the docs' order.
pub fn account_update(now: i64) -> String {
    let snap = SimAccount::steady().snapshot(schemas::Ts::from_millis(now));
    let balances: Vec<serde_json::Value> = SIM_BALANCES
        .iter()
        .map(
            |(asset, balance, cross, _)| json!({"a": asset, "wb": balance, "cw": cross, "bc": "0"}),
        )
        .collect();
    let positions: Vec<serde_json::Value> = snap
        .rows
        .iter()
        .filter(|r| !r.amt.is_zero())
        .map(|r| {
            json!({
                "s": r.symbol, "pa": fixed(r.amt, 3), "ep": r.entry.to_string(),
                "bep": r.entry.to_string(), "cr": "0", "up": fixed(r.upnl, 8), "mt": "cross",
                "iw": "0", "ps": "BOTH"
            })
        })
        .collect();
    json!({
        "e": ACCOUNT_UPDATE, "E": now, "T": now,
        "a": {"m": "FUNDING_FEE", "B": balances, "P": positions}
    })
    .to_string()
}

impl SimProtocol for BinanceUsdmPrivateSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::BinanceUsdm
    }

    fn on_connect(&self, path: &str, session: &mut SimSession) -> Vec<String> {
        session.path = path.to_owned();
        session.wrapped = path.contains("/stream");
        let known = key_of(path).is_some_and(|k| {
            let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter().any(|issued| crate::auth::sign::same(issued, k))
        });
        if known {
            session.authenticated = true;
        } else {
            session.close = true;
        }
        Vec::new()
    }

    /// The user-data socket takes no requests; the venue ignores what it is sent.
    fn on_text(&self, _text: &str, _session: &mut SimSession) -> Vec<String> {
        Vec::new()
    }

    fn heartbeat(&self, _session: &mut SimSession) -> Option<String> {
        None // WebSocket pings only.
    }

    fn ticker(&self, _symbol: &str, _q: &SimQuote, _session: &mut SimSession) -> String {
        String::new() // no tickers on the user-data socket
    }

    fn on_tick(&self, session: &mut SimSession) -> Vec<String> {
        if !session.authenticated {
            return Vec::new();
        }
        let data = account_update(session.now.millis());
        vec![if session.wrapped {
            let key = key_of(&session.path).unwrap_or("");
            format!(r#"{{"stream":"{key}","data":{data}}}"#)
        } else {
            data
        }]
    }
}

/// The REST side (listen keys, balance and account pages) and the user-data socket, sharing
/// the keys: one handle with both URLs, stopping both when dropped.
pub async fn serve_private(
    credentials: crate::auth::Credentials,
) -> std::io::Result<crate::sim::SimHandle> {
    let keys = ListenKeys::default();
    let mut proto = BinanceUsdmRestSim::steady();
    proto.listen_keys = keys.clone();
    let rest = crate::sim::rest::serve_rest(proto, credentials).await?;
    let ws = crate::sim::serve(
        BinanceUsdmPrivateSim { keys },
        crate::sim::SimOptions::default(),
    )
    .await?;
    Ok(crate::sim::SimHandle {
        // The venue's shape: a base ending in `/ws`, the key appended per connection.
        ws_url: format!("{}/ws", ws.ws_url),
        rest_url: rest.handle.rest_url.clone(),
        control: ws.control.clone(),
        rest_faults: Some(rest.faults.clone()),
        task: tokio::spawn(async move {
            // Owns both servers: aborting this task drops them, which stops them.
            let _servers = (rest, ws);
            std::future::pending::<()>().await
        }),
    })
}
