//! Writing JSON text by hand, for the few shapes cairn writes on every event
//! (the envelope around already-valid properties and context).
//!
//! It decides only how a Rust string becomes a JSON string literal: `"` and
//! `\` are escaped, control characters below U+0020 become `\n`, `\t`, ...
//! or `\u00XX`, everything else is copied as UTF-8. Which fields to write,
//! and in what order, is the caller's business ([`crate::model::encode`]).
//! Parsing, and writing whole values, is [`crate::json`]'s.

use crate::prelude::*;

/// Appends `s` to `out` as a quoted JSON string.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    // Most names and ids need no escaping: copy them in one go. The fold has
    // no early exit, so it compiles to a vectorised scan.
    if !s.bytes().fold(false, |found, b| found | needs_escape(b)) {
        out.push_str(s);
    } else {
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            if !needs_escape(b) {
                continue;
            }
            // Slices by `get`: it cannot fail here, and no panic path is compiled in.
            out.push_str(s.get(start..i).unwrap_or_default());
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u00");
                    out.push(HEX[(b >> 4) as usize] as char);
                    out.push(HEX[(b & 0xf) as usize] as char);
                }
            }
            // Escaped bytes are ASCII, so i + 1 is a char boundary.
            start = i + 1;
        }
        out.push_str(s.get(start..).unwrap_or_default());
    }
    out.push('"');
}

/// Appends `,"key":` (or `"key":` as the first member) to `out`. `key` is
/// one of the caller's own field names, written as is: it must need no
/// escaping.
pub fn push_key(out: &mut String, key: &str) {
    debug_assert!(!key.bytes().any(needs_escape), "field names are plain");
    if !out.ends_with('{') {
        out.push(',');
    }
    out.push('"');
    out.push_str(key);
    out.push_str("\":");
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_back_as_they_were() {
        for s in [
            "",
            "plain",
            "quote \" back \\ slash",
            "line\nfeed\ttab\r\u{8}\u{c}",
            "\u{1}\u{1f}",
            "ünïcødé ✔ 😀",
            "</script>",
        ] {
            let mut out = String::new();
            push_string(&mut out, s);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s, "{out}");
            assert_eq!(
                out,
                serde_json::to_string(s).unwrap(),
                "same text as serde_json"
            );
        }
    }

    #[test]
    fn keys_are_separated_by_commas() {
        let mut out = String::from("{");
        push_key(&mut out, "a");
        out.push('1');
        push_key(&mut out, "b");
        out.push_str("true}");
        assert_eq!(out, r#"{"a":1,"b":true}"#);
    }
}
