//! Bitfinex v2 parser against real payloads (`tests/fixtures/bitfinex/`, copied byte for byte
//! from `shared/venues/bitfinex/`; provenance in `tests/fixtures/README.md`), the channel binding
//! through the framework (`transport::frame_to_quotes`), malformed input and the simulator.
//!
//! Inline frames that are not in the fixtures are written from the documented shapes
//! (docs: ws-general) and say so; decimals are checked by value and by `to_string()`.

use crate::support::parsers::{
    assert_dec, no_quote, parse, parse_with, rejected_with, venue, GARBAGE,
};
use connectors::sim::{PriceModel, SimProtocol, SimSession};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{frame_to_quotes, Connection, FrameMeta};
use connectors::venues::bitfinex::sim::BitfinexSim;
use connectors::{ConnState, FrameKind, ParseError, QuoteObs, SymbolSpec};
use rust_decimal::Decimal;
use schemas::{Market, Ts};
use std::str::FromStr;

const KIND: &str = "bitfinex";

const SUBSCRIBED: &str =
    include_str!("../../fixtures/bitfinex/ws_v2_subscribed_ticker_live_capture.json");
const TICKER: &str = include_str!("../../fixtures/bitfinex/ws_v2_ticker_update_live_capture.json");
const HEARTBEAT: &str = include_str!("../../fixtures/bitfinex/ws_v2_heartbeat_live_capture.json");
const INFO: &str = include_str!("../../fixtures/bitfinex/ws_v2_info_live_capture.json");
const SUBSCRIBE_SENT: &str =
    include_str!("../../fixtures/bitfinex/ws_v2_subscribe_ticker_request_cryptofeed_sent.json");
const CONF_SENT: &str =
    include_str!("../../fixtures/bitfinex/ws_v2_conf_request_cryptofeed_sent.json");

/// A connection state with the live capture's channel bound.
fn bound() -> ConnState {
    let mut conn = ConnState::default();
    conn.channels.insert(232949, "tBFTUSD".to_owned());
    conn
}

/// Runs frames through the framework as one connection would, returning each frame's kind and
/// the observations it produced.
fn run(
    symbols: &[&str],
    frames: &[&str],
) -> (
    Vec<Result<FrameKind, ParseError>>,
    Vec<QuoteObs>,
    Connection,
) {
    let table = SymbolTable::new(
        symbols
            .iter()
            .map(|s| InstrumentSpec {
                venue_symbol: (*s).to_owned(),
                stream: format!("ticker:{s}"),
            })
            .collect(),
    );
    let mut conn = Connection::default();
    let mut kinds = Vec::new();
    let mut quotes = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let meta = FrameMeta {
            received_at: Ts::from_millis(1_618_700_000_000 + i as i64),
            epoch: 1,
            connector: 0,
        };
        kinds.push(frame_to_quotes(
            venue(KIND),
            f,
            meta,
            &table,
            &mut conn,
            &mut |q| quotes.push(q),
            &mut |s| panic!("unexpected symbol {s}"),
        ));
    }
    (kinds, quotes, conn)
}

// ---------------------------------------------------------------------------------------------
// real payloads

#[test]
fn subscribed_event_binds_the_channel_to_the_symbol() {
    no_quote(
        KIND,
        SUBSCRIBED,
        FrameKind::Bind {
            channel: 232949,
            symbol: "tBFTUSD".into(),
        },
    );
}

#[test]
fn live_ticker_is_exact_once_its_channel_is_bound() {
    let (result, mut quotes) = parse_with(KIND, &bound(), TICKER);
    assert_eq!(result, Ok(FrameKind::Data));
    assert_eq!(quotes.len(), 1);
    let q = quotes.pop().unwrap();
    assert_eq!(q.symbol, "tBFTUSD");
    assert_dec("bid", q.bid, "0.068965");
    assert_dec("ask", q.ask, "0.0774");
    assert_dec("last", q.last, "0.076989");
    assert_dec("volume_24h", q.volume_24h, "101459.39453471");
    // BID_SIZE / ASK_SIZE (60157.36709703 / 48578.50804052) are 25-level sums, not the touch.
    assert_eq!((q.bid_size, q.ask_size), (None, None));
    // The capture's client asked for SEQ_ALL: the trailing 1 is the sequence number.
    assert_eq!(q.sequence, Some(1));
    assert_eq!((q.exchange_ts, q.mark, q.index), (None, None, None));
}

#[test]
fn the_framework_records_the_binding_and_attributes_data_frames() {
    let (kinds, quotes, conn) = run(&["tBFTUSD"], &[SUBSCRIBED, TICKER, HEARTBEAT]);
    assert_eq!(
        kinds,
        vec![
            Ok(FrameKind::Bind {
                channel: 232949,
                symbol: "tBFTUSD".into()
            }),
            Ok(FrameKind::Data),
            Ok(FrameKind::Heartbeat),
        ]
    );
    assert_eq!(
        conn.state.channels.get(&232949).map(String::as_str),
        Some("tBFTUSD")
    );
    assert_eq!(quotes.len(), 1);
    let q = &quotes[0];
    assert_eq!(q.source.instrument, 0);
    assert_eq!(q.bid.unwrap().to_string(), "0.068965");
    assert_eq!(q.ask.unwrap().to_string(), "0.0774");
    assert_eq!(q.last.unwrap().to_string(), "0.076989");
    assert_eq!(q.received_at, Ts::from_millis(1_618_700_000_001));
    assert_eq!(q.sequence, Some(1));
}

#[test]
fn a_data_frame_of_an_unbound_channel_is_refused_never_guessed() {
    let err = rejected_with(KIND, &ConnState::default(), TICKER);
    assert!(err.to_string().contains("unbound channel 232949"), "{err}");
    // Another channel's binding does not help.
    let mut other = ConnState::default();
    other.channels.insert(17470, "tBTCUSD".into());
    rejected_with(KIND, &other, TICKER);
    // Through the framework: the ticker before its `subscribed` is an error, after it a quote.
    let (kinds, quotes, _) = run(&["tBFTUSD"], &[TICKER, SUBSCRIBED, TICKER]);
    assert!(kinds[0].is_err(), "{kinds:?}");
    assert_eq!(quotes.len(), 1);
    // A subscription to another channel binds nothing, so its data is refused too.
    let trades = r#"{"event":"subscribed","channel":"trades","chanId":19111,"symbol":"tBTCUSD","pair":"BTCUSD"}"#;
    let (kinds, quotes, conn) = run(
        &["tBTCUSD"],
        &[trades, "[19111,[[401597393,1574694475039,0.005,7244.9]]]"],
    );
    assert_eq!(kinds[0], Ok(FrameKind::Control));
    assert!(kinds[1].is_err(), "{kinds:?}");
    assert!(quotes.is_empty() && conn.state.channels.is_empty());
}

#[test]
fn heartbeats_with_and_without_sequence_numbers() {
    no_quote(KIND, HEARTBEAT, FrameKind::Heartbeat);
    no_quote(KIND, r#"[17470,"hb"]"#, FrameKind::Heartbeat);
    // Other channel strings (book checksums) are control traffic.
    no_quote(KIND, r#"[17470,"cs",-1173376054]"#, FrameKind::Control);
}

#[test]
fn info_events_follow_their_codes() {
    no_quote(KIND, INFO, FrameKind::Control);
    // Written from the documented shape {"event":"info","code":CODE,"msg":MSG} (ws-general).
    no_quote(
        KIND,
        r#"{"event":"info","code":20051,"msg":"Stop/Restart Websocket Server (please reconnect)"}"#,
        FrameKind::Reconnect,
    );
    no_quote(
        KIND,
        r#"{"event":"info","code":20060,"msg":"Entering in Maintenance mode"}"#,
        FrameKind::Control,
    );
    no_quote(
        KIND,
        r#"{"event":"info","code":20061,"msg":"Maintenance ended"}"#,
        FrameKind::Reconnect,
    );
    no_quote(
        KIND,
        r#"{"event":"info","version":2,"platform":{"status":0}}"#,
        FrameKind::Control,
    );
}

#[test]
fn error_events_are_venue_errors_with_their_code() {
    // Documented shape {"event":"error","msg":ERROR_MSG,"code":ERROR_CODE}.
    no_quote(
        KIND,
        r#"{"event":"error","msg":"Unknown channel","code":10302}"#,
        FrameKind::VenueError("Unknown channel (10302)".into()),
    );
    no_quote(
        KIND,
        r#"{"event":"error","msg":"subscribe: dup","code":10301,"channel":"ticker","symbol":"tBTCUSD","pair":"BTCUSD"}"#,
        FrameKind::VenueError("subscribe: dup (10301)".into()),
    );
    no_quote(
        KIND,
        r#"{"event":"error"}"#,
        FrameKind::VenueError("error (no code)".into()),
    );
}

#[test]
fn other_events_are_control_traffic() {
    for frame in [
        r#"{"event":"pong","ts":1511545528111,"cid":1234}"#,
        r#"{"event":"conf","status":"OK","flags":65536}"#,
        r#"{"event":"unsubscribed","status":"OK","chanId":232949}"#,
        CONF_SENT,
    ] {
        no_quote(KIND, frame, FrameKind::Control);
    }
}

#[test]
fn the_connector_subscribes_as_the_recorded_client_did() {
    let sent = venue(KIND).subscribe_messages(&["tBFTUSD"]);
    assert_eq!(sent, vec![SUBSCRIBE_SENT.trim_end().to_owned()]);
    assert_eq!(
        venue(KIND)
            .subscribe_messages(&["tBTCUSD", "tETHUSD"])
            .len(),
        2
    );
    assert_eq!(
        venue(KIND).default_ws_url(),
        "wss://api-pub.bitfinex.com/ws/2"
    );
}

// ---------------------------------------------------------------------------------------------
// numbers

/// Numbers a float cannot hold survive, which proves they never pass through `f64`.
#[test]
fn numbers_never_pass_through_f64() {
    let frame = TICKER
        .replace("0.068965,", "64000.123456789012345678,")
        .replace("0.0774,", "1.2e-05,")
        .replace("101459.39453471", "0.1000000000000000055511151231");
    let (_, q) = parse_with(KIND, &bound(), &frame);
    assert_dec("bid", q[0].bid, "64000.123456789012345678");
    assert_eq!(q[0].ask, Some(Decimal::from_str("0.000012").unwrap()));
    assert_dec(
        "volume_24h",
        q[0].volume_24h,
        "0.1000000000000000055511151231",
    );
    // Trailing zeros are the venue's and are kept.
    let (_, q) = parse_with(KIND, &bound(), &TICKER.replace("0.076989", "0.0769890"));
    assert_dec("last", q[0].last, "0.0769890");
}

#[test]
fn decimal_strings_nulls_and_appended_fields() {
    // With the conf flag DEC_S Bitfinex sends numbers as strings; they read the same.
    let (_, q) = parse_with(
        KIND,
        &bound(),
        &TICKER.replace("0.068965,", "\"0.068965\","),
    );
    assert_dec("bid", q[0].bid, "0.068965");
    let (_, q) = parse_with(KIND, &bound(), &TICKER.replace("0.068965,", "null,"));
    assert_eq!(q[0].bid, None);
    // "New fields may be appended at the end of a message": after LOW, and after the sequence.
    let (r, q) = parse_with(
        KIND,
        &bound(),
        &TICKER.replace("0.068961]", "0.068961,7,\"x\",[1]]"),
    );
    assert_eq!(r, Ok(FrameKind::Data));
    assert_dec("bid", q[0].bid, "0.068965");
    let (r, q) = parse_with(KIND, &bound(), &TICKER.replace(",1]", ",1,1618700000000]"));
    assert_eq!(r, Ok(FrameKind::Data));
    assert_eq!(q[0].sequence, Some(1));
    // Without SEQ_ALL there is no sequence.
    let (_, q) = parse_with(KIND, &bound(), &TICKER.replace("],1]", "]]"));
    assert_eq!(q[0].sequence, None);
}

// ---------------------------------------------------------------------------------------------
// malformed

#[test]
fn malformed_frames_are_errors_never_panics() {
    for g in GARBAGE {
        rejected_with(KIND, &bound(), g);
    }
    for frame in [TICKER, SUBSCRIBED, HEARTBEAT, INFO] {
        let frame = frame.trim_end();
        for cut in 0..frame.len() {
            rejected_with(KIND, &bound(), &frame[..cut]);
        }
    }
    for bad in [
        "[232949]",
        "[\"232949\",[1,2,3,4,5,6,7,8,9,10]]",
        "[232949,5]",
        "[232949,{}]",
        "[232949,[1,2,3,4,5,6,7,8,9]]",
        "[232949,[[1,2,3,4,5,6,7,8,9,10]]]",
        "[232949,[1,2,3,\"abc\",5,6,7,8,9,10]]",
        "[232949,[1,2,3,true,5,6,7,8,9,10]]",
        r#"{"event":"subscribed","channel":"ticker","symbol":"tBTCUSD"}"#,
        r#"{"event":"subscribed","channel":"ticker","chanId":"x","symbol":"tBTCUSD"}"#,
        r#"{"event":"subscribed","channel":"ticker","chanId":5}"#,
        r#"{"chanId":5}"#,
        r#"{"event":5}"#,
    ] {
        rejected_with(KIND, &bound(), bad);
    }
    let err = rejected_with(KIND, &bound(), &TICKER.replace("0.0774", "0.O774"));
    assert!(err.to_string().contains("232949"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// symbols and assets

#[test]
fn split_symbol_strips_t_and_splits_on_the_colon_or_stays_joined() {
    let b = venue(KIND);
    for (sym, joined) in [
        ("tBTCUSD", "BTCUSD"),
        ("tETHUST", "ETHUST"),
        ("tBTCUST", "BTCUST"),
    ] {
        assert_eq!(
            b.split_symbol(sym),
            SymbolSpec::Joined {
                symbol: joined,
                market: Market::Spot,
                expiry: None
            }
        );
    }
    assert_eq!(
        b.split_symbol("tTESTBTC:TESTUSD"),
        SymbolSpec::Split {
            base: "TESTBTC",
            quote: "TESTUSD",
            market: Market::Spot,
            expiry: None
        }
    );
    for bad in [
        "BTCUSD",
        "fUSD",
        "t",
        "tbtcusd",
        "tBTC:",
        ":USD",
        "tBTC:USD:EUR",
        "tBTC/USD",
    ] {
        assert!(
            matches!(b.split_symbol(bad), SymbolSpec::Invalid(_)),
            "{bad}"
        );
    }
    for s in b.sample_symbols() {
        assert!(
            matches!(b.split_symbol(s), SymbolSpec::Joined { .. }),
            "{s}"
        );
    }
}

#[test]
fn bitfinex_asset_codes_are_declared_as_aliases() {
    let aliases = venue(KIND).asset_aliases();
    for pair in [("UST", "USDT"), ("UDC", "USDC")] {
        assert!(aliases.contains(&pair), "{pair:?} in {aliases:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// the simulator speaks what the parser reads

#[test]
fn sim_frames_parse_through_the_framework() {
    let venue = venue(KIND);
    let symbols = venue.sample_symbols();
    let now = Ts::from_micros(1_767_225_600_123_456);
    let mut session = SimSession {
        now,
        ..Default::default()
    };
    let mut frames = BitfinexSim.on_connect("/", &mut session);
    for msg in venue.subscribe_messages(symbols) {
        frames.extend(BitfinexSim.on_text(&msg, &mut session));
    }
    assert_eq!(session.symbols, symbols);
    let hb = BitfinexSim
        .heartbeat(&mut session)
        .expect("heartbeats once subscribed");
    let mut expected = Vec::new();
    for round in 0..3 {
        let t = Ts::from_millis(now.millis() + round * 7_000);
        for &s in symbols {
            let q = PriceModel.quote_for(venue, s, t, 0).unwrap();
            frames.push(BitfinexSim.ticker(s, &q, &mut session));
            expected.push((s, q));
        }
    }
    frames.push(hb);
    let refs: Vec<&str> = frames.iter().map(String::as_str).collect();
    let (kinds, quotes, _) = run(symbols, &refs);
    assert_eq!(kinds[0], Ok(FrameKind::Control), "info on connect");
    assert!(matches!(kinds[1], Ok(FrameKind::Bind { .. })), "{kinds:?}");
    assert!(matches!(kinds[2], Ok(FrameKind::Bind { .. })), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&Ok(FrameKind::Heartbeat)));
    assert_eq!(quotes.len(), expected.len());
    for (q, (s, sim)) in quotes.iter().zip(&expected) {
        assert_eq!(symbols[q.source.instrument as usize], *s);
        assert_eq!(
            (q.bid, q.ask, q.last),
            (Some(sim.bid), Some(sim.ask), Some(sim.last))
        );
        assert_eq!((q.bid_size, q.ask_size), (None, None));
        assert_eq!(q.volume_24h, Some(sim.volume_24h));
    }
    // Numbers are written as JavaScript prints them: no trailing zeros after a decimal point.
    let frame = &frames[3];
    let inner = frame.split_once(",[").unwrap().1.trim_end_matches("]]");
    for n in inner.split(',') {
        assert!(!(n.contains('.') && n.ends_with('0')), "{n} in {frame}");
    }
    // The client's ping is answered with a pong.
    let pong = BitfinexSim.on_text(r#"{"event":"ping","cid":7}"#, &mut session);
    assert_eq!(parse(KIND, &pong[0]).0, Ok(FrameKind::Control));
    assert!(pong[0].contains("\"cid\":7"), "{pong:?}");
    // Refusals are error events the parser reports.
    for req in [
        r#"{"event":"subscribe","channel":"ticker","symbol":"tBTCUSD"}"#,
        r#"{"event":"subscribe","channel":"nope","symbol":"tBTCUSD"}"#,
        r#"{"event":"subscribe","channel":"ticker","symbol":"BTCUSD"}"#,
        r#"{"event":"nope"}"#,
        "this is not json",
    ] {
        let replies = BitfinexSim.on_text(req, &mut session);
        assert_eq!(replies.len(), 1, "{req}");
        assert!(
            matches!(parse(KIND, &replies[0]).0, Ok(FrameKind::VenueError(_))),
            "{req} -> {}",
            replies[0]
        );
    }
    assert!(BitfinexSim.on_text(
        r#"{"event":"subscribe","channel":"ticker","symbol":"tBTCUSD"}"#,
        &mut session
    )[0]
    .contains("10301"));
}
