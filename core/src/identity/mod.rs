//! Who the events are about: the anonymous id, the user id, traits and group,
//! as state transitions.
//!
//! [`Identity::apply`] takes each call in recording order and returns the ids
//! that call's event carries, so an event recorded before `identify` never
//! carries the later `userId`. The state is serialized with
//! [`Identity::to_json`] and persisted by whoever owns the store, in the same
//! transaction as the events it stamped. Deciding *when* to persist, and the
//! file mirror of the anonymous id, are left to the runtime.
//!
//! [`Resolver`] is the server-side counterpart: it stitches the ids seen in
//! many devices' identify and alias events into people.

use crate::prelude::*;

#[cfg(feature = "std")]
mod resolver;

#[cfg(feature = "std")]
pub use resolver::{CanonicalId, IdKind, Merge, Resolver};

use crate::json::{self, Json, Object};
use crate::json_text::{push_key, push_string};
use crate::model::{Call, EventKind};

/// The state key under which the identity is persisted.
pub const STATE_KEY: &str = "identity";

/// The identity state of one device (or one backend source).
///
/// Persisted as `{"anonymous_id":"…","user_id":…,"traits":{…},"group_id":…}`
/// (the shape earlier versions wrote with serde; all but `anonymous_id` may
/// be missing or `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// Made once (UUID v4) and kept until `reset()`.
    pub anonymous_id: String,
    /// Set by `identify` or `alias`.
    pub user_id: Option<String>,
    /// Traits merged from every `identify`.
    pub traits: Object,
    /// Set by `group`.
    pub group_id: Option<String>,
}

/// The ids one event carries, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventIds {
    /// `anonymousId`.
    pub anonymous_id: String,
    /// `userId`.
    pub user_id: Option<String>,
    /// `previousId` (alias).
    pub previous_id: Option<String>,
    /// `groupId` (group).
    pub group_id: Option<String>,
}

impl Default for Identity {
    fn default() -> Self {
        Self::new()
    }
}

impl Identity {
    /// A fresh anonymous identity.
    pub fn new() -> Self {
        let anonymous_id = crate::ids::random_uuid();
        Identity {
            anonymous_id,
            user_id: None,
            traits: Object::new(),
            group_id: None,
        }
    }

    /// Reads a persisted identity; `None` if the text is not one.
    pub fn from_json(text: &str) -> Option<Self> {
        let Json::Object(mut o) = json::parse(text).ok()? else {
            return None;
        };
        let text_field = |v: Option<Json>| match v {
            None | Some(Json::Null) => Some(None),
            Some(Json::String(s)) => Some(Some(s)),
            Some(_) => None,
        };
        let anonymous_id = text_field(o.remove("anonymous_id"))?.filter(|a| !a.is_empty())?;
        let traits = match o.remove("traits") {
            None | Some(Json::Null) => Object::new(),
            Some(Json::Object(t)) => t,
            Some(_) => return None,
        };
        Some(Identity {
            anonymous_id,
            user_id: text_field(o.remove("user_id"))?,
            traits,
            group_id: text_field(o.remove("group_id"))?,
        })
    }

    /// The persisted form.
    pub fn to_json(&self) -> String {
        let text = |out: &mut String, s: &Option<String>| match s {
            Some(s) => push_string(out, s),
            None => out.push_str("null"),
        };
        let mut out = String::from("{");
        push_key(&mut out, "anonymous_id");
        push_string(&mut out, &self.anonymous_id);
        push_key(&mut out, "user_id");
        text(&mut out, &self.user_id);
        push_key(&mut out, "traits");
        self.traits.write(&mut out);
        push_key(&mut out, "group_id");
        text(&mut out, &self.group_id);
        out.push('}');
        out
    }

    /// Applies `call` to the state and returns the ids its event carries.
    pub fn apply(&mut self, call: &Call) -> EventIds {
        let mut previous_id = None;
        match call.kind {
            EventKind::Identify => {
                self.user_id = call.user_id().map(str::to_owned);
                if let Some(raw) = call.traits() {
                    if let Ok(Json::Object(t)) = json::parse(raw) {
                        self.traits.extend(t);
                    }
                }
            }
            EventKind::Alias => {
                previous_id = Some(
                    self.user_id
                        .clone()
                        .unwrap_or_else(|| self.anonymous_id.clone()),
                );
                self.user_id = call.user_id().map(str::to_owned);
            }
            EventKind::Group => self.group_id = call.group_id().map(str::to_owned),
            EventKind::Track | EventKind::Screen | EventKind::Page => {}
        }
        EventIds {
            anonymous_id: self.anonymous_id.clone(),
            user_id: self.user_id.clone(),
            previous_id,
            group_id: if call.kind == EventKind::Group {
                self.group_id.clone()
            } else {
                None
            },
        }
    }

    /// Forgets the user: clears user id, traits and group, makes a new anonymous id.
    pub fn reset(&mut self) {
        *self = Identity::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::object_from_value;
    use serde_json::json;

    #[test]
    fn identify_alias_group_reset() {
        let mut id = Identity::new();
        let anon = id.anonymous_id.clone();
        let before = id.apply(&Call::track("a", None, 0).unwrap());
        assert_eq!(
            (before.user_id, before.anonymous_id.as_str()),
            (None, anon.as_str())
        );

        let traits = object_from_value("traits", &json!({"plan": "pro"})).unwrap();
        let ids = id.apply(&Call::identify("u1", traits, 0).unwrap());
        assert_eq!(
            (ids.user_id.as_deref(), ids.anonymous_id.as_str()),
            (Some("u1"), anon.as_str())
        );
        assert_eq!(id.traits["plan"], "pro");

        let ids = id.apply(&Call::alias("u2", 0).unwrap());
        assert_eq!(
            (ids.previous_id.as_deref(), ids.user_id.as_deref()),
            (Some("u1"), Some("u2"))
        );

        let ids = id.apply(&Call::group("g", None, 0).unwrap());
        assert_eq!(ids.group_id.as_deref(), Some("g"));

        let restored = Identity::from_json(&id.to_json()).unwrap();
        assert_eq!(restored, id);
        // The text earlier versions wrote with serde reads back the same.
        let serde_text = format!(
            r#"{{"anonymous_id":"{}","user_id":"u2","traits":{{"plan":"pro"}},"group_id":"g"}}"#,
            id.anonymous_id
        );
        assert_eq!(id.to_json(), serde_text);
        assert_eq!(
            Identity::from_json(r#"{"anonymous_id":"a"}"#)
                .unwrap()
                .user_id,
            None,
            "missing fields default"
        );
        for bad in [
            "",
            "[]",
            r#"{"anonymous_id":""}"#,
            r#"{"user_id":"u"}"#,
            r#"{"anonymous_id":"a","traits":[]}"#,
            r#"{"anonymous_id":"a","user_id":7}"#,
        ] {
            assert_eq!(Identity::from_json(bad), None, "{bad}");
        }

        id.reset();
        assert_ne!(id.anonymous_id, anon);
        assert_eq!(
            (id.user_id.clone(), id.traits.len(), id.group_id.clone()),
            (None, 0, None)
        );
    }

    #[test]
    fn alias_without_user_uses_anonymous_id() {
        let mut id = Identity::new();
        let ids = id.apply(&Call::alias("u9", 0).unwrap());
        assert_eq!(ids.previous_id.as_deref(), Some(id.anonymous_id.as_str()));
    }
}
