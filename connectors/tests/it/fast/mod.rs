//! Fast paths against their serde equivalents.

mod binance;
mod bybit;
mod deribit;
mod okx;
