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

mod resolver;

pub use resolver::{CanonicalId, IdKind, Merge, Resolver};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Call, EventKind};

/// The state key under which the identity is persisted.
pub const STATE_KEY: &str = "identity";

/// The identity state of one device (or one backend source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Made once (UUID v4) and kept until `reset()`.
    pub anonymous_id: String,
    /// Set by `identify` or `alias`.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Traits merged from every `identify`.
    #[serde(default)]
    pub traits: Map<String, Value>,
    /// Set by `group`.
    #[serde(default)]
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
        Identity { anonymous_id: uuid::Uuid::new_v4().to_string(), user_id: None, traits: Map::new(), group_id: None }
    }

    /// Reads a persisted identity; `None` if the text is not one.
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str::<Identity>(text).ok().filter(|i| !i.anonymous_id.is_empty())
    }

    /// The persisted form.
    pub fn to_json(&self) -> String {
        // A struct of strings and JSON values always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Applies `call` to the state and returns the ids its event carries.
    pub fn apply(&mut self, call: &Call) -> EventIds {
        let mut previous_id = None;
        match call.kind {
            EventKind::Identify => {
                self.user_id = call.user_id.clone();
                if let Some(raw) = &call.traits {
                    if let Ok(Value::Object(t)) = serde_json::from_str::<Value>(raw.get()) {
                        self.traits.extend(t);
                    }
                }
            }
            EventKind::Alias => {
                previous_id = Some(self.user_id.clone().unwrap_or_else(|| self.anonymous_id.clone()));
                self.user_id = call.user_id.clone();
            }
            EventKind::Group => self.group_id = call.group_id.clone(),
            EventKind::Track | EventKind::Screen | EventKind::Page => {}
        }
        EventIds {
            anonymous_id: self.anonymous_id.clone(),
            user_id: self.user_id.clone(),
            previous_id,
            group_id: if call.kind == EventKind::Group { self.group_id.clone() } else { None },
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
        assert_eq!((before.user_id, before.anonymous_id.as_str()), (None, anon.as_str()));

        let traits = object_from_value("traits", &json!({"plan": "pro"})).unwrap();
        let ids = id.apply(&Call::identify("u1", traits, 0).unwrap());
        assert_eq!((ids.user_id.as_deref(), ids.anonymous_id.as_str()), (Some("u1"), anon.as_str()));
        assert_eq!(id.traits["plan"], "pro");

        let ids = id.apply(&Call::alias("u2", 0).unwrap());
        assert_eq!((ids.previous_id.as_deref(), ids.user_id.as_deref()), (Some("u1"), Some("u2")));

        let ids = id.apply(&Call::group("g", None, 0).unwrap());
        assert_eq!(ids.group_id.as_deref(), Some("g"));

        let restored = Identity::from_json(&id.to_json()).unwrap();
        assert_eq!(restored, id);

        id.reset();
        assert_ne!(id.anonymous_id, anon);
        assert_eq!((id.user_id.clone(), id.traits.len(), id.group_id.clone()), (None, 0, None));
    }

    #[test]
    fn alias_without_user_uses_anonymous_id() {
        let mut id = Identity::new();
        let ids = id.apply(&Call::alias("u9", 0).unwrap());
        assert_eq!(ids.previous_id.as_deref(), Some(id.anonymous_id.as_str()));
    }
}
