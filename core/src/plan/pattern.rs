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
//! docs/tracking-plans.md). This module decides only how a pattern is
//! compiled and matched; where it applies is `plan::schema`'s.

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
        regex::Regex::new(pattern)
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
