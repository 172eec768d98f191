//! The connectors' integration tests, one binary (one link of tokio, reqwest and axum instead of
//! one per file). Fixtures stay in `tests/fixtures/` (`CARGO_MANIFEST_DIR` + `tests/fixtures/...`,
//! or `include_str!` relative to each module's file).

mod balance_stream;
mod balances;
mod capture_reader;
mod contract;
mod fast;
mod faults;
mod fuzz_corpus;
mod parsers;
mod paused;
mod security;
mod support;
