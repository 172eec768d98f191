//! Deribit: JSON-RPC 2.0 over WebSocket, the `ticker.{instrument}.100ms` channel.
//! Balances: [`DeribitBalances`], `private/get_account_summaries` over HTTP, signed per request.
//!
//! API docs: <https://docs.deribit.com/> — notifications
//! <https://docs.deribit.com/articles/notifications>, the ticker channel
//! <https://docs.deribit.com/subscriptions/market-data/tickerinstrument_nameinterval> (intervals
//! `raw` for authorised users only, `100ms`, `agg2`), heartbeats
//! <https://docs.deribit.com/api-reference/session-management/public-set_heartbeat> (interval in
//! seconds, at least 10; the server then sends `heartbeat` notifications of type `heartbeat` and
//! `test_request`, and closes the connection when a `test_request` is not answered with a
//! `public/test` request). Endpoint `wss://www.deribit.com/ws/api/v2` (testnet
//! `wss://test.deribit.com/ws/api/v2`). Every number is a JSON number, read here from its text,
//! never through f64 (`interest_value` 0.0028213400122472977 has more digits than a float).
//!
//! Instrument names: `BTC-PERPETUAL` (inverse, quoted in USD), `BTC_USDC-PERPETUAL` (linear),
//! `BTC-27DEC24` (dated future), `BTC_USDC` (spot); options (`BTC-27DEC24-100000-C`) and combos
//! (`BTC-FS-27DEC24_PERP`) quote in the base coin and are not priced here.

pub mod account;
pub mod fast;
pub mod parse;
pub mod sim;
pub mod sim_account;
pub mod spec;
pub mod stream;
pub mod wire;

pub use stream::DeribitPortfolioStream;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue, SymbolSpec};
use schemas::Market;

pub struct Deribit;

pub const KIND: &str = "deribit";

/// Seconds between the server's heartbeats we ask for: the minimum Deribit accepts, so a dead
/// socket shows well within the transport's 30 s idle timeout.
pub const HEARTBEAT_INTERVAL_S: u64 = 10;

/// JSON-RPC ids of our requests; replies echo them, so an error names what was refused.
pub const ID_SET_HEARTBEAT: u64 = 1;
pub const ID_SUBSCRIBE: u64 = 2;
pub const ID_TEST: u64 = 3;
/// Ids of the private balance stream's requests ([`stream::DeribitPortfolioStream`]).
pub const ID_AUTH: u64 = 4;
pub const ID_PRIVATE_SUBSCRIBE: u64 = 5;

/// The answer to a `test_request`. The id is constant because the parser is pure and keeps no
/// counter; JSON-RPC only needs it to match replies, and Deribit does not check uniqueness.
pub const TEST_REPLY: &str = r#"{"jsonrpc":"2.0","id":3,"method":"public/test","params":{}}"#;

/// The ticker interval we subscribe to: `raw` needs an authorised session, `agg2` is 2 s old.
pub const TICKER_INTERVAL: &str = "100ms";

/// A Deribit instrument name split by the venue's naming rules (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'s> {
    pub base: &'s str,
    pub quote: &'s str,
    pub market: Market,
    /// The expiry as Deribit writes it (`27DEC24`, `5JUL24`) for a dated future.
    pub expiry: Option<&'s str>,
}

const NOT_PRICED: &str = "Deribit options and combos are not priced here (they quote in the \
                          base coin); use a perpetual (BTC-PERPETUAL, BTC_USDC-PERPETUAL), a \
                          dated future (BTC-27DEC24) or a spot pair (BTC_USDC)";
const BAD_NAME: &str = "Deribit instruments look like BTC-PERPETUAL, BTC_USDC-PERPETUAL, \
                        BTC-27DEC24 or BTC_USDC";

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// `27DEC24` -> (2024, 12, 27) by shape only (day 1-2 digits, month, 2-digit year).
fn expiry_parts(code: &str) -> Option<(i32, u32, u32)> {
    let b = code.as_bytes();
    let day_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=2).contains(&day_len) || b.len() != day_len + 5 {
        return None;
    }
    let (day, rest) = code.split_at(day_len);
    let (month, year) = rest.split_at(3);
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    if !year.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((2000 + year.parse::<i32>().ok()?, month, day.parse().ok()?))
}

/// `27DEC24` -> `20241227`, refusing dates that do not exist.
pub fn expiry_yyyymmdd(code: &str) -> Option<String> {
    let (y, m, d) = expiry_parts(code)?;
    chrono::NaiveDate::from_ymd_opt(y, m, d)?;
    Some(format!("{y:04}{m:02}{d:02}"))
}

/// Splits an instrument name; `Err` says why it is not one we price. Cheap enough for the
/// per-frame path (a few byte scans, no allocation): the parser uses it to keep option tickers
/// out of the quotes.
pub fn split_name(name: &str) -> Result<Name<'_>, &'static str> {
    let (head, kind) = match name.split_once('-') {
        Some((head, kind)) => (head, Some(kind)),
        None => (name, None),
    };
    // `BTC_USDC` names a pair (linear contracts and spot); a bare `BTC` an inverse contract,
    // which is margined in BTC but priced in USD.
    let (base, quote, pair) = match head.split_once('_') {
        Some((base, quote)) => (base, quote, true),
        None => (head, "USD", false),
    };
    if !is_code(base) || !is_code(quote) {
        return Err(BAD_NAME);
    }
    let (market, expiry) = match kind {
        None if pair => (Market::Spot, None),
        None => return Err(BAD_NAME),
        Some("PERPETUAL") => (Market::Perpetual, None),
        Some(code) if expiry_parts(code).is_some() => (Market::Future, Some(code)),
        Some(_) => return Err(NOT_PRICED),
    };
    Ok(Name {
        base,
        quote,
        market,
        expiry,
    })
}

fn request(id: u64, method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#)
}

impl StreamingVenue for Deribit {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    /// Heartbeats first, so a connection that subscribes is already watched by the server.
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String> {
        let channels: Vec<String> = symbols
            .iter()
            .map(|s| format!("ticker.{s}.{TICKER_INTERVAL}"))
            .collect();
        let channels = serde_json::to_string(&channels).unwrap_or_else(|_| "[]".into());
        vec![
            request(
                ID_SET_HEARTBEAT,
                "public/set_heartbeat",
                &format!(r#"{{"interval":{HEARTBEAT_INTERVAL_S}}}"#),
            ),
            request(
                ID_SUBSCRIBE,
                "public/subscribe",
                &format!(r#"{{"channels":{channels}}}"#),
            ),
        ]
    }
    // Sequencing stays `None`: the ticker carries no change id (only the book channels have
    // `change_id`), and `timestamp` may repeat, so it cannot order updates.
    fn parse(
        &self,
        frame: &str,
        _conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, emit)
    }
    fn split_symbol<'s>(&self, symbol: &'s str) -> SymbolSpec<'s> {
        let n = match split_name(symbol) {
            Ok(n) => n,
            Err(why) => return SymbolSpec::Invalid(why),
        };
        let expiry = match n.expiry.map(expiry_yyyymmdd) {
            Some(None) => return SymbolSpec::Invalid("Deribit expiry is not a calendar date"),
            Some(e) => e,
            None => None,
        };
        SymbolSpec::Split {
            base: n.base,
            quote: n.quote,
            market: n.market,
            expiry,
        }
    }
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        let sim = sim::DeribitSim::new(options.heartbeat_interval);
        Box::pin(crate::sim::serve(sim, options))
    }
}

/// Deribit balances: `GET /api/v2/private/get_account_summaries?extended=true` (JSON-RPC over
/// HTTP), one summary per currency.
///
/// API docs: <https://docs.deribit.com/api-reference/account-management/private-get_account_summaries>
/// (scope `account:read`). Authentication, "Deribit Signature Credentials" of
/// <https://docs.deribit.com/articles/authentication>: a single HTTP request carries
/// `Authorization: deri-hmac-sha256 id=ClientId,ts=Timestamp,sig=Signature,nonce=Nonce`, where
/// `RequestData = UPPERCASE(method) + "\n" + URI + "\n" + body + "\n"` (URI = path and query),
/// `StringToSign = Timestamp + "\n" + Nonce + "\n" + RequestData` and `Signature =
/// hex(HMAC-SHA256(ClientSecret, StringToSign))`; the timestamp (ms) is valid for 60 s and the
/// nonce is single use. We sign rather than send `Authorization: Basic` (which the docs also
/// allow) so the client secret never travels. `api_key` is the client id, `api_secret` the
/// client secret.
///
/// Rate limit: <https://docs.deribit.com/articles/rate-limits>, a credit pool per sub-account;
/// non-matching-engine requests cost 500 credits from a pool of 50,000 refilled at 10,000/s
/// (20 requests/s sustained, bursts of 100; the numbers as nautilus_trader's
/// `DERIBIT_HTTP_REST_QUOTA` quotes them from the docs). A request beyond the pool is answered
/// `too_many_requests` (10028) and the session is terminated, so the budget is kept here.
pub struct DeribitBalances;

/// The HTTP path of `private/get_account_summaries`.
pub const ACCOUNT_SUMMARIES_PATH: &str = "/api/v2/private/get_account_summaries";
/// `extended=true` adds the account fields (id, username, type) beside the summaries.
pub const ACCOUNT_SUMMARIES_QUERY: &str = "extended=true";
/// Credits of one non-matching-engine request, and the pool they are drawn from.
pub const REQUEST_CREDITS: u32 = 500;
pub const CREDIT_POOL: u32 = 50_000;
/// Credits refilled per second.
pub const CREDIT_REFILL_PER_S: u32 = 10_000;
/// Scheme name of the signed `Authorization` header.
pub const AUTH_SCHEME: &str = "deri-hmac-sha256";

/// `hex(HMAC-SHA256(secret, ts + "\n" + nonce + "\n" + data))`: Deribit's signature, the same
/// for `public/auth` `client_signature` (data = the optional user data) and for HTTP requests
/// (data = [`request_data`]).
pub fn signature(secret: &str, ts_ms: i64, nonce: &str, data: &str) -> String {
    crate::auth::sign::hmac_sha256_hex(secret, &format!("{ts_ms}\n{nonce}\n{data}"))
}

/// `UPPERCASE(method) + "\n" + URI + "\n" + body + "\n"`; the three newlines are always there.
pub fn request_data(method: &str, path_and_query: &str, body: &str) -> String {
    format!(
        "{}\n{path_and_query}\n{body}\n",
        method.to_ascii_uppercase()
    )
}

/// The `Authorization` header value of a signed HTTP request.
pub fn authorization(
    client_id: &str,
    secret: &str,
    ts_ms: i64,
    nonce: &str,
    method: &str,
    path_and_query: &str,
    body: &str,
) -> String {
    let sig = signature(
        secret,
        ts_ms,
        nonce,
        &request_data(method, path_and_query, body),
    );
    format!("{AUTH_SCHEME} id={client_id},ts={ts_ms},sig={sig},nonce={nonce}")
}

impl crate::transport::rest::PollingVenue for DeribitBalances {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        _cursor: Option<&str>,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        signed_get(creds, now, ACCOUNT_SUMMARIES_PATH, ACCOUNT_SUMMARIES_QUERY)
    }
    /// Every open position of every currency (`private/get_positions?currency=any`, 500
    /// credits); the margin comes with the account summaries.
    fn account_pages(&self) -> &'static [&'static str] {
        &[account::POSITIONS_PAGE]
    }
    fn account_request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        page: &str,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        match page.split_once('?') {
            Some((path, query)) if page == account::POSITIONS_PAGE => {
                signed_get(creds, now, path, query)
            }
            _ => Err(crate::auth::AuthError::Invalid {
                field: "page",
                reason: format!("no account page {page:?}"),
            }),
        }
    }
    /// The summaries' margin, the positions page's positions (see [`account`]).
    fn parse_account(
        &self,
        path: &str,
        body: &str,
        emit: &mut dyn FnMut(crate::account::AccountItem<'_>),
    ) -> Result<(), ParseError> {
        match path {
            ACCOUNT_SUMMARIES_PATH => account::parse_summaries_margin(body, emit),
            account::POSITIONS_PATH => account::parse_positions(body, emit),
            _ => Ok(()),
        }
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_account_summaries(body, emit)
    }
    // Deribit's currency codes (BTC, ETH, USDC, USDT, SOL, XRP...) are already canonical.
    fn demo_credentials(&self) -> crate::auth::Credentials {
        crate::auth::Credentials::new("demo-deribit-client-id", "demo-deribit-client-secret")
    }
    fn start_sim(&self, credentials: crate::auth::Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(
                crate::sim::rest::serve_rest(sim::DeribitRestSim::default(), credentials)
                    .await?
                    .handle,
            )
        })
    }
}

/// A GET signed with `deri-hmac-sha256`, weighing one request's credits.
fn signed_get(
    creds: &crate::auth::Credentials,
    now: schemas::Ts,
    path: &str,
    query: &str,
) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
    let req = crate::transport::rest::RestRequest::get(path, query.to_owned());
    // Single use at the venue: a fresh random nonce per request.
    let nonce = crate::auth::sign::random_hex(8);
    let header = authorization(
        creds.key()?,
        creds.secret()?,
        now.millis(),
        &nonce,
        req.method,
        &req.path_and_query(),
        &req.body,
    );
    Ok(req.header("Authorization", header).weight(REQUEST_CREDITS))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Symbol rules are tested through the registry in tests/it/parsers/deribit.rs.

    #[test]
    fn subscribe_asks_for_heartbeats_then_tickers() {
        let msgs = Deribit.subscribe_messages(&["BTC-PERPETUAL", "BTC-27DEC24"]);
        assert_eq!(
            msgs,
            [
                r#"{"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":10}}"#,
                r#"{"jsonrpc":"2.0","id":2,"method":"public/subscribe","params":{"channels":["ticker.BTC-PERPETUAL.100ms","ticker.BTC-27DEC24.100ms"]}}"#,
            ]
        );
    }

    #[test]
    fn the_test_reply_carries_its_own_id() {
        assert_eq!(TEST_REPLY, request(ID_TEST, "public/test", "{}"));
    }
}
