//! OKX v5 public WebSocket messages, deserialized straight from the frame. The one server frame
//! that is not JSON, the bare text `pong`, is recognised in `parse.rs` before any of these.

use crate::decimal::{opt_cow, opt_str};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Every JSON frame of the public socket, in one pass: a push (`arg` + `data`) or an event
/// (`event`, with `code` and `msg` on errors and notices).
///
/// `data` stays raw until `arg.channel` says it holds tickers: other channels on the same
/// socket put other shapes there (`books` levels, `trades`, candle arrays), which must be
/// passed over rather than read as tickers.
///
/// Push (live capture, cryptofeed `OKX.ws.1.0`):
/// `{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT",...}]}`.
/// Subscribe ack (same capture; current servers add `"connId"`):
/// `{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USD-220527"}}`.
/// Error (a reply quoted in `okxapi/python-okx` issue #21, 2023; current servers add `"connId"`):
/// `{"event":"error","msg":"channel:tickers,instId:LTC-USD doesn't exist","code":"60018"}`.
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub event: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub arg: Option<Arg<'a>>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
    /// A string in every OKX reply (`"60012"`); kept raw so an error frame that ever sent it as
    /// a number is still reported as the venue's error, not as a malformed frame.
    #[serde(default, borrow)]
    pub code: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub msg: Option<Cow<'a, str>>,
}

/// The subscription a push or ack belongs to: `{"channel":"tickers","instId":"BTC-USDT"}`.
#[derive(Debug, Deserialize)]
pub struct Arg<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub channel: Option<Cow<'a, str>>,
    #[serde(default, rename = "instId", borrow, deserialize_with = "opt_cow")]
    pub inst_id: Option<Cow<'a, str>>,
}

/// One ticker. All numbers are strings; `""` is "not available" (no bid, never traded) and
/// becomes `None`. Sizes and `vol24h` are in contracts for SWAP and FUTURES, in the base asset
/// for SPOT; `volCcy24h` is in the base asset for SWAP and FUTURES, in the quote asset for SPOT.
/// Fields not read here (`lastSz`, `open24h`, `high24h`, `low24h`, `sodUtc0`, `sodUtc8`) are
/// skipped.
///
/// Live capture (cryptofeed `OKX.ws.1.0`, 2022-05-13):
/// `{"instType":"SPOT","instId":"BTC-USDT","last":"30236","lastSz":"0.0002","askPx":"30228.7",
/// "askSz":"1.55896972","bidPx":"30228.6","bidSz":"0.23393","open24h":"29700.4","high24h":"31073",
/// "low24h":"28020.3","sodUtc0":"29028.8","sodUtc8":"30337.7","volCcy24h":"525802090.62716611",
/// "vol24h":"17602.13085371","ts":"1652459224956"}`
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    #[serde(default, rename = "instType", borrow, deserialize_with = "opt_cow")]
    pub inst_type: Option<Cow<'a, str>>,
    #[serde(default, rename = "instId", borrow, deserialize_with = "opt_cow")]
    pub inst_id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "opt_str")]
    pub last: Option<Decimal>,
    #[serde(default, rename = "askPx", deserialize_with = "opt_str")]
    pub ask_px: Option<Decimal>,
    #[serde(default, rename = "askSz", deserialize_with = "opt_str")]
    pub ask_sz: Option<Decimal>,
    #[serde(default, rename = "bidPx", deserialize_with = "opt_str")]
    pub bid_px: Option<Decimal>,
    #[serde(default, rename = "bidSz", deserialize_with = "opt_str")]
    pub bid_sz: Option<Decimal>,
    #[serde(default, rename = "volCcy24h", deserialize_with = "opt_str")]
    pub vol_ccy_24h: Option<Decimal>,
    #[serde(default, rename = "vol24h", deserialize_with = "opt_str")]
    pub vol_24h: Option<Decimal>,
    /// Unix milliseconds as a string (`"1652459224956"`).
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub ts: Option<Cow<'a, str>>,
}

/// `GET /api/v5/account/balance` (real response, nautilus test data; most fields cut here):
/// `{"code":"0","data":[{"adjEq":"","details":[{"availBal":"94.42612990333333","cashBal":"94.42612990333333","ccy":"USDT","frozenBal":"5.468566666666667","uTime":"1744498994783",...}],"totalEq":"99.88870288820581","uTime":"1744499648556",...}],"msg":""}`.
/// Errors carry the same envelope: `{"msg":"Invalid Sign","code":"50113"}`.
#[derive(Debug, Deserialize)]
pub struct BalanceResponse<'a> {
    #[serde(borrow)]
    pub code: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub data: Vec<AccountBalance<'a>>,
}

/// One trading account: `{"details":[...],"totalEq":"99.88870288820581","uTime":"1744499648556",...}`.
#[derive(Debug, Deserialize)]
pub struct AccountBalance<'a> {
    #[serde(default, borrow)]
    pub details: Vec<BalanceDetail<'a>>,
    #[serde(rename = "uTime", default, borrow, deserialize_with = "opt_cow")]
    pub u_time: Option<Cow<'a, str>>,
    /// The account's margin in USD (multi-currency and portfolio margin, spot mode; `""` in
    /// futures mode): read by [`super::account`].
    #[serde(rename = "totalEq", default, deserialize_with = "opt_str")]
    pub total_eq: Option<Decimal>,
    #[serde(rename = "adjEq", default, deserialize_with = "opt_str")]
    pub adj_eq: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub imr: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub mmr: Option<Decimal>,
    #[serde(rename = "mgnRatio", default, deserialize_with = "opt_str")]
    pub mgn_ratio: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub upl: Option<Decimal>,
}

/// One currency: `{"availBal":"94.42612990333333","cashBal":"94.42612990333333","ccy":"USDT","frozenBal":"5.468566666666667","liab":"","uTime":"1744498994783",...}`.
#[derive(Debug, Deserialize)]
pub struct BalanceDetail<'a> {
    #[serde(borrow)]
    pub ccy: Cow<'a, str>,
    #[serde(rename = "cashBal", default, deserialize_with = "opt_str")]
    pub cash_bal: Option<Decimal>,
    #[serde(rename = "availBal", default, deserialize_with = "opt_str")]
    pub avail_bal: Option<Decimal>,
    #[serde(rename = "frozenBal", default, deserialize_with = "opt_str")]
    pub frozen_bal: Option<Decimal>,
    #[serde(rename = "uTime", default, borrow, deserialize_with = "opt_cow")]
    pub u_time: Option<Cow<'a, str>>,
    /// Unrealized P&L of the currency's margin and derivatives positions (futures, multi-currency
    /// and portfolio margin modes).
    #[serde(default, deserialize_with = "opt_str")]
    pub upl: Option<Decimal>,
    /// The currency's equity, and its own cross margin in futures mode (read by
    /// [`super::account`]).
    #[serde(default, deserialize_with = "opt_str")]
    pub eq: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub imr: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub mmr: Option<Decimal>,
    #[serde(rename = "mgnRatio", default, deserialize_with = "opt_str")]
    pub mgn_ratio: Option<Decimal>,
}
