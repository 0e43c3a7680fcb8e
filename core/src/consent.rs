//! Consent: the one place that decides whether an event may be kept and
//! whether it may be sent.
//!
//! The app configures consent categories (say `analytics`, `marketing`), each
//! `granted`, `denied` or `unknown`, and the destination declares the
//! categories it needs. [`Consent::gate`] turns that into one decision for new
//! events: send them, hold them in memory until the user decides, or drop
//! them. Opt-out overrides everything. Persisting the state and acting on a
//! change (purging the buffer, releasing held events) is the recorder's job.

use crate::prelude::*;

use serde::{Deserialize, Serialize};

use crate::json::{self, Json, Object};
use crate::json_text::{push_key, push_string};

/// The state key under which consent is persisted.
pub const STATE_KEY: &str = "consent";

/// What the user said about one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    /// The user agreed.
    Granted,
    /// The user refused.
    Denied,
    /// The user has not decided yet.
    Unknown,
}

/// What happens to a new event under the current consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Store it and send it.
    Send,
    /// Keep it in memory only, until every needed category is decided.
    Hold,
    /// Drop it (counted as `consent`).
    Drop,
}

impl ConsentState {
    /// The state as it is persisted and written: `granted`, `denied` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Granted => "granted",
            ConsentState::Denied => "denied",
            ConsentState::Unknown => "unknown",
        }
    }

    /// Reads [`as_str`](Self::as_str)'s text back.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            ConsentState::Granted,
            ConsentState::Denied,
            ConsentState::Unknown,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// Categories and their states, in name order (a sorted list: a site has a
/// handful, and the browser build then needs no tree map).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Categories(Vec<(String, ConsentState)>);

impl Categories {
    fn find(&self, category: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(category))
    }

    /// The state of `category`, if it is known.
    pub fn get(&self, category: &str) -> Option<&ConsentState> {
        self.find(category).ok().map(|i| &self.0[i].1)
    }

    /// The state of `category`, to change in place.
    pub fn get_mut(&mut self, category: &str) -> Option<&mut ConsentState> {
        self.find(category).ok().map(|i| &mut self.0[i].1)
    }

    /// Whether `category` is known.
    pub fn contains_key(&self, category: &str) -> bool {
        self.find(category).is_ok()
    }

    /// Sets `category` to `state`, adding it if needed.
    pub fn insert(&mut self, category: String, state: ConsentState) {
        match self.find(&category) {
            Ok(i) => self.0[i].1 = state,
            Err(i) => self.0.insert(i, (category, state)),
        }
    }

    /// Categories and states in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ConsentState)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Categories {
    type Item = (&'a String, &'a ConsentState);
    type IntoIter = core::iter::Map<
        core::slice::Iter<'a, (String, ConsentState)>,
        fn(&'a (String, ConsentState)) -> (&'a String, &'a ConsentState),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// Consent categories, the ones the destination needs, and opt-out.
///
/// Persisted as `{"categories":{"analytics":"granted",…},"opted_out":false}`
/// (the needed categories are configuration, not state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Every configured category and its state.
    pub categories: Categories,
    /// Categories the destination needs granted before anything is sent.
    pub required: Vec<String>,
    /// Opt-out: nothing is stored or sent while true.
    pub opted_out: bool,
}

impl Consent {
    /// Consent with the configured initial states and the destination's needs.
    pub fn new(initial: &[(String, ConsentState)], required: &[String]) -> Self {
        let mut categories = Categories::default();
        for (k, v) in initial {
            categories.insert(k.clone(), *v);
        }
        for r in required {
            if !categories.contains_key(r) {
                categories.insert(r.clone(), ConsentState::Unknown);
            }
        }
        Consent {
            categories,
            required: required.to_vec(),
            opted_out: false,
        }
    }

    /// Restores persisted states over the configured ones. Categories no
    /// longer configured are forgotten; new ones keep their initial state.
    /// Text that is not a saved consent changes nothing.
    pub fn restore(&mut self, text: &str) {
        let Ok(saved) = json::parse(text) else { return };
        let Some(Json::Object(categories)) = saved.get("categories") else {
            return;
        };
        let opted_out = match saved.get("opted_out") {
            None => false,
            Some(v) => match v.as_bool() {
                Some(b) => b,
                None => return,
            },
        };
        let mut states = Vec::with_capacity(categories.len());
        for (k, v) in categories.iter() {
            match v.as_str().and_then(ConsentState::from_name) {
                Some(state) => states.push((k, state)),
                None => return,
            }
        }
        self.opted_out = opted_out;
        for (k, v) in states {
            if let Some(slot) = self.categories.get_mut(k) {
                *slot = v;
            }
        }
    }

    /// The persisted form.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        push_key(&mut out, "categories");
        out.push('{');
        for (k, v) in &self.categories {
            if !out.ends_with('{') {
                out.push(',');
            }
            push_string(&mut out, k);
            out.push(':');
            push_string(&mut out, v.as_str());
        }
        out.push('}');
        push_key(&mut out, "opted_out");
        out.push_str(if self.opted_out { "true" } else { "false" });
        out.push('}');
        out
    }

    /// What to do with a new event now.
    pub fn gate(&self) -> Gate {
        if self.opted_out {
            return Gate::Drop;
        }
        let mut hold = false;
        for r in &self.required {
            match self
                .categories
                .get(r)
                .copied()
                .unwrap_or(ConsentState::Unknown)
            {
                ConsentState::Denied => return Gate::Drop,
                ConsentState::Unknown => hold = true,
                ConsentState::Granted => {}
            }
        }
        if hold {
            Gate::Hold
        } else {
            Gate::Send
        }
    }

    /// Sets one category (adding it if it was not configured).
    pub fn set(&mut self, category: &str, state: ConsentState) {
        self.categories.insert(category.to_string(), state);
    }

    /// `{category: granted?}` for `context.consent.categoryPreferences`.
    pub fn preferences(&self) -> Object {
        self.categories
            .iter()
            .map(|(k, v)| (k.clone(), Json::Bool(*v == ConsentState::Granted)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(initial: &[(&str, ConsentState)], required: &[&str]) -> Consent {
        let initial: Vec<_> = initial.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let required: Vec<_> = required.iter().map(|s| s.to_string()).collect();
        Consent::new(&initial, &required)
    }

    #[test]
    fn gate_follows_the_needed_categories() {
        use ConsentState::*;
        assert_eq!(c(&[], &[]).gate(), Gate::Send, "nothing needed: send");
        assert_eq!(
            c(&[], &["analytics"]).gate(),
            Gate::Hold,
            "needed but never configured: unknown"
        );
        assert_eq!(
            c(
                &[("analytics", Granted), ("marketing", Denied)],
                &["analytics"]
            )
            .gate(),
            Gate::Send
        );
        assert_eq!(
            c(
                &[("analytics", Granted), ("marketing", Unknown)],
                &["analytics", "marketing"]
            )
            .gate(),
            Gate::Hold
        );
        assert_eq!(
            c(
                &[("analytics", Denied), ("marketing", Unknown)],
                &["analytics", "marketing"]
            )
            .gate(),
            Gate::Drop
        );
        let mut all = c(&[("analytics", Granted)], &["analytics"]);
        all.opted_out = true;
        assert_eq!(all.gate(), Gate::Drop, "opt-out overrides a grant");
    }

    #[test]
    fn restore_keeps_configured_categories_only() {
        use ConsentState::*;
        let mut saved = c(&[("analytics", Granted), ("old", Denied)], &[]);
        saved.opted_out = true;
        let mut now = c(
            &[("analytics", Unknown), ("marketing", Unknown)],
            &["analytics"],
        );
        now.restore(&saved.to_json());
        assert_eq!(now.categories.get("analytics"), Some(&Granted));
        assert_eq!(now.categories.get("marketing"), Some(&Unknown));
        assert!(!now.categories.contains_key("old"));
        assert!(now.opted_out);
        assert_eq!(now.preferences()["analytics"], true);
        assert_eq!(now.preferences()["marketing"], false);
    }

    #[test]
    fn persisted_text_is_what_serde_wrote() {
        use ConsentState::*;
        let mut saved = c(&[("a\"b", Granted), ("m", Denied), ("x", Unknown)], &["m"]);
        saved.opted_out = true;
        let text = saved.to_json();
        assert_eq!(
            text,
            r#"{"categories":{"a\"b":"granted","m":"denied","x":"unknown"},"opted_out":true}"#
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
        let mut back = c(&[("a\"b", Unknown), ("m", Unknown), ("x", Granted)], &[]);
        back.restore(&text);
        assert_eq!(
            (back.categories, back.opted_out),
            (saved.categories.clone(), true)
        );
        for bad in [
            "",
            "{}",
            r#"{"categories":{"m":"maybe"},"opted_out":true}"#,
            r#"{"categories":{},"opted_out":1}"#,
        ] {
            let mut fresh = c(&[("m", Unknown)], &[]);
            fresh.restore(bad);
            assert_eq!(
                (fresh.categories.get("m"), fresh.opted_out),
                (Some(&Unknown), false),
                "{bad}"
            );
        }
        let mut missing_opt_out = c(&[("m", Unknown)], &[]);
        missing_opt_out.restore(r#"{"categories":{"m":"denied"}}"#);
        assert_eq!(missing_opt_out.categories.get("m"), Some(&Denied));
    }
}
