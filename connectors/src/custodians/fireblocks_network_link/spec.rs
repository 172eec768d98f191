//! `fireblocks_network_link` declared as data (see [`crate::spec`]): a Network Link v2
//! provider's balances over REST.

use crate::spec::{RestSpec, VenueSpec};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Custodian,
    prices: None,
    balances: Some(RestSpec {
        // No shared production host: every provider has its own, so `rest_url` must be set
        // (the spec's `servers` names only a local test server). This placeholder never
        // resolves.
        rest_url: "https://network-link-provider.invalid/v2",
        // Our conservative choice (the spec publishes no number): 10 requests per second per
        // key.
        rate_limit: RateLimit {
            capacity: 10,
            per: Duration::from_secs(1),
        },
        scope: BudgetScope::Key,
    }),
    aliases: &[],
    samples: &[],
    described_by: None,
};
