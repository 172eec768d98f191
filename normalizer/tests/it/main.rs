//! The normalizer's integration tests, one binary (one link of rdkafka instead of one per file).

mod encumbrance;
mod jsonl;
mod kafka_mock;
mod reference_digest;
mod reference_examples;
mod reference_parallel;
mod reference_props;
mod valuation_examples;
mod valuation_props;
mod valuation_truth;
mod venue_margin;
