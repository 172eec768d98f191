//! `check-config`, refused secrets, the `venues` and `assets` commands and the generated configs.

use super::*;

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
