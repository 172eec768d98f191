//! Every venue parser on a real frame from the fixtures: frame text -> observations
//! (`frame_to_quotes`: parse, one symbol probe, sequencing, `QuoteObs`), the bare parse, and for
//! the venues with a fast path the serde path it falls back to (`parse_serde`).
//! Run: `cargo bench -p connectors --bench parsers`. Figures: BENCHMARKS.md.

use connectors::registry;
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::traits::ConnState;
use connectors::transport::{frame_to_quotes, Connection, FrameMeta};
use connectors::venues::{binance, bybit, deribit, okx};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use schemas::Ts;

/// The same frames `scripts/gen-capture.py mixed` cycles through: (kind, fixture, symbol, setup).
const FRAMES: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "binance",
        "binance/ws_bookTicker_combined_live_capture.json",
        "NKNUSDT",
        None,
    ),
    ("binance", "binance/ws_bookTicker.json", "BNBUSDT", None),
    (
        "binance_usdm",
        "binance_usdm/ws_bookTicker_combined_live_capture.json",
        "SUSHIUSDT",
        None,
    ),
    (
        "coinbase",
        "coinbase/advtrade_ws_ticker_nautilus.json",
        "BTC-USD",
        None,
    ),
    (
        "kraken",
        "kraken/ws_v2_ticker_update.json",
        "ALGO/USD",
        None,
    ),
    (
        "okx",
        "okx/ws_tickers_SPOT_live_capture.json",
        "BTC-USDT",
        None,
    ),
    (
        "bybit_spot",
        "bybit/ws_tickers_spot_snapshot.json",
        "BTCUSDT",
        None,
    ),
    (
        "bybit_linear",
        "bybit/ws_tickers_linear_perpetual_snapshot.json",
        "BTCUSDT",
        None,
    ),
    (
        "deribit",
        "deribit/ws_ticker_BTC-PERPETUAL_100ms_nautilus.json",
        "BTC-PERPETUAL",
        None,
    ),
    (
        "bitfinex",
        "bitfinex/ws_v2_ticker_update_live_capture.json",
        "tBFTUSD",
        Some("bitfinex/ws_v2_subscribed_ticker_live_capture.json"),
    ),
    (
        "bitstamp",
        "bitstamp/ws_order_book_btcusd_gocryptotrader_test.json",
        "BTCUSD",
        None,
    ),
];

fn fixture(path: &str) -> String {
    let p = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    minify(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
}

/// Whitespace outside JSON strings removed: what the venue sends on the wire.
fn minify(text: &str) -> String {
    let (mut out, mut in_str, mut esc) = (String::with_capacity(text.len()), false, false);
    for c in text.chars() {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_to_quotes");
    g.throughput(Throughput::Elements(1));
    for &(kind, file, symbol, setup) in FRAMES {
        let venue = registry::streaming(kind).expect("a registry kind");
        let frame = fixture(file);
        let table = SymbolTable::new(vec![InstrumentSpec {
            venue_symbol: symbol.into(),
            stream: format!("ticker:{symbol}"),
        }]);
        let meta = FrameMeta {
            received_at: Ts::from_micros(1_795_000_000_000_000),
            epoch: 1,
            connector: 0,
        };
        let mut conn = Connection::default();
        if let Some(s) = setup {
            frame_to_quotes(
                venue,
                &fixture(s),
                meta,
                &table,
                &mut conn,
                &mut |_| {},
                &mut |_| {},
            )
            .expect("setup frame parses");
        }
        // Sequencing would drop the repeated frame after the first: the bench measures the
        // whole path, so each iteration starts from the state after the setup frames.
        let fresh = conn.state.clone();
        let name = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".json");
        let mut n = 0usize;
        frame_to_quotes(
            venue,
            &frame,
            meta,
            &table,
            &mut conn,
            &mut |_| n += 1,
            &mut |_| {},
        )
        .expect("the frame parses");
        assert_eq!(n, 1, "{kind} {file}: one quote");
        g.bench_function(format!("{kind}/{name}"), |b| {
            b.iter_batched_ref(
                || {
                    let mut c = Connection::default();
                    c.state = fresh.clone();
                    c
                },
                |conn| {
                    let mut q = None;
                    let r = frame_to_quotes(
                        venue,
                        black_box(&frame),
                        meta,
                        &table,
                        conn,
                        &mut |o| q = Some(o),
                        &mut |_| {},
                    );
                    black_box((r.is_ok(), q))
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    for &(kind, file, _, setup) in FRAMES {
        let venue = registry::streaming(kind).expect("a registry kind");
        let frame = fixture(file);
        let mut state = ConnState::default();
        if setup.is_some() {
            // Bitfinex: the channel binding the setup frame made.
            state.channels.insert(232949, "tBFTUSD".into());
        }
        let name = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".json");
        g.bench_function(format!("{kind}/{name}"), |b| {
            b.iter(|| {
                let mut bid = None;
                let r = venue.parse(black_box(&frame), &state, &mut |q| bid = q.bid);
                black_box((r.is_ok(), bid))
            })
        });
    }
    g.finish();
    // The venues with a fast path, on the serde path they fall back to: the fast path's gain
    // in the same run (`parse/<kind>/...` above is the fast path).
    type Serde = fn(
        &str,
        &mut dyn FnMut(connectors::ParsedQuote<'_>),
    ) -> Result<connectors::FrameKind, connectors::ParseError>;
    fn bybit_spot(
        f: &str,
        e: &mut dyn FnMut(connectors::ParsedQuote<'_>),
    ) -> Result<connectors::FrameKind, connectors::ParseError> {
        bybit::parse::parse_serde(f, bybit::Category::Spot, e)
    }
    fn bybit_linear(
        f: &str,
        e: &mut dyn FnMut(connectors::ParsedQuote<'_>),
    ) -> Result<connectors::FrameKind, connectors::ParseError> {
        bybit::parse::parse_serde(f, bybit::Category::Linear, e)
    }
    let serde_paths: [(&str, Serde); 5] = [
        ("binance", binance::parse::parse_serde),
        ("okx", okx::parse::parse_serde),
        ("bybit_spot", bybit_spot),
        ("bybit_linear", bybit_linear),
        ("deribit", deribit::parse::parse_serde),
    ];
    let mut g = c.benchmark_group("parse_serde");
    g.throughput(Throughput::Elements(1));
    for &(kind, file, _, _) in FRAMES {
        let Some(&(_, serde)) = serde_paths.iter().find(|(k, _)| *k == kind) else {
            continue;
        };
        let frame = fixture(file);
        let name = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".json");
        g.bench_function(format!("{kind}/{name}"), |b| {
            b.iter(|| {
                let mut bid = None;
                let r = serde(black_box(&frame), &mut |q| bid = q.bid);
                black_box((r.is_ok(), bid))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
