//! JSON numbers compared exactly, as the decimals they are written as.
//!
//! [`crate::json::Number`] keeps a number's text. `minimum`, `maximum`,
//! `enum`, `const` and the `integer` type compare those texts here as
//! decimals: exact (no rounding through a float, so `0.1` is `0.1` and
//! `9007199254740993` is not `9007199254740992`), and without the float
//! parser, which the browser build would otherwise carry. This module
//! decides only numeric order and integrality; the checks that use them
//! are in [`super::schema`].

use crate::prelude::*;

use core::cmp::Ordering;

/// A decimal read from valid JSON number text: `0.d₁d₂… × 10^exp`,
/// digits without leading or trailing zeros (none at all for zero).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decimal<'a> {
    negative: bool,
    // The significant digits, as they appear in the text: the integer
    // part's and the fraction's, with the dot (if any) between them.
    int_digits: &'a [u8],
    frac_digits: &'a [u8],
    exp: i64,
}

impl<'a> Decimal<'a> {
    /// Reads JSON number text (RFC 8259 grammar). `None` if it is not one.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let b = text.as_bytes();
        let (negative, rest) = match b.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, b),
        };
        let int_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if int_len == 0 {
            return None;
        }
        let (int_part, rest) = rest.split_at_checked(int_len)?;
        let (frac_part, rest) = match rest.split_first() {
            Some((b'.', r)) => {
                let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 {
                    return None;
                }
                r.split_at_checked(n)?
            }
            _ => (&[][..], rest),
        };
        let written_exp = match rest.split_first() {
            None => 0,
            Some((b'e' | b'E', r)) => {
                let (neg, digits) = match r.split_first() {
                    Some((b'-', d)) => (true, d),
                    Some((b'+', d)) => (false, d),
                    _ => (false, r),
                };
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                // Saturates: an exponent past ±10^15 puts the number past
                // every finite one a backend reads (or at zero) either way.
                let mut e: i64 = 0;
                for d in digits {
                    e = (e * 10 + i64::from(d - b'0')).min(1_000_000_000_000_000);
                }
                if neg {
                    -e
                } else {
                    e
                }
            }
            _ => return None,
        };
        let int_digits = trim_start_zeros(int_part);
        let (int_digits, frac_digits) = if int_digits.is_empty() {
            // 0.00123: the significant digits start in the fraction.
            let lead = frac_part.iter().take_while(|&&c| c == b'0').count();
            let frac = trim_end_zeros(frac_part.get(lead..).unwrap_or_default());
            let exp = written_exp - lead as i64;
            return Some(Decimal {
                negative,
                int_digits: &[],
                frac_digits: frac,
                exp: if frac.is_empty() { 0 } else { exp },
            });
        } else {
            let frac = trim_end_zeros(frac_part);
            if frac.is_empty() {
                (trim_end_zeros(int_digits), &[][..])
            } else {
                (int_digits, frac)
            }
        };
        // The integer part had `n` significant places before the dot.
        let places = trim_start_zeros(int_part).len() as i64;
        Some(Decimal {
            negative,
            int_digits,
            frac_digits,
            exp: written_exp + places,
        })
    }

    fn is_zero(&self) -> bool {
        self.int_digits.is_empty() && self.frac_digits.is_empty()
    }

    /// The significant digits in order.
    fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        self.int_digits
            .iter()
            .chain(self.frac_digits.iter())
            .copied()
    }

    fn digit_count(&self) -> i64 {
        (self.int_digits.len() + self.frac_digits.len()) as i64
    }

    /// Whether it is a whole number (`1.0` and `1e2` are; JSON Schema's
    /// `integer` is a value, not a spelling).
    pub(crate) fn is_integer(&self) -> bool {
        self.is_zero() || self.digit_count() <= self.exp
    }

    /// Numeric order; `-0` equals `0`.
    pub(crate) fn cmp(&self, other: &Decimal<'_>) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.negative {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                return if self.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => {}
        }
        if self.negative != other.negative {
            return if self.negative {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let magnitude = self
            .exp
            .cmp(&other.exp)
            .then_with(|| self.digits().cmp(other.digits()));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

fn trim_start_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|&&c| c == b'0').count();
    d.get(n..).unwrap_or_default()
}

fn trim_end_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().rev().take_while(|&&c| c == b'0').count();
    d.get(..d.len() - n).unwrap_or_default()
}

/// Numeric order of two JSON number texts; `None` if either is not one.
/// A bound of a plan (`minimum`, `maximum`, ...), read as a decimal once,
/// when the plan is compiled, and kept with its text for messages.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    /// As the plan wrote it.
    pub(crate) text: String,
    negative: bool,
    /// The significant digits: the integer part's, then the fraction's.
    digits: Vec<u8>,
    int_len: usize,
    exp: i64,
}

impl Bound {
    /// Reads `text`; `None` if it is not JSON number text.
    pub(crate) fn new(text: String) -> Option<Bound> {
        let d = Decimal::parse(&text)?;
        let mut digits = Vec::with_capacity(d.int_digits.len() + d.frac_digits.len());
        digits.extend_from_slice(d.int_digits);
        digits.extend_from_slice(d.frac_digits);
        let (negative, int_len, exp) = (d.negative, d.int_digits.len(), d.exp);
        Some(Bound {
            text,
            negative,
            digits,
            int_len,
            exp,
        })
    }

    /// The bound as a [`Decimal`], to compare with.
    pub(crate) fn decimal(&self) -> Decimal<'_> {
        let (int_digits, frac_digits) = self
            .digits
            .split_at_checked(self.int_len)
            .unwrap_or_default();
        Decimal {
            negative: self.negative,
            int_digits,
            frac_digits,
            exp: self.exp,
        }
    }
}

pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(Decimal::parse(a)?.cmp(&Decimal::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_read_once_compares_as_its_text() {
        for (n, b) in [
            ("1", "0"),
            ("-1", "0"),
            ("0.5", "0.50"),
            ("1e3", "999.9"),
            ("-0", "0"),
            ("0.001", "1e-3"),
            ("12", "120e-1"),
        ] {
            let bound = Bound::new(b.to_string()).unwrap();
            let direct = Decimal::parse(n).unwrap().cmp(&Decimal::parse(b).unwrap());
            assert_eq!(
                Decimal::parse(n).unwrap().cmp(&bound.decimal()),
                direct,
                "{n} vs {b}"
            );
        }
        assert!(Bound::new("nope".into()).is_none());
    }

    #[test]
    fn orders_as_decimals() {
        let ordered = [
            "-1e3",
            "-999.5",
            "-1",
            "-0.5",
            "-1e-9",
            "0",
            "1e-9",
            "0.1",
            "0.10000001",
            "1",
            "1.5",
            "2",
            "10",
            "9007199254740992",
            "9007199254740993",
            "1e300",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare(a, b), Some(i.cmp(&j)), "{a} vs {b}");
            }
        }
        for (a, b) in [
            ("0", "-0"),
            ("1", "1.0"),
            ("100", "1e2"),
            ("0.5", "5e-1"),
            ("0.00120", "1.2E-3"),
            ("-12.50", "-125e-1"),
        ] {
            assert_eq!(compare(a, b), Some(Ordering::Equal), "{a} vs {b}");
        }
        assert_eq!(compare("1x", "1"), None);
        assert_eq!(compare("", "1"), None);
        assert_eq!(compare("1.", "1"), None);
    }

    #[test]
    fn integers_are_values_not_spellings() {
        for t in ["0", "-0", "7", "1.0", "1e2", "1.5e1", "-3.000", "120e-1"] {
            assert!(Decimal::parse(t).unwrap().is_integer(), "{t}");
        }
        for t in ["0.5", "1.25e1", "1e-1", "-3.01", "9007199254740993.5"] {
            assert!(!Decimal::parse(t).unwrap().is_integer(), "{t}");
        }
    }
}
