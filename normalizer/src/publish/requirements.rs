//! Margin requirements consumed from Kafka: `<prefix>.margin-requirements.v1`, keyed by account,
//! records `{"account": "fund-a", "requirement": "5000000", "as_of": "2026-11-24T11:00:00.000000Z"}`
//! (collateral.md). A requirement from the topic replaces the account's configured one; a bad
//! record is counted and skipped, never guessed.

use super::kafka::KafkaSettings;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};
use rust_decimal::Decimal;
use schemas::Ts;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::str::FromStr;
use tokio::sync::mpsc;

/// One margin requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarginRequirement {
    pub account: String,
    /// USD.
    pub requirement: Decimal,
    pub as_of: Option<Ts>,
}

#[derive(Deserialize)]
struct Wire<'a> {
    account: String,
    #[serde(borrow)]
    requirement: &'a RawValue,
    #[serde(default)]
    as_of: Option<Ts>,
}

/// Parses one record; the requirement may be a decimal string or a JSON number, read exactly
/// from its text.
pub fn parse_requirement(payload: &[u8]) -> Result<MarginRequirement, String> {
    let w: Wire<'_> = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    if !schemas::ids::is_valid_id(&w.account) {
        return Err(format!("invalid account id {:?}", w.account));
    }
    let text = w.requirement.get();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let requirement = Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| format!("requirement is not a decimal: {text}"))?;
    if requirement.is_sign_negative() {
        return Err(format!("negative requirement {requirement}"));
    }
    Ok(MarginRequirement {
        account: w.account,
        requirement,
        as_of: w.as_of,
    })
}

/// Consumes the requirements topic from the beginning (compacted: the latest per account) and
/// sends each valid record to `tx`, until `tx` closes or the task is aborted.
pub fn spawn_requirements_consumer(
    settings: &KafkaSettings,
    tx: mpsc::Sender<MarginRequirement>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let topic = schemas::TopicNames::new(&settings.topic_prefix).margin_requirements;
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &settings.brokers)
        .set("group.id", format!("{}-requirements", settings.client_id))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true");
    for (k, v) in &settings.client_properties().map_err(|e| e.to_string())? {
        if k.starts_with("security.") || k.starts_with("sasl.") || k.starts_with("ssl.") {
            cfg.set(k, v);
        }
    }
    let consumer: StreamConsumer = cfg.create().map_err(|e| e.to_string())?;
    consumer.subscribe(&[&topic]).map_err(|e| e.to_string())?;
    Ok(tokio::spawn(async move {
        loop {
            match consumer.recv().await {
                Ok(m) => match m.payload().map(parse_requirement) {
                    Some(Ok(req)) => {
                        if tx.send(req).await.is_err() {
                            break;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(topic = %m.topic(), offset = m.offset(), error = %e, "margin requirement skipped")
                    }
                    None => {
                        tracing::warn!(topic = %m.topic(), offset = m.offset(), "empty margin requirement skipped")
                    }
                },
                Err(e) => {
                    tracing::debug!(error = %e, "requirements consumer");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_parse_exactly_and_bad_ones_are_refused() {
        let r = parse_requirement(br#"{"account":"fund-a","requirement":"5000000.10","as_of":"2026-11-24T11:00:00.000000Z"}"#).unwrap();
        assert_eq!(r.requirement.to_string(), "5000000.10");
        assert_eq!(r.as_of.unwrap().to_string(), "2026-11-24T11:00:00.000000Z");
        let r = parse_requirement(br#"{"account":"fund-b","requirement":9000000.000000000000001}"#)
            .unwrap();
        assert_eq!(r.requirement.to_string(), "9000000.000000000000001");
        for bad in [
            &br#"{"account":"Fund A","requirement":"1"}"#[..],
            br#"{"account":"a","requirement":"-1"}"#,
            br#"{"account":"a","requirement":"x"}"#,
            b"{",
            br#"{"requirement":"1"}"#,
        ] {
            assert!(
                parse_requirement(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
