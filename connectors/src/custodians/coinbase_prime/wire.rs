//! Coinbase Prime wire types, borrowed from the response body.

use serde::Deserialize;
use std::borrow::Cow;

/// `GET /v1/portfolios`. Constructed example in the documented shape:
/// `{"portfolios":[{"id":"4d0c5e9a-...","name":"Main","entity_id":"...","organization_id":"..."}]}`
///
/// Prime's errors carry `message`: `{"message":"Unauthorized"}`.
#[derive(Debug, Deserialize)]
pub struct Portfolios<'a> {
    #[serde(default, borrow)]
    pub portfolios: Option<Vec<Portfolio<'a>>>,
}

/// `{"id":"4d0c5e9a-7d6c-4f55-9c59-0f4f1f1a2b3c","name":"Main"}`
#[derive(Debug, Deserialize)]
pub struct Portfolio<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
}

/// `GET /v1/portfolios/{portfolio_id}/balances` (docs example, abridged):
/// `{"balances":[{"symbol":"BTC","amount":"109.42","holds":"2","withdrawable_amount":"109.42",...}],"type":"TRADING_BALANCES",...}`
#[derive(Debug, Deserialize)]
pub struct PortfolioBalances<'a> {
    #[serde(default, borrow)]
    pub balances: Option<Vec<Balance<'a>>>,
    #[serde(default, borrow)]
    pub portfolios: Option<Vec<Portfolio<'a>>>,
    #[serde(default, borrow)]
    pub message: Option<Cow<'a, str>>,
}

/// `{"symbol":"BTC","amount":"109.42","holds":"2","withdrawable_amount":"109.42"}`
#[derive(Debug, Deserialize)]
pub struct Balance<'a> {
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub amount: Option<rust_decimal::Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub holds: Option<rust_decimal::Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub withdrawable_amount: Option<rust_decimal::Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub bonded_amount: Option<rust_decimal::Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub unbonding_amount: Option<rust_decimal::Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub reserved_amount: Option<rust_decimal::Decimal>,
    #[serde(default, deserialize_with = "crate::decimal::opt_str")]
    pub unvested_amount: Option<rust_decimal::Decimal>,
}
