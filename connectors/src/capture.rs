//! Capture files (interface.md): one received frame per JSON line. Requests and credentials are
//! never recorded, only what the venue sent.

use schemas::Ts;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::{BufRead, Write};
use tokio::sync::mpsc;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureLine {
    pub connector: String,
    pub venue: String,
    pub received_at: Ts,
    /// `ws` or `rest:<path>`.
    pub channel: String,
    /// The exact text received.
    pub frame: String,
    /// Connection epoch of the frame (added to the contract so a replay reproduces `epoch`).
    #[serde(default)]
    pub epoch: u64,
}

/// Where connectors send frames to record. Bounded; recording takes backpressure rather than
/// losing frames, because a capture with holes would not replay into the same records.
pub type CaptureTx = mpsc::Sender<CaptureLine>;

/// Writes capture lines to `path` until every sender is dropped, then flushes.
pub fn spawn_writer(
    path: &std::path::Path,
) -> std::io::Result<(CaptureTx, tokio::task::JoinHandle<std::io::Result<u64>>)> {
    let file = std::fs::File::create(path)?;
    let (tx, mut rx) = mpsc::channel::<CaptureLine>(16_384);
    let handle = tokio::task::spawn_blocking(move || {
        let mut w = std::io::BufWriter::new(file);
        let mut n = 0u64;
        while let Some(line) = rx.blocking_recv() {
            serde_json::to_writer(&mut w, &line)?;
            w.write_all(b"\n")?;
            n += 1;
        }
        w.flush()?;
        Ok(n)
    });
    Ok((tx, handle))
}

/// Reads a capture file; a line that is not a capture line is reported with its number.
pub fn read_lines(
    path: &std::path::Path,
) -> std::io::Result<impl Iterator<Item = Result<CaptureLine, (usize, String)>>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    Ok(file
        .lines()
        .enumerate()
        .filter(|(_, l)| !matches!(l, Ok(s) if s.trim().is_empty()))
        .map(|(i, l)| {
            let l = l.map_err(|e| (i + 1, e.to_string()))?;
            parse_line(&l).map_err(|e| (i + 1, e))
        }))
}

/// One capture line (a JSON object), or why it is not one.
pub fn parse_line(line: &str) -> Result<CaptureLine, String> {
    serde_json::from_str::<CaptureLine>(line).map_err(|e| e.to_string())
}

/// A capture line borrowed from the reader's buffers: what [`CaptureReader`] hands out, with
/// the same field values [`parse_line`] gives.
#[derive(Clone, Debug, PartialEq)]
pub struct CaptureRef<'a> {
    pub connector: Cow<'a, str>,
    pub venue: Cow<'a, str>,
    pub received_at: Ts,
    pub channel: Cow<'a, str>,
    pub frame: Cow<'a, str>,
    pub epoch: u64,
}

impl CaptureRef<'_> {
    pub fn into_owned(self) -> CaptureLine {
        CaptureLine {
            connector: self.connector.into_owned(),
            venue: self.venue.into_owned(),
            received_at: self.received_at,
            channel: self.channel.into_owned(),
            frame: self.frame.into_owned(),
            epoch: self.epoch,
        }
    }
}

/// Reads a capture file line by line into reused buffers: a line as our writer (and
/// `scripts/gen-capture.py`) writes it is scanned without allocating; any other line goes
/// through [`parse_line`], so both give the same lines and the same errors.
pub struct CaptureReader<R> {
    inner: R,
    line: String,
    frame: String,
    number: usize,
}

impl CaptureReader<std::io::BufReader<std::fs::File>> {
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        Ok(CaptureReader::new(std::io::BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(path)?,
        )))
    }
}

impl<R: BufRead> CaptureReader<R> {
    pub fn new(inner: R) -> Self {
        CaptureReader {
            inner,
            line: String::with_capacity(4096),
            frame: String::with_capacity(4096),
            number: 0,
        }
    }

    /// The next non-blank line, or why it is not a capture line (with its 1-based number), as
    /// [`read_lines`] reports it; `None` at the end of the file.
    #[allow(clippy::should_implement_trait)] // it lends from `self`: not an `Iterator`
    pub fn next(&mut self) -> Option<Result<CaptureRef<'_>, (usize, String)>> {
        let len = loop {
            self.line.clear();
            self.number += 1;
            match self.inner.read_line(&mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err((self.number, e.to_string()))),
            }
            // `lines()` strips "\n" or "\r\n"; `read_line` keeps them.
            let mut l = self.line.as_str();
            if let Some(x) = l.strip_suffix('\n') {
                l = x.strip_suffix('\r').unwrap_or(x);
            }
            if !l.trim().is_empty() {
                break l.len();
            }
        };
        let l = &self.line[..len];
        if let Some(fast) = scan_line(l, &mut self.frame) {
            let frame = if fast.frame_in_buffer {
                Cow::Borrowed(self.frame.as_str())
            } else {
                Cow::Borrowed(&l[fast.frame])
            };
            return Some(Ok(CaptureRef {
                connector: Cow::Borrowed(&l[fast.connector]),
                venue: Cow::Borrowed(&l[fast.venue]),
                received_at: fast.received_at,
                channel: Cow::Borrowed(&l[fast.channel]),
                frame,
                epoch: fast.epoch,
            }));
        }
        Some(match parse_line(l) {
            Ok(c) => Ok(CaptureRef {
                connector: Cow::Owned(c.connector),
                venue: Cow::Owned(c.venue),
                received_at: c.received_at,
                channel: Cow::Owned(c.channel),
                frame: Cow::Owned(c.frame),
                epoch: c.epoch,
            }),
            Err(e) => Err((self.number, e)),
        })
    }
}

use crate::venues::scan::find_special;

#[cfg(test)]
fn is_special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// Where the fields of a line the fast scanner took are (ranges into the line).
struct Scanned {
    connector: std::ops::Range<usize>,
    venue: std::ops::Range<usize>,
    received_at: Ts,
    channel: std::ops::Range<usize>,
    /// The frame's range in the line when it had no escapes, else it is in the frame buffer.
    frame: std::ops::Range<usize>,
    frame_in_buffer: bool,
    epoch: u64,
}

/// The exact shape our writer produces: `{"connector":"..","venue":"..","received_at":"..",
/// "channel":"..","frame":"..","epoch":N}`, keys in that order, no whitespace, the first four
/// strings without escapes, the frame with the short escapes (`\" \\ \/ \b \f \n \r \t`,
/// unescaped into `buf`), `epoch` a plain `u64`. `None` for anything else (a `\u` escape, a
/// control character, another key order, an overflowing number...): the caller then parses the
/// line with serde_json, which also decides whether it is an error.
fn scan_line(l: &str, buf: &mut String) -> Option<Scanned> {
    let b = l.as_bytes();
    let mut i = 0;
    let lit = |i: &mut usize, s: &[u8]| -> Option<()> {
        if b.get(*i..*i + s.len())? == s {
            *i += s.len();
            Some(())
        } else {
            None
        }
    };
    // A string without escapes or control characters, up to its closing quote.
    let plain = |i: &mut usize| -> Option<std::ops::Range<usize>> {
        let start = *i;
        *i = find_special(b, *i);
        if *b.get(*i)? != b'"' {
            return None;
        }
        let r = start..*i;
        *i += 1;
        Some(r)
    };
    lit(&mut i, br#"{"connector":""#)?;
    let connector = plain(&mut i)?;
    lit(&mut i, br#","venue":""#)?;
    let venue = plain(&mut i)?;
    lit(&mut i, br#","received_at":""#)?;
    let at = plain(&mut i)?;
    let received_at = Ts::parse_rfc3339(&l[at])?;
    lit(&mut i, br#","channel":""#)?;
    let channel = plain(&mut i)?;
    lit(&mut i, br#","frame":""#)?;
    // The frame: copy the runs between escapes; every escape here is ASCII, so the runs are
    // whole UTF-8 sequences of the (valid) line.
    let start = i;
    let mut run = i;
    let mut escaped = false;
    buf.clear();
    loop {
        i = find_special(b, i);
        match *b.get(i)? {
            b'"' => break,
            b'\\' => {
                escaped = true;
                buf.push_str(&l[run..i]);
                let c = match *b.get(i + 1)? {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    _ => return None, // `\u....` and invalid escapes: serde_json's business
                };
                buf.push(c);
                i += 2;
                run = i;
            }
            _ => return None, // a control character: not valid in a JSON string
        }
    }
    let frame = start..i;
    if escaped {
        buf.push_str(&l[run..i]);
    }
    i += 1;
    lit(&mut i, br#","epoch":"#)?;
    let digits = i;
    let mut epoch: u64 = 0;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        epoch = epoch.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        i += 1;
    }
    // One digit, or no leading zero (serde_json refuses `01`).
    let n = i - digits;
    if n == 0 || (n > 1 && b[digits] == b'0') {
        return None;
    }
    lit(&mut i, b"}")?;
    (i == b.len()).then_some(Scanned {
        connector,
        venue,
        received_at,
        channel,
        frame,
        frame_in_buffer: escaped,
        epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn find_special_finds_the_first_special_byte(
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            plain in proptest::collection::vec(0x20u8..0x7f, 0..40),
            from in 0usize..50,
        ) {
            // Mostly plain bytes with a few specials, and arbitrary bytes.
            let mixed: Vec<u8> = plain.iter().zip(b.iter().cycle()).map(|(&p, &r)| if r % 7 == 0 { r % 0x40 } else { p }).collect();
            for bytes in [&b, &plain, &mixed] {
                let from = from.min(bytes.len());
                let naive = (from..bytes.len()).find(|&j| is_special(bytes[j])).unwrap_or(bytes.len());
                proptest::prop_assert_eq!(find_special(bytes, from), naive);
            }
        }
    }

    #[test]
    fn reads_the_interface_example() {
        let line = r#"{"connector":"binance-spot","venue":"binance","received_at":"2026-11-24T11:00:00.123456Z","channel":"ws","frame":"{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\",\"B\":\"31.21000000\",\"a\":\"25.36520000\",\"A\":\"40.66000000\"}"}"#;
        let c: CaptureLine = serde_json::from_str(line).unwrap();
        assert_eq!(c.venue, "binance");
        assert_eq!(c.epoch, 0);
        assert!(c.frame.starts_with("{\"u\":400900217"));
        assert_eq!(c.received_at.to_string(), "2026-11-24T11:00:00.123456Z");
    }
}
