//! End-to-end check of what the tracker wrote to a real Kafka-protocol broker.
//!
//! Opt-in (`#[ignore]`): `scripts/kafka-e2e.sh` starts a broker, runs the tracker against it and
//! then runs this test with `KAFKA_E2E_BROKERS` (and optionally `KAFKA_E2E_TOPIC_PREFIX`, default
//! `collateral`). It reads the five produced topics from the beginning, past their high
//! watermarks until they go quiet, and checks every record against records.md: topic by schema, key recomputed from
//! the payload, headers, payload shape (the typed records reject unknown fields), the balance
//! partition (murmur2 of the account) and `seq` order per key. Every loss-free record
//! (balance, reference price, report, feed status) must carry `producer_run` and `key_seq`
//! headers, and per run and key `key_seq` must go 1, 2, 3, ... with no gap, duplicate or
//! reordering: the check `scripts/kafka-e2e.sh` relies on after its broker outage.

use anyhow::{bail, ensure, Context, Result};
use normalizer::publish::kafka_partition;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use schemas::records::{BalanceSnapshot, CollateralReport, FeedStatus, PriceTick, ReferencePrice};
use schemas::topics::TopicNames;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Quiet time after which the topics are taken as fully read.
const IDLE: Duration = Duration::from_secs(3);

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    v.get(field)
        .and_then(Value::as_str)
        .with_context(|| format!("field {field} missing or not a string"))
}

/// The topic and key records.md assigns to a payload, recomputed from its fields.
fn expected_topic_and_key<'a>(names: &'a TopicNames, v: &Value) -> Result<(&'a str, String)> {
    let schema = text(v, "schema")?;
    Ok(match schema {
        "price_tick.v1" => (&names.prices, text(v, "base")?.to_owned()),
        "reference_price.v1" => (
            &names.reference_prices,
            format!("{}-{}", text(v, "base")?, text(v, "quote")?),
        ),
        "feed_status.v1" => (
            &names.feed_status,
            format!("{}/{}", text(v, "connector")?, text(v, "stream")?),
        ),
        "balance.v1" => (
            &names.balances,
            format!(
                "{}/{}/{}",
                text(v, "account")?,
                text(v, "source")?,
                text(v, "asset")?
            ),
        ),
        "collateral_report.v1" => (&names.reports, text(v, "account")?.to_owned()),
        other => bail!("unknown schema {other:?}"),
    })
}

/// The payload must also be a valid instance of the typed record (unknown fields rejected).
fn check_shape(schema: &str, payload: &str) -> Result<()> {
    match schema {
        "price_tick.v1" => serde_json::from_str::<PriceTick>(payload).map(drop),
        "reference_price.v1" => serde_json::from_str::<ReferencePrice>(payload).map(drop),
        "feed_status.v1" => serde_json::from_str::<FeedStatus>(payload).map(drop),
        "balance.v1" => serde_json::from_str::<BalanceSnapshot>(payload).map(drop),
        "collateral_report.v1" => serde_json::from_str::<CollateralReport>(payload).map(drop),
        other => bail!("unknown schema {other:?}"),
    }
    .with_context(|| format!("payload is not a valid {schema}"))
}

#[tokio::test]
#[ignore = "needs a Kafka-protocol broker: run scripts/kafka-e2e.sh"]
async fn produced_topics_hold_valid_records() -> Result<()> {
    let brokers = std::env::var("KAFKA_E2E_BROKERS")
        .context("KAFKA_E2E_BROKERS is not set (run scripts/kafka-e2e.sh)")?;
    let prefix = std::env::var("KAFKA_E2E_TOPIC_PREFIX")
        .unwrap_or_else(|_| TopicNames::DEFAULT_PREFIX.to_owned());
    let names = TopicNames::new(&prefix);

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "collateral-tracker-e2e")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .context("consumer")?;

    // Every partition of every produced topic, read from the beginning to the high watermark
    // seen now (the tracker has stopped, so that is everything it wrote).
    let mut tpl = TopicPartitionList::new();
    let mut remaining: HashMap<(String, i32), i64> = HashMap::new();
    let mut partition_counts: HashMap<String, i32> = HashMap::new();
    for topic in names.produced() {
        let md = consumer
            .fetch_metadata(Some(topic), METADATA_TIMEOUT)
            .with_context(|| format!("metadata of {topic}"))?;
        let mt = md
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .with_context(|| format!("topic {topic} missing"))?;
        ensure!(
            mt.error().is_none(),
            "topic {topic}: {:?}",
            mt.error().map(rdkafka::error::RDKafkaErrorCode::from)
        );
        let count = i32::try_from(mt.partitions().len())?;
        ensure!(count > 0, "topic {topic} has no partitions");
        partition_counts.insert(topic.to_owned(), count);
        for p in 0..count {
            let (low, high) = consumer
                .fetch_watermarks(topic, p, METADATA_TIMEOUT)
                .with_context(|| format!("watermarks of {topic}/{p}"))?;
            tpl.add_partition_offset(topic, p, Offset::Beginning)?;
            if high > low {
                remaining.insert((topic.to_owned(), p), high);
            }
        }
    }
    consumer.assign(&tpl)?;

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_seq: HashMap<(String, String), u64> = HashMap::new();
    // (topic, key, producer_run) -> last key_seq.
    let mut last_key_seq: HashMap<(String, String, String), u64> = HashMap::new();
    let mut runs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        ensure!(
            !left.is_zero(),
            "timed out; unread partitions: {remaining:?}"
        );
        let m = match tokio::time::timeout(left.min(IDLE), consumer.recv()).await {
            Ok(m) => m.context("consume")?,
            // Done when every partition reached the high watermark seen at the start and
            // nothing more arrives (some Kafka-protocol brokers report a low high watermark,
            // so the watermark alone is not trusted as the end).
            Err(_) if remaining.is_empty() => break,
            Err(_) => continue,
        };
        let topic = m.topic().to_owned();
        let partition = m.partition();
        let at = format!("{topic}/{partition}@{}", m.offset());
        if let Some(high) = remaining.get(&(topic.clone(), partition)) {
            if m.offset() + 1 >= *high {
                remaining.remove(&(topic.clone(), partition));
            }
        }

        let payload =
            std::str::from_utf8(m.payload().with_context(|| format!("{at}: no payload"))?)
                .with_context(|| format!("{at}: payload not UTF-8"))?;
        let v: Value =
            serde_json::from_str(payload).with_context(|| format!("{at}: payload not JSON"))?;
        let schema = text(&v, "schema").with_context(|| at.clone())?;
        check_shape(schema, payload).with_context(|| at.clone())?;

        let (want_topic, want_key) =
            expected_topic_and_key(&names, &v).with_context(|| at.clone())?;
        ensure!(
            topic == want_topic,
            "{at}: {schema} belongs in {want_topic}"
        );
        let key = std::str::from_utf8(m.key().with_context(|| format!("{at}: no key"))?)
            .with_context(|| format!("{at}: key not UTF-8"))?;
        ensure!(
            key == want_key,
            "{at}: key {key:?}, records.md says {want_key:?}"
        );

        let mut headers: HashMap<&str, &[u8]> = HashMap::new();
        if let Some(h) = m.headers() {
            for h in h.iter() {
                headers.insert(h.key, h.value.unwrap_or_default());
            }
        }
        ensure!(
            headers.get("schema") == Some(&schema.as_bytes()),
            "{at}: header schema does not match payload schema {schema}"
        );
        ensure!(
            headers.get("content-type") == Some(&b"application/json".as_slice()),
            "{at}: header content-type is not application/json"
        );

        if schema != "price_tick.v1" {
            let header = |name: &str| -> Result<String> {
                let v = headers
                    .get(name)
                    .with_context(|| format!("{at}: {schema} without a {name} header"))?;
                Ok(std::str::from_utf8(v)
                    .with_context(|| format!("{at}: {name} header not UTF-8"))?
                    .to_owned())
            };
            let run = header("producer_run")?;
            let key_seq: u64 = header("key_seq")?
                .parse()
                .with_context(|| format!("{at}: key_seq not an integer"))?;
            let prev = last_key_seq
                .insert((topic.clone(), want_key.clone(), run.clone()), key_seq)
                .unwrap_or(0);
            ensure!(
                key_seq == prev + 1,
                "{at}: {want_key} key_seq {prev} then {key_seq} (run {run}): a record lost, duplicated or reordered"
            );
            runs.insert(run);
        }

        if schema == "balance.v1" {
            let account = text(&v, "account")?;
            let want = kafka_partition(account.as_bytes(), partition_counts[&topic]);
            ensure!(
                partition == want,
                "{at}: balance of {account} belongs in partition {want}"
            );
        }
        if let Some(seq) = v.get("seq").and_then(Value::as_u64) {
            // reference_price.v1: "+1 for every record of the same key, so a consumer sees any
            // gap" (records.md); one key lives in one partition, so this checks order and
            // exactly-once delivery too. Reports: at least strictly increasing.
            if let Some(prev) = last_seq.insert((schema.to_owned(), want_key.clone()), seq) {
                if schema == "reference_price.v1" {
                    ensure!(seq == prev + 1, "{at}: {want_key} seq {prev} then {seq}");
                } else {
                    ensure!(seq > prev, "{at}: {want_key} seq {prev} then {seq}");
                }
            }
        }
        *counts.entry(schema.to_owned()).or_default() += 1;
    }

    println!("records checked per schema: {counts:?}");
    println!(
        "key_seq checked: {} keys over {} producer run(s), no gap, duplicate or reordering",
        last_key_seq.len(),
        runs.len()
    );
    for schema in ["price_tick.v1", "reference_price.v1", "feed_status.v1"] {
        ensure!(
            counts.get(schema).copied().unwrap_or(0) > 0,
            "no {schema} record was published (counts: {counts:?})"
        );
    }
    Ok(())
}
