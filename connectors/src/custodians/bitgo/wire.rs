//! BitGo wire types, borrowed from the response body.

use serde::Deserialize;
use std::borrow::Cow;

/// `GET /api/v2/wallet/balances`: totals per coin over the enterprise's wallets. Amounts are
/// integer strings in the coin's base units (satoshi, wei...). Constructed example in the
/// documented shape (BitGo publishes no verbatim example with values):
/// `{"balances":[{"coin":"btc","balanceString":"1250000000","confirmedBalanceString":"1250000000","spendableBalanceString":"1200000000"}]}`
///
/// BitGo's errors carry `error` (and `name`, `requestId`):
/// `{"error":"unauthorized","name":"Unauthorized","requestId":"cl8..."}`
#[derive(Debug, Deserialize)]
pub struct WalletBalances<'a> {
    #[serde(default, borrow)]
    pub balances: Option<Vec<CoinBalance<'a>>>,
    #[serde(default, borrow)]
    pub error: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
}

/// `{"coin":"eth:usdc","balanceString":"2500000000000","confirmedBalanceString":"2500000000000","spendableBalanceString":"2500000000000"}`
///
/// The JSON-number twins (`balance`, `spendableBalance`) "may lose precision" (BitGo API
/// reference) and are ignored: only the `*String` fields are read.
///
/// The same fields (plus `id`, the wallet id) head a single wallet,
/// `GET /api/v2/{coin}/wallet/{walletId}`, whose token balances sit in a `tokens` map keyed by
/// the token's coin code (`"tokens":{"eth:usdc":{"balanceString":"...",
/// "confirmedBalanceString":"...","spendableBalanceString":"...","transferCount":0}}`);
/// read here wherever it appears.
#[derive(Debug, Deserialize)]
pub struct CoinBalance<'a> {
    #[serde(borrow)]
    pub coin: Cow<'a, str>,
    /// The wallet id (single-wallet bodies only).
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub tokens: Option<std::collections::BTreeMap<Cow<'a, str>, TokenBalance<'a>>>,
    #[serde(rename = "balanceString", borrow)]
    pub balance_string: Option<Cow<'a, str>>,
    #[serde(rename = "confirmedBalanceString", default, borrow)]
    pub confirmed_balance_string: Option<Cow<'a, str>>,
    #[serde(rename = "spendableBalanceString", default, borrow)]
    pub spendable_balance_string: Option<Cow<'a, str>>,
}

/// `GET /api/v2/wallet/balances/merged`: one entry per coin, keyed by the coin, totals only.
/// Docs example (`../shared/venues/bitgo/`):
/// `{"btc":{"balance":50000,"balanceString":"50000"},"eth":{"balance":0,"balanceString":"2000000"}}`
#[derive(Debug, Deserialize)]
pub struct MergedBalance<'a> {
    #[serde(rename = "balanceString", borrow)]
    pub balance_string: Option<Cow<'a, str>>,
}

/// One entry of a wallet's `tokens` map (the key is the token's coin code):
/// `{"balanceString":"1000000","confirmedBalanceString":"0","spendableBalanceString":"0","transferCount":0}`
#[derive(Debug, Deserialize)]
pub struct TokenBalance<'a> {
    #[serde(rename = "balanceString", borrow)]
    pub balance_string: Option<Cow<'a, str>>,
    #[serde(rename = "confirmedBalanceString", default, borrow)]
    pub confirmed_balance_string: Option<Cow<'a, str>>,
    #[serde(rename = "spendableBalanceString", default, borrow)]
    pub spendable_balance_string: Option<Cow<'a, str>>,
}
