//! Encumbrance (compliance.md section 3): coins counted once, pledges, the reuse cap.
//!
//! - **Mirrors** (off-exchange settlement: coins locked at a custodian, credited at an
//!   exchange). For a mirrored asset the custodian's `locked` quantity is what the exchange
//!   credits, so it is represented by the exchange's balance: counted = custodian quantity -
//!   custodian locked + exchange quantity. `mirrored` = the custodian's locked quantity;
//!   exchange above it: `exchange_exposure` (held at the exchange's risk, flag `UNSETTLED_PNL`);
//!   below: `mirror_shortfall` (flag `MIRROR_SHORTFALL`). Where the spec is silent: a stale
//!   exchange balance counts 0 (the staleness rule) and the locked coins still do not count
//!   (conservative: a shortfall at the exchange may consume them); a stale custodian balance
//!   counts 0 and nothing is subtracted for it.
//! - **Pledges**: per asset, of the quantity as counted: `pledged` (sum of pledges),
//!   `unencumbered` = max(0, quantity - pledged), `overpledged` = max(0, pledged - quantity),
//!   flag `OVERPLEDGED`. Pledged coins stay the account's collateral value (compliance.md does
//!   not take them out); the fields say what is free to pledge again.
//! - **Reuse cap** (SEC 15c3-3): `reuse_value` = market value of the pledges with
//!   `reuse = true` at the asset's price, `reuse_cap` = `reuse_cap_pct` (140) % of
//!   `debit_balance` rounded down to cents (no debit balance: a cap of 0, so any reuse is a
//!   breach), `reuse_excess` rounded up to cents, flag `REUSE_CAP_BREACH` when the value is
//!   above the cap.

use rust_decimal::Decimal;
use serde::Serialize;

/// One account's encumbrance terms (`[accounts.<id>]` `mirrors`, `pledges`, `debit_balance`,
/// `reuse_cap_pct`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Encumbrance {
    pub mirrors: Vec<Mirror>,
    pub pledges: Vec<Pledge>,
    pub debit_balance: Option<Decimal>,
    /// Default 140.
    pub reuse_cap_pct: Option<Decimal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mirror {
    /// Source ids.
    pub custodian: String,
    pub exchange: String,
    /// Canonical assets mirrored; empty = every asset.
    pub assets: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pledge {
    pub asset: String,
    pub quantity: Decimal,
    pub counterparty: String,
    /// The counterparty may re-use it (rehypothecation).
    pub reuse: bool,
}

impl Encumbrance {
    pub fn is_empty(&self) -> bool {
        self.mirrors.is_empty()
            && self.pledges.is_empty()
            && self.debit_balance.is_none()
            && self.reuse_cap_pct.is_none()
    }

    /// The mirrors that cover `asset`.
    pub fn mirror_of<'a>(&'a self, asset: &'a str) -> impl Iterator<Item = &'a Mirror> + 'a {
        self.mirrors
            .iter()
            .filter(move |m| m.assets.is_empty() || m.assets.iter().any(|a| a == asset))
    }

    /// Sum of the pledges of `asset`, if any pledge names it.
    pub fn pledged(&self, asset: &str) -> Option<Decimal> {
        self.pledges
            .iter()
            .filter(|p| p.asset == asset)
            .map(|p| p.quantity)
            .reduce(|a, b| a + b)
    }

    pub fn cap_pct(&self) -> Decimal {
        self.reuse_cap_pct.unwrap_or(Decimal::from(140))
    }
}

/// Flags of encumbrance.
pub mod flags {
    pub const UNSETTLED_PNL: &str = "UNSETTLED_PNL";
    pub const MIRROR_SHORTFALL: &str = "MIRROR_SHORTFALL";
    pub const OVERPLEDGED: &str = "OVERPLEDGED";
    pub const REUSE_CAP_BREACH: &str = "REUSE_CAP_BREACH";
}
