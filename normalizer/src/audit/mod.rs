//! The audit trail (compliance.md section 1): every published record, in publication order,
//! appended to `DIR/<YYYY-MM-DD>.jsonl` in a SHA-256 chain, with hourly checkpoints carrying the
//! RFC 6962 Merkle root of the records since the previous one (signed with Ed25519 when a key
//! is configured). Why: an auditor must be able to show that no published number was changed,
//! removed, inserted or reordered afterwards; `verify` recomputes everything.
//!
//! **The clock is passed in.** [`AuditLog`] never reads a clock: every call takes the tracker's
//! clock (live: the wall clock when the batch is logged; replay: the capture line's
//! `received_at`). It decides the file's day (the UTC date of the clock when the line is
//! logged, so file order is chain order), when an hourly checkpoint is due (the first batch
//! logged in a later UTC hour than the previous one writes a checkpoint first, into the file
//! of the last record it covers), and each checkpoint's `at`.
//!
//! **Durability (fsync policy).** A batch (the records the live loop publishes together, or
//! the records of one capture line in replay) is encoded in memory, written with one
//! `write_all` to the file opened in append mode, then `fdatasync`ed (`File::sync_data`);
//! only then does [`AuditLog::append`] return and the caller hand the records to the other
//! sinks (Kafka, JSON lines): a record is in the log before it is acknowledged as published.
//! A new day file is created with its directory fsynced, so its name survives a power loss.
//! A crash (kill -9, power loss) can therefore only cut the last, not yet acknowledged, batch:
//! at start [`AuditLog::open`] finds a last line without its newline (or a tail that is not a
//! whole line), moves it aside to `<file>.torn` (reported at ERROR) and continues the chain
//! from the last whole line. A torn record was never published (it is logged first), so
//! nothing published is missing. Records left after the last checkpoint by a crash get their
//! checkpoint at start (`at` = the start's clock).
//!
//! **Restarts.** The chain runs across days and restarts: `open` reads the last whole line of
//! the newest file (a record: its `n` and `hash`; a checkpoint: its `to_n` and `head`) and the
//! leaves since the last checkpoint, and continues.
//!
//! If writing fails, the log refuses every later batch ([`AuditError::Poisoned`]): the chain
//! in memory would no longer match the file, and a gap must stop publication, not be hidden.

pub mod chain;
pub mod verify;

#[cfg(test)]
mod tests;

use chain::{Checkpoint, Hash, GENESIS};
use ed25519_dalek::SigningKey;
use schemas::{Record, Ts};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Micro-seconds in an hour: checkpoints are due when the clock's hour changes.
const HOUR_US: i64 = 3_600_000_000;

/// Why the audit log could not be opened or written. None is retryable: publication stops.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A line read at start (the last whole one, or one since the last checkpoint) is not a
    /// line of the log: it was altered, start refused. `line` counts from the file's end.
    #[error("audit log {path}, line {line} from the end: {reason}")]
    Corrupt {
        path: String,
        line: usize,
        reason: String,
    },
    /// An earlier write failed: the chain in memory no longer matches the file.
    #[error("audit log {dir}: an earlier write failed, no further record is logged")]
    Poisoned { dir: String },
}

fn io_err(path: &Path, source: std::io::Error) -> AuditError {
    AuditError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `YYYY-MM-DD.jsonl` of the clock's UTC date.
pub fn day_file_name(clock: Ts) -> String {
    format!("{}.jsonl", clock.to_datetime().format("%Y-%m-%d"))
}

/// Whether `name` is a day file (`YYYY-MM-DD.jsonl`).
pub fn is_day_file(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 16
        && name.ends_with(".jsonl")
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// The day files of `dir`, oldest first (their names sort by date).
pub fn day_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(is_day_file))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// The appending end of the audit log.
pub struct AuditLog {
    dir: PathBuf,
    key: Option<SigningKey>,
    /// `n` of the last record logged (0: none yet).
    n: u64,
    /// The chain hash at `n`.
    head: Hash,
    /// Leaf hashes of the records since the last checkpoint.
    pending: Vec<Hash>,
    /// The file the last line went to, with its name.
    file: Option<(String, File)>,
    /// The hour of the clock at the last call.
    hour: i64,
    /// A torn tail moved aside at open.
    torn: Option<PathBuf>,
    poisoned: bool,
    buf: Vec<u8>,
}

impl std::fmt::Debug for AuditLog {
    // The signing key stays out of every debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("n", &self.n)
            .field("signed", &self.key.is_some())
            .finish()
    }
}

impl AuditLog {
    /// Opens (or creates) the log in `dir` at `clock`: repairs a torn tail, continues the chain
    /// and checkpoints records a crash left unchecked.
    pub fn open(dir: &Path, key: Option<SigningKey>, clock: Ts) -> Result<Self, AuditError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let mut log = AuditLog {
            dir: dir.to_owned(),
            key,
            n: 0,
            head: GENESIS,
            pending: Vec::new(),
            file: None,
            hour: clock.micros().div_euclid(HOUR_US),
            torn: None,
            poisoned: false,
            buf: Vec::new(),
        };
        let files = day_files(dir).map_err(|e| io_err(dir, e))?;
        if let Some(newest) = files.last() {
            log.torn = repair_torn_tail(newest)?;
        }
        // From the newest line back to the last checkpoint: the chain's state and the leaves
        // the next checkpoint covers. Read from the end (a day file can be large).
        let mut leaves_rev = Vec::new();
        let mut found_state = false;
        for path in files.iter().rev() {
            let mut last_record_here = false;
            let reached_checkpoint = lines_from_end(path, |line, back| {
                let corrupt = |reason: &str| AuditError::Corrupt {
                    path: path.display().to_string(),
                    line: back,
                    reason: reason.to_owned(),
                };
                if chain::is_checkpoint(line) {
                    let cp = Checkpoint::parse(line).ok_or_else(|| corrupt("not a checkpoint"))?;
                    if !found_state {
                        found_state = true;
                        log.n = cp.to_n;
                        log.head = parse_hex(&cp.head).ok_or_else(|| corrupt("bad head"))?;
                    }
                    return Ok(false);
                }
                let rec =
                    chain::parse_record_line(line).ok_or_else(|| corrupt("not a log line"))?;
                if !found_state {
                    found_state = true;
                    if chain::chain_hash(&rec.prev, rec.record) != rec.hash {
                        return Err(corrupt("hash does not match the record"));
                    }
                    log.n = rec.n;
                    log.head = rec.hash;
                    last_record_here = true;
                }
                leaves_rev.push(chain::leaf_hash(rec.record));
                Ok(true)
            })?;
            if last_record_here {
                log.file = Some((file_name(path), open_append(path)?));
            }
            if reached_checkpoint {
                break;
            }
        }
        log.pending = leaves_rev.into_iter().rev().collect();
        if !log.pending.is_empty() {
            tracing::warn!(
                records = log.pending.len(),
                "audit log: records after the last checkpoint (no clean shutdown): checkpointed now"
            );
            log.checkpoint(clock)?;
        }
        Ok(log)
    }

    /// `n` of the last record logged and the chain hash there.
    pub fn head(&self) -> (u64, Hash) {
        (self.n, self.head)
    }

    /// Where a torn tail found at open was moved.
    pub fn torn(&self) -> Option<&Path> {
        self.torn.as_deref()
    }

    /// Appends `records` (one batch) at `clock`, durably: returns once they are on disk.
    /// An hourly checkpoint due at `clock` is written first.
    pub fn append(&mut self, records: &[Record], clock: Ts) -> Result<(), AuditError> {
        self.check_poisoned()?;
        self.hourly(clock)?;
        if records.is_empty() {
            return Ok(());
        }
        let name = day_file_name(clock);
        if self.file.as_ref().map(|(n, _)| n) != Some(&name) {
            let path = self.dir.join(&name);
            let created = !path.exists();
            let f = open_append(&path)?;
            if created {
                sync_dir(&self.dir)?;
            }
            self.file = Some((name, f));
        }
        // Computed aside and committed only once the bytes are on disk.
        let (mut n, mut head) = (self.n, self.head);
        let mut leaves = Vec::with_capacity(records.len());
        let mut rec = Vec::with_capacity(1024);
        self.buf.clear();
        for r in records {
            rec.clear();
            r.write_json(&mut rec);
            let hash = chain::chain_hash(&head, &rec);
            n += 1;
            chain::write_record_line(n, &head, &hash, &rec, &mut self.buf);
            leaves.push(chain::leaf_hash(&rec));
            head = hash;
        }
        self.write_buf()?;
        self.n = n;
        self.head = head;
        self.pending.extend(leaves);
        Ok(())
    }

    /// At shutdown: a checkpoint for what the last one did not cover.
    pub fn close(&mut self, clock: Ts) -> Result<(), AuditError> {
        self.check_poisoned()?;
        if !self.pending.is_empty() {
            self.checkpoint(clock)?;
        }
        Ok(())
    }

    fn check_poisoned(&self) -> Result<(), AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned {
                dir: self.dir.display().to_string(),
            });
        }
        Ok(())
    }

    /// The checkpoint of the hour that ended, if `clock` is in a later hour than the last call.
    fn hourly(&mut self, clock: Ts) -> Result<(), AuditError> {
        let hour = clock.micros().div_euclid(HOUR_US);
        if hour > self.hour {
            if !self.pending.is_empty() {
                self.checkpoint(clock)?;
            }
            self.hour = hour;
        }
        Ok(())
    }

    /// Writes a checkpoint of the pending records into the file of the last one.
    fn checkpoint(&mut self, at: Ts) -> Result<(), AuditError> {
        let from_n = self.n + 1 - self.pending.len() as u64;
        let root = chain::merkle_root(&self.pending);
        let mut cp = Checkpoint::new(from_n, self.n, &root, &self.head, at);
        if let Some(key) = &self.key {
            cp.signature = Some(chain::sign::sign_hex(key, &cp.canonical()));
        }
        self.buf.clear();
        self.buf.extend_from_slice(&cp.line());
        self.write_buf()?;
        self.pending.clear();
        tracing::info!(from_n = cp.from_n, to_n = cp.to_n, root = %cp.root, "audit checkpoint");
        Ok(())
    }

    /// One `write_all` and one `fdatasync` of the buffer to the current file.
    fn write_buf(&mut self) -> Result<(), AuditError> {
        let Some((name, f)) = self.file.as_mut() else {
            return Ok(()); // nothing logged yet: nothing to checkpoint either
        };
        let result = f.write_all(&self.buf).and_then(|()| f.sync_data());
        if let Err(e) = result {
            self.poisoned = true;
            return Err(io_err(&self.dir.join(name.as_str()), e));
        }
        Ok(())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}

fn parse_hex(s: &str) -> Option<Hash> {
    let mut h = [0u8; 32];
    hex::decode_to_slice(s, &mut h).ok().map(|()| h)
}

fn open_append(path: &Path) -> Result<File, AuditError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

/// Bytes read at a time when reading a file from its end.
const CHUNK: u64 = 1 << 20;

/// Reads `len` bytes of `file` at `at`.
fn read_at(file: &mut File, path: &Path, at: u64, len: u64) -> Result<Vec<u8>, AuditError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut buf = vec![0u8; len as usize];
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| io_err(path, e))?;
    Ok(buf)
}

/// Calls `f` with each line of `path` (whole lines: the file ends with a newline, or is
/// empty), the last first, with its number counted from the end (1 = the last), until `f`
/// returns `false`; whether it did.
fn lines_from_end(
    path: &Path,
    f: impl FnMut(&[u8], usize) -> Result<bool, AuditError>,
) -> Result<bool, AuditError> {
    lines_from_end_by(path, CHUNK, f)
}

fn lines_from_end_by(
    path: &Path,
    chunk_len: u64,
    mut f: impl FnMut(&[u8], usize) -> Result<bool, AuditError>,
) -> Result<bool, AuditError> {
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut pos = file.metadata().map_err(|e| io_err(path, e))?.len();
    // The bytes from `pos` on that are not handed out yet: a line whose start is not read yet.
    let mut rest: Vec<u8> = Vec::new();
    let mut back = 0;
    let mut first = true;
    while pos > 0 {
        let start = pos.saturating_sub(chunk_len);
        let mut chunk = read_at(&mut file, path, start, pos - start)?;
        chunk.extend_from_slice(&rest);
        pos = start;
        if std::mem::take(&mut first) && chunk.last() == Some(&b'\n') {
            chunk.pop(); // the file's final newline ends the last line
        }
        // The lines whose start is known: all of them at offset 0, else those after the
        // chunk's first newline.
        let cut = match chunk.iter().position(|c| *c == b'\n') {
            _ if start == 0 => 0,
            Some(i) => i + 1,
            None => {
                rest = chunk;
                continue;
            }
        };
        for line in chunk[cut..].rsplit(|c| *c == b'\n') {
            back += 1;
            if !f(line, back)? {
                return Ok(true);
            }
        }
        chunk.truncate(cut.saturating_sub(1));
        rest = chunk;
    }
    Ok(false)
}

/// Moves a last line without its newline to `<file>.torn` and cuts it off the file; the
/// moved path, if any.
fn repair_torn_tail(path: &Path) -> Result<Option<PathBuf>, AuditError> {
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();
    // The end of the last whole line, read from the end in chunks.
    let mut keep = 0;
    let mut pos = len;
    while pos > 0 {
        let start = pos.saturating_sub(CHUNK);
        let chunk = read_at(&mut file, path, start, pos - start)?;
        if let Some(i) = chunk.iter().rposition(|c| *c == b'\n') {
            keep = start + i as u64 + 1;
            break;
        }
        pos = start;
    }
    if keep == len {
        return Ok(None);
    }
    let tail = read_at(&mut file, path, keep, len - keep)?;
    let mut torn = path.as_os_str().to_owned();
    torn.push(".torn");
    let torn = PathBuf::from(torn);
    let mut t = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&torn)
        .map_err(|e| io_err(&torn, e))?;
    t.write_all(&tail)
        .and_then(|()| t.sync_all())
        .map_err(|e| io_err(&torn, e))?;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    f.set_len(keep)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err(path, e))?;
    tracing::error!(
        file = %path.display(),
        bytes = tail.len(),
        moved_to = %torn.display(),
        "audit log: torn last line moved aside (it was never published); the chain continues from the last whole line"
    );
    Ok(Some(torn))
}
