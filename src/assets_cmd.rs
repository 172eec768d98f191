//! `assets [QUERY]`: lists and searches the asset registry (the shipped data file, with the
//! config's overrides when `--config` is given). A query matches a canonical code, a name, or
//! any venue's code (case-insensitive), so an operator can ask "what is `USDC_POLYGON`?" or
//! "how does Kraken spell BTC?". Ambiguous codes that match are listed with their reason.

use normalizer::assets::{AssetEntry, AssetMaster};
use serde_json::json;
use std::fmt::Write as _;

/// The rows of `assets` for `query` (all assets when `None`), in rank order then code.
pub fn matching<'a>(assets: &'a AssetMaster, query: Option<&str>) -> Vec<&'a AssetEntry> {
    let q = query.map(str::to_lowercase);
    let mut rows: Vec<&AssetEntry> = assets
        .assets()
        .filter(|a| match &q {
            None => true,
            Some(q) => {
                a.code.to_lowercase().contains(q)
                    || a.name.to_lowercase().contains(q)
                    || assets
                        .codes_of(&a.code)
                        .iter()
                        .any(|(_, code, _)| code.to_lowercase() == *q)
            }
        })
        .collect();
    rows.sort_by_key(|a| (a.rank.unwrap_or(u32::MAX), a.code.clone()));
    rows
}

/// The command's text: a table, then the matching ambiguous codes.
pub fn render(assets: &AssetMaster, query: Option<&str>, as_json: bool) -> String {
    let rows = matching(assets, query);
    let q = query.map(str::to_lowercase);
    let ambiguous: Vec<_> = assets
        .ambiguous_codes()
        .into_iter()
        .filter(|(_, code, _)| q.as_ref().is_none_or(|q| code.to_lowercase().contains(q)))
        .collect();
    if as_json {
        let list: Vec<_> = rows
            .iter()
            .map(|a| {
                json!({
                    "code": a.code,
                    "name": a.name,
                    "class": a.class,
                    "rank": a.rank,
                    "codes": assets.codes_of(&a.code).into_iter().map(|(venue, code, network)| {
                        json!({"venue": venue, "code": code, "network": network})
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let amb: Vec<_> = ambiguous
            .iter()
            .map(|(venue, code, reason)| json!({"venue": venue, "code": code, "reason": reason}))
            .collect();
        return json!({"version": assets.version(), "assets": list, "ambiguous": amb}).to_string()
            + "\n";
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "asset registry {} ({} of {} assets)",
        assets.version(),
        rows.len(),
        assets.assets().count()
    );
    let _ = writeln!(
        out,
        "{:<10} {:<10} {:>5}  {:<28} VENUE CODES",
        "CODE", "CLASS", "RANK", "NAME"
    );
    for a in &rows {
        let codes: Vec<String> = assets
            .codes_of(&a.code)
            .into_iter()
            .map(|(venue, code, network)| match network {
                Some(n) => format!("{venue}:{code}@{n}"),
                None => format!("{venue}:{code}"),
            })
            .collect();
        let name: String = a.name.chars().take(28).collect();
        let _ = writeln!(
            out,
            "{:<10} {:<10} {:>5}  {:<28} {}",
            a.code,
            a.class,
            a.rank.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
            name,
            codes.join(" ")
        );
    }
    if !ambiguous.is_empty() {
        let _ = writeln!(out, "ambiguous codes (refused unless a venue maps them):");
        for (venue, code, reason) in ambiguous {
            let _ = writeln!(out, "  {venue}:{code}  {reason}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_venue_code_finds_its_asset_and_network() {
        let m = AssetMaster::default();
        let text = render(&m, Some("USDC_POLYGON"), false);
        assert!(text.contains("\nUSDC "), "{text}");
        assert!(text.contains("fireblocks:USDC_POLYGON@POLYGON"), "{text}");
        let rows = matching(&m, Some("xxbt"));
        assert_eq!(
            rows.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(),
            ["BTC"]
        );
    }

    #[test]
    fn everything_is_listed_without_a_query_and_json_parses() {
        let m = AssetMaster::default();
        assert!(matching(&m, None).len() >= 300);
        let v: serde_json::Value = serde_json::from_str(&render(&m, Some("ust"), true)).unwrap();
        assert!(v["ambiguous"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == "UST"));
        assert!(v["assets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == "USDT"));
    }
}
