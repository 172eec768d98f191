//! Binance USDⓈ-M margin and positions from the venue's own simulator: its pages agree with
//! the simulated account, the demo's margin cycle visits every band in one period (time
//! injected), and the real HTTP path (`run_polling`) delivers `Margin` and `Position`
//! observations with the simulator's figures and is refused with a wrong secret.

use connectors::account::{AccountItem, ParsedMargin, ParsedPosition};
use connectors::auth::{Credentials, Secret};
use connectors::outbox::{self, Outbox};
use connectors::sim::rest::{serve_rest, RestSimCtx, RestSimProtocol, SimHttpRequest};
use connectors::transport::rest::{run_polling, PollingConnector, PollingVenue, RestRequest};
use connectors::venues::binance_usdm::account_sim::{SimAccount, CYCLE_MS, MMR, POSITIONS};
use connectors::venues::binance_usdm::sim::BinanceUsdmRestSim;
use connectors::venues::binance_usdm::BinanceUsdmBalances;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{FeedState, Observation, PositionSide, Ts};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn to_sim(r: &RestRequest) -> SimHttpRequest {
    SimHttpRequest {
        method: r.method.to_owned(),
        path: r.path.clone(),
        query: r.query.clone(),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect(),
        body: r.body.clone(),
    }
}

/// Asks `sim` for `page` at `now`, signed at `now`; returns the parsed items.
fn page(sim: &BinanceUsdmRestSim, page: &str, now: Ts) -> (Vec<ParsedMargin>, Vec<ParsedPosition>) {
    let creds = BinanceUsdmBalances.demo_credentials();
    let req = BinanceUsdmBalances
        .account_request(&creds, now, page)
        .unwrap();
    let ctx = RestSimCtx {
        now,
        credentials: &creds,
        requests: 1,
    };
    let resp = sim.handle(&to_sim(&req), &ctx);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let (mut ms, mut ps) = (Vec::new(), Vec::new());
    BinanceUsdmBalances
        .parse_account(&req.path, &resp.body, &mut |i| match i {
            AccountItem::Margin(m) => ms.push(m),
            AccountItem::Position(p) => ps.push(p),
            _ => {}
        })
        .unwrap();
    (ms, ps)
}

#[test]
fn simulator_pages_agree_with_the_simulated_account() {
    let now = Ts::from_millis(1_700_000_123_456);
    let sim = BinanceUsdmRestSim::steady();
    let snap = SimAccount::steady().snapshot(now);
    let (ms, _) = page(&sim, "/fapi/v3/account", now);
    let m = &ms[0];
    assert_eq!(m.currency, "USDT");
    assert_eq!(m.equity, Some(snap.equity));
    assert_eq!(m.wallet_balance, Some(dec!(250000)));
    assert_eq!(m.unrealized_pnl, Some(snap.upnl));
    assert_eq!(m.maintenance_margin, Some(snap.mm));
    assert_eq!(m.initial_margin, Some(snap.im));
    assert_eq!(m.equity.unwrap(), dec!(250000) + snap.upnl);
    let (_, ps) = page(&sim, "/fapi/v3/positionRisk", now);
    // The idle SOLUSDT row (an open order) is listed by the sim and is no position.
    assert_eq!(ps.len(), 2, "{ps:?}");
    for (p, row) in ps.iter().zip(&snap.rows) {
        assert_eq!(p.venue_symbol, row.symbol);
        assert_eq!(p.mark_price, Some(row.mark));
        assert_eq!(p.unrealized_pnl, Some(row.upnl));
        assert_eq!(p.size, row.amt.abs());
        // The P&L is the model's: amount x (mark - entry), 8 decimals.
        assert_eq!(row.upnl, (row.amt * (row.mark - row.entry)).round_dp(8));
        assert!(p.liquidation_price.is_some());
    }
    assert_eq!(
        (ps[0].instrument.as_str(), ps[0].side),
        ("BTC-USDT-PERP", PositionSide::Long)
    );
    assert_eq!(
        (ps[1].instrument.as_str(), ps[1].side),
        ("ETH-USDT-PERP", PositionSide::Short)
    );
    // The mark follows the simulators' price of BTC in USDT.
    let price = connectors::sim::PriceModel.usd("BTC", now).unwrap()
        / connectors::sim::PriceModel.usd("USDT", now).unwrap();
    assert_eq!(ps[0].mark_price, Some(price.round_dp(8)));
}

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy, PartialOrd, Ord)]
enum Band {
    Ok,
    Warn,
    Danger,
    Liquidation,
}

fn band(equity: Decimal, mm: Decimal) -> Band {
    let c = equity / mm;
    if c <= Decimal::ONE {
        Band::Liquidation
    } else if c < dec!(1.25) {
        Band::Danger
    } else if c < dec!(2.0) {
        Band::Warn
    } else {
        Band::Ok
    }
}

#[test]
fn the_margin_cycle_visits_every_band_in_one_period() {
    let start = Ts::from_millis(1_700_000_000_000);
    let sim = BinanceUsdmRestSim::cycling(start);
    let mut seen = Vec::new();
    let mut lowest = Decimal::MAX;
    for step in 0..=(CYCLE_MS / 500) {
        let now = Ts::from_millis(start.millis() + step * 500);
        let (ms, _) = page(&sim, "/fapi/v3/account", now);
        let (e, mm) = (ms[0].equity.unwrap(), ms[0].maintenance_margin.unwrap());
        lowest = lowest.min(e / mm);
        let b = band(e, mm);
        if seen.last() != Some(&b) {
            seen.push(b);
        }
    }
    // OK -> WARN -> DANGER -> WARN -> OK, never at or below 1.
    assert_eq!(
        seen,
        vec![Band::Ok, Band::Warn, Band::Danger, Band::Warn, Band::Ok]
    );
    assert!(lowest > dec!(1.14) && lowest < dec!(1.16), "{lowest}");
    // The holds are where the script puts them; the next period repeats.
    for (at, want) in [
        (10_000, Band::Ok),
        (35_000, Band::Warn),
        (60_000, Band::Danger),
    ] {
        for k in [0, 3] {
            let now = Ts::from_millis(start.millis() + k * CYCLE_MS + at);
            let (ms, _) = page(&sim, "/fapi/v3/account", now);
            let m = &ms[0];
            assert_eq!(
                band(m.equity.unwrap(), m.maintenance_margin.unwrap()),
                want,
                "at {at} ms of period {k}"
            );
        }
    }
    // Off, the account rests: OK at every instant.
    let steady = BinanceUsdmRestSim::steady();
    for at in [35_000, 60_000] {
        let (ms, _) = page(
            &steady,
            "/fapi/v3/account",
            Ts::from_millis(start.millis() + at),
        );
        let m = &ms[0];
        assert_eq!(
            band(m.equity.unwrap(), m.maintenance_margin.unwrap()),
            Band::Ok
        );
    }
}

fn start(
    url: &str,
    creds: Credentials,
) -> (tokio::sync::mpsc::Receiver<Observation>, CancellationToken) {
    let (tx, rx) = outbox::channel(1024);
    let c = PollingConnector::new(
        "margin",
        0,
        &BinanceUsdmBalances,
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

#[tokio::test]
async fn the_poller_delivers_margin_and_positions_over_http() {
    let creds = BinanceUsdmBalances.demo_credentials();
    let sim = serve_rest(BinanceUsdmRestSim::steady(), creds.clone())
        .await
        .unwrap();
    let url = sim.handle.rest_url.clone().unwrap();
    let (mut rx, cancel) = start(&url, creds.clone());
    let (mut margin, mut positions, mut ended, mut usdt_upnl) = (None, Vec::new(), false, None);
    while !(ended && margin.is_some()) {
        match next(&mut rx).await {
            Observation::Margin(m) => margin = Some(m),
            Observation::Position(p) if p.is_snapshot_end() => {
                assert_eq!(p.snapshot_scope.as_deref(), Some("all"));
                ended = !positions.is_empty();
            }
            Observation::Position(p) => positions.push(p),
            Observation::Balance(b) if b.venue_asset == "USDT" => usdt_upnl = b.unrealized_pnl,
            _ => {}
        }
    }
    cancel.cancel();
    let m = margin.unwrap();
    assert_eq!((m.connector, m.currency.as_str()), (0, "USDT"));
    let (e, mm) = (m.equity.unwrap(), m.maintenance_margin.unwrap());
    assert_eq!(m.wallet_balance, Some(dec!(250000)));
    assert_eq!(e, dec!(250000) + m.unrealized_pnl.unwrap());
    assert_eq!(
        m.venue_margin_ratio,
        Some((mm / e).round_dp_with_strategy(12, rust_decimal::RoundingStrategy::AwayFromZero))
    );
    assert!(e / mm > dec!(2), "a resting account is OK: {}", e / mm);
    // The positions' P&L on the USDT balance (`crossUnPnl`), read a moment before the totals.
    assert!(usdt_upnl.is_some_and(|u| !u.is_zero()), "{usdt_upnl:?}");
    let positions = &positions[positions.len() - 2..];
    for (p, (symbol, _, amt, entry)) in positions.iter().zip(POSITIONS) {
        assert_eq!(p.venue_symbol, *symbol);
        assert_eq!(p.snapshot_scope.as_deref(), Some("all"));
        let mark = p.mark_price.unwrap();
        // The simulator's figures: P&L and margin are the model's functions of the mark.
        assert_eq!(p.unrealized_pnl, Some((*amt * (mark - *entry)).round_dp(8)));
        assert_eq!((p.size, p.contracts), (amt.abs(), amt.abs()));
        assert_eq!(p.entry_price, Some(*entry));
        assert_eq!(p.pnl_currency.as_deref(), Some("USDT"));
    }
    // The account's maintenance margin is the positions' at their marks.
    let want: Decimal = positions
        .iter()
        .map(|p| (p.size * p.mark_price.unwrap() * MMR).round_dp(8))
        .sum();
    assert!(
        (mm - want).abs() < mm / dec!(100),
        "mm {mm} vs positions {want} (polled at slightly different instants)"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_gives_no_margin() {
    let creds = BinanceUsdmBalances.demo_credentials();
    let sim = serve_rest(BinanceUsdmRestSim::steady(), creds.clone())
        .await
        .unwrap();
    let url = sim.handle.rest_url.clone().unwrap();
    let mut bad = creds.clone();
    bad.api_secret = Some(Secret::new("demo-binance-usdm-secreT"));
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
    assert!(sim.faults.refused() > 0);
}
