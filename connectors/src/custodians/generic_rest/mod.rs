//! A custodian described entirely in config: URL, an auth header whose value comes from an env
//! var or file, and JSON pointers (RFC 6901) to the list of balances and, within each item, the
//! asset, total, available, locked and (optionally) decimals. Ops add an in-house or unlisted
//! custodian without writing code.
//!
//! Numbers are read from their JSON text (strings or numbers) through `RawValue`, never through
//! `f64`; with `decimals` the amounts are integers in base units, scaled exactly.
//!
//! Field by field (each one a configured pointer; only `asset` and `total` are required):
//!
//! | config | meaning | record |
//! |---|---|---|
//! | `asset` | the custodian's asset code | `venue_asset`, unchanged (never filtered or re-cased) |
//! | `total` | everything held for us, settled | `total` |
//! | `available` | free to withdraw or move now | caps `available` |
//! | `locked` | held (pending withdrawals, frozen, staked...) | caps `available` at total - locked |
//! | `pending` | incoming, not yet settled (outside `total`) | `pending` (counted 0) |
//! | `as_of` | the custodian's own time for the balance (e.g. a wallet's last change): RFC 3339 text, or a number of milliseconds since the epoch | `as_of` (never freshness: the normalizer judges that by `received_at`) |
//!
//! Rule: available = min(`available`, total - `locked`) over the figures the item gives,
//! through [`crate::custodians::split`] (clamped to `[0, total]`, locked = total - available).
//! When the item gives neither (not configured, or absent / null / `""` in that item), available
//! and locked stay `None`: an unconfigured available never becomes available = total here.

pub mod spec;

use crate::auth::{AuthError, Credentials};
use crate::custodians::{min_of, split};
use crate::decimal::parse_decimal;
use crate::error::ParseError;
use crate::sim::rest::{RestSimCtx, RestSimProtocol, SimHttpRequest, SimHttpResponse};
use crate::sim::SimFuture;
use crate::transport::rest::{ParsedBalance, PollingVenue, RateLimit, RestRequest};
use rust_decimal::Decimal;
use schemas::{SourceKind, Ts};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

pub const KIND: &str = "generic_rest";

/// The `[connectors.generic]` table of a `generic_rest` connector.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericSpec {
    /// Path (and query) below `rest_url`, e.g. `/v1/balances`.
    pub path: String,
    /// Header that carries the credential from `api_key_env` / `api_key_file`.
    #[serde(default = "default_auth_header")]
    pub auth_header: String,
    /// Text put before the credential, e.g. `"Bearer "`.
    #[serde(default)]
    pub auth_prefix: String,
    /// JSON pointer to the array of balances (`""` = the document itself).
    pub list: String,
    /// Pointer, within an item, to the asset code.
    pub asset: String,
    /// Pointer to the total.
    pub total: String,
    /// Pointer to the available amount, if the custodian reports it.
    #[serde(default)]
    pub available: Option<String>,
    /// Pointer to the locked amount, if the custodian reports it.
    #[serde(default)]
    pub locked: Option<String>,
    /// Pointer to incoming amounts not yet settled (outside `total`), if reported.
    #[serde(default)]
    pub pending: Option<String>,
    /// Pointer to the custodian's own time for the balance (RFC 3339 text, or epoch
    /// milliseconds as a number), if reported. Kept as `as_of`; freshness is judged by when
    /// the poll got the answer.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Pointer to the number of decimals when amounts are integers in base units.
    #[serde(default)]
    pub decimals: Option<String>,
    /// Pointer to a sub-account / vault id.
    #[serde(default)]
    pub sub_account: Option<String>,
    /// `custodian` (default) or `exchange`.
    #[serde(default = "default_source_kind")]
    pub source_kind: SourceKind,
    /// Requests allowed per minute (default 60).
    #[serde(default = "default_rpm")]
    pub requests_per_minute: u32,
}

fn default_auth_header() -> String {
    "Authorization".into()
}
fn default_source_kind() -> SourceKind {
    SourceKind::Custodian
}
fn default_rpm() -> u32 {
    60
}

impl GenericSpec {
    /// Checks the pointers' syntax; returns (field, problem) pairs.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        let mut check = |field: &'static str, p: &str, may_be_root: bool| {
            if !(p.starts_with('/') || (may_be_root && p.is_empty())) {
                errors.push((
                    field,
                    format!("{p:?} is not a JSON pointer (it must start with '/')"),
                ));
            }
        };
        check("list", &self.list, true);
        check("asset", &self.asset, false);
        check("total", &self.total, false);
        for (f, p) in [
            ("available", &self.available),
            ("locked", &self.locked),
            ("pending", &self.pending),
            ("as_of", &self.as_of),
            ("decimals", &self.decimals),
            ("sub_account", &self.sub_account),
        ] {
            if let Some(p) = p {
                check(f, p, false);
            }
        }
        if !self.path.starts_with('/') {
            errors.push(("path", format!("{:?} must start with '/'", self.path)));
        }
        if self.requests_per_minute == 0 {
            errors.push(("requests_per_minute", "must be > 0".into()));
        }
        errors
    }
}

/// Follows an RFC 6901 pointer through raw JSON, keeping numbers as their text.
pub fn pointer<'a>(mut raw: &'a RawValue, ptr: &str) -> Option<&'a RawValue> {
    if ptr.is_empty() {
        return Some(raw);
    }
    for token in ptr.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        let text = raw.get().trim_start();
        raw = if text.starts_with('{') {
            let map: HashMap<Cow<'a, str>, &'a RawValue> = serde_json::from_str(raw.get()).ok()?;
            *map.get(token.as_str())?
        } else if text.starts_with('[') {
            let list: Vec<&'a RawValue> = serde_json::from_str(raw.get()).ok()?;
            *list.get(token.parse::<usize>().ok()?)?
        } else {
            return None;
        };
    }
    Some(raw)
}

/// A JSON string or number as an exact decimal; `null`/absent/`""` as None.
fn number(raw: Option<&RawValue>) -> Result<Option<Decimal>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let t = raw.get().trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(t);
    if t.is_empty() || t == "null" {
        return Ok(None);
    }
    parse_decimal(t)
        .map(Some)
        .ok_or_else(|| format!("not a number: {t}"))
}

/// A time: RFC 3339 text, or a JSON number of milliseconds since the epoch; null/absent/`""` as
/// None.
fn time(raw: Option<&RawValue>) -> Result<Option<Ts>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let t = raw.get().trim();
    if t == "null" || t == r#""""# {
        return Ok(None);
    }
    if let Ok(s) = serde_json::from_str::<Cow<'_, str>>(t) {
        return Ts::parse_rfc3339(&s)
            .map(Some)
            .ok_or_else(|| format!("not an RFC 3339 time: {s}"));
    }
    t.parse::<i64>()
        .map(|ms| Some(Ts::from_millis(ms)))
        .map_err(|_| format!("not a time: {t}"))
}

fn text<'a>(raw: Option<&'a RawValue>) -> Option<Cow<'a, str>> {
    let raw = raw?;
    serde_json::from_str::<Cow<'a, str>>(raw.get())
        .ok()
        .or_else(|| Some(Cow::Owned(raw.get().to_owned())))
}

/// Scales a base-unit integer by `decimals`, exactly (refusing what Decimal cannot hold).
fn scale(v: Decimal, decimals: Option<Decimal>) -> Result<Decimal, String> {
    let Some(d) = decimals else { return Ok(v) };
    let d: u32 = d
        .try_into()
        .ok()
        .filter(|d: &u32| *d <= 28)
        .ok_or_else(|| format!("bad decimals {d}"))?;
    if v.scale() != 0 {
        return Err(format!("{v} is not an integer amount in base units"));
    }
    let mut out = v;
    out.set_scale(d).map_err(|e| e.to_string())?;
    Ok(out)
}

/// A `generic_rest` connector's venue, built from its config.
#[derive(Clone, Debug)]
pub struct GenericRest {
    pub spec: GenericSpec,
}

impl GenericRest {
    /// A venue built once at start-up from config (the registry holds `'static` venues).
    pub fn leak(spec: GenericSpec) -> &'static GenericRest {
        Box::leak(Box::new(GenericRest { spec }))
    }
}

impl PollingVenue for GenericRest {
    fn spec(&self) -> &'static crate::spec::VenueSpec {
        &spec::SPEC
    }
    fn source_kind(&self) -> SourceKind {
        self.spec.source_kind
    }
    fn rate_limit(&self) -> RateLimit {
        RateLimit {
            capacity: self.spec.requests_per_minute,
            per: Duration::from_secs(60),
        }
    }
    fn request(
        &self,
        creds: &Credentials,
        _now: Ts,
        _cursor: Option<&str>,
    ) -> Result<RestRequest, AuthError> {
        let (path, query) = self
            .spec
            .path
            .split_once('?')
            .unwrap_or((self.spec.path.as_str(), ""));
        Ok(RestRequest::get(path, query.to_owned()).header(
            &self.spec.auth_header,
            format!("{}{}", self.spec.auth_prefix, creds.key()?),
        ))
    }
    fn parse_balances(
        &self,
        body: &str,
        emit: &mut dyn FnMut(ParsedBalance<'_>),
    ) -> Result<Option<String>, ParseError> {
        let bad = |why: String| ParseError::malformed(KIND, why, body);
        let root: &RawValue = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
        let list = pointer(root, &self.spec.list)
            .ok_or_else(|| bad(format!("no list at {:?}", self.spec.list)))?;
        let items: Vec<&RawValue> =
            serde_json::from_str(list.get()).map_err(|e| bad(format!("list: {e}")))?;
        for item in items {
            let at = |p: &Option<String>| p.as_deref().and_then(|p| pointer(item, p));
            let asset = text(pointer(item, &self.spec.asset))
                .ok_or_else(|| bad(format!("no asset at {:?}", self.spec.asset)))?;
            let decimals = number(at(&self.spec.decimals)).map_err(bad)?;
            let total = number(pointer(item, &self.spec.total))
                .map_err(bad)?
                .ok_or_else(|| bad(format!("no total at {:?}", self.spec.total)))?;
            let opt = |p: &Option<String>| -> Result<Option<Decimal>, ParseError> {
                number(at(p))
                    .map_err(bad)?
                    .map(|v| scale(v, decimals).map_err(bad))
                    .transpose()
            };
            let total = scale(total, decimals).map_err(bad)?;
            let free = min_of(
                opt(&self.spec.available)?,
                opt(&self.spec.locked)?.map(|l| total - l),
            );
            let (available, locked) = match free {
                Some(f) => {
                    let (a, l) = split(total, f);
                    (Some(a), Some(l))
                }
                None => (None, None),
            };
            emit(ParsedBalance {
                venue_asset: Cow::Owned(asset.into_owned()),
                total,
                available,
                locked,
                pending: opt(&self.spec.pending)?,
                sub_account: text(at(&self.spec.sub_account)).map(|s| Cow::Owned(s.into_owned())),
                as_of: time(at(&self.spec.as_of)).map_err(bad)?,
                ..Default::default()
            });
        }
        Ok(None)
    }
    fn demo_credentials(&self) -> Credentials {
        Credentials {
            api_key: Some(crate::auth::Secret::new("demo-generic-token")),
            ..Default::default()
        }
    }
    fn start_sim(&self, credentials: Credentials) -> SimFuture {
        let sim = GenericSim {
            spec: self.spec.clone(),
            started: std::time::Instant::now(),
        };
        Box::pin(async move { Ok(crate::sim::rest::serve_rest(sim, credentials).await?.handle) })
    }
}

/// A custodian server for the demo and tests: serves [`sim_document`] at the configured path
/// to a request carrying the configured credential, 401 otherwise.
pub struct GenericSim {
    pub spec: GenericSpec,
    pub started: std::time::Instant,
}

/// Seconds the simulated USDC spends out of, then back in, custody: the demo account holding
/// it crosses its margin requirement and back within a minute, so a person watching sees it.
pub const SIM_SWING_S: u64 = 20;

/// The document served `elapsed_s` after start: [`SIM_DOCUMENT`], except that during the first
/// [`SIM_SWING_S`] of every `2 * SIM_SWING_S` 2,000,000 USDC are out on a transfer.
pub fn sim_document(elapsed_s: u64) -> String {
    if (elapsed_s / SIM_SWING_S).is_multiple_of(2) {
        SIM_DOCUMENT.replace(
            r#""total":"2500000000000","available":"2500000000000""#,
            r#""total":"500000000000","available":"500000000000""#,
        )
    } else {
        SIM_DOCUMENT.to_owned()
    }
}

/// The simulated custodian's response: balances in base units with their decimals, the shape
/// of `config/venues/generic_rest.example.toml`. Beyond plain balances: held BTC (0.5 locked),
/// a USDT pending withdrawal (10 locked) with an incoming deposit (5 pending), a dormant
/// vault whose `updated_at` is long past ([`SIM_DORMANT_UPDATED_AT`]; read as `as_of` when the
/// `as_of` pointer is configured, and still fresh, as freshness is when we polled), ETH dust
/// (1 wei) and a code no registry knows (`ZZZ_UNKNOWN_TOKEN`). The extra rows hold little value
/// (about 1,100 USD), so the demo's fund-b margin story is unchanged.
pub const SIM_DOCUMENT: &str = r#"{"data":{"balances":[{"currency":"BTC","vault":"cold-1","total":"1250000000","available":"1200000000","locked":"50000000","decimals":8},{"currency":"ETH","vault":"cold-1","total":"420000000000000000000","available":"420000000000000000000","locked":"0","decimals":18},{"currency":"USDC","vault":"ops","total":"2500000000000","available":"2500000000000","locked":"0","decimals":6},{"currency":"USDT","vault":"ops","total":"100000000","available":"90000000","locked":"10000000","pending":"5000000","decimals":6},{"currency":"USDC","vault":"dormant","total":"1000000000","available":"1000000000","locked":"0","decimals":6,"updated_at":"2025-06-30T08:00:00Z"},{"currency":"ETH","vault":"ops","total":"1","available":"1","locked":"0","decimals":18},{"currency":"ZZZ_UNKNOWN_TOKEN","vault":"ops","total":"1000","available":"1000","locked":"0","decimals":0}]}}"#;

/// The dormant vault's last change, as the simulated custodian reports it.
pub const SIM_DORMANT_UPDATED_AT: &str = "2025-06-30T08:00:00Z";

impl RestSimProtocol for GenericSim {
    fn handle(&self, req: &SimHttpRequest, ctx: &RestSimCtx<'_>) -> SimHttpResponse {
        let path = self.spec.path.split('?').next().unwrap_or("");
        if req.path != path {
            return SimHttpResponse::json(404, r#"{"error":"not found"}"#);
        }
        let expected = format!(
            "{}{}",
            self.spec.auth_prefix,
            ctx.credentials.key().unwrap_or("")
        );
        match req.header(&self.spec.auth_header) {
            Some(v) if crate::auth::sign::same(v, &expected) => {
                SimHttpResponse::json(200, sim_document(self.started.elapsed().as_secs()))
            }
            _ => SimHttpResponse::json(401, r#"{"error":"unauthorized"}"#),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> GenericSpec {
        GenericSpec {
            path: "/v1/balances".into(),
            auth_header: "Authorization".into(),
            auth_prefix: "Bearer ".into(),
            list: "/data/balances".into(),
            asset: "/currency".into(),
            total: "/total".into(),
            available: Some("/available".into()),
            locked: Some("/locked".into()),
            pending: Some("/pending".into()),
            as_of: Some("/updated_at".into()),
            decimals: Some("/decimals".into()),
            sub_account: Some("/vault".into()),
            source_kind: SourceKind::Custodian,
            requests_per_minute: 60,
        }
    }

    /// (asset, total, available, locked, sub_account) of every parsed balance.
    type Row = (
        String,
        Decimal,
        Option<Decimal>,
        Option<Decimal>,
        Option<String>,
    );

    fn parse(spec: GenericSpec, body: &str) -> Result<Vec<Row>, ParseError> {
        let mut out = Vec::new();
        GenericRest { spec }.parse_balances(body, &mut |b| {
            out.push((
                b.venue_asset.into_owned(),
                b.total,
                b.available,
                b.locked,
                b.sub_account.map(Cow::into_owned),
            ))
        })?;
        Ok(out)
    }

    #[test]
    fn base_units_scale_exactly_beyond_u64() {
        let b = parse(spec(), SIM_DOCUMENT).unwrap();
        assert_eq!(b.len(), 7);
        assert_eq!(b[0].0, "BTC");
        assert_eq!(b[0].1.to_string(), "12.50000000");
        assert_eq!(b[0].3.unwrap().to_string(), "0.50000000");
        assert_eq!(b[0].2.unwrap() + b[0].3.unwrap(), b[0].1);
        assert_eq!(b[0].4.as_deref(), Some("cold-1"));
        // 420 ETH in wei: 4.2e20, beyond u64's 1.8e19.
        assert_eq!(b[1].1.to_string(), "420.000000000000000000");
        assert_eq!(b[2].1.to_string(), "2500000.000000");
    }

    #[test]
    fn numbers_are_read_from_their_text_and_pointers_escape() {
        let mut s = spec();
        s.list = "/a~1b".into();
        s.decimals = None;
        s.available = None;
        s.locked = None;
        s.sub_account = None;
        let body = r#"{"a/b":[{"currency":"BTC","total":0.1000000000000000055511151231}]}"#;
        let b = parse(s, body).unwrap();
        assert_eq!(b[0].1.to_string(), "0.1000000000000000055511151231");
    }

    #[test]
    fn bad_documents_are_errors_not_panics() {
        for body in [
            "",
            "{",
            "[]",
            r#"{"data":{}}"#,
            r#"{"data":{"balances":[{"currency":"BTC"}]}}"#,
            r#"{"data":{"balances":[{"currency":"BTC","total":"1.5","decimals":8}]}}"#,
            r#"{"data":{"balances":[{"currency":"BTC","total":"abc"}]}}"#,
        ] {
            assert!(parse(spec(), body).is_err(), "{body}");
        }
    }

    #[test]
    fn the_simulated_custodian_swings_usdc_out_and_back() {
        let out = parse(spec(), &sim_document(0)).unwrap();
        let back = parse(spec(), &sim_document(SIM_SWING_S)).unwrap();
        assert_eq!(out[2].1.to_string(), "500000.000000");
        assert_eq!(back[2].1.to_string(), "2500000.000000");
        assert_eq!(parse(spec(), &sim_document(2 * SIM_SWING_S)).unwrap(), out);
    }

    #[test]
    fn pointer_syntax_is_validated() {
        let mut s = spec();
        s.total = "total".into();
        s.path = "v1".into();
        let errs: Vec<&str> = s.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(errs, vec!["total", "path"]);
    }
}
