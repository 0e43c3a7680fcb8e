//! Differential property tests of `cairn::time` (hand-written date code)
//! against `chrono` (ISO-8601 / RFC 3339) and `httpdate` (HTTP dates, as
//! `Retry-After` carries them).
//!
//! Properties:
//! - formatting: `iso8601_ms` writes what `chrono` writes for the same
//!   instant (`to_rfc3339_opts(Millis, true)`), for every instant with a
//!   four-digit year, and `parse_iso8601_ms` reads it back; so does
//!   `Iso8601Text`, which keeps the last second's text, over runs of
//!   instants;
//! - ISO-8601 parsing: on timestamps built from random fields (months 0-13,
//!   days 0-32, hours 0-24, leap years, offsets, fractions, separators)
//!   and on mutated ones, the same verdict and the same instant as
//!   `chrono::DateTime::parse_from_rfc3339`;
//! - HTTP dates: every date `httpdate` reads (IMF-fixdate, RFC 850,
//!   asctime) cairn reads as the same instant; on dates built from random
//!   fields, cairn accepts exactly the calendar-valid ones from 1970 on.
//!
//! Where cairn deliberately differs, the oracle says so:
//! - `chrono` also takes U+2212 (MINUS SIGN) before an offset, which RFC
//!   3339 does not; cairn takes only `+` and `-`;
//! - cairn does not check an HTTP date's weekday (its module doc says so),
//!   where `httpdate` refuses a date whose weekday is wrong, and it takes a
//!   leap second (`23:59:60`, in RFC 9110's grammar) that `httpdate`
//!   refuses; it is read as the next second, as `chrono` reads one;
//! - `httpdate` does not check the space after an RFC 850 date's year
//!   (`Sunday, 06-Nov-94:08:49:37 GMT`); cairn refuses that.
//!
//! Case counts: `config(n)` per property, or `CAIRN_PROPTEST_CASES` each:
//!
//! ```text
//! CAIRN_PROPTEST_CASES=2000000 cargo test --release -p cairn --test time_differential
//! ```

use std::time::{Duration, UNIX_EPOCH};

use cairn::time::{iso8601_ms, parse_http_date_ms, parse_iso8601_ms};
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat};
use proptest::prelude::*;
use proptest::sample::select;

mod common;
use common::config;

/// 9999-12-31T23:59:59.999Z, the last instant with a four-digit year.
const LAST_4_DIGIT_MS: i64 = 253_402_300_799_999;

/// What `chrono` reads, as cairn reports it (milliseconds since the
/// epoch), with the one documented difference applied.
fn chrono_reads(text: &str) -> Option<i64> {
    if text.contains('\u{2212}') {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// RFC 3339-like timestamps from fields in and out of range.
fn iso_text() -> impl Strategy<Value = String> {
    let date = (
        prop_oneof![4 => 1970u32..2100, 1 => 0u32..10_000, 1 => select(vec![0u32, 1600, 1900, 2000, 2024, 2100, 9999])],
        prop_oneof![6 => 1u32..=12, 1 => select(vec![0u32, 13, 99])],
        prop_oneof![6 => 1u32..=28, 3 => 29u32..=31, 1 => select(vec![0u32, 32, 99])],
    );
    let time = (
        prop_oneof![6 => 0u32..24, 1 => select(vec![24u32, 99])],
        prop_oneof![6 => 0u32..60, 1 => select(vec![60u32, 99])],
        prop_oneof![6 => 0u32..60, 1 => select(vec![60u32, 61, 99])],
    );
    let sep = prop_oneof![8 => Just("T"), 1 => Just("t"), 1 => Just(" "), 1 => select(vec!["_", "", "TT"])];
    let frac = prop_oneof![
        4 => Just(String::new()),
        4 => "\\.[0-9]{1,12}",
        1 => select(vec![".".to_string(), ",5".to_string(), ".5.5".to_string()]),
    ];
    let offset = prop_oneof![
        4 => select(vec!["Z", "z"]).prop_map(String::from),
        4 => (select(vec!["+", "-"]), 0u32..24, 0u32..60).prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
        1 => (select(vec!["+", "-"]), 24u32..=99, 0u32..=99).prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
        1 => (0u32..24, 60u32..=99).prop_map(|(h, m)| format!("+{h:02}:{m:02}")),
        1 => select(vec!["", "+0100", "+01", "\u{2212}01:00", "UTC", "GMT", "+01:00Z", "Z ", " Z", "+1:00", "+01:0"])
            .prop_map(String::from),
    ];
    (date, sep, time, frac, offset, 0usize..4).prop_map(
        |((y, mo, d), sep, (h, mi, s), frac, offset, width)| {
            let year = match width {
                // Mostly four digits; sometimes three or five.
                0 => format!("{:03}", y % 1000),
                1 => format!("{y:05}"),
                _ => format!("{y:04}"),
            };
            format!("{year}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{offset}")
        },
    )
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(f64),
    Insert(f64, &'static str),
    Delete(f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0f64).prop_map(Mutation::Truncate),
        (
            0.0..1.0f64,
            select(vec![
                "0", "9", "-", ":", ".", "+", " ", "T", "Z", "é", "\u{2212}", "٣"
            ])
        )
            .prop_map(|(at, t)| Mutation::Insert(at, t)),
        (0.0..1.0f64).prop_map(Mutation::Delete),
    ]
}

fn mutate(mut text: String, m: &Mutation) -> String {
    let at = |s: &str, f: f64| {
        let mut i = ((s.len() as f64) * f) as usize;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match *m {
        Mutation::Truncate(f) => text.truncate(at(&text, f)),
        Mutation::Insert(f, t) => text.insert_str(at(&text, f), t),
        Mutation::Delete(f) => {
            let i = at(&text, f);
            if let Some(c) = text[i..].chars().next() {
                text.replace_range(i..i + c.len_utf8(), "");
            }
        }
    }
    text
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An HTTP date's fields, in and out of range.
#[derive(Debug, Clone)]
struct HttpFields {
    form: usize,
    /// Index into `WEEKDAYS`, or `None` for the right one.
    weekday: Option<usize>,
    year: u32,
    month: usize,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl HttpFields {
    fn date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year as i32, self.month as u32 + 1, self.day)
    }

    /// The text, in IMF-fixdate (0), RFC 850 (1) or asctime (2) form.
    fn text(&self, weekday: Option<usize>) -> String {
        let wd = weekday
            .or(self.weekday)
            .or_else(|| {
                self.date()
                    .map(|d| d.weekday().num_days_from_monday() as usize)
            })
            .unwrap_or(0);
        let (long, short) = (WEEKDAYS[wd], &WEEKDAYS[wd][..3]);
        let (mon, y, d) = (MONTHS[self.month], self.year, self.day);
        let clock = format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second);
        match self.form {
            0 => format!("{short}, {d:02} {mon} {y:04} {clock} GMT"),
            1 => format!("{long}, {d:02}-{mon}-{:02} {clock} GMT", y % 100),
            _ => format!("{short} {mon} {d:>2} {clock} {y:04}"),
        }
    }

    /// The instant, if every field is in range (the weekday not looked at,
    /// a leap second read as the next second), from 1970 on.
    fn instant_ms(&self) -> Option<i64> {
        let date = self.date()?;
        if self.year < 1970 || self.hour > 23 || self.minute > 59 || self.second > 60 {
            return None;
        }
        let t = date.and_hms_opt(self.hour, self.minute, 0)?.and_utc();
        Some(t.timestamp_millis() + i64::from(self.second) * 1_000)
    }
}

fn http_fields() -> impl Strategy<Value = HttpFields> {
    (
        0usize..3,
        prop_oneof![4 => Just(None), 1 => (0usize..7).prop_map(Some)],
        prop_oneof![
            // RFC 850 has two-digit years: 1970-2069 only.
            6 => 1970u32..2070,
            1 => select(vec![1960u32, 1969, 2000, 2100, 2400, 9999]),
        ],
        0usize..12,
        prop_oneof![6 => 1u32..=28, 3 => 29u32..=31, 1 => Just(0u32)],
        prop_oneof![8 => 0u32..24, 1 => Just(24u32)],
        prop_oneof![8 => 0u32..60, 1 => Just(60u32)],
        prop_oneof![8 => 0u32..60, 1 => Just(60u32), 1 => Just(61u32)],
    )
        .prop_map(
            |(form, weekday, year, month, day, hour, minute, second)| HttpFields {
                form,
                weekday,
                year: if form == 1 {
                    year.clamp(1970, 2069)
                } else {
                    year
                },
                month,
                day,
                hour,
                minute,
                second,
            },
        )
}

/// Whether `httpdate` looked at every byte of `text`: in the RFC 850 form
/// it does not check the space after the year (it reads
/// `Sunday, 06-Nov-94:08:49:37 GMT`), which cairn refuses.
fn httpdate_checked_every_byte(text: &str) -> bool {
    match text.split_once(", ") {
        Some((_, rest)) if rest.len() == 22 && rest.as_bytes()[2] == b'-' => {
            rest.as_bytes()[9] == b' '
        }
        _ => true,
    }
}

fn httpdate_reads(text: &str) -> Option<i64> {
    httpdate::parse_http_date(text)
        .ok()
        .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64)
}

proptest! {
    #![proptest_config(config(20_000))]

    #[test]
    fn instants_are_written_as_chrono_writes_them(ms in 0..=LAST_4_DIGIT_MS) {
        let ours = iso8601_ms(ms);
        let theirs = DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(parse_iso8601_ms(&ours), Some(ms));
    }

    /// The text kept from one second to the next is chrono's too, for
    /// runs of instants that share their second, cross it, jump and go
    /// back (a clock set back), as a recorder's events do.
    #[test]
    fn instants_written_one_after_another_are_written_as_chrono_writes_them(
        start in 0..=LAST_4_DIGIT_MS - 10_000_000,
        steps in prop::collection::vec(prop_oneof![0i64..3, 0i64..1_500, -2_000i64..0, 0i64..10_000_000], 1..40),
    ) {
        let mut text = cairn::time::Iso8601Text::default();
        let mut ms = start;
        for step in steps {
            ms = (ms + step).clamp(0, LAST_4_DIGIT_MS);
            let theirs = DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(SecondsFormat::Millis, true);
            prop_assert_eq!(text.of(ms), theirs.as_str());
        }
    }

    #[test]
    fn timestamps_are_read_as_chrono_reads_them(text in iso_text()) {
        prop_assert_eq!(parse_iso8601_ms(&text), chrono_reads(&text), "{:?}", text);
    }

    #[test]
    fn mutated_timestamps_are_read_as_chrono_reads_them(
        text in iso_text(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let text = mutations.iter().fold(text, mutate);
        prop_assert_eq!(parse_iso8601_ms(&text), chrono_reads(&text), "{:?}", text);
    }

    #[test]
    fn http_dates_httpdate_writes_are_read_as_the_same_instant(
        secs in 0u64..253_402_300_800,
    ) {
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        let text = httpdate::fmt_http_date(t);
        prop_assert_eq!(parse_http_date_ms(&text), Some(secs as i64 * 1_000), "{}", text);
    }

    #[test]
    fn http_dates_are_read_as_httpdate_reads_them(fields in http_fields()) {
        let text = fields.text(None);
        let ours = parse_http_date_ms(&text);
        prop_assert_eq!(ours, fields.instant_ms(), "{:?}", text);
        // httpdate: the same, where the weekday is right and there is no
        // leap second.
        let right_weekday = fields.weekday.is_none()
            || fields.date().is_some_and(|d| {
                Some(d.weekday().num_days_from_monday() as usize) == fields.weekday
            });
        let theirs = httpdate_reads(&text);
        if right_weekday && fields.second < 60 {
            prop_assert_eq!(ours, theirs, "{:?}", text);
        } else {
            prop_assert_eq!(theirs, None, "{:?}", text);
        }
    }

    #[test]
    fn mutated_http_dates_httpdate_reads_are_read_alike(
        fields in http_fields(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let text = mutations.iter().fold(fields.text(None), mutate);
        let ours = parse_http_date_ms(&text);
        if let Some(theirs) = httpdate_reads(&text) {
            if httpdate_checked_every_byte(&text) {
                prop_assert_eq!(ours, Some(theirs), "{:?}", text);
            }
        }
    }
}

/// `2026-02-31` and its kind were read as the first days of the next month.
#[test]
fn dates_that_are_not_in_the_calendar_are_refused() {
    for text in [
        "2026-02-31T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-06-31T12:00:00.5+01:00",
    ] {
        assert_eq!(parse_iso8601_ms(text), None, "{text}");
        assert_eq!(chrono_reads(text), None, "{text}");
    }
    for text in [
        "2024-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "2026-01-31T00:00:00Z",
    ] {
        assert_eq!(parse_iso8601_ms(text), chrono_reads(text), "{text}");
        assert!(parse_iso8601_ms(text).is_some(), "{text}");
    }
    for text in [
        "Sat, 31 Feb 2026 00:00:00 GMT",
        "Sunday, 29-Feb-26 00:00:00 GMT",
        "Thu Apr 31 00:00:00 2026",
    ] {
        assert_eq!(parse_http_date_ms(text), None, "{text}");
    }
    assert_eq!(
        parse_http_date_ms("Thu, 29 Feb 2024 00:00:00 GMT"),
        httpdate_reads("Thu, 29 Feb 2024 00:00:00 GMT")
    );
}

/// Offsets past RFC 3339's `+23:59` (`+24:00`, `+01:60`, `+99:99`) were
/// read as offsets of a day or more.
#[test]
fn offsets_out_of_range_are_refused() {
    for text in [
        "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00-01:60",
        "2026-01-01T00:00:00+99:99",
    ] {
        assert_eq!(parse_iso8601_ms(text), None, "{text}");
        assert_eq!(chrono_reads(text), None, "{text}");
    }
    assert_eq!(
        parse_iso8601_ms("2026-01-01T00:00:00-23:59"),
        chrono_reads("2026-01-01T00:00:00-23:59")
    );
}
