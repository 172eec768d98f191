//! The normalizer's per-record work: asset-master lookups, one reference-price tick for
//! 1,000 pairs x 10 sources, one collateral valuation, and the JSON encoding of each record.
//! Run: `cargo bench -p normalizer --bench normalizer`. Figures: BENCHMARKS.md.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use normalizer::assets::{AssetMaster, SymbolParts};
use normalizer::reference::{PairCalculator, PairParams, Quote, ReferenceEngine, SourceSpec};
use normalizer::valuation::{value_account, Holding, ValuationParams};
use rust_decimal::Decimal;
use schemas::{
    BalanceSchema, BalanceSnapshot, Market, PriceTick, PriceTickSchema, Record, ReferencePrice,
    SourceKind, Ts,
};
use std::collections::HashMap;

const PAIRS: usize = 1_000;
const SOURCES: usize = 10;
const T0: i64 = 1_795_000_000_000; // ms

fn quote(s: usize, shift: i64) -> Option<Quote> {
    let mid = Decimal::new(
        6_400_325 + (s as i64) * 7 + shift + if s == 9 { 900_000 } else { 0 },
        2,
    );
    Some(Quote {
        bid: Some(mid - Decimal::new(1, 2)),
        ask: Some(mid + Decimal::new(1, 2)),
        last: Some(mid),
        volume_24h: Some(Decimal::new(12_345, 1)),
        exchange_ts: Some(Ts::from_millis(T0 - 150 + shift)),
        received_at: Ts::from_millis(T0 - 100 + shift),
    })
}

/// Which sources quote differently in the second quote table (`engine`'s `.2`).
#[derive(Clone, Copy)]
enum Changed {
    None,
    /// One source of each pair (a different one per pair).
    OnePerPair,
    All,
}

/// 1,000 `<BASE>-USD` pairs with 10 sources each, every source quoted 100 ms before the cut,
/// mids spread by a few basis points (one outlier per pair). Two quote tables: alternating
/// between them per tick makes the `changed` sources move every tick (price and stamps by
/// 1 ms / 0.01), the others stay as they were.
fn engine(changed: Changed) -> (ReferenceEngine, Vec<Option<Quote>>, Vec<Option<Quote>>) {
    let mut calcs = Vec::with_capacity(PAIRS);
    let mut quotes = Vec::with_capacity(PAIRS * SOURCES);
    let mut moved = Vec::with_capacity(PAIRS * SOURCES);
    for p in 0..PAIRS {
        let base = format!("A{p:03}");
        let sources = (0..SOURCES)
            .map(|s| SourceSpec {
                venue: format!("venue{s}"),
                connector: format!("venue{s}-main"),
                instrument: format!("{base}-USD"),
                quote_asset: "USD".into(),
                static_weight: None,
                slot: p * SOURCES + s,
            })
            .collect();
        calcs.push(PairCalculator::new(
            PairParams::new(&base, "USD", false),
            sources,
        ));
        for s in 0..SOURCES {
            quotes.push(quote(s, 0));
            let moves = match changed {
                Changed::None => false,
                Changed::OnePerPair => s == p % SOURCES,
                Changed::All => true,
            };
            moved.push(quote(s, i64::from(moves)));
        }
    }
    (ReferenceEngine::new(calcs).expect("pairs"), quotes, moved)
}

fn price_tick() -> PriceTick {
    PriceTick {
        schema: PriceTickSchema,
        venue: "binance".into(),
        connector: "binance-spot".into(),
        venue_symbol: "BTCUSDT".into(),
        instrument: "BTC-USDT".into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        market: Market::Spot,
        bid: Some(Decimal::new(6_400_325, 2)),
        ask: Some(Decimal::new(6_400_326, 2)),
        bid_size: Some(Decimal::new(312_100_000, 8)),
        ask_size: Some(Decimal::new(4_066_000_000, 8)),
        last: None,
        mark: None,
        index: None,
        exchange_ts: Some(Ts::from_millis(T0)),
        received_at: Ts::from_micros(T0 * 1000 + 123_456),
        sequence: Some(400_900_217),
        epoch: 1,
    }
}

fn holdings() -> Vec<Holding> {
    ["BTC", "ETH", "USDT", "USDC", "SOL"]
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            (0..3).map(move |s| Holding {
                locked: Decimal::ZERO,
                unrealized_pnl: None,
                source: format!("source{s}"),
                source_kind: if s == 2 {
                    SourceKind::Custodian
                } else {
                    SourceKind::Exchange
                },
                asset: (*a).into(),
                quantity: Decimal::new(125 * (i as i64 + 1) * 1000 + s, 3),
                pending: None,
                as_of: Ts::from_millis(T0 - 1000),
                network: None,
                venue_asset: (*a).into(),
                confirmed_at: Ts::from_millis(T0 - 1000),
            })
        })
        .collect()
}

/// `<ASSET>-USD` records for valuation: a real record of the engine, renamed to each asset.
fn usd_prices(rec: &ReferencePrice) -> HashMap<String, ReferencePrice> {
    let mut m = HashMap::new();
    for (asset, price) in [
        ("BTC", 64_003),
        ("ETH", 3_200),
        ("USDT", 1),
        ("USDC", 1),
        ("SOL", 150),
    ] {
        let mut r = rec.clone();
        r.base = asset.into();
        r.price = Some(Decimal::from(price));
        m.insert(asset.to_string(), r);
    }
    m
}

fn bench(c: &mut Criterion) {
    let assets = AssetMaster::default();
    let mut g = c.benchmark_group("asset_master");
    g.bench_function("canonical_kraken_alias", |b| {
        b.iter(|| assets.canonical(black_box("kraken"), black_box("XXBT")))
    });
    g.bench_function("canonical_plain", |b| {
        b.iter(|| assets.canonical(black_box("binance"), black_box("BTC")))
    });
    g.bench_function("resolve_joined", |b| {
        b.iter(|| {
            assets.resolve(
                black_box("binance"),
                SymbolParts::Joined {
                    symbol: black_box("BTCUSDT"),
                    market: Market::Spot,
                    expiry: None,
                },
            )
        })
    });
    g.finish();

    // The first is the original case (no quote changes between ticks, the engine's default
    // threads); the others pin one thread and/or move some or all sources every tick. The cut
    // cycles through a 5 s window so that no run lasts long enough for quotes to go stale.
    let mut g = c.benchmark_group("reference");
    g.sample_size(20);
    for (name, threads, changed) in [
        ("tick_1000_pairs_x_10_sources", None, Changed::None),
        (
            "tick_1000_pairs_x_10_sources_1_thread",
            Some(1),
            Changed::None,
        ),
        (
            "tick_1000_pairs_x_10_sources_one_changed_per_pair",
            None,
            Changed::OnePerPair,
        ),
        (
            "tick_1000_pairs_x_10_sources_one_changed_per_pair_1_thread",
            Some(1),
            Changed::OnePerPair,
        ),
        (
            "tick_1000_pairs_x_10_sources_all_changed",
            None,
            Changed::All,
        ),
        (
            "tick_1000_pairs_x_10_sources_all_changed_1_thread",
            Some(1),
            Changed::All,
        ),
    ] {
        let (engine, a, b) = engine(changed);
        let mut engine = match threads {
            Some(n) => engine.with_threads(n),
            None => engine,
        };
        let mut i = 0i64;
        g.bench_function(name, |bench| {
            bench.iter(|| {
                i += 1;
                let quotes = if i % 2 == 0 { &a } else { &b };
                black_box(engine.tick(Ts::from_millis(T0 + i % 5_000), quotes).len())
            })
        });
    }
    g.finish();
    let (mut engine, quotes, _) = engine(Changed::None);
    let recs = engine.tick(Ts::from_millis(T0), &quotes);
    assert_eq!(recs.len(), PAIRS);
    assert!(recs[0].price.is_some(), "{:?}", recs[0].status);

    let prices = usd_prices(&recs[0]);
    let params = ValuationParams::default();
    let hs = holdings();
    let mut g = c.benchmark_group("valuation");
    g.bench_function("account_5_assets_x_3_sources", |b| {
        b.iter(|| {
            value_account(
                "fund-a",
                Ts::from_millis(T0),
                black_box(&hs),
                &prices,
                Some(Decimal::from(5_000_000)),
                &params,
                "hash",
                1,
            )
        })
    });
    g.finish();
    let report = value_account(
        "fund-a",
        Ts::from_millis(T0),
        &hs,
        &prices,
        Some(Decimal::from(5_000_000)),
        &params,
        "hash",
        1,
    );

    let balance = BalanceSnapshot {
        unrealized_pnl: None,
        schema: BalanceSchema,
        account: "fund-a".into(),
        source: "kraken-main".into(),
        source_kind: SourceKind::Exchange,
        venue: "kraken".into(),
        sub_account: None,
        wallet: None,
        asset: "BTC".into(),
        venue_asset: "XXBT".into(),
        network: None,
        total: Decimal::new(12_500_000_000, 10),
        available: Decimal::new(12_500_000_000, 10),
        locked: Decimal::ZERO,
        borrowed: None,
        pending: None,
        as_of: Ts::from_millis(T0),
        received_at: Ts::from_millis(T0),
    };
    let records = [
        ("price_tick", Record::PriceTick(price_tick())),
        ("balance", Record::Balance(balance)),
        ("reference_price", Record::ReferencePrice(recs[0].clone())),
        ("collateral_report", Record::CollateralReport(report)),
    ];
    let mut g = c.benchmark_group("json");
    for (name, rec) in &records {
        let mut buf = Vec::with_capacity(16 << 10);
        g.bench_function(*name, |b| {
            b.iter(|| {
                buf.clear();
                // The encoder the sinks use (JSON lines, Kafka payloads): serde_json's bytes,
                // `price_tick.v1` written directly.
                black_box(rec).write_json(&mut buf);
                buf.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
