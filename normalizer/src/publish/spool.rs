//! The Kafka sink's disk spool: loss-free records that could not be handed to librdkafka wait
//! here, in order, until the broker takes them.
//!
//! Every loss-free record the sink handles (balance, reference price, collateral report, feed
//! status) gets an id from one counter, in the order it was published, whether it goes straight
//! to librdkafka or to disk. The spool keeps:
//!
//! - segment files `seg-<first id, 20 digits>.jsonl`, one JSON object a line ([`SpoolRecord`]);
//!   the ids inside a segment are consecutive (a jump in ids starts a new segment), so reading
//!   segments in name order reads records in publish order, even when a segment written at
//!   shutdown (records librdkafka still held) holds ids older than segments written before it;
//! - `acked`: the id up to which every loss-free record is confirmed delivered. Records at or
//!   below it are skipped when the spool is opened again; a segment is deleted once its last id
//!   is at or below it.
//!
//! Writes reach the operating system before `append` returns (a crash of the process loses
//! nothing); `fsync` happens when a segment is closed, at shutdown and at most `fsync_ms` after
//! an append (0 = after every append), which bounds what a power failure can lose.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A segment is closed once it holds this many bytes.
const SEGMENT_BYTES: u64 = 8 << 20;
const ACKED_FILE: &str = "acked";

/// One spooled record: everything needed to produce it again exactly as it was first sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolRecord {
    /// Position in the publish order of loss-free records (1, 2, ...; 0 is never used).
    pub id: u64,
    pub topic: String,
    pub partition: i32,
    pub key: String,
    /// Header names and values (UTF-8), in order.
    pub headers: Vec<(String, String)>,
    /// The record's JSON text.
    pub payload: String,
}

struct Segment {
    first: u64,
    /// Last id written to it (first - 1 while empty).
    last: u64,
    path: PathBuf,
}

struct Writer {
    file: BufWriter<File>,
    bytes: u64,
    dirty_since: Option<Instant>,
}

struct Reader {
    /// Index into `segments` of the segment being read.
    segment_first: u64,
    file: BufReader<File>,
}

/// The spool directory of one Kafka sink. Not shared between processes.
pub struct Spool {
    dir: PathBuf,
    fsync: Duration,
    /// Segments on disk, in id order.
    segments: Vec<Segment>,
    writer: Option<Writer>,
    reader: Option<Reader>,
    /// Next id to read (records below it have been handed to librdkafka).
    read_next: u64,
    /// Highest id written to disk so far (0 = none).
    written: u64,
    /// Every id <= acked is delivered.
    acked: u64,
    /// Delivered ids above `acked` (delivery reports of different partitions come out of order).
    acked_above: BTreeSet<u64>,
    acked_persisted: u64,
    /// Ids below this were handed out by an earlier run: those not on disk were delivered or
    /// lost with that run's memory, and count as delivered so the mark can pass them.
    older_than: u64,
    last_persist: Option<Instant>,
    /// Bytes of the segments on disk.
    bytes: u64,
}

impl Spool {
    /// Opens the spool in `dir`, reading what an earlier run left there. The directory is
    /// created when the first record is written.
    pub fn open(dir: &Path, fsync: Duration) -> io::Result<Spool> {
        let exists = dir.is_dir();
        let acked = match fs::read_to_string(dir.join(ACKED_FILE)) {
            Ok(t) => t.trim().parse::<u64>().map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", dir.join(ACKED_FILE).display()),
                )
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let mut segments = Vec::new();
        let mut bytes = 0;
        let entries = if exists {
            fs::read_dir(dir)?.collect::<Vec<_>>()
        } else {
            Vec::new()
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(first) = name
                .to_str()
                .and_then(|n| n.strip_prefix("seg-"))
                .and_then(|n| n.strip_suffix(".jsonl"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            bytes += entry.metadata()?.len();
            segments.push(Segment {
                first,
                last: first.saturating_sub(1),
                path: entry.path(),
            });
        }
        segments.sort_by_key(|s| s.first);
        // The last id of each segment: count its complete lines. A torn last line (the process
        // died mid-write) is cut off so later appends start on a fresh line.
        for s in &mut segments {
            let (count, good_len) = count_lines(&s.path)?;
            let len = fs::metadata(&s.path)?.len();
            if good_len < len {
                tracing::warn!(segment = %s.path.display(), cut = len - good_len, "kafka spool: torn last line removed");
                OpenOptions::new()
                    .write(true)
                    .open(&s.path)?
                    .set_len(good_len)?;
                bytes -= len - good_len;
            }
            s.last = (s.first + count).saturating_sub(1);
        }
        let written = segments.iter().map(|s| s.last).max().unwrap_or(0);
        let mut spool = Spool {
            dir: dir.to_owned(),
            fsync,
            segments,
            writer: None,
            reader: None,
            read_next: acked + 1,
            written,
            acked,
            acked_above: BTreeSet::new(),
            acked_persisted: acked,
            older_than: written + 1,
            last_persist: None,
            bytes,
        };
        spool.advance();
        spool.read_next = spool.acked + 1;
        spool.delete_acked_segments()?;
        Ok(spool)
    }

    /// The highest id seen on disk (a new run continues numbering after it).
    pub fn last_id(&self) -> u64 {
        self.written.max(self.acked)
    }

    /// Records on disk not yet handed to librdkafka.
    pub fn unread(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.last >= self.read_next && s.last >= s.first)
            .map(|s| s.last - s.first.max(self.read_next) + 1)
            .sum()
    }

    /// Records on disk not yet confirmed delivered.
    pub fn depth(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.last > self.acked && s.last >= s.first)
            .map(|s| s.last - s.first.max(self.acked + 1) + 1)
            .sum()
    }

    /// Bytes of the segment files.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a record; ids must increase. A jump in ids starts a new segment.
    pub fn append(&mut self, rec: &SpoolRecord) -> io::Result<u64> {
        let mut line = serde_json::to_vec(rec)?;
        line.push(b'\n');
        let contiguous = self
            .segments
            .last()
            .is_some_and(|s| s.last + 1 == rec.id && self.writer.is_some());
        let full = self
            .writer
            .as_ref()
            .is_some_and(|w| w.bytes >= SEGMENT_BYTES);
        if !contiguous || full {
            self.close_writer()?;
            self.new_segment(rec.id)?;
        }
        let w = self.writer.as_mut().expect("writer opened above");
        w.file.write_all(&line)?;
        // Into the kernel now: a crash of the process after this loses nothing.
        w.file.flush()?;
        w.bytes += line.len() as u64;
        w.dirty_since.get_or_insert_with(Instant::now);
        if self.fsync.is_zero() {
            sync_writer(w)?;
        }
        let seg = self.segments.last_mut().expect("segment opened above");
        seg.last = rec.id;
        self.written = self.written.max(rec.id);
        self.bytes += line.len() as u64;
        Ok(line.len() as u64)
    }

    /// Writes records that librdkafka still held at shutdown (ids older than some spooled
    /// ones): each run of consecutive ids becomes its own segment, placed by name among the
    /// others. Records whose id is already on disk are skipped.
    pub fn insert_older(&mut self, mut recs: Vec<SpoolRecord>) -> io::Result<u64> {
        self.close_writer()?;
        recs.sort_by_key(|r| r.id);
        recs.dedup_by_key(|r| r.id);
        recs.retain(|r| r.id > self.acked && !self.on_disk(r.id));
        let mut written = 0;
        let mut i = 0;
        while i < recs.len() {
            let mut j = i + 1;
            while j < recs.len() && recs[j].id == recs[j - 1].id + 1 {
                j += 1;
            }
            let first = recs[i].id;
            fs::create_dir_all(&self.dir)?;
            let path = self.dir.join(segment_name(first));
            let mut file = BufWriter::new(File::create(&path)?);
            let mut len = 0u64;
            for r in &recs[i..j] {
                let mut line = serde_json::to_vec(r)?;
                line.push(b'\n');
                file.write_all(&line)?;
                len += line.len() as u64;
            }
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_data()?;
            let seg = Segment {
                first,
                last: recs[j - 1].id,
                path,
            };
            let at = self.segments.partition_point(|s| s.first < first);
            self.segments.insert(at, seg);
            self.bytes += len;
            self.written = self.written.max(recs[j - 1].id);
            written += (j - i) as u64;
            i = j;
        }
        // A reader positioned past these ids must go back for them.
        if let Some(first) = recs.first().map(|r| r.id) {
            if first < self.read_next {
                self.read_next = first;
                self.reader = None;
            }
            sync_dir(&self.dir)?;
        }
        Ok(written)
    }

    fn on_disk(&self, id: u64) -> bool {
        self.segments
            .iter()
            .any(|s| s.first <= id && id <= s.last && s.last >= s.first)
    }

    /// The next record not yet handed to librdkafka, in order; `None` when all are.
    pub fn read(&mut self) -> io::Result<Option<SpoolRecord>> {
        loop {
            let Some(seg) = self
                .segments
                .iter()
                .find(|s| s.last >= self.read_next && s.last >= s.first)
            else {
                return Ok(None);
            };
            let (first, path) = (seg.first, seg.path.clone());
            // The active segment may hold lines still in the write buffer.
            if let Some(w) = &mut self.writer {
                w.file.flush()?;
            }
            if self.reader.as_ref().map(|r| r.segment_first) != Some(first) {
                let mut file = BufReader::new(File::open(&path)?);
                file.seek(SeekFrom::Start(0))?;
                self.reader = Some(Reader {
                    segment_first: first,
                    file,
                });
            }
            let r = self.reader.as_mut().expect("reader opened above");
            let mut line = String::new();
            if r.file.read_line(&mut line)? == 0 {
                // Lines are counted on open, so this only happens if the file shrank.
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{}: ends before id {}", path.display(), self.read_next),
                ));
            }
            let rec: SpoolRecord = serde_json::from_str(line.trim_end()).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            if rec.id < self.read_next {
                continue; // delivered before a restart, or read before insert_older
            }
            self.read_next = rec.id + 1;
            return Ok(Some(rec));
        }
    }

    /// Marks `id` delivered.
    pub fn ack(&mut self, id: u64) {
        if id <= self.acked {
            return;
        }
        self.acked_above.insert(id);
        self.advance();
    }

    fn advance(&mut self) {
        loop {
            let next = self.acked + 1;
            if self.acked_above.remove(&next) {
                self.acked = next;
            } else if next < self.older_than && !self.on_disk(next) {
                // Jump over the ids of an earlier run that are not on disk.
                let to = self
                    .segments
                    .iter()
                    .filter(|s| s.first > next && s.last >= s.first)
                    .map(|s| s.first - 1)
                    .min()
                    .unwrap_or(u64::MAX)
                    .min(self.older_than - 1);
                self.acked = to;
                self.acked_above = self.acked_above.split_off(&(to + 1));
            } else {
                return;
            }
        }
    }

    /// Ids at or below this are delivered.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Deletes fully delivered segments, persists the delivered mark, and fsyncs an active
    /// segment that has waited `fsync_ms`. Call often; it is cheap when nothing changed.
    pub fn maintain(&mut self) -> io::Result<()> {
        if let Some(w) = &mut self.writer {
            if w.dirty_since
                .is_some_and(|t| t.elapsed() >= self.fsync && !self.fsync.is_zero())
            {
                sync_writer(w)?;
            }
        }
        self.delete_acked_segments()?;
        // The mark only saves re-sending after a restart, so it is written at most 5 times a
        // second rather than after every delivery report.
        let due = !matches!(self.last_persist, Some(t) if t.elapsed() < Duration::from_millis(200));
        if due && self.acked != self.acked_persisted && !self.segments.is_empty() {
            self.persist_acked()?;
            self.last_persist = Some(Instant::now());
        }
        Ok(())
    }

    /// Flushes and fsyncs everything (at shutdown).
    pub fn sync(&mut self) -> io::Result<()> {
        self.close_writer()?;
        self.delete_acked_segments()?;
        if self.segments.is_empty() {
            return Ok(());
        }
        if self.acked != self.acked_persisted {
            self.persist_acked()?;
        }
        sync_dir(&self.dir)
    }

    fn persist_acked(&mut self) -> io::Result<()> {
        let tmp = self.dir.join("acked.tmp");
        fs::write(&tmp, format!("{}\n", self.acked))?;
        fs::rename(&tmp, self.dir.join(ACKED_FILE))?;
        self.acked_persisted = self.acked;
        Ok(())
    }

    fn delete_acked_segments(&mut self) -> io::Result<()> {
        let acked = self.acked;
        let mut i = 0;
        while i < self.segments.len() {
            let s = &self.segments[i];
            let is_active = self.writer.is_some() && i + 1 == self.segments.len();
            if s.last <= acked && (!is_active || s.last >= s.first) {
                if is_active {
                    self.writer = None;
                }
                if self
                    .reader
                    .as_ref()
                    .is_some_and(|r| r.segment_first == s.first)
                {
                    self.reader = None;
                }
                let len = fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0);
                match fs::remove_file(&s.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                self.bytes = self.bytes.saturating_sub(len);
                self.segments.remove(i);
            } else {
                i += 1;
            }
        }
        if self.segments.is_empty() && self.acked_persisted != 0 {
            // Nothing left: forget the mark so an empty spool directory is really empty.
            // (Ids keep growing within this run; a new run starts again at 1.)
            match fs::remove_file(self.dir.join(ACKED_FILE)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            self.acked_persisted = 0;
        }
        Ok(())
    }

    fn new_segment(&mut self, first: u64) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(segment_name(first));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let bytes = file.metadata()?.len();
        self.writer = Some(Writer {
            file: BufWriter::new(file),
            bytes,
            dirty_since: None,
        });
        self.segments.push(Segment {
            first,
            last: first - 1,
            path,
        });
        Ok(())
    }

    fn close_writer(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            sync_writer(&mut w)?;
        }
        Ok(())
    }
}

fn segment_name(first: u64) -> String {
    format!("seg-{first:020}.jsonl")
}

fn sync_writer(w: &mut Writer) -> io::Result<()> {
    w.file.flush()?;
    w.file.get_ref().sync_data()?;
    w.dirty_since = None;
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // Makes created, renamed and deleted names durable; not possible on every platform.
    match File::open(dir).and_then(|d| d.sync_all()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        Err(e) if cfg!(windows) => {
            let _ = e;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Complete lines in a segment and the byte length they span.
fn count_lines(path: &Path) -> io::Result<(u64, u64)> {
    let mut r = BufReader::new(File::open(path)?);
    let mut buf = Vec::new();
    let (mut count, mut len) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            return Ok((count, len));
        }
        count += 1;
        len += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64) -> SpoolRecord {
        SpoolRecord {
            id,
            topic: "t".into(),
            partition: (id % 3) as i32,
            key: format!("k{}", id % 2),
            headers: vec![("schema".into(), "balance.v1".into())],
            payload: format!("{{\"n\":{id}}}"),
        }
    }

    fn read_all(s: &mut Spool) -> Vec<u64> {
        std::iter::from_fn(|| s.read().unwrap())
            .map(|r| r.id)
            .collect()
    }

    #[test]
    fn records_come_back_in_order_and_go_away_when_acked() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("spool");
        let mut s = Spool::open(&dir, Duration::from_secs(1)).unwrap();
        s.sync().unwrap();
        assert!(!dir.exists(), "nothing spooled, no directory");
        for id in 1..=5 {
            s.append(&rec(id)).unwrap();
        }
        assert_eq!(s.unread(), 5);
        assert_eq!(s.read().unwrap(), Some(rec(1)));
        assert_eq!(read_all(&mut s), vec![2, 3, 4, 5]);
        assert_eq!(s.unread(), 0);
        assert_eq!(s.depth(), 5);
        s.maintain().unwrap();
        // Acks out of order: the mark moves only over a contiguous run.
        for id in [2, 1, 4] {
            s.ack(id);
        }
        assert_eq!(s.acked(), 2);
        s.maintain().unwrap();
        assert_eq!(s.depth(), 3);
        s.ack(3);
        s.ack(5);
        s.maintain().unwrap();
        assert_eq!(s.depth(), 0);
        assert!(s.bytes() == 0, "{}", s.bytes());
        let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_reopened_spool_resumes_after_the_delivered_mark() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(dir.path(), Duration::ZERO).unwrap();
            for id in 1..=6 {
                s.append(&rec(id)).unwrap();
            }
            assert_eq!(read_all(&mut s), vec![1, 2, 3, 4, 5, 6]);
            s.ack(1);
            s.ack(2);
            s.maintain().unwrap();
            // Dropped without sync: a crash.
        }
        // A torn line from a crash mid-write.
        let seg = dir.path().join(segment_name(1));
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(b"{\"id\":7,\"top").unwrap();
        drop(f);

        let mut s = Spool::open(dir.path(), Duration::ZERO).unwrap();
        assert_eq!(s.last_id(), 6);
        assert_eq!(s.unread(), 4);
        assert_eq!(read_all(&mut s), vec![3, 4, 5, 6]);
        s.append(&rec(7)).unwrap();
        assert_eq!(read_all(&mut s), vec![7]);
    }

    #[test]
    fn ids_an_earlier_run_never_wrote_do_not_hold_back_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(dir.path(), Duration::ZERO).unwrap();
            // 1..=9 went straight to librdkafka and were lost with the process; 10..=11 spooled.
            s.append(&rec(10)).unwrap();
            s.append(&rec(11)).unwrap();
        }
        let mut s = Spool::open(dir.path(), Duration::ZERO).unwrap();
        assert_eq!(s.acked(), 9);
        assert_eq!(read_all(&mut s), vec![10, 11]);
        s.ack(10);
        s.ack(11);
        s.maintain().unwrap();
        assert_eq!(s.depth(), 0);
        // This run's ids continue after the earlier run's.
        assert_eq!(s.last_id(), 11);
    }

    #[test]
    fn records_held_at_shutdown_slot_in_before_newer_spooled_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), Duration::ZERO).unwrap();
        // 1..=3 spooled and read; 4..=6 went straight to librdkafka; 7..=8 spooled after.
        for id in 1..=3 {
            s.append(&rec(id)).unwrap();
        }
        assert_eq!(read_all(&mut s), vec![1, 2, 3]);
        for id in 7..=8 {
            s.append(&rec(id)).unwrap();
        }
        s.ack(1);
        // librdkafka still held 2..=6 at shutdown (2 and 3 are on disk already).
        let n = s.insert_older((2..=6).map(rec).collect()).unwrap();
        assert_eq!(n, 3);
        s.sync().unwrap();
        drop(s);
        let mut s = Spool::open(dir.path(), Duration::ZERO).unwrap();
        assert_eq!(read_all(&mut s), vec![2, 3, 4, 5, 6, 7, 8]);
    }
}
