//! Our side of `scripts/bench.sh`'s side-by-side table: the same Binance bookTicker frames the
//! peers get, read from a file (one frame a line), through the live path: `frame_to_quotes`
//! (parse, one symbol probe, sequencing) and `Normalizer::apply` (the `price_tick.v1` record),
//! then optionally its JSON encoding.
//!
//! Usage: `cargo run --release --example decode_frames -- FRAMES_FILE [PASSES]`
//! Prints, per stage, the best pass's ns/frame and the median of 1,000-frame batches.

use connectors::registry;
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{frame_to_quotes, Connection, FrameMeta};
use normalizer::assets::{AssetMaster, SymbolParts};
use normalizer::core::{ConnectorInfo, Normalizer, SourceInfo};
use normalizer::reference::ReferenceEngine;
use schemas::{Observation, Record, SourceKind, Ts};
use std::hint::black_box;
use std::time::Instant;

const BATCH: usize = 1_000;

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Decode,
    Normalize,
    Json,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: decode_frames FRAMES_FILE [PASSES]");
    let passes: usize = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(5);
    let text = std::fs::read_to_string(path).expect("frames file");
    let frames: Vec<&str> = text.lines().collect();
    let venue = registry::streaming("binance").expect("binance");

    // The symbols in the frames, configured as one connector's instruments.
    let mut symbols: Vec<String> = Vec::new();
    let meta = FrameMeta {
        received_at: Ts::from_micros(1_795_000_000_000_000),
        epoch: 1,
        connector: 0,
    };
    for f in frames.iter().take(10_000) {
        let _ = venue.parse(f, &Default::default(), &mut |q| {
            if !symbols.iter().any(|s| s == q.symbol.as_ref()) {
                symbols.push(q.symbol.to_string());
            }
        });
    }
    // The bases of cryptofeed's capture that the built-in asset list does not carry.
    let mut assets = AssetMaster::default();
    let extra: Vec<String> = ["NKN", "BLZ", "LRC", "RUNE", "SUSHI"]
        .map(String::from)
        .to_vec();
    assert!(assets.extend(&extra, &[], &Default::default()).is_empty());
    let sources: Vec<SourceInfo> = symbols
        .iter()
        .enumerate()
        .map(|(slot, s)| {
            let spec = venue.split_symbol(s);
            let instrument = match spec {
                connectors::SymbolSpec::Joined { symbol, market, .. } => assets.resolve(
                    "binance",
                    SymbolParts::Joined {
                        symbol,
                        market,
                        expiry: None,
                    },
                ),
                other => panic!("{other:?}"),
            }
            .expect("a known symbol");
            SourceInfo {
                venue_symbol: s.clone(),
                instrument,
                slot,
            }
        })
        .collect();
    let table = SymbolTable::new(
        symbols
            .iter()
            .map(|s| InstrumentSpec {
                venue_symbol: s.clone(),
                stream: format!("ticker:{s}"),
            })
            .collect(),
    );
    let connector = ConnectorInfo {
        id: "binance-spot".into(),
        venue: "binance".into(),
        sources,
        account: None,
        source_kind: SourceKind::Exchange,
        reports_balances: false,
    };

    println!(
        "frames: {} ({} symbols), {} passes",
        frames.len(),
        symbols.len(),
        passes
    );
    for (stage, name) in [
        (Stage::Decode, "decode (frame -> QuoteObs)"),
        (Stage::Normalize, "decode + normalize (-> price_tick.v1)"),
        (Stage::Json, "decode + normalize + JSON encode"),
    ] {
        let mut best = f64::MAX;
        let mut batches: Vec<f64> = Vec::new();
        let mut out: Vec<Record> = Vec::with_capacity(4);
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
        let mut records = 0u64;
        for _ in 0..passes {
            // A fresh connection and normalizer per pass: the frames' sequence numbers repeat.
            let mut conn = Connection::default();
            let mut norm = Normalizer::new(
                vec![connector.clone()],
                ReferenceEngine::new(vec![]).expect("no pairs"),
                1000,
            );
            let start = Instant::now();
            for chunk in frames.chunks(BATCH) {
                let b = Instant::now();
                for f in chunk {
                    let _ = frame_to_quotes(
                        venue,
                        black_box(f),
                        meta,
                        &table,
                        &mut conn,
                        &mut |q| {
                            if stage == Stage::Decode {
                                black_box(q);
                            } else {
                                norm.apply(Observation::Quote(q), &mut out);
                            }
                        },
                        &mut |_| {},
                    );
                    if stage == Stage::Json {
                        buf.clear();
                        for r in &out {
                            // The encoder the sinks use (JSON lines, Kafka payloads, replay).
                            r.write_json(&mut buf);
                        }
                        black_box(&buf);
                    }
                    records += out.len() as u64;
                    out.clear();
                }
                batches.push(b.elapsed().as_nanos() as f64 / chunk.len() as f64);
            }
            let ns = start.elapsed().as_nanos() as f64 / frames.len() as f64;
            best = best.min(ns);
        }
        if stage != Stage::Decode {
            assert_eq!(
                records,
                (frames.len() * passes) as u64,
                "a record per frame"
            );
        }
        batches.sort_by(|a, b| a.total_cmp(b));
        let median = batches[batches.len() / 2];
        println!(
            "ours {name}: {best:.1} ns/frame best pass, {median:.1} ns/frame median batch, {:.0} frames/s",
            1e9 / best
        );
    }
}
