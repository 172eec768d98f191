//! The margin engine at scale (margin.md; targets in BENCHMARKS.md): full revaluation of
//! 10,000 accounts x 10 assets held at 3 sources each, the 5-scenario stress library on them,
//! and ES over 250 historical scenarios on 2 threads.
//! Run: `cargo bench -p normalizer --bench margin`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use normalizer::margin::book::{Book, Kernel};
use normalizer::margin::config::{default_library, RiskConfig};
use normalizer::margin::fixings::{day_of, Fixing, History};
use normalizer::margin::risk::{compute_all, RiskContext, RiskJob};
use normalizer::margin::stress::stress_report;
use normalizer::valuation::{value_account, Holding, ValuationParams};
use rust_decimal::Decimal;
use schemas::{
    CollateralReport, PriceStatus, ReferencePrice, ReferencePriceSchema, SourceKind, Ts,
};
use std::collections::HashMap;
use std::time::Duration;

const ACCOUNTS: usize = 10_000;
/// Two stablecoins, BTC, ETH, four alts, two long-tail coins: every class, tiers and caps.
const ASSETS: [&str; 10] = [
    "USDT", "USDC", "BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "FOO", "BAR",
];
const PRICES: [i64; 10] = [
    9_998,
    10_001,
    640_032_500,
    30_002_500,
    1_501_500,
    6_100,
    1_900,
    4_500,
    123_400,
    5_600,
];

fn t0() -> Ts {
    Ts::parse_rfc3339("2026-11-24T12:00:00Z").unwrap()
}

fn price_table(scale: i64) -> HashMap<String, ReferencePrice> {
    ASSETS
        .iter()
        .zip(PRICES)
        .map(|(a, p)| {
            let price = Decimal::new(p * scale / 100, 4);
            (
                (*a).to_owned(),
                ReferencePrice {
                    schema: ReferencePriceSchema,
                    base: (*a).to_owned(),
                    quote: "USD".into(),
                    price: Some(price),
                    status: PriceStatus::Ok,
                    reasons: vec![],
                    calc_time: t0(),
                    seq: 1,
                    conf: None,
                    price_low: None,
                    price_high: None,
                    n_configured: 3,
                    n_fresh: 3,
                    n_valid: 3,
                    last_good_price: Some(price),
                    last_good_time: Some(t0()),
                    method_version: "median-v1".into(),
                    params_hash: String::new(),
                    input_digest: String::new(),
                    constituents: vec![],
                },
            )
        })
        .collect()
}

/// Account `i`'s quantity of asset `a` at source `s`: varied so that accounts cross different
/// tiers and some caps bind; 8 decimals, as venues report balances.
fn quantity(i: usize, a: usize, s: usize) -> Decimal {
    let usd = 20_000 + ((i * 7919 + a * 104_729 + s * 15_485_863) % 2_000_000) as i64;
    (Decimal::new(usd, 0) * Decimal::new(10_000, 0) / Decimal::new(PRICES[a], 0)).round_dp(8)
}

fn rows(i: usize) -> Vec<(&'static str, Decimal)> {
    (0..3)
        .flat_map(|s| (0..10).map(move |a| (ASSETS[a], quantity(i, a, s))))
        .collect()
}

fn reports(params: &ValuationParams) -> Vec<CollateralReport> {
    let prices = price_table(100);
    (0..ACCOUNTS)
        .map(|i| {
            let holdings: Vec<Holding> = (0..3)
                .flat_map(|s| {
                    (0..10).map(move |a| {
                        Holding::new(
                            &format!("src-{s}"),
                            SourceKind::Exchange,
                            ASSETS[a],
                            quantity(i, a, s),
                            t0().plus_millis(-1000),
                        )
                    })
                })
                .collect();
            value_account(
                &format!("acct-{i}"),
                t0(),
                &holdings,
                &prices,
                Some(Decimal::from(20_000_000)),
                params,
                "h",
                1,
            )
        })
        .collect()
}

/// 260 days of fixings per asset: a deterministic wobble of a few percent a day.
fn history() -> History {
    let last = day_of(t0());
    let mut fixings = Vec::new();
    for (a, asset) in ASSETS.iter().enumerate() {
        for d in 0..260i64 {
            let wobble = (d * 37 + a as i64 * 11) % 97 - 48;
            let price = Decimal::new(PRICES[a], 4) * (Decimal::ONE + Decimal::new(wobble, 3));
            fixings.push(Fixing {
                asset: (*asset).into(),
                day: last - 259 + d,
                price,
            });
        }
    }
    History::from_fixings(&fixings)
}

fn bench(c: &mut Criterion) {
    let params = ValuationParams::default();
    let kernel = Kernel::new(&params);
    let mut g = c.benchmark_group("margin");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));

    // Full revaluation from the sources' rows: sum 3 sources per asset, tiers, de-peg, caps.
    let all_rows: Vec<Vec<(&str, Decimal)>> = (0..ACCOUNTS).map(rows).collect();
    let books: Vec<Book> = all_rows
        .iter()
        .map(|r| Book::from_rows(&kernel, r.iter().copied()))
        .collect();
    let moved = price_table(97);
    let p: Vec<Option<Decimal>> = books[0]
        .lines
        .iter()
        .map(|l| moved[&l.asset].price)
        .collect();
    g.bench_function("revalue_10k_accounts_x10_assets_x3_sources", |b| {
        let mut scratch = Vec::with_capacity(10);
        b.iter(|| {
            let mut total = Decimal::ZERO;
            for r in &all_rows {
                let book = Book::from_rows(&kernel, r.iter().copied());
                total += kernel.cv(&book, &p, &mut scratch);
            }
            black_box(total)
        })
    });
    g.bench_function("revalue_10k_prebuilt_books", |b| {
        let mut scratch = Vec::with_capacity(10);
        b.iter(|| {
            let mut total = Decimal::ZERO;
            for book in &books {
                total += kernel.cv(book, &p, &mut scratch);
            }
            black_box(total)
        })
    });

    let reports = reports(&params);
    let library = default_library();
    g.bench_function("stress_5_scenarios_10k_accounts_records", |b| {
        b.iter(|| {
            for r in &reports {
                black_box(stress_report(&kernel, r, &library, "h", 1));
            }
        })
    });

    let history = history();
    let cfg = RiskConfig::default();
    let ctx = RiskContext {
        kernel: &kernel,
        cfg: &cfg,
        fallback: &library[0],
        history: &history,
        params_hash: "h",
        csv_sha256: None,
    };
    let job = RiskJob {
        accounts: reports.iter().cloned().map(|r| (r, 1)).collect(),
    };
    // A sample, so a filtered run (`-- revalue`) does not pay for a whole risk run here.
    let sample = RiskJob {
        accounts: job.accounts[..10].to_vec(),
    };
    let check = compute_all(&ctx, &sample, 2);
    assert_eq!(
        check[0].n_scenarios, 250,
        "the bench must run 250 scenarios"
    );
    assert!(check.iter().all(|r| r.es.is_some()));
    g.measurement_time(Duration::from_secs(30));
    g.bench_function("es_250_scenarios_10k_accounts_2_threads", |b| {
        b.iter(|| black_box(compute_all(&ctx, &job, 2)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
