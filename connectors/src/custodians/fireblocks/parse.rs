//! Fireblocks vault accounts -> balances. Pure: no clock, no I/O.
//!
//! Field by field (OpenAPI `VaultAsset`; the SDKs' `AssetWallet` wording in quotes):
//!
//! | Fireblocks | meaning | record |
//! |---|---|---|
//! | `id` | asset id, network in the id (`USDC`, `USDC_POLYGON`, `USDT_ERC20`, `BTC_TEST`) | `venue_asset`, unchanged |
//! | `total` (`balance`, deprecated twin) | "as seen at the blockchain explorers"; total = available + pending + lockedAmount + frozen | `total` after taking `pending` out |
//! | `available` | "funds available for transfer" = total - lockedAmount - frozen - pending | caps `available` |
//! | `pending` | "an incoming transaction that hasn't yet reached the necessary number of confirmations" | `pending` (outside total, counted 0) |
//! | `lockedAmount` | "funds in outgoing transactions that are not yet published" (pending withdrawals) | in `locked` |
//! | `frozen` | "frozen due to the anti-money laundering policy" | in `locked` |
//! | `staked` (deprecated) | staked balance | in `locked` |
//! | `blockHeight`, `blockHash` | the block of the balance, no time | not read |
//!
//! Rule: `pending` is clamped to `[0, total]`; settled = total - pending is the record's total.
//! available = min(`available`, total - pending - lockedAmount - frozen - staked (when the
//! three required parts are all given)) through [`crate::custodians::split`]; locked =
//! settled - available. With neither `available` nor the three parts, available and locked
//! stay `None`. `as_of` is `None`: a vault account carries no balance time.

use super::wire::VaultAccountsPaged;
use super::KIND;
use crate::custodians::{min_of, split};
use crate::error::ParseError;
use crate::transport::rest::ParsedBalance;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// `(total, available, locked, pending)` of one vault asset by the rule of the module header.
pub fn reconcile(
    total: Decimal,
    available: Option<Decimal>,
    pending: Option<Decimal>,
    locked_amount: Option<Decimal>,
    frozen: Option<Decimal>,
    staked: Option<Decimal>,
) -> (Decimal, Option<Decimal>, Option<Decimal>, Option<Decimal>) {
    let pending = pending.map(|p| p.max(Decimal::ZERO).min(total.max(Decimal::ZERO)));
    let settled = total - pending.unwrap_or_default();
    let from_parts = match (pending, locked_amount, frozen) {
        (Some(p), Some(l), Some(f)) => Some(total - p - l - f - staked.unwrap_or_default()),
        _ => None,
    };
    match min_of(available, from_parts) {
        Some(cap) => {
            let (a, l) = split(settled, cap);
            (settled, Some(a), Some(l), pending)
        }
        None => (settled, None, None, pending),
    }
}

/// One page of `GET /v1/vault/accounts_paged`: one balance per (vault account, asset), the
/// vault account id as `sub_account`; returns `paging.after` (the next page's cursor). Every
/// asset row is kept, zero and dust included, whatever its id.
pub fn parse_vault_accounts(
    body: &str,
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let page: VaultAccountsPaged<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if page.code.is_some() || page.message.is_some() {
        return Err(ParseError::Venue {
            venue: KIND,
            message: format!(
                "code {}: {}",
                page.code.unwrap_or(0),
                page.message.as_deref().unwrap_or("")
            ),
        });
    }
    let Some(accounts) = page.accounts else {
        return Err(ParseError::malformed(KIND, "no accounts", body));
    };
    for account in accounts {
        for asset in account.assets {
            // `balance` is the deprecated name of `total`; older workspaces may send only it.
            let Some(total) = asset.total.or(asset.balance) else {
                return Err(ParseError::malformed(
                    KIND,
                    "vault asset without total",
                    body,
                ));
            };
            let (total, available, locked, pending) = reconcile(
                total,
                asset.available,
                asset.pending,
                asset.locked_amount,
                asset.frozen,
                asset.staked,
            );
            emit(ParsedBalance {
                unrealized_pnl: None,
                venue_asset: asset.id,
                total,
                available,
                locked,
                borrowed: None,
                pending,
                sub_account: Some(match &account.id {
                    Cow::Borrowed(s) => Cow::Borrowed(*s),
                    Cow::Owned(s) => Cow::Owned(s.clone()),
                }),
                wallet: None,
                as_of: None,
                // The id names the chain (`USDC_POLYGON`); the registry reads it.
                network: None,
            });
        }
    }
    Ok(page
        .paging
        .and_then(|p| p.after)
        .filter(|a| !a.is_empty())
        .map(Cow::into_owned))
}
