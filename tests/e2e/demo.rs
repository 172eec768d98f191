//! The demo through the binary: records, replay of its capture, shutdown, venue faults, `sim`.

use super::*;

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
