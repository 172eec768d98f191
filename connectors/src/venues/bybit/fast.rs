//! The ticker push (`tickers.*`, snapshot or delta, spot or linear) without serde's derived
//! struct machinery: a linear ticker has ~27 keys in `data`, nine of them read. The frame is
//! walked once with [`crate::venues::scan::Scan`] into the same [`Frame`] serde builds (strings
//! borrowed, decimals through the same `parse_decimal`); anything else (another topic, an op
//! reply, a book, an escape, a duplicate key, a `null`, a decimal `parse_decimal` refuses, ...)
//! is `None` and `parse` takes the serde path, so results and errors are the same
//! (`connectors/tests/it/fast/bybit.rs`).

use super::wire::{Data, Frame};
use crate::venues::scan::{Scan, DEPTH};
use std::borrow::Cow;

/// The ticker push of `frame` as serde would read it, or `None` (the caller takes serde's path).
pub fn ticker(frame: &str) -> Option<Frame<'_>> {
    let mut sc = Scan::new(frame);
    let mut f = Frame {
        topic: None,
        kind: None,
        ts: None,
        cs: None,
        data: None,
        success: None,
        ret_msg: None,
        op: None,
    };
    let mut seen = 0u8;
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        let bit = match key {
            b"topic" => {
                f.topic = Some(Cow::Borrowed(sc.str()?));
                1
            }
            b"type" => {
                f.kind = Some(Cow::Borrowed(sc.str()?));
                2
            }
            b"ts" => {
                f.ts = Some(sc.int()?);
                4
            }
            b"cs" => {
                f.cs = Some(sc.uint()?);
                8
            }
            b"data" => {
                f.data = Some(data(&mut sc)?);
                16
            }
            // Replies: serde's.
            b"success" | b"ret_msg" | b"op" => return None,
            _ => {
                sc.skip(DEPTH)?;
                0
            }
        };
        if seen & bit != 0 {
            return None; // serde: "duplicate field"
        }
        seen |= bit;
        k = sc.next_key()?;
    }
    sc.end()?;
    let ticker = f.topic.as_deref()?.starts_with("tickers.")
        && matches!(f.kind.as_deref(), Some("snapshot" | "delta"))
        && f.data.as_ref()?.symbol.is_some();
    ticker.then_some(f)
}

/// A ticker's `data` object: the fields of [`Data`] a ticker has; a book's or a command
/// reply's fields decline.
fn data<'a>(sc: &mut Scan<'a>) -> Option<Data<'a>> {
    let mut d = Data::default();
    let mut seen = 0u16;
    let mut k = sc.first_key()?;
    while let Some(key) = k {
        let (slot, bit) = match key {
            b"symbol" => {
                if d.symbol.is_some() {
                    return None;
                }
                d.symbol = Some(Cow::Borrowed(sc.str()?));
                k = sc.next_key()?;
                continue;
            }
            b"bid1Price" => (&mut d.bid1_price, 1),
            b"bid1Size" => (&mut d.bid1_size, 2),
            b"ask1Price" => (&mut d.ask1_price, 4),
            b"ask1Size" => (&mut d.ask1_size, 8),
            b"lastPrice" => (&mut d.last_price, 16),
            b"markPrice" => (&mut d.mark_price, 32),
            b"indexPrice" => (&mut d.index_price, 64),
            b"volume24h" => (&mut d.volume_24h, 128),
            b"s" | b"b" | b"a" | b"u" | b"seq" | b"failTopics" => return None,
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
        *slot = sc.decimal_string()?;
        k = sc.next_key()?;
    }
    Some(d)
}
