//! `[accounts.<id>]`: the margin requirement, CSA terms and encumbrance terms of an account.

use super::ConfigError;
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Margin requirement in USD.
    pub requirement: Option<Decimal>,
    /// CSA terms of the account's margin calls (margin.md section 2); absent = the defaults.
    #[serde(default)]
    pub terms: Option<normalizer::margin::config::CsaTerms>,
    /// Off-exchange collateral: locked at a custodian, credited at an exchange (compliance.md
    /// 3.1).
    #[serde(default)]
    pub mirrors: Vec<MirrorConfig>,
    /// Collateral pledged onward (compliance.md 3.2).
    #[serde(default)]
    pub pledges: Vec<PledgeConfig>,
    /// What the account owes its prime broker, in USD, for the reuse cap (compliance.md 3.3).
    pub debit_balance: Option<Decimal>,
    /// Reuse allowed, in % of the debit balance (default 140, SEC 15c3-3).
    pub reuse_cap_pct: Option<Decimal>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorConfig {
    /// Source (connector) ids.
    pub custodian: String,
    pub exchange: String,
    /// Canonical assets mirrored; default: every asset.
    #[serde(default)]
    pub assets: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PledgeConfig {
    pub asset: String,
    pub quantity: Decimal,
    pub counterparty: String,
    /// The counterparty may re-use it (rehypothecation).
    #[serde(default)]
    pub reuse: bool,
}

impl AccountConfig {
    /// The account's encumbrance terms for the valuation (canonical asset codes as given).
    pub fn encumbrance(&self) -> normalizer::valuation::encumbrance::Encumbrance {
        use normalizer::valuation::encumbrance::{Encumbrance, Mirror, Pledge};
        Encumbrance {
            mirrors: self
                .mirrors
                .iter()
                .map(|m| Mirror {
                    custodian: m.custodian.clone(),
                    exchange: m.exchange.clone(),
                    assets: m.assets.clone(),
                })
                .collect(),
            pledges: self
                .pledges
                .iter()
                .map(|p| Pledge {
                    asset: p.asset.clone(),
                    quantity: p.quantity,
                    counterparty: p.counterparty.clone(),
                    reuse: p.reuse,
                })
                .collect(),
            debit_balance: self.debit_balance,
            reuse_cap_pct: self.reuse_cap_pct,
        }
    }

    /// The checks of one account's fields; `path` is `accounts.<id>`.
    pub fn validate(&self, path: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if matches!(self.requirement, Some(r) if r.is_sign_negative()) {
            errors.push(ConfigError::new(
                format!("{path}.requirement"),
                "must be >= 0",
            ));
        }
        for (i, m) in self.mirrors.iter().enumerate() {
            if m.custodian == m.exchange {
                errors.push(ConfigError::new(
                    format!("{path}.mirrors[{i}].exchange"),
                    "must be another source than the custodian",
                ));
            }
        }
        for (i, p) in self.pledges.iter().enumerate() {
            if p.quantity <= Decimal::ZERO {
                errors.push(ConfigError::new(
                    format!("{path}.pledges[{i}].quantity"),
                    "must be > 0",
                ));
            }
        }
        if matches!(self.debit_balance, Some(d) if d.is_sign_negative()) {
            errors.push(ConfigError::new(
                format!("{path}.debit_balance"),
                "must be >= 0",
            ));
        }
        if matches!(self.reuse_cap_pct, Some(p) if p.is_sign_negative()) {
            errors.push(ConfigError::new(
                format!("{path}.reuse_cap_pct"),
                "must be >= 0",
            ));
        }
        errors
    }
}
