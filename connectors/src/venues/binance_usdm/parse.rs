//! Binance USDⓈ-M frames -> quotes, the balance body -> balances. Pure: no clock, no I/O.
//!
//! # Balances (`GET /fapi/v3/balance`)
//!
//! Per asset (docs "Futures Account Balance V3"; the docs' annotated example names `balance` the
//! total wallet balance, `availableBalance` the balance available for orders and
//! `maxWithdrawAmount` the most that can be transferred out):
//! - `total` = `balance`;
//! - `available` = the smaller of `availableBalance` and `maxWithdrawAmount` (what can be
//!   used or moved now; order and position initial margin are not in it), clamped to
//!   `[0, balance]`; `locked` = `balance − available`: open-order and position margin,
//!   isolated wallets and anything else Binance holds back (see [`super::super::split_held`]).
//!   The real docs payload has `balance` 122607.35137903 and `availableBalance` 23.72469206,
//!   so 122583.62668697 is held. Unrealised profit can make `availableBalance` exceed
//!   `balance`; the clamp keeps available within what the wallet holds;
//! - `as_of` = `updateTime`, the asset's last change (can be days old for an idle wallet).
//!   Freshness is the confirmation time `received_at`, set by the transport; nothing here
//!   ages or drops a row;
//! - `unrealized_pnl` = `crossUnPnl`, the unrealized P&L of the asset's cross positions
//!   (the P&L of isolated positions stays in their isolated wallets);
//! - asset codes pass through unmapped.

use super::wire::{Event, Frame};
use super::KIND;
use crate::decimal::str_field;
use crate::error::{excerpt, ParseError};
use crate::traits::{FrameKind, Merge, ParsedQuote};
use schemas::Ts;

fn unknown(frame: &str) -> ParseError {
    ParseError::Unknown {
        venue: KIND,
        payload: excerpt(frame),
    }
}

pub fn parse(frame: &str, emit: &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError> {
    let f: Frame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if let Some(code) = f.code {
        let msg = f.msg.as_deref().unwrap_or("");
        return Ok(FrameKind::VenueError(format!("code {code}: {msg}")));
    }
    if f.error.is_some() {
        return Ok(FrameKind::VenueError(excerpt(frame)));
    }
    if f.result.is_some() || (f.id.is_some() && f.stream.is_none()) {
        return Ok(FrameKind::Control);
    }
    // Futures events always name their type (unlike spot bookTicker), so an event without `e`
    // is not something this connection carries.
    let Some(ev) = f.into_event() else {
        return Err(unknown(frame));
    };
    match ev.e.as_deref() {
        Some("bookTicker") => book_ticker(ev, frame, emit),
        Some("markPriceUpdate") => mark_price(ev, frame, emit),
        Some(_) => Ok(FrameKind::Control), // aggTrade, depthUpdate, kline, 24hrTicker, ...
        None => Err(unknown(frame)),
    }
}

fn book_ticker(
    ev: Event<'_>,
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    let Some(symbol) = ev.s else {
        return Err(ParseError::malformed(KIND, "bookTicker without s", frame));
    };
    if ev.b.is_none() && ev.a.is_none() {
        return Err(ParseError::malformed(KIND, "bookTicker without b/a", frame));
    }
    emit(ParsedQuote {
        symbol,
        bid: str_field(KIND, "b", ev.b)?,
        ask: str_field(KIND, "a", ev.a)?,
        bid_size: str_field(KIND, "B", ev.bid_qty)?,
        ask_size: str_field(KIND, "A", ev.ask_qty)?,
        // `u` numbers the order book; markPrice has its own clock, so only book quotes carry it.
        sequence: ev.u,
        // `E` (event time) rather than `T` (transaction time): both streams have `E`, and a
        // merged quote's time should be comparable whichever stream came last.
        exchange_ts: ev.event_time.map(Ts::from_millis),
        // A patch too: every book frame has both sides, so nothing stale survives, and the
        // last mark/index from the other stream is carried forward instead of dropping out
        // until the next markPrice.
        merge: Merge::Patch,
        ..Default::default()
    });
    Ok(FrameKind::Data)
}

fn mark_price(
    ev: Event<'_>,
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    let Some(symbol) = ev.s else {
        return Err(ParseError::malformed(
            KIND,
            "markPriceUpdate without s",
            frame,
        ));
    };
    let mark = str_field(KIND, "p", ev.p)?;
    let index = str_field(KIND, "i", ev.i)?;
    if mark.is_none() && index.is_none() {
        return Err(ParseError::malformed(
            KIND,
            "markPriceUpdate without p/i",
            frame,
        ));
    }
    // Mark and index only: the framework lays them over the last bookTicker quote of the symbol
    // (bid/ask stay the book's), or publishes them alone before the first one.
    emit(ParsedQuote {
        symbol,
        mark,
        index,
        exchange_ts: ev.event_time.map(Ts::from_millis),
        merge: Merge::Patch,
        ..Default::default()
    });
    Ok(FrameKind::Data)
}

/// `GET /fapi/v3/balance` -> balances (mapping in the module doc).
pub fn parse_balance(
    body: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    // Success is an array, an error an object: the first byte says which.
    if body.trim_start().starts_with('{') {
        let e: super::wire::ErrorBody<'_> =
            serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
        return Err(ParseError::Venue {
            venue: KIND,
            message: format!("code {}: {}", e.code, e.msg.as_deref().unwrap_or("")),
        });
    }
    let list: Vec<super::wire::FuturesBalance<'_>> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    // Checked before emitting so that a bad entry does not leave half an account published.
    if list.iter().any(|b| b.balance.is_none()) {
        return Err(ParseError::malformed(
            KIND,
            "balance without `balance`",
            body,
        ));
    }
    for b in list {
        let total = b.balance.unwrap_or_default();
        let free = match (b.available_balance, b.max_withdraw_amount) {
            (Some(a), Some(w)) => Some(a.min(w)),
            (a, w) => a.or(w),
        };
        let (available, locked) = super::super::split_held(total, free, None);
        emit(crate::transport::rest::ParsedBalance {
            venue_asset: b.asset,
            total,
            available,
            locked,
            as_of: b.update_time.map(Ts::from_millis),
            unrealized_pnl: b.cross_un_pnl,
            ..Default::default()
        });
    }
    Ok(None)
}
