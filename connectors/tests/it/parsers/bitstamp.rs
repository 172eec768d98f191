//! Bitstamp parser against real payloads (`tests/fixtures/bitstamp/`; provenance in
//! `tests/fixtures/README.md`), malformed input, symbols, and the simulator's frames.
//!
//! The order book frame is a third-party test payload (gocryptotrader), not a Bitstamp docs
//! example: the docs give only a field table for `order_book_<pair>`, and the live captures in
//! `shared/venues/bitstamp/` hold diff book, trade and ack frames only. Inline frames below are
//! either edits of a fixture (one value changed, said so) or control frames in the shape the
//! docs give, marked "docs shape".

use crate::support::parsers::{assert_dec, no_quote, one_quote, parse, rejected, venue, GARBAGE};
use connectors::sim::{PriceModel, SimProtocol, SimSession};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{frame_to_quotes, Connection, FrameMeta};
use connectors::venues::bitstamp::sim::BitstampSim;
use connectors::venues::bitstamp::Bitstamp;
use connectors::{FrameKind, Merge, ParseError, PingPolicy, StreamingVenue, SymbolSpec};
use schemas::{Market, Ts};
use std::borrow::Cow;

const KIND: &str = "bitstamp";

const ORDER_BOOK: &str =
    include_str!("../../fixtures/bitstamp/ws_order_book_btcusd_gocryptotrader_test.json");
const DIFF_BOOK: &str =
    include_str!("../../fixtures/bitstamp/ws_diff_order_book_data_live_capture.json");
const SUBSCRIBED: &str =
    include_str!("../../fixtures/bitstamp/ws_subscription_succeeded_live_capture.json");
const TRADE: &str = include_str!("../../fixtures/bitstamp/ws_trade_live_capture.json");
const SUBSCRIBE_SENT: &str =
    include_str!("../../fixtures/bitstamp/ws_subscribe_request_cryptofeed_sent.json");

// ---------------------------------------------------------------------------------------------
// quotes

#[test]
fn order_book_top_is_exact() {
    let q = one_quote(KIND, ORDER_BOOK);
    assert_eq!(
        q.symbol, "BTCUSD",
        "the channel's pair, upper-cased as configured"
    );
    assert_dec("bid", q.bid, "19133.97");
    assert_dec("bid_size", q.bid_size, "0.01000000");
    assert_dec("ask", q.ask, "19141.75");
    assert_dec("ask_size", q.ask_size, "0.39300000");
    assert_eq!(
        q.exchange_ts,
        Some(Ts::from_micros(1_606_965_727_403_931)),
        "microtimestamp"
    );
    assert_eq!(q.sequence, None, "Bitstamp books carry no sequence");
    assert_eq!(q.merge, Merge::Full, "every frame is a whole snapshot");
    assert_eq!(
        (q.last, q.mark, q.index, q.volume_24h),
        (None, None, None, None)
    );
}

/// The quote lands on the configured upper-case symbol through the framework's symbol table.
#[test]
fn order_book_quote_is_attributed_to_the_configured_symbol() {
    let table = SymbolTable::new(vec![InstrumentSpec {
        venue_symbol: "BTCUSD".into(),
        stream: "ticker:BTC-USD".into(),
    }]);
    let mut quotes = Vec::new();
    let meta = FrameMeta {
        received_at: Ts::from_millis(1_606_965_727_500),
        epoch: 1,
        connector: 0,
    };
    let k = frame_to_quotes(
        venue(KIND),
        ORDER_BOOK,
        meta,
        &table,
        &mut Connection::default(),
        &mut |q| quotes.push(q),
        &mut |s| panic!("unknown symbol {s}"),
    );
    assert_eq!(k, Ok(FrameKind::Data));
    assert_eq!(quotes.len(), 1);
    assert_eq!(quotes[0].source.instrument, 0);
    assert_dec("bid", quotes[0].bid, "19133.97");
}

/// Edits of the fixture: an empty side gives a one-sided quote; a wholly empty book no quote;
/// a crossed snapshot is passed on as sent (the normalizer excludes crossed books).
#[test]
fn empty_and_crossed_books() {
    let bids_start = ORDER_BOOK.find("\"bids\":[").unwrap() + "\"bids\":[".len();
    let bids_end = ORDER_BOOK.find("],\"asks\"").unwrap();
    let no_bids = format!("{}{}", &ORDER_BOOK[..bids_start], &ORDER_BOOK[bids_end..]);
    let q = one_quote(KIND, &no_bids);
    assert_eq!((q.bid, q.bid_size), (None, None));
    assert_dec("ask", q.ask, "19141.75");
    let asks_start = no_bids.find("\"asks\":[").unwrap() + "\"asks\":[".len();
    let asks_end = no_bids.find("]},\"channel\"").unwrap();
    let empty = format!("{}{}", &no_bids[..asks_start], &no_bids[asks_end..]);
    assert!(empty.contains(r#""bids":[],"asks":[]}"#), "{empty}");
    no_quote(KIND, &empty, FrameKind::Control);
    let crossed = ORDER_BOOK.replacen("\"19133.97\"", "\"19150.00\"", 1);
    let q = one_quote(KIND, &crossed);
    assert!(q.bid > q.ask);
}

/// A pair too long for the stack buffer is copied, and still upper-cased (edit: channel renamed).
#[test]
fn long_pairs_are_still_upper_cased() {
    let long = "abcdefghijklmnopqrstuvwxyz0123456789usd";
    let frame = ORDER_BOOK.replace("order_book_btcusd", &format!("order_book_{long}"));
    let q = one_quote(KIND, &frame);
    assert_eq!(q.symbol, long.to_ascii_uppercase());
}

// ---------------------------------------------------------------------------------------------
// control frames

#[test]
fn control_frames() {
    // Live captures: the subscribe ack, a diff book (`data` on another channel) and a trade.
    no_quote(KIND, SUBSCRIBED, FrameKind::Control);
    no_quote(KIND, DIFF_BOOK, FrameKind::Control);
    no_quote(KIND, TRADE, FrameKind::Control);
    // Docs shape: the heartbeat reply, maintenance notice and error frames.
    no_quote(
        KIND,
        r#"{"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}"#,
        FrameKind::Heartbeat,
    );
    no_quote(
        KIND,
        r#"{"event": "bts:request_reconnect", "channel": "", "data": ""}"#,
        FrameKind::Reconnect,
    );
    no_quote(
        KIND,
        r#"{"event": "bts:request_reconnect", "channel": "", "data": null}"#,
        FrameKind::Reconnect,
    );
    no_quote(
        KIND,
        r#"{"event": "bts:error", "channel": "", "data": {"code": null, "message": "Incorrect JSON format."}}"#,
        FrameKind::VenueError("Incorrect JSON format.".into()),
    );
    no_quote(
        KIND,
        r#"{"event": "bts:error", "channel": "", "data": {"code": 4009, "message": "Invalid channel provided."}}"#,
        FrameKind::VenueError("Invalid channel provided.".into()),
    );
    let (result, _) = parse(KIND, r#"{"event":"bts:error","channel":"","data":""}"#);
    assert!(matches!(result, Ok(FrameKind::VenueError(e)) if e.contains("bts:error")));
    no_quote(
        KIND,
        r#"{"event":"bts:unsubscription_succeeded","channel":"order_book_btcusd","data":{}}"#,
        FrameKind::Control,
    );
}

/// Our subscribe frame is byte for byte the one cryptofeed sent to the live server, with its
/// channel swapped for ours.
#[test]
fn subscribe_frame_matches_the_live_client() {
    let ours = &Bitstamp.subscribe_messages(&["BTCUSD"])[0];
    assert_eq!(
        *ours,
        SUBSCRIBE_SENT
            .trim_end()
            .replace("diff_order_book_sgbeur", "order_book_btcusd")
    );
    match Bitstamp.ping_policy() {
        PingPolicy::Text(every, f) => {
            assert_eq!(f(1), r#"{"event":"bts:heartbeat"}"#);
            assert!(every.as_secs() <= 20, "{every:?}");
        }
        p => panic!("expected a text heartbeat, got {p:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// malformed

#[test]
fn malformed_frames_are_errors_never_panics() {
    for g in GARBAGE {
        rejected(KIND, g);
    }
    assert!(matches!(rejected(KIND, "{}"), ParseError::Unknown { .. }));
    let frame = ORDER_BOOK.trim_end();
    for cut in 0..frame.len() {
        rejected(KIND, &frame[..cut]);
    }
    let err = rejected(
        KIND,
        &ORDER_BOOK.replacen("\"19133.97\"", "\"19I33.97\"", 1),
    );
    assert!(err.to_string().contains("19I33.97"), "{err}");
    for (from, to) in [
        // A JSON number where Bitstamp sends a decimal string is refused, never read as f64.
        ("[\"19133.97\",\"0.01000000\"]", "[19133.97,\"0.01000000\"]"),
        ("[\"19141.75\",\"0.39300000\"]", "[\"19141.75\",0.393]"),
        // Levels with fewer than two entries, or not a list.
        ("[\"19133.97\",\"0.01000000\"]", "[\"19133.97\"]"),
        ("[\"19133.97\",\"0.01000000\"]", "[]"),
        ("\"bids\":[[", "\"bids\":{\"x\":[["),
        // A time that is not microseconds.
        ("\"1606965727403931\"", "\"2020-12-03T03:22:07Z\""),
        ("\"1606965727403931\"", "1606965727403931"),
        // An order book channel without a pair, or without its data.
        ("order_book_btcusd", "order_book_"),
        ("\"event\":\"data\"", "\"event\":5"),
    ] {
        let bad = ORDER_BOOK.replacen(from, to, 1);
        assert_ne!(bad, ORDER_BOOK, "{from}");
        rejected(KIND, &bad);
    }
    rejected(
        KIND,
        r#"{"data":"","channel":"order_book_btcusd","event":"data"}"#,
    );
    rejected(
        KIND,
        r#"{"data":[1],"channel":"order_book_btcusd","event":"data"}"#,
    );
    // A frame without an event is no Bitstamp message.
    assert!(matches!(
        rejected(KIND, r#"{"data":{},"channel":"order_book_btcusd"}"#),
        ParseError::Unknown { .. }
    ));
}

/// House rule 11: no allocation for the symbol (upper-cased on the stack, borrowed from there).
#[test]
fn quote_symbols_are_not_allocated() {
    let mut borrowed = Vec::new();
    let r = venue(KIND).parse(ORDER_BOOK, &Default::default(), &mut |q| {
        borrowed.push(matches!(q.symbol, Cow::Borrowed(_)))
    });
    assert_eq!(r, Ok(FrameKind::Data));
    assert_eq!(borrowed, [true]);
}

// ---------------------------------------------------------------------------------------------
// symbols

#[test]
fn split_symbol_takes_upper_case_joined_pairs() {
    assert_eq!(
        Bitstamp.split_symbol("BTCUSD"),
        SymbolSpec::Joined {
            symbol: "BTCUSD",
            market: Market::Spot,
            expiry: None
        }
    );
    assert_eq!(
        Bitstamp.split_symbol("USDTUSD"),
        SymbolSpec::Joined {
            symbol: "USDTUSD",
            market: Market::Spot,
            expiry: None
        }
    );
    for bad in ["", "btcusd", "BTC/USD", "BTC-USD", "BTCUSD-PERP", "BtcUsd"] {
        assert!(
            matches!(Bitstamp.split_symbol(bad), SymbolSpec::Invalid(_)),
            "{bad}"
        );
    }
    assert_eq!(Bitstamp.sample_symbols(), ["BTCUSD", "ETHUSD"]);
}

// ---------------------------------------------------------------------------------------------
// the simulator

#[test]
fn sim_speaks_what_the_parser_reads() {
    let v = Bitstamp;
    let symbols = v.sample_symbols();
    let mut s = SimSession {
        now: Ts::from_micros(1_767_225_600_123_456),
        ..Default::default()
    };
    assert!(BitstampSim.on_connect("/", &mut s).is_empty());
    for msg in v.subscribe_messages(symbols) {
        let replies = BitstampSim.on_text(&msg, &mut s);
        assert_eq!(replies.len(), 1);
        no_quote(KIND, &replies[0], FrameKind::Control);
    }
    assert_eq!(s.symbols, symbols);
    let PingPolicy::Text(_, ping) = v.ping_policy() else {
        panic!()
    };
    let replies = BitstampSim.on_text(&ping(1), &mut s);
    assert_eq!(replies.len(), 1);
    no_quote(KIND, &replies[0], FrameKind::Heartbeat);
    assert!(
        BitstampSim.heartbeat(&mut s).is_none(),
        "the server sends no heartbeats of its own"
    );
    for &symbol in symbols {
        let q = PriceModel.quote_for(&v, symbol, s.now, 0).unwrap();
        let frame = BitstampSim.ticker(symbol, &q, &mut s);
        let p = one_quote(KIND, &frame);
        assert_eq!(p.symbol, symbol);
        assert_eq!((p.bid, p.ask), (Some(q.bid), Some(q.ask)), "{frame}");
        assert_eq!(
            (p.bid_size, p.ask_size),
            (Some(q.bid_size), Some(q.ask_size)),
            "{frame}"
        );
        assert_eq!(p.exchange_ts, Some(s.now));
    }
    // Refusals come back as bts:error, which the parser reports.
    for bad in [
        "this is not json",
        r#"{"event":"bts:ping"}"#,
        r#"{"event":"bts:subscribe","data":{}}"#,
        r#"{"event":"bts:subscribe","data":{"channel":"order_book_BTCUSD"}}"#,
    ] {
        let replies = BitstampSim.on_text(bad, &mut s);
        assert_eq!(replies.len(), 1, "{bad}");
        assert!(
            matches!(parse(KIND, &replies[0]).0, Ok(FrameKind::VenueError(_))),
            "{bad}: {replies:?}"
        );
    }
    let replies = BitstampSim.on_text(
        r#"{"event":"bts:unsubscribe","data":{"channel":"order_book_ethusd"}}"#,
        &mut s,
    );
    no_quote(KIND, &replies[0], FrameKind::Control);
    assert_eq!(s.symbols, ["BTCUSD"]);
}
