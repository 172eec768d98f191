//! The Binance bookTicker fast paths (`venues::binance::fast`: `quote` for the minified layout,
//! `book_ticker` for any whitespace) against the serde path they shortcut: on every real Binance
//! fixture frame and on randomly mutated bookTicker frames, the registry's `parse` (both fast
//! paths first), `parse::parse_scanned` (`book_ticker` first) and `parse::parse_serde` give the
//! same result and the same quotes; a fast path either agrees or declines. Likewise `decimal::plain` against
//! `Decimal::from_str`, bit for bit (coefficient, scale, sign).

use crate::support::fast::*;
use connectors::decimal::{parse_decimal, plain};
use connectors::venues::binance::{fast, parse};
use connectors::FrameKind;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

const COMBINED: &str =
    include_str!("../../fixtures/binance/ws_bookTicker_combined_live_capture.json");
const RAW_DOC: &str = include_str!("../../fixtures/binance/ws_bookTicker.json");
const REPLAY: &str =
    include_str!("../../fixtures/binance/replay_cryptofeed_BINANCE.ws.1.0.excerpt.txt");
const OTHERS: [&str; 12] = [
    include_str!("../../fixtures/binance/ws_24hrTicker.json"),
    include_str!("../../fixtures/binance/ws_aggTrade.json"),
    include_str!("../../fixtures/binance/ws_aggTrade_combined_live_capture.json"),
    include_str!("../../fixtures/binance/ws_depthUpdate_combined_live_capture.json"),
    include_str!("../../fixtures/binance/ws_kline_combined_live_capture.json"),
    include_str!("../../fixtures/binance/ws_list_subscriptions_response.json"),
    include_str!("../../fixtures/binance/ws_miniTicker.json"),
    include_str!("../../fixtures/binance/ws_serverShutdown_combined.json"),
    include_str!("../../fixtures/binance/ws_serverShutdown_raw.json"),
    include_str!("../../fixtures/binance/ws_subscribe_response.json"),
    include_str!("../../fixtures/binance/ws_trade.json"),
    include_str!("../../fixtures/binance/ws_trade_combined_nautilus.json"),
];

/// All three paths agree on `frame`; returns whether a fast path took it. `quote` only takes
/// what `book_ticker` takes.
fn same(frame: &str) -> bool {
    let serde = run(parse::parse_serde, frame);
    assert_eq!(run(parse::parse, frame), serde, "{frame:?}");
    assert_eq!(run(parse::parse_scanned, frame), serde, "{frame:?}");
    let scanned = fast::book_ticker(frame).is_some();
    if let Some(q) = fast::quote(frame) {
        assert!(scanned, "quote took what book_ticker declines: {frame:?}");
        assert_eq!(
            serde,
            (Ok(FrameKind::Data), vec![q.into_owned()]),
            "{frame:?}"
        );
    }
    scanned
}

/// Whether the minified-layout path takes `frame` (after checking all paths agree).
fn minified(frame: &str) -> bool {
    same(frame);
    fast::quote(frame).is_some()
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
    assert!(
        minified(COMBINED.trim()),
        "live combined bookTicker not minified path"
    );
    assert!(
        !minified(RAW_DOC),
        "pretty-printed frame took the minified path"
    );
    let mut fast_taken = 0;
    let frames = replay_frames();
    for f in &frames {
        let took = same(f);
        assert_eq!(took, f.contains("@bookTicker\""), "fast path on {f}");
        assert_eq!(minified(f), took, "minified path on {f}");
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

#[test]
fn minified_near_misses_agree() {
    let frame = |b: &str| {
        format!(
            r#"{{"stream":"btcusdt@bookTicker","data":{{"u":5,"s":"BTCUSDT","b":"{b}","B":"1","a":"2","A":"1"}}}}"#
        )
    };
    // Taken by the minified path, identical to serde.
    for b in [
        "",
        "0",
        "1",
        "0.00000001",
        "00012.50",
        "-1.5",
        "1234567890123456789",
        "123456789.0123456789",
        "9999999999999999999",
    ] {
        assert!(minified(&frame(b)), "declined {b:?}");
    }
    // Declined by the minified path (plain would not take them), still identical to serde.
    for b in [
        "-0",
        "-0.000",
        "-",
        ".5",
        "5.",
        "1.2.3",
        "+1",
        "1e3",
        "1E-3",
        "12345678901234567890",
        "0.12345678901234567890",
        " 1",
        "1 ",
        "1\\u0030",
        "1x",
        "\u{e9}",
    ] {
        assert!(!minified(&frame(b)), "took {b:?}");
    }
    for f in [
        r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"stream":"","data":{"u":0,"s":"","b":"1","B":"1","a":"2","A":"1"}}"#,
    ] {
        assert!(minified(f), "declined {f}");
    }
    for f in [
        r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"} "#,
        r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}}"#,
        r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"#,
        r#"{"u":01,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":1.5,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":1e2,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":18446744073709551615,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}x"#,
        r#"{"u":18446744073709551616,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"u":1,"s":"BTC\"USDT","b":"1","B":"1","a":"2","A":"1"}"#,
        "{\"u\":1,\"s\":\"BTC\tUSDT\",\"b\":\"1\",\"B\":\"1\",\"a\":\"2\",\"A\":\"1\"}",
        r#"{"stream":"a\"b","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}}"#,
        r#"{"stream":"x","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        r#"{"stream":"x","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"},"id":1}"#,
        r#"{"stream":"x","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}}}"#,
        r#"{"stream":"x","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
    ] {
        assert!(!minified(f), "took {f}");
    }
    let u_max = r#"{"u":18446744073709551615,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#;
    assert!(minified(u_max));
}

/// Bytes the random edits draw from (see `support::fast::mutate`).
const ALPHABET: &[u8] = b"\"\\{}[]:, \n\t0123456789.-+eEabBAsu\x01\xc3\xa9";

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
        if let Some(frame) = mutate(base, &edits, ALPHABET) {
            same(&frame);
        }
    }

    #[test]
    fn decimal_text_in_minified_frames_agrees(
        t in r"[-+0-9._eE\\ ]{0,24}",
        which in 0usize..4,
        combined in any::<bool>(),
    ) {
        let mut v = ["1", "1", "2", "1"];
        v[which] = &t;
        let data = format!(
            r#"{{"u":7,"s":"ETHUSDT","b":"{}","B":"{}","a":"{}","A":"{}"}}"#,
            v[0], v[1], v[2], v[3]
        );
        let frame = if combined {
            format!(r#"{{"stream":"ethusdt@bookTicker","data":{data}}}"#)
        } else {
            data
        };
        let took = minified(&frame);
        if !t.contains('\\') {
            // The minified path takes exactly the text `plain` takes (or "").
            prop_assert_eq!(took, t.is_empty() || plain(&t).is_some(), "{}", t);
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
