//! Connectors: one worker per configured venue instance.
//!
//! A venue author writes a pure parser, the venue's wire types and a simulator; the framework in
//! [`transport`] owns the socket loop, subscribe and resubscribe, pings, reconnect with capped
//! exponential backoff and full jitter, connection epochs, data-level staleness and the bounded
//! outbox. This crate depends on `schemas` only and knows nothing of Kafka or medians.

pub mod account;
pub mod auth;
pub mod book;
pub mod capture;
pub mod custodians;
pub mod decimal;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod outbox;
pub mod registry;
pub mod sim;
pub mod spec;
pub mod symbols;
pub mod traits;
pub mod transport;
pub mod venues;

pub use error::{ConnectorError, ParseError};
pub use schemas::{Observation, QuoteObs, SourceRef};
pub use spec::{PriceSpec, RestSpec, SymbolStyle, VenueSpec};
pub use traits::{
    ConnState, FrameKind, Merge, ParsedQuote, PingPolicy, Sequencing, StreamingVenue, SymbolSpec,
};

/// A venue's chain name as a network id of `balance.v1`: upper case, every run of other
/// characters one `_` (`Arbitrum One` -> `ARBITRUM_ONE`, `BNB Smart Chain` -> `BNB_SMART_CHAIN`).
pub fn network_id(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod network_tests {
    #[test]
    fn chain_names_become_network_ids() {
        assert_eq!(super::network_id("Arbitrum"), "ARBITRUM");
        assert_eq!(super::network_id(" BNB Smart-Chain "), "BNB_SMART_CHAIN");
        assert_eq!(super::network_id("Ethereum"), "ETHEREUM");
    }
}
