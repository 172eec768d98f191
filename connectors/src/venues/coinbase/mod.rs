//! Coinbase Advanced Trade: the `ticker` channel plus `heartbeats`.
//!
//! API docs: <https://docs.cdp.coinbase.com/advanced-trade/docs/ws-channels> (endpoint
//! `wss://advanced-trade-ws.coinbase.com`; one channel per subscribe message; most channels are
//! closed by the server after 60-90 s without updates, so the `heartbeats` channel, one message a
//! second, keeps the connection open; `sequence_num` counts messages per connection).

pub mod parse;
pub mod sim;
pub mod spec;
pub mod wire;

use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::traits::{ConnState, FrameKind, ParsedQuote, StreamingVenue};

pub struct Coinbase;

pub const KIND: &str = "coinbase";

impl StreamingVenue for Coinbase {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String> {
        let ids = serde_json::to_string(symbols).unwrap_or_else(|_| "[]".into());
        vec![
            r#"{"type":"subscribe","channel":"heartbeats"}"#.to_owned(),
            format!(r#"{{"type":"subscribe","product_ids":{ids},"channel":"ticker"}}"#),
        ]
    }
    fn parse(
        &self,
        frame: &str,
        _conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError> {
        parse::parse(frame, emit)
    }
    fn start_sim(&self, options: SimOptions) -> SimFuture {
        Box::pin(crate::sim::serve(sim::CoinbaseSim, options))
    }
}

/// Coinbase Advanced Trade balances: `GET /api/v3/brokerage/accounts?limit=250` (cursor
/// pagination: `has_next`, `cursor`), authorized by `Authorization: Bearer <JWT>`.
///
/// API docs: <https://docs.cdp.coinbase.com/advanced-trade/reference/retailbrokerageapi_getaccounts>,
/// JWT auth <https://docs.cdp.coinbase.com/advanced-trade/docs/rest-api-auth> (ES256 with the CDP
/// key's EC private key; header `{"alg":"ES256","kid":<key name>,"nonce":<random hex>,"typ":"JWT"}`,
/// claims `{"sub":<key name>,"iss":"cdp","nbf":now,"exp":now+120,"uri":"GET api.coinbase.com/api/v3/brokerage/accounts"}`,
/// one JWT per request, valid 2 minutes; the uri is the method, host and path without the query),
/// rate limits <https://docs.cdp.coinbase.com/advanced-trade/docs/rest-api-rate-limits>: private
/// endpoints 30 requests per second per user (key).
///
/// Credentials: `api_key` = the key name (`organizations/{org}/apiKeys/{id}`), `api_secret` = its
/// PEM private key (SEC1 `EC PRIVATE KEY` as CDP hands it out, or PKCS#8 `PRIVATE KEY`).
pub struct CoinbaseBalances;

pub const ACCOUNTS_PATH: &str = "/api/v3/brokerage/accounts";
/// The host the JWT's `uri` names. The trait's request builder does not see a configured
/// `rest_url`, so it always names production (the simulator accepts that or its own host).
pub const JWT_HOST: &str = "api.coinbase.com";
/// Accounts per page (the maximum; default 49).
const PAGE_LIMIT: u32 = 250;
/// JWT lifetime: Coinbase's maximum, 2 minutes.
pub const JWT_TTL_S: i64 = 120;

/// Demo-only CDP key pair (generated for this repository with openssl; never a real key).
pub const DEMO_KEY_NAME: &str =
    "organizations/demo-org-not-real/apiKeys/demo-key-0000-0000-0000-000000000000";
pub const DEMO_PRIVATE_KEY_PEM: &str = include_str!("demo_cdp_ec_private_key.DEMO-ONLY.pem");
pub const DEMO_PUBLIC_KEY_PEM: &str = include_str!("demo_cdp_ec_public_key.DEMO-ONLY.pem");
/// A second demo key: valid, but not the one the simulator accepts.
pub const DEMO_OTHER_PRIVATE_KEY_PEM: &str =
    include_str!("demo_cdp_ec_other_private_key.DEMO-ONLY.pem");

/// A P-256 private key from PEM: the PKCS#8 DER jsonwebtoken/ring sign with, and the public
/// point `04||x||y` (from the SEC1 `publicKey` field) the simulator verifies with.
pub struct EcKey {
    pub pkcs8_der: Vec<u8>,
    pub public_point: Option<Vec<u8>>,
}

fn invalid(reason: &str) -> crate::auth::AuthError {
    crate::auth::AuthError::Invalid {
        field: "api_secret",
        reason: reason.to_owned(),
    }
}

/// One DER TLV: (tag, content, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&l, mut b) = b.split_first()?;
    let len = if l < 0x80 {
        l as usize
    } else {
        let n = (l & 0x7f) as usize;
        if n == 0 || n > 2 || b.len() < n {
            return None;
        }
        let len = b[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// The fields of a SEC1 ECPrivateKey: (private key, public point).
fn sec1_fields(b: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (0x30, mut body, _) = tlv(b)? else {
        return None;
    };
    let (mut private, mut public) = (None, None);
    while !body.is_empty() {
        let (tag, content, rest) = tlv(body)?;
        match tag {
            0x04 => private = Some(content),
            0xa1 => {
                let (0x03, bits, _) = tlv(content)? else {
                    return None;
                };
                public = bits.get(1..); // skip the unused-bits byte
            }
            _ => {}
        }
        body = rest;
    }
    Some((private?, public))
}

impl EcKey {
    /// Reads a PEM `EC PRIVATE KEY` (SEC1, converted to PKCS#8 since ring signs only that) or
    /// `PRIVATE KEY` (PKCS#8). Errors never quote the key.
    pub fn from_pem(pem: &str) -> Result<EcKey, crate::auth::AuthError> {
        use base64::Engine;
        let pem = pem.trim();
        let (label, body) = pem
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.split_once("-----"))
            .ok_or_else(|| invalid("not a PEM private key"))?;
        let end = format!("-----END {label}-----");
        let body = body
            .trim_end()
            .strip_suffix(&end)
            .ok_or_else(|| invalid("PEM without its END line"))?;
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der_bytes = crate::auth::sign::B64
            .decode(b64)
            .map_err(|_| invalid("PEM body is not base64"))?;
        // id-ecPublicKey, prime256v1
        const ALG: &[u8] = &[
            0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
            0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
        ];
        match label {
            "EC PRIVATE KEY" => {
                let (private, public) =
                    sec1_fields(&der_bytes).ok_or_else(|| invalid("not a SEC1 EC key"))?;
                // ring wants the inner key without the optional [0] parameters (they are in
                // the PKCS#8 algorithm identifier).
                let mut inner = vec![0x02, 0x01, 0x01];
                inner.extend(der(0x04, private));
                if let Some(p) = public {
                    let mut bits = vec![0x00];
                    bits.extend_from_slice(p);
                    inner.extend(der(0xa1, &der(0x03, &bits)));
                }
                let mut outer = vec![0x02, 0x01, 0x00];
                outer.extend_from_slice(ALG);
                outer.extend(der(0x04, &der(0x30, &inner)));
                Ok(EcKey {
                    pkcs8_der: der(0x30, &outer),
                    public_point: public.map(<[u8]>::to_vec),
                })
            }
            "PRIVATE KEY" => {
                let public = tlv(&der_bytes)
                    .and_then(|(_, body, _)| {
                        let (_, _, r) = tlv(body)?; // version
                        let (_, _, r) = tlv(r)?; // algorithm
                        let (_, inner, _) = tlv(r)?; // OCTET STRING
                        sec1_fields(inner)
                    })
                    .ok_or_else(|| invalid("not a PKCS#8 EC key"))?
                    .1
                    .map(<[u8]>::to_vec);
                Ok(EcKey {
                    pkcs8_der: der_bytes,
                    public_point: public,
                })
            }
            _ => Err(invalid("expected an EC PRIVATE KEY or PRIVATE KEY PEM")),
        }
    }
}

/// JWT claims of one Advanced Trade REST request.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct CdpClaims {
    pub sub: String,
    pub iss: String,
    pub nbf: i64,
    pub exp: i64,
    pub uri: String,
}

/// The ES256 JWT for `method host path` at `now_s`: header and claims as Coinbase's SDK
/// (coinbase-advanced-py `jwt_generator`) builds them; jsonwebtoken's `Header` has no `nonce`,
/// so the header is serialized here and only the signature comes from jsonwebtoken.
pub fn build_jwt(
    key_name: &str,
    secret_pem: &str,
    uri: &str,
    now_s: i64,
    nonce: &str,
) -> Result<String, crate::auth::AuthError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key = EcKey::from_pem(secret_pem)?;
    let header = serde_json::json!({"alg": "ES256", "kid": key_name, "nonce": nonce, "typ": "JWT"});
    let claims = CdpClaims {
        sub: key_name.to_owned(),
        iss: "cdp".to_owned(),
        nbf: now_s,
        exp: now_s + JWT_TTL_S,
        uri: uri.to_owned(),
    };
    let claims = serde_json::to_vec(&claims).map_err(|_| invalid("claims"))?;
    let message = format!("{}.{}", b64.encode(header.to_string()), b64.encode(claims));
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8_der),
        jsonwebtoken::Algorithm::ES256,
    )
    .map_err(|_| invalid("the EC key cannot sign (not a P-256 key?)"))?;
    Ok(format!("{message}.{sig}"))
}

impl crate::transport::rest::PollingVenue for CoinbaseBalances {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn request(
        &self,
        creds: &crate::auth::Credentials,
        now: schemas::Ts,
        cursor: Option<&str>,
    ) -> Result<crate::transport::rest::RestRequest, crate::auth::AuthError> {
        let uri = format!("GET {JWT_HOST}{ACCOUNTS_PATH}");
        let jwt = build_jwt(
            creds.key()?,
            creds.secret()?,
            &uri,
            now.millis().div_euclid(1000),
            &crate::auth::sign::random_hex(16),
        )?;
        let mut query = format!("limit={PAGE_LIMIT}");
        if let Some(c) = cursor {
            // Cursors are opaque tokens; encode anything outside the URL-safe set.
            query.push_str("&cursor=");
            for b in c.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    query.push(b as char);
                } else {
                    query.push_str(&format!("%{b:02X}"));
                }
            }
        }
        Ok(
            crate::transport::rest::RestRequest::get(ACCOUNTS_PATH, query)
                .header("Authorization", format!("Bearer {jwt}"))
                .weight(1),
        )
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(crate::transport::rest::ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        parse::parse_accounts(body, emit)
    }
    fn demo_credentials(&self) -> crate::auth::Credentials {
        crate::auth::Credentials::new(DEMO_KEY_NAME, DEMO_PRIVATE_KEY_PEM)
    }
    fn wrong_demo_secret(&self) -> Option<crate::auth::Secret> {
        Some(crate::auth::Secret::new(DEMO_OTHER_PRIVATE_KEY_PEM))
    }
    fn start_sim(&self, credentials: crate::auth::Credentials) -> SimFuture {
        Box::pin(async move {
            Ok(
                crate::sim::rest::serve_rest(sim::CoinbaseRestSim, credentials)
                    .await?
                    .handle,
            )
        })
    }
}
