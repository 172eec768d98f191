//! `params_hash` and `input_digest`: SHA-256 over canonical JSON, so anyone holding a record and
//! its inputs can recompute both with any JSON library.

use super::{canonical_decimal, PairParams, SourceSpec, METHOD_VERSION};
use rust_decimal::Decimal;
use schemas::Ts;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The hasher as an `io::Write`, so the canonical JSON goes straight into it (the same bytes
/// `serde_json::to_string` would produce, without building the string first).
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sha256_hex<T: Serialize>(value: &T) -> String {
    let mut w = HashWriter(Sha256::new());
    // Serializing plain structs of strings, decimals and timestamps cannot fail (and the
    // writer never does); the output is the same bytes `serde_json::to_string` gives.
    if serde_json::to_writer(&mut w, value).is_err() {
        // Unreachable in practice; hash the empty string as the former code did.
        return hex::encode(Sha256::digest(b""));
    }
    hex::encode(w.0.finalize())
}

fn canonical_opt_decimal<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => canonical_decimal(d, s),
        None => s.serialize_none(),
    }
}

#[derive(Serialize)]
struct CanonicalSource<'a> {
    connector: &'a str,
    instrument: &'a str,
    #[serde(serialize_with = "canonical_opt_decimal")]
    static_weight: Option<Decimal>,
}

#[derive(Serialize)]
struct CanonicalParams<'a> {
    method_version: &'a str,
    params: &'a PairParams,
    sources: Vec<CanonicalSource<'a>>,
}

pub(super) fn params_hash(params: &PairParams, sources: &[SourceSpec]) -> String {
    let mut canon: Vec<CanonicalSource<'_>> = sources
        .iter()
        .map(|s| CanonicalSource {
            connector: &s.connector,
            instrument: &s.instrument,
            static_weight: s.static_weight,
        })
        .collect();
    // Config order does not change the method's result, so it must not change the hash either.
    canon.sort_by(|a, b| (a.connector, a.instrument).cmp(&(b.connector, b.instrument)));
    sha256_hex(&CanonicalParams {
        method_version: METHOD_VERSION,
        params,
        sources: canon,
    })
}

/// One source's inputs to a tick, in the order of the record's constituents. The canonical form
/// of a row is serde_json's output of this struct; [`RowCache`] writes the same bytes faster.
#[derive(Serialize)]
pub(super) struct InputRow<'a> {
    pub connector: &'a str,
    pub instrument: &'a str,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub last: Option<Decimal>,
    pub volume_24h: Option<Decimal>,
    pub exchange_ts: Option<Ts>,
    pub received_at: Option<Ts>,
    pub fx_rate: Option<Decimal>,
}

/// The digest's former implementation: serde_json of the whole input list into SHA-256. Kept as
/// the reference the cached rows are tested against.
#[cfg(test)]
#[derive(Serialize)]
struct Inputs<'a> {
    calc_time: Ts,
    inputs: &'a [InputRow<'a>],
}

#[cfg(test)]
pub(super) fn input_digest_serde(calc_time: Ts, inputs: &[InputRow<'_>]) -> String {
    sha256_hex(&Inputs { calc_time, inputs })
}

/// Everything a row's bytes depend on besides the source's fixed names, compared by exact
/// representation: `Decimal`'s 16 bytes hold its scale, so `1.0` and `1.00` (equal as numbers,
/// different as text) are different keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RowKey {
    bid: Option<[u8; 16]>,
    ask: Option<[u8; 16]>,
    last: Option<[u8; 16]>,
    volume_24h: Option<[u8; 16]>,
    exchange_ts: Option<i64>,
    received_at: Option<i64>,
    fx_rate: Option<[u8; 16]>,
}

impl RowKey {
    fn of(row: &InputRow<'_>) -> Self {
        let bits = |d: Option<Decimal>| d.map(|d| d.serialize());
        RowKey {
            bid: bits(row.bid),
            ask: bits(row.ask),
            last: bits(row.last),
            volume_24h: bits(row.volume_24h),
            exchange_ts: row.exchange_ts.map(Ts::micros),
            received_at: row.received_at.map(Ts::micros),
            fx_rate: bits(row.fx_rate),
        }
    }
}

/// The canonical JSON bytes of one source's input row, kept between ticks: the bytes of a row
/// depend only on the row, so they are rebuilt only when the source's quote or FX rate changed.
/// `calc_time` leads the hashed JSON, so the hash itself is recomputed every tick.
#[derive(Clone, Debug)]
pub(super) struct RowCache {
    /// `{"connector":..,"instrument":..,"bid":`, written by serde_json once.
    prefix: Vec<u8>,
    key: Option<RowKey>,
    json: Vec<u8>,
}

impl RowCache {
    pub(super) fn new(connector: &str, instrument: &str) -> Self {
        let mut prefix = b"{\"connector\":".to_vec();
        json_str(&mut prefix, connector);
        prefix.extend_from_slice(b",\"instrument\":");
        json_str(&mut prefix, instrument);
        prefix.extend_from_slice(b",\"bid\":");
        RowCache {
            prefix,
            key: None,
            json: Vec::new(),
        }
    }

    /// Brings the cached bytes up to date with `row` (whose names must be the ones given to
    /// [`RowCache::new`]).
    pub(super) fn update(&mut self, row: &InputRow<'_>) {
        let key = RowKey::of(row);
        if self.key == Some(key) {
            return;
        }
        self.json.clear();
        if self.write(row).is_err() {
            // Not reachable with a `Vec` writer; the former path gives the canonical bytes.
            self.json.clear();
            let _ = serde_json::to_writer(&mut self.json, row);
        }
        self.key = Some(key);
    }

    /// The fields after the names, in `InputRow`'s order, as serde_json writes them.
    fn write(&mut self, row: &InputRow<'_>) -> serde_json::Result<()> {
        let out = &mut self.json;
        out.extend_from_slice(&self.prefix);
        json_opt_decimal(out, row.bid)?;
        out.extend_from_slice(b",\"ask\":");
        json_opt_decimal(out, row.ask)?;
        out.extend_from_slice(b",\"last\":");
        json_opt_decimal(out, row.last)?;
        out.extend_from_slice(b",\"volume_24h\":");
        json_opt_decimal(out, row.volume_24h)?;
        out.extend_from_slice(b",\"exchange_ts\":");
        json_opt_ts(out, row.exchange_ts)?;
        out.extend_from_slice(b",\"received_at\":");
        json_opt_ts(out, row.received_at)?;
        out.extend_from_slice(b",\"fx_rate\":");
        json_opt_decimal(out, row.fx_rate)?;
        out.push(b'}');
        Ok(())
    }

    pub(super) fn json(&self) -> &[u8] {
        &self.json
    }

    /// Drops the cached bytes, so the next `update` rebuilds them.
    #[cfg(test)]
    pub(super) fn forget(&mut self) {
        self.key = None;
        self.json.clear();
    }
}

/// A JSON string with serde_json's escaping.
fn json_str(out: &mut Vec<u8>, s: &str) {
    let mut ser = serde_json::Serializer::new(out);
    // A `Vec` writer cannot fail and a `str` always serializes.
    let _ = s.serialize(&mut ser);
}

fn json_opt_decimal(out: &mut Vec<u8>, d: Option<Decimal>) -> serde_json::Result<()> {
    match d {
        Some(d) => {
            write_decimal(out, d);
            Ok(())
        }
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// rust_decimal's `Serialize` through serde_json: a JSON string of the text its
/// `to_str_internal(value, append_sign = true, None)` builds (no character of which needs
/// escaping), written from the mantissa by `schemas::write::write_decimal` (the same writer
/// the records use); proptests below compare it with the `Serialize` output over every bit
/// pattern.
fn write_decimal(out: &mut Vec<u8>, d: Decimal) {
    out.push(b'"');
    schemas::write::write_decimal(&d, out);
    out.push(b'"');
}

fn json_opt_ts(out: &mut Vec<u8>, t: Option<Ts>) -> serde_json::Result<()> {
    match t {
        Some(t) => {
            if !write_ts_fast(out, t) {
                t.serialize(&mut serde_json::Serializer::new(out))?;
            }
            Ok(())
        }
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// 1970-01-01T00:00:00Z and 10000-01-01T00:00:00Z in microseconds: the range of
/// `Ts::format_fast`, within which chrono's RFC 3339 text is its fixed-width form.
#[cfg(test)]
const FAST_TS_MIN: i64 = 0;
#[cfg(test)]
const FAST_TS_END: i64 = 253_402_300_800_000_000;

/// `Ts`'s JSON (`"2026-11-24T12:00:00.000000Z"`, what `Display` through `collect_str` gives)
/// without chrono (`Ts::format_fast`, shared with the records' writer), for years 1970 to 9999;
/// `false` (nothing written) outside them, where the caller takes the `Serialize` path.
fn write_ts_fast(out: &mut Vec<u8>, t: Ts) -> bool {
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

/// `input_digest` from the rows' cached bytes: the same bytes serde_json writes for
/// `{"calc_time":..,"inputs":[rows]}`, fed to SHA-256 piece by piece (the hasher buffers only
/// partial blocks, so the rows are not copied first).
pub(super) fn input_digest(calc_time: Ts, rows: &[RowCache]) -> String {
    let mut head = Vec::with_capacity(48);
    head.extend_from_slice(b"{\"calc_time\":");
    if !write_ts_fast(&mut head, calc_time) {
        let _ = calc_time.serialize(&mut serde_json::Serializer::new(&mut head));
    }
    head.extend_from_slice(b",\"inputs\":[");
    let mut h = Sha256::new();
    h.update(&head);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            h.update(b",");
        }
        h.update(row.json());
    }
    h.update(b"]}");
    hex_lower(&h.finalize())
}

/// Lowercase hex, as `hex::encode` writes it, without its per-character iterator.
fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row_json_serde(row: &InputRow<'_>) -> Vec<u8> {
        serde_json::to_vec(row).unwrap()
    }

    fn cached(row: &InputRow<'_>) -> Vec<u8> {
        let mut c = RowCache::new(row.connector, row.instrument);
        c.update(row);
        c.json().to_vec()
    }

    /// Any `Decimal` at all: every mantissa bit pattern, scale 0..=28, either sign (incl. -0).
    fn decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<bool>(),
                0u32..=28
            )
                .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale)),
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
            (-1_000_000i64..1_000_000, 0u32..10).prop_map(|(m, s)| Decimal::new(m, s)),
        ]
    }

    /// Timestamps across the whole range, near the fast path's edges and in this century.
    fn ts() -> impl Strategy<Value = Ts> {
        prop_oneof![
            any::<i64>().prop_map(Ts),
            (-2_000_000i64..2_000_000).prop_map(|d| Ts(FAST_TS_MIN + d)),
            (-2_000_000i64..2_000_000).prop_map(|d| Ts(FAST_TS_END + d)),
            (-86_400_000_000i64..86_400_000_000).prop_map(Ts),
            (1_700_000_000_000_000i64..2_000_000_000_000_000).prop_map(Ts),
            (FAST_TS_MIN..FAST_TS_END).prop_map(Ts),
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9-]{0,12}",
            any::<String>(),
            "[\"\\\\/\u{0}-\u{1f}\u{7f}\u{2028}é😀a]{0,8}"
        ]
    }

    /// A row's five decimals, exchange_ts and received_at.
    type RowValues = (Vec<Option<Decimal>>, Option<Ts>, Option<Ts>);

    fn tick_json_serde(t: Ts) -> Vec<u8> {
        serde_json::to_vec(&t).unwrap()
    }

    #[test]
    fn fast_timestamps_match_display_at_the_edges() {
        let edges = [
            0,
            -1,
            1,
            FAST_TS_MIN,
            FAST_TS_MIN - 1,
            FAST_TS_MIN + 1,
            FAST_TS_END,
            FAST_TS_END - 1,
            i64::MIN,
            i64::MAX,
            951_782_400_000_000,    // 2000-02-29
            4_107_542_400_000_000,  // 2100-03-01
            -2_203_891_200_000_000, // 1900-02-28
        ];
        for us in edges {
            let t = Ts(us);
            let mut out = Vec::new();
            if write_ts_fast(&mut out, t) {
                assert_eq!(out, tick_json_serde(t), "{us}");
            } else {
                assert!(!(FAST_TS_MIN..FAST_TS_END).contains(&us), "{us}");
                assert!(out.is_empty());
            }
            let mut full = Vec::new();
            json_opt_ts(&mut full, Some(t)).unwrap();
            assert_eq!(full, tick_json_serde(t), "{us}");
        }
        let mut out = Vec::new();
        assert!(write_ts_fast(&mut out, Ts(FAST_TS_END - 1)));
        assert_eq!(out, b"\"9999-12-31T23:59:59.999999Z\"");
    }

    #[test]
    fn decimal_edges_are_written_as_serialize_writes_them() {
        let mut cases = vec![
            Decimal::ZERO,
            -Decimal::ZERO,
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(1, 28),
            Decimal::new(-1, 28),
            Decimal::new(0, 5),
            Decimal::from_parts(0, 0, 0, true, 3),
            Decimal::new(12_345, 5),
            Decimal::new(12_345, 2),
            Decimal::new(-12_345, 0),
            Decimal::from_parts(u32::MAX, u32::MAX, 0, false, 10),
            Decimal::from_parts(0, 0, 1, false, 28),
        ];
        cases.push(Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, true, 28));
        for d in cases {
            let mut out = Vec::new();
            write_decimal(&mut out, d);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&d).unwrap(),
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_row_is_rebuilt_when_a_value_changes_only_its_scale() {
        let one = Decimal::new(10, 1);
        let one_00 = Decimal::new(100, 2);
        assert_eq!(one, one_00);
        let mut c = RowCache::new("a", "X-USD");
        let row = |d| InputRow {
            connector: "a",
            instrument: "X-USD",
            bid: None,
            ask: None,
            last: Some(d),
            volume_24h: None,
            exchange_ts: None,
            received_at: Some(Ts(0)),
            fx_rate: None,
        };
        c.update(&row(one));
        assert_eq!(c.json(), row_json_serde(&row(one)));
        c.update(&row(one_00));
        assert_eq!(c.json(), row_json_serde(&row(one_00)));
        assert_ne!(row_json_serde(&row(one)), row_json_serde(&row(one_00)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn fast_timestamps_match_display(t in ts()) {
            let mut out = Vec::new();
            json_opt_ts(&mut out, Some(t)).unwrap();
            prop_assert_eq!(&out, &tick_json_serde(t));
            let mut fast = Vec::new();
            if write_ts_fast(&mut fast, t) {
                prop_assert_eq!(&fast, &out);
            }
        }

        #[test]
        fn decimals_are_written_as_serialize_writes_them(d in decimal()) {
            let mut out = Vec::new();
            write_decimal(&mut out, d);
            prop_assert_eq!(out, serde_json::to_vec(&d).unwrap());
        }

        #[test]
        fn cached_rows_are_serde_json_bytes(
            connector in name(),
            instrument in name(),
            decs in prop::collection::vec(prop::option::of(decimal()), 5),
            stamps in (prop::option::of(ts()), prop::option::of(ts())),
        ) {
            let row = InputRow {
                connector: &connector,
                instrument: &instrument,
                bid: decs[0],
                ask: decs[1],
                last: decs[2],
                volume_24h: decs[3],
                exchange_ts: stamps.0,
                received_at: stamps.1,
                fx_rate: decs[4],
            };
            prop_assert_eq!(cached(&row), row_json_serde(&row));
        }

        /// Rows updated over a sequence (some unchanged, some changed) give at every step the
        /// digest of the former serde_json implementation.
        #[test]
        fn digest_equals_the_former_serde_digest(
            names in prop::collection::vec((name(), name()), 1..12),
            steps in prop::collection::vec(
                (ts(), prop::collection::vec(
                    prop::option::of((prop::collection::vec(prop::option::of(decimal()), 5), prop::option::of(ts()), prop::option::of(ts()))),
                    12,
                )),
                1..5,
            ),
        ) {
            let mut cache: Vec<RowCache> =
                names.iter().map(|(c, i)| RowCache::new(c, i)).collect();
            let mut prev: Vec<Option<RowValues>> = vec![None; names.len()];
            for (t, changes) in &steps {
                for (p, ch) in prev.iter_mut().zip(changes) {
                    // `None` keeps the previous row, so cached rows are reused.
                    if ch.is_some() {
                        p.clone_from(ch);
                    }
                }
                let rows: Vec<InputRow<'_>> = names
                    .iter()
                    .zip(&prev)
                    .map(|((c, i), p)| match p {
                        Some((d, ex, rx)) => InputRow {
                            connector: c,
                            instrument: i,
                            bid: d[0],
                            ask: d[1],
                            last: d[2],
                            volume_24h: d[3],
                            exchange_ts: *ex,
                            received_at: *rx,
                            fx_rate: d[4],
                        },
                        None => InputRow {
                            connector: c,
                            instrument: i,
                            bid: None,
                            ask: None,
                            last: None,
                            volume_24h: None,
                            exchange_ts: None,
                            received_at: None,
                            fx_rate: None,
                        },
                    })
                    .collect();
                for (c, r) in cache.iter_mut().zip(&rows) {
                    c.update(r);
                }
                prop_assert_eq!(
                    input_digest(*t, &cache),
                    input_digest_serde(*t, &rows)
                );
            }
        }
    }
}
