//! The live console summary of `run`: one line per reference pair with its price, status and
//! sources used / configured, plus which sources are excluded and why.

use connectors::transport::ConnectorStats;
use schemas::{FeedState, Record, ReferencePrice};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

fn display_price(p: rust_decimal::Decimal) -> String {
    let dp = if p >= rust_decimal::Decimal::from(1000) {
        2
    } else if p >= rust_decimal::Decimal::ONE {
        5
    } else {
        8
    };
    p.round_dp(dp).to_string()
}

pub struct Summary {
    pairs: Vec<String>,
    latest: BTreeMap<String, ReferencePrice>,
    reports: BTreeMap<String, schemas::CollateralReport>,
    feeds: BTreeMap<String, FeedState>,
    /// The latest `venue_margin.v1` per key, and the open positions per key.
    venue_margins: BTreeMap<String, schemas::VenueMarginRecord>,
    positions: BTreeMap<String, schemas::PositionRecord>,
    stats: Vec<(String, Arc<ConnectorStats>)>,
    to_stderr: bool,
}

impl Summary {
    pub fn new(
        pairs: Vec<String>,
        stats: Vec<(String, Arc<ConnectorStats>)>,
        to_stderr: bool,
    ) -> Self {
        Summary {
            pairs,
            latest: BTreeMap::new(),
            reports: BTreeMap::new(),
            feeds: BTreeMap::new(),
            venue_margins: BTreeMap::new(),
            positions: BTreeMap::new(),
            stats,
            to_stderr,
        }
    }

    pub fn observe(&mut self, r: &Record) {
        match r {
            Record::ReferencePrice(rp) => {
                self.latest
                    .insert(format!("{}-{}", rp.base, rp.quote), rp.clone());
            }
            Record::CollateralReport(c) => {
                self.reports.insert(c.account.clone(), c.clone());
            }
            Record::FeedStatus(s) => {
                self.feeds
                    .insert(format!("{}/{}", s.connector, s.stream), s.state);
            }
            Record::VenueMargin(m) => {
                self.venue_margins.insert(m.key(), m.clone());
            }
            Record::Position(p) if p.size.is_zero() => {
                self.positions.remove(&p.key());
            }
            Record::Position(p) => {
                self.positions.insert(p.key(), p.clone());
            }
            _ => {}
        }
    }

    /// The latest report of every account.
    pub fn reports(&self) -> impl Iterator<Item = &schemas::CollateralReport> {
        self.reports.values()
    }

    /// The latest margin of every venue account.
    pub fn venue_margins(&self) -> impl Iterator<Item = &schemas::VenueMarginRecord> {
        self.venue_margins.values()
    }

    /// Every stream and whether it is LIVE.
    pub fn feed_states(&self) -> impl Iterator<Item = (&str, bool)> {
        self.feeds
            .iter()
            .map(|(k, s)| (k.as_str(), *s == FeedState::Live))
    }

    pub fn render(&self) -> String {
        let now = schemas::Ts::now().to_datetime().format("%H:%M:%S UTC");
        let frames: u64 = self
            .stats
            .iter()
            .map(|(_, s)| ConnectorStats::get(&s.frames))
            .sum();
        let errors: u64 = self
            .stats
            .iter()
            .map(|(_, s)| ConnectorStats::get(&s.parse_errors))
            .sum();
        let reconnects: u64 = self
            .stats
            .iter()
            .map(|(_, s)| ConnectorStats::get(&s.reconnects))
            .sum();
        let live = self
            .feeds
            .values()
            .filter(|s| **s == FeedState::Live)
            .count();
        let mut out = format!(
            "\n{now}  frames {frames}  parse errors {errors}  reconnects {reconnects}  streams live {live}/{}\n{:<10} {:>16}  {:<11} {:>7}  {}\n",
            self.feeds.len(),
            "PAIR",
            "PRICE",
            "STATUS",
            "SOURCES",
            "NOTES"
        );
        for pair in &self.pairs {
            let Some(rp) = self.latest.get(pair) else {
                out.push_str(&format!("{pair:<10} {:>16}  {:<11}\n", "-", "waiting"));
                continue;
            };
            // Display only: records keep the exact figure.
            let price = rp.price.map(display_price).unwrap_or_else(|| "-".into());
            let mut notes: Vec<String> = rp.reasons.clone();
            for c in rp.constituents.iter().filter(|c| !c.included) {
                if let Some(r) = c.exclusion_reason {
                    notes.push(format!("{} {}: {}", c.connector, c.instrument, r.as_str()));
                }
            }
            out.push_str(&format!(
                "{pair:<10} {price:>16}  {:<11} {:>7}  {}\n",
                rp.status.as_str(),
                format!("{}/{}", rp.n_valid, rp.n_configured),
                notes.join("; ")
            ));
        }
        if !self.reports.is_empty() {
            out.push_str(&format!(
                "{:<10} {:>16}  {:<11} {:>16} {:>9}  {}\n",
                "ACCOUNT", "COLLATERAL USD", "STATUS", "REQUIREMENT", "COVERAGE", "DEFICIT / FLAGS"
            ));
            let show =
                |d: Option<rust_decimal::Decimal>| d.map_or("-".to_owned(), |d| d.to_string());
            for (name, r) in &self.reports {
                let status = match r.status {
                    schemas::CollateralStatus::Ok => "OK",
                    schemas::CollateralStatus::MarginCall => "MARGIN_CALL",
                    schemas::CollateralStatus::NoRequirement => "NO_REQ",
                    schemas::CollateralStatus::Degraded => "DEGRADED",
                };
                let mut notes = r
                    .deficit
                    .map(|d| format!("deficit {d}"))
                    .into_iter()
                    .collect::<Vec<_>>();
                notes.extend(r.flags.iter().cloned());
                out.push_str(&format!(
                    "{name:<10} {:>16}  {status:<11} {:>16} {:>9}  {}\n",
                    r.collateral_value_total.to_string(),
                    show(r.requirement),
                    show(r.coverage),
                    notes.join(", ")
                ));
                // Nothing held silently vanishes: codes the registry cannot map, and sources
                // still awaited, are named under their account.
                for u in &r.unmapped {
                    out.push_str(&format!(
                        "{:<10}   unmapped {} {} {} (counted 0)\n",
                        "", u.source, u.venue_asset, u.quantity
                    ));
                }
                for m in &r.missing_sources {
                    out.push_str(&format!(
                        "{:<10}   {} {}\n",
                        "",
                        m.reason.to_lowercase().replace('_', " "),
                        m.source
                    ));
                }
            }
        }
        // One line per venue account: how close it is to liquidation, as the venue says.
        if !self.venue_margins.is_empty() {
            out.push_str(&format!(
                "{:<24} {:>16} {:>14} {:>9}  {:<11} {}\n",
                "VENUE ACCOUNT", "EQUITY", "MAINT MARGIN", "COVERAGE", "STATUS", "POSITIONS"
            ));
            for (key, m) in &self.venue_margins {
                let show = |d: Option<rust_decimal::Decimal>| {
                    d.map_or("-".to_owned(), |d| {
                        format!("{} {}", d.round_dp(2), m.currency)
                    })
                };
                let prefix = format!("{}/{}/", m.account, m.source);
                let positions: Vec<String> = self
                    .positions
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    // A per-currency margin (Deribit segregated) covers the positions settled
                    // in its currency.
                    .filter(|(_, p)| {
                        !m.per_currency || p.pnl_currency.as_deref() == Some(m.currency.as_str())
                    })
                    .map(|(_, p)| {
                        let side = if p.side == schemas::PositionSide::Short {
                            "-"
                        } else {
                            "+"
                        };
                        format!("{} {side}{}", p.instrument, p.size.normalize())
                    })
                    .collect();
                out.push_str(&format!(
                    "{key:<24} {:>16} {:>14} {:>9}  {:<11} {}\n",
                    show(m.equity),
                    show(m.maintenance_margin),
                    m.maintenance_coverage
                        .map_or("-".to_owned(), |c| c.to_string()),
                    m.status.as_str(),
                    positions.join(", ")
                ));
            }
        }
        // One compact line of feed health per connector: streams live / streams known.
        let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (key, state) in &self.feeds {
            let connector = key.split_once('/').map_or(key.as_str(), |(c, _)| c);
            let e = per.entry(connector).or_default();
            e.1 += 1;
            if *state == FeedState::Live {
                e.0 += 1;
            }
        }
        let feeds: Vec<String> = per
            .iter()
            .map(|(c, (live, all))| format!("{c} {live}/{all}"))
            .collect();
        out.push_str(&format!("feeds live: {}\n", feeds.join("  ")));
        out
    }

    pub fn print(&self) {
        let text = self.render();
        if self.to_stderr {
            let _ = std::io::stderr().write_all(text.as_bytes());
        } else {
            let mut o = std::io::stdout();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }
}
