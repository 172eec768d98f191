//! Bybit v5's public servers. Both endpoints answer `subscribe` and `ping` with their own ack
//! and pong shapes (connect docs, "Understanding the Subscription Response" and "How to Send
//! the Heartbeat Packet") and refuse with `success:false` and a `ret_msg`; neither sends
//! heartbeats of its own.
//!
//! - linear: per symbol a `tickers` snapshot with every field, then deltas with only the fields
//!   that changed (a new connection starts with a snapshot again);
//! - spot: per symbol an `orderbook.1` snapshot, then alternately a `tickers` snapshot (spot
//!   tickers have no bid/ask) and an `orderbook.1` delta of the sides that changed.

use super::{account_sim, Category, SPOT_MAX_ARGS};
use crate::sim::{fixed, SimProtocol, SimQuote, SimSession};
use crate::traits::StreamingVenue;
use rust_decimal::Decimal;
use serde_json::Value;
use std::fmt::Write as _;

/// The simulator of one endpoint.
pub struct BybitSim(pub Category);

/// Connection ids look like the docs' (`3cd84cb1-4d06-4a05-930a-2efe5fc70f0f`); one is enough.
const CONN_ID: &str = "3cd84cb1-4d06-4a05-930a-2efe5fc70f0f";

/// Cross sequences are large numbers (the docs' linear example: 9532239429).
const CS_BASE: u64 = 9_532_239_429;

/// Size strings: linear BTCUSDT sizes have 3 decimals in the docs; the model's sizes have 4.
const SIZE_DP: u32 = 4;

/// A JSON string literal (the client's req_id is echoed, so it is escaped).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn mid(q: &SimQuote) -> Decimal {
    ((q.bid + q.ask) / Decimal::TWO).round_dp(q.dp)
}

impl BybitSim {
    /// Field order as in the docs' examples.
    fn ack(&self, req_id: &str) -> String {
        let ret_msg = match self.0 {
            Category::Spot => "subscribe",
            Category::Linear => "",
        };
        format!(
            r#"{{"success":true,"ret_msg":"{ret_msg}","conn_id":"{CONN_ID}","req_id":{},"op":"subscribe"}}"#,
            quoted(req_id)
        )
    }

    fn pong(&self, req_id: &str) -> String {
        match self.0 {
            // The docs' spot pong carries no req_id.
            Category::Spot => {
                format!(r#"{{"success":true,"ret_msg":"pong","conn_id":"{CONN_ID}","op":"ping"}}"#)
            }
            Category::Linear => format!(
                r#"{{"success":true,"ret_msg":"pong","conn_id":"{CONN_ID}","req_id":{},"op":"ping"}}"#,
                quoted(req_id)
            ),
        }
    }

    /// Bybit's refusal frame. The `ret_msg` texts are Bybit's where known (a topic it has no
    /// handler for, as answered live: `error:handler not found,topic:dcp.future`); the others
    /// are undocumented and only need to say why.
    fn refuse(&self, req_id: &str, op: &str, why: &str) -> String {
        format!(
            r#"{{"success":false,"ret_msg":{},"conn_id":"{CONN_ID}","req_id":{},"op":{}}}"#,
            quoted(why),
            quoted(req_id),
            quoted(op)
        )
    }

    fn subscribe(&self, req: &Value, req_id: &str, session: &mut SimSession) -> String {
        let args: Vec<&str> = req["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if self.0 == Category::Spot && args.len() > SPOT_MAX_ARGS {
            return self.refuse(req_id, "subscribe", "args size >10");
        }
        let mut symbols = Vec::new();
        for arg in &args {
            let symbol = match self.0 {
                Category::Spot => arg
                    .strip_prefix("orderbook.1.")
                    .or_else(|| arg.strip_prefix("tickers.")),
                Category::Linear => arg.strip_prefix("tickers."),
            };
            match symbol {
                Some(s) if !s.is_empty() => symbols.push(s),
                _ => {
                    let why = format!("error:handler not found,topic:{arg}");
                    return self.refuse(req_id, "subscribe", &why);
                }
            }
        }
        for s in symbols {
            session.subscribe(s);
        }
        self.ack(req_id)
    }

    /// A linear ticker: every field on the first frame of a symbol, then only what changed.
    /// Field order as in the docs' example.
    fn linear(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        let dp = q.dp;
        let prev = session.sent.get(symbol).map(|s| s.quote.clone());
        // (name, value, changed since the last frame); constants never change.
        let var = |name, f: fn(&SimQuote) -> Decimal, dp| {
            let value = fixed(f(q), dp);
            let changed = !matches!(&prev, Some(p) if fixed(f(p), dp) == value);
            (name, value, changed)
        };
        let constant = |name, value: &str| (name, value.to_owned(), false);
        let fields = [
            constant("tickDirection", "PlusTick"),
            constant("price24hPcnt", "0.0125"),
            var("lastPrice", |p| p.last, dp),
            var("markPrice", mid, dp),
            var("indexPrice", mid, dp),
            var("volume24h", |p| p.volume_24h, SIZE_DP),
            constant("nextFundingTime", "1760342400000"),
            constant("fundingRate", "0.0001"),
            var("bid1Price", |p| p.bid, dp),
            var("bid1Size", |p| p.bid_size, SIZE_DP),
            var("ask1Price", |p| p.ask, dp),
            var("ask1Size", |p| p.ask_size, SIZE_DP),
            constant("preOpenPrice", ""),
            constant("preQty", ""),
        ];
        let snapshot = prev.is_none();
        let mut data = format!(r#"{{"symbol":"{symbol}""#);
        for (name, value, changed) in &fields {
            if snapshot || *changed {
                let _ = write!(data, r#","{name}":"{value}""#);
            }
        }
        data.push('}');
        let kind = if snapshot { "snapshot" } else { "delta" };
        self.remember(symbol, q, session);
        format!(
            r#"{{"topic":"tickers.{symbol}","type":"{kind}","data":{data},"cs":{},"ts":{}}}"#,
            CS_BASE + session.next_seq(),
            session.now.millis()
        )
    }

    /// A spot frame: the book snapshot first, then a ticker and a book delta in turn.
    fn spot(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        let frames = session.sent.get(symbol).map_or(0, |s| s.frames);
        let cs = CS_BASE + session.next_seq();
        let ts = session.now.millis();
        if frames % 2 == 1 {
            if let Some(s) = session.sent.get_mut(symbol) {
                s.frames += 1;
            }
            return format!(
                r#"{{"topic":"tickers.{symbol}","ts":{ts},"type":"snapshot","cs":{cs},"data":{{"symbol":"{symbol}","lastPrice":"{}","highPrice24h":"{}","lowPrice24h":"{}","prevPrice24h":"{}","volume24h":"{}","turnover24h":"{}","price24hPcnt":"0.0125","usdIndexPrice":"{}"}}}}"#,
                fixed(q.last, q.dp),
                fixed(q.ask, q.dp),
                fixed(q.bid, q.dp),
                fixed(q.last, q.dp),
                fixed(q.volume_24h, SIZE_DP),
                fixed(q.volume_24h * q.last, SIZE_DP),
                fixed(mid(q), q.dp),
            );
        }
        let prev = session.sent.get(symbol).map(|s| s.quote.clone());
        // Levels are written as they were sent: the old best with the old quote's decimals.
        let side = |price: Decimal, size: Decimal, old: Option<(Decimal, Decimal, u32)>| {
            let level = format!(r#"["{}","{}"]"#, fixed(price, q.dp), fixed(size, SIZE_DP));
            match old {
                None => format!("[{level}]"),
                Some((p, s, _)) if p == price && s == size => "[]".to_owned(),
                Some((p, _, _)) if p == price => format!("[{level}]"),
                // The old best leaves (size 0) and the new best arrives.
                Some((p, _, dp)) => format!(r#"[["{}","0"],{level}]"#, fixed(p, dp)),
            }
        };
        let bids = side(
            q.bid,
            q.bid_size,
            prev.as_ref().map(|p| (p.bid, p.bid_size, p.dp)),
        );
        let asks = side(
            q.ask,
            q.ask_size,
            prev.as_ref().map(|p| (p.ask, p.ask_size, p.dp)),
        );
        let kind = if prev.is_none() { "snapshot" } else { "delta" };
        let u = frames / 2 + 1;
        self.remember(symbol, q, session);
        format!(
            r#"{{"topic":"orderbook.1.{symbol}","type":"{kind}","ts":{ts},"data":{{"s":"{symbol}","b":{bids},"a":{asks},"u":{u},"seq":{cs}}}}}"#
        )
    }

    fn remember(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) {
        session.remember(symbol, q);
    }
}

impl SimProtocol for BybitSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        match self.0 {
            Category::Spot => &super::BybitSpot,
            Category::Linear => &super::BybitLinear,
        }
    }

    fn on_connect(&self, _path: &str, _session: &mut SimSession) -> Vec<String> {
        Vec::new() // Bybit says nothing until asked
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let Ok(req) = serde_json::from_str::<Value>(text) else {
            return vec![self.refuse("", "", "error:request not json")];
        };
        let req_id = req["req_id"].as_str().unwrap_or("").to_owned();
        let reply = match req["op"].as_str() {
            Some("ping") => self.pong(&req_id),
            Some("subscribe") => self.subscribe(&req, &req_id, session),
            Some(op) => self.refuse(&req_id, op, &format!("error:unsupported op {op}")),
            None => self.refuse(&req_id, "", "error:missing op"),
        };
        vec![reply]
    }

    fn heartbeat(&self, _session: &mut SimSession) -> Option<String> {
        None // only pongs, on the client's ping
    }

    fn ticker(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        match self.0 {
            Category::Spot => self.spot(symbol, q, session),
            Category::Linear => self.linear(symbol, q, session),
        }
    }
}

/// Bybit's REST wallet-balance endpoint: checks `X-BAPI-API-KEY`, the receive window
/// (`server_time - recv_window <= timestamp < server_time + 1000`) and the hex HMAC-SHA256
/// `X-BAPI-SIGN`, refusing as Bybit does: HTTP 200 with `retCode` 10003 / 10002 / 10004.
pub struct BybitRestSim;

/// The simulated unified account: (coin, walletBalance, locked, borrowAmount), numbers as Bybit
/// writes them.
pub const SIM_BALANCES: &[(&str, &str, &str, &str)] = &[
    ("BTC", "2.35418", "0.05", "0"),
    ("ETH", "18.7", "0", "0"),
    ("USDT", "412500.33618", "12000", "0"),
    ("USDC", "0", "0", "2500"),
    // Dust of an asset no registry knows (`super::super::SIM_UNKNOWN_ASSET`).
    ("ZZZDUST", "0.00000001", "0", "0"),
];

/// Initial margin in use per coin: (coin, totalOrderIM, totalPositionIM). USDT margins open
/// linear orders and positions; those amounts are held, not available.
pub const SIM_MARGIN: &[(&str, &str, &str)] = &[("USDT", "1500.25", "8000.5")];

/// The simulated (`totalOrderIM`, `totalPositionIM`) of `coin`.
fn margin(coin: &str) -> (&'static str, &'static str) {
    SIM_MARGIN
        .iter()
        .find(|(c, _, _)| *c == coin)
        .map_or(("0", "0"), |(_, o, p)| (*o, *p))
}

/// Bybit's refusal envelope.
pub(super) fn refusal(code: i64, msg: &str, now_ms: i64) -> crate::sim::rest::SimHttpResponse {
    crate::sim::rest::SimHttpResponse::json(
        200,
        format!(
            r#"{{"retCode":{code},"retMsg":{},"result":{{}},"retExtInfo":{{}},"time":{now_ms}}}"#,
            Value::from(msg)
        ),
    )
    .refusal()
}

impl crate::sim::rest::RestSimProtocol for BybitRestSim {
    fn handle(
        &self,
        req: &crate::sim::rest::SimHttpRequest,
        ctx: &crate::sim::rest::RestSimCtx<'_>,
    ) -> crate::sim::rest::SimHttpResponse {
        use crate::sim::rest::SimHttpResponse as R;
        let now = ctx.now.millis();
        let known = matches!(
            req.path.as_str(),
            "/v5/account/wallet-balance" | super::account::POSITIONS_PATH
        );
        if !known || req.method != "GET" {
            return R::json(
                404,
                r#"{"retCode":10017,"retMsg":"route not found","result":{},"retExtInfo":{}}"#,
            );
        }
        let (Ok(key), Ok(secret)) = (ctx.credentials.key(), ctx.credentials.secret()) else {
            return refusal(10016, "Internal server error", now);
        };
        match req.header("x-bapi-api-key") {
            Some(k) if crate::auth::sign::same(k, key) => {}
            _ => return refusal(10003, "API key is invalid.", now),
        }
        let ts = req
            .header("x-bapi-timestamp")
            .and_then(|t| t.parse::<i64>().ok());
        let window_text = req.header("x-bapi-recv-window").unwrap_or("5000");
        let window = window_text.parse::<i64>().unwrap_or(5000);
        let Some(ts) = ts.filter(|ts| now - window <= *ts && *ts < now + 1000) else {
            return refusal(
                10002,
                &format!(
                    "invalid request, please check your server timestamp or recv_window param. req_timestamp[{}],server_timestamp[{now}],recv_window[{window}]",
                    req.header("x-bapi-timestamp").unwrap_or("")
                ),
                now,
            );
        };
        let expected = super::bybit_sign(secret, ts, key, window_text, &req.query);
        let sent = req.header("x-bapi-sign").unwrap_or("");
        if !crate::auth::sign::same(&expected, &sent.to_ascii_lowercase()) {
            return refusal(
                10004,
                &format!(
                    "error sign! origin_string[{ts}{key}{window_text}{}]",
                    req.query
                ),
                now,
            );
        }
        if req.path == super::account::POSITIONS_PATH {
            return account_sim::position_list_response(req, ctx.now);
        }
        let account_type = req.param("accountType").unwrap_or("");
        if account_type != "UNIFIED" {
            return refusal(10001, "accountType only support UNIFIED.", now);
        }
        let positions = account_sim::positions(ctx.now);
        let coins: Vec<Value> = SIM_BALANCES
            .iter()
            .map(|(coin, wallet, locked, borrow)| {
                let (order_im, position_im) = margin(coin);
                let (equity, upnl) = account_sim::coin_equity(&positions, coin, wallet);
                serde_json::json!({
                    "availableToBorrow": "", "bonus": "0", "accruedInterest": "0",
                    "availableToWithdraw": "", "totalOrderIM": order_im, "equity": equity,
                    "totalPositionMM": "0", "usdValue": "", "spotHedgingQty": "0",
                    "unrealisedPnl": upnl, "collateralSwitch": true, "borrowAmount": borrow,
                    "totalPositionIM": position_im, "walletBalance": wallet, "cumRealisedPnl": "0",
                    "locked": locked, "marginCollateral": true, "coin": coin, "spotBorrow": borrow
                })
            })
            .collect();
        let mut account = serde_json::json!({"accountType": "UNIFIED", "accountLTV": "0"});
        for (k, v) in account_sim::account_totals(ctx.now) {
            account[k] = Value::from(v);
        }
        account["coin"] = Value::Array(coins);
        R::json(
            200,
            serde_json::json!({
                "retCode": 0, "retMsg": "OK", "result": {"list": [account]},
                "retExtInfo": {}, "time": now
            })
            .to_string(),
        )
    }
}

/// The private topics the simulator serves.
const PRIVATE_TOPICS: [&str; 2] = ["wallet", "position"];

/// Bybit's private stream (`/v5/private`): checks the `auth` frame (key, `expires` not in the
/// past, hex HMAC-SHA256 of `"GET/realtime" + expires`) against the credentials it was started
/// with, answers as Bybit does (`success:true`, or `success:false` with `Params Error`), refuses
/// a subscribe before auth, acks `wallet` and then pushes the account every tick in the docs'
/// `wallet` format, with the same coins and numbers as [`BybitRestSim`] so REST and WS agree.
pub struct BybitPrivateSim {
    credentials: crate::auth::Credentials,
}

impl BybitPrivateSim {
    pub fn new(credentials: crate::auth::Credentials) -> Self {
        BybitPrivateSim { credentials }
    }

    /// Field order as in the docs' examples; `req_id` echoed first when the client sent one.
    fn reply(req_id: Option<&str>, success: bool, ret_msg: &str, op: &str) -> String {
        let req = req_id.map_or(String::new(), |r| format!(r#""req_id":{},"#, quoted(r)));
        format!(
            r#"{{{req}"success":{success},"ret_msg":{},"op":{},"conn_id":"{CONN_ID}"}}"#,
            quoted(ret_msg),
            quoted(op)
        )
    }

    fn auth_ok(&self, req: &Value, now_ms: i64) -> bool {
        let (Ok(key), Ok(secret)) = (self.credentials.key(), self.credentials.secret()) else {
            return false;
        };
        let args = req["args"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let [k, expires, sign] = args else {
            return false;
        };
        // The docs send `expires` as a number; clients also send it as a string.
        let expires = match expires {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        let (Some(k), Some(expires), Some(sign)) = (k.as_str(), expires, sign.as_str()) else {
            return false;
        };
        crate::auth::sign::same(k, key)
            && expires > now_ms
            && crate::auth::sign::same(
                &super::bybit_ws_sign(secret, expires),
                &sign.to_ascii_lowercase(),
            )
    }

    /// One `wallet` push of the simulated unified account.
    fn wallet(&self, session: &mut SimSession) -> String {
        let now = session.now.millis();
        let id = format!("592324d2bce751-ad38-48eb-8f42-{:012x}", session.next_seq());
        let positions = account_sim::positions(session.now);
        let coins: Vec<String> = SIM_BALANCES
            .iter()
            .map(|(coin, wallet, locked, borrow)| {
                let (order_im, position_im) = margin(coin);
                let (equity, upnl) = account_sim::coin_equity(&positions, coin, wallet);
                format!(
                    r#"{{"coin":"{coin}","equity":"{equity}","usdValue":"","walletBalance":"{wallet}","availableToWithdraw":"","availableToBorrow":"","borrowAmount":"{borrow}","accruedInterest":"0","totalOrderIM":"{order_im}","totalPositionIM":"{position_im}","totalPositionMM":"0","unrealisedPnl":"{upnl}","cumRealisedPnl":"0","bonus":"0","collateralSwitch":true,"marginCollateral":true,"locked":"{locked}","spotHedgingQty":"0","spotBorrow":"{borrow}"}}"#
                )
            })
            .collect();
        // The account-level fields in the docs' push order, then the coins.
        let totals: String = account_sim::account_totals(session.now)
            .iter()
            .map(|(k, v)| format!(r#""{k}":"{v}","#))
            .collect();
        format!(
            r#"{{"id":"{id}","topic":"wallet","creationTime":{now},"data":[{{{totals}"coin":[{}],"accountLTV":"0","accountType":"UNIFIED"}}]}}"#,
            coins.join(",")
        )
    }
}

impl SimProtocol for BybitPrivateSim {
    /// Unused: the private stream has no symbols, so the price model is never asked.
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::BybitSpot
    }

    fn on_connect(&self, _path: &str, _session: &mut SimSession) -> Vec<String> {
        Vec::new()
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        let Ok(req) = serde_json::from_str::<Value>(text) else {
            return vec![Self::reply(None, false, "error:request not json", "")];
        };
        let req_id = req["req_id"].as_str();
        let reply = match req["op"].as_str() {
            Some("auth") => {
                let ok = self.auth_ok(&req, session.now.millis());
                session.authenticated = ok;
                Self::reply(req_id, ok, if ok { "" } else { "Params Error" }, "auth")
            }
            Some("subscribe") if !session.authenticated => {
                // Undocumented text; Bybit refuses private topics before a login.
                Self::reply(req_id, false, "Request not authorized", "subscribe")
            }
            Some("subscribe") => {
                let args: Vec<&str> = req["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if let Some(bad) = args.iter().find(|a| !PRIVATE_TOPICS.contains(a)) {
                    let why = format!("error:handler not found,topic:{bad}");
                    Self::reply(req_id, false, &why, "subscribe")
                } else {
                    for a in args {
                        if !session.streams.iter().any(|s| s == a) {
                            session.streams.push(a.into());
                        }
                    }
                    Self::reply(req_id, true, "", "subscribe")
                }
            }
            Some("ping") => format!(
                r#"{{"req_id":{},"op":"pong","args":["{}"],"conn_id":"{CONN_ID}"}}"#,
                quoted(req_id.unwrap_or("")),
                session.now.millis()
            ),
            Some(op) => Self::reply(req_id, false, &format!("error:unsupported op {op}"), op),
            None => Self::reply(req_id, false, "error:missing op", ""),
        };
        vec![reply]
    }

    fn heartbeat(&self, _session: &mut SimSession) -> Option<String> {
        None
    }

    fn ticker(&self, _symbol: &str, _q: &SimQuote, _session: &mut SimSession) -> String {
        String::new() // never called: no symbols are subscribed
    }

    /// The wallet first, then the positions (Bybit pushes on change; the simulator every tick).
    fn on_tick(&self, session: &mut SimSession) -> Vec<String> {
        let mut out = Vec::new();
        if !session.authenticated {
            return out;
        }
        if session.streams.iter().any(|s| s == "wallet") {
            out.push(self.wallet(session));
        }
        if session.streams.iter().any(|s| s == "position") {
            let id = format!("1003076014fb7eedb-c7e6-45d6-{:012x}", session.next_seq());
            out.push(account_sim::position_push(&id, session.now));
        }
        out
    }
}
