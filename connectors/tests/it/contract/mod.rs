//! Contracts run over every registry entry.

mod polling;
mod streaming;
