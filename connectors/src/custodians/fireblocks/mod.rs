//! Fireblocks vault balances: `GET /v1/vault/accounts_paged`, every page.
//!
//! Which field means what (total, available, pending, lockedAmount, frozen, staked; no balance
//! time, so no `as_of`) and the held-funds rule: [`parse`]'s module header.
//!
//! API docs: <https://developers.fireblocks.com/reference/getpagedvaultaccounts> (query `limit`
//! default 200, max 500; cursor paging with `paging.after`), signing:
//! <https://developers.fireblocks.com/reference/signing-a-request-jwt-structure>: headers
//! `X-API-Key: <api key>` and `Authorization: Bearer <JWT>`, the JWT signed RS256 with the API
//! user's RSA private key (PEM in `api_secret`), payload `uri` (path with query, e.g.
//! `/v1/vault/accounts_paged?limit=200`), `nonce` (unique per request), `iat`, `exp` (must be
//! < iat + 30 s), `sub` (the API key), `bodyHash` (hex SHA-256 of the raw body; of the empty
//! body for a GET). Error bodies: <https://developers.fireblocks.com/reference/api-error-codes>
//! (`{"message":"Unauthorized: Token was not accepted.","code":-7}` with HTTP 401).
//!
//! Rate limit: per API user, HTTP 429 when exceeded; Fireblocks publishes no number for this
//! endpoint (only the legacy `GET /v1/vault/accounts` cap of 400,000 accounts per minute, changelog
//! 2023-04-10). We choose a conservative 5 requests per second per API key (our own number,
//! not Fireblocks'): a full poll of a large workspace (500 accounts a page) stays far below it.

pub mod parse;
pub mod sim;
pub mod spec;
pub mod wire;

use crate::auth::{AuthError, Credentials};
use crate::error::ParseError;
use crate::sim::SimFuture;
use crate::transport::rest::{ParsedBalance, PollingVenue, RestRequest};
use serde::{Deserialize, Serialize};

pub const KIND: &str = "fireblocks";

pub const PATH: &str = "/v1/vault/accounts_paged";

/// Accounts per page: the documented default (max 500).
pub const PAGE_LIMIT: u32 = 200;

/// `exp - iat`: the docs require exp < iat + 30 s (the legacy SDKs' 55 s breaks that rule).
pub const JWT_LIFETIME_S: i64 = 25;

/// DEMO / TEST ONLY: an RSA-2048 key pair generated for this repository's simulator and tests
/// (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`). It is not, and never was,
/// registered with Fireblocks; never use it for a real API user.
pub const DEMO_PRIVATE_KEY_PEM: &str = include_str!("demo_api_secret.key");
/// A second demo key (also generated for tests only, never registered anywhere): a valid key
/// that is not the API user's, so the contract test can check the simulator refuses it.
pub const DEMO_OTHER_PRIVATE_KEY_PEM: &str = include_str!("demo_other_api_secret.key");
/// The public half of [`DEMO_PRIVATE_KEY_PEM`], which the simulator verifies tokens with (as
/// Fireblocks does with the public key of the API user's CSR).
pub const DEMO_PUBLIC_KEY_PEM: &str = include_str!("demo_api_public.pem");
/// DEMO ONLY: an API key in Fireblocks' UUID format, accepted by the simulator.
pub const DEMO_API_KEY: &str = "d3m0d3m0-0000-4000-8000-000000000001";

/// The JWT payload Fireblocks expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub uri: String,
    pub nonce: String,
    pub iat: i64,
    pub exp: i64,
    pub sub: String,
    #[serde(rename = "bodyHash")]
    pub body_hash: String,
}

/// Signs one request's JWT (RS256). `uri` is the path with its query, exactly as sent.
pub fn sign_jwt(
    api_key: &str,
    private_key_pem: &str,
    uri: &str,
    body: &str,
    iat_s: i64,
    nonce: &str,
) -> Result<String, AuthError> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(|e| {
        AuthError::Invalid {
            field: "api_secret",
            reason: format!("not an RSA private key in PEM: {e}"),
        }
    })?;
    let claims = Claims {
        uri: uri.to_owned(),
        nonce: nonce.to_owned(),
        iat: iat_s,
        exp: iat_s + JWT_LIFETIME_S,
        sub: api_key.to_owned(),
        body_hash: crate::auth::sign::sha256_hex(body.as_bytes()),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .map_err(|e| AuthError::Invalid {
        field: "api_secret",
        reason: format!("RS256 signing failed: {e}"),
    })
}

/// Percent-encodes a query value: cursors are base64 (`=`, `+`, `/`).
pub fn encode_query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct FireblocksBalances;

impl PollingVenue for FireblocksBalances {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &Credentials,
        now: schemas::Ts,
        cursor: Option<&str>,
    ) -> Result<RestRequest, AuthError> {
        let query = match cursor {
            None => format!("limit={PAGE_LIMIT}"),
            Some(c) => format!("limit={PAGE_LIMIT}&after={}", encode_query_value(c)),
        };
        let key = creds.key()?;
        let req = RestRequest::get(PATH, query);
        let jwt = sign_jwt(
            key,
            creds.secret()?,
            &req.path_and_query(),
            &req.body,
            now.millis().div_euclid(1000),
            // Unique per request: 128 random bits.
            &crate::auth::sign::random_hex(16),
        )?;
        Ok(req
            .header("X-API-Key", key)
            .header("Authorization", format!("Bearer {jwt}")))
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_vault_accounts(body, emit)
    }
    fn demo_credentials(&self) -> Credentials {
        Credentials::new(DEMO_API_KEY, DEMO_PRIVATE_KEY_PEM)
    }
    fn wrong_demo_secret(&self) -> Option<crate::auth::Secret> {
        Some(crate::auth::Secret::new(DEMO_OTHER_PRIVATE_KEY_PEM))
    }
    fn start_sim(&self, credentials: Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(
                crate::sim::rest::serve_rest(sim::FireblocksRestSim::demo(), credentials)
                    .await?
                    .handle,
            )
        })
    }
}
