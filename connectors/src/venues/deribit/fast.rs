//! The `ticker.*` notification without serde's derived struct machinery: a perpetual's ticker
//! has ~22 keys (and a nested `stats` object), eight of them read. The frame is walked once with
//! [`crate::venues::scan::Scan`] into the same [`Frame`] serde builds (strings borrowed, numbers
//! through the same `parse_decimal` on their text, as `decimal::opt_number` does); anything
//! else (another method or channel, a reply, `data` before `channel`, an escape, a duplicate
//! key, a number given as a string, a decimal `parse_decimal` refuses, ...) is `None` and
//! `parse` takes the serde path, so results and errors are the same
//! (`connectors/tests/it/fast/deribit.rs`).

use super::wire::{is_ticker_channel, Frame, Params, Stats, Ticker};
use crate::venues::scan::{Scan, DEPTH};
use std::borrow::Cow;

/// The ticker notification of `frame` as serde would read it, or `None` (serde's path then).
pub fn ticker(frame: &str) -> Option<Frame<'_>> {
    let mut sc = Scan::new(frame);
    let (mut method, mut params) = (None, None);
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        match key {
            b"method" if method.is_none() => method = Some(sc.str()?),
            b"params" if params.is_none() => params = Some(ticker_params(&mut sc)?),
            // Replies, errors and duplicates: serde's.
            b"method" | b"params" | b"id" | b"result" | b"error" => return None,
            _ => sc.skip(DEPTH)?,
        }
        k = sc.next_key()?;
    }
    sc.end()?;
    (method? == "subscription").then_some(())?;
    Some(Frame {
        method: method.map(Cow::Borrowed),
        params,
        id: None,
        result: None,
        error: None,
    })
}

/// `params` of a ticker notification: `channel` (a ticker channel) before `data`.
fn ticker_params<'a>(sc: &mut Scan<'a>) -> Option<Params<'a>> {
    let (mut channel, mut ticker) = (None, None);
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        match key {
            b"channel" if channel.is_none() => {
                let c = sc.str()?;
                is_ticker_channel(c).then_some(())?;
                channel = Some(c);
            }
            b"data" if ticker.is_none() && channel.is_some() => ticker = Some(data(sc)?),
            b"channel" | b"data" | b"type" => return None,
            _ => sc.skip(DEPTH)?,
        }
        k = sc.next_key()?;
    }
    Some(Params {
        channel: channel.map(Cow::Borrowed),
        kind: None,
        ticker: Some(ticker?),
    })
}

/// The ticker's `data`: the fields of [`Ticker`], every other key checked and skipped.
fn data<'a>(sc: &mut Scan<'a>) -> Option<Ticker<'a>> {
    let mut t = Ticker {
        instrument_name: None,
        timestamp: None,
        best_bid_price: None,
        best_bid_amount: None,
        best_ask_price: None,
        best_ask_amount: None,
        last_price: None,
        mark_price: None,
        index_price: None,
        stats: None,
    };
    let mut seen = 0u16;
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        let (slot, bit) = match key {
            b"best_bid_price" => (&mut t.best_bid_price, 1),
            b"best_bid_amount" => (&mut t.best_bid_amount, 2),
            b"best_ask_price" => (&mut t.best_ask_price, 4),
            b"best_ask_amount" => (&mut t.best_ask_amount, 8),
            b"last_price" => (&mut t.last_price, 16),
            b"mark_price" => (&mut t.mark_price, 32),
            b"index_price" => (&mut t.index_price, 64),
            b"instrument_name" | b"timestamp" | b"stats" => {
                let bit = match key {
                    b"instrument_name" => 128,
                    b"timestamp" => 256,
                    _ => 512,
                };
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                match key {
                    b"instrument_name" => t.instrument_name = Some(Cow::Borrowed(sc.str()?)),
                    b"timestamp" => t.timestamp = Some(sc.int()?),
                    _ => t.stats = stats(sc)?,
                }
                k = sc.next_key()?;
                continue;
            }
            _ => {
                sc.skip(DEPTH)?;
                k = sc.next_key()?;
                continue;
            }
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        *slot = sc.decimal_number()?;
        k = sc.next_key()?;
    }
    Some(t)
}

/// `stats`: `null` or an object of which `volume` is read.
fn stats(sc: &mut Scan<'_>) -> Option<Option<Stats>> {
    if sc.null() {
        return Some(None);
    }
    let mut volume = None;
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        match key {
            b"volume" if volume.is_none() => volume = Some(sc.decimal_number()?),
            b"volume" => return None,
            _ => sc.skip(DEPTH)?,
        }
        k = sc.next_key()?;
    }
    Some(Some(Stats {
        volume: volume.flatten(),
    }))
}
