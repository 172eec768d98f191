//! Fireblocks REST messages, deserialized straight from the body (amounts are decimal strings).

use crate::decimal::{opt_cow, opt_str};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::borrow::Cow;

/// `GET /v1/vault/accounts_paged` (OpenAPI `VaultAccountsPagedResponse`):
/// `{"accounts":[{"id":"0","name":"MyVaultAccount","hiddenOnUI":false,"assets":[{"id":"ETH",
/// "total":"10.5","balance":"10.5","available":"9","pending":"0.5","frozen":"0.5",
/// "lockedAmount":"0.5","blockHeight":"19911062","blockHash":"0xcc16..."}]}],
/// "paging":{"after":"c3RhcnRpbmdWYXVsdElkeD01NTM1NzUzNg=="},"nextUrl":"..."}`
/// (field-level examples of the OpenAPI spec; the docs render no realistic full example).
/// Errors (HTTP 4xx): `{"message":"Unauthorized: Token was not accepted.","code":-7}`.
#[derive(Debug, Deserialize)]
pub struct VaultAccountsPaged<'a> {
    #[serde(default, borrow)]
    pub accounts: Option<Vec<VaultAccount<'a>>>,
    #[serde(default, borrow)]
    pub paging: Option<Paging<'a>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub message: Option<Cow<'a, str>>,
    pub code: Option<i64>,
}

/// `{"before":"c3RhcnRpbmdWYXVsdElkeD04NTgzNzA2Mw==","after":"c3RhcnRpbmdWYXVsdElkeD01NTM1NzUzNg=="}`;
/// `after` is absent on the last page.
#[derive(Debug, Deserialize)]
pub struct Paging<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub after: Option<Cow<'a, str>>,
}

/// `{"id":"0","name":"MyVaultAccount","hiddenOnUI":false,"autoFuel":false,"assets":[...]}`
#[derive(Debug, Deserialize)]
pub struct VaultAccount<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub assets: Vec<VaultAsset<'a>>,
}

/// `{"id":"ETH","total":"10.5","balance":"10.5","available":"9","pending":"0.5","frozen":"0.5",
/// "lockedAmount":"0.5","blockHeight":"19911062"}`. OpenAPI: total = available + pending +
/// lockedAmount + frozen; `balance` is deprecated (= total).
#[derive(Debug, Deserialize)]
pub struct VaultAsset<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, deserialize_with = "opt_str")]
    pub total: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub balance: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub available: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub pending: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub frozen: Option<Decimal>,
    #[serde(rename = "lockedAmount", default, deserialize_with = "opt_str")]
    pub locked_amount: Option<Decimal>,
    /// Deprecated in the OpenAPI ("Staked balance (for DOT staking with Raw signing only)" in
    /// the SDKs' `AssetWallet`); read only to keep it out of `available`.
    #[serde(default, deserialize_with = "opt_str")]
    pub staked: Option<Decimal>,
}
