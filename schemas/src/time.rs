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
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        )
    }
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
