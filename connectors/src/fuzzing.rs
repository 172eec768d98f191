//! Entry points for the fuzz targets (`fuzz/`) and for the suite that replays their corpora
//! (`tests/it/fuzz_corpus.rs`): bytes in, every parser the bytes can reach run, a summary out.
//! No input may panic; whatever does not parse must come back as an error.

use crate::capture::{parse_line, CaptureLine};
use crate::registry::{balance_streams, polling_venues, streaming_venues};
use crate::symbols::{InstrumentSpec, SymbolTable};
use crate::transport::{frame_to_quotes, Connection, FrameMeta};
use schemas::Ts;

/// What one input did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Frames (or capture lines) a parser accepted.
    pub accepted: usize,
    /// Frames refused with an error.
    pub refused: usize,
    /// Quotes and balances produced.
    pub observations: usize,
    /// Observations produced from frames that are not JSON at all: must stay 0.
    pub from_non_json: usize,
}

impl Outcome {
    fn add(&mut self, o: Outcome) {
        self.accepted += o.accepted;
        self.refused += o.refused;
        self.observations += o.observations;
        self.from_non_json += o.from_non_json;
    }
}

/// Number of parsers [`venue_frames`] dispatches to (first byte modulo this).
/// Parsers are numbered in registry order: price streams, then REST, then private streams.
pub fn parser_count() -> usize {
    streams() + rests() + balance_streams().count()
}

fn streams() -> usize {
    streaming_venues().count()
}

fn rests() -> usize {
    polling_venues().count()
}

/// The name of parser `i` (`stream:binance`, `rest:kraken`, `ws-balances:bybit`).
pub fn parser_name(i: usize) -> String {
    let i = i % parser_count();
    let (s, r) = (streams(), rests());
    match (
        streaming_venues().nth(i),
        polling_venues().nth(i.wrapping_sub(s)),
    ) {
        (Some(v), _) => format!("stream:{}", v.kind()),
        (None, Some(v)) if i < s + r => format!("rest:{}", v.kind()),
        _ => match balance_streams().nth(i - s - r) {
            Some(v) => format!("ws-balances:{}", v.kind()),
            None => unreachable!("i < parser_count()"),
        },
    }
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Separates frames in a [`venue_frames`] input (ASCII record separator: fixtures are
/// pretty-printed JSON, so not a newline).
pub const FRAME_SEPARATOR: char = '\u{1e}';

/// The first byte picks a parser; the rest, split on [`FRAME_SEPARATOR`], is a sequence of
/// frames fed to it in order on one connection (so sequencing, books and channel bindings
/// carry over).
pub fn venue_frames(data: &[u8]) -> Outcome {
    let Some((&sel, rest)) = data.split_first() else {
        return Outcome::default();
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return Outcome::default(); // transports hand parsers text only
    };
    frames(sel as usize % parser_count(), text.split(FRAME_SEPARATOR))
}

fn frames<'a>(i: usize, frames: impl Iterator<Item = &'a str>) -> Outcome {
    let mut out = Outcome::default();
    let (s, r) = (streams(), rests());
    if let Some(venue) = streaming_venues().nth(i) {
        let table = SymbolTable::new(
            venue
                .sample_symbols()
                .iter()
                .map(|s| InstrumentSpec {
                    venue_symbol: (*s).to_owned(),
                    stream: format!("ticker:{s}"),
                })
                .collect(),
        );
        let mut conn = Connection::default();
        for frame in frames {
            let mut n = 0;
            let meta = FrameMeta {
                received_at: Ts::from_millis(1_790_000_000_000),
                epoch: 1,
                connector: 0,
            };
            let r = frame_to_quotes(
                venue,
                frame,
                meta,
                &table,
                &mut conn,
                &mut |_| n += 1,
                &mut |_| {},
            );
            out.add(tally(r.is_ok(), n, frame));
        }
    } else if let Some(venue) = polling_venues().nth(i - s).filter(|_| i < s + r) {
        for body in frames {
            let mut n = 0;
            let r = venue.parse_page(body, None, &mut |b| {
                let _ = b.into_obs(0, Ts::from_millis(1_790_000_000_000));
                n += 1;
            });
            out.add(tally(r.is_ok(), n, body));
        }
    } else if let Some(venue) = balance_streams().nth(i - s - r) {
        for frame in frames {
            let mut n = 0;
            let r = venue.parse(frame, &mut |b| {
                let _ = b.into_obs(0, Ts::from_millis(1_790_000_000_000));
                n += 1;
            });
            out.add(tally(r.is_ok(), n, frame));
        }
    }
    out
}

fn tally(ok: bool, observations: usize, frame: &str) -> Outcome {
    Outcome {
        accepted: usize::from(ok),
        refused: usize::from(!ok),
        observations,
        from_non_json: if observations > 0 && !is_json(frame) {
            observations
        } else {
            0
        },
    }
}

/// A capture file's text: every line through the capture reader, and every line it accepts
/// through the parser its `venue` and `channel` name, as replay does.
pub fn capture_text(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::default();
    };
    let mut out = Outcome::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let line: CaptureLine = match parse_line(line) {
            Ok(l) => l,
            Err(_) => {
                out.refused += 1;
                continue;
            }
        };
        out.accepted += 1;
        let (s, r) = (streams(), rests());
        let stream = streaming_venues().position(|v| v.kind() == line.venue);
        let rest = polling_venues().position(|v| v.kind() == line.venue);
        let private = balance_streams().position(|v| v.kind() == line.venue);
        let target = if line.channel.starts_with("rest:") {
            rest.map(|i| s + i)
        } else if line.channel == crate::transport::private_ws::CAPTURE_CHANNEL {
            private.map(|i| s + r + i)
        } else {
            stream
        };
        if let Some(i) = target {
            out.add(frames(i, std::iter::once(line.frame.as_str())));
        }
    }
    out
}
