//! Deribit's parser against real payloads (`tests/fixtures/deribit/`, copied byte for byte from
//! `shared/venues/deribit/`; provenance in `tests/fixtures/README.md`), malformed input, its
//! symbol rules, and its simulator (frames by hand, then heartbeats over a real socket).
//!
//! Every parse goes through the registry, the entry point the transport and replay use.
//! Decimals are checked by value AND by `to_string()`, so a lost trailing zero or a float round
//! trip shows up. Frames that are not fixtures are labelled "constructed" where they appear.

use crate::support::parsers::{
    assert_dec, no_quote, one_quote, parse, rejected, replay_server_frames,
    truncations_are_rejected, venue, venue_error, GARBAGE,
};
use connectors::outbox::{self, Outbox};
use connectors::sim::{PriceModel, SimOptions, SimProtocol, SimSession};
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::{run_streaming, Backoff, ConnectorStats, StreamingConnector};
use connectors::venues::deribit::sim::DeribitSim;
use connectors::{FrameKind, Observation, ParseError, SymbolSpec};
use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use schemas::{Market, Ts};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const KIND: &str = "deribit";

// ---------------------------------------------------------------------------------------------
// fixtures

const PERP: &str =
    include_str!("../../fixtures/deribit/ws_ticker_BTC-PERPETUAL_100ms_nautilus.json");
const OPTION_BTC: &str =
    include_str!("../../fixtures/deribit/ws_ticker_option_BTC_raw_live_capture.json");
const OPTION_ETH: &str =
    include_str!("../../fixtures/deribit/ws_ticker_option_ETH_raw_live_capture.json");
const TEST_REQUEST: &str =
    include_str!("../../fixtures/deribit/ws_heartbeat_test_request_nautilus.json");
const INCREMENTAL_DOCS: &str =
    include_str!("../../fixtures/deribit/ws_incremental_ticker_data_docs_example.json");
const REPLAY: &str =
    include_str!("../../fixtures/deribit/replay_cryptofeed_DERIBIT.ws.1.0.excerpt.txt");

/// The docs' incremental_ticker snapshot `params` (which omit the channel) inside a
/// `ticker.BTC-PERPETUAL.100ms` notification: constructed envelope, real data.
fn docs_ticker_frame() -> String {
    let params = INCREMENTAL_DOCS.trim().replacen(
        "{ \"data\"",
        "{ \"channel\": \"ticker.BTC-PERPETUAL.100ms\", \"data\"",
        1,
    );
    format!(r#"{{"jsonrpc":"2.0","method":"subscription","params":{params}}}"#)
}

// ---------------------------------------------------------------------------------------------
// tickers

#[test]
fn perpetual_ticker_is_exact() {
    let q = one_quote(KIND, PERP);
    assert_eq!(q.symbol, "BTC-PERPETUAL");
    assert_dec("bid", q.bid, "92283.5");
    assert_dec("ask", q.ask, "92284.0"); // JSON 92284.0: the ".0" is kept
    assert_dec("bid_size", q.bid_size, "117660.0");
    assert_dec("ask_size", q.ask_size, "186520.0");
    assert_dec("last", q.last, "92283.5");
    assert_dec("mark", q.mark, "92281.78");
    assert_dec("index", q.index, "92263.55");
    assert_dec("volume_24h", q.volume_24h, "11897.27640428"); // stats.volume, in BTC
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_765_541_474_086)));
    assert_eq!(q.sequence, None, "Deribit tickers carry no change id");
    assert_eq!(q.merge, connectors::Merge::Full);
}

/// Numbers a float cannot hold, and exponent notation, survive: they never pass through `f64`.
/// (Constructed: one value of the real frame swapped at a time.)
#[test]
fn numbers_are_read_from_their_text() {
    // `interest_value` of the same frame: more digits than an f64 holds.
    assert!(PERP.contains("\"interest_value\": 0.0028213400122472977"));
    let q = one_quote(
        KIND,
        &PERP.replace(
            "\"mark_price\": 92281.78",
            "\"mark_price\": 0.0028213400122472977",
        ),
    );
    assert_dec("mark", q.mark, "0.0028213400122472977");

    let q = one_quote(
        KIND,
        &PERP.replace(
            "\"best_bid_amount\": 117660.0",
            "\"best_bid_amount\": 1.2e-05",
        ),
    );
    assert_eq!(q.bid_size, Some(Decimal::from_str("0.000012").unwrap()));
    assert_dec("bid_size", q.bid_size, "0.000012");

    let q = one_quote(
        KIND,
        &PERP.replace("\"index_price\": 92263.55", "\"index_price\": 9.226355E+4"),
    );
    assert_eq!(q.index, Some(Decimal::from_str("92263.55").unwrap()));

    let q = one_quote(
        KIND,
        &PERP.replace(
            "\"best_ask_price\": 92284.0",
            "\"best_ask_price\": 92284.123456789012345678",
        ),
    );
    assert_dec("ask", q.ask, "92284.123456789012345678");
}

/// Integer JSON numbers (`36443`, `5000`) from the docs example stay integers.
#[test]
fn docs_ticker_data_is_exact() {
    let q = one_quote(KIND, &docs_ticker_frame());
    assert_eq!(q.symbol, "BTC-PERPETUAL");
    assert_dec("bid", q.bid, "36442.5");
    assert_dec("ask", q.ask, "36443");
    assert_dec("bid_size", q.bid_size, "5000");
    assert_dec("ask_size", q.ask_size, "100");
    assert_dec("last", q.last, "36457.5");
    assert_dec("mark", q.mark, "36446.51");
    assert_dec("index", q.index, "36441.64");
    assert_dec("volume_24h", q.volume_24h, "7871.02139035");
    assert_eq!(q.exchange_ts, Some(Ts::from_millis(1_623_060_194_301)));
}

/// `null` means "missing" (Deribit's docs: best_bid_price is null when there are no bids).
#[test]
fn null_fields_are_missing_not_zero() {
    let q = one_quote(
        KIND,
        &PERP
            .replace("\"best_bid_price\": 92283.5", "\"best_bid_price\": null")
            .replace("\"volume\": 11897.27640428", "\"volume\": null"),
    );
    assert_eq!(q.bid, None);
    assert_eq!(q.volume_24h, None);
    assert_dec("ask", q.ask, "92284.0");
    // A ticker without `stats` at all is still a quote.
    let frame = r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.ETH-PERPETUAL.100ms","data":{"timestamp":1,"instrument_name":"ETH-PERPETUAL","best_bid_price":3000.05,"best_ask_price":3000.1}}}"#;
    let q = one_quote(KIND, frame); // constructed
    assert_eq!((q.volume_24h, q.mark, q.index), (None, None, None));
}

/// Serde's field order is not Deribit's promise: `data` before `channel` still parses (the
/// raw fallback of `wire::Params`). Constructed by moving the channel to the end.
#[test]
fn data_before_channel_still_parses() {
    let frame = PERP
        .replace("\"channel\": \"ticker.BTC-PERPETUAL.100ms\",", "")
        .replacen(
            "\"funding_8h\": 0.00001742\n    }",
            "\"funding_8h\": 0.00001742\n    }, \"channel\": \"ticker.BTC-PERPETUAL.100ms\"",
            1,
        );
    assert_ne!(frame, PERP);
    let q = one_quote(KIND, &frame);
    assert_eq!(q.symbol, "BTC-PERPETUAL");
    assert_dec("mark", q.mark, "92281.78");
}

/// Linear perpetuals and dated futures are tickers like any other (constructed from the real
/// frame by renaming the instrument).
#[test]
fn linear_perpetual_and_future_tickers() {
    for name in ["BTC_USDC-PERPETUAL", "BTC-27DEC24", "BTC_USDC"] {
        let q = one_quote(KIND, &PERP.replace("BTC-PERPETUAL", name));
        assert_eq!(q.symbol, name);
        assert_dec("bid", q.bid, "92283.5");
    }
}

/// Live option tickers (prices in BTC: 0.2325 for a put) are never quotes, and never land on a
/// perpetual.
#[test]
fn option_tickers_are_not_quotes() {
    for frame in [OPTION_BTC, OPTION_ETH] {
        assert!(frame.contains("\"greeks\""));
        no_quote(KIND, frame, FrameKind::Control);
    }
    // Whatever interval it came on.
    no_quote(
        KIND,
        &OPTION_BTC.replace(".raw", ".100ms"),
        FrameKind::Control,
    );
    // A combo (constructed name).
    no_quote(
        KIND,
        &PERP.replace("BTC-PERPETUAL", "BTC-FS-27DEC24_PERP"),
        FrameKind::Control,
    );
}

/// The whole recorded session: a subscribe reply, option tickers and option books. None of it
/// is a quote and none of it is an error.
#[test]
fn live_replay_holds_no_quote_and_no_error() {
    let frames = replay_server_frames(REPLAY);
    assert_eq!(frames.len(), 58);
    let mut tickers = 0;
    for frame in frames {
        let (result, quotes) = parse(KIND, frame);
        assert!(quotes.is_empty(), "{frame}: {quotes:?}");
        assert_eq!(result, Ok(FrameKind::Control), "{frame}");
        tickers += usize::from(frame.contains("\"channel\":\"ticker."));
    }
    assert_eq!(tickers, 35, "option tickers in the excerpt");
}

// ---------------------------------------------------------------------------------------------
// control, heartbeats, errors

#[test]
fn replies_and_other_channels_are_control() {
    for frame in [
        include_str!("../../fixtures/deribit/ws_subscribe_response_live_capture.json"),
        include_str!("../../fixtures/deribit/ws_subscribe_response_nautilus.json"),
        include_str!(
            "../../fixtures/deribit/ws_notification_deribit_price_index_docs_example.json"
        ),
        include_str!("../../fixtures/deribit/ws_private_user_portfolio_nautilus.json"),
        include_str!("../../fixtures/deribit/rest_private_get_account_summaries_nautilus.json"),
    ] {
        no_quote(KIND, frame, FrameKind::Control);
    }
    // Constructed, in the documented shapes: set_heartbeat's "ok", public/test's version, a
    // trades notification (its data is an array), a book notification, the incremental ticker
    // (partial updates, not subscribed).
    for frame in [
        r#"{"jsonrpc":"2.0","id":1,"result":"ok","usIn":1,"usOut":2,"usDiff":1,"testnet":false}"#,
        r#"{"jsonrpc":"2.0","id":3,"result":{"version":"1.2.26"},"usIn":1,"usOut":2,"usDiff":1,"testnet":false}"#,
        r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.100ms","data":[{"trade_seq":1,"price":92283.5,"instrument_name":"BTC-PERPETUAL"}]}}"#,
        r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":{"type":"change","timestamp":1,"instrument_name":"BTC-PERPETUAL","change_id":5,"bids":[["new",92283.5,10.0]],"asks":[]}}}"#,
    ] {
        no_quote(KIND, frame, FrameKind::Control);
    }
    let incremental = docs_ticker_frame().replace(
        "\"ticker.BTC-PERPETUAL.100ms\"",
        "\"incremental_ticker.BTC-PERPETUAL\"",
    );
    no_quote(KIND, &incremental, FrameKind::Control);
}

/// `test_request` must be answered with a `public/test` request, which the transport sends.
#[test]
fn test_request_is_answered_with_public_test() {
    let (result, quotes) = parse(KIND, TEST_REQUEST);
    assert!(quotes.is_empty());
    let Ok(FrameKind::Respond(reply)) = result else {
        panic!("expected a reply, got {result:?}");
    };
    let v: serde_json::Value = serde_json::from_str(&reply).expect("the reply is JSON");
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["method"], "public/test");
    assert!(v["id"].is_u64(), "{reply}");
    assert!(v["params"].is_object(), "{reply}");
    // Constructed: the other heartbeat type proves the socket, nothing more.
    no_quote(
        KIND,
        r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}"#,
        FrameKind::Heartbeat,
    );
}

#[test]
fn errors_are_venue_errors_naming_the_request() {
    // The real error quoted in tmatic-trading/crypto-platform#402 (a Python dict there,
    // rewritten as JSON here): it has no id.
    let e = venue_error(
        KIND,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"request entity too large"},"usIn":1735470238752669,"usOut":1735470238752706,"usDiff":37,"testnet":true}"#,
    );
    assert_eq!(e, "request: code -32600: request entity too large");
    // Constructed: a refused subscribe, with the id the connector gave it, and `data`.
    let e = venue_error(
        KIND,
        r#"{"jsonrpc":"2.0","id":2,"error":{"message":"Invalid params","data":{"reason":"invalid channel","param":"channels"},"code":-32602},"testnet":false,"usIn":1,"usOut":2,"usDiff":1}"#,
    );
    assert!(
        e.starts_with("public/subscribe: code -32602: Invalid params {"),
        "{e}"
    );
    assert!(e.contains("invalid channel"), "{e}");
    let e = venue_error(
        KIND,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":10028,"message":"too_many_requests"}}"#,
    );
    assert_eq!(e, "public/set_heartbeat: code 10028: too_many_requests");
    let e = venue_error(
        KIND,
        r#"{"jsonrpc":"2.0","id":"x7","error":{"code":11050,"message":"bad_request"}}"#,
    );
    assert_eq!(e, "\"x7\": code 11050: bad_request");
}

#[test]
fn malformed_frames_are_errors_never_panics() {
    for g in GARBAGE {
        rejected(KIND, g);
    }
    assert!(matches!(rejected(KIND, "{}"), ParseError::Unknown { .. }));
    assert!(matches!(
        rejected(KIND, r#"{"jsonrpc":"2.0"}"#),
        ParseError::Unknown { .. }
    ));
    truncations_are_rejected(KIND, PERP);
    truncations_are_rejected(KIND, TEST_REQUEST);
    truncations_are_rejected(KIND, OPTION_BTC);
    // Bad numbers in a ticker.
    let err = rejected(
        KIND,
        &PERP.replace(
            "92283.5,\n      \"settlement",
            "9228O.5,\n      \"settlement",
        ),
    );
    assert!(err.to_string().contains("deribit"), "{err}");
    for bad in ["\"abc\"", "true", "[0.1]", "{}", "\"1,5\"", "1.2.3", "NaN"] {
        rejected(
            KIND,
            &PERP.replace(
                "\"best_bid_price\": 92283.5",
                &format!("\"best_bid_price\": {bad}"),
            ),
        );
    }
    // What the code accepts beside numbers: a numeric string is read exactly.
    let q = one_quote(
        KIND,
        &PERP.replace(
            "\"best_bid_price\": 92283.5",
            "\"best_bid_price\": \"92283.50\"",
        ),
    );
    assert_dec("bid", q.bid, "92283.50");
    // A ticker without an instrument cannot be attributed; a bad timestamp is refused.
    rejected(
        KIND,
        &PERP.replace("\"instrument_name\": \"BTC-PERPETUAL\",", ""),
    );
    rejected(
        KIND,
        &PERP.replace(
            "\"instrument_name\": \"BTC-PERPETUAL\"",
            "\"instrument_name\": 5",
        ),
    );
    rejected(KIND, &PERP.replace("1765541474086", "\"2025-12-12\""));
    rejected(KIND, &PERP.replace("1765541474086", "1.5"));
    // A ticker's data of the wrong type, a notification without its channel, params that are
    // not an object, a heartbeat of a type nobody documented.
    rejected(
        KIND,
        r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.100ms","data":[1]}}"#,
    );
    rejected(
        KIND,
        r#"{"jsonrpc":"2.0","method":"subscription","params":{"data":{"instrument_name":"BTC-PERPETUAL"}}}"#,
    );
    rejected(
        KIND,
        r#"{"jsonrpc":"2.0","method":"subscription","params":[1,2]}"#,
    );
    rejected(
        KIND,
        r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"nope"}}"#,
    );
    rejected(KIND, r#"{"jsonrpc":"2.0","method":"heartbeat"}"#);
    rejected(KIND, r#"{"jsonrpc":"2.0","error":"no"}"#);
}

/// House rule 11: the quote borrows its symbol from the frame.
#[test]
fn quote_symbol_borrows_from_the_frame() {
    let mut borrowed = Vec::new();
    let r = venue(KIND).parse(PERP, &Default::default(), &mut |q| {
        borrowed.push(matches!(q.symbol, Cow::Borrowed(_)))
    });
    assert_eq!(r, Ok(FrameKind::Data));
    assert_eq!(borrowed, [true]);
}

// ---------------------------------------------------------------------------------------------
// symbols

fn split(s: &str) -> SymbolSpec<'_> {
    venue(KIND).split_symbol(s)
}

#[track_caller]
fn assert_split(symbol: &str, base: &str, quote: &str, market: Market, expiry: Option<&str>) {
    assert_eq!(
        split(symbol),
        SymbolSpec::Split {
            base,
            quote,
            market,
            expiry: expiry.map(str::to_owned),
        },
        "{symbol}"
    );
}

#[test]
fn split_symbol_perpetuals() {
    // Inverse: margined in BTC, priced in USD -> BTC-USD-PERP.
    assert_split("BTC-PERPETUAL", "BTC", "USD", Market::Perpetual, None);
    assert_split("ETH-PERPETUAL", "ETH", "USD", Market::Perpetual, None);
    // USDC-margined linear -> BTC-USDC-PERP.
    assert_split("BTC_USDC-PERPETUAL", "BTC", "USDC", Market::Perpetual, None);
    assert_split("SOL_USDC-PERPETUAL", "SOL", "USDC", Market::Perpetual, None);
}

#[test]
fn split_symbol_dated_futures() {
    assert_split(
        "BTC-27DEC24",
        "BTC",
        "USD",
        Market::Future,
        Some("20241227"),
    );
    assert_split(
        "ETH-28MAR25",
        "ETH",
        "USD",
        Market::Future,
        Some("20250328"),
    );
    // Weeklies have one-digit days.
    assert_split("BTC-5JUL24", "BTC", "USD", Market::Future, Some("20240705"));
    assert_split(
        "BTC_USDC-27JUN25",
        "BTC",
        "USDC",
        Market::Future,
        Some("20250627"),
    );
    // Not a date.
    for s in [
        "BTC-30FEB24",
        "BTC-27DEX24",
        "BTC-027DEC24",
        "BTC-27DEC2024",
        "BTC-DEC24",
    ] {
        assert!(matches!(split(s), SymbolSpec::Invalid(_)), "{s}");
    }
}

#[test]
fn split_symbol_spot() {
    assert_split("BTC_USDC", "BTC", "USDC", Market::Spot, None);
}

#[test]
fn split_symbol_refuses_options_combos_and_junk() {
    for s in [
        "BTC-27DEC24-100000-C",
        "ETH-30JUL21-2800-C",
        "BTC-31DEC21-34000-P",
        "XRP_USDC-30JUN23-0d625-C",
        "BTC-FS-27DEC24_PERP",
    ] {
        let SymbolSpec::Invalid(why) = split(s) else {
            panic!("{s} accepted");
        };
        assert!(why.contains("options"), "{s}: {why}");
    }
    for s in [
        "",
        "BTC",
        "btc-perpetual",
        "-PERPETUAL",
        "BTC_-PERPETUAL",
        "BTC-",
        "BTC/USD",
    ] {
        assert!(matches!(split(s), SymbolSpec::Invalid(_)), "{s:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// simulator

/// The sim, driven by hand: it subscribes what the connector asks, acks in the shapes the parser
/// reads as control, alternates test_request (answered) and heartbeat, and its tickers carry the
/// simulated quote exactly.
#[test]
fn sim_frames_parse() {
    let sim = DeribitSim::new(Duration::from_millis(200));
    let v = venue(KIND);
    let symbols = v.sample_symbols();
    assert_eq!(symbols, ["BTC-PERPETUAL", "ETH-PERPETUAL"]);
    let now = Ts::from_micros(1_767_225_600_123_456);
    let mut session = SimSession {
        now,
        ..Default::default()
    };
    assert!(sim.on_connect("/ws/api/v2", &mut session).is_empty());
    for msg in v.subscribe_messages(symbols) {
        for reply in sim.on_text(&msg, &mut session) {
            no_quote(KIND, &reply, FrameKind::Control);
        }
    }
    assert_eq!(session.symbols, symbols);
    assert!(session.heartbeats);

    let hb = sim
        .heartbeat(&mut session)
        .expect("heartbeats were asked for");
    let (result, _) = parse(KIND, &hb);
    let Ok(FrameKind::Respond(answer)) = result else {
        panic!("{hb}: {result:?}");
    };
    for reply in sim.on_text(&answer, &mut session) {
        no_quote(KIND, &reply, FrameKind::Control);
    }
    assert_eq!(session.awaiting_reply, None, "the answer was accepted");
    let hb = sim.heartbeat(&mut session).unwrap();
    no_quote(KIND, &hb, FrameKind::Heartbeat);

    for _ in 0..3 {
        for &symbol in symbols {
            let q = PriceModel.quote_for(v, symbol, now, 0).unwrap();
            let frame = sim.ticker(symbol, &q, &mut session);
            let p = one_quote(KIND, &frame);
            assert_eq!(p.symbol, symbol);
            assert_eq!(p.bid, Some(q.bid), "{frame}");
            assert_eq!(p.ask, Some(q.ask), "{frame}");
            assert_eq!(p.bid_size, Some(q.bid_size), "{frame}");
            assert_eq!(p.ask_size, Some(q.ask_size), "{frame}");
            assert_eq!(p.last, Some(q.last), "{frame}");
            assert_eq!(p.volume_24h, Some(q.volume_24h), "{frame}");
            assert_eq!(p.mark, Some((q.bid + q.ask) / Decimal::TWO), "{frame}");
            assert!(p.index.is_some(), "{frame}");
            assert_eq!(p.exchange_ts, Some(Ts::from_millis(now.millis())));
        }
    }

    for bad in [
        "this is not json",
        r#"{"jsonrpc":"2.0","id":9,"method":"public/nope","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":9,"method":"public/set_heartbeat","params":{"interval":1}}"#,
    ] {
        let replies = sim.on_text(bad, &mut session);
        assert_eq!(replies.len(), 1, "{bad}");
        assert!(
            matches!(parse(KIND, &replies[0]).0, Ok(FrameKind::VenueError(_))),
            "{bad} -> {}",
            replies[0]
        );
    }
    // Channels the sim does not serve are left out of the subscribe result.
    let replies = sim.on_text(
        r#"{"jsonrpc":"2.0","id":5,"method":"public/subscribe","params":{"channels":["ticker.BTC-27DEC24-100000-C.100ms","book.BTC-PERPETUAL.100ms","ticker.BTC-27DEC24.100ms"]}}"#,
        &mut session,
    );
    let v: serde_json::Value = serde_json::from_str(&replies[0]).unwrap();
    assert_eq!(v["result"], serde_json::json!(["ticker.BTC-27DEC24.100ms"]));
}

fn sim_options(heartbeat_ms: u64) -> SimOptions {
    SimOptions {
        tick_interval: Duration::from_millis(50),
        heartbeat_interval: Duration::from_millis(heartbeat_ms),
        ..Default::default()
    }
}

/// Over a real socket: the connector answers every test_request through `FrameKind::Respond`,
/// so the sim, which closes on an unanswered one, keeps the one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_answers_test_requests_and_keeps_its_connection() {
    let sim = venue(KIND).start_sim(sim_options(100)).await.unwrap();
    let table = SymbolTable::new(
        venue(KIND)
            .sample_symbols()
            .iter()
            .map(|s| InstrumentSpec {
                venue_symbol: (*s).to_owned(),
                stream: format!("ticker:{s}"),
            })
            .collect(),
    );
    let mut c = StreamingConnector::new("deribit-hb", 0, venue(KIND), Some(&sim.ws_url), table);
    c.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(500));
    let stats = c.stats.clone();
    let (tx, mut rx) = outbox::channel(4096);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run_streaming(
        c,
        Outbox::new(tx, stats.conflated.clone()),
        cancel.clone(),
    ));
    // 15 heartbeat intervals: about 7 test_requests, each to be answered within one interval.
    let t0 = Instant::now();
    let mut quotes = 0;
    while t0.elapsed() < Duration::from_millis(1500) {
        if let Ok(Some(o)) = tokio::time::timeout(Duration::from_millis(20), rx.recv()).await {
            quotes += usize::from(matches!(o, Observation::Quote(_)));
        }
    }
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("stops on cancel")
        .unwrap();
    let ctl = &sim.control;
    assert_eq!(
        ctl.connections(),
        1,
        "the sim closed an unanswering connection"
    );
    assert_eq!(ConnectorStats::get(&stats.reconnects), 0);
    // Two subscribe messages, then one public/test per test_request.
    assert!(
        ctl.client_messages() >= 2 + 5,
        "{} client messages",
        ctl.client_messages()
    );
    assert!(ConnectorStats::get(&stats.heartbeats) >= 5);
    assert!(quotes > 10, "{quotes} quotes");
}

/// A client that never answers is cut off, as Deribit does: a test_request, then a close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sim_closes_a_connection_that_ignores_test_requests() {
    let sim = venue(KIND).start_sim(sim_options(100)).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url.as_str())
        .await
        .unwrap();
    let set =
        r#"{"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":10}}"#;
    ws.send(Message::Text(set.into())).await.unwrap();
    let mut test_request_at = None;
    let closed_at = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) if t.contains("test_request") => {
                    test_request_at.get_or_insert_with(Instant::now);
                }
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Instant::now()
    })
    .await
    .expect("the sim kept a connection that ignored its test_request");
    let asked = test_request_at.expect("a test_request before the close");
    assert!(
        closed_at.duration_since(asked) >= Duration::from_millis(90),
        "closed before the client had an interval to answer"
    );
}
