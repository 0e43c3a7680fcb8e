//! Differential property tests of `cairn::text`'s integer reading and
//! writing (hand-written, one small function instead of the standard
//! library's generic parser per type) against `str::parse` and `Display`.
//!
//! Properties: for arbitrary strings, and for strings built to be near what
//! parses (signs, leading zeros, the overflow boundaries of `u64` and
//! `i64`, whitespace, non-ASCII digits, empty), `parse_u64` is
//! `str::parse::<u64>().ok()` and `parse_i64` is `str::parse::<i64>().ok()`;
//! `u64_text`/`i64_text` write what `to_string` writes. No documented
//! difference.
//!
//! Case counts: `config(n)` per property, or `CAIRN_PROPTEST_CASES` each:
//!
//! ```text
//! CAIRN_PROPTEST_CASES=2000000 cargo test --release -p cairn --test text_differential
//! ```

use cairn::text::{i64_text, parse_i64, parse_u64, u64_text};
use proptest::prelude::*;
use proptest::sample::select;

mod common;
use common::config;

fn same_as_std(text: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(parse_u64(text), text.parse::<u64>().ok(), "u64 {:?}", text);
    prop_assert_eq!(parse_i64(text), text.parse::<i64>().ok(), "i64 {:?}", text);
    Ok(())
}

/// Numbers near the edges: a sign (or two), leading zeros, digits around
/// `u64::MAX` and `i64::MIN`/`MAX`, and now and then something else.
fn numberish() -> impl Strategy<Value = String> {
    let sign = prop_oneof![
        4 => Just(""),
        2 => Just("-"),
        2 => Just("+"),
        1 => select(vec!["--", "+-", "-+", "++", " ", "\u{2212}"]),
    ];
    let zeros = prop_oneof![4 => Just(String::new()), 1 => "0{1,25}"];
    let boundary = select(vec![
        u64::MAX as i128,
        i64::MAX as i128,
        i64::MIN as i128,
        u32::MAX as i128,
        0,
    ]);
    let digits = prop_oneof![
        4 => any::<u64>().prop_map(|n| n.to_string()),
        4 => (boundary, -3i128..=3).prop_map(|(b, d)| (b + d).unsigned_abs().to_string()),
        2 => "[0-9]{0,25}",
        1 => any::<u128>().prop_map(|n| n.to_string()),
    ];
    let tail = prop_oneof![
        8 => Just(""),
        1 => select(vec![" ", "\n", "x", ".0", "e3", "٣", "_0", "\u{0}"]),
    ];
    (sign, zeros, digits, tail).prop_map(|(s, z, d, t)| format!("{s}{z}{d}{t}"))
}

proptest! {
    #![proptest_config(config(30_000))]

    #[test]
    fn any_text_parses_as_str_parse_parses_it(text in any::<String>()) {
        same_as_std(&text)?;
    }

    #[test]
    fn number_like_text_parses_as_str_parse_parses_it(text in numberish()) {
        same_as_std(&text)?;
    }

    #[test]
    fn numbers_are_written_as_display_writes_them(u in any::<u64>(), i in any::<i64>()) {
        prop_assert_eq!(u64_text(u), u.to_string());
        prop_assert_eq!(i64_text(i), i.to_string());
        prop_assert_eq!(parse_u64(&u64_text(u)), Some(u));
        prop_assert_eq!(parse_i64(&i64_text(i)), Some(i));
    }
}
