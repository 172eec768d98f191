//! `coinbase_prime` declared as data (see [`crate::spec`]): portfolio balances over REST.

use crate::spec::{RestSpec, VenueSpec};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Custodian,
    prices: None,
    balances: Some(RestSpec {
        rest_url: "https://api.prime.coinbase.com",
        // 25 requests/s per portfolio (Prime REST rate limits).
        rate_limit: RateLimit {
            capacity: 25,
            per: Duration::from_secs(1),
        },
        scope: BudgetScope::Key,
    }),
    aliases: &[],
    samples: &[],
    described_by: None,
};
