//! The private balance-stream contract, run over every balance-stream entry of
//! `registry::VENUES` against its own simulator (as `contract::streaming` does for the price
//! streams and `contract::polling` for the pollers): CONNECTING, LIVE under the connector's name, balances for the configured index; a
//! dropped connection is RECONNECTING with a reason, then LIVE on a later epoch (a new login)
//! with balances again; cancel stops it within 1 s with DOWN "stopped"; and no credential is ever
//! in what it emitted or captured, and the capture holds the venue's frames only.
//!
//! What each venue adds (its exact decimals, what its capture holds, its login refusal wording)
//! stays in `balance_stream/<kind>.rs`.

use crate::support::balance_stream::{balance, is_state, start_with_rest, status};
use connectors::registry;
use connectors::transport::private_ws::{BalanceStream, CAPTURE_CHANNEL, STREAM};
use schemas::FeedState;
use std::time::Duration;

async fn lifecycle(venue: &'static dyn BalanceStream, index: u32) {
    let kind = venue.kind();
    let creds = registry::polling(kind)
        .unwrap_or_else(|| panic!("{kind}: a balance stream complements a polling venue"))
        .demo_credentials();
    let sim = venue.start_sim(creds.clone()).await.unwrap();
    let id = format!("{kind}-ws");
    let (cap_tx, mut cap_rx) = tokio::sync::mpsc::channel(4096);
    let mut run = start_with_rest(
        venue,
        &id,
        &sim.ws_url,
        sim.rest_url.as_deref(),
        creds.clone(),
        index,
        Some(cap_tx),
    );

    let first = run.until("CONNECTING", |_| true).await;
    assert!(is_state(&first, FeedState::Connecting), "{kind}: {first:?}");
    let live = run.until("LIVE", |o| is_state(o, FeedState::Live)).await;
    let live = status(&live).unwrap().clone();
    assert_eq!(
        (
            live.connector.as_str(),
            live.venue.as_str(),
            live.stream.as_str()
        ),
        (id.as_str(), kind, STREAM)
    );
    let b = run.until("a balance", |o| balance(o).is_some()).await;
    assert_eq!(balance(&b).unwrap().connector, index, "{kind}");

    // A network failure: RECONNECTING with the reason, then LIVE (logged in again) and balances.
    let connections = sim.control.connections();
    sim.control.drop_connections();
    let r = run
        .until("RECONNECTING", |o| is_state(o, FeedState::Reconnecting))
        .await;
    assert!(status(&r).unwrap().reason.is_some(), "{kind}: {r:?}");
    let live2 = run
        .until("LIVE again", |o| is_state(o, FeedState::Live))
        .await;
    assert!(status(&live2).unwrap().epoch > live.epoch, "{kind}");
    assert!(sim.control.connections() > connections, "{kind}");
    let b = run
        .until("a balance after reconnect", |o| balance(o).is_some())
        .await;
    assert_eq!(balance(&b).unwrap().connector, index, "{kind}");

    let took = run.stop().await;
    assert!(took < Duration::from_secs(1), "{kind}: stopped in {took:?}");
    let s = status(run.seen.last().unwrap()).expect("the last observation is a status");
    assert_eq!(
        (s.state, s.reason.as_deref()),
        (FeedState::Down, Some("stopped")),
        "{kind}"
    );

    // Nothing emitted or captured holds a credential; the capture is the venue's frames.
    let all = format!("{:?}", run.seen);
    let mut captured = Vec::new();
    while let Ok(line) = cap_rx.try_recv() {
        captured.push(line);
    }
    assert!(!captured.is_empty(), "{kind}: nothing captured");
    assert!(
        captured.iter().all(|l| l.channel == CAPTURE_CHANNEL),
        "{kind}"
    );
    let frames: String = captured.iter().map(|l| l.frame.as_str()).collect();
    for v in creds.values() {
        assert!(
            !all.contains(v),
            "{kind}: credential leaked in observations"
        );
        assert!(
            !frames.contains(v),
            "{kind}: credential leaked in the capture"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registry_balance_stream_meets_the_lifecycle_contract() {
    assert!(registry::balance_streams().next().is_some());
    let mut set = tokio::task::JoinSet::new();
    for (i, venue) in registry::balance_streams().enumerate() {
        set.spawn(async move {
            lifecycle(venue, 1 + i as u32).await;
            venue.kind()
        });
    }
    let mut done = Vec::new();
    let all = tokio::time::timeout(Duration::from_secs(50), async {
        while let Some(r) = set.join_next().await {
            done.push(r.expect("a venue's contract failed"));
        }
    });
    all.await
        .unwrap_or_else(|_| panic!("timed out; done: {done:?}"));
    assert_eq!(done.len(), registry::balance_streams().count());
}
