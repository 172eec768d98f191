//! The schemas' integration tests, one binary. Goldens stay in `tests/golden/`.

mod golden;
mod json_schema;
mod risk;
mod support;
mod write;
