//! BitGo: balances of an enterprise's wallets, totalled per coin.
//!
//! API docs: <https://developers.bitgo.com/api/v2.wallet.gettotalbalances>
//! (`GET /api/v2/wallet/balances`, one request for every wallet of every coin, so a poll costs
//! one request however many wallets there are; the per-coin wallet list would cost one request
//! per coin and page). Amounts are integer strings in base units (`balanceString`,
//! `spendableBalanceString`), converted exactly with the coin's decimals ([`coins`]).
//! Which field means what (pending incoming, held, no balance time) and the held-funds rule:
//! [`parse`]'s module header.
//!
//! Auth (<https://developers.bitgo.com/docs/hmac>, `@bitgo/sdk-hmac` `calculateRequestHeaders`,
//! auth version 2): the access token (`api_key`) never travels; the request carries
//! `Authorization: Bearer <hex SHA-256 of the token>`, `Auth-Timestamp: <ms>`,
//! `BitGo-Auth-Version: 2.0` and `HMAC: hex HMAC-SHA256(token, "<ts>|<path?query>|<body>")`.
//! The HMAC key is the token itself; `api_secret` is not needed (if set, it is used as the HMAC
//! key instead, so it must then be the same token).
//!
//! Rate limit (<https://developers.bitgo.com/reference/rate-limits>): an authenticated user may
//! make 360 requests per 60 s; a token belongs to one user, so the budget is per key.

pub mod coins;
pub mod parse;
pub mod sim;
pub mod spec;
pub mod wire;

use crate::auth::{sign, AuthError, Credentials};
use crate::error::ParseError;
use crate::sim::SimFuture;
use crate::transport::rest::{ParsedBalance, PollingVenue, RestRequest};
use schemas::Ts;

pub const KIND: &str = "bitgo";

/// The endpoint polled.
pub const BALANCES_PATH: &str = "/api/v2/wallet/balances";

pub struct BitGo;

/// The auth-v2 headers of one request: `(bearer token hash, HMAC)`.
pub fn auth_v2(
    hmac_key: &str,
    token: &str,
    ts_ms: i64,
    path_and_query: &str,
    body: &str,
) -> (String, String) {
    let subject = format!("{ts_ms}|{path_and_query}|{body}");
    (
        sign::sha256_hex(token.as_bytes()),
        sign::hmac_sha256_hex(hmac_key, &subject),
    )
}

impl PollingVenue for BitGo {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &Credentials,
        now: Ts,
        _cursor: Option<&str>,
    ) -> Result<RestRequest, AuthError> {
        let token = creds.key()?;
        let hmac_key = creds.secret().unwrap_or(token);
        let ts = now.millis();
        let (bearer, hmac) = auth_v2(hmac_key, token, ts, BALANCES_PATH, "");
        Ok(RestRequest::get(BALANCES_PATH, String::new())
            .header("Authorization", format!("Bearer {bearer}"))
            .header("Auth-Timestamp", ts.to_string())
            .header("BitGo-Auth-Version", "2.0")
            .header("HMAC", hmac))
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_wallet_balances(body, emit)
    }
    fn demo_credentials(&self) -> Credentials {
        // A demo token in BitGo's `v2x` + 64 hex format; accepted by the simulator only.
        Credentials {
            api_key: Some(crate::auth::Secret::new(
                "v2xdemo0bitgo0access0token0for0the0simulator0only0000000000000000",
            )),
            api_secret: None,
            passphrase: None,
        }
    }
    fn start_sim(&self, credentials: Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(crate::sim::rest::serve_rest(sim::BitGoRestSim, credentials)
                .await?
                .handle)
        })
    }
}
