//! Kraken WebSocket v2 messages.

use crate::decimal::{opt_cow, opt_number};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::borrow::Cow;

/// Channel messages (`{"channel":"ticker","type":"snapshot","data":[...]}`,
/// `{"channel":"heartbeat"}`, `{"channel":"status",...}`) and method replies
/// (`{"method":"subscribe","result":{...},"success":true,"time_in":"...","time_out":"..."}`,
/// `{"method":"pong","req_id":101,...}`, or `"success":false` with `"error"`).
#[derive(Debug, Deserialize)]
pub struct Message<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub channel: Option<Cow<'a, str>>,
    #[serde(default, rename = "type", borrow, deserialize_with = "opt_cow")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub data: Option<Vec<Ticker<'a>>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub method: Option<Cow<'a, str>>,
    pub success: Option<bool>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub error: Option<Cow<'a, str>>,
}

/// One ticker: numbers are JSON numbers, read exactly from their text.
/// `{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,
/// "last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,
/// "change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}`
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub symbol: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "opt_number")]
    pub bid: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub bid_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub ask: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub ask_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub last: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub volume: Option<Decimal>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub timestamp: Option<Cow<'a, str>>,
}

/// `POST /0/private/BalanceEx` (and `/0/private/Balance`) reply: an `error` array (empty on
/// success) and a `result` object keyed by Kraken asset code. BalanceEx, as Kraken's docs show
/// it (numbers unquoted; live replies quote them, both are read exactly):
/// `{"error":[],"result":{"ZUSD":{"balance":25435.21,"hold_trade":8249.76},"XXBT":{"balance":1.2435,"hold_trade":0.8423}}}`.
/// Balance: `{"error":[],"result":{"ZUSD":"2970172.7962","XXBT":"3.2223768244"}}`.
/// A refusal, with HTTP 200: `{"error":["EAPI:Invalid key"],"result":{}}` (`result` may be absent).
#[derive(Debug, Deserialize)]
pub struct BalanceReply<'a> {
    #[serde(default, borrow)]
    pub error: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub result: Option<AssetMap<'a>>,
}

/// The `result` object in the venue's order (a `HashMap` would shuffle it), values still raw:
/// an object for BalanceEx, a decimal for Balance.
#[derive(Debug, Default)]
pub struct AssetMap<'a>(pub Vec<(Cow<'a, str>, &'a serde_json::value::RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for AssetMap<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = AssetMap<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object keyed by asset code")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) =
                    m.next_entry::<Text<'de>, &'de serde_json::value::RawValue>()?
                {
                    out.push((k.0, v));
                }
                Ok(AssetMap(out))
            }
        }
        #[derive(Deserialize)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// One BalanceEx entry. Kraken's schema (krakenfx/api-specs `balanceex.yaml`) gives all four as
/// strings, e.g. `{"balance":"3.46840030","credit":"1.26844502","credit_used":"0.10002300","hold_trade":"2.14560458"}`;
/// `credit`/`credit_used` appear only for accounts with a credit line.
#[derive(Debug, Deserialize)]
pub struct BalanceEx {
    #[serde(default, deserialize_with = "opt_number")]
    pub balance: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub hold_trade: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub credit: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    pub credit_used: Option<Decimal>,
}

/// `POST /0/private/GetWebSocketsToken` reply (docs, "Get Websockets Token"):
/// `{"error":[],"result":{"token":"1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw","expires":900}}`;
/// a refusal is HTTP 200 with `{"error":["EAPI:Invalid key"]}` as for every private endpoint.
#[derive(Debug, Deserialize)]
pub struct TokenReply<'a> {
    #[serde(default, borrow)]
    pub error: Vec<Cow<'a, str>>,
    #[serde(default)]
    pub result: Option<TokenResult>,
}

#[derive(Debug, Deserialize)]
pub struct TokenResult {
    pub token: Option<String>,
    /// Seconds the token may wait before its first use (900).
    pub expires: Option<i64>,
}

/// A frame of the private v2 socket: a `balances` snapshot or update, `heartbeat`, `status`, or a
/// method reply (`subscribe` ack, `pong`, `"success":false` with `"error"`). The examples of
/// <https://docs.kraken.com/api/docs/websocket-v2/balances>:
/// snapshot `{"channel":"balances","data":[{"asset":"BTC","asset_class":"currency","balance":1.2,"wallets":[{"type":"spot","id":"main","balance":1.2}]},...],"type":"snapshot","sequence":1}`,
/// update `{"channel":"balances","type":"update","data":[{"ledger_id":"ADKKFF-WEA5A-CNUBHG","ref_id":"AGBWUJRU-LAREZ-W3UFAN","timestamp":"2023-09-22T10:23:42.925034Z","type":"deposit","asset":"BTC","asset_class":"currency","category":"deposit","wallet_type":"spot","wallet_id":"main","amount":0.01,"fee":0.0,"balance":0.02}],"sequence":2}`.
#[derive(Debug, Deserialize)]
pub struct PrivateMessage<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub channel: Option<Cow<'a, str>>,
    #[serde(default, rename = "type", borrow, deserialize_with = "opt_cow")]
    pub kind: Option<Cow<'a, str>>,
    /// Kept raw: its shape depends on the channel (`status` data is not a balance).
    #[serde(default, borrow)]
    pub data: Option<&'a serde_json::value::RawValue>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub method: Option<Cow<'a, str>>,
    pub success: Option<bool>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub error: Option<Cow<'a, str>>,
}

/// One item of `balances` data: an asset with its wallets (snapshot) or a ledger entry
/// (update, `balance` = the asset's balance after the entry in the entry's wallet).
#[derive(Debug, Deserialize)]
pub struct BalanceItem<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub asset: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "opt_number")]
    pub balance: Option<Decimal>,
    #[serde(default, borrow)]
    pub wallets: Option<Vec<WalletBalance<'a>>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub wallet_type: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub wallet_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub timestamp: Option<Cow<'a, str>>,
}

/// `{"type":"spot","id":"main","balance":1.2}`; `type` is `spot` or `earn`, `id` one of
/// `main`, `flex`, `bonded`, `flexible`, `liquid`, `locked`, `closed`.
#[derive(Debug, Deserialize)]
pub struct WalletBalance<'a> {
    #[serde(default, rename = "type", borrow, deserialize_with = "opt_cow")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "opt_number")]
    pub balance: Option<Decimal>,
}
