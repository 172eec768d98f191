//! Venue margin and positions (margin.md section 1 and "Records"): what a derivatives venue
//! itself reports about one account there, as observations (connector -> normalizer) and as the
//! published records `venue_margin.v1` and `position.v1`.

use crate::records::Market;
use crate::time::Ts;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

schema_tag!(VenueMarginSchema, "venue_margin.v1");
schema_tag!(PositionSchema, "position.v1");

/// How a venue states its own margin ratio (`venue_margin_ratio`): the numbers are the venue's,
/// never converted, so a reader must know which way up they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarginRatioKind {
    /// Maintenance margin / equity (Bybit `accountMMRate`; Binance USD-M's
    /// `totalMaintMargin / totalMarginBalance`): liquidation at 1, healthy near 0.
    MmOverEquity,
    /// Equity / maintenance margin (OKX `mgnRatio`): liquidation at 1 (OKX: at 100 %), healthy
    /// when large.
    EquityOverMm,
    /// The venue's estimate of how far the price may move before liquidation, as a fraction
    /// (Deribit `estimated_liquidation_ratio`).
    EstimatedLiquidationRatio,
    /// The venue states no ratio.
    None,
}

/// One venue account's margin as the venue reported it, in the venue's own units.
#[derive(Clone, Debug, PartialEq)]
pub struct VenueMarginObs {
    /// Index of the connector in the running configuration.
    pub connector: u32,
    /// The venue's code of the unit the figures are in (`USDT`, `USD`, `BTC`).
    pub currency: String,
    /// Whether the venue margins this currency on its own (Deribit segregated margin: one
    /// record per currency); otherwise the figures are the whole account's.
    pub per_currency: bool,
    pub equity: Option<Decimal>,
    pub wallet_balance: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
    pub initial_margin: Option<Decimal>,
    pub maintenance_margin: Option<Decimal>,
    pub venue_margin_ratio: Option<Decimal>,
    pub venue_margin_ratio_kind: MarginRatioKind,
    /// The venue's time for these figures, if it gives one.
    pub as_of: Option<Ts>,
    pub received_at: Ts,
}

/// Which way a position faces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PositionSide {
    Long,
    Short,
    /// No position (size 0): how a closed position is published, once.
    Flat,
}

/// One open position as the venue reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionObs {
    pub connector: u32,
    /// As the venue spells it (`BTCUSDT`, `BTC-29MAR24-60000-C`).
    pub venue_symbol: String,
    /// Canonical (records.md naming; options `BASE-QUOTE-YYYYMMDD-STRIKE-C|P`).
    pub instrument: String,
    pub market: Market,
    /// The side of a hedge-mode position (`LONG`/`SHORT` held at once on one symbol): part of
    /// the key then; `None` in one-way mode.
    pub hedge_side: Option<PositionSide>,
    pub side: PositionSide,
    /// Absolute size in base units (contracts x contract size), exact.
    pub size: Decimal,
    /// Absolute size in the venue's contracts (equal to `size` where a contract is one base unit).
    pub contracts: Decimal,
    pub entry_price: Option<Decimal>,
    pub mark_price: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
    /// The venue code of the asset `unrealized_pnl` is in.
    pub pnl_currency: Option<String>,
    pub liquidation_price: Option<Decimal>,
    /// `cross`, `isolated` or `portfolio`, as the venue says.
    pub margin_mode: Option<String>,
    pub as_of: Option<Ts>,
    pub received_at: Ts,
    /// Set when this list is the venue's whole list of open positions within `scope` (a REST
    /// response): positions of the connector in that scope that it does not list are closed.
    /// `None` for a pushed update of one position.
    pub snapshot_scope: Option<String>,
}

impl PositionObs {
    /// The end of a full positions list in `scope` (an empty list closes every position in it):
    /// no position of its own (`venue_symbol` empty).
    pub fn snapshot_end(connector: u32, scope: &str, received_at: Ts) -> Self {
        PositionObs {
            connector,
            venue_symbol: String::new(),
            instrument: String::new(),
            market: Market::Perpetual,
            hedge_side: None,
            side: PositionSide::Flat,
            size: Decimal::ZERO,
            contracts: Decimal::ZERO,
            entry_price: None,
            mark_price: None,
            unrealized_pnl: None,
            pnl_currency: None,
            liquidation_price: None,
            margin_mode: None,
            as_of: None,
            received_at,
            snapshot_scope: Some(scope.to_owned()),
        }
    }
    /// Whether this is the end marker of a full list rather than a position.
    pub fn is_snapshot_end(&self) -> bool {
        self.venue_symbol.is_empty()
    }
}

/// Margin health band of one venue account (margin.md section 1).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum MarginStatus {
    Ok,
    Warn,
    Danger,
    Liquidation,
}

impl MarginStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MarginStatus::Ok => "OK",
            MarginStatus::Warn => "WARN",
            MarginStatus::Danger => "DANGER",
            MarginStatus::Liquidation => "LIQUIDATION",
        }
    }
}

/// `venue_margin.v1`: one venue account's margin. Topic `collateral.venue-margin.v1`, key
/// `<account>/<source>` (`<account>/<source>/<currency>` where the venue margins each currency
/// on its own).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueMarginRecord {
    pub schema: VenueMarginSchema,
    pub account: String,
    pub source: String,
    pub venue: String,
    /// The unit of the figures below, as the venue states them (canonical asset code).
    pub currency: String,
    /// Whether the venue margins `currency` on its own (then part of the key).
    pub per_currency: bool,
    pub equity: Option<Decimal>,
    pub wallet_balance: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
    pub initial_margin: Option<Decimal>,
    pub maintenance_margin: Option<Decimal>,
    pub venue_margin_ratio: Option<Decimal>,
    pub venue_margin_ratio_kind: MarginRatioKind,
    /// equity / maintenance margin, truncated to 4 dp; null when MM is 0 or unknown.
    pub maintenance_coverage: Option<Decimal>,
    pub status: MarginStatus,
    /// `currency`'s reference price in USD used for the `_usd` figures (1 for USD); null
    /// when there is none yet.
    pub usd_price: Option<Decimal>,
    pub equity_usd: Option<Decimal>,
    pub maintenance_margin_usd: Option<Decimal>,
    pub as_of: Ts,
    pub received_at: Ts,
    pub seq: u64,
}

impl VenueMarginRecord {
    pub fn key(&self) -> String {
        if self.per_currency {
            format!("{}/{}/{}", self.account, self.source, self.currency)
        } else {
            format!("{}/{}", self.account, self.source)
        }
    }
}

/// `position.v1`: one position at one venue account. Topic `collateral.positions.v1`, key
/// `<account>/<source>/<instrument>` (with `:LONG`/`:SHORT` appended for a hedge-mode side).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionRecord {
    pub schema: PositionSchema,
    pub account: String,
    pub source: String,
    pub venue: String,
    pub venue_symbol: String,
    pub instrument: String,
    pub market: Market,
    pub side: PositionSide,
    /// `LONG`/`SHORT` for a hedge-mode position, else null.
    pub hedge_side: Option<PositionSide>,
    pub size: Decimal,
    pub contracts: Decimal,
    pub entry_price: Option<Decimal>,
    pub mark_price: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
    /// Canonical code of the asset `unrealized_pnl` is in.
    pub pnl_currency: Option<String>,
    pub liquidation_price: Option<Decimal>,
    pub margin_mode: Option<String>,
    pub as_of: Ts,
    pub received_at: Ts,
    pub seq: u64,
}

impl PositionRecord {
    pub fn key(&self) -> String {
        match self.hedge_side {
            Some(s) if s != PositionSide::Flat => format!(
                "{}/{}/{}:{}",
                self.account,
                self.source,
                self.instrument,
                if s == PositionSide::Long {
                    "LONG"
                } else {
                    "SHORT"
                }
            ),
            _ => format!("{}/{}/{}", self.account, self.source, self.instrument),
        }
    }
}
