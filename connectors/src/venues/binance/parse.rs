//! Binance frames -> quotes, account bodies and user-data frames -> balances. Pure: no clock,
//! no I/O.
//!
//! # Balances (`GET /api/v3/account` and the user data stream's `outboundAccountPosition`)
//!
//! Per asset of `balances[]` (`{"asset","free","locked"}`; in the stream `{"a","f","l"}`):
//! - `available` = `free`, `locked` = `locked` (held by open orders), `total` = their sum, so
//!   the split is exact by construction (Binance spot gives the two parts, no total);
//! - `as_of` = `updateTime` (REST) / `u` ("time of last account update", the stream; falling
//!   back to the event time `E`): the account's last change. A dormant account's
//!   `updateTime` can be days old and is still its balance now: freshness is the confirmation
//!   time `received_at` (the response / the frame), which the transport sets; nothing here
//!   ages or drops a row by `updateTime`;
//! - asset codes pass through unmapped (the asset master maps them); zero balances are
//!   emitted as zero.

use super::wire::{Event, Frame};
use super::KIND;
use crate::decimal::loose_field;
use crate::error::ParseError;
use crate::traits::{FrameKind, ParsedQuote};

pub fn parse(frame: &str, emit: &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError> {
    if let Some(q) = super::fast::quote(frame) {
        emit(q);
        return Ok(FrameKind::Data);
    }
    parse_scanned(frame, emit)
}

/// [`parse`] without the minified-layout [`super::fast::quote`]: the whitespace-tolerant
/// bookTicker scanner, then serde. Public for the equivalence tests.
pub fn parse_scanned(
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    match super::fast::book_ticker(frame) {
        Some(ev) => event(ev, frame, emit),
        None => parse_serde(frame, emit),
    }
}

/// [`parse`] without the bookTicker fast path: serde_json for every frame. Public for the
/// equivalence tests and benches.
pub fn parse_serde(
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    let f: Frame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if let Some(code) = f.code {
        let msg = f.msg.as_deref().unwrap_or("");
        return Ok(FrameKind::VenueError(format!("code {code}: {msg}")));
    }
    if f.error.is_some() {
        return Ok(FrameKind::VenueError(crate::error::excerpt(frame)));
    }
    if f.result.is_some() || (f.id.is_some() && f.stream.is_none()) {
        return Ok(FrameKind::Control);
    }
    let Some(ev) = f.into_event() else {
        return Err(ParseError::Unknown {
            venue: KIND,
            payload: crate::error::excerpt(frame),
        });
    };
    event(ev, frame, emit)
}

/// One market event (of either path) -> a quote, a control frame or an error.
fn event(
    ev: Event<'_>,
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    if ev.e.as_deref() == Some("serverShutdown") {
        return Ok(FrameKind::Reconnect);
    }
    let Some(symbol) = ev.s else {
        return Err(ParseError::Unknown {
            venue: KIND,
            payload: crate::error::excerpt(frame),
        });
    };
    // Spot bookTicker has no `e`; the 24 h ticker also carries the best bid/ask. Any other
    // stream type on the same connection (trade, aggTrade, depth, kline) is not a quote.
    let quote_event = matches!(ev.e.as_deref(), None | Some("24hrTicker"));
    if !quote_event || (ev.b.is_none() && ev.a.is_none()) {
        return Ok(FrameKind::Control);
    }
    emit(ParsedQuote {
        symbol,
        bid: loose_field(KIND, "b", ev.b)?,
        ask: loose_field(KIND, "a", ev.a)?,
        bid_size: loose_field(KIND, "B", ev.bid_qty)?,
        ask_size: loose_field(KIND, "A", ev.ask_qty)?,
        sequence: ev.u,
        // Spot bookTicker has no event time: staleness falls back to received_at.
        exchange_ts: ev.event_time.map(schemas::Ts::from_millis),
        ..Default::default()
    });
    Ok(FrameKind::Data)
}

/// `GET /api/v3/account` -> balances (`free` available, `locked` locked, total their sum).
pub fn parse_account(
    body: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let a: super::wire::Account<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if let Some(code) = a.code {
        return Err(ParseError::Venue {
            venue: KIND,
            message: format!("code {code}: {}", a.msg.as_deref().unwrap_or("")),
        });
    }
    let as_of = a.update_time.map(schemas::Ts::from_millis);
    for b in a.balances {
        let (Some(free), Some(locked)) = (b.free, b.locked) else {
            return Err(ParseError::malformed(
                KIND,
                "balance without free/locked",
                body,
            ));
        };
        emit(spot_balance(b.asset, free, locked, as_of));
    }
    Ok(None)
}

/// The mapping of one spot asset, shared by the REST account and the user data stream so both
/// give the same balance for the same numbers: `free` is available, `locked` locked, the total
/// their sum.
fn spot_balance(
    asset: std::borrow::Cow<'_, str>,
    free: rust_decimal::Decimal,
    locked: rust_decimal::Decimal,
    as_of: Option<schemas::Ts>,
) -> crate::transport::rest::ParsedBalance<'_> {
    crate::transport::rest::ParsedBalance {
        venue_asset: asset,
        total: free + locked,
        available: Some(free),
        locked: Some(locked),
        as_of,
        ..Default::default()
    }
}

/// One frame of the user data stream on the WebSocket API -> balances
/// (see [`super::stream::BinanceUserStream`]).
///
/// - a reply with `status` 200 (the subscription's ack) is `Control`; any other status is a
///   `VenueError` with Binance's code and message (`code -1022: Signature for this request is
///   not valid.`);
/// - `outboundAccountPosition` gives the absolute `f`ree and `l`ocked amount of each asset that
///   changed: mapped exactly as `GET /api/v3/account`, `as_of` = `u` (the account's last update,
///   as REST's `updateTime`), falling back to the event time `E`;
/// - `balanceUpdate` (a deposit, withdrawal or transfer) and `externalLockUpdate` carry a delta,
///   not a balance: `Control`, nothing emitted. Binance follows a balance change with an
///   `outboundAccountPosition` carrying the new amount, and the REST poll reconciles anything
///   missed; applying deltas to a remembered total would need ordering this stream does not
///   give (events have no sequence number) and could count a change twice;
/// - `eventStreamTerminated` (the subscription ended) and `serverShutdown` are `Reconnect`:
///   a new connection subscribes again;
/// - other events (`executionReport`, `listStatus`, ...) are `Control`.
pub fn parse_user_stream(
    frame: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<FrameKind, ParseError> {
    let f: super::wire::ApiFrame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if let Some(event) = f.event {
        let kind: super::wire::EventType<'_> =
            serde_json::from_str(event.get()).map_err(|e| ParseError::malformed(KIND, e, frame))?;
        return match kind.e.as_deref() {
            Some("outboundAccountPosition") => {
                let p: super::wire::AccountPosition<'_> = serde_json::from_str(event.get())
                    .map_err(|e| ParseError::malformed(KIND, e, frame))?;
                let as_of = p.u.or(p.event_time).map(schemas::Ts::from_millis);
                // Checked whole before the first emit: a bad asset must not leave the update
                // half published.
                let mut out = Vec::with_capacity(p.balances.len());
                for b in p.balances {
                    let (Some(free), Some(locked)) = (b.f, b.l) else {
                        return Err(ParseError::malformed(KIND, "balance without f/l", frame));
                    };
                    out.push(spot_balance(b.a, free, locked, as_of));
                }
                for b in out {
                    emit(b);
                }
                Ok(FrameKind::Data)
            }
            Some("eventStreamTerminated" | "serverShutdown") => Ok(FrameKind::Reconnect),
            Some(_) => Ok(FrameKind::Control),
            None => Err(ParseError::malformed(KIND, "event without e", frame)),
        };
    }
    match (f.status, f.error) {
        (_, Some(e)) => Ok(FrameKind::VenueError(format!(
            "code {}: {}",
            e.code.map_or_else(|| "?".to_owned(), |c| c.to_string()),
            e.msg.as_deref().unwrap_or("")
        ))),
        (Some(200), None) if f.result.is_some() || f.id.is_some() => Ok(FrameKind::Control),
        (Some(status), None) => Ok(FrameKind::VenueError(format!(
            "status {status}: {}",
            crate::error::excerpt(frame)
        ))),
        (None, None) => Err(ParseError::Unknown {
            venue: KIND,
            payload: crate::error::excerpt(frame),
        }),
    }
}
