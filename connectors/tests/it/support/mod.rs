//! Shared helpers of the integration tests.

pub mod balance_stream;
pub mod fast;
pub mod parsers;
pub mod scripted;
