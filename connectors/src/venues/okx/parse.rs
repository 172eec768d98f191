//! OKX v5 frames -> quotes and balances. Pure: no clock, no I/O.
//!
//! # Balances (`GET /api/v5/account/balance` and the private `account` channel, same mapping)
//!
//! Per currency of `data[].details[]` (docs "Get balance": `cashBal` "cash balance", `availBal`
//! "available balance of currency", `frozenBal` "frozen balance of currency", `uTime` "update
//! time of currency balance information"):
//! - `total` = `cashBal`;
//! - `available` = `availBal`, clamped to `[0, cashBal]`; `locked` = `cashBal − available`
//!   (open-order and margin holds, whatever OKX freezes), so `total = available + locked`
//!   exactly even when OKX's parts carry binary-float noise (`0.6612664522199999`) or do not
//!   add up. `frozenBal` is not subtracted when `availBal` is given: it can count isolated-margin
//!   equity that `cashBal` does not hold (the real payload in the fixtures has
//!   `cashBal` = `availBal` = 94.43 with `frozenBal` = `isoEq` = 5.47, and `eq` = their sum);
//!   only without `availBal` is `available = cashBal − frozenBal` (clamped). See
//!   [`super::super::split_held`];
//! - `as_of` = the currency's `uTime` (else the account's `uTime`): OKX's time of the
//!   balance's last change. A dormant account's `uTime` can be days old; that is still its
//!   balance now. Freshness is the confirmation time `received_at` (the poll's response or the
//!   push), which the transport sets; nothing here drops or ages a row by `uTime`;
//! - `unrealized_pnl` = `upl`, "the sum of the unrealized profit & loss of all margin and
//!   derivatives positions of currency", beside `cashBal`, which does not include it (`eq` does);
//! - `""` is OKX's "not applicable": `None`, never 0. Codes are passed through unmapped.

use super::wire::{Frame, Ticker};
use super::{inst_id, KIND};
use crate::error::{excerpt, ParseError};
use crate::traits::{FrameKind, ParsedQuote};
use schemas::{Market, Ts};

/// OKX's notice that it will soon close the connection for a service upgrade (the docs'
/// WebSocket overview, "Notification"; remembered from the docs, which could not be re-read
/// here, and used the same way by other OKX clients): reconnecting at once beats waiting for
/// the close.
const NOTICE_SERVICE_UPGRADE: &str = "64008";

pub fn parse(frame: &str, emit: &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError> {
    match super::fast::ticker(frame) {
        Some((inst_id, t)) => tickers(inst_id, [t], frame, emit),
        None => parse_serde(frame, emit),
    }
}

/// [`parse`] without the ticker fast path: serde_json for every frame. Public for the
/// equivalence tests and benches.
pub fn parse_serde(
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    // The answer to our text `ping` is the bare text `pong`, the only frame that is not JSON.
    if frame == "pong" {
        return Ok(FrameKind::Control);
    }
    let f: Frame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if let Some(event) = f.event.as_deref() {
        let code = f.code.map(|c| {
            let c = c.get();
            c.strip_prefix('"')
                .and_then(|c| c.strip_suffix('"'))
                .unwrap_or(c)
        });
        return Ok(match event {
            "error" => FrameKind::VenueError(format!(
                "{}: {}",
                code.unwrap_or("?"),
                f.msg.as_deref().unwrap_or("error")
            )),
            "notice" if code == Some(NOTICE_SERVICE_UPGRADE) => FrameKind::Reconnect,
            // subscribe / unsubscribe acks, other notices, connection counts.
            _ => FrameKind::Control,
        });
    }
    let (Some(arg), Some(data)) = (f.arg, f.data) else {
        return Err(ParseError::Unknown {
            venue: KIND,
            payload: excerpt(frame),
        });
    };
    if arg.channel.as_deref() != Some("tickers") {
        return Ok(FrameKind::Control); // books, trades, candles...: not quotes
    }
    let list: Vec<Ticker<'_>> =
        serde_json::from_str(data.get()).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    tickers(arg.inst_id.as_deref(), list, frame, emit)
}

/// The tickers of a `tickers` push (of either path) -> quotes.
fn tickers<'a, L>(
    subscribed: Option<&str>,
    list: L,
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError>
where
    L: AsRef<[Ticker<'a>]> + IntoIterator<Item = Ticker<'a>>,
{
    // Every ticker is checked before any is emitted: a frame is taken whole or not at all.
    for t in list.as_ref() {
        read(t, subscribed, frame)?;
    }
    let mut n = 0;
    for t in list {
        let Some((market, exchange_ts)) = read(&t, subscribed, frame)? else {
            continue;
        };
        let Some(symbol) = t.inst_id else { continue };
        // Base-asset volume, so it compares across venues and markets: derivatives count
        // `vol24h` in contracts and give the base amount in `volCcy24h`.
        let volume_24h = match market {
            Market::Spot => t.vol_24h,
            _ => t.vol_ccy_24h,
        };
        n += 1;
        // Sizes are as the venue gave them: contracts for SWAP and FUTURES. Before an auction
        // opens OKX may show ask below bid; the normalizer's crossed-book check handles that.
        emit(ParsedQuote {
            symbol,
            bid: t.bid_px,
            ask: t.ask_px,
            bid_size: t.bid_sz,
            ask_size: t.ask_sz,
            last: t.last,
            volume_24h,
            exchange_ts,
            ..Default::default()
        });
    }
    Ok(if n > 0 {
        FrameKind::Data
    } else {
        FrameKind::Control
    })
}

/// Checks one ticker and reads its market and time; `None` for an option ticker, a market this
/// connector does not carry (and could not have subscribed).
fn read(
    t: &Ticker<'_>,
    subscribed: Option<&str>,
    frame: &str,
) -> Result<Option<(Market, Option<Ts>)>, ParseError> {
    let bad = |why: String| ParseError::malformed(KIND, why, frame);
    let Some(id) = t.inst_id.as_deref() else {
        return Err(bad("ticker without instId".into()));
    };
    if subscribed.is_some_and(|s| s != id) {
        return Err(bad(format!(
            "ticker for {id} on the {subscribed:?} subscription"
        )));
    }
    let expected = match t.inst_type.as_deref() {
        Some("SPOT") => Market::Spot,
        Some("SWAP") => Market::Perpetual,
        Some("FUTURES") => Market::Future,
        Some("OPTION") => return Ok(None),
        other => return Err(bad(format!("unknown instType {other:?}"))),
    };
    // The market comes from the instId at config time; a ticker whose instType says otherwise
    // would be priced as the wrong instrument.
    match inst_id(id) {
        Ok(i) if i.market == expected => {}
        _ => {
            return Err(bad(format!(
                "instType {:?} does not match instId {id:?}",
                t.inst_type.as_deref().unwrap_or("")
            )))
        }
    }
    let ts = match t.ts.as_deref() {
        None | Some("") => None,
        Some(ms) => Some(millis(ms).ok_or_else(|| bad(format!("bad ts {ms:?}")))?),
    };
    Ok(Some((expected, ts)))
}

/// Unix milliseconds written as digits only (no sign, no exponent), within `Ts`'s range.
fn millis(ms: &str) -> Option<Ts> {
    if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = ms.parse().ok()?;
    Some(Ts::from_micros(ms.checked_mul(1000)?))
}

/// `GET /api/v5/account/balance` -> balances (see [`super::OkxBalances`] for the mapping).
pub fn parse_balance(
    body: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let r: super::wire::BalanceResponse<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if r.code != "0" {
        return Err(ParseError::Venue {
            venue: KIND,
            message: format!("code {}: {}", r.code, r.msg.as_deref().unwrap_or("")),
        });
    }
    for b in account_balances(r.data, body)? {
        emit(b);
    }
    Ok(None)
}

/// The per-currency mapping shared by `GET /api/v5/account/balance` and the private `account`
/// channel, so both give the same balances for the same account (see [`super::OkxBalances`]).
/// Everything is checked before anything is returned: a bad currency must not leave the
/// account half published.
fn account_balances<'a>(
    accounts: Vec<super::wire::AccountBalance<'a>>,
    frame: &str,
) -> Result<Vec<crate::transport::rest::ParsedBalance<'a>>, ParseError> {
    let millis = |t: &Option<std::borrow::Cow<'_, str>>| -> Result<Option<Ts>, ParseError> {
        match t.as_deref() {
            None | Some("") => Ok(None),
            Some(t) => t
                .parse::<i64>()
                .map(|ms| Some(Ts::from_millis(ms)))
                .map_err(|_| ParseError::malformed(KIND, "uTime is not milliseconds", frame)),
        }
    };
    let mut out = Vec::new();
    for account in accounts {
        let account_time = millis(&account.u_time)?;
        for d in account.details {
            let Some(total) = d.cash_bal else {
                return Err(ParseError::malformed(
                    KIND,
                    "currency without cashBal",
                    frame,
                ));
            };
            // `availBal` is OKX's own free figure; `frozenBal` is only a fallback, because it
            // may count isolated-margin equity that `cashBal` does not hold (see the module doc).
            let held = if d.avail_bal.is_some() {
                None
            } else {
                d.frozen_bal
            };
            let (available, locked) = super::super::split_held(total, d.avail_bal, held);
            out.push(crate::transport::rest::ParsedBalance {
                venue_asset: d.ccy,
                total,
                available,
                locked,
                as_of: millis(&d.u_time)?.or(account_time),
                unrealized_pnl: d.upl,
                ..Default::default()
            });
        }
    }
    Ok(out)
}

/// One frame of the private socket (`wss://ws.okx.com:8443/ws/v5/private`) -> balances of the
/// `account` channel, mapped exactly as the REST balance (see
/// [`super::stream::OkxAccountStream`]). The login ack (`event:"login"`, `code:"0"`) and the
/// subscribe ack are `Control`, the text `pong` is `Heartbeat`; `event:"error"` (or a login
/// with a non-zero code) is a `VenueError` with OKX's code and message (`60009: Login
/// failed.`); the upgrade notice `64008` is `Reconnect`.
pub fn parse_account_stream(
    frame: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<FrameKind, ParseError> {
    if frame == "pong" {
        return Ok(FrameKind::Heartbeat);
    }
    let f: Frame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if let Some(event) = f.event.as_deref() {
        let code = f.code.map(|c| {
            let c = c.get();
            c.strip_prefix('"')
                .and_then(|c| c.strip_suffix('"'))
                .unwrap_or(c)
        });
        let refusal = || {
            FrameKind::VenueError(format!(
                "{}: {}",
                code.unwrap_or("?"),
                f.msg
                    .as_deref()
                    .filter(|m| !m.is_empty())
                    .unwrap_or("error")
            ))
        };
        return Ok(match event {
            "error" => refusal(),
            "login" if code.is_some_and(|c| c != "0") => refusal(),
            "notice" if code == Some(NOTICE_SERVICE_UPGRADE) => FrameKind::Reconnect,
            // login and subscribe acks, connection counts, other notices.
            _ => FrameKind::Control,
        });
    }
    let (Some(arg), Some(data)) = (f.arg, f.data) else {
        return Err(ParseError::Unknown {
            venue: KIND,
            payload: excerpt(frame),
        });
    };
    if arg.channel.as_deref() != Some("account") {
        return Ok(FrameKind::Control); // a channel we did not ask for
    }
    let accounts: Vec<super::wire::AccountBalance<'_>> =
        serde_json::from_str(data.get()).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    for b in account_balances(accounts, frame)? {
        emit(b);
    }
    Ok(FrameKind::Data)
}
