//! Venue parsers against real payloads (`tests/fixtures/<kind>/`), one module per venue group.

mod binance_coinbase_kraken;
mod binance_usdm;
mod bitfinex;
mod bitstamp;
mod bybit;
mod deribit;
mod deribit_account;
mod gemini;
mod margin_binance_usdm;
mod margin_bybit;
mod okx;
mod okx_account;
