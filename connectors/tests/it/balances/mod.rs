//! REST balance venues and custodians: signing, exact decimals, simulators.

mod binance_usdm;
mod bitgo;
mod bybit;
mod coinbase;
mod coinbase_prime;
mod deribit;
mod fireblocks;
mod fireblocks_network_link;
mod generic_rest;
mod kraken;
mod margin_binance_usdm;
mod margin_bybit;
mod margin_positions;
mod okx;
mod recorded;
