//! Venue margin and positions through the real HTTP path: each simulator (OKX, Deribit) is
//! polled by `run_polling` with its signed requests; the margin and the positions arrive as
//! observations with the simulator's figures (exact relations between them: P&L from the marks
//! and entries, OKX's ratio from its equity and MM), every list ends with its marker, and a
//! wrong secret is refused before anything of the account is published.

use connectors::auth::Credentials;
use connectors::outbox::{self, Outbox};
use connectors::registry;
use connectors::transport::rest::{run_polling, PollingConnector, PollingVenue};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{FeedState, MarginRatioKind, Observation, PositionObs, PositionSide, VenueMarginObs};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One full poll's margin and positions (up to the end of the positions list), and balances.
struct Poll {
    margins: Vec<VenueMarginObs>,
    positions: Vec<PositionObs>,
    upl: Vec<(String, Option<Decimal>)>,
}

async fn poll(kind: &str, creds: Credentials) -> Result<Poll, (FeedState, u64)> {
    let venue: &'static dyn PollingVenue = registry::polling(kind).unwrap();
    let sim = venue.start_sim(venue.demo_credentials()).await.unwrap();
    let url = sim.rest_url.clone().unwrap();
    let faults = sim.rest_faults.clone().unwrap();
    let (tx, mut rx) = outbox::channel(1024);
    let c = PollingConnector::new(
        "acct",
        4,
        venue,
        Some(&url),
        creds,
        Duration::from_millis(300),
    );
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run_polling(
        c,
        Outbox::new(tx, Default::default()),
        cancel.clone(),
    ));
    let mut p = Poll {
        margins: vec![],
        positions: vec![],
        upl: vec![],
    };
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await.expect("channel open") {
                Observation::Margin(m) => p.margins.push(m),
                Observation::Balance(b) => p.upl.push((b.venue_asset.clone(), b.unrealized_pnl)),
                Observation::Position(o) if o.is_snapshot_end() => {
                    assert_eq!(o.snapshot_scope.as_deref(), Some("all"));
                    return Ok(());
                }
                Observation::Position(o) => p.positions.push(o),
                Observation::Status(s)
                    if s.reason.is_some()
                        && matches!(s.state, FeedState::Down | FeedState::Stale) =>
                {
                    return Err(s.state);
                }
                _ => {}
            }
        }
    })
    .await
    .expect("a poll within 10 s");
    cancel.cancel();
    let _ = task.await;
    match outcome {
        Ok(()) => Ok(p),
        Err(state) => Err((state, faults.refused())),
    }
}

fn find<'a>(p: &'a Poll, instrument: &str) -> &'a PositionObs {
    p.positions
        .iter()
        .find(|o| o.instrument == instrument)
        .unwrap_or_else(|| panic!("no {instrument} in {:?}", p.positions))
}

#[tokio::test]
async fn okx_margin_and_positions_arrive_with_the_simulators_figures() {
    let creds = registry::polling("okx").unwrap().demo_credentials();
    let p = poll("okx", creds.clone()).await.unwrap();
    // The account's margin in USD (multi-currency mode), its ratio OKX's adjEq / mmr.
    let [m] = &p.margins[..] else {
        panic!("{:?}", p.margins)
    };
    assert_eq!(
        (m.connector, m.currency.as_str(), m.per_currency),
        (4, "USD", false)
    );
    let (eq, mm) = (m.equity.unwrap(), m.maintenance_margin.unwrap());
    assert!(mm > Decimal::ZERO && eq > mm);
    assert_eq!(
        m.venue_margin_ratio,
        Some((eq / mm).round_dp(8).normalize())
    );
    assert_eq!(m.venue_margin_ratio_kind, MarginRatioKind::EquityOverMm);
    // The perpetual long and short (the dormant pos-0 row is no position).
    assert_eq!(p.positions.len(), 2, "{:?}", p.positions);
    let long = find(&p, "BTC-USDT-PERP");
    let short = find(&p, "ETH-USDT-PERP");
    assert_eq!(
        (long.side, long.size, long.contracts),
        (PositionSide::Long, dec!(1.5), dec!(150))
    );
    assert_eq!(
        (short.side, short.size, short.contracts),
        (PositionSide::Short, dec!(20), dec!(200))
    );
    assert_eq!(
        (long.entry_price, short.entry_price),
        (Some(dec!(62000.5)), Some(dec!(3120.25)))
    );
    let upl = |o: &PositionObs, signed: Decimal| {
        (o.mark_price.unwrap() - o.entry_price.unwrap()) * signed
    };
    assert_eq!(long.unrealized_pnl, Some(upl(long, dec!(1.5))));
    assert_eq!(short.unrealized_pnl, Some(upl(short, dec!(-20))));
    for o in [long, short] {
        assert_eq!(
            (
                o.venue_symbol.ends_with("-SWAP"),
                o.snapshot_scope.as_deref()
            ),
            (true, Some("all"))
        );
        assert_eq!(
            (o.pnl_currency.as_deref(), o.margin_mode.as_deref()),
            (Some("USDT"), Some("cross"))
        );
    }
    // The currencies' upl on their balances (the balance response is read before the positions
    // page, at another price: the sums agree at one instant, see below).
    assert!(p
        .upl
        .iter()
        .any(|(a, u)| a == "USDT" && u.is_some_and(|u| !u.is_zero())));
    // A wrong secret: refused by the simulator, nothing of the account published.
    let bad = Credentials::new(creds.key().unwrap(), "DEMO0123456789ABCDEF0123456789AC")
        .with_passphrase(creds.passphrase().unwrap());
    let (state, refused) = poll("okx", bad).await.err().expect("refused");
    assert_eq!((state, refused > 0), (FeedState::Down, true));
}

#[tokio::test]
async fn deribit_margin_and_positions_arrive_with_the_simulators_figures() {
    let creds = registry::polling("deribit").unwrap().demo_credentials();
    let p = poll("deribit", creds.clone()).await.unwrap();
    // Segregated margin: one record per currency, equity = wallet + session P&L.
    let cur: Vec<&str> = p.margins.iter().map(|m| m.currency.as_str()).collect();
    assert_eq!(cur, ["BTC", "ETH", "USDC", "USDT"]);
    for m in &p.margins {
        assert!(m.per_currency);
        assert_eq!(
            m.equity,
            Some(m.wallet_balance.unwrap() + m.unrealized_pnl.unwrap())
        );
        assert!(m.as_of.is_some());
    }
    let btc = &p.margins[0];
    assert!(btc.maintenance_margin.unwrap() > Decimal::ZERO);
    // The perpetual long and short (inverse, in USD) and the short call; the closed future is
    // no position.
    assert_eq!(p.positions.len(), 3, "{:?}", p.positions);
    let long = find(&p, "BTC-USD-PERP");
    let short = find(&p, "ETH-USD-PERP");
    let mark = long.mark_price.unwrap();
    assert_eq!(
        (long.side, long.contracts),
        (PositionSide::Long, dec!(50000))
    );
    assert_eq!(long.size, (dec!(50000) / mark).round_dp(9).normalize());
    assert_eq!(
        long.unrealized_pnl,
        Some(
            (dec!(50000) * (Decimal::ONE / dec!(61500.5) - Decimal::ONE / mark))
                .round_dp(9)
                .normalize()
        )
    );
    assert_eq!(
        (short.side, short.contracts, short.pnl_currency.as_deref()),
        (PositionSide::Short, dec!(30000), Some("ETH"))
    );
    let call = p
        .positions
        .iter()
        .find(|o| o.instrument.ends_with("-70000-C"))
        .unwrap();
    assert!(call.instrument.starts_with("BTC-USD-20"));
    assert_eq!(
        (call.side, call.size, call.contracts),
        (PositionSide::Short, dec!(2), dec!(2))
    );
    assert_eq!(
        call.unrealized_pnl,
        Some((call.mark_price.unwrap() - dec!(0.0125)) * dec!(-2))
    );
    assert!(btc.unrealized_pnl.is_some_and(|u| !u.is_zero()));
    let bad = Credentials::new(creds.key().unwrap(), "not-the-secret");
    let (state, refused) = poll("deribit", bad).await.err().expect("refused");
    assert_eq!((state, refused > 0), (FeedState::Down, true));
}

/// At one instant the simulators' balance responses and positions pages tell one story: a
/// currency's P&L is the sum of its positions'.
#[test]
fn the_simulators_balance_and_positions_agree_at_one_instant() {
    use connectors::venues::{deribit, okx};
    let t = schemas::Ts::from_millis(1_767_225_600_000);
    use connectors::account::{AccountItem, ParsedPosition};
    let sum = |items: &[ParsedPosition], ccy: &str| -> Decimal {
        items
            .iter()
            .filter(|p| p.pnl_currency.as_deref() == Some(ccy))
            .filter_map(|p| p.unrealized_pnl)
            .sum()
    };
    let keep = |items: &mut Vec<ParsedPosition>, i: AccountItem<'_>| {
        if let AccountItem::Position(p) = i {
            items.push(p)
        }
    };
    // OKX: USDT's upl and the two USDT-margined swaps'.
    let u = okx::sim_account::account_fields(t).0;
    let usdt: Decimal = u.iter().find(|r| r.0 == "USDT").unwrap().1.parse().unwrap();
    let rows = okx::sim_account::position_rows(t, "1");
    let body = serde_json::json!({"code": "0", "data": rows, "msg": ""}).to_string();
    let mut items = Vec::new();
    okx::account::parse_positions(&body, &mut |i| keep(&mut items, i)).unwrap();
    assert_eq!(usdt, sum(&items, "USDT"));
    // Deribit: BTC's session_upl and the BTC perpetual's and call's P&L.
    let s = deribit::sim_account::summaries(t);
    let btc: Decimal = s[0][8].parse().unwrap();
    let mut items = Vec::new();
    deribit::account::parse_positions(&deribit::sim_account::positions_body(t), &mut |i| {
        keep(&mut items, i)
    })
    .unwrap();
    assert_eq!(btc, sum(&items, "BTC"));
    assert_eq!(items.len(), 3, "the perpetuals and the call");
}
