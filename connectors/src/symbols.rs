//! Per-connector symbol table: venue symbol -> instrument index, one hash probe per quote.

use std::collections::HashMap;

/// One configured instrument of a connector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    /// As the venue spells it (`BTCUSDT`).
    pub venue_symbol: String,
    /// The `feed_status` stream name (`ticker:BTC-USDT`).
    pub stream: String,
}

#[derive(Clone, Debug, Default)]
pub struct SymbolTable {
    /// FxHash: a short symbol hashes in a few instructions (SipHash's DoS resistance buys
    /// nothing for keys fixed by our own config).
    index: HashMap<Box<str>, u32, rustc_hash::FxBuildHasher>,
    instruments: Vec<InstrumentSpec>,
}

impl SymbolTable {
    pub fn new(instruments: Vec<InstrumentSpec>) -> Self {
        let index = instruments
            .iter()
            .enumerate()
            .map(|(i, s)| (s.venue_symbol.clone().into_boxed_str(), i as u32))
            .collect();
        SymbolTable { index, instruments }
    }
    #[inline]
    pub fn get(&self, symbol: &str) -> Option<u32> {
        self.index.get(symbol).copied()
    }
    pub fn instruments(&self) -> &[InstrumentSpec] {
        &self.instruments
    }
    pub fn symbols(&self) -> Vec<&str> {
        self.instruments
            .iter()
            .map(|s| s.venue_symbol.as_str())
            .collect()
    }
    pub fn len(&self) -> usize {
        self.instruments.len()
    }
    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }
}
