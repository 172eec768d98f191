//! Bybit v5 public WebSocket messages, deserialized straight from the frame.

use crate::decimal::{opt_cow, opt_str, parse_decimal};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// Every frame of a public connection in one pass (no `flatten`, which buffers): a topic push
/// (`topic`, `type`, `ts`, `cs`, `data`), an op reply (`success`, `ret_msg`, `op`) or an
/// option-style command reply (`type: "COMMAND_RESP"`).
///
/// Linear ticker (docs, ticker.mdx, LinearPerpetual; fields abridged here):
/// `{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"66666.60",
/// "markPrice":"66666.60","indexPrice":"115418.19","volume24h":"73191.3870","fundingRate":"-0.005",
/// "bid1Price":"66666.60","bid1Size":"23789.165","ask1Price":"66666.70","ask1Size":"23775.469",
/// "preOpenPrice":""},"cs":9532239429,"ts":1760325052630}`;
/// spot subscribe ack `{"success":true,"ret_msg":"subscribe","conn_id":"2324d924-aa4d-45b0-a858-7b8be29ab52b","req_id":"10001","op":"subscribe"}`;
/// linear pong `{"success":true,"ret_msg":"pong","conn_id":"465772b1-7630-4fdc-a492-e003e6f0f260","req_id":"","op":"ping"}`.
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub topic: Option<Cow<'a, str>>,
    /// `snapshot` or `delta` on pushes; `COMMAND_RESP` on option-style replies.
    #[serde(default, rename = "type", borrow, deserialize_with = "opt_cow")]
    pub kind: Option<Cow<'a, str>>,
    /// When the system generated the data, ms since the epoch.
    pub ts: Option<i64>,
    /// Cross sequence of a ticker.
    pub cs: Option<u64>,
    #[serde(default, borrow, deserialize_with = "object_or_skip")]
    pub data: Option<Data<'a>>,
    pub success: Option<bool>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub ret_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub op: Option<Cow<'a, str>>,
}

/// The `data` object of the topics read here, all in one type since `data` may come before the
/// `topic` that says which it is (the option ticker puts `type` last). The field names do not
/// overlap: a ticker names its symbol `symbol`, a book `s`.
///
/// Spot ticker (docs): `{"symbol":"BTCUSDT","lastPrice":"21109.77","highPrice24h":"21426.99",
/// "lowPrice24h":"20575","prevPrice24h":"20704.93","volume24h":"6780.866843",
/// "turnover24h":"141946527.22907118","price24hPcnt":"0.0196","usdIndexPrice":"21120.2400136"}`;
/// level-1 book (the docs' orderbook example cut to one level per side; no verbatim level-1
/// example is published): `{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],
/// "u":18521288,"seq":7961638724}`; option-style command reply (docs):
/// `{"failTopics":[],"successTopics":["orderbook.100.BTC-6JAN23-18000-C"]}`.
#[derive(Debug, Default, Deserialize)]
pub struct Data<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub symbol: Option<Cow<'a, str>>,
    #[serde(rename = "bid1Price", default, deserialize_with = "opt_str")]
    pub bid1_price: Option<Decimal>,
    #[serde(rename = "bid1Size", default, deserialize_with = "opt_str")]
    pub bid1_size: Option<Decimal>,
    #[serde(rename = "ask1Price", default, deserialize_with = "opt_str")]
    pub ask1_price: Option<Decimal>,
    #[serde(rename = "ask1Size", default, deserialize_with = "opt_str")]
    pub ask1_size: Option<Decimal>,
    #[serde(rename = "lastPrice", default, deserialize_with = "opt_str")]
    pub last_price: Option<Decimal>,
    #[serde(rename = "markPrice", default, deserialize_with = "opt_str")]
    pub mark_price: Option<Decimal>,
    /// The contract's index. Spot's `usdIndexPrice` is deliberately not read: it is the base
    /// asset's USD index, not a price in the pair's quote (USDT), so it is not this pair's index.
    #[serde(rename = "indexPrice", default, deserialize_with = "opt_str")]
    pub index_price: Option<Decimal>,
    /// Base-asset volume over 24 h.
    #[serde(rename = "volume24h", default, deserialize_with = "opt_str")]
    pub volume_24h: Option<Decimal>,

    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub s: Option<Cow<'a, str>>,
    pub b: Option<BookSide>,
    pub a: Option<BookSide>,
    /// Book update id (restarts at 1 after a service restart, with a snapshot).
    pub u: Option<u64>,
    /// Book cross sequence.
    pub seq: Option<u64>,

    #[serde(rename = "failTopics", default)]
    pub fail_topics: Option<Vec<String>>,
}

/// `data` as an object; any other shape (trades and klines push arrays) is skipped, so a
/// topic this connector does not read is not a parse error.
fn object_or_skip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Data<'de>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Data<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a data object or array")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Data::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// One side of a level-1 book message, reduced while it is read (no list is kept): the first
/// level with a non-zero size. In a snapshot that is the best level (sorted best first); in a
/// depth-1 delta a level of size `"0"` is the old best leaving and the non-zero one is the new
/// best.
///
/// `[["16493.50","0.006"]]`, or in a delta `[["16493.50","0"],["16494.00","0.100"]]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BookSide {
    /// Price and size of the first level with a non-zero size.
    pub best: Option<(Decimal, Decimal)>,
    /// Levels in the message, removals included.
    pub levels: u32,
}

/// `["price","size"]`.
#[derive(Deserialize)]
struct Level<'a>(#[serde(borrow)] Cow<'a, str>, #[serde(borrow)] Cow<'a, str>);

impl<'de> Deserialize<'de> for BookSide {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BookSide;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of [price, size] string pairs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<BookSide, A::Error> {
                let mut side = BookSide::default();
                while let Some(Level(price, size)) = seq.next_element::<Level<'de>>()? {
                    side.levels += 1;
                    let num = |t: &str| {
                        parse_decimal(t)
                            .ok_or_else(|| de::Error::custom(format!("not a decimal: {t:?}")))
                    };
                    let (price, size) = (num(&price)?, num(&size)?);
                    if side.best.is_none() && !size.is_zero() {
                        side.best = Some((price, size));
                    }
                }
                Ok(side)
            }
        }
        d.deserialize_seq(V)
    }
}

/// `GET /v5/account/wallet-balance` (docs' response example, most fields cut here):
/// `{"retCode":0,"retMsg":"OK","result":{"list":[{"accountType":"UNIFIED","totalEquity":"3.31216591",...,"coin":[{"coin":"BTC","walletBalance":"0","locked":"0","borrowAmount":"0.0","availableToWithdraw":"0",...}]}]},"retExtInfo":{},"time":1690872862481}`.
/// Refusals share the envelope: `{"retCode":10003,"retMsg":"API key is invalid.","result":{},"retExtInfo":{},"time":1789299704000}`.
#[derive(Debug, Deserialize)]
pub struct WalletResponse<'a> {
    #[serde(rename = "retCode")]
    pub ret_code: i64,
    #[serde(rename = "retMsg", default, borrow, deserialize_with = "opt_cow")]
    pub ret_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub result: Option<WalletResult<'a>>,
    pub time: Option<i64>,
}

/// `{"list":[...]}` (`{}` in a refusal).
#[derive(Debug, Deserialize)]
pub struct WalletResult<'a> {
    #[serde(default, borrow)]
    pub list: Vec<WalletAccount<'a>>,
}

/// One account: `{"accountType":"UNIFIED","totalWalletBalance":"3.00326056",...,"coin":[...]}`.
#[derive(Debug, Deserialize)]
pub struct WalletAccount<'a> {
    #[serde(rename = "accountType", default, borrow, deserialize_with = "opt_cow")]
    pub account_type: Option<Cow<'a, str>>,
    /// The account-level figures, in USD (`""` where not applicable): see `super::account`.
    #[serde(rename = "totalEquity", default, deserialize_with = "opt_str")]
    pub total_equity: Option<Decimal>,
    #[serde(rename = "totalWalletBalance", default, deserialize_with = "opt_str")]
    pub total_wallet_balance: Option<Decimal>,
    #[serde(rename = "totalMarginBalance", default, deserialize_with = "opt_str")]
    pub total_margin_balance: Option<Decimal>,
    #[serde(rename = "totalPerpUPL", default, deserialize_with = "opt_str")]
    pub total_perp_upl: Option<Decimal>,
    #[serde(rename = "totalInitialMargin", default, deserialize_with = "opt_str")]
    pub total_initial_margin: Option<Decimal>,
    #[serde(
        rename = "totalMaintenanceMargin",
        default,
        deserialize_with = "opt_str"
    )]
    pub total_maintenance_margin: Option<Decimal>,
    #[serde(rename = "accountMMRate", default, deserialize_with = "opt_str")]
    pub account_mm_rate: Option<Decimal>,
    #[serde(default, borrow)]
    pub coin: Vec<WalletCoin<'a>>,
}

/// One coin: `{"coin":"BTC","walletBalance":"0","locked":"0","borrowAmount":"0.0","equity":"0",...}`.
#[derive(Debug, Deserialize)]
pub struct WalletCoin<'a> {
    #[serde(borrow)]
    pub coin: Cow<'a, str>,
    #[serde(rename = "walletBalance", default, deserialize_with = "opt_str")]
    pub wallet_balance: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub locked: Option<Decimal>,
    #[serde(rename = "borrowAmount", default, deserialize_with = "opt_str")]
    pub borrow_amount: Option<Decimal>,
    /// "Pre-occupied margin for order" (`""` in portfolio margin mode).
    #[serde(rename = "totalOrderIM", default, deserialize_with = "opt_str")]
    pub total_order_im: Option<Decimal>,
    /// "Sum of initial margin of all positions + Pre-occupied liquidation fee" (`""` in
    /// portfolio margin mode).
    #[serde(rename = "totalPositionIM", default, deserialize_with = "opt_str")]
    pub total_position_im: Option<Decimal>,
    /// "Available amount to withdraw of current coin" (`""` where Bybit no longer fills it).
    #[serde(rename = "availableToWithdraw", default, deserialize_with = "opt_str")]
    pub available_to_withdraw: Option<Decimal>,
    /// "Unrealised P&L" of the coin's positions (perpetuals and futures settled in it).
    #[serde(rename = "unrealisedPnl", default, deserialize_with = "opt_str")]
    pub unrealised_pnl: Option<Decimal>,
}

/// A frame of the private stream (`/v5/private`), one type for all of them:
/// - auth / subscribe ack: `{"success":true,"ret_msg":"","op":"auth","conn_id":"cejreaspqfh3sjdnldmg-p"}`
///   (a refusal: `{"success":false,"ret_msg":"Params Error","op":"auth","conn_id":"..."}`);
/// - pong: `{"req_id":"test","op":"pong","args":["1675418560633"],"conn_id":"cfcb4ocsvfriu23r3er0-1b"}`;
/// - wallet: `{"id":"592324d2bce751-ad38-48eb-8f42-4671d1fb4d4e","topic":"wallet","creationTime":1700034722104,"data":[{"accountType":"UNIFIED",...,"coin":[...]}]}`.
///
/// `data` holds the same account objects as the REST `result.list`, so both share [`WalletAccount`].
#[derive(Debug, Deserialize)]
pub struct PrivateFrame<'a> {
    pub success: Option<bool>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub ret_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub op: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub topic: Option<Cow<'a, str>>,
    #[serde(rename = "creationTime")]
    pub creation_time: Option<i64>,
    #[serde(default, borrow)]
    pub data: Option<Vec<WalletAccount<'a>>>,
}
