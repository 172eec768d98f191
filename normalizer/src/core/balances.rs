//! Balances in the normalizer: venue codes through the asset master, the held-funds split
//! reconciled, unmapped codes held for the report and named on the source's feed, and a poll's
//! close (what a full poll no longer lists is gone).

use super::{ConnectorInfo, Normalizer};
use crate::valuation::{AccountValuer, Unmapped};
use rust_decimal::Decimal;
use schemas::{BalanceObs, BalanceSchema, BalanceSnapshot, FeedStatus, Record};

/// The stream name of a connector's balances (`feed_status.v1`).
pub const BALANCES_STREAM: &str = "balances";

/// The account a connector's balances belong to.
pub(super) fn account_of(c: &ConnectorInfo) -> String {
    c.account.clone().unwrap_or_else(|| c.id.clone())
}

pub(super) fn expect_sources(valuer: &mut AccountValuer, connectors: &[ConnectorInfo]) {
    for c in connectors.iter().filter(|c| c.reports_balances) {
        valuer.expect_source(&account_of(c), &c.id, c.source_kind);
    }
}

/// Available and locked from the venue's parts, conservatively and exactly: available is
/// never more than the venue's own available figure (nor than total minus its locked figure),
/// never below 0 nor above the total; locked = total - available, so total = available +
/// locked always holds. A venue that gives no split shows nothing free (available 0: the
/// normalizer never invents available = total). `Err` carries the reconciled split when the
/// venue's parts did not add up.
pub fn reconcile(
    total: Decimal,
    available: Option<Decimal>,
    locked: Option<Decimal>,
) -> Result<(Decimal, Decimal), (Decimal, Decimal)> {
    // The connectors' own rule; no figure at all means nothing free.
    let split = match schemas::split_held(total, available, locked) {
        (Some(a), Some(l)) => (a, l),
        _ => (Decimal::ZERO, total),
    };
    let as_given = available.is_none_or(|a| a == split.0) && locked.is_none_or(|l| l == split.1);
    if as_given {
        Ok(split)
    } else {
        Err(split)
    }
}

impl Normalizer {
    pub(super) fn apply_balance(
        &mut self,
        b: BalanceObs,
        out: &mut Vec<Record>,
    ) -> Option<BalanceSnapshot> {
        let Some(conn) = self.connectors.get(b.connector as usize) else {
            self.stats.unknown_source_dropped += 1;
            return None;
        };
        let account = account_of(conn);
        let resolved = match self.assets.resolve_code(&conn.venue, &b.venue_asset) {
            Ok(r) => r,
            Err(e) => {
                // Publishing it under a guessed code could value it as something else; it is
                // shown in the account's report instead (counting 0), never dropped.
                self.stats.unmapped_assets += 1;
                let reason = e.to_string();
                let first = self
                    .warned_unmapped
                    .insert((b.connector, b.venue_asset.clone()));
                if first {
                    tracing::warn!(connector = %conn.id, error = %e, total = %b.total,
                        "balance shown as unmapped: its asset code cannot be mapped");
                }
                self.valuer.on_unmapped(Unmapped {
                    account,
                    source: conn.id.clone(),
                    source_kind: conn.source_kind,
                    venue: conn.venue.clone(),
                    venue_asset: b.venue_asset.clone(),
                    sub_account: b.sub_account,
                    wallet: b.wallet,
                    quantity: b.total,
                    as_of: b.as_of.unwrap_or(b.received_at),
                    confirmed_at: b.received_at,
                    reason,
                });
                if first {
                    // Say so at once on the source's balances feed (its last status, annotated).
                    if let Some(last) = self.balance_status.get(&b.connector).cloned() {
                        out.push(Record::FeedStatus(
                            self.annotate_balances_status(b.connector, last),
                        ));
                    }
                }
                return None;
            }
        };
        let (available, locked) = match reconcile(b.total, b.available, b.locked) {
            Ok(split) => split,
            Err(split) => {
                self.stats.inconsistent_balances += 1;
                tracing::debug!(connector = %conn.id, asset = %resolved.asset, total = %b.total,
                    available = ?b.available, locked = ?b.locked,
                    "balance parts do not add up: reconciled conservatively");
                split
            }
        };
        self.stats.balances += 1;
        Some(BalanceSnapshot {
            schema: BalanceSchema,
            account,
            source: conn.id.clone(),
            source_kind: conn.source_kind,
            venue: conn.venue.clone(),
            sub_account: b.sub_account,
            wallet: b.wallet,
            asset: resolved.asset,
            venue_asset: b.venue_asset,
            // The venue's own chain name wins over the registry's reading of the code.
            network: b.network.or(resolved.network),
            total: b.total,
            available,
            locked,
            borrowed: b.borrowed,
            pending: b.pending,
            as_of: b.as_of.unwrap_or(b.received_at),
            received_at: b.received_at,
            unrealized_pnl: b.unrealized_pnl,
        })
    }

    /// The close of a full poll: holdings the poll no longer listed are gone. Each is
    /// published once more with zero (a compacted `balance.v1` topic must not keep the last
    /// figure forever), and the account is revalued if its status changed.
    pub(super) fn close_poll(&mut self, b: BalanceObs, out: &mut Vec<Record>) {
        let (Some(conn), Some(started)) =
            (self.connectors.get(b.connector as usize), b.poll_started)
        else {
            self.stats.unknown_source_dropped += 1;
            return;
        };
        let account = account_of(conn);
        let gone = self
            .valuer
            .on_poll_closed(&account, &conn.id, started, b.received_at);
        for (at, h) in gone {
            self.stats.balances += 1;
            out.push(Record::Balance(BalanceSnapshot {
                schema: BalanceSchema,
                account: account.clone(),
                source: conn.id.clone(),
                source_kind: conn.source_kind,
                venue: conn.venue.clone(),
                sub_account: at.sub_account,
                wallet: at.wallet,
                asset: h.asset,
                venue_asset: h.venue_asset,
                network: h.network,
                total: Decimal::ZERO,
                available: Decimal::ZERO,
                locked: Decimal::ZERO,
                borrowed: None,
                pending: None,
                as_of: b.received_at,
                received_at: b.received_at,
                unrealized_pnl: None,
            }));
        }
        if let Some(report) = self.valuer.value_if_changed(
            &account,
            b.received_at,
            &self.usd_prices,
            &self.requirements,
        ) {
            out.push(Record::CollateralReport(report));
        }
    }

    /// The codes of `connector` that cannot be mapped, sorted, as a reason suffix.
    pub(super) fn unmapped_note(&self, connector: u32) -> Option<String> {
        let codes: std::collections::BTreeSet<&str> = self
            .warned_unmapped
            .iter()
            .filter(|(c, _)| *c == connector)
            .map(|(_, code)| code.as_str())
            .collect();
        (!codes.is_empty()).then(|| {
            format!(
                "unmapped asset codes (shown, counted 0): {}",
                codes.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// A connector's `balances` status with the unmapped codes added to its reason, so the
    /// feed that delivered them names them for as long as they are held.
    pub(super) fn annotate_balances_status(&self, connector: u32, mut s: FeedStatus) -> FeedStatus {
        if let Some(note) = self.unmapped_note(connector) {
            s.reason = Some(match s.reason.take() {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
        }
        s
    }
}

#[cfg(test)]
mod balance_tests {
    use super::*;
    use crate::reference::ReferenceEngine;
    use rust_decimal_macros::dec;
    use schemas::{Observation, SourceKind, Ts};

    fn normalizer() -> Normalizer {
        let conn = ConnectorInfo {
            id: "kraken-main".into(),
            venue: "kraken".into(),
            sources: vec![],
            account: Some("fund-a".into()),
            source_kind: SourceKind::Exchange,
            reports_balances: false,
        };
        Normalizer::new(vec![conn], ReferenceEngine::new(vec![]).unwrap(), 1000)
    }

    fn obs(
        asset: &str,
        total: Decimal,
        available: Option<Decimal>,
        locked: Option<Decimal>,
    ) -> Observation {
        Observation::Balance(BalanceObs {
            unrealized_pnl: None,
            connector: 0,
            venue_asset: asset.into(),
            total,
            available,
            locked,
            borrowed: None,
            pending: None,
            sub_account: None,
            wallet: None,
            as_of: None,
            received_at: Ts::from_millis(5),
            poll_started: None,
            network: None,
        })
    }

    use rust_decimal::Decimal;

    #[test]
    fn balances_map_assets_check_sums_and_never_guess() {
        let mut n = normalizer();
        let mut out = Vec::new();
        n.apply(
            obs(
                "XXBT",
                dec!(1.2500000000),
                Some(dec!(1.0)),
                Some(dec!(0.2500000000)),
            ),
            &mut out,
        );
        n.apply(obs("ZUSD", dec!(100), None, None), &mut out);
        n.apply(obs("ETH", dec!(3), Some(dec!(1)), Some(dec!(1))), &mut out); // 1 + 1 != 3
        n.apply(obs("NOTACOIN", dec!(1), None, None), &mut out);
        let recs: Vec<&BalanceSnapshot> = out
            .iter()
            .filter_map(|r| match r {
                Record::Balance(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(
            recs.len(),
            3,
            "an inconsistent balance is reconciled, not dropped"
        );
        assert_eq!(
            (recs[0].asset.as_str(), recs[0].venue_asset.as_str()),
            ("BTC", "XXBT")
        );
        assert_eq!(recs[0].total.to_string(), "1.2500000000");
        assert_eq!(recs[0].account, "fund-a");
        assert_eq!(
            Record::Balance(recs[0].clone()).key(),
            "fund-a/kraken-main/BTC"
        );
        // No split from the venue: nothing is shown free (never available = total).
        assert_eq!(
            (recs[1].asset.as_str(), recs[1].available, recs[1].locked),
            ("USD", dec!(0), dec!(100))
        );
        assert_eq!(
            recs[1].as_of,
            Ts::from_millis(5),
            "as_of falls back to received_at"
        );
        // 1 + 1 != 3: available stays the venue's 1, locked = 3 - 1.
        assert_eq!(
            (recs[2].asset.as_str(), recs[2].available, recs[2].locked),
            ("ETH", dec!(1), dec!(2))
        );
        // The unknown code is not published as a balance but held for the account's report.
        let unmapped: Vec<_> = n.valuer().unmapped().collect();
        assert_eq!(unmapped.len(), 1);
        assert_eq!(
            (unmapped[0].venue_asset.as_str(), unmapped[0].quantity),
            ("NOTACOIN", dec!(1))
        );
        assert_eq!(n.stats().inconsistent_balances, 1);
        assert_eq!(n.stats().unmapped_assets, 1);
    }

    #[test]
    fn reconcile_never_shows_more_free_than_the_venue_says() {
        // Exact parts pass through.
        assert_eq!(
            reconcile(dec!(3), Some(dec!(1)), Some(dec!(2))),
            Ok((dec!(1), dec!(2)))
        );
        // OKX float noise: availBal + frozenBal != cashBal by 1e-16.
        let total = dec!(0.6612664522199999);
        let (a, l) = reconcile(total, Some(dec!(0.66126645222)), Some(dec!(0))).unwrap_err();
        assert_eq!((a, l), (dec!(0.6612664522199999), dec!(0)));
        assert_eq!(a + l, total);
        // Frozen above the total: nothing free, all locked.
        assert_eq!(
            reconcile(dec!(5), Some(dec!(2)), Some(dec!(7))),
            Err((dec!(0), dec!(5)))
        );
        // Available above the total is capped at the total.
        assert_eq!(
            reconcile(dec!(5), Some(dec!(9)), None),
            Err((dec!(5), dec!(0)))
        );
        // Only locked: the rest is free.
        assert_eq!(
            reconcile(dec!(5), None, Some(dec!(2))),
            Ok((dec!(3), dec!(2)))
        );
        // Nothing: nothing free.
        assert_eq!(reconcile(dec!(5), None, None), Ok((dec!(0), dec!(5))));
        // A debt: nothing free, the whole (negative) total locked.
        assert_eq!(reconcile(dec!(-5), None, None), Ok((dec!(0), dec!(-5))));
        assert_eq!(
            reconcile(dec!(-5), Some(dec!(0)), Some(dec!(-5))),
            Ok((dec!(0), dec!(-5)))
        );
    }
}
