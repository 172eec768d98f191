//! Pure conversion of BitGo balance bodies (integer base units) into exact decimals.
//!
//! Field by field (BitGo API reference, wallet and total-balance schemas):
//!
//! | BitGo | meaning | record |
//! |---|---|---|
//! | `coin` (or a `tokens` map key) | coin code, network in the code (`btc`, `tbtc`, `eth:usdc`, `sol:usdc`) | `venue_asset`, unchanged |
//! | `balanceString` | balance including unconfirmed transfers | total, less the unconfirmed incoming part |
//! | `confirmedBalanceString` | confirmed on chain | `pending` = max(balance - confirmed, 0) (incoming, unconfirmed) |
//! | `spendableBalanceString` | what can be spent now (not locked, frozen, staked, unconfirmed, held by policy) | caps `available` |
//! | `balance`, `confirmedBalance`, `spendableBalance` | JSON-number twins, "may lose precision" | not read |
//!
//! Rule: settled = balance - pending (= min(balance, confirmed)) is the record's total;
//! available = spendable through [`crate::custodians::split`] (never above spendable, clamped to
//! `[0, total]`), locked = total - available. Without `spendableBalanceString` available and
//! locked stay `None`; without `confirmedBalanceString`, pending is `None` and total = balance.
//! No endpoint read here carries a balance time: `as_of` is `None`.
//!
//! A coin whose decimals [`coins`] does not know is still emitted under its own code (never
//! filtered), with its amounts as BitGo's base-unit integers, unscaled: no decimals are guessed,
//! and the asset registry knows no such code (only [`coins::ALIASES`], all with known decimals,
//! are offered to it), so it is flagged unknown rather than valued.

use super::{coins, wire, KIND};
use crate::custodians::split;
use crate::error::{excerpt, ParseError};
use crate::transport::rest::ParsedBalance;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// Largest mantissa a `Decimal` holds (2^96 - 1, about 7.9e28).
const MAX_MANTISSA: u128 = (1u128 << 96) - 1;

/// `base_units / 10^decimals`, exactly. The amount is BitGo's `^-?\d+$` string; amounts beyond
/// u64 (wei) are fine as long as the digits fit a Decimal's 96-bit mantissa. Trailing zeros are
/// shed (exactly) to make room; anything that still does not fit is refused, never rounded.
pub fn base_units(coin: &str, field: &'static str, amount: &str) -> Result<Decimal, ParseError> {
    let bad = || ParseError::BadNumber {
        venue: KIND,
        field,
        value: excerpt(amount),
    };
    let Some(scale) = coins::decimals(coin) else {
        return Err(ParseError::Unknown {
            venue: KIND,
            payload: format!("coin {coin:?} has no known decimals; refusing to guess"),
        });
    };
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, amount),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let digits = digits.trim_start_matches('0');
    // u128 holds 38 digits; longer (after leading zeros) cannot fit a Decimal anyway.
    let mut n: u128 = if digits.is_empty() {
        0
    } else if digits.len() > 38 {
        return Err(bad());
    } else {
        digits.parse().map_err(|_| bad())?
    };
    let mut scale = scale;
    while n > MAX_MANTISSA && scale > 0 && n.is_multiple_of(10) {
        n /= 10;
        scale -= 1;
    }
    if n > MAX_MANTISSA || scale > 28 {
        return Err(bad());
    }
    let signed = i128::try_from(n).map_err(|_| bad())?;
    Decimal::try_from_i128_with_scale(if negative { -signed } else { signed }, scale)
        .map_err(|_| bad())
}

fn venue_error(e: &wire::WalletBalances<'_>) -> Option<ParseError> {
    let err = e.error.as_deref()?;
    Some(ParseError::Venue {
        venue: KIND,
        message: match e.name.as_deref() {
            Some(name) => format!("{name}: {err}"),
            None => err.to_owned(),
        },
    })
}

/// One row's numbers: `(total, available, locked, pending)` by the module's rule.
type Row = (Decimal, Option<Decimal>, Option<Decimal>, Option<Decimal>);

/// The amounts of `coin` in its units, or, for a coin whose decimals this connector does not
/// know, the base-unit integer unscaled (see the module header: the row still goes out).
fn amount(coin: &str, field: &'static str, v: &str) -> Result<Decimal, ParseError> {
    match base_units(coin, field, v) {
        Err(ParseError::Unknown { .. }) => {
            base_units_unscaled(v).ok_or_else(|| ParseError::BadNumber {
                venue: KIND,
                field,
                value: excerpt(v),
            })
        }
        r => r,
    }
}

/// The code a row goes out under: the coin's own, or, for a coin whose decimals are unknown
/// (its amounts are unscaled base units), the coin with ` (base units)` appended, a code no
/// registry can map. Else a registry row added for the plain code later would value raw base
/// units as whole coins (a million times too much for a 6-decimal token).
fn row_code(coin: Cow<'_, str>) -> Cow<'_, str> {
    if coins::decimals(&coin).is_some() {
        coin
    } else {
        Cow::Owned(format!("{coin} (base units)"))
    }
}

fn base_units_unscaled(v: &str) -> Option<Decimal> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<Decimal>().ok()
}

/// balanceString / confirmedBalanceString / spendableBalanceString -> a row.
pub fn reconcile(
    coin: &str,
    balance: Option<&str>,
    confirmed: Option<&str>,
    spendable: Option<&str>,
    body: &str,
) -> Result<Row, ParseError> {
    let Some(balance) = balance else {
        return Err(ParseError::malformed(
            KIND,
            "balance without balanceString",
            body,
        ));
    };
    let balance = amount(coin, "balanceString", balance)?;
    let confirmed = confirmed
        .map(|s| amount(coin, "confirmedBalanceString", s))
        .transpose()?;
    let spendable = spendable
        .map(|s| amount(coin, "spendableBalanceString", s))
        .transpose()?;
    // Incoming, not yet confirmed: balance above confirmed. (Below it, an unconfirmed
    // outgoing spend: the lower balance is the settled figure.)
    let pending = confirmed.map(|c| (balance - c).max(Decimal::ZERO));
    let settled = balance - pending.unwrap_or_default();
    Ok(match spendable {
        Some(s) => {
            let (a, l) = split(settled, s);
            (settled, Some(a), Some(l), pending)
        }
        None => (settled, None, None, pending),
    })
}

/// Rows of one `CoinBalance` (the coin's own, then one per entry of its `tokens` map whose code
/// is not already a top-level coin of the body, so a token is never counted twice).
fn rows<'a>(
    b: &wire::CoinBalance<'a>,
    top_level: &[&str],
    body: &str,
    out: &mut Vec<(Cow<'a, str>, Row)>,
) -> Result<(), ParseError> {
    let own = reconcile(
        &b.coin,
        b.balance_string.as_deref(),
        b.confirmed_balance_string.as_deref(),
        b.spendable_balance_string.as_deref(),
        body,
    )?;
    out.push((b.coin.clone(), own));
    for (code, t) in b.tokens.iter().flatten() {
        if top_level.contains(&code.as_ref()) {
            continue;
        }
        let row = reconcile(
            code,
            t.balance_string.as_deref(),
            t.confirmed_balance_string.as_deref(),
            t.spendable_balance_string.as_deref(),
            body,
        )?;
        out.push((code.clone(), row));
    }
    Ok(())
}

fn emit_rows<'a>(
    rows: Vec<(Cow<'a, str>, Row)>,
    wallet: Option<Cow<'a, str>>,
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) {
    for (coin, (total, available, locked, pending)) in rows {
        emit(ParsedBalance {
            venue_asset: row_code(coin),
            total,
            available,
            locked,
            pending,
            wallet: wallet.clone(),
            ..Default::default()
        });
    }
}

/// `GET /api/v2/wallet/balances` (the poll): one row per coin, and per token in a `tokens` map.
pub fn parse_wallet_balances(
    body: &str,
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let w: wire::WalletBalances<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if let Some(e) = venue_error(&w) {
        return Err(e);
    }
    let Some(list) = w.balances else {
        return Err(ParseError::malformed(KIND, "no balances", body));
    };
    let top: Vec<&str> = list.iter().map(|b| b.coin.as_ref()).collect();
    // Convert everything first: one malformed amount refuses the page rather than half of it.
    let mut out = Vec::with_capacity(list.len());
    for b in &list {
        rows(b, &top, body, &mut out)?;
    }
    emit_rows(out, None, emit);
    Ok(None)
}

/// `GET /api/v2/{coin}/wallet/{walletId}`: the wallet's coin, then each token of its `tokens`
/// map as its own row (own code), the wallet id as `wallet`.
pub fn parse_wallet(
    body: &str,
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    if let Ok(w) = serde_json::from_str::<wire::WalletBalances<'_>>(body) {
        if let Some(e) = venue_error(&w) {
            return Err(e);
        }
    }
    let w: wire::CoinBalance<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    let mut out = Vec::new();
    rows(&w, &[w.coin.as_ref()], body, &mut out)?;
    emit_rows(out, w.id.clone(), emit);
    Ok(None)
}

/// `GET /api/v2/wallet/balances/merged` (totals only: available and locked stay None).
pub fn parse_merged(
    body: &str,
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    if let Ok(w) = serde_json::from_str::<wire::WalletBalances<'_>>(body) {
        if let Some(e) = venue_error(&w) {
            return Err(e);
        }
    }
    let m: std::collections::BTreeMap<Cow<'_, str>, wire::MergedBalance<'_>> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    let mut out = Vec::with_capacity(m.len());
    for (coin, b) in &m {
        let Some(total) = b.balance_string.as_deref() else {
            return Err(ParseError::malformed(
                KIND,
                "balance without balanceString",
                body,
            ));
        };
        out.push((coin.clone(), amount(coin, "balanceString", total)?));
    }
    for (coin, total) in out {
        emit(ParsedBalance {
            venue_asset: row_code(coin),
            total,
            ..Default::default()
        });
    }
    Ok(None)
}
