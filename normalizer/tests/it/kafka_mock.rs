//! The Kafka sink against librdkafka's in-process mock cluster: topics, keys, headers, payloads,
//! partitions, and delivery through broker outages and injected produce errors.

use normalizer::publish::{kafka_partition, KafkaSettings, KafkaSink, Publisher};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{Offset, TopicPartitionList};
use rust_decimal_macros::dec;
use schemas::records::*;
use schemas::time::Ts;
use schemas::topics::{Record, TopicNames};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const T0: i64 = 1_795_000_000_000;

fn price_tick(base: &str, seq: u64) -> Record {
    Record::PriceTick(PriceTick {
        schema: PriceTickSchema,
        venue: "binance".into(),
        connector: "binance-spot".into(),
        venue_symbol: format!("{base}USDT").into(),
        instrument: format!("{base}-USDT").into(),
        base: base.into(),
        quote: "USDT".into(),
        market: Market::Spot,
        bid: Some(dec!(64003.25)),
        ask: Some(dec!(64003.26)),
        bid_size: Some(dec!(1.5)),
        ask_size: Some(dec!(0.25)),
        last: None,
        mark: None,
        index: None,
        exchange_ts: Some(Ts::from_millis(T0)),
        received_at: Ts::from_micros(T0 * 1000 + 123_456),
        sequence: Some(seq),
        epoch: 1,
    })
}

/// `pending` carries a sequence number so the test can check order and uniqueness.
fn balance(account: &str, source: &str, asset: &str, seq: u64) -> Record {
    Record::Balance(BalanceSnapshot {
        unrealized_pnl: None,
        schema: BalanceSchema,
        account: account.into(),
        source: source.into(),
        source_kind: SourceKind::Custodian,
        venue: "fireblocks".into(),
        sub_account: None,
        wallet: Some("vault-1".into()),
        asset: asset.into(),
        venue_asset: asset.to_lowercase(),
        network: None,
        total: dec!(12.5),
        available: dec!(10),
        locked: dec!(2.5),
        borrowed: None,
        pending: Some(rust_decimal::Decimal::from(seq)),
        as_of: Ts::from_millis(T0),
        received_at: Ts::from_millis(T0 + 5),
    })
}

fn reference_price() -> Record {
    Record::ReferencePrice(ReferencePrice {
        schema: ReferencePriceSchema,
        base: "BTC".into(),
        quote: "USD".into(),
        price: Some(dec!(64001.5)),
        status: PriceStatus::Ok,
        reasons: vec![],
        calc_time: Ts::from_millis(T0),
        seq: 7,
        conf: Some(dec!(1.25)),
        price_low: Some(dec!(64000.25)),
        price_high: Some(dec!(64002.75)),
        n_configured: 1,
        n_fresh: 1,
        n_valid: 1,
        last_good_price: Some(dec!(64001.5)),
        last_good_time: Some(Ts::from_millis(T0)),
        method_version: "median-v1".into(),
        params_hash: "abc123".into(),
        input_digest: "def456".into(),
        constituents: vec![Constituent {
            venue: "binance".into(),
            connector: "binance-spot".into(),
            instrument: "BTC-USDT".into(),
            bid: Some(dec!(64003.25)),
            ask: Some(dec!(64003.26)),
            last: None,
            source_price: Some(dec!(64003.255)),
            price_type: Some(PriceType::Mid),
            fx_rate: Some(dec!(0.99998)),
            price: Some(dec!(64001.5)),
            weight: Some(dec!(1)),
            exchange_ts: Some(Ts::from_millis(T0)),
            received_at: Some(Ts::from_millis(T0)),
            age_ms: Some(12),
            dev_bps: Some(dec!(0.00)),
            included: true,
            exclusion_reason: None,
        }],
    })
}

fn report(account: &str) -> Record {
    Record::CollateralReport(CollateralReport {
        reuse_value: None,
        reuse_cap: None,
        reuse_excess: None,
        schema: CollateralReportSchema,
        account: account.into(),
        calc_time: Ts::from_millis(T0),
        seq: 3,
        assets: vec![AssetValuation {
            mirrored: None,
            exchange_exposure: None,
            mirror_shortfall: None,
            pledged: None,
            unencumbered: None,
            overpledged: None,
            asset: "BTC".into(),
            quantity: dec!(12.5),
            by_source: vec![SourceQuantity {
                unrealized_pnl: None,
                source: "fireblocks-main".into(),
                quantity: dec!(12.5),
                as_of: Ts::from_millis(T0),
                stale: false,
                network: None,
                venue_asset: "BTC".into(),
                confirmed_at: Ts::from_millis(0),
            }],
            price: Some(dec!(64001.5)),
            price_status: PriceStatus::Ok,
            market_value: dec!(800018.75),
            tiers: vec![TierSlice {
                from: dec!(0),
                to: None,
                haircut: dec!(0.1),
                market_value: dec!(800018.75),
                collateral_value: dec!(720016.875),
            }],
            collateral_value_pre_cap: dec!(720016.875),
            cap_excess: dec!(0),
            collateral_value: dec!(720016.875),
            flags: vec![],
        }],
        market_value_total: dec!(800018.75),
        collateral_value_total: dec!(720016.875),
        requirement: Some(dec!(500000)),
        coverage: Some(dec!(1.44)),
        deficit: None,
        status: CollateralStatus::Ok,
        flags: vec![],
        method_version: "collateral-v1".into(),
        params_hash: "p".into(),
        input_digest: "i".into(),
        unmapped: vec![],
        missing_sources: vec![],
    })
}

fn feed_status() -> Record {
    Record::FeedStatus(FeedStatus {
        schema: FeedStatusSchema,
        connector: "binance-spot".into(),
        venue: "binance".into(),
        stream: "ticker:BTC-USDT".into(),
        state: FeedState::Live,
        epoch: 1,
        since: Ts::from_millis(T0),
        last_data_at: Some(Ts::from_millis(T0)),
        reason: None,
    })
}

fn settings(mock: &MockCluster<'_, impl rdkafka::ClientContext>, prefix: &str) -> KafkaSettings {
    KafkaSettings {
        brokers: mock.bootstrap_servers(),
        topic_prefix: prefix.into(),
        client_id: "kafka-mock-test".into(),
        // Without a spool a full queue is backpressure; the spool tests turn it on.
        spool: false,
        properties: BTreeMap::from([
            // Recover from an outage within the test's time budget.
            ("reconnect.backoff.ms".into(), "20".into()),
            ("reconnect.backoff.max.ms".into(), "200".into()),
            ("retry.backoff.ms".into(), "20".into()),
            ("retry.backoff.max.ms".into(), "200".into()),
            ("statistics.interval.ms".into(), "100".into()),
        ]),
        ..KafkaSettings::default()
    }
}

/// Creates the produced topics on the mock with 3 partitions, as an operator would beforehand.
fn precreate(mock: &MockCluster<'_, impl rdkafka::ClientContext>, prefix: &str) {
    for topic in TopicNames::new(prefix).produced() {
        mock.create_topic(topic, 3, 1).expect("create topic");
    }
}

struct Consumed {
    topic: String,
    partition: i32,
    key: String,
    headers: Vec<(String, String)>,
    payload: String,
}

/// Reads every partition of the produced topics from the beginning until `expected` messages
/// have arrived, then a little longer to catch duplicates.
async fn consume_all(brokers: &str, sink: &KafkaSink, expected: usize) -> Vec<Consumed> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "kafka-mock-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for topic in sink.topics().produced() {
        for p in 0..sink.partitions(topic).expect("partition count") {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .expect("offset");
        }
    }
    consumer.assign(&tpl).expect("assign");

    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut linger_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now >= deadline || linger_until.is_some_and(|t| now >= t) {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
            Ok(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                (
                                    h.key.to_owned(),
                                    String::from_utf8(h.value.unwrap_or_default().to_vec())
                                        .expect("utf-8 header"),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Consumed {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    key: String::from_utf8(m.key().expect("key").to_vec()).expect("utf-8 key"),
                    headers,
                    payload: String::from_utf8(m.payload().expect("payload").to_vec())
                        .expect("utf-8 payload"),
                });
                if out.len() >= expected && linger_until.is_none() {
                    linger_until = Some(Instant::now() + Duration::from_millis(500));
                }
            }
            Ok(Err(e)) => panic!("consume: {e}"),
            Err(_) => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_kind_lands_with_topic_key_headers_and_partition() {
    let mock = MockCluster::new(3).expect("mock cluster");
    let settings = settings(&mock, "mocktest");
    let sink = KafkaSink::connect(&settings).await.expect("connect");
    let names = TopicNames::new("mocktest");

    // Topics exist and their partition counts come from the cluster. librdkafka's mock cannot
    // create topics through the admin API (it names no controller), so the sink falls back to
    // auto-creation, which makes 4 partitions, not the 3 we asked for: the sink must use the
    // cluster's count rather than its own setting.
    for topic in names.produced() {
        assert_eq!(sink.partitions(topic), Some(4), "{topic}");
    }

    let mut records = vec![
        price_tick("BTC", 1),
        price_tick("ETH", 2),
        reference_price(),
        report("acct-1"),
        feed_status(),
    ];
    for (i, (account, source, asset)) in [
        ("acct-1", "fireblocks-main", "BTC"),
        ("acct-1", "fireblocks-main", "ETH"),
        ("acct-1", "kraken-main", "USDT"),
        ("acct-2", "fireblocks-main", "BTC"),
        ("acct-3", "kraken-main", "ETH"),
        ("acct-4", "kraken-main", "BTC"),
    ]
    .into_iter()
    .enumerate()
    {
        records.push(balance(account, source, asset, i as u64));
    }

    let run = sink.run_id().to_owned();
    let mut publisher = Publisher::new();
    publisher.add_kafka(sink);
    for rec in &records {
        publisher.publish(rec).await.expect("publish");
    }
    publisher
        .close(Duration::from_secs(10))
        .await
        .expect("close");
    let stats = publisher.kafka_stats().expect("kafka stats");
    assert_eq!(stats.enqueued, records.len() as u64);
    assert_eq!(stats.delivered, records.len() as u64);
    assert_eq!(stats.delivery_failures, 0);
    assert_eq!(stats.in_flight, 0);

    // A second sink on the same cluster only to read the topic layout.
    let reader_sink = KafkaSink::connect(&settings).await.expect("connect again");
    let got = consume_all(&mock.bootstrap_servers(), &reader_sink, records.len()).await;
    assert_eq!(got.len(), records.len(), "exactly the published records");

    for rec in &records {
        let payload = rec.to_json();
        let m = got
            .iter()
            .find(|m| m.payload == payload)
            .unwrap_or_else(|| panic!("record {} not consumed", rec.key()));
        assert_eq!(m.topic, rec.topic(&names));
        assert_eq!(m.key, rec.key());
        let mut headers = vec![
            ("schema".to_owned(), rec.schema().to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        if !matches!(rec, Record::PriceTick(_)) {
            // Loss-free kinds: the run and a per-key sequence (each key appears once here).
            headers.push(("producer_run".to_owned(), run.clone()));
            headers.push(("key_seq".to_owned(), "1".to_owned()));
        }
        assert_eq!(m.headers, headers);
        let parsed: serde_json::Value = serde_json::from_str(&m.payload).expect("json");
        let expected: serde_json::Value = serde_json::from_str(&payload).expect("json");
        assert_eq!(parsed, expected);
        // Balances: partition from the account alone. Everything else: librdkafka's
        // murmur2_random partitioner on the whole key, which must agree with Kafka's Java client.
        let expected_partition = kafka_partition(rec.partition_key().as_bytes(), 4);
        assert_eq!(
            m.partition,
            expected_partition,
            "partition of {}",
            rec.key()
        );
    }

    // All balances of one account share a partition, whatever their source and asset.
    let acct1: Vec<i32> = got
        .iter()
        .filter(|m| m.key.starts_with("acct-1/"))
        .map(|m| m.partition)
        .collect();
    assert_eq!(acct1.len(), 3);
    assert!(acct1.iter().all(|p| *p == kafka_partition(b"acct-1", 4)));
}

/// The `sequence` of a price tick or the `pending` of a balance: the test's per-key counter.
fn seq_of(payload: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(payload).expect("json");
    match v["schema"].as_str() {
        Some("price_tick.v1") => v["sequence"].as_u64().expect("sequence"),
        Some("balance.v1") => v["pending"]
            .as_str()
            .expect("pending")
            .parse()
            .expect("integer"),
        other => panic!("unexpected schema {other:?}"),
    }
}

fn workload(n: u64) -> Vec<Record> {
    (0..n)
        .map(|i| match i % 4 {
            0 => price_tick("BTC", i),
            1 => price_tick("ETH", i),
            2 => balance("acct-1", "fireblocks-main", "BTC", i),
            _ => balance("acct-2", "kraken-main", "USDT", i),
        })
        .collect()
}

fn assert_once_and_in_order(records: &[Record], got: &[Consumed], in_order: bool) {
    let mut per_key: HashMap<&str, Vec<u64>> = HashMap::new();
    for m in got {
        per_key.entry(&m.key).or_default().push(seq_of(&m.payload));
    }
    let mut expected: HashMap<String, Vec<u64>> = HashMap::new();
    for rec in records {
        expected
            .entry(rec.key())
            .or_default()
            .push(seq_of(&rec.to_json()));
    }
    assert_eq!(got.len(), records.len(), "every record exactly once");
    for (key, want) in &expected {
        let mut have = per_key.get(key.as_str()).cloned().unwrap_or_default();
        if !in_order {
            have.sort_unstable();
        }
        assert_eq!(&have, want, "records of key {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_and_retriable_errors_lose_nothing_and_keep_order() {
    let mock = MockCluster::new(1).expect("mock cluster");
    precreate(&mock, "outage");
    let mut settings = settings(&mock, "outage");
    // A small local queue, so the outage turns into backpressure on the sender.
    settings
        .properties
        .insert("queue.buffering.max.messages".into(), "20".into());
    let sink = KafkaSink::connect(&settings).await.expect("connect");
    assert_eq!(sink.partitions("outage.balances.v1"), Some(3));

    // Warm up: the idempotent producer has its producer id before the outage.
    let warmup = workload(4);
    for rec in &warmup {
        sink.send(rec).await.expect("send");
    }
    sink.flush(Duration::from_secs(10)).await.expect("flush");

    // Retriable produce errors, then the only broker goes away while records keep coming.
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        ],
    );
    mock.broker_down(1).expect("broker down");

    let during = workload(200).split_off(4);
    let started = Instant::now();
    let publish = async {
        for rec in &during {
            sink.send(rec)
                .await
                .expect("send never fails on a retriable outage");
        }
    };
    let outage = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Nothing can have been delivered while the broker is down.
        assert_eq!(sink.stats().delivered, warmup.len() as u64);
        mock.broker_up(1).expect("broker up");
    };
    tokio::join!(publish, outage);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "send blocked on the full queue until the broker came back"
    );
    sink.flush(Duration::from_secs(20)).await.expect("flush");

    let stats = sink.stats();
    let total = (warmup.len() + during.len()) as u64;
    assert_eq!(stats.enqueued, total);
    assert_eq!(stats.delivered, total);
    assert_eq!(
        stats.delivery_failures, 0,
        "retriable errors never fail a record"
    );
    assert!(
        stats.queue_full_waits > 0,
        "backpressure was used: {stats:?}"
    );
    assert_eq!(stats.in_flight, 0);

    let mut all = warmup.clone();
    all.extend(during);
    let got = consume_all(&mock.bootstrap_servers(), &sink, all.len()).await;
    assert_once_and_in_order(&all, &got, true);
    assert!(
        stats.client_error_reports > 0,
        "librdkafka reported the outage (and retried through it): {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_produce_errors_are_counted_and_redelivered() {
    let mock = MockCluster::new(1).expect("mock cluster");
    precreate(&mock, "reject");
    let sink = KafkaSink::connect(&settings(&mock, "reject"))
        .await
        .expect("connect");
    let first = workload(4);
    for rec in &first {
        sink.send(rec).await.expect("send");
    }
    sink.flush(Duration::from_secs(10)).await.expect("flush");

    // Errors librdkafka does not retry by itself: the records come back in delivery reports,
    // and the sink must send them again rather than drop them.
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
        ],
    );
    let second = workload(40).split_off(4);
    for rec in &second {
        sink.send(rec).await.expect("send");
    }
    sink.flush(Duration::from_secs(20)).await.expect("flush");

    let stats = sink.stats();
    assert!(stats.delivery_failures > 0, "failures counted: {stats:?}");
    assert_eq!(stats.redelivered, stats.delivery_failures);
    assert_eq!(stats.undeliverable, 0);
    assert_eq!(
        stats.delivered, stats.enqueued,
        "every record delivered in the end"
    );
    assert!(sink.take_failed().is_empty());

    let mut all = first;
    all.extend(second);
    let got = consume_all(&mock.bootstrap_servers(), &sink, all.len()).await;
    // A redelivered record lands after later records of its key, so only completeness and
    // uniqueness hold here.
    assert_once_and_in_order(&all, &got, false);
}

#[tokio::test]
async fn overrides_cannot_weaken_delivery_guarantees() {
    let mut s = KafkaSettings::new("127.0.0.1:1");
    s.properties.insert("acks".into(), "1".into());
    let err = KafkaSink::connect(&s).await.expect_err("refused");
    assert!(err.is_terminal(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_rejected_for_their_content_are_kept_for_spooling() {
    let mock = MockCluster::new(1).expect("mock cluster");
    precreate(&mock, "toolarge");
    let sink = KafkaSink::connect(&settings(&mock, "toolarge"))
        .await
        .expect("connect");

    // The broker refuses one produce request as too large: retrying the same bytes cannot help,
    // so the records of that request are handed back instead of looping or vanishing.
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE],
    );
    let rec = feed_status();
    sink.send(&rec).await.expect("enqueue");
    let err = sink
        .flush(Duration::from_secs(10))
        .await
        .expect_err("a rejected record is reported");
    assert!(err.is_terminal(), "{err}");

    let failed = sink.take_failed();
    assert_eq!(failed.len(), 1, "{err}");
    assert_eq!(failed[0].topic, rec.topic(sink.topics()));
    assert_eq!(failed[0].key.as_deref(), Some(rec.key().as_bytes()));
    assert_eq!(
        failed[0].payload.as_deref(),
        Some(rec.to_json().as_bytes()),
        "the payload survives for spooling"
    );
    let stats = sink.stats();
    assert_eq!(stats.undeliverable, 1);
    assert_eq!(stats.delivery_failures, 1);
    // Handed over, the sink is clean again and keeps working.
    sink.send(&rec).await.expect("send");
    sink.flush(Duration::from_secs(10)).await.expect("flush");
    assert_eq!(sink.stats().delivered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_the_client_size_limit_is_a_terminal_error() {
    let mock = MockCluster::new(1).expect("mock cluster");
    precreate(&mock, "oversize");
    let mut settings = settings(&mock, "oversize");
    settings
        .properties
        .insert("message.max.bytes".into(), "1000".into());
    let sink = KafkaSink::connect(&settings).await.expect("connect");
    let mut rec = feed_status();
    if let Record::FeedStatus(f) = &mut rec {
        f.reason = Some("x".repeat(2000));
    }
    let err = sink.send(&rec).await.expect_err("too large");
    assert!(err.is_terminal(), "{err}");
    assert!(err.to_string().contains("oversize.feed-status.v1"), "{err}");
}

/// Margin requirements produced to `<prefix>.margin-requirements.v1` reach the consumer, exact;
/// a malformed record is skipped, not fatal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn margin_requirements_are_consumed_from_their_topic() {
    use normalizer::publish::requirements::spawn_requirements_consumer;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let mock = MockCluster::new(1).expect("mock cluster");
    let topic = "collateral.margin-requirements.v1";
    mock.create_topic(topic, 1, 1).expect("create topic");
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .create()
        .unwrap();
    for (key, payload) in [
        ("fund-a", r#"{"account":"fund-a","requirement":"bad"}"#),
        (
            "fund-a",
            r#"{"account":"fund-a","requirement":"5000000.25","as_of":"2026-11-24T11:00:00.000000Z"}"#,
        ),
    ] {
        producer
            .send(
                FutureRecord::to(topic).key(key).payload(payload),
                Duration::from_secs(5),
            )
            .await
            .expect("produced");
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let settings = KafkaSettings {
        brokers: mock.bootstrap_servers(),
        ..KafkaSettings::default()
    };
    let task = spawn_requirements_consumer(&settings, tx).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a requirement within 20 s")
        .unwrap();
    assert_eq!(got.account, "fund-a");
    assert_eq!(got.requirement.to_string(), "5000000.25");
    task.abort();
}

// ---- The disk spool: a 60 s outage, and a shutdown during an outage -------------------------

/// One record of a steady mixed stream; `n[key]` counts records per key so each carries its
/// own 1, 2, 3, ... (payload `seq` for reference prices and reports, `pending` for balances,
/// `epoch` for feed statuses, `sequence` for ticks).
struct Stream {
    step: u64,
    n: HashMap<String, u64>,
}

impl Stream {
    fn new() -> Self {
        Stream {
            step: 0,
            n: HashMap::new(),
        }
    }

    fn next(&mut self) -> Record {
        let which = self.step % 10;
        self.step += 1;
        let mut count = |k: &str| {
            let c = self.n.entry(k.to_owned()).or_insert(0);
            *c += 1;
            *c
        };
        match which {
            0..=3 => {
                let base = ["BTC", "ETH", "SOL", "XRP"][which as usize];
                price_tick(base, count(&format!("tick/{base}")))
            }
            4 => balance(
                "acct-1",
                "fireblocks-main",
                "BTC",
                count("acct-1/fireblocks-main/BTC"),
            ),
            5 => balance(
                "acct-2",
                "kraken-main",
                "USDT",
                count("acct-2/kraken-main/USDT"),
            ),
            6 | 7 => {
                let base = if which == 6 { "BTC" } else { "ETH" };
                let mut r = reference_price();
                if let Record::ReferencePrice(p) = &mut r {
                    p.base = base.into();
                    p.seq = count(&format!("{base}-USD"));
                }
                r
            }
            8 => {
                let mut r = report("acct-1");
                if let Record::CollateralReport(c) = &mut r {
                    c.seq = count("acct-1");
                }
                r
            }
            _ => {
                let mut r = feed_status();
                if let Record::FeedStatus(f) = &mut r {
                    f.epoch = count("binance-spot/ticker:BTC-USDT");
                }
                r
            }
        }
    }
}

/// The per-key counter a [`Stream`] put in a payload.
fn stream_seq(v: &serde_json::Value) -> u64 {
    let field = match v["schema"].as_str().expect("schema") {
        "price_tick.v1" => "sequence",
        "balance.v1" => {
            return v["pending"]
                .as_str()
                .expect("pending")
                .parse()
                .expect("integer")
        }
        "feed_status.v1" => "epoch",
        _ => "seq",
    };
    v[field].as_u64().expect("counter")
}

/// Reads every partition of the produced topics from the beginning until nothing new arrives
/// for 3 s (the producer has flushed, so that is everything).
async fn consume_until_quiet(brokers: &str, sink: &KafkaSink) -> Vec<Consumed> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "kafka-spool-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for topic in sink.topics().produced() {
        for p in 0..sink.partitions(topic).expect("partition count") {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .expect("offset");
        }
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(3), consumer.recv()).await {
            Ok(Ok(m)) => out.push(Consumed {
                topic: m.topic().to_owned(),
                partition: m.partition(),
                key: String::from_utf8(m.key().expect("key").to_vec()).expect("utf-8 key"),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                (
                                    h.key.to_owned(),
                                    String::from_utf8_lossy(h.value.unwrap_or_default())
                                        .into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                payload: String::from_utf8(m.payload().expect("payload").to_vec())
                    .expect("utf-8 payload"),
            }),
            Ok(Err(e)) => panic!("consume: {e}"),
            Err(_) => break,
        }
    }
    out
}

fn header<'a>(m: &'a Consumed, name: &str) -> Option<&'a str> {
    m.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What the consumer saw, checked per key: loss-free kinds have every `key_seq` of every
/// producer run from 1 up with no gap, duplicate or reordering, runs in order, and the payload
/// counter 1..=n across runs; ticks are in order and end with the last one sent.
struct Verdict {
    loss_free: usize,
    ticks: usize,
}

fn verify(got: &[Consumed], sent: &HashMap<String, u64>, runs: &[&str]) -> Verdict {
    let mut loss_free: HashMap<&str, Vec<(usize, u64, u64)>> = HashMap::new();
    let mut ticks: HashMap<String, Vec<u64>> = HashMap::new();
    for m in got {
        let v: serde_json::Value = serde_json::from_str(&m.payload).expect("json");
        let counter = stream_seq(&v);
        if v["schema"] == "price_tick.v1" {
            ticks
                .entry(format!("tick/{}", v["base"].as_str().unwrap()))
                .or_default()
                .push(counter);
            assert!(header(m, "key_seq").is_none(), "ticks carry no key_seq");
            continue;
        }
        let run = header(m, "producer_run").expect("producer_run header");
        let run_index = runs
            .iter()
            .position(|r| *r == run)
            .unwrap_or_else(|| panic!("unknown run {run}"));
        let key_seq: u64 = header(m, "key_seq")
            .expect("key_seq header")
            .parse()
            .expect("integer");
        loss_free
            .entry(&m.key)
            .or_default()
            .push((run_index, key_seq, counter));
    }
    let mut n_loss_free = 0;
    for (key, seen) in &loss_free {
        let want = sent[*key];
        let counters: Vec<u64> = seen.iter().map(|s| s.2).collect();
        assert_eq!(
            counters,
            (1..=want).collect::<Vec<_>>(),
            "{key}: every record once, in order"
        );
        let mut expect_run = 0;
        let mut expect_seq = 1;
        for &(run, key_seq, _) in seen {
            if run != expect_run {
                assert!(run > expect_run, "{key}: run {run} after run {expect_run}");
                expect_run = run;
                expect_seq = 1;
            }
            assert_eq!(key_seq, expect_seq, "{key}: key_seq in run {run}");
            expect_seq += 1;
        }
        n_loss_free += seen.len();
    }
    let loss_free_keys = sent.keys().filter(|k| !k.starts_with("tick/")).count();
    assert_eq!(
        loss_free.len(),
        loss_free_keys,
        "every loss-free key arrived"
    );
    let mut n_ticks = 0;
    for (key, seen) in &ticks {
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "{key}: ticks in order: {seen:?}"
        );
        assert_eq!(seen.last(), sent.get(key), "{key}: the last tick arrives");
        n_ticks += seen.len();
    }
    Verdict {
        loss_free: n_loss_free,
        ticks: n_ticks,
    }
}

fn spool_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("seg-"))
                .collect()
        })
        .unwrap_or_default()
}

async fn timed_send(sink: &KafkaSink, rec: &Record, max: &mut Duration) {
    let started = Instant::now();
    sink.send(rec).await.expect("send never fails on an outage");
    *max = (*max).max(started.elapsed());
}

/// The broker is down for 60 s (`KAFKA_OUTAGE_SECS` to change) while the pipeline keeps
/// publishing 100 records/s; librdkafka may hold only 50, so loss-free records spool to disk
/// and ticks conflate. Nothing blocks the sender, nothing is lost or reordered per key, and
/// the spool is empty again once the broker is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60s_broker_outage_spools_to_disk_and_loses_nothing() {
    let outage = Duration::from_secs(
        std::env::var("KAFKA_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let mock = MockCluster::new(1).expect("mock cluster");
    precreate(&mock, "spool");
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(&mock, "spool");
    settings.spool = true;
    settings.spool_dir = dir.path().to_owned();
    settings.spool_after_in_flight = 50;
    settings.spool_fsync_ms = 1000;
    let sink = KafkaSink::connect(&settings).await.expect("connect");
    let mut stream = Stream::new();
    let mut max_send = Duration::ZERO;
    // Warm up for 1 s with the broker up.
    for _ in 0..100 {
        timed_send(&sink, &stream.next(), &mut max_send).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sink.flush(Duration::from_secs(10)).await.expect("flush");

    mock.broker_down(1).expect("broker down");
    let down_at = Instant::now();
    let mut during = 0;
    while down_at.elapsed() < outage {
        timed_send(&sink, &stream.next(), &mut max_send).await;
        during += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let at_peak = sink.stats();
    assert_eq!(
        at_peak.delivered, 100,
        "nothing delivered while the broker is down"
    );
    assert!(!spool_files(dir.path()).is_empty(), "records are on disk");
    mock.broker_up(1).expect("broker up");
    // The stream goes on while the spool drains.
    for _ in 0..300 {
        timed_send(&sink, &stream.next(), &mut max_send).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drain_started = Instant::now();
    sink.close(Duration::from_secs(60)).await.expect("close");
    let drain_tail = drain_started.elapsed();

    let stats = sink.stats();
    println!(
        "outage {:?}: {during} records published during it; max send {:?}; {stats:?}; final flush {:?}",
        outage, max_send, drain_tail
    );
    assert!(
        max_send < Duration::from_secs(1),
        "send never waits on the broker: {max_send:?}"
    );
    // 6 of 10 records are loss-free; all but the 50 librdkafka holds go to disk.
    assert!(stats.spooled > during / 3, "the spool was used: {stats:?}");
    assert_eq!(stats.drained, stats.spooled, "every spooled record drained");
    assert_eq!(stats.spooled_at_shutdown, 0);
    assert_eq!(stats.spool_depth, 0, "{stats:?}");
    assert!(stats.spool_max_depth > during / 3, "{stats:?}");
    assert!(
        stats.conflated_ticks > during / 5,
        "ticks conflated: {stats:?}"
    );
    assert_eq!(stats.delivered, stats.enqueued + stats.drained, "{stats:?}");
    assert_eq!(stats.in_flight, 0);
    assert!(
        spool_files(dir.path()).is_empty(),
        "delivered segments are deleted: {:?}",
        spool_files(dir.path())
    );

    let got = consume_until_quiet(&mock.bootstrap_servers(), &sink).await;
    let verdict = verify(&got, &stream.n, &[sink.run_id()]);
    let sent_total = stream.step as usize;
    let sent_ticks: u64 = stream
        .n
        .iter()
        .filter(|(k, _)| k.starts_with("tick/"))
        .map(|(_, n)| n)
        .sum();
    println!(
        "consumed {} loss-free records (all of them), {} of {sent_ticks} ticks; {sent_total} published",
        verdict.loss_free, verdict.ticks
    );
    assert_eq!(verdict.loss_free as u64 + sent_ticks, sent_total as u64);
    assert!((verdict.ticks as u64) < sent_ticks, "ticks were conflated");
    assert_eq!(
        verdict.ticks as u64 + stats.conflated_ticks,
        sent_ticks,
        "every tick delivered or counted as conflated"
    );
}

/// The broker is down when the tracker stops: after the grace period what librdkafka still
/// holds joins the spool in its place, and the next start (a new sink on the same directory)
/// sends all of it before its own records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_during_an_outage_spools_the_rest_and_the_next_run_sends_it_first() {
    let mock = MockCluster::new(1).expect("mock cluster");
    precreate(&mock, "restart");
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(&mock, "restart");
    settings.spool = true;
    settings.spool_dir = dir.path().to_owned();
    settings.spool_after_in_flight = 20;
    settings.spool_fsync_ms = 0;
    let mut stream = Stream::new();

    let first = KafkaSink::connect(&settings).await.expect("connect");
    for _ in 0..30 {
        first.send(&stream.next()).await.expect("send");
    }
    first.flush(Duration::from_secs(10)).await.expect("flush");
    mock.broker_down(1).expect("broker down");
    for _ in 0..300 {
        first.send(&stream.next()).await.expect("send");
    }
    let started = Instant::now();
    first
        .close(Duration::from_millis(500))
        .await
        .expect("a close that spools everything succeeds");
    let closing = started.elapsed();
    let s1 = first.stats();
    println!("first run: close took {closing:?}; {s1:?}");
    assert!(closing < Duration::from_secs(5), "{closing:?}");
    assert!(s1.spooled_at_shutdown > 0, "{s1:?}");
    assert!(s1.spooled_at_shutdown <= 20, "{s1:?}");
    assert_eq!(s1.in_flight, 0, "nothing left in memory: {s1:?}");
    let first_run = first.run_id().to_owned();
    drop(first);
    assert!(!spool_files(dir.path()).is_empty());

    mock.broker_up(1).expect("broker up");
    // A new run on the same spool (a restart).
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = KafkaSink::connect(&settings).await.expect("connect again");
    assert_ne!(second.run_id(), first_run);
    for _ in 0..50 {
        second.send(&stream.next()).await.expect("send");
    }
    second.close(Duration::from_secs(30)).await.expect("close");
    let s2 = second.stats();
    println!("second run: {s2:?}");
    assert!(
        s2.drained >= 200,
        "the earlier run's spool was sent: {s2:?}"
    );
    assert_eq!(s2.spool_depth, 0);
    assert!(spool_files(dir.path()).is_empty());

    let got = consume_until_quiet(&mock.bootstrap_servers(), &second).await;
    let verdict = verify(&got, &stream.n, &[&first_run, second.run_id()]);
    println!(
        "consumed {} loss-free records over two runs, {} ticks",
        verdict.loss_free, verdict.ticks
    );
    let loss_free_sent: u64 = stream
        .n
        .iter()
        .filter(|(k, _)| !k.starts_with("tick/"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(verdict.loss_free as u64, loss_free_sent);
}
