//! Network Link pages -> balances. Pure: no clock, no I/O; the cursor says which page a body is.
//!
//! Field by field (spec `AssetBalance`):
//!
//! | Network Link | meaning | record |
//! |---|---|---|
//! | `asset` `nationalCurrencyCode` / `cryptocurrencySymbol` / `assetId` | ISO 4217 code, native coin symbol, or the provider's asset UUID | `venue_asset`, unchanged (first present, in that order) |
//! | `availableAmount` | free to use | `available` |
//! | `lockedAmount` (optional) | held | `locked` (absent: 0) |
//! | `creditAmount` | credit the provider extends | not read |
//!
//! total = available + locked. The spec gives no balance time: `as_of` is `None`, no pending
//! figure.

use super::wire::{AccountsPage, BalancesPage, ErrorBody};
use super::{valid_account_id, Page, KIND, PAGE_LIMIT};
use crate::custodians::split;
use crate::error::ParseError;
use crate::transport::rest::ParsedBalance;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// One page of the walk `cursor` names (see the module header of `mod.rs`); returns the next
/// page's cursor, or `None` when every account's balances have been read.
pub fn parse_page(
    body: &str,
    cursor: Option<&str>,
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    venue_error(body)?;
    let page = Page::decode(cursor)
        .ok_or_else(|| ParseError::malformed(KIND, "not a Network Link cursor", body))?;
    match page {
        Page::Accounts { .. } => parse_accounts(body),
        Page::Balances {
            accounts_after,
            accounts,
            ..
        } => parse_balances(body, accounts_after, &accounts, emit),
    }
}

/// An error body (`{"message":...,"errorType":...}`) is the provider's refusal, whatever status
/// carried it.
fn venue_error(body: &str) -> Result<(), ParseError> {
    if let Ok(e) = serde_json::from_str::<ErrorBody<'_>>(body) {
        if let Some(t) = e.error_type {
            return Err(ParseError::Venue {
                venue: KIND,
                message: format!("{t}: {}", e.message.as_deref().unwrap_or("")),
            });
        }
    }
    Ok(())
}

/// `GET /accounts`: no balances; the next cursor reads the first of these accounts' balances.
fn parse_accounts(body: &str) -> Result<Option<String>, ParseError> {
    let page: AccountsPage<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    let ids: Vec<&str> = page.accounts.iter().map(|a| a.id.as_ref()).collect();
    if let Some(bad) = ids.iter().find(|id| !valid_account_id(id)) {
        // The spec's pattern; anything else could not be put in a path or our cursor safely.
        return Err(ParseError::malformed(
            KIND,
            format!("account id {bad:?} outside ^[A-Za-z0-9_-]+$"),
            body,
        ));
    }
    let Some(last) = ids.last() else {
        return Ok(None);
    };
    // A short page is the last one: the spec's lists carry no "more" flag.
    let accounts_after = (ids.len() >= PAGE_LIMIT).then_some(*last);
    Ok(Some(
        Page::Balances {
            accounts_after,
            accounts: ids.clone(),
            after: None,
        }
        .encode(),
    ))
}

/// `GET /accounts/{id}/balances` for `accounts[0]`: one balance per asset, the account id as
/// `sub_account`.
///
/// The spec defines only `availableAmount` (required) and `lockedAmount` (optional): total is
/// their sum, so total = available + locked holds by the provider's own definition. A missing
/// `lockedAmount` is 0 held (the provider reports none), so locked is `Some(0)`: both figures go
/// out whenever the provider gives its available one. Through [`crate::custodians::split`], a
/// (non-conforming) negative available counts 0 free.
/// `creditAmount` (a credit balance) is credit the provider extends, not the owner's asset nor a
/// debt drawn: it is left out of every number rather than guessed into `borrowed`.
fn parse_balances(
    body: &str,
    accounts_after: Option<&str>,
    accounts: &[&str],
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let page: BalancesPage<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    let Some(account) = accounts.first() else {
        return Err(ParseError::malformed(KIND, "cursor names no account", body));
    };
    for b in &page.balances {
        let asset = b
            .asset
            .national_currency_code
            .as_ref()
            .or(b.asset.cryptocurrency_symbol.as_ref())
            .or(b.asset.asset_id.as_ref())
            .ok_or_else(|| ParseError::malformed(KIND, "balance without an asset", body))?;
        let available = b
            .available_amount
            .ok_or_else(|| ParseError::malformed(KIND, "balance without availableAmount", body))?;
        let locked = b.locked_amount.unwrap_or_default();
        let total = available + locked;
        // The provider's own figures when they are a valid split (kept as written); else the
        // conservative split of their sum.
        let (available, locked) = if available >= Decimal::ZERO && locked >= Decimal::ZERO {
            (available, locked)
        } else {
            split(total, available)
        };
        emit(ParsedBalance {
            unrealized_pnl: None,
            venue_asset: Cow::Borrowed(asset.as_ref()),
            total,
            available: Some(available),
            locked: Some(locked),
            borrowed: None,
            pending: None,
            sub_account: Some(Cow::Owned((*account).to_owned())),
            wallet: None,
            as_of: None,
            // A symbol on several chains is several holdings: the chain keeps them apart.
            network: b
                .asset
                .cryptocurrency_symbol
                .as_ref()
                .and(b.asset.blockchain.as_deref())
                .map(Cow::Borrowed),
        });
    }
    let next = if page.balances.len() >= PAGE_LIMIT {
        // A full page: more of this account's balances after the last one.
        let last = page.balances.last().map(|b| b.id.as_ref());
        Page::Balances {
            accounts_after,
            accounts: accounts.to_vec(),
            after: last,
        }
        .encode()
    } else if accounts.len() > 1 {
        Page::Balances {
            accounts_after,
            accounts: accounts[1..].to_vec(),
            after: None,
        }
        .encode()
    } else if let Some(after) = accounts_after {
        Page::Accounts { after: Some(after) }.encode()
    } else {
        return Ok(None);
    };
    Ok(Some(next))
}
