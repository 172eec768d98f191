//! OKX v5 public WebSocket: the `tickers` channel for spot, perpetual swaps and dated futures.
//!
//! API docs: <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-tickers-channel>
//! (endpoint `wss://ws.okx.com:8443/ws/v5/public`, overview and limits at
//! <https://www.okx.com/docs-v5/en/#overview-websocket>). What this connector relies on, with
//! the evidence in `shared/venues/okx/NOTES.md`:
//! - subscribe `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},...]}`,
//!   acked per argument with `{"event":"subscribe","arg":{...},"connId":"..."}`; refusals are
//!   `{"event":"error","code":"60018","msg":"...","connId":"..."}`;
//! - every number is a JSON string and `""` means "not available", never zero; `ts` is a string
//!   of Unix milliseconds;
//! - a ticker is pushed on a trade or a best bid/ask change, at most every 100 ms, so a quiet
//!   instrument sends nothing; the server drops a connection that has carried nothing for 30 s,
//!   and the client keeps it open by sending the bare text `ping`, answered by the bare text
//!   `pong` (neither is JSON);
//! - tickers carry no update id (the `books` channels have `seqId`, tickers do not), so there
//!   is nothing to order or gap-check: [`Sequencing::None`];
//! - `{"event":"notice","code":"64008",...}` announces a close for a service upgrade (from the
//!   docs' overview as remembered; no capture of it here);
//! - at most 64 KB of channel arguments per request, 480 subscribe requests per hour per
//!   connection, 3 new connections per second per IP.

pub mod account;
pub mod fast;
pub mod parse;
pub mod sim;
pub mod sim_account;
pub mod spec;
pub mod stream;
pub mod wire;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue, SymbolSpec};
use schemas::Market;

pub struct Okx;

pub const KIND: &str = "okx";

/// Arguments per subscribe request. OKX caps a request at 64 KB of arguments; one tickers
/// argument is under 80 bytes, so 200 stay far below the cap, and a thousand instruments still
/// cost only five of the 480 subscribe requests allowed per connection and hour.
const ARGS_PER_SUBSCRIBE: usize = 200;

/// OKX's keep-alive is the bare text `ping` (docs: "send the String 'ping'"), not JSON.
fn ping(_req_id: u64) -> String {
    "ping".to_owned()
}

/// An OKX instrument id taken apart: `BTC-USDT` (spot), `BTC-USDT-SWAP` (perpetual swap),
/// `BTC-USD-250926` (dated future, expiry as `YYMMDD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstId<'s> {
    pub base: &'s str,
    pub quote: &'s str,
    pub market: Market,
    /// `YYMMDD` of a dated future, as OKX writes it.
    pub expiry_yymmdd: Option<&'s str>,
}

impl InstId<'_> {
    /// The `instType` OKX sends with a ticker of this instrument.
    pub fn inst_type(&self) -> &'static str {
        match self.market {
            Market::Perpetual => "SWAP",
            Market::Future => "FUTURES",
            // `inst_id` yields no other market than these three.
            _ => "SPOT",
        }
    }
    /// Expiry as `YYYYMMDD` (the canonical instrument name's form).
    pub fn expiry(&self) -> Option<String> {
        // OKX writes two-digit years; every listed future expires in this century.
        self.expiry_yymmdd.map(|d| format!("20{d}"))
    }
}

const INVALID: &str =
    "OKX instIds are BASE-QUOTE (spot), BASE-QUOTE-SWAP or BASE-QUOTE-YYMMDD, e.g. BTC-USDT, \
     BTC-USDT-SWAP, BTC-USD-250926 (options are not supported)";

/// OKX asset codes are upper case letters and digits (`BTC`, `1INCH`); instIds are
/// case-sensitive, and a lower-case one is refused by the venue at subscribe time.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Whether `d` is a real calendar date written `YYMMDD`.
fn is_yymmdd(d: &str) -> bool {
    if d.len() != 6 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| d[r].parse::<u32>().unwrap_or(0);
    chrono::NaiveDate::from_ymd_opt(2000 + n(0..2) as i32, n(2..4), n(4..6)).is_some()
}

/// Takes an instId apart; the one place that knows OKX's naming, used by `split_symbol` at
/// config time and by the parser to check a ticker's `instType` against its instId.
pub fn inst_id(id: &str) -> Result<InstId<'_>, &'static str> {
    let mut parts = id.split('-');
    let (Some(base), Some(quote)) = (parts.next(), parts.next()) else {
        return Err(INVALID);
    };
    if !is_code(base) || !is_code(quote) {
        return Err(INVALID);
    }
    let (market, expiry_yymmdd) = match (parts.next(), parts.next()) {
        (None, _) => (Market::Spot, None),
        (Some("SWAP"), None) => (Market::Perpetual, None),
        (Some(d), None) if is_yymmdd(d) => (Market::Future, Some(d)),
        _ => return Err(INVALID),
    };
    Ok(InstId {
        base,
        quote,
        market,
        expiry_yymmdd,
    })
}

impl StreamingVenue for Okx {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String> {
        symbols
            .chunks(ARGS_PER_SUBSCRIBE)
            .map(|chunk| {
                let args: Vec<String> = chunk
                    .iter()
                    .map(|s| {
                        let id = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
                        format!(r#"{{"channel":"tickers","instId":{id}}}"#)
                    })
                    .collect();
                format!(r#"{{"op":"subscribe","args":[{}]}}"#, args.join(","))
            })
            .collect()
    }
    fn parse(
        &self,
        frame: &str,
        _conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, emit)
    }
    fn split_symbol<'s>(&self, symbol: &'s str) -> SymbolSpec<'s> {
        match inst_id(symbol) {
            Ok(i) => SymbolSpec::Split {
                base: i.base,
                quote: i.quote,
                market: i.market,
                expiry: i.expiry(),
            },
            Err(why) => SymbolSpec::Invalid(why),
        }
    }
    // OKX spells assets as the canonical codes (BTC, ETH, USDT, USDC, USD): no aliases.
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        Box::pin(crate::sim::serve(sim::OkxSim, options))
    }
}

/// OKX balances: signed `GET /api/v5/account/balance` (trading account, every currency).
///
/// API docs: <https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-balance> and
/// "REST Authentication" (<https://www.okx.com/docs-v5/en/#overview-rest-authentication>):
/// headers `OK-ACCESS-KEY`, `OK-ACCESS-SIGN`, `OK-ACCESS-TIMESTAMP` (ISO 8601 UTC with
/// milliseconds, `2020-12-08T09:08:57.715Z`) and `OK-ACCESS-PASSPHRASE` (as set when the key was
/// created); `sign = Base64(HMAC-SHA256(secret, timestamp + method + requestPath + body))`, the
/// request path including the query string and the body empty for a GET. The server refuses a
/// timestamp more than 30 s from its clock (`50102`). Rate limit: 10 requests per 2 s per user
/// ID (the endpoint's "Rate Limit" line), shared by every key of the user: budgeted per key,
/// the closest the tracker can see.
///
/// Semantics per currency (`data[0].details[]`): the "Balances" section of [`parse`]'s module
/// doc (which field is the total, what is available and locked, what `as_of` is).
pub struct OkxBalances;

/// OKX's REST timestamp: ISO 8601 UTC with exactly three fractional digits.
pub fn okx_timestamp(now: schemas::Ts) -> String {
    now.to_datetime()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The signature of one request, as OKX documents it.
pub fn okx_sign(
    secret: &str,
    timestamp: &str,
    method: &str,
    path_and_query: &str,
    body: &str,
) -> String {
    crate::auth::sign::hmac_sha256_b64(
        secret,
        &format!("{timestamp}{method}{path_and_query}{body}"),
    )
}

impl crate::transport::rest::PollingVenue for OkxBalances {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        _cursor: Option<&str>,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        signed_get(creds, now, account::BALANCE_PATH)
    }
    /// Every open position (`GET /api/v5/account/positions`, 10 requests per 2 s per user ID,
    /// the budget it shares with the balance); the margin comes with the balance response.
    fn account_pages(&self) -> &'static [&'static str] {
        &[account::POSITIONS_PATH]
    }
    fn account_request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        page: &str,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        if page != account::POSITIONS_PATH {
            return Err(crate::auth::AuthError::Invalid {
                field: "page",
                reason: format!("no account page {page:?}"),
            });
        }
        signed_get(creds, now, page)
    }
    /// The balance response's margin, the positions page's positions (see [`account`]).
    fn parse_account(
        &self,
        path: &str,
        body: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        match path {
            account::BALANCE_PATH => account::parse_balance_margin(body, emit),
            account::POSITIONS_PATH => account::parse_positions(body, emit),
            _ => Ok(()),
        }
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_balance(body, emit)
    }
    /// OKX keys are UUIDs, secrets 32 upper-case hex digits; these are demo values, not a key.
    fn demo_credentials(&self) -> crate::auth::Credentials {
        crate::auth::Credentials::new(
            "0d3c5d2e-demo-4f1a-9c7b-5e6f7a8b9c0d",
            "DEMO0123456789ABCDEF0123456789AB",
        )
        .with_passphrase("demo-passphrase")
    }
    fn start_sim(&self, credentials: crate::auth::Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(crate::sim::rest::serve_rest(sim::OkxRestSim, credentials)
                .await?
                .handle)
        })
    }
}

/// A signed GET of `path` (no query), as OKX documents it.
fn signed_get(
    creds: &crate::auth::Credentials,
    now: schemas::Ts,
    path: &str,
) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
    let req = crate::transport::rest::RestRequest::get(path, String::new());
    let ts = okx_timestamp(now);
    let sign = okx_sign(
        creds.secret()?,
        &ts,
        req.method,
        &req.path_and_query(),
        &req.body,
    );
    Ok(req
        .header("OK-ACCESS-KEY", creds.key()?)
        .header("OK-ACCESS-SIGN", sign)
        .header("OK-ACCESS-TIMESTAMP", ts)
        .header("OK-ACCESS-PASSPHRASE", creds.passphrase()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_names_every_instrument_in_requests_of_bounded_size() {
        assert_eq!(
            Okx.subscribe_messages(&["BTC-USDT", "BTC-USDT-SWAP"]),
            [
                r#"{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},{"channel":"tickers","instId":"BTC-USDT-SWAP"}]}"#
            ]
        );
        let many: Vec<String> = (0..450).map(|i| format!("A{i}-USDT")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let msgs = Okx.subscribe_messages(&many);
        assert_eq!(msgs.len(), 3);
        assert!(msgs.iter().all(|m| m.len() < 64 * 1024));
        assert!(msgs[2].contains(r#""instId":"A449-USDT"}]}"#));
    }

    #[test]
    fn yymmdd_must_be_a_date() {
        assert!(is_yymmdd("250926"));
        assert!(is_yymmdd("240229"));
        assert!(!is_yymmdd("250229"));
        assert!(!is_yymmdd("251301"));
        assert!(!is_yymmdd("2509261"));
        assert!(!is_yymmdd("25092a"));
        assert!(!is_yymmdd("+50926"));
    }
}
