//! Security defaults (issue 6, item 5): every venue's default endpoint is TLS (`wss://`,
//! `https://`), and both clients verify the server's certificate: a 127.0.0.1 TLS server with a
//! self-signed certificate (valid name, untrusted issuer) is refused by the WebSocket connector
//! and the REST poller alike, with a certificate error and no request served.

use connectors::outbox::{self, Outbox};
use connectors::registry;
use connectors::symbols::{InstrumentSpec, SymbolTable};
use connectors::transport::rest::{run_polling, PollingConnector};
use connectors::transport::{run_streaming, StreamingConnector};
use schemas::{FeedState, Observation};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;

#[test]
fn every_default_endpoint_is_tls() {
    for v in registry::streaming_venues() {
        assert!(
            v.default_ws_url().starts_with("wss://"),
            "{}: {}",
            v.kind(),
            v.default_ws_url()
        );
    }
    for v in registry::polling_venues() {
        let url = v.default_rest_url();
        // generic_rest has no default endpoint of its own: its URL is configured.
        assert!(
            url.starts_with("https://") || url.is_empty(),
            "{}: {url}",
            v.kind()
        );
    }
    for v in registry::balance_streams() {
        assert!(v.default_ws_url().starts_with("wss://"), "{}", v.kind());
    }
}

/// A TLS server with the self-signed fixture certificate; counts completed handshakes.
async fn tls_server() -> (u16, Arc<AtomicU64>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{dir}/self-signed.cert.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/self-signed.key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicU64::new(0));
    let h = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let h = h.clone();
            tokio::spawn(async move {
                if let Ok(_tls) = acceptor.accept(tcp).await {
                    h.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            });
        }
    });
    (port, handshakes)
}

async fn first_status(
    rx: &mut tokio::sync::mpsc::Receiver<Observation>,
    state: FeedState,
) -> schemas::FeedStatus {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await {
                Some(Observation::Status(s)) if s.state == state => return s,
                Some(_) => {}
                None => panic!("closed"),
            }
        }
    })
    .await
    .expect("a status in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_connector_refuses_an_untrusted_certificate() {
    let (port, handshakes) = tls_server().await;
    let v = registry::streaming("binance").unwrap();
    let table = SymbolTable::new(vec![InstrumentSpec {
        venue_symbol: "BTCUSDT".into(),
        stream: "ticker:BTCUSDT".into(),
    }]);
    let url = format!("wss://localhost:{port}");
    let c = StreamingConnector::new("tls", 0, v, Some(&url), table);
    let stats = c.stats.clone();
    let (tx, mut rx) = outbox::channel(64);
    let cancel = CancellationToken::new();
    let _guard = cancel.clone().drop_guard();
    tokio::spawn(run_streaming(
        c,
        Outbox::new(tx, stats.conflated.clone()),
        cancel,
    ));
    let s = first_status(&mut rx, FeedState::Reconnecting).await;
    let reason = s.reason.unwrap_or_default();
    println!("wss to a self-signed server: {reason}");
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    assert_eq!(handshakes.load(Ordering::SeqCst), 0);
    assert_eq!(stats.connects.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_poller_refuses_an_untrusted_certificate() {
    let (port, handshakes) = tls_server().await;
    let v = registry::polling("binance").unwrap();
    let url = format!("https://localhost:{port}");
    let c = PollingConnector::new(
        "tls",
        0,
        v,
        Some(&url),
        v.demo_credentials(),
        Duration::from_millis(200),
    );
    let (tx, mut rx) = outbox::channel(64);
    let cancel = CancellationToken::new();
    let _guard = cancel.clone().drop_guard();
    tokio::spawn(run_polling(c, Outbox::new(tx, Default::default()), cancel));
    let s = first_status(&mut rx, FeedState::Stale).await;
    let reason = s.reason.unwrap_or_default();
    println!("https to a self-signed server: {reason}");
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    assert_eq!(handshakes.load(Ordering::SeqCst), 0);
}
