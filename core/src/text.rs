//! Messages built by concatenation, without `format!`.
//!
//! Every `format!`, `write!` or derived `Display` on the browser's path
//! compiles Rust's formatting machinery (argument tables, padding, integer
//! `Display` for each width) into the wasm. Messages there are built from
//! [`Piece`]s instead with [`cat!`](crate::cat): text is copied, whole
//! numbers are written by [`push_u64`] / [`push_i64`]. The texts are the
//! same as `format!` would write.

/// Something a message is built from: text or a whole number.
pub trait Piece {
    /// Appends this piece's text to `out`.
    fn push_to(&self, out: &mut String);
}

impl Piece for str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for char {
    fn push_to(&self, out: &mut String) {
        out.push(*self);
    }
}

impl<T: Piece + ?Sized> Piece for &T {
    fn push_to(&self, out: &mut String) {
        (**self).push_to(out);
    }
}

macro_rules! unsigned_pieces {
    ($($t:ty),*) => {$(
        impl Piece for $t {
            fn push_to(&self, out: &mut String) {
                push_u64(out, *self as u64);
            }
        }
    )*};
}
unsigned_pieces!(u8, u16, u32, u64, usize);

impl Piece for i64 {
    fn push_to(&self, out: &mut String) {
        push_i64(out, *self);
    }
}

/// Appends `n` in decimal, as `Display` writes it.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in digits.iter().skip(at) {
        out.push(char::from(d));
    }
}

/// Appends `n` in decimal, as `Display` writes it.
pub fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

/// `n` in decimal, as `n.to_string()` writes it.
pub fn u64_text(n: u64) -> String {
    let mut out = String::new();
    push_u64(&mut out, n);
    out
}

/// `n` in decimal, as `n.to_string()` writes it.
pub fn i64_text(n: i64) -> String {
    let mut out = String::new();
    push_i64(&mut out, n);
    out
}

/// Reads a whole number as `str::parse::<u64>` does (decimal digits, an
/// optional leading `+`, no overflow); one small function instead of the
/// standard library's generic parser per integer type.
pub fn parse_u64(text: &str) -> Option<u64> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Reads a whole number as `str::parse::<i64>` does (an optional leading
/// `+` or `-`, then decimal digits, no overflow).
pub fn parse_i64(text: &str) -> Option<i64> {
    match text.strip_prefix('-') {
        Some(digits) if !digits.starts_with('+') => {
            let n = parse_u64(digits)?;
            0i64.checked_sub_unsigned(n)
        }
        Some(_) => None,
        None => i64::try_from(parse_u64(text)?).ok(),
    }
}

/// The `String` [`cat!`] builds, reachable from crates without `alloc` in scope.
#[doc(hidden)]
pub use alloc::string::String;

/// Builds a `String` from [`Piece`]s (text and whole numbers), like
/// `format!("{}{}…", a, b, …)` without the formatting machinery:
/// `cat!("got ", n, " bytes")`.
// Internal (see the crate docs): exported for the browser build only.
#[doc(hidden)]
#[macro_export]
macro_rules! cat {
    ($($piece:expr),* $(,)?) => {{
        // `allow`, not `expect`: only a `cat!()` without pieces leaves it unused.
        #[allow(unused_mut, reason = "cat!() with no pieces never pushes")]
        let mut out = $crate::text::String::new();
        $( $crate::text::Piece::push_to(&$piece, &mut out); )*
        out
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_display_writes_them() {
        for n in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(u64_text(n), n.to_string());
        }
        for n in [0i64, -1, 1, -10, 42, i64::MIN, i64::MAX] {
            assert_eq!(i64_text(n), n.to_string());
        }
    }

    #[test]
    fn numbers_parse_as_str_parse_does() {
        let texts = [
            "",
            "+",
            "-",
            "0",
            "7",
            "+7",
            "-7",
            "--7",
            "+-7",
            "-+7",
            "007",
            "12a",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "٣",
        ];
        for t in texts {
            assert_eq!(parse_u64(t), t.parse::<u64>().ok(), "{t:?}");
            assert_eq!(parse_i64(t), t.parse::<i64>().ok(), "{t:?}");
        }
    }

    #[test]
    fn cat_joins_pieces() {
        let name = String::from("flush_at");
        assert_eq!(
            cat!("`", name, "` is ", 3usize, " of ", -2i64, '!'),
            "`flush_at` is 3 of -2!"
        );
        assert_eq!(cat!(), "");
    }
}
