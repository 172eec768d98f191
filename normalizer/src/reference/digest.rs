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

/// One source's inputs to a tick, in the order of the record's constituents.
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

#[derive(Serialize)]
struct Inputs<'a> {
    calc_time: Ts,
    inputs: &'a [InputRow<'a>],
}

pub(super) fn input_digest(calc_time: Ts, inputs: &[InputRow<'_>]) -> String {
    sha256_hex(&Inputs { calc_time, inputs })
}
