//! The specs' worked examples through the running system (replay): collateral.md, margin.md, compliance.md's encumbrance, venue margin.

use super::*;

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
