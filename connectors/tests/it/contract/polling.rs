//! Contract of every balance venue in the registry, against its own REST simulator: signed
//! requests are accepted and balances flow; a wrong secret or key is refused by the simulator
//! (the venue's own check) and reported; 429 with `Retry-After` is honoured without a tight
//! loop; the poller stops promptly on cancel. A new venue is covered by its registry line alone.

use connectors::auth::Credentials;
use connectors::outbox::{self, Outbox};
use connectors::registry;
use connectors::transport::rest::{run_polling, PollingConnector, PollingVenue};
use schemas::{FeedState, Observation};
use std::time::Duration;
use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);

struct Run {
    rx: Receiver<Observation>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start(
    venue: &'static dyn PollingVenue,
    url: &str,
    creds: Credentials,
    interval: Duration,
) -> Run {
    let (tx, rx) = outbox::channel(1024);
    let c = PollingConnector::new("contract", 0, venue, Some(url), creds, interval);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run_polling(
        c,
        Outbox::new(tx, Default::default()),
        cancel.clone(),
    ));
    Run { rx, cancel, task }
}

/// Waits for an observation matching `pred`, failing after WAIT.
async fn wait_for(
    rx: &mut Receiver<Observation>,
    what: &str,
    pred: impl Fn(&Observation) -> bool,
) -> Observation {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Some(o) if pred(&o) => return o,
                Some(_) => continue,
                None => panic!("channel closed while waiting for {what}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn is_state(o: &Observation, state: FeedState) -> bool {
    matches!(o, Observation::Status(s) if s.state == state && s.stream == "balances")
}

async fn contract(venue: &'static dyn PollingVenue) {
    let kind = venue.kind();
    let creds = venue.demo_credentials();
    let sim = venue.start_sim(creds.clone()).await.expect("sim starts");
    let url = sim.rest_url.clone().expect("a REST sim has a URL");
    let faults = sim.rest_faults.clone().expect("a REST sim has fault knobs");

    // a. Signed requests are accepted; balances flow; the stream goes LIVE.
    let mut run = start(venue, &url, creds.clone(), Duration::from_millis(300));
    let b = wait_for(&mut run.rx, "a balance", |o| {
        matches!(o, Observation::Balance(_))
    })
    .await;
    let Observation::Balance(b) = b else {
        unreachable!()
    };
    assert!(!b.venue_asset.is_empty(), "{kind}: empty asset");
    assert!(
        b.total >= rust_decimal::Decimal::ZERO || b.borrowed.is_some(),
        "{kind}: {b:?}"
    );
    if let (Some(a), Some(l)) = (b.available, b.locked) {
        assert_eq!(
            a + l,
            b.total,
            "{kind}: total != available + locked in {b:?}"
        );
    }
    wait_for(&mut run.rx, "LIVE", |o| is_state(o, FeedState::Live)).await;
    assert_eq!(
        faults.refused(),
        0,
        "{kind}: the sim refused a correctly signed request"
    );

    // b. 429 with Retry-After: reported, honoured (no request before it expires), recovered.
    let before = faults.requests();
    faults.fail_next(429, Some(1));
    let s = wait_for(&mut run.rx, "STALE after 429", |o| {
        is_state(o, FeedState::Stale)
    })
    .await;
    let Observation::Status(s) = s else {
        unreachable!()
    };
    assert!(
        s.reason.as_deref().unwrap_or("").contains("http 429"),
        "{kind}: {s:?}"
    );
    let limited_at = tokio::time::Instant::now();
    wait_for(&mut run.rx, "LIVE again", |o| is_state(o, FeedState::Live)).await;
    assert!(
        limited_at.elapsed() >= Duration::from_millis(900),
        "{kind}: Retry-After not honoured ({:?})",
        limited_at.elapsed()
    );
    assert!(
        faults.requests() - before < 20,
        "{kind}: tight loop ({} requests)",
        faults.requests() - before
    );

    // c. Stops promptly on cancel, with DOWN.
    run.cancel.cancel();
    tokio::time::timeout(Duration::from_secs(1), run.task)
        .await
        .unwrap_or_else(|_| panic!("{kind}: still running 1 s after cancel"))
        .unwrap();
    let mut down = false;
    while let Ok(o) = run.rx.try_recv() {
        down |= is_state(&o, FeedState::Down);
    }
    assert!(down, "{kind}: no DOWN at stop");

    // d. A wrong secret (and a wrong key) is refused by the simulator and reported.
    for (what, bad) in [
        ("secret", {
            let mut c = creds.clone();
            c.api_secret = Some(venue.wrong_demo_secret().unwrap_or_else(|| {
                connectors::auth::Secret::new(wrong(c.api_secret.as_ref().map(|s| s.expose())))
            }));
            c
        }),
        ("key", {
            let mut c = creds.clone();
            c.api_key = Some(connectors::auth::Secret::new(wrong(
                c.api_key.as_ref().map(|s| s.expose()),
            )));
            c
        }),
    ] {
        let refused_before = faults.refused();
        let mut run = start(venue, &url, bad.clone(), Duration::from_millis(300));
        let s = wait_for(&mut run.rx, "a refusal", |o| {
            matches!(o, Observation::Status(s) if s.reason.is_some() && s.state != FeedState::Connecting)
        })
        .await;
        let Observation::Status(s) = s else {
            unreachable!()
        };
        assert!(
            matches!(s.state, FeedState::Down | FeedState::Stale),
            "{kind}: wrong {what} gave {s:?}"
        );
        assert!(
            faults.refused() > refused_before,
            "{kind}: the sim accepted a wrong {what}"
        );
        // The refusal names no secret.
        let reason = s.reason.unwrap_or_default();
        for v in bad.values().into_iter().chain(creds.values()) {
            assert!(
                !reason.contains(v),
                "{kind}: a secret leaked into {reason:?}"
            );
        }
        run.cancel.cancel();
        let _ = run.task.await;
    }
}

/// A different but well-formed value (same length and alphabet where possible), so the check
/// that fails is the signature or key comparison, not a format check.
fn wrong(v: Option<&str>) -> String {
    let v = v.unwrap_or("x");
    if let Some(pem) = v.strip_prefix("-----BEGIN") {
        // An RSA/EC private key: a different valid key must come from the venue's own tests.
        return format!("-----BEGIN{pem}").replace("PRIVATE KEY-----\n", "PRIVATE KEY-----\nAA");
    }
    let mut chars: Vec<char> = v.chars().collect();
    let i = chars.len() / 2;
    chars[i] = match chars[i] {
        'a' => 'b',
        'A' => 'B',
        '0' => '1',
        '=' | '/' | '+' => chars[i],
        c if c.is_ascii_alphanumeric() => {
            if c == 'z' {
                'y'
            } else {
                ((c as u8) + 1) as char
            }
        }
        _ => 'q',
    };
    let s: String = chars.into_iter().collect();
    if s == v {
        format!("q{}", &v[1..])
    } else {
        s
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registry_balance_venue_meets_the_polling_contract() {
    assert!(registry::polling_venues().next().is_some());
    for venue in registry::polling_venues() {
        contract(venue).await;
    }
}
