//! Binance USDⓈ-M futures market-stream messages, deserialized straight from the frame.

use crate::decimal::opt_cow;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Every frame shape on a market-stream connection, in one pass and without `flatten` (which
/// buffers): the combined envelope (`stream` + `data`), a raw event (the same fields at the top
/// level), a request reply (`result` + `id`) or an error (`code` + `msg`, or `error`).
///
/// Combined bookTicker (live capture, fstream.binance.com, 2021-07-22):
/// `{"stream":"sushiusdt@bookTicker","data":{"e":"bookTicker","u":600859600576,"s":"SUSHIUSDT","b":"7.6110","B":"2","a":"7.6120","A":"297","T":1626992741012,"E":1626992741017}}`
///
/// Subscribe reply: `{"result":null,"id":1}`; error: `{"code":2,"msg":"Invalid request: unknown method","id":1}`.
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub stream: Option<Cow<'a, str>>,
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
    #[serde(rename = "E")]
    pub event_time: Option<i64>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub s: Option<Cow<'a, str>>,
    pub u: Option<u64>,
    #[serde(default, borrow)]
    pub b: Option<&'a RawValue>,
    #[serde(rename = "B", default, borrow)]
    pub bid_qty: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub a: Option<&'a RawValue>,
    #[serde(rename = "A", default, borrow)]
    pub ask_qty: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub p: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub i: Option<&'a RawValue>,
}

impl<'a> Frame<'a> {
    /// The event of the frame: the combined envelope's `data`, or the frame itself when it is a
    /// raw (`/ws/<stream>`) event.
    pub fn into_event(self) -> Option<Event<'a>> {
        if let Some(d) = self.data {
            return Some(d);
        }
        self.e.is_some().then_some(Event {
            e: self.e,
            event_time: self.event_time,
            s: self.s,
            u: self.u,
            b: self.b,
            bid_qty: self.bid_qty,
            a: self.a,
            ask_qty: self.ask_qty,
            p: self.p,
            i: self.i,
        })
    }
}

/// A market event. The one-letter fields stay raw until `e` says what they mean: `p` is the mark
/// price in `markPriceUpdate` but the price change in `24hrTicker` and the trade price in
/// `aggTrade`; `a` is the best ask in `bookTicker` but the aggregate trade id in `aggTrade`;
/// `b`/`a` are level arrays in `depthUpdate`. `T` is deliberately not read: it is the
/// transaction time in `bookTicker` but the next funding time in `markPriceUpdate`.
///
/// bookTicker: see [`Frame`]. markPriceUpdate (USDⓈ-M docs, "Mark Price Stream"):
/// `{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}`
#[derive(Debug, Default, Deserialize)]
pub struct Event<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub e: Option<Cow<'a, str>>,
    #[serde(rename = "E")]
    pub event_time: Option<i64>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub s: Option<Cow<'a, str>>,
    pub u: Option<u64>,
    #[serde(default, borrow)]
    pub b: Option<&'a RawValue>,
    #[serde(rename = "B", default, borrow)]
    pub bid_qty: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub a: Option<&'a RawValue>,
    #[serde(rename = "A", default, borrow)]
    pub ask_qty: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub p: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub i: Option<&'a RawValue>,
}

/// `GET /fapi/v3/balance`: an array, one entry per asset (real docs example):
/// `[{"accountAlias":"SgsR","asset":"USDT","balance":"122607.35137903","crossWalletBalance":"23.72469206","crossUnPnl":"0.00000000","availableBalance":"23.72469206","maxWithdrawAmount":"23.72469206","marginAvailable":true,"updateTime":1617939110373}]`.
/// Only the fields used are read; the rest is skipped.
#[derive(Debug, Deserialize)]
pub struct FuturesBalance<'a> {
    #[serde(borrow)]
    pub asset: Cow<'a, str>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub balance: Option<rust_decimal::Decimal>,
    #[serde(
        rename = "availableBalance",
        default,
        deserialize_with = "crate::decimal::opt_str"
    )]
    pub available_balance: Option<rust_decimal::Decimal>,
    #[serde(
        rename = "maxWithdrawAmount",
        default,
        deserialize_with = "crate::decimal::opt_str"
    )]
    pub max_withdraw_amount: Option<rust_decimal::Decimal>,
    /// "Unrealized profit of crossed positions" in this asset (isolated positions' P&L is in
    /// their isolated wallets, not here).
    #[serde(
        rename = "crossUnPnl",
        default,
        deserialize_with = "crate::decimal::opt_str"
    )]
    pub cross_un_pnl: Option<rust_decimal::Decimal>,
    #[serde(rename = "updateTime")]
    pub update_time: Option<i64>,
}

/// An error body instead of the array: `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody<'a> {
    pub code: i64,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub msg: Option<Cow<'a, str>>,
}
