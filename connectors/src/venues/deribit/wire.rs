//! Deribit JSON-RPC 2.0 frames, deserialized straight from the frame.

use crate::decimal::{opt_cow, opt_number};
use rust_decimal::Decimal;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Every frame on the socket, in one pass: a notification (`method` + `params`, no `id`), a
/// reply (`id` + `result`) or an error reply (`id` + `error`).
///
/// Notification (nautilus capture, `ws_ticker_BTC-PERPETUAL_100ms_nautilus.json`, abridged):
/// `{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.100ms","data":{"timestamp":1765541474086,...}}}`
///
/// Heartbeat (nautilus `ws_test_request.json`):
/// `{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}`
///
/// Reply (live capture, abridged):
/// `{"jsonrpc":"2.0","id":0,"result":["ticker.ETH-30JUL21-2800-C.raw",...],"usIn":1626993723846980,"usOut":1626993723847561,"usDiff":581,"testnet":false}`
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub params: Option<Params<'a>>,
    /// Kept raw: only read to say which request an error refused.
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    pub result: Option<IgnoredAny>,
    #[serde(default, borrow)]
    pub error: Option<RpcError<'a>>,
}

/// A JSON-RPC error object. A real one, quoted (as a Python dict) in
/// tmatic-trading/crypto-platform issue #402, here as JSON; note the missing `id`:
/// `{"jsonrpc":"2.0","error":{"code":-32600,"message":"request entity too large"},"usIn":1735470238752669,"usOut":1735470238752706,"usDiff":37,"testnet":true}`
/// JSON-RPC allows an optional `data` member, whose shape varies, so it stays raw.
#[derive(Debug, Deserialize)]
pub struct RpcError<'a> {
    pub code: Option<i64>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
}

/// The `params` of a notification: `channel` + `data` for subscriptions, `type` for heartbeats
/// (`{"type":"test_request"}`, `{"type":"heartbeat"}`).
///
/// `data` is typed by `channel`: a ticker is an object, a `trades.*` notification an array, a
/// book another object. Deserialized by hand so that a ticker is read in the same pass (Deribit
/// writes `channel` before `data`) and every other channel's data is skipped, never forced into
/// the ticker's shape. Should `data` come first, it is kept raw and read once `channel` is known.
#[derive(Debug, Default)]
pub struct Params<'a> {
    pub channel: Option<Cow<'a, str>>,
    /// The heartbeat `type`.
    pub kind: Option<Cow<'a, str>>,
    /// `data` of a `ticker.*` channel.
    pub ticker: Option<Ticker<'a>>,
}

/// Whether a channel carries [`Ticker`] data (`ticker.BTC-PERPETUAL.100ms`). The
/// `incremental_ticker.*` channel sends changed fields only, so it is not one.
pub fn is_ticker_channel(channel: &str) -> bool {
    channel.starts_with("ticker.")
}

/// A string borrowed from the frame unless it has escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Channel,
    Type,
    Data,
    #[serde(other)]
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Params<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ParamsVisitor(PhantomData))
    }
}

struct ParamsVisitor<'a>(PhantomData<Params<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for ParamsVisitor<'a> {
    type Value = Params<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Deribit notification's params object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params<'a>, A::Error> {
        let mut p = Params::default();
        let mut early_data: Option<&'de RawValue> = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Channel => p.channel = Some(map.next_value::<Text<'de>>()?.0),
                Key::Type => p.kind = Some(map.next_value::<Text<'de>>()?.0),
                Key::Data => match p.channel.as_deref() {
                    Some(c) if is_ticker_channel(c) => p.ticker = Some(map.next_value()?),
                    Some(_) => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    None => early_data = Some(map.next_value()?),
                },
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let (Some(raw), Some(c)) = (early_data, p.channel.as_deref()) {
            if is_ticker_channel(c) {
                p.ticker = Some(serde_json::from_str(raw.get()).map_err(de::Error::custom)?);
            }
        }
        Ok(p)
    }
}

/// One ticker (`ticker.{instrument}.{interval}` data). Numbers are JSON numbers, read exactly
/// from their text; any of them may be `null` (an option's `stats` in the live capture).
/// Perpetual (nautilus capture, Dec 2025):
/// `{"timestamp":1765541474086,"state":"open","stats":{"high":93612.0,"low":89277.5,
/// "price_change":2.3275,"volume":11897.27640428,"volume_usd":1092371540.0,
/// "volume_notional":1092371540.0},"index_price":92263.55,"instrument_name":"BTC-PERPETUAL",
/// "last_price":92283.5,"settlement_price":92464.66,"min_price":90897.5,"max_price":93666.5,
/// "open_interest":1132329370.0,"mark_price":92281.78,"interest_value":0.0028213400122472977,
/// "best_ask_price":92284.0,"best_bid_price":92283.5,"estimated_delivery_price":92263.55,
/// "best_ask_amount":186520.0,"best_bid_amount":117660.0,"current_funding":0.0,
/// "funding_8h":0.00001742}`
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub instrument_name: Option<Cow<'a, str>>,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "opt_number")]
    pub best_bid_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub best_bid_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub best_ask_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub best_ask_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub last_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub mark_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub index_price: Option<Decimal>,
    pub stats: Option<Stats>,
}

/// 24 h statistics of a ticker: `{"volume":869.0,"price_change":0.0,"low":0.0015,"high":0.0025}`
/// or, for a quiet option, `{"volume":null,"price_change":null,"low":null,"high":null}`.
/// `volume` is in the base currency (BTC for BTC-PERPETUAL; `volume_usd` is the USD figure).
#[derive(Debug, Deserialize)]
pub struct Stats {
    #[serde(default, deserialize_with = "opt_number")]
    pub volume: Option<Decimal>,
}

/// `GET /api/v2/private/get_account_summaries?extended=true`: a JSON-RPC reply over HTTP whose
/// `result.summaries` holds one summary per currency; every number is a JSON number.
///
/// Reply (nautilus capture `rest_private_get_account_summaries_nautilus.json`, abridged):
/// `{"jsonrpc":"2.0","id":2515,"result":{"id":10,"type":"main","summaries":[{"currency":"BTC","margin_balance":302.62729214,"available_funds":301.38059622,"balance":302.60065765,"equity":302.61869214,"initial_margin":1.24669592,...}]},"testnet":false,"usIn":1687352432000000,"usOut":1687352432005000,"usDiff":5000}`
///
/// Error (ccxt/ccxt issue #9133, a real HTTP reply with no `id`):
/// `{"jsonrpc":"2.0","error":{"message":"unauthorized","code":13009},"testnet":false,"usIn":1620162727414410,"usOut":1620162727414499,"usDiff":89}`
#[derive(Debug, Deserialize)]
pub struct AccountSummariesReply<'a> {
    #[serde(default, borrow)]
    pub result: Option<AccountSummaries<'a>>,
    #[serde(default, borrow)]
    pub error: Option<RpcError<'a>>,
    /// When the server sent the reply, in microseconds since the epoch: the balances' as-of.
    #[serde(rename = "usOut")]
    pub us_out: Option<i64>,
}

/// `result` of `private/get_account_summaries`; the account fields beside `summaries` (`id`,
/// `username`, `type`, fee tables, `limits`) are skipped.
/// `{"id":10,"username":"user","type":"main","summaries":[...]}`
#[derive(Debug, Deserialize)]
pub struct AccountSummaries<'a> {
    #[serde(borrow)]
    pub summaries: Option<Vec<CurrencySummary<'a>>>,
}

/// One currency's summary (only the fields read here; `limits`, `fees`, greeks are skipped):
/// `{"currency":"ETH","available_funds":99.999598,"initial_margin":0.000402,"balance":100,"equity":100,"margin_balance":100,"maintenance_margin":0,"available_withdrawal_funds":99.999597,...}`
#[derive(Debug, Deserialize)]
pub struct CurrencySummary<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub currency: Option<Cow<'a, str>>,
    /// Wallet balance: deposits, withdrawals, transfers, fees and realised P&L (cash).
    #[serde(default, deserialize_with = "opt_number")]
    pub balance: Option<Decimal>,
    /// Balance plus unrealised P&L and option value.
    #[serde(default, deserialize_with = "opt_number")]
    pub equity: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub available_funds: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub available_withdrawal_funds: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub margin_balance: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub initial_margin: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub maintenance_margin: Option<Decimal>,
    /// Unrealized P&L of the session (since the last daily settlement, which moves realized
    /// P&L into `balance`): the currency's P&L beside its wallet balance.
    #[serde(default, deserialize_with = "opt_number")]
    pub session_upl: Option<Decimal>,
    /// The margin fields read by [`super::account`].
    #[serde(default, deserialize_with = "opt_number")]
    pub estimated_liquidation_ratio: Option<Decimal>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub margin_model: Option<Cow<'a, str>>,
    #[serde(default)]
    pub cross_collateral_enabled: Option<bool>,
    #[serde(default, deserialize_with = "opt_number")]
    pub total_equity_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub total_margin_balance_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub total_initial_margin_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub total_maintenance_margin_usd: Option<Decimal>,
}

/// A frame of the private balance stream: a `user.portfolio.*` notification, a heartbeat, or
/// a reply (`public/auth`, `public/set_heartbeat`, `private/subscribe`, `public/test`).
/// `params.data` stays raw until the channel says what it is.
///
/// Notification (nautilus capture `ws_private_user_portfolio_nautilus.json`, abridged):
/// `{"jsonrpc":"2.0","method":"subscription","params":{"channel":"user.portfolio.any","data":{...,"balance":55.00055,...,"equity":55.00055,...,"currency":"USDT",...}}}`
#[derive(Debug, Deserialize)]
pub struct PrivateFrame<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub params: Option<PrivateParams<'a>>,
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    pub result: Option<IgnoredAny>,
    #[serde(default, borrow)]
    pub error: Option<RpcError<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct PrivateParams<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub channel: Option<Cow<'a, str>>,
    #[serde(default, rename = "type", borrow, deserialize_with = "opt_cow")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
}

/// `user.portfolio.{currency}` data: the same per-currency summary as
/// `private/get_account_summaries` ([`CurrencySummary`]), read with the same fields.
pub type Portfolio<'a> = CurrencySummary<'a>;
