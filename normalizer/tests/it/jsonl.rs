//! The JSON lines sink: one `Record::to_json()` per line, appended, through the fan-out
//! publisher as well as directly.

use normalizer::publish::{JsonlSink, Publisher};
use rust_decimal_macros::dec;
use schemas::records::*;
use schemas::time::Ts;
use schemas::topics::Record;
use std::time::Duration;

const T0: i64 = 1_795_000_000_000;

fn records() -> Vec<Record> {
    vec![
        Record::PriceTick(PriceTick {
            schema: PriceTickSchema,
            venue: "kraken".into(),
            connector: "kraken-spot".into(),
            venue_symbol: "XBT/USD".into(),
            instrument: "BTC-USD".into(),
            base: "BTC".into(),
            quote: "USD".into(),
            market: Market::Spot,
            bid: Some(dec!(64003.25)),
            ask: Some(dec!(64003.50)),
            bid_size: None,
            ask_size: None,
            last: Some(dec!(0.00000001)),
            mark: None,
            index: None,
            exchange_ts: None,
            received_at: Ts::from_micros(T0 * 1000 + 1),
            sequence: None,
            epoch: 3,
        }),
        Record::Balance(BalanceSnapshot {
            unrealized_pnl: None,
            schema: BalanceSchema,
            account: "acct-1".into(),
            source: "kraken-main".into(),
            source_kind: SourceKind::Exchange,
            venue: "kraken".into(),
            sub_account: Some("sub \"quoted\" / ünïcode".into()),
            wallet: None,
            asset: "BTC".into(),
            venue_asset: "XXBT".into(),
            network: None,
            total: dec!(1.10),
            available: dec!(1.00),
            locked: dec!(0.10),
            borrowed: None,
            pending: None,
            as_of: Ts::from_millis(T0),
            received_at: Ts::from_millis(T0),
        }),
        Record::FeedStatus(FeedStatus {
            schema: FeedStatusSchema,
            connector: "kraken-spot".into(),
            venue: "kraken".into(),
            stream: "ticker:BTC-USD".into(),
            state: FeedState::Stale,
            epoch: 3,
            since: Ts::from_millis(T0),
            last_data_at: None,
            reason: Some("no data for 12.0 s (expected every 1 s)\nsecond line".into()),
        }),
    ]
}

fn read_lines(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read back");
    assert!(text.ends_with('\n'), "every line is terminated");
    text.lines().map(str::to_owned).collect()
}

#[test]
fn each_record_is_one_line_equal_to_to_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("records.jsonl");
    let recs = records();

    let mut sink = JsonlSink::open(path.to_str().expect("utf-8 path")).expect("open");
    for rec in &recs {
        sink.write(rec).expect("write");
    }
    sink.flush().expect("flush");
    assert_eq!(sink.lines(), recs.len() as u64);

    let lines = read_lines(&path);
    assert_eq!(lines.len(), recs.len());
    for (line, rec) in lines.iter().zip(&recs) {
        assert_eq!(line, &rec.to_json(), "byte for byte");
        let parsed: serde_json::Value = serde_json::from_str(line).expect("each line parses");
        assert_eq!(parsed["schema"], rec.schema());
        // Decimals stay strings on the wire (house rule 1).
        if let Record::Balance(_) = rec {
            assert_eq!(parsed["total"], "1.10");
        }
    }
}

#[test]
fn reopening_appends_instead_of_truncating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("append.jsonl");
    let path_str = path.to_str().expect("utf-8 path");
    let recs = records();

    for rec in &recs {
        let mut sink = JsonlSink::open(path_str).expect("open");
        sink.write(rec).expect("write");
        sink.flush().expect("flush");
    }
    let lines = read_lines(&path);
    let expected: Vec<String> = recs.iter().map(Record::to_json).collect();
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn publisher_fans_out_to_every_jsonl_sink_and_flushes_on_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let mut publisher = Publisher::new();
    publisher.add_jsonl(JsonlSink::open(a.to_str().expect("utf-8")).expect("open a"));
    publisher.add_jsonl(JsonlSink::open(b.to_str().expect("utf-8")).expect("open b"));
    assert!(publisher.kafka_stats().is_none());

    let recs = records();
    for rec in &recs {
        publisher.publish(rec).await.expect("publish");
    }
    publisher
        .close(Duration::from_secs(1))
        .await
        .expect("close");

    let expected: Vec<String> = recs.iter().map(Record::to_json).collect();
    assert_eq!(read_lines(&a), expected);
    assert_eq!(read_lines(&b), expected);
}

#[test]
fn unwritable_path_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("missing-dir").join("x.jsonl");
    assert!(JsonlSink::open(path.to_str().expect("utf-8")).is_err());
}
