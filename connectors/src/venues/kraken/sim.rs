//! Kraken v2's server: a `status` message on connect, `subscribe` acked per symbol, a ticker
//! snapshot then updates with prices as JSON numbers, `heartbeat` every second, `pong` replies.

use crate::sim::{SimProtocol, SimQuote, SimSession};
use crate::traits::StreamingVenue;
use serde_json::json;

pub struct KrakenSim;

impl SimProtocol for KrakenSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::Kraken
    }

    fn on_connect(&self, _path: &str, _session: &mut SimSession) -> Vec<String> {
        vec![r#"{"channel":"status","data":[{"api_version":"v2","connection_id":14545728493745856413,"system":"online","version":"2.0.0"}],"type":"update"}"#.to_owned()]
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let now = session.now.to_string();
        let Ok(req) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![json!({"error": "Malformed request", "method": "", "success": false, "time_in": now, "time_out": now}).to_string()];
        };
        let req_id = req.get("req_id").cloned();
        match req["method"].as_str() {
            Some("ping") => vec![json!({"method": "pong", "req_id": req_id, "time_in": now, "time_out": now}).to_string()],
            Some("subscribe") if req["params"]["channel"] == "ticker" => req["params"]["symbol"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str())
                .map(|s| {
                    // Snapshot first: the next tick for a new symbol is a snapshot.
                    session.subscribe(s);
                    json!({"method": "subscribe", "result": {"channel": "ticker", "event_trigger": "bbo", "snapshot": true, "symbol": s}, "req_id": req_id, "success": true, "time_in": now, "time_out": now}).to_string()
                })
                .collect(),
            Some(m) => vec![json!({"error": format!("Unsupported method {m}"), "method": m, "req_id": req_id, "success": false, "time_in": now, "time_out": now}).to_string()],
            None => vec![json!({"error": "Missing method", "success": false, "time_in": now, "time_out": now}).to_string()],
        }
    }

    fn heartbeat(&self, _session: &mut SimSession) -> Option<String> {
        Some(r#"{"channel":"heartbeat"}"#.to_owned())
    }

    fn ticker(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        let kind = if session.next_seq() < session.symbols.len() as u64 {
            "snapshot"
        } else {
            "update"
        };
        // Numbers as JSON numbers, written from the decimals' own text.
        format!(
            r#"{{"channel":"ticker","type":"{kind}","data":[{{"symbol":"{symbol}","bid":{},"bid_qty":{},"ask":{},"ask_qty":{},"last":{},"volume":{},"vwap":{},"low":{},"high":{},"change":0.0,"change_pct":0.0,"timestamp":"{}"}}]}}"#,
            q.bid,
            q.bid_size,
            q.ask,
            q.ask_size,
            q.last,
            q.volume_24h,
            q.last,
            q.bid,
            q.ask,
            session.now
        )
    }
}

/// Kraken's private REST endpoint `POST /0/private/BalanceEx`: checks `API-Key`, the `API-Sign`
/// HMAC-SHA512 over the exact body and an increasing `nonce`, refusing as Kraken does: HTTP 200
/// with `{"error":["EAPI:Invalid key"],"result":{}}` (`EAPI:Invalid signature`,
/// `EAPI:Invalid nonce`), marked as refusals for the fault counters.
///
/// It also serves `POST /0/private/GetWebSocketsToken` with the same checks, issuing tokens the
/// private WebSocket simulator ([`KrakenPrivateSim`]) sharing [`Self::tokens`] accepts.
#[derive(Default)]
pub struct KrakenRestSim {
    /// The last accepted nonce of the (one) key: Kraken refuses one that is not larger.
    last_nonce: std::sync::Mutex<i64>,
    /// WebSocket tokens issued so far.
    pub tokens: Tokens,
}

/// WebSocket tokens issued by the REST side, checked by the WebSocket side.
pub type Tokens = std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>;

/// The simulated account (Kraken codes; live BalanceEx quotes its numbers, 4 decimals for fiat,
/// 10 for XBT/ETH, 8 for most tokens). `XBT.M` is BTC in opt-in rewards, `DOT.S` staked DOT.
pub const SIM_BALANCES: &[(&str, &str, &str)] = &[
    ("XXBT", "12.5000000000", "0.5000000000"),
    ("ZUSD", "1500000.0000", "25000.0000"),
    ("XETH", "300.0000000000", "0.0000000000"),
    ("USDT", "250000.00000000", "0.00000000"),
    ("XBT.M", "0.2500000000", "0.0000000000"),
    ("DOT.S", "1000.0000000000", "0.0000000000"),
    // Dust of an asset no registry knows (`super::super::SIM_UNKNOWN_ASSET`).
    ("ZZZDUST", "0.00000001", "0.00000000"),
];

impl crate::sim::rest::RestSimProtocol for KrakenRestSim {
    fn handle(
        &self,
        req: &crate::sim::rest::SimHttpRequest,
        ctx: &crate::sim::rest::RestSimCtx<'_>,
    ) -> crate::sim::rest::SimHttpResponse {
        use crate::sim::rest::SimHttpResponse as R;
        let err =
            |status, msg: &str| R::json(status, json!({"error": [msg], "result": {}}).to_string());
        let refuse = |msg: &str| err(200, msg).refusal();
        let token_path = super::stream::WS_TOKEN_PATH;
        if (req.path != super::BALANCE_EX_PATH && req.path != token_path) || req.method != "POST" {
            return err(404, "EGeneral:Unknown method");
        }
        let (Ok(key), Ok(secret)) = (ctx.credentials.key(), ctx.credentials.secret()) else {
            return err(500, "EService:Unavailable");
        };
        match req.header("api-key") {
            Some(k) if crate::auth::sign::same(k, key) => {}
            _ => return refuse("EAPI:Invalid key"),
        }
        let nonce = req
            .body
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "nonce")
            .map(|(_, v)| v);
        let Some(nonce) = nonce else {
            return refuse("EAPI:Invalid nonce");
        };
        let Ok(expected) = crate::auth::sign::kraken_api_sign(secret, &req.path, nonce, &req.body)
        else {
            return err(500, "EService:Unavailable");
        };
        match req.header("api-sign") {
            Some(s) if crate::auth::sign::same(s, &expected) => {}
            _ => return refuse("EAPI:Invalid signature"),
        }
        let Ok(n) = nonce.parse::<i64>() else {
            return refuse("EAPI:Invalid nonce");
        };
        {
            let mut last = self.last_nonce.lock().unwrap_or_else(|e| e.into_inner());
            if n <= *last {
                return refuse("EAPI:Invalid nonce");
            }
            *last = n;
        }
        if req.path == token_path {
            // Kraken's tokens are 43 characters of base64; any unguessable string will do here.
            let token = crate::auth::sign::random_hex(22);
            self.tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(token.clone());
            return R::json(
                200,
                json!({"error": [], "result": {"token": token, "expires": 900}}).to_string(),
            );
        }
        let result: serde_json::Map<String, serde_json::Value> = SIM_BALANCES
            .iter()
            .map(|(a, b, h)| ((*a).to_owned(), json!({"balance": b, "hold_trade": h})))
            .collect();
        R::json(200, json!({"error": [], "result": result}).to_string())
    }
}

/// The simulated account as the `balances` channel shows it: (asset, wallet type, wallet id,
/// balance). The spot wallets hold [`SIM_BALANCES`]' numbers under the v2 codes (XXBT is BTC,
/// ZUSD is USD), so REST and WS agree; `XBT.M` and `DOT.S` are earn wallets here.
pub const SIM_WS_BALANCES: &[(&str, &str, &str, &str)] = &[
    ("BTC", "spot", "main", "12.5000000000"),
    ("BTC", "earn", "flex", "0.2500000000"),
    ("USD", "spot", "main", "1500000.0000"),
    ("ETH", "spot", "main", "300.0000000000"),
    ("USDT", "spot", "main", "250000.00000000"),
    ("DOT", "earn", "bonded", "1000.0000000000"),
];

/// Kraken's private v2 socket (`ws-auth.kraken.com/v2`): `status` on connect; `subscribe` to
/// `balances` accepted only with a token the REST side issued (else Kraken's
/// `ESession:Invalid session`), answered by the ack and a snapshot of [`SIM_WS_BALANCES`];
/// then one ledger update per tick (an asset's spot wallet, its absolute `balance`), a
/// `heartbeat` every heartbeat tick once subscribed, `pong` to `ping`. Numbers are JSON
/// numbers written from the decimal's text.
pub struct KrakenPrivateSim {
    pub tokens: Tokens,
}

impl KrakenPrivateSim {
    fn snapshot(&self) -> String {
        let mut assets: Vec<&str> = Vec::new();
        for (a, ..) in SIM_WS_BALANCES {
            if !assets.contains(a) {
                assets.push(a);
            }
        }
        let items: Vec<String> = assets
            .iter()
            .map(|asset| {
                let ws: Vec<_> = SIM_WS_BALANCES.iter().filter(|w| w.0 == *asset).collect();
                let total: rust_decimal::Decimal = ws
                    .iter()
                    .filter_map(|w| w.3.parse::<rust_decimal::Decimal>().ok())
                    .sum();
                let wallets: Vec<String> = ws
                    .iter()
                    .map(|(_, t, id, b)| format!(r#"{{"type":"{t}","id":"{id}","balance":{b}}}"#))
                    .collect();
                format!(
                    r#"{{"asset":"{asset}","asset_class":"currency","balance":{total},"wallets":[{}]}}"#,
                    wallets.join(",")
                )
            })
            .collect();
        format!(
            r#"{{"channel":"balances","data":[{}],"type":"snapshot","sequence":1}}"#,
            items.join(",")
        )
    }

    /// A ledger entry of the next spot wallet in turn: a zero-amount `adjustment`, so the
    /// balance stays the REST side's.
    fn update(session: &mut SimSession) -> String {
        let spot: Vec<_> = SIM_WS_BALANCES.iter().filter(|w| w.1 == "spot").collect();
        let n = session.next_seq();
        let (asset, t, id, balance) = spot[(n as usize) % spot.len()];
        let ts = session.now.to_string();
        format!(
            r#"{{"channel":"balances","type":"update","data":[{{"ledger_id":"SIM{n:05}-LEDGR-ENTRY","ref_id":"SIM{n:05}-REFID-ENTRY","timestamp":"{ts}","type":"adjustment","asset":"{asset}","asset_class":"currency","category":"adjustment","wallet_type":"{t}","wallet_id":"{id}","amount":0,"fee":0,"balance":{balance}}}],"sequence":{}}}"#,
            n + 2
        )
    }
}

impl SimProtocol for KrakenPrivateSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::Kraken
    }

    fn on_connect(&self, path: &str, session: &mut SimSession) -> Vec<String> {
        KrakenSim.on_connect(path, session)
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let now = session.now.to_string();
        let Ok(req) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![json!({"error": "Malformed request", "method": "", "success": false, "time_in": now, "time_out": now}).to_string()];
        };
        let req_id = req.get("req_id").cloned();
        let refuse = |method: &str, error: &str| {
            json!({"error": error, "method": method, "req_id": req_id, "success": false, "time_in": now, "time_out": now}).to_string()
        };
        match req["method"].as_str() {
            Some("ping") => vec![
                json!({"method": "pong", "req_id": req_id, "time_in": now, "time_out": now})
                    .to_string(),
            ],
            Some("subscribe") if req["params"]["channel"] == "balances" => {
                let token = req["params"]["token"].as_str().unwrap_or("");
                let known = self
                    .tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(token);
                if !known {
                    return vec![refuse("subscribe", "ESession:Invalid session")];
                }
                session.authenticated = true;
                let snapshot = req["params"]["snapshot"].as_bool().unwrap_or(true);
                let mut out = vec![json!({"method": "subscribe", "result": {"channel": "balances", "snapshot": snapshot}, "success": true, "time_in": now, "time_out": now, "req_id": req_id}).to_string()];
                if !session.streams.iter().any(|s| s == "balances") {
                    session.streams.push("balances".into());
                    if snapshot {
                        out.push(self.snapshot());
                    }
                }
                out
            }
            Some("subscribe") => vec![refuse("subscribe", "EGeneral:Invalid arguments")],
            _ => vec![refuse(
                req["method"].as_str().unwrap_or(""),
                "EGeneral:Invalid arguments",
            )],
        }
    }

    fn heartbeat(&self, session: &mut SimSession) -> Option<String> {
        session
            .authenticated
            .then(|| r#"{"channel":"heartbeat"}"#.to_owned())
    }

    fn ticker(&self, _symbol: &str, _q: &SimQuote, _session: &mut SimSession) -> String {
        String::new() // no tickers on the private socket
    }

    fn on_tick(&self, session: &mut SimSession) -> Vec<String> {
        if session.streams.iter().any(|s| s == "balances") {
            vec![Self::update(session)]
        } else {
            Vec::new()
        }
    }
}

/// The REST side (token endpoint and BalanceEx) and the private socket, sharing the tokens:
/// one handle with both URLs, stopping both when dropped.
pub async fn serve_private(
    credentials: crate::auth::Credentials,
) -> std::io::Result<crate::sim::SimHandle> {
    let tokens = Tokens::default();
    let rest = crate::sim::rest::serve_rest(
        KrakenRestSim {
            tokens: tokens.clone(),
            ..Default::default()
        },
        credentials,
    )
    .await?;
    let ws = crate::sim::serve(
        KrakenPrivateSim { tokens },
        crate::sim::SimOptions::default(),
    )
    .await?;
    Ok(crate::sim::SimHandle {
        ws_url: ws.ws_url.clone(),
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
