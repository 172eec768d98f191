//! Pure parsing of Coinbase Prime's portfolio list and portfolio balances.
//!
//! Field by field (Prime API reference, `GET /v1/portfolios/{id}/balances`):
//!
//! | Prime | meaning | record |
//! |---|---|---|
//! | `symbol` | asset symbol | `venue_asset`, unchanged |
//! | `amount` | the total, "includes the `holds` amount" | `total` |
//! | `holds` | held for open orders and pending withdrawals | in `locked` |
//! | `withdrawable_amount` | what can be withdrawn now | caps `available` |
//! | `bonded_amount`, `unbonding_amount` | staked / unstaking | in `locked` |
//! | `reserved_amount` | must stay in the wallet (chain reserve) | in `locked` |
//! | `unvested_amount` | not yet vested | in `locked` |
//! | `pending_rewards_amount`, `past_rewards_amount`, `bondable_amount`, `unbondable_amount`, `fiat_amount` | rewards, what could be (un)staked, USD value | not read |
//!
//! Rule: with `withdrawable_amount`, available = min(withdrawable, amount - holds) (holds are
//! inside amount; the staking figures are already outside "withdrawable", so they are not
//! taken twice); without it, available = amount - holds - bonded - unbonding - reserved -
//! unvested (the held figures given). Either way through [`crate::custodians::split`]:
//! clamped to `[0, amount]`, locked = amount - available. With neither withdrawable nor any
//! held figure, both `None`. No incoming-pending figure, no balance time (`as_of` `None`).

use super::{wire, KIND};
use crate::custodians::split;
use crate::error::ParseError;
use crate::transport::rest::ParsedBalance;

/// One body of the two-step poll. A portfolio list returns the portfolio to read next (the
/// cursor); a balances body emits balances and ends the poll.
///
/// Balances by the rule of the module header.
pub fn parse_body(
    body: &str,
    emit: &mut dyn FnMut(ParsedBalance<'_>),
) -> Result<Option<String>, ParseError> {
    let w: wire::PortfolioBalances<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if let Some(m) = w.message {
        return Err(ParseError::Venue {
            venue: KIND,
            message: m.into_owned(),
        });
    }
    if let Some(list) = w.portfolios {
        // A Prime API key is created for one portfolio; the first listed is the key's own.
        return match list.into_iter().next() {
            Some(p) if !p.id.is_empty() => Ok(Some(p.id.into_owned())),
            _ => Err(ParseError::Venue {
                venue: KIND,
                message: "the API key sees no portfolio".into(),
            }),
        };
    }
    let Some(list) = w.balances else {
        return Err(ParseError::malformed(
            KIND,
            "neither balances nor portfolios",
            body,
        ));
    };
    if list.iter().any(|b| b.amount.is_none()) {
        return Err(ParseError::malformed(KIND, "balance without amount", body));
    }
    for b in list {
        let Some(total) = b.amount else { continue };
        let held = [
            b.holds,
            b.bonded_amount,
            b.unbonding_amount,
            b.reserved_amount,
            b.unvested_amount,
        ];
        let cap = match b.withdrawable_amount {
            Some(w) => Some(w.min(total - b.holds.unwrap_or_default())),
            None if held.iter().any(Option::is_some) => {
                Some(held.iter().flatten().fold(total, |t, h| t - h))
            }
            None => None,
        };
        let (available, locked) = match cap {
            Some(c) => {
                let (a, l) = split(total, c);
                (Some(a), Some(l))
            }
            None => (None, None),
        };
        emit(ParsedBalance {
            venue_asset: b.symbol,
            total,
            available,
            locked,
            ..Default::default()
        });
    }
    Ok(None)
}
