//! Coinbase frames -> quotes, the accounts body -> balances. Pure: no clock, no I/O.
//!
//! # Balances (`GET /api/v3/brokerage/accounts`)
//!
//! Per account (one currency; docs "List Accounts": `available_balance`, `hold`, `updated_at`):
//! - `available` = `available_balance.value`, `locked` = `hold.value` (open orders, pending
//!   withdrawals and transfers), `total` = their sum: exact by construction;
//! - `as_of` = `updated_at` (RFC 3339), the account's last change; a dormant wallet's can be
//!   months old and is still its balance now. Freshness is the confirmation time
//!   `received_at`, set by the transport; nothing here ages or drops a row by `updated_at`;
//! - `sub_account` = `retail_portfolio_id`; currency codes pass through unmapped.

use super::wire::Envelope;
use super::KIND;
use crate::error::ParseError;
use crate::traits::{FrameKind, ParsedQuote};
use schemas::Ts;

pub fn parse(frame: &str, emit: &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError> {
    let env: Envelope<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if env.kind.as_deref() == Some("error") {
        return Ok(FrameKind::VenueError(
            env.message.as_deref().unwrap_or("error").to_owned(),
        ));
    }
    match env.channel.as_deref() {
        Some("heartbeats") => Ok(FrameKind::Heartbeat),
        Some("ticker") | Some("ticker_batch") => {
            // The envelope time is the venue's event time (RFC 3339 with nanoseconds).
            let ts = match env.timestamp.as_deref() {
                Some(t) => Some(Ts::parse_rfc3339(t).ok_or_else(|| {
                    ParseError::malformed(KIND, format!("bad timestamp {t:?}"), frame)
                })?),
                None => None,
            };
            let mut n = 0;
            for ev in env.events {
                for t in ev.tickers {
                    n += 1;
                    emit(ParsedQuote {
                        symbol: t.product_id,
                        bid: t.best_bid,
                        ask: t.best_ask,
                        bid_size: t.best_bid_quantity,
                        ask_size: t.best_ask_quantity,
                        last: t.price,
                        volume_24h: t.volume_24_h,
                        exchange_ts: ts,
                        sequence: env.sequence_num,
                        ..Default::default()
                    });
                }
            }
            Ok(if n > 0 {
                FrameKind::Data
            } else {
                FrameKind::Control
            })
        }
        Some(_) => Ok(FrameKind::Control),
        None => Err(ParseError::Unknown {
            venue: KIND,
            payload: crate::error::excerpt(frame),
        }),
    }
}

/// `GET /api/v3/brokerage/accounts` -> balances (mapping in the module doc). Returns the next
/// page's cursor when `has_next`. Every account of the page is checked before any is emitted.
pub fn parse_accounts(
    body: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let r: super::wire::Accounts<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if let Some(e) = r.error {
        return Err(ParseError::Venue {
            venue: KIND,
            message: format!("{e}: {}", r.message.as_deref().unwrap_or("")),
        });
    }
    let Some(accounts) = r.accounts else {
        return Err(ParseError::malformed(KIND, "no accounts", body));
    };
    let mut out = Vec::with_capacity(accounts.len());
    for a in accounts {
        let (Some(avail), Some(hold)) = (
            a.available_balance.and_then(|v| v.value),
            a.hold.and_then(|v| v.value),
        ) else {
            return Err(ParseError::malformed(
                KIND,
                "account without available_balance/hold",
                body,
            ));
        };
        let as_of = match a.updated_at.as_deref() {
            None | Some("") => None,
            Some(t) => Some(Ts::parse_rfc3339(t).ok_or_else(|| {
                ParseError::malformed(KIND, format!("bad updated_at {t:?}"), body)
            })?),
        };
        out.push(crate::transport::rest::ParsedBalance {
            venue_asset: a.currency,
            total: avail + hold,
            available: Some(avail),
            locked: Some(hold),
            sub_account: a.retail_portfolio_id,
            as_of,
            ..Default::default()
        });
    }
    let next = match r.cursor {
        Some(c) if r.has_next && !c.is_empty() => Some(c.into_owned()),
        _ if r.has_next => {
            return Err(ParseError::malformed(KIND, "has_next without cursor", body))
        }
        _ => None,
    };
    for b in out {
        emit(b);
    }
    Ok(next)
}
