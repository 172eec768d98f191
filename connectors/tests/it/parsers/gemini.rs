//! Gemini market data v2 parser against real payloads (`tests/fixtures/gemini/`; provenance in
//! `tests/fixtures/README.md`), the order book through the framework
//! (`transport::frame_to_quotes`), malformed input and the simulator.
//!
//! The centre piece replays the ALCXUSD lines of a real recording (the initial book, 21 updates,
//! a trade, heartbeats) and checks every quote against a book the test builds on its own from
//! the same frames. Inline frames that are not fixtures say how they were made.

use crate::support::parsers::{assert_dec, dec, parse, parse_with, rejected, venue, GARBAGE};
use connectors::sim::{PriceModel, SimProtocol, SimSession};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{frame_to_quotes, Connection, FrameMeta};
use connectors::venues::gemini::sim::GeminiSim;
use connectors::{ConnState, FrameKind, Merge, ParseError, QuoteObs, SymbolSpec};
use rust_decimal::Decimal;
use schemas::{Market, Ts};
use std::borrow::Cow;
use std::collections::BTreeMap;

const KIND: &str = "gemini";

const REPLAY: &str =
    include_str!("../../fixtures/gemini/replay_cryptofeed_GEMINI.ws.1.0.ALCXUSD.excerpt.txt");
const TRADE_LIVE: &str = include_str!("../../fixtures/gemini/ws_v2_trade_live_capture.json");
const HEARTBEAT_LIVE: &str =
    include_str!("../../fixtures/gemini/ws_v2_heartbeat_live_capture.json");
const SUBSCRIBE_SENT: &str =
    include_str!("../../fixtures/gemini/ws_v2_subscribe_request_cryptofeed_sent.json");
const L2_DOCS: &str = include_str!("../../fixtures/gemini/ws_v2_l2_update_docs_example.json");
const TRADE_DOCS: &str = include_str!("../../fixtures/gemini/ws_v2_trade_docs_example.json");

/// A frame that names a book but cannot be read: a gap, no quote.
#[track_caller]
fn book_lost(conn: &ConnState, frame: &str) {
    let (result, quotes) = parse_with(KIND, conn, frame);
    assert!(quotes.is_empty(), "{frame}: {quotes:?}");
    assert!(
        matches!(&result, Ok(FrameKind::Gap(why)) if why.contains("the book must be rebuilt")),
        "{frame}: {result:?}"
    );
}

/// `(received_at, frame)` of the server frames of a cryptofeed recording: line 1 is
/// `<url> <-> <ts>`, client frames read `<url> <- <ts>: <frame>`, server frames `<ts>: <frame>`.
fn recorded(text: &str) -> Vec<(Ts, &str)> {
    text.lines()
        .skip(1)
        .filter(|l| !l.contains(" <- "))
        .map(|l| {
            let (ts, frame) = l.split_once(": ").expect("a recording line");
            let (s, frac) = ts.split_once('.').unwrap_or((ts, "0"));
            let micros = format!("{frac:0<6}")[..6].parse::<i64>().unwrap();
            (
                Ts::from_micros(s.parse::<i64>().unwrap() * 1_000_000 + micros),
                frame,
            )
        })
        .collect()
}

struct Run {
    kinds: Vec<Result<FrameKind, ParseError>>,
    /// The observations of each frame.
    quotes: Vec<Vec<QuoteObs>>,
    conn: Connection,
}

/// Runs frames through the framework as one connection would.
fn run(symbols: &[&str], frames: &[(Ts, &str)]) -> Run {
    let table = SymbolTable::new(
        symbols
            .iter()
            .map(|s| InstrumentSpec {
                venue_symbol: (*s).to_owned(),
                stream: format!("ticker:{s}"),
            })
            .collect(),
    );
    let mut r = Run {
        kinds: Vec::new(),
        quotes: Vec::new(),
        conn: Connection::default(),
    };
    for &(received_at, f) in frames {
        let mut out = Vec::new();
        let meta = FrameMeta {
            received_at,
            epoch: 1,
            connector: 0,
        };
        r.kinds.push(frame_to_quotes(
            venue(KIND),
            f,
            meta,
            &table,
            &mut r.conn,
            &mut |q| out.push(q),
            &mut |s| panic!("unexpected symbol {s}"),
        ));
        r.quotes.push(out);
    }
    r
}

fn at(ms: i64) -> Ts {
    Ts::from_millis(ms)
}

// ---------------------------------------------------------------------------------------------
// the real recording

#[test]
fn the_initial_book_of_the_live_capture_sets_the_top_exactly() {
    let frames = recorded(REPLAY);
    let (_, snapshot) = frames[0];
    let (result, quotes) = parse(KIND, snapshot);
    let Ok(FrameKind::Book {
        symbol,
        snapshot: true,
        changes,
    }) = result
    else {
        panic!("{result:?}")
    };
    assert_eq!(symbol, "ALCXUSD");
    assert_eq!(changes.len(), 133 + 26, "every level of the book");
    assert_eq!(quotes.len(), 1);
    let q = &quotes[0];
    assert_eq!(q.symbol, "ALCXUSD");
    // The highest buy and the lowest sell (the list happens to be sorted; moving the best bid
    // to the end of the buys, below, shows the order does not matter).
    assert_dec("bid", q.bid, "302.75");
    assert_dec("bid_size", q.bid_size, "0.00001");
    assert_dec("ask", q.ask, "303.05");
    assert_dec("ask_size", q.ask_size, "8.12974");
    // The newest of the 50 trades (timestamp 1624493651491), which happens to come first.
    assert_dec("last", q.last, "302.53");
    assert_eq!(q.exchange_ts, None, "the book has no event time");
    assert_eq!((q.sequence, q.merge), (None, Merge::Full));
    let moved = snapshot
        .replace("[\"buy\",\"302.75\",\"0.00001\"],", "")
        .replace(
            "[\"buy\",\"35.55\",\"4\"]",
            "[\"buy\",\"35.55\",\"4\"],[\"buy\",\"302.75\",\"0.00001\"]",
        );
    assert_ne!(moved, snapshot);
    assert_eq!(parse(KIND, &moved).1[0].bid, Some(dec("302.75")));
}

/// Every quote of the replay equals the top of a book built here independently (a map per
/// side, from the same frames); the moments where the top moves are also spelled out.
#[test]
fn the_live_capture_replays_to_the_exact_top_through_the_framework() {
    let frames = recorded(REPLAY);
    assert_eq!(frames.len(), 30, "22 book frames, a trade, 7 heartbeats");
    let r = run(&["ALCXUSD"], &frames);
    let mut bids: BTreeMap<Decimal, String> = BTreeMap::new();
    let mut asks: BTreeMap<Decimal, String> = BTreeMap::new();
    let mut last_full: Option<QuoteObs> = None;
    let mut l2 = 0;
    for (i, (ts, frame)) in frames.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(frame).unwrap();
        let kind = r.kinds[i].as_ref().unwrap_or_else(|e| panic!("{e}"));
        let quotes = &r.quotes[i];
        match v["type"].as_str().unwrap() {
            "l2_updates" => {
                l2 += 1;
                assert!(
                    matches!(kind, FrameKind::Book { snapshot, .. } if *snapshot == (i == 0)),
                    "{i}: {kind:?}"
                );
                for c in v["changes"].as_array().unwrap() {
                    let side = if c[0] == "buy" { &mut bids } else { &mut asks };
                    let (p, qty) = (dec(c[1].as_str().unwrap()), c[2].as_str().unwrap());
                    if dec(qty).is_zero() {
                        side.remove(&p);
                    } else {
                        side.insert(p, qty.to_owned());
                    }
                }
                let (bp, bq) = bids.iter().next_back().unwrap();
                let (ap, aq) = asks.iter().next().unwrap();
                assert_eq!(quotes.len(), 1, "{frame}");
                let q = &quotes[0];
                assert_eq!(q.bid, Some(*bp), "{i}: {frame}");
                assert_eq!(
                    q.bid_size.map(|d| d.to_string()).as_deref(),
                    Some(bq.as_str())
                );
                assert_eq!(q.ask, Some(*ap), "{i}: {frame}");
                assert_eq!(
                    q.ask_size.map(|d| d.to_string()).as_deref(),
                    Some(aq.as_str())
                );
                assert_eq!(q.received_at, *ts);
                assert_eq!(q.exchange_ts, None);
                last_full = Some(q.clone());
            }
            "trade" => {
                assert_eq!(kind, &FrameKind::Data);
                let q = &quotes[0];
                let base = last_full.as_ref().unwrap();
                assert_eq!(
                    (q.bid, q.ask),
                    (base.bid, base.ask),
                    "top unchanged by a trade"
                );
                assert_dec("last", q.last, "303.05");
                assert_eq!(q.exchange_ts, Some(at(1_624_493_694_054)));
            }
            "heartbeat" => {
                assert_eq!(kind, &FrameKind::Heartbeat);
                assert!(quotes.is_empty());
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(l2, 22);
    let book = &r.conn.state.books["ALCXUSD"];
    assert_eq!(book.depth(), (bids.len(), asks.len()));

    // Spelled out (computed by hand from the recording):
    let top = |i: usize| {
        let q = &r.quotes[i][0];
        (
            q.bid.unwrap().to_string(),
            q.ask.unwrap().to_string(),
            q.ask_size.unwrap().to_string(),
        )
    };
    // 1624493694.0712268 removes the best ask 303.05 (just traded): the ask steps to 303.33.
    let i_remove = frames
        .iter()
        .position(|(_, f)| f.contains("[\"sell\",\"303.05\",\"0\"]"))
        .unwrap();
    assert_eq!(
        top(i_remove - 2),
        ("302.75".into(), "303.05".into(), "8.12974".into())
    );
    assert_eq!(
        top(i_remove),
        ("302.75".into(), "303.33".into(), "10.554763".into())
    );
    // 1624493696.170772 adds a better bid 302.79; 1624493696.568581 removes it again.
    let i_better = frames
        .iter()
        .position(|(_, f)| f.contains("[\"buy\",\"302.79\",\"3.287629\"]"))
        .unwrap();
    assert_eq!(r.quotes[i_better][0].bid, Some(dec("302.79")));
    assert_dec("bid_size", r.quotes[i_better][0].bid_size, "3.287629");
    assert_eq!(r.quotes[i_better + 1][0].bid, Some(dec("302.75")));
    // Quotes stay attributed to the configured instrument.
    assert!(r
        .quotes
        .iter()
        .flatten()
        .all(|q| q.source.instrument == 0 && q.epoch == 1));
}

#[test]
fn a_fresh_connection_starts_a_fresh_book() {
    let frames = recorded(REPLAY);
    let update = frames[1].1; // an update, but the first frame of this connection
    let (result, quotes) = parse(KIND, update);
    assert!(
        matches!(result, Ok(FrameKind::Book { snapshot: true, .. })),
        "{result:?}"
    );
    // Its own levels are all there is: bid 302.16, ask 303.39.
    assert_dec("bid", quotes[0].bid, "302.16");
    assert_dec("ask", quotes[0].ask, "303.39");
}

// ---------------------------------------------------------------------------------------------
// docs examples and single frames

#[test]
fn the_docs_update_applies_to_a_book_and_alone_is_a_one_sided_book() {
    // Alone (first frame of a connection) it is the whole book: one ask, no bid.
    let (result, quotes) = parse(KIND, L2_DOCS);
    assert!(
        matches!(result, Ok(FrameKind::Book { snapshot: true, .. })),
        "{result:?}"
    );
    assert_eq!(quotes[0].symbol, "BTCUSD");
    assert_eq!((quotes[0].bid, quotes[0].bid_size), (None, None));
    assert_dec("ask", quotes[0].ask, "9160.20");
    assert_dec("ask_size", quotes[0].ask_size, "0.1921229751");
    // After an initial book (CONSTRUCTED from the docs' initial example, "9122.04" / "9122.07",
    // by dropping its `...` elisions and trades) the deeper ask does not move the top.
    let initial = r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.04","0.00121425"],["sell","9122.07","0.98942292"]]}"#;
    let r = run(&["BTCUSD"], &[(at(1), initial), (at(2), L2_DOCS)]);
    let q = &r.quotes[1][0];
    assert_dec("bid", q.bid, "9122.04");
    assert_dec("ask", q.ask, "9122.07");
    assert_eq!(r.conn.state.books["BTCUSD"].depth(), (1, 2));
}

#[test]
fn trades_are_patches_with_last_and_exchange_time() {
    let (result, quotes) = parse(KIND, TRADE_LIVE);
    assert_eq!(result, Ok(FrameKind::Data));
    let q = &quotes[0];
    assert_eq!(q.symbol, "ANKRUSD");
    assert_dec("last", q.last, "0.07946");
    assert_eq!(q.exchange_ts, Some(at(1_624_493_670_759)));
    assert_eq!(q.merge, Merge::Patch);
    assert_eq!(
        (q.bid, q.ask, q.bid_size, q.ask_size),
        (None, None, None, None)
    );
    let (_, quotes) = parse(KIND, TRADE_DOCS);
    assert_dec("last", quotes[0].last, "9004.21000000");
    assert_eq!(quotes[0].exchange_ts, Some(at(151_231_241)));
    // Before any book the patch stands alone (a last price and no top).
    let r = run(&["ANKRUSD"], &[(at(5), TRADE_LIVE)]);
    assert_eq!(r.quotes[0].len(), 1);
    assert_eq!(r.quotes[0][0].bid, None);
}

#[test]
fn control_frames_and_errors() {
    let (result, quotes) = parse(KIND, HEARTBEAT_LIVE);
    assert_eq!(result, Ok(FrameKind::Heartbeat));
    assert!(quotes.is_empty());
    for frame in [
        // Feeds this connector does not subscribe (shapes as in the v2 docs; CONSTRUCTED).
        r#"{"type":"candles_1m_updates","symbol":"BTCUSD","changes":[[1561054500000,9350.18,9358.35,9350.18,9355.51,2.07]]}"#,
        r#"{"type":"auction_result","symbol":"BTCUSD"}"#,
        // The client's own subscribe, should it ever be echoed.
        SUBSCRIBE_SENT,
    ] {
        let (result, quotes) = parse(KIND, frame);
        assert_eq!(result, Ok(FrameKind::Control), "{frame}");
        assert!(quotes.is_empty());
    }
    // Gemini's error envelope (from its REST API; v2 documents none).
    let (result, quotes) = parse(
        KIND,
        r#"{"result":"error","reason":"InvalidSymbol","message":"Unknown symbol NOPE"}"#,
    );
    assert!(quotes.is_empty());
    assert_eq!(
        result,
        Ok(FrameKind::VenueError(
            "InvalidSymbol: Unknown symbol NOPE".into()
        ))
    );
}

#[test]
fn the_connector_subscribes_as_the_recorded_client_did() {
    let symbols = [
        "BTCGBP", "LINKETH", "FILUSD", "ZECLTC", "BATBTC", "ETHEUR", "LTCETH", "GRTUSD", "ANKRUSD",
        "ALCXUSD",
    ];
    assert_eq!(
        venue(KIND).subscribe_messages(&symbols),
        vec![SUBSCRIBE_SENT.trim_end().to_owned()]
    );
    assert_eq!(
        venue(KIND).default_ws_url(),
        "wss://api.gemini.com/v2/marketdata"
    );
}

#[test]
fn quote_symbols_borrow_from_the_frame() {
    for frame in [L2_DOCS, TRADE_LIVE] {
        let mut borrowed = Vec::new();
        venue(KIND)
            .parse(frame, &ConnState::default(), &mut |q| {
                borrowed.push(matches!(q.symbol, Cow::Borrowed(_)))
            })
            .unwrap();
        assert_eq!(borrowed, [true], "{frame}");
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
    for frame in [TRADE_LIVE, HEARTBEAT_LIVE, L2_DOCS, recorded(REPLAY)[1].1] {
        let frame = frame.trim_end();
        for cut in 0..frame.len() {
            rejected(KIND, &frame[..cut]);
        }
    }
    // The 11 kB initial book: every 7th cut.
    let snapshot = recorded(REPLAY)[0].1;
    for cut in (0..snapshot.len()).step_by(7) {
        rejected(KIND, &snapshot[..cut]);
    }
    for bad in [
        r#"{"type":"l2_updates","changes":[["buy","1","1"]]}"#,
        r#"{"type":"trade","symbol":"BTCUSD","timestamp":1}"#,
        r#"{"type":"trade","symbol":"BTCUSD","price":9004.21}"#,
        r#"{"type":"trade","symbol":"BTCUSD","price":"9004,21"}"#,
        r#"{"type":"trade","price":"9004.21"}"#,
        r#"{"type":"heartbeat","timestamp":"soon"}"#,
        r#"{"type":5}"#,
    ] {
        rejected(KIND, bad);
    }
}

/// Once a frame names a symbol's book, a part that does not read means the book is lost: a gap
/// (the framework replaces the connection and a fresh initial book follows), never a skip, and
/// the book is left as it was.
#[test]
fn an_unreadable_update_of_a_named_book_is_a_gap() {
    let initial = r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.04","0.00121425"],["sell","9122.07","0.98942292"]]}"#;
    let mut r = run(&["BTCUSD"], &[(at(1), initial)]);
    let before = r.conn.state.books["BTCUSD"].clone();
    for bad in [
        r#"{"type":"l2_updates","symbol":"BTCUSD"}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":{"buy":"1"}}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.05"]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.05","1","x"]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["hold","9122.05","1"]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","abc","1"]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.05",""]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy",9122.05,"1"]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.05","-1"]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","0","1"]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["sell","9122.06","1"],["buy","x","1"]]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[],"trades":[{"price":5}]}"#,
        r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[],"trades":{}}"#,
    ] {
        book_lost(&r.conn.state, bad);
        let out = run_more(&mut r, bad);
        assert!(matches!(out, Ok(FrameKind::Gap(_))), "{bad}: {out:?}");
        assert_eq!(r.conn.state.books["BTCUSD"], before, "{bad}: book changed");
    }
}

fn run_more(r: &mut Run, frame: &str) -> Result<FrameKind, ParseError> {
    let table = SymbolTable::new(vec![InstrumentSpec {
        venue_symbol: "BTCUSD".into(),
        stream: "ticker:BTCUSD".into(),
    }]);
    let meta = FrameMeta {
        received_at: at(9),
        epoch: 1,
        connector: 0,
    };
    frame_to_quotes(
        venue(KIND),
        frame,
        meta,
        &table,
        &mut r.conn,
        &mut |q| panic!("quote from a lost book: {q:?}"),
        &mut |_| {},
    )
}

// ---------------------------------------------------------------------------------------------
// symbols

#[test]
fn split_symbol_keeps_joined_upper_case_spot_symbols() {
    let g = venue(KIND);
    for s in ["BTCUSD", "ETHUSD", "ETHBTC", "BTCUSDT"] {
        assert_eq!(
            g.split_symbol(s),
            SymbolSpec::Joined {
                symbol: s,
                market: Market::Spot,
                expiry: None
            }
        );
    }
    for bad in ["btcusd", "BTC-USD", "BTC/USD", "BTC", "", "BTCGUSDPERP"] {
        assert!(
            matches!(g.split_symbol(bad), SymbolSpec::Invalid(_)),
            "{bad}"
        );
    }
    assert!(g.asset_aliases().is_empty());
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
    assert!(GeminiSim.on_connect("/", &mut session).is_empty());
    for msg in venue.subscribe_messages(symbols) {
        assert!(
            GeminiSim.on_text(&msg, &mut session).is_empty(),
            "Gemini acks nothing"
        );
    }
    assert_eq!(session.symbols, symbols);
    let mut frames = vec![(now, GeminiSim.heartbeat(&mut session).unwrap())];
    let mut expected = Vec::new();
    for round in 0..8 {
        // Prices move between rounds, so levels come and go.
        let t = Ts::from_millis(now.millis() + round * 9_000);
        session.now = t;
        for &s in symbols {
            let q = PriceModel.quote_for(venue, s, t, 0).unwrap();
            frames.push((t, GeminiSim.ticker(s, &q, &mut session)));
            expected.push((s, q));
        }
    }
    let refs: Vec<(Ts, &str)> = frames.iter().map(|(t, f)| (*t, f.as_str())).collect();
    let r = run(symbols, &refs);
    assert_eq!(r.kinds[0], Ok(FrameKind::Heartbeat));
    let mut trades = 0;
    let mut shown: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    for (i, (s, sim)) in expected.iter().enumerate() {
        let kind = r.kinds[i + 1].as_ref().unwrap();
        let q = &r.quotes[i + 1][0];
        assert_eq!(symbols[q.source.instrument as usize], *s);
        match kind {
            FrameKind::Book { snapshot, .. } => {
                assert_eq!(*snapshot, !shown.contains_key(s), "{}", frames[i + 1].1);
                assert_eq!(
                    (q.bid, q.ask),
                    (Some(sim.bid), Some(sim.ask)),
                    "{}",
                    frames[i + 1].1
                );
                assert_eq!(
                    (q.bid_size, q.ask_size),
                    (Some(sim.bid_size), Some(sim.ask_size))
                );
                shown.insert(s, (sim.bid, sim.ask));
            }
            FrameKind::Data => {
                trades += 1;
                // A trade leaves the top where the last book update put it.
                assert_eq!((q.bid, q.ask), (Some(shown[s].0), Some(shown[s].1)));
                assert_eq!(q.last, Some(sim.last));
                assert_eq!(
                    q.exchange_ts,
                    Some(Ts::from_millis(frames[i + 1].0.millis()))
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(trades > 0, "the sim sends trades too");
    for s in symbols {
        assert_eq!(
            r.conn.state.books[*s].depth(),
            (3, 3),
            "old levels were removed"
        );
    }
    // Requests the sim does not understand are answered with errors the parser reports.
    for req in [
        "this is not json",
        r#"{"type":"subscribe","subscriptions":[{"name":"l3","symbols":["BTCUSD"]}]}"#,
        r#"{"type":"unsubscribe"}"#,
    ] {
        let replies = GeminiSim.on_text(req, &mut session);
        assert_eq!(replies.len(), 1, "{req}");
        assert!(
            matches!(parse(KIND, &replies[0]).0, Ok(FrameKind::VenueError(_))),
            "{req} -> {}",
            replies[0]
        );
    }
}
