//! Violations counted for `stats()`: how many times each event broke each
//! rule, and the last few violations with their path, for `cairn inspect`
//! and `cairn collect`.
//!
//! It decides the bounds (an app that tracks event names it makes up must
//! not grow memory or the state it persists) and the persisted form, a JSON
//! object stored under [`STATE_KEY`] with the rest of the client's state.
//! Who counts (the recorder) and when it is written (with the event, in one
//! commit) are left to the caller.

use crate::prelude::*;

use crate::json::{self, Json};
use crate::json_text::{push_key, push_string};

use super::Violation;

/// The state key the counts are persisted under.
pub const STATE_KEY: &str = "plan_violations";
/// Most (event, rule) pairs counted one by one; later pairs are counted
/// under the event [`OTHER_EVENTS`].
pub const MAX_TALLIED: usize = 200;
/// How many of the most recent violations are kept.
pub const MAX_RECENT_VIOLATIONS: usize = 10;
/// The event name past [`MAX_TALLIED`] pairs are counted under.
pub const OTHER_EVENTS: &str = "(other events)";

/// How many times one event broke one rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ViolationCount {
    /// The event name (`track`), or `identify` / `group`.
    pub event: String,
    /// The rule (`type`, `required`, ..., `unplanned`).
    pub rule: String,
    /// How many times.
    pub count: u64,
}

/// One recent violation, with the event it was found in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecentViolation {
    /// The event name (`track`), or `identify` / `group`.
    pub event: String,
    /// The rule broken.
    pub rule: String,
    /// Where: `properties.price`.
    pub path: String,
    /// What: `expected number, got string "9.99"`.
    pub message: String,
}

/// Violations over the life of the buffer file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanStats {
    /// Counts per event and rule, sorted by event then rule.
    pub violations: Vec<ViolationCount>,
    /// The most recent violations, oldest first (at most [`MAX_RECENT_VIOLATIONS`]).
    pub recent: Vec<RecentViolation>,
}

impl PlanStats {
    /// All violations counted.
    pub fn total(&self) -> u64 {
        self.violations.iter().map(|c| c.count).sum()
    }

    /// Counts the `violations` of one call of `event`.
    pub fn count(&mut self, event: &str, violations: &[Violation]) {
        for v in violations {
            self.add(event, &v.rule, 1);
            if self.recent.len() == MAX_RECENT_VIOLATIONS {
                self.recent.remove(0);
            }
            self.recent.push(RecentViolation {
                event: event.to_string(),
                rule: v.rule.clone(),
                path: v.path.clone(),
                message: v.message.clone(),
            });
        }
    }

    fn add(&mut self, event: &str, rule: &str, n: u64) {
        fn key(c: &ViolationCount) -> (&str, &str) {
            (c.event.as_str(), c.rule.as_str())
        }
        let event = match self
            .violations
            .binary_search_by(|c| key(c).cmp(&(event, rule)))
        {
            Ok(i) => {
                if let Some(c) = self.violations.get_mut(i) {
                    c.count += n;
                }
                return;
            }
            Err(_) if self.violations.len() >= MAX_TALLIED => OTHER_EVENTS,
            Err(_) => event,
        };
        match self
            .violations
            .binary_search_by(|c| key(c).cmp(&(event, rule)))
        {
            Ok(i) => {
                if let Some(c) = self.violations.get_mut(i) {
                    c.count += n;
                }
            }
            Err(i) => self.violations.insert(
                i,
                ViolationCount {
                    event: event.to_string(),
                    rule: rule.to_string(),
                    count: n,
                },
            ),
        }
    }

    /// The persisted form: `{"violations":[{"event","rule","count"}…],"recent":[{"event","rule","path","message"}…]}`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"violations\":[");
        for (i, c) in self.violations.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"event\":");
            push_string(&mut out, &c.event);
            push_key(&mut out, "rule");
            push_string(&mut out, &c.rule);
            push_key(&mut out, "count");
            crate::text::push_u64(&mut out, c.count);
            out.push('}');
        }
        out.push_str("],\"recent\":[");
        for (i, r) in self.recent.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"event\":");
            push_string(&mut out, &r.event);
            push_key(&mut out, "rule");
            push_string(&mut out, &r.rule);
            push_key(&mut out, "path");
            push_string(&mut out, &r.path);
            push_key(&mut out, "message");
            push_string(&mut out, &r.message);
            out.push('}');
        }
        out.push_str("]}");
        out
    }

    /// Reads the persisted form; `None` if `text` is not one.
    pub fn from_json(text: &str) -> Option<PlanStats> {
        let v = json::parse(text).ok()?;
        let text_of = |o: &Json, k: &str| o.get(k).and_then(Json::as_str).map(str::to_string);
        let mut stats = PlanStats::default();
        let Json::Array(counts) = v.get("violations")? else {
            return None;
        };
        for c in counts {
            stats.add(
                &text_of(c, "event")?,
                &text_of(c, "rule")?,
                c.get("count")?.as_u64()?,
            );
        }
        let Json::Array(recent) = v.get("recent")? else {
            return None;
        };
        for r in recent.iter().rev().take(MAX_RECENT_VIOLATIONS).rev() {
            stats.recent.push(RecentViolation {
                event: text_of(r, "event")?,
                rule: text_of(r, "rule")?,
                path: text_of(r, "path")?,
                message: text_of(r, "message")?,
            });
        }
        Some(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(rule: &str) -> Violation {
        Violation {
            rule: rule.into(),
            path: "properties.x".into(),
            message: "expected number, got string \"1\"".into(),
        }
    }

    #[test]
    fn counts_per_event_and_rule_and_round_trips() {
        let mut s = PlanStats::default();
        s.count("Order Completed", &[v("type"), v("required")]);
        s.count("Order Completed", &[v("type")]);
        s.count("identify", &[v("format")]);
        assert_eq!(s.total(), 4);
        let pairs: Vec<_> = s
            .violations
            .iter()
            .map(|c| (c.event.as_str(), c.rule.as_str(), c.count))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Order Completed", "required", 1),
                ("Order Completed", "type", 2),
                ("identify", "format", 1)
            ]
        );
        assert_eq!(s.recent.len(), 4);
        assert_eq!(PlanStats::from_json(&s.to_json()), Some(s.clone()));
        assert_eq!(serde_json::from_str::<PlanStats>(&s.to_json()).unwrap(), s);
        assert_eq!(PlanStats::from_json("{}"), None);
    }

    #[test]
    fn bounded_however_many_event_names() {
        let mut s = PlanStats::default();
        for i in 0..(MAX_TALLIED + 50) {
            s.count(&crate::cat!("made-up ", i), &[v("unplanned")]);
        }
        assert_eq!(s.violations.len(), MAX_TALLIED + 1);
        assert_eq!(s.total(), (MAX_TALLIED + 50) as u64);
        let other = s
            .violations
            .iter()
            .find(|c| c.event == OTHER_EVENTS)
            .unwrap();
        assert_eq!(other.count, 50);
        assert_eq!(s.recent.len(), MAX_RECENT_VIOLATIONS);
        assert_eq!(
            s.recent.last().unwrap().event,
            crate::cat!("made-up ", MAX_TALLIED + 49)
        );
    }
}
