//! End-to-end tests of the binary against the built-in simulators (127.0.0.1 only).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_collateral-tracker"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("RUST_LOG");
    c
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_config_accepts_the_shipped_configs() {
    for cfg in [
        "config/default.toml",
        "config/production.example.toml",
        "config/venues/binance.example.toml",
        "config/venues/bybit_spot.example.toml",
        "config/venues/bybit_linear.example.toml",
        "config/venues/bybit.example.toml",
        "config/venues/binance_usdm.example.toml",
        "config/venues/bitstamp.example.toml",
        "config/venues/coinbase.example.toml",
        "config/venues/generic_rest.example.toml",
        "config/venues/deribit.example.toml",
        "config/venues/kraken.example.toml",
        "config/venues/okx.example.toml",
        "config/venues/fireblocks.example.toml",
        "config/venues/fireblocks_network_link.example.toml",
        "config/venues/gemini.example.toml",
        "config/venues/bitfinex.example.toml",
        "config/venues/bitgo.example.toml",
        "config/venues/coinbase_prime.example.toml",
    ] {
        let o = bin().args(["check-config", cfg]).output().unwrap();
        assert!(o.status.success(), "{cfg}: {}", stderr(&o));
    }
}

#[test]
fn check_config_reports_every_error_with_its_path_and_exits_2() {
    let o = bin()
        .arg("check-config")
        .arg(fixture("invalid_many.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "connectors[0].instruments[1]: symbol \"FOOBARBAZ\"",
        "connectors[1].id: duplicate id",
        "connectors[1].kind: unknown venue kind \"binanse\"",
        "connectors[2].instruments[1]: Kraken v2 symbols are BASE/QUOTE",
        "connectors[2].ws_url: expected a ws or wss URL",
        "connectors[2].balance_ws_url: expected a ws or wss URL",
        "connectors[2].api_key_env: set api_key_env or api_key_file, not both",
        "reference.cadence_ms: must be > 0",
        "reference.pairs[1]: \"NOTACOIN-USD\" names an unknown asset",
        "reference.pairs[2]: expected BASE-QUOTE",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // One line per error, each naming the file.
    assert!(
        err.lines().all(|l| l.contains("invalid_many.toml: ")),
        "{err}"
    );
    // XBT is a Kraken alias of BTC, not an error.
    assert!(!err.contains("XBT"), "{err}");
}

#[test]
fn check_config_reports_type_errors_per_section() {
    let o = bin()
        .arg("check-config")
        .arg(fixture("invalid_types.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "connectors[0].instruments",
        "connectors[1]",
        "instrumnets",
        "reference.cadence_ms",
        "kafka.partitions",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    let o = bin()
        .arg("check-config")
        .arg(fixture("invalid_syntax.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
}

#[test]
fn check_config_reports_bad_spool_and_shutdown_settings() {
    let o = bin()
        .arg("check-config")
        .arg(fixture("invalid_shutdown_spool.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "kafka.spool_dir: expected a directory path",
        "kafka.spool_after_in_flight: must be >= 1",
        "kafka.spool_fsync_ms: must be <= 60000",
        "runtime.shutdown_grace_ms: must be > 0",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    let o = bin()
        .arg("check-config")
        .arg(fixture("invalid_spool_types.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("kafka.spool"), "{}", stderr(&o));
}

#[test]
fn check_config_reports_more_errors_with_their_paths() {
    let o = bin()
        .arg("check-config")
        .arg(fixture("invalid_more.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "connectors[0].rest_url: kind generic_rest has no default endpoint",
        "connectors[0].balance_interval_ms: must be >= 1000",
        "connectors[1].kind: \"bitstamp\" reports no balances: remove the credentials",
        "connectors[1].sim_faults: only meaningful with sim = true",
        "connectors[1].stale_after_ms: must be > 0",
        "connectors[2].rest_url: expected a http or https URL",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(err.lines().count(), 6, "{err}");
}

/// Credentials come only from env vars or files: one written into the config is refused with
/// its path, exit 2, and its value is never echoed.
#[test]
fn a_secret_written_in_the_config_is_refused_and_not_echoed() {
    for cmd in [
        &["check-config"][..],
        &["run", "--seconds", "1", "--config"][..],
    ] {
        let o = bin()
            .args(cmd)
            .arg(fixture("invalid_inline_secret.toml"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd:?}");
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert!(
            all.contains("connectors[0].api_key: unknown field"),
            "{all}"
        );
        for value in ["kEy-inline-5b7d1c9e", "sEcReT-inline-0a8f2e4c6d"] {
            assert!(!all.contains(value), "{cmd:?} echoed a secret: {all}");
        }
    }
}

/// GETs `path` from 127.0.0.1:`port`, reading for at most `read_for` (SSE never ends).
fn http_get(port: u16, path: &str, read_for: std::time::Duration) -> String {
    http_get_with(port, path, read_for, "")
}

/// A GET with `headers` (each line ending in `\r\n`).
fn http_get_with(port: u16, path: &str, read_for: std::time::Duration, headers: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let t0 = std::time::Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while t0.elapsed() < read_for {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => continue,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Runs the demo for a few seconds, recording, and replays the capture.
#[test]
fn demo_publishes_records_and_its_capture_replays_into_the_same_reference_prices() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.jsonl");
    let cap = dir.path().join("demo.capture.jsonl");
    let o = bin()
        .args(["run", "--seconds", "6", "--no-summary", "--jsonl"])
        .arg(&live)
        .arg("--record")
        .arg(&cap)
        .output()
        .unwrap();
    assert!(o.status.success(), "run failed: {}", stderr(&o));

    let records = read_jsonl(&live);
    let mut by_schema: BTreeMap<String, usize> = BTreeMap::new();
    for r in &records {
        *by_schema
            .entry(r["schema"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        by_schema.get("price_tick.v1").copied().unwrap_or(0) > 50,
        "{by_schema:?}"
    );
    assert!(
        by_schema.get("feed_status.v1").copied().unwrap_or(0) >= 8,
        "{by_schema:?}"
    );
    let rps: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["schema"] == "reference_price.v1")
        .collect();
    for pair in [("BTC", "USD"), ("ETH", "USD"), ("USDT", "USD")] {
        let n = rps
            .iter()
            .filter(|r| r["base"] == pair.0 && r["quote"] == pair.1)
            .count();
        assert!(n >= 4, "{pair:?}: {n} reference prices in 6 s");
    }
    // With every venue live, BTC-USD and ETH-USD are OK from every spot source of the demo (at
    // least six), some converted from USDT through our own USDT-USD price.
    for base in ["BTC", "ETH"] {
        let ok = rps
            .iter()
            .rev()
            .find(|r| r["base"] == base && r["status"] == "OK")
            .unwrap_or_else(|| panic!("an OK {base}-USD price"));
        let n = ok["n_valid"].as_u64().unwrap();
        assert!(n >= 6, "{base}-USD from {n} sources");
        assert_eq!(ok["n_valid"], ok["n_configured"], "{base}-USD: {ok}");
        let binance = ok["constituents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["connector"] == "binance-spot")
            .unwrap();
        assert!(binance["fx_rate"].is_string(), "{binance}");
    }
    // Derivatives venues publish ticks with their market, mark and index.
    let perp = records
        .iter()
        .find(|r| r["schema"] == "price_tick.v1" && r["connector"] == "deribit")
        .expect("a deribit tick");
    assert_eq!(perp["market"], "perpetual");
    assert_eq!(perp["instrument"], "BTC-USD-PERP");
    assert!(
        perp["mark"].is_string() && perp["index"].is_string(),
        "{perp}"
    );
    // Every stream went LIVE, and its last state is DOWN at shutdown.
    let mut last: BTreeMap<String, (bool, String)> = BTreeMap::new();
    for r in records.iter().filter(|r| r["schema"] == "feed_status.v1") {
        let key = format!("{}/{}", r["connector"], r["stream"]);
        let state = r["state"].as_str().unwrap().to_owned();
        let e = last.entry(key).or_insert((false, String::new()));
        e.0 |= state == "LIVE";
        e.1 = state;
    }
    assert!(last.len() >= 20, "{} streams", last.len());
    for (key, (was_live, final_state)) in &last {
        assert!(was_live, "{key} never went LIVE");
        assert_eq!(final_state, "DOWN", "{key}");
    }

    // Replay is deterministic: the same capture gives the same bytes.
    let replay = |extra: &[&str]| {
        let o = bin().arg("replay").arg(&cap).args(extra).output().unwrap();
        assert!(o.status.success(), "replay failed: {}", stderr(&o));
        o.stdout
    };
    let a = replay(&["--config", "config/default.toml"]);
    let b = replay(&["--config", "config/default.toml"]);
    assert!(!a.is_empty());
    assert_eq!(a, b, "replay is not deterministic");

    // And it reproduces the live reference prices for every as-of cut both computed.
    let key = |r: &serde_json::Value| {
        (
            format!("{}-{}", r["base"], r["quote"]),
            r["calc_time"].as_str().unwrap().to_owned(),
        )
    };
    let live_rp: BTreeMap<_, _> = rps.iter().map(|r| (key(r), *r)).collect();
    let replayed: Vec<serde_json::Value> = String::from_utf8(a)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["schema"] == "reference_price.v1")
        .collect();
    let mut compared = 0;
    for r in &replayed {
        if let Some(l) = live_rp.get(&key(r)) {
            compared += 1;
            for f in [
                "price",
                "status",
                "conf",
                "n_valid",
                "input_digest",
                "params_hash",
                "constituents",
            ] {
                assert_eq!(r[f], l[f], "{f} differs at {:?}", key(r));
            }
        }
    }
    assert!(compared >= 9, "only {compared} reference prices compared");

    // Balances and collateral reports replay too: the same reports for every cut both computed.
    let reports = |recs: &[serde_json::Value]| -> BTreeMap<(String, String), serde_json::Value> {
        recs.iter()
            .filter(|r| r["schema"] == "collateral_report.v1")
            .map(|r| {
                let key = (
                    r["account"].as_str().unwrap().to_owned(),
                    r["calc_time"].as_str().unwrap().to_owned(),
                );
                (key, r.clone())
            })
            .collect()
    };
    let replayed_all: Vec<serde_json::Value> = String::from_utf8(b)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (live_reports, replay_reports) = (reports(&records), reports(&replayed_all));
    assert!(
        replayed_all.iter().any(|r| r["schema"] == "balance.v1"),
        "no balances replayed"
    );
    let mut same = 0;
    for (key, r) in &replay_reports {
        if let Some(l) = live_reports.get(key) {
            for f in [
                "collateral_value_total",
                "status",
                "coverage",
                "deficit",
                "input_digest",
                "assets",
            ] {
                assert_eq!(r[f], l[f], "{f} differs for {key:?}");
            }
            same += 1;
        }
    }
    assert!(same >= 4, "only {same} collateral reports compared");
    // The demo's fund-b is short of its requirement.
    let b_last = live_reports
        .iter()
        .rev()
        .find(|((a, _), _)| a == "fund-b")
        .unwrap()
        .1;
    assert_eq!(b_last["status"], "MARGIN_CALL", "{b_last}");
    assert!(b_last["deficit"].is_string());
}

#[cfg(unix)]
#[test]
fn sigterm_flushes_the_sinks_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.jsonl");
    let mut child = bin()
        .args(["run", "--no-summary", "--jsonl"])
        .arg(&live)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let records = read_jsonl(&live);
    // Flushed to the end: every stream that reported a state reports DOWN at shutdown.
    let streams: std::collections::BTreeSet<String> = records
        .iter()
        .filter(|r| r["schema"] == "feed_status.v1")
        .map(|r| format!("{}/{}", r["connector"], r["stream"]))
        .collect();
    let down: std::collections::BTreeSet<String> = records
        .iter()
        .filter(|r| r["state"] == "DOWN")
        .map(|r| format!("{}/{}", r["connector"], r["stream"]))
        .collect();
    assert!(!streams.is_empty());
    assert_eq!(down, streams, "every stream reports DOWN at shutdown");
    assert!(records.iter().any(|r| r["schema"] == "reference_price.v1"));
}

/// The demo config plus a Kafka sink at `brokers` (spool in `dir/spool`) and a shutdown grace.
#[cfg(unix)]
fn kafka_demo_config(dir: &Path, brokers: &str, spool: bool, grace_ms: u64) -> PathBuf {
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml"))
            .unwrap();
    let text = format!(
        "{demo}\n[kafka]\nbrokers = \"{brokers}\"\nspool = {spool}\nspool_dir = \"{}\"\nspool_after_in_flight = 20\n\n[runtime]\nshutdown_grace_ms = {grace_ms}\n",
        dir.join("spool").display()
    );
    let path = dir.join("kafka.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(unix)]
fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A mock Kafka cluster with the tracker's topics already there.
#[cfg(unix)]
fn kafka_mock() -> rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext>
{
    let mock = rdkafka::mocking::MockCluster::new(1).unwrap();
    for topic in schemas::topics::TopicNames::new("collateral").produced() {
        mock.create_topic(topic, 3, 1).unwrap();
    }
    mock
}

/// Waits until the tracker says its Kafka sink is connected, then 2 s more of publishing.
#[cfg(unix)]
fn wait_for_kafka(child: &mut std::process::Child, log: &Path) {
    let started = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("kafka sink connected") {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "exited early: {text}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(40),
            "kafka sink not connected after 40 s: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
}

/// Waits up to `limit` for the child to exit; its exit code and how long it took.
#[cfg(unix)]
fn wait_exit(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<(Option<i32>, std::time::Duration)> {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if let Some(s) = child.try_wait().unwrap() {
            return Some((s.code(), started.elapsed()));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// Kafka goes away while the tracker runs; SIGTERM then flushes for the grace period, puts what
/// Kafka did not take into the spool, and exits 0 within the grace period.
#[cfg(unix)]
#[test]
fn sigterm_during_a_kafka_outage_spools_the_rest_and_exits_0_within_grace() {
    let mock = kafka_mock();
    let dir = tempfile::tempdir().unwrap();
    let grace_ms = 3000;
    let cfg = kafka_demo_config(dir.path(), &mock.bootstrap_servers(), true, grace_ms);
    let log = dir.path().join("stderr.log");
    let mut child = bin()
        .args(["run", "--no-summary", "--no-dashboard", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "warn,normalizer::publish::kafka=info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for_kafka(&mut child, &log);
    mock.broker_down(1).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    signal(&child, "-TERM");
    let (code, took) =
        wait_exit(&mut child, std::time::Duration::from_secs(30)).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("still running 30 s after SIGTERM")
        });
    let err = std::fs::read_to_string(&log).unwrap();
    println!(
        "exit {code:?} after {took:?}; {}",
        err.lines()
            .filter(|l| l.starts_with("kafka:"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert_eq!(code, Some(0), "{err}");
    // The grace period plus generous slack for a loaded machine.
    assert!(
        took < std::time::Duration::from_millis(grace_ms + 7000),
        "{took:?}"
    );
    let summary = err
        .lines()
        .find(|l| l.starts_with("kafka: "))
        .unwrap_or_else(|| panic!("no kafka summary in:\n{err}"));
    let left: u64 = summary
        .split("left in spool ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(left > 0, "undelivered records went to the spool: {summary}");
    let segments: Vec<_> = std::fs::read_dir(dir.path().join("spool"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("seg-"))
        .collect();
    assert!(!segments.is_empty(), "spool files on disk");
    // Every spooled line is a complete record with its headers.
    let mut lines = 0;
    for seg in &segments {
        for line in std::fs::read_to_string(seg.path()).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(
                v["id"].as_u64().is_some() && v["payload"].is_string(),
                "{line}"
            );
            lines += 1;
        }
    }
    assert!(lines as u64 >= left, "{lines} lines, {left} left");
}

/// While a flush hangs (Kafka is down and there is no spool, so the flush would wait the whole
/// 60 s grace period), a second SIGTERM exits at once with 143 (128 + SIGTERM).
#[cfg(unix)]
#[test]
fn a_second_signal_exits_at_once_while_the_flush_hangs() {
    let mock = kafka_mock();
    let dir = tempfile::tempdir().unwrap();
    let cfg = kafka_demo_config(dir.path(), &mock.bootstrap_servers(), false, 60_000);
    let log = dir.path().join("stderr.log");
    let mut child = bin()
        .args(["run", "--no-summary", "--no-dashboard", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "warn,normalizer::publish::kafka=info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for_kafka(&mut child, &log);
    mock.broker_down(1).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    signal(&child, "-TERM");
    // The first signal starts a flush that cannot finish.
    assert!(
        wait_exit(&mut child, std::time::Duration::from_secs(3)).is_none(),
        "the flush waits for Kafka: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    signal(&child, "-TERM");
    let (code, took) =
        wait_exit(&mut child, std::time::Duration::from_secs(10)).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("still running 10 s after the second SIGTERM")
        });
    let err = std::fs::read_to_string(&log).unwrap();
    println!("second SIGTERM: exit {code:?} after {took:?}");
    assert_eq!(code, Some(143), "{err}");
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    assert!(err.contains("SIGTERM again: exiting at once"), "{err}");
}

/// Runs the tracker with known secret values (signed Binance balances, a generic custodian's
/// bearer token) at TRACE logging, recording, and scans every output for them.
#[test]
fn secrets_never_reach_logs_captures_or_records() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("secrets.toml");
    std::fs::write(
        &cfg,
        r#"
[[connectors]]
id = "binance-spot"
kind = "binance"
instruments = ["BTCUSDT"]
sim = true
account = "fund-a"
api_key_env = "CT_E2E_BINANCE_KEY"
api_secret_env = "CT_E2E_BINANCE_SECRET"
balance_interval_ms = 1000

[[connectors]]
id = "house-custody"
kind = "generic_rest"
sim = true
account = "fund-b"
api_key_env = "CT_E2E_CUSTODY_TOKEN"
balance_interval_ms = 1000

[connectors.generic]
path = "/v1/balances"
auth_prefix = "Bearer "
list = "/data/balances"
asset = "/currency"
total = "/total"
available = "/available"
locked = "/locked"
decimals = "/decimals"

[dashboard]
tokens_env = "CT_E2E_DASH_TOKENS"
"#,
    )
    .unwrap();
    let secrets = [
        ("CT_E2E_BINANCE_KEY", "kEy-7f3a9c1e55d0b2aa"),
        ("CT_E2E_BINANCE_SECRET", "sEcReT-91b4e6f0c2d8a7e3f5"),
        ("CT_E2E_CUSTODY_TOKEN", "tOkEn-c0ffee5eed1234"),
        ("CT_E2E_DASH_TOKENS", "dAsH-tOkEn-5a6b7c8d9e0f1a2b"),
    ];
    let auth = "Authorization: Bearer dAsH-tOkEn-5a6b7c8d9e0f1a2b\r\n";
    let out = dir.path().join("out.jsonl");
    let cap = dir.path().join("cap.jsonl");
    let log_out = dir.path().join("stdout.log");
    let log_err = dir.path().join("stderr.log");
    let port = free_port();
    let mut cmd = bin();
    cmd.args(["run", "--seconds", "5", "--no-summary", "--config"])
        .arg(&cfg)
        .arg("--jsonl")
        .arg(&out)
        .arg("--record")
        .arg(&cap)
        .arg("--dashboard")
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "trace")
        // Files, not pipes: trace logging must never block on a full pipe while we read the
        // dashboard.
        .stdout(std::fs::File::create(&log_out).unwrap())
        .stderr(std::fs::File::create(&log_err).unwrap());
    for (k, v) in secrets {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // The dashboard while balances flow: snapshot, metrics and a second of the SSE feed.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let refused = http_get(port, "/snapshot", std::time::Duration::from_secs(1));
    assert!(
        refused.starts_with("HTTP/1.1 401"),
        "no token must be refused: {refused}"
    );
    let dashboard = [
        http_get_with(port, "/snapshot", std::time::Duration::from_secs(2), auth),
        http_get_with(port, "/metrics", std::time::Duration::from_secs(2), auth),
        http_get_with(port, "/events", std::time::Duration::from_secs(1), auth),
        http_get_with(port, "/", std::time::Duration::from_secs(1), auth),
    ]
    .join("\n");
    let status = child.wait().unwrap();
    let logs = format!(
        "{}{}",
        std::fs::read_to_string(&log_out).unwrap(),
        std::fs::read_to_string(&log_err).unwrap()
    );
    assert!(status.success(), "{logs}");
    assert!(
        dashboard.contains("binance-spot") && dashboard.contains("collateral_balance_polls"),
        "the dashboard served little: {dashboard}"
    );
    assert!(dashboard.contains("data: "), "no SSE event in a second");
    let records = std::fs::read_to_string(&out).unwrap();
    // The credentials worked: the simulators checked them and balances flowed.
    assert!(
        records.contains(r#""source":"binance-spot""#)
            && records.contains(r#""schema":"balance.v1""#)
    );
    assert!(records.contains(r#""source":"house-custody""#));
    let capture = std::fs::read_to_string(&cap).unwrap();
    assert!(capture.contains("rest:/api/v3/account"));
    assert!(
        logs.len() > 1000,
        "trace logging produced little output: {}",
        logs.len()
    );
    for (name, value) in secrets {
        for (what, text) in [
            ("logs", &logs),
            ("records", &records),
            ("capture", &capture),
            ("dashboard", &dashboard),
        ] {
            assert!(!text.contains(value), "{name} leaked into the {what}");
        }
    }
    // Off loopback with no token, the tracker does not start (exit 2, the field named).
    let o = bin()
        .args(["run", "--seconds", "1", "--dashboard", "0.0.0.0:0"])
        .env_remove("COLLATERAL_TRACKER_DASHBOARD_TOKENS")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dashboard.tokens_env"),
        "{}",
        stderr(&o)
    );
    // A missing env var refuses the start with the field's path.
    let o = bin()
        .args(["run", "--seconds", "1", "--config"])
        .arg(&cfg)
        .env_remove("CT_E2E_BINANCE_KEY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("connectors[0].api_key_env: env var CT_E2E_BINANCE_KEY is not set"),
        "{}",
        stderr(&o)
    );
    // Wrong credentials: the simulator refuses them; the refusal is reported (feed_status
    // reason, logs) without the key or secret that was refused.
    let wrong = [
        ("CT_E2E_BINANCE_KEY", "kEy-wrong-2d4f6a8c0e"),
        ("CT_E2E_BINANCE_SECRET", "sEcReT-wrong-13579bdf02"),
        ("CT_E2E_CUSTODY_TOKEN", "tOkEn-wrong-facade0042"),
    ];
    let out = dir.path().join("refused.jsonl");
    let mut cmd = bin();
    cmd.args([
        "run",
        "--seconds",
        "3",
        "--no-summary",
        "--no-dashboard",
        "--config",
    ])
    .arg(&cfg)
    .arg("--jsonl")
    .arg(&out)
    .env("RUST_LOG", "trace");
    for (k, v) in wrong {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let records = std::fs::read_to_string(&out).unwrap();
    let logs = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    let refusal = records
        .lines()
        .find(|l| l.contains(r#""connector":"binance-spot""#) && l.contains(r#""state":"DOWN""#))
        .unwrap_or_else(|| panic!("no DOWN for refused credentials in {records}"));
    println!("refused credentials: {refusal}");
    for (name, value) in wrong {
        assert!(!records.contains(value), "{name} leaked into a record");
        assert!(!logs.contains(value), "{name} leaked into the logs");
    }
}

/// collateral.md's C1/C4 as a capture: five Coinbase instances quoting R1's BTC mids (median
/// 64003.25), three quoting SOL at 150.15 and USDC at 1.0000, and two custodians holding 100 BTC
/// (`custody-c1`) and 100 BTC + 40,000 SOL (`custody-c4`).
fn c4_capture(dir: &Path) -> PathBuf {
    let t = |ms: u64| format!("2026-11-24T11:00:{:02}.{:03}000Z", ms / 1000, ms % 1000);
    let mut lines = Vec::new();
    let mut frame = |connector: &str, venue: &str, channel: &str, at: String, frame: String| {
        let line = serde_json::json!({"connector": connector, "venue": venue, "received_at": at, "channel": channel, "frame": frame, "epoch": 1});
        lines.push(line.to_string());
    };
    let ticker = |product: &str, bid: &str, ask: &str, at: &str, seq: u64| {
        format!(
            r#"{{"channel":"ticker","client_id":"","timestamp":"{at}","sequence_num":{seq},"events":[{{"type":"update","tickers":[{{"type":"ticker","product_id":"{product}","price":"{bid}","volume_24_h":"1","best_bid":"{bid}","best_bid_quantity":"1","best_ask":"{ask}","best_ask_quantity":"1"}}]}}]}}"#
        )
    };
    // R1: mids 64000.50, 63992.00, 64011.00, 64006.00 and an outlier at 67405.00.
    let btc = [
        ("64000.00", "64001.00"),
        ("63991.50", "63992.50"),
        ("64010.50", "64011.50"),
        ("64005.50", "64006.50"),
        ("67404.50", "67405.50"),
    ];
    for (i, (bid, ask)) in btc.iter().enumerate() {
        let at = t(100 + i as u64);
        frame(
            &format!("cb{i}"),
            "coinbase",
            "ws",
            at.clone(),
            ticker("BTC-USD", bid, ask, &at, 1),
        );
    }
    for (i, (bid, ask)) in [
        ("150.14", "150.16"),
        ("150.13", "150.17"),
        ("150.12", "150.18"),
    ]
    .iter()
    .enumerate()
    {
        let at = t(200 + i as u64);
        frame(
            &format!("cb{i}"),
            "coinbase",
            "ws",
            at.clone(),
            ticker("SOL-USD", bid, ask, &at, 2),
        );
    }
    let custody = |items: &str| format!(r#"{{"data":{{"balances":[{items}]}}}}"#);
    frame(
        "custody-c1",
        "generic_rest",
        "rest:/v1/balances",
        t(300),
        custody(r#"{"currency":"BTC","total":"100"}"#),
    );
    frame(
        "custody-c4",
        "generic_rest",
        "rest:/v1/balances",
        t(301),
        custody(r#"{"currency":"BTC","total":"100"},{"currency":"SOL","total":"40000"}"#),
    );
    for i in 0..3u64 {
        let at = t(250 + i);
        frame(
            &format!("cb{i}"),
            "coinbase",
            "ws",
            at.clone(),
            ticker("USDC-USD", "0.9999", "1.0001", &at, 5),
        );
    }
    // A later frame moves the capture clock past the 1 s tick that values everything.
    let late = t(1500);
    frame(
        "cb0",
        "coinbase",
        "ws",
        late.clone(),
        ticker("BTC-USD", "64000.00", "64001.00", &late, 3),
    );
    let cap = dir.join("examples.capture.jsonl");
    std::fs::write(&cap, lines.join("\n") + "\n").unwrap();
    cap
}

/// collateral.md's worked examples out of the running system: a capture of real-format venue
/// frames (five Coinbase instances quoting R1's mids, three quoting SOL at 150.15) and two
/// custodian responses is replayed through the binary, and the published collateral reports
/// carry C1's, C4's and C5's figures.
#[test]
fn worked_examples_come_out_of_the_running_system() {
    let dir = tempfile::tempdir().unwrap();
    let cap = c4_capture(dir.path());

    let generic = |id: &str, account: &str| {
        format!(
            "[[connectors]]\nid = \"{id}\"\nkind = \"generic_rest\"\naccount = \"{account}\"\napi_key_env = \"UNUSED_IN_REPLAY\"\n[connectors.generic]\npath = \"/v1/balances\"\nlist = \"/data/balances\"\nasset = \"/currency\"\ntotal = \"/total\"\n\n"
        )
    };
    let run = |c4_requirement: &str| -> BTreeMap<String, serde_json::Value> {
        let mut cfg = String::new();
        for i in 0..5 {
            cfg += &format!("[[connectors]]\nid = \"cb{i}\"\nkind = \"coinbase\"\ninstruments = [\"BTC-USD\", \"SOL-USD\"]\n\n");
        }
        cfg += &generic("custody-c1", "fund-c1");
        cfg += &generic("custody-c4", "fund-c4");
        cfg += &format!("[reference]\npairs = [\"BTC-USD\", \"SOL-USD\"]\n\n[accounts.fund-c4]\nrequirement = \"{c4_requirement}\"\n");
        let path = dir.path().join("examples.toml");
        std::fs::write(&path, cfg).unwrap();
        let o = bin()
            .arg("replay")
            .arg(&cap)
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let mut last = BTreeMap::new();
        for l in String::from_utf8(o.stdout).unwrap().lines() {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            if r["schema"] == "reference_price.v1" && r["base"] == "BTC" {
                assert_eq!(r["price"], "64003.25", "R1 price: {r}");
            }
            if r["schema"] == "collateral_report.v1" {
                last.insert(r["account"].as_str().unwrap().to_owned(), r);
            }
        }
        last
    };
    let reports = run("5000000");
    // C1: 100 BTC at 64003.25.
    assert_eq!(reports["fund-c1"]["collateral_value_total"], "6045300.62");
    assert_eq!(reports["fund-c1"]["status"], "NO_REQUIREMENT");
    // C4 and C5: plus 40,000 SOL at 150.15, capped at 25 %; requirement 5,000,000.
    let c4 = &reports["fund-c4"];
    assert_eq!(c4["collateral_value_total"], "8670025.78", "{c4}");
    assert_eq!(c4["coverage"], "1.7340");
    assert_eq!(c4["status"], "OK");
    assert!(
        c4["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "CONCENTRATION_CAP"),
        "{c4}"
    );
    // C5 with 9,000,000: a margin call with its deficit.
    let c5 = &run("9000000")["fund-c4"];
    assert_eq!(c5["status"], "MARGIN_CALL");
    assert_eq!(c5["deficit"], "329974.22");
}

/// Venue faults through the running system (issue 6): Kraken's socket stays up but its data
/// stops from 3 s (its stream goes STALE within `stale_after_ms`, the connection is replaced,
/// and its quotes age out of the median as STALE), and Coinbase's clock runs 5 s ahead (its
/// quotes are excluded as FUTURE_TS). The reference price goes on from the two good sources.
#[test]
fn a_stalled_and_a_fast_clock_venue_are_excluded_from_the_reference_price() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("faults.toml");
    std::fs::write(
        &cfg,
        r#"
[[connectors]]
id = "coinbase"
kind = "coinbase"
instruments = ["BTC-USD"]
sim = true
sim_faults = { clock_ahead_ms = 5000 }

[[connectors]]
id = "kraken-spot"
kind = "kraken"
instruments = ["BTC/USD"]
sim = true
stale_after_ms = 1000
sim_faults = { stall_every_s = 1000, stall_for_s = 997 }

[[connectors]]
id = "bitstamp"
kind = "bitstamp"
instruments = ["BTCUSD"]
sim = true

[[connectors]]
id = "gemini"
kind = "gemini"
instruments = ["BTCUSD"]
sim = true

[reference]
pairs = ["BTC-USD"]

[reference.params.BTC-USD]
max_age_ms = 2000

[dashboard]
enabled = false
"#,
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let o = bin()
        .args(["run", "--seconds", "9", "--no-summary", "--config"])
        .arg(&cfg)
        .arg("--jsonl")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let records = read_jsonl(&out);
    let kraken: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["schema"] == "feed_status.v1" && r["connector"] == "kraken-spot")
        .collect();
    let stale = kraken
        .iter()
        .find(|s| s["state"] == "STALE")
        .unwrap_or_else(|| panic!("kraken never went STALE: {kraken:?}"));
    assert!(
        stale["reason"].as_str().unwrap().contains("no data"),
        "{stale}"
    );
    let since = schemas::Ts::parse_rfc3339(stale["since"].as_str().unwrap()).unwrap();
    let last = schemas::Ts::parse_rfc3339(stale["last_data_at"].as_str().unwrap()).unwrap();
    let after_ms = since.millis_since(last);
    println!("kraken STALE {after_ms} ms after its last data (stale_after_ms 1000)");
    assert!((1000..=2000).contains(&after_ms), "{stale}");
    assert!(
        kraken
            .iter()
            .any(|s| s["state"] == "RECONNECTING" && s["epoch"] == 2),
        "the silent connection was not replaced: {kraken:?}"
    );
    let last_rp = records
        .iter()
        .rev()
        .find(|r| r["schema"] == "reference_price.v1")
        .expect("reference prices");
    let reason_of = |connector: &str| {
        last_rp["constituents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["connector"] == connector)
            .map(|c| (c["included"].clone(), c["exclusion_reason"].clone()))
            .unwrap()
    };
    assert_eq!(
        reason_of("kraken-spot"),
        (false.into(), "STALE".into()),
        "{last_rp}"
    );
    assert_eq!(
        reason_of("coinbase"),
        (false.into(), "FUTURE_TS".into()),
        "{last_rp}"
    );
    for good in ["bitstamp", "gemini"] {
        assert_eq!(reason_of(good), (true.into(), serde_json::Value::Null));
    }
    assert_eq!(last_rp["n_valid"], 2, "{last_rp}");
    assert!(last_rp["price"].is_string(), "{last_rp}");
}

/// `sim` serves a config's simulators on their own (the latency script's load from another
/// process); a tracker whose connectors name those URLs in `ws_url` reads them like venues.
#[test]
fn sim_serves_the_simulators_apart_and_a_tracker_reads_them_through_ws_url() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let sim_cfg = dir.path().join("sim.toml");
    std::fs::write(
        &sim_cfg,
        r#"
[[connectors]]
id = "binance-spot"
kind = "binance"
instruments = ["BTCUSDT"]
sim = true

[[connectors]]
id = "coinbase"
kind = "coinbase"
instruments = ["BTC-USD", "USDT-USD"]
sim = true

[reference]
pairs = ["BTC-USD"]
"#,
    )
    .unwrap();
    let mut sim = bin()
        .args(["sim", "--seconds", "60", "--config"])
        .arg(&sim_cfg)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(sim.stdout.take().unwrap()).lines();
    let mut urls = BTreeMap::new();
    for _ in 0..2 {
        let line = lines.next().expect("a URL line").unwrap();
        let (id, url) = line.split_once(' ').expect("`<id> <url>`");
        assert!(url.starts_with("ws://127.0.0.1:"), "{line}");
        urls.insert(id.to_owned(), url.to_owned());
    }
    assert_eq!(
        urls.keys().collect::<Vec<_>>(),
        ["binance-spot", "coinbase"],
        "one line per simulated connector"
    );

    let run_cfg = dir.path().join("run.toml");
    std::fs::write(
        &run_cfg,
        format!(
            r#"
[[connectors]]
id = "binance-spot"
kind = "binance"
instruments = ["BTCUSDT"]
ws_url = "{}"

[[connectors]]
id = "coinbase"
kind = "coinbase"
instruments = ["BTC-USD", "USDT-USD"]
ws_url = "{}"

[reference]
pairs = ["BTC-USD"]
"#,
            urls["binance-spot"], urls["coinbase"]
        ),
    )
    .unwrap();
    let out_path = dir.path().join("records.jsonl");
    let run = bin()
        .args([
            "run",
            "--no-summary",
            "--no-dashboard",
            "--seconds",
            "4",
            "--config",
        ])
        .arg(&run_cfg)
        .arg("--jsonl")
        .arg(&out_path)
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(run.status.success(), "{}", stderr(&run));
    let records = read_jsonl(&out_path);
    for connector in ["binance-spot", "coinbase"] {
        let ticks = records
            .iter()
            .filter(|r| r["schema"] == "price_tick.v1" && r["connector"] == connector)
            .count();
        assert!(ticks > 0, "no price ticks from {connector} through ws_url");
    }
    assert!(
        records.iter().any(|r| r["schema"] == "reference_price.v1"
            && r["base"] == "BTC"
            && r["status"] != "UNAVAILABLE"),
        "BTC-USD priced from the two simulated venues"
    );
}

/// Writes a capture (interface.md) of real frames we did not write: cryptofeed's Binance
/// recording (USDT-, BTC-, ETH- and EUR-quoted pairs: nothing prices `<BASE>-USD`), then
/// Binance's own `GET /api/v3/account` example (a dormant account: `updateTime` in 1970) and the
/// same response with one asset code no registry knows.
fn real_binance_capture(path: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let excerpt = std::fs::read_to_string(
        root.join("connectors/tests/fixtures/binance/replay_cryptofeed_BINANCE.ws.1.0.excerpt.txt"),
    )
    .unwrap();
    let account = std::fs::read_to_string(
        root.join("tests/fixtures/venues/binance_rest_account_GET_api_v3_account.json"),
    )
    .unwrap();
    let mut out = String::new();
    let mut last = 0f64;
    let line = |at: f64, channel: &str, frame: &str| {
        let secs = at.trunc() as i64;
        let micros = ((at - at.trunc()) * 1e6).round() as u32;
        let t = chrono::DateTime::from_timestamp(secs, micros * 1000).unwrap();
        serde_json::json!({
            "connector": "binance-spot",
            "venue": "binance",
            "received_at": t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "channel": channel,
            "frame": frame,
            "epoch": 1,
        })
        .to_string()
            + "\n"
    };
    for l in excerpt.lines().skip(1) {
        let (ts, frame) = l.split_once(": ").unwrap();
        last = ts.parse().unwrap();
        out.push_str(&line(last, "ws", frame));
    }
    out.push_str(&line(last + 0.2, "rest:/api/v3/account", &account));
    let unknown = account.replacen("\"asset\": \"LTC\"", "\"asset\": \"ZZZDUST\"", 1);
    assert_ne!(unknown, account);
    out.push_str(&line(last + 0.4, "rest:/api/v3/account", &unknown));
    // One more frame two seconds on, so the capture's clock passes the next cuts.
    let (_, frame) = excerpt.lines().last().unwrap().split_once(": ").unwrap();
    out.push_str(&line(last + 2.0, "ws", frame));
    std::fs::write(path, out).unwrap();
}

#[test]
fn replay_takes_any_capture_reports_unpriceable_pairs_and_keeps_every_tick_and_balance() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("binance.jsonl");
    real_binance_capture(&capture);
    let o = bin().arg("replay").arg(&capture).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("replay: pair NKN-USD skipped"), "{err}");
    let records: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |schema: &str| {
        records
            .iter()
            .filter(|r| r["schema"] == schema)
            .collect::<Vec<_>>()
    };
    let ticks = of("price_tick.v1");
    let instruments: std::collections::BTreeSet<&str> = ticks
        .iter()
        .map(|t| t["instrument"].as_str().unwrap())
        .collect();
    assert!(instruments.contains("NKN-USDT"), "{instruments:?}");
    assert!(instruments.contains("LRC-BTC"), "{instruments:?}");
    // Both balances of the doc example, dated by the venue (1970), confirmed by the response.
    let balances = of("balance.v1");
    let btc = balances.iter().find(|b| b["asset"] == "BTC").unwrap();
    assert_eq!(btc["total"], "4723846.89208129");
    assert_eq!(btc["as_of"], "1970-01-02T10:17:36.789000Z");
    assert_ne!(btc["received_at"], btc["as_of"]);
    // The last report: the dormant account is not stale, and the unknown code is shown.
    let report = *of("collateral_report.v1").last().unwrap();
    let btc_row = report["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["asset"] == "BTC")
        .unwrap();
    assert_eq!(btc_row["by_source"][0]["stale"], false, "{report}");
    assert_eq!(report["unmapped"][0]["venue_asset"], "ZZZDUST", "{report}");
    assert_eq!(report["unmapped"][0]["quantity"], "4763368.68006011");
    assert!(report["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "UNMAPPED_ASSET"));
    // No feed status in a replay of REST bodies (the capture holds no connector states): the
    // code is named in the report (above) and in the warning.
    assert!(err.contains("ZZZDUST"), "{err}");
}

#[test]
fn replay_with_a_config_whose_pair_has_no_source_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("binance.jsonl");
    real_binance_capture(&capture);
    let cfg = dir.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        r#"
[[connectors]]
id = "binance-spot"
kind = "binance"
instruments = ["NKNUSDT", "LRCBTC"]

[reference]
pairs = ["NKN-USD", "LRC-USD", "BTC-USD"]
"#,
    )
    .unwrap();
    let o = bin()
        .args(["replay", "--config"])
        .arg(&cfg)
        .arg(&capture)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    // LRC-USD converts through BTC-USD: skipping BTC-USD (no source) leaves it unpriceable.
    for pair in ["NKN-USD", "LRC-USD", "BTC-USD"] {
        assert!(
            err.contains(&format!("replay: pair {pair} skipped")),
            "{err}"
        );
    }
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("\"instrument\":\"NKN-USDT\""));
    assert!(!out.contains("reference_price.v1"));
}

#[test]
fn venues_lists_the_registry_as_a_table_and_as_json() {
    let o = bin().args(["venues"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(
        table.lines().nth(1).unwrap().starts_with("KIND "),
        "{table}"
    );
    let o = bin().args(["venues", "--json"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let kinds: Vec<&str> = v["venues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    // The binary lists exactly the registry, and the table has a row for each kind.
    assert_eq!(kinds, connectors::registry::kinds());
    for k in &kinds {
        assert!(
            table
                .lines()
                .any(|l| l.split_whitespace().next() == Some(*k)),
            "{k}: {table}"
        );
    }
    let kraken = v["venues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "kraken")
        .unwrap();
    assert_eq!(kraken["symbol_template"], "{BASE}/USD");
    assert_eq!(kraken["balances"]["rate_limit"]["capacity"], 15);
}

/// The config generators read the venue list from this binary (`venues --json`), and what
/// they write is a valid config.
#[test]
fn the_generated_configs_come_from_the_registry_and_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    for (script, args) in [
        ("scripts/gen-config.py", vec!["--instruments", "40"]),
        ("scripts/gen-load-config.py", vec!["--instruments", "40"]),
    ] {
        let o = Command::new("python3")
            .arg(script)
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CT_BIN", env!("CARGO_BIN_EXE_collateral-tracker"))
            .output()
            .expect("python3 runs the scripts (CI runs check-assets.py with it too)");
        assert!(o.status.success(), "{script}: {}", stderr(&o));
        let path = dir.path().join("gen.toml");
        std::fs::write(&path, &o.stdout).unwrap();
        let text = String::from_utf8(o.stdout).unwrap();
        // Every spot price kind of the registry is there, spelled by its template.
        for spec in connectors::registry::VENUES.iter().map(|e| e.spec) {
            let spot = spec.prices.is_some()
                && spec.samples.iter().all(|s| {
                    let venue = connectors::registry::streaming(spec.kind).unwrap();
                    matches!(
                        venue.split_symbol(s),
                        connectors::SymbolSpec::Split {
                            market: schemas::Market::Spot,
                            ..
                        } | connectors::SymbolSpec::Joined {
                            market: schemas::Market::Spot,
                            ..
                        }
                    )
                });
            if spot {
                let kind_line = format!("kind = \"{}\"", spec.kind);
                assert!(text.contains(&kind_line), "{script}: {}", spec.kind);
            }
        }
        let o = bin().args(["check-config"]).arg(&path).output().unwrap();
        assert!(o.status.success(), "{script}: {}\n{text}", stderr(&o));
    }
    // Without a binary, a clear message says how to build one.
    let o = Command::new("python3")
        .arg("scripts/gen-config.py")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CT_BIN", dir.path().join("missing"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cargo build --bin collateral-tracker"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_asset_registry_is_listed_searched_and_extended_by_config() {
    // Search by any venue's code: the network comes along.
    let o = bin().args(["assets", "USDC_POLYGON"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("fireblocks:USDC_POLYGON@POLYGON"), "{out}");
    let o = bin().args(["assets", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["assets"].as_array().unwrap().len() >= 300);

    // A registry file over the shipped one: a new asset and a venue code for it.
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("extra-assets.toml");
    std::fs::write(
        &registry,
        r#"
version = "desk-1"
[[asset]]
code = "DESKCOIN"
name = "Desk coin"
class = "long_tail"
[[code]]
venue = "fireblocks"
code = "DESKCOIN_ERC20"
asset = "DESKCOIN"
network = "ETHEREUM"
"#,
    )
    .unwrap();
    let cfg = dir.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        format!(
            "[assets]\nregistry_file = {:?}\n[reference]\npairs = []\n",
            registry.display().to_string()
        ),
    )
    .unwrap();
    let o = bin()
        .args(["assets", "DESKCOIN_ERC20", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("+desk-1"), "{out}");
    assert!(out.contains("fireblocks:DESKCOIN_ERC20@ETHEREUM"), "{out}");

    // A bad registry file is refused with the field's path.
    std::fs::write(
        &registry,
        "[[code]]\nvenue = \"kraken\"\ncode = \"XFOO\"\nasset = \"NOPE\"\n",
    )
    .unwrap();
    let o = bin().arg("check-config").arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("assets.registry_file: alias kraken:XFOO points to unknown asset"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn replay_of_a_capture_of_every_venue_kind_exits_0_without_a_config() {
    // The demo's capture (every venue kind, a config-described custodian among them).
    let capture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/capture/demo-every-venue.jsonl");
    let o = bin().arg("replay").arg(&capture).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("replay: connector house-custody (generic_rest) skipped"),
        "{err}"
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let venues: std::collections::BTreeSet<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["schema"] == "price_tick.v1")
        .map(|r| r["venue"].as_str().unwrap().to_owned())
        .collect();
    assert!(venues.len() >= 7, "{venues:?}");
    assert!(out.contains("\"schema\":\"balance.v1\""));
}

/// compliance.md's encumbrance examples through replay: a custodian whose 100 BTC are locked for
/// an exchange that credits 102 (H3: counted 102, not 202), pledges of 60 and 50 BTC against
/// the 102 held (H2's over-pledge, here 8), and a re-usable pledge worth 160,000 against a
/// debit balance of 100,000 (H1: excess 20,000.00).
#[test]
fn encumbrance_examples_come_out_of_replay() {
    let dir = tempfile::tempdir().unwrap();
    let t = |ms: u64| format!("2026-11-24T11:00:{:02}.{:03}000Z", ms / 1000, ms % 1000);
    let line = |connector: &str, venue: &str, channel: &str, at: String, frame: String| {
        serde_json::json!({"connector": connector, "venue": venue, "received_at": at, "channel": channel, "frame": frame, "epoch": 1}).to_string()
    };
    let ticker = |bid: &str, ask: &str, at: &str, seq: u64| {
        format!(
            r#"{{"channel":"ticker","client_id":"","timestamp":"{at}","sequence_num":{seq},"events":[{{"type":"update","tickers":[{{"type":"ticker","product_id":"BTC-USD","price":"{bid}","volume_24_h":"1","best_bid":"{bid}","best_bid_quantity":"1","best_ask":"{ask}","best_ask_quantity":"1"}}]}}]}}"#
        )
    };
    let custody = |items: &str| format!(r#"{{"data":{{"balances":[{items}]}}}}"#);
    let lines = [
        line(
            "cb",
            "coinbase",
            "ws",
            t(100),
            ticker("63999.50", "64000.50", &t(100), 1),
        ),
        line(
            "copper-main",
            "generic_rest",
            "rest:/v1/balances",
            t(300),
            custody(r#"{"currency":"BTC","total":"100","available":"0","locked":"100"}"#),
        ),
        line(
            "binance-main",
            "generic_rest",
            "rest:/v1/balances",
            t(301),
            custody(r#"{"currency":"BTC","total":"102","available":"102","locked":"0"}"#),
        ),
        line(
            "cb",
            "coinbase",
            "ws",
            t(1500),
            ticker("63999.50", "64000.50", &t(1500), 2),
        ),
    ];
    let cap = dir.path().join("encumbrance.capture.jsonl");
    std::fs::write(&cap, lines.join("\n") + "\n").unwrap();
    let generic = |id: &str| {
        format!(
            "[[connectors]]\nid = \"{id}\"\nkind = \"generic_rest\"\naccount = \"fund-a\"\napi_key_env = \"UNUSED_IN_REPLAY\"\n[connectors.generic]\npath = \"/v1/balances\"\nlist = \"/data/balances\"\nasset = \"/currency\"\ntotal = \"/total\"\navailable = \"/available\"\nlocked = \"/locked\"\n\n"
        )
    };
    let cfg = format!(
        "[[connectors]]\nid = \"cb\"\nkind = \"coinbase\"\ninstruments = [\"BTC-USD\"]\n\n{}{}[reference]\npairs = [\"BTC-USD\"]\n\n[accounts.fund-a]\ndebit_balance = \"100000\"\n\n[[accounts.fund-a.mirrors]]\ncustodian = \"copper-main\"\nexchange = \"binance-main\"\nassets = [\"BTC\"]\n\n[[accounts.fund-a.pledges]]\nasset = \"BTC\"\nquantity = \"60\"\ncounterparty = \"lender-1\"\n\n[[accounts.fund-a.pledges]]\nasset = \"BTC\"\nquantity = \"50\"\ncounterparty = \"lender-2\"\n\n[[accounts.fund-a.pledges]]\nasset = \"BTC\"\nquantity = \"2.5\"\ncounterparty = \"lender-3\"\nreuse = true\n",
        generic("copper-main"),
        generic("binance-main")
    );
    let path = dir.path().join("encumbrance.toml");
    std::fs::write(&path, cfg).unwrap();
    let o = bin()
        .arg("replay")
        .arg(&cap)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["schema"] == "collateral_report.v1" && r["account"] == "fund-a")
        .expect("a report for fund-a");
    let btc = &report["assets"][0];
    assert_eq!(btc["asset"], "BTC");
    // H3: 100 locked at the custodian, 102 credited at the exchange: counted 102.
    assert_eq!(btc["quantity"], "102", "{report}");
    assert_eq!(btc["mirrored"], "100");
    assert_eq!(btc["exchange_exposure"], "2");
    // H2: 112.5 pledged against 102 held.
    assert_eq!(btc["pledged"], "112.5");
    assert_eq!(btc["unencumbered"], "0");
    assert_eq!(btc["overpledged"], "10.5");
    // H1: 2.5 BTC at 64,000 re-usable, against 140 % of 100,000.
    assert_eq!(report["reuse_value"], "160000.000"); // exact, like market_value
    assert_eq!(report["reuse_cap"], "140000.00");
    assert_eq!(report["reuse_excess"], "20000.00");
    let flags: Vec<&str> = report["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    for f in ["UNSETTLED_PNL", "OVERPLEDGED", "REUSE_CAP_BREACH"] {
        assert!(flags.contains(&f), "{f} missing: {flags:?}");
    }
    // A mirror naming a source that is not configured is refused with its path.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[connectors]]\nid = \"cb\"\nkind = \"coinbase\"\ninstruments = [\"BTC-USD\"]\n[reference]\npairs = [\"BTC-USD\"]\n[[accounts.fund-a.mirrors]]\ncustodian = \"nope\"\nexchange = \"cb\"\n",
    )
    .unwrap();
    let o = bin().args(["check-config"]).arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("accounts.fund-a.mirrors[0].custodian"),
        "{}",
        stderr(&o)
    );
}

/// Venue margin and positions through replay (issue "venue margin"): OKX's own documentation
/// examples of `/api/v5/account/balance` and `/api/v5/account/positions` as a capture, then a
/// later positions list without the position. Every figure is the venue's, exactly.
#[test]
fn venue_margin_and_positions_come_out_of_replay() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors/tests/fixtures/okx");
    let balance =
        std::fs::read_to_string(fixtures.join("rest_account_balance_docs_example.json")).unwrap();
    let positions =
        std::fs::read_to_string(fixtures.join("rest_account_positions_docs_example.json")).unwrap();
    let empty = r#"{"code":"0","data":[],"msg":""}"#;
    let t = |ms: u64| format!("2026-11-24T11:00:{:02}.{:03}000Z", ms / 1000, ms % 1000);
    let line = |channel: &str, at: String, frame: &str| {
        serde_json::json!({"connector": "okx-account", "venue": "okx", "received_at": at, "channel": channel, "frame": frame, "epoch": 0}).to_string()
    };
    let lines = [
        line("rest:/api/v5/account/balance", t(100), &balance),
        line("rest:/api/v5/account/positions", t(150), &positions),
        line("rest:/api/v5/account/balance", t(5100), &balance),
        line("rest:/api/v5/account/positions", t(5150), empty),
    ];
    let cap = dir.path().join("okx.capture.jsonl");
    std::fs::write(&cap, lines.join("\n") + "\n").unwrap();
    let cfg = dir.path().join("okx.toml");
    std::fs::write(
        &cfg,
        "[[connectors]]\nid = \"okx-account\"\nkind = \"okx\"\naccount = \"fund-c\"\n\n[accounts.fund-c]\n\n[margin]\nunrealized_pnl = \"losses_only\"\n",
    )
    .unwrap();
    let o = bin()
        .arg("replay")
        .arg(&cap)
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let records: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |schema: &str| -> Vec<&serde_json::Value> {
        records.iter().filter(|r| r["schema"] == schema).collect()
    };
    // The account's margin in USD, as OKX states it (adjusted equity; no margin in use).
    let margins = of("venue_margin.v1");
    assert_eq!(margins.len(), 2, "{margins:?}");
    let m = margins[0];
    assert_eq!(m["account"], "fund-c");
    assert_eq!(m["source"], "okx-account");
    assert_eq!(m["currency"], "USD");
    assert_eq!(m["equity"], "55415.624719833286");
    assert_eq!(m["equity_usd"], "55415.624719833286");
    assert_eq!(m["maintenance_margin"], "0");
    assert_eq!(m["maintenance_coverage"], serde_json::Value::Null);
    assert_eq!(m["status"], "OK");
    assert_eq!(m["venue_margin_ratio_kind"], "equity_over_mm");
    assert_eq!(
        (m["seq"].as_u64(), margins[1]["seq"].as_u64()),
        (Some(1), Some(2))
    );
    // The margin position, then its close once a full list no longer has it.
    let p = of("position.v1");
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0]["instrument"], "BTC-USDT");
    assert_eq!(p[0]["side"], "LONG");
    assert_eq!(p[0]["size"], "0.00190433573");
    assert_eq!(p[0]["entry_price"], "62961.4");
    assert_eq!(p[0]["liquidation_price"], "53615.448336593756");
    assert_eq!(p[0]["unrealized_pnl"], "-0.0000033452492717");
    assert_eq!(p[0]["pnl_currency"], "BTC");
    assert_eq!(p[1]["side"], "FLAT");
    assert_eq!(p[1]["size"], "0");
    assert_eq!(p[1]["seq"], 2);
    // The USDT balance carries its unrealized P&L; the loss reduces the counted quantity.
    let usdt = of("balance.v1")
        .into_iter()
        .find(|b| b["asset"] == "USDT")
        .expect("a USDT balance");
    assert_eq!(usdt["total"], "4850.435693622894");
    assert_eq!(usdt["unrealized_pnl"], "-7.545600000000006");
    let report = of("collateral_report.v1")
        .into_iter()
        .last()
        .expect("a report");
    let a = report["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["asset"] == "USDT")
        .unwrap();
    assert_eq!(a["quantity"], "4842.890093622893994");
    assert!(
        a["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "UNREALIZED_LOSS"),
        "{a}"
    );
}

/// margin.md's worked examples out of the running system: C4's capture replayed with CSA terms,
/// the default stress library and a fixings CSV whose 2-day returns are E1's.
#[test]
fn margin_examples_come_out_of_replay() {
    let dir = tempfile::tempdir().unwrap();
    let cap = c4_capture(dir.path());
    // Fixings from 100 on two days, then each day P_t = P_(t-2) x (1 + r): E1's ten returns.
    let returns = [
        ("-0.082", "-0.145"),
        ("-0.041", "-0.063"),
        ("0.025", "0.041"),
        ("-0.153", "-0.221"),
        ("0.012", "-0.015"),
        ("-0.006", "0.022"),
        ("0.071", "0.102"),
        ("-0.028", "-0.049"),
        ("0.033", "0.008"),
        ("-0.095", "-0.112"),
    ];
    let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
    let (mut btc, mut sol) = (vec![d("100"), d("100")], vec![d("100"), d("100")]);
    for (k, (b, s)) in returns.iter().enumerate() {
        btc.push(btc[k] * (d("1") + d(b)));
        sol.push(sol[k] * (d("1") + d(s)));
    }
    let mut csv = String::from("date,asset,price\n");
    for k in 0..12 {
        let day = format!("2026-11-{:02}", 13 + k);
        csv += &format!("{day},BTC,{}\n{day},SOL,{}\n", btc[k], sol[k]);
    }
    std::fs::write(dir.path().join("history.csv"), csv).unwrap();
    let run = |requirement: &str, terms: &str| -> Vec<serde_json::Value> {
        let mut cfg = String::new();
        for i in 0..5 {
            cfg += &format!("[[connectors]]\nid = \"cb{i}\"\nkind = \"coinbase\"\ninstruments = [\"BTC-USD\", \"SOL-USD\", \"USDC-USD\"]\n\n");
        }
        cfg += "[[connectors]]\nid = \"custody-c4\"\nkind = \"generic_rest\"\naccount = \"fund-c4\"\napi_key_env = \"UNUSED_IN_REPLAY\"\n[connectors.generic]\npath = \"/v1/balances\"\nlist = \"/data/balances\"\nasset = \"/currency\"\ntotal = \"/total\"\n\n";
        cfg += "[reference]\npairs = [\"BTC-USD\", \"SOL-USD\", \"USDC-USD\"]\n\n";
        cfg += &format!("[accounts.fund-c4]\nrequirement = \"{requirement}\"\n\n[accounts.fund-c4.terms]\n{terms}\n");
        cfg += "[risk]\nalpha = \"0.85\"\nhorizon_days = 2\nhorizon_days_alt = 2\nmin_scenarios = 10\nfixings_csv = \"history.csv\"\n[risk.adv]\nSOL = \"150000\"\n";
        let path = dir.path().join("margin.toml");
        std::fs::write(&path, cfg).unwrap();
        let o = bin()
            .arg("replay")
            .arg(&cap)
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["account"] == "fund-c4")
            .collect()
    };
    let last = |records: &[serde_json::Value], schema: &str| -> serde_json::Value {
        records
            .iter()
            .rev()
            .find(|r| r["schema"] == schema)
            .unwrap_or_else(|| panic!("no {schema}"))
            .clone()
    };
    // M1: requirement 9,000,000, MTA 250,000, rounding 10,000 -> call 330,000.
    let m1 = run(
        "9000000",
        "minimum_transfer_amount = \"250000\"\nrounding = \"10000\"\ncall_target = \"1\"\nreturn_above = \"1\"",
    );
    let call = last(&m1, "margin_call.v1");
    assert_eq!(call["direction"], "CALL", "{call}");
    // Unrounded (the scale is the computation's): the same number as margin.md's.
    assert_eq!(d(call["raw_amount"].as_str().unwrap()), d("329974.21875"));
    assert_eq!(call["amount"], "330000");
    assert_eq!(call["state"], "OPEN");
    // B1: call target 1.10: top-ups by full revaluation; the SOL cap excess is idle.
    let b1 = run(
        "9000000",
        "call_target = \"1.10\"\ntopup_assets = [\"USDC\", \"BTC\", \"USD\"]",
    );
    let call = last(&b1, "margin_call.v1");
    let topup = |asset: &str| {
        call["topups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["asset"] == asset)
            .unwrap_or_else(|| panic!("no {asset} top-up in {call}"))["quantity"]
            .clone()
    };
    assert_eq!(topup("USDC"), "993918.57");
    assert_eq!(topup("BTC"), "16.62042923");
    assert_eq!(topup("USD"), "983979.38");
    assert_eq!(call["idle_collateral"], "1828874.84");
    // S1 (requirement 5,000,000) and E1, E2, L1 from the CSV's fixings.
    let s1 = run("5000000", "");
    let stress = last(&s1, "stress_report.v1");
    let scenario = |name: &str| {
        stress["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(scenario("okx_mr6_down")["collateral_value"], "6522013.31");
    assert_eq!(scenario("okx_mr6_down")["coverage"], "1.3044");
    assert_eq!(
        scenario("deribit_pm_down")["collateral_value"],
        "7341821.65"
    );
    assert_eq!(scenario("deribit_pm_down")["coverage"], "1.4683");
    let risk = last(&s1, "collateral_risk.v1");
    assert_eq!(risk["n_scenarios"], 10, "{risk}");
    assert_eq!(risk["es"], "1163582.92");
    assert_eq!(risk["var"], "803936.50");
    assert_eq!(risk["coverage_after_es"], "1.5012");
    let asset = |a: &str| {
        risk["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["asset"] == a)
            .unwrap()
            .clone()
    };
    let (b, s) = (asset("BTC"), asset("SOL"));
    assert_eq!(
        (b["es_pct"].clone(), b["effective_haircut"].clone()),
        ("0.133667".into(), "0.055470".into())
    );
    assert!(b["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "HAIRCUT_BELOW_ES"));
    assert_eq!(
        (s["es_pct"].clone(), s["effective_haircut"].clone()),
        ("0.195667".into(), "0.258475".into())
    );
    assert!(!s["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "HAIRCUT_BELOW_ES"));
    assert_eq!(s["liquidity_days"], 3);
    assert_eq!(s["liquidity_horizon"], 5);
    assert_eq!(risk["liquidity_addon"], "682939.45");
}
