//! The framework that runs a venue: sockets, reconnects, pings, staleness, epochs.

pub mod backoff;
pub mod feed;
pub(crate) mod session;
pub mod ws;

pub use backoff::Backoff;
pub use feed::Feed;
pub use session::DEFAULT_MAX_MESSAGE_BYTES;
pub use ws::{
    frame_to_quotes, run_streaming, Connection, ConnectorStats, FrameMeta, StreamingConnector,
};
