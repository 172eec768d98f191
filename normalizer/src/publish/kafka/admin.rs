//! Topic administration at connect: which topics exist, creating the missing ones, and each
//! produced topic's partition count.

use super::delivery::SinkContext;
use super::KafkaSettings;
use crate::publish::PublishError;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{Producer, ThreadedProducer};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `connect` keeps asking for topic metadata before it gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// One metadata request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// One CreateTopics request (a broker answers in well under a second; when the admin API is
/// unavailable we fall back to auto-creation instead of waiting long).
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);
/// Names of the topics the cluster has, retried until [`CONNECT_TIMEOUT`] while it is unreachable.
pub(super) async fn existing_topics(
    producer: Arc<ThreadedProducer<SinkContext>>,
) -> Result<HashSet<String>, PublishError> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let p = Arc::clone(&producer);
        // fetch_metadata blocks the calling thread; asking for all topics never auto-creates.
        let answer = tokio::task::spawn_blocking(move || {
            p.client().fetch_metadata(None, REQUEST_TIMEOUT).map(|md| {
                md.topics()
                    .iter()
                    .filter(|t| t.error().is_none())
                    .map(|t| t.name().to_owned())
                    .collect::<HashSet<String>>()
            })
        })
        .await
        .map_err(|e| PublishError::Metadata {
            topic: "*".to_owned(),
            reason: format!("metadata task: {e}"),
        })?;
        match answer {
            Ok(names) => return Ok(names),
            Err(e) if Instant::now() >= deadline => {
                return Err(PublishError::Metadata {
                    topic: "*".to_owned(),
                    reason: e.to_string(),
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "kafka cluster not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Creates `missing` topics. A cluster that cannot create them through the admin API (no
/// CreateTopics support, no reachable controller) gets a warning only: the metadata step that
/// follows is the judge of whether the topics exist (brokers that auto-create topics create
/// them there).
pub(super) async fn create_topics(
    base: &ClientConfig,
    missing: &[&str],
    settings: &KafkaSettings,
) -> Result<(), PublishError> {
    let admin: AdminClient<DefaultClientContext> =
        base.create().map_err(|e| PublishError::Config {
            reason: format!("kafka admin client: {e}"),
        })?;
    let new_topics: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
        })
        .collect();
    let opts = AdminOptions::new()
        .request_timeout(Some(CREATE_TIMEOUT))
        .operation_timeout(Some(CREATE_TIMEOUT));
    let results = match admin.create_topics(&new_topics, &opts).await {
        Ok(results) => results,
        Err(KafkaError::AdminOp(
            code @ (RDKafkaErrorCode::UnsupportedFeature | RDKafkaErrorCode::OperationTimedOut),
        )) => {
            tracing::warn!(
                brokers = %settings.brokers,
                error = %code,
                "kafka topics not created through the admin API; relying on auto-creation"
            );
            return Ok(());
        }
        Err(e) => {
            return Err(PublishError::TopicCreate {
                topic: "*".to_owned(),
                code: e.rdkafka_error_code().unwrap_or(admin_code(&e)),
            })
        }
    };
    for result in results {
        match result {
            Ok(topic) => tracing::info!(
                topic,
                partitions = settings.partitions,
                replication_factor = settings.replication_factor,
                "kafka topic created"
            ),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic, "kafka topic exists")
            }
            Err((_, RDKafkaErrorCode::UnsupportedFeature)) => {
                tracing::warn!("broker does not support CreateTopics; relying on existing or auto-created topics");
            }
            Err((topic, code)) => return Err(PublishError::TopicCreate { topic, code }),
        }
    }
    Ok(())
}

fn admin_code(e: &KafkaError) -> RDKafkaErrorCode {
    match e {
        KafkaError::AdminOp(code) => *code,
        _ => RDKafkaErrorCode::Fail,
    }
}

/// Asks the cluster for `topic`'s partition count, retrying while the topic is still being
/// created or the broker is unreachable, up to [`CONNECT_TIMEOUT`].
pub(super) async fn partition_count(
    producer: Arc<ThreadedProducer<SinkContext>>,
    topic: String,
) -> Result<i32, PublishError> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let p = Arc::clone(&producer);
        let t = topic.clone();
        // fetch_metadata blocks the calling thread.
        let answer = tokio::task::spawn_blocking(move || {
            let md = p.client().fetch_metadata(Some(&t), REQUEST_TIMEOUT)?;
            let found = md.topics().iter().find(|mt| mt.name() == t).map(|mt| {
                (
                    mt.error().map(RDKafkaErrorCode::from),
                    mt.partitions().len(),
                )
            });
            Ok::<_, KafkaError>(found)
        })
        .await
        .map_err(|e| PublishError::Metadata {
            topic: topic.clone(),
            reason: format!("metadata task: {e}"),
        })?;
        let reason = match answer {
            Ok(Some((None, n))) if n > 0 => {
                return Ok(i32::try_from(n).unwrap_or(i32::MAX));
            }
            Ok(Some((Some(code), _))) => code.to_string(),
            Ok(_) => "topic has no partitions yet".to_owned(),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(PublishError::Metadata { topic, reason });
        }
        tracing::debug!(topic = %topic, reason = %reason, "waiting for kafka topic metadata");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
