//! Bybit margin and positions from the venue's own simulators: the REST pages agree with the
//! simulated account (linear and inverse), the real HTTP path (`run_polling`) and the private
//! stream deliver `Margin` and `Position` observations with the simulator's figures, and a
//! wrong secret is refused.

use connectors::auth::{Credentials, Secret};
use connectors::outbox::{self, Outbox};
use connectors::transport::private_ws::BalanceStream;
use connectors::transport::rest::{run_polling, PollingConnector, PollingVenue};
use connectors::venues::bybit::account_sim::SIM_POSITIONS;
use connectors::venues::bybit::{BybitBalances, BybitWalletStream};
use rust_decimal::{Decimal, RoundingStrategy};
use rust_decimal_macros::dec;
use schemas::{FeedState, Market, Observation, PositionObs, PositionSide, VenueMarginObs};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn start(
    url: &str,
    creds: Credentials,
) -> (tokio::sync::mpsc::Receiver<Observation>, CancellationToken) {
    let (tx, rx) = outbox::channel(1024);
    let c = PollingConnector::new(
        "margin",
        2,
        &BybitBalances,
        Some(url),
        creds,
        Duration::from_millis(200),
    );
    let cancel = CancellationToken::new();
    tokio::spawn(run_polling(
        c,
        Outbox::new(tx, Default::default()),
        cancel.clone(),
    ));
    (rx, cancel)
}

async fn next(rx: &mut tokio::sync::mpsc::Receiver<Observation>) -> Observation {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an observation within 10 s")
        .expect("channel open")
}

/// The simulator's figures, checked from the mark each position was valued at.
fn check_position(p: &PositionObs) {
    let (category, symbol, _, side, size, entry) = SIM_POSITIONS
        .iter()
        .find(|s| s.1 == p.venue_symbol)
        .unwrap_or_else(|| panic!("{p:?}"));
    let (size, entry): (Decimal, Decimal) = (size.parse().unwrap(), entry.parse().unwrap());
    let mark = p.mark_price.unwrap();
    let sign = if *side == "Buy" { dec!(1) } else { dec!(-1) };
    assert_eq!(
        p.side,
        if *side == "Buy" {
            PositionSide::Long
        } else {
            PositionSide::Short
        }
    );
    assert_eq!(p.contracts, size, "{symbol}");
    assert_eq!(p.entry_price, Some(entry));
    if *category == "inverse" {
        assert_eq!(
            (p.instrument.as_str(), p.market),
            ("BTC-USD-PERP", Market::Perpetual)
        );
        // 20,000 USD contracts; in BTC, their value at the entry price (Bybit's positionValue).
        assert_eq!(p.size, (size / entry).round_dp(8));
        assert_eq!(p.size, dec!(0.32258065));
        assert_eq!(p.pnl_currency.as_deref(), Some("BTC"));
        let upnl = (sign * size * (dec!(1) / entry - dec!(1) / mark)).round_dp(8);
        assert_eq!(p.unrealized_pnl, Some(upnl));
    } else {
        assert_eq!(p.size, size);
        assert_eq!(p.pnl_currency.as_deref(), Some("USDT"));
        assert_eq!(
            p.unrealized_pnl,
            Some((sign * size * (mark - entry)).round_dp(4))
        );
    }
}

fn check_margin(m: &VenueMarginObs) {
    assert_eq!(m.currency, "USD");
    let (e, mm) = (m.equity.unwrap(), m.maintenance_margin.unwrap());
    assert_eq!(
        e,
        m.wallet_balance.unwrap() + m.unrealized_pnl.unwrap(),
        "{m:?}"
    );
    assert_eq!(
        m.venue_margin_ratio,
        Some((mm / e).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero))
    );
    // The wallet (~620k USD) against 0.5 % of ~126k USD linear and 20k USD inverse notional.
    assert!(mm > dec!(500) && mm < dec!(1000), "{mm}");
    assert!(e > dec!(550000) && e < dec!(700000), "{e}");
}

#[tokio::test]
async fn the_poller_delivers_margin_and_linear_and_inverse_positions() {
    let creds = BybitBalances.demo_credentials();
    let sim = BybitBalances.start_sim(creds.clone()).await.unwrap();
    let url = sim.rest_url.clone().unwrap();
    let (mut rx, cancel) = start(&url, creds);
    let (mut margin, mut positions, mut ends) = (None, Vec::new(), Vec::new());
    let mut upnl = std::collections::HashMap::new();
    while ends.len() < 2 || margin.is_none() {
        match next(&mut rx).await {
            Observation::Margin(m) => margin = Some(m),
            Observation::Position(p) if p.is_snapshot_end() => {
                ends.push(p.snapshot_scope.clone().unwrap())
            }
            Observation::Position(p) => positions.push(p),
            Observation::Balance(b) => {
                upnl.insert(b.venue_asset.clone(), b.unrealized_pnl);
            }
            _ => {}
        }
    }
    cancel.cancel();
    assert_eq!(ends, vec!["linear".to_owned(), "inverse".to_owned()]);
    check_margin(&margin.unwrap());
    assert_eq!(positions.len(), 3, "{positions:?}");
    for p in &positions {
        assert_eq!(p.connector, 2);
        check_position(p);
    }
    let scopes: Vec<_> = positions
        .iter()
        .map(|p| p.snapshot_scope.as_deref().unwrap())
        .collect();
    assert_eq!(scopes, ["linear", "linear", "inverse"]);
    // Coin P&L on the balances: USDT carries the linear positions', BTC the inverse one's.
    assert!(upnl["USDT"].is_some_and(|u| !u.is_zero()));
    assert!(upnl["BTC"].is_some_and(|u| !u.is_zero()));
    assert_eq!(upnl["ETH"], Some(dec!(0)));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_gives_no_positions() {
    let creds = BybitBalances.demo_credentials();
    let sim = BybitBalances.start_sim(creds.clone()).await.unwrap();
    let url = sim.rest_url.clone().unwrap();
    let mut bad = creds.clone();
    bad.api_secret = Some(Secret::new("DEMObybitSECRETdemo0123456789abcdefH"));
    let (mut rx, cancel) = start(&url, bad);
    loop {
        match next(&mut rx).await {
            Observation::Status(s) if s.reason.is_some() => {
                assert!(
                    matches!(s.state, FeedState::Down | FeedState::Stale),
                    "{s:?}"
                );
                break;
            }
            Observation::Margin(m) => panic!("margin with a wrong secret: {m:?}"),
            Observation::Position(p) => panic!("position with a wrong secret: {p:?}"),
            _ => {}
        }
    }
    cancel.cancel();
    assert!(sim.rest_faults.as_ref().unwrap().refused() > 0);
}

#[tokio::test]
async fn the_private_stream_pushes_margin_and_positions() {
    let creds = BybitBalances.demo_credentials();
    let sim = BybitWalletStream.start_sim(creds.clone()).await.unwrap();
    let mut run = crate::support::balance_stream::start(
        &BybitWalletStream,
        "bybit-ws",
        &sim.ws_url,
        creds,
        5,
        None,
    );
    let o = run
        .until("a margin push", |o| matches!(o, Observation::Margin(_)))
        .await;
    let Observation::Margin(m) = o else {
        unreachable!()
    };
    assert_eq!(m.connector, 5);
    check_margin(&m);
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let o = run
            .until("a position push", |o| matches!(o, Observation::Position(_)))
            .await;
        let Observation::Position(p) = o else {
            unreachable!()
        };
        // A push is one update, not a list.
        assert_eq!(p.snapshot_scope, None);
        check_position(&p);
        if !seen.contains(&p.venue_symbol) {
            seen.push(p.venue_symbol.clone());
        }
    }
    run.stop().await;
}
