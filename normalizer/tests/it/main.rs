//! The normalizer's integration tests, one binary (one link of rdkafka instead of one per file).

mod encumbrance;
mod jsonl;
mod kafka_mock;
mod margin_examples;
mod margin_fixings;
mod margin_golden;
mod margin_props;
mod margin_support;
mod reference_digest;
mod reference_examples;
mod reference_parallel;
mod reference_props;
mod valuation_examples;
mod valuation_props;
mod valuation_truth;
mod venue_margin;
