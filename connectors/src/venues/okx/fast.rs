//! The `tickers` push without serde's derived struct machinery and without the second pass
//! over `data` (serde keeps it raw until `arg.channel` is known, then reads it again): the frame
//! is walked once with [`crate::venues::scan::Scan`] into the same `arg` and [`Ticker`] serde
//! builds (strings borrowed, decimals through the same `parse_decimal`). Only the shape OKX
//! sends is taken: one ticker in `data`, channel `tickers`; anything else (an event, another
//! channel, several tickers, an escape, a duplicate key, a `null`, a decimal `parse_decimal`
//! refuses, ...) is `None` and `parse` takes the serde path, so results and errors are the same
//! (`connectors/tests/it/fast/okx.rs`).

use super::wire::Ticker;
use crate::venues::scan::{Scan, DEPTH};
use std::borrow::Cow;

/// The subscription's `instId` (if given) and the one ticker of a `tickers` push, as serde
/// would read them, or `None` (the caller takes serde's path).
pub fn ticker(frame: &str) -> Option<(Option<&str>, Ticker<'_>)> {
    let mut sc = Scan::new(frame);
    let (mut arg, mut data) = (None, None);
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        match key {
            b"arg" if arg.is_none() => arg = Some(subscription(&mut sc)?),
            b"data" if data.is_none() => {
                sc.eat(b'[')?;
                data = Some(one_ticker(&mut sc)?);
                sc.eat(b']')?;
            }
            // Events, errors and duplicates: serde's.
            b"arg" | b"data" | b"event" | b"code" | b"msg" => return None,
            _ => sc.skip(DEPTH)?,
        }
        k = sc.next_key()?;
    }
    sc.end()?;
    let (channel, inst_id) = arg?;
    (channel? == "tickers").then_some(())?;
    Some((inst_id, data?))
}

/// `arg`: `channel` and `instId`.
fn subscription<'a>(sc: &mut Scan<'a>) -> Option<(Option<&'a str>, Option<&'a str>)> {
    let (mut channel, mut inst_id) = (None, None);
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        match key {
            b"channel" if channel.is_none() => channel = Some(sc.str()?),
            b"instId" if inst_id.is_none() => inst_id = Some(sc.str()?),
            b"channel" | b"instId" => return None,
            _ => sc.skip(DEPTH)?,
        }
        k = sc.next_key()?;
    }
    Some((channel, inst_id))
}

/// One ticker object: the fields of [`Ticker`], every other key checked and skipped.
fn one_ticker<'a>(sc: &mut Scan<'a>) -> Option<Ticker<'a>> {
    let mut t = Ticker {
        inst_type: None,
        inst_id: None,
        last: None,
        ask_px: None,
        ask_sz: None,
        bid_px: None,
        bid_sz: None,
        vol_ccy_24h: None,
        vol_24h: None,
        ts: None,
    };
    let mut seen = 0u16;
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        let (slot, bit) = match key {
            b"last" => (&mut t.last, 1),
            b"askPx" => (&mut t.ask_px, 2),
            b"askSz" => (&mut t.ask_sz, 4),
            b"bidPx" => (&mut t.bid_px, 8),
            b"bidSz" => (&mut t.bid_sz, 16),
            b"volCcy24h" => (&mut t.vol_ccy_24h, 32),
            b"vol24h" => (&mut t.vol_24h, 64),
            b"instType" | b"instId" | b"ts" => {
                let (text, bit) = match key {
                    b"instType" => (&mut t.inst_type, 128),
                    b"instId" => (&mut t.inst_id, 256),
                    _ => (&mut t.ts, 512),
                };
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                *text = Some(Cow::Borrowed(sc.str()?));
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
            return None; // serde: "duplicate field"
        }
        seen |= bit;
        *slot = sc.decimal_string()?;
        k = sc.next_key()?;
    }
    Some(t)
}
