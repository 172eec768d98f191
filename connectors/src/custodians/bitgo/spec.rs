//! `bitgo` declared as data (see [`crate::spec`]): wallet balances over REST.

use crate::spec::{RestSpec, VenueSpec};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Custodian,
    prices: None,
    balances: Some(RestSpec {
        rest_url: "https://app.bitgo.com",
        // 360 requests / 60 s per authenticated user (BitGo rate-limits reference).
        rate_limit: RateLimit {
            capacity: 360,
            per: Duration::from_secs(60),
        },
        scope: BudgetScope::Key,
    }),
    aliases: super::coins::ALIASES,
    samples: &[],
    described_by: None,
};
