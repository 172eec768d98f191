//! Bybit v5 public frames -> quotes, private frames and REST bodies -> balances. Pure: no
//! clock, no I/O.
//!
//! # Balances (`GET /v5/account/wallet-balance` and the private `wallet` topic, same mapping)
//!
//! Per coin of `list[].coin[]` (docs "Get Wallet Balance"):
//! - `total` = `walletBalance` ("wallet balance of coin"); `borrowed` = `borrowAmount`;
//!   `wallet` = the account's `accountType`;
//! - held = `locked` ("locked balance due to the Spot open order") + `totalOrderIM`
//!   ("pre-occupied margin for order") + `totalPositionIM` ("sum of initial margin of all
//!   positions + pre-occupied liquidation fee"), each `""` counted as absent;
//!   `available` = `walletBalance − held`, further capped by `availableToWithdraw` when Bybit
//!   fills it (it is `""` for unified accounts since its deprecation), clamped to
//!   `[0, walletBalance]`; `locked` = `total − available` (exact; see
//!   [`super::super::split_held`]). Margin of a position settled in this coin is never
//!   counted as free, and with cross-collateral margin above the coin's own balance nothing of
//!   it is free. With none of these fields (portfolio margin mode gives `""`) both stay `None`;
//! - `as_of` = the REST response's `time` / the push's `creationTime`: Bybit's time of the
//!   snapshot (Bybit gives no per-coin last-change time). Freshness is the confirmation time
//!   `received_at`, set by the transport; nothing here ages or drops a row;
//! - `unrealized_pnl` = the coin's `unrealisedPnl` (P&L of the positions settled in it);
//! - coin codes are passed through unmapped; `""` is "not applicable": `None`, never 0.

use super::wire::{BookSide, Data, Frame};
use super::Category;
use crate::error::{excerpt, ParseError};
use crate::traits::{FrameKind, Merge, ParsedQuote};
use rust_decimal::Decimal;
use schemas::Ts;

pub fn parse(
    frame: &str,
    category: Category,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    match super::fast::ticker(frame) {
        Some(f) => frame_kind(f, frame, category, emit),
        None => parse_serde(frame, category, emit),
    }
}

/// [`parse`] without the ticker fast path: serde_json for every frame. Public for the
/// equivalence tests and benches.
pub fn parse_serde(
    frame: &str,
    category: Category,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    let f: Frame<'_> = serde_json::from_str(frame)
        .map_err(|e| ParseError::malformed(category.kind(), e, frame))?;
    frame_kind(f, frame, category, emit)
}

/// One frame (of either path) -> quotes, a control frame or an error.
fn frame_kind(
    f: Frame<'_>,
    frame: &str,
    category: Category,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    let venue = category.kind();
    if f.success == Some(false) {
        let msg = f.ret_msg.as_deref().filter(|m| !m.is_empty());
        return Ok(FrameKind::VenueError(
            msg.map_or_else(|| excerpt(frame), str::to_owned),
        ));
    }
    if f.kind.as_deref() == Some("COMMAND_RESP") {
        // Option-style replies list refused topics instead of failing the whole request.
        let failed = f.data.and_then(|d| d.fail_topics).unwrap_or_default();
        return Ok(if failed.is_empty() {
            FrameKind::Control
        } else {
            FrameKind::VenueError(format!("subscribe failed for {}", failed.join(", ")))
        });
    }
    if let Some(op) = f.op.as_deref() {
        // Spot and linear answer a ping with `op:"ping"`, option and private with `op:"pong"`.
        return Ok(match op {
            "ping" | "pong" => FrameKind::Heartbeat,
            _ => FrameKind::Control, // subscribe / unsubscribe / auth acks
        });
    }
    let Some(topic) = f.topic.as_deref() else {
        return Err(ParseError::Unknown {
            venue,
            payload: excerpt(frame),
        });
    };
    let is_ticker = topic.starts_with("tickers.");
    // Only depth 1: in a deeper book's delta the first non-zero level is not the best.
    let is_book = topic.starts_with("orderbook.1.");
    if !is_ticker && !is_book {
        return Ok(FrameKind::Control); // other topics on the connection are not quotes
    }
    let Some(data) = f.data else {
        return Err(ParseError::malformed(
            venue,
            "push without a data object",
            frame,
        ));
    };
    let delta = match f.kind.as_deref() {
        Some("snapshot") => false,
        Some("delta") => true,
        _ => {
            return Err(ParseError::malformed(
                venue,
                "type is not snapshot/delta",
                frame,
            ))
        }
    };
    let exchange_ts = f.ts.map(Ts::from_millis);
    let quote = if is_ticker {
        ticker(data, category, delta, f.cs, exchange_ts)
    } else {
        book(data, delta, exchange_ts)
    };
    let Some(quote) = quote else {
        return Err(ParseError::malformed(venue, "push without a symbol", frame));
    };
    emit(quote);
    Ok(FrameKind::Data)
}

fn ticker(
    d: Data<'_>,
    category: Category,
    delta: bool,
    cs: Option<u64>,
    exchange_ts: Option<Ts>,
) -> Option<ParsedQuote<'_>> {
    let (merge, sequence) = match category {
        // A linear ticker is the whole quote: a snapshot, then deltas of what changed.
        Category::Linear if delta => (Merge::Delta, cs),
        Category::Linear => (Merge::Full, cs),
        // A spot ticker adds last price and volume to the book's quote; the book's `seq` is the
        // symbol's numbering (see `BybitSpot::sequencing`).
        Category::Spot => (Merge::Patch, None),
    };
    Some(ParsedQuote {
        symbol: d.symbol?,
        bid: d.bid1_price,
        ask: d.ask1_price,
        bid_size: d.bid1_size,
        ask_size: d.ask1_size,
        last: d.last_price,
        mark: d.mark_price,
        index: d.index_price,
        volume_24h: d.volume_24h,
        exchange_ts,
        sequence,
        merge,
    })
}

fn book(d: Data<'_>, delta: bool, exchange_ts: Option<Ts>) -> Option<ParsedQuote<'_>> {
    let best = |side: Option<BookSide>| side.and_then(|s| s.best);
    let (bid, bid_size) = split(best(d.b));
    let (ask, ask_size) = split(best(d.a));
    // A delta side with only removals (the side emptied) reads as "unchanged": a delta merge
    // cannot clear a field, so the last price stays until the next snapshot. Bybit's depth-1
    // view shows the next level when the best leaves, so this needs a side with no orders.
    Some(ParsedQuote {
        symbol: d.s?,
        bid,
        ask,
        bid_size,
        ask_size,
        exchange_ts,
        sequence: d.seq,
        merge: if delta { Merge::Delta } else { Merge::Full },
        ..Default::default()
    })
}

fn split(level: Option<(Decimal, Decimal)>) -> (Option<Decimal>, Option<Decimal>) {
    level.map_or((None, None), |(p, q)| (Some(p), Some(q)))
}

/// `GET /v5/account/wallet-balance` -> balances (see [`super::BybitBalances`] for the mapping).
pub fn parse_wallet_balance(
    body: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    const KIND: &str = super::BALANCES;
    let r: super::wire::WalletResponse<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if r.ret_code != 0 {
        return Err(ParseError::Venue {
            venue: KIND,
            message: format!(
                "retCode {}: {}",
                r.ret_code,
                redact_origin(r.ret_msg.as_deref().unwrap_or(""))
            ),
        });
    }
    let Some(result) = r.result else {
        return Err(ParseError::malformed(
            KIND,
            "retCode 0 without result",
            body,
        ));
    };
    let as_of = r.time.map(Ts::from_millis);
    for b in wallet_balances(KIND, result.list, as_of, body)? {
        emit(b);
    }
    Ok(None)
}

/// The per-coin mapping shared by the REST response and the private `wallet` topic, so both
/// give the same balances for the same account. Everything is checked before anything is
/// returned: a bad coin must not leave the account half published.
pub(super) fn wallet_balances<'a>(
    venue: &'static str,
    accounts: Vec<super::wire::WalletAccount<'a>>,
    as_of: Option<Ts>,
    frame: &str,
) -> Result<Vec<crate::transport::rest::ParsedBalance<'a>>, ParseError> {
    let mut out = Vec::new();
    for account in accounts {
        for c in account.coin {
            let Some(total) = c.wallet_balance else {
                return Err(ParseError::malformed(
                    venue,
                    "coin without walletBalance",
                    frame,
                ));
            };
            // Spot-order locks and order / position initial margin are all held; a coin with
            // none of the three given (portfolio margin: `""`) falls back to what Bybit says
            // can be withdrawn.
            let held = [c.locked, c.total_order_im, c.total_position_im]
                .into_iter()
                .flatten()
                .reduce(|a, b| a + b);
            let (available, locked) =
                super::super::split_held(total, c.available_to_withdraw, held);
            out.push(crate::transport::rest::ParsedBalance {
                venue_asset: c.coin,
                total,
                available,
                locked,
                borrowed: c.borrow_amount,
                wallet: account.account_type.clone(),
                as_of,
                unrealized_pnl: c.unrealised_pnl,
                ..Default::default()
            });
        }
    }
    Ok(out)
}

/// One frame of the private stream (`wss://stream.bybit.com/v5/private`) -> balances of the
/// `wallet` topic, mapped exactly as the REST wallet balance (`creationTime` is `as_of`).
/// Auth and subscribe acks are `Control`, pongs `Heartbeat`; a refusal (`success:false`) is a
/// `VenueError` naming the op (`auth failed: Params Error`).
pub fn parse_wallet_stream(
    frame: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<FrameKind, ParseError> {
    const KIND: &str = super::BALANCES;
    let f: super::wire::PrivateFrame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    let op = f.op.as_deref().unwrap_or("");
    if f.success == Some(false) {
        let msg = redact_origin(f.ret_msg.as_deref().unwrap_or(""));
        let what = if op.is_empty() { "request" } else { op };
        return Ok(FrameKind::VenueError(format!("{what} failed: {msg}")));
    }
    match op {
        "" => {}
        "ping" | "pong" => return Ok(FrameKind::Heartbeat),
        _ => return Ok(FrameKind::Control), // auth / subscribe / unsubscribe acks
    }
    match f.topic.as_deref() {
        Some("wallet") => {
            let as_of = f.creation_time.map(Ts::from_millis);
            let accounts = f.data.unwrap_or_default();
            for b in wallet_balances(KIND, accounts, as_of, frame)? {
                emit(b);
            }
            Ok(FrameKind::Data)
        }
        Some(_) => Ok(FrameKind::Control), // a topic we did not ask for
        None => Err(ParseError::malformed(KIND, "neither op nor topic", frame)),
    }
}

/// Bybit's signature refusal quotes the string that was signed (`error sign!
/// origin_string[<timestamp><api key><recv_window><query>]`), which holds the API key: it is cut
/// before the message can reach a status record or a log.
pub(super) fn redact_origin(msg: &str) -> std::borrow::Cow<'_, str> {
    match msg.find("origin_string[") {
        Some(i) => format!("{}origin_string[<redacted>]", &msg[..i]).into(),
        None => msg.into(),
    }
}
