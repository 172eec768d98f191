//! Binance USDⓈ-M futures balances and positions pushed over the user data stream
//! (`ACCOUNT_UPDATE`), beside the REST poll of [`super::BinanceUsdmBalances`] (kind
//! `binance_usdm`, same credentials), which stays the periodic truth that reconciles it.
//!
//! API docs: <https://developers.binance.com/docs/derivatives/usds-margined-futures/user-data-streams/Start-User-Data-Stream>
//! (`POST /fapi/v1/listenKey`, header `X-MBX-APIKEY`, no signature, weight 1; reply
//! `{"listenKey":"..."}`; an account with an active key gets that key back, its validity
//! extended), ".../user-data-streams/Connect" (`/ws/<listenKey>`; a key lives 60 minutes unless
//! kept alive with `PUT /fapi/v1/listenKey`; a connection lives at most 24 h) and
//! ".../user-data-streams/Event-Balance-and-Position-Update" (`ACCOUNT_UPDATE`). A wrong key is
//! refused as `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`.
//!
//! **Endpoint.** Since the 2026 base-URL split of `fstream.binance.com` (see [`super`]'s module
//! doc) user data rides the `/private` tier: `wss://fstream.binance.com/private/ws/<listenKey>`
//! (nautilus_trader's `BINANCE_FUTURES_USD_WS_PRIVATE_URL` = `wss://fstream.binance.com/private/ws`;
//! QuantConnect/Lean#9466 "update binance-fwebsocket-url to /private/ws", May 2026). The
//! configured URL is the base; [`BalanceStream::connect_url_with_token`] appends `/<listenKey>`.
//!
//! **Keep-alive.** The [`BalanceStream`] trait has no periodic REST hook, so no `PUT` is sent.
//! Instead every connection fetches a key first (`POST`, which also extends an active key by
//! 60 minutes), and when the key expires Binance pushes `listenKeyExpired`, which this parser
//! reports as [`FrameKind::Reconnect`]: the loop replaces the connection and fetches a key
//! again. Between the expiry and the new connection (a second or so) pushes can be missed; the
//! REST poll covers them. The 24 h connection limit is the server's close, handled the same way.
//! Ping: the server pings every 3 minutes and drops a connection silent for 10; the client
//! also sends a WebSocket ping every [`PING_EVERY`] so that a quiet account (no pushes for
//! minutes) still shows a live socket within the loop's idle timeout.
//!
//! **Balances** (`a.B[]`, [`parse`]): per asset, `total` = `wb` (wallet balance). The event
//! has no free figure (`cw`, the cross wallet balance, still holds the cross positions'
//! margin), so, conservatively, nothing is free: `available` 0 and `locked` = `wb` through
//! [`split_held`](super::super::split_held) until the next REST poll states what is free.
//! No unrealized P&L per asset (the positions carry theirs); `as_of` = `T` (transaction time),
//! else `E`.
//!
//! **Positions** (`a.P[]`, [`parse_positions`]): each row is a pushed update (`scope: None`),
//! only the symbols that changed; `pa` (signed amount) 0 closes the position (side `Flat`,
//! size 0, no entry price: the venue writes `ep` "0.00000" there); `ps` `BOTH` is one-way,
//! `LONG`/`SHORT` hedge mode; `ep` entry price, `up`
//! unrealized P&L in the symbol's quote asset, `mt` margin mode; no mark or liquidation price
//! (REST `positionRisk` brings them). Instruments as in [`super::account`]. The account totals
//! (margin) are not in the event: REST only. Other events (`ORDER_TRADE_UPDATE`,
//! `TRADE_LITE`, `ACCOUNT_CONFIG_UPDATE`, `MARGIN_CALL`) are control traffic here.

use super::account::instrument_of;
use super::KIND;
use crate::account::{side_of, AccountItem, ParsedPosition};
use crate::auth::{AuthError, Credentials, Secret};
use crate::decimal::{opt_cow, opt_str};
use crate::error::{excerpt, ParseError};
use crate::sim::SimFuture;
use crate::traits::{FrameKind, PingPolicy};
use crate::transport::private_ws::BalanceStream;
use crate::transport::rest::{ParsedBalance, RestRequest};
use rust_decimal::Decimal;
use schemas::{PositionSide, Ts};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::time::Duration;

/// The private balance stream of a Binance USDⓈ-M account (see the module docs).
pub struct BinanceUsdmUserStream;

/// Creates (or extends and returns) the account's listen key.
pub const LISTEN_KEY_PATH: &str = "/fapi/v1/listenKey";
/// The client's WebSocket ping interval.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// The event this stream reads.
pub const ACCOUNT_UPDATE: &str = "ACCOUNT_UPDATE";

/// A user-data frame: an event (raw `/ws/<key>`), the `{"stream","data"}` wrapper of
/// `/stream?streams=<key>`, or an error `{"code","msg"}`.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    e: Option<Cow<'a, str>>,
    /// Event and transaction times (ms), read leniently: one of Binance's `listenKeyExpired`
    /// examples writes `E` as a string.
    #[serde(rename = "E", borrow)]
    event_time: Option<&'a RawValue>,
    #[serde(rename = "T", borrow)]
    tx_time: Option<&'a RawValue>,
    #[serde(borrow)]
    a: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    code: Option<i64>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    msg: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Update<'a> {
    #[serde(rename = "B", default, borrow)]
    balances: Vec<Balance<'a>>,
    #[serde(rename = "P", default, borrow)]
    positions: Vec<Position<'a>>,
}

#[derive(Deserialize)]
struct Balance<'a> {
    #[serde(borrow)]
    a: Cow<'a, str>,
    #[serde(default, deserialize_with = "opt_str")]
    wb: Option<Decimal>,
}

#[derive(Deserialize)]
struct Position<'a> {
    #[serde(borrow)]
    s: Cow<'a, str>,
    #[serde(default, deserialize_with = "opt_str")]
    pa: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    ep: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    up: Option<Decimal>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    mt: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    ps: Option<Cow<'a, str>>,
}

/// What one frame is: the event's update and time, or its kind when it carries none.
enum Read<'a> {
    Update(Update<'a>, Option<Ts>),
    Other(FrameKind),
}

fn read(frame: &str) -> Result<Read<'_>, ParseError> {
    let f: Frame<'_> =
        serde_json::from_str(frame).map_err(|e| ParseError::malformed(KIND, e, frame))?;
    if let Some(data) = f.data {
        return read(data.get());
    }
    if let Some(code) = f.code {
        let msg = f.msg.as_deref().unwrap_or("");
        return Ok(Read::Other(FrameKind::VenueError(format!(
            "code {code}: {msg}"
        ))));
    }
    match f.e.as_deref() {
        Some(ACCOUNT_UPDATE) => {
            let Some(a) = f.a else {
                return Err(ParseError::malformed(
                    KIND,
                    "ACCOUNT_UPDATE without a",
                    frame,
                ));
            };
            let u: Update<'_> =
                serde_json::from_str(a.get()).map_err(|e| ParseError::malformed(KIND, e, frame))?;
            let ms = |r: Option<&RawValue>| {
                r.and_then(|r| r.get().trim_matches('"').parse::<i64>().ok())
                    .filter(|t| *t > 0)
            };
            let at = ms(f.tx_time).or(ms(f.event_time));
            Ok(Read::Update(u, at.map(Ts::from_millis)))
        }
        // The key expired: no more events on this connection until a new key is used.
        Some("listenKeyExpired") => Ok(Read::Other(FrameKind::Reconnect)),
        Some(_) => Ok(Read::Other(FrameKind::Control)),
        None => Err(ParseError::Unknown {
            venue: KIND,
            payload: excerpt(frame),
        }),
    }
}

/// Pure: the balances of an `ACCOUNT_UPDATE` (module doc); other frames by kind.
pub fn parse(
    frame: &str,
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) -> Result<FrameKind, ParseError> {
    let (u, as_of) = match read(frame)? {
        Read::Update(u, at) => (u, at),
        Read::Other(kind) => return Ok(kind),
    };
    let mut out = Vec::with_capacity(u.balances.len());
    for b in u.balances {
        let Some(total) = b.wb else {
            return Err(ParseError::malformed(KIND, "balance without wb", frame));
        };
        // No free figure in the event: nothing free (module doc).
        let (available, locked) = super::super::split_held(total, Some(Decimal::ZERO), None);
        out.push(ParsedBalance {
            venue_asset: Cow::Owned(b.a.into_owned()),
            total,
            available,
            locked,
            borrowed: None,
            pending: None,
            sub_account: None,
            wallet: None,
            as_of,
            network: None,
            unrealized_pnl: None,
        });
    }
    let kind = if out.is_empty() {
        FrameKind::Control
    } else {
        FrameKind::Data
    };
    for b in out {
        emit(b);
    }
    Ok(kind)
}

/// Pure: the positions of an `ACCOUNT_UPDATE`, pushed updates (module doc); none for any other
/// frame. Every row is checked before any is returned.
pub fn parse_positions(frame: &str) -> Result<Vec<ParsedPosition>, ParseError> {
    let (u, as_of) = match read(frame)? {
        Read::Update(u, at) => (u, at),
        Read::Other(_) => return Ok(Vec::new()),
    };
    let mut out = Vec::with_capacity(u.positions.len());
    for p in u.positions {
        let Some(amt) = p.pa else {
            return Err(ParseError::malformed(KIND, "position without pa", frame));
        };
        let Some((instrument, market, quote)) = instrument_of(&p.s) else {
            return Err(ParseError::malformed(KIND, "unknown symbol form", frame));
        };
        let hedge_side = match p.ps.as_deref() {
            Some("LONG") => Some(PositionSide::Long),
            Some("SHORT") => Some(PositionSide::Short),
            Some("BOTH") | None => None,
            Some(_) => return Err(ParseError::malformed(KIND, "unknown ps", frame)),
        };
        let margin_mode = match p.mt.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("isolated") => Some("isolated".to_owned()),
            Some(m) if m.eq_ignore_ascii_case("cross") => Some("cross".to_owned()),
            _ => None,
        };
        out.push(ParsedPosition {
            venue_symbol: p.s.into_owned(),
            instrument,
            market,
            hedge_side,
            side: side_of(amt),
            size: amt.abs(),
            contracts: amt.abs(),
            entry_price: p.ep.filter(|_| !amt.is_zero()),
            mark_price: None,
            unrealized_pnl: p.up,
            pnl_currency: Some(quote),
            liquidation_price: None,
            margin_mode,
            as_of,
            scope: None,
        });
    }
    Ok(out)
}

/// Pure: the listen key in the reply to `POST /fapi/v1/listenKey`; Binance's refusal
/// `{"code":..,"msg":..}` is `ParseError::Venue`. The body is never quoted: it holds the key.
pub fn parse_listen_key(body: &str) -> Result<Secret, ParseError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Reply {
        listen_key: Option<String>,
        code: Option<i64>,
        msg: Option<String>,
    }
    let r: Reply = serde_json::from_str(body).map_err(|e| ParseError::Malformed {
        venue: KIND,
        reason: format!("listenKey reply: {e}"),
        payload: String::new(),
    })?;
    match (r.listen_key, r.code) {
        (Some(k), None) if !k.is_empty() => Ok(Secret::new(k)),
        (_, Some(code)) => Err(ParseError::Venue {
            venue: KIND,
            message: format!("code {code}: {}", r.msg.unwrap_or_default()),
        }),
        _ => Err(ParseError::Malformed {
            venue: KIND,
            reason: "no listenKey and no code".into(),
            payload: String::new(),
        }),
    }
}

impl BalanceStream for BinanceUsdmUserStream {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn default_ws_url(&self) -> &'static str {
        "wss://fstream.binance.com/private/ws"
    }
    /// None: the listen key in the URL is the authentication.
    fn auth_messages(&self, _creds: &Credentials, _now: Ts) -> Result<Vec<String>, AuthError> {
        Ok(Vec::new())
    }
    /// None: the key's stream carries every user-data event, so the loop goes live on connect.
    fn subscribe_messages(&self) -> Vec<String> {
        Vec::new()
    }
    fn ping_policy(&self) -> PingPolicy {
        PingPolicy::WsPing(PING_EVERY)
    }
    fn parse(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse(frame, emit)
    }
    fn parse_account(
        &self,
        frame: &str,
        emit: &mut dyn FnMut(AccountItem<'_>),
    ) -> Result<(), ParseError> {
        for p in parse_positions(frame)? {
            emit(AccountItem::Position(p));
        }
        Ok(())
    }
    fn start_sim(&self, creds: Credentials) -> SimFuture {
        Box::pin(super::stream_sim::serve_private(creds))
    }
    /// `POST /fapi/v1/listenKey` with the API key only (a USER_STREAM endpoint: no signature).
    fn token_request(
        &self,
        creds: &Credentials,
        _now: Ts,
    ) -> Result<Option<RestRequest>, AuthError> {
        Ok(Some(
            RestRequest::post(LISTEN_KEY_PATH, String::new())
                .header("X-MBX-APIKEY", creds.key()?)
                .weight(1),
        ))
    }
    fn parse_token(&self, body: &str) -> Result<Secret, ParseError> {
        parse_listen_key(body)
    }
    /// `<base>/<listenKey>` (module doc).
    fn connect_url_with_token(&self, base: &str, token: &Secret) -> String {
        format!("{}/{}", base.trim_end_matches('/'), token.expose())
    }
}
