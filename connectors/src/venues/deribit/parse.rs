//! Deribit frames -> quotes, account summaries and `user.portfolio` pushes -> balances. Pure:
//! no clock, no I/O.
//!
//! # Balances (`private/get_account_summaries` and `user.portfolio.{currency}`, same mapping)
//!
//! Per currency summary:
//! - `total` = `balance`, the wallet balance (cash: deposits, withdrawals, transfers, fees and
//!   realised P&L), what the account holds as collateral whatever its positions do; `equity`
//!   (with unrealised P&L and option value) moves with the market and is not used;
//! - `available` = `available_withdrawal_funds` (what can be withdrawn now: the margin in use
//!   is not in it), clamped to `[0, balance]`; without it, `balance − initial_margin`;
//!   `locked` = `balance − available`: initial margin of positions and open orders, spot and
//!   other reserves (see [`super::super::split_held`]). The real reply in the fixtures has BTC
//!   `balance` 302.60065765 and `available_withdrawal_funds` 301.35396172, so 1.24669593 is
//!   held, next to `initial_margin` 1.24669592;
//! - `unrealized_pnl` = `session_upl`, the unrealized P&L since the last daily settlement (which
//!   books the futures' P&L into `balance`), beside `balance`;
//! - `as_of` = the REST reply's `usOut` (Deribit's time of the reply); the push has no
//!   timestamp, so `None`. Freshness is the confirmation time `received_at`, set by the
//!   transport; nothing here ages or drops a row;
//! - numbers are JSON numbers, read from their text (never through `f64`); currency codes
//!   pass through unmapped.

use super::wire::{Frame, RpcError};
use super::{split_name, ID_SET_HEARTBEAT, ID_SUBSCRIBE, ID_TEST, KIND, TEST_REPLY};
use crate::error::{excerpt, ParseError};
use crate::traits::{FrameKind, ParsedQuote};
use schemas::Ts;
use serde_json::value::RawValue;

pub fn parse(frame: &str, emit: &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError> {
    match super::fast::ticker(frame) {
        Some(f) => frame_kind(f, frame, emit),
        None => parse_serde(frame, emit),
    }
}

/// [`parse`] without the ticker fast path: serde_json for every frame. Public for the
/// equivalence tests and benches.
pub fn parse_serde(
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    let f: Frame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    frame_kind(f, frame, emit)
}

/// One frame (of either path) -> a quote, a reply to send, a control frame or an error.
fn frame_kind(
    f: Frame<'_>,
    frame: &str,
    emit: &mut dyn FnMut(ParsedQuote<'_>),
) -> Result<FrameKind, ParseError> {
    if let Some(e) = &f.error {
        return Ok(FrameKind::VenueError(refusal(e, f.id)));
    }
    match f.method.as_deref() {
        Some("subscription") => {
            let p = f.params.unwrap_or_default();
            let Some(channel) = p.channel else {
                return Err(ParseError::malformed(
                    KIND,
                    "notification without channel",
                    frame,
                ));
            };
            // Other channels (book, trades, index) are not ours to read on this connection.
            let Some(t) = p.ticker else {
                return Ok(FrameKind::Control);
            };
            let Some(symbol) = t.instrument_name else {
                return Err(ParseError::malformed(
                    KIND,
                    format!("{channel} without instrument_name"),
                    frame,
                ));
            };
            // Options and combos quote in the base coin (0.2335 BTC for a put): never a quote,
            // even by mistake of a subscription.
            if split_name(&symbol).is_err() {
                return Ok(FrameKind::Control);
            }
            emit(ParsedQuote {
                symbol,
                bid: t.best_bid_price,
                ask: t.best_ask_price,
                bid_size: t.best_bid_amount,
                ask_size: t.best_ask_amount,
                last: t.last_price,
                mark: t.mark_price,
                index: t.index_price,
                volume_24h: t.stats.and_then(|s| s.volume),
                exchange_ts: t.timestamp.map(Ts::from_millis),
                ..Default::default()
            });
            Ok(FrameKind::Data)
        }
        Some("heartbeat") => match f.params.and_then(|p| p.kind).as_deref() {
            Some("test_request") => Ok(FrameKind::Respond(TEST_REPLY.to_owned())),
            Some("heartbeat") => Ok(FrameKind::Heartbeat),
            _ => Err(ParseError::malformed(
                KIND,
                "heartbeat of unknown type",
                frame,
            )),
        },
        // Notifications we never asked for: nothing to do with them, nothing wrong either.
        Some(_) => Ok(FrameKind::Control),
        // Replies to our requests (subscribe list, "ok", public/test's version).
        None if f.result.is_some() || f.id.is_some() => Ok(FrameKind::Control),
        None => Err(ParseError::Unknown {
            venue: KIND,
            payload: excerpt(frame),
        }),
    }
}

/// `public/subscribe: code -32602: Invalid params {"param":"channels",...}`: names the request
/// by the id we gave it, so an operator sees what was refused.
fn refusal(e: &RpcError<'_>, id: Option<&RawValue>) -> String {
    let id = id.map(RawValue::get);
    let request = match id.and_then(|i| i.parse::<u64>().ok()) {
        Some(ID_SET_HEARTBEAT) => "public/set_heartbeat",
        Some(ID_SUBSCRIBE) => "public/subscribe",
        Some(ID_TEST) => "public/test",
        Some(super::ID_AUTH) => "public/auth",
        Some(super::ID_PRIVATE_SUBSCRIBE) => "private/subscribe",
        _ => id.unwrap_or("request"),
    };
    let code = e.code.map_or_else(|| "?".to_owned(), |c| c.to_string());
    let message = e.message.as_deref().unwrap_or("error");
    match e.data {
        Some(d) => format!("{request}: code {code}: {message} {}", excerpt(d.get())),
        None => format!("{request}: code {code}: {message}"),
    }
}

/// `private/get_account_summaries` -> one balance per currency (mapping in the module doc).
pub fn parse_account_summaries(
    body: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let r: super::wire::AccountSummariesReply<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if let Some(e) = &r.error {
        return Err(ParseError::Venue {
            venue: KIND,
            message: refusal(e, None),
        });
    }
    let Some(summaries) = r.result.and_then(|res| res.summaries) else {
        return Err(ParseError::malformed(
            KIND,
            "reply without result.summaries",
            body,
        ));
    };
    let as_of = r.us_out.map(Ts::from_micros);
    // Every summary is checked before any is emitted: a reply is taken whole or not at all, so
    // an account is never published half updated.
    let mut out = Vec::with_capacity(summaries.len());
    for s in summaries {
        let (Some(currency), Some(total)) = (s.currency.clone(), s.balance) else {
            return Err(ParseError::malformed(
                KIND,
                "summary without currency or balance",
                body,
            ));
        };
        out.push(summary_balance(currency, total, &s, as_of));
    }
    for b in out {
        emit(b);
    }
    Ok(None)
}

/// The balance of one currency summary, shared by REST and the `user.portfolio` stream so both
/// map the same fields the same way (see [`parse_account_summaries`]).
fn summary_balance<'a>(
    currency: std::borrow::Cow<'a, str>,
    total: rust_decimal::Decimal,
    s: &super::wire::CurrencySummary<'_>,
    as_of: Option<Ts>,
) -> crate::transport::rest::ParsedBalance<'a> {
    // What can leave the account now; without it, the balance less the margin in use.
    let held = match s.available_withdrawal_funds {
        Some(_) => None,
        None => s.initial_margin,
    };
    let (available, locked) = super::super::split_held(total, s.available_withdrawal_funds, held);
    crate::transport::rest::ParsedBalance {
        venue_asset: currency,
        total,
        available,
        locked,
        as_of,
        unrealized_pnl: s.session_upl,
        ..Default::default()
    }
}

/// One frame of the private stream (`user.portfolio.{currency}` after `public/auth`) ->
/// the currency's balance, mapped as [`parse_account_summaries`] maps a summary (`total` =
/// `balance`; the notification has no timestamp, so `as_of` is `None`).
/// Replies to `public/auth`, `public/set_heartbeat` and `private/subscribe` are `Control` (the
/// loop's acks); the `public/test` reply, heartbeats and other notifications are `Heartbeat`;
/// a `test_request` is answered through `Respond`; an error reply is a `VenueError` naming the
/// request (`public/auth: code 13009: unauthorized`).
pub fn parse_portfolio_stream(
    frame: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<FrameKind, ParseError> {
    let f: super::wire::PrivateFrame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if let Some(e) = &f.error {
        return Ok(FrameKind::VenueError(refusal(e, f.id)));
    }
    match f.method.as_deref() {
        Some("subscription") => {
            let Some(p) = f.params else {
                return Err(ParseError::malformed(
                    KIND,
                    "notification without params",
                    frame,
                ));
            };
            if !p
                .channel
                .as_deref()
                .is_some_and(|c| c.starts_with("user.portfolio."))
            {
                return Ok(FrameKind::Heartbeat);
            }
            let Some(data) = p.data else {
                return Err(ParseError::malformed(KIND, "portfolio without data", frame));
            };
            let s: super::wire::Portfolio<'_> = serde_json::from_str(data.get())
                .map_err(|e| ParseError::malformed(KIND, e, frame))?;
            let (Some(currency), Some(total)) = (s.currency.clone(), s.balance) else {
                return Err(ParseError::malformed(
                    KIND,
                    "portfolio without currency or balance",
                    frame,
                ));
            };
            emit(summary_balance(currency, total, &s, None));
            Ok(FrameKind::Data)
        }
        Some("heartbeat") => match f.params.and_then(|p| p.kind).as_deref() {
            Some("test_request") => Ok(FrameKind::Respond(TEST_REPLY.to_owned())),
            Some("heartbeat") => Ok(FrameKind::Heartbeat),
            _ => Err(ParseError::malformed(
                KIND,
                "heartbeat of unknown type",
                frame,
            )),
        },
        Some(_) => Ok(FrameKind::Heartbeat),
        // Our answer to a test_request comes back as a reply too: not an ack.
        None if f.id.is_some_and(|i| i.get() == ID_TEST.to_string()) => Ok(FrameKind::Heartbeat),
        None if f.result.is_some() || f.id.is_some() => Ok(FrameKind::Control),
        None => Err(ParseError::Unknown {
            venue: KIND,
            payload: excerpt(frame),
        }),
    }
}
