//! `verify-audit`: recomputes every chain hash, every checkpoint's Merkle root and head and,
//! given the public key, every checkpoint signature, over the day files in date order, and
//! names the first line that breaks (file and 1-based line). What a chain alone cannot show is
//! a cut tail (the newest records, or the newest files, removed): that is what publishing the
//! signed checkpoints elsewhere is for (compliance.md).

use super::chain::{self, Checkpoint, Hash, GENESIS};
use ed25519_dalek::VerifyingKey;
use std::path::{Path, PathBuf};

/// An intact log.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    pub files: usize,
    pub records: u64,
    pub checkpoints: u64,
    /// Checkpoints whose signature was verified.
    pub signatures_verified: u64,
    /// Signed checkpoints not verified (no public key given).
    pub signatures_unchecked: u64,
    /// Records after the last checkpoint (a running tracker's, or a crash's before restart).
    pub unanchored: u64,
    /// `<file>.torn` files found (moved aside at a start; never part of the chain).
    pub torn_files: Vec<PathBuf>,
}

/// The first broken line.
#[derive(Debug, PartialEq)]
pub struct Break {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

/// Verifies the log in `dir`. `Err` only when the directory or a file cannot be read.
pub fn verify(dir: &Path, key: Option<&VerifyingKey>) -> std::io::Result<Result<Summary, Break>> {
    verify_with(dir, key, false)
}

/// As [`verify`], for a log a tracker may be appending to: a last line of the newest file
/// without its newline is a line being written (or a crash's torn line, never published), not
/// a break; it is left out. What statements read.
pub fn verify_running(
    dir: &Path,
    key: Option<&VerifyingKey>,
) -> std::io::Result<Result<Summary, Break>> {
    verify_with(dir, key, true)
}

fn verify_with(
    dir: &Path,
    key: Option<&VerifyingKey>,
    running: bool,
) -> std::io::Result<Result<Summary, Break>> {
    let files = super::day_files(dir)?;
    let mut s = Summary {
        files: files.len(),
        ..Default::default()
    };
    for e in std::fs::read_dir(dir)?.filter_map(|e| e.ok()) {
        if e.file_name().to_str().is_some_and(|n| n.ends_with(".torn")) {
            s.torn_files.push(e.path());
        }
    }
    s.torn_files.sort();
    let mut n = 0u64;
    let mut head: Hash = GENESIS;
    let mut leaves: Vec<Hash> = Vec::new();
    for (fi, path) in files.iter().enumerate() {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
        let broken = |line: usize, reason: String| Break {
            file: path.clone(),
            line,
            reason,
        };
        // Streamed line by line (a day file can be large). An empty file holds no line: what
        // a torn first line repaired at a start leaves.
        let mut buf = Vec::with_capacity(4096);
        for i in 0.. {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            if buf.pop() != Some(b'\n') {
                if running && fi + 1 == files.len() {
                    break; // the line being written
                }
                return Ok(Err(broken(
                    i + 1,
                    "torn line (no newline at the end of the file)".into(),
                )));
            }
            let line = &buf[..];
            let at = i + 1;
            if chain::is_checkpoint(line) {
                let Some(cp) = Checkpoint::parse(line) else {
                    return Ok(Err(broken(at, "malformed checkpoint".into())));
                };
                if let Err(reason) = check_checkpoint(&cp, n, &head, &leaves, key, &mut s) {
                    return Ok(Err(broken(at, reason)));
                }
                leaves.clear();
                s.checkpoints += 1;
                continue;
            }
            let Some(rec) = chain::parse_record_line(line) else {
                return Ok(Err(broken(at, "not a log line (malformed or torn)".into())));
            };
            if rec.n != n + 1 {
                return Ok(Err(broken(
                    at,
                    format!(
                        "n is {} where {} follows {n}: a record removed, inserted or moved",
                        rec.n,
                        n + 1
                    ),
                )));
            }
            if rec.prev != head {
                return Ok(Err(broken(
                    at,
                    format!("prev does not match the hash of record {n}"),
                )));
            }
            if chain::chain_hash(&rec.prev, rec.record) != rec.hash {
                return Ok(Err(broken(
                    at,
                    "hash does not match SHA-256(prev || record): the record was changed".into(),
                )));
            }
            n = rec.n;
            head = rec.hash;
            leaves.push(chain::leaf_hash(rec.record));
            s.records += 1;
        }
    }
    s.unanchored = leaves.len() as u64;
    Ok(Ok(s))
}

fn check_checkpoint(
    cp: &Checkpoint,
    n: u64,
    head: &Hash,
    leaves: &[Hash],
    key: Option<&VerifyingKey>,
    s: &mut Summary,
) -> Result<(), String> {
    let from_n = n + 1 - leaves.len() as u64;
    if leaves.is_empty() {
        return Err("checkpoint covers no record since the previous one".into());
    }
    if cp.from_n != from_n || cp.to_n != n {
        return Err(format!(
            "checkpoint covers {}..={} where the records since the previous one are {from_n}..={n}",
            cp.from_n, cp.to_n
        ));
    }
    if cp.tree_size != leaves.len() as u64 {
        return Err(format!(
            "checkpoint tree_size {} where it covers {} records",
            cp.tree_size,
            leaves.len()
        ));
    }
    if cp.root != hex::encode(chain::merkle_root(leaves)) {
        return Err("checkpoint root does not match the records it covers".into());
    }
    if cp.head != hex::encode(head) {
        return Err(format!("checkpoint head is not the hash of record {n}"));
    }
    if schemas::Ts::parse_rfc3339(&cp.at).is_none() {
        return Err("checkpoint at is not a time".into());
    }
    match (key, &cp.signature) {
        (Some(k), Some(sig)) => {
            if !chain::sign::verify_hex(k, &cp.canonical(), sig) {
                return Err("checkpoint signature does not verify with the public key".into());
            }
            s.signatures_verified += 1;
        }
        (Some(_), None) => return Err("checkpoint is not signed".into()),
        (None, Some(_)) => s.signatures_unchecked += 1,
        (None, None) => {}
    }
    Ok(())
}
