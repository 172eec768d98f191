//! Access control of the HTTP endpoints (compliance.md 3.4): whenever the dashboard listens on
//! anything but loopback, every endpoint except `/healthz` and `/readyz` needs a token.
//!
//! - Tokens come from `[dashboard] tokens_env` (an env var, comma-separated) or `tokens_file`
//!   (one per line); with neither configured, from [`DEFAULT_TOKENS_ENV`] when it is set (so a
//!   container can be given tokens without a config file of its own); `/metrics` takes `metrics_tokens_env` / `metrics_tokens_file` when given,
//!   else the dashboard's. Several tokens may be valid at once (rotation). A token shorter than
//!   [`MIN_TOKEN_LEN`] is refused at start: a guessable token is no control.
//! - A request carries `Authorization: Bearer <token>`. A browser opens `/?token=<token>` once:
//!   it gets an `HttpOnly; SameSite=Strict` session cookie and is redirected to `/` (the token
//!   leaves the address bar and the history). The cookie holds SHA-256(process key || token),
//!   never the token: it is worthless after a restart or once the token is removed.
//! - Every comparison is constant-time over every configured token (`subtle`), so timing says
//!   nothing of which token or how much of it matched.
//! - Bound to a non-loopback address with no token, the tracker refuses to start (exit 2,
//!   the field named). On loopback without tokens the endpoints stay open, as before.
//! - Tokens are never logged; errors name the env var or file, never a value.

use crate::config::{ConfigError, DashboardConfig};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;
/// The env var read for dashboard tokens when the config names no source.
pub const DEFAULT_TOKENS_ENV: &str = "COLLATERAL_TRACKER_DASHBOARD_TOKENS";
/// The session cookie's name.
pub const COOKIE: &str = "ct_session";

/// The tokens in force and the process's cookie key.
pub struct Access {
    dashboard: Vec<Vec<u8>>,
    metrics: Option<Vec<Vec<u8>>>,
    cookie_key: [u8; 32],
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("dashboard_tokens", &self.dashboard.len())
            .field("metrics_tokens", &self.metrics.as_ref().map(Vec::len))
            .finish()
    }
}

/// Whether a listen address (`host:port`) is loopback only. A host name other than
/// `localhost` may resolve anywhere: not loopback (conservative).
pub fn is_loopback(address: &str) -> bool {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn tokens(
    field: &str,
    env: &Option<String>,
    file: &Option<String>,
) -> Result<Option<Vec<Vec<u8>>>, ConfigError> {
    let (text, path) = if let Some(var) = env {
        match std::env::var(var) {
            Ok(v) => (v.replace(',', "\n"), format!("dashboard.{field}_env")),
            Err(_) => {
                return Err(ConfigError::new(
                    format!("dashboard.{field}_env"),
                    format!("env var {var} is not set"),
                ))
            }
        }
    } else if let Some(f) = file {
        match std::fs::read_to_string(f) {
            Ok(v) => (v, format!("dashboard.{field}_file")),
            Err(e) => {
                return Err(ConfigError::new(
                    format!("dashboard.{field}_file"),
                    format!("cannot read {f}: {}", e.kind()),
                ))
            }
        }
    } else {
        return Ok(None);
    };
    let list: Vec<Vec<u8>> = text
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.as_bytes().to_vec())
        .collect();
    if list.is_empty() {
        return Err(ConfigError::new(path, "holds no token"));
    }
    if list.iter().any(|t| t.len() < MIN_TOKEN_LEN) {
        return Err(ConfigError::new(
            path,
            format!("a token is shorter than {MIN_TOKEN_LEN} characters"),
        ));
    }
    Ok(Some(list))
}

/// The access rules for a dashboard listening on `address`: `None` when it is open (loopback
/// without tokens). Refuses a non-loopback address without dashboard tokens.
pub fn load(cfg: &DashboardConfig, address: &str) -> Result<Option<Arc<Access>>, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut get = |field, env, file| match tokens(field, env, file) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let default_env = (cfg.tokens_env.is_none()
        && cfg.tokens_file.is_none()
        && std::env::var_os(DEFAULT_TOKENS_ENV).is_some())
    .then(|| DEFAULT_TOKENS_ENV.to_owned());
    let env = cfg.tokens_env.clone().or(default_env);
    let dashboard = get("tokens", &env, &cfg.tokens_file);
    let metrics = get(
        "metrics_tokens",
        &cfg.metrics_tokens_env,
        &cfg.metrics_tokens_file,
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(dashboard) = dashboard else {
        if !is_loopback(address) {
            return Err(vec![ConfigError::new(
                "dashboard.tokens_env",
                format!(
                    "the dashboard listens on {address}, not loopback: set tokens_env or tokens_file (compliance.md 3.4)"
                ),
            )]);
        }
        if metrics.is_some() {
            return Err(vec![ConfigError::new(
                "dashboard.metrics_tokens_env",
                "metrics tokens without dashboard tokens would leave the dashboard open while /metrics is closed: set tokens_env or tokens_file too",
            )]);
        }
        return Ok(None);
    };
    let mut cookie_key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut cookie_key);
    Ok(Some(Arc::new(Access {
        dashboard,
        metrics,
        cookie_key,
    })))
}

impl Access {
    /// Whether `given` is one of `tokens`, in constant time over all of them.
    fn matches(tokens: &[Vec<u8>], given: &[u8]) -> bool {
        let mut ok = subtle::Choice::from(0u8);
        for t in tokens {
            // `ct_eq` on slices of different lengths is false without reading them.
            ok |= t.as_slice().ct_eq(given);
        }
        ok.into()
    }

    fn session_of(&self, token: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(self.cookie_key);
        h.update(token);
        hex::encode(h.finalize())
    }

    fn cookie_ok(&self, headers: &HeaderMap) -> bool {
        let Some(value) = cookie(headers, COOKIE) else {
            return false;
        };
        let mut ok = subtle::Choice::from(0u8);
        for t in &self.dashboard {
            ok |= self.session_of(t).as_bytes().ct_eq(value.as_bytes());
        }
        ok.into()
    }
}

fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    v.strip_prefix(b"Bearer ")
        .or_else(|| v.strip_prefix(b"bearer "))
        .map(|t| t.trim_ascii())
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "token").then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "a token is required: Authorization: Bearer <token>, or open /?token=<token> once\n",
    )
        .into_response()
}

/// The middleware: lets `/healthz` and `/readyz` through, checks everything else.
pub async fn require(State(access): State<Arc<Access>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/healthz" || path == "/readyz" {
        return next.run(req).await;
    }
    let headers = req.headers();
    if path == "/metrics" {
        let ok = match (&access.metrics, bearer(headers)) {
            (Some(m), Some(t)) => Access::matches(m, t),
            (None, Some(t)) => Access::matches(&access.dashboard, t),
            (None, None) => access.cookie_ok(headers),
            (Some(_), None) => false,
        };
        return if ok {
            next.run(req).await
        } else {
            unauthorized()
        };
    }
    if let Some(t) = bearer(headers) {
        return if Access::matches(&access.dashboard, t) {
            next.run(req).await
        } else {
            unauthorized()
        };
    }
    if access.cookie_ok(headers) {
        return next.run(req).await;
    }
    if path == "/" {
        if let Some(t) = query_token(req.uri().query()) {
            if Access::matches(&access.dashboard, t.as_bytes()) {
                let session = access.session_of(t.as_bytes());
                return (
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, "/".to_owned()),
                        (
                            header::SET_COOKIE,
                            format!("{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/"),
                        ),
                    ],
                )
                    .into_response();
            }
        }
    }
    unauthorized()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    const TOKEN: &str = "dash-token-0123456789abcdef";
    const OTHER: &str = "rotated-token-fedcba9876543210";
    const METRICS: &str = "scraper-token-00112233445566";

    fn cfg(tokens_env: Option<&str>, metrics_env: Option<&str>) -> DashboardConfig {
        DashboardConfig {
            tokens_env: tokens_env.map(str::to_owned),
            metrics_tokens_env: metrics_env.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn loopback_addresses() {
        for a in ["127.0.0.1:8080", "localhost:1", "[::1]:8080", "127.1.2.3:0"] {
            assert!(is_loopback(a), "{a}");
        }
        for a in [
            "0.0.0.0:8080",
            "10.0.0.5:80",
            "[::]:8080",
            "dashboard.internal:80",
        ] {
            assert!(!is_loopback(a), "{a}");
        }
    }

    #[test]
    fn off_loopback_without_a_token_is_refused_with_the_field() {
        let e = load(&cfg(None, None), "0.0.0.0:8080").unwrap_err();
        assert_eq!(e[0].path, "dashboard.tokens_env");
        assert!(e[0].message.contains("0.0.0.0:8080"), "{}", e[0].message);
        // Loopback without tokens: open, as before.
        assert!(load(&cfg(None, None), "127.0.0.1:8080").unwrap().is_none());
    }

    #[test]
    fn tokens_come_from_env_or_file_and_bad_ones_are_refused_without_echo() {
        std::env::set_var("CT_ACCESS_T1", format!("{TOKEN}, {OTHER}"));
        let a = load(&cfg(Some("CT_ACCESS_T1"), None), "0.0.0.0:1")
            .unwrap()
            .unwrap();
        assert_eq!(a.dashboard.len(), 2);
        assert!(
            !format!("{a:?}").contains(TOKEN),
            "Debug must not show tokens"
        );
        std::env::set_var("CT_ACCESS_SHORT", "zq7");
        let e = load(&cfg(Some("CT_ACCESS_SHORT"), None), "0.0.0.0:1").unwrap_err();
        assert_eq!(e[0].path, "dashboard.tokens_env");
        assert!(!e[0].message.contains("zq7"), "{}", e[0].message);
        let e = load(&cfg(Some("CT_ACCESS_UNSET_VAR"), None), "0.0.0.0:1").unwrap_err();
        assert!(e[0].message.contains("CT_ACCESS_UNSET_VAR is not set"));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tokens");
        std::fs::write(&f, format!("{TOKEN}\n\n{OTHER}\n")).unwrap();
        let c = DashboardConfig {
            tokens_file: Some(f.display().to_string()),
            ..Default::default()
        };
        assert_eq!(load(&c, "0.0.0.0:1").unwrap().unwrap().dashboard.len(), 2);
    }

    #[test]
    fn comparison_is_exact() {
        let t = vec![TOKEN.as_bytes().to_vec(), OTHER.as_bytes().to_vec()];
        assert!(Access::matches(&t, TOKEN.as_bytes()));
        assert!(Access::matches(&t, OTHER.as_bytes()));
        assert!(!Access::matches(&t, &TOKEN.as_bytes()[..TOKEN.len() - 1]));
        assert!(!Access::matches(&t, format!("{TOKEN}x").as_bytes()));
        assert!(!Access::matches(&t, b""));
        assert_eq!(percent_decode("a%2Bb+c%zz"), "a+b c%zz");
    }

    /// One raw HTTP/1.1 request; the response head and body.
    fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            // An SSE stream never ends: the head is enough.
            if path == "/events" && out.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn status(resp: &str) -> u16 {
        resp.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_token_wrong_token_right_token() {
        std::env::set_var("CT_ACCESS_T2", format!("{TOKEN},{OTHER}"));
        std::env::set_var("CT_ACCESS_M2", METRICS);
        let access = load(
            &cfg(Some("CT_ACCESS_T2"), Some("CT_ACCESS_M2")),
            "0.0.0.0:1",
        )
        .unwrap()
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cancel = tokio_util::sync::CancellationToken::new();
        let dash = crate::http::Dashboard::new();
        tokio::spawn(crate::http::serve(
            listener,
            dash,
            Some(access),
            cancel.clone(),
        ));
        let checks = tokio::task::spawn_blocking(move || {
            let bearer = |t: &str| format!("Bearer {t}");
            // Orchestrators' probes stay open.
            assert_eq!(status(&get(port, "/healthz", &[])), 200);
            assert_eq!(status(&get(port, "/readyz", &[])), 503);
            for path in ["/", "/snapshot", "/events", "/metrics"] {
                let none = get(port, path, &[]);
                assert_eq!(status(&none), 401, "{path} without a token: {none}");
                assert!(
                    none.contains("WWW-Authenticate: Bearer")
                        || none.contains("www-authenticate: Bearer"),
                    "{none}"
                );
                let wrong = get(
                    port,
                    path,
                    &[("Authorization", &bearer("not-the-token-at-all-123"))],
                );
                assert_eq!(status(&wrong), 401, "{path} with a wrong token");
            }
            for t in [TOKEN, OTHER] {
                for path in ["/", "/snapshot", "/events"] {
                    let ok = get(port, path, &[("Authorization", &bearer(t))]);
                    assert_eq!(status(&ok), 200, "{path}: {ok}");
                }
            }
            // /metrics has its own token: the dashboard's does not open it.
            assert_eq!(
                status(&get(port, "/metrics", &[("Authorization", &bearer(TOKEN))])),
                401
            );
            assert_eq!(
                status(&get(
                    port,
                    "/metrics",
                    &[("Authorization", &bearer(METRICS))]
                )),
                200
            );
            assert_eq!(
                status(&get(
                    port,
                    "/snapshot",
                    &[("Authorization", &bearer(METRICS))]
                )),
                401
            );
            // A browser: /?token= once, then the cookie; the token leaves the URL.
            let wrong = get(port, "/?token=not-the-token-at-all-123", &[]);
            assert_eq!(status(&wrong), 401);
            let login = get(port, &format!("/?token={TOKEN}"), &[]);
            assert_eq!(status(&login), 303, "{login}");
            let cookie = login
                .lines()
                .find_map(|l| {
                    l.strip_prefix("set-cookie: ")
                        .or_else(|| l.strip_prefix("Set-Cookie: "))
                })
                .expect("a session cookie")
                .to_owned();
            assert!(
                cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
                "{cookie}"
            );
            assert!(
                !cookie.contains(TOKEN),
                "the cookie must not carry the token"
            );
            let session = cookie.split(';').next().unwrap().to_owned();
            for path in ["/", "/snapshot", "/events"] {
                assert_eq!(
                    status(&get(port, path, &[("Cookie", &session)])),
                    200,
                    "{path}"
                );
            }
            let forged = format!("{COOKIE}={}", "0".repeat(64));
            assert_eq!(status(&get(port, "/snapshot", &[("Cookie", &forged)])), 401);
        });
        let r = checks.await;
        cancel.cancel();
        r.unwrap();
    }
}
