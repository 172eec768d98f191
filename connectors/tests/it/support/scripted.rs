//! A scripted venue behind the transport's in-memory dialer, for tests on tokio's paused clock.
//!
//! Each connection attempt takes the next [`Conn`] of the script: a refusal (the dial fails like
//! a refused TCP connect), or a WebSocket server on the far end of a `tokio::io::duplex` pipe
//! (`tokio_tungstenite::accept_async`, the same handshake as over TCP) that plays its [`Step`]s:
//! frames, silences (`tokio::time::sleep`, so free on a paused clock), pings, a close. When the
//! script runs out every further dial is refused. The [`Log`] keeps when each dial came, what the
//! client sent and when each connection ended, in tokio time since the script was made.
//!
//! Nothing here touches the operating system, which is what makes a paused clock safe: tokio
//! advances it only when every task waits on a timer, never while a byte is in flight.

use connectors::transport::Dialer;
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// One thing the venue does on a connection, in order.
#[derive(Clone, Debug)]
pub enum Step {
    /// A text frame.
    Send(String),
    /// Nothing for this long.
    Sleep(Duration),
    /// A WebSocket ping (the client's WS layer answers it).
    Ping,
    /// A Close frame; the venue then reads until the client leaves.
    Close,
}

/// What one connection attempt meets.
#[derive(Clone, Debug)]
pub enum Conn {
    /// The dial fails (`ConnectionRefused`).
    Refuse,
    /// The venue plays these steps, then stays silent with the connection open.
    Serve(Vec<Step>),
}

/// What the venue saw, in tokio time since [`scripted`] was called.
#[derive(Debug, Default)]
pub struct Log {
    /// When each dial came (refused or not).
    pub dials: Vec<Duration>,
    /// Text frames from the client: (dial index, when, text).
    pub received: Vec<(usize, Duration, String)>,
    /// Pongs from the client (answers to [`Step::Ping`]): (dial index, when).
    pub pongs: Vec<(usize, Duration)>,
    /// When each served connection ended on the client's side: (dial index, when).
    pub ended: Vec<(usize, Duration)>,
}

/// A shared handle on the [`Log`].
#[derive(Clone)]
pub struct Venue {
    log: Arc<Mutex<Log>>,
}

impl Venue {
    pub fn dials(&self) -> Vec<Duration> {
        self.log.lock().unwrap().dials.clone()
    }
    pub fn received(&self) -> Vec<(usize, Duration, String)> {
        self.log.lock().unwrap().received.clone()
    }
    pub fn pongs(&self) -> Vec<(usize, Duration)> {
        self.log.lock().unwrap().pongs.clone()
    }
    pub fn ended(&self) -> Vec<(usize, Duration)> {
        self.log.lock().unwrap().ended.clone()
    }
}

/// A dialer that plays `script`, one [`Conn`] per attempt, and the log of what happened.
pub fn scripted(script: Vec<Conn>) -> (Dialer, Venue) {
    let start = Instant::now();
    let log = Arc::new(Mutex::new(Log::default()));
    let queue = Mutex::new(VecDeque::from(script));
    let venue = Venue { log: log.clone() };
    let dialer = Dialer::memory(move |_url| {
        let index = {
            let mut l = log.lock().unwrap();
            l.dials.push(start.elapsed());
            l.dials.len() - 1
        };
        match queue.lock().unwrap().pop_front() {
            None | Some(Conn::Refuse) => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "scripted refusal",
            )),
            Some(Conn::Serve(steps)) => {
                let (client, server) = tokio::io::duplex(1 << 16);
                tokio::spawn(serve(server, steps, log.clone(), index, start));
                Ok(client)
            }
        }
    });
    (dialer, venue)
}

async fn serve(
    io: tokio::io::DuplexStream,
    steps: Vec<Step>,
    log: Arc<Mutex<Log>>,
    index: usize,
    start: Instant,
) {
    let ws = tokio_tungstenite::accept_async(io)
        .await
        .expect("the client speaks WebSocket");
    let (mut tx, mut rx) = ws.split();
    let reader = async {
        while let Some(Ok(m)) = rx.next().await {
            let at = start.elapsed();
            let mut l = log.lock().unwrap();
            match m {
                Message::Text(t) => l.received.push((index, at, t.to_string())),
                Message::Pong(_) => l.pongs.push((index, at)),
                _ => {}
            }
        }
        log.lock().unwrap().ended.push((index, start.elapsed()));
    };
    let writer = async {
        for step in steps {
            let sent = match step {
                Step::Send(text) => tx.send(Message::Text(text.into())).await,
                Step::Sleep(d) => {
                    tokio::time::sleep(d).await;
                    Ok(())
                }
                Step::Ping => tx.send(Message::Ping(Vec::new().into())).await,
                Step::Close => {
                    let _ = tx.send(Message::Close(None)).await;
                    break;
                }
            };
            if sent.is_err() {
                break;
            }
        }
        // Keep the write half (and so the connection) open: silence, not a close.
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = reader => {}
        _ = writer => {}
    }
}
