//! Shutdown with a Kafka sink (rdkafka's mock cluster): spooling during an outage, a second signal.

use super::*;

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
