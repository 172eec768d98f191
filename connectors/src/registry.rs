//! Every venue kind the tracker knows, in ONE list: [`VENUES`]. Adding a venue is one folder
//! (`venues/<kind>/` or `custodians/<kind>/`, with its `spec.rs`) plus one line here (and its
//! `pub mod` line in `venues/mod.rs` or `custodians/mod.rs`, which Rust needs to see the folder).
//!
//! Why one list: the lists of streaming, polling and balance-stream venues used to be three,
//! kept by hand, and nothing said that a kind's three roles belong together. An entry is now
//! the kind's [`VenueSpec`] (what it is) plus the trait objects of the roles it plays (what it
//! does); the binary, the contract tests, the fuzz targets and `collateral-tracker venues`
//! (which the scripts read) all derive from it. A constant check below refuses, at compile
//! time, an entry whose roles disagree with its spec.

use crate::custodians::generic_rest::GenericRest;
/// The `[connectors.generic]` table of a described kind (`generic_rest`).
pub use crate::custodians::generic_rest::GenericSpec;
use crate::spec::VenueSpec;
use crate::traits::StreamingVenue;
use crate::transport::private_ws::BalanceStream;
use crate::transport::rest::PollingVenue;
use crate::{custodians, venues};

/// One venue kind: its spec and the roles it plays.
#[derive(Clone, Copy)]
pub struct VenueEntry {
    pub spec: &'static VenueSpec,
    /// Prices over a public WebSocket.
    pub streaming: Option<&'static dyn StreamingVenue>,
    /// Balances over REST.
    pub polling: Option<&'static dyn PollingVenue>,
    /// Balance changes over a private WebSocket, beside `polling` (same kind, same
    /// credentials, same asset codes).
    pub balance_stream: Option<&'static dyn BalanceStream>,
    /// A polling venue built from the connector's config table (`spec.described_by`), for a
    /// kind that config describes instead of code (`generic_rest`).
    pub described: Option<fn(&GenericSpec) -> &'static dyn PollingVenue>,
}

impl VenueEntry {
    const fn new(spec: &'static VenueSpec) -> Self {
        VenueEntry {
            spec,
            streaming: None,
            polling: None,
            balance_stream: None,
            described: None,
        }
    }
    const fn prices(mut self, v: &'static dyn StreamingVenue) -> Self {
        self.streaming = Some(v);
        self
    }
    const fn balances(mut self, v: &'static dyn PollingVenue) -> Self {
        self.polling = Some(v);
        self
    }
    const fn balance_stream(mut self, v: &'static dyn BalanceStream) -> Self {
        self.balance_stream = Some(v);
        self
    }
    const fn described(mut self, f: fn(&GenericSpec) -> &'static dyn PollingVenue) -> Self {
        self.described = Some(f);
        self
    }
}

fn generic_rest(table: &GenericSpec) -> &'static dyn PollingVenue {
    GenericRest::leak(table.clone())
}

use custodians as c;
use venues as v;
use VenueEntry as E;

/// Every venue kind, sorted by kind id: one line each.
pub static VENUES: &[VenueEntry] = &[
    E::new(&v::binance::spec::SPEC)
        .prices(&v::binance::Binance)
        .balances(&v::binance::BinanceBalances)
        .balance_stream(&v::binance::stream::BinanceUserStream),
    E::new(&v::binance_usdm::spec::SPEC)
        .prices(&v::binance_usdm::BinanceUsdm)
        .balances(&v::binance_usdm::BinanceUsdmBalances)
        .balance_stream(&v::binance_usdm::stream::BinanceUsdmUserStream),
    E::new(&v::bitfinex::spec::SPEC).prices(&v::bitfinex::Bitfinex),
    E::new(&c::bitgo::spec::SPEC).balances(&c::bitgo::BitGo),
    E::new(&v::bitstamp::spec::SPEC).prices(&v::bitstamp::Bitstamp),
    E::new(&v::bybit::spec::SPEC)
        .balances(&v::bybit::BybitBalances)
        .balance_stream(&v::bybit::BybitWalletStream),
    E::new(&v::bybit::spec::LINEAR_SPEC).prices(&v::bybit::BybitLinear),
    E::new(&v::bybit::spec::SPOT_SPEC).prices(&v::bybit::BybitSpot),
    E::new(&v::coinbase::spec::SPEC)
        .prices(&v::coinbase::Coinbase)
        .balances(&v::coinbase::CoinbaseBalances),
    E::new(&c::coinbase_prime::spec::SPEC).balances(&c::coinbase_prime::CoinbasePrime),
    E::new(&v::deribit::spec::SPEC)
        .prices(&v::deribit::Deribit)
        .balances(&v::deribit::DeribitBalances)
        .balance_stream(&v::deribit::stream::DeribitPortfolioStream),
    E::new(&c::fireblocks::spec::SPEC).balances(&c::fireblocks::FireblocksBalances),
    E::new(&c::fireblocks_network_link::spec::SPEC)
        .balances(&c::fireblocks_network_link::FireblocksNetworkLinkBalances),
    E::new(&v::gemini::spec::SPEC).prices(&v::gemini::Gemini),
    E::new(&c::generic_rest::spec::SPEC).described(generic_rest),
    E::new(&v::kraken::spec::SPEC)
        .prices(&v::kraken::Kraken)
        .balances(&v::kraken::KrakenBalances)
        .balance_stream(&v::kraken::stream::KrakenBalanceStream),
    E::new(&v::okx::spec::SPEC)
        .prices(&v::okx::Okx)
        .balances(&v::okx::OkxBalances)
        .balance_stream(&v::okx::stream::OkxAccountStream),
];

/// Refuses, when the crate compiles, an entry whose roles and spec disagree: a price stream
/// needs `prices` and samples, REST needs `balances`, a balance stream needs REST beside it,
/// a described kind names its table; kinds are unique.
const fn check(entries: &[VenueEntry]) {
    let mut i = 0;
    while i < entries.len() {
        let e = &entries[i];
        let s = e.spec;
        assert!(
            e.streaming.is_some() == s.prices.is_some(),
            "a price stream iff the spec has `prices`"
        );
        assert!(
            e.streaming.is_none() || s.samples.len() >= 2,
            "a price kind names two sample symbols"
        );
        assert!(
            (e.polling.is_some() || e.described.is_some()) == s.balances.is_some(),
            "REST balances iff the spec has `balances`"
        );
        assert!(
            e.described.is_some() == s.described_by.is_some(),
            "a described kind names its config table"
        );
        assert!(
            e.balance_stream.is_none() || e.polling.is_some(),
            "a balance stream complements a poller of the same kind"
        );
        let mut j = 0;
        while j < i {
            assert!(!same(entries[j].spec.kind, s.kind), "kinds are unique");
            j += 1;
        }
        i += 1;
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const _: () = check(VENUES);

/// The entry of this kind, if the tracker knows it.
pub fn entry(kind: &str) -> Option<&'static VenueEntry> {
    VENUES.iter().find(|e| e.spec.kind == kind)
}

/// The spec of this kind, if the tracker knows it.
pub fn spec(kind: &str) -> Option<&'static VenueSpec> {
    entry(kind).map(|e| e.spec)
}

/// Streaming price venues, in registry order.
pub fn streaming_venues() -> impl Iterator<Item = &'static dyn StreamingVenue> + Clone {
    VENUES.iter().filter_map(|e| e.streaming)
}

/// Venues (exchanges and custodians) that report balances over REST, in registry order
/// (described kinds, which need their config table, are not among them).
pub fn polling_venues() -> impl Iterator<Item = &'static dyn PollingVenue> + Clone {
    VENUES.iter().filter_map(|e| e.polling)
}

/// Private WebSocket balance streams, in registry order.
pub fn balance_streams() -> impl Iterator<Item = &'static dyn BalanceStream> + Clone {
    VENUES.iter().filter_map(|e| e.balance_stream)
}

/// The balance stream that complements the polling kind `kind`, if the venue has one.
pub fn balance_stream(kind: &str) -> Option<&'static dyn BalanceStream> {
    entry(kind).and_then(|e| e.balance_stream)
}

/// The polling venue of this kind, if any.
pub fn polling(kind: &str) -> Option<&'static dyn PollingVenue> {
    entry(kind).and_then(|e| e.polling)
}

/// The streaming venue of this kind, if any.
pub fn streaming(kind: &str) -> Option<&'static dyn StreamingVenue> {
    entry(kind).and_then(|e| e.streaming)
}

/// Whether this kind is described by a config table, and which (`generic` for
/// `generic_rest`, read from `[connectors.generic]`).
pub fn described_by(kind: &str) -> Option<&'static str> {
    spec(kind).and_then(|s| s.described_by)
}

/// The polling venue a described kind builds from its config table (built once at start-up
/// and kept for the process: the registry holds `'static` venues).
pub fn described(kind: &str, table: &GenericSpec) -> Option<&'static dyn PollingVenue> {
    entry(kind)
        .and_then(|e| e.described)
        .map(|build| build(table))
}

/// All kind ids, sorted, for error messages.
pub fn kinds() -> Vec<&'static str> {
    let mut k: Vec<&'static str> = VENUES.iter().map(|e| e.spec.kind).collect();
    k.sort_unstable();
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traits::SymbolSpec;

    #[test]
    fn kinds_are_unique_sorted_and_found() {
        let kinds = kinds();
        let listed: Vec<_> = VENUES.iter().map(|e| e.spec.kind).collect();
        assert_eq!(kinds, listed, "VENUES is sorted by kind");
        let mut dedup = kinds.clone();
        dedup.dedup();
        assert_eq!(kinds.len(), dedup.len());
        assert!(kinds.contains(&"generic_rest"));
        for k in kinds {
            assert_eq!(spec(k).map(|s| s.kind), Some(k));
        }
        assert!(streaming("nope").is_none() && spec("nope").is_none());
        // Bybit: two price kinds and one balance kind, one entry each.
        assert!(streaming("bybit_spot").is_some() && polling("bybit_spot").is_none());
        assert!(streaming("bybit").is_none() && polling("bybit").is_some());
        assert!(balance_stream("bybit").is_some());
    }

    /// Every trait object answers with the spec of the entry it sits in (specs are `const`s,
    /// so compared by value, not address), so the registry and the objects the binary holds
    /// never disagree about a kind.
    #[test]
    fn roles_read_their_entrys_spec() {
        for e in VENUES {
            let kind = e.spec.kind;
            if let Some(s) = e.streaming {
                assert_eq!(s.spec().kind, kind);
                assert_eq!(s.kind(), kind);
                assert_eq!(s.default_ws_url(), e.spec.price().ws_url);
                assert!(!s.default_ws_url().is_empty(), "{kind}");
                // Every sample splits into an instrument, by the style or the venue's rules.
                for sym in s.sample_symbols() {
                    assert!(
                        !matches!(s.split_symbol(sym), SymbolSpec::Invalid(_)),
                        "{kind} {sym}"
                    );
                }
                assert!(e.spec.symbol_template().is_some(), "{kind}");
            }
            if let Some(p) = e.polling {
                assert_eq!(p.spec().kind, kind);
                assert_eq!(p.kind(), kind);
                assert_eq!(p.default_rest_url(), e.spec.rest().rest_url);
                assert!(p.default_rest_url().starts_with("https://"), "{kind}");
            }
            if let Some(b) = e.balance_stream {
                assert_eq!(b.kind(), kind);
            }
        }
        assert_eq!(streaming_venues().count(), 11);
        assert_eq!(polling_venues().count(), 11);
        assert_eq!(balance_streams().count(), 6);
    }

    #[test]
    fn a_described_kind_is_built_from_its_table() {
        assert_eq!(described_by("generic_rest"), Some("generic"));
        assert_eq!(described_by("binance"), None);
        assert!(polling("generic_rest").is_none());
        let table: GenericSpec = serde_json::from_str(
            r#"{"path":"/v1/balances","list":"/data","asset":"/code","total":"/total",
                "requests_per_minute":30}"#,
        )
        .unwrap();
        let venue = described("generic_rest", &table).unwrap();
        assert_eq!(venue.kind(), "generic_rest");
        assert_eq!(venue.rate_limit().capacity, 30);
        assert!(described("binance", &table).is_none());
    }
}
