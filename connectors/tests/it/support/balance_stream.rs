//! What the private balance-stream tests share: running `run_balance_stream` against a venue's
//! simulator and reading what it emits. Used as `crate::support::balance_stream`.

use connectors::auth::Credentials;
use connectors::outbox::{self, Outbox};
use connectors::traits::FrameKind;
use connectors::transport::private_ws::{
    run_balance_stream, BalanceStream, BalanceStreamConnector,
};
use connectors::transport::rest::ParsedBalance;
use schemas::{BalanceObs, FeedState, FeedStatus, Observation};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// `parse` of `venue` with the balances made owned, for comparisons.
pub fn parse_owned(
    venue: &dyn BalanceStream,
    frame: &str,
) -> Result<(FrameKind, Vec<ParsedBalance<'static>>), connectors::error::ParseError> {
    let mut out = Vec::new();
    let kind = venue.parse(frame, &mut |b| {
        out.push(ParsedBalance {
            venue_asset: b.venue_asset.into_owned().into(),
            sub_account: b.sub_account.map(|s| s.into_owned().into()),
            wallet: b.wallet.map(|s| s.into_owned().into()),
            network: b.network.map(|s| s.into_owned().into()),
            ..b
        })
    })?;
    Ok((kind, out))
}

pub struct Run {
    pub rx: mpsc::Receiver<Observation>,
    pub cancel: CancellationToken,
    pub task: tokio::task::JoinHandle<()>,
    pub seen: Vec<Observation>,
}

pub fn start(
    venue: &'static dyn BalanceStream,
    id: &str,
    url: &str,
    creds: Credentials,
    index: u32,
    capture: Option<connectors::capture::CaptureTx>,
) -> Run {
    start_with_rest(venue, id, url, None, creds, index, capture)
}

/// [`start`] for a stream that fetches a session token from the venue's REST API first.
pub fn start_with_rest(
    venue: &'static dyn BalanceStream,
    id: &str,
    url: &str,
    rest_url: Option<&str>,
    creds: Credentials,
    index: u32,
    capture: Option<connectors::capture::CaptureTx>,
) -> Run {
    let (tx, rx) = outbox::channel(1024);
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let connector = BalanceStreamConnector {
        id: id.into(),
        index,
        venue,
        ws_url: Some(url.to_owned()),
        creds,
        rest_url: rest_url.unwrap_or_default().to_owned(),
        capture,
    };
    let task = tokio::spawn(async move {
        run_balance_stream(connector, Outbox::new(tx, Default::default()), c).await
    });
    Run {
        rx,
        cancel,
        task,
        seen: Vec::new(),
    }
}

impl Run {
    /// Reads until `pred` holds for an observation; returns it.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Observation) -> bool) -> Observation {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let o = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {:#?}", self.seen))
                .expect("channel open");
            self.seen.push(o.clone());
            if pred(&o) {
                return o;
            }
        }
    }

    /// After a refusal: 300 ms more of what the stream sends, and none of it is `LIVE` or a
    /// balance (a refused login never turns into data).
    pub async fn assert_quiet_after_refusal(&mut self) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        while let Ok(o) = self.rx.try_recv() {
            self.seen.push(o);
        }
        assert!(self.seen.iter().all(|o| !is_state(o, FeedState::Live)));
        assert!(self.seen.iter().all(|o| balance(o).is_none()));
    }

    /// Cancels and checks the task ends within 1 s; returns how long it took.
    pub async fn stop(&mut self) -> Duration {
        self.cancel.cancel();
        let t0 = std::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(1), &mut self.task)
            .await
            .expect("stopped within 1 s")
            .unwrap();
        let took = t0.elapsed();
        while let Ok(o) = self.rx.try_recv() {
            self.seen.push(o);
        }
        took
    }
}

pub fn status(o: &Observation) -> Option<&FeedStatus> {
    match o {
        Observation::Status(s) => Some(s),
        _ => None,
    }
}

pub fn balance(o: &Observation) -> Option<&BalanceObs> {
    match o {
        Observation::Balance(b) => Some(b),
        _ => None,
    }
}

pub fn is_state(o: &Observation, state: FeedState) -> bool {
    status(o).is_some_and(|s| s.state == state)
}
