//! `fixings import CSV` and `fixings list [ASSET]`: the daily fixings store of margin.md
//! section 4.1 from the command line. The store is `[risk] store` of `--config` (a relative
//! path from the config file's folder), else `fixings.redb` in the data dir
//! (`$COLLATERAL_TRACKER_DATA_DIR`, `$XDG_DATA_HOME/collateral-tracker`,
//! `~/.local/share/collateral-tracker`). An import adds the days the store lacks and keeps
//! every stored one (a stored fixing wins over the CSV's); a bad CSV is refused whole, naming
//! the line, and nothing of it is stored.

use normalizer::margin::config::RiskConfig;
use normalizer::margin::fixings::{format_day, read_csv, FixingStore, FixingsError};
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What went wrong, and whether it is the input's fault (exit 2) or the store's (exit 1).
#[derive(Debug)]
pub enum FixingsCmdError {
    /// The CSV is unreadable or malformed: `<csv>: line N: ...`.
    Input(String),
    /// The store cannot be opened, read or written.
    Store(String),
}

/// Where the store of `risk` lives, for a config file at `config` (if any).
pub fn store_path(risk: &RiskConfig, config: Option<&Path>) -> PathBuf {
    risk.store_path(config.and_then(Path::parent))
}

fn open(store: &Path) -> Result<FixingStore, FixingsCmdError> {
    FixingStore::open(store)
        .map_err(|e| FixingsCmdError::Store(format!("{}: {e}", store.display())))
}

/// Imports `csv` into the store at `store`; returns the summary line.
pub fn import(csv: &Path, store: &Path) -> Result<String, FixingsCmdError> {
    let (fixings, sha) = read_csv(csv).map_err(|e| match e {
        FixingsError::Csv { .. } | FixingsError::Io { .. } => {
            FixingsCmdError::Input(format!("{}: {e}", csv.display()))
        }
        other => FixingsCmdError::Store(other.to_string()),
    })?;
    let s = open(store)?
        .import(&fixings, &sha)
        .map_err(|e| FixingsCmdError::Store(format!("{}: {e}", store.display())))?;
    Ok(format!(
        "{}: {} fixings, {} added, {} already stored (kept); sha256 {sha}; store {}\n",
        csv.display(),
        fixings.len(),
        s.added,
        s.kept,
        store.display()
    ))
}

/// The stored fixings (of `asset` only, when given) as a table or one JSON object.
pub fn list(store: &Path, asset: Option<&str>, as_json: bool) -> Result<String, FixingsCmdError> {
    let rows = open(store)?
        .list(asset)
        .map_err(|e| FixingsCmdError::Store(format!("{}: {e}", store.display())))?;
    if as_json {
        let list: Vec<_> = rows
            .iter()
            .map(|f| {
                json!({"date": format_day(f.day), "asset": f.asset, "price": f.price.to_string(), "source": f.source})
            })
            .collect();
        return Ok(
            json!({"store": store.display().to_string(), "fixings": list}).to_string() + "\n",
        );
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10}  {:<10}  {:>24}  source",
        "date", "asset", "price"
    );
    for f in &rows {
        let _ = writeln!(
            out,
            "{:<10}  {:<10}  {:>24}  {}",
            format_day(f.day),
            f.asset,
            f.price.to_string(),
            f.source
        );
    }
    let _ = writeln!(out, "{} fixings in {}", rows.len(), store.display());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_then_list_as_table_and_json() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("h.csv");
        std::fs::write(
            &csv,
            "date,asset,price\n2026-11-20,BTC,64000.5\n2026-11-20,SOL,150.15\n",
        )
        .unwrap();
        let store = dir.path().join("data/fixings.redb");
        let out = import(&csv, &store).unwrap();
        assert!(
            out.contains("2 fixings, 2 added, 0 already stored"),
            "{out}"
        );
        let again = import(&csv, &store).unwrap();
        assert!(again.contains("0 added, 2 already stored"), "{again}");
        let table = list(&store, Some("BTC"), false).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(
            lines[1].starts_with("2026-11-20  BTC") && lines[1].contains("64000.5"),
            "{table}"
        );
        assert!(lines[2].starts_with("1 fixings in"), "{table}");
        let v: serde_json::Value =
            serde_json::from_str(&list(&store, None, true).unwrap()).unwrap();
        assert_eq!(v["fixings"].as_array().unwrap().len(), 2);
        assert_eq!(v["fixings"][1]["asset"], "SOL");
        assert_eq!(v["fixings"][1]["price"], "150.15");
    }

    #[test]
    fn a_bad_csv_is_refused_with_its_line_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("h.csv");
        std::fs::write(
            &csv,
            "date,asset,price\n2026-11-20,BTC,1\n2026-11-21,BTC,abc\n",
        )
        .unwrap();
        let store = dir.path().join("fixings.redb");
        match import(&csv, &store) {
            Err(FixingsCmdError::Input(m)) => assert!(
                m.ends_with("line 3: price \"abc\" is not a positive decimal"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(list(&store, None, false).unwrap().contains("0 fixings"));
    }

    #[test]
    fn the_store_path_is_relative_to_the_config_folder() {
        let risk = RiskConfig {
            store: Some("state/f.redb".into()),
            ..RiskConfig::default()
        };
        assert_eq!(
            store_path(&risk, Some(Path::new("/etc/ct/prod.toml"))),
            PathBuf::from("/etc/ct/state/f.redb")
        );
        let abs = RiskConfig {
            store: Some("/var/f.redb".into()),
            ..RiskConfig::default()
        };
        assert_eq!(
            store_path(&abs, Some(Path::new("/etc/ct/prod.toml"))),
            PathBuf::from("/var/f.redb")
        );
        assert!(store_path(&RiskConfig::default(), None).ends_with("fixings.redb"));
    }

    /// margin.md's config example parses into the engine's structs; bad fields name their path.
    #[test]
    fn margin_config_sections_parse_and_report_bad_fields_with_paths() {
        let text = r#"
[accounts.fund-a]
requirement = "9000000"
[accounts.fund-a.terms]
minimum_transfer_amount = "250000"
rounding = "10000"
call_target = "1.10"
return_above = "1.50"
return_to = "1.30"
topup_assets = ["USDC", "BTC"]
[assets.steps]
BTC = "0.00000001"
[stress.scenarios.my_crash]
btc = "-0.30"
eth = "-0.35"
alt = "-0.45"
SOL = "-0.50"
[risk]
alpha = "0.975"
horizon_days = 2
horizon_days_alt = 5
lookback_days = 250
min_scenarios = 60
fixings_csv = "history.csv"
participation = "0.10"
store = "state/fixings.redb"
[risk.adv]
SOL = "150000"
"#;
        let cfg = crate::config::parse(text).unwrap();
        assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
        let terms = cfg.accounts["fund-a"].terms.clone().unwrap();
        assert_eq!(terms.call_target.to_string(), "1.10");
        assert_eq!(terms.independent_amount, rust_decimal::Decimal::ZERO);
        let lib = cfg.stress.library();
        assert_eq!(lib.len(), 1);
        assert_eq!(lib[0].shock("SOL", "alt").to_string(), "-0.50");
        assert_eq!(lib[0].shock("AVAX", "alt").to_string(), "-0.45");
        assert_eq!(cfg.risk.adv["SOL"].to_string(), "150000");
        assert_eq!(
            cfg.risk.csv_path(Some(Path::new("/etc/ct"))),
            Some(PathBuf::from("/etc/ct/history.csv"))
        );
        assert_eq!(cfg.assets.steps["BTC"].to_string(), "0.00000001");

        let bad = r#"
[accounts.fund-a.terms]
rounding = "0"
return_above = "0.9"
[assets.steps]
ETH = "-1"
[stress.scenarios.x]
cash = "-0.1"
[risk]
alpha = "1"
"#;
        let errors: Vec<String> = crate::config::parse(bad)
            .unwrap()
            .validate()
            .iter()
            .map(ToString::to_string)
            .collect();
        for path in [
            "accounts.fund-a.terms.rounding",
            "accounts.fund-a.terms.return_above",
            "assets.steps.ETH",
            "stress.scenarios.x.cash",
            "risk.alpha",
        ] {
            assert!(
                errors.iter().any(|e| e.starts_with(path)),
                "{path} missing in {errors:?}"
            );
        }
        let unknown = crate::config::parse("[risk]\nhorizon = 2\n").unwrap_err();
        assert!(unknown[0].to_string().contains("risk"), "{unknown:?}");
    }
}
