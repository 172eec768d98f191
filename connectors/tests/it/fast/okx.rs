//! The OKX tickers fast path (`venues::okx::fast`) against the serde path it shortcuts: on every
//! OKX fixture frame (as stored and minified) and every frame of the live capture excerpt, on
//! near misses and on randomly mutated ticker frames, `parse::parse` (fast path first) and
//! `parse::parse_serde` give the same result and the same quotes; the fast path either agrees
//! or declines.

use crate::support::fast::*;
use connectors::venues::okx::{fast, parse};
use connectors::FrameKind;
use proptest::prelude::*;

const SPOT: &str = include_str!("../../fixtures/okx/ws_tickers_SPOT_live_capture.json");
const SWAP: &str = include_str!("../../fixtures/okx/ws_tickers_SWAP_live_capture.json");
const FUTURES: &str = include_str!("../../fixtures/okx/ws_tickers_FUTURES_live_capture.json");
const DOCS: &str = include_str!("../../fixtures/okx/ws_tickers_docs_example_via_nautilus.json");
const REPLAY: &str = include_str!("../../fixtures/okx/replay_cryptofeed_OKX.ws.1.0.excerpt.txt");
const OTHERS: [&str; 4] = [
    include_str!("../../fixtures/okx/ws_subscribe_event_live_capture.json"),
    include_str!("../../fixtures/okx/ws_subscribe_request_cryptofeed_sent.json"),
    include_str!("../../fixtures/okx/ws_private_account_nautilus.json"),
    include_str!(
        "../../fixtures/okx/rest_account_balance_GET_api_v5_account_balance_nautilus.json"
    ),
];

/// Both paths agree on `frame`; returns whether the fast path took it.
fn same(frame: &str) -> bool {
    assert_eq!(
        run(parse::parse, frame),
        run(parse::parse_serde, frame),
        "{frame:?}"
    );
    fast::ticker(frame).is_some()
}

/// The frames of cryptofeed's live capture.
fn replay_frames() -> Vec<&'static str> {
    capture_frames(REPLAY)
}

#[test]
fn fixtures_agree_and_tickers_take_the_fast_path() {
    for f in [SPOT, SWAP, FUTURES, DOCS] {
        assert!(same(f), "ticker declined: {f}");
        assert!(same(&minify(f)), "minified ticker declined: {f}");
    }
    let (r, q) = run(parse::parse, &minify(SPOT));
    assert_eq!(r, Ok(FrameKind::Data));
    assert_eq!(q[0].bid.map(|d| d.to_string()).as_deref(), Some("30228.6"));
    assert_eq!(
        q[0].volume_24h.map(|d| d.to_string()).as_deref(),
        Some("17602.13085371")
    );
    let frames = replay_frames();
    let mut taken = 0;
    for f in &frames {
        let took = same(f);
        let push = f.starts_with(r#"{"arg":{"channel":"tickers""#) && f.contains(r#""data":[{"#);
        assert_eq!(took, push, "{f}");
        taken += usize::from(took);
    }
    assert!(taken > 0, "of {} frames", frames.len());
    for f in OTHERS {
        assert!(!same(f), "fast path took a non-ticker frame: {f}");
        assert!(!same(&minify(f)), "fast path took a non-ticker frame: {f}");
    }
    assert!(!same("pong"));
}

fn spot() -> String {
    minify(SPOT)
}

fn edit(from: &str, to: &str) -> String {
    let p = spot();
    assert!(p.contains(from), "{from}");
    p.replacen(from, to, 1)
}

#[test]
fn near_misses_agree() {
    for f in [
        edit(r#""bidPx":"30228.6""#, r#""bidPx":"""#),
        edit(r#""bidPx":"30228.6""#, r#""bidPx":"3.02286e4""#),
        edit(r#""ts":"1652459224956""#, r#""ts":"""#),
        edit(r#""ts":"1652459224956""#, r#""ts":"16524x""#),
        edit(r#""instType":"SPOT""#, r#""instType":"SWAP""#),
        edit(r#""instType":"SPOT""#, r#""instType":"OPTION""#),
        edit(r#""instType":"SPOT","#, ""),
        edit(
            r#""instId":"BTC-USDT","last""#,
            r#""instId":"ETH-USDT","last""#,
        ),
        edit(
            r#""channel":"tickers","instId":"BTC-USDT""#,
            r#""channel":"tickers""#,
        ),
        edit(r#""lastSz":"0.0002""#, r#""lastSz":[1,{"a":null},true]"#),
        edit(r#"{"arg":"#, r#"{"x":1,"arg":"#),
        format!(" {}\n", spot()),
    ] {
        assert!(same(&f), "declined {f}");
    }
    for f in [
        edit(r#""bidPx":"30228.6""#, r#""bidPx":"30228.6x""#),
        edit(r#""bidPx":"30228.6""#, r#""bidPx":30228.6"#),
        edit(r#""bidPx":"30228.6""#, r#""bidPx":null"#),
        edit(r#""bidPx":"30228.6""#, r#""bidPx":"30228.6","bidPx":"1""#),
        edit(
            r#""instId":"BTC-USDT","last""#,
            r#""instId":"BTC-USDT","instId":"X","last""#,
        ),
        edit(
            r#""instId":"BTC-USDT","last""#,
            r#""instId":"BTC\u002dUSDT","last""#,
        ),
        edit(r#""channel":"tickers""#, r#""channel":"books""#),
        edit(
            r#""channel":"tickers""#,
            r#""channel":"tickers","channel":"tickers""#,
        ),
        edit(r#"{"arg":"#, r#"{"event":"subscribe","arg":"#),
        edit(r#""data":[{"#, r#""data":[]"#),
        edit(r#""ts":"1652459224956"}]"#, r#""ts":"1652459224956"},{}]"#),
        edit(r#""ts":"1652459224956"}]"#, r#""ts":"1652459224956"},]"#),
        format!("{}x", spot()),
        "pong".to_string(),
    ] {
        assert!(!same(&f), "took {f}");
    }
    // `data` before `arg`: serde reads data after; the fast path takes it too.
    let p = spot();
    let data = &p[p.find(r#""data":"#).expect("data")..p.len() - 1];
    let reordered = format!(r#"{{{data},"arg":{{"channel":"tickers","instId":"BTC-USDT"}}}}"#);
    assert!(same(&reordered));
}

/// Bytes the random edits draw from (see `support::fast::mutate`).
const ALPHABET: &[u8] = b"\"\\{}[]:, \n\t0123456789.-+eEnulltrfsabcdkpiI_\x01\xc3\xa9";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn mutated_tickers_agree(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let base = minify([SPOT, SWAP, FUTURES, DOCS][which]);
        if let Some(frame) = mutate(&base, &edits, ALPHABET) {
            same(&frame);
        }
    }

    #[test]
    fn decimal_text_agrees(t in r"[-+0-9._eE\\ a]{0,24}", key in 0usize..7) {
        const KEYS: [&str; 7] = ["last", "askPx", "askSz", "bidPx", "bidSz", "volCcy24h", "vol24h"];
        let p = spot();
        let k = format!(r#""{}":""#, KEYS[key]);
        let start = p.find(&k).expect("key") + k.len();
        let end = start + p[start..].find('"').expect("closing quote");
        let frame = format!("{}{}{}", &p[..start], t, &p[end..]);
        same(&frame);
    }
}
