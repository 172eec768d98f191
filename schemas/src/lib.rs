//! Canonical records of Collateral Tracker: the public contract of `../shared/spec/records.md`.
//!
//! Every record serializes to one JSON object whose first field is `"schema": "<name>.v1"`;
//! decimals are JSON strings in plain notation, times are RFC 3339 UTC with microseconds and
//! optional fields are present as `null`. The golden tests in `tests/golden.rs` pin each shape and
//! `tests/json_schema.rs` fails when `json/*.schema.json` drift from these types.

pub mod ids;
pub mod observation;
#[macro_use]
pub mod records;
pub mod margin;
pub mod risk;
pub mod shared;
pub mod time;
pub mod topics;
pub mod write;

pub use margin::*;
pub use observation::{split_held, BalanceObs, Observation, QuoteObs, SourceRef};
pub use records::*;
pub use risk::*;
pub use shared::SharedStr;
pub use time::Ts;
pub use topics::{Record, TopicNames};

/// Re-exported so every crate agrees on one decimal type (house rule 1).
pub use rust_decimal::Decimal;

/// JSON Schema of a record type, as published in `schemas/json/`.
///
/// Every property is required: records.md says optional fields are present as `null`, never
/// missing, and schemars leaves `Option` fields out of `required` unless told.
pub fn json_schema_for<T: schemars::JsonSchema>() -> schemars::schema::RootSchema {
    use schemars::visit::{visit_schema_object, Visitor};
    #[derive(Debug, Clone)]
    struct AllRequired;
    impl Visitor for AllRequired {
        fn visit_schema_object(&mut self, schema: &mut schemars::schema::SchemaObject) {
            if let Some(obj) = schema.object.as_mut() {
                obj.required = obj.properties.keys().cloned().collect();
            }
            visit_schema_object(self, schema);
        }
    }
    schemars::gen::SchemaSettings::draft07()
        .with_visitor(AllRequired)
        .into_generator()
        .into_root_schema_for::<T>()
}
