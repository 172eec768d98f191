//! `replay` of any capture: real captures, unpriceable pairs, every venue kind without a config.

use super::*;

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
