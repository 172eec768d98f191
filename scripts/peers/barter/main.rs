//! barter-data 0.13's own Binance top-of-book path, driven with frames from a file (no network):
//! text -> `BinanceOrderBookL1` (serde_json, as its WebSocketSerdeParser does) ->
//! `StatelessTransformer::transform` (subscription id lookup, `MarketEvent<_, OrderBookL1>`).
//! Built by scripts/bench.sh in a throwaway crate outside the workspace.
//! Usage: barter-peer FRAMES_FILE PASSES   (prints one line: `barter-data <ns/frame> ...`)

use barter_data::exchange::binance::book::l1::BinanceOrderBookL1;
use barter_data::exchange::binance::channel::BinanceChannel;
use barter_data::exchange::binance::spot::BinanceSpot;
use barter_data::exchange::subscription::ExchangeSub;
use barter_data::subscription::book::OrderBooksL1;
use barter_data::subscription::Map;
use barter_data::transformer::stateless::StatelessTransformer;
use barter_data::transformer::ExchangeTransformer;
use barter_data::Identifier;
use barter_instrument::instrument::InstrumentIndex;
use barter_integration::Transformer;
use std::hint::black_box;
use std::time::Instant;

type T = StatelessTransformer<BinanceSpot, InstrumentIndex, OrderBooksL1, BinanceOrderBookL1>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).expect("frames file");
    let passes: usize = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(5);
    let frames: Vec<&str> = text.lines().collect();
    // Every symbol in the frames, as barter subscribes them.
    let mut symbols: Vec<String> = Vec::new();
    for f in &frames {
        let b: BinanceOrderBookL1 = serde_json::from_str(f).expect("a bookTicker frame");
        let s = b.subscription_id.0.rsplit('|').next().unwrap().to_string();
        if !symbols.contains(&s) {
            symbols.push(s);
        }
    }
    let map: Map<InstrumentIndex> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                ExchangeSub::from((BinanceChannel::ORDER_BOOK_L1, s.as_str())).id(),
                InstrumentIndex(i),
            )
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut t: T = rt
        .block_on(<T as ExchangeTransformer<BinanceSpot, InstrumentIndex, OrderBooksL1>>::init(map, &[], tx))
        .expect("transformer");
    let mut best = f64::MAX;
    let mut events = 0u64;
    // Like ours (examples/decode_frames.rs): best pass, and the median of 1,000-frame batches
    // (robust to preemption on a shared machine).
    let mut batches: Vec<f64> = Vec::new();
    for _ in 0..passes {
        let start = Instant::now();
        for chunk in frames.chunks(1_000) {
            let b = Instant::now();
            for f in chunk {
                let input: BinanceOrderBookL1 = match serde_json::from_str(black_box(f)) {
                    Ok(i) => i,
                    Err(_) => continue,
                };
                for ev in t.transform(input).into_iter().flatten() {
                    events += 1;
                    black_box(ev);
                }
            }
            batches.push(b.elapsed().as_nanos() as f64 / chunk.len() as f64);
        }
        let ns = start.elapsed().as_nanos() as f64 / frames.len() as f64;
        best = best.min(ns);
    }
    assert_eq!(events, (frames.len() * passes) as u64, "every frame an event");
    batches.sort_by(|a, b| a.total_cmp(b));
    let median = batches[batches.len() / 2];
    println!(
        "barter-data {best:.1} ns/frame best pass, {median:.1} ns/frame median batch, {:.0} frames/s ({} frames x {passes} passes)",
        1e9 / best,
        frames.len()
    );
}
