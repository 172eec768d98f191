//! Bybit v5 (`bybit_spot`, `bybit_linear`) against real payloads (`tests/fixtures/bybit/`,
//! provenance in `tests/fixtures/README.md`), malformed input, the framework's delta merge and
//! the venue's own simulator.
//!
//! Every parse goes through the registry entry, the same entry point the transport and replay
//! use. Decimals are checked by value AND by `to_string()`. Frames that are not real payloads
//! are inline, say so, and are either one-value edits of a fixture or built by a rule of the
//! docs that the comment quotes.

use crate::support::parsers::{
    assert_dec, no_quote, one_quote, rejected, truncations_are_rejected, venue, venue_error,
    GARBAGE,
};
use connectors::sim::{PriceModel, SimProtocol, SimQuote, SimSession};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{frame_to_quotes, Connection, FrameMeta};
use connectors::venues::bybit::sim::BybitSim;
use connectors::venues::bybit::{self, Category};
use connectors::{FrameKind, Merge, ParseError, PingPolicy, StreamingVenue};
use connectors::{QuoteObs, SymbolSpec};
use schemas::{Market, Ts};
use std::borrow::Cow;

const SPOT: &str = "bybit_spot";
const LINEAR: &str = "bybit_linear";

const PERP: &str = include_str!("../../fixtures/bybit/ws_tickers_linear_perpetual_snapshot.json");
const FUTURE: &str = include_str!("../../fixtures/bybit/ws_tickers_linear_futures_snapshot.json");
const SPOT_TICKER: &str = include_str!("../../fixtures/bybit/ws_tickers_spot_snapshot.json");
const LEGACY_SNAPSHOT: &str =
    include_str!("../../fixtures/bybit/docs_legacy_v3_contract_tickers_snapshot.json");
const LEGACY_DELTA: &str =
    include_str!("../../fixtures/bybit/docs_legacy_v3_contract_tickers_delta.json");

/// NOT a real payload: the docs' orderbook "Response Example" (an `orderbook.50` snapshot whose
/// level lists are elided with `...`) cut to one level per side and renamed to topic
/// `orderbook.1`, the shape the docs' parameter table describes. No verbatim level-1 example is
/// published.
const BOOK_SNAPSHOT: &str = r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724}}"#;

/// NOT a real payload: a level-1 delta after `BOOK_SNAPSHOT`, built by the docs' rule (deltas
/// carry the levels that changed; size "0" removes a level): the best bid left and a new one
/// arrived, the ask side did not change.
const BOOK_DELTA: &str = r#"{"topic":"orderbook.1.BTCUSDT","type":"delta","ts":1672304485012,"data":{"s":"BTCUSDT","b":[["16493.50","0"],["16494.00","0.100"]],"a":[],"u":18521289,"seq":7961638731}}"#;

// ---------------------------------------------------------------------------------------------
// helpers (the shared ones are in `support::parsers`)

/// Runs frames through the framework's `frame_to_quotes` on one connection, as the live loop
/// does, for the given symbols.
struct Conn {
    venue: &'static dyn StreamingVenue,
    table: SymbolTable,
    conn: Connection,
    n: i64,
}

impl Conn {
    fn new(kind: &str, symbols: &[&str]) -> Conn {
        let table = SymbolTable::new(
            symbols
                .iter()
                .map(|s| InstrumentSpec {
                    venue_symbol: (*s).to_owned(),
                    stream: format!("ticker:{s}"),
                })
                .collect(),
        );
        Conn {
            venue: venue(kind),
            table,
            conn: Connection::default(),
            n: 0,
        }
    }

    fn feed(&mut self, frame: &str) -> (FrameKind, Vec<QuoteObs>) {
        self.n += 1;
        let meta = FrameMeta {
            received_at: Ts::from_millis(1_800_000_000_000 + self.n),
            epoch: 1,
            connector: 0,
        };
        let mut quotes = Vec::new();
        let kind = frame_to_quotes(
            self.venue,
            frame,
            meta,
            &self.table,
            &mut self.conn,
            &mut |q| quotes.push(q),
            &mut |s| panic!("unknown symbol {s}"),
        )
        .unwrap_or_else(|e| panic!("{frame}: {e}"));
        (kind, quotes)
    }
}

// ---------------------------------------------------------------------------------------------
// bybit_linear tickers

#[test]
fn linear_perpetual_snapshot_is_exact() {
    let q = one_quote(LINEAR, PERP);
    assert_eq!(q.symbol, "BTCUSDT");
    assert_dec("bid", q.bid, "66666.60");
    assert_dec("bid_size", q.bid_size, "23789.165");
    assert_dec("ask", q.ask, "66666.70");
    assert_dec("ask_size", q.ask_size, "23775.469");
    assert_dec("last", q.last, "66666.60");
    assert_dec("mark", q.mark, "66666.60");
    assert_dec("index", q.index, "115418.19");
    assert_dec("volume_24h", q.volume_24h, "73191.3870");
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_760_325_052_630)));
    assert_eq!(q.sequence, Some(9_532_239_429), "sequence is `cs`");
    assert_eq!(q.merge, Merge::Full, "a snapshot is a whole quote");
}

/// A dated USDC future: `fundingRate` and `nextFundingTime` are `""` (not applicable).
#[test]
fn linear_dated_future_snapshot_is_exact() {
    let q = one_quote(LINEAR, FUTURE);
    assert_eq!(q.symbol, "BTC-26DEC25");
    assert_dec("bid", q.bid, "111254.50");
    assert_dec("bid_size", q.bid_size, "0.176");
    assert_dec("ask", q.ask, "131001.00");
    assert_dec("ask_size", q.ask_size, "0.580");
    assert_dec("last", q.last, "109401.50");
    assert_dec("mark", q.mark, "121144.63");
    assert_dec("index", q.index, "114132.51");
    assert_dec("volume_24h", q.volume_24h, "0.0000");
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_760_409_119_857)));
    assert_eq!(q.sequence, Some(31_337_927_919));
    assert_eq!(q.merge, Merge::Full);
}

/// The official snapshot/delta pair (legacy v3 contract docs, the topic v5 linear kept): the
/// delta carries only the book fields, so everything else is `None` = "unchanged".
#[test]
fn linear_delta_is_partial_and_marked_for_merge() {
    let s = one_quote(LINEAR, LEGACY_SNAPSHOT);
    assert_eq!(s.merge, Merge::Full);
    assert_dec("snapshot last", s.last, "17243.00");
    assert_dec("snapshot ask_size", s.ask_size, "34.425");
    assert_eq!(s.sequence, Some(24_966_636_010));

    let d = one_quote(LINEAR, LEGACY_DELTA);
    assert_eq!(d.symbol, "BTCUSDT");
    assert_eq!(d.merge, Merge::Delta);
    assert_dec("bid", d.bid, "17243.00");
    assert_dec("bid_size", d.bid_size, "84.727");
    assert_dec("ask", d.ask, "17243.50");
    assert_dec("ask_size", d.ask_size, "33.175");
    assert_eq!(
        (d.last, d.mark, d.index, d.volume_24h),
        (None, None, None, None),
        "absent from the delta: unchanged"
    );
    assert_eq!(d.sequence, Some(24_966_636_396));
    assert_eq!(d.exchange_ts, Some(Ts::from_millis(1_673_265_043_786)));
}

#[test]
fn empty_strings_are_missing_values() {
    // One-value edits of the real snapshot.
    let q = one_quote(
        LINEAR,
        &PERP.replace(r#""bid1Price": "66666.60""#, r#""bid1Price": """#),
    );
    assert_eq!(q.bid, None);
    assert_dec("ask", q.ask, "66666.70");
    let q = one_quote(
        LINEAR,
        &FUTURE.replace(r#""markPrice": "121144.63""#, r#""markPrice": """#),
    );
    assert_eq!(q.mark, None);
    let q = one_quote(
        LINEAR,
        &LEGACY_DELTA.replace(r#""ask1Size": "33.175""#, r#""ask1Size": """#),
    );
    assert_eq!((q.ask_size, q.merge), (None, Merge::Delta));
}

// ---------------------------------------------------------------------------------------------
// bybit_spot: tickers + orderbook.1

#[test]
fn spot_ticker_adds_last_and_volume_to_the_book() {
    let q = one_quote(SPOT, SPOT_TICKER);
    assert_eq!(q.symbol, "BTCUSDT");
    assert_dec("last", q.last, "21109.77");
    assert_dec("volume_24h", q.volume_24h, "6780.866843");
    // Spot tickers have no bid/ask; `usdIndexPrice` is in USD, not the pair's USDT.
    assert_eq!((q.bid, q.ask, q.mark, q.index), (None, None, None, None));
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_673_853_746_003)));
    assert_eq!(q.merge, Merge::Patch);
    assert_eq!(q.sequence, None, "the book's seq numbers a spot symbol");
}

/// A level-1 book pair we did not write: nautilus_trader's `orderbook.1.BTCUSDT` test data
/// (provenance in `tests/fixtures/README.md`). The snapshot lists two levels a side; the best
/// (first, non-zero) one is the quote. The delta changes the best bid's size and removes the
/// best ask (size "0") with no replacement: the ask is left unchanged (None in a delta).
#[test]
fn spot_level1_book_from_nautilus_test_data() {
    let s = one_quote(
        SPOT,
        include_str!("../../fixtures/bybit/ws_orderbook_snapshot_nautilus.json"),
    );
    assert_eq!(s.symbol, "BTCUSDT");
    assert_eq!(s.merge, Merge::Full);
    assert_dec("bid", s.bid, "27450.00");
    assert_dec("bid_size", s.bid_size, "0.500");
    assert_dec("ask", s.ask, "27451.00");
    assert_dec("ask_size", s.ask_size, "0.750");
    assert_eq!(s.sequence, Some(987_654_321));
    assert_eq!(s.exchange_ts, Some(Ts::from_millis(1_709_891_679_000)));

    let d = one_quote(
        SPOT,
        include_str!("../../fixtures/bybit/ws_orderbook_delta_nautilus.json"),
    );
    assert_eq!(d.merge, Merge::Delta);
    assert_dec("bid", d.bid, "27450.00");
    assert_dec("bid_size", d.bid_size, "0.400");
    assert_eq!((d.ask, d.ask_size), (None, None), "removed ask: unchanged");
    assert_eq!(d.sequence, Some(987_654_322));
    assert_eq!(d.exchange_ts, Some(Ts::from_millis(1_709_891_679_500)));
}

#[test]
fn spot_level1_book_snapshot_and_delta() {
    let s = one_quote(SPOT, BOOK_SNAPSHOT);
    assert_eq!(s.symbol, "BTCUSDT");
    assert_dec("bid", s.bid, "16493.50");
    assert_dec("bid_size", s.bid_size, "0.006");
    assert_dec("ask", s.ask, "16611.00");
    assert_dec("ask_size", s.ask_size, "0.029");
    assert_eq!(
        s.sequence,
        Some(7_961_638_724),
        "sequence is the book's `seq`"
    );
    assert_eq!(s.exchange_ts, Some(Ts::from_millis(1_672_304_484_978)));
    assert_eq!(s.merge, Merge::Full);

    let d = one_quote(SPOT, BOOK_DELTA);
    assert_eq!(d.merge, Merge::Delta);
    assert_dec("bid (the new best, not the removed one)", d.bid, "16494.00");
    assert_dec("bid_size", d.bid_size, "0.100");
    assert_eq!((d.ask, d.ask_size), (None, None), "ask side unchanged");
    assert_eq!(d.sequence, Some(7_961_638_731));
    // A size change at the same price.
    let d = one_quote(
        SPOT,
        &BOOK_DELTA.replace(
            r#""b":[["16493.50","0"],["16494.00","0.100"]]"#,
            r#""b":[["16493.50","1.5"]]"#,
        ),
    );
    assert_dec("bid", d.bid, "16493.50");
    assert_dec("bid_size", d.bid_size, "1.5");
    // A side with only a removal cannot be cleared by a delta merge: it reads as unchanged.
    let d = one_quote(
        SPOT,
        &BOOK_DELTA.replace(
            r#""b":[["16493.50","0"],["16494.00","0.100"]]"#,
            r#""b":[["16493.50","0"]]"#,
        ),
    );
    assert_eq!((d.bid, d.bid_size), (None, None));
    // An empty side in a snapshot is simply absent.
    let s = one_quote(
        SPOT,
        &BOOK_SNAPSHOT.replace(r#""a":[["16611.00","0.029"]]"#, r#""a":[]"#),
    );
    assert_eq!((s.ask, s.ask_size, s.merge), (None, None, Merge::Full));
    // Deeper books are not read: the first level of a deeper delta is not the best.
    no_quote(
        SPOT,
        &BOOK_SNAPSHOT.replace("orderbook.1.", "orderbook.50."),
        FrameKind::Control,
    );
}

// ---------------------------------------------------------------------------------------------
// control traffic

#[test]
fn acks_pongs_and_other_topics() {
    let fx = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/bybit/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    for kind in [SPOT, LINEAR] {
        for ack in [
            "ws_subscribe_response_public_spot.json",
            "ws_subscribe_response_public_linear.json",
            "ws_subscribe_response_public_option.json",
            "ws_subscribe_response_private.json",
            "ws_auth_response.json",
        ] {
            no_quote(kind, &fx(ack), FrameKind::Control);
        }
        for pong in [
            "ws_pong_public_spot.json",
            "ws_pong_public_linear.json",
            "ws_pong_public_option.json",
            "ws_pong_private.json",
        ] {
            no_quote(kind, &fx(pong), FrameKind::Heartbeat);
        }
        // A topic this connector does not read, with `data` as an array: not a parse error.
        no_quote(
            kind,
            &fx("ws_private_wallet_stream.json"),
            FrameKind::Control,
        );
    }
}

#[test]
fn refused_subscriptions_are_venue_errors() {
    let linear_ack = include_str!("../../fixtures/bybit/ws_subscribe_response_public_linear.json");
    let spot_ack = include_str!("../../fixtures/bybit/ws_subscribe_response_public_spot.json");
    // One-value edits of the real acks, with the refusal text Bybit sent in
    // sieblyio/bybit-api#561 (`error:handler not found,topic:dcp.future`).
    let refusal = |ack: &str, old_msg: &str| {
        ack.replace(r#""success": true"#, r#""success": false"#)
            .replace(
                old_msg,
                r#""ret_msg": "error:handler not found,topic:tickers.NOPE""#,
            )
    };
    for (kind, frame) in [
        (LINEAR, refusal(linear_ack, r#""ret_msg": """#)),
        (SPOT, refusal(spot_ack, r#""ret_msg": "subscribe""#)),
    ] {
        let e = venue_error(kind, &frame);
        assert_eq!(e, "error:handler not found,topic:tickers.NOPE");
    }
    // Without a message the frame itself is the error text.
    let bare = linear_ack.replace(r#""success": true"#, r#""success": false"#);
    assert!(venue_error(LINEAR, &bare).contains("conn_id"));
    // Option-style replies name refused topics in `failTopics`.
    let option_ack = include_str!("../../fixtures/bybit/ws_subscribe_response_public_option.json");
    let failed = option_ack.replace(r#""failTopics": []"#, r#""failTopics": ["tickers.NOPE"]"#);
    assert_eq!(
        venue_error(LINEAR, &failed),
        "subscribe failed for tickers.NOPE"
    );
}

// ---------------------------------------------------------------------------------------------
// malformed input

#[test]
fn malformed_frames_are_errors_never_panics() {
    for kind in [SPOT, LINEAR] {
        for g in GARBAGE {
            rejected(kind, g);
        }
        assert!(matches!(rejected(kind, "{}"), ParseError::Unknown { .. }));
        for frame in [PERP, SPOT_TICKER, LEGACY_DELTA, BOOK_SNAPSHOT, BOOK_DELTA] {
            truncations_are_rejected(kind, frame);
        }
        // Numbers that are not decimals, or not strings.
        rejected(kind, &PERP.replace("\"66666.70\"", "\"66666.7O\""));
        rejected(kind, &PERP.replace("\"66666.70\"", "66666.70"));
        rejected(kind, &SPOT_TICKER.replace("\"21109.77\"", "\"21,109.77\""));
        rejected(kind, &BOOK_SNAPSHOT.replace("\"0.006\"", "\"0.0O6\""));
        rejected(kind, &BOOK_SNAPSHOT.replace("\"0.006\"", "0.006"));
        rejected(
            kind,
            &BOOK_SNAPSHOT.replace(r#"["16493.50","0.006"]"#, r#"["16493.50"]"#),
        );
        rejected(kind, &BOOK_SNAPSHOT.replace(r#""b":[["#, r#""b":{"x":[["#));
        // Without snapshot/delta the merge is unknown; without a symbol it is unattributable.
        rejected(kind, &PERP.replace(r#""type": "snapshot","#, ""));
        rejected(kind, &LEGACY_DELTA.replace(r#""delta""#, r#""partial""#));
        rejected(kind, &PERP.replace(r#""symbol": "BTCUSDT","#, ""));
        rejected(kind, &BOOK_SNAPSHOT.replace(r#""s":"BTCUSDT","#, ""));
        rejected(
            kind,
            r#"{"topic":"tickers.BTCUSDT","type":"snapshot","ts":1}"#,
        );
        rejected(
            kind,
            r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":"x"}"#,
        );
        rejected(kind, &PERP.replace("\"cs\": 9532239429", "\"cs\": -1"));
        rejected(
            kind,
            &PERP.replace("\"ts\": 1760325052630", "\"ts\": \"soon\""),
        );
    }
}

/// House rule 11: quotes borrow their symbol from the frame.
#[test]
fn quote_symbols_borrow_from_the_frame() {
    for (kind, frame) in [
        (LINEAR, PERP),
        (LINEAR, LEGACY_DELTA),
        (SPOT, SPOT_TICKER),
        (SPOT, BOOK_SNAPSHOT),
    ] {
        let mut borrowed = Vec::new();
        let r = venue(kind).parse(frame, &Default::default(), &mut |q| {
            borrowed.push(matches!(q.symbol, Cow::Borrowed(_)))
        });
        assert_eq!(r, Ok(FrameKind::Data));
        assert_eq!(borrowed, [true], "{kind}: symbol copied from {frame}");
    }
}

// ---------------------------------------------------------------------------------------------
// through the framework: sequencing and delta merges

#[test]
fn linear_delta_merges_onto_the_snapshot_through_the_framework() {
    let mut c = Conn::new(LINEAR, &["BTCUSDT"]);
    let (kind, q) = c.feed(LEGACY_SNAPSHOT);
    assert_eq!((kind, q.len()), (FrameKind::Data, 1));
    let (kind, q) = c.feed(LEGACY_DELTA);
    assert_eq!((kind, q.len()), (FrameKind::Data, 1));
    let m = &q[0];
    assert_dec("ask_size (changed)", m.ask_size, "33.175");
    assert_dec("bid (sent again)", m.bid, "17243.00");
    assert_dec("last (kept)", m.last, "17243.00");
    assert_dec("mark (kept)", m.mark, "17247.73");
    assert_dec("index (kept)", m.index, "17261.71");
    assert_dec("volume_24h (kept)", m.volume_24h, "85837.138");
    assert_eq!(m.sequence, Some(24_966_636_396));
    assert_eq!(m.exchange_ts, Some(Ts::from_millis(1_673_265_043_786)));
    assert_eq!(m.received_at, Ts::from_millis(1_800_000_000_002));
    // The same delta again (a duplicate `cs`) is dropped and counted.
    let (kind, q) = c.feed(LEGACY_DELTA);
    assert_eq!(
        (kind, q.len(), c.conn.out_of_order),
        (FrameKind::Data, 0, 1)
    );
}

/// NOT a real payload: a delta for the real BTC-26DEC25 snapshot, built by the docs' rule ("if a
/// response param is not found in the message, then its value has not changed"): the bid and
/// the mark moved, with a larger `cs` and a later `ts`.
#[test]
fn constructed_dated_future_delta_merges_onto_the_real_snapshot() {
    let delta = r#"{"topic":"tickers.BTC-26DEC25","type":"delta","data":{"symbol":"BTC-26DEC25","markPrice":"121150.02","bid1Price":"111260.00","bid1Size":"0.052"},"cs":31337928004,"ts":1760409119957}"#;
    let mut c = Conn::new(LINEAR, &["BTC-26DEC25"]);
    c.feed(FUTURE);
    let (kind, q) = c.feed(delta);
    assert_eq!(kind, FrameKind::Data);
    let m = &q[0];
    assert_dec("bid", m.bid, "111260.00");
    assert_dec("bid_size", m.bid_size, "0.052");
    assert_dec("mark", m.mark, "121150.02");
    assert_dec("ask (kept)", m.ask, "131001.00");
    assert_dec("ask_size (kept)", m.ask_size, "0.580");
    assert_dec("last (kept)", m.last, "109401.50");
    assert_dec("index (kept)", m.index, "114132.51");
    assert_eq!(m.sequence, Some(31_337_928_004));
}

#[test]
fn a_delta_before_any_snapshot_is_a_gap() {
    let mut c = Conn::new(LINEAR, &["BTCUSDT"]);
    let (kind, q) = c.feed(LEGACY_DELTA);
    assert!(q.is_empty());
    assert!(
        matches!(&kind, FrameKind::Gap(why) if why.contains("BTCUSDT") && why.contains("snapshot")),
        "{kind:?}"
    );
    // On a spot connection, a book delta before the book snapshot likewise.
    let mut c = Conn::new(SPOT, &["BTCUSDT"]);
    assert!(matches!(c.feed(BOOK_DELTA).0, FrameKind::Gap(_)));
}

#[test]
fn spot_book_and_ticker_make_one_quote() {
    let mut c = Conn::new(SPOT, &["BTCUSDT"]);
    // A ticker before any book quote stands alone (last price only).
    let (_, q) = c.feed(SPOT_TICKER);
    assert_eq!((q[0].bid, q[0].ask), (None, None));
    assert_dec("last", q[0].last, "21109.77");
    // The book snapshot is a whole quote: it replaces what the ticker said.
    let (_, q) = c.feed(BOOK_SNAPSHOT);
    assert_eq!(q[0].last, None);
    // The ticker patches last price and volume onto the book.
    let (_, q) = c.feed(SPOT_TICKER);
    assert_dec("bid", q[0].bid, "16493.50");
    assert_dec("ask", q[0].ask, "16611.00");
    assert_dec("last", q[0].last, "21109.77");
    assert_dec("volume_24h", q[0].volume_24h, "6780.866843");
    assert_eq!(
        q[0].sequence,
        Some(7_961_638_724),
        "the book's sequence stays"
    );
    // A book delta keeps the ticker's fields and the unchanged ask.
    let (_, q) = c.feed(BOOK_DELTA);
    assert_dec("bid", q[0].bid, "16494.00");
    assert_dec("ask", q[0].ask, "16611.00");
    assert_dec("last", q[0].last, "21109.77");
    assert_eq!(q[0].sequence, Some(7_961_638_731));
    assert_eq!(c.conn.out_of_order, 0);
}

// ---------------------------------------------------------------------------------------------
// symbols, subscribe, ping

fn split(kind: &str, symbol: &str) -> SymbolSpec<'static> {
    // Leak in tests only, so the spec can outlive the argument.
    let symbol: &'static str = Box::leak(symbol.to_owned().into_boxed_str());
    venue(kind).split_symbol(symbol)
}

#[test]
fn spot_symbols_are_joined_spot_pairs() {
    assert_eq!(
        split(SPOT, "BTCUSDT"),
        SymbolSpec::Joined {
            symbol: "BTCUSDT",
            market: Market::Spot,
            expiry: None
        }
    );
    for bad in ["", "btcusdt", "BTC-USDT", "BTC/USDT", "BTCUSDT-26DEC25"] {
        assert!(
            matches!(split(SPOT, bad), SymbolSpec::Invalid(_)),
            "{bad:?}"
        );
    }
}

#[test]
fn linear_symbols_give_market_and_expiry() {
    assert_eq!(
        split(LINEAR, "BTCUSDT"),
        SymbolSpec::Joined {
            symbol: "BTCUSDT",
            market: Market::Perpetual,
            expiry: None
        }
    );
    assert_eq!(
        split(LINEAR, "ETHPERP"),
        SymbolSpec::Split {
            base: "ETH",
            quote: "USDC",
            market: Market::Perpetual,
            expiry: None
        }
    );
    assert_eq!(
        split(LINEAR, "BTC-26DEC25"),
        SymbolSpec::Split {
            base: "BTC",
            quote: "USDC",
            market: Market::Future,
            expiry: Some("20251226".into())
        }
    );
    assert_eq!(
        split(LINEAR, "BTCUSDT-26DEC25"),
        SymbolSpec::Joined {
            symbol: "BTCUSDT",
            market: Market::Future,
            expiry: Some("20251226".into())
        }
    );
    // One-digit days, as Bybit writes them (`BTC-6JAN23-...` options).
    assert_eq!(
        split(LINEAR, "ETH-3JAN25"),
        SymbolSpec::Split {
            base: "ETH",
            quote: "USDC",
            market: Market::Future,
            expiry: Some("20250103".into())
        }
    );
    for bad in [
        "",
        "btcusdt",
        "BTC-31FEB25",
        "BTC-26DEX25",
        "BTC-26DEC2025",
        "BTC-",
        "-26DEC25",
        "BTC-6JAN23-17500-C",
        "BTC/USDT",
    ] {
        assert!(
            matches!(split(LINEAR, bad), SymbolSpec::Invalid(_)),
            "{bad:?}"
        );
    }
    assert_eq!(
        bybit::expiry_yyyymmdd("29FEB28").as_deref(),
        Some("20280229")
    );
    assert_eq!(bybit::expiry_yyyymmdd("29FEB27"), None);
}

#[test]
fn subscribe_messages_match_the_docs_shape_and_spot_limit() {
    let doc: serde_json::Value = serde_json::from_str(include_str!(
        "../../fixtures/bybit/ws_subscribe_request_multi.json"
    ))
    .unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let syms = [
        "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT",
    ];
    let spot = venue(SPOT).subscribe_messages(&syms);
    assert_eq!(spot.len(), 2, "12 topics: 10 + 2");
    let mut topics = Vec::new();
    for m in &spot {
        let v: serde_json::Value = serde_json::from_str(m).unwrap();
        assert_eq!(keys(&v), keys(&doc), "{m}");
        assert_eq!(v["op"], "subscribe");
        assert!(v["req_id"].is_string());
        let args = v["args"].as_array().unwrap();
        assert!(args.len() <= bybit::SPOT_MAX_ARGS, "{m}");
        topics.extend(args.iter().map(|a| a.as_str().unwrap().to_owned()));
    }
    assert_eq!(topics[..2], ["orderbook.1.BTCUSDT", "tickers.BTCUSDT"]);
    assert_eq!(topics.len(), 12);

    let linear = venue(LINEAR).subscribe_messages(&["BTCUSDT", "BTC-26DEC25"]);
    assert_eq!(
        linear,
        [r#"{"req_id":"1","op":"subscribe","args":["tickers.BTCUSDT","tickers.BTC-26DEC25"]}"#]
    );
}

#[test]
fn pings_every_20_seconds_and_pongs_are_heartbeats() {
    for kind in [SPOT, LINEAR] {
        let PingPolicy::Text(every, ping) = venue(kind).ping_policy() else {
            panic!("{kind}: expected an application ping");
        };
        assert_eq!(every, std::time::Duration::from_secs(20));
        assert_eq!(ping(7), r#"{"req_id":"7","op":"ping"}"#);
        assert_eq!(venue(kind).sequencing(), connectors::Sequencing::Increasing);
        assert!(venue(kind).sends_deltas());
    }
    assert_eq!(
        venue(SPOT).default_ws_url(),
        "wss://stream.bybit.com/v5/public/spot"
    );
    assert_eq!(
        venue(LINEAR).default_ws_url(),
        "wss://stream.bybit.com/v5/public/linear"
    );
}

// ---------------------------------------------------------------------------------------------
// the simulators speak what the parser reads

fn sim_session(proto: &BybitSim) -> (SimSession, Vec<String>) {
    let v = proto.venue();
    let mut s = SimSession {
        now: Ts::from_micros(1_767_225_600_123_456),
        ..Default::default()
    };
    let mut replies = proto.on_connect("/", &mut s);
    for m in v.subscribe_messages(v.sample_symbols()) {
        replies.extend(proto.on_text(&m, &mut s));
    }
    (s, replies)
}

fn sim_quote(kind: &str, symbol: &str, t_ms: i64) -> SimQuote {
    PriceModel
        .quote_for(venue(kind), symbol, Ts::from_millis(t_ms), 0)
        .unwrap()
}

#[test]
fn linear_sim_sends_a_snapshot_then_deltas_of_changed_fields() {
    let proto = BybitSim(Category::Linear);
    let (mut s, replies) = sim_session(&proto);
    assert_eq!(replies.len(), 1);
    no_quote(LINEAR, &replies[0], FrameKind::Control);
    assert!(replies[0].contains(r#""ret_msg":"""#), "linear ack shape");
    assert_eq!(s.symbols, ["BTCUSDT", "ETHUSDT"]);
    let mut c = Conn::new(LINEAR, &["BTCUSDT", "ETHUSDT"]);
    for round in 0..6 {
        for sym in ["BTCUSDT", "ETHUSDT"] {
            let q = sim_quote(LINEAR, sym, 1_767_225_600_000 + round * 7_000);
            let frame = proto.ticker(sym, &q, &mut s);
            let p = one_quote(LINEAR, &frame);
            if round == 0 {
                assert_eq!(p.merge, Merge::Full, "{frame}");
                assert!(frame.contains(r#""preOpenPrice":"""#), "{frame}");
            } else {
                assert_eq!(p.merge, Merge::Delta, "{frame}");
                // Unchanged fields are left out.
                assert!(!frame.contains("volume24h"), "{frame}");
                assert!(!frame.contains("fundingRate"), "{frame}");
            }
            let (kind, merged) = c.feed(&frame);
            assert_eq!(kind, FrameKind::Data, "{frame}");
            let m = &merged[0];
            assert_eq!(
                (m.bid, m.ask, m.bid_size, m.ask_size, m.last),
                (
                    Some(q.bid),
                    Some(q.ask),
                    Some(q.bid_size),
                    Some(q.ask_size),
                    Some(q.last)
                ),
                "{frame}"
            );
            assert_eq!(m.volume_24h, Some(q.volume_24h));
        }
    }
    assert_eq!(c.conn.out_of_order, 0);
    // A new connection gets a snapshot again.
    let (mut s2, _) = sim_session(&proto);
    let q = sim_quote(LINEAR, "BTCUSDT", 1_767_225_700_000);
    assert_eq!(
        one_quote(LINEAR, &proto.ticker("BTCUSDT", &q, &mut s2)).merge,
        Merge::Full
    );
    // The app ping is answered with the linear pong.
    let pong = proto.on_text(r#"{"req_id":"3","op":"ping"}"#, &mut s);
    no_quote(LINEAR, &pong[0], FrameKind::Heartbeat);
    assert!(pong[0].contains(r#""req_id":"3""#));
}

#[test]
fn spot_sim_sends_book_snapshot_then_tickers_and_book_deltas() {
    let proto = BybitSim(Category::Spot);
    let (mut s, replies) = sim_session(&proto);
    assert_eq!(replies.len(), 1, "4 topics fit one request");
    no_quote(SPOT, &replies[0], FrameKind::Control);
    assert!(
        replies[0].contains(r#""ret_msg":"subscribe""#),
        "spot ack shape"
    );
    let mut c = Conn::new(SPOT, &["BTCUSDT", "ETHUSDT"]);
    let mut last_book: Option<SimQuote> = None;
    for round in 0..6 {
        let q = sim_quote(SPOT, "BTCUSDT", 1_767_225_600_000 + round * 7_000);
        let frame = proto.ticker("BTCUSDT", &q, &mut s);
        let p = one_quote(SPOT, &frame);
        let (kind, merged) = c.feed(&frame);
        assert_eq!(kind, FrameKind::Data, "{frame}");
        let m = &merged[0];
        match round {
            0 => assert!(frame.contains("orderbook.1.") && p.merge == Merge::Full),
            r if r % 2 == 1 => {
                assert!(
                    frame.contains("tickers.") && p.merge == Merge::Patch,
                    "{frame}"
                );
                assert_eq!(m.last, Some(q.last));
            }
            _ => assert!(frame.contains("orderbook.1.") && p.merge == Merge::Delta),
        }
        if p.merge != Merge::Patch {
            last_book = Some(q.clone());
        }
        let b = last_book.as_ref().unwrap();
        assert_eq!(
            (m.bid, m.ask, m.bid_size, m.ask_size),
            (Some(b.bid), Some(b.ask), Some(b.bid_size), Some(b.ask_size)),
            "round {round}: {frame}"
        );
    }
    assert_eq!(c.conn.out_of_order, 0);
    // The spot pong has no req_id, as in the docs.
    let pong = proto.on_text(r#"{"req_id":"3","op":"ping"}"#, &mut s);
    no_quote(SPOT, &pong[0], FrameKind::Heartbeat);
    assert!(!pong[0].contains("req_id"));
}

#[test]
fn sims_refuse_in_bybits_error_frame() {
    let spot = BybitSim(Category::Spot);
    let linear = BybitSim(Category::Linear);
    let mut s = SimSession::default();
    let eleven: Vec<String> = (0..11).map(|i| format!("tickers.A{i}USDT")).collect();
    let too_many =
        serde_json::json!({"req_id": "9", "op": "subscribe", "args": eleven}).to_string();
    assert!(venue_error(SPOT, &spot.on_text(&too_many, &mut s)[0]).contains("10"));
    assert!(s.symbols.is_empty(), "a refused request subscribes nothing");
    let unknown = r#"{"req_id":"9","op":"subscribe","args":["kline.1.BTCUSDT"]}"#;
    for (kind, proto) in [(SPOT, &spot), (LINEAR, &linear)] {
        let e = venue_error(kind, &proto.on_text(unknown, &mut s)[0]);
        assert_eq!(e, "error:handler not found,topic:kline.1.BTCUSDT");
        venue_error(kind, &proto.on_text("this is not json", &mut s)[0]);
        venue_error(kind, &proto.on_text(r#"{"op":"dance"}"#, &mut s)[0]);
        assert_eq!(proto.heartbeat(&mut s), None, "Bybit sends no heartbeats");
    }
}
