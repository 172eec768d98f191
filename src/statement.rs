//! `statement`: one statement per account for a day, from the audit log alone
//! (compliance.md section 2), as `statement.v1` JSON, CSV (one row per asset and source) and a
//! printable HTML page, into `<out>/<date>/<account>.{json,csv,html}`.
//!
//! Why from the log alone: a statement must show what was published, provably (its
//! `checkpoint_root` is the root of the checkpoint that covers the report it is made of), and
//! come out the same bytes whenever it is regenerated. The log is verified first; a broken log
//! makes no statement.
//!
//! Choices where the spec is silent:
//! - The report of the statement is the account's last `collateral_report.v1` in the log with
//!   `calc_time` before the next midnight (a report computed the day before still in force
//!   counts); an account with none gets no statement.
//! - `margin_calls` are read from the reports' `status` (the log holds no `margin_call.v1` yet):
//!   a call opens at the first report in `MARGIN_CALL` and is cured at the first later report in
//!   `OK` (conservative: a `DEGRADED` or `NO_REQUIREMENT` report cures nothing); listed are the
//!   calls open at some time of the day, with the deficit at opening and the largest deficit
//!   before the next midnight.
//! - `checkpoint_root` is null when the report is after the log's last checkpoint.
//! - Numbers are copied from the records as published (strings), never recomputed.

use normalizer::audit::chain::{self, Checkpoint};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A margin call of the day.
#[derive(Clone, Debug, Serialize)]
pub struct MarginCall {
    pub opened: String,
    pub requirement: Value,
    pub deficit_at_open: Value,
    pub max_deficit: Value,
    /// Null while the call was still open at the next midnight.
    pub cured: Option<String>,
}

/// `statement.v1`.
#[derive(Debug, Serialize)]
pub struct Statement {
    pub schema: &'static str,
    pub account: String,
    pub date: String,
    pub calc_time: Value,
    pub assets: Value,
    pub market_value_total: Value,
    pub collateral_value_total: Value,
    pub requirement: Value,
    pub coverage: Value,
    pub status: Value,
    pub flags: Value,
    pub margin_calls: Vec<MarginCall>,
    pub checkpoint_root: Option<String>,
    pub method_version: Value,
    /// The report's `n` in the audit log.
    pub report_n: u64,
}

/// The day `date` (`YYYY-MM-DD`): its start and the next midnight, as record times sort.
fn day_bounds(date: &str) -> anyhow::Result<(String, String)> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("--date {date}: not a YYYY-MM-DD date"))?;
    let next = d
        .succ_opt()
        .ok_or_else(|| anyhow::anyhow!("--date {date}: out of range"))?;
    Ok((
        format!("{}T00:00:00.000000Z", d.format("%Y-%m-%d")),
        format!("{}T00:00:00.000000Z", next.format("%Y-%m-%d")),
    ))
}

/// The statements of `date` from the log in `dir` (all accounts, or `account`).
pub fn build(dir: &Path, date: &str, account: Option<&str>) -> anyhow::Result<Vec<Statement>> {
    let (start, next) = day_bounds(date)?;
    // A line being written by a running tracker is not in the chain yet: left out.
    let verified_n = match normalizer::audit::verify::verify_running(dir, None)? {
        Ok(s) if s.files > 0 => s.records,
        Ok(_) => anyhow::bail!("{}: no audit log", dir.display()),
        Err(b) => anyhow::bail!("the audit log is broken, no statement: {b}"),
    };
    // Per account, of its reports before the next midnight: the history (calc_time, status,
    // requirement, deficit) in chain order, and the last one whole.
    type Reports = (Vec<(u64, Value)>, Option<(u64, Value)>);
    let mut reports: BTreeMap<String, Reports> = BTreeMap::new();
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    for file in normalizer::audit::day_files(dir)? {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&file)?);
        let mut buf = Vec::with_capacity(4096);
        loop {
            buf.clear();
            // Whole lines only; a line being appended meanwhile is not verified yet.
            if reader.read_until(b'\n', &mut buf)? == 0 || buf.pop() != Some(b'\n') {
                break;
            }
            let line = &buf[..];
            if let Some(cp) = Checkpoint::parse(line) {
                if cp.to_n <= verified_n {
                    checkpoints.push(cp);
                }
                continue;
            }
            let Some(rec) = chain::parse_record_line(line) else {
                // Appended after the verification (a file can grow between the two reads).
                anyhow::bail!("{}: changed while read, try again", file.display());
            };
            // Only what was verified; a cheap test before parsing (most records are ticks).
            if rec.n > verified_n
                || !rec
                    .record
                    .starts_with(br#"{"schema":"collateral_report.v1""#)
            {
                continue;
            }
            let v: Value = serde_json::from_slice(rec.record)?;
            let acc = v["account"].as_str().unwrap_or_default().to_owned();
            if account.is_some_and(|a| a != acc) {
                continue;
            }
            if v["calc_time"].as_str().is_some_and(|t| t < next.as_str()) {
                // The history keeps what margin calls read; only the last report is kept whole.
                let brief = serde_json::json!({
                    "calc_time": v["calc_time"],
                    "status": v["status"],
                    "requirement": v["requirement"],
                    "deficit": v["deficit"],
                });
                let e = reports.entry(acc).or_default();
                e.0.push((rec.n, brief));
                e.1 = Some((rec.n, v));
            }
        }
    }
    let mut out = Vec::new();
    for (acc, (list, last)) in reports {
        let (n, last) = last.expect("a report per entry");
        let root = checkpoints
            .iter()
            .find(|c| c.from_n <= n && n <= c.to_n)
            .map(|c| c.root.clone());
        out.push(Statement {
            schema: "statement.v1",
            account: acc,
            date: date.to_owned(),
            calc_time: last["calc_time"].clone(),
            assets: last["assets"].clone(),
            market_value_total: last["market_value_total"].clone(),
            collateral_value_total: last["collateral_value_total"].clone(),
            requirement: last["requirement"].clone(),
            coverage: last["coverage"].clone(),
            status: last["status"].clone(),
            flags: last["flags"].clone(),
            margin_calls: margin_calls(&list, &start),
            checkpoint_root: root,
            method_version: last["method_version"].clone(),
            report_n: n,
        });
    }
    Ok(out)
}

/// Decimal strings compare as numbers (exactly: `rust_decimal`).
fn larger(a: &Value, b: &Value) -> bool {
    let d = |v: &Value| {
        v.as_str()
            .and_then(|s| s.parse::<rust_decimal::Decimal>().ok())
    };
    match (d(a), d(b)) {
        (Some(x), Some(y)) => x > y,
        (Some(_), None) => true,
        _ => false,
    }
}

fn margin_calls(reports: &[(u64, Value)], start: &str) -> Vec<MarginCall> {
    let mut calls: Vec<MarginCall> = Vec::new();
    let mut open: Option<MarginCall> = None;
    for (_, r) in reports {
        let t = r["calc_time"].as_str().unwrap_or_default().to_owned();
        match (r["status"].as_str(), open.as_mut()) {
            (Some("MARGIN_CALL"), None) => {
                open = Some(MarginCall {
                    opened: t,
                    requirement: r["requirement"].clone(),
                    deficit_at_open: r["deficit"].clone(),
                    max_deficit: r["deficit"].clone(),
                    cured: None,
                })
            }
            (Some("MARGIN_CALL"), Some(c)) if larger(&r["deficit"], &c.max_deficit) => {
                c.max_deficit = r["deficit"].clone();
            }
            (Some("OK"), Some(_)) => {
                let mut c = open.take().expect("matched");
                c.cured = Some(t.clone());
                if t.as_str() >= start {
                    calls.push(c);
                }
            }
            _ => {}
        }
    }
    calls.extend(open);
    calls
}

/// CSV cell: quoted when it holds a comma, a quote or a line break.
fn cell(v: &Value) -> String {
    let s = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

const CSV_HEADER: &str = "account,date,calc_time,asset,source,quantity,as_of,stale,price,price_status,asset_quantity,asset_market_value,asset_collateral_value,asset_flags\n";

/// One row per asset and source.
pub fn csv(s: &Statement) -> String {
    let mut out = CSV_HEADER.to_owned();
    for a in s.assets.as_array().into_iter().flatten() {
        for src in a["by_source"].as_array().into_iter().flatten() {
            let row = [
                Value::String(s.account.clone()),
                Value::String(s.date.clone()),
                s.calc_time.clone(),
                a["asset"].clone(),
                src["source"].clone(),
                src["quantity"].clone(),
                src["as_of"].clone(),
                src["stale"].clone(),
                a["price"].clone(),
                a["price_status"].clone(),
                a["quantity"].clone(),
                a["market_value"].clone(),
                a["collateral_value"].clone(),
                a["flags"].clone(),
            ];
            out.push_str(&row.iter().map(cell).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
    }
    out
}

fn esc(v: &Value) -> String {
    let s = match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".to_owned(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A printable page (no script, no external resource).
pub fn html(s: &Statement) -> String {
    let txt = |x: &str| esc(&Value::String(x.to_owned()));
    let mut h = String::new();
    h.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>Collateral statement {} {}</title>\n",
        txt(&s.account),
        txt(&s.date)
    ));
    h.push_str("<style>body{font:12px sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:2px 6px;text-align:right}th:first-child,td:first-child{text-align:left}@media print{body{margin:0}}</style>\n</head><body>\n");
    h.push_str(&format!(
        "<h1>Collateral statement</h1>\n<p>Account <b>{}</b>, day {} (UTC); report of {} (audit log n {}).</p>\n",
        txt(&s.account),
        txt(&s.date),
        esc(&s.calc_time),
        s.report_n
    ));
    h.push_str("<table>\n");
    for (k, v) in [
        ("Market value (pre-haircut)", &s.market_value_total),
        ("Collateral value (post-haircut)", &s.collateral_value_total),
        ("Requirement", &s.requirement),
        ("Coverage", &s.coverage),
        ("Status", &s.status),
        ("Flags", &s.flags),
        ("Method", &s.method_version),
    ] {
        h.push_str(&format!("<tr><th>{k}</th><td>{}</td></tr>\n", esc(v)));
    }
    let root = s
        .checkpoint_root
        .clone()
        .map(Value::String)
        .unwrap_or(Value::Null);
    h.push_str(&format!(
        "<tr><th>Checkpoint root</th><td>{}</td></tr>\n</table>\n",
        esc(&root)
    ));
    h.push_str("<h2>Assets</h2>\n<table>\n<tr><th>Asset</th><th>Source</th><th>Quantity</th><th>As of</th><th>Price</th><th>Market value</th><th>Collateral value</th><th>Flags</th></tr>\n");
    for a in s.assets.as_array().into_iter().flatten() {
        for src in a["by_source"].as_array().into_iter().flatten() {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&a["asset"]),
                esc(&src["source"]),
                esc(&src["quantity"]),
                esc(&src["as_of"]),
                esc(&a["price"]),
                esc(&a["market_value"]),
                esc(&a["collateral_value"]),
                esc(&a["flags"])
            ));
        }
    }
    h.push_str("</table>\n<h2>Margin calls</h2>\n");
    if s.margin_calls.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        h.push_str("<table>\n<tr><th>Opened</th><th>Requirement</th><th>Deficit at opening</th><th>Largest deficit</th><th>Cured</th></tr>\n");
        for c in &s.margin_calls {
            let cured = c.cured.clone().map(Value::String).unwrap_or(Value::Null);
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                txt(&c.opened),
                esc(&c.requirement),
                esc(&c.deficit_at_open),
                esc(&c.max_deficit),
                esc(&cured)
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// Writes every statement into `<out>/<date>/<account>.{json,csv,html}`; the files written.
pub fn write(out: &Path, statements: &[Statement]) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for s in statements {
        // The account names a file: nothing that could leave `out`.
        let safe = !s.account.is_empty()
            && !s.account.starts_with('.')
            && s.account
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !safe {
            anyhow::bail!("account {:?}: not usable as a file name", s.account);
        }
        let dir = out.join(&s.date);
        std::fs::create_dir_all(&dir)?;
        let mut json = serde_json::to_vec_pretty(s)?;
        json.push(b'\n');
        for (ext, bytes) in [
            ("json", json),
            ("csv", csv(s).into_bytes()),
            ("html", html(s).into_bytes()),
        ] {
            let path = dir.join(format!("{}.{ext}", s.account));
            std::fs::write(&path, bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Statements at 00:00 UTC in a running tracker (with `[audit]` and `[statements] dir`): when
/// the first report of a new UTC day is published, every report of the day that ended has been
/// logged (a record is logged before it is published, cuts come in order) with the hourly
/// checkpoint that covers it (written before the first batch of the new hour), so the day's
/// statements are made then, from the log, off the loop.
pub struct Midnight {
    pub audit_dir: PathBuf,
    pub out: PathBuf,
    /// The UTC day of the last report seen.
    day: Option<chrono::NaiveDate>,
}

impl Midnight {
    pub fn new(audit_dir: PathBuf, out: PathBuf) -> Self {
        Midnight {
            audit_dir,
            out,
            day: None,
        }
    }

    /// A report was published: the day that ended (`YYYY-MM-DD`) when it is the first of a new
    /// day. The day of the start gets its statement at the next midnight, none before it.
    pub fn on_report(&mut self, calc_time: schemas::Ts) -> Option<String> {
        let d = calc_time.to_datetime().date_naive();
        match self.day {
            Some(prev) if d > prev => {
                self.day = Some(d);
                Some(prev.format("%Y-%m-%d").to_string())
            }
            Some(_) => None,
            None => {
                self.day = Some(d);
                None
            }
        }
    }

    /// Makes and writes the statements of `date` on a blocking thread; the outcome is logged.
    pub fn spawn(&self, date: String) {
        let (dir, out) = (self.audit_dir.clone(), self.out.clone());
        tokio::task::spawn_blocking(move || {
            match build(&dir, &date, None).and_then(|st| write(&out, &st)) {
                Ok(files) => tracing::info!(date, files = files.len(), "statements written"),
                Err(e) => tracing::error!(date, error = %e, "statements not written"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(t: &str, status: &str, deficit: Option<&str>) -> (u64, Value) {
        (
            0,
            json!({"calc_time": t, "status": status, "requirement": "100.00", "deficit": deficit}),
        )
    }

    #[test]
    fn margin_calls_open_on_a_call_and_cure_on_ok_only() {
        let day = "2026-12-04T00:00:00.000000Z";
        let reports = [
            // A call opened and cured the day before: not the day's.
            report("2026-12-03T10:00:00.000000Z", "MARGIN_CALL", Some("5.00")),
            report("2026-12-03T11:00:00.000000Z", "OK", None),
            // Opened the day before, cured during the day: listed.
            report("2026-12-03T23:00:00.000000Z", "MARGIN_CALL", Some("7.00")),
            report("2026-12-04T01:00:00.000000Z", "MARGIN_CALL", Some("12.50")),
            report("2026-12-04T02:00:00.000000Z", "DEGRADED", None),
            report("2026-12-04T03:00:00.000000Z", "OK", None),
            // Opened during the day and still open at its end.
            report("2026-12-04T20:00:00.000000Z", "MARGIN_CALL", Some("9.00")),
            report("2026-12-04T21:00:00.000000Z", "MARGIN_CALL", Some("8.00")),
        ];
        let calls = margin_calls(&reports, day);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].opened, "2026-12-03T23:00:00.000000Z");
        assert_eq!(calls[0].deficit_at_open, json!("7.00"));
        assert_eq!(calls[0].max_deficit, json!("12.50"));
        assert_eq!(
            calls[0].cured.as_deref(),
            Some("2026-12-04T03:00:00.000000Z")
        );
        assert_eq!(calls[1].opened, "2026-12-04T20:00:00.000000Z");
        assert_eq!(calls[1].max_deficit, json!("9.00"));
        assert_eq!(calls[1].cured, None);
    }

    #[test]
    fn midnight_names_the_day_that_ended_once() {
        let mut m = Midnight::new(PathBuf::new(), PathBuf::new());
        let t = |s: &str| schemas::Ts::parse_rfc3339(s).unwrap();
        assert_eq!(m.on_report(t("2026-12-04T23:59:58Z")), None);
        assert_eq!(m.on_report(t("2026-12-04T23:59:59Z")), None);
        assert_eq!(
            m.on_report(t("2026-12-05T00:00:00Z")).as_deref(),
            Some("2026-12-04")
        );
        assert_eq!(m.on_report(t("2026-12-05T00:00:01Z")), None);
        assert_eq!(
            m.on_report(t("2026-12-07T00:00:00Z")).as_deref(),
            Some("2026-12-05")
        );
    }

    #[test]
    fn csv_cells_are_quoted_when_needed_and_dates_checked() {
        assert_eq!(cell(&json!("a,b")), "\"a,b\"");
        assert_eq!(cell(&json!("say \"x\"")), "\"say \"\"x\"\"\"");
        assert_eq!(cell(&json!(["CAP", "STALE"])), "CAP;STALE");
        assert_eq!(cell(&Value::Null), "");
        assert_eq!(
            day_bounds("2026-12-31").unwrap(),
            (
                "2026-12-31T00:00:00.000000Z".to_owned(),
                "2027-01-01T00:00:00.000000Z".to_owned()
            )
        );
        assert!(day_bounds("2026-13-01").is_err());
        assert_eq!(esc(&json!("<b>&")), "&lt;b&gt;&amp;");
    }
}
