//! Topic names, Kafka keys and the record envelope the publisher writes.

use crate::margin::{PositionRecord, VenueMarginRecord};
use crate::records::*;
use crate::risk::{CollateralRiskRecord, MarginCallRecord, StressReportRecord};
use serde::Serialize;

/// Topic names for one prefix (`collateral` by default): `<prefix>.<name>.v1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicNames {
    pub prices: String,
    pub balances: String,
    pub reference_prices: String,
    pub reports: String,
    pub feed_status: String,
    pub margin_requirements: String,
    pub venue_margin: String,
    pub positions: String,
    pub margin_calls: String,
    pub stress: String,
    pub risk: String,
}

impl TopicNames {
    pub const DEFAULT_PREFIX: &'static str = "collateral";

    pub fn new(prefix: &str) -> Self {
        TopicNames {
            prices: format!("{prefix}.prices.v1"),
            balances: format!("{prefix}.balances.v1"),
            reference_prices: format!("{prefix}.reference-prices.v1"),
            reports: format!("{prefix}.reports.v1"),
            feed_status: format!("{prefix}.feed-status.v1"),
            margin_requirements: format!("{prefix}.margin-requirements.v1"),
            venue_margin: format!("{prefix}.venue-margin.v1"),
            positions: format!("{prefix}.positions.v1"),
            margin_calls: format!("{prefix}.margin-calls.v1"),
            stress: format!("{prefix}.stress.v1"),
            risk: format!("{prefix}.risk.v1"),
        }
    }

    /// The topics this service writes (created at start-up if missing).
    pub fn produced(&self) -> [&str; 10] {
        [
            &self.prices,
            &self.balances,
            &self.reference_prices,
            &self.reports,
            &self.feed_status,
            &self.venue_margin,
            &self.positions,
            &self.margin_calls,
            &self.stress,
            &self.risk,
        ]
    }
}

impl Default for TopicNames {
    fn default() -> Self {
        TopicNames::new(Self::DEFAULT_PREFIX)
    }
}

/// Which topic a record goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicKind {
    Prices,
    Balances,
    ReferencePrices,
    Reports,
    FeedStatus,
    VenueMargin,
    Positions,
    MarginCalls,
    Stress,
    Risk,
}

/// Any record the pipeline emits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Record {
    PriceTick(PriceTick),
    Balance(BalanceSnapshot),
    ReferencePrice(ReferencePrice),
    CollateralReport(CollateralReport),
    FeedStatus(FeedStatus),
    VenueMargin(VenueMarginRecord),
    Position(PositionRecord),
    MarginCall(MarginCallRecord),
    StressReport(StressReportRecord),
    CollateralRisk(CollateralRiskRecord),
}

impl Record {
    pub fn schema(&self) -> &'static str {
        match self {
            Record::PriceTick(_) => PriceTickSchema::VALUE,
            Record::Balance(_) => BalanceSchema::VALUE,
            Record::ReferencePrice(_) => ReferencePriceSchema::VALUE,
            Record::CollateralReport(_) => CollateralReportSchema::VALUE,
            Record::FeedStatus(_) => FeedStatusSchema::VALUE,
            Record::VenueMargin(_) => crate::margin::VenueMarginSchema::VALUE,
            Record::Position(_) => crate::margin::PositionSchema::VALUE,
            Record::MarginCall(_) => crate::risk::MarginCallSchema::VALUE,
            Record::StressReport(_) => crate::risk::StressReportSchema::VALUE,
            Record::CollateralRisk(_) => crate::risk::CollateralRiskSchema::VALUE,
        }
    }

    pub fn topic_kind(&self) -> TopicKind {
        match self {
            Record::PriceTick(_) => TopicKind::Prices,
            Record::Balance(_) => TopicKind::Balances,
            Record::ReferencePrice(_) => TopicKind::ReferencePrices,
            Record::CollateralReport(_) => TopicKind::Reports,
            Record::FeedStatus(_) => TopicKind::FeedStatus,
            Record::VenueMargin(_) => TopicKind::VenueMargin,
            Record::Position(_) => TopicKind::Positions,
            Record::MarginCall(_) => TopicKind::MarginCalls,
            Record::StressReport(_) => TopicKind::Stress,
            Record::CollateralRisk(_) => TopicKind::Risk,
        }
    }

    pub fn topic<'a>(&self, names: &'a TopicNames) -> &'a str {
        match self.topic_kind() {
            TopicKind::Prices => &names.prices,
            TopicKind::Balances => &names.balances,
            TopicKind::ReferencePrices => &names.reference_prices,
            TopicKind::Reports => &names.reports,
            TopicKind::FeedStatus => &names.feed_status,
            TopicKind::VenueMargin => &names.venue_margin,
            TopicKind::Positions => &names.positions,
            TopicKind::MarginCalls => &names.margin_calls,
            TopicKind::Stress => &names.stress,
            TopicKind::Risk => &names.risk,
        }
    }

    /// The Kafka key of records.md.
    pub fn key(&self) -> String {
        match self {
            Record::PriceTick(r) => r.base.to_string(),
            Record::Balance(r) => format!("{}/{}/{}", r.account, r.source, r.asset),
            Record::ReferencePrice(r) => format!("{}-{}", r.base, r.quote),
            Record::CollateralReport(r) => r.account.clone(),
            Record::FeedStatus(r) => format!("{}/{}", r.connector, r.stream),
            Record::VenueMargin(r) => r.key(),
            Record::Position(r) => r.key(),
            Record::MarginCall(r) => r.account.clone(),
            Record::StressReport(r) => r.account.clone(),
            Record::CollateralRisk(r) => r.account.clone(),
        }
    }

    /// The part of the key that chooses the partition: `<account>` for balances (so one
    /// aggregator owns whole accounts), the whole key otherwise.
    pub fn partition_key(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Record::Balance(r) => std::borrow::Cow::Borrowed(r.account.as_str()),
            Record::VenueMargin(r) => std::borrow::Cow::Borrowed(r.account.as_str()),
            Record::Position(r) => std::borrow::Cow::Borrowed(r.account.as_str()),
            other => std::borrow::Cow::Owned(other.key()),
        }
    }

    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out);
        String::from_utf8(out).expect("JSON of UTF-8 strings is UTF-8")
    }
}
