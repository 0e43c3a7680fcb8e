//! The `format` keyword's four formats, checked by hand: `date-time`
//! (RFC 3339), `email` (an address as people and backends use it), `uri`
//! (RFC 3986, absolute: a scheme and what follows) and `uuid` (RFC 4122's
//! 8-4-4-4-12 hex).
//!
//! Hand-written because the browser build ships this module (a date or URL
//! crate would cost the page more than the plan checker itself). This module
//! decides only whether a string has a format; which formats exist and the
//! messages are [`Format`]'s.

/// A format a plan may ask of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 3339 date and time, e.g. `2026-12-03T14:05:00.123Z`.
    DateTime,
    /// An email address, e.g. `ada@example.com`.
    Email,
    /// An absolute URI, e.g. `https://example.com/a?b=c`.
    Uri,
    /// A UUID, e.g. `123e4567-e89b-12d3-a456-426614174000`.
    Uuid,
}

impl Format {
    /// The format named `name` in a plan.
    pub fn named(name: &str) -> Option<Format> {
        Some(match name {
            "date-time" => Format::DateTime,
            "email" => Format::Email,
            "uri" => Format::Uri,
            "uuid" => Format::Uuid,
            _ => return None,
        })
    }

    /// The name a plan uses.
    pub fn name(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Email => "email",
            Format::Uri => "uri",
            Format::Uuid => "uuid",
        }
    }

    /// How a violation describes it: `a date-time (RFC 3339, e.g. …)`.
    pub fn expected(self) -> &'static str {
        match self {
            Format::DateTime => "a date-time (RFC 3339, e.g. \"2026-12-03T14:05:00Z\")",
            Format::Email => "an email address (e.g. \"ada@example.com\")",
            Format::Uri => "an absolute URI (e.g. \"https://example.com/a\")",
            Format::Uuid => "a UUID (e.g. \"123e4567-e89b-12d3-a456-426614174000\")",
        }
    }

    /// Whether `s` has this format.
    pub fn matches(self, s: &str) -> bool {
        match self {
            Format::DateTime => is_date_time(s.as_bytes()),
            Format::Email => is_email(s),
            Format::Uri => is_uri(s.as_bytes()),
            Format::Uuid => is_uuid(s.as_bytes()),
        }
    }
}

/// `n` ASCII digits at the start of `b`, as a number; the rest.
fn digits(b: &[u8], n: usize) -> Option<(u32, &[u8])> {
    // `get`, not indexing: no panic path (and its formatting) in the browser build.
    let (head, rest) = (b.get(..n)?, b.get(n..)?);
    if !head.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = head
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some((v, rest))
}

fn expect(b: &[u8], c: u8) -> Option<&[u8]> {
    match b.split_first() {
        Some((&x, rest)) if x == c => Some(rest),
        _ => None,
    }
}

fn is_date_time(b: &[u8]) -> bool {
    date_time(b).is_some()
}

fn date_time(b: &[u8]) -> Option<()> {
    let (year, b) = digits(b, 4)?;
    let (month, b) = digits(expect(b, b'-')?, 2)?;
    let (day, b) = digits(expect(b, b'-')?, 2)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days {
        return None;
    }
    let b = match b.split_first() {
        Some((b'T' | b't' | b' ', rest)) => rest,
        _ => return None,
    };
    let (hour, b) = digits(b, 2)?;
    let (minute, b) = digits(expect(b, b':')?, 2)?;
    // 60: a leap second.
    let (second, mut b) = digits(expect(b, b':')?, 2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if let Some(rest) = expect(b, b'.') {
        let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        b = rest.get(n..)?;
    }
    match b {
        [b'Z' | b'z'] => Some(()),
        [b'+' | b'-', rest @ ..] => {
            let (oh, rest) = digits(rest, 2)?;
            let (om, rest) = digits(expect(rest, b':')?, 2)?;
            (rest.is_empty() && oh <= 23 && om <= 59).then_some(())
        }
        _ => None,
    }
}

fn is_email(s: &str) -> bool {
    let Some(at) = s.rfind('@') else {
        return false;
    };
    let (Some(local), Some(domain)) = (s.get(..at), s.get(at + 1..)) else {
        return false;
    };
    let printable = |c: char| !c.is_control() && !c.is_whitespace();
    !local.is_empty()
        && local.len() <= 64
        && local.chars().all(|c| printable(c) && c != '@')
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_uri(b: &[u8]) -> bool {
    // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
    let scheme = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        .count();
    if scheme == 0
        || !b.first().is_some_and(u8::is_ascii_alphabetic)
        || b.get(scheme) != Some(&b':')
    {
        return false;
    }
    let rest = b.get(scheme + 1..).unwrap_or_default();
    // What RFC 3986 allows after the scheme: unreserved, reserved and
    // percent-encoded characters; no spaces, quotes, braces or controls.
    let mut i = 0;
    while let Some(&c) = rest.get(i) {
        if c == b'%' {
            let hex = |k: usize| rest.get(k).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        let allowed = c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c);
        if !allowed {
            return false;
        }
        i += 1;
    }
    true
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: Format, good: &[&str], bad: &[&str]) {
        for s in good {
            assert!(f.matches(s), "{} should accept {s:?}", f.name());
        }
        for s in bad {
            assert!(!f.matches(s), "{} should refuse {s:?}", f.name());
        }
    }

    #[test]
    fn date_time_is_rfc_3339() {
        check(
            Format::DateTime,
            &[
                "2026-12-03T14:05:00Z",
                "2026-12-03t14:05:00.123456z",
                "2024-02-29T23:59:60+01:00",
                "1999-01-01 00:00:00-05:30",
            ],
            &[
                "2026-12-03",
                "2026-13-03T14:05:00Z",
                "2023-02-29T10:00:00Z",
                "2026-12-03T24:00:00Z",
                "2026-12-03T14:05:00",
                "2026-12-03T14:05:00.Z",
                "2026-12-03T14:05:00+0100",
                "yesterday",
                "",
            ],
        );
    }

    #[test]
    fn email_uri_uuid() {
        check(
            Format::Email,
            &["ada@example.com", "a.b+tag@sub.example.co", "ü@bücher.de"],
            &[
                "ada",
                "@example.com",
                "ada@",
                "ada@exa mple.com",
                "a b@x.com",
                "ada@-x.com",
                "ada@x..com",
            ],
        );
        check(
            Format::Uri,
            &[
                "https://example.com/a?b=c#d",
                "mailto:ada@example.com",
                "urn:isbn:0451450523",
                "x:%20",
            ],
            &[
                "example.com/a",
                "/relative",
                "1http://x",
                "https://exa mple.com",
                "http://x/%2",
                "http://x/\"q\"",
            ],
        );
        check(
            Format::Uuid,
            &[
                "123e4567-e89b-12d3-a456-426614174000",
                "00000000-0000-0000-0000-00000000000A",
            ],
            &[
                "123e4567e89b12d3a456426614174000",
                "123e4567-e89b-12d3-a456-42661417400g",
                "",
            ],
        );
    }
}
