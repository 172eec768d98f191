//! OKX v5's public server: nothing on connect; `subscribe` / `unsubscribe` acked once per
//! argument; the bare text `ping` answered by the bare text `pong`; tickers pushed with the
//! fields in the order of the live capture and numbers as OKX writes them (strings, no trailing
//! zeros); bad requests answered with OKX's `{"event":"error",...}` frames. No venue heartbeats:
//! OKX has none, the client's ping keeps the socket open.

use super::{inst_id, Okx};
use crate::sim::{PriceModel, SimProtocol, SimQuote, SimSession};
use crate::traits::StreamingVenue;
use rust_decimal::Decimal;
use schemas::Market;

pub struct OkxSim;

/// OKX writes decimals at the instrument's tick size without trailing zeros (`"30236"`,
/// `"0.23393"`).
fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A JSON string literal (the request text echoed in error messages may hold quotes).
fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// OKX's 8-hex-digit connection id; the session's `seq` holds it (OKX numbers nothing else).
fn conn_id(session: &SimSession) -> String {
    format!("{:08x}", session.seq as u32)
}

/// `{"event":"error","code":...,"msg":...,"connId":...}`, in OKX's field order.
fn error(code: &str, msg: &str, session: &SimSession) -> String {
    format!(
        r#"{{"event":"error","code":"{code}","msg":{},"connId":"{}"}}"#,
        json_str(msg),
        conn_id(session)
    )
}

impl OkxSim {
    /// Whether the venue lists this instrument: a well-formed instId the price model can quote.
    fn listed(&self, id: &str, session: &SimSession) -> bool {
        inst_id(id).is_ok()
            && PriceModel
                .quote_any(&Okx, id, session.now, 0, session.load)
                .is_some()
    }
}

impl SimProtocol for OkxSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &Okx
    }

    fn on_connect(&self, _path: &str, session: &mut SimSession) -> Vec<String> {
        session.seq = u64::from(rand::random::<u32>());
        Vec::new()
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        if text == "ping" {
            return vec!["pong".to_owned()];
        }
        let Ok(req) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![error("60012", &format!("Invalid request: {text}"), session)];
        };
        let op = req["op"].as_str().unwrap_or("");
        if op != "subscribe" && op != "unsubscribe" {
            return vec![error("60019", &format!("Invalid op: {op}"), session)];
        }
        let Some(args) = req["args"].as_array().filter(|a| !a.is_empty()) else {
            return vec![error("60013", "Invalid args", session)];
        };
        args.iter()
            .map(|a| {
                let channel = a["channel"].as_str().unwrap_or("");
                let id = a["instId"].as_str().unwrap_or("");
                if channel != "tickers" || !self.listed(id, session) {
                    return error(
                        "60018",
                        &format!(
                            "Wrong URL or channel:{channel},instId:{id} doesn't exist. Please use \
                             the correct URL, channel and parameters referring to API document."
                        ),
                        session,
                    );
                }
                if op == "subscribe" {
                    session.subscribe(id);
                } else {
                    session.symbols.retain(|s| s != id);
                }
                format!(
                    r#"{{"event":"{op}","arg":{{"channel":"tickers","instId":{}}},"connId":"{}"}}"#,
                    json_str(id),
                    conn_id(session)
                )
            })
            .collect()
    }

    fn heartbeat(&self, _session: &mut SimSession) -> Option<String> {
        None
    }

    fn ticker(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        let market = inst_id(symbol).map(|i| i.market).unwrap_or(Market::Spot);
        let inst_type = inst_id(symbol).map(|i| i.inst_type()).unwrap_or("SPOT");
        // Spot: vol24h in base, volCcy24h in quote. Derivatives: vol24h in contracts (an
        // illustrative 100 per base unit here), volCcy24h in base.
        let (vol_ccy, vol) = match market {
            Market::Spot => (q.volume_24h * q.last, q.volume_24h),
            _ => (q.volume_24h, (q.volume_24h * Decimal::from(100)).round()),
        };
        format!(
            r#"{{"arg":{{"channel":"tickers","instId":"{symbol}"}},"data":[{{"instType":"{inst_type}","instId":"{symbol}","last":"{last}","lastSz":"{last_sz}","askPx":"{ask}","askSz":"{ask_sz}","bidPx":"{bid}","bidSz":"{bid_sz}","open24h":"{last}","high24h":"{ask}","low24h":"{bid}","sodUtc0":"{last}","sodUtc8":"{last}","volCcy24h":"{vol_ccy}","vol24h":"{vol}","ts":"{ts}"}}]}}"#,
            last = num(q.last),
            last_sz = num(q.bid_size),
            ask = num(q.ask),
            ask_sz = num(q.ask_size),
            bid = num(q.bid),
            bid_sz = num(q.bid_size),
            vol_ccy = num(vol_ccy),
            vol = num(vol),
            ts = session.now.millis(),
        )
    }
}

/// OKX's REST balance and positions endpoints: checks the timestamp (format, then the 30 s window), the key,
/// the passphrase and the Base64 HMAC-SHA256 signature, answering refusals as OKX does (HTTP 401,
/// `{"msg":"...","code":"501xx"}`).
pub struct OkxRestSim;

/// The simulated trading account: (ccy, cashBal, availBal, frozenBal), numbers as OKX writes
/// them (no trailing zeros).
pub const SIM_BALANCES: &[(&str, &str, &str, &str)] = &[
    ("BTC", "3.5", "3.25", "0.25"),
    ("ETH", "42.123456789", "42.123456789", "0"),
    ("USDT", "815000.4213", "800000.4213", "15000"),
    ("USDC", "120000", "120000", "0"),
];

impl crate::sim::rest::RestSimProtocol for OkxRestSim {
    fn handle(
        &self,
        req: &crate::sim::rest::SimHttpRequest,
        ctx: &crate::sim::rest::RestSimCtx<'_>,
    ) -> crate::sim::rest::SimHttpResponse {
        use crate::sim::rest::SimHttpResponse as R;
        // Field order as OKX sends it (`msg` first), hence no json! (which sorts keys).
        let err = |status, code: &str, msg: &str| {
            R::json(
                status,
                format!(
                    r#"{{"msg":{},"code":"{code}"}}"#,
                    serde_json::Value::from(msg)
                ),
            )
        };
        let known = [super::account::BALANCE_PATH, super::account::POSITIONS_PATH];
        if !known.contains(&req.path.as_str()) || req.method != "GET" {
            return err(404, "50000", "Not Found");
        }
        let (Ok(key), Ok(secret), Ok(passphrase)) = (
            ctx.credentials.key(),
            ctx.credentials.secret(),
            ctx.credentials.passphrase(),
        ) else {
            return err(500, "50026", "System error. Try again later");
        };
        let Some(ak) = req.header("ok-access-key") else {
            return err(
                401,
                "50103",
                "Request header OK-ACCESS-KEY can not be empty.",
            );
        };
        let Some(ts) = req.header("ok-access-timestamp") else {
            return err(
                401,
                "50107",
                "Request header OK-ACCESS-TIMESTAMP can not be empty.",
            );
        };
        let Some(sign) = req.header("ok-access-sign") else {
            return err(
                401,
                "50106",
                "Request header OK-ACCESS-SIGN can not be empty.",
            );
        };
        let Some(pp) = req.header("ok-access-passphrase") else {
            return err(
                401,
                "50104",
                "Request header OK-ACCESS-PASSPHRASE can not be empty.",
            );
        };
        // OKX checks the timestamp before it looks the key up.
        let Some(sent) = schemas::Ts::parse_rfc3339(ts).filter(|_| ts.ends_with('Z')) else {
            return err(401, "50112", "Invalid OK-ACCESS-TIMESTAMP");
        };
        if (ctx.now.millis() - sent.millis()).abs() > 30_000 {
            return err(401, "50102", "Timestamp request expired");
        }
        if !crate::auth::sign::same(ak, key) {
            return err(401, "50111", "Invalid OK-ACCESS-KEY");
        }
        if !crate::auth::sign::same(pp, passphrase) {
            return err(
                401,
                "50105",
                "Request header OK-ACCESS-PASSPHRASE incorrect.",
            );
        }
        let path = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        let expected = super::okx_sign(secret, ts, &req.method, &path, &req.body);
        if !crate::auth::sign::same(&expected, sign) {
            return err(401, "50113", "Invalid Sign");
        }
        if req.path == super::account::POSITIONS_PATH {
            // The positions were last adjusted hours ago; their marks are live.
            let u_time = (ctx.now.millis() - super::super::SIM_DORMANT_MS).to_string();
            let data = super::sim_account::position_rows(ctx.now, &u_time);
            return R::json(
                200,
                serde_json::json!({"code": "0", "data": data, "msg": ""}).to_string(),
            );
        }
        R::json(
            200,
            serde_json::json!({"code": "0", "data": account_data(ctx.now), "msg": ""}).to_string(),
        )
    }
}

/// The trading account (`data` of the balance response and of the `account` push): the
/// balances of [`SIM_BALANCES`], unchanging, and the margin of
/// [`super::sim_account`], moving with the prices.
fn account_data(now: schemas::Ts) -> serde_json::Value {
    // A dormant account: its last change (`uTime`) is hours before the response.
    let u_time = (now.millis() - super::super::SIM_DORMANT_MS).to_string();
    let (margin, account) = super::sim_account::account_fields(now);
    let details: Vec<serde_json::Value> = SIM_BALANCES
        .iter()
        .zip(margin)
        .map(|((ccy, cash, avail, frozen), (_, upl, eq))| {
            serde_json::json!({
                "accAvgPx": "", "availBal": avail, "availEq": avail, "borrowFroz": "",
                "cashBal": cash, "ccy": ccy, "crossLiab": "", "eq": eq, "fixedBal": "0",
                "frozenBal": frozen, "interest": "", "isoEq": "0", "liab": "",
                "maxLoan": "", "mgnRatio": "", "ordFrozen": frozen, "spotBal": "",
                "uTime": u_time, "upl": upl
            })
        })
        .collect();
    let mut data = serde_json::json!({
        "availEq": "", "borrowFroz": "", "details": details, "isoEq": "0", "ordFroz": "",
        "uTime": u_time
    });
    if let (Some(d), Some(a)) = (data.as_object_mut(), account.as_object()) {
        d.extend(a.clone());
    }
    serde_json::json!([data])
}

/// OKX's private socket (`/ws/v5/private`): checks the `login` against the credentials it was
/// started with the way OKX does (timestamp in Unix seconds within 30 s of its clock, the API
/// key, the passphrase, then the Base64 HMAC-SHA256 of `timestamp + "GET" + "/users/self/verify"`),
/// answering with OKX's frames and codes (`{"event":"login","code":"0",...}` or
/// `{"event":"error","code":"60007","msg":"Invalid sign",...}`); refuses a subscribe before
/// login (`60011`) and channels other than `account` and `positions` (`60018`); answers the
/// text `ping` with `pong`; then pushes the `account` channel, and `positions` when asked
/// (first tick, then every 2 s), with the same currencies, positions and numbers as
/// [`OkxRestSim`], so REST and stream agree.
pub struct OkxPrivateSim {
    credentials: crate::auth::Credentials,
}

/// Connection ids are 8 hex digits in OKX's frames (`"connId":"a4d3ae55"`).
const CONN_ID: &str = "a4d3ae55";

/// A user id in the shape of OKX's (a long decimal string).
const UID: &str = "44705892343619584";

impl OkxPrivateSim {
    pub fn new(credentials: crate::auth::Credentials) -> Self {
        OkxPrivateSim { credentials }
    }

    /// OKX's error frame, `msg` before `code` as OKX writes it.
    fn error(code: &str, msg: &str) -> String {
        format!(
            r#"{{"event":"error","msg":{},"code":"{code}","connId":"{CONN_ID}"}}"#,
            serde_json::Value::from(msg)
        )
    }

    /// `Err` is the refusal to send.
    fn login(&self, req: &serde_json::Value, now_ms: i64) -> Result<(), String> {
        let (Ok(key), Ok(secret), Ok(passphrase)) = (
            self.credentials.key(),
            self.credentials.secret(),
            self.credentials.passphrase(),
        ) else {
            return Err(Self::error(
                "63999",
                "Login failed due to internal error. Please try again later.",
            ));
        };
        let args = req["args"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let [arg] = args else {
            return Err(Self::error("60013", "Invalid args"));
        };
        let field = |name: &str| arg.get(name).and_then(serde_json::Value::as_str);
        let Some(ts) = field("timestamp") else {
            return Err(Self::error(
                "60027",
                "Parameter timestamp can not be empty.",
            ));
        };
        let Some(sent_s) = ts
            .parse::<i64>()
            .ok()
            .filter(|_| ts.bytes().all(|b| b.is_ascii_digit()))
        else {
            return Err(Self::error("60004", "Invalid timestamp"));
        };
        if (now_ms.div_euclid(1000) - sent_s).abs() > 30 {
            return Err(Self::error("60006", "Timestamp request expired"));
        }
        if !field("apiKey").is_some_and(|k| crate::auth::sign::same(k, key)) {
            return Err(Self::error("60005", "Invalid apiKey"));
        }
        if !field("passphrase").is_some_and(|p| crate::auth::sign::same(p, passphrase)) {
            return Err(Self::error("60024", "Wrong passphrase"));
        }
        let expected = super::stream::okx_login_sign(secret, ts);
        if !field("sign").is_some_and(|s| crate::auth::sign::same(s, &expected)) {
            return Err(Self::error("60007", "Invalid sign"));
        }
        Ok(())
    }

    /// One `account` push with every simulated currency, fields as in the REST sim.
    fn account(now: schemas::Ts) -> String {
        let data = account_data(now);
        format!(r#"{{"arg":{{"channel":"account","uid":"{UID}"}},"data":{data}}}"#)
    }

    /// One `positions` push with every simulated row (OKX pushes them all on subscription
    /// and periodically), fields as in the REST sim.
    fn positions(now: schemas::Ts) -> String {
        let u_time = (now.millis() - super::super::SIM_DORMANT_MS).to_string();
        let data = serde_json::Value::from(super::sim_account::position_rows(now, &u_time));
        format!(
            r#"{{"arg":{{"channel":"positions","instType":"ANY","uid":"{UID}"}},"data":{data}}}"#
        )
    }
}

/// Ticks (250 ms by default) between account pushes of the private stream.
const PUSH_EVERY_TICKS: u64 = 8;

impl SimProtocol for OkxPrivateSim {
    /// Unused: the private socket has no symbols, so the price model is never asked.
    fn venue(&self) -> &'static dyn StreamingVenue {
        &Okx
    }

    fn on_connect(&self, _path: &str, _session: &mut SimSession) -> Vec<String> {
        Vec::new()
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        if text == "ping" {
            return vec!["pong".to_owned()];
        }
        let Ok(req) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![Self::error("60012", &format!("Invalid request: {text}"))];
        };
        let reply = match req["op"].as_str() {
            Some("login") => match self.login(&req, session.now.millis()) {
                Ok(()) => {
                    session.authenticated = true;
                    format!(r#"{{"event":"login","code":"0","msg":"","connId":"{CONN_ID}"}}"#)
                }
                Err(refusal) => refusal,
            },
            Some("subscribe") if !session.authenticated => Self::error("60011", "Please log in"),
            Some("subscribe") => {
                let args = req["args"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                // `account`, and `positions` of an instrument type; anything else refuses the
                // request with OKX's 60018.
                let channel =
                    |a: &serde_json::Value| match (a["channel"].as_str(), a["instType"].as_str()) {
                        (Some("account"), _) => {
                            Some(("account", r#"{"channel":"account"}"#.to_owned()))
                        }
                        (
                            Some("positions"),
                            Some(t @ ("ANY" | "SWAP" | "FUTURES" | "OPTION" | "MARGIN")),
                        ) => Some((
                            "positions",
                            format!(r#"{{"channel":"positions","instType":"{t}"}}"#),
                        )),
                        _ => None,
                    };
                let acks: Option<Vec<_>> = args.iter().map(channel).collect();
                match acks.filter(|a| !a.is_empty()) {
                    Some(acks) => {
                        return acks
                            .into_iter()
                            .map(|(stream, arg)| {
                                if !session.streams.iter().any(|s| s == stream) {
                                    session.streams.push(stream.into());
                                }
                                format!(r#"{{"event":"subscribe","arg":{arg},"connId":"{CONN_ID}"}}"#)
                            })
                            .collect()
                    }
                    None => Self::error(
                        "60018",
                        &format!(
                            "Wrong URL or channel:{}, doesn't exist. Please use the correct URL, channel and parameters referring to API document.",
                            args.first().map_or("", |a| a["channel"].as_str().unwrap_or(""))
                        ),
                    ),
                }
            }
            Some(op) => Self::error("60019", &format!("Invalid op: {op}")),
            None => Self::error("60012", &format!("Invalid request: {text}")),
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
        // OKX pushes the account once on subscription, then on change and periodically: here
        // on the first tick and every 2 s after.
        if session.authenticated
            && session.streams.iter().any(|s| s == "account")
            && session.next_seq().is_multiple_of(PUSH_EVERY_TICKS)
        {
            let mut out = vec![Self::account(session.now)];
            if session.streams.iter().any(|s| s == "positions") {
                out.push(Self::positions(session.now));
            }
            out
        } else {
            Vec::new()
        }
    }
}
