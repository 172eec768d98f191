//! Binance market-stream messages, deserialized straight from the frame.

use crate::decimal::{opt_cow, Loose};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Every frame shape on a market-stream connection, in one pass and without `flatten` (which
/// buffers): the combined envelope (`stream` + `data`), a raw event (the same fields at the top
/// level, deserialized into `raw_*`), a request reply (`result` + `id`) or an error
/// (`code` + `msg`, or `error`).
///
/// Combined bookTicker (live capture):
/// `{"stream":"nknusdt@bookTicker","data":{"u":499869768,"s":"NKNUSDT","b":"0.35210000","B":"672.00000000","a":"0.35260000","A":"3199.00000000"}}`
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    /// Only its presence matters (a combined-stream envelope).
    pub stream: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    pub data: Option<Event<'a>>,
    pub id: Option<serde::de::IgnoredAny>,
    pub result: Option<serde::de::IgnoredAny>,
    pub code: Option<i64>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub msg: Option<Cow<'a, str>>,
    pub error: Option<serde::de::IgnoredAny>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub e: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub s: Option<Cow<'a, str>>,
    pub u: Option<u64>,
    #[serde(default, borrow)]
    pub b: Option<Loose<'a>>,
    #[serde(rename = "B", default, borrow)]
    pub bid_qty: Option<Loose<'a>>,
    #[serde(default, borrow)]
    pub a: Option<Loose<'a>>,
    #[serde(rename = "A", default, borrow)]
    pub ask_qty: Option<Loose<'a>>,
}

impl<'a> Frame<'a> {
    /// The event of a raw (non-combined) frame.
    pub fn into_event(self) -> Option<Event<'a>> {
        if let Some(d) = self.data {
            return Some(d);
        }
        (self.e.is_some() || self.s.is_some()).then_some(Event {
            e: self.e,
            event_time: None,
            u: self.u,
            s: self.s,
            b: self.b,
            bid_qty: self.bid_qty,
            a: self.a,
            ask_qty: self.ask_qty,
        })
    }
}

/// A market event. `b`/`B`/`a`/`A` stay raw until the event is known to be a quote: other
/// streams use the same letters for order ids (trade), the aggregate trade id (aggTrade) and
/// price levels (depthUpdate). Spot bookTicker carries no `e`/`E` (futures' does):
/// `{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}`;
/// `serverShutdown` is `{"e":"serverShutdown","E":1770123456789}`.
#[derive(Debug, Default, Deserialize)]
pub struct Event<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub e: Option<Cow<'a, str>>,
    #[serde(rename = "E")]
    pub event_time: Option<i64>,
    pub u: Option<u64>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub s: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub b: Option<Loose<'a>>,
    #[serde(rename = "B", default, borrow)]
    pub bid_qty: Option<Loose<'a>>,
    #[serde(default, borrow)]
    pub a: Option<Loose<'a>>,
    #[serde(rename = "A", default, borrow)]
    pub ask_qty: Option<Loose<'a>>,
}

/// `GET /api/v3/account` (balances part; the rest is ignored):
/// `{"makerCommission":15,...,"updateTime":123456789,"accountType":"SPOT","balances":[{"asset":"BTC","free":"4723846.89208129","locked":"0.00000000"}],"permissions":["SPOT"],"uid":354937868}`.
/// Errors: `{"code":-1121,"msg":"Invalid symbol."}`.
#[derive(Debug, Deserialize)]
pub struct Account<'a> {
    #[serde(rename = "updateTime")]
    pub update_time: Option<i64>,
    #[serde(default, borrow)]
    pub balances: Vec<AccountBalance<'a>>,
    pub code: Option<i64>,
    #[serde(default, borrow, deserialize_with = "crate::decimal::opt_cow")]
    pub msg: Option<Cow<'a, str>>,
}

/// `{"asset":"BTC","free":"4723846.89208129","locked":"0.00000000"}`
#[derive(Debug, Deserialize)]
pub struct AccountBalance<'a> {
    #[serde(borrow)]
    pub asset: Cow<'a, str>,
    #[serde(deserialize_with = "crate::decimal::opt_str")]
    pub free: Option<rust_decimal::Decimal>,
    #[serde(deserialize_with = "crate::decimal::opt_str")]
    pub locked: Option<rust_decimal::Decimal>,
}

/// One frame of the WebSocket API (`wss://ws-api.binance.com:443/ws-api/v3`) carrying the user
/// data stream: a reply to a request (`id`, `status`, and `result` or `error`) or an event of a
/// subscription (`subscriptionId`, `event`). The event stays raw until its type is known: the
/// user data stream's events reuse single letters for different things (`B` is a balance list in
/// `outboundAccountPosition`, `a`/`d` an asset and delta in `balanceUpdate`).
///
/// Reply (web-socket-api.md, "Response format"; `userDataStream.subscribe.signature` answers
/// `{"subscriptionId":0}`): `{"id":"auth","status":200,"result":{"subscriptionId":0},"rateLimits":[...]}`.
/// Refusal: `{"id":"auth","status":400,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}`.
/// Event (user-data-stream.md, "Account Update"):
/// `{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}}`.
#[derive(Debug, Deserialize)]
pub struct ApiFrame<'a> {
    pub id: Option<serde::de::IgnoredAny>,
    pub status: Option<u16>,
    pub result: Option<serde::de::IgnoredAny>,
    #[serde(default, borrow)]
    pub error: Option<ApiError<'a>>,
    #[serde(default, borrow)]
    pub event: Option<&'a RawValue>,
}

/// `{"code":-1022,"msg":"Signature for this request is not valid."}`
#[derive(Debug, Deserialize)]
pub struct ApiError<'a> {
    pub code: Option<i64>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub msg: Option<Cow<'a, str>>,
}

/// The type of a user data stream event, read before the event itself.
#[derive(Debug, Deserialize)]
pub struct EventType<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub e: Option<Cow<'a, str>>,
}

/// `outboundAccountPosition`: the absolute free and locked amounts of every asset that changed.
/// `E` is the event time, `u` the time of the last account update.
/// `{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}`
#[derive(Debug, Deserialize)]
pub struct AccountPosition<'a> {
    #[serde(rename = "E")]
    pub event_time: Option<i64>,
    pub u: Option<i64>,
    #[serde(rename = "B", default, borrow)]
    pub balances: Vec<PositionBalance<'a>>,
}

/// `{"a":"ETH","f":"10000.000000","l":"0.000000"}`
#[derive(Debug, Deserialize)]
pub struct PositionBalance<'a> {
    #[serde(borrow)]
    pub a: Cow<'a, str>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub f: Option<rust_decimal::Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub l: Option<rust_decimal::Decimal>,
}
