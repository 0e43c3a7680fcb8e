//! Differential property tests of `cairn::ids` (UUID text written by hand)
//! against the `uuid` crate.
//!
//! Properties: every message id and random UUID cairn makes parses with
//! `uuid::Uuid::parse_str`, is written back by `uuid` as the same text
//! (lower-case, hyphenated), and has the right version (8 for message ids,
//! 4 for random ones) and the RFC 9562 variant; message ids of one thread
//! count up by one in their last 48 bits and keep their 74-bit prefix until
//! `rotate`. The private parts are checked in `ids.rs`'s own tests, for
//! arbitrary 128-bit values: the text is `uuid`'s, and the version and
//! variant bits are set as `uuid::Builder` sets them.
//!
//! Case counts: `config(n)` per property, or `CAIRN_PROPTEST_CASES` each:
//!
//! ```text
//! CAIRN_PROPTEST_CASES=2000000 cargo test --release -p cairn --test ids_differential
//! CAIRN_PROPTEST_CASES=2000000 cargo test --release -p cairn --lib ids::
//! ```

use cairn::ids::{message_id, random_uuid, rotate, MESSAGE_ID_BYTES};
use proptest::prelude::*;
use uuid::{Uuid, Variant};

mod common;
use common::config;

/// The id as `uuid` reads it, checked to be written back the same.
fn read(id: &str) -> Result<Uuid, TestCaseError> {
    prop_assert_eq!(id.len(), MESSAGE_ID_BYTES);
    let u = Uuid::parse_str(id).map_err(|e| TestCaseError::fail(format!("{id}: {e}")))?;
    prop_assert_eq!(u.hyphenated().to_string(), id);
    prop_assert_eq!(u.get_variant(), Variant::RFC4122, "{}", id);
    Ok(u)
}

proptest! {
    #![proptest_config(config(20_000))]

    /// A run of `n` ids, sometimes with a rotation in the middle.
    #[test]
    fn message_ids_are_uuids_that_count(n in 1usize..6, rotate_at in proptest::option::of(0usize..6)) {
        let mut previous: Option<u128> = None;
        for i in 0..n {
            if rotate_at == Some(i) {
                rotate();
                previous = None;
            }
            let u = read(&message_id())?;
            prop_assert_eq!(u.get_version_num(), 8);
            let v = u.as_u128();
            if let Some(p) = previous {
                // Tests run in parallel threads; ids are per thread, so only
                // a rotation elsewhere can start a new prefix here.
                if p >> 48 == v >> 48 {
                    prop_assert_eq!(v, p + 1, "{:032x} after {:032x}", v, p);
                } else {
                    prop_assert_eq!(v & 0xFFFF_FFFF_FFFF, 1);
                }
            }
            previous = Some(v);
        }
    }

    #[test]
    fn random_uuids_are_version_4(_i in 0..1u8) {
        let a = read(&random_uuid())?;
        prop_assert_eq!(a.get_version_num(), 4);
        prop_assert_ne!(a, read(&random_uuid())?);
    }
}
