//! REST simulators: an HTTP server on 127.0.0.1:0 that hands each request to a venue's
//! [`RestSimProtocol`], which checks the signature the way the venue does and answers with the
//! venue's own bodies (balances, or its error body). Tests turn knobs to inject faults.

use super::{SimControl, SimHandle};
use crate::auth::Credentials;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use schemas::Ts;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A request as the simulator sees it (header names lower case).
#[derive(Clone, Debug, Default)]
pub struct SimHttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl SimHttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
    /// A query parameter's raw (still percent-encoded) value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimHttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SimHttpResponse {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        SimHttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }
    /// Marks this answer as a refusal by the venue's checks (bad key, signature, nonce) for
    /// [`RestFaults::refused`], whatever its status: some venues refuse with HTTP 200 and an
    /// error in the body (Kraken `{"error":["EAPI:Invalid key"]}`), which the status-based count
    /// cannot see. The mark is a header the server strips before answering.
    pub fn refusal(mut self) -> Self {
        self.headers.push((REFUSED_MARK.to_owned(), "1".to_owned()));
        self
    }
    pub fn is_refusal(&self) -> bool {
        matches!(self.status, 400 | 401 | 403)
            || self.headers.iter().any(|(k, _)| k == REFUSED_MARK)
    }
}

/// Internal header naming a refusal (see [`SimHttpResponse::refusal`]); never sent.
const REFUSED_MARK: &str = "x-sim-refused";

/// What the simulator knows when it answers.
pub struct RestSimCtx<'a> {
    pub now: Ts,
    /// The only credentials it accepts.
    pub credentials: &'a Credentials,
    /// Requests answered so far on this simulator.
    pub requests: u64,
}

/// How a venue's REST server answers. Pure: no I/O.
pub trait RestSimProtocol: Send + Sync + 'static {
    fn handle(&self, req: &SimHttpRequest, ctx: &RestSimCtx<'_>) -> SimHttpResponse;
}

/// Faults a test can inject into a REST simulator, beside [`SimControl`].
#[derive(Debug, Default)]
pub struct RestFaults {
    /// Answer the next N requests with this status (429, 418, 500...) and `Retry-After`.
    queued: Mutex<Vec<(u16, Option<u64>)>>,
    /// Hold the next N requests this long before answering (a venue that hangs).
    delays: Mutex<Vec<std::time::Duration>>,
    pub requests: AtomicU64,
    pub refused: AtomicU64,
}

impl RestFaults {
    pub fn fail_next(&self, status: u16, retry_after_s: Option<u64>) {
        self.queued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((status, retry_after_s));
    }
    /// Hold the next request `delay` before answering it (longer than the client's timeout,
    /// it is a timeout).
    pub fn delay_next(&self, delay: std::time::Duration) {
        self.delays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(delay);
    }
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
    /// Requests refused by the venue's checks (bad signature, key, timestamp).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }
}

struct Shared {
    proto: Box<dyn RestSimProtocol>,
    credentials: Credentials,
    faults: Arc<RestFaults>,
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let sim_req = SimHttpRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| {
                Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = shared.faults.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let delay = {
        let mut d = shared
            .faults
            .delays
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (!d.is_empty()).then(|| d.remove(0))
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let queued = {
        let mut q = shared
            .faults
            .queued
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (!q.is_empty()).then(|| q.remove(0))
    };
    let resp = match queued {
        Some((status, retry)) => SimHttpResponse {
            status,
            headers: retry
                .map(|s| vec![("retry-after".to_owned(), s.to_string())])
                .unwrap_or_default(),
            body: format!("{{\"code\":{status},\"msg\":\"injected\"}}"),
        },
        None => shared.proto.handle(
            &sim_req,
            &RestSimCtx {
                now: Ts::now(),
                credentials: &shared.credentials,
                requests: n,
            },
        ),
    };
    if resp.is_refusal() {
        shared.faults.refused.fetch_add(1, Ordering::SeqCst);
    }
    let mut out = Response::new(Body::from(resp.body));
    *out.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in resp.headers {
        if k == REFUSED_MARK {
            continue;
        }
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            out.headers_mut().insert(k, v);
        }
    }
    out
}

/// A running REST simulator: its URL, and the faults to inject.
pub struct RestSim {
    pub handle: SimHandle,
    pub faults: Arc<RestFaults>,
}

/// Starts a REST simulator for `proto`, accepting only `credentials`.
pub async fn serve_rest<P: RestSimProtocol>(
    proto: P,
    credentials: Credentials,
) -> std::io::Result<RestSim> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let faults = Arc::new(RestFaults::default());
    let shared = Arc::new(Shared {
        proto: Box::new(proto),
        credentials,
        faults: faults.clone(),
    });
    let app = axum::Router::new().fallback(handle).with_state(shared);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(RestSim {
        handle: SimHandle {
            ws_url: String::new(),
            rest_url: Some(format!("http://{addr}")),
            control: Arc::new(SimControl::new()),
            task,
            rest_faults: Some(faults.clone()),
        },
        faults,
    })
}
