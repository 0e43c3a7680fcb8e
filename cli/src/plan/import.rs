//! `cairn plan import`: a Segment Protocols or RudderStack tracking-plan
//! export converted into cairn's plan format.
//!
//! Both vendors keep one JSON Schema per event that describes the whole
//! event (`properties`, `context`, `traits` as members of one object). This
//! module decides where each vendor keeps those schemas and lifts out the
//! parts cairn enforces: the event's `properties`, a track event's
//! `traits`, `identify`'s and `group`'s traits. Rules cairn cannot enforce
//! at the call (context, page and screen rules, Segment's global rules) are
//! returned as notes, never dropped silently. The keywords inside the
//! schemas are kept as they are; the result is compiled by the core, so a
//! keyword cairn does not support fails the import naming where it is.

use std::path::Path;

use serde_json::{json, Map, Value};

use cairn::plan::TrackingPlan;

use super::{read, PlanToolError};

/// The vendors whose exports `cairn plan import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Vendor {
    /// Segment Protocols (Config API `rules.events`, or the Public API's rules list).
    Segment,
    /// RudderStack tracking plan with its events (Data Catalog API).
    Rudderstack,
}

/// An imported plan: its JSON text (pretty, with a final newline) and what
/// was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The plan in cairn's format.
    pub plan: String,
    /// Rules the export has that cairn does not enforce, one sentence each.
    pub notes: Vec<String>,
}

/// Converts the export in `path`; `id` overrides the plan's id.
pub fn run(vendor: Vendor, path: &Path, id: Option<&str>) -> Result<Imported, PlanToolError> {
    let bad = |message: String| PlanToolError::BadExport {
        path: path.display().to_string(),
        message,
    };
    let text = read(path)?;
    let export: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON ({e})")))?;
    let (mut plan, notes) = match vendor {
        Vendor::Segment => segment(&export),
        Vendor::Rudderstack => rudderstack(&export),
    }
    .map_err(bad)?;
    if let Some(id) = id {
        plan["id"] = json!(id);
    }
    let text = serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n";
    TrackingPlan::parse(&text).map_err(|e| PlanToolError::InvalidPlan {
        path: path.display().to_string(),
        message: format!("the imported plan does not load: {}", e.text()),
    })?;
    Ok(Imported { plan: text, notes })
}

/// A schema that says something (not absent, `{}` or `true`).
fn says_something(v: Option<&Value>) -> Option<&Value> {
    v.filter(|s| match s {
        Value::Object(o) => !o.is_empty(),
        Value::Bool(true) | Value::Null => false,
        _ => true,
    })
}

/// The member schema `field` (`properties`, `traits`, `context`) of a
/// whole-event schema, and the event schema's `definitions` it may refer to.
fn section<'a>(event_schema: &'a Value, field: &str) -> Option<&'a Value> {
    says_something(event_schema.get("properties").and_then(|p| p.get(field)))
}

/// An event's properties schema with the event schema's definitions moved
/// in (cairn reads `definitions` at the root of an event's schema).
fn with_definitions(schema: &Value, event_schema: &Value) -> Value {
    let mut s = schema.clone();
    for key in ["definitions", "$defs"] {
        if let (Some(defs), Value::Object(o)) = (event_schema.get(key), &mut s) {
            o.insert(key.into(), defs.clone());
        }
    }
    s
}

fn segment(export: &Value) -> Result<(Value, Vec<String>), String> {
    // The Public API wraps its answers in `data`.
    let root = export.get("data").unwrap_or(export);
    let plan_info = root.get("trackingPlan").unwrap_or(root);
    // Public API: `id` ("tp_…"); Config API: `name` ends in the plan's id
    // ("workspaces/<ws>/tracking-plans/rs_…").
    let id = match (plan_info["id"].as_str(), plan_info["name"].as_str()) {
        (Some(id), _) => id.to_string(),
        (None, Some(name)) => name.rsplit('/').next().unwrap_or(name).to_string(),
        (None, None) => {
            return Err("a Segment tracking plan has a `name` (Config API) or an `id` (Public API): neither is here".into())
        }
    };
    let version = plan_info
        .get("update_time")
        .or_else(|| plan_info.get("updatedAt"))
        .cloned()
        .unwrap_or(json!(1));
    let mut events = Map::new();
    let mut identify = None;
    let mut group = None;
    let mut notes = Vec::new();
    match root.get("rules") {
        // Config API: {rules: {events: [{name, description, version, rules}], identify, group, global}}.
        Some(Value::Object(rules)) => {
            for e in rules.get("events").and_then(Value::as_array).into_iter().flatten() {
                let name = e["name"].as_str().ok_or("an event in `rules.events` has no `name`")?;
                let (event, mut n) = segment_event(name, &e["rules"], e.get("version"), e.get("description"));
                events.insert(name.to_string(), event);
                notes.append(&mut n);
            }
            identify = rules.get("identify").and_then(|s| section(s, "traits")).cloned();
            group = rules.get("group").and_then(|s| section(s, "traits")).cloned();
            if rules.get("global").and_then(|g| section(g, "context").or_else(|| section(g, "properties"))).is_some() {
                notes.push("the global rules (context and properties every event carries) are not enforced by cairn; they were left out".into());
            }
        }
        // Public API: {rules: [{type: TRACK|IDENTIFY|GROUP|PAGE|SCREEN|COMMON, key, version, jsonSchema}]}.
        Some(Value::Array(rules)) => {
            for r in rules {
                let schema = &r["jsonSchema"];
                match r["type"].as_str().unwrap_or_default() {
                    "TRACK" => {
                        let name = r["key"].as_str().ok_or("a TRACK rule has no `key` (its event name)")?;
                        let (event, mut n) = segment_event(name, schema, r.get("version"), r.get("description"));
                        events.insert(name.to_string(), event);
                        notes.append(&mut n);
                    }
                    "IDENTIFY" => identify = section(schema, "traits").cloned(),
                    "GROUP" => group = section(schema, "traits").cloned(),
                    other => notes.push(format!("the {other} rule is not enforced by cairn (it plans track, identify and group); it was left out")),
                }
            }
        }
        _ => return Err("expected `rules`: an object with `events` (Config API) or a list of rules (Public API)".into()),
    }
    let mut plan = json!({ "id": id, "version": version, "events": events });
    if let Some(t) = identify {
        plan["identify"] = json!({ "traits": t });
    }
    if let Some(t) = group {
        plan["group"] = json!({ "traits": t });
    }
    Ok((plan, notes))
}

/// One Segment event rule: the event's schema is the whole event's.
fn segment_event(
    name: &str,
    schema: &Value,
    version: Option<&Value>,
    description: Option<&Value>,
) -> (Value, Vec<String>) {
    let mut event = Map::new();
    let mut notes = Vec::new();
    if let Some(v) = version.filter(|v| v.is_number() || v.is_string()) {
        event.insert("version".into(), v.clone());
    }
    if let Some(d) = description
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        event.insert("description".into(), json!(d));
    }
    if let Some(p) = section(schema, "properties") {
        event.insert("properties".into(), with_definitions(p, schema));
    }
    if let Some(t) = section(schema, "traits") {
        event.insert("traits".into(), with_definitions(t, schema));
    }
    if section(schema, "context").is_some() {
        notes.push(format!(
            "event \"{name}\": its context rules are not enforced by cairn; they were left out"
        ));
    }
    (Value::Object(event), notes)
}

fn rudderstack(export: &Value) -> Result<(Value, Vec<String>), String> {
    let id = export["id"]
        .as_str()
        .or(export["name"].as_str())
        .ok_or("a RudderStack tracking plan has an `id` and a `name`: neither is here")?;
    let version = export.get("version").cloned().unwrap_or(json!(1));
    let list = export["events"]
        .as_array()
        .ok_or("expected `events`: the tracking plan's events with their rules (Data Catalog API, tracking plan with events)")?;
    let mut events = Map::new();
    let mut identify = None;
    let mut group = None;
    let mut notes = Vec::new();
    for e in list {
        let schema = &e["rules"];
        let kind = e["eventType"].as_str().unwrap_or("track");
        // Where the event's own fields are: `properties` for track, `traits`
        // for identify and group (RudderStack's `identitySection`).
        let field = e["identitySection"].as_str().unwrap_or(if kind == "track" {
            "properties"
        } else {
            "traits"
        });
        match kind {
            "track" => {
                let name = e["name"].as_str().ok_or("a track event has no `name`")?;
                let mut event = Map::new();
                if let Some(d) = e["description"].as_str().filter(|d| !d.is_empty()) {
                    event.insert("description".into(), json!(d));
                }
                if let Some(p) = section(schema, field) {
                    let mut p = with_definitions(p, schema);
                    // RudderStack keeps "allow unplanned properties" beside the rules.
                    if let (Some(a @ Value::Bool(_)), Value::Object(o)) = (e.get("additionalProperties"), &mut p) {
                        o.entry("additionalProperties").or_insert(a.clone());
                    }
                    event.insert("properties".into(), p);
                }
                if section(schema, "context").is_some() {
                    notes.push(format!("event \"{name}\": its context rules are not enforced by cairn; they were left out"));
                }
                events.insert(name.to_string(), Value::Object(event));
            }
            "identify" => identify = section(schema, field).map(|s| with_definitions(s, schema)),
            "group" => group = section(schema, field).map(|s| with_definitions(s, schema)),
            other => notes.push(format!("the {other} rules are not enforced by cairn (it plans track, identify and group); they were left out")),
        }
    }
    let mut plan = json!({ "id": id, "version": version, "events": events });
    if let Some(t) = identify {
        plan["identify"] = json!({ "traits": t });
    }
    if let Some(t) = group {
        plan["group"] = json!({ "traits": t });
    }
    Ok((plan, notes))
}
