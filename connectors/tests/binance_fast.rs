//! The Binance bookTicker fast path (`venues::binance::fast`) against the serde path it
//! shortcuts: on every real Binance fixture frame and on randomly mutated bookTicker frames, the
//! registry's `parse` (fast path first) and `parse::parse_serde` give the same result and the same
//! quotes; the fast path either agrees or declines. Likewise `decimal::plain` against
//! `Decimal::from_str`, bit for bit (coefficient, scale, sign).

use connectors::decimal::{parse_decimal, plain};
use connectors::venues::binance::{fast, parse};
use connectors::{FrameKind, ParseError, ParsedQuote};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

const COMBINED: &str = include_str!("fixtures/binance/ws_bookTicker_combined_live_capture.json");
const RAW_DOC: &str = include_str!("fixtures/binance/ws_bookTicker.json");
const REPLAY: &str = include_str!("fixtures/binance/replay_cryptofeed_BINANCE.ws.1.0.excerpt.txt");
const OTHERS: [&str; 12] = [
    include_str!("fixtures/binance/ws_24hrTicker.json"),
    include_str!("fixtures/binance/ws_aggTrade.json"),
    include_str!("fixtures/binance/ws_aggTrade_combined_live_capture.json"),
    include_str!("fixtures/binance/ws_depthUpdate_combined_live_capture.json"),
    include_str!("fixtures/binance/ws_kline_combined_live_capture.json"),
    include_str!("fixtures/binance/ws_list_subscriptions_response.json"),
    include_str!("fixtures/binance/ws_miniTicker.json"),
    include_str!("fixtures/binance/ws_serverShutdown_combined.json"),
    include_str!("fixtures/binance/ws_serverShutdown_raw.json"),
    include_str!("fixtures/binance/ws_subscribe_response.json"),
    include_str!("fixtures/binance/ws_trade.json"),
    include_str!("fixtures/binance/ws_trade_combined_nautilus.json"),
];

type Parser = fn(&str, &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError>;
type Outcome = (Result<FrameKind, ParseError>, Vec<ParsedQuote<'static>>);

fn run(f: Parser, frame: &str) -> Outcome {
    let mut quotes = Vec::new();
    let r = f(frame, &mut |q| quotes.push(q.into_owned()));
    (r, quotes)
}

/// Both paths agree on `frame`; returns whether the fast path took it.
fn same(frame: &str) -> bool {
    assert_eq!(
        run(parse::parse, frame),
        run(parse::parse_serde, frame),
        "{frame:?}"
    );
    fast::book_ticker(frame).is_some()
}

/// The frames of cryptofeed's live capture (`<timestamp>: <frame>` lines).
fn replay_frames() -> Vec<&'static str> {
    REPLAY
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(_, f)| f))
        .filter(|f| f.starts_with('{'))
        .collect()
}

#[test]
fn fixtures_agree_and_book_tickers_take_the_fast_path() {
    assert!(same(COMBINED), "live combined bookTicker declined");
    assert!(
        same(RAW_DOC),
        "documented raw bookTicker (pretty-printed) declined"
    );
    let (r, q) = run(parse::parse, COMBINED);
    assert_eq!(r, Ok(FrameKind::Data));
    assert_eq!(
        q[0].bid.map(|d| d.to_string()).as_deref(),
        Some("0.35210000")
    );
    let mut fast_taken = 0;
    let frames = replay_frames();
    for f in &frames {
        let took = same(f);
        assert_eq!(took, f.contains("@bookTicker\""), "fast path on {f}");
        fast_taken += usize::from(took);
    }
    assert!(fast_taken >= 40, "{fast_taken} of {} frames", frames.len());
    for f in OTHERS {
        assert!(!same(f), "fast path took a non-bookTicker frame: {f}");
    }
}

#[test]
fn near_misses_are_declined_and_agree() {
    for f in [
        r#"{"u":1,"s":"BTC\u0055SDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":01,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":1.0,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":-1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":18446744073709551616,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1","A":"1"}"#,
        r#"{"u":1,"s":"BTCUSDT","B":"1","b":"1","a":"2","A":"1"}"#,
        r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2"}"#,
        r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}x"#,
        r#"{"stream":"x","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"},"id":1}"#,
        r#"{"stream":"x","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
    ] {
        assert!(!same(f), "fast path took {f}");
    }
    // Accepted and identical: whitespace, empty decimals, bad decimals (same error).
    for f in [
        " {\"u\" : 7 ,\n\"s\":\"BTCUSDT\",\"b\":\"1\",\"B\":\"1\",\"a\":\"2\",\"A\":\"1\"}\r\n",
        r#"{"u":1,"s":"BTCUSDT","b":"","B":"","a":"","A":""}"#,
        r#"{"u":1,"s":"BTCUSDT","b":"1x","B":"1","a":"2","A":"1"}"#,
        r#"{"u":0,"s":"BTCUSDT","b":"1e-3","B":"1","a":"2","A":"1"}"#,
    ] {
        assert!(same(f), "fast path declined {f}");
    }
}

/// One random edit of `base`: replace, insert or delete a byte, from JSON-ish bytes.
fn mutate(base: &str, edits: &[(u8, usize, u8)]) -> Option<String> {
    const ALPHABET: &[u8] = b"\"\\{}[]:, \n\t0123456789.-+eEabBAsu\x01\xc3\xa9";
    let mut b = base.as_bytes().to_vec();
    for &(op, pos, c) in edits {
        let c = ALPHABET[c as usize % ALPHABET.len()];
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn mutated_book_tickers_agree(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let raw = COMBINED.trim().strip_prefix(r#"{"stream":"nknusdt@bookTicker","data":"#)
            .and_then(|r| r.strip_suffix('}')).expect("combined shape");
        let base = [COMBINED, RAW_DOC, raw][which];
        if let Some(frame) = mutate(base, &edits) {
            same(&frame);
        }
    }

    #[test]
    fn plain_decimals_are_from_str_bit_for_bit(t in r"-?[0-9]{1,20}(\.[0-9]{1,20})?") {
        let want = Decimal::from_str(&t).ok();
        if let Some(d) = plain(&t) {
            prop_assert_eq!(Some(d.serialize()), want.map(|w| w.serialize()), "{}", t);
        }
        prop_assert_eq!(parse_decimal(&t).map(|d| d.serialize()), want.map(|w| w.serialize()));
    }

    #[test]
    fn odd_decimal_text_is_declined_or_exact(t in r"[-+0-9._eE]{0,24}") {
        if let Some(d) = plain(&t) {
            let want = Decimal::from_str(&t).expect("from_str takes what plain takes");
            prop_assert_eq!(d.serialize(), want.serialize(), "{}", t);
            prop_assert_eq!(d.to_string(), want.to_string());
        }
    }
}
