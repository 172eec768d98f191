//! The audit trail's commands and wiring: opening the log for `run` and `replay` (the
//! `--audit DIR` flag over `[audit] dir`, the signing key of `[audit] signing_key_file`) and
//! `verify-audit DIR [--public-key PEM]` (exit 0 intact, 1 broken, 2 when it cannot be read).

use crate::config::AuditConfig;
use normalizer::audit::chain::sign;
use normalizer::audit::{verify, AuditLog};
use schemas::Ts;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the log goes: the flag, else the config; `None` = no audit log.
pub fn dir(flag: Option<&Path>, cfg: &AuditConfig) -> Option<PathBuf> {
    flag.map(Path::to_owned).or_else(|| cfg.dir.clone())
}

/// Opens the log in `dir` at `clock`, with the configured signing key.
pub fn open(dir: &Path, cfg: &AuditConfig, clock: Ts) -> anyhow::Result<AuditLog> {
    let key = match &cfg.signing_key_file {
        Some(p) => Some(
            sign::load_signing_key(p)
                .map_err(|e| anyhow::anyhow!("[audit] signing_key_file {e}"))?,
        ),
        None => None,
    };
    Ok(AuditLog::open(dir, key, clock)?)
}

/// `verify-audit`.
pub fn verify_cmd(dir: &Path, public_key: Option<&Path>) -> ExitCode {
    let key = match public_key.map(sign::load_verifying_key).transpose() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("--public-key {e}");
            return ExitCode::from(crate::EXIT_USAGE);
        }
    };
    match verify::verify(dir, key.as_ref()) {
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            ExitCode::from(crate::EXIT_USAGE)
        }
        Ok(Err(b)) => {
            println!("BROKEN {b}");
            ExitCode::from(crate::EXIT_RUNTIME)
        }
        Ok(Ok(s)) if s.files == 0 => {
            println!(
                "BROKEN {}: no audit log (no YYYY-MM-DD.jsonl file)",
                dir.display()
            );
            ExitCode::from(crate::EXIT_RUNTIME)
        }
        Ok(Ok(s)) => {
            println!(
                "intact: {} records in {} files, {} checkpoints",
                s.records, s.files, s.checkpoints
            );
            if s.signatures_verified > 0 {
                println!("{} checkpoint signatures verified", s.signatures_verified);
            }
            if s.signatures_unchecked > 0 {
                println!(
                    "{} signed checkpoints not verified: give --public-key",
                    s.signatures_unchecked
                );
            }
            if s.unanchored > 0 {
                println!(
                    "{} records after the last checkpoint (not yet anchored)",
                    s.unanchored
                );
            }
            for t in &s.torn_files {
                println!(
                    "{}: a torn line moved aside at a start (never published, not in the chain)",
                    t.display()
                );
            }
            ExitCode::SUCCESS
        }
    }
}
