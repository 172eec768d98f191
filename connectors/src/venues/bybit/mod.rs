//! Bybit v5 public WebSocket: `bybit_spot` (`/v5/public/spot`) and `bybit_linear`
//! (`/v5/public/linear`, USDT/USDC perpetuals and dated futures).
//!
//! API docs: <https://bybit-exchange.github.io/docs/v5/websocket/public/ticker> (topic
//! `tickers.{symbol}`), <https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook>
//! (topic `orderbook.{depth}.{symbol}`) and
//! <https://bybit-exchange.github.io/docs/v5/ws/connect> (subscribe, heartbeat, acks).
//!
//! - Subscribe: `{"req_id":"1","op":"subscribe","args":["tickers.BTCUSDT",...]}`; spot takes at
//!   most 10 args per request (connect docs), so spot subscribes are split.
//! - Heartbeat: the client sends `{"req_id":"1","op":"ping"}`, every 20 s as the docs
//!   recommend; without pings or data the server closes the connection after 10 minutes. The
//!   pong and the subscribe ack are shaped differently per endpoint (spot echoes
//!   `ret_msg:"subscribe"`, linear `ret_msg:""`); a refused subscribe is `success:false`.
//! - Numbers are decimal strings; `""` means "not applicable" (`fundingRate` of a dated future).
//!
//! Linear tickers carry the best bid/ask: one `snapshot` per subscription, then `delta`s in which
//! "if a response param is not found in the message, then its value has not changed" (ticker
//! docs), merged by the framework (`Merge::Delta`). `cs` (cross sequence) only increases.
//!
//! Spot tickers are snapshot-only and carry NO bid/ask (only `lastPrice`, 24 h figures and
//! `usdIndexPrice`), so `bybit_spot` also subscribes `orderbook.1.{symbol}`, the venue's
//! level-1 book (a snapshot, then deltas on change, pushed every 10 ms): the book gives
//! bid/ask and sizes, the ticker adds `last` and the 24 h volume as a `Merge::Patch`.

pub mod account;
pub mod account_sim;
pub mod fast;
pub mod parse;
pub mod sim;
pub mod spec;
pub mod stream;
pub mod wire;

pub use stream::{bybit_ws_sign, BybitWalletStream, AUTH_EXPIRES_MS};

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue, SymbolSpec};
use schemas::Market;
use std::time::Duration;

/// `bybit_spot`: spot pairs, `tickers` + `orderbook.1`.
pub struct BybitSpot;
/// `bybit_linear`: USDT/USDC perpetuals and dated futures, `tickers` snapshot + deltas.
pub struct BybitLinear;

pub const SPOT: &str = "bybit_spot";
pub const LINEAR: &str = "bybit_linear";

/// Which public endpoint a frame came from: the two speak the same envelope but mean
/// different things by a ticker (a whole quote on linear, last price and volume on spot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Spot,
    Linear,
}

impl Category {
    pub fn kind(self) -> &'static str {
        match self {
            Category::Spot => SPOT,
            Category::Linear => LINEAR,
        }
    }
}

/// At most this many `args` per spot subscribe request (connect docs, "args limits").
pub const SPOT_MAX_ARGS: usize = 10;

/// The docs recommend a ping every 20 s.
const PING_EVERY: Duration = Duration::from_secs(20);

/// Both endpoints push on change only (tickers every 100 ms linear / 50 ms spot, level-1 book
/// every 10 ms); a quiet dated future or small spot pair can say nothing for seconds.
const CADENCE: Duration = Duration::from_secs(5);

fn ping(req_id: u64) -> String {
    format!(r#"{{"req_id":"{req_id}","op":"ping"}}"#)
}

fn subscribe(req_id: usize, args: &[String]) -> String {
    let args = serde_json::to_string(args).unwrap_or_else(|_| "[]".into());
    format!(r#"{{"req_id":"{req_id}","op":"subscribe","args":{args}}}"#)
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A dated future's `DDMMMYY` suffix (`26DEC25`, `3JAN25`) as `YYYYMMDD`; `None` unless it is a
/// real calendar date.
pub fn expiry_yyyymmdd(s: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let n = s.len();
    if !(6..=7).contains(&n) || !s.is_ascii() {
        return None;
    }
    let (day, rest) = s.split_at(n - 5);
    let (mon, year) = rest.split_at(3);
    if !day.bytes().all(|b| b.is_ascii_digit()) || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let year = 2000 + year.parse::<i32>().ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day.parse().ok()?)?;
    Some(date.format("%Y%m%d").to_string())
}

const LINEAR_FORMS: &str = "Bybit linear symbols are BTCUSDT or BTCPERP (perpetuals), \
     BTCUSDT-26DEC25 or BTC-26DEC25 (dated futures)";

fn split_linear(symbol: &str) -> SymbolSpec<'_> {
    match symbol.split_once('-') {
        // Dated futures: `BTCUSDT-26DEC25` is a USDT future; a USDC future names only its base,
        // `BTC-26DEC25` (enums, category `linear`: "USDT perpetual, USDT Futures and USDC
        // contract, including USDC perp, USDC futures").
        Some((head, date)) if is_code(head) => {
            let Some(expiry) = expiry_yyyymmdd(date) else {
                return SymbolSpec::Invalid(LINEAR_FORMS);
            };
            if head.len() > 4 && head.ends_with("USDT") {
                SymbolSpec::Joined {
                    symbol: head,
                    market: Market::Future,
                    expiry: Some(expiry),
                }
            } else {
                SymbolSpec::Split {
                    base: head,
                    quote: "USDC",
                    market: Market::Future,
                    expiry: Some(expiry),
                }
            }
        }
        Some(_) => SymbolSpec::Invalid(LINEAR_FORMS),
        // USDC perpetuals are named `<BASE>PERP` (enums: "USDC Perpetual: BTCPERP, ETHPERP").
        None if symbol.len() > 4 && symbol.ends_with("PERP") && is_code(symbol) => {
            SymbolSpec::Split {
                base: &symbol[..symbol.len() - 4],
                quote: "USDC",
                market: Market::Perpetual,
                expiry: None,
            }
        }
        None if is_code(symbol) => SymbolSpec::Joined {
            symbol,
            market: Market::Perpetual,
            expiry: None,
        },
        None => SymbolSpec::Invalid(LINEAR_FORMS),
    }
}

impl StreamingVenue for BybitSpot {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPOT_SPEC
    }
    /// The level-1 book for bid/ask plus the ticker for last price and volume, split into
    /// requests of at most [`SPOT_MAX_ARGS`] topics.
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String> {
        let args: Vec<String> = symbols
            .iter()
            .flat_map(|s| [format!("orderbook.1.{s}"), format!("tickers.{s}")])
            .collect();
        args.chunks(SPOT_MAX_ARGS)
            .enumerate()
            .map(|(i, chunk)| subscribe(i + 1, chunk))
            .collect()
    }
    fn parse(
        &self,
        frame: &str,
        _conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, Category::Spot, emit)
    }
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        Box::pin(crate::sim::serve(sim::BybitSim(Category::Spot), options))
    }
}

impl StreamingVenue for BybitLinear {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::LINEAR_SPEC
    }
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String> {
        let args: Vec<String> = symbols.iter().map(|s| format!("tickers.{s}")).collect();
        vec![subscribe(1, &args)]
    }
    fn parse(
        &self,
        frame: &str,
        _conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, Category::Linear, emit)
    }
    fn split_symbol<'s>(&self, symbol: &'s str) -> SymbolSpec<'s> {
        split_linear(symbol)
    }
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        Box::pin(crate::sim::serve(sim::BybitSim(Category::Linear), options))
    }
}

/// The balances kind of Bybit (unified trading account), beside the two price kinds.
pub const BALANCES: &str = "bybit";

/// Bybit balances: signed `GET /v5/account/wallet-balance?accountType=UNIFIED`.
///
/// API docs: <https://bybit-exchange.github.io/docs/v5/account/wallet-balance> and
/// "Integration Guidance" § Authentication (<https://bybit-exchange.github.io/docs/v5/guide#authentication>):
/// headers `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP` (ms), `X-BAPI-RECV-WINDOW` and `X-BAPI-SIGN` =
/// lower-case hex HMAC-SHA256 of `timestamp + api_key + recv_window + queryString`; the server
/// accepts `server_time - recv_window <= timestamp < server_time + 1000`. Refusals come inside an
/// HTTP 200 body: `retCode` 10002 (time window), 10003 (API key), 10004 (signature, the message
/// quoting the string that was signed, so it is redacted before it reaches a log).
/// Rate limit: 50 requests/s per UID for this endpoint (the docs' "Rate Limit" table), budgeted
/// per key, the closest the tracker can see (the 600 requests / 5 s per IP cap is looser).
///
/// Semantics per coin: the "Balances" section of [`parse`]'s module doc.
pub struct BybitBalances;

/// `X-BAPI-RECV-WINDOW` we send: Bybit's default.
pub const RECV_WINDOW_MS: u32 = 5000;

/// The HMAC-SHA256 signature of a GET request, as Bybit documents it.
pub fn bybit_sign(
    secret: &str,
    timestamp_ms: i64,
    api_key: &str,
    recv_window: &str,
    query: &str,
) -> String {
    crate::auth::sign::hmac_sha256_hex(
        secret,
        &format!("{timestamp_ms}{api_key}{recv_window}{query}"),
    )
}

/// A signed GET of `path?query` (guide § Authentication; headers in [`BybitBalances`]).
fn signed_get(
    path: &str,
    query: &str,
    creds: &crate::auth::Credentials,
    now: schemas::Ts,
) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
    let key = creds.key()?;
    let ts = now.millis();
    let window = RECV_WINDOW_MS.to_string();
    let sign = bybit_sign(creds.secret()?, ts, key, &window, query);
    Ok(
        crate::transport::rest::RestRequest::get(path, query.to_owned())
            .header("X-BAPI-API-KEY", key)
            .header("X-BAPI-TIMESTAMP", ts.to_string())
            .header("X-BAPI-RECV-WINDOW", window)
            .header("X-BAPI-SIGN", sign),
    )
}

impl crate::transport::rest::PollingVenue for BybitBalances {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        _cursor: Option<&str>,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        signed_get(
            "/v5/account/wallet-balance",
            "accountType=UNIFIED",
            creds,
            now,
        )
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_wallet_balance(body, emit)
    }
    /// The linear (USDT) and inverse position lists; the margin comes with the balance page
    /// ([`account`]'s module doc).
    fn account_pages(&self) -> &'static [&'static str] {
        account::PAGES
    }
    /// Signed exactly as the balance page, over the page's query.
    fn account_request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        page: &str,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        let Some((path, query)) = page
            .split_once('?')
            .filter(|_| account::PAGES.contains(&page))
        else {
            return Err(crate::auth::AuthError::Invalid {
                field: "page",
                reason: format!("no account page {page:?}"),
            });
        };
        signed_get(path, query, creds, now)
    }
    fn parse_account(
        &self,
        path: &str,
        body: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        account::parse_account(path, body, emit)
    }
    /// Demo values in the shape of Bybit's (18-character key, 36-character secret), not a key.
    fn demo_credentials(&self) -> crate::auth::Credentials {
        crate::auth::Credentials::new("DEMObybitKEY1x2y3z", "DEMObybitSECRETdemo0123456789abcdefg")
    }
    fn start_sim(&self, credentials: crate::auth::Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(crate::sim::rest::serve_rest(sim::BybitRestSim, credentials)
                .await?
                .handle)
        })
    }
}
