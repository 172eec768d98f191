//! Binance frames -> quotes. Pure: no clock, no I/O.

use super::wire::{Event, Frame};
use super::KIND;
use crate::decimal::loose_field;
use crate::error::ParseError;
use crate::traits::{FrameKind, ParsedQuote};

pub fn parse(frame: &str, emit: &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError> {
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
    emit: &mut dyn FnMut(crate::polling::ParsedBalance<'_>),
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
        emit(crate::polling::ParsedBalance {
            venue_asset: b.asset,
            total: free + locked,
            available: Some(free),
            locked: Some(locked),
            as_of,
            ..Default::default()
        });
    }
    Ok(None)
}
