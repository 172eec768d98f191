//! `generic_rest` declared as data (see [`crate::spec`]): a custodian described by the
//! connector's `[connectors.generic]` table. The figures config sets (source kind, requests
//! per minute) are read from that table at run time by `GenericRest`, which overrides the
//! trait methods; the values here are what the kind means before a table is read.

use crate::spec::{RestSpec, VenueSpec};
use crate::transport::rest::{BudgetScope, RateLimit};
use schemas::SourceKind;
use std::time::Duration;

pub const SPEC: VenueSpec = VenueSpec {
    kind: super::KIND,
    // The table's `source_kind` (default custodian).
    source_kind: SourceKind::Custodian,
    prices: None,
    balances: Some(RestSpec {
        // None: `rest_url` is required outside the simulator.
        rest_url: "",
        // The table's `requests_per_minute`; this is only the unread default.
        rate_limit: RateLimit {
            capacity: 60,
            per: Duration::from_secs(60),
        },
        scope: BudgetScope::Key,
    }),
    aliases: &[],
    samples: &[],
    described_by: Some("generic"),
};
