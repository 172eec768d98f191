//! The Kafka sink's settings, which are also the `[kafka]` section of the config.

use crate::publish::PublishError;
use schemas::topics::TopicNames;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// librdkafka properties that carry the delivery guarantees (see the `kafka` module doc);
/// `properties` may not change them.
pub(super) const GUARANTEED: [&str; 7] = [
    "bootstrap.servers",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "partitioner",
];

/// The `[kafka]` section of the config, and the Kafka sink's settings: one struct, so a field's
/// name, doc and default are defined here only. Unknown fields are refused;
/// [`KafkaSettings::validate`] checks the values.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port]` (librdkafka's `bootstrap.servers`).
    pub brokers: String,
    /// Topic prefix: topics are `<prefix>.<name>.v1`.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// Partitions of topics this sink creates at start-up (existing topics keep theirs).
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor of topics this sink creates at start-up.
    #[serde(default = "default_replication_factor")]
    pub replication_factor: i32,
    /// Create the produced topics at start-up when they are missing.
    #[serde(default = "default_true")]
    pub create_topics: bool,
    /// `client.id`, visible in broker logs and quotas. Not a config field: every tracker
    /// process uses the default.
    #[serde(skip, default = "default_client_id")]
    pub client_id: String,
    /// Extra librdkafka properties (`security.protocol`, `sasl.mechanism`, `linger.ms`,
    /// `statistics.interval.ms`, ...). Properties that carry the delivery guarantees cannot be
    /// overridden. Secrets do not belong here: use `sasl_password_env`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Name of the env var holding `sasl.password`, if any; read when a client is created.
    #[serde(default)]
    pub sasl_password_env: Option<String>,
    /// Spool loss-free records (balances, reference prices, reports, feed statuses) to disk
    /// while Kafka does not take them; `false` = a full producer queue blocks the pipeline
    /// (backpressure).
    #[serde(default = "default_true")]
    pub spool: bool,
    /// The spool directory, one per tracker process; relative paths are from the working
    /// directory. Created when first needed.
    #[serde(default = "default_spool_dir")]
    pub spool_dir: PathBuf,
    /// Records the Kafka client may hold in memory before loss-free records go to the spool
    /// (records in memory do not survive a crash of the process; spooled ones do).
    #[serde(default = "default_spool_after_in_flight")]
    pub spool_after_in_flight: usize,
    /// Longest time a spooled record waits for fsync, in milliseconds (0 = every record).
    #[serde(default = "default_spool_fsync_ms")]
    pub spool_fsync_ms: u64,
}

fn default_topic_prefix() -> String {
    TopicNames::DEFAULT_PREFIX.to_owned()
}
fn default_partitions() -> i32 {
    3
}
fn default_replication_factor() -> i32 {
    1
}
fn default_true() -> bool {
    true
}
fn default_client_id() -> String {
    "collateral-tracker".to_owned()
}
fn default_spool_dir() -> PathBuf {
    PathBuf::from("spool")
}
fn default_spool_after_in_flight() -> usize {
    1000
}
fn default_spool_fsync_ms() -> u64 {
    1000
}

/// The longest `spool_fsync_ms` accepted: a power failure loses at most this much of the spool.
const SPOOL_FSYNC_MAX_MS: u64 = 60_000;

impl KafkaSettings {
    /// The defaults of every other field (a spool in `./spool` included).
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaSettings {
            brokers: brokers.into(),
            topic_prefix: default_topic_prefix(),
            partitions: default_partitions(),
            replication_factor: default_replication_factor(),
            create_topics: true,
            client_id: default_client_id(),
            properties: BTreeMap::new(),
            sasl_password_env: None,
            spool: true,
            spool_dir: default_spool_dir(),
            spool_after_in_flight: default_spool_after_in_flight(),
            spool_fsync_ms: default_spool_fsync_ms(),
        }
    }

    /// Every problem with the values, as (field, message); empty when the settings are usable.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.brokers.trim().is_empty() {
            errors.push(("brokers", "expected host:port[,host:port]".to_owned()));
        }
        if self.topic_prefix.is_empty()
            || !self
                .topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            errors.push((
                "topic_prefix",
                "expected letters, digits, '.', '_' or '-'".to_owned(),
            ));
        }
        if self.partitions < 1 {
            errors.push(("partitions", "must be >= 1".to_owned()));
        }
        if self.replication_factor < 1 {
            errors.push(("replication_factor", "must be >= 1".to_owned()));
        }
        if self.spool && self.spool_dir.to_string_lossy().trim().is_empty() {
            errors.push((
                "spool_dir",
                "expected a directory path (or spool = false)".to_owned(),
            ));
        }
        if self.spool_after_in_flight == 0 {
            errors.push(("spool_after_in_flight", "must be >= 1".to_owned()));
        }
        if self.spool_fsync_ms > SPOOL_FSYNC_MAX_MS {
            errors.push((
                "spool_fsync_ms",
                format!(
                    "must be <= {SPOOL_FSYNC_MAX_MS} (a power failure loses at most this much of the spool)"
                ),
            ));
        }
        errors
    }

    /// `properties` plus `sasl.password` read from `sasl_password_env`: what every client of
    /// these settings (the producer, the requirements consumer) is configured with.
    pub fn client_properties(&self) -> Result<BTreeMap<String, String>, PublishError> {
        let mut props = self.properties.clone();
        if let Some(var) = &self.sasl_password_env {
            let password = std::env::var(var).map_err(|_| PublishError::Config {
                reason: format!("kafka.sasl_password_env: env var {var} is not set"),
            })?;
            props.insert("sasl.password".to_owned(), password);
        }
        Ok(props)
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings::new("127.0.0.1:9092")
    }
}
