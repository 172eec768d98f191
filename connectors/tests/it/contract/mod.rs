//! Contracts run over every registry entry.

mod balance_stream;
mod polling;
mod streaming;
