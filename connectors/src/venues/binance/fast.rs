//! A strict scanner for the one hot message, `bookTicker`, in its two fixed shapes:
//!
//! - raw: `{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}`
//! - combined: `{"stream":"bnbusdt@bookTicker","data":{ ...the raw object... }}`
//!
//! Keys in exactly that order, JSON whitespace allowed between tokens, every string free of
//! escapes and control characters, `u` a plain unsigned integer that fits a `u64`. It yields the
//! same [`Event`] serde would (strings borrowed from the frame) or `None` for anything else (an
//! escape, another key, another order, a missing or duplicate field, trailing bytes), in which
//! case the caller takes the serde path. So it can only agree with serde or decline; the tests
//! (`connectors/tests/it/fast/binance.rs`) check that on the real fixtures and on mutated frames.
//! serde_json's generic struct machinery was ~4.5 k of the ~6.6 k instructions per frame.

use super::wire::Event;
use crate::decimal::Loose;
use crate::traits::ParsedQuote;
use crate::venues::scan::{plain_string, string_end};
use std::borrow::Cow;

/// The quote of a bookTicker frame exactly as Binance writes it, minified (no whitespace), read
/// in one pass with the four decimals built as their digits are scanned: the same
/// [`ParsedQuote`] that [`book_ticker`] and then `parse::event` build, or `None` for anything
/// else, including a decimal that [`crate::decimal::plain`] would not take (an exponent, a `+`,
/// more than 19 digits, `-0`; those go the general way). [`book_ticker`] (whitespace, any
/// decimal text) and then serde are the fallbacks. About half the instructions of
/// `book_ticker` + `event`: no second pass over the decimal text, no per-token whitespace
/// checks, the fixed key layout compared as literals.
pub fn quote(frame: &str) -> Option<ParsedQuote<'_>> {
    let b = frame.as_bytes();
    let combined = b.starts_with(b"{\"stream\":\"");
    let mut i = if combined {
        let end = string_end(b, 11)?;
        lit(b, end, b"\",\"data\":{\"u\":")?
    } else {
        lit(b, 0, b"{\"u\":")?
    };
    let (u, j) = unsigned(b, i)?;
    i = lit(b, j, b",\"s\":\"")?;
    let end = string_end(b, i)?;
    // Both ends are ASCII quotes, so the slice is on character boundaries.
    let symbol = &frame[i..end];
    let mut text = [None; 4];
    let mut at = end;
    for (k, key) in [
        b"\",\"b\":\"",
        b"\",\"B\":\"",
        b"\",\"a\":\"",
        b"\",\"A\":\"",
    ]
    .iter()
    .enumerate()
    {
        let (d, close) = plain_string(b, lit(b, at, *key)?)?;
        text[k] = d;
        at = close;
    }
    let tail: &[u8] = if combined { b"\"}}" } else { b"\"}" };
    if lit(b, at, tail)? != b.len() {
        return None;
    }
    let [bid, bid_size, ask, ask_size] = text;
    Some(ParsedQuote {
        symbol: Cow::Borrowed(symbol),
        bid,
        ask,
        bid_size,
        ask_size,
        sequence: Some(u),
        ..Default::default()
    })
}

/// The index after `want` if `b[at..]` starts with it.
#[inline(always)]
fn lit(b: &[u8], at: usize, want: &[u8]) -> Option<usize> {
    b.get(at..at + want.len())
        .is_some_and(|s| s == want)
        .then_some(at + want.len())
}

/// A JSON integer that fits a `u64` at `at` (no sign, no leading zero) and the index after it;
/// what follows is checked by the caller's next literal (a `.` or `e` there declines).
#[inline(always)]
fn unsigned(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut n: u64 = 0;
    let mut i = at;
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
        i += 1;
    }
    let len = i - at;
    (len == 1 || (len > 1 && b[at] != b'0')).then_some((n, i))
}

/// The bookTicker event of `frame`, or `None` if the frame is not exactly one of the two shapes.
pub fn book_ticker(frame: &str) -> Option<Event<'_>> {
    let mut c = Cursor {
        s: frame,
        b: frame.as_bytes(),
        i: 0,
    };
    c.byte(b'{')?;
    let ev = if c.peek_key(b"stream") {
        c.key(b"stream")?;
        c.string()?;
        c.byte(b',')?;
        c.key(b"data")?;
        c.byte(b'{')?;
        let ev = c.fields()?;
        c.byte(b'}')?;
        ev
    } else {
        c.fields()?
    };
    c.byte(b'}')?;
    c.ws();
    (c.i == c.b.len()).then_some(ev)
}

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    /// The fields of the event object, after its `{` and up to (not including) its `}`.
    fn fields(&mut self) -> Option<Event<'a>> {
        self.key(b"u")?;
        let u = self.unsigned()?;
        self.byte(b',')?;
        self.key(b"s")?;
        let s = self.string()?;
        let mut text = [""; 4];
        for (k, key) in [b"b", b"B", b"a", b"A"].iter().enumerate() {
            self.byte(b',')?;
            self.key(*key)?;
            text[k] = self.string()?;
        }
        let [b, bid_qty, a, ask_qty] = text.map(|t| Some(Loose::Str(t)));
        Some(Event {
            e: None,
            event_time: None,
            u: Some(u),
            s: Some(Cow::Borrowed(s)),
            b,
            bid_qty,
            a,
            ask_qty,
        })
    }

    /// Skips JSON whitespace (the four characters serde_json accepts between tokens).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn byte(&mut self, want: u8) -> Option<()> {
        if self.b.get(self.i) != Some(&want) {
            self.ws();
            if self.b.get(self.i) != Some(&want) {
                return None;
            }
        }
        self.i += 1;
        Some(())
    }

    /// Whether the next token is the key `"name"`, without consuming it.
    fn peek_key(&mut self, name: &[u8]) -> bool {
        self.ws();
        let rest = &self.b[self.i..];
        rest.len() > name.len() + 1
            && rest[0] == b'"'
            && &rest[1..=name.len()] == name
            && rest[name.len() + 1] == b'"'
    }

    /// `"name"` then `:`.
    fn key(&mut self, name: &[u8]) -> Option<()> {
        if !self.peek_key(name) {
            return None;
        }
        self.i += name.len() + 2;
        self.byte(b':')
    }

    /// A string without escapes or control characters (serde_json rejects the latter), borrowed.
    fn string(&mut self) -> Option<&'a str> {
        self.byte(b'"')?;
        let start = self.i;
        let rest = &self.b[start..];
        let n = rest
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        if rest[n] != b'"' {
            return None;
        }
        self.i = start + n + 1;
        // Both ends are ASCII quotes, so the slice is on character boundaries.
        Some(&self.s[start..start + n])
    }

    /// A JSON integer that fits a `u64`: digits, no sign, no leading zero, no fraction or
    /// exponent (serde_json would read those as a float and refuse it for a `u64`).
    fn unsigned(&mut self) -> Option<u64> {
        self.ws();
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.b.get(self.i) {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.i += 1;
        }
        let len = self.i - start;
        if len == 0 || (len > 1 && self.b[start] == b'0') {
            return None;
        }
        match self.b.get(self.i) {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(n),
        }
    }
}
