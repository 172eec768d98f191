//! OKX v5 `tickers` against real payloads (`tests/fixtures/okx/`, copied byte for byte from
//! `shared/venues/okx/`; provenance in `tests/fixtures/README.md`), malformed input, instrument
//! names, and OKX's own simulator.
//!
//! Every parse goes through the registry entry, the path the transport and replay use. Decimals
//! are checked by value AND by `to_string()`, so a lost trailing zero or a float round trip
//! shows. Frames that are not fixture files are marked where they appear: either an edit of a
//! real payload (one value swapped) or a frame constructed here, labelled as such.

use crate::support::parsers::{
    assert_dec, no_quote, one_quote, parse, rejected, replay_server_frames,
    truncations_are_rejected, venue, GARBAGE,
};
use connectors::sim::{PriceModel, SimProtocol, SimSession};
use connectors::venues::okx::sim::OkxSim;
use connectors::venues::okx::Okx;
use connectors::{FrameKind, ParseError, PingPolicy, Sequencing, StreamingVenue};
use connectors::{Merge, SymbolSpec};
use schemas::{Market, Ts};
use std::borrow::Cow;

const KIND: &str = "okx";

const SPOT: &str = include_str!("../../fixtures/okx/ws_tickers_SPOT_live_capture.json");
const SWAP: &str = include_str!("../../fixtures/okx/ws_tickers_SWAP_live_capture.json");
const FUTURES: &str = include_str!("../../fixtures/okx/ws_tickers_FUTURES_live_capture.json");
const DOCS: &str = include_str!("../../fixtures/okx/ws_tickers_docs_example_via_nautilus.json");
const SUB_ACK: &str = include_str!("../../fixtures/okx/ws_subscribe_event_live_capture.json");
const SUB_SENT: &str = include_str!("../../fixtures/okx/ws_subscribe_request_cryptofeed_sent.json");
const REPLAY: &str = include_str!("../../fixtures/okx/replay_cryptofeed_OKX.ws.1.0.excerpt.txt");

// ---------------------------------------------------------------------------------------------
// helpers (the shared ones are in `support::parsers`)

/// Swaps one value of a real payload, checking that the swap happened.
#[track_caller]
fn edit(frame: &str, from: &str, to: &str) -> String {
    assert!(frame.contains(from), "{from} not in {frame}");
    frame.replacen(from, to, 1)
}

// ---------------------------------------------------------------------------------------------
// real tickers, one per market

#[test]
fn spot_live_capture_is_exact() {
    let q = one_quote(KIND, SPOT);
    assert_eq!(q.symbol, "BTC-USDT");
    assert_dec("bid", q.bid, "30228.6");
    assert_dec("bid_size", q.bid_size, "0.23393");
    assert_dec("ask", q.ask, "30228.7");
    assert_dec("ask_size", q.ask_size, "1.55896972");
    assert_dec("last", q.last, "30236");
    // Spot `vol24h` is in the base asset (BTC); `volCcy24h` (525802090.62716611) is USDT.
    assert_dec("volume_24h", q.volume_24h, "17602.13085371");
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_652_459_224_956)));
    assert_eq!(q.sequence, None, "OKX tickers carry no update id");
    assert_eq!((q.mark, q.index), (None, None));
    assert_eq!(q.merge, Merge::Full);
}

#[test]
fn swap_live_capture_is_exact_with_base_volume() {
    let q = one_quote(KIND, SWAP);
    assert_eq!(q.symbol, "UNI-USD-SWAP");
    assert_dec("bid", q.bid, "5.134");
    assert_dec("bid_size", q.bid_size, "96"); // contracts, as the venue gave them
    assert_dec("ask", q.ask, "5.142");
    assert_dec("ask_size", q.ask_size, "25");
    assert_dec("last", q.last, "5.123");
    // Derivatives: `vol24h` (289425) counts contracts; `volCcy24h` is the base amount (UNI).
    assert_dec("volume_24h", q.volume_24h, "577730.7823");
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_652_459_223_143)));
    assert_eq!(q.sequence, None);
}

#[test]
fn futures_live_capture_is_exact_with_base_volume() {
    let q = one_quote(KIND, FUTURES);
    assert_eq!(q.symbol, "BTC-USD-220527");
    assert_dec("bid", q.bid, "30210.4");
    assert_dec("bid_size", q.bid_size, "4");
    assert_dec("ask", q.ask, "30220.1");
    assert_dec("ask_size", q.ask_size, "3");
    assert_dec("last", q.last, "30218.8");
    // `vol24h` 779573 contracts; `volCcy24h` 2620.289 BTC.
    assert_dec("volume_24h", q.volume_24h, "2620.289");
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_652_459_223_003)));
}

#[test]
fn docs_example_is_exact() {
    let q = one_quote(KIND, DOCS);
    assert_eq!(q.symbol, "BTC-USDT");
    assert_dec("bid", q.bid, "8888.88");
    assert_dec("bid_size", q.bid_size, "5");
    assert_dec("ask", q.ask, "9999.99");
    assert_dec("ask_size", q.ask_size, "11");
    assert_dec("last", q.last, "9999.99");
    assert_dec("volume_24h", q.volume_24h, "2222");
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_597_026_383_085)));
}

/// The market of each captured instrument, as `split_symbol` gives it at config time, agrees
/// with the `instType` the venue sent.
#[test]
fn captured_instruments_split_into_their_markets() {
    for (frame, inst_type, market, expiry) in [
        (SPOT, "SPOT", Market::Spot, None),
        (SWAP, "SWAP", Market::Perpetual, None),
        (FUTURES, "FUTURES", Market::Future, Some("20220527")),
        (DOCS, "SPOT", Market::Spot, None),
    ] {
        let v: serde_json::Value = serde_json::from_str(frame).unwrap();
        let t = &v["data"][0];
        assert_eq!(t["instType"], inst_type);
        let id = t["instId"].as_str().unwrap();
        match Okx.split_symbol(id) {
            SymbolSpec::Split {
                market: m,
                expiry: e,
                ..
            } => {
                assert_eq!(m, market, "{id}");
                assert_eq!(e.as_deref(), expiry, "{id}");
            }
            other => panic!("{id}: {other:?}"),
        }
    }
}

/// Every tickers frame of the live recording becomes one exact quote, with the values read
/// independently of the parser; the recording's trades and books frames and subscribe acks are
/// control traffic, never a quote.
#[test]
fn live_replay_tickers_are_exact_and_other_channels_are_not_quotes() {
    let frames = replay_server_frames(REPLAY);
    assert_eq!(frames.len(), 76);
    let (mut tickers, mut others, mut events) = (0, 0, 0);
    for frame in frames {
        let v: serde_json::Value = serde_json::from_str(frame).unwrap();
        let (result, quotes) = parse(KIND, frame);
        if v.get("event").is_some() {
            events += 1;
            assert_eq!(result, Ok(FrameKind::Control), "{frame}");
            assert!(quotes.is_empty());
        } else if v["arg"]["channel"] == "tickers" {
            tickers += 1;
            assert_eq!(result, Ok(FrameKind::Data), "{frame}");
            assert_eq!(quotes.len(), 1, "{frame}");
            let (q, d) = (&quotes[0], &v["data"][0]);
            let s = |k: &str| d[k].as_str().unwrap();
            assert_eq!(q.symbol, s("instId"));
            assert_dec("bid", q.bid, s("bidPx"));
            assert_dec("bid_size", q.bid_size, s("bidSz"));
            assert_dec("ask", q.ask, s("askPx"));
            assert_dec("ask_size", q.ask_size, s("askSz"));
            assert_dec("last", q.last, s("last"));
            let volume = if s("instType") == "SPOT" {
                s("vol24h")
            } else {
                s("volCcy24h")
            };
            assert_dec("volume_24h", q.volume_24h, volume);
            let ts: i64 = s("ts").parse().unwrap();
            assert_eq!(q.exchange_ts, Some(Ts::from_millis(ts)));
        } else {
            others += 1;
            assert_eq!(result, Ok(FrameKind::Control), "{frame}");
            assert!(quotes.is_empty(), "{frame} became a quote: {quotes:?}");
        }
    }
    assert_eq!((tickers, others, events), (5, 53, 18));
}

// ---------------------------------------------------------------------------------------------
// missing values, markets, control frames

/// `""` is OKX's "not available" (no bid, never traded): `None`, never zero, and the rest of
/// the quote is kept. (Edits of the real SPOT capture.)
#[test]
fn empty_strings_are_missing_not_zero() {
    let frame = edit(SPOT, r#""bidPx":"30228.6""#, r#""bidPx":"""#);
    let frame = edit(&frame, r#""bidSz":"0.23393""#, r#""bidSz":"""#);
    let frame = edit(&frame, r#""last":"30236""#, r#""last":"""#);
    let frame = edit(&frame, r#""vol24h":"17602.13085371""#, r#""vol24h":"""#);
    let frame = edit(&frame, r#""ts":"1652459224956""#, r#""ts":"""#);
    let q = one_quote(KIND, &frame);
    assert_eq!((q.bid, q.bid_size, q.last), (None, None, None));
    assert_eq!((q.volume_24h, q.exchange_ts), (None, None));
    assert_dec("ask", q.ask, "30228.7");
    assert_dec("ask_size", q.ask_size, "1.55896972");
    // Derivatives read volCcy24h: empty there is missing too, even with vol24h present.
    let q = one_quote(
        KIND,
        &edit(SWAP, r#""volCcy24h":"577730.7823""#, r#""volCcy24h":"""#),
    );
    assert_eq!(q.volume_24h, None);
}

/// The parser never prices a ticker as another market than its instId names: an `instType`
/// that contradicts the instId, an unknown or missing one, or a ticker for another instrument
/// than its subscription is refused. (Edits of the real captures.)
#[test]
fn inst_type_must_match_the_inst_id() {
    rejected(
        KIND,
        &edit(SPOT, r#""instType":"SPOT""#, r#""instType":"SWAP""#),
    );
    rejected(
        KIND,
        &edit(SWAP, r#""instType":"SWAP""#, r#""instType":"FUTURES""#),
    );
    rejected(
        KIND,
        &edit(FUTURES, r#""instType":"FUTURES""#, r#""instType":"SPOT""#),
    );
    rejected(
        KIND,
        &edit(SWAP, r#""instType":"SWAP""#, r#""instType":"SPOT""#),
    );
    rejected(
        KIND,
        &edit(SPOT, r#""instType":"SPOT""#, r#""instType":"MARGIN""#),
    );
    rejected(KIND, &edit(SPOT, r#""instType":"SPOT","#, ""));
    rejected(
        KIND,
        &edit(SPOT, r#""instId":"BTC-USDT","last""#, r#""last""#),
    );
    rejected(
        KIND,
        &edit(
            SPOT,
            r#""instId":"BTC-USDT","last""#,
            r#""instId":"ETH-USDT","last""#,
        ),
    );
    // The subscription's instId is optional; the ticker's own decides.
    let q = one_quote(
        KIND,
        &edit(
            SPOT,
            r#""arg":{"channel":"tickers","instId":"BTC-USDT"}"#,
            r#""arg":{"channel":"tickers"}"#,
        ),
    );
    assert_eq!(q.symbol, "BTC-USDT");
}

/// Option tickers are a market this connector does not carry (`split_symbol` refuses option
/// instIds, so none can be subscribed): passed over, not priced. Constructed frame: the SPOT
/// capture's values under an option instId.
#[test]
fn option_tickers_are_not_quotes() {
    let frame = SPOT
        .replace("BTC-USDT", "BTC-USD-220527-30000-C")
        .replace(r#""instType":"SPOT""#, r#""instType":"OPTION""#);
    no_quote(KIND, &frame, FrameKind::Control);
}

#[test]
fn several_tickers_in_one_frame_are_taken_whole_or_not_at_all() {
    // Constructed: the SWAP and FUTURES captures' tickers in one push without an arg instId.
    let t = |f: &str| {
        let v: serde_json::Value = serde_json::from_str(f).unwrap();
        v["data"][0].to_string()
    };
    let two = format!(
        r#"{{"arg":{{"channel":"tickers"}},"data":[{},{}]}}"#,
        t(SWAP),
        t(FUTURES)
    );
    let (result, quotes) = parse(KIND, &two);
    assert_eq!(result, Ok(FrameKind::Data));
    let symbols: Vec<&str> = quotes.iter().map(|q| q.symbol.as_ref()).collect();
    assert_eq!(symbols, ["UNI-USD-SWAP", "BTC-USD-220527"]);
    // A bad second ticker refuses the frame before the first is emitted.
    rejected(
        KIND,
        &two.replacen(r#""bidPx":"30210.4""#, r#""bidPx":"30,210.4""#, 1),
    );
    no_quote(
        KIND,
        r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[]}"#,
        FrameKind::Control,
    );
}

#[test]
fn control_frames() {
    // The answer to our text `ping` is the bare text `pong`: not JSON, not an error.
    no_quote(KIND, "pong", FrameKind::Control);
    no_quote(KIND, SUB_ACK, FrameKind::Control);
    // The same ack as current servers send it, with `connId` (constructed).
    no_quote(
        KIND,
        r#"{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#,
        FrameKind::Control,
    );
    no_quote(
        KIND,
        r#"{"event":"unsubscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#,
        FrameKind::Control,
    );
    // A refusal as quoted in okxapi/python-okx issue #21 (2023; not a fixture file).
    no_quote(
        KIND,
        r#"{"event":"error","msg":"channel:tickers,instId:LTC-USD doesn't exist","code":"60018"}"#,
        FrameKind::VenueError("60018: channel:tickers,instId:LTC-USD doesn't exist".into()),
    );
    // Constructed, in the shape of shared/venues/okx/NOTES.md: with connId, and a numeric code.
    no_quote(
        KIND,
        r#"{"event":"error","code":"60012","msg":"Invalid request","connId":"a4d3ae55"}"#,
        FrameKind::VenueError("60012: Invalid request".into()),
    );
    no_quote(
        KIND,
        r#"{"event":"error","code":60012,"msg":"Invalid request"}"#,
        FrameKind::VenueError("60012: Invalid request".into()),
    );
    // Constructed: the service-upgrade notice asks for a reconnect; other notices do not.
    no_quote(
        KIND,
        r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#,
        FrameKind::Reconnect,
    );
    no_quote(
        KIND,
        r#"{"event":"notice","code":"0","msg":"","connId":"a4d3ae55"}"#,
        FrameKind::Control,
    );
}

#[test]
fn malformed_frames_are_errors_never_panics() {
    for g in GARBAGE {
        rejected(KIND, g);
    }
    assert!(matches!(rejected(KIND, "{}"), ParseError::Unknown { .. }));
    // An arg without data, data without arg: not a message OKX sends.
    assert!(matches!(
        rejected(KIND, r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"}}"#),
        ParseError::Unknown { .. }
    ));
    rejected(KIND, r#"{"data":[]}"#);
    // `ping` is what we send; the server never does. Nor a `pong` in other spelling.
    rejected(KIND, "ping");
    rejected(KIND, "PONG");
    for frame in [SPOT, SWAP, FUTURES, DOCS, SUB_ACK] {
        truncations_are_rejected(KIND, frame);
    }
    // A bad decimal names the offending text.
    let err = rejected(KIND, &edit(SPOT, "\"30228.6\"", "\"30228.G\""));
    assert!(err.to_string().contains("30228.G"), "{err}");
    for bad in ["\"1,5\"", "\"NaN\"", "\"0x10\"", "\"--1\"", "\" 1\""] {
        rejected(KIND, &edit(SPOT, "\"30228.7\"", bad));
    }
    // A JSON number where OKX sends a string is refused (never read through a float), as are
    // other wrong types.
    for (from, to) in [
        (r#""bidPx":"30228.6""#, r#""bidPx":30228.6"#),
        (r#""askSz":"1.55896972""#, r#""askSz":1.55896972"#),
        (r#""instId":"BTC-USDT","last""#, r#""instId":5,"last""#),
        (r#""ts":"1652459224956""#, r#""ts":1652459224956"#),
        (r#""data":["#, r#""data":{"x":["#),
    ] {
        let frame = if to.starts_with(r#""data":{"#) {
            edit(&edit(SPOT, from, to), "]}", "]}}")
        } else {
            edit(SPOT, from, to)
        };
        rejected(KIND, &frame);
    }
    // `ts` is Unix milliseconds in digits: anything else is refused, including a value whose
    // microseconds would overflow.
    for bad in [
        "abc",
        "-1",
        "+1652459224956",
        "1.6e12",
        "1652459224956.5",
        "99999999999999999",
    ] {
        let err = rejected(KIND, &edit(SPOT, "1652459224956", bad));
        assert!(err.to_string().contains("ts"), "{err}");
    }
    // `data` that is not a list of tickers.
    rejected(
        KIND,
        r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":"x"}"#,
    );
    rejected(
        KIND,
        r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[["1","2"]]}"#,
    );
}

/// House rule 11: quotes borrow their symbol from the frame.
#[test]
fn quote_symbols_borrow_from_the_frame() {
    for frame in [SPOT, SWAP, FUTURES, DOCS] {
        let mut borrowed = Vec::new();
        let r = venue(KIND).parse(frame, &Default::default(), &mut |q| {
            borrowed.push(matches!(q.symbol, Cow::Borrowed(_)))
        });
        assert_eq!(r, Ok(FrameKind::Data));
        assert_eq!(borrowed, [true], "{frame}");
    }
}

// ---------------------------------------------------------------------------------------------
// instrument names and protocol choices

#[track_caller]
fn split(symbol: &str) -> (String, String, Market, Option<String>) {
    match Okx.split_symbol(symbol) {
        SymbolSpec::Split {
            base,
            quote,
            market,
            expiry,
        } => (base.to_owned(), quote.to_owned(), market, expiry),
        other => panic!("{symbol}: {other:?}"),
    }
}

#[test]
fn split_symbol_gives_market_and_expiry() {
    let s = |b: &str, q: &str, m, e: Option<&str>| {
        (b.to_owned(), q.to_owned(), m, e.map(str::to_owned))
    };
    assert_eq!(split("BTC-USDT"), s("BTC", "USDT", Market::Spot, None));
    assert_eq!(split("ETH-USDC"), s("ETH", "USDC", Market::Spot, None));
    assert_eq!(split("1INCH-USDT"), s("1INCH", "USDT", Market::Spot, None));
    assert_eq!(
        split("BTC-USDT-SWAP"),
        s("BTC", "USDT", Market::Perpetual, None)
    );
    assert_eq!(
        split("BTC-USD-SWAP"),
        s("BTC", "USD", Market::Perpetual, None)
    );
    assert_eq!(
        split("BTC-USD-250926"),
        s("BTC", "USD", Market::Future, Some("20250926"))
    );
    assert_eq!(
        split("ETH-USDT-261225"),
        s("ETH", "USDT", Market::Future, Some("20261225"))
    );
    for bad in [
        "",
        "BTC",
        "BTCUSDT",
        "BTC/USDT",
        "btc-usdt",
        "BTC-usdt",
        "BTC-",
        "-USDT",
        "BTC--USDT",
        "BTC-USDT-",
        "BTC-USDT-swap",
        "BTC-USDT-PERP",
        "BTC-USDT-SWAP-X",
        "BTC-USD-20250926",
        "BTC-USD-2509",
        "BTC-USD-250931",
        "BTC-USD-251301",
        "BTC-USD-250926-60000-C",
    ] {
        assert!(
            matches!(Okx.split_symbol(bad), SymbolSpec::Invalid(_)),
            "{bad:?} accepted"
        );
    }
    // OKX's codes are the canonical ones.
    assert!(Okx.asset_aliases().is_empty());
}

#[test]
fn protocol_choices() {
    assert_eq!(Okx.default_ws_url(), "wss://ws.okx.com:8443/ws/v5/public");
    assert_eq!(Okx.sequencing(), Sequencing::None);
    assert!(!Okx.sends_deltas());
    match Okx.ping_policy() {
        PingPolicy::Text(every, ping) => {
            assert_eq!(ping(1), "ping");
            assert!(every < std::time::Duration::from_secs(30), "{every:?}");
        }
        other => panic!("{other:?}"),
    }
    // Our subscribe for the recording's three instruments is byte for byte what cryptofeed
    // sent to OKX (and got acked) in that recording.
    assert_eq!(
        Okx.subscribe_messages(&["BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT"]),
        [SUB_SENT.trim_end()]
    );
    assert_eq!(Okx.sample_symbols(), ["BTC-USDT", "ETH-USDT"]);
}

// ---------------------------------------------------------------------------------------------
// the simulator speaks what the parser reads

#[test]
fn sim_frames_parse() {
    let now = Ts::from_micros(1_767_225_600_123_456); // 2026-01-01T00:00:00.123456Z
    let mut session = SimSession {
        now,
        ..Default::default()
    };
    assert!(OkxSim.on_connect("/", &mut session).is_empty());
    let symbols = ["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP", "BTC-USD-250926"];
    let mut replies = Vec::new();
    for msg in Okx.subscribe_messages(&symbols) {
        replies.extend(OkxSim.on_text(&msg, &mut session));
    }
    assert_eq!(replies.len(), symbols.len(), "one ack per argument");
    for r in &replies {
        assert!(r.starts_with(r#"{"event":"subscribe","arg":{"channel":"tickers","instId":""#));
        no_quote(KIND, r, FrameKind::Control);
    }
    assert_eq!(session.symbols, symbols);
    assert_eq!(
        OkxSim.heartbeat(&mut session),
        None,
        "OKX sends no heartbeats"
    );
    assert_eq!(OkxSim.on_text("ping", &mut session), ["pong"]);
    no_quote(KIND, "pong", FrameKind::Control);
    for symbol in symbols {
        let q = PriceModel.quote_for(&Okx, symbol, now, 0).unwrap();
        let frame = OkxSim.ticker(symbol, &q, &mut session);
        let p = one_quote(KIND, &frame);
        assert_eq!(p.symbol, symbol, "{frame}");
        assert_eq!(p.bid, Some(q.bid), "{frame}");
        assert_eq!(p.ask, Some(q.ask), "{frame}");
        assert_eq!(p.bid_size, Some(q.bid_size), "{frame}");
        assert_eq!(p.ask_size, Some(q.ask_size), "{frame}");
        assert_eq!(p.last, Some(q.last), "{frame}");
        assert_eq!(p.volume_24h, Some(q.volume_24h), "{frame}: base volume");
        // `ts` is whole milliseconds.
        assert_eq!(p.exchange_ts, Some(Ts::from_millis(now.millis())));
        // Field order and number style of the live capture.
        let keys: Vec<String> = {
            let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
            let d = v["data"][0].as_object().unwrap().clone();
            d.keys().cloned().collect()
        };
        assert_eq!(keys.len(), 16, "{frame}");
        let order = |f: &str| {
            let v: serde_json::Value = serde_json::from_str(f).unwrap();
            let d = v["data"][0].as_object().unwrap();
            let mut pos: Vec<(usize, &String)> = d
                .keys()
                .map(|k| (f.find(&format!("\"{k}\":")).unwrap(), k))
                .collect();
            pos.sort();
            pos.into_iter().map(|(_, k)| k.clone()).collect::<Vec<_>>()
        };
        assert_eq!(order(&frame), order(SPOT), "{frame}");
        let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
        for (k, val) in v["data"][0].as_object().unwrap() {
            let text = val
                .as_str()
                .unwrap_or_else(|| panic!("{k} is not a string: {frame}"));
            assert!(
                !(text.contains('.') && text.ends_with('0')),
                "{k}: trailing zeros in {frame}"
            );
        }
    }
    // Bad requests get OKX's own error frames.
    for bad in [
        "this is not json",
        r#"{"op":"subscrib","args":[{"channel":"tickers","instId":"BTC-USDT"}]}"#,
        r#"{"op":"subscribe","args":[]}"#,
        r#"{"op":"subscribe","args":[{"channel":"tickers","instId":"NOPE-USDT"}]}"#,
        r#"{"op":"subscribe","args":[{"channel":"tickers","instId":"btc-usdt"}]}"#,
        r#"{"op":"subscribe","args":[{"channel":"ticker","instId":"BTC-USDT"}]}"#,
    ] {
        let replies = OkxSim.on_text(bad, &mut session);
        assert_eq!(replies.len(), 1, "{bad}");
        assert!(
            replies[0].starts_with(r#"{"event":"error","code":"600"#),
            "{}",
            replies[0]
        );
        let (result, quotes) = parse(KIND, &replies[0]);
        assert!(quotes.is_empty());
        assert!(
            matches!(result, Ok(FrameKind::VenueError(_))),
            "{bad}: {result:?}"
        );
    }
    assert_eq!(
        session.symbols, symbols,
        "refused requests subscribe nothing"
    );
    let r = OkxSim.on_text(
        r#"{"op":"unsubscribe","args":[{"channel":"tickers","instId":"ETH-USDT"}]}"#,
        &mut session,
    );
    no_quote(KIND, &r[0], FrameKind::Control);
    assert_eq!(
        session.symbols,
        ["BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-250926"]
    );
}
