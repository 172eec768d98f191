//! `fireblocks` declared as data (see [`crate::spec`]): vault balances over REST.

use crate::spec::{RestSpec, VenueSpec};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    source_kind: SourceKind::Custodian,
    prices: None,
    balances: Some(RestSpec {
        rest_url: "https://api.fireblocks.io",
        // Our conservative choice (no published number): 5 requests per second per API user.
        rate_limit: RateLimit {
            capacity: 5,
            per: Duration::from_secs(1),
        },
        scope: BudgetScope::Key,
    }),
    aliases: &[
        ("USDT_ERC20", "USDT"),
        ("TRX_USDT_S2UZ", "USDT"),
        ("BNB_BSC", "BNB"),
        ("ATOM_COS", "ATOM"),
    ],
    samples: &[],
    described_by: None,
};
