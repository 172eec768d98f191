//! Daily fixings: the CSV format and its refusals, the redb store (import, precedence, restart,
//! a writer killed mid-transaction), and fixings taken from the reference-price stream.

use crate::margin_support::rp_at;
use normalizer::margin::fixings::{
    day_of, format_day, parse_csv, parse_day, read_csv, Fixing, FixingRecorder, FixingStore,
    FixingsError,
};
use rust_decimal_macros::dec;
use schemas::{PriceStatus, Ts};

const CSV: &str =
    "date,asset,price\n2026-11-20,BTC,64000.5\n2026-11-21,BTC,65010\n\n2026-11-21,SOL,150.15\n";

fn ts(s: &str) -> Ts {
    Ts::parse_rfc3339(s).unwrap()
}

fn line_of(e: FixingsError) -> (usize, String) {
    match e {
        FixingsError::Csv { line, message } => (line, message),
        other => panic!("not a CSV error: {other}"),
    }
}

#[test]
fn csv_is_read_exactly_and_bad_files_are_refused_with_the_line() {
    let f = parse_csv(CSV).unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(
        (
            f[0].asset.as_str(),
            format_day(f[0].day),
            f[0].price.to_string()
        ),
        ("BTC", "2026-11-20".into(), "64000.5".into())
    );
    assert_eq!(f[2].price, dec!(150.15));
    assert_eq!(
        parse_day("2026-11-20"),
        Some(day_of(ts("2026-11-20T23:59:59Z")))
    );
    let (line, msg) = line_of(parse_csv("day,asset,price\n").unwrap_err());
    assert_eq!(line, 1, "{msg}");
    let (line, msg) =
        line_of(parse_csv("date,asset,price\n2026-11-20,BTC,1\n2026-11-21,BTC,-3\n").unwrap_err());
    assert_eq!(line, 3);
    assert!(msg.contains("positive"), "{msg}");
    let (line, _) =
        line_of(parse_csv("date,asset,price\n2026-11-20,BTC,1\n\n2026-13-01,BTC,1\n").unwrap_err());
    assert_eq!(line, 4);
    let (line, _) = line_of(parse_csv("date,asset,price\n2026-11-20,BTC\n").unwrap_err());
    assert_eq!(line, 2);
    let (line, msg) =
        line_of(parse_csv("date,asset,price\n2026-11-20,BTC,1\n2026-11-20,BTC,2\n").unwrap_err());
    assert_eq!(line, 3);
    assert!(msg.contains("line 2"), "{msg}");
    let (line, _) = line_of(parse_csv("date,asset,price\n2026-11-20,btc!,1\n").unwrap_err());
    assert_eq!(line, 2);
}

#[test]
fn import_list_and_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/fixings.redb");
    let store = FixingStore::open(&path).unwrap();
    let csv = dir.path().join("history.csv");
    std::fs::write(&csv, CSV).unwrap();
    let (fixings, sha) = read_csv(&csv).unwrap();
    assert_eq!(sha.len(), 64);
    let s = store.import(&fixings, &sha).unwrap();
    assert_eq!((s.added, s.kept), (3, 0));
    // A second CSV with another price for a stored day: the stored fixing wins.
    let other = parse_csv("date,asset,price\n2026-11-21,BTC,1\n2026-11-22,BTC,66000\n").unwrap();
    let s = store.import(&other, "beef").unwrap();
    assert_eq!((s.added, s.kept), (1, 1));
    let btc = store.list(Some("BTC")).unwrap();
    let rows: Vec<(String, String, String)> = btc
        .iter()
        .map(|f| (format_day(f.day), f.price.to_string(), f.source.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("2026-11-20".into(), "64000.5".into(), format!("csv:{sha}")),
            ("2026-11-21".into(), "65010".into(), format!("csv:{sha}")),
            ("2026-11-22".into(), "66000".into(), "csv:beef".into()),
        ]
    );
    assert_eq!(store.list(None).unwrap().len(), 4);
    assert!(store.list(Some("ETH")).unwrap().is_empty());
    // A live fixing replaces an imported one, never a live one.
    let day = parse_day("2026-11-21").unwrap();
    assert!(store
        .record(&Fixing {
            asset: "BTC".into(),
            day,
            price: dec!(65011.25)
        })
        .unwrap());
    assert!(!store
        .record(&Fixing {
            asset: "BTC".into(),
            day,
            price: dec!(1)
        })
        .unwrap());
    let h = store.history().unwrap();
    assert_eq!(h.prices("BTC").unwrap()[&day], dec!(65011.25));
    assert_eq!(h.last_day_at_or_before("BTC", day + 10), Some(day + 1));
    assert_eq!(h.digest("BTC").map(str::len), Some(64));
}

#[test]
fn fixings_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fixings.redb");
    {
        let store = FixingStore::open(&path).unwrap();
        store.import(&parse_csv(CSV).unwrap(), "aa").unwrap();
    }
    let store = FixingStore::open(&path).unwrap();
    let all = store.list(None).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].asset, "SOL");
    assert_eq!(all[2].price, dec!(150.15));
}

const CRASH_ENV: &str = "MARGIN_FIXINGS_CRASH_PATH";

/// Commits 3 fixings, then writes 20,000 more in a transaction that never commits. In the
/// child process of `a_writer_killed_mid_transaction_loses_only_that_transaction` it then
/// aborts the process (no destructor runs, no commit); run directly, it drops the transaction
/// and checks that nothing of it is visible.
#[test]
fn crash_child_writer() {
    let (dir, path) = match std::env::var_os(CRASH_ENV) {
        Some(p) => (None, std::path::PathBuf::from(p)),
        None => {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("fixings.redb");
            (Some(d), p)
        }
    };
    let store = FixingStore::open(&path).unwrap();
    store.import(&parse_csv(CSV).unwrap(), "committed").unwrap();
    let many: Vec<Fixing> = (0..20_000)
        .map(|i| Fixing {
            asset: "ETH".into(),
            day: i,
            price: dec!(3000.25),
        })
        .collect();
    store
        .with_uncommitted(&many, || {
            if dir.is_none() {
                std::process::abort();
            }
        })
        .unwrap();
    assert_eq!(store.list(Some("ETH")).unwrap().len(), 0);
    assert_eq!(store.list(None).unwrap().len(), 3);
}

#[test]
fn a_writer_killed_mid_transaction_loses_only_that_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fixings.redb");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "margin_fixings::crash_child_writer",
            "--exact",
            "--test-threads=1",
        ])
        .env(CRASH_ENV, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have been killed");
    // The file opens (redb repairs it if needed) with exactly the committed transaction.
    let store = FixingStore::open(&path).unwrap();
    let all = store.list(None).unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.iter().all(|f| f.source == "csv:committed"));
    // And takes writes again.
    assert!(store
        .record(&Fixing {
            asset: "ETH".into(),
            day: 1,
            price: dec!(1)
        })
        .unwrap());
}

#[test]
fn live_fixings_are_the_last_good_price_at_or_before_midnight() {
    let mut r = FixingRecorder::default();
    let ok = |p, at| rp_at("BTC", p, PriceStatus::Ok, ts(at));
    assert_eq!(r.observe(&ok(dec!(100), "2026-11-23T23:50:00Z")), None);
    // A DEGRADED price before midnight counts; a STALE one does not.
    assert_eq!(
        r.observe(&rp_at(
            "BTC",
            dec!(100.5),
            PriceStatus::Degraded,
            ts("2026-11-23T23:55:00Z")
        )),
        None
    );
    assert_eq!(
        r.observe(&rp_at(
            "BTC",
            dec!(99),
            PriceStatus::Stale,
            ts("2026-11-23T23:59:59Z")
        )),
        None
    );
    let day = parse_day("2026-11-24").unwrap();
    let f = r.observe(&rp_at(
        "BTC",
        dec!(101),
        PriceStatus::Stale,
        ts("2026-11-24T00:00:30Z"),
    ));
    assert_eq!(
        f,
        Some(Fixing {
            asset: "BTC".into(),
            day,
            price: dec!(100.5)
        })
    );
    // Later the same day: the fixing is taken.
    assert_eq!(r.observe(&ok(dec!(102), "2026-11-24T00:05:00Z")), None);
    assert_eq!(r.observe(&ok(dec!(103), "2026-11-24T12:00:00Z")), None);
    // A price stamped exactly at midnight is that day's fixing.
    assert_eq!(r.observe(&ok(dec!(104), "2026-11-25T00:00:00Z")), None);
    let f = r.observe(&rp_at(
        "BTC",
        dec!(105),
        PriceStatus::Unavailable,
        ts("2026-11-25T00:00:01Z"),
    ));
    assert_eq!(f.map(|f| (f.day, f.price)), Some((day + 1, dec!(104))));
    // Another asset is its own series; a non-USD quote is no fixing.
    let mut eur = ok(dec!(1), "2026-11-26T00:00:01Z");
    eur.quote = "EUR".into();
    assert_eq!(r.observe(&eur), None);
}

#[test]
fn a_risk_setup_seeds_the_store_from_the_configured_csv_and_runs() {
    use crate::margin_support::{c4, report_day};
    use normalizer::margin::config::{RiskConfig, StressConfig};
    use normalizer::margin::risk::RiskJob;
    use normalizer::margin::RiskSetup;
    use normalizer::valuation::ValuationParams;
    let dir = tempfile::tempdir().unwrap();
    // 70 days of BTC and SOL ending on the report's day: BTC up 1 % a day, SOL flat.
    let mut csv = String::from("date,asset,price\n");
    for d in 0..70i64 {
        let day = format_day(report_day() - 69 + d);
        csv += &format!("{day},BTC,{}\n{day},SOL,150\n", 1000 + 10 * d);
    }
    std::fs::write(dir.path().join("history.csv"), &csv).unwrap();
    let cfg = RiskConfig {
        fixings_csv: Some("history.csv".into()),
        ..RiskConfig::default()
    };
    let mut setup = RiskSetup::new(
        &ValuationParams::default(),
        "vh",
        &cfg,
        &StressConfig::default(),
    );
    assert_eq!(setup.fallback.name, "okx_mr6_down");
    let store = FixingStore::open(&dir.path().join("f.redb")).unwrap();
    let summary = setup.seed(&store, Some(dir.path())).unwrap().unwrap();
    assert_eq!((summary.added, summary.kept), (140, 0));
    assert_eq!(setup.csv_sha256.as_deref().map(str::len), Some(64));
    let job = RiskJob {
        accounts: vec![(c4(Some(dec!(5000000))), 1)],
    };
    let r = setup.run(&store.history().unwrap(), &job, 2).remove(0);
    // BTC: 68 two-day returns; SOL (5-day horizon): 65. Both enough for 60.
    assert_eq!(r.n_scenarios, 65);
    assert_eq!(r.history_to.as_deref(), Some("2026-11-24"));
    // SOL never moves and BTC only rises: no scenario loses, ES and VaR are gains.
    assert!(r.es.unwrap() < rust_decimal::Decimal::ZERO, "{:?}", r.es);
    assert!(r.flags.is_empty(), "{:?}", r.flags);
}
