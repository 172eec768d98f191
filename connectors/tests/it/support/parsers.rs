//! What the parser tests (`parsers/*`) share: one frame through a registry entry, the
//! expectations on its outcome, exact decimals, and the frames of cryptofeed recordings.
//!
//! Every parse goes through the registry (`registry::streaming(kind).parse`), the same entry
//! point the transport and replay use. Decimals are checked by value AND by `to_string()`, so a
//! lost trailing zero or a float round trip shows up as a failure.

use connectors::registry;
use connectors::{ConnState, FrameKind, ParseError, ParsedQuote, StreamingVenue};
use rust_decimal::Decimal;
use std::str::FromStr;

/// The registry's streaming entry of `kind`.
pub fn venue(kind: &str) -> &'static dyn StreamingVenue {
    registry::streaming(kind).unwrap_or_else(|| panic!("{kind} is not in the registry"))
}

/// Parses one frame through the registry entry of `kind` on connection state `conn`, collecting
/// every emitted quote.
pub fn parse_with(
    kind: &str,
    conn: &ConnState,
    frame: &str,
) -> (Result<FrameKind, ParseError>, Vec<ParsedQuote<'static>>) {
    let mut quotes = Vec::new();
    let result = venue(kind).parse(frame, conn, &mut |q| quotes.push(q.into_owned()));
    (result, quotes)
}

/// [`parse_with`] on a fresh connection.
pub fn parse(
    kind: &str,
    frame: &str,
) -> (Result<FrameKind, ParseError>, Vec<ParsedQuote<'static>>) {
    parse_with(kind, &ConnState::default(), frame)
}

/// A data frame that must yield exactly one quote.
#[track_caller]
pub fn one_quote(kind: &str, frame: &str) -> ParsedQuote<'static> {
    let (result, mut quotes) = parse(kind, frame);
    assert_eq!(result, Ok(FrameKind::Data), "{kind}: {frame}");
    assert_eq!(quotes.len(), 1, "{kind}: one quote expected from {frame}");
    quotes.pop().unwrap()
}

/// A frame that is not data: the given kind and no quote at all.
#[track_caller]
pub fn no_quote(kind: &str, frame: &str, expected: FrameKind) {
    let (result, quotes) = parse(kind, frame);
    assert_eq!(result, Ok(expected), "{kind}: {frame}");
    assert!(
        quotes.is_empty(),
        "{kind}: no quote expected from {frame}, got {quotes:?}"
    );
}

/// A frame the venue answers with an error: its text, and no quote.
#[track_caller]
pub fn venue_error(kind: &str, frame: &str) -> String {
    let (result, quotes) = parse(kind, frame);
    assert!(quotes.is_empty(), "{kind}: quote from {frame}: {quotes:?}");
    match result {
        Ok(FrameKind::VenueError(e)) => e,
        other => panic!("{kind}: {frame} -> {other:?}, expected a venue error"),
    }
}

/// A frame that must be refused on connection state `conn`: an error naming the venue, and no
/// quote emitted before it.
#[track_caller]
pub fn rejected_with(kind: &str, conn: &ConnState, frame: &str) -> ParseError {
    let (result, quotes) = parse_with(kind, conn, frame);
    assert!(
        quotes.is_empty(),
        "{kind}: quote emitted from bad frame {frame:?}: {quotes:?}"
    );
    let err = match result {
        Err(e) => e,
        Ok(k) => panic!("{kind}: bad frame {frame:?} accepted as {k:?}"),
    };
    assert_eq!(err.venue(), kind, "{err}");
    assert!(
        err.to_string().starts_with(kind),
        "error does not name the venue: {err}"
    );
    err
}

/// [`rejected_with`] on a fresh connection.
#[track_caller]
pub fn rejected(kind: &str, frame: &str) -> ParseError {
    rejected_with(kind, &ConnState::default(), frame)
}

/// `actual` is exactly the decimal the venue wrote: same value, same scale.
#[track_caller]
pub fn assert_dec(field: &str, actual: Option<Decimal>, expected: &str) {
    let want = Decimal::from_str(expected).unwrap();
    let got = actual.unwrap_or_else(|| panic!("{field}: missing, expected {expected}"));
    assert_eq!(got, want, "{field}");
    assert_eq!(
        got.to_string(),
        expected,
        "{field}: scale or digits changed"
    );
}

/// A decimal from its text.
pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Every strict prefix of a real frame (a frame cut short on the wire) is refused and emits
/// nothing; none of them panics.
pub fn truncations_are_rejected(kind: &str, frame: &str) {
    let frame = frame.trim_end();
    for cut in 0..frame.len() {
        if frame.is_char_boundary(cut) {
            rejected(kind, &frame[..cut]);
        }
    }
}

/// Frames of a cryptofeed raw-data recording: line 1 is `<url> <-> <ts>`; each other line is
/// `<recv_ts>: <frame>` (client frames read `<url> <- <ts>: <frame>`).
pub fn replay_frames(text: &str) -> Vec<&str> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split_once(": ")
                .unwrap_or_else(|| panic!("not a replay line: {l}"))
                .1
        })
        .collect()
}

/// The server frames of a cryptofeed recording (`<recv_ts>: <frame>`); the client's own frames
/// (`<url> <- <ts>: <frame>`) and the header line are skipped.
pub fn replay_server_frames(text: &str) -> Vec<&str> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.contains(" <- "))
        .map(|l| {
            l.split_once(": ")
                .unwrap_or_else(|| panic!("not a replay line: {l}"))
                .1
        })
        .collect()
}

/// The malformed inputs every venue must refuse without a panic.
pub const GARBAGE: [&str; 8] = [
    "",
    " ",
    "{",
    "[]",
    "null",
    "42",
    "\"ticker\"",
    "{\"garbage\": [1, 2,", // what the simulators send for `send_garbage`
];
