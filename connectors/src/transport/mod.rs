//! The framework that runs a venue: sockets, reconnects, pings, staleness, epochs. Three loops
//! share it: the price stream ([`ws`]), the REST balance poller ([`rest`]) and the private
//! balance stream ([`private_ws`]); the two WebSocket loops run on one [`session`] and all
//! three report through one [`feed`] state machine.

pub mod backoff;
pub mod clock;
pub mod dial;
pub mod feed;
pub mod private_ws;
pub mod request;
pub mod rest;
pub(crate) mod session;
pub mod ws;

pub use backoff::Backoff;
pub use clock::Clock;
pub use dial::Dialer;
pub use feed::Feed;
pub use session::DEFAULT_MAX_MESSAGE_BYTES;
pub use ws::{
    frame_to_quotes, run_streaming, Connection, ConnectorStats, FrameMeta, StreamingConnector,
};
