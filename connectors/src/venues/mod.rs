//! Exchanges that stream prices. One folder per venue kind: `mod.rs` (the connector),
//! `wire.rs` (the venue's messages), `parse.rs` (pure wire -> quotes), `sim.rs` (its server).

pub mod binance;
pub mod binance_usdm;
pub mod bitfinex;
pub mod bitstamp;
pub mod bybit;
pub mod coinbase;
pub mod deribit;
pub mod gemini;
pub mod kraken;
pub mod okx;
pub(crate) mod scan;
