//! Connectors: one worker per configured venue instance.
//!
//! A venue author writes a pure parser, the venue's wire types and a simulator; the framework in
//! [`transport`] owns the socket loop, subscribe and resubscribe, pings, reconnect with capped
//! exponential backoff and full jitter, connection epochs, data-level staleness and the bounded
//! outbox. This crate depends on `schemas` only and knows nothing of Kafka or medians.

pub mod auth;
pub mod balance_stream;
pub mod book;
pub mod capture;
pub mod custodians;
pub mod decimal;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod outbox;
pub mod polling;
pub mod registry;
pub mod sim;
pub mod symbols;
pub mod traits;
pub mod transport;
pub mod venues;

pub use error::{ConnectorError, ParseError};
pub use schemas::{Observation, QuoteObs, SourceRef};
pub use traits::{
    ConnState, FrameKind, Merge, ParsedQuote, PingPolicy, Sequencing, StreamingVenue, SymbolSpec,
};
