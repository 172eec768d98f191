//! Venue margin and positions as a venue parser emits them (margin.md section 1): the pure
//! parsers of derivatives venues turn a REST response or a private-stream frame into
//! [`AccountItem`]s; the framework stamps them with the connector and the receive time.

use crate::transport::rest::ParsedBalance;
use rust_decimal::Decimal;
use schemas::{MarginRatioKind, Market, PositionObs, PositionSide, Ts, VenueMarginObs};
use std::borrow::Cow;

/// What one response or frame said about a venue account.
#[derive(Clone, Debug, PartialEq)]
pub enum AccountItem<'a> {
    Balance(ParsedBalance<'a>),
    Margin(ParsedMargin),
    Position(ParsedPosition),
    /// The response listed every open position within this scope (`all`, Bybit's `linear` or
    /// `inverse`): positions of the connector in that scope it did not list are closed. Emitted
    /// after the positions of the list, also when the list is empty.
    PositionsEnd {
        scope: Cow<'static, str>,
    },
}

/// One venue account's margin figures, exactly as the venue states them, in its units.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedMargin {
    /// The venue's code of the unit the figures are in.
    pub currency: String,
    /// The venue margins this currency on its own (Deribit without cross-collateral).
    pub per_currency: bool,
    pub equity: Option<Decimal>,
    pub wallet_balance: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
    pub initial_margin: Option<Decimal>,
    pub maintenance_margin: Option<Decimal>,
    pub venue_margin_ratio: Option<Decimal>,
    pub venue_margin_ratio_kind: MarginRatioKind,
    pub as_of: Option<Ts>,
}

impl ParsedMargin {
    /// Figures in `currency` with nothing known yet (parsers fill what the venue gives).
    pub fn new(currency: impl Into<String>) -> Self {
        ParsedMargin {
            currency: currency.into(),
            per_currency: false,
            equity: None,
            wallet_balance: None,
            unrealized_pnl: None,
            initial_margin: None,
            maintenance_margin: None,
            venue_margin_ratio: None,
            venue_margin_ratio_kind: MarginRatioKind::None,
            as_of: None,
        }
    }

    pub fn into_obs(self, connector: u32, received_at: Ts) -> VenueMarginObs {
        VenueMarginObs {
            connector,
            currency: self.currency,
            per_currency: self.per_currency,
            equity: self.equity,
            wallet_balance: self.wallet_balance,
            unrealized_pnl: self.unrealized_pnl,
            initial_margin: self.initial_margin,
            maintenance_margin: self.maintenance_margin,
            venue_margin_ratio: self.venue_margin_ratio,
            venue_margin_ratio_kind: self.venue_margin_ratio_kind,
            as_of: self.as_of,
            received_at,
        }
    }
}

/// One open (or, from a stream, just closed: size 0) position as the venue states it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedPosition {
    pub venue_symbol: String,
    /// Canonical instrument (records.md; options `BASE-QUOTE-YYYYMMDD-STRIKE-C|P`).
    pub instrument: String,
    pub market: Market,
    /// `Some(LONG|SHORT)` for a hedge-mode position, `None` in one-way mode.
    pub hedge_side: Option<PositionSide>,
    pub side: PositionSide,
    /// Absolute size in base units: contracts x the venue's contract size, exact.
    pub size: Decimal,
    /// Absolute size in the venue's contracts.
    pub contracts: Decimal,
    pub entry_price: Option<Decimal>,
    pub mark_price: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
    /// The venue code of the asset the P&L is in.
    pub pnl_currency: Option<String>,
    pub liquidation_price: Option<Decimal>,
    pub margin_mode: Option<String>,
    pub as_of: Option<Ts>,
    /// The full-list scope of the response it came in (see [`AccountItem::PositionsEnd`]);
    /// `None` for a pushed update.
    pub scope: Option<Cow<'static, str>>,
}

impl ParsedPosition {
    pub fn into_obs(self, connector: u32, received_at: Ts) -> PositionObs {
        PositionObs {
            connector,
            venue_symbol: self.venue_symbol,
            instrument: self.instrument,
            market: self.market,
            hedge_side: self.hedge_side,
            side: self.side,
            size: self.size,
            contracts: self.contracts,
            entry_price: self.entry_price,
            mark_price: self.mark_price,
            unrealized_pnl: self.unrealized_pnl,
            pnl_currency: self.pnl_currency,
            liquidation_price: self.liquidation_price,
            margin_mode: self.margin_mode,
            as_of: self.as_of,
            received_at,
            snapshot_scope: self.scope.map(Cow::into_owned),
        }
    }
}

/// The side of a signed size (`-3` is short 3); zero is flat.
pub fn side_of(signed: Decimal) -> PositionSide {
    if signed.is_sign_negative() && !signed.is_zero() {
        PositionSide::Short
    } else if signed.is_zero() {
        PositionSide::Flat
    } else {
        PositionSide::Long
    }
}

impl AccountItem<'_> {
    /// The observation of this item for connector `connector`, read at `received_at`.
    pub fn into_obs(self, connector: u32, received_at: Ts) -> schemas::Observation {
        use schemas::Observation as O;
        match self {
            AccountItem::Balance(b) => O::Balance(b.into_obs(connector, received_at)),
            AccountItem::Margin(m) => O::Margin(m.into_obs(connector, received_at)),
            AccountItem::Position(p) => O::Position(p.into_obs(connector, received_at)),
            AccountItem::PositionsEnd { scope } => {
                O::Position(PositionObs::snapshot_end(connector, &scope, received_at))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn sides_of_signed_sizes() {
        assert_eq!(side_of(dec!(-0.5)), PositionSide::Short);
        assert_eq!(side_of(dec!(0)), PositionSide::Flat);
        assert_eq!(side_of(dec!(-0)), PositionSide::Flat);
        assert_eq!(side_of(dec!(2)), PositionSide::Long);
    }

    #[test]
    fn the_end_of_a_list_is_a_marker_not_a_position() {
        let o = AccountItem::PositionsEnd {
            scope: "linear".into(),
        }
        .into_obs(3, Ts::from_millis(5));
        match o {
            schemas::Observation::Position(p) => {
                assert!(p.is_snapshot_end());
                assert_eq!(p.snapshot_scope.as_deref(), Some("linear"));
                assert_eq!(p.connector, 3);
            }
            other => panic!("{other:?}"),
        }
    }
}
