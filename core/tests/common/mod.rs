//! What the differential property tests share.

use proptest::prelude::ProptestConfig;

/// `cases` cases per property, or as many as `CAIRN_PROPTEST_CASES` says
/// (the long run: `CAIRN_PROPTEST_CASES=2000000 cargo test --release -p cairn`).
/// Bugs found become named regression tests, not persisted files.
pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("CAIRN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
