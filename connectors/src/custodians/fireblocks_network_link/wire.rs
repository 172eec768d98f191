//! Fireblocks Network Link v2 provider API messages, deserialized straight from the body
//! (amounts are decimal strings, OpenAPI `PositiveAmount`: `^\d+(\.\d+)?`). Spec:
//! `fireblocks/fireblocks-network-link` `v2/openapi/fb-provider-api.yaml`
//! (commit `04bb7dbb984cdec28bb9bc586792858080950c98`).

use crate::decimal::{opt_cow, opt_str};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::borrow::Cow;

/// `GET /accounts` (no `balances=true`): `{"accounts":[{"id":"main","title":"Main account",
/// "status":"active"},{"id":"sub-1","title":"Trading","status":"active","parentId":"main"}]}`
/// (constructed from the OpenAPI `Account` schema; the spec has no example for this response).
#[derive(Debug, Deserialize)]
pub struct AccountsPage<'a> {
    #[serde(borrow)]
    pub accounts: Vec<Account<'a>>,
}

/// `{"id":"sub-1","title":"Trading","status":"active","parentId":"main"}`; `id` matches
/// `^[A-Za-z0-9_-]+$` (OpenAPI `SubAccountIdPathParam`).
#[derive(Debug, Deserialize)]
pub struct Account<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
}

/// `GET /accounts/{accountId}/balances` (OpenAPI example `blockchainNativeCurrency`):
/// `{"balances":[{"id":"76a33ed9-8aa2-4781-93f8-d2369c0c2b14","asset":{"blockchain":"Bitcoin",
/// "cryptocurrencySymbol":"BTC"},"availableAmount":"7.00008214","lockedAmount":"0"}]}`
#[derive(Debug, Deserialize)]
pub struct BalancesPage<'a> {
    #[serde(borrow)]
    pub balances: Vec<AssetBalance<'a>>,
}

/// OpenAPI `AssetBalance` / `AssetCreditBalance`:
/// `{"id":"4ff63424-7e09-4cdf-b7f1-da7b7c65eabe","asset":{"nationalCurrencyCode":"USD"},
/// "availableAmount":"1743.43","lockedAmount":"0"}`; `lockedAmount` is optional (the `bucketCurrency`
/// example omits it), `creditAmount` only in a credit balance.
#[derive(Debug, Deserialize)]
pub struct AssetBalance<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub asset: AssetReference<'a>,
    #[serde(rename = "availableAmount", default, deserialize_with = "opt_str")]
    pub available_amount: Option<Decimal>,
    #[serde(rename = "lockedAmount", default, deserialize_with = "opt_str")]
    pub locked_amount: Option<Decimal>,
    #[serde(rename = "creditAmount", default, deserialize_with = "opt_str")]
    pub credit_amount: Option<Decimal>,
}

/// OpenAPI `AssetReference`, one of: `{"nationalCurrencyCode":"USD"}` (ISO 4217),
/// `{"blockchain":"Bitcoin","cryptocurrencySymbol":"BTC"}` (a native coin of the spec's list) or
/// `{"assetId":"f0844d82-7097-4521-95bc-d843724a893e"}` (a token or bucket listed by
/// `GET /capabilities/assets`).
#[derive(Debug, Deserialize)]
pub struct AssetReference<'a> {
    #[serde(
        rename = "nationalCurrencyCode",
        default,
        borrow,
        deserialize_with = "opt_cow"
    )]
    pub national_currency_code: Option<Cow<'a, str>>,
    #[serde(
        rename = "cryptocurrencySymbol",
        default,
        borrow,
        deserialize_with = "opt_cow"
    )]
    pub cryptocurrency_symbol: Option<Cow<'a, str>>,
    #[serde(rename = "assetId", default, borrow, deserialize_with = "opt_cow")]
    pub asset_id: Option<Cow<'a, str>>,
    /// The chain of a `cryptocurrencySymbol` (`Ethereum`, `Arbitrum`, `Base`...): one symbol
    /// on four chains is four holdings.
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub blockchain: Option<Cow<'a, str>>,
}

/// Every error response (OpenAPI `GeneralError`, `BadRequestError`, `UnauthorizedError`):
/// `{"message":"Invalid signature","errorType":"unauthorized"}`, optionally with
/// `"propertyName":"X-FBAPI-KEY","requestPart":"headers"`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub message: Option<Cow<'a, str>>,
    #[serde(rename = "errorType", default, borrow, deserialize_with = "opt_cow")]
    pub error_type: Option<Cow<'a, str>>,
}
