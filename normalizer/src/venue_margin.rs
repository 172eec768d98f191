//! Venue margin health (margin.md section 1): how close each venue account is to liquidation,
//! from what the venue itself reports.
//!
//! A derivatives venue liquidates each account on its own, whatever the firm holds elsewhere.
//! The venue's figures are kept exactly as it states them (`venue_margin.v1` carries its own
//! ratio with its kind, since venues state ratios different ways up); on top of them one
//! figure is computed the same way for every venue:
//!
//! - `maintenance_coverage` = equity / maintenance margin, truncated (never rounded up) to
//!   4 dp; null when the maintenance margin is 0 or not reported.
//! - Status bands, compared exactly on the unrounded ratio (`equity` against `band x MM`):
//!   `LIQUIDATION` at <= 1, `DANGER` below `danger_below` (1.25), `WARN` below `warn_below`
//!   (2.0), else `OK`. Choices where the spec is silent: no maintenance margin in use (0 or not
//!   reported) is `OK` when the equity is not negative (nothing can be liquidated) and
//!   `LIQUIDATION` when it is (a negative equity is a debt to the venue whatever is margined);
//!   no equity reported with a margin in use is `DANGER` (the risk is real and the cover
//!   unknown: conservative, never `OK`).
//! - The `_usd` figures use the currency's `<ASSET>-USD` reference price (1 for USD): OK,
//!   DEGRADED or STALE with a price (the last good one), else null.
//!
//! `[margin] unrealized_pnl` (include | losses_only | exclude) is part of the valuation
//! parameters ([`crate::valuation::UnrealizedPnl`]); this section of config carries it.

use crate::valuation::UnrealizedPnl;
use rust_decimal::Decimal;
use schemas::MarginStatus;
use serde::Deserialize;

/// `[margin]` in config: the venue margin bands and the unrealized P&L rule.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarginParams {
    /// `WARN` below this maintenance coverage.
    pub warn_below: Decimal,
    /// `DANGER` below this maintenance coverage (`LIQUIDATION` at or below 1).
    pub danger_below: Decimal,
    /// How much of a settlement asset's unrealized P&L counts as collateral.
    pub unrealized_pnl: UnrealizedPnl,
    /// The coverage a rebalancing suggestion brings a venue account in `WARN` or worse back
    /// to; default `warn_below` x 1.25 (2.5): above the band with room.
    pub target_coverage: Option<Decimal>,
}

impl Default for MarginParams {
    fn default() -> Self {
        MarginParams {
            warn_below: Decimal::new(20, 1),
            danger_below: Decimal::new(125, 2),
            unrealized_pnl: UnrealizedPnl::default(),
            target_coverage: None,
        }
    }
}

impl MarginParams {
    /// `(field, message)` for every inconsistent setting: the bands must nest above 1.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.danger_below <= Decimal::ONE {
            errors.push((
                "danger_below",
                format!(
                    "must be above 1 (LIQUIDATION is at or below 1), got {}",
                    self.danger_below
                ),
            ));
        }
        if self.warn_below < self.danger_below {
            errors.push((
                "warn_below",
                format!(
                    "must not be below danger_below ({}), got {}",
                    self.danger_below, self.warn_below
                ),
            ));
        }
        if self.target_coverage.is_some_and(|t| t < self.warn_below) {
            errors.push((
                "target_coverage",
                format!(
                    "must not be below warn_below ({}), got {}",
                    self.warn_below,
                    self.target_coverage.unwrap_or_default()
                ),
            ));
        }
        errors
    }

    /// The coverage rebalancing suggestions aim at.
    pub fn target(&self) -> Decimal {
        self.target_coverage
            .unwrap_or(self.warn_below * Decimal::new(125, 2))
    }

    /// The band of an account with `equity` against maintenance margin `mm` (module doc).
    pub fn status(&self, equity: Option<Decimal>, mm: Option<Decimal>) -> MarginStatus {
        let mm = mm.filter(|m| *m > Decimal::ZERO);
        match (equity, mm) {
            (Some(e), None) if e.is_sign_negative() && !e.is_zero() => MarginStatus::Liquidation,
            (_, None) => MarginStatus::Ok,
            (None, Some(_)) => MarginStatus::Danger,
            (Some(e), Some(m)) => {
                // Exact: products, never a rounded quotient. Beyond Decimal's range (no real
                // account) the band is the worst one the figures allow.
                let below = |band: Decimal| band.checked_mul(m).is_none_or(|x| e < x);
                if e <= m {
                    MarginStatus::Liquidation
                } else if below(self.danger_below) {
                    MarginStatus::Danger
                } else if below(self.warn_below) {
                    MarginStatus::Warn
                } else {
                    MarginStatus::Ok
                }
            }
        }
    }
}

/// equity / MM truncated to 4 dp; `None` without a positive maintenance margin.
pub fn maintenance_coverage(equity: Option<Decimal>, mm: Option<Decimal>) -> Option<Decimal> {
    let (e, m) = (equity?, mm.filter(|m| *m > Decimal::ZERO)?);
    Some(crate::valuation::coverage(e, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn bands_at_their_edges() {
        let p = MarginParams::default();
        let s = |e: Decimal, m: Decimal| p.status(Some(e), Some(m));
        assert_eq!(s(dec!(300), dec!(100)), MarginStatus::Ok);
        assert_eq!(s(dec!(200), dec!(100)), MarginStatus::Ok); // 2.0 is not below 2.0
        assert_eq!(s(dec!(199.99), dec!(100)), MarginStatus::Warn);
        assert_eq!(s(dec!(125), dec!(100)), MarginStatus::Warn);
        assert_eq!(s(dec!(124.999), dec!(100)), MarginStatus::Danger);
        assert_eq!(s(dec!(100.0001), dec!(100)), MarginStatus::Danger);
        assert_eq!(s(dec!(100), dec!(100)), MarginStatus::Liquidation);
        assert_eq!(s(dec!(-5), dec!(100)), MarginStatus::Liquidation);
        // No margin in use.
        assert_eq!(p.status(Some(dec!(10)), Some(dec!(0))), MarginStatus::Ok);
        assert_eq!(p.status(Some(dec!(10)), None), MarginStatus::Ok);
        assert_eq!(p.status(Some(dec!(-1)), None), MarginStatus::Liquidation);
        // Margin in use, equity unknown: never OK.
        assert_eq!(p.status(None, Some(dec!(5))), MarginStatus::Danger);
    }

    #[test]
    fn coverage_truncates_and_is_null_without_margin() {
        assert_eq!(
            maintenance_coverage(Some(dec!(2)), Some(dec!(3))),
            Some(dec!(0.6666))
        );
        assert_eq!(
            maintenance_coverage(Some(dec!(199.999)), Some(dec!(100))),
            Some(dec!(1.9999))
        );
        assert_eq!(maintenance_coverage(Some(dec!(5)), Some(dec!(0))), None);
        assert_eq!(maintenance_coverage(Some(dec!(5)), None), None);
        assert_eq!(maintenance_coverage(None, Some(dec!(5))), None);
        // A quotient whose 28th digit rounds up onto the next step is still truncated.
        let e = dec!(1.99999999999999999999999999);
        assert_eq!(
            maintenance_coverage(Some(e), Some(dec!(1))),
            Some(dec!(1.9999))
        );
    }

    #[test]
    fn bands_must_nest_above_one() {
        assert!(MarginParams::default().validate().is_empty());
        let bad = MarginParams {
            warn_below: dec!(0.9),
            danger_below: dec!(1),
            ..Default::default()
        };
        let fields: Vec<_> = bad.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["danger_below", "warn_below"]);
    }
}
