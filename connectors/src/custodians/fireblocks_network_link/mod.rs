//! Fireblocks Network Link v2: balances from any provider (exchange, custodian, bank) that
//! implements the open provider API, so one connector serves them all.
//!
//! Spec: <https://github.com/fireblocks/fireblocks-network-link>, `v2/openapi/fb-provider-api.yaml`
//! (commit `04bb7dbb984cdec28bb9bc586792858080950c98`) and `v2/README.md` ("Security").
//! Endpoints: `GET /accounts` then `GET /accounts/{accountId}/balances` for each account, both
//! paged with `limit` (1..=200, default 10) and `startingAfter` (the last item's `id`); a page
//! shorter than `limit` is the last one (the responses carry no "more" flag).
//!
//! Signing (README "Security" and the spec's `X-FBAPI-SIGNATURE` parameter): headers
//! `X-FBAPI-KEY`, `X-FBAPI-TIMESTAMP` (ms since the epoch), `X-FBAPI-NONCE` (a UUID) and
//! `X-FBAPI-SIGNATURE` over `timestamp + nonce + METHOD + endpoint (path with query, without the
//! base URL's prefix) + body`. The spec lets each provider choose at onboarding a pre-encoding
//! (URL-encoded, Base64, HexStr, Base58, Base32), an algorithm (HMAC with SHA-512, SHA3-256 or
//! SHA-256; RSA PKCS1v15; ECDSA P-256/secp256k1 with SHA-256) and a post-encoding.
//! Supported here: HMAC with SHA-256 or SHA-512, pre-encoding none or URL-encoded, post-encoding
//! Base64 or HexStr ([`SigningScheme`]). The connector uses [`DEFAULT_SCHEME`]: the defaults of
//! the spec's own validator (`v2/api-validator/src/config/index.ts`: pre-encoding
//! `url-encoded`, hash `sha256`) with HMAC, and Base64 as post-encoding (URL-encoding a binary
//! MAC, the validator's post default, is not defined byte for byte). RSA, ECDSA, SHA3-256,
//! Base58 and Base32 are not implemented yet.
//!
//! Errors: `{"message":...,"errorType":...}` (400 `schema-property-error`/`bad-request`, 401
//! `unauthorized`, 404 `not-found`, 5xx `internal-error`).
//!
//! Rate limit: the spec publishes none (each provider sets its own). We choose 10 requests per
//! second per API key (our number, not the spec's); every request weighs 1.
//!
//! Cursor encoding (one poll walks accounts, then each account's balances; the framework hands
//! the cursor back to [`PollingVenue::parse_page`]): `None` = first accounts page;
//! `a:<after>` = the accounts page after account `<after>`; `b:<accountsAfter>:<id1,id2,...>:<balAfter>`
//! = balances of `id1` (after balance `<balAfter>`, empty = first page), then `id2`..., then the
//! accounts page after `<accountsAfter>` (empty = none left). Account ids cannot hold `:` or `,`
//! (spec pattern `^[A-Za-z0-9_-]+$`, checked); the balance id is last, so it may hold anything.

pub mod parse;
pub mod sim;
pub mod spec;
pub mod wire;

use crate::auth::sign::{hmac_sha256, hmac_sha512, B64};
use crate::auth::{AuthError, Credentials};
use crate::error::ParseError;
use crate::sim::SimFuture;
use crate::transport::rest::{ParsedBalance, PollingVenue, RestRequest};
use base64::Engine as _;

pub const KIND: &str = "fireblocks_network_link";

/// Items per page: the spec's maximum.
pub const PAGE_LIMIT: usize = 200;

/// DEMO ONLY: credentials the simulator accepts; never a real provider's.
pub const DEMO_API_KEY: &str = "demo-fnl-api-key-0001";
pub const DEMO_API_SECRET: &str = "demo-fnl-hmac-secret-not-real-0001";

/// How the message is encoded before signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreEncoding {
    /// The message's UTF-8 bytes as they are.
    Plain,
    /// JavaScript `encodeURIComponent` (the validator's `url-encoded`).
    UrlEncoded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacHash {
    Sha256,
    Sha512,
}

/// How the MAC is encoded into the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostEncoding {
    Base64,
    HexStr,
}

/// One HMAC signing configuration a provider may choose at onboarding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningScheme {
    pub pre: PreEncoding,
    pub hash: HmacHash,
    pub post: PostEncoding,
}

/// See the module header for why these three.
pub const DEFAULT_SCHEME: SigningScheme = SigningScheme {
    pre: PreEncoding::UrlEncoded,
    hash: HmacHash::Sha256,
    post: PostEncoding::Base64,
};

/// JavaScript `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` as `%XX` of
/// its UTF-8 bytes.
pub fn encode_uri_component(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The message to sign: `timestamp + nonce + METHOD + endpoint + body`.
pub fn signing_message(
    timestamp_ms: i64,
    nonce: &str,
    method: &str,
    path_and_query: &str,
    body: &str,
) -> String {
    format!(
        "{timestamp_ms}{nonce}{}{path_and_query}{body}",
        method.to_ascii_uppercase()
    )
}

/// `X-FBAPI-SIGNATURE` of `message` under `scheme`.
pub fn sign(scheme: SigningScheme, secret: &str, message: &str) -> String {
    let pre = match scheme.pre {
        PreEncoding::Plain => message.to_owned(),
        PreEncoding::UrlEncoded => encode_uri_component(message),
    };
    let mac = match scheme.hash {
        HmacHash::Sha256 => hmac_sha256(secret.as_bytes(), pre.as_bytes()),
        HmacHash::Sha512 => hmac_sha512(secret.as_bytes(), pre.as_bytes()),
    };
    match scheme.post {
        PostEncoding::Base64 => B64.encode(mac),
        PostEncoding::HexStr => hex::encode(mac),
    }
}

/// A random UUID v4 in its text form, as the spec asks of `X-FBAPI-NONCE`.
pub fn uuid_v4() -> String {
    let mut b = hex::decode(crate::auth::sign::random_hex(16)).unwrap_or_else(|_| vec![0; 16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Which page a cursor asks for (see the module header for the text encoding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page<'a> {
    Accounts {
        after: Option<&'a str>,
    },
    Balances {
        /// Where the accounts list continues after these accounts (`None`: it has ended).
        accounts_after: Option<&'a str>,
        /// Accounts still to read, the first being read now (never empty).
        accounts: Vec<&'a str>,
        /// Balance id after which this page starts.
        after: Option<&'a str>,
    },
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// An account id usable in a path and in our cursor (the spec's pattern).
pub fn valid_account_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl<'a> Page<'a> {
    pub fn decode(cursor: Option<&'a str>) -> Option<Self> {
        let Some(c) = cursor else {
            return Some(Page::Accounts { after: None });
        };
        if let Some(after) = c.strip_prefix("a:") {
            return Some(Page::Accounts {
                after: non_empty(after),
            });
        }
        let rest = c.strip_prefix("b:")?;
        let mut parts = rest.splitn(3, ':');
        let accounts_after = non_empty(parts.next()?);
        let accounts: Vec<&str> = parts.next()?.split(',').collect();
        let after = non_empty(parts.next()?);
        if !accounts.iter().all(|a| valid_account_id(a)) {
            return None;
        }
        Some(Page::Balances {
            accounts_after,
            accounts,
            after,
        })
    }
    pub fn encode(&self) -> String {
        match self {
            Page::Accounts { after } => format!("a:{}", after.unwrap_or("")),
            Page::Balances {
                accounts_after,
                accounts,
                after,
            } => format!(
                "b:{}:{}:{}",
                accounts_after.unwrap_or(""),
                accounts.join(","),
                after.unwrap_or("")
            ),
        }
    }
}

/// The unsigned request for the page `cursor` names.
pub fn page_request(cursor: Option<&str>) -> Result<RestRequest, AuthError> {
    let bad = || AuthError::Invalid {
        field: "cursor",
        reason: "not a Network Link cursor".into(),
    };
    let page = Page::decode(cursor).ok_or_else(bad)?;
    let (path, after) = match &page {
        Page::Accounts { after } => ("/accounts".to_owned(), *after),
        Page::Balances {
            accounts, after, ..
        } => (
            format!("/accounts/{}/balances", accounts.first().ok_or_else(bad)?),
            *after,
        ),
    };
    let mut query = format!("limit={PAGE_LIMIT}");
    if let Some(a) = after {
        query.push_str("&startingAfter=");
        query.push_str(&encode_uri_component(a));
    }
    Ok(RestRequest::get(&path, query))
}

/// Signs `req` with the four `X-FBAPI-*` headers.
pub fn sign_request(
    req: RestRequest,
    scheme: SigningScheme,
    key: &str,
    secret: &str,
    timestamp_ms: i64,
    nonce: &str,
) -> RestRequest {
    let msg = signing_message(
        timestamp_ms,
        nonce,
        req.method,
        &req.path_and_query(),
        &req.body,
    );
    let sig = sign(scheme, secret, &msg);
    req.header("X-FBAPI-KEY", key)
        .header("X-FBAPI-TIMESTAMP", timestamp_ms.to_string())
        .header("X-FBAPI-NONCE", nonce)
        .header("X-FBAPI-SIGNATURE", sig)
}

pub struct FireblocksNetworkLinkBalances;

impl PollingVenue for FireblocksNetworkLinkBalances {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &Credentials,
        now: schemas::Ts,
        cursor: Option<&str>,
    ) -> Result<RestRequest, AuthError> {
        let req = page_request(cursor)?;
        Ok(sign_request(
            req,
            DEFAULT_SCHEME,
            creds.key()?,
            creds.secret()?,
            now.millis(),
            &uuid_v4(),
        ))
    }
    /// Without the cursor a body cannot say which account it belongs to: read as the first
    /// accounts page. The framework calls [`Self::parse_page`].
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_page(body, None, emit)
    }
    fn parse_page(
        &self,
        body: &str,
        cursor: Option<&str>,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_page(body, cursor, emit)
    }
    fn demo_credentials(&self) -> Credentials {
        Credentials::new(DEMO_API_KEY, DEMO_API_SECRET)
    }
    fn start_sim(&self, credentials: Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(
                crate::sim::rest::serve_rest(sim::NetworkLinkRestSim::demo(), credentials)
                    .await?
                    .handle,
            )
        })
    }
}
