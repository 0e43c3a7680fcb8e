//! The `pattern` keyword: which regular-expression engine a plan's patterns
//! run on.
//!
//! The core does not carry one engine for every platform: natively (feature
//! `regex`, in `std`) patterns compile with the `regex` crate (`regex-lite`
//! matched ~30 times slower, past the plan's time budget); the browser build
//! passes its own [`PatternEngine`] backed by the page's `RegExp`, which is
//! already in every browser (JSON Schema's patterns are ECMA-262 regular
//! expressions, so it is also the reference) and costs the download
//! nothing. Plans meant for every platform keep to the syntax both share:
//! classes, anchors, groups, alternation, `{m,n}`, `\d \w \s` (see
//! docs/tracking-plans.md). Where that shared syntax means different things
//! (the `regex` crate reads `\d \w \s \b` and `.` as Unicode classes,
//! ECMA-262 as ASCII ones and "not a line terminator"), the native engine
//! is handed the ECMA-262 meaning (`ecma_to_regex`), so a plan judges a
//! value the same on every platform. This module decides only how a
//! pattern is compiled and matched; where it applies is `plan::schema`'s.

use crate::prelude::*;

/// A compiled pattern.
pub trait Matcher: Send + Sync {
    /// Whether `s` contains a match (JSON Schema's patterns are not anchored).
    fn is_match(&self, s: &str) -> bool;
}

/// Compiles the patterns of a plan.
pub trait PatternEngine {
    /// The compiled `pattern`, or what is wrong with it.
    fn compile(&self, pattern: &str) -> Result<Box<dyn Matcher>, String>;
}

/// No engine: a plan with a `pattern` is refused (a build without the
/// `regex` feature that was given no engine of its own).
pub struct NoPatterns;

impl PatternEngine for NoPatterns {
    fn compile(&self, _pattern: &str) -> Result<Box<dyn Matcher>, String> {
        Err("this build of cairn has no regular-expression engine for `pattern`: enable the `regex` feature, or pass a PatternEngine to TrackingPlan::parse_with".into())
    }
}

/// The `regex` crate, the native default.
#[cfg(feature = "regex")]
pub struct NativeRegex;

#[cfg(feature = "regex")]
struct NativeMatcher(regex::Regex);

#[cfg(feature = "regex")]
impl Matcher for NativeMatcher {
    fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

#[cfg(feature = "regex")]
impl PatternEngine for NativeRegex {
    fn compile(&self, pattern: &str) -> Result<Box<dyn Matcher>, String> {
        regex::Regex::new(&ecma_to_regex(pattern))
            .map(|r| Box::new(NativeMatcher(r)) as Box<dyn Matcher>)
            .map_err(|e| {
                // regex's message spans lines (the pattern, a caret, the error).
                let detail = e.to_string();
                let last = detail.lines().last().unwrap_or_default().trim();
                crate::cat!(
                    "the pattern does not compile (",
                    last,
                    "): write it in the syntax docs/tracking-plans.md lists"
                )
            })
    }
}

/// ECMA-262's `\d`, `\s` (its own set: `\u{FEFF}` in, `\u{85}` out) and
/// `\w`, all ASCII but `\s`.
#[cfg(feature = "regex")]
const DIGIT: &str = "0-9";
#[cfg(feature = "regex")]
const WORD: &str = "0-9A-Za-z_";
#[cfg(feature = "regex")]
const SPACE: &str = r"\t\n\x0B\x0C\r\x20\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";

/// `pattern`, read as ECMA-262 reads it with the `u` flag (the page's
/// `new RegExp(pattern, 'u')`), written in the `regex` crate's syntax.
///
/// Only what the two read differently and both accept is rewritten: the
/// class escapes `\d \D \w \W \s \S` (as explicit classes, nested inside a
/// class, which the crate allows), `\b \B` (ASCII word boundaries), `.`
/// (anything but `\n \r \u{2028} \u{2029}`), `[]` and `[^]` (nothing,
/// anything), `[\b]` (a backspace), and a `[`, `&` or `~` inside a class (a
/// literal to ECMA-262, a nested class or set operation to the crate).
/// Everything else is copied; what only one of them accepts (lookaround,
/// `(?i)`) is refused by that one, as docs/tracking-plans.md says.
#[cfg(feature = "regex")]
fn ecma_to_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let class = |out: &mut String, negated: bool, set: &str| {
        out.push_str(if negated { "[^" } else { "[" });
        out.push_str(set);
        out.push(']');
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    // A lone trailing backslash: the crate refuses it too.
                    out.push('\\');
                    break;
                };
                match e {
                    'd' | 'D' => class(&mut out, e == 'D', DIGIT),
                    'w' | 'W' => class(&mut out, e == 'W', WORD),
                    's' | 'S' => class(&mut out, e == 'S', SPACE),
                    'b' if in_class => out.push_str(r"\x08"),
                    'b' | 'B' if !in_class => {
                        out.push_str(if e == 'b' { r"(?-u:\b)" } else { r"(?-u:\B)" })
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if in_class => out.push_str(r"\["),
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '[' => {
                let negated = chars.next_if_eq(&'^').is_some();
                if chars.next_if_eq(&']').is_some() {
                    // ECMA-262's empty class; the crate would read the `]`
                    // as a member.
                    class(&mut out, !negated, r"\x{0}-\x{10FFFF}");
                } else {
                    in_class = true;
                    out.push_str(if negated { "[^" } else { "[" });
                }
            }
            '.' if !in_class => out.push_str(r"[^\n\r\x{2028}\x{2029}]"),
            _ => out.push(c),
        }
    }
    out
}

/// The engine [`super::TrackingPlan::parse`] uses: the `regex` crate with
/// the `regex` feature, none without.
pub fn default_engine() -> &'static dyn PatternEngine {
    #[cfg(feature = "regex")]
    {
        &NativeRegex
    }
    #[cfg(not(feature = "regex"))]
    {
        &NoPatterns
    }
}

#[cfg(all(test, feature = "regex"))]
mod tests {
    use super::*;

    /// Each pattern and text with the verdict of `new RegExp(pattern, 'u')
    /// .test(text)` in Node 22 (the page's engine): where the `regex`
    /// crate's own reading differs, and what must stay as it was.
    const ECMA_VERDICTS: &[(&str, &str, bool)] = &[
        (r"^\w+$", "été", false),
        (r"^\w+$", "ete_9", true),
        (r"\d", "\u{663}", false),
        (r"\d", "3", true),
        (r"^\s$", "\u{85}", false),
        (r"^\s$", "\u{feff}", true),
        (r"^\S$", "\u{85}", true),
        (r"^.$", "\r", false),
        (r"^.$", "\u{2028}", false),
        (r"^.$", "\u{85}", true),
        (r"\bx", "éx", true),
        (r"\Bx", "éx", false),
        (r"\Bx", "ax", true),
        (r"[]", "a", false),
        (r"[^]", "\n", true),
        (r"[\b]", "\u{8}", true),
        (r"[[a]", "[", true),
        (r"[a&&b]", "&", true),
        (r"[a~~b]", "~", true),
        (r"^[\w-]+$", "a-", true),
        (r"^[\w-]+$", "é-", false),
        (r"^[^\d]$", "\u{663}", true),
        (r"^\W$", "é", true),
        (r"^\D$", "\u{663}", true),
        (r"x\.y", "x.y", true),
        (r"x\.y", "xzy", false),
        (r"\u{e9}", "é", true),
        (r"\p{L}", "é", true),
        (r"^[\p{L}\d_]+$", "été_9", true),
    ];

    #[test]
    fn patterns_judge_as_the_page_s_reg_exp_does() {
        for &(pattern, text, ecma) in ECMA_VERDICTS {
            let matcher = NativeRegex
                .compile(pattern)
                .unwrap_or_else(|e| panic!("{pattern} ({}): {e}", ecma_to_regex(pattern)));
            assert_eq!(
                matcher.is_match(text),
                ecma,
                "{pattern:?} on {text:?} (as {})",
                ecma_to_regex(pattern)
            );
        }
    }
}
