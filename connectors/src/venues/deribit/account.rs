//! Deribit venue margin and positions (margin.md section 1). Pure: no clock, no I/O.
//!
//! # Margin: `private/get_account_summaries` (the balance page) and `user.portfolio.*`
//! Docs <https://docs.deribit.com/api-reference/account-management/private-get_account_summaries>
//! and <https://docs.deribit.com/subscriptions/account/userportfoliocurrency>. Per currency:
//! `balance` (wallet), `equity`, `margin_balance`, `initial_margin`, `maintenance_margin`,
//! `session_upl` (unrealized P&L since the last daily settlement), `estimated_liquidation_ratio`
//! ("multiplying it by a future position's market price returns its estimated liquidation
//! price"; only without portfolio margining), `margin_model` (`segregated_sm`,
//! `segregated_pm`, `cross_sm`, `cross_pm`) and `cross_collateral_enabled`; with cross
//! collateral, the account totals in USD `total_equity_usd`, `total_margin_balance_usd`,
//! `total_initial_margin_usd`, `total_maintenance_margin_usd` (the same in every summary).
//! - Segregated margin (`cross_collateral_enabled` false or absent): each currency is
//!   liquidated on its own, so one record per currency (`per_currency`), in the currency:
//!   wallet balance = `balance`, unrealized P&L = `session_upl`, IM, MM, ratio =
//!   `estimated_liquidation_ratio` (kind [`MarginRatioKind::EstimatedLiquidationRatio`]).
//! - Cross collateral: one record for the account, in `USD`, from the totals (IM, MM); no
//!   wallet balance, P&L or ratio in USD (Deribit gives none). A summary without the totals
//!   adds nothing (its currency figures are not margined on their own).
//! - Equity: Deribit liquidates on the margin balance against the maintenance margin, and
//!   `equity` counts option value at mark; the two differ (the real reply: BTC equity
//!   302.61869214, margin balance 302.62729214). The record's equity is **the smaller of the
//!   two** (of their USD totals with cross collateral): it overstates no collateral.
//! - `as_of`: the REST reply's `usOut`; the push has no time (`None`).
//!
//! # Positions: `private/get_positions?currency=any`
//! Docs <https://docs.deribit.com/api-reference/account-management/private-get_positions>
//! (`currency` any: every currency, so the list is whole: `PositionsEnd { scope: "all" }`).
//! Per row: `instrument_name`, `kind` (`future`, `option`), `direction` (`buy`, `sell`,
//! `zero`), `size` (signed; **USD for inverse futures**, the base coin for linear futures and
//! options), `size_currency` (inverse futures: the base-coin amount at the mark price),
//! `average_price`, `mark_price` (options: in the base coin), `floating_profit_loss` (in the
//! settlement currency: the base coin for inverse contracts and coin options, USDC for
//! `_USDC` contracts: `pnl_currency`), `estimated_liquidation_price` (`null` when none).
//! - size (base units): |`size`| for linear futures and options; |`size_currency`| for
//!   inverse futures (Deribit's own figure; without it |size| / `mark_price`, rounded up to 8
//!   decimals, and no mark fails the page); `contracts` = |`size`|, Deribit's amount (USD for
//!   inverse futures: Deribit states amounts, not contract counts).
//! - A row with `direction` `zero` / `size` 0 (Deribit lists recently closed instruments) is no
//!   open position: skipped, the list closes it by omission.
//! - Deribit states no margin mode per position: `None`. Combos hold no positions of their own
//!   (their legs do); a kind other than future or option fails the page.
//! - Canonical names (records.md): `BTC-PERPETUAL` -> `BTC-USD-PERP`, `BTC_USDC-PERPETUAL` ->
//!   `BTC-USDC-PERP`, `BTC-27DEC24` -> `BTC-USD-20241227`, `BTC-27DEC24-60000-C` ->
//!   `BTC-USD-20241227-60000-C`, `SOL_USDC-5JUL24-150-P` -> `SOL-USDC-20240705-150-P`.

use super::wire::{CurrencySummary, RpcError};
use super::{expiry_yyyymmdd, KIND};
use crate::account::{AccountItem, ParsedMargin, ParsedPosition};
use crate::decimal::{opt_cow, opt_number};
use crate::error::ParseError;
use rust_decimal::{Decimal, RoundingStrategy};
use schemas::{MarginRatioKind, Market, PositionSide, Ts};
use serde::Deserialize;
use std::borrow::Cow;

/// The HTTP path of `private/get_positions`.
pub const POSITIONS_PATH: &str = "/api/v2/private/get_positions";
/// The positions page: every currency.
pub const POSITIONS_PAGE: &str = "/api/v2/private/get_positions?currency=any";
/// Scope of the positions list.
pub const SCOPE: &str = "all";

/// `private/get_positions` over HTTP: `{"jsonrpc":"2.0","id":2236,"result":[{...}],...}`.
#[derive(Debug, Deserialize)]
struct PositionsReply<'a> {
    #[serde(default, borrow)]
    result: Option<Vec<Position<'a>>>,
    #[serde(default, borrow)]
    error: Option<RpcError<'a>>,
    #[serde(rename = "usOut")]
    us_out: Option<i64>,
}

/// One position (docs example, via nautilus): `{"average_price":7440.18,"direction":"buy",
/// "estimated_liquidation_price":null,"floating_profit_loss":0,"instrument_name":"BTC-PERPETUAL",
/// "kind":"future","mark_price":7476.65,"size":50,"size_currency":0.006687487,...}`.
#[derive(Debug, Deserialize)]
struct Position<'a> {
    #[serde(borrow)]
    instrument_name: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    direction: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "opt_number")]
    size: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    size_currency: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    average_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    mark_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    floating_profit_loss: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    estimated_liquidation_price: Option<Decimal>,
}

fn bad(why: impl std::fmt::Display, body: &str) -> ParseError {
    ParseError::malformed(KIND, why, body)
}

fn refused(e: &RpcError<'_>) -> ParseError {
    ParseError::Venue {
        venue: KIND,
        message: format!(
            "code {}: {}",
            e.code.map_or_else(|| "?".to_owned(), |c| c.to_string()),
            e.message.as_deref().unwrap_or("error")
        ),
    }
}

fn smaller(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The margin records of some currency summaries (module doc).
pub fn margins(summaries: &[CurrencySummary<'_>], as_of: Option<Ts>) -> Vec<ParsedMargin> {
    let mut out = Vec::new();
    let mut account_done = false;
    for s in summaries {
        if s.cross_collateral_enabled == Some(true) {
            if account_done || s.total_maintenance_margin_usd.is_none() {
                continue;
            }
            account_done = true;
            out.push(ParsedMargin {
                equity: smaller(s.total_equity_usd, s.total_margin_balance_usd),
                initial_margin: s.total_initial_margin_usd,
                maintenance_margin: s.total_maintenance_margin_usd,
                as_of,
                ..ParsedMargin::new("USD")
            });
            continue;
        }
        let Some(currency) = s.currency.as_deref() else {
            continue;
        };
        out.push(ParsedMargin {
            per_currency: true,
            equity: smaller(s.equity, s.margin_balance),
            wallet_balance: s.balance,
            unrealized_pnl: s.session_upl,
            initial_margin: s.initial_margin,
            maintenance_margin: s.maintenance_margin,
            venue_margin_ratio: s.estimated_liquidation_ratio,
            venue_margin_ratio_kind: if s.estimated_liquidation_ratio.is_some() {
                MarginRatioKind::EstimatedLiquidationRatio
            } else {
                MarginRatioKind::None
            },
            as_of,
            ..ParsedMargin::new(currency)
        });
    }
    out
}

/// `private/get_account_summaries` -> its margin (the balances come from the balance parser).
pub fn parse_summaries_margin(
    body: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    let r: super::wire::AccountSummariesReply<'_> =
        serde_json::from_str(body).map_err(|e| bad(e, body))?;
    if let Some(e) = &r.error {
        return Err(refused(e));
    }
    let Some(summaries) = r.result.and_then(|res| res.summaries) else {
        return Err(bad("reply without result.summaries", body));
    };
    for m in margins(&summaries, r.us_out.map(Ts::from_micros)) {
        emit(AccountItem::Margin(m));
    }
    Ok(())
}

/// `(instrument, market, base, quote)`: the canonical name of a Deribit instrument of `kind`.
fn instrument(
    name: &str,
    kind: &str,
    body: &str,
) -> Result<(String, Market, String, String), ParseError> {
    let wrong = || {
        bad(
            format!("{kind:?} instrument {name:?} is not one Deribit names"),
            body,
        )
    };
    let parts: Vec<&str> = name.split('-').collect();
    let (base, quote) = match parts[0].split_once('_') {
        Some((b, q)) => (b, q),
        None => (parts[0], "USD"),
    };
    let code = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if !code(base) || !code(quote) {
        return Err(wrong());
    }
    let (name, market) = match (kind, &parts[1..]) {
        ("future", ["PERPETUAL"]) => (format!("{base}-{quote}-PERP"), Market::Perpetual),
        ("future", [expiry]) => {
            let e = expiry_yyyymmdd(expiry).ok_or_else(wrong)?;
            (format!("{base}-{quote}-{e}"), Market::Future)
        }
        ("option", [expiry, strike, cp @ ("C" | "P")]) => {
            let e = expiry_yyyymmdd(expiry).ok_or_else(wrong)?;
            let k = strike.replace('d', ".");
            if crate::decimal::parse_decimal(&k).is_none_or(|k| k <= Decimal::ZERO) {
                return Err(wrong());
            }
            (format!("{base}-{quote}-{e}-{k}-{cp}"), Market::Option)
        }
        ("future" | "option", _) => return Err(wrong()),
        (other, _) => {
            return Err(bad(
                format!("positions of kind {other:?} are not read"),
                body,
            ))
        }
    };
    Ok((name, market, base.to_owned(), quote.to_owned()))
}

/// One open position; `None` for a row without one (`zero`, size 0).
fn position(
    p: &Position<'_>,
    as_of: Option<Ts>,
    body: &str,
) -> Result<Option<ParsedPosition>, ParseError> {
    let kind = p.kind.as_deref().unwrap_or("");
    let (name, market, base, quote) = instrument(&p.instrument_name, kind, body)?;
    let size = p
        .size
        .ok_or_else(|| bad(format!("{}: no size", p.instrument_name), body))?;
    let side = match (p.direction.as_deref(), size.is_sign_negative()) {
        (_, _) if size.is_zero() => return Ok(None),
        (Some("zero"), _) => return Ok(None),
        (Some("buy"), false) => PositionSide::Long,
        (Some("sell"), true) => PositionSide::Short,
        (d, _) => {
            return Err(bad(
                format!("{}: direction {d:?} with size {size}", p.instrument_name),
                body,
            ))
        }
    };
    let linear = quote != "USD";
    let base_size = if market == Market::Option || linear {
        size.abs()
    } else {
        match (p.size_currency, p.mark_price) {
            (Some(c), _) => c.abs(),
            (None, Some(m)) if m > Decimal::ZERO => {
                (size.abs() / m).round_dp_with_strategy(8, RoundingStrategy::AwayFromZero)
            }
            _ => {
                return Err(bad(
                    format!(
                        "{}: inverse without size_currency or mark",
                        p.instrument_name
                    ),
                    body,
                ))
            }
        }
    };
    Ok(Some(ParsedPosition {
        venue_symbol: p.instrument_name.to_string(),
        instrument: name,
        market,
        hedge_side: None,
        side,
        size: base_size,
        contracts: size.abs(),
        entry_price: p.average_price,
        mark_price: p.mark_price,
        unrealized_pnl: p.floating_profit_loss,
        pnl_currency: Some(if linear { quote } else { base }),
        liquidation_price: p.estimated_liquidation_price,
        margin_mode: None,
        as_of,
        scope: Some(Cow::Borrowed(SCOPE)),
    }))
}

/// `private/get_positions?currency=any` -> every open position, then the end of the list.
pub fn parse_positions(
    body: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    let r: PositionsReply<'_> = serde_json::from_str(body).map_err(|e| bad(e, body))?;
    if let Some(e) = &r.error {
        return Err(refused(e));
    }
    let Some(rows) = r.result else {
        return Err(bad("reply without result", body));
    };
    let as_of = r.us_out.map(Ts::from_micros);
    // Every row is read before any is emitted: a list is taken whole or not at all.
    let mut out = Vec::with_capacity(rows.len());
    for p in &rows {
        if let Some(p) = position(p, as_of, body)? {
            out.push(p);
        }
    }
    for p in out {
        emit(AccountItem::Position(p));
    }
    emit(AccountItem::PositionsEnd {
        scope: Cow::Borrowed(SCOPE),
    });
    Ok(())
}

/// One private-stream frame -> the margin of a `user.portfolio.*` notification (the same
/// mapping as the REST summaries, no time); anything else reports nothing.
pub fn parse_portfolio_margin(
    frame: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    let f: super::wire::PrivateFrame<'_> =
        serde_json::from_str(frame).map_err(|e| bad(e, frame))?;
    let Some(p) = f.params else { return Ok(()) };
    if f.method.as_deref() != Some("subscription")
        || !p
            .channel
            .as_deref()
            .is_some_and(|c| c.starts_with("user.portfolio."))
    {
        return Ok(());
    }
    let Some(data) = p.data else { return Ok(()) };
    let s: super::wire::Portfolio<'_> =
        serde_json::from_str(data.get()).map_err(|e| bad(e, frame))?;
    for m in margins(std::slice::from_ref(&s), None) {
        emit(AccountItem::Margin(m));
    }
    Ok(())
}
