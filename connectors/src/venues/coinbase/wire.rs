//! Coinbase Advanced Trade market-data messages.

use crate::decimal::{opt_cow, opt_str};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::borrow::Cow;

/// The envelope of every message:
/// `{"channel":"ticker","client_id":"","timestamp":"2023-02-09T20:30:37.167359596Z","sequence_num":0,"events":[...]}`.
/// Errors come as `{"type":"error","message":"..."}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub channel: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub timestamp: Option<Cow<'a, str>>,
    pub sequence_num: Option<u64>,
    #[serde(default, borrow)]
    pub events: Vec<Event<'a>>,
    #[serde(default, rename = "type", borrow, deserialize_with = "opt_cow")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub message: Option<Cow<'a, str>>,
}

/// One event: `{"type":"snapshot","tickers":[...]}`; heartbeats and subscriptions events carry
/// other fields, ignored here.
#[derive(Debug, Deserialize)]
pub struct Event<'a> {
    #[serde(default, borrow)]
    pub tickers: Vec<Ticker<'a>>,
}

/// `{"type":"ticker","product_id":"BTC-USD","price":"21932.98","volume_24_h":"16038.28770938",...,
/// "best_bid":"21931.98","best_bid_quantity":"8000.21","best_ask":"21933.98","best_ask_quantity":"8038.07770938"}`
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    #[serde(borrow)]
    pub product_id: Cow<'a, str>,
    #[serde(default, deserialize_with = "opt_str")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub volume_24_h: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub best_bid: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub best_bid_quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub best_ask: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub best_ask_quantity: Option<Decimal>,
}

/// `GET /api/v3/brokerage/accounts` (nautilus test data, fields as Coinbase sends them):
/// `{"accounts":[{"uuid":"8bfc20d7-...","name":"BTC Wallet","currency":"BTC","available_balance":{"value":"1.23456789","currency":"BTC"},"default":true,"active":true,...,"type":"CRYPTO","ready":true,"hold":{"value":"0.00500000","currency":"BTC"},"retail_portfolio_id":"portfolio-001"}],"has_next":false,"cursor":"","size":2}`.
/// Errors (non-200): `{"error":"NOT_FOUND","error_details":"...","message":"..."}`.
#[derive(Debug, Deserialize)]
pub struct Accounts<'a> {
    #[serde(default, borrow)]
    pub accounts: Option<Vec<Account<'a>>>,
    #[serde(default)]
    pub has_next: bool,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub cursor: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub error: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub message: Option<Cow<'a, str>>,
}

/// One account (one currency): `{"uuid":"...","currency":"USD","available_balance":{"value":"10000.50","currency":"USD"},"hold":{"value":"450.00","currency":"USD"},"retail_portfolio_id":"portfolio-001",...}`
#[derive(Debug, Deserialize)]
pub struct Account<'a> {
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    pub available_balance: Option<Amount>,
    pub hold: Option<Amount>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub retail_portfolio_id: Option<Cow<'a, str>>,
    /// The account's last change, RFC 3339 (`"2024-01-15T10:30:00Z"`).
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub updated_at: Option<Cow<'a, str>>,
}

/// `{"value":"1.23456789","currency":"BTC"}`
#[derive(Debug, Deserialize)]
pub struct Amount {
    #[serde(default, deserialize_with = "opt_str")]
    pub value: Option<Decimal>,
}
