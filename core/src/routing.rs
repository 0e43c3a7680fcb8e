//! Routing: which stored events a destination takes.
//!
//! This module decides, for one destination and one stored event, whether
//! the destination receives it: by the event's name (allowed or denied,
//! exact names or a prefix ending in `*`), by its call type, and by consent
//! categories. A destination with categories receives an event only when
//! every one of them was granted when the event was recorded, read from the
//! `context.consent.categoryPreferences` stamped on the event at the call
//! (Segment's consent model): an event recorded while a category was denied
//! or undecided never reaches it, even after a later grant.
//!
//! The decision is made from the stored event when the destination claims
//! it (the store keeps no route per event, see `store`), so recording costs
//! the same whatever the rules. It leaves acting on a revocation (purging
//! that destination's queue) to the engine, and counting to `stats`.
//!
//! Name rules apply to calls that have a name: a track's `event`, a screen's
//! or page's `name`. An identify, group or alias passes them (restrict those
//! with call types).

use crate::prelude::*;

use crate::cat;
use crate::json::Json;

/// Most name patterns a destination may list (allowed and denied together).
pub const MAX_NAME_PATTERNS: usize = 1_000;

/// The call types, as the event's `type` says them.
pub const CALL_TYPES: [&str; 6] = ["track", "identify", "alias", "group", "screen", "page"];

/// Which events one destination takes. The default takes every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    /// Names it takes (exact, or a prefix ending in `*`); empty: every name.
    pub allow_events: Vec<String>,
    /// Names it never takes, even when allowed.
    pub deny_events: Vec<String>,
    /// Call types it takes (`track`, `identify`, `alias`, `group`, `screen`,
    /// `page`); empty: every type.
    pub call_types: Vec<String>,
    /// Consent categories that must all have been granted at the call.
    pub consent_categories: Vec<String>,
}

/// Why a routing rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// A name pattern is empty or blank.
    #[error("an event name pattern is empty: give a name, or a prefix followed by `*`")]
    EmptyPattern,
    /// A `*` stands somewhere other than at the end.
    #[error("event name pattern `{0}`: `*` may only end a pattern (a prefix), as in `Order *`")]
    InnerWildcard(String),
    /// Too many patterns.
    #[error("{0} event name patterns, more than the {MAX_NAME_PATTERNS} a destination may list")]
    TooManyPatterns(usize),
    /// A call type that does not exist.
    #[error("unknown call type `{0}`: use track, identify, alias, group, screen or page")]
    UnknownCallType(String),
    /// An empty consent category.
    #[error("a consent category is empty")]
    EmptyCategory,
}

impl RoutingError {
    /// The error's text, as `Display` writes it (built without the
    /// formatting machinery, which the browser build does not carry; a test
    /// holds the two to the same text).
    pub fn message(&self) -> String {
        match self {
            RoutingError::EmptyPattern => {
                "an event name pattern is empty: give a name, or a prefix followed by `*`".into()
            }
            RoutingError::InnerWildcard(p) => cat!(
                "event name pattern `",
                p.as_str(),
                "`: `*` may only end a pattern (a prefix), as in `Order *`"
            ),
            RoutingError::TooManyPatterns(n) => cat!(
                *n,
                " event name patterns, more than the ",
                MAX_NAME_PATTERNS,
                " a destination may list"
            ),
            RoutingError::UnknownCallType(t) => cat!(
                "unknown call type `",
                t.as_str(),
                "`: use track, identify, alias, group, screen or page"
            ),
            RoutingError::EmptyCategory => "a consent category is empty".into(),
        }
    }
}

impl Routing {
    /// True when this routing takes every event: nothing to read per event.
    pub fn takes_all(&self) -> bool {
        self.allow_events.is_empty()
            && self.deny_events.is_empty()
            && self.call_types.is_empty()
            && self.consent_categories.is_empty()
    }

    /// Checks the rules; the builder refuses a destination whose rules fail.
    pub fn validate(&self) -> Result<(), RoutingError> {
        self.validate_fields().map_err(|(_, e)| e)
    }

    /// [`validate`](Self::validate), also naming the field that is wrong
    /// (`allow_events`, `deny_events`, `call_types` or
    /// `consent_categories`): the builder names it as the option of its own
    /// destination's routing. Too many patterns names the longer list.
    pub fn validate_fields(&self) -> Result<(), (&'static str, RoutingError)> {
        let patterns = self.allow_events.len() + self.deny_events.len();
        if patterns > MAX_NAME_PATTERNS {
            let field = if self.allow_events.len() >= self.deny_events.len() {
                "allow_events"
            } else {
                "deny_events"
            };
            return Err((field, RoutingError::TooManyPatterns(patterns)));
        }
        for (field, list) in [
            ("allow_events", &self.allow_events),
            ("deny_events", &self.deny_events),
        ] {
            for p in list {
                if p.trim().is_empty() {
                    return Err((field, RoutingError::EmptyPattern));
                }
                if p.trim_end_matches('*').contains('*') || p.ends_with("**") {
                    return Err((field, RoutingError::InnerWildcard(p.clone())));
                }
            }
        }
        for t in &self.call_types {
            if !CALL_TYPES.contains(&t.as_str()) {
                return Err(("call_types", RoutingError::UnknownCallType(t.clone())));
            }
        }
        if self.consent_categories.iter().any(|c| c.trim().is_empty()) {
            return Err(("consent_categories", RoutingError::EmptyCategory));
        }
        Ok(())
    }

    /// Whether the destination takes the stored event `json`. An event that
    /// cannot be read (it always can: cairn wrote it) is taken, so the
    /// backend's answer decides about it.
    pub fn takes(&self, json: &str) -> bool {
        if self.takes_all() {
            return true;
        }
        let Ok(event) = crate::json::parse(json) else {
            return true;
        };
        self.takes_event(&event)
    }

    /// [`takes`](Self::takes) on the parsed event.
    pub fn takes_event(&self, event: &Json) -> bool {
        let kind = event["type"].as_str().unwrap_or("track");
        if !self.call_types.is_empty() && !self.call_types.iter().any(|t| t == kind) {
            return false;
        }
        let name = match kind {
            "track" => event["event"].as_str(),
            "screen" | "page" => event["name"].as_str(),
            _ => None,
        };
        if let Some(name) = name {
            if !self.allow_events.is_empty() && !self.allow_events.iter().any(|p| matches(p, name))
            {
                return false;
            }
            if self.deny_events.iter().any(|p| matches(p, name)) {
                return false;
            }
        }
        let granted = &event["context"]["consent"]["categoryPreferences"];
        self.consent_categories
            .iter()
            .all(|c| granted[c.as_str()].as_bool() == Some(true))
    }

    /// Whether a change of `category` to a state other than granted concerns
    /// this destination: its queued events must then be purged.
    pub fn needs(&self, category: &str) -> bool {
        self.consent_categories.iter().any(|c| c == category)
    }
}

/// `pattern` is an exact name, or a prefix followed by `*`.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, name: &str, prefs: &str) -> String {
        let key = if kind == "track" { "event" } else { "name" };
        format!(
            r#"{{"type":"{kind}","{key}":"{name}","context":{{"consent":{{"categoryPreferences":{prefs}}}}}}}"#
        )
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_are_allowed_and_denied_exactly_or_by_prefix() {
        let r = Routing {
            allow_events: strings(&["Order *", "Signed Up"]),
            deny_events: strings(&["Order Refunded"]),
            ..Routing::default()
        };
        assert!(r.takes(&ev("track", "Order Completed", "{}")));
        assert!(r.takes(&ev("track", "Signed Up", "{}")));
        assert!(!r.takes(&ev("track", "Signed Up Twice", "{}")), "exact");
        assert!(
            !r.takes(&ev("track", "Order Refunded", "{}")),
            "denied wins"
        );
        assert!(!r.takes(&ev("screen", "Home", "{}")), "a screen has a name");
        assert!(
            r.takes(r#"{"type":"identify","userId":"u"}"#),
            "an identify has no name: name rules pass it"
        );
    }

    #[test]
    fn call_types_restrict_kinds() {
        let r = Routing {
            call_types: strings(&["identify", "group"]),
            ..Routing::default()
        };
        assert!(!r.takes(&ev("track", "A", "{}")));
        assert!(r.takes(r#"{"type":"identify","userId":"u"}"#));
    }

    #[test]
    fn every_category_must_have_been_granted_at_the_call() {
        let r = Routing {
            consent_categories: strings(&["analytics", "marketing"]),
            ..Routing::default()
        };
        assert!(r.takes(&ev("track", "A", r#"{"analytics":true,"marketing":true}"#)));
        assert!(!r.takes(&ev("track", "A", r#"{"analytics":true,"marketing":false}"#)));
        assert!(
            !r.takes(&ev("track", "A", r#"{"analytics":true}"#)),
            "unknown"
        );
        assert!(r.needs("marketing") && !r.needs("ads"));
    }

    #[test]
    fn bad_rules_are_refused_with_their_fix() {
        let bad = |r: Routing| r.validate().unwrap_err().to_string();
        assert!(bad(Routing {
            allow_events: strings(&["Or*der"]),
            ..Routing::default()
        })
        .contains("may only end a pattern"));
        assert!(bad(Routing {
            deny_events: strings(&[" "]),
            ..Routing::default()
        })
        .contains("empty"));
        assert!(bad(Routing {
            call_types: strings(&["Track"]),
            ..Routing::default()
        })
        .contains("use track, identify"));
        assert!(Routing::default().validate().is_ok());
    }

    #[test]
    fn messages_read_as_display_writes_them() {
        for e in [
            RoutingError::EmptyPattern,
            RoutingError::InnerWildcard("Or*der".into()),
            RoutingError::TooManyPatterns(1_001),
            RoutingError::UnknownCallType("tap".into()),
            RoutingError::EmptyCategory,
        ] {
            assert_eq!(e.message(), e.to_string());
        }
    }

    #[test]
    fn a_refusal_names_the_field_that_is_wrong() {
        let mut r = Routing {
            allow_events: strings(&["Order *"]),
            deny_events: strings(&["Or*der"]),
            ..Routing::default()
        };
        assert_eq!(r.validate_fields().unwrap_err().0, "deny_events");
        r.allow_events = strings(&[""]);
        assert_eq!(r.validate_fields().unwrap_err().0, "allow_events");
        let mut r = Routing {
            consent_categories: strings(&[" "]),
            ..Routing::default()
        };
        assert_eq!(r.validate_fields().unwrap_err().0, "consent_categories");
        r.call_types = strings(&["Track"]);
        assert_eq!(r.validate_fields().unwrap_err().0, "call_types");
    }
}
