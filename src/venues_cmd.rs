//! `venues [--json]`: every venue kind of the registry (`connectors::registry::VENUES`) with
//! what it is: its roles (prices, balances, balance stream), source kind, default endpoints,
//! cadence, rate limit and budget scope, sample symbols, a symbol template for generators and
//! its asset aliases.
//!
//! Why a command: the scripts that write configs and captures (`scripts/gen-*.py`,
//! `scripts/check-assets.py`) used to keep their own venue tables, which drifted from the
//! registry; they now read `venues --json`, so adding a venue is one folder plus one registry
//! line for them too. The JSON field names are stable (documented in `docs/venues.md`); add
//! fields freely, never rename one.

use connectors::registry::{self, VenueEntry};
use connectors::spec::TEMPLATE_BASE;
use connectors::transport::rest::BudgetScope;
use connectors::{PingPolicy, Sequencing, SymbolSpec};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::time::Duration;

/// Aliases shown per kind in the table.
const ALIASES_SHOWN: usize = 8;

/// Version of the JSON shape: bumped only if a field changes meaning (never for additions).
pub const JSON_VERSION: u32 = 1;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `server`, `ws_ping` or `text` (how the client keeps a connection alive) and the interval.
fn ping(p: PingPolicy) -> Value {
    let (kind, every) = match p {
        PingPolicy::ServerPings => ("server", None),
        PingPolicy::WsPing(d) => ("ws_ping", Some(ms(d))),
        PingPolicy::Text(d, _) => ("text", Some(ms(d))),
    };
    json!({"kind": kind, "every_ms": every})
}

fn sequencing(s: Sequencing) -> &'static str {
    match s {
        Sequencing::None => "none",
        Sequencing::Increasing => "increasing",
        Sequencing::Contiguous => "contiguous",
    }
}

fn scope(s: BudgetScope) -> &'static str {
    match s {
        BudgetScope::Ip => "ip",
        BudgetScope::Key => "key",
    }
}

/// The roles of an entry, in a fixed order.
pub fn roles(e: &VenueEntry) -> Vec<&'static str> {
    let mut r = Vec::new();
    if e.streaming.is_some() {
        r.push("prices");
    }
    if e.polling.is_some() || e.described.is_some() {
        r.push("balances");
    }
    if e.balance_stream.is_some() {
        r.push("balance_stream");
    }
    r
}

/// One sample symbol as the venue's own rules split it: market, and base/quote when the
/// spelling separates them (a joined symbol is split later, against the asset registry).
fn sample(e: &VenueEntry, symbol: &str) -> Value {
    let Some(v) = e.streaming else {
        return json!({"symbol": symbol});
    };
    match v.split_symbol(symbol) {
        SymbolSpec::Split {
            base,
            quote,
            market,
            expiry,
        } => json!({"symbol": symbol, "market": market, "base": base, "quote": quote,
                    "expiry": expiry}),
        SymbolSpec::Joined { market, expiry, .. } => {
            json!({"symbol": symbol, "market": market, "expiry": expiry})
        }
        SymbolSpec::Invalid(why) => json!({"symbol": symbol, "invalid": why}),
    }
}

/// The JSON object of one kind (field names documented in `docs/venues.md`).
pub fn entry_json(e: &VenueEntry) -> Value {
    let s = e.spec;
    let prices = s.prices.map(|p| {
        json!({
            "ws_url": p.ws_url,
            "cadence_ms": ms(p.cadence),
            "ping": ping(p.ping),
            "sequencing": sequencing(p.sequencing),
            "sends_deltas": p.sends_deltas,
            "symbol_style": p.symbols.describe(),
        })
    });
    let balances = s.balances.map(|r| {
        json!({
            "rest_url": (!r.rest_url.is_empty()).then_some(r.rest_url),
            "rate_limit": {"capacity": r.rate_limit.capacity, "per_ms": ms(r.rate_limit.per)},
            "budget_scope": scope(r.scope),
        })
    });
    let balance_stream = e
        .balance_stream
        .map(|b| json!({"ws_url": b.default_ws_url(), "ping": ping(b.ping_policy())}));
    json!({
        "kind": s.kind,
        "roles": roles(e),
        "source_kind": s.source_kind,
        "prices": prices,
        "balances": balances,
        "balance_stream": balance_stream,
        "sample_symbols": s.samples.iter().map(|sym| sample(e, sym)).collect::<Vec<_>>(),
        "symbol_template": s.symbol_template(),
        "aliases": s.aliases.iter().map(|(code, canonical)| {
            json!({"venue_code": code, "canonical": canonical})
        }).collect::<Vec<_>>(),
        "described_by": s.described_by,
    })
}

/// The command's output: a table, or one JSON object with `--json`.
pub fn render(as_json: bool) -> String {
    if as_json {
        let list: Vec<Value> = registry::VENUES.iter().map(entry_json).collect();
        return json!({
            "version": JSON_VERSION,
            "template_base": TEMPLATE_BASE,
            "venues": list,
        })
        .to_string()
            + "\n";
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} venue kinds (collateral-tracker venues --json for every field)",
        registry::VENUES.len()
    );
    let _ = writeln!(
        out,
        "{:<24} {:<30} {:<9} {:>7} {:<14} {:<20} ENDPOINTS",
        "KIND", "ROLES", "SOURCE", "CADENCE", "RATE LIMIT", "SYMBOLS"
    );
    for e in registry::VENUES {
        let s = e.spec;
        let source = match s.source_kind {
            schemas::SourceKind::Exchange => "exchange",
            schemas::SourceKind::Custodian => "custodian",
        };
        let cadence = s
            .prices
            .map(|p| format!("{}s", p.cadence.as_secs_f64()))
            .unwrap_or_else(|| "-".into());
        let rate = s
            .balances
            .map(|r| {
                format!(
                    "{}/{}s {}",
                    r.rate_limit.capacity,
                    r.rate_limit.per.as_secs_f64(),
                    scope(r.scope)
                )
            })
            .unwrap_or_else(|| "-".into());
        let symbols = s.symbol_template().unwrap_or_else(|| "-".into());
        let mut urls: Vec<String> = Vec::new();
        if let Some(p) = s.prices {
            urls.push(p.ws_url.to_owned());
        }
        if let Some(r) = s.balances {
            urls.push(if r.rest_url.is_empty() {
                "(rest_url required)".to_owned()
            } else {
                r.rest_url.to_owned()
            });
        }
        if let Some(b) = e.balance_stream {
            urls.push(b.default_ws_url().to_owned());
        }
        let _ = writeln!(
            out,
            "{:<24} {:<30} {:<9} {:>7} {:<14} {:<20} {}",
            s.kind,
            roles(e).join(","),
            source,
            cadence,
            rate,
            symbols,
            urls.join(" ")
        );
        if !s.aliases.is_empty() {
            // A readable line: the first few, and how many more (`--json` has them all).
            let mut aliases: Vec<String> = s
                .aliases
                .iter()
                .take(ALIASES_SHOWN)
                .map(|(c, a)| format!("{c}={a}"))
                .collect();
            if s.aliases.len() > ALIASES_SHOWN {
                aliases.push(format!("(+{} more)", s.aliases.len() - ALIASES_SHOWN));
            }
            let _ = writeln!(out, "{:<24} aliases: {}", "", aliases.join(" "));
        }
        if let Some(table) = s.described_by {
            let _ = writeln!(out, "{:<24} described by config: [connectors.{table}]", "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_every_registry_kind_with_its_roles() {
        let v: Value = serde_json::from_str(&render(true)).unwrap();
        assert_eq!(v["version"], 1);
        let venues = v["venues"].as_array().unwrap();
        let kinds: Vec<&str> = venues.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, registry::kinds());
        for e in venues {
            let kind = e["kind"].as_str().unwrap();
            let roles: Vec<&str> = e["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            assert_eq!(
                roles.contains(&"prices"),
                registry::streaming(kind).is_some(),
                "{kind}"
            );
            assert_eq!(e["prices"].is_null(), !roles.contains(&"prices"), "{kind}");
            assert_eq!(
                e["balances"].is_null(),
                !roles.contains(&"balances"),
                "{kind}"
            );
            assert_eq!(
                roles.contains(&"balance_stream"),
                registry::balance_stream(kind).is_some(),
                "{kind}"
            );
            if roles.contains(&"prices") {
                let template = e["symbol_template"].as_str().unwrap();
                assert!(template.contains("{BASE}"), "{kind}: {template}");
                // Every sample splits by the venue's own rules.
                for s in e["sample_symbols"].as_array().unwrap() {
                    assert!(s["invalid"].is_null(), "{kind}: {s}");
                    assert!(s["market"].is_string(), "{kind}: {s}");
                }
            }
        }
        // Spot checks of exact values.
        let by = |k: &str| venues.iter().find(|e| e["kind"] == k).unwrap().clone();
        let binance = by("binance");
        assert_eq!(
            binance["roles"],
            json!(["prices", "balances", "balance_stream"])
        );
        assert_eq!(binance["source_kind"], "exchange");
        assert_eq!(binance["prices"]["ws_url"], "wss://stream.binance.com:9443");
        assert_eq!(binance["prices"]["cadence_ms"], 2000);
        assert_eq!(
            binance["prices"]["ping"],
            json!({"kind": "server", "every_ms": null})
        );
        assert_eq!(binance["prices"]["sequencing"], "increasing");
        assert_eq!(
            binance["balances"]["rate_limit"],
            json!({"capacity": 6000, "per_ms": 60000})
        );
        assert_eq!(binance["balances"]["budget_scope"], "ip");
        assert_eq!(binance["symbol_template"], "{BASE}USDT");
        let coinbase = by("coinbase");
        assert_eq!(
            coinbase["sample_symbols"][0],
            json!({"symbol": "BTC-USD", "market": "spot", "base": "BTC", "quote": "USD",
                   "expiry": null})
        );
        assert_eq!(by("bitfinex")["symbol_template"], "t{BASE}USD");
        assert_eq!(
            by("bitfinex")["aliases"][0],
            json!({"venue_code": "UST", "canonical": "USDT"})
        );
        assert_eq!(by("deribit")["sample_symbols"][0]["market"], "perpetual");
        assert_eq!(by("bybit")["roles"], json!(["balances", "balance_stream"]));
        assert_eq!(by("bybit_spot")["roles"], json!(["prices"]));
        let generic = by("generic_rest");
        assert_eq!(generic["described_by"], "generic");
        assert_eq!(generic["balances"]["rest_url"], Value::Null);
        assert_eq!(generic["source_kind"], "custodian");
        assert_eq!(
            by("okx")["balance_stream"]["ping"],
            json!({"kind": "text", "every_ms": 20000})
        );
    }

    #[test]
    fn table_has_a_header_and_one_readable_row_per_kind() {
        let text = render(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{} venue kinds (collateral-tracker venues --json for every field)",
                registry::VENUES.len()
            )
        );
        assert!(lines[1].starts_with("KIND "), "{}", lines[1]);
        assert!(lines[1].contains("ROLES") && lines[1].contains("RATE LIMIT"));
        for kind in registry::kinds() {
            let row = lines
                .iter()
                .find(|l| l.split_whitespace().next() == Some(kind))
                .unwrap_or_else(|| panic!("no row for {kind}:\n{text}"));
            assert!(row.len() < 220, "{row}");
        }
        let binance = lines.iter().find(|l| l.starts_with("binance ")).unwrap();
        assert!(
            binance.contains("prices,balances,balance_stream")
                && binance.contains("exchange")
                && binance.contains("2s")
                && binance.contains("6000/60s ip")
                && binance.contains("{BASE}USDT")
                && binance.contains("wss://stream.binance.com:9443 https://api.binance.com"),
            "{binance}"
        );
        assert!(
            text.contains("aliases: UST=USDT UDC=USDC TSD=TUSD ATO=ATOM"),
            "{text}"
        );
        let bitgo = registry::spec("bitgo").unwrap().aliases.len();
        assert!(bitgo > ALIASES_SHOWN);
        assert!(
            text.contains(&format!("(+{} more)", bitgo - ALIASES_SHOWN)),
            "{text}"
        );
        assert!(
            text.contains("described by config: [connectors.generic]"),
            "{text}"
        );
    }
}
