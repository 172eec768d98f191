//! Bybit unified trading account: margin and positions (margin.md section 1). Pure: no clock,
//! no I/O.
//!
//! # Margin (from `GET /v5/account/wallet-balance` itself, and the private `wallet` push)
//!
//! Docs "Get Wallet Balance" (<https://bybit-exchange.github.io/docs/v5/account/wallet-balance>):
//! the account object of `result.list[]` carries the account-level figures, **in USD**:
//! - `equity` = the smaller of `totalEquity` ("total net asset value of the account") and
//!   `totalMarginBalance` ("total margin balance": wallet balance valued with the collateral
//!   haircuts plus perpetual and futures P&L). Bybit liquidates when `accountMMRate` =
//!   `totalMaintenanceMargin / totalMarginBalance` reaches 100 %, so the margin balance is the
//!   equity that meets the maintenance margin; the smaller figure overstates no collateral;
//! - `wallet_balance` = `totalWalletBalance`, `unrealized_pnl` = `totalPerpUPL` ("unrealised
//!   P&L of perpetuals and futures"), `initial_margin` = `totalInitialMargin`,
//!   `maintenance_margin` = `totalMaintenanceMargin`;
//! - `venue_margin_ratio` = `accountMMRate` as Bybit states it, kind
//!   [`MarginRatioKind::MmOverEquity`] (liquidation at 1, healthy near 0);
//! - `as_of` = the response's `time` / the push's `creationTime`;
//! - `""` (portfolio margin and classic accounts leave fields empty) is unknown, never 0; an
//!   account with neither an equity nor a maintenance margin gives no margin.
//!
//! # Positions (`GET /v5/position/list`, and the private `position` push)
//!
//! Docs "Get Position Info" (<https://bybit-exchange.github.io/docs/v5/position>) and the
//! `position` topic (<https://bybit-exchange.github.io/docs/v5/websocket/private/position>).
//! Two account pages, [`LINEAR_PAGE`] (USDT contracts: `settleCoin` is required for linear)
//! and [`INVERSE_PAGE`], share a path; the body's `result.category` tells them apart and is the
//! scope of the list, ended by [`AccountItem::PositionsEnd`]. `limit=200` is Bybit's largest
//! page; a response with a non-empty `nextPageCursor` is not the whole list, so its positions
//! are emitted **without** the end marker (nothing is closed on a partial list). USDC
//! contracts (`settleCoin=USDC`) are not polled: they would be a second `linear` list that the
//! body cannot tell from the first.
//! Per row:
//! - `side` `Buy` long, `Sell` short, `""` / `None` no position; `size` is always positive; a
//!   listed row of size 0 is not a position, a pushed one closes it (side `FLAT`);
//! - `positionIdx` 0 one-way (`hedge_side` none), 1 the buy side and 2 the sell side of hedge
//!   mode; `tradeMode` 1 `isolated`, else `cross` (Bybit: "deprecated, always 0" for unified
//!   accounts, whose margin mode is account-wide);
//! - entry = `avgPrice` (REST) or `entryPrice` (the push; `avgPrice` when that is what it has);
//!   `markPrice`, `unrealisedPnl`; `liqPrice` `""` (or `"0"`) is none; `as_of` = `updatedTime`;
//! - **contract sizes.** Linear (`BTCUSDT`, `BTCPERP`, `BTCUSDT-26DEC25`): `size` is in the base
//!   coin, one contract = one unit, `size` = `contracts`; the P&L is in the settle coin (USDT, or
//!   USDC for `...PERP` and `BASE-DDMMMYY`). Inverse (`BTCUSD`, `BTCUSDH25`): `size` counts
//!   contracts of **1 USD** each, settled and P&L'd in the base coin. A USD contract has no fixed
//!   size in the base coin (contracts / price), so `contracts` = `size` (USD) and the base
//!   `size` is Bybit's own `positionValue`, the position's value in the base coin at the
//!   average entry price (the docs' example: 300 contracts at 27464.50441675 ->
//!   `positionValue` 0.01092319 BTC), exact as Bybit writes it and never a quotient of ours.
//!   Without a `positionValue` (a closing push) the base size is `contracts / markPrice`
//!   rounded **up** at 8 decimals (the larger exposure). Inverse futures (`BTCUSDH25`: month
//!   code and year) expire on the last Friday of the month, their canonical date.

use super::wire::WalletAccount;
use crate::account::{AccountItem, ParsedMargin, ParsedPosition};
use crate::decimal::{opt_cow, opt_number, opt_str};
use crate::error::ParseError;
use crate::traits::SymbolSpec;
use chrono::Datelike;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use schemas::{MarginRatioKind, Market, PositionSide, Ts};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

const KIND: &str = super::BALANCES;

/// The path of both position pages.
pub const POSITIONS_PATH: &str = "/v5/position/list";
/// USDT perpetuals and futures.
pub const LINEAR_PAGE: &str = "/v5/position/list?category=linear&settleCoin=USDT&limit=200";
/// Inverse perpetuals and futures.
pub const INVERSE_PAGE: &str = "/v5/position/list?category=inverse&limit=200";
/// The account pages, in the order polled (the margin comes with the balance page).
pub const PAGES: &[&str] = &[LINEAR_PAGE, INVERSE_PAGE];

/// `{"retCode":0,"retMsg":"OK","result":{...},"time":...}` with the result kept raw until the
/// path says what it is.
#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "retCode")]
    ret_code: i64,
    #[serde(rename = "retMsg", default, borrow, deserialize_with = "opt_cow")]
    ret_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    time: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct WalletList<'a> {
    #[serde(default, borrow)]
    list: Vec<WalletAccount<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PositionList<'a> {
    #[serde(default, borrow)]
    list: Vec<Row<'a>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    category: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    next_page_cursor: Option<Cow<'a, str>>,
}

/// One position, REST or push.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    category: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    side: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "opt_str")]
    size: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    avg_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    entry_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    mark_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    position_value: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    unrealised_pnl: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    liq_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    trade_mode: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    position_idx: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_number")]
    updated_time: Option<Decimal>,
}

/// A private-stream push, its `data` kept raw until the topic says what it is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Push<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    topic: Option<Cow<'a, str>>,
    creation_time: Option<i64>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// Pure: the margin (wallet-balance page) or the positions (position pages) in the response
/// to `path`.
pub fn parse_account(
    path: &str,
    body: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    if path != "/v5/account/wallet-balance" && path != POSITIONS_PATH {
        return Ok(());
    }
    let env: Envelope<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if env.ret_code != 0 {
        return Err(ParseError::Venue {
            venue: KIND,
            message: format!(
                "retCode {}: {}",
                env.ret_code,
                super::parse::redact_origin(env.ret_msg.as_deref().unwrap_or(""))
            ),
        });
    }
    let Some(result) = env.result else {
        return Err(ParseError::malformed(
            KIND,
            "retCode 0 without result",
            body,
        ));
    };
    let as_of = env.time.map(Ts::from_millis);
    if path == POSITIONS_PATH {
        let l: PositionList<'_> =
            serde_json::from_str(result.get()).map_err(|e| ParseError::malformed(KIND, e, body))?;
        let Some(scope) = l.category.as_deref().filter(|c| is_category(c)) else {
            return Err(ParseError::malformed(
                KIND,
                "position list without category",
                body,
            ));
        };
        let scope: Cow<'static, str> = Cow::Owned(scope.to_owned());
        let mut out = Vec::with_capacity(l.list.len());
        for r in l.list {
            if r.size.is_some_and(|s| s.is_zero()) {
                continue;
            }
            out.push(position(
                r,
                Some(scope.as_ref()),
                Some(scope.clone()),
                body,
            )?);
        }
        for p in out {
            emit(AccountItem::Position(p));
        }
        if l.next_page_cursor.as_deref().unwrap_or("").is_empty() {
            emit(AccountItem::PositionsEnd { scope });
        }
        return Ok(());
    }
    let w: WalletList<'_> =
        serde_json::from_str(result.get()).map_err(|e| ParseError::malformed(KIND, e, body))?;
    for a in &w.list {
        if let Some(m) = margin(a, as_of) {
            emit(AccountItem::Margin(m));
        }
    }
    Ok(())
}

/// Pure: the margin of a `wallet` push and the positions of a `position` push (a single
/// update each, `scope` none; size 0 closes the position). Other frames report nothing.
pub fn parse_stream_account(
    frame: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    let p: Push<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    let (Some(topic), Some(data)) = (p.topic.as_deref(), p.data) else {
        return Ok(());
    };
    let as_of = p.creation_time.map(Ts::from_millis);
    match topic.split('.').next() {
        Some("position") => {
            let rows: Vec<Row<'_>> = serde_json::from_str(data.get())
                .map_err(|e| ParseError::malformed(KIND, e, frame))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mut pos = position(r, None, None, frame)?;
                pos.as_of = pos.as_of.or(as_of);
                out.push(pos);
            }
            for pos in out {
                emit(AccountItem::Position(pos));
            }
        }
        Some("wallet") => {
            let accounts: Vec<WalletAccount<'_>> = serde_json::from_str(data.get())
                .map_err(|e| ParseError::malformed(KIND, e, frame))?;
            for a in &accounts {
                if let Some(m) = margin(a, as_of) {
                    emit(AccountItem::Margin(m));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The account-level figures of one account object (module doc).
fn margin(a: &WalletAccount<'_>, as_of: Option<Ts>) -> Option<ParsedMargin> {
    let equity = match (a.total_equity, a.total_margin_balance) {
        (Some(e), Some(m)) => Some(e.min(m)),
        (e, m) => e.or(m),
    };
    if equity.is_none() && a.total_maintenance_margin.is_none() {
        return None;
    }
    let mut m = ParsedMargin::new("USD");
    m.equity = equity;
    m.wallet_balance = a.total_wallet_balance;
    m.unrealized_pnl = a.total_perp_upl;
    m.initial_margin = a.total_initial_margin;
    m.maintenance_margin = a.total_maintenance_margin;
    m.venue_margin_ratio = a.account_mm_rate;
    m.venue_margin_ratio_kind = MarginRatioKind::MmOverEquity;
    m.as_of = as_of;
    Some(m)
}

fn is_category(c: &str) -> bool {
    matches!(c, "linear" | "inverse" | "option")
}

/// Whether an inverse symbol (`BTCUSD`, `BTCUSDH25`) rather than a linear one.
fn looks_inverse(symbol: &str) -> bool {
    inverse_instrument(symbol).is_some()
}

fn position(
    r: Row<'_>,
    category: Option<&str>,
    scope: Option<Cow<'static, str>>,
    frame: &str,
) -> Result<ParsedPosition, ParseError> {
    let bad = |why: &str| ParseError::malformed(KIND, why, frame);
    let size = r.size.ok_or_else(|| bad("position without size"))?;
    let inverse = match category.or(r.category.as_deref()) {
        Some("inverse") => true,
        Some("linear") => false,
        Some(_) => return Err(bad("not a linear or inverse position")),
        None => looks_inverse(&r.symbol),
    };
    let side = match r.side.as_deref() {
        _ if size.is_zero() => PositionSide::Flat,
        Some("Buy") => PositionSide::Long,
        Some("Sell") => PositionSide::Short,
        _ => return Err(bad("open position without side")),
    };
    let hedge_side = match r.position_idx.and_then(|d| d.to_i64()) {
        Some(1) => Some(PositionSide::Long),
        Some(2) => Some(PositionSide::Short),
        Some(0) | None => None,
        Some(_) => return Err(bad("unknown positionIdx")),
    };
    let (instrument, market, pnl_currency, base_size) = if inverse {
        let (instrument, market, base) =
            inverse_instrument(&r.symbol).ok_or_else(|| bad("unknown inverse symbol"))?;
        let base_size = match (r.position_value, r.mark_price) {
            _ if size.is_zero() => Decimal::ZERO,
            (Some(v), _) if !v.is_zero() => v.abs(),
            (_, Some(mark)) if !mark.is_zero() => {
                (size / mark).round_dp_with_strategy(8, RoundingStrategy::AwayFromZero)
            }
            _ => return Err(bad("inverse position without positionValue or markPrice")),
        };
        (instrument, market, base, base_size)
    } else {
        let (instrument, market, quote) =
            linear_instrument(&r.symbol).ok_or_else(|| bad("unknown linear symbol"))?;
        (instrument, market, quote, size)
    };
    Ok(ParsedPosition {
        venue_symbol: r.symbol.into_owned(),
        instrument,
        market,
        hedge_side,
        side,
        size: base_size,
        contracts: size,
        entry_price: r.entry_price.or(r.avg_price),
        mark_price: r.mark_price,
        unrealized_pnl: r.unrealised_pnl,
        pnl_currency: Some(pnl_currency),
        liquidation_price: r.liq_price.filter(|p| !p.is_zero()),
        margin_mode: Some(
            if r.trade_mode.is_some_and(|m| m == Decimal::ONE) {
                "isolated"
            } else {
                "cross"
            }
            .to_owned(),
        ),
        as_of: r
            .updated_time
            .and_then(|t| t.to_i64())
            .filter(|t| *t > 0)
            .map(Ts::from_millis),
        scope,
    })
}

/// A linear symbol -> (canonical instrument, market, settle coin).
pub fn linear_instrument(symbol: &str) -> Option<(String, Market, String)> {
    let (base, quote, market, expiry) = match super::split_linear(symbol) {
        SymbolSpec::Split {
            base,
            quote,
            market,
            expiry,
        } => (base.to_owned(), quote, market, expiry),
        SymbolSpec::Joined {
            symbol,
            market,
            expiry,
        } => {
            let base = symbol.strip_suffix("USDT").filter(|b| !b.is_empty())?;
            (base.to_owned(), "USDT", market, expiry)
        }
        SymbolSpec::Invalid(_) => return None,
    };
    let instrument = match (&market, expiry) {
        (Market::Future, Some(d)) => format!("{base}-{quote}-{d}"),
        (Market::Perpetual, None) => format!("{base}-{quote}-PERP"),
        _ => return None,
    };
    Some((instrument, market, quote.to_owned()))
}

/// Futures month codes, January first.
const MONTH_CODES: &[u8; 12] = b"FGHJKMNQUVXZ";

/// An inverse symbol -> (canonical instrument, market, base coin): `BTCUSD` ->
/// `BTC-USD-PERP`; `BTCUSDH25` -> `BTC-USD-20250328` (the last Friday of March 2025).
pub fn inverse_instrument(symbol: &str) -> Option<(String, Market, String)> {
    let upper = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase());
    if let Some(base) = symbol.strip_suffix("USD").filter(|b| upper(b)) {
        return Some((format!("{base}-USD-PERP"), Market::Perpetual, base.into()));
    }
    let (head, year) = symbol.split_at(symbol.len().checked_sub(2)?);
    let (head, code) = head.split_at(head.len().checked_sub(1)?);
    let base = head.strip_suffix("USD").filter(|b| upper(b))?;
    if !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month = MONTH_CODES.iter().position(|m| code.as_bytes() == [*m])? as u32 + 1;
    let date = last_friday(2000 + year.parse::<i32>().ok()?, month)?;
    Some((
        format!("{base}-USD-{}", date.format("%Y%m%d")),
        Market::Future,
        base.into(),
    ))
}

fn last_friday(year: i32, month: u32) -> Option<chrono::NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let mut d = chrono::NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()?;
    while d.weekday() != chrono::Weekday::Fri {
        d = d.pred_opt()?;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_to_instruments() {
        let l = |s| linear_instrument(s).map(|(i, _, q)| (i, q));
        assert_eq!(l("BTCUSDT"), Some(("BTC-USDT-PERP".into(), "USDT".into())));
        assert_eq!(l("BTCPERP"), Some(("BTC-USDC-PERP".into(), "USDC".into())));
        assert_eq!(
            l("BTCUSDT-26DEC25"),
            Some(("BTC-USDT-20251226".into(), "USDT".into()))
        );
        assert_eq!(
            l("BTC-26DEC25"),
            Some(("BTC-USDC-20251226".into(), "USDC".into()))
        );
        assert_eq!(l("BTCUSD"), None);
        let i = |s| inverse_instrument(s).map(|(i, _, b)| (i, b));
        assert_eq!(i("BTCUSD"), Some(("BTC-USD-PERP".into(), "BTC".into())));
        assert_eq!(
            i("ETHUSDH25"),
            Some(("ETH-USD-20250328".into(), "ETH".into()))
        );
        assert_eq!(
            i("BTCUSDZ25"),
            Some(("BTC-USD-20251226".into(), "BTC".into()))
        );
        assert_eq!(i("BTCUSDT"), None);
        assert_eq!(i("BTCUSDA25"), None);
        assert_eq!(i("USD"), None);
    }
}
