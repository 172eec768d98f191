//! What the fast-path equivalence tests (`fast/*`) share: running a parser into owned
//! quotes, minifying a fixture the way venues send it, and random byte edits of a frame.

use connectors::{FrameKind, ParseError, ParsedQuote};

pub type Parser = fn(&str, &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError>;
pub type Outcome = (Result<FrameKind, ParseError>, Vec<ParsedQuote<'static>>);

/// The parser's result and the quotes it emitted.
pub fn run(f: Parser, frame: &str) -> Outcome {
    let mut quotes = Vec::new();
    let r = f(frame, &mut |q| quotes.push(q.into_owned()));
    (r, quotes)
}

/// Whitespace outside JSON strings removed: what the venue sends on the wire.
pub fn minify(text: &str) -> String {
    let (mut out, mut in_str, mut esc) = (String::new(), false, false);
    for c in text.chars() {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Random edits of `base` (op, position, byte): replace, insert or delete a byte drawn from
/// `alphabet` (JSON-ish bytes and the letters of the venue's keys); `None` if not UTF-8.
pub fn mutate(base: &str, edits: &[(u8, usize, u8)], alphabet: &[u8]) -> Option<String> {
    let mut b = base.as_bytes().to_vec();
    for &(op, pos, c) in edits {
        let c = alphabet[c as usize % alphabet.len()];
        let pos = pos % (b.len() + 1);
        match op % 3 {
            0 if pos < b.len() => b[pos] = c,
            1 => b.insert(pos, c),
            _ if pos < b.len() => {
                b.remove(pos);
            }
            _ => {}
        }
    }
    String::from_utf8(b).ok()
}

/// The frames of a cryptofeed live capture (`<timestamp>: <frame>` lines).
pub fn capture_frames(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .filter_map(|l| l.split_once(": ").map(|(_, f)| f))
        .filter(|f| f.starts_with('{'))
        .collect()
}
