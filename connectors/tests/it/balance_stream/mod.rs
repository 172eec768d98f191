//! Private balance streams: each venue's parse, signing and login refusals (the shared
//! lifecycle is `contract::balance_stream`).

mod binance;
mod binance_usdm;
mod bybit;
mod deribit;
mod kraken;
mod okx;
