//! A strict JSON scanner for the fast paths of the large ticker frames (Bybit `tickers.*`,
//! Deribit `ticker.*`): 25–40 keys of which a venue reads ten. serde_json's derived struct
//! visitor pays for every key (string parse, a field match, `IgnoredAny` dispatch); this walks
//! the object once, compares the key text, reads the wanted values borrowed from the frame and
//! skips the rest while checking them.
//!
//! It accepts a subset of what serde_json accepts, never more: every token it skips is checked
//! against the JSON grammar (strings without escapes or control characters, numbers as the
//! RFC 8259 grammar spells them, `true`/`false`/`null`, nesting at most [`DEPTH`] deep), and
//! whatever it does not understand (an escape anywhere, a trailing comma, a float where an
//! integer is wanted, ...) makes it return `None`. A venue's fast path then builds the same wire
//! struct serde would, or declines and the serde path runs, so results and errors cannot
//! differ; the equivalence tests (`connectors/tests/it/fast/bybit.rs`, `deribit_fast.rs`) check it
//! on the fixtures, near misses and mutated frames.

use crate::decimal::parse_decimal;
use rust_decimal::Decimal;

/// How deep a skipped value may nest (serde_json allows 128); deeper declines.
pub const DEPTH: u32 = 16;

pub struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    pub fn new(s: &'a str) -> Self {
        Scan {
            s,
            b: s.as_bytes(),
            i: 0,
        }
    }

    /// Skips JSON whitespace (the four characters serde_json accepts between tokens).
    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline(always)]
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// The byte `c` (a `[` or `]`) after whitespace, consumed.
    #[inline(always)]
    pub fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Only whitespace is left (serde_json's `from_str` refuses trailing characters).
    pub fn end(mut self) -> Option<()> {
        self.ws();
        (self.i == self.b.len()).then_some(())
    }

    /// A string without escapes or control characters, borrowed from the frame.
    #[inline(always)]
    pub fn str(&mut self) -> Option<&'a str> {
        let (start, end) = self.string()?;
        // Both ends are ASCII quotes, so the slice is on character boundaries.
        Some(&self.s[start..end])
    }

    /// The body of a string without escapes or control characters, as bytes (keys and skipped
    /// strings: no character-boundary checks).
    #[inline(always)]
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let (start, end) = self.string()?;
        Some(&self.b[start..end])
    }

    /// The start and end of the next string's body; consumes the string.
    #[inline(always)]
    fn string(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.i;
        let end = string_end(self.b, start)?;
        self.i = end + 1;
        Some((start, end))
    }

    /// A decimal sent as a string (`decimal::opt_str` without escapes): `""` is `None`, else
    /// the `Decimal` of [`parse_decimal`], or `None` overall if it refuses the text. A body
    /// [`crate::decimal::plain`] takes is built in the pass that finds its end.
    #[inline]
    pub fn decimal_string(&mut self) -> Option<Option<Decimal>> {
        self.eat(b'"')?;
        if let Some((d, close)) = plain_string(self.b, self.i) {
            self.i = close + 1;
            return Some(d);
        }
        self.i -= 1;
        self.decimal_string_general()
    }

    /// [`Self::decimal_string`] for text `plain` does not take; out of line, so the common case
    /// keeps its registers.
    #[cold]
    #[inline(never)]
    fn decimal_string_general(&mut self) -> Option<Option<Decimal>> {
        match self.str()? {
            "" => Some(None),
            t => parse_decimal(t).map(Some),
        }
    }

    /// A decimal sent as a JSON number, or `null` (`decimal::opt_number` without strings): the
    /// `Decimal` of [`parse_decimal`] on the number's text, or `None` overall if it refuses it.
    /// A number in [`crate::decimal::plain`]'s form (no exponent, at most 19 digits, not `-0`)
    /// is built while its digits are scanned.
    #[inline]
    pub fn decimal_number(&mut self) -> Option<Option<Decimal>> {
        if self.null() {
            return Some(None);
        }
        self.ws();
        let start = self.i;
        let negative = self.b.get(self.i) == Some(&b'-');
        self.i += usize::from(negative);
        let int_start = self.i;
        let mut m: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            // Wraps only past 19 digits, which go the general way below.
            m = m.wrapping_mul(10).wrapping_add(u64::from(d));
            self.i += 1;
        }
        let int_len = self.i - int_start;
        if int_len == 0 || (int_len > 1 && self.b[int_start] == b'0') {
            return None;
        }
        let mut scale = 0;
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            let frac_start = self.i;
            while let Some(&c) = self.b.get(self.i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                m = m.wrapping_mul(10).wrapping_add(u64::from(d));
                self.i += 1;
            }
            scale = self.i - frac_start;
            if scale == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            return self.decimal_number_general(start);
        }
        if int_len + scale > 19 || (negative && m == 0) {
            return self.decimal_number_general(start);
        }
        Some(Some(Decimal::from_parts(
            m as u32,
            (m >> 32) as u32,
            0,
            negative,
            scale as u32,
        )))
    }

    /// [`Self::decimal_number`] for a number `plain` does not take (an exponent, more than 19
    /// digits, `-0`): [`parse_decimal`] on the number's text from `start`. Out of line.
    #[cold]
    #[inline(never)]
    fn decimal_number_general(&mut self, start: usize) -> Option<Option<Decimal>> {
        self.i = start;
        parse_decimal(self.number()?).map(Some)
    }

    /// `{` and the first key (and its `:`), or `None` inside for an empty object.
    #[inline]
    pub fn first_key(&mut self) -> Option<Option<&'a [u8]>> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(None);
        }
        self.key().map(Some)
    }

    /// After a value: `,` and the next key, or `}` (`None` inside).
    #[inline]
    pub fn next_key(&mut self) -> Option<Option<&'a [u8]>> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                self.key().map(Some)
            }
            b'}' => {
                self.i += 1;
                Some(None)
            }
            _ => None,
        }
    }

    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        let k = self.bytes()?;
        self.eat(b':')?;
        Some(k)
    }

    /// `null`, consumed, if it is the next token.
    #[inline]
    pub fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            true
        } else {
            false
        }
    }

    /// A JSON number's text: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    pub fn number(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            self.some_digits()?;
        }
        Some(&self.s[start..self.i])
    }

    #[inline(always)]
    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.i;
        self.digits();
        (self.i > start).then_some(())
    }

    /// A JSON integer that fits a `u64` (what serde_json gives a `u64` field): digits, no sign,
    /// no fraction or exponent (serde_json reads those as a float and refuses it).
    pub fn uint(&mut self) -> Option<u64> {
        let t = self.number()?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.bytes().try_fold(0u64, |n, c| {
            n.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        })
    }

    /// A non-negative JSON integer that fits an `i64` (a negative one declines: never sent).
    pub fn int(&mut self) -> Option<i64> {
        i64::try_from(self.uint()?).ok()
    }

    /// Skips one value, checking it: what serde_json's `IgnoredAny` would accept, or `None`.
    pub fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                let depth = depth.checked_sub(1)?;
                let mut k = self.first_key()?;
                while k.is_some() {
                    self.skip(depth)?;
                    k = self.next_key()?;
                }
                Some(())
            }
            b'[' => {
                let depth = depth.checked_sub(1)?;
                self.i += 1;
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth)?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.null().then_some(()),
            _ => self.number().map(drop),
        }
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        self.b[self.i..].starts_with(w).then(|| self.i += w.len())
    }
}

/// The index of the first byte at or after `i` that a JSON string scan must stop at (`"`,
/// `\\` or a control character below 0x20), or `b.len()`. Eight bytes at a time: per byte
/// lane, `(x - 0x01..) & !x & 0x80..` flags a zero byte and `(x - 0x20..) & !x & 0x80..` a byte
/// below 0x20; a borrow can only flag lanes above a true match, so the lowest flag is exact.
/// Shared by the venue scanners and the capture reader.
#[inline(always)]
pub fn find_special(b: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        let q = x ^ (LO * u64::from(b'"'));
        let e = x ^ (LO * u64::from(b'\\'));
        let m = ((q.wrapping_sub(LO) & !q)
            | (e.wrapping_sub(LO) & !e)
            | (x.wrapping_sub(LO * 0x20) & !x))
            & HI;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// The index of the closing quote of a string whose body starts at `at`; `None` at an escape,
/// a control character (serde_json refuses those unescaped) or the end of the text
/// ([`find_special`]: the first quote, backslash or control character).
#[inline(always)]
pub fn string_end(b: &[u8], at: usize) -> Option<usize> {
    let j = find_special(b, at);
    (b.get(j) == Some(&b'"')).then_some(j)
}

/// The body of a decimal string starting at `at` up to its closing quote (returned): `""` is
/// `None` (as `decimal::opt_str` and `decimal::loose_field` read it), a body
/// [`crate::decimal::plain`] takes is the same `Decimal` built in the same pass
/// (`-?D+(.D+)?`, at most 19 digits, not negative zero); anything else is `None` (the caller
/// goes the general way).
#[inline(always)]
pub fn plain_string(b: &[u8], at: usize) -> Option<(Option<Decimal>, usize)> {
    let rest = b.get(at..)?;
    let (negative, body) = match rest {
        [b'-', body @ ..] => (true, body),
        _ => (false, rest),
    };
    let mut m: u64 = 0;
    // Index of the dot in `body`, or `usize::MAX`; `n` ends at the closing quote.
    let mut dot = usize::MAX;
    let mut n = 0;
    // An iterator, not indexing: no bounds check per byte.
    for &c in body {
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            // Wraps only past 19 digits, which are refused below.
            m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        } else if c == b'"' {
            break;
        } else if c == b'.' && dot == usize::MAX && n > 0 {
            dot = n;
        } else {
            return None;
        }
        n += 1;
    }
    if body.get(n) != Some(&b'"') {
        return None; // the text ended inside the string
    }
    let close = at + usize::from(negative) + n;
    if n == 0 {
        return (!negative).then_some((None, close));
    }
    let scale = match dot {
        usize::MAX => 0,
        d if d + 1 == n => return None,
        d => n - d - 1,
    };
    let n_digits = n - usize::from(dot != usize::MAX);
    if n_digits > 19 || (negative && m == 0) {
        return None;
    }
    let d = Decimal::from_parts(m as u32, (m >> 32) as u32, 0, negative, scale as u32);
    Some((Some(d), close))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(b: &[u8], at: usize) -> Option<usize> {
        let n = b[at..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        (b[at + n] == b'"').then_some(at + n)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn string_end_is_the_naive_scan(
            v in proptest::collection::vec(
                prop_oneof![
                    6 => 0x20u8..0x7f,
                    1 => Just(b'"'),
                    1 => Just(b'\\'),
                    1 => 0u8..0x20,
                    1 => 0x80u8..=0xff,
                ],
                0..40,
            ),
            at in 0usize..8,
        ) {
            let at = at.min(v.len());
            prop_assert_eq!(string_end(&v, at), naive(&v, at));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn decimal_number_is_parse_decimal_of_the_text(
            t in r"-?[0-9]{0,22}(\.[0-9]{0,22})?([eE][-+]?[0-9]{0,3})?|null|[-+0-9.eE]{1,8}",
        ) {
            let mut sc = Scan::new(&t);
            let got = sc.decimal_number().filter(|_| sc.end().is_some());
            if let Some(got) = got {
                prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(&t).is_ok(), "{}", t);
                let want = if t == "null" { None } else { parse_decimal(&t) };
                prop_assert!(t == "null" || want.is_some(), "{}", t);
                prop_assert_eq!(got.map(|d| d.serialize()), want.map(|d| d.serialize()), "{}", t);
            }
        }

        #[test]
        fn decimal_string_is_opt_str(t in r"[-+0-9.eE_ a]{0,24}") {
            let quoted = format!("\"{t}\"");
            let mut sc = Scan::new(&quoted);
            let got = sc.decimal_string().filter(|_| sc.end().is_some());
            let want = if t.is_empty() { Some(None) } else { parse_decimal(&t).map(Some) };
            prop_assert_eq!(
                got.map(|d| d.map(|d| d.serialize())),
                want.map(|d| d.map(|d| d.serialize())),
                "{}", t
            );
            if let Some((d, close)) = plain_string(quoted.as_bytes(), 1) {
                prop_assert_eq!(close, quoted.len() - 1);
                prop_assert!(t.is_empty() || crate::decimal::plain(&t).is_some());
                prop_assert_eq!(d.map(|d| d.serialize()), crate::decimal::plain(&t).map(|d| d.serialize()));
            } else {
                prop_assert!(!t.is_empty() && crate::decimal::plain(&t).is_none(), "{}", t);
            }
        }
    }

    fn skip_all(t: &str) -> Option<()> {
        let mut s = Scan::new(t);
        s.skip(DEPTH)?;
        s.end()
    }

    #[test]
    fn skip_takes_a_subset_of_serde_json() {
        for t in [
            "0",
            "-0",
            "1.5",
            "-1.5e+10",
            "1E5",
            "123",
            "true",
            "false",
            "null",
            "\"\"",
            "\"a b\"",
            "[]",
            "{}",
            "[1,[2,{\"a\":[]}]]",
            " { \"a\" : 1 , \"b\" : [ null ] } ",
            "\"\u{e9}\"",
        ] {
            assert!(skip_all(t).is_some(), "{t}");
            assert!(
                serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok(),
                "{t}"
            );
        }
        for t in [
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\"}",
            "{1:2}",
            "\"\\n\"",
            "\"\t\"",
            "[1 2]",
            "1 2",
            "",
            "[",
            "{",
            "\"",
        ] {
            assert!(skip_all(t).is_none(), "{t}");
        }
        let deep = format!("{}{}", "[".repeat(17), "]".repeat(17));
        assert!(skip_all(&deep).is_none());
        let ok = format!("{}{}", "[".repeat(16), "]".repeat(16));
        assert!(skip_all(&ok).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn skip_never_takes_what_serde_json_refuses(t in r#"[\[\]{}":, 0-9.eE+\-tfrulnsa\\]{0,16}"#) {
            if skip_all(&t).is_some() {
                prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(&t).is_ok(), "{}", t);
            }
        }
    }
}
