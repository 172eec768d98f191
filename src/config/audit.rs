//! The `[audit]` and `[statements]` sections (compliance.md sections 1 and 2), apart from the
//! rest of the config so that the compliance settings read in one place.

use serde::Deserialize;
use std::path::PathBuf;

/// `[audit]`: the audit trail. Absent = no audit log unless `run --audit DIR` is given.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Directory of the day files `<YYYY-MM-DD>.jsonl` (created if missing).
    pub dir: Option<PathBuf>,
    /// Ed25519 private key (PKCS#8 PEM) that signs every checkpoint; absent = unsigned
    /// checkpoints. The key itself is never in the config, a log line or an error.
    pub signing_key_file: Option<PathBuf>,
}

/// `[statements]`: where statements are written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementsConfig {
    /// Output directory of `statement` (default `./statements`).
    pub dir: Option<PathBuf>,
}
