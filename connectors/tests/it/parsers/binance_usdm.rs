//! Binance USDⓈ-M parser against real payloads (`tests/fixtures/binance_usdm/`, copied byte for
//! byte from `shared/venues/binance_usdm_futures/`; provenance in `tests/fixtures/README.md`),
//! malformed input, the framework's merge of markPrice onto bookTicker, symbols, and the
//! simulator's frames.
//!
//! Every parse goes through the registry entry, the same entry point the transport and replay
//! use. Decimals are checked by value AND by `to_string()`, so a lost trailing zero or a float
//! round trip shows up as a failure. Frames that are not fixtures are marked as edits of one.

use crate::support::parsers::{
    assert_dec, no_quote, one_quote, parse, rejected, replay_frames, truncations_are_rejected,
    venue, GARBAGE,
};
use connectors::sim::{PriceModel, SimProtocol, SimSession};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{frame_to_quotes, Connection, FrameMeta};
use connectors::venues::binance_usdm::sim::BinanceUsdmSim;
use connectors::venues::binance_usdm::BinanceUsdm;
use connectors::{FrameKind, Merge, ParseError, QuoteObs, StreamingVenue, SymbolSpec};
use rust_decimal::Decimal;
use schemas::{Market, Ts};
use std::borrow::Cow;

const KIND: &str = "binance_usdm";

const BOOK_TICKER: &str =
    include_str!("../../fixtures/binance_usdm/ws_bookTicker_combined_live_capture.json");
const MARK_PRICE: &str = include_str!("../../fixtures/binance_usdm/ws_markPriceUpdate.json");
const AGG_TRADE: &str =
    include_str!("../../fixtures/binance_usdm/ws_aggTrade_combined_live_capture.json");
const TICKER_24H: &str = include_str!("../../fixtures/binance_usdm/nautilus_ticker_stream.json");
const REPLAY: &str = include_str!(
    "../../fixtures/binance_usdm/replay_cryptofeed_BINANCE_FUTURES.ws.1.0.excerpt.txt"
);

// ---------------------------------------------------------------------------------------------
// helpers (the shared ones are in `support::parsers`)

/// Runs frames through the framework's shared path with one connection, as the live loop does.
fn through_framework(
    symbols: &[&str],
    frames: &[&str],
) -> (Vec<QuoteObs>, Vec<FrameKind>, Connection) {
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
    let (mut quotes, mut kinds) = (Vec::new(), Vec::new());
    for (i, f) in frames.iter().enumerate() {
        let meta = FrameMeta {
            received_at: Ts::from_millis(1_700_000_000_000 + i as i64),
            epoch: 1,
            connector: 0,
        };
        let k = frame_to_quotes(
            venue(KIND),
            f,
            meta,
            &table,
            &mut conn,
            &mut |q| quotes.push(q),
            &mut |s| panic!("unknown symbol {s}"),
        );
        kinds.push(k.unwrap_or_else(|e| panic!("{f}: {e}")));
    }
    (quotes, kinds, conn)
}

// ---------------------------------------------------------------------------------------------
// quotes

#[test]
fn book_ticker_live_capture_is_exact() {
    let q = one_quote(KIND, BOOK_TICKER);
    assert_eq!(q.symbol, "SUSHIUSDT");
    assert_dec("bid", q.bid, "7.6110");
    assert_dec("bid_size", q.bid_size, "2");
    assert_dec("ask", q.ask, "7.6120");
    assert_dec("ask_size", q.ask_size, "297");
    assert_eq!(
        q.sequence,
        Some(600_859_600_576),
        "sequence is bookTicker `u`"
    );
    // `E` (event time), not `T` (transaction time 1626992741012).
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_626_992_741_017)));
    assert_eq!(q.merge, Merge::Patch);
    assert_eq!(
        (q.last, q.mark, q.index, q.volume_24h),
        (None, None, None, None)
    );
}

#[test]
fn mark_price_doc_example_is_exact() {
    let q = one_quote(KIND, MARK_PRICE);
    assert_eq!(q.symbol, "BTCUSDT");
    assert_dec("mark", q.mark, "11794.15000000");
    assert_dec("index", q.index, "11784.62659091");
    // `E`; `T` (1562306400000) is the next funding time there, never the quote's time.
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_562_305_380_000)));
    assert_eq!(
        q.merge,
        Merge::Patch,
        "mark/index are laid over the book quote"
    );
    assert_eq!(q.sequence, None, "markPrice has no book update id");
    // `P` (estimated settle price) and `r` (funding rate) are not quote fields.
    assert_eq!(
        (q.bid, q.ask, q.bid_size, q.ask_size, q.last),
        (None, None, None, None, None)
    );
}

/// The docs' example is a raw (`/ws`) event; the connector opens combined streams, which wrap
/// the same event (edit: the fixture put into the combined envelope).
#[test]
fn mark_price_in_the_combined_envelope() {
    let frame = format!(r#"{{"stream":"btcusdt@markPrice@1s","data":{MARK_PRICE}}}"#);
    let q = one_quote(KIND, &frame);
    assert_eq!(q, one_quote(KIND, MARK_PRICE));
}

/// Every bookTicker of the live recording becomes one exact quote; its depth, kline and
/// aggTrade frames are control traffic, never quotes.
#[test]
fn live_replay_book_tickers_are_exact_and_other_streams_are_control() {
    let frames = replay_frames(REPLAY);
    assert_eq!(frames.len(), 120);
    let mut book_tickers = 0;
    let mut symbols = std::collections::BTreeSet::new();
    for frame in &frames {
        let v: serde_json::Value = serde_json::from_str(frame).unwrap();
        let stream = v["stream"].as_str().unwrap();
        let (result, quotes) = parse(KIND, frame);
        if stream.ends_with("@bookTicker") {
            book_tickers += 1;
            assert_eq!(result, Ok(FrameKind::Data), "{frame}");
            assert_eq!(quotes.len(), 1, "{frame}");
            let (q, d) = (&quotes[0], &v["data"]);
            assert_eq!(q.symbol, d["s"].as_str().unwrap());
            assert_dec("bid", q.bid, d["b"].as_str().unwrap());
            assert_dec("bid_size", q.bid_size, d["B"].as_str().unwrap());
            assert_dec("ask", q.ask, d["a"].as_str().unwrap());
            assert_dec("ask_size", q.ask_size, d["A"].as_str().unwrap());
            assert_eq!(q.sequence, d["u"].as_u64());
            assert_eq!(q.exchange_ts, d["E"].as_i64().map(Ts::from_millis));
            symbols.insert(q.symbol.to_string());
        } else {
            assert_eq!(result, Ok(FrameKind::Control), "{frame}");
            assert!(
                quotes.is_empty(),
                "{stream} frame became a quote: {quotes:?}"
            );
        }
    }
    assert_eq!(book_tickers, 28);
    assert_eq!(
        symbols.into_iter().collect::<Vec<_>>(),
        ["AKROUSDT", "CTKUSDT", "KEEPUSDT", "SUSHIUSDT"]
    );
    // Through the framework, the recording's `u` only increases per symbol: nothing dropped.
    let (quotes, _, conn) =
        through_framework(&["AKROUSDT", "CTKUSDT", "KEEPUSDT", "SUSHIUSDT"], &frames);
    assert_eq!(quotes.len(), 28);
    assert_eq!(conn.out_of_order, 0);
}

// ---------------------------------------------------------------------------------------------
// the merge

/// bookTicker then markPrice through `frame_to_quotes`: the mark quote keeps the book's bid/ask
/// and adds mark/index. Frames: the live bookTickers of SUSHIUSDT and the docs' markPrice example
/// edited to that symbol.
#[test]
fn mark_price_merges_onto_the_last_book_ticker() {
    let sushi = replay_frames(REPLAY)
        .into_iter()
        .filter(|f| f.contains("sushiusdt@bookTicker"))
        .collect::<Vec<_>>();
    let (book1, book2) = (sushi[0], sushi[1]);
    assert_eq!(book1, BOOK_TICKER.trim_end());
    let mark = MARK_PRICE.replace("\"BTCUSDT\"", "\"SUSHIUSDT\"");
    let (quotes, kinds, conn) =
        through_framework(&["SUSHIUSDT"], &[&mark, book1, &mark, book2, book1, &mark]);
    assert!(kinds.iter().all(|k| *k == FrameKind::Data), "{kinds:?}");
    // [0] a mark before any book quote stands alone: mark/index, no bid/ask.
    assert_eq!((quotes[0].bid, quotes[0].ask), (None, None));
    assert_dec("mark", quotes[0].mark, "11794.15000000");
    // [1] the book quote has both sides and carries the earlier mark forward.
    assert_dec("bid", quotes[1].bid, "7.6110");
    assert_dec("mark", quotes[1].mark, "11794.15000000");
    // [2] the merged quote: book fields from [1], mark/index and time from the markPrice.
    let m = &quotes[2];
    assert_dec("bid", m.bid, "7.6110");
    assert_dec("bid_size", m.bid_size, "2");
    assert_dec("ask", m.ask, "7.6120");
    assert_dec("ask_size", m.ask_size, "297");
    assert_dec("mark", m.mark, "11794.15000000");
    assert_dec("index", m.index, "11784.62659091");
    assert_eq!(m.sequence, Some(600_859_600_576), "the book's update id");
    assert_eq!(m.exchange_ts, Some(Ts::from_millis(1_562_305_380_000)));
    assert_eq!(m.received_at, Ts::from_millis(1_700_000_000_002));
    // [3] a newer book; book1 again is a duplicate `u` and is dropped; the last mark merges
    // onto book2, which is still the last book quote.
    assert_eq!(quotes.len(), 5);
    assert_eq!(conn.out_of_order, 1);
    let m2 = &quotes[4];
    assert_dec("bid_size", m2.bid_size, "6");
    assert_eq!(m2.sequence, Some(600_859_603_936));
    assert_dec("mark", m2.mark, "11794.15000000");
}

// ---------------------------------------------------------------------------------------------
// control frames

#[test]
fn other_streams_and_replies_are_control() {
    no_quote(KIND, AGG_TRADE, FrameKind::Control);
    // The futures 24 h ticker has no best bid/ask, and its `p` is the price change, not a mark.
    no_quote(KIND, TICKER_24H, FrameKind::Control);
    no_quote(KIND, r#"{"result":null,"id":1}"#, FrameKind::Control);
    no_quote(
        KIND,
        r#"{"result":["btcusdt@bookTicker","btcusdt@markPrice@1s"],"id":3}"#,
        FrameKind::Control,
    );
    let (result, quotes) = parse(KIND, r#"{"code": 0, "msg": "Unknown property", "id": 7}"#);
    assert!(quotes.is_empty());
    assert_eq!(
        result,
        Ok(FrameKind::VenueError("code 0: Unknown property".into()))
    );
    let (result, _) = parse(
        KIND,
        r#"{"error":{"code":2,"msg":"Invalid request"},"id":1}"#,
    );
    assert!(matches!(result, Ok(FrameKind::VenueError(e)) if e.contains("Invalid request")));
}

// ---------------------------------------------------------------------------------------------
// malformed

#[test]
fn malformed_frames_are_errors_never_panics() {
    for g in GARBAGE {
        rejected(KIND, g);
    }
    assert!(matches!(rejected(KIND, "{}"), ParseError::Unknown { .. }));
    truncations_are_rejected(KIND, BOOK_TICKER);
    truncations_are_rejected(KIND, MARK_PRICE);
    let err = rejected(KIND, &BOOK_TICKER.replace("\"7.6110\"", "\"7.6I10\""));
    assert!(err.to_string().contains("7.6I10"), "{err}");
    let err = rejected(
        KIND,
        &MARK_PRICE.replace("\"11794.15000000\"", "\"11,794.15\""),
    );
    assert!(err.to_string().contains("11,794.15"), "{err}");
    // Numbers where Binance sends decimal strings are refused, never read through a float.
    for (from, to) in [
        ("\"b\":\"7.6110\"", "\"b\":7.611"),
        ("\"A\":\"297\"", "\"A\":297"),
        ("\"u\":600859600576", "\"u\":\"600859600576\""),
        ("\"u\":600859600576", "\"u\":-1"),
        ("\"E\":1626992741017", "\"E\":\"1626992741017\""),
        ("\"s\":\"SUSHIUSDT\"", "\"s\":5"),
        ("\"data\":{", "\"data\":[{"),
    ] {
        let frame = BOOK_TICKER.replace(from, to);
        assert_ne!(frame, BOOK_TICKER, "{from}");
        rejected(KIND, &frame);
    }
    rejected(
        KIND,
        &MARK_PRICE.replace("\"p\": \"11794.15000000\"", "\"p\": 11794.15"),
    );
    // Quotes that cannot be attributed or carry nothing.
    rejected(KIND, &BOOK_TICKER.replace("\"s\":\"SUSHIUSDT\",", ""));
    rejected(KIND, &MARK_PRICE.replace("\"s\": \"BTCUSDT\",", ""));
    rejected(KIND, r#"{"e":"bookTicker","u":1,"s":"BTCUSDT","E":1}"#);
    rejected(
        KIND,
        r#"{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","r":"0.0001"}"#,
    );
    // A spot-style bookTicker (no `e`) is not a futures frame.
    assert!(matches!(
        rejected(
            KIND,
            r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#
        ),
        ParseError::Unknown { .. }
    ));
    // An empty decimal is "missing" (decimal::str_field): the quote stays one-sided.
    let q = one_quote(KIND, &BOOK_TICKER.replace("\"a\":\"7.6120\"", "\"a\":\"\""));
    assert_eq!(q.ask, None);
    assert_dec("bid", q.bid, "7.6110");
}

/// House rule 11: quotes borrow their symbol from the frame.
#[test]
fn quote_symbols_borrow_from_the_frame() {
    for frame in [BOOK_TICKER, MARK_PRICE] {
        let mut borrowed = Vec::new();
        let r = venue(KIND).parse(frame, &Default::default(), &mut |q| {
            borrowed.push(matches!(q.symbol, Cow::Borrowed(_)))
        });
        assert_eq!(r, Ok(FrameKind::Data));
        assert_eq!(borrowed, [true], "{frame}");
    }
}

// ---------------------------------------------------------------------------------------------
// symbols

#[test]
fn split_symbol_perpetuals_and_dated_futures() {
    let v = BinanceUsdm;
    assert_eq!(
        v.split_symbol("BTCUSDT"),
        SymbolSpec::Joined {
            symbol: "BTCUSDT",
            market: Market::Perpetual,
            expiry: None
        }
    );
    assert_eq!(
        v.split_symbol("1000PEPEUSDT"),
        SymbolSpec::Joined {
            symbol: "1000PEPEUSDT",
            market: Market::Perpetual,
            expiry: None
        }
    );
    assert_eq!(
        v.split_symbol("BTCUSDT_250926"),
        SymbolSpec::Joined {
            symbol: "BTCUSDT",
            market: Market::Future,
            expiry: Some("20250926".into())
        }
    );
    for bad in [
        "",
        "btcusdt",
        "BTC-USDT",
        "BTC/USDT",
        "BTCUSDT_",
        "_250926",
        "BTCUSDT_2509",
        "BTCUSDT_251301",
        "BTCUSDT_250931",
        "BTCUSDT_250926_1",
        "BTCUSDT-PERP",
    ] {
        assert!(
            matches!(v.split_symbol(bad), SymbolSpec::Invalid(_)),
            "{bad}"
        );
    }
    assert_eq!(v.sample_symbols(), ["BTCUSDT", "ETHUSDT"]);
}

// ---------------------------------------------------------------------------------------------
// the simulator

/// The session a connection to `url` gets, after the handshake.
fn sim_session(url: &str) -> SimSession {
    let path = url.strip_prefix("ws://127.0.0.1:9").unwrap();
    let mut session = SimSession {
        now: Ts::from_micros(1_767_225_600_123_456), // 2026-01-01T00:00:00.123456Z
        ..Default::default()
    };
    assert!(BinanceUsdmSim.on_connect(path, &mut session).is_empty());
    session
}

/// Without a tier in the path the sim serves both streams, as the contract test uses it: book
/// frames carry the simulated quote exactly, every fourth round is a markPrice, and the framework
/// merges it so every quote is two-sided.
#[test]
fn sim_serves_both_streams_without_a_tier() {
    let v = BinanceUsdm;
    let symbols = v.sample_symbols();
    let mut s = sim_session(&v.connect_url("ws://127.0.0.1:9", symbols));
    assert_eq!(s.symbols, symbols);
    assert!(s.wrapped);
    assert_eq!(s.streams.len(), 4);
    let now = s.now;
    let mut frames = Vec::new();
    let mut last_seq = 0;
    for round in 0..8 {
        for &symbol in symbols {
            let q = PriceModel.quote_for(&v, symbol, now, 0).unwrap();
            let frame = BinanceUsdmSim.ticker(symbol, &q, &mut s);
            let p = one_quote(KIND, &frame);
            assert_eq!(p.symbol, symbol);
            assert_eq!(p.exchange_ts, Some(Ts::from_millis(now.millis())));
            if round % 4 == 3 {
                assert_eq!(p.merge, Merge::Patch, "{frame}");
                assert_eq!(p.mark, Some(((q.bid + q.ask) / Decimal::TWO).round_dp(8)));
                assert!(p.index.is_some() && p.bid.is_none());
            } else {
                assert_eq!(p.merge, Merge::Patch, "{frame}");
                assert_eq!((p.bid, p.ask), (Some(q.bid), Some(q.ask)), "{frame}");
                assert_eq!(
                    (p.bid_size, p.ask_size),
                    (Some(q.bid_size), Some(q.ask_size))
                );
                assert!(p.sequence.unwrap() > last_seq);
                last_seq = p.sequence.unwrap();
            }
            frames.push(frame);
        }
    }
    let refs: Vec<&str> = frames.iter().map(String::as_str).collect();
    let (quotes, _, conn) = through_framework(symbols, &refs);
    assert_eq!(quotes.len(), 16);
    assert_eq!(conn.out_of_order, 0);
    assert!(quotes.iter().all(|q| q.bid.is_some() && q.ask.is_some()));
    // The first markPrice comes in round 3; from then on every quote carries a mark forward.
    assert_eq!(quotes.iter().filter(|q| q.mark.is_some()).count(), 10);
    assert!(quotes[..6].iter().all(|q| q.mark.is_none()));
}

/// `/public` serves only bookTicker and `/market` only markPrice; a stream asked of the wrong
/// tier is accepted and never sent, as on the real server.
#[test]
fn sim_routes_streams_by_tier() {
    let v = BinanceUsdm;
    let mut public = sim_session(&v.connect_url("ws://127.0.0.1:9/public", &["BTCUSDT"]));
    let subscribe =
        r#"{"method":"SUBSCRIBE","params":["btcusdt@markPrice@1s","ethusdt@bookTicker"],"id":1}"#;
    for r in BinanceUsdmSim.on_text(subscribe, &mut public) {
        no_quote(KIND, &r, FrameKind::Control);
    }
    assert_eq!(public.streams, ["btcusdt@bookTicker", "ethusdt@bookTicker"]);
    let list = BinanceUsdmSim.on_text(r#"{"method":"LIST_SUBSCRIPTIONS","id":2}"#, &mut public);
    assert_eq!(
        list,
        [r#"{"id":2,"result":["btcusdt@bookTicker","ethusdt@bookTicker"]}"#]
    );
    no_quote(KIND, &list[0], FrameKind::Control);
    for round in 0..8 {
        let q = PriceModel.quote_for(&v, "BTCUSDT", public.now, 0).unwrap();
        let p = one_quote(KIND, &BinanceUsdmSim.ticker("BTCUSDT", &q, &mut public));
        assert_eq!(p.merge, Merge::Patch, "round {round}");
    }

    let mut market = sim_session(&v.connect_url("ws://127.0.0.1:9/market", &["BTCUSDT"]));
    assert_eq!(market.streams, ["btcusdt@markPrice@1s"]);
    let q = PriceModel.quote_for(&v, "BTCUSDT", market.now, 0).unwrap();
    let p = one_quote(KIND, &BinanceUsdmSim.ticker("BTCUSDT", &q, &mut market));
    assert_eq!((p.merge, p.bid), (Merge::Patch, None));

    // Raw `/ws/<stream>` paths send unwrapped events.
    let mut raw = sim_session("ws://127.0.0.1:9/public/ws/btcusdt@bookTicker");
    assert!(!raw.wrapped);
    let frame = BinanceUsdmSim.ticker("BTCUSDT", &q, &mut raw);
    assert!(frame.starts_with(r#"{"e":"bookTicker""#), "{frame}");
    one_quote(KIND, &frame);
}

#[test]
fn sim_error_replies_are_venue_errors() {
    let mut s = sim_session("ws://127.0.0.1:9/stream?streams=btcusdt@bookTicker");
    for bad in [
        "this is not json",
        r#"{"method":"PING","id":1}"#,
        r#"{"id":1}"#,
    ] {
        let replies = BinanceUsdmSim.on_text(bad, &mut s);
        assert_eq!(replies.len(), 1, "{bad}");
        let (result, quotes) = parse(KIND, &replies[0]);
        assert!(quotes.is_empty());
        assert!(
            matches!(result, Ok(FrameKind::VenueError(_))),
            "{bad}: {result:?}"
        );
    }
    // UNSUBSCRIBE drops the symbol once its last stream is gone.
    BinanceUsdmSim.on_text(
        r#"{"method":"UNSUBSCRIBE","params":["btcusdt@bookTicker"],"id":4}"#,
        &mut s,
    );
    assert!(s.symbols.is_empty() && s.streams.is_empty());
    assert!(BinanceUsdmSim.heartbeat(&mut s).is_none());
}
