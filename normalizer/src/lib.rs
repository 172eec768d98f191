//! Normalizer: the asset master, the latest quote per source, the reference price and the
//! publishers, and the driver that orders observations and cuts for `run` and `replay`.
//! Depends on `schemas` only; knows nothing of sockets.

pub mod assets;
pub mod audit;
pub mod core;
pub mod driver;
pub mod margin;
pub mod publish;
pub mod reference;
pub mod valuation;
pub mod venue_margin;
