//! The `pattern` keyword: which regular-expression engine a plan's patterns
//! run on.
//!
//! The core does not carry one engine for every platform: natively (feature
//! `regex`, in `std`) patterns compile with `regex-lite`; the browser build
//! passes its own [`PatternEngine`] backed by the page's `RegExp`, which is
//! already in every browser (JSON Schema's patterns are ECMA-262 regular
//! expressions, so it is also the reference) and costs the download
//! nothing. Plans meant for every platform keep to the syntax both share:
//! classes, anchors, groups, alternation, `{m,n}`, `\d \w \s` (see
//! docs/tracking-plans.md). This module decides only how a pattern is
//! compiled and matched; where it applies is [`super::schema`]'s.

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

/// `regex-lite`, the native default.
#[cfg(feature = "regex")]
pub struct RegexLite;

#[cfg(feature = "regex")]
struct LiteMatcher(regex_lite::Regex);

#[cfg(feature = "regex")]
impl Matcher for LiteMatcher {
    fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

#[cfg(feature = "regex")]
impl PatternEngine for RegexLite {
    fn compile(&self, pattern: &str) -> Result<Box<dyn Matcher>, String> {
        regex_lite::Regex::new(pattern)
            .map(|r| Box::new(LiteMatcher(r)) as Box<dyn Matcher>)
            .map_err(|e| crate::cat!("the pattern does not compile: ", e.to_string()))
    }
}

/// The engine [`super::TrackingPlan::parse`] uses: `regex-lite` with the
/// `regex` feature, none without.
pub fn default_engine() -> &'static dyn PatternEngine {
    #[cfg(feature = "regex")]
    {
        &RegexLite
    }
    #[cfg(not(feature = "regex"))]
    {
        &NoPatterns
    }
}
