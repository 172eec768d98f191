//! Exact decimals from venue text (house rule 1).
//!
//! Venues that send numbers as JSON numbers (Kraken WS v2, Deribit, Bitfinex) are read through
//! [`serde_json::value::RawValue`], so the digits go straight from the frame into a `Decimal`
//! without ever passing through `f64`.

use crate::error::{excerpt, ParseError};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::str::FromStr;

/// Parses a decimal in plain or exponent notation (`64003.25`, `1.2e-05`), exactly.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    if text.is_empty() {
        return None;
    }
    if let Some(d) = plain(text) {
        return Some(d);
    }
    if text.bytes().any(|b| b == b'e' || b == b'E') {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str(text).ok()
    }
}

/// The common case of [`parse_decimal`] without `Decimal::from_str`'s general machinery:
/// `-?D+(.D+)?` with at most 19 digits (so the coefficient fits a `u64`) and not negative zero.
/// The result is the same `Decimal` (coefficient, scale and sign bit) `from_str` builds; anything
/// else (`+`, `_`, exponents, more digits, `-0`) is `None` and goes the general way.
pub fn plain(text: &str) -> Option<Decimal> {
    let b = text.as_bytes();
    let (negative, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    if digits.len() > 20 {
        return None;
    }
    let mut m: u64 = 0;
    let mut dot = None;
    for (i, &c) in digits.iter().enumerate() {
        match c {
            // Wraps only past 19 digits, which are refused below.
            b'0'..=b'9' => m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0')),
            b'.' if dot.is_none() && i > 0 && i + 1 < digits.len() => dot = Some(i),
            _ => return None,
        }
    }
    let n_digits = digits.len() - usize::from(dot.is_some());
    if digits.is_empty() || n_digits > 19 || (negative && m == 0) {
        return None;
    }
    let scale = dot.map_or(0, |i| digits.len() - i - 1) as u32;
    Some(Decimal::from_parts(
        m as u32,
        (m >> 32) as u32,
        0,
        negative,
        scale,
    ))
}

/// Serde adapter: a JSON number (or a numeric string) into `Option<Decimal>`, exactly;
/// `null` and `""` (OKX's "missing") become `None`.
pub fn opt_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let raw: Option<&'de RawValue> = Option::deserialize(d)?;
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if text.is_empty() || text == "null" {
        return Ok(None);
    }
    parse_decimal(text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("not a decimal: {text}")))
}

/// The text of a decimal sent as a JSON string, without its quotes; `None` for anything else.
fn quoted(raw: &RawValue) -> Option<&str> {
    raw.get().strip_prefix('"')?.strip_suffix('"')
}

/// Serde adapter: a decimal string (`"25.35190000"`) into `Option<Decimal>`; `""` is `None`.
/// Read from the frame's text: serde copies an `Option<Cow<str>>` into a `String` every time.
pub fn opt_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let raw: Option<&'de RawValue> = Option::deserialize(d)?;
    let Some(raw) = raw else { return Ok(None) };
    let t = quoted(raw).ok_or_else(|| {
        serde::de::Error::custom(format!("expected a decimal string, got {}", raw.get()))
    })?;
    if t.is_empty() {
        return Ok(None);
    }
    parse_decimal(t)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("not a decimal: {t}")))
}

/// A decimal string field that the wire type keeps raw because its meaning depends on the
/// message (Binance `b` is a price in bookTicker, an order id in trade), read once the message
/// is known to be a quote.
pub fn str_field(
    venue: &'static str,
    field: &'static str,
    raw: Option<&RawValue>,
) -> Result<Option<Decimal>, ParseError> {
    let Some(raw) = raw else { return Ok(None) };
    let bad = || ParseError::BadNumber {
        venue,
        field,
        value: excerpt(raw.get()),
    };
    match quoted(raw).ok_or_else(bad)? {
        "" => Ok(None),
        t => parse_decimal(t).map(Some).ok_or_else(bad),
    }
}

/// A field whose JSON type depends on the message (Binance `b`: a decimal string in bookTicker,
/// an order id in trade, a list of levels in depthUpdate), read in one pass: the string borrowed
/// from the frame, or any other value skipped without being built. Cheaper than a `RawValue`,
/// which scans the value and then re-slices it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loose<'a> {
    Str(&'a str),
    /// Not a string without escapes (a number, a list, an object, an escaped string).
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Loose::Str(v))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// [`str_field`] for a [`Loose`] field: a decimal string, `""` is `None`, anything else an error.
pub fn loose_field(
    venue: &'static str,
    field: &'static str,
    v: Option<Loose<'_>>,
) -> Result<Option<Decimal>, ParseError> {
    match v {
        None | Some(Loose::Str("")) => Ok(None),
        Some(Loose::Str(t)) => parse_decimal(t)
            .map(Some)
            .ok_or_else(|| ParseError::BadNumber {
                venue,
                field,
                value: excerpt(t),
            }),
        Some(Loose::Other) => Err(ParseError::BadNumber {
            venue,
            field,
            value: "(not a string)".into(),
        }),
    }
}

/// Serde adapter for `Option<Cow<'a, str>>` fields (with `#[serde(borrow)]`): borrows from the
/// frame unless the string has escapes. Serde borrows a bare `Cow<str>` field but always copies
/// one inside an `Option`.
pub fn opt_cow<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Text<'de>>::deserialize(d)?.map(|t| t.0))
}

/// The held-funds split every balance parser uses: [`schemas::split_held`] (one rule for
/// connectors and the normalizer's last-line reconciliation).
pub use schemas::split_held;

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[derive(Deserialize)]
    struct N {
        #[serde(deserialize_with = "opt_number")]
        v: Option<Decimal>,
    }

    fn n(json: &str) -> Option<Decimal> {
        serde_json::from_str::<N>(json).unwrap().v
    }

    #[test]
    fn json_numbers_are_exact() {
        assert_eq!(n(r#"{"v":1361.44813783}"#), Some(dec!(1361.44813783)));
        assert_eq!(
            n(r#"{"v":0.0028213400122472977}"#).unwrap().to_string(),
            "0.0028213400122472977"
        );
        assert_eq!(n(r#"{"v":1.2e-05}"#), Some(dec!(0.000012)));
        assert_eq!(n(r#"{"v":740.0}"#).unwrap().to_string(), "740.0");
        assert_eq!(n(r#"{"v":null}"#), None);
        assert_eq!(n(r#"{"v":""}"#), None);
        assert_eq!(n(r#"{"v":"0.1"}"#), Some(dec!(0.1)));
        assert!(serde_json::from_str::<N>(r#"{"v":"abc"}"#).is_err());
    }
}
