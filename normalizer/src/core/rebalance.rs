//! Rebalancing suggestions (issue "margin engine" 3): when a venue account of an account is in
//! `WARN` or worse, the transfers of free collateral from the account's other sources that
//! bring it back to `[margin] target_coverage` (default `warn_below` x 1.25). Suggestions only: nothing is ever moved.
//!
//! Deterministic, and conservative where the spec is silent:
//! - Needed: `(target_coverage x MM - equity)` in the venue account's currency, at its USD
//!   price. Transfers are valued at the asset's reference price (`value_usd`), before any
//!   haircut the venue applies to collateral; a venue that haircuts will need more.
//! - From: custodians first (by id), then the other sources by headroom, largest first: a
//!   venue account's headroom is what it can give without leaving its own band
//!   (`equity - warn_below x MM`, at its USD price; none unless `OK`), a source without a
//!   venue margin record gives its free balances. Only free quantities (total - locked) of
//!   confirmed, priced holdings move: cash and stablecoins first, then by value.
//! - Quantities are rounded up to 0.01 (cash, stablecoins) or 0.00000001, never above what is
//!   free; a suggestion that cannot cover the whole need lists what there is.

use super::Normalizer;
use crate::valuation::CASH_ASSET;
use rust_decimal::{Decimal, RoundingStrategy};
use schemas::{MarginStatus, Transfer};
use std::collections::BTreeMap;

impl Normalizer {
    /// The transfers suggested for `account` now (empty when every venue account is `OK`).
    pub(super) fn transfers(&self, account: &str) -> Vec<Transfer> {
        let p = &self.venue.params;
        let price = |asset: &str| self.usd_price(asset);
        let mine: Vec<_> = self
            .venue
            .latest
            .iter()
            .filter(|(_, r)| r.account == account)
            .collect();
        let mut out = Vec::new();
        // Free value per (source, asset) still available to move.
        let mut free: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        let mut kinds: BTreeMap<String, schemas::SourceKind> = BTreeMap::new();
        for h in self.valuer.holdings(account) {
            let q = (h.quantity - h.locked).max(Decimal::ZERO);
            if q > Decimal::ZERO && price(&h.asset).is_some() {
                *free.entry((h.source.clone(), h.asset.clone())).or_default() += q;
                kinds.insert(h.source.clone(), h.source_kind);
            }
        }
        // Headroom (USD) per venue-margin source: what it can give and stay in its band.
        let mut headroom: BTreeMap<String, Decimal> = BTreeMap::new();
        for (_, r) in &mine {
            let room = match (r.status, r.equity, r.maintenance_margin, r.usd_price) {
                (MarginStatus::Ok, Some(e), Some(mm), Some(px)) => {
                    ((e - p.warn_below * mm) * px).max(Decimal::ZERO)
                }
                _ => Decimal::ZERO,
            };
            let h = headroom.entry(r.source.clone()).or_insert(room);
            *h = (*h).min(room);
        }
        for (key, r) in mine.iter().filter(|(_, r)| r.status >= MarginStatus::Warn) {
            let (Some(e), Some(mm), Some(px)) = (r.equity, r.maintenance_margin, r.usd_price)
            else {
                continue;
            };
            let mut need = (p.target() * mm - e) * px;
            if need <= Decimal::ZERO {
                continue;
            }
            // Custodians first, then by headroom (largest first), then by id.
            let mut sources: Vec<(u8, Decimal, String)> = kinds
                .iter()
                .filter(|(s, _)| **s != r.source)
                .map(|(s, k)| {
                    let room = headroom.get(s).copied();
                    let custodian = *k == schemas::SourceKind::Custodian;
                    (
                        u8::from(!custodian),
                        room.unwrap_or(Decimal::MAX),
                        s.clone(),
                    )
                })
                .filter(|(_, room, _)| *room > Decimal::ZERO)
                .collect();
            sources.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            for (_, mut room, source) in sources {
                let mut assets: Vec<(bool, Decimal, String, Decimal)> = free
                    .iter()
                    .filter(|((s, _), q)| *s == source && **q > Decimal::ZERO)
                    .filter_map(|((_, a), q)| {
                        let px = price(a)?;
                        let stable = a == CASH_ASSET
                            || self.valuer.params().stablecoins.contains(a.as_str());
                        Some((!stable, *q * px, a.clone(), px))
                    })
                    .collect();
                assets.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
                for (volatile, _, asset, apx) in assets {
                    if need <= Decimal::ZERO || room <= Decimal::ZERO {
                        break;
                    }
                    let dp = if volatile { 8 } else { 2 };
                    let want = need.min(room) / apx;
                    let want =
                        want.round_dp_with_strategy(dp, RoundingStrategy::ToPositiveInfinity);
                    let have = free[&(source.clone(), asset.clone())];
                    let q = want.min(have);
                    if q <= Decimal::ZERO {
                        continue;
                    }
                    let value = q * apx;
                    need -= value;
                    room -= value;
                    *free
                        .get_mut(&(source.clone(), asset.clone()))
                        .expect("listed") -= q;
                    out.push(Transfer {
                        asset,
                        quantity: q,
                        from: source.clone(),
                        to: r.source.clone(),
                        value_usd: value,
                        venue_account: (*key).clone(),
                    });
                }
                if let Some(h) = headroom.get_mut(&source) {
                    *h = room;
                }
                if need <= Decimal::ZERO {
                    break;
                }
            }
        }
        out
    }
}
