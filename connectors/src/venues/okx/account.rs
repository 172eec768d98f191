//! OKX venue margin and positions (margin.md section 1). Pure: no clock, no I/O.
//!
//! # Margin: `GET /api/v5/account/balance` and the private `account` channel
//! Docs "Get balance" (<https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-balance>):
//! the account fields `totalEq` ("total account assets in USD"), `adjEq` ("adjusted equity in
//! USD: totalEq minus haircut discounts ... the operative value used in the margin ratio"),
//! `imr`, `mmr` (initial and maintenance margin requirements in USD: "when adjEq <= mmr
//! (equivalently, mgnRatio <= 1.0), the system begins forced liquidation"), `mgnRatio`
//! ("account-level margin ratio = adjEq / mmr") and `upl` (USD). They are filled in spot,
//! multi-currency and portfolio margin modes and `""` in futures mode, where each currency is
//! margined on its own with the currency's `eq`, `imr`, `mmr` and `mgnRatio` ("cross maintenance
//! margin ratio of currency") in `details[]`. Hence, from the balance response itself:
//! - account `mmr` or `adjEq` given: one record in `USD` for the whole account: equity = `adjEq`,
//!   never `totalEq` (which counts collateral before OKX's haircuts and would overstate what
//!   stands against the maintenance margin; when `adjEq` is `""` the equity is unknown, `None`),
//!   unrealized P&L = `upl`, IM = `imr`, MM = `mmr`, ratio = `mgnRatio`; no wallet balance (OKX
//!   gives none in USD);
//! - otherwise (futures mode): one record per currency (`per_currency`): equity = `eq`, wallet
//!   balance = `cashBal`, unrealized P&L = `upl`, IM/MM/ratio = the currency's `imr`, `mmr`,
//!   `mgnRatio` (in the currency).
//!
//! `mgnRatio` is kept as OKX states it, kind [`MarginRatioKind::EquityOverMm`]: a plain ratio,
//! not a percent (the docs' definition adjEq / mmr and liquidation "at or below 1.0"; the UI
//! shows it x100, "100 %"; the docs' position example has `"mgnRatio": "9.404143929947395"`).
//! `""` means no margin in use: `None`, never 0. `as_of` is `uTime`.
//!
//! # Positions: `GET /api/v5/account/positions` and the private `positions` channel
//! Docs "Get positions" (<https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-positions>)
//! and "Positions channel" (`#trading-account-websocket-positions-channel`): every open
//! position in one response (no paging), so the list ends with `PositionsEnd { scope: "all" }`.
//! Per row: `instType` SWAP / FUTURES / OPTION / MARGIN, `instId`, `pos` ("number of contracts
//! for SWAP/FUTURES/OPTIONS; base currency amount for MARGIN"; signed in `net` mode, positive
//! with `posSide` `long`/`short` in hedge mode, which sets `hedge_side`), `avgPx`, `markPx`,
//! `upl` (in `ccy`, the margin and settlement currency: `pnl_currency`), `liqPx`, `mgnMode`
//! (`cross`/`isolated`), `uTime`.
//!
//! Contracts are not base units, and the positions response does not carry the contract value
//! (`ctVal`, `ctMult`, `ctValCcy` come from `GET /api/v5/public/instruments`). A pure parser
//! cannot join two responses, so the contract values are a table here ([`contract_value`]),
//! from OKX's real instruments responses (nautilus_trader's recordings; OKX docs: "ctVal=0.01
//! BTC for BTC-USDT-SWAP", "ctVal=100 USD for BTC-USD-SWAP"). **An instrument whose contract
//! value is not in the table fails the page** (`ParseError`, naming it): a size is never
//! guessed, and a list that cannot be stated whole is not published as whole (a position left
//! out would look closed and hide its risk). Add the instrument's `ctVal` x `ctMult` to the
//! table to lift it.
//! - linear and option contracts (`ctValCcy` the base): size = |pos| x contract value, exact;
//! - inverse contracts (`ctValCcy` USD, `BTC-USD-SWAP`): the base amount moves with the price:
//!   size = |pos| x face value / `markPx`, rounded **up** to 8 decimals (never understating the
//!   exposure); without `markPx` the page fails;
//! - MARGIN (spot on borrowed funds): `pos` is already in `posCcy`; `posCcy` = base is a long of
//!   `pos`; `posCcy` = quote is a short whose base size is the base owed, |`liab`| with
//!   `liabCcy` = base (else the page fails).
//!
//! A row with `pos` `0` (OKX keeps one for an isolated position funded by a manual transfer,
//! and for 30 days after a full close) is no open position: skipped in a full list, which
//! closes it by omission. In a push it is published as `FLAT` (the close), unless the same push
//! holds an open row for the same instrument and side (a dormant isolated row beside an open
//! cross one must not close it).
//!
//! Canonical instruments (records.md): `BTC-USDT-SWAP` -> `BTC-USDT-PERP`, `BTC-USD-250926` ->
//! `BTC-USD-20250926`, `BTC-USD-241217-92000-C` -> `BTC-USD-20241217-92000-C`, MARGIN `BTC-USDT`
//! -> `BTC-USDT`.

use super::wire::AccountBalance;
use super::{inst_id, KIND};
use crate::account::{side_of, AccountItem, ParsedMargin, ParsedPosition};
use crate::decimal::{opt_cow, opt_str};
use crate::error::ParseError;
use rust_decimal::{Decimal, RoundingStrategy};
use schemas::{MarginRatioKind, Market, PositionSide, Ts};
use serde::Deserialize;
use std::borrow::Cow;

/// The positions page of the REST poll.
pub const POSITIONS_PATH: &str = "/api/v5/account/positions";
/// The balance page, whose response also carries the account's margin.
pub const BALANCE_PATH: &str = "/api/v5/account/balance";
/// Scope of the positions list: every instrument type.
pub const SCOPE: &str = "all";

/// What one contract is: `(value, inverse)`, `value` in the base for linear contracts and
/// options (ctVal x ctMult), in USD for inverse ones. From OKX's `public/instruments` responses
/// (nautilus_trader `crates/adapters/okx/test_data/http_get_instruments_{swap,futures,option}.json`,
/// commit a95c8042): BTC-USDT-SWAP ctVal 0.01 BTC, ETH-USDT-SWAP 0.1 ETH, BTC-USD-SWAP and every
/// BTC-USD dated future 100 USD (inverse), BTC-USD options ctVal 1 x ctMult 0.01 BTC.
pub fn contract_value(inst_type: &str, inst_id: &str) -> Option<(Decimal, bool)> {
    let family = inst_id.split('-').take(2).collect::<Vec<_>>().join("-");
    Some(match (inst_type, inst_id, family.as_str()) {
        ("SWAP", "BTC-USDT-SWAP", _) => (Decimal::new(1, 2), false),
        ("SWAP", "ETH-USDT-SWAP", _) => (Decimal::new(1, 1), false),
        ("SWAP", "BTC-USD-SWAP", _) => (Decimal::from(100), true),
        ("FUTURES", _, "BTC-USD") => (Decimal::from(100), true),
        ("OPTION", _, "BTC-USD") => (Decimal::new(1, 2), false),
        _ => return None,
    })
}

/// `GET /api/v5/account/positions`: `{"code":"0","data":[{...}],"msg":""}`.
#[derive(Debug, Deserialize)]
struct PositionsResponse<'a> {
    #[serde(borrow)]
    code: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Vec<Position<'a>>,
}

/// One position row (fields not read here are skipped). Docs example (MARGIN):
/// `{"avgPx":"62961.4","ccy":"BTC","instId":"BTC-USDT","instType":"MARGIN","liab":"-99.9998177776581948","liabCcy":"USDT","liqPx":"53615.448336593756","markPx":"62891.9","mgnMode":"isolated","pos":"0.00190433573","posCcy":"BTC","posSide":"net","uTime":"1724742632153","upl":"-0.0000033452492717",...}`
#[derive(Debug, Deserialize)]
pub struct Position<'a> {
    #[serde(rename = "instType", borrow)]
    pub inst_type: Cow<'a, str>,
    #[serde(rename = "instId", borrow)]
    pub inst_id: Cow<'a, str>,
    #[serde(default, deserialize_with = "opt_str")]
    pub pos: Option<Decimal>,
    #[serde(rename = "posSide", default, borrow, deserialize_with = "opt_cow")]
    pub pos_side: Option<Cow<'a, str>>,
    #[serde(rename = "posCcy", default, borrow, deserialize_with = "opt_cow")]
    pub pos_ccy: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub ccy: Option<Cow<'a, str>>,
    #[serde(rename = "mgnMode", default, borrow, deserialize_with = "opt_cow")]
    pub mgn_mode: Option<Cow<'a, str>>,
    #[serde(rename = "avgPx", default, deserialize_with = "opt_str")]
    pub avg_px: Option<Decimal>,
    #[serde(rename = "markPx", default, deserialize_with = "opt_str")]
    pub mark_px: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub upl: Option<Decimal>,
    #[serde(rename = "liqPx", default, deserialize_with = "opt_str")]
    pub liq_px: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    pub liab: Option<Decimal>,
    #[serde(rename = "liabCcy", default, borrow, deserialize_with = "opt_cow")]
    pub liab_ccy: Option<Cow<'a, str>>,
    #[serde(rename = "uTime", default, borrow, deserialize_with = "opt_cow")]
    pub u_time: Option<Cow<'a, str>>,
}

fn bad(why: impl std::fmt::Display, body: &str) -> ParseError {
    ParseError::malformed(KIND, why, body)
}

fn millis(t: &Option<Cow<'_, str>>, body: &str) -> Result<Option<Ts>, ParseError> {
    match t.as_deref() {
        None | Some("") => Ok(None),
        Some(ms) => ms
            .parse::<i64>()
            .map(|ms| Some(Ts::from_millis(ms)))
            .map_err(|_| bad("uTime is not milliseconds", body)),
    }
}

/// The margin records of the accounts of a balance response or `account` push (module doc).
pub fn margins(
    accounts: &[AccountBalance<'_>],
    body: &str,
) -> Result<Vec<ParsedMargin>, ParseError> {
    let mut out = Vec::new();
    for a in accounts {
        let account_time = millis(&a.u_time, body)?;
        if a.mmr.is_some() || a.adj_eq.is_some() {
            out.push(ParsedMargin {
                equity: a.adj_eq,
                unrealized_pnl: a.upl,
                initial_margin: a.imr,
                maintenance_margin: a.mmr,
                venue_margin_ratio: a.mgn_ratio,
                venue_margin_ratio_kind: MarginRatioKind::EquityOverMm,
                as_of: account_time,
                ..ParsedMargin::new("USD")
            });
            continue;
        }
        for d in &a.details {
            out.push(ParsedMargin {
                per_currency: true,
                equity: d.eq,
                wallet_balance: d.cash_bal,
                unrealized_pnl: d.upl,
                initial_margin: d.imr,
                maintenance_margin: d.mmr,
                venue_margin_ratio: d.mgn_ratio,
                venue_margin_ratio_kind: MarginRatioKind::EquityOverMm,
                as_of: millis(&d.u_time, body)?.or(account_time),
                ..ParsedMargin::new(d.ccy.as_ref())
            });
        }
    }
    Ok(out)
}

/// The balance response's margin (called after its balances parsed, so the code is `0`).
pub fn parse_balance_margin(
    body: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    let r: super::wire::BalanceResponse<'_> =
        serde_json::from_str(body).map_err(|e| bad(e, body))?;
    if r.code != "0" {
        return Err(venue_error(&r.code, r.msg.as_deref()));
    }
    for m in margins(&r.data, body)? {
        emit(AccountItem::Margin(m));
    }
    Ok(())
}

fn venue_error(code: &str, msg: Option<&str>) -> ParseError {
    ParseError::Venue {
        venue: KIND,
        message: format!("code {code}: {}", msg.unwrap_or("")),
    }
}

/// `GET /api/v5/account/positions` -> every open position, then the end of the list.
pub fn parse_positions(
    body: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    let r: PositionsResponse<'_> = serde_json::from_str(body).map_err(|e| bad(e, body))?;
    if r.code != "0" {
        return Err(venue_error(&r.code, r.msg.as_deref()));
    }
    // Every row is read before any is emitted: a list is taken whole or not at all.
    let mut out = Vec::with_capacity(r.data.len());
    for p in &r.data {
        if let Some(p) = position(p, Some(SCOPE), body)? {
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

/// The rows of a `positions` push: updates (`scope` `None`), a `pos` of 0 a close.
pub fn pushed_positions(
    rows: &[Position<'_>],
    frame: &str,
) -> Result<Vec<ParsedPosition>, ParseError> {
    let mut out = Vec::with_capacity(rows.len());
    for p in rows {
        match position(p, None, frame)? {
            Some(p) => out.push(p),
            None => out.push(flat(p, frame)?),
        }
    }
    // A closed row beside an open one of the same key is a dormant leftover, not a close.
    let open: Vec<(String, Option<PositionSide>)> = out
        .iter()
        .filter(|p| p.side != PositionSide::Flat)
        .map(|p| (p.instrument.clone(), p.hedge_side))
        .collect();
    out.retain(|p| {
        p.side != PositionSide::Flat || !open.contains(&(p.instrument.clone(), p.hedge_side))
    });
    Ok(out)
}

/// `(instrument, market, base, quote)` of a row, checked against its `instType`.
fn instrument(
    inst_type: &str,
    id: &str,
    body: &str,
) -> Result<(String, Market, String, String), ParseError> {
    let wrong = || {
        bad(
            format!("instType {inst_type:?} does not match instId {id:?}"),
            body,
        )
    };
    if inst_type == "OPTION" {
        // BTC-USD-241217-92000-C
        let parts: Vec<&str> = id.split('-').collect();
        let [base, quote, date, strike, cp] = parts[..] else {
            return Err(wrong());
        };
        let ok = inst_id(&format!("{base}-{quote}-{date}"))
            .is_ok_and(|i| i.market == Market::Future)
            && crate::decimal::parse_decimal(strike).is_some_and(|k| k > Decimal::ZERO)
            && matches!(cp, "C" | "P");
        if !ok {
            return Err(wrong());
        }
        return Ok((
            format!("{base}-{quote}-20{date}-{strike}-{cp}"),
            Market::Option,
            base.to_owned(),
            quote.to_owned(),
        ));
    }
    let i = inst_id(id).map_err(|_| wrong())?;
    let expected = match inst_type {
        "SWAP" => Market::Perpetual,
        "FUTURES" => Market::Future,
        "MARGIN" => Market::Spot,
        other => return Err(bad(format!("unknown instType {other:?}"), body)),
    };
    if i.market != expected {
        return Err(wrong());
    }
    let name = match (i.market, i.expiry()) {
        (Market::Perpetual, _) => format!("{}-{}-PERP", i.base, i.quote),
        (Market::Future, Some(e)) => format!("{}-{}-{e}", i.base, i.quote),
        _ => format!("{}-{}", i.base, i.quote),
    };
    Ok((name, i.market, i.base.to_owned(), i.quote.to_owned()))
}

fn hedge_side(p: &Position<'_>, body: &str) -> Result<Option<PositionSide>, ParseError> {
    match p.pos_side.as_deref() {
        None | Some("") | Some("net") => Ok(None),
        Some("long") => Ok(Some(PositionSide::Long)),
        Some("short") => Ok(Some(PositionSide::Short)),
        Some(other) => Err(bad(format!("unknown posSide {other:?}"), body)),
    }
}

/// One open position; `None` for a row with no position (`pos` 0 or `""`).
fn position(
    p: &Position<'_>,
    scope: Option<&'static str>,
    body: &str,
) -> Result<Option<ParsedPosition>, ParseError> {
    let (name, market, base, quote) = instrument(&p.inst_type, &p.inst_id, body)?;
    let hedge = hedge_side(p, body)?;
    let pos = match p.pos {
        Some(pos) if !pos.is_zero() => pos,
        _ => return Ok(None),
    };
    let side = hedge.unwrap_or_else(|| side_of(pos));
    let contracts = pos.abs();
    let (size, side) = if market == Market::Spot {
        match p.pos_ccy.as_deref() {
            Some(c) if c == base => (contracts, PositionSide::Long),
            Some(c) if c == quote => match (p.liab, p.liab_ccy.as_deref()) {
                (Some(l), Some(lc)) if lc == base => (l.abs(), PositionSide::Short),
                _ => {
                    return Err(bad(
                        format!("{}: short without a base liability", p.inst_id),
                        body,
                    ))
                }
            },
            other => return Err(bad(format!("{}: posCcy {other:?}", p.inst_id), body)),
        }
    } else {
        let Some((value, inverse)) = contract_value(&p.inst_type, &p.inst_id) else {
            return Err(bad(
                format!(
                    "contract value of {} unknown: add it to okx::account::contract_value",
                    p.inst_id
                ),
                body,
            ));
        };
        let size = if inverse {
            match p.mark_px {
                Some(m) if m > Decimal::ZERO => (contracts * value / m)
                    .round_dp_with_strategy(8, RoundingStrategy::AwayFromZero),
                _ => return Err(bad(format!("{}: inverse without markPx", p.inst_id), body)),
            }
        } else {
            contracts * value
        };
        (size, side)
    };
    let contracts = if market == Market::Spot {
        size
    } else {
        contracts
    };
    Ok(Some(ParsedPosition {
        venue_symbol: p.inst_id.to_string(),
        instrument: name,
        market,
        hedge_side: hedge,
        side,
        size: size.normalize(),
        contracts,
        entry_price: p.avg_px,
        mark_price: p.mark_px,
        unrealized_pnl: p.upl,
        pnl_currency: p
            .ccy
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        liquidation_price: p.liq_px,
        margin_mode: p
            .mgn_mode
            .as_deref()
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        as_of: millis(&p.u_time, body)?,
        scope: scope.map(Cow::Borrowed),
    }))
}

/// A pushed row with `pos` 0: the position is closed.
fn flat(p: &Position<'_>, body: &str) -> Result<ParsedPosition, ParseError> {
    let (name, market, _, _) = instrument(&p.inst_type, &p.inst_id, body)?;
    Ok(ParsedPosition {
        venue_symbol: p.inst_id.to_string(),
        instrument: name,
        market,
        hedge_side: hedge_side(p, body)?,
        side: PositionSide::Flat,
        size: Decimal::ZERO,
        contracts: Decimal::ZERO,
        entry_price: p.avg_px,
        mark_price: p.mark_px,
        unrealized_pnl: p.upl,
        pnl_currency: p
            .ccy
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        liquidation_price: p.liq_px,
        margin_mode: p
            .mgn_mode
            .as_deref()
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        as_of: millis(&p.u_time, body)?,
        scope: None,
    })
}

/// One frame of the private socket -> margin (`account` channel) and positions (`positions`
/// channel); everything else reports nothing (the balance parser classifies frames).
pub fn parse_stream_account(
    frame: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    if !frame.starts_with('{') || !frame.contains("\"data\"") {
        return Ok(()); // `pong`, events
    }
    let f: super::wire::Frame<'_> = serde_json::from_str(frame).map_err(|e| bad(e, frame))?;
    let (Some(arg), Some(data)) = (f.arg, f.data) else {
        return Ok(());
    };
    match arg.channel.as_deref() {
        Some("account") => {
            let accounts: Vec<AccountBalance<'_>> =
                serde_json::from_str(data.get()).map_err(|e| bad(e, frame))?;
            for m in margins(&accounts, frame)? {
                emit(AccountItem::Margin(m));
            }
        }
        Some("positions") => {
            let rows: Vec<Position<'_>> =
                serde_json::from_str(data.get()).map_err(|e| bad(e, frame))?;
            for p in pushed_positions(&rows, frame)? {
                emit(AccountItem::Position(p));
            }
        }
        _ => {}
    }
    Ok(())
}
