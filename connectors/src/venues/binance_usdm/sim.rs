//! Binance USDⓈ-M's market-stream server: tiered paths (`/public` serves `bookTicker`, `/market`
//! serves `markPrice`, a path without a tier serves both, as one socket did before the 2026
//! split), combined streams named in the URL or raw `/ws/<stream>` paths, `SUBSCRIBE` /
//! `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` with `{"result":...,"id":n}` replies and error replies
//! in the docs' `{"code","msg"}` shape, bookTicker frames and, beside them, a markPriceUpdate every fourth round.

use super::account_sim::{SimAccount, Snapshot, IMR};
use super::{Tier, BOOK_TICKER, MARK_PRICE};
use crate::sim::{fixed, SimProtocol, SimQuote, SimSession};
use crate::traits::StreamingVenue;
use rust_decimal::Decimal;
use serde_json::json;

pub struct BinanceUsdmSim;

/// Funding every 8 hours (00:00, 08:00, 16:00 UTC): markPrice `T` is the next one.
const FUNDING_MS: i64 = 8 * 3600 * 1000;

fn is_mark(stream: &str) -> bool {
    stream.ends_with("@markPrice") || stream.ends_with(MARK_PRICE)
}

/// The lower-case symbol a stream name starts with (`btcusdt` of `btcusdt@bookTicker`).
fn stream_symbol(stream: &str) -> &str {
    stream.split('@').next().unwrap_or("")
}

/// Adds a stream if this connection's tier serves it; a stream of the other tier is accepted
/// and then never sent, as the real server does ("fails silently rather than erroring").
fn add(stream: &str, session: &mut SimSession) {
    let tier = Tier::of(&session.path);
    let symbol = stream_symbol(stream);
    let served = (stream.ends_with(BOOK_TICKER) && tier.carries_book())
        || (is_mark(stream) && tier.carries_mark());
    if symbol.is_empty() || !served {
        return;
    }
    if !session.streams.iter().any(|s| s == stream) {
        session.streams.push(stream.to_owned());
    }
    session.subscribe(&symbol.to_ascii_uppercase());
}

fn remove(stream: &str, session: &mut SimSession) {
    session.streams.retain(|s| s != stream);
    let symbol = stream_symbol(stream);
    if !session.streams.iter().any(|s| stream_symbol(s) == symbol) {
        let upper = symbol.to_ascii_uppercase();
        session.symbols.retain(|s| *s != upper);
    }
}

/// Whether `symbol` has a subscribed stream of the kind (mark or book).
fn has(session: &SimSession, symbol: &str, mark: bool) -> bool {
    session
        .streams
        .iter()
        .any(|s| stream_symbol(s).eq_ignore_ascii_case(symbol) && is_mark(s) == mark)
}

fn wrap(stream: String, data: String, session: &SimSession) -> String {
    if session.wrapped {
        format!(r#"{{"stream":"{stream}","data":{data}}}"#)
    } else {
        data
    }
}

impl SimProtocol for BinanceUsdmSim {
    fn venue(&self) -> &'static dyn StreamingVenue {
        &super::BinanceUsdm
    }

    fn on_connect(&self, path: &str, session: &mut SimSession) -> Vec<String> {
        session.path = path.to_owned();
        let rest = path
            .strip_prefix("/public")
            .or_else(|| path.strip_prefix("/market"))
            .unwrap_or(path);
        session.wrapped = rest.starts_with("/stream");
        let streams: Vec<String> = if let Some((_, q)) = rest.split_once("streams=") {
            q.split('&')
                .next()
                .unwrap_or("")
                .split('/')
                .map(str::to_owned)
                .collect()
        } else if let Some(p) = rest.strip_prefix("/ws/") {
            p.split('/').map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        for s in &streams {
            add(s, session);
        }
        Vec::new()
    }

    fn on_text(&self, text: &str, session: &mut SimSession) -> Vec<String> {
        // Error replies in the docs' shape ("Error Messages": `{"code": n, "msg": ...}`).
        let Ok(req) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![
                json!({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"})
                    .to_string(),
            ];
        };
        let id = req.get("id").cloned().unwrap_or(serde_json::Value::Null);
        let params: Vec<&str> = req["params"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str())
            .collect();
        match req.get("method").and_then(|m| m.as_str()) {
            Some("SUBSCRIBE") => {
                for p in params {
                    add(p, session);
                }
                vec![json!({"result": null, "id": id}).to_string()]
            }
            Some("UNSUBSCRIBE") => {
                for p in params {
                    remove(p, session);
                }
                vec![json!({"result": null, "id": id}).to_string()]
            }
            Some("LIST_SUBSCRIPTIONS") => {
                vec![json!({"result": session.streams, "id": id}).to_string()]
            }
            Some(m) => vec![json!({
                "code": 2,
                "msg": format!("Invalid request: unknown variant {m}, expected one of SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY"),
                "id": id
            })
            .to_string()],
            None => vec![
                json!({"code": 2, "msg": "Invalid request: missing field `method`", "id": id})
                    .to_string(),
            ],
        }
    }

    fn heartbeat(&self, _session: &mut SimSession) -> Option<String> {
        None // Binance keeps connections alive with WebSocket pings only.
    }

    fn ticker(&self, symbol: &str, q: &SimQuote, session: &mut SimSession) -> String {
        let k = session.next_seq();
        let round = k / session.symbols.len().max(1) as u64;
        let book = has(session, symbol, false);
        let mark = has(session, symbol, true);
        // With both streams, every fourth round is a markPrice (1 s beside a real-time book);
        // round 0 is always the book, so a connection's first quote of a symbol is two-sided.
        let send_mark = mark && (!book || round % 4 == 3);
        let lower = symbol.to_ascii_lowercase();
        let now = session.now.millis();
        if send_mark {
            let mid = (q.bid + q.ask) / Decimal::TWO;
            let index = mid * Decimal::new(9999, 4);
            let next_funding = (now.div_euclid(FUNDING_MS) + 1) * FUNDING_MS;
            // Field order and 8-decimal strings as in the docs' example.
            let data = format!(
                r#"{{"e":"markPriceUpdate","E":{now},"s":"{symbol}","p":"{}","i":"{}","P":"{}","r":"0.00010000","T":{next_funding}}}"#,
                fixed(mid, 8),
                fixed(index, 8),
                fixed(index, 8),
            );
            wrap(format!("{lower}{MARK_PRICE}"), data, session)
        } else {
            // Field order as in the live capture (e, u, s, b, B, a, A, T, E).
            let data = format!(
                r#"{{"e":"bookTicker","u":{},"s":"{symbol}","b":"{}","B":"{}","a":"{}","A":"{}","T":{},"E":{now}}}"#,
                600_859_600_576 + k,
                fixed(q.bid, q.dp),
                fixed(q.bid_size, 4),
                fixed(q.ask, q.dp),
                fixed(q.ask_size, 4),
                now - 5,
            );
            wrap(format!("{lower}{BOOK_TICKER}"), data, session)
        }
    }
}

/// Binance USDⓈ-M REST endpoints: the balance (`/fapi/v3/balance`) and the account pages
/// (`/fapi/v3/account`, `/fapi/v3/positionRisk`, in the docs' V3 shapes), each checking
/// `X-MBX-APIKEY`, the HMAC-SHA256 `signature` over the query and `timestamp` within
/// `recvWindow` (`serverTime - recvWindow <= timestamp < serverTime + 1000`), answering refusals
/// with Binance's codes and bodies. The account behind the pages is [`SimAccount`]; with the
/// margin cycle on (the demo's `start_sim`) it moves between margin bands every 100 s.
///
/// It also serves `POST /fapi/v1/listenKey` (API key only, no signature, as the venue: a wrong
/// key is refused with `-2015`), issuing the listen keys the user-data stream simulator
/// ([`super::stream_sim`]) sharing [`Self::listen_keys`] accepts.
pub struct BinanceUsdmRestSim {
    pub account: SimAccount,
    /// Listen keys issued so far.
    pub listen_keys: super::stream_sim::ListenKeys,
}

impl BinanceUsdmRestSim {
    /// No margin cycle: figures follow the simulated prices only.
    pub fn steady() -> Self {
        BinanceUsdmRestSim {
            account: SimAccount::steady(),
            listen_keys: Default::default(),
        }
    }
    /// With the margin cycle, its period counted from `start`.
    pub fn cycling(start: schemas::Ts) -> Self {
        BinanceUsdmRestSim {
            account: SimAccount::cycling(start),
            listen_keys: Default::default(),
        }
    }
}

/// The simulated futures wallet: (asset, balance, crossWalletBalance, availableBalance), in
/// Binance's eight-decimal style.
pub const SIM_BALANCES: &[(&str, &str, &str, &str)] = &[
    (
        "USDT",
        "250000.00000000",
        "240000.00000000",
        "180000.00000000",
    ),
    ("USDC", "50000.00000000", "50000.00000000", "50000.00000000"),
    ("BTC", "1.25000000", "1.25000000", "1.10000000"),
    // Dust of an asset no registry knows (`super::super::SIM_UNKNOWN_ASSET`).
    ("ZZZDUST", "0.00000001", "0.00000001", "0.00000001"),
];

impl crate::sim::rest::RestSimProtocol for BinanceUsdmRestSim {
    fn handle(
        &self,
        req: &crate::sim::rest::SimHttpRequest,
        ctx: &crate::sim::rest::RestSimCtx<'_>,
    ) -> crate::sim::rest::SimHttpResponse {
        use crate::sim::rest::SimHttpResponse as R;
        if req.path == super::stream::LISTEN_KEY_PATH
            && matches!(req.method.as_str(), "POST" | "PUT")
        {
            return super::stream_sim::listen_key(&self.listen_keys, req, ctx);
        }
        let known = matches!(
            req.path.as_str(),
            "/fapi/v3/balance" | super::account::ACCOUNT_PATH | super::account::POSITIONS_PATH
        );
        if !known || req.method != "GET" {
            return crate::venues::binance::sim::binance_error(
                404,
                -1000,
                "An unknown error occurred while processing the request.",
            );
        }
        // The same SIGNED-endpoint checks as spot.
        let server = match crate::venues::binance::sim::check_signed(req, ctx) {
            Ok(server) => server,
            Err(refusal) => return refusal,
        };
        let snap = self.account.snapshot(schemas::Ts::from_millis(server));
        let body = match req.path.as_str() {
            super::account::ACCOUNT_PATH => account_body(&snap, server),
            super::account::POSITIONS_PATH => position_risk_body(&snap, server),
            _ => balance_body(&snap, server),
        };
        R::json(200, body.to_string())
    }
}

fn f8(d: Decimal) -> String {
    fixed(d, 8)
}

/// `GET /fapi/v3/balance`: the wallet, with the positions' P&L as USDT's `crossUnPnl`.
fn balance_body(snap: &Snapshot, server: i64) -> serde_json::Value {
    let list: Vec<serde_json::Value> = SIM_BALANCES
        .iter()
        .map(|(asset, balance, cross, avail)| {
            let upnl = if *asset == "USDT" {
                snap.upnl
            } else {
                Decimal::ZERO
            };
            json!({
                "accountAlias": "SgsR", "asset": asset, "balance": balance,
                "crossWalletBalance": cross, "crossUnPnl": f8(upnl),
                "availableBalance": avail, "maxWithdrawAmount": avail,
                "marginAvailable": true, "updateTime": server - super::super::SIM_DORMANT_MS
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// `GET /fapi/v3/account` in the docs' single-asset shape: USDT totals, the quote assets, the
/// positions' short form.
fn account_body(snap: &Snapshot, server: i64) -> serde_json::Value {
    let available = (snap.equity - snap.im).max(Decimal::ZERO);
    let assets: Vec<serde_json::Value> = SIM_BALANCES[..3]
        .iter()
        .map(|(asset, balance, cross, avail)| {
            let usdt = *asset == "USDT";
            let pick = |d: Decimal| if usdt { f8(d) } else { f8(Decimal::ZERO) };
            let wallet: Decimal = balance.parse().unwrap_or_default();
            json!({
                "asset": asset, "walletBalance": balance, "unrealizedProfit": pick(snap.upnl),
                "marginBalance": f8(if usdt { snap.equity } else { wallet }),
                "maintMargin": pick(snap.mm), "initialMargin": pick(snap.im),
                "positionInitialMargin": pick(snap.im), "openOrderInitialMargin": f8(Decimal::ZERO),
                "crossWalletBalance": cross, "crossUnPnl": pick(snap.upnl),
                "availableBalance": if usdt { f8(available) } else { (*avail).to_owned() },
                "maxWithdrawAmount": avail, "updateTime": server - super::super::SIM_DORMANT_MS
            })
        })
        .collect();
    let positions: Vec<serde_json::Value> = snap
        .rows
        .iter()
        .filter(|r| !r.amt.is_zero())
        .map(|r| {
            json!({
                "symbol": r.symbol, "positionSide": "BOTH", "positionAmt": fixed(r.amt, 3),
                "unrealizedProfit": f8(r.upnl), "isolatedMargin": "0.00000000",
                "notional": f8(r.amt * r.mark), "isolatedWallet": "0",
                "initialMargin": f8(r.im), "maintMargin": f8(r.mm), "updateTime": server - 60_000
            })
        })
        .collect();
    json!({
        "totalInitialMargin": f8(snap.im), "totalMaintMargin": f8(snap.mm),
        "totalWalletBalance": f8(snap.wallet), "totalUnrealizedProfit": f8(snap.upnl),
        "totalMarginBalance": f8(snap.equity), "totalPositionInitialMargin": f8(snap.im),
        "totalOpenOrderInitialMargin": f8(Decimal::ZERO), "totalCrossWalletBalance": f8(snap.wallet),
        "totalCrossUnPnl": f8(snap.upnl), "availableBalance": f8(available),
        "maxWithdrawAmount": f8(available), "assets": assets, "positions": positions
    })
}

/// `GET /fapi/v3/positionRisk` in the docs' one-way shape; the idle row has an open order.
fn position_risk_body(snap: &Snapshot, server: i64) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = snap
        .rows
        .iter()
        .map(|r| {
            let idle = r.amt.is_zero();
            let order_im = if idle {
                r.mark * Decimal::from(10) * IMR
            } else {
                Decimal::ZERO
            };
            json!({
                "symbol": r.symbol, "positionSide": "BOTH", "positionAmt": fixed(r.amt, 3),
                "entryPrice": if idle { "0.0".to_owned() } else { r.entry.to_string() },
                "breakEvenPrice": if idle { "0.0".to_owned() } else { r.entry.to_string() },
                "markPrice": f8(r.mark), "unRealizedProfit": f8(r.upnl),
                "liquidationPrice": r.liquidation.map_or("0".to_owned(), f8),
                "isolatedMargin": "0", "notional": f8(r.amt * r.mark), "marginAsset": "USDT",
                "isolatedWallet": "0", "initialMargin": f8(r.im + order_im),
                "maintMargin": f8(r.mm), "positionInitialMargin": f8(r.im),
                "openOrderInitialMargin": f8(order_im), "adl": if idle { 0 } else { 2 },
                "bidNotional": f8(if idle { r.mark * Decimal::from(10) } else { Decimal::ZERO }),
                "askNotional": "0",
                "updateTime": server - if idle { super::super::SIM_DORMANT_MS } else { 60_000 }
            })
        })
        .collect();
    serde_json::Value::Array(rows)
}
