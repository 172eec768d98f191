//! JSON lines sink: one record's JSON (`Record::write_json`, the bytes of `to_json`) per line, to a file or to stdout (`-`).

use schemas::topics::Record;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Stdout, Write};

enum Out {
    File(BufWriter<File>),
    Stdout(BufWriter<Stdout>),
}

/// Writes records as JSON lines through a buffer; call [`JsonlSink::flush`] before exit.
///
/// A file is opened in append mode: restarting the tracker never truncates what an earlier run
/// wrote, so the file is a complete log of everything published to it.
pub struct JsonlSink {
    path: String,
    out: Out,
    lines: u64,
    /// The line being written, reused (`Record::write_json` appends to it).
    line: Vec<u8>,
}

impl JsonlSink {
    /// Opens `path` for appending (created if missing), or stdout when `path` is `-`.
    pub fn open(path: &str) -> io::Result<Self> {
        let out = if path == "-" {
            Out::Stdout(BufWriter::new(io::stdout()))
        } else {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            Out::File(BufWriter::new(file))
        };
        tracing::info!(path, "jsonl sink opened");
        Ok(JsonlSink {
            path: path.to_owned(),
            out,
            lines: 0,
            line: Vec::with_capacity(1024),
        })
    }

    /// Where this sink writes (`-` for stdout).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Buffers one record as one line.
    pub fn write(&mut self, rec: &Record) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        rec.write_json(&mut line);
        line.push(b'\n');
        let written = self.writer().write_all(&line);
        self.line = line;
        written?;
        self.lines += 1;
        Ok(())
    }

    /// Writes the buffer out to the file or stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }

    fn writer(&mut self) -> &mut dyn Write {
        match &mut self.out {
            Out::File(w) => w,
            Out::Stdout(w) => w,
        }
    }
}

impl std::fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlSink")
            .field("path", &self.path)
            .field("lines", &self.lines)
            .finish()
    }
}
