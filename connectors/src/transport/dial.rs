//! Where a WebSocket loop gets its socket: the [`Dialer`] seam.
//!
//! Production dials the network ([`Dialer::Net`]: TCP, TLS via rustls, exactly
//! `tokio_tungstenite::connect_async_with_config` with the size limits of the loop). Tests whose
//! only subject is the clock (staleness, idle limits, backoff, cancel during a backoff wait) dial
//! in memory ([`Dialer::memory`]): a `tokio::io::duplex` pipe whose far end a scripted venue
//! serves with `tokio_tungstenite::accept_async`. Nothing then waits on the operating system, so
//! they can run on tokio's paused clock (`#[tokio::test(start_paused = true)]`), which
//! auto-advances whenever the runtime is idle: over real sockets that advance would also happen
//! while waiting for I/O and fire timeouts spuriously, in memory it cannot.
//!
//! Why an enum ([`Ws`]) rather than a generic session or a boxed stream: the production path
//! keeps its exact type and handshake (`MaybeTlsStream<TcpStream>`, not reimplemented), and the
//! price of the seam on the hot path is one `match` per poll, no allocation and no vtable.

use crate::error::ConnectorError;
use futures_util::{Sink, Stream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::DuplexStream;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, protocol::WebSocketConfig, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Opens the in-memory end of one connection to `url` (the loop's URL, venue path included),
/// or fails like a refused connect.
pub type MemoryDial = Arc<dyn Fn(&str) -> std::io::Result<DuplexStream> + Send + Sync>;

/// How a loop opens its socket. The default is the network.
#[derive(Clone, Default)]
pub enum Dialer {
    /// TCP (+ TLS for `wss://`) via `connect_async_with_config`: production.
    #[default]
    Net,
    /// An in-memory pipe: the WebSocket handshake runs over it as over TCP (same size limits),
    /// the peer being whatever serves the other end. For tests on a paused clock.
    Memory(MemoryDial),
}

impl Dialer {
    /// An in-memory dialer: `open` is called once per connection attempt.
    pub fn memory(
        open: impl Fn(&str) -> std::io::Result<DuplexStream> + Send + Sync + 'static,
    ) -> Self {
        Dialer::Memory(Arc::new(open))
    }
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dialer::Net => "Dialer::Net",
            Dialer::Memory(_) => "Dialer::Memory",
        })
    }
}

/// Where and how a loop connects.
#[derive(Clone, Debug)]
pub(crate) struct Dial {
    pub url: String,
    pub connect_timeout: Duration,
    /// A bigger message is refused by the WS layer, which cannot resynchronise after it: the
    /// connection is replaced.
    pub max_message_bytes: usize,
    pub dialer: Dialer,
}

/// One open WebSocket, from either dialer.
// The network variant is the large one (TLS state) and the one production uses: boxing it would
// add an indirection to every poll to save one move per connection (into the session's split).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Ws {
    Net(WebSocketStream<MaybeTlsStream<TcpStream>>),
    Memory(WebSocketStream<DuplexStream>),
}

/// Opens the socket with the size limits and connect timeout of `dial`.
pub(crate) async fn connect(dial: &Dial) -> Result<Ws, ConnectorError> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(dial.max_message_bytes))
        .max_frame_size(Some(dial.max_message_bytes));
    let url = dial.url.as_str();
    let connecting = async {
        match &dial.dialer {
            Dialer::Net => tokio_tungstenite::connect_async_with_config(url, Some(config), false)
                .await
                .map(|(ws, _)| Ws::Net(ws)),
            Dialer::Memory(open) => {
                let io = open(url).map_err(tungstenite::Error::Io)?;
                tokio_tungstenite::client_async_with_config(url, io, Some(config))
                    .await
                    .map(|(ws, _)| Ws::Memory(ws))
            }
        }
    };
    match tokio::time::timeout(dial.connect_timeout, connecting).await {
        Ok(Ok(ws)) => Ok(ws),
        Ok(Err(e)) => Err(ConnectorError::unavailable(format!("connect failed: {e}"))),
        Err(_) => Err(ConnectorError::unavailable(format!(
            "connect timed out after {} ms",
            dial.connect_timeout.as_millis()
        ))),
    }
}

/// Both variants are `Unpin`, so each poll forwards through `Pin::new`.
macro_rules! forward {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Ws::Net($s) => $e,
            Ws::Memory($s) => $e,
        }
    };
}

impl Stream for Ws {
    type Item = Result<Message, tungstenite::Error>;
    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        forward!(self, s => Pin::new(s).poll_next(cx))
    }
}

impl Sink<Message> for Ws {
    type Error = tungstenite::Error;
    #[inline]
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        forward!(self, s => Pin::new(s).poll_ready(cx))
    }
    #[inline]
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        forward!(self, s => Pin::new(s).start_send(item))
    }
    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        forward!(self, s => Pin::new(s).poll_flush(cx))
    }
    #[inline]
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        forward!(self, s => Pin::new(s).poll_close(cx))
    }
}
