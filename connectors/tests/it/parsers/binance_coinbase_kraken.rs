//! Venue parsers against real payloads (`tests/fixtures/<kind>/`, copied byte for byte from
//! `shared/venues/<venue>/`; provenance in `tests/fixtures/README.md`), malformed input, and each
//! venue's own simulator frames.
//!
//! Every parse goes through the registry (`registry::streaming(kind).parse`), the same entry
//! point the transport and replay use. Decimals are checked by value AND by `to_string()`, so a
//! lost trailing zero or a float round trip shows up as a failure.

use crate::support::parsers::{
    assert_dec, no_quote, one_quote, parse, rejected, replay_frames, truncations_are_rejected,
    venue, GARBAGE,
};
use connectors::registry;
use connectors::sim::{PriceModel, SimProtocol, SimQuote, SimSession};
use connectors::venues::binance::sim::BinanceSim;
use connectors::venues::coinbase::sim::CoinbaseSim;
use connectors::venues::kraken::sim::KrakenSim;
use connectors::{FrameKind, ParseError};
use rust_decimal::Decimal;
use schemas::Ts;
use std::borrow::Cow;
use std::str::FromStr;

// ---------------------------------------------------------------------------------------------
// Binance spot

const BN_BOOK_TICKER: &str = include_str!("../../fixtures/binance/ws_bookTicker.json");
const BN_BOOK_TICKER_LIVE: &str =
    include_str!("../../fixtures/binance/ws_bookTicker_combined_live_capture.json");
const BN_REPLAY: &str =
    include_str!("../../fixtures/binance/replay_cryptofeed_BINANCE.ws.1.0.excerpt.txt");

#[test]
fn binance_book_ticker_doc_example_is_exact() {
    let q = one_quote("binance", BN_BOOK_TICKER);
    assert_eq!(q.symbol, "BNBUSDT");
    assert_dec("bid", q.bid, "25.35190000");
    assert_dec("bid_size", q.bid_size, "31.21000000");
    assert_dec("ask", q.ask, "25.36520000");
    assert_dec("ask_size", q.ask_size, "40.66000000");
    assert_eq!(q.sequence, Some(400_900_217), "sequence is bookTicker `u`");
    // Spot bookTicker has no event time (no `E`): the normalizer falls back to received_at.
    assert_eq!(q.exchange_ts, None);
    assert_eq!(
        (q.last, q.mark, q.index, q.volume_24h),
        (None, None, None, None)
    );
}

#[test]
fn binance_book_ticker_combined_live_capture_is_exact() {
    let q = one_quote("binance", BN_BOOK_TICKER_LIVE);
    assert_eq!(q.symbol, "NKNUSDT");
    assert_dec("bid", q.bid, "0.35210000");
    assert_dec("bid_size", q.bid_size, "672.00000000");
    assert_dec("ask", q.ask, "0.35260000");
    assert_dec("ask_size", q.ask_size, "3199.00000000");
    assert_eq!(q.sequence, Some(499_869_768));
    assert_eq!(q.exchange_ts, None);
    assert_eq!(q.volume_24h, None);
}

/// Every bookTicker frame of the live recording becomes one exact quote; the recording's other
/// streams (depth, kline, aggTrade) never become a quote.
#[test]
fn binance_live_replay_book_tickers_are_exact_and_other_streams_are_not_quotes() {
    let frames = replay_frames(BN_REPLAY);
    assert_eq!(frames.len(), 120);
    let mut book_tickers = 0;
    let mut symbols = std::collections::BTreeSet::new();
    for frame in frames {
        let v: serde_json::Value = serde_json::from_str(frame).unwrap();
        let stream = v["stream"].as_str().unwrap();
        let (result, quotes) = parse("binance", frame);
        if stream.ends_with("@bookTicker") {
            book_tickers += 1;
            assert_eq!(result, Ok(FrameKind::Data), "{frame}");
            assert_eq!(quotes.len(), 1, "{frame}");
            let q = &quotes[0];
            // Expected values read independently of the parser, as the venue's own strings.
            let d = &v["data"];
            assert_eq!(q.symbol, d["s"].as_str().unwrap());
            assert_dec("bid", q.bid, d["b"].as_str().unwrap());
            assert_dec("bid_size", q.bid_size, d["B"].as_str().unwrap());
            assert_dec("ask", q.ask, d["a"].as_str().unwrap());
            assert_dec("ask_size", q.ask_size, d["A"].as_str().unwrap());
            assert_eq!(q.sequence, d["u"].as_u64());
            assert_eq!(q.exchange_ts, None);
            symbols.insert(q.symbol.to_string());
        } else {
            assert!(
                quotes.is_empty(),
                "{stream} frame became a quote: {quotes:?}"
            );
            assert_ne!(result, Ok(FrameKind::Data), "{frame}");
            assert_ne!(result, Ok(FrameKind::Reconnect), "{frame}");
        }
    }
    assert_eq!(book_tickers, 42);
    // The excerpt's first 120 frames hold bookTickers of two of its four subscribed pairs.
    assert_eq!(
        symbols.into_iter().collect::<Vec<_>>(),
        ["LRCBTC", "NKNUSDT"]
    );
}

#[test]
fn binance_control_frames() {
    no_quote(
        "binance",
        include_str!("../../fixtures/binance/ws_subscribe_response.json"),
        FrameKind::Control,
    );
    no_quote(
        "binance",
        include_str!("../../fixtures/binance/ws_list_subscriptions_response.json"),
        FrameKind::Control,
    );
    no_quote(
        "binance",
        include_str!("../../fixtures/binance/ws_serverShutdown_raw.json"),
        FrameKind::Reconnect,
    );
    no_quote(
        "binance",
        include_str!("../../fixtures/binance/ws_serverShutdown_combined.json"),
        FrameKind::Reconnect,
    );
    // An error reply (web-socket-streams.md "Error Messages") is the venue refusing a request.
    let (result, quotes) = parse(
        "binance",
        r#"{"code": 0, "msg": "Unknown property", "id": 7}"#,
    );
    assert!(quotes.is_empty());
    assert_eq!(
        result,
        Ok(FrameKind::VenueError("code 0: Unknown property".into()))
    );
    let (result, _) = parse(
        "binance",
        r#"{"code": 1, "msg": "Invalid value type: expected Boolean"}"#,
    );
    assert_eq!(
        result,
        Ok(FrameKind::VenueError(
            "code 1: Invalid value type: expected Boolean".into()
        ))
    );
}

/// Other raw streams (doc examples) that might share a connection: the 24 h ticker carries a
/// best bid/ask and is taken as a quote; the mini ticker has none and is not a quote.
#[test]
fn binance_other_raw_events() {
    let q = one_quote(
        "binance",
        include_str!("../../fixtures/binance/ws_24hrTicker.json"),
    );
    assert_eq!(q.symbol, "BNBBTC");
    assert_dec("bid", q.bid, "0.0024");
    assert_dec("bid_size", q.bid_size, "10");
    assert_dec("ask", q.ask, "0.0026");
    assert_dec("ask_size", q.ask_size, "100");
    assert_eq!(q.sequence, None);
    no_quote(
        "binance",
        include_str!("../../fixtures/binance/ws_miniTicker.json"),
        FrameKind::Control,
    );
    no_quote(
        "binance",
        include_str!("../../fixtures/binance/ws_kline_combined_live_capture.json"),
        FrameKind::Control,
    );
    // The doc trade example has no `b`/`a`, so it is Control.
    no_quote(
        "binance",
        include_str!("../../fixtures/binance/ws_trade.json"),
        FrameKind::Control,
    );
}

/// parse.rs says other stream types on the same connection (trade, depth) are "not a quote"
/// and returns `Control` for them; but trade/aggTrade/depthUpdate frames put non-strings in `b`
/// and `a` (order ids, the aggregate trade id, price-level arrays), which fail deserialization
/// first, so real frames of those streams are counted as parse errors instead. No quote is ever
/// emitted either way (checked in the replay test); this pins the intended classification.
#[test]
fn binance_trade_and_depth_frames_are_control_not_parse_errors() {
    let mut wrong = Vec::new();
    for (name, frame) in [
        (
            "ws_aggTrade_combined_live_capture",
            include_str!("../../fixtures/binance/ws_aggTrade_combined_live_capture.json"),
        ),
        (
            "ws_depthUpdate_combined_live_capture",
            include_str!("../../fixtures/binance/ws_depthUpdate_combined_live_capture.json"),
        ),
        (
            "ws_trade_combined_nautilus",
            include_str!("../../fixtures/binance/ws_trade_combined_nautilus.json"),
        ),
        (
            "ws_aggTrade",
            include_str!("../../fixtures/binance/ws_aggTrade.json"),
        ),
    ] {
        let (result, quotes) = parse("binance", frame);
        assert!(quotes.is_empty(), "{name}: {quotes:?}");
        if result != Ok(FrameKind::Control) {
            wrong.push(format!("{name}: {result:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "not classified Control:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn binance_malformed_frames_are_errors_never_panics() {
    for g in GARBAGE {
        rejected("binance", g);
    }
    // `{}` parses as JSON but is no message Binance sends.
    assert!(matches!(
        rejected("binance", "{}"),
        ParseError::Unknown { .. }
    ));
    truncations_are_rejected("binance", BN_BOOK_TICKER_LIVE);
    truncations_are_rejected("binance", BN_BOOK_TICKER);
    // A bad decimal string is an error that names the venue and the offending text.
    let bad = BN_BOOK_TICKER_LIVE.replace("\"0.35210000\"", "\"0.352I0000\"");
    let err = rejected("binance", &bad);
    assert!(err.to_string().contains("0.352I0000"), "{err}");
    for bad in ["\"\"", "\"1,5\"", "\"NaN\"", "\"0x10\"", "\"--1\""] {
        let frame = BN_BOOK_TICKER_LIVE.replace("\"0.35260000\"", bad);
        if bad == "\"\"" {
            // Empty is "missing" (decimal::opt_str): the quote is kept one-sided, not invented.
            let q = one_quote("binance", &frame);
            assert_eq!(q.ask, None);
            assert_dec("bid", q.bid, "0.35210000");
        } else {
            rejected("binance", &frame);
        }
    }
    // Wrong JSON types: a number where Binance sends a decimal string is refused (never read
    // through a float), as are a string sequence and a numeric symbol.
    for (from, to) in [
        ("\"b\":\"0.35210000\"", "\"b\":5"),
        ("\"b\":\"0.35210000\"", "\"b\":0.3521"),
        ("\"u\":499869768", "\"u\":\"499869768\""),
        ("\"u\":499869768", "\"u\":-1"),
        ("\"s\":\"NKNUSDT\"", "\"s\":5"),
        ("\"data\":{", "\"data\":[{"),
    ] {
        let frame = BN_BOOK_TICKER_LIVE.replace(from, to);
        assert_ne!(frame, BN_BOOK_TICKER_LIVE, "{from}");
        rejected("binance", &frame);
    }
    // A bookTicker without a symbol cannot be attributed.
    rejected("binance", r#"{"u":1,"b":"1.0","a":"2.0"}"#);
}

// ---------------------------------------------------------------------------------------------
// Coinbase Advanced Trade

const CB_TICKER_DOCS: &str =
    include_str!("../../fixtures/coinbase/advtrade_ws_ticker_docs_example.json");
const CB_TICKER_NAUTILUS: &str =
    include_str!("../../fixtures/coinbase/advtrade_ws_ticker_nautilus.json");

#[test]
fn coinbase_ticker_docs_example_is_exact() {
    let q = one_quote("coinbase", CB_TICKER_DOCS);
    assert_eq!(q.symbol, "BTC-USD");
    assert_dec("bid", q.bid, "21931.98");
    assert_dec("bid_size", q.bid_size, "8000.21");
    assert_dec("ask", q.ask, "21933.98");
    assert_dec("ask_size", q.ask_size, "8038.07770938");
    assert_dec("last", q.last, "21932.98");
    assert_dec("volume_24h", q.volume_24h, "16038.28770938");
    assert_eq!(
        q.sequence,
        Some(0),
        "sequence is the envelope's sequence_num"
    );
    // 2023-02-09T20:30:37.167359596Z: nanoseconds truncated (not rounded) to microseconds.
    assert_eq!(q.exchange_ts, Some(Ts::from_micros(1_675_974_637_167_359)));
    assert_eq!((q.mark, q.index), (None, None));
}

#[test]
fn coinbase_ticker_nautilus_keeps_trailing_zeros() {
    let q = one_quote("coinbase", CB_TICKER_NAUTILUS);
    assert_eq!(q.symbol, "BTC-USD");
    assert_dec("bid", q.bid, "68900.00");
    assert_dec("bid_size", q.bid_size, "1.50000000");
    assert_dec("ask", q.ask, "68901.00");
    assert_dec("ask_size", q.ask_size, "0.50000000");
    assert_dec("last", q.last, "68900.50");
    assert_dec("volume_24h", q.volume_24h, "15328.12345678");
    assert_eq!(q.sequence, Some(12));
    // 2026-04-07T14:30:03.000000Z
    assert_eq!(q.exchange_ts, Some(Ts::from_micros(1_775_572_203_000_000)));
}

#[test]
fn coinbase_one_frame_with_several_tickers_emits_each() {
    // Snapshots may carry several tickers; the second one here is the docs ticker for ETH-USD.
    let two = CB_TICKER_DOCS.replacen(
        "\"tickers\": [",
        "\"tickers\": [{\"type\":\"ticker\",\"product_id\":\"ETH-USD\",\"best_bid\":\"1650.10\",\"best_ask\":\"1650.20\"},",
        1,
    );
    let (result, quotes) = parse("coinbase", &two);
    assert_eq!(result, Ok(FrameKind::Data));
    assert_eq!(quotes.len(), 2);
    assert_eq!(quotes[0].symbol, "ETH-USD");
    assert_dec("bid", quotes[0].bid, "1650.10");
    assert_eq!(quotes[0].bid_size, None);
    assert_eq!(quotes[1].symbol, "BTC-USD");
    assert_eq!(quotes[0].sequence, quotes[1].sequence);
    assert_eq!(quotes[0].exchange_ts, quotes[1].exchange_ts);
}

#[test]
fn coinbase_control_frames() {
    // Heartbeats, both the docs shape (counter as a string, Go time with monotonic suffix) and
    // nautilus' (counter as an integer): proof of life, never data.
    no_quote(
        "coinbase",
        include_str!("../../fixtures/coinbase/advtrade_ws_heartbeats_docs_example.json"),
        FrameKind::Heartbeat,
    );
    no_quote(
        "coinbase",
        include_str!("../../fixtures/coinbase/advtrade_ws_heartbeats_nautilus.json"),
        FrameKind::Heartbeat,
    );
    no_quote(
        "coinbase",
        include_str!("../../fixtures/coinbase/advtrade_ws_subscriptions_nautilus.json"),
        FrameKind::Control,
    );
    // Another channel (level2 arrives as `l2_data`) is not a quote.
    no_quote(
        "coinbase",
        include_str!("../../fixtures/coinbase/advtrade_ws_level2_docs_example.json"),
        FrameKind::Control,
    );
    let (result, quotes) = parse(
        "coinbase",
        r#"{"type":"error","message":"authentication failure"}"#,
    );
    assert!(quotes.is_empty());
    assert_eq!(
        result,
        Ok(FrameKind::VenueError("authentication failure".into()))
    );
}

/// Live frames of the legacy Exchange (ex-Pro) feed have no `channel`; they must not be read as
/// Advanced Trade tickers (different sequence semantics, no envelope time).
#[test]
fn coinbase_legacy_exchange_frames_are_not_quotes() {
    for frame in [
        include_str!("../../fixtures/coinbase/exchange_ws_ticker_live_capture.json"),
        include_str!("../../fixtures/coinbase/exchange_ws_match_live_capture.json"),
        include_str!("../../fixtures/coinbase/exchange_ws_subscriptions_live_capture.json"),
    ] {
        assert!(matches!(
            rejected("coinbase", frame),
            ParseError::Unknown { .. }
        ));
    }
}

#[test]
fn coinbase_malformed_frames_are_errors_never_panics() {
    for g in GARBAGE {
        rejected("coinbase", g);
    }
    assert!(matches!(
        rejected("coinbase", "{}"),
        ParseError::Unknown { .. }
    ));
    truncations_are_rejected("coinbase", CB_TICKER_DOCS);
    let err = rejected(
        "coinbase",
        &CB_TICKER_DOCS.replace("\"21931.98\"", "\"21,931.98\""),
    );
    assert!(err.to_string().contains("21,931.98"), "{err}");
    // A JSON number where Coinbase sends a string is refused (never read through a float).
    rejected(
        "coinbase",
        &CB_TICKER_DOCS.replace("\"21931.98\"", "21931.98"),
    );
    // A ticker without a product id cannot be attributed.
    rejected(
        "coinbase",
        &CB_TICKER_DOCS.replace("\"product_id\": \"BTC-USD\",", ""),
    );
    // A bad envelope time is refused rather than replaced by a guess.
    let err = rejected(
        "coinbase",
        &CB_TICKER_DOCS.replace("2023-02-09T20:30:37.167359596Z", "yesterday"),
    );
    assert!(err.to_string().contains("yesterday"), "{err}");
    rejected(
        "coinbase",
        &CB_TICKER_DOCS.replace("\"sequence_num\": 0", "\"sequence_num\": \"0\""),
    );
    // `events` of the wrong type.
    rejected(
        "coinbase",
        r#"{"channel":"ticker","events":{"tickers":[]}}"#,
    );
    // A ticker envelope with no tickers carries no data.
    no_quote(
        "coinbase",
        r#"{"channel":"ticker","timestamp":"2023-02-09T20:30:37Z","sequence_num":1,"events":[]}"#,
        FrameKind::Control,
    );
}

// ---------------------------------------------------------------------------------------------
// Kraken WebSocket v2

const KR_SNAPSHOT: &str = include_str!("../../fixtures/kraken/ws_v2_ticker_snapshot.json");
const KR_UPDATE: &str = include_str!("../../fixtures/kraken/ws_v2_ticker_update.json");
const KR_REPLAY_V1: &str =
    include_str!("../../fixtures/kraken/replay_cryptofeed_KRAKEN.ws.49.0.excerpt.txt");

#[test]
fn kraken_v2_ticker_snapshot_numbers_are_exact() {
    let q = one_quote("kraken", KR_SNAPSHOT);
    assert_eq!(q.symbol, "ALGO/USD");
    assert_dec("bid", q.bid, "0.10025");
    assert_dec("bid_size", q.bid_size, "740.0"); // JSON number 740.0: the ".0" is kept
    assert_dec("ask", q.ask, "0.10036");
    assert_dec("ask_size", q.ask_size, "1361.44813783");
    assert_dec("last", q.last, "0.10035");
    assert_dec("volume_24h", q.volume_24h, "997038.98383185");
    // 2023-09-25T09:04:31.742648Z
    assert_eq!(q.exchange_ts, Some(Ts::from_micros(1_695_632_671_742_648)));
    assert_eq!(q.sequence, None, "Kraken v2 tickers carry no sequence");
    assert_eq!((q.mark, q.index), (None, None));
}

#[test]
fn kraken_v2_ticker_update_numbers_are_exact() {
    let q = one_quote("kraken", KR_UPDATE);
    assert_eq!(q.symbol, "ALGO/USD");
    assert_dec("bid", q.bid, "0.10025");
    assert_dec("bid_size", q.bid_size, "740.0");
    assert_dec("ask", q.ask, "0.10035");
    assert_dec("ask_size", q.ask_size, "740.0");
    assert_dec("last", q.last, "0.10035");
    assert_dec("volume_24h", q.volume_24h, "997038.98383185");
    assert_eq!(q.exchange_ts, Some(Ts::from_micros(1_695_632_671_742_648)));
}

/// Numbers a float cannot hold survive, which proves they never pass through `f64`.
#[test]
fn kraken_v2_numbers_never_pass_through_f64() {
    let frame = KR_SNAPSHOT
        .replace("\"bid\": 0.10025", "\"bid\": 64000.123456789012345678")
        .replace("\"ask_qty\": 1361.44813783", "\"ask_qty\": 1.2e-05")
        .replace(
            "\"volume\": 997038.98383185",
            "\"volume\": 0.1000000000000000055511151231",
        );
    let q = one_quote("kraken", &frame);
    assert_dec("bid", q.bid, "64000.123456789012345678");
    assert_eq!(q.ask_size, Some(Decimal::from_str("0.000012").unwrap()));
    assert_dec("volume_24h", q.volume_24h, "0.1000000000000000055511151231");
}

#[test]
fn kraken_v2_control_frames() {
    no_quote(
        "kraken",
        include_str!("../../fixtures/kraken/ws_v2_heartbeat.json"),
        FrameKind::Heartbeat,
    );
    no_quote(
        "kraken",
        include_str!("../../fixtures/kraken/ws_v2_subscribe_ack.json"),
        FrameKind::Control,
    );
    // (ws_v2_ping_request.json is what the client sends, not a server frame.)
    no_quote(
        "kraken",
        r#"{"method":"pong","req_id":101,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}"#,
        FrameKind::Control,
    );
    no_quote(
        "kraken",
        r#"{"channel":"status","data":[{"api_version":"v2","connection_id":14545728493745856413,"system":"online","version":"2.0.0"}],"type":"update"}"#,
        FrameKind::Control,
    );
    let (result, quotes) = parse(
        "kraken",
        r#"{"error":"Currency pair not supported","method":"subscribe","req_id":1,"success":false,"symbol":"NOPE/USD","time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}"#,
    );
    assert!(quotes.is_empty());
    assert_eq!(
        result,
        Ok(FrameKind::VenueError("Currency pair not supported".into()))
    );
}

/// v1 frames (arrays and `event` objects) are a different protocol: never a (wrong) quote.
#[test]
fn kraken_v1_live_captures_are_not_v2_quotes() {
    for frame in [
        include_str!("../../fixtures/kraken/ws_v1_ticker_XBT_CHF_live_capture.json"),
        include_str!("../../fixtures/kraken/ws_v1_ticker_GRT_ETH_live_capture.json"),
        include_str!("../../fixtures/kraken/ws_v1_heartbeat_live_capture.json"),
        include_str!("../../fixtures/kraken/ws_v1_systemStatus_live_capture.json"),
        include_str!("../../fixtures/kraken/ws_v1_subscriptionStatus_live_capture.json"),
    ] {
        rejected("kraken", frame);
    }
    let frames = replay_frames(KR_REPLAY_V1);
    assert_eq!(frames.len(), 59);
    let arrays = frames.iter().filter(|f| f.starts_with('[')).count();
    assert!(
        arrays >= 10,
        "the excerpt holds v1 ticker arrays ({arrays})"
    );
    for frame in frames {
        let (result, quotes) = parse("kraken", frame);
        assert!(quotes.is_empty(), "v1 frame became a quote: {frame}");
        assert!(
            !matches!(result, Ok(FrameKind::Data) | Ok(FrameKind::Heartbeat)),
            "{frame}: {result:?}"
        );
    }
}

#[test]
fn kraken_malformed_frames_are_errors_never_panics() {
    for g in GARBAGE {
        rejected("kraken", g);
    }
    assert!(matches!(
        rejected("kraken", "{}"),
        ParseError::Unknown { .. }
    ));
    truncations_are_rejected("kraken", KR_SNAPSHOT);
    let err = rejected("kraken", &KR_SNAPSHOT.replace("0.10036", "0.1OO36"));
    assert_eq!(err.venue(), "kraken");
    for bad in ["\"abc\"", "true", "[0.1]", "{}", "\"1,5\""] {
        rejected(
            "kraken",
            &KR_SNAPSHOT.replace("\"bid\": 0.10025", &format!("\"bid\": {bad}")),
        );
    }
    // What the code accepts: a numeric string (some Kraken endpoints quote numbers) is read
    // exactly, and null / "" mean "missing".
    let q = one_quote(
        "kraken",
        &KR_SNAPSHOT.replace("\"bid\": 0.10025", "\"bid\": \"0.10025\""),
    );
    assert_dec("bid", q.bid, "0.10025");
    let q = one_quote(
        "kraken",
        &KR_SNAPSHOT.replace("\"bid\": 0.10025", "\"bid\": null"),
    );
    assert_eq!(q.bid, None);
    // A ticker without a symbol cannot be attributed.
    rejected(
        "kraken",
        &KR_SNAPSHOT.replace("\"symbol\": \"ALGO/USD\",", ""),
    );
    rejected(
        "kraken",
        &KR_SNAPSHOT.replace("\"symbol\": \"ALGO/USD\"", "\"symbol\": 5"),
    );
    // A bad timestamp is refused.
    let err = rejected(
        "kraken",
        &KR_SNAPSHOT.replace("2023-09-25T09:04:31.742648Z", "25/09/2023 09:04"),
    );
    assert!(err.to_string().contains("25/09/2023"), "{err}");
    // `data` of the wrong type.
    rejected(
        "kraken",
        r#"{"channel":"ticker","type":"update","data":{"symbol":"ALGO/USD"}}"#,
    );
    // An empty ticker list carries no data.
    no_quote(
        "kraken",
        r#"{"channel":"ticker","type":"update","data":[]}"#,
        FrameKind::Control,
    );
}

/// House rule 11: quotes borrow their symbol from the frame instead of allocating one.
#[test]
fn quote_symbols_borrow_from_the_frame() {
    let mut copied = Vec::new();
    for (kind, frame) in [
        ("binance", BN_BOOK_TICKER_LIVE),
        ("binance", BN_BOOK_TICKER),
        ("coinbase", CB_TICKER_DOCS),
        ("kraken", KR_SNAPSHOT),
    ] {
        let mut borrowed = Vec::new();
        let result = venue(kind).parse(frame, &Default::default(), &mut |q| {
            borrowed.push(matches!(q.symbol, Cow::Borrowed(_)))
        });
        assert_eq!(result, Ok(FrameKind::Data));
        if borrowed != [true] {
            copied.push(format!("{kind}: {}", frame.lines().next().unwrap_or("")));
        }
    }
    assert!(
        copied.is_empty(),
        "symbol copied out of the frame (an allocation per quote):\n{}",
        copied.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Each simulator speaks what its parser reads.

/// Drives a venue's [`SimProtocol`] by hand (no sockets): connect with the URL the connector
/// would open, send the connector's subscribe messages, then check that every frame the server
/// produces parses as the right kind and that ticker frames carry the simulated quote exactly.
fn sim_frames_parse<P: SimProtocol>(proto: P) {
    let venue = proto.venue();
    let kind = venue.kind();
    assert!(
        registry::streaming(kind).is_some(),
        "{kind}: simulated venue is not registered"
    );
    let symbols = venue.sample_symbols();
    assert_eq!(symbols.len(), 2, "{kind}: two sample symbols");
    let url = venue.connect_url("ws://127.0.0.1:9", symbols);
    let path = url.strip_prefix("ws://127.0.0.1:9").unwrap_or("/");
    let path = if path.is_empty() { "/" } else { path };
    let now = Ts::from_micros(1_767_225_600_123_456); // 2026-01-01T00:00:00.123456Z
    let mut session = SimSession {
        now,
        ..Default::default()
    };
    let mut control = proto.on_connect(path, &mut session);
    for msg in venue.subscribe_messages(symbols) {
        control.extend(proto.on_text(&msg, &mut session));
    }
    for frame in &control {
        no_quote(kind, frame, FrameKind::Control);
    }
    assert_eq!(
        session.symbols, symbols,
        "{kind}: the sim did not subscribe what the connector asked for"
    );
    if let Some(hb) = proto.heartbeat(&mut session) {
        no_quote(kind, &hb, FrameKind::Heartbeat);
    }
    let mut last_seq = None;
    for round in 0..3 {
        for &symbol in symbols {
            let q: SimQuote = PriceModel
                .quote_for(venue, symbol, now, 0)
                .unwrap_or_else(|| panic!("{kind}: no simulated price for {symbol}"));
            assert!(q.bid > Decimal::ZERO && q.bid < q.ask, "{q:?}");
            let frame = proto.ticker(symbol, &q, &mut session);
            let p = one_quote(kind, &frame);
            assert_eq!(p.symbol, symbol, "{frame}");
            assert_eq!(p.bid, Some(q.bid), "{frame}");
            assert_eq!(p.ask, Some(q.ask), "{frame}");
            assert_eq!(p.bid_size, Some(q.bid_size), "{frame}");
            assert_eq!(p.ask_size, Some(q.ask_size), "{frame}");
            if let Some(ts) = p.exchange_ts {
                assert_eq!(ts, now, "{kind}: exchange_ts of a sim frame");
            }
            if let Some(seq) = p.sequence {
                if let Some(prev) = last_seq {
                    assert!(
                        seq > prev,
                        "{kind}: sequence {seq} after {prev} (round {round})"
                    );
                }
                last_seq = Some(seq);
            }
        }
    }
    // A request the venue does not understand is answered with an error the parser reports.
    let replies = proto.on_text("this is not json", &mut session);
    assert!(!replies.is_empty(), "{kind}: no reply to a bad request");
    for r in replies {
        let (result, quotes) = parse(kind, &r);
        assert!(quotes.is_empty());
        assert!(
            matches!(result, Ok(FrameKind::VenueError(_))),
            "{kind}: {r} -> {result:?}"
        );
    }
}

#[test]
fn binance_sim_frames_parse() {
    sim_frames_parse(BinanceSim);
    let q = PriceModel
        .quote_for(
            &connectors::venues::binance::Binance,
            "BTCUSDT",
            Ts::from_millis(0),
            0,
        )
        .unwrap();
    let frame = BinanceSim.ticker("BTCUSDT", &q, &mut SimSession::default());
    // The sim writes Binance's 8-decimal strings, and the parser keeps them.
    assert_eq!(
        one_quote("binance", &frame).bid.unwrap().scale(),
        8,
        "{frame}"
    );
    assert_eq!(one_quote("binance", &frame).exchange_ts, None);
}

#[test]
fn coinbase_sim_frames_parse() {
    sim_frames_parse(CoinbaseSim);
    let mut s = SimSession::default();
    // Coinbase answers a subscribe to an unknown channel with an error frame.
    let replies = CoinbaseSim.on_text(r#"{"type":"subscribe","channel":"nope"}"#, &mut s);
    assert!(matches!(
        parse("coinbase", &replies[0]).0,
        Ok(FrameKind::VenueError(_))
    ));
}

#[test]
fn kraken_sim_frames_parse() {
    sim_frames_parse(KrakenSim);
    // The connector's application ping is answered with a pong, which is control traffic.
    let mut s = SimSession::default();
    let ping = r#"{"method":"ping","req_id":7}"#;
    let replies = KrakenSim.on_text(ping, &mut s);
    assert_eq!(replies.len(), 1);
    no_quote("kraken", &replies[0], FrameKind::Control);
}
