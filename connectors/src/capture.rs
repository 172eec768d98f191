//! Capture files (interface.md): one received frame per JSON line. Requests and credentials are
//! never recorded, only what the venue sent.

use schemas::Ts;
use serde::{Deserialize, Serialize};
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

#[cfg(test)]
mod tests {
    use super::*;

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
