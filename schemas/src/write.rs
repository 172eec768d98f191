//! Writing records as JSON: [`Record::write_json`] appends the same bytes as
//! `serde_json::to_writer(record)`, with a direct writer for `price_tick.v1` (the one record
//! per frame, so most of the output).
//!
//! serde_json spends most of a tick scanning every string byte for escapes and formatting each
//! decimal into a temporary string; here the field names are constants, a string is checked
//! once and copied, decimals and times are written straight into the buffer. Anything the
//! direct writer does not cover (a string that needs escaping, a time outside years
//! 1970-9999) makes it give up and the whole record goes through serde_json, so the output is
//! the same either way (proptest in `tests/write.rs`).

use crate::records::{Market, PriceTick};
use crate::time::Ts;
use crate::topics::Record;
use rust_decimal::Decimal;

impl Record {
    /// Appends the record's JSON (no newline), byte for byte what `serde_json::to_writer`
    /// writes for it.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        if let Record::PriceTick(t) = self {
            let start = out.len();
            if write_price_tick(t, out) {
                return;
            }
            out.truncate(start);
        }
        // Serializing these types cannot fail: every map key is a string and no custom
        // serializer returns an error.
        serde_json::to_writer(&mut *out, self).expect("records always serialize");
    }
}

/// The direct writer; `false` (with `out` partly written) when the tick needs serde_json.
fn write_price_tick(t: &PriceTick, out: &mut Vec<u8>) -> bool {
    out.extend_from_slice(br#"{"schema":"price_tick.v1","venue":""#);
    if !plain_str(&t.venue, out) {
        return false;
    }
    out.extend_from_slice(br#"","connector":""#);
    if !plain_str(&t.connector, out) {
        return false;
    }
    out.extend_from_slice(br#"","venue_symbol":""#);
    if !plain_str(&t.venue_symbol, out) {
        return false;
    }
    out.extend_from_slice(br#"","instrument":""#);
    if !plain_str(&t.instrument, out) {
        return false;
    }
    out.extend_from_slice(br#"","base":""#);
    if !plain_str(&t.base, out) {
        return false;
    }
    out.extend_from_slice(br#"","quote":""#);
    if !plain_str(&t.quote, out) {
        return false;
    }
    out.extend_from_slice(br#"","market":""#);
    out.extend_from_slice(market_str(t.market).as_bytes());
    out.extend_from_slice(br#"","bid":"#);
    opt_decimal(t.bid.as_ref(), out);
    out.extend_from_slice(br#","ask":"#);
    opt_decimal(t.ask.as_ref(), out);
    out.extend_from_slice(br#","bid_size":"#);
    opt_decimal(t.bid_size.as_ref(), out);
    out.extend_from_slice(br#","ask_size":"#);
    opt_decimal(t.ask_size.as_ref(), out);
    out.extend_from_slice(br#","last":"#);
    opt_decimal(t.last.as_ref(), out);
    out.extend_from_slice(br#","mark":"#);
    opt_decimal(t.mark.as_ref(), out);
    out.extend_from_slice(br#","index":"#);
    opt_decimal(t.index.as_ref(), out);
    out.extend_from_slice(br#","exchange_ts":"#);
    match t.exchange_ts {
        Some(ts) => {
            if !quoted_ts(ts, out) {
                return false;
            }
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(br#","received_at":"#);
    if !quoted_ts(t.received_at, out) {
        return false;
    }
    out.extend_from_slice(br#","sequence":"#);
    match t.sequence {
        Some(s) => write_u64(s, out),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(br#","epoch":"#);
    write_u64(t.epoch, out);
    out.push(b'}');
    true
}

/// As `#[serde(rename_all = "lowercase")]` names the variants.
fn market_str(m: Market) -> &'static str {
    match m {
        Market::Spot => "spot",
        Market::Perpetual => "perpetual",
        Market::Future => "future",
        Market::Option => "option",
        Market::Index => "index",
    }
}

/// Copies `s` if serde_json would write it unchanged (no `"`, `\` or control character below
/// 0x20: the bytes its escape table maps), else `false`.
fn plain_str(s: &str, out: &mut Vec<u8>) -> bool {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        return false;
    }
    out.extend_from_slice(s.as_bytes());
    true
}

fn quoted_ts(t: Ts, out: &mut Vec<u8>) -> bool {
    match t.format_fast() {
        Some(b) => {
            out.push(b'"');
            out.extend_from_slice(&b);
            out.push(b'"');
            true
        }
        None => false,
    }
}

fn opt_decimal(d: Option<&Decimal>, out: &mut Vec<u8>) {
    match d {
        Some(d) => {
            out.push(b'"');
            write_decimal(d, out);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// What `Decimal`'s `Serialize` writes (rust_decimal's `to_str_internal(value, true, None)`):
/// the sign when the sign bit is set (also for zero: `-0`, `-0.00`), the coefficient's digits
/// padded with leading zeros to at least `scale` digits, a point `scale` digits from the end
/// (with `0` before it when nothing is left of it), `0` for an empty result.
pub fn write_decimal(d: &Decimal, out: &mut Vec<u8>) {
    if d.is_sign_negative() {
        out.push(b'-');
    }
    let scale = d.scale() as usize;
    // At most 29 digits (96-bit coefficient), padded to at most 28 (the largest scale).
    let mut buf = [b'0'; 40];
    let mut pos = buf.len();
    let m = d.mantissa().unsigned_abs();
    if let Ok(mut v) = u64::try_from(m) {
        while v != 0 {
            pos -= 1;
            buf[pos] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    } else {
        let mut v = m;
        while v != 0 {
            pos -= 1;
            buf[pos] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    let len = (buf.len() - pos).max(scale);
    let digits = &buf[buf.len() - len..];
    if len == 0 {
        out.push(b'0');
    } else if scale == 0 {
        out.extend_from_slice(digits);
    } else {
        let whole = len - scale;
        if whole == 0 {
            out.push(b'0');
        } else {
            out.extend_from_slice(&digits[..whole]);
        }
        out.push(b'.');
        out.extend_from_slice(&digits[whole..]);
    }
}

fn write_u64(mut v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[pos..]);
}
