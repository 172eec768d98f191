//! Coinbase Prime: portfolio balances.
//!
//! API docs: <https://docs.cdp.coinbase.com/prime/reference/primerestapi_getportfoliobalances>
//! (`GET /v1/portfolios/{portfolio_id}/balances`). The portfolio id is not configured: each poll
//! first lists the key's portfolios (`GET /v1/portfolios`, the first page's first entry: a Prime
//! API key belongs to one portfolio) and passes the id on through the poll cursor, then reads
//! that portfolio's balances. Two requests per poll, nothing added to the config.
//! Which field means what (amount, holds, withdrawable, bonded...; no balance time) and the
//! held-funds rule: [`parse`]'s module header.
//!
//! Signing (<https://docs.cdp.coinbase.com/prime/rest-api/authentication>, prime-sdk-go
//! `client/rest.go` `sign()`): headers `X-CB-ACCESS-KEY`, `X-CB-ACCESS-PASSPHRASE`,
//! `X-CB-ACCESS-TIMESTAMP` (integer seconds; the server accepts 30 s of skew) and
//! `X-CB-ACCESS-SIGNATURE` = base64(HMAC-SHA256(secret as raw UTF-8 bytes, not base64-decoded,
//! timestamp + METHOD + path + body)).
//!
//! Rate limit (<https://docs.cdp.coinbase.com/prime/rest-api/rate-limits>): per portfolio 25
//! requests/s (burst 50), per IP 100 requests/s. The portfolio budget is the tighter one and a
//! key maps to one portfolio, so the budget is per key.

pub mod parse;
pub mod sim;
pub mod spec;
pub mod wire;

use crate::auth::{sign, AuthError, Credentials};
use crate::error::ParseError;
use crate::sim::SimFuture;
use crate::transport::rest::{ParsedBalance, PollingVenue, RestRequest};
use schemas::Ts;

pub const KIND: &str = "coinbase_prime";

pub const PORTFOLIOS_PATH: &str = "/v1/portfolios";

pub struct CoinbasePrime;

/// `X-CB-ACCESS-SIGNATURE` for one request.
pub fn signature(secret: &str, ts_s: i64, method: &str, path: &str, body: &str) -> String {
    sign::hmac_sha256_b64(secret, &format!("{ts_s}{method}{path}{body}"))
}

/// A portfolio id as Prime issues them (a UUID): only these go into the path.
fn valid_portfolio_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl PollingVenue for CoinbasePrime {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &Credentials,
        now: Ts,
        cursor: Option<&str>,
    ) -> Result<RestRequest, AuthError> {
        let path = match cursor {
            None => PORTFOLIOS_PATH.to_owned(),
            Some(id) if valid_portfolio_id(id) => format!("{PORTFOLIOS_PATH}/{id}/balances"),
            Some(_) => {
                return Err(AuthError::Invalid {
                    field: "portfolio_id",
                    reason: "not a portfolio id".into(),
                })
            }
        };
        let ts = now.millis().div_euclid(1000);
        let sig = signature(creds.secret()?, ts, "GET", &path, "");
        Ok(RestRequest::get(&path, String::new())
            .header("X-CB-ACCESS-KEY", creds.key()?)
            .header("X-CB-ACCESS-PASSPHRASE", creds.passphrase()?)
            .header("X-CB-ACCESS-TIMESTAMP", ts.to_string())
            .header("X-CB-ACCESS-SIGNATURE", sig))
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_body(body, emit)
    }
    fn demo_credentials(&self) -> Credentials {
        Credentials::new(
            "demo-prime-access-key-0001",
            "demo-prime-signing-key-for-the-simulator-only",
        )
        .with_passphrase("demo-prime-passphrase")
    }
    fn start_sim(&self, credentials: Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(crate::sim::rest::serve_rest(sim::PrimeRestSim, credentials)
                .await?
                .handle)
        })
    }
}
