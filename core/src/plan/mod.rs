//! Tracking plans: which events exist, which properties and traits each
//! must carry, and what happens to a call that breaks the plan.
//!
//! A plan is JSON (see docs/tracking-plans.md):
//!
//! ```json
//! { "id": "shop", "version": "3",
//!   "policy": "flag", "unplanned": "flag",
//!   "events": { "Order Completed": { "version": "2", "policy": "drop",
//!       "properties": { "type": "object", "required": ["total"],
//!                       "properties": { "total": { "type": "number", "minimum": 0 } } } } },
//!   "identify": { "traits": { "properties": { "email": { "format": "email" } } } },
//!   "group": { "traits": { "properties": { "plan": { "enum": ["free", "pro"] } } } },
//!   "definitions": { } }
//! ```
//!
//! This module decides how a plan is read ([`TrackingPlan::parse`]: compiled
//! once, every unsupported keyword refused with the JSON Pointer of where it
//! is), which schema a call is held to (`track` by its event name, `identify`
//! and `group` by their traits; `screen`, `page` and `alias` are not planned)
//! and the [`Verdict`] for one call: its violations, and whether the event
//! is kept (policies `flag`, `strip`, `drop`; unplanned events `allow`,
//! `flag`, `drop`). What a verdict does to the event (its context, the
//! stats, strict mode's error) is the recorder's; the keywords themselves
//! are `plan::schema`'s.

mod format;
mod number;
pub mod pattern;
mod schema;
mod tally;
mod view;

use crate::prelude::*;

use crate::cat;
use crate::json::{self, Json, Object};
use crate::json_text::{push_key, push_string};
use crate::model::{Call, EventKind};

pub use format::Format;
pub use pattern::{Matcher, PatternEngine};
pub use schema::KEYWORDS;
pub use tally::{
    PlanStats, RecentViolation, ViolationCount, MAX_RECENT_VIOLATIONS, MAX_TALLIED, OTHER_EVENTS,
    STATE_KEY as VIOLATIONS_STATE_KEY,
};

use schema::{pointer, Compiler, Schema};
use view::View;

/// What happens to a planned event that breaks its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Sent, with `context.violations` saying what is wrong (the default).
    #[default]
    Flag,
    /// The properties (or traits) the plan does not name are removed; the
    /// rest is sent, flagged with any violation left.
    Strip,
    /// Not sent: counted as dropped `plan_violation`.
    Drop,
}

/// What happens to an event the plan does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unplanned {
    /// Sent as it is (the default).
    #[default]
    Allow,
    /// Sent, with an `unplanned` violation in `context.violations`.
    Flag,
    /// Not sent: counted as dropped `plan_violation`.
    Drop,
}

/// One way a call breaks the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The keyword broken (`type`, `required`, `enum`, ...), or `unplanned`.
    pub rule: String,
    /// Where: `properties.price`, `traits.email`, `properties.items[0].sku`.
    pub path: String,
    /// What was expected and what was given: `expected number, got string "9.99"`.
    pub message: String,
}

impl Violation {
    /// `path: message`, as `cairn inspect` and strict mode's error show it.
    pub fn text(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            cat!(self.path, ": ", self.message)
        }
    }

    /// `{"rule":…,"path":…,"message":…}`, as `context.violations` carries it.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"rule\":");
        push_string(out, &self.rule);
        out.push_str(",\"path\":");
        push_string(out, &self.path);
        out.push_str(",\"message\":");
        push_string(out, &self.message);
        out.push('}');
    }
}

/// A plan that cannot be loaded: where (a JSON Pointer into the plan,
/// e.g. `/events/Order Completed/properties/properties/total/minimun`) and
/// what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// JSON Pointer to the offending value (`""`: the whole plan).
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl PlanError {
    /// `at /events/…: message`.
    pub fn text(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            cat!("at ", self.path, ": ", self.message)
        }
    }
}

impl core::fmt::Display for PlanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.text())
    }
}

impl core::error::Error for PlanError {}

/// One event of a plan.
struct EventRules {
    version: Option<Json>,
    description: Option<String>,
    properties: Option<Schema>,
    traits: Option<Schema>,
    policy: Policy,
}

/// A tracking plan, compiled: cheap to check calls against, immutable.
pub struct TrackingPlan {
    id: String,
    version: Json,
    policy: Policy,
    unplanned: Unplanned,
    /// Sorted by name.
    events: Vec<(String, EventRules)>,
    identify: Option<Schema>,
    group: Option<Schema>,
    definitions: Vec<Schema>,
    /// `{"id":…,"version":…}`, as every event sent under the plan carries it.
    stamp: String,
    /// The plan's JSON text (compact), to compare plans and hand them on.
    source: String,
}

impl PartialEq for TrackingPlan {
    /// Plans are the same when their JSON is.
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl core::fmt::Debug for TrackingPlan {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TrackingPlan ")?;
        f.write_str(&self.stamp)
    }
}

/// What the plan says of one call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Every rule the call breaks (empty: it meets the plan).
    pub violations: Vec<Violation>,
    /// Whether the event is dropped (`drop` policy, or an unplanned event
    /// under `unplanned: drop`) instead of sent.
    pub drop: bool,
    /// The properties or traits to send instead of the call's (`strip`
    /// removed some); `Some(empty)` means none are left.
    pub replaced: Option<Object>,
}

impl Verdict {
    /// Whether the call meets the plan.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

/// `[{"rule":…,"path":…,"message":…},…]`: `context.violations`.
pub fn violations_json(violations: &[Violation]) -> String {
    let mut out = String::from("[");
    for (i, v) in violations.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        v.write_json(&mut out);
    }
    out.push(']');
    out
}

/// How strict mode's error lists violations: `path: message; path: message`.
pub fn violations_text(violations: &[Violation]) -> String {
    let mut out = String::new();
    for (i, v) in violations.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&v.text());
    }
    out
}

const PLAN_KEYS: &[&str] = &[
    "id",
    "version",
    "events",
    "identify",
    "group",
    "unplanned",
    "policy",
    "definitions",
    "$defs",
    "description",
    "name",
    "$schema",
];
const EVENT_KEYS: &[&str] = &["version", "description", "properties", "traits", "policy"];

fn fail(at: &str, message: String) -> PlanError {
    PlanError {
        path: at.to_string(),
        message,
    }
}

fn object<'a>(v: &'a Json, at: &str, what: &str) -> Result<&'a Object, PlanError> {
    v.as_object()
        .ok_or_else(|| fail(at, cat!(what, " must be a JSON object, got ", v.kind())))
}

fn only_keys(o: &Object, at: &str, allowed: &[&str], what: &str) -> Result<(), PlanError> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(fail(&pointer(at, k), {
            let mut m = cat!("unsupported key `", k, "` in ", what, ": use ");
            for (i, a) in allowed.iter().enumerate() {
                if i > 0 {
                    m.push_str(", ");
                }
                m.push_str(a);
            }
            m
        })),
        None => Ok(()),
    }
}

impl TrackingPlan {
    /// Reads and compiles a plan from its JSON text; `pattern`s compile with
    /// the native engine (`regex-lite`, feature `regex`).
    pub fn parse(text: &str) -> Result<TrackingPlan, PlanError> {
        Self::parse_with(text, pattern::default_engine())
    }

    /// [`parse`](Self::parse) with `engine` compiling the `pattern`s (the
    /// browser passes the page's `RegExp`).
    pub fn parse_with(text: &str, engine: &dyn PatternEngine) -> Result<TrackingPlan, PlanError> {
        let root = json::parse(text).map_err(|e| {
            fail(
                "",
                cat!("the tracking plan is not valid JSON (", e.message(), ")"),
            )
        })?;
        Self::from_json_with(&root, engine)
    }

    /// Compiles a plan already parsed.
    pub fn from_json_with(
        root: &Json,
        engine: &dyn PatternEngine,
    ) -> Result<TrackingPlan, PlanError> {
        let top = object(root, "", "a tracking plan")?;
        only_keys(top, "", PLAN_KEYS, "a tracking plan")?;
        let id = match top.get("id") {
            Some(Json::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Err(fail(
                "/id",
                "a tracking plan needs an `id`, a non-empty string naming it, e.g. \"shop-web\""
                    .into(),
            )),
        };
        let version = match top.get("version") {
            Some(v @ (Json::String(_) | Json::Number(_))) => v.clone(),
            None => Json::Null,
            Some(other) => {
                return Err(fail(
                    "/version",
                    cat!("`version` must be a string or a number, got ", other.kind()),
                ))
            }
        };
        let policy = policy_at(top.get("policy"), "/policy")?.unwrap_or_default();
        let unplanned = match top.get("unplanned") {
            None => Unplanned::Allow,
            Some(v) => match v.as_str() {
                Some("allow") => Unplanned::Allow,
                Some("flag") => Unplanned::Flag,
                Some("drop") => Unplanned::Drop,
                _ => {
                    return Err(fail(
                        "/unplanned",
                        cat!(
                            "`unplanned` must be \"allow\", \"flag\" or \"drop\", got ",
                            v.to_text()
                        ),
                    ))
                }
            },
        };
        // Definitions first: `$ref`s anywhere point into them.
        let mut defs_json: Vec<(String, String, &Json)> = Vec::new();
        for key in ["definitions", "$defs"] {
            if let Some(d) = top.get(key) {
                let at = pointer("", key);
                for (name, schema) in object(d, &at, "`definitions`")? {
                    defs_json.push((name.clone(), pointer(&at, name), schema));
                }
            }
        }
        let events_json = match top.get("events") {
            Some(e) => Some(object(e, "/events", "`events`")?),
            None => None,
        };
        // Definitions inside an event's schema join the plan's.
        let mut roots: Vec<(String, &Json)> = Vec::new();
        for (name, e) in events_json.into_iter().flatten() {
            let at = pointer("/events", name);
            let o = object(e, &at, "an event")?;
            for field in ["properties", "traits"] {
                if let Some(s) = o.get(field) {
                    roots.push((pointer(&at, field), s));
                }
            }
        }
        for field in ["identify", "group"] {
            if let Some(Json::Object(o)) = top.get(field) {
                if let Some(s) = o.get("traits") {
                    roots.push((pointer(&pointer("", field), "traits"), s));
                }
            }
        }
        for (at, schema) in &roots {
            for key in ["definitions", "$defs"] {
                if let Some(d) = schema.get(key) {
                    let at = pointer(at, key);
                    for (name, s) in object(d, &at, "`definitions`")? {
                        defs_json.push((name.clone(), pointer(&at, name), s));
                    }
                }
            }
        }
        let mut names: Vec<(String, usize)> = Vec::new();
        for (i, (name, at, _)) in defs_json.iter().enumerate() {
            match names.binary_search_by(|(k, _)| k.cmp(name)) {
                Ok(_) => {
                    return Err(fail(
                        at,
                        cat!(
                            "a second definition named \"",
                            name,
                            "\": definitions share one namespace across the plan; rename one"
                        ),
                    ))
                }
                Err(pos) => names.insert(pos, (name.clone(), i)),
            }
        }
        let compiler = Compiler { engine, names };
        let mut definitions = Vec::with_capacity(defs_json.len());
        for (_, at, s) in &defs_json {
            let mut s = compiler.compile(s, at, false)?;
            s.finish();
            definitions.push(s);
        }
        // A `$ref` chain that comes back to itself without descending into
        // a value would never finish checking.
        for (start, (_, at, _)) in defs_json.iter().enumerate() {
            let mut at_def = start;
            for _ in 0..=definitions.len() {
                match definitions.get(at_def).and_then(Schema::reference) {
                    Some(next) if next == start => {
                        return Err(fail(at, "this definition refers to itself through `$ref` without nesting (it could never be checked): break the cycle".into()))
                    }
                    Some(next) => at_def = next,
                    None => break,
                }
            }
        }
        let root_schema = |s: &Json, at: &str| -> Result<Schema, PlanError> {
            let mut s = compiler.compile(s, at, true)?;
            s.finish();
            Ok(s)
        };
        let mut events = Vec::new();
        for (name, e) in events_json.into_iter().flatten() {
            let at = pointer("/events", name);
            let o = object(e, &at, "an event")?;
            only_keys(o, &at, EVENT_KEYS, "an event")?;
            let rules = EventRules {
                version: match o.get("version") {
                    Some(v @ (Json::String(_) | Json::Number(_))) => Some(v.clone()),
                    None => None,
                    Some(other) => {
                        return Err(fail(
                            &pointer(&at, "version"),
                            cat!("`version` must be a string or a number, got ", other.kind()),
                        ))
                    }
                },
                description: o
                    .get("description")
                    .and_then(Json::as_str)
                    .map(str::to_string),
                properties: o
                    .get("properties")
                    .map(|s| root_schema(s, &pointer(&at, "properties")))
                    .transpose()?,
                traits: o
                    .get("traits")
                    .map(|s| root_schema(s, &pointer(&at, "traits")))
                    .transpose()?,
                policy: policy_at(o.get("policy"), &pointer(&at, "policy"))?.unwrap_or(policy),
            };
            events.push((name.clone(), rules));
        }
        let traits_of = |field: &str| -> Result<Option<Schema>, PlanError> {
            let at = pointer("", field);
            match top.get(field) {
                None => Ok(None),
                Some(v) => {
                    let o = object(v, &at, &cat!("`", field, "`"))?;
                    only_keys(o, &at, &["traits", "description"], &cat!("`", field, "`"))?;
                    o.get("traits")
                        .map(|s| root_schema(s, &pointer(&at, "traits")))
                        .transpose()
                }
            }
        };
        let identify = traits_of("identify")?;
        let group = traits_of("group")?;
        let mut stamp = String::from("{\"id\":");
        push_string(&mut stamp, &id);
        push_key(&mut stamp, "version");
        version.write(&mut stamp);
        stamp.push('}');
        Ok(TrackingPlan {
            id,
            version,
            policy,
            unplanned,
            events,
            identify,
            group,
            definitions,
            stamp,
            source: root.to_text(),
        })
    }

    /// The plan's `id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The plan's `version` (a string or a number; `null` if it has none).
    pub fn version(&self) -> &Json {
        &self.version
    }

    /// The plan's default policy for planned events.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// What happens to events the plan does not list.
    pub fn unplanned(&self) -> Unplanned {
        self.unplanned
    }

    /// `{"id":…,"version":…}`: `context.trackingPlan` of every event sent
    /// under this plan.
    pub fn stamp(&self) -> &str {
        &self.stamp
    }

    /// The plan's JSON text (compact, keys sorted).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The planned events, in name order.
    pub fn events(&self) -> impl Iterator<Item = EventSummary<'_>> {
        self.events.iter().map(|(name, r)| EventSummary {
            name,
            version: r.version.as_ref(),
            description: r.description.as_deref(),
            policy: r.policy,
            properties: r.properties.as_ref().map_or(0, |s| s.property_count()),
            required: r.properties.as_ref().map_or(0, |s| s.required_count()),
        })
    }

    /// Whether the plan has rules for `identify`'s and `group`'s traits.
    pub fn plans_traits(&self) -> (bool, bool) {
        (self.identify.is_some(), self.group.is_some())
    }

    fn event(&self, name: &str) -> Option<&EventRules> {
        self.events
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .and_then(|i| self.events.get(i))
            .map(|(_, rules)| rules)
    }

    /// The verdict on one call: `kind` and its event `name` (track), its
    /// `payload` (properties or traits), and `traits_in_force` (the user's
    /// traits, which a track's event may have rules for; `None`: not known,
    /// those rules are not checked).
    pub fn check(
        &self,
        kind: EventKind,
        name: Option<&str>,
        payload: Option<&Object>,
        traits_in_force: Option<&Object>,
    ) -> Verdict {
        let payload = payload.map(Payload::Object);
        self.judge(kind, name, payload, traits_in_force)
    }

    /// The verdict on `call` (see [`check`](Self::check)): its properties
    /// or traits are read from its JSON text only when the plan has rules
    /// for them, and borrowed from it (core/benches/plan.rs).
    pub fn check_call(&self, call: &Call, traits_in_force: Option<&Object>) -> Verdict {
        let parts = call.parts();
        self.judge(
            call.kind,
            parts.name,
            parts.payload.map(Payload::Text),
            traits_in_force,
        )
    }

    fn judge(
        &self,
        kind: EventKind,
        name: Option<&str>,
        payload: Option<Payload<'_>>,
        traits_in_force: Option<&Object>,
    ) -> Verdict {
        let mut verdict = Verdict::default();
        let (schema, field, policy, extra) = match kind {
            EventKind::Track => {
                let name = name.unwrap_or_default();
                match self.event(name) {
                    Some(rules) => (
                        rules.properties.as_ref(),
                        "properties",
                        rules.policy,
                        rules.traits.as_ref(),
                    ),
                    None => {
                        if self.unplanned != Unplanned::Allow {
                            verdict.violations.push(Violation {
                                rule: "unplanned".into(),
                                path: String::new(),
                                message: cat!(
                                    "event \"",
                                    name,
                                    "\" is not in tracking plan ",
                                    self.id
                                ),
                            });
                            verdict.drop = self.unplanned == Unplanned::Drop;
                        }
                        return verdict;
                    }
                }
            }
            EventKind::Identify => (self.identify.as_ref(), "traits", self.policy, None),
            EventKind::Group => (self.group.as_ref(), "traits", self.policy, None),
            EventKind::Screen | EventKind::Page | EventKind::Alias => return verdict,
        };
        if let Some(schema) = schema {
            if policy == Policy::Strip {
                // Stripping edits the payload: it is read whole.
                let mut kept = match &payload {
                    None => Object::new(),
                    Some(Payload::Object(o)) => (*o).clone(),
                    Some(Payload::Text(t)) => match json::parse(t) {
                        Ok(Json::Object(o)) => o,
                        _ => Object::new(),
                    },
                };
                schema.strip_object(&self.definitions, &mut kept, field, &mut verdict.violations);
                let removed = !verdict.violations.is_empty();
                schema.check_root(
                    &self.definitions,
                    &View::of_object(&kept),
                    field,
                    &mut verdict.violations,
                );
                if removed {
                    verdict.replaced = Some(kept);
                }
            } else {
                // A call's text, as cairn writes it, is checked as it is
                // read (plan/walk.rs); other text, and objects, on a view.
                let walked = match &payload {
                    Some(Payload::Text(t)) => schema
                        .walk_root(&self.definitions, t, field, &mut verdict.violations)
                        .is_some(),
                    _ => false,
                };
                if !walked {
                    let view = match &payload {
                        None => View::Object(Vec::new()),
                        Some(Payload::Object(o)) => View::of_object(o),
                        // The call's text was checked as a JSON object when it was made.
                        Some(Payload::Text(t)) => {
                            View::parse(t).unwrap_or(View::Object(Vec::new()))
                        }
                    };
                    schema.check_root(&self.definitions, &view, field, &mut verdict.violations);
                }
            }
        }
        // Without the user's traits (a complete event, a check off the
        // recorder) an event's rules on them wait for the recorder.
        if let (Some(traits), Some(given)) = (extra, traits_in_force) {
            traits.check_root(
                &self.definitions,
                &View::of_object(given),
                "traits",
                &mut verdict.violations,
            );
        }
        verdict.drop = policy == Policy::Drop && !verdict.violations.is_empty();
        verdict
    }
}

/// A payload as a caller has it.
enum Payload<'a> {
    Object(&'a Object),
    Text(&'a str),
}

/// One planned event, as [`TrackingPlan::events`] lists it.
#[derive(Debug, Clone, Copy)]
pub struct EventSummary<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its own `version`, if it has one.
    pub version: Option<&'a Json>,
    /// Its `description`.
    pub description: Option<&'a str>,
    /// The policy in force for it.
    pub policy: Policy,
    /// How many properties its schema names (top level).
    pub properties: usize,
    /// How many of them are required.
    pub required: usize,
}

fn policy_at(v: Option<&Json>, at: &str) -> Result<Option<Policy>, PlanError> {
    match v {
        None => Ok(None),
        Some(v) => match v.as_str() {
            Some("flag") => Ok(Some(Policy::Flag)),
            Some("strip") => Ok(Some(Policy::Strip)),
            Some("drop") => Ok(Some(Policy::Drop)),
            _ => Err(fail(
                at,
                cat!(
                    "`policy` must be \"flag\", \"strip\" or \"drop\", got ",
                    v.to_text()
                ),
            )),
        },
    }
}

impl Policy {
    /// The name a plan uses.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Flag => "flag",
            Policy::Strip => "strip",
            Policy::Drop => "drop",
        }
    }
}

impl Unplanned {
    /// The name a plan uses.
    pub fn name(self) -> &'static str {
        match self {
            Unplanned::Allow => "allow",
            Unplanned::Flag => "flag",
            Unplanned::Drop => "drop",
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
