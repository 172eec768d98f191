//! Every venue kind the tracker knows. Adding a venue is one folder and one line here.

use crate::traits::StreamingVenue;
use crate::transport::private_ws::BalanceStream;
use crate::transport::rest::PollingVenue;
use crate::{custodians, venues};

/// Streaming price venues, by kind id.
pub static STREAMING: &[&dyn StreamingVenue] = &[
    &venues::binance::Binance,
    &venues::binance_usdm::BinanceUsdm,
    &venues::bitfinex::Bitfinex,
    &venues::bitstamp::Bitstamp,
    &venues::bybit::BybitLinear,
    &venues::bybit::BybitSpot,
    &venues::coinbase::Coinbase,
    &venues::deribit::Deribit,
    &venues::gemini::Gemini,
    &venues::kraken::Kraken,
    &venues::okx::Okx,
];

/// Venues (exchanges and custodians) that report balances over REST, by kind id.
pub static POLLING: &[&dyn PollingVenue] = &[
    &custodians::bitgo::BitGo,
    &custodians::coinbase_prime::CoinbasePrime,
    &custodians::fireblocks::FireblocksBalances,
    &custodians::fireblocks_network_link::FireblocksNetworkLinkBalances,
    &venues::binance::BinanceBalances,
    &venues::binance_usdm::BinanceUsdmBalances,
    &venues::bybit::BybitBalances,
    &venues::coinbase::CoinbaseBalances,
    &venues::deribit::DeribitBalances,
    &venues::kraken::KrakenBalances,
    &venues::okx::OkxBalances,
];

/// Private WebSocket balance streams, by the polling kind each complements.
pub static BALANCE_STREAMS: &[&dyn BalanceStream] = &[
    &venues::binance::stream::BinanceUserStream,
    &venues::bybit::BybitWalletStream,
    &venues::deribit::DeribitPortfolioStream,
    &venues::kraken::KrakenBalanceStream,
    &venues::okx::stream::OkxAccountStream,
];

/// The balance stream that complements the polling kind `kind`, if the venue has one.
pub fn balance_stream(kind: &str) -> Option<&'static dyn BalanceStream> {
    BALANCE_STREAMS.iter().copied().find(|v| v.kind() == kind)
}

/// The polling venue of this kind, if any.
pub fn polling(kind: &str) -> Option<&'static dyn PollingVenue> {
    POLLING.iter().copied().find(|v| v.kind() == kind)
}

/// The streaming venue of this kind, if any.
pub fn streaming(kind: &str) -> Option<&'static dyn StreamingVenue> {
    STREAMING.iter().copied().find(|v| v.kind() == kind)
}

/// All kind ids, for error messages.
pub fn kinds() -> Vec<&'static str> {
    let mut k: Vec<&'static str> = STREAMING
        .iter()
        .map(|v| v.kind())
        .chain(POLLING.iter().map(|v| v.kind()))
        .collect();
    k.sort_unstable();
    k.dedup();
    k
}

#[cfg(test)]
mod tests {
    #[test]
    fn kinds_are_unique_and_found() {
        let kinds = super::kinds();
        let mut dedup = kinds.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(kinds.len(), dedup.len());
        for k in kinds {
            // A kind may stream prices, report balances or both (`bybit` only polls).
            let found = super::streaming(k)
                .map(|v| v.kind())
                .or_else(|| super::polling(k).map(|v| v.kind()));
            assert_eq!(found, Some(k));
        }
        assert!(super::streaming("nope").is_none());
        // Every balance stream complements a polling kind.
        for s in super::BALANCE_STREAMS {
            assert!(super::polling(s.kind()).is_some(), "{}", s.kind());
            assert_eq!(
                super::balance_stream(s.kind()).map(|v| v.kind()),
                Some(s.kind())
            );
        }
    }
}
