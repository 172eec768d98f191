//! Kraken v2 frames -> quotes, private REST bodies and `balances` frames -> balances. Pure: no
//! clock, no I/O.
//!
//! # Balances
//!
//! `POST /0/private/BalanceEx`, per asset code (docs: `balance`, `hold_trade` (held by open
//! orders), `credit`, `credit_used`; "available balance = balance + credit − credit_used −
//! hold_trade"):
//! - `total` = `balance`;
//! - `available` = the smaller of Kraken's available figure and `balance − hold_trade`
//!   (unused credit is lent, not owned, so it is never free collateral), clamped to
//!   `[0, balance]`; `locked` = `total − available` (see [`super::super::split_held`]);
//! - a code with a suffix `.S` (staked), `.B` (bonded / yield bearing), `.M` (opt-in
//!   rewards), `.F` (auto earn), `.P` (parachain) is the base asset held in that earn wallet
//!   (`wallet` names it, [`SUFFIX_WALLETS`]): all of it is `locked`, `available` = 0;
//! - `Balance` (the older endpoint) gives a total only: `available` / `locked` stay `None` for
//!   spot codes (nothing tells what is held), suffixed codes are held as above;
//! - no time: `as_of` = `None`; freshness is the confirmation time `received_at`.
//!
//! The private WS v2 `balances` channel: the spot wallet's `balance` only (no hold), so
//! `available` / `locked` stay `None` (the next BalanceEx poll brings the split); `as_of` is the
//! ledger entry's `timestamp` for an update (the time of that change, however old), `None` for
//! a snapshot. Freshness is `received_at`; nothing here ages or drops a row. Asset codes pass
//! through unmapped (after the suffix split).

use super::wire::Message;
use super::KIND;
use crate::error::ParseError;
use crate::traits::{FrameKind, ParsedQuote};
use schemas::Ts;

pub fn parse(frame: &str, emit: &mut dyn FnMut(ParsedQuote<'_>)) -> Result<FrameKind, ParseError> {
    let m: Message<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if m.success == Some(false) {
        return Ok(FrameKind::VenueError(
            m.error.as_deref().unwrap_or("request failed").to_owned(),
        ));
    }
    if m.method.is_some() {
        return Ok(FrameKind::Control); // subscribe acks, pongs
    }
    match m.channel.as_deref() {
        Some("heartbeat") => Ok(FrameKind::Heartbeat),
        Some("ticker") => {
            let mut n = 0;
            for t in m.data.into_iter().flatten() {
                let Some(symbol) = t.symbol else {
                    return Err(ParseError::malformed(KIND, "ticker without symbol", frame));
                };
                let exchange_ts = match t.timestamp.as_deref() {
                    Some(s) => Some(Ts::parse_rfc3339(s).ok_or_else(|| {
                        ParseError::malformed(KIND, format!("bad timestamp {s:?}"), frame)
                    })?),
                    None => None,
                };
                n += 1;
                emit(ParsedQuote {
                    symbol,
                    bid: t.bid,
                    ask: t.ask,
                    bid_size: t.bid_qty,
                    ask_size: t.ask_qty,
                    last: t.last,
                    volume_24h: t.volume,
                    exchange_ts,
                    ..Default::default()
                });
            }
            Ok(if n > 0 {
                FrameKind::Data
            } else {
                FrameKind::Control
            })
        }
        Some(_) => Ok(FrameKind::Control), // status and other channels
        None => Err(ParseError::Unknown {
            venue: KIND,
            payload: crate::error::excerpt(frame),
        }),
    }
}

/// Kraken's balance-code suffixes and the `wallet` each becomes. The part before the dot is the
/// asset (`XBT.M` is BTC held in opt-in rewards), so the balance is valued as that asset while
/// `wallet` keeps it apart from the spot balance of the same asset (Kraken: these balances are
/// read-only, to trade them use the base asset). Source: BalanceEx docs "Symbol Extensions" and
/// Kraken support "What is Asset.S and Asset.M". A suffix not listed here (`.T`, tokenized
/// assets) is left in the code, so the asset master refuses it rather than guessing.
pub const SUFFIX_WALLETS: &[(&str, &str)] = &[
    ("S", "staked"),
    ("M", "opt_in_rewards"),
    ("F", "auto_earn"),
    ("B", "yield_bearing"),
    ("P", "parachain"),
];

/// `XBT.M` -> (`XBT`, Some("opt_in_rewards")); `XXBT` -> (`XXBT`, None).
pub fn split_suffix(code: &str) -> (&str, Option<&'static str>) {
    if let Some((base, suffix)) = code.rsplit_once('.') {
        if let Some((_, wallet)) = SUFFIX_WALLETS.iter().find(|(s, _)| *s == suffix) {
            if !base.is_empty() {
                return (base, Some(wallet));
            }
        }
    }
    (code, None)
}

/// `POST /0/private/BalanceEx` (or `/0/private/Balance`) -> balances, one per asset code
/// (mapping in the module doc).
/// A non-empty `error` array is `ParseError::Venue` (Kraken refuses with HTTP 200).
pub fn parse_balances(
    body: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let r: super::wire::BalanceReply<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if !r.error.is_empty() {
        return Err(ParseError::Venue {
            venue: KIND,
            message: r.error.join("; "),
        });
    }
    let Some(result) = r.result else {
        return Err(ParseError::malformed(KIND, "no result and no error", body));
    };
    for (code, raw) in result.0 {
        let bad = |field: &'static str| ParseError::BadNumber {
            venue: KIND,
            field,
            value: crate::error::excerpt(raw.get()),
        };
        let (total, available, locked) = if raw.get().starts_with('{') {
            let e: super::wire::BalanceEx = serde_json::from_str(raw.get())
                .map_err(|e| ParseError::malformed(KIND, e, body))?;
            let total = e.balance.ok_or_else(|| bad("balance"))?;
            // Kraken's own available figure counts unused credit (money lent, not owned);
            // `balance − hold_trade` never does, and `split_held` takes the smaller.
            let venue_available = e.hold_trade.map(|h| {
                total + e.credit.unwrap_or_default() - e.credit_used.unwrap_or_default() - h
            });
            let (available, locked) =
                super::super::split_held(total, venue_available, e.hold_trade);
            (total, available, locked)
        } else {
            let text = raw.get();
            let text = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(text);
            let total = crate::decimal::parse_decimal(text).ok_or_else(|| bad("balance"))?;
            (total, None, None)
        };
        let (asset, wallet) = match code {
            std::borrow::Cow::Borrowed(c) => {
                let (a, w) = split_suffix(c);
                (std::borrow::Cow::Borrowed(a), w)
            }
            std::borrow::Cow::Owned(c) => {
                let (a, w) = split_suffix(&c);
                (std::borrow::Cow::Owned(a.to_owned()), w)
            }
        };
        // Staked, bonded, earn and parachain balances cannot be withdrawn or traded as they
        // are: all of it is held.
        let (available, locked) = if wallet.is_some() {
            super::super::split_held(total, Some(rust_decimal::Decimal::ZERO), None)
        } else {
            (available, locked)
        };
        emit(crate::transport::rest::ParsedBalance {
            venue_asset: asset,
            total,
            available,
            locked,
            wallet: wallet.map(std::borrow::Cow::Borrowed),
            ..Default::default()
        });
    }
    Ok(None)
}

/// `POST /0/private/GetWebSocketsToken` -> the token; a non-empty `error` array is
/// `ParseError::Venue` (`EAPI:Invalid key`), as for [`parse_balances`].
pub fn parse_ws_token(body: &str) -> Result<crate::auth::Secret, ParseError> {
    // The body is never quoted in an error: it may hold a token.
    let r: super::wire::TokenReply<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::Malformed {
            venue: KIND,
            reason: format!("GetWebSocketsToken reply: {e}"),
            payload: String::new(),
        })?;
    if !r.error.is_empty() {
        return Err(ParseError::Venue {
            venue: KIND,
            message: r.error.join("; "),
        });
    }
    match r.result.and_then(|t| t.token) {
        Some(t) if !t.is_empty() => Ok(crate::auth::Secret::new(t)),
        _ => Err(ParseError::Malformed {
            venue: KIND,
            reason: "no result.token and no error".into(),
            payload: String::new(),
        }),
    }
}

/// Whether a `balances` wallet is the spot wallet, the one REST `BalanceEx` reports under the
/// asset's own code. Earn wallets are left to REST, which reports them under suffixed codes
/// (`DOT.S`, `XBT.M`); Kraken documents no mapping from a WS wallet id to a REST suffix, and a
/// guess would count one holding twice under two wallet names.
fn is_spot(kind: Option<&str>, id: Option<&str>) -> bool {
    matches!(kind, None | Some("spot")) && matches!(id, None | Some("main"))
}

/// One frame of the private v2 socket (`wss://ws-auth.kraken.com/v2`) -> balances of the
/// `balances` channel, mapped as [`parse_balances`] maps `BalanceEx`: the asset code through
/// [`split_suffix`], `total` = the spot wallet's balance; the channel carries no hold, so
/// `available` and `locked` stay `None` (the next poll brings them back).
///
/// Snapshot: per asset, the `spot`/`main` wallet's `balance` (an asset without `wallets`,
/// the channel's first format, is all spot). Update: per ledger entry in the spot wallet, its
/// `balance` (the absolute balance after the entry, never the `amount` added), as of the
/// entry's `timestamp`. The subscribe ack is `Control`; `heartbeat` and `status` are
/// `Heartbeat` (not acks); a refusal (`"success":false`) is a `VenueError` with Kraken's
/// `error` (`ESession:Invalid session`).
pub fn parse_balances_stream(
    frame: &str,
    emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
) -> Result<FrameKind, ParseError> {
    let m: super::wire::PrivateMessage<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if m.success == Some(false) {
        return Ok(FrameKind::VenueError(
            m.error.as_deref().unwrap_or("request failed").to_owned(),
        ));
    }
    match m.method.as_deref() {
        Some("pong") => return Ok(FrameKind::Heartbeat),
        Some(_) => return Ok(FrameKind::Control), // subscribe / unsubscribe acks
        None => {}
    }
    match m.channel.as_deref() {
        Some("balances") => {}
        Some(_) => return Ok(FrameKind::Heartbeat), // heartbeat, status: alive, not an ack
        None => {
            return Err(ParseError::Unknown {
                venue: KIND,
                payload: crate::error::excerpt(frame),
            })
        }
    }
    let snapshot = match m.kind.as_deref() {
        Some("snapshot") => true,
        Some("update") => false,
        _ => {
            return Err(ParseError::malformed(
                KIND,
                "balances of unknown type",
                frame,
            ))
        }
    };
    let items: Vec<super::wire::BalanceItem<'_>> = match m.data {
        Some(raw) => {
            serde_json::from_str(raw.get()).map_err(|e| ParseError::malformed(KIND, e, frame))?
        }
        None => Vec::new(),
    };
    // Every item is checked before any is emitted: a frame is taken whole or not at all.
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(code) = item.asset else {
            return Err(ParseError::malformed(KIND, "balance without asset", frame));
        };
        let (total, as_of) = if snapshot {
            let total = match &item.wallets {
                None => item.balance,
                Some(ws) => {
                    let spot: Vec<_> = ws
                        .iter()
                        .filter(|w| is_spot(w.kind.as_deref(), w.id.as_deref()))
                        .collect();
                    match spot.as_slice() {
                        [] => continue, // only earn wallets: REST reports them
                        [w] => w.balance,
                        _ => return Err(ParseError::malformed(KIND, "two spot wallets", frame)),
                    }
                }
            };
            (total, None)
        } else {
            if !is_spot(item.wallet_type.as_deref(), item.wallet_id.as_deref()) {
                continue;
            }
            let as_of = match item.timestamp.as_deref() {
                Some(s) => Some(Ts::parse_rfc3339(s).ok_or_else(|| {
                    ParseError::malformed(KIND, format!("bad timestamp {s:?}"), frame)
                })?),
                None => None,
            };
            (item.balance, as_of)
        };
        let Some(total) = total else {
            return Err(ParseError::BadNumber {
                venue: KIND,
                field: "balance",
                value: crate::error::excerpt(frame),
            });
        };
        let (asset, wallet) = match code {
            std::borrow::Cow::Borrowed(c) => {
                let (a, w) = split_suffix(c);
                (std::borrow::Cow::Borrowed(a), w)
            }
            std::borrow::Cow::Owned(c) => {
                let (a, w) = split_suffix(&c);
                (std::borrow::Cow::Owned(a.to_owned()), w)
            }
        };
        out.push(crate::transport::rest::ParsedBalance {
            venue_asset: asset,
            total,
            wallet: wallet.map(std::borrow::Cow::Borrowed),
            as_of,
            ..Default::default()
        });
    }
    for b in out {
        emit(b);
    }
    Ok(FrameKind::Data)
}
