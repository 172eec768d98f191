//! Contracts run over every registry entry.

mod balance_stream;
mod margin;
mod polling;
mod streaming;
