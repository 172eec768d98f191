//! The Bybit ticker fast path (`venues::bybit::fast`) against the serde path it shortcuts: on
//! every Bybit fixture frame (as stored and minified), on near misses and on randomly mutated
//! ticker frames, `parse::parse` (fast path first) and `parse::parse_serde` give the same result
//! and the same quotes, for both categories; the fast path either agrees or declines.

use crate::support::fast::*;
use connectors::venues::bybit::{fast, parse, Category};
use connectors::{FrameKind, ParsedQuote};
use proptest::prelude::*;

const PERP: &str = include_str!("../../fixtures/bybit/ws_tickers_linear_perpetual_snapshot.json");
const FUTURE: &str = include_str!("../../fixtures/bybit/ws_tickers_linear_futures_snapshot.json");
const SPOT: &str = include_str!("../../fixtures/bybit/ws_tickers_spot_snapshot.json");
/// The docs' legacy v3 contract tickers: a ticker shape (so the fast path may take them).
const LEGACY: [&str; 2] = [
    include_str!("../../fixtures/bybit/docs_legacy_v3_contract_tickers_delta.json"),
    include_str!("../../fixtures/bybit/docs_legacy_v3_contract_tickers_snapshot.json"),
];
const OTHERS: [&str; 13] = [
    include_str!("../../fixtures/bybit/rest_wallet_balance_GET_v5_account_wallet-balance.json"),
    include_str!("../../fixtures/bybit/ws_auth_response.json"),
    include_str!("../../fixtures/bybit/ws_pong_private.json"),
    include_str!("../../fixtures/bybit/ws_pong_public_linear.json"),
    include_str!("../../fixtures/bybit/ws_pong_public_option.json"),
    include_str!("../../fixtures/bybit/ws_pong_public_spot.json"),
    include_str!("../../fixtures/bybit/ws_private_wallet_stream.json"),
    include_str!("../../fixtures/bybit/ws_subscribe_request_multi.json"),
    include_str!("../../fixtures/bybit/ws_subscribe_response_private.json"),
    include_str!("../../fixtures/bybit/ws_subscribe_response_public_linear.json"),
    include_str!("../../fixtures/bybit/ws_subscribe_response_public_option.json"),
    include_str!("../../fixtures/bybit/ws_subscribe_response_public_spot.json"),
    r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724}}"#,
];

fn run(fast_first: bool, category: Category, frame: &str) -> Outcome {
    let mut quotes = Vec::new();
    let mut emit = |q: ParsedQuote<'_>| quotes.push(q.into_owned());
    let r = if fast_first {
        parse::parse(frame, category, &mut emit)
    } else {
        parse::parse_serde(frame, category, &mut emit)
    };
    (r, quotes)
}

/// Both paths agree on `frame` in both categories; returns whether the fast path took it.
fn same(frame: &str) -> bool {
    for c in [Category::Linear, Category::Spot] {
        assert_eq!(run(true, c, frame), run(false, c, frame), "{c:?} {frame:?}");
    }
    let took = fast::ticker(frame).is_some();
    if took {
        // A frame the fast path takes is a quote on both paths.
        assert!(
            matches!(run(false, Category::Linear, frame), (Ok(FrameKind::Data), q) if q.len() == 1)
        );
    }
    took
}

#[test]
fn fixtures_agree_and_tickers_take_the_fast_path() {
    for f in [PERP, FUTURE, SPOT] {
        assert!(same(f), "pretty ticker declined: {f}");
        assert!(same(&minify(f)), "minified ticker declined: {f}");
    }
    let (r, q) = run(true, Category::Linear, &minify(PERP));
    assert_eq!(r, Ok(FrameKind::Data));
    assert_eq!(q[0].bid.map(|d| d.to_string()).as_deref(), Some("66666.60"));
    assert_eq!(
        q[0].volume_24h.map(|d| d.to_string()).as_deref(),
        Some("73191.3870")
    );
    assert_eq!(q[0].sequence, Some(9532239429));
    for f in LEGACY {
        assert_eq!(same(f), same(&minify(f)), "{f}");
    }
    for f in OTHERS {
        same(f);
        assert!(!same(&minify(f)), "fast path took a non-ticker frame: {f}");
    }
}

fn perp() -> String {
    minify(PERP)
}

/// `PERP` minified with `from` replaced by `to` (once).
fn edit(from: &str, to: &str) -> String {
    let p = perp();
    assert!(p.contains(from), "{from}");
    p.replacen(from, to, 1)
}

#[test]
fn near_misses_agree() {
    // Taken and identical.
    for f in [
        edit(r#""bid1Price":"66666.60""#, r#""bid1Price":"""#),
        edit(r#""bid1Price":"66666.60""#, r#""bid1Price":"6.6e4""#),
        edit(r#""type":"snapshot""#, r#""type":"delta""#),
        edit(r#""cs":9532239429"#, r#""cs":18446744073709551615"#),
        edit(
            r#""tickDirection":"MinusTick""#,
            r#""x":[1,{"y":null},true,false,-0.5e-3]"#,
        ),
        edit(
            r#""tickDirection":"MinusTick""#,
            r#""tickDirection":"Minusé""#,
        ),
        edit(r#""cs":9532239429,"#, ""),
        edit(r#","ts":1760325052630"#, ""),
        edit(
            r#""topic":"tickers.BTCUSDT","#,
            r#""topic":"tickers.BTCUSDT","topic2":1,"#,
        ),
        format!(" \n{}\r\n", perp()),
    ] {
        assert!(same(&f), "declined {f}");
    }
    // Declined (serde's answer, whatever it is, stands).
    for f in [
        edit(r#""bid1Price":"66666.60""#, r#""bid1Price":"66666.6x""#),
        edit(r#""bid1Price":"66666.60""#, r#""bid1Price":66666.60"#),
        edit(r#""bid1Price":"66666.60""#, r#""bid1Price":null"#),
        edit(
            r#""bid1Price":"66666.60""#,
            r#""bid1Price":"6666\u0036.60""#,
        ),
        edit(
            r#""bid1Price":"66666.60""#,
            r#""bid1Price":"66666.60","bid1Price":"1""#,
        ),
        edit(
            r#""symbol":"BTCUSDT""#,
            r#""symbol":"BTCUSDT","symbol":"X""#,
        ),
        edit(r#""symbol":"BTCUSDT""#, r#""symbol":null"#),
        edit(r#""symbol":"BTCUSDT","#, ""),
        edit(r#""symbol":"BTCUSDT""#, r#""sym\u0062ol":"BTCUSDT""#),
        edit(r#""type":"snapshot""#, r#""type":"COMMAND_RESP""#),
        edit(
            r#""type":"snapshot""#,
            r#""type":"snapshot","type":"delta""#,
        ),
        edit(r#""type":"snapshot","#, ""),
        edit(
            r#""topic":"tickers.BTCUSDT""#,
            r#""topic":"orderbook.1.BTCUSDT""#,
        ),
        edit(
            r#""topic":"tickers.BTCUSDT""#,
            r#""topic":"tickers.BTCUSDT","op":"x""#,
        ),
        edit(
            r#""topic":"tickers.BTCUSDT""#,
            r#""topic":"tickers.BTCUSDT","success":false"#,
        ),
        edit(r#""ts":1760325052630"#, r#""ts":1760325052630.0"#),
        edit(r#""ts":1760325052630"#, r#""ts":-1"#),
        edit(r#""ts":1760325052630"#, r#""ts":null"#),
        edit(r#""cs":9532239429"#, r#""cs":18446744073709551616"#),
        edit(r#""cs":9532239429"#, r#""cs":09532239429"#),
        edit(r#""preOpenPrice":"""#, r#""preOpenPrice":"","#),
        edit(r#""preOpenPrice":"""#, r#""preOpenPrice":01"#),
        edit(r#""preOpenPrice":"""#, r#""preOpenPrice":"a	b""#),
        edit(
            r#""preOpenPrice":"""#,
            &format!(r#""p":{}{}"#, "[".repeat(17), "]".repeat(17)),
        ),
        edit(r#""preOpenPrice":"""#, r#""s":"BTCUSDT""#),
        edit(r#""preOpenPrice":"""#, r#""b":[]"#),
        format!("{}x", perp()),
        format!("{}}}", perp()),
        perp().replacen("{", "[", 1),
    ] {
        assert!(!same(&f), "took {f}");
    }
}

/// Bytes the random edits draw from (see `support::fast::mutate`).
const ALPHABET: &[u8] = b"\"\\{}[]:, \n\t0123456789.-+eEnulltrfsabBA\x01\xc3\xa9";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn mutated_tickers_agree(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let base = minify([PERP, FUTURE, SPOT][which]);
        if let Some(frame) = mutate(&base, &edits, ALPHABET) {
            same(&frame);
        }
    }

    #[test]
    fn decimal_text_agrees(t in r"[-+0-9._eE\\ a]{0,24}", key in 0usize..8) {
        const KEYS: [&str; 8] = [
            "bid1Price", "bid1Size", "ask1Price", "ask1Size", "lastPrice", "markPrice",
            "indexPrice", "volume24h",
        ];
        let p = perp();
        let k = format!(r#""{}":""#, KEYS[key]);
        let start = p.find(&k).expect("key") + k.len();
        let end = start + p[start..].find('"').expect("closing quote");
        let frame = format!("{}{}{}", &p[..start], t, &p[end..]);
        same(&frame);
    }
}
