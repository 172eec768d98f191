//! Record timestamps: RFC 3339 UTC with exactly six fractional digits (`2026-11-24T11:00:00.123456Z`).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A UTC instant with microsecond resolution, stored as microseconds since the Unix epoch.
///
/// Integer storage keeps comparisons and `age_ms` arithmetic exact and cheap on the hot path;
/// formatting happens only when a record is serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub i64);

impl Ts {
    pub const fn from_micros(us: i64) -> Self {
        Ts(us)
    }
    /// Saturates instead of overflowing: a venue's absurd timestamp becomes the far future
    /// (excluded as `FUTURE_TS`), never a panic or a wrapped date (found by fuzzing).
    pub const fn from_millis(ms: i64) -> Self {
        Ts(ms.saturating_mul(1000))
    }
    pub const fn micros(self) -> i64 {
        self.0
    }
    pub const fn millis(self) -> i64 {
        self.0.div_euclid(1000)
    }
    /// Reads the wall clock. Only transports call this (house rule 2).
    pub fn now() -> Self {
        Ts(Utc::now().timestamp_micros())
    }
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
    /// Parses RFC 3339 with any number of fractional digits (Coinbase sends nanoseconds); digits
    /// beyond microseconds are truncated, never rounded into the future.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        if let Some(t) = parse_micros_z(s.as_bytes()) {
            return Some(t);
        }
        let dt = DateTime::parse_from_rfc3339(s).ok()?;
        Some(Ts(dt.with_timezone(&Utc).timestamp_micros()))
    }
    pub fn plus_millis(self, ms: i64) -> Self {
        Ts(self.0.saturating_add(ms.saturating_mul(1000)))
    }
    /// Milliseconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn millis_since(self, earlier: Ts) -> i64 {
        self.0.saturating_sub(earlier.0).div_euclid(1000)
    }
    /// The smallest multiple of `step_ms` that is `>= self`.
    pub fn ceil_to_millis(self, step_ms: i64) -> Ts {
        let step = step_ms * 1000;
        Ts(self.0.div_euclid(step) * step
            + if self.0.rem_euclid(step) == 0 {
                0
            } else {
                step
            })
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format_fast() {
            Some(b) => f.write_str(std::str::from_utf8(&b).expect("ASCII digits")),
            None => f.write_str(
                &self
                    .to_datetime()
                    .to_rfc3339_opts(SecondsFormat::Micros, true),
            ),
        }
    }
}

/// Length of `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub const RFC3339_MICROS_LEN: usize = 27;
/// 9999-12-31T23:59:59.999999Z: the last instant with a four-digit year.
const MAX_FAST_MICROS: i64 = 253_402_300_799_999_999;
const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Ts {
    /// The record form of years 1970 to 9999 without chrono: the same bytes as
    /// `to_rfc3339_opts(SecondsFormat::Micros, true)` (proptest in this module), `None` outside
    /// that range (the caller falls back to chrono).
    pub fn format_fast(self) -> Option<[u8; RFC3339_MICROS_LEN]> {
        if !(0..=MAX_FAST_MICROS).contains(&self.0) {
            return None;
        }
        let days = self.0 / MICROS_PER_DAY;
        let in_day = self.0 % MICROS_PER_DAY;
        let (y, m, d) = civil_from_days(days);
        let secs = in_day / 1_000_000;
        let frac = in_day % 1_000_000;
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        put_digits(&mut b[0..4], y as u64);
        put_digits(&mut b[5..7], m as u64);
        put_digits(&mut b[8..10], d as u64);
        put_digits(&mut b[11..13], (secs / 3600) as u64);
        put_digits(&mut b[14..16], (secs / 60 % 60) as u64);
        put_digits(&mut b[17..19], (secs % 60) as u64);
        put_digits(&mut b[20..26], frac as u64);
        Some(b)
    }
}

/// Writes `v` as exactly `out.len()` decimal digits (zero-padded; `v` must fit).
fn put_digits(out: &mut [u8], mut v: u64) {
    for c in out.iter_mut().rev() {
        *c = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`, for
/// days >= 0).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a valid (year, month, day) (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The record form `YYYY-MM-DDTHH:MM:SS.ffffffZ` (years 1970 to 9999, a real calendar date,
/// seconds 00-59) without chrono; anything else is `None` and goes to chrono's parser, which
/// gives the same result for every input accepted here (proptest in this module).
fn parse_micros_z(b: &[u8]) -> Option<Ts> {
    if b.len() != RFC3339_MICROS_LEN
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[26] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    if y < 1970 || !(1..=12).contains(&mo) || d < 1 || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > month_days {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(Ts(days * MICROS_PER_DAY
        + ((h * 60 + mi) * 60 + s) * 1_000_000
        + us))
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ts::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid RFC 3339 time: {s}")))
    }
}

impl JsonSchema for Ts {
    fn schema_name() -> String {
        "Timestamp".to_owned()
    }
    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            format: Some("date-time".to_owned()),
            string: Some(Box::new(schemars::schema::StringValidation {
                pattern: Some(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$".to_owned()),
                ..Default::default()
            })),
            ..Default::default()
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_venue_timestamps_saturate_instead_of_overflowing() {
        let far = Ts::from_millis(i64::MAX / 10);
        assert_eq!(far, Ts(i64::MAX));
        assert_eq!(Ts::from_millis(i64::MIN / 10), Ts(i64::MIN));
        assert_eq!(far.plus_millis(5), far);
        assert_eq!(far.millis_since(Ts(-1_000_000)), i64::MAX.div_euclid(1000));
        assert_eq!(Ts::from_millis(1_500).micros(), 1_500_000);
    }

    #[test]
    fn formats_with_microseconds_and_z() {
        let t = Ts::parse_rfc3339("2023-02-09T20:30:37.167359596Z").unwrap();
        assert_eq!(t.to_string(), "2023-02-09T20:30:37.167359Z");
        assert_eq!(
            Ts::from_millis(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
    }

    fn chrono_format(t: Ts) -> String {
        t.to_datetime().to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    fn chrono_parse(s: &str) -> Option<Ts> {
        let dt = DateTime::parse_from_rfc3339(s).ok()?;
        Some(Ts(dt.with_timezone(&Utc).timestamp_micros()))
    }

    #[test]
    fn fast_format_and_parse_match_chrono_at_the_edges() {
        for us in [
            0,
            1,
            999_999,
            86_399_999_999,
            86_400_000_000,
            951_782_400_000_000,   // 2000-02-29
            4_107_456_000_000_000, // 2100-02-28
            MAX_FAST_MICROS,
        ] {
            let t = Ts(us);
            let fast = t.format_fast().expect("in range");
            assert_eq!(std::str::from_utf8(&fast).unwrap(), chrono_format(t));
            assert_eq!(parse_micros_z(&fast), Some(t));
        }
        for us in [-1, MAX_FAST_MICROS + 1, i64::MIN, i64::MAX] {
            assert_eq!(Ts(us).format_fast(), None);
            assert_eq!(Ts(us).to_string(), chrono_format(Ts(us)));
        }
        for s in [
            "2026-02-29T00:00:00.000000Z", // not a leap year
            "2026-04-31T00:00:00.000000Z",
            "2026-11-24T24:00:00.000000Z",
            "2026-11-24T11:60:00.000000Z",
            "2026-11-24T11:00:60.000000Z", // a leap second: chrono's business
            "1969-12-31T23:59:59.999999Z",
            "2026-11-24T11:00:00.000000z",
            "2026-11-24t11:00:00.000000Z",
            "2026-11-24T11:00:00.00000+Z",
            "2026-11-24T11:00:00.123456+00:00",
        ] {
            assert_eq!(parse_micros_z(s.as_bytes()), None, "{s}");
            assert_eq!(Ts::parse_rfc3339(s), chrono_parse(s), "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_format_matches_chrono(us in proptest::prelude::any::<i64>(), small in 0..=MAX_FAST_MICROS) {
            for t in [Ts(us), Ts(small)] {
                proptest::prop_assert_eq!(t.to_string(), chrono_format(t));
                proptest::prop_assert_eq!(Ts::parse_rfc3339(&t.to_string()), chrono_parse(&chrono_format(t)));
            }
        }

        #[test]
        fn fast_parse_matches_chrono(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z") {
            if let Some(t) = parse_micros_z(s.as_bytes()) {
                proptest::prop_assert_eq!(Some(t), chrono_parse(&s));
            }
            proptest::prop_assert_eq!(Ts::parse_rfc3339(&s), chrono_parse(&s));
        }

        #[test]
        fn fast_parse_of_mutated_times_matches_chrono(at in 0usize..27, c in proptest::prelude::any::<u8>(), small in 0..=MAX_FAST_MICROS) {
            let mut b = Ts(small).format_fast().unwrap().to_vec();
            b[at] = c;
            if let Ok(s) = String::from_utf8(b) {
                proptest::prop_assert_eq!(Ts::parse_rfc3339(&s), chrono_parse(&s));
            }
        }
    }

    #[test]
    fn ceil_aligns_to_cadence() {
        let t = Ts::from_micros(1_500_000);
        assert_eq!(t.ceil_to_millis(1000), Ts::from_micros(2_000_000));
        assert_eq!(
            Ts::from_micros(2_000_000).ceil_to_millis(1000),
            Ts::from_micros(2_000_000)
        );
    }
}
