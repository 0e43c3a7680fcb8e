//! Wall-clock formatting: milliseconds since the Unix epoch to ISO-8601 UTC.
//!
//! cairn stamps every event with a millisecond timestamp taken at the call and
//! keeps it as an integer; this module only turns such an integer into the
//! `2026-11-22T07:17:49.123Z` text the wire formats want, and decides how a
//! stamp follows a wall clock that steps back ([`next_stamp`]). It leaves
//! reading clocks to the runtimes (the engine has no clock of its own).

use crate::prelude::*;

/// The largest step back of the wall clock that stamps hold at the last
/// stamp rather than follow: 1 s. A clock nudged back a little (a time
/// service's small correction, readings of two threads crossing) keeps
/// timestamps in recording order; a clock set back further was wrong
/// before, and the wall-clock time of the call is what an event must carry.
pub const STAMP_HOLD_MAX_MS: i64 = 1_000;

/// The stamp for a call made when the wall clock reads `reading_ms`, the
/// last stamp given having been `last_ms`: the reading, except that a step
/// back of at most [`STAMP_HOLD_MAX_MS`] stamps `last_ms` again. A reading
/// at or before the epoch (a clock before 1970, or none) is no reading:
/// `last_ms` again.
pub fn next_stamp(last_ms: i64, reading_ms: i64) -> i64 {
    if reading_ms <= 0 || (reading_ms < last_ms && last_ms - reading_ms <= STAMP_HOLD_MAX_MS) {
        last_ms
    } else {
        reading_ms
    }
}

/// Formats `epoch_ms` (milliseconds since 1970-01-01T00:00:00Z) as
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`. Dates before 1970 are clamped to the epoch.
pub fn iso8601_ms(epoch_ms: i64) -> String {
    let mut out = String::with_capacity(24);
    push_iso8601_ms(&mut out, epoch_ms);
    out
}

/// Appends [`iso8601_ms`]'s text to `out` (on every event: no `format!`).
pub fn push_iso8601_ms(out: &mut String, epoch_ms: i64) {
    let mut buf = [0; ISO8601_MAX];
    out.push_str(iso8601_ms_in(epoch_ms, &mut buf));
}

/// [`iso8601_ms`]'s text, keeping the last second's: the next timestamp of
/// the same second is written by its milliseconds alone. A recorder writes
/// one per event, and events recorded together share their second. Native
/// only: the browser build writes each in full, for its size budget.
#[cfg(feature = "native")]
#[derive(Debug, Clone, Default)]
pub struct Iso8601Text {
    second: Option<i64>,
    text: String,
}

#[cfg(feature = "native")]
impl Iso8601Text {
    /// The text of `epoch_ms`, as [`iso8601_ms`] writes it.
    pub fn of(&mut self, epoch_ms: i64) -> &str {
        let ms = epoch_ms.max(0);
        let second = ms / 1000;
        // `.mmmZ` ends the text; the rest is the second's.
        match self.text.len().checked_sub(4) {
            Some(keep) if self.second == Some(second) => {
                self.text.truncate(keep);
                let millis = ms % 1000;
                for digit in [millis / 100, millis / 10 % 10, millis % 10] {
                    self.text.push(char::from(b'0' + digit as u8));
                }
                self.text.push('Z');
            }
            _ => {
                self.text.clear();
                push_iso8601_ms(&mut self.text, ms);
                self.second = Some(second);
            }
        }
        &self.text
    }
}

/// Longest text of [`iso8601_ms_in`]: i64 milliseconds reach a nine-digit year.
pub const ISO8601_MAX: usize = 29;

/// [`iso8601_ms`]'s text written into `buf`, for a caller that needs it twice.
pub fn iso8601_ms_in(epoch_ms: i64, buf: &mut [u8; ISO8601_MAX]) -> &str {
    let ms = epoch_ms.max(0);
    let secs = ms / 1000;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(secs / 86_400);
    // The text ends at the end of `buf`, its four-digit year at 5..9; a
    // longer year runs on to the left.
    *buf = *b"000000000-00-00T00:00:00.000Z";
    let mut put = |end: usize, width: usize, mut n: i64| {
        for i in (end - width..end).rev() {
            // `get_mut`: in bounds by construction, and no panic path is compiled in.
            if let Some(slot) = buf.get_mut(i) {
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
        }
    };
    let year_digits = if y > 9999 { 1 + y.ilog10() as usize } else { 4 };
    put(9, year_digits, y);
    put(12, 2, m.into());
    put(15, 2, d.into());
    put(18, 2, rem / 3600);
    put(21, 2, (rem % 3600) / 60);
    put(24, 2, rem % 60);
    put(28, 3, ms % 1000);
    // Only ASCII digits and punctuation were written.
    buf.get(9 - year_digits..)
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or_default()
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` (RFC 3339) into
/// milliseconds since the epoch; `None` if the text is not such a timestamp
/// of a calendar day (`2026-02-31` is not), with an offset up to 23:59.
pub fn parse_iso8601_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let s = text.get(from..from + len)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| crate::text::parse_i64(s))?
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !is_date(y, mo, d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = text.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        millis = crate::text::parse_i64(&padded)?;
    }
    let offset_min = match &text[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && matches!(tz.as_bytes()[0], b'+' | b'-')
            && tz.as_bytes()[3] == b':' =>
        {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            // RFC 3339: an offset is at most 23:59.
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(((days * 86_400 + h * 3_600 + mi * 60 + s - offset_min * 60) * 1_000) + millis)
}

/// Parses an HTTP date (`Retry-After`) into milliseconds since the epoch:
/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms
/// HTTP says to accept, RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`, years
/// 70-99 are 19xx) and asctime (`Sun Nov  6 08:49:37 1994`). The weekday is
/// not checked. `None` for anything else, a day not in the calendar, or a
/// date before 1970.
pub fn parse_http_date_ms(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t: Vec<&str> = text
        .split([' ', ',', '-'])
        .filter(|p| !p.is_empty())
        .collect();
    let (day, month, year, clock) = match t.as_slice() {
        [_, day, month, year, clock, "GMT"] => (*day, *month, *year, *clock),
        [_, month, day, clock, year] => (*day, *month, *year, *clock),
        _ => return None,
    };
    let num = |s: &str, max_len: usize| -> Option<i64> {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| crate::text::parse_i64(s))?
    };
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let day = num(day, 2)?;
    let year = match (year.len(), num(year, 4)?) {
        (2, y) if y >= 70 => 1900 + y,
        (2, y) => 2000 + y,
        (4, y) => y,
        _ => return None,
    };
    let mut hms = clock
        .split(':')
        .map(|p| if p.len() == 2 { num(p, 2) } else { None });
    let (h, mi, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some()
        || !is_date(year, i64::from(month), day)
        || year < 1970
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    Some((days_from_civil(year, month, day as u32) * 86_400 + h * 3_600 + mi * 60 + sec) * 1_000)
}

/// Whether `y-m-d` is a day of the proleptic Gregorian calendar (so not
/// `2026-02-31`, which would otherwise be read as March 3rd).
fn is_date(y: i64, m: i64, d: i64) -> bool {
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// (year, month, day) to days since the epoch (inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since the epoch to a (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_in_the_three_forms() {
        // 1994-11-06T08:49:37Z is 784111777 s after the epoch.
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date_ms(text), Some(784_111_777_000), "{text}");
        }
        assert_eq!(
            parse_http_date_ms("Thu, 01 Jan 2026 00:00:00 GMT"),
            parse_iso8601_ms("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_http_date_ms("Wednesday, 01-Jan-30 00:00:00 GMT"),
            parse_iso8601_ms("2030-01-01T00:00:00Z")
        );
        for bad in [
            "",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
        ] {
            assert_eq!(parse_http_date_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601_ms(1_795_331_869_123), "2026-11-22T07:17:49.123Z");
        assert_eq!(iso8601_ms(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(iso8601_ms(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(-5), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(i64::MAX), "292278994-08-17T07:12:55.807Z");
    }

    #[test]
    fn parses_what_it_formats_and_common_variants() {
        for ms in [0, 951_782_400_000, 1_795_331_869_123, 253_402_300_799_999] {
            assert_eq!(parse_iso8601_ms(&iso8601_ms(ms)), Some(ms));
        }
        assert_eq!(
            parse_iso8601_ms("2026-11-22T07:17:49Z"),
            Some(1_795_331_869_000)
        );
        assert_eq!(
            parse_iso8601_ms("2026-11-22T08:17:49.1+01:00"),
            Some(1_795_331_869_100)
        );
        assert_eq!(
            parse_iso8601_ms("2026-11-22T07:17:49.123456Z"),
            Some(1_795_331_869_123)
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-22T07:17:49",
            "2026-11-22T07:17:49.Z",
        ] {
            assert_eq!(parse_iso8601_ms(bad), None, "{bad}");
        }
    }
}
