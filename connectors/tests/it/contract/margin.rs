//! Contract of every venue that reports margin and positions (a `PollingVenue` with account
//! pages), against its own REST simulator: each poll yields the account's margin (equity and
//! maintenance margin, initial margin not below maintenance), its open positions (canonical
//! instruments, sizes and contracts positive, a side, a mark price) and, for every full list, an
//! end marker after the positions of its scope. A new derivatives venue is covered by its
//! registry line alone.

use connectors::auth::Credentials;
use connectors::outbox::{self, Outbox};
use connectors::registry;
use connectors::transport::rest::{run_polling, PollingConnector, PollingVenue};
use rust_decimal::Decimal;
use schemas::{Market, Observation, PositionSide};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `BASE-QUOTE`, `-PERP`, `-YYYYMMDD`, options `-YYYYMMDD-STRIKE-C|P` (records.md).
fn canonical(instrument: &str, market: Market) -> bool {
    let parts: Vec<&str> = instrument.split('-').collect();
    let code = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    let date = |s: &str| s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit());
    if parts.len() < 2 || !code(parts[0]) || !code(parts[1]) {
        return false;
    }
    match (market, &parts[2..]) {
        (Market::Perpetual, ["PERP"]) => true,
        (Market::Future, [d]) => date(d),
        (Market::Option, [d, strike, cp]) => {
            date(d) && strike.parse::<Decimal>().is_ok() && matches!(*cp, "C" | "P")
        }
        (Market::Spot, []) => true,
        _ => false,
    }
}

async fn contract(venue: &'static dyn PollingVenue) {
    let kind = venue.kind();
    let creds: Credentials = venue.demo_credentials();
    let sim = venue.start_sim(creds.clone()).await.expect("sim starts");
    let url = sim.rest_url.clone().expect("a REST sim has a URL");
    let (tx, mut rx) = outbox::channel(4096);
    let c = PollingConnector::new(
        "contract",
        0,
        venue,
        Some(&url),
        creds,
        Duration::from_millis(200),
    );
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run_polling(
        c,
        Outbox::new(tx, Default::default()),
        cancel.clone(),
    ));

    let (mut margins, mut positions, mut ends) = (0, 0, BTreeSet::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while margins < 2 || positions < 2 || ends.is_empty() {
        let o = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{kind}: no margin ({margins}), positions ({positions}) or list end ({ends:?}) in 15 s"))
            .expect("poller alive");
        match o {
            Observation::Margin(m) => {
                margins += 1;
                assert!(!m.currency.is_empty(), "{kind}: {m:?}");
                assert!(m.equity.is_some(), "{kind}: no equity in {m:?}");
                let mm = m
                    .maintenance_margin
                    .unwrap_or_else(|| panic!("{kind}: no MM in {m:?}"));
                assert!(mm >= Decimal::ZERO, "{kind}: {m:?}");
                if let Some(im) = m.initial_margin {
                    assert!(
                        im >= mm,
                        "{kind}: initial margin below maintenance in {m:?}"
                    );
                }
            }
            Observation::Position(p) if p.is_snapshot_end() => {
                let scope = p.snapshot_scope.clone().expect("an end names its scope");
                ends.insert(scope);
            }
            Observation::Position(p) => {
                if p.size.is_zero() {
                    continue; // a flat row some venues list
                }
                positions += 1;
                assert!(
                    canonical(&p.instrument, p.market),
                    "{kind}: not canonical: {p:?}"
                );
                assert!(
                    p.size > Decimal::ZERO && p.contracts > Decimal::ZERO,
                    "{kind}: {p:?}"
                );
                assert!(
                    matches!(p.side, PositionSide::Long | PositionSide::Short),
                    "{kind}: {p:?}"
                );
                assert!(
                    p.mark_price.is_some_and(|m| m > Decimal::ZERO),
                    "{kind}: {p:?}"
                );
                assert!(!p.venue_symbol.is_empty(), "{kind}: {p:?}");
            }
            _ => {}
        }
    }
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap_or_else(|_| panic!("{kind}: poller did not stop"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_venue_with_account_pages_reports_margin_and_positions() {
    let venues: Vec<&'static dyn PollingVenue> = registry::polling_venues()
        .filter(|v| !v.account_pages().is_empty())
        .collect();
    let kinds: BTreeSet<&str> = venues.iter().map(|v| v.kind()).collect();
    // The four venues of the issue, at least.
    for k in ["binance_usdm", "bybit", "okx", "deribit"] {
        assert!(kinds.contains(k), "{k} reports no margin: {kinds:?}");
    }
    for v in venues {
        contract(v).await;
    }
}

#[test]
fn canonical_names_are_checked() {
    assert!(canonical("BTC-USDT-PERP", Market::Perpetual));
    assert!(canonical("BTC-USD-20261225", Market::Future));
    assert!(canonical("BTC-USD-20261225-60000-C", Market::Option));
    assert!(!canonical("BTCUSDT", Market::Perpetual));
    assert!(!canonical("BTC-USD-261225", Market::Future));
    assert!(!canonical("BTC-USD-20261225-60000-X", Market::Option));
}
