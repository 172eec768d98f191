//! The five record types of records.md.

use crate::shared::SharedStr;
use crate::time::Ts;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Declares a zero-sized tag that serializes as the record's constant `schema` value and refuses
/// any other value on the way in, so a consumer can never confuse two record kinds.
macro_rules! schema_tag {
    ($name:ident, $value:literal) => {
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;
        impl $name {
            pub const VALUE: &'static str = $value;
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($value)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                if s == $value {
                    Ok($name)
                } else {
                    Err(serde::de::Error::custom(format!(
                        "expected schema {:?}, got {:?}",
                        $value, s
                    )))
                }
            }
        }
        impl JsonSchema for $name {
            fn schema_name() -> String {
                stringify!($name).to_owned()
            }
            fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
                schemars::schema::SchemaObject {
                    const_value: Some(serde_json::Value::String($value.to_owned())),
                    ..Default::default()
                }
                .into()
            }
        }
    };
}

schema_tag!(PriceTickSchema, "price_tick.v1");
schema_tag!(BalanceSchema, "balance.v1");
schema_tag!(ReferencePriceSchema, "reference_price.v1");
schema_tag!(CollateralReportSchema, "collateral_report.v1");
schema_tag!(FeedStatusSchema, "feed_status.v1");

/// Which market a quote belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Market {
    Spot,
    Perpetual,
    Future,
    Option,
    Index,
}

/// `price_tick.v1`: one normalized quote from one venue. Topic `collateral.prices.v1`, key `<base>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTick {
    pub schema: PriceTickSchema,
    /// The venue kind, e.g. `binance`.
    pub venue: SharedStr,
    /// The configured instance, e.g. `binance-spot`.
    pub connector: SharedStr,
    /// As the venue spells it: `BTCUSDT`, `BTC/USD`, `BTC-PERPETUAL`.
    pub venue_symbol: SharedStr,
    /// Canonical: `BTC-USDT`, `BTC-USD-PERP`, `BTC-USD-20261225`.
    pub instrument: SharedStr,
    pub base: SharedStr,
    pub quote: SharedStr,
    pub market: Market,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub bid_size: Option<Decimal>,
    pub ask_size: Option<Decimal>,
    pub last: Option<Decimal>,
    pub mark: Option<Decimal>,
    pub index: Option<Decimal>,
    /// The venue's event time.
    pub exchange_ts: Option<Ts>,
    /// When our socket read the frame.
    pub received_at: Ts,
    /// The venue's update id, if any.
    pub sequence: Option<u64>,
    /// Connection epoch: +1 on every (re)connect of this connector.
    pub epoch: u64,
}

/// Where a balance comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Exchange,
    Custodian,
}

/// `balance.v1`: one asset's balance at one source for one account.
/// Topic `collateral.balances.v1`, key `<account>/<source>/<asset>`, partitioned by `<account>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceSnapshot {
    pub schema: BalanceSchema,
    pub account: String,
    /// Connector instance, e.g. `fireblocks-main`.
    pub source: String,
    pub source_kind: SourceKind,
    pub venue: String,
    pub sub_account: Option<String>,
    pub wallet: Option<String>,
    /// Canonical asset code.
    pub asset: String,
    /// The venue's own code (`XXBT`, `eth:usdc`).
    pub venue_asset: String,
    /// The chain the holding is on, when the venue's code says (`USDC_POLYGON` -> `POLYGON`),
    /// from the asset registry; null when the code names no network.
    pub network: Option<String>,
    pub total: Decimal,
    pub available: Decimal,
    pub locked: Decimal,
    pub borrowed: Option<Decimal>,
    pub pending: Option<Decimal>,
    /// The venue's own time for this balance (its last change, or the report's time), else
    /// `received_at`. Not a freshness: a dormant account's last change may be days old.
    pub as_of: Ts,
    /// When we last confirmed this balance: the poll's response or the stream message that
    /// carried it. Staleness (collateral.md step 1) is measured from here.
    pub received_at: Ts,
    /// The asset's unrealized P&L at the venue beside `total` (the wallet balance), when the
    /// venue reports one (derivatives settled in this asset); margin.md section 1 says how much
    /// of it counts (`[margin] unrealized_pnl`).
    pub unrealized_pnl: Option<Decimal>,
}

/// Status of a reference price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PriceStatus {
    Ok,
    Degraded,
    Stale,
    Unavailable,
}

impl PriceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceStatus::Ok => "OK",
            PriceStatus::Degraded => "DEGRADED",
            PriceStatus::Stale => "STALE",
            PriceStatus::Unavailable => "UNAVAILABLE",
        }
    }
    /// A price a consumer may use as current (`OK` or `DEGRADED`).
    pub fn is_usable(self) -> bool {
        matches!(self, PriceStatus::Ok | PriceStatus::Degraded)
    }
}

/// Why a constituent was left out of a reference price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExclusionReason {
    Stale,
    FutureTs,
    Frozen,
    CrossedBook,
    WideSpread,
    NonPositive,
    FxUnavailable,
    Outlier,
    OutlierHysteresis,
    NoData,
}

impl ExclusionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ExclusionReason::Stale => "STALE",
            ExclusionReason::FutureTs => "FUTURE_TS",
            ExclusionReason::Frozen => "FROZEN",
            ExclusionReason::CrossedBook => "CROSSED_BOOK",
            ExclusionReason::WideSpread => "WIDE_SPREAD",
            ExclusionReason::NonPositive => "NON_POSITIVE",
            ExclusionReason::FxUnavailable => "FX_UNAVAILABLE",
            ExclusionReason::Outlier => "OUTLIER",
            ExclusionReason::OutlierHysteresis => "OUTLIER_HYSTERESIS",
            ExclusionReason::NoData => "NO_DATA",
        }
    }
}

/// How a constituent's source price was formed (reference-price.md step 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PriceType {
    Mid,
    Last,
}

/// One configured source of a reference price, included or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Constituent {
    // SharedStr: shared with the calculator's source config, so a record per tick clones no
    // names (a plain JSON string on the wire and in the JSON Schema).
    pub venue: SharedStr,
    pub connector: SharedStr,
    pub instrument: SharedStr,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub last: Option<Decimal>,
    /// Mid or last, in the instrument's own quote asset.
    pub source_price: Option<Decimal>,
    /// `mid` or `last` (added to the contract: reference-price.md asks to record it).
    pub price_type: Option<PriceType>,
    /// Conversion rate into the reference quote; null when no conversion.
    pub fx_rate: Option<Decimal>,
    /// In the reference quote.
    pub price: Option<Decimal>,
    pub weight: Option<Decimal>,
    pub exchange_ts: Option<Ts>,
    pub received_at: Option<Ts>,
    pub age_ms: Option<i64>,
    /// Signed deviation from the unweighted median of the fresh sources, in basis points, 2 dp.
    pub dev_bps: Option<Decimal>,
    pub included: bool,
    pub exclusion_reason: Option<ExclusionReason>,
}

/// `reference_price.v1`: one median reference price. Topic `collateral.reference-prices.v1`,
/// key `<base>-<quote>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferencePrice {
    pub schema: ReferencePriceSchema,
    pub base: String,
    pub quote: String,
    pub price: Option<Decimal>,
    pub status: PriceStatus,
    pub reasons: Vec<String>,
    /// The as-of cut.
    pub calc_time: Ts,
    /// +1 for every record of the same key.
    pub seq: u64,
    pub conf: Option<Decimal>,
    pub price_low: Option<Decimal>,
    pub price_high: Option<Decimal>,
    pub n_configured: u32,
    pub n_fresh: u32,
    pub n_valid: u32,
    pub last_good_price: Option<Decimal>,
    pub last_good_time: Option<Ts>,
    pub method_version: String,
    pub params_hash: String,
    pub input_digest: String,
    pub constituents: Vec<Constituent>,
}

/// One source's share of an asset holding in a collateral report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceQuantity {
    pub source: String,
    pub quantity: Decimal,
    /// The venue's time for the balance (see `balance.v1`).
    pub as_of: Ts,
    /// Stale when not confirmed within the source kind's `max_balance_age`.
    pub stale: bool,
    /// The chain of this holding, if the venue's code names one (`balance.v1` `network`).
    pub network: Option<String>,
    /// The venue's own code for the holding.
    pub venue_asset: String,
    /// When the balance was last confirmed (`balance.v1` `received_at`).
    pub confirmed_at: Ts,
    /// The unrealized P&L of this holding that counts in `quantity`'s asset (margin.md section
    /// 1: with `losses_only`, a loss only); null when none counts.
    pub unrealized_pnl: Option<Decimal>,
}

/// A balance whose venue code the asset registry cannot map: shown, counting 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmappedHolding {
    pub source: String,
    pub venue: String,
    pub venue_asset: String,
    pub quantity: Decimal,
    pub as_of: Ts,
    pub confirmed_at: Ts,
    pub stale: bool,
    /// Why it is not mapped (unknown code, ambiguous code).
    pub reason: String,
}

/// A source of the account that has not delivered a balance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingSource {
    pub source: String,
    pub source_kind: SourceKind,
    /// `AWAITING_BALANCES` (still within its staleness limit since start) or `NO_BALANCES`
    /// (past it: counted 0).
    pub reason: String,
}

/// One haircut slice of an asset's market value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierSlice {
    pub from: Decimal,
    /// Null for the open-ended top slice.
    pub to: Option<Decimal>,
    pub haircut: Decimal,
    pub market_value: Decimal,
    pub collateral_value: Decimal,
}

/// One asset of a collateral report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetValuation {
    pub asset: String,
    pub quantity: Decimal,
    pub by_source: Vec<SourceQuantity>,
    pub price: Option<Decimal>,
    pub price_status: PriceStatus,
    pub market_value: Decimal,
    pub tiers: Vec<TierSlice>,
    pub collateral_value_pre_cap: Decimal,
    pub cap_excess: Decimal,
    pub collateral_value: Decimal,
    pub flags: Vec<String>,
    /// Encumbrance (compliance.md section 3), null unless the account configures it: the
    /// custodian's locked quantity that an exchange credits (`mirrors`), counted once.
    pub mirrored: Option<Decimal>,
    /// The exchange's credit above the mirrored quantity (`UNSETTLED_PNL`).
    pub exchange_exposure: Option<Decimal>,
    /// The exchange's credit below the mirrored quantity (`MIRROR_SHORTFALL`).
    pub mirror_shortfall: Option<Decimal>,
    /// Quantity pledged onward (`pledges`), of `quantity` as counted.
    pub pledged: Option<Decimal>,
    /// max(0, quantity - pledged).
    pub unencumbered: Option<Decimal>,
    /// max(0, pledged - quantity) (`OVERPLEDGED` when above 0).
    pub overpledged: Option<Decimal>,
}

/// Status of an account's collateral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CollateralStatus {
    Ok,
    MarginCall,
    NoRequirement,
    Degraded,
}

/// `collateral_report.v1`: the consolidated collateral of one account. Topic
/// `collateral.reports.v1`, key `<account>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollateralReport {
    pub schema: CollateralReportSchema,
    pub account: String,
    pub calc_time: Ts,
    pub seq: u64,
    pub assets: Vec<AssetValuation>,
    pub market_value_total: Decimal,
    pub collateral_value_total: Decimal,
    pub requirement: Option<Decimal>,
    pub coverage: Option<Decimal>,
    pub deficit: Option<Decimal>,
    pub status: CollateralStatus,
    pub flags: Vec<String>,
    pub method_version: String,
    pub params_hash: String,
    pub input_digest: String,
    /// Balances whose asset cannot be mapped: listed with venue code, source and quantity,
    /// counting 0 (flag `UNMAPPED_ASSET`). Nothing held silently vanishes.
    pub unmapped: Vec<UnmappedHolding>,
    /// Configured balance sources of the account with no balance yet (or no longer).
    pub missing_sources: Vec<MissingSource>,
    /// Market value of the pledges the counterparty may re-use (compliance.md 3.3); null
    /// without reuse terms or reusable pledges.
    pub reuse_value: Option<Decimal>,
    /// `reuse_cap_pct` % of `debit_balance`, rounded down to cents.
    pub reuse_cap: Option<Decimal>,
    /// reuse_value - reuse_cap when above 0, rounded up to cents (`REUSE_CAP_BREACH`).
    pub reuse_excess: Option<Decimal>,
}

/// State of one connector stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum FeedState {
    Connecting,
    Live,
    Stale,
    Reconnecting,
    Down,
}

impl FeedState {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::Connecting => "CONNECTING",
            FeedState::Live => "LIVE",
            FeedState::Stale => "STALE",
            FeedState::Reconnecting => "RECONNECTING",
            FeedState::Down => "DOWN",
        }
    }
}

/// `feed_status.v1`: emitted on every state change of a connector stream and every 30 s.
/// Topic `collateral.feed-status.v1`, key `<connector>/<stream>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedStatus {
    pub schema: FeedStatusSchema,
    pub connector: String,
    pub venue: String,
    /// e.g. `ticker:BTC-USDT`, `balances`.
    pub stream: String,
    pub state: FeedState,
    pub epoch: u64,
    /// When this state began.
    pub since: Ts,
    /// Last frame that carried data (heartbeats do not count).
    pub last_data_at: Option<Ts>,
    /// Human-readable cause.
    pub reason: Option<String>,
}
