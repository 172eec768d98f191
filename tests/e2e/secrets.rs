//! Secrets never reach logs, captures, records or pages; dashboard tokens.

use super::*;

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
