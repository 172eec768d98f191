//! The Deribit ticker fast path (`venues::deribit::fast`) against the serde path it shortcuts:
//! on every Deribit fixture frame (as stored and minified) and every frame of the live capture
//! excerpt, on near misses and on randomly mutated ticker frames, `parse::parse` (fast path
//! first) and `parse::parse_serde` give the same result and the same quotes; the fast path
//! either agrees or declines.

use crate::support::fast::*;
use connectors::venues::deribit::{fast, parse};
use connectors::FrameKind;
use proptest::prelude::*;

const PERP: &str =
    include_str!("../../fixtures/deribit/ws_ticker_BTC-PERPETUAL_100ms_nautilus.json");
const OPTION_BTC: &str =
    include_str!("../../fixtures/deribit/ws_ticker_option_BTC_raw_live_capture.json");
const OPTION_ETH: &str =
    include_str!("../../fixtures/deribit/ws_ticker_option_ETH_raw_live_capture.json");
const REPLAY: &str =
    include_str!("../../fixtures/deribit/replay_cryptofeed_DERIBIT.ws.1.0.excerpt.txt");
const OTHERS: [&str; 7] = [
    include_str!("../../fixtures/deribit/ws_heartbeat_test_request_nautilus.json"),
    include_str!("../../fixtures/deribit/ws_incremental_ticker_data_docs_example.json"),
    include_str!("../../fixtures/deribit/ws_notification_deribit_price_index_docs_example.json"),
    include_str!("../../fixtures/deribit/ws_private_user_portfolio_nautilus.json"),
    include_str!("../../fixtures/deribit/ws_subscribe_response_live_capture.json"),
    include_str!("../../fixtures/deribit/ws_subscribe_response_nautilus.json"),
    include_str!("../../fixtures/deribit/rest_private_get_account_summaries_nautilus.json"),
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
    for f in [PERP, OPTION_BTC, OPTION_ETH] {
        assert!(same(f), "pretty ticker declined: {f}");
        assert!(same(&minify(f)), "minified ticker declined: {f}");
    }
    let (r, q) = run(parse::parse, &minify(PERP));
    assert_eq!(r, Ok(FrameKind::Data));
    assert_eq!(q[0].bid.map(|d| d.to_string()).as_deref(), Some("92283.5"));
    assert_eq!(
        q[0].volume_24h.map(|d| d.to_string()).as_deref(),
        Some("11897.27640428")
    );
    let mut taken = 0;
    let frames = replay_frames();
    for f in &frames {
        let took = same(f);
        if took {
            assert!(f.contains(r#""channel":"ticker."#), "{f}");
        }
        taken += usize::from(took);
    }
    let tickers = frames
        .iter()
        .filter(|f| f.contains(r#""channel":"ticker."#))
        .count();
    assert_eq!(taken, tickers, "of {} frames", frames.len());
    assert!(taken > 0);
    for f in OTHERS {
        assert!(!same(f), "fast path took a non-ticker frame: {f}");
        assert!(!same(&minify(f)), "fast path took a non-ticker frame: {f}");
    }
}

fn perp() -> String {
    minify(PERP)
}

fn edit(from: &str, to: &str) -> String {
    let p = perp();
    assert!(p.contains(from), "{from}");
    p.replacen(from, to, 1)
}

#[test]
fn near_misses_agree() {
    for f in [
        edit(r#""best_bid_price":92283.5"#, r#""best_bid_price":null"#),
        edit(
            r#""best_bid_price":92283.5"#,
            r#""best_bid_price":9.22835E4"#,
        ),
        edit(r#""best_bid_price":92283.5"#, r#""best_bid_price":-0.0"#),
        edit(
            r#""best_bid_price":92283.5"#,
            r#""best_bid_price":0.00000000000000000000000001"#,
        ),
        edit(r#""stats":{"#, r#""stats":{"x":{"a":[1,{}]},"#),
        edit(r#""volume":11897.27640428"#, r#""volume":null"#),
        edit(r#""stats":{"#, r#""stats":null,"s":{"#),
        edit(r#""volume":11897.27640428,"#, ""),
        edit(r#""state":"open""#, r#""state":[true,false,null,{"a":[]}]"#),
        edit(r#""jsonrpc":"2.0","#, ""),
        edit(r#""timestamp":1765541474086,"#, ""),
        edit(
            r#""instrument_name":"BTC-PERPETUAL""#,
            r#""instrument_name":"BTC-25DEC26-100000-C""#,
        ),
        edit(r#""instrument_name":"BTC-PERPETUAL","#, ""),
        format!(" {}\n", perp()),
        // serde ignores a repeated key it does not read; so does the fast path.
        perp().replacen(r#"{"jsonrpc""#, r#"{"jsonrpc":1,"jsonrpc""#, 1),
    ] {
        assert!(same(&f), "declined {f}");
    }
    for f in [
        edit(
            r#""best_bid_price":92283.5"#,
            r#""best_bid_price":"92283.5""#,
        ),
        edit(
            r#""best_bid_price":92283.5"#,
            r#""best_bid_price":92283.5,"best_bid_price":1"#,
        ),
        edit(r#""best_bid_price":92283.5"#, r#""best_bid_price":1e99999"#),
        edit(
            r#""best_bid_price":92283.5"#,
            r#""best_bid_price":092283.5"#,
        ),
        edit(r#""best_bid_price":92283.5"#, r#""best_bid_price":92283."#),
        edit(r#""volume":11897.27640428"#, r#""volume":"11897.27640428""#),
        edit(r#""volume":11897.27640428"#, r#""volume":1,"volume":2"#),
        edit(
            r#""timestamp":1765541474086"#,
            r#""timestamp":1765541474086.0"#,
        ),
        edit(r#""timestamp":1765541474086"#, r#""timestamp":null"#),
        edit(
            r#""instrument_name":"BTC-PERPETUAL""#,
            r#""instrument_name":"BTC-PERPETU\u0041L""#,
        ),
        edit(
            r#""instrument_name":"BTC-PERPETUAL""#,
            r#""instrument_name":null"#,
        ),
        edit(r#""method":"subscription""#, r#""method":"heartbeat""#),
        edit(r#""method":"subscription","#, ""),
        edit(
            r#""method":"subscription""#,
            r#""method":"subscription","id":1"#,
        ),
        edit(
            r#""channel":"ticker.BTC-PERPETUAL.100ms""#,
            r#""channel":"book.BTC-PERPETUAL.100ms""#,
        ),
        edit(r#""channel":"ticker.BTC-PERPETUAL.100ms","#, ""),
        edit(
            r#""channel":"ticker.BTC-PERPETUAL.100ms","#,
            r#""channel":"ticker.x","channel":"ticker.y","#,
        ),
        edit(
            r#""channel":"ticker.BTC-PERPETUAL.100ms","#,
            r#""type":"x","channel":"ticker.x","#,
        ),
        edit(r#""state":"open""#, r#""state":"open",}"#),
        format!("{}x", perp()),
    ] {
        assert!(!same(&f), "took {f}");
    }
    // `data` before `channel`: serde keeps it raw and reads it after; the fast path declines.
    let p = perp();
    let start = p.find(r#""data":"#).expect("data");
    let reordered = format!(
        r#"{{"jsonrpc":"2.0","method":"subscription","params":{{{},"channel":"ticker.BTC-PERPETUAL.100ms"}}}}"#,
        &p[start..p.len() - 2]
    );
    assert!(!same(&reordered));
    assert_eq!(run(parse::parse, &reordered).0, Ok(FrameKind::Data));
}

/// Bytes the random edits draw from (see `support::fast::mutate`).
const ALPHABET: &[u8] = b"\"\\{}[]:, \n\t0123456789.-+eEnulltrfsabcdkpi_\x01\xc3\xa9";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn mutated_tickers_agree(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let base = minify([PERP, OPTION_BTC, OPTION_ETH][which]);
        if let Some(frame) = mutate(&base, &edits, ALPHABET) {
            same(&frame);
        }
    }

    #[test]
    fn number_text_agrees(t in r"[-+0-9.eE]{1,30}|null|true", key in 0usize..8) {
        const KEYS: [&str; 8] = [
            "best_bid_price", "best_bid_amount", "best_ask_price", "best_ask_amount",
            "last_price", "mark_price", "index_price", "volume",
        ];
        let p = perp();
        let k = format!(r#""{}":"#, KEYS[key]);
        let start = p.find(&k).expect("key") + k.len();
        let end = start + p[start..].find([',', '}']).expect("value end");
        let frame = format!("{}{}{}", &p[..start], t, &p[end..]);
        same(&frame);
    }
}
