//! One property schema of a tracking plan: compiled once from the plan's
//! JSON Schema, then applied to every call's properties or traits.
//!
//! It decides which JSON Schema keywords cairn enforces and what each one
//! means (the subset Segment Protocols and RudderStack tracking plans use,
//! listed in [`KEYWORDS`]), refuses any other keyword when the plan is
//! loaded (a keyword silently ignored would pass events the author meant
//! to stop), and words each violation as the path it is at and what was
//! expected. Which calls are checked against which schema, and what happens
//! to a violating event, are [`super`]'s.

use crate::prelude::*;

use core::cmp::Ordering;

use alloc::borrow::Cow;

use super::format::Format;
use super::number::{self, Bound, Decimal};
use super::pattern::{Matcher, PatternEngine};
use super::view::View;
use super::{PlanError, Violation};
use crate::cat;
use crate::json::{Json, Object};
use crate::json_text::push_string;

/// The validation keywords cairn enforces.
pub const KEYWORDS: &[&str] = &[
    "type",
    "required",
    "properties",
    "additionalProperties",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "items",
    "minItems",
    "maxItems",
    "$ref",
];

/// [`KEYWORDS`] as error messages list them (written out: `join` would
/// bring its own code into the browser build; a test checks the two agree).
pub(crate) const KEYWORDS_TEXT: &str = "type, required, properties, additionalProperties, enum, const, minimum, maximum, \
exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, format, items, minItems, maxItems, $ref";

/// Keywords that describe and never validate: accepted and left alone.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "$schema",
    "$id",
    "$comment",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
];

const NULL: u8 = 1;
const BOOLEAN: u8 = 2;
const INTEGER: u8 = 4;
const NUMBER: u8 = 8;
const STRING: u8 = 16;
const ARRAY: u8 = 32;
const OBJECT: u8 = 64;

const TYPE_NAMES: [(&str, u8); 7] = [
    ("null", NULL),
    ("boolean", BOOLEAN),
    ("integer", INTEGER),
    ("number", NUMBER),
    ("string", STRING),
    ("array", ARRAY),
    ("object", OBJECT),
];

/// What a schema says of members its `properties` do not name.
#[derive(Default)]
enum Additional {
    /// Nothing said: allowed (JSON Schema's default); the `strip` policy
    /// removes them when `properties` names any.
    #[default]
    Unsaid,
    /// `true`: allowed, kept by `strip` too.
    Allow,
    /// `false`.
    Deny,
    /// A schema each of them must meet.
    Schema(Box<Schema>),
}

/// A compiled schema.
#[derive(Default)]
pub(crate) struct Schema {
    /// The `false` schema: nothing is valid.
    never: bool,
    /// Allowed types (`0`: any).
    types: u8,
    required: Vec<String>,
    /// Sorted by name.
    properties: Vec<(String, Schema)>,
    /// For each of `required`, its position in `properties` if declared
    /// there: the one-pass check (walk.rs) marks members by position.
    required_at: Vec<Option<usize>>,
    additional: Additional,
    one_of: Option<Vec<Json>>,
    constant: Option<Json>,
    minimum: Option<Bound>,
    maximum: Option<Bound>,
    exclusive_minimum: Option<Bound>,
    exclusive_maximum: Option<Bound>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<(String, Box<dyn Matcher>)>,
    format: Option<Format>,
    items: Option<Box<Schema>>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    /// Index of the definition `$ref` names.
    reference: Option<usize>,
}

/// Compiles schemas, resolving `$ref` against the plan's definitions.
pub(crate) struct Compiler<'a> {
    pub(crate) engine: &'a dyn PatternEngine,
    /// Definition names (`#/definitions/<name>`), sorted, with their index.
    pub(crate) names: Vec<(String, usize)>,
}

fn error(at: &str, message: String) -> PlanError {
    PlanError {
        path: at.to_string(),
        message,
    }
}

/// `at` with one more JSON Pointer segment.
pub(crate) fn pointer(at: &str, segment: &str) -> String {
    let mut p = String::with_capacity(at.len() + segment.len() + 1);
    p.push_str(at);
    p.push('/');
    for c in segment.chars() {
        match c {
            '~' => p.push_str("~0"),
            '/' => p.push_str("~1"),
            c => p.push(c),
        }
    }
    p
}

impl Compiler<'_> {
    /// Compiles the schema `v` found at JSON Pointer `at`. `root` allows
    /// `definitions` (checked by the caller, which compiles them).
    pub(crate) fn compile(&self, v: &Json, at: &str, root: bool) -> Result<Schema, PlanError> {
        let o = match v {
            Json::Bool(true) => return Ok(Schema::default()),
            Json::Bool(false) => {
                return Ok(Schema {
                    never: true,
                    ..Schema::default()
                })
            }
            Json::Object(o) => o,
            other => {
                return Err(error(
                    at,
                    cat!(
                        "a schema must be a JSON object (or true/false), got ",
                        other.kind()
                    ),
                ))
            }
        };
        let mut s = Schema::default();
        for (key, value) in o {
            let here = pointer(at, key);
            let k = key.as_str();
            match k {
                "type" => s.types = types(value, &here)?,
                "required" => {
                    s.required = strings(value, &here)?;
                }
                "properties" => {
                    let members = value.as_object().ok_or_else(|| {
                        error(&here, cat!("`properties` must be an object of schemas, got ", value.kind()))
                    })?;
                    for (name, sub) in members {
                        let sub = self.compile(sub, &pointer(&here, name), false)?;
                        s.properties.push((name.clone(), sub));
                    }
                }
                "additionalProperties" => {
                    s.additional = match value {
                        Json::Bool(true) => Additional::Allow,
                        Json::Bool(false) => Additional::Deny,
                        other => Additional::Schema(Box::new(self.compile(other, &here, false)?)),
                    }
                }
                "enum" => match value {
                    Json::Array(a) if !a.is_empty() => s.one_of = Some(a.clone()),
                    _ => return Err(error(&here, "`enum` must be a non-empty array of the allowed values".into())),
                },
                "const" => s.constant = Some(value.clone()),
                "minimum" => s.minimum = Some(bound(value, &here)?),
                "maximum" => s.maximum = Some(bound(value, &here)?),
                "exclusiveMinimum" => s.exclusive_minimum = Some(bound(value, &here)?),
                "exclusiveMaximum" => s.exclusive_maximum = Some(bound(value, &here)?),
                "minLength" => s.min_length = Some(count(value, &here)?),
                "maxLength" => s.max_length = Some(count(value, &here)?),
                "minItems" => s.min_items = Some(count(value, &here)?),
                "maxItems" => s.max_items = Some(count(value, &here)?),
                "pattern" => {
                    let p = value.as_str().ok_or_else(|| {
                        error(&here, cat!("`pattern` must be a string, got ", value.kind()))
                    })?;
                    let m = self.engine.compile(p).map_err(|e| error(&here, e))?;
                    s.pattern = Some((p.to_string(), m));
                }
                "format" => {
                    let name = value.as_str().unwrap_or_default();
                    s.format = Some(Format::named(name).ok_or_else(|| {
                        error(&here, cat!("unsupported format ", value.to_text(), ": cairn checks date-time, email, uri and uuid; remove it or use `pattern`"))
                    })?);
                }
                "items" => match value {
                    Json::Array(_) => {
                        return Err(error(&here, "`items` as a list (one schema per position) is not supported: give one schema that every item meets".into()))
                    }
                    other => s.items = Some(Box::new(self.compile(other, &here, false)?)),
                },
                "$ref" => {
                    let target = value.as_str().unwrap_or_default();
                    let name = target
                        .strip_prefix("#/definitions/")
                        .or_else(|| target.strip_prefix("#/$defs/"));
                    let index = name.and_then(|n| {
                        self.names
                            .binary_search_by(|(k, _)| k.as_str().cmp(n))
                            .ok()
                            .and_then(|i| self.names.get(i))
                            .map(|(_, index)| *index)
                    });
                    s.reference = Some(index.ok_or_else(|| {
                        error(&here, cat!("`$ref` ", value.to_text(), " names no definition: refer to one of the plan's `definitions` as \"#/definitions/<name>\""))
                    })?);
                }
                "definitions" | "$defs" if root => {}
                "definitions" | "$defs" => {
                    return Err(error(&here, "`definitions` are read at the top of a plan or of an event's schema only: move them there".into()))
                }
                k if ANNOTATIONS.contains(&k) => {}
                _ => {
                    return Err(error(&here, cat!("unsupported keyword `", k, "`: cairn enforces ", KEYWORDS_TEXT, "; remove it (a keyword cairn skipped would let through events the plan means to stop)")))
                }
            }
        }
        s.required_at = s
            .required
            .iter()
            .map(|name| {
                s.properties
                    .binary_search_by(|(k, _)| k.as_str().cmp(name))
                    .ok()
            })
            .collect();
        Ok(s)
    }
}

fn types(v: &Json, at: &str) -> Result<u8, PlanError> {
    let one = |name: &str| {
        TYPE_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, bit)| *bit)
            .ok_or_else(|| {
                error(
                    at,
                    cat!(
                        "unknown type \"",
                        name,
                        "\": use null, boolean, integer, number, string, array or object"
                    ),
                )
            })
    };
    match v {
        Json::String(s) => one(s),
        Json::Array(list) if !list.is_empty() => list.iter().try_fold(0, |acc, t| match t {
            Json::String(s) => Ok(acc | one(s)?),
            other => Err(error(
                at,
                cat!("`type` lists type names, got ", other.kind()),
            )),
        }),
        other => Err(error(
            at,
            cat!(
                "`type` must be a type name or a non-empty list of them, got ",
                other.kind()
            ),
        )),
    }
}

fn strings(v: &Json, at: &str) -> Result<Vec<String>, PlanError> {
    match v {
        Json::Array(list) => list
            .iter()
            .map(|s| {
                s.as_str().map(str::to_string).ok_or_else(|| {
                    error(at, cat!("`required` lists property names, got ", s.kind()))
                })
            })
            .collect(),
        other => Err(error(
            at,
            cat!(
                "`required` must be an array of property names, got ",
                other.kind()
            ),
        )),
    }
}

fn bound(v: &Json, at: &str) -> Result<Bound, PlanError> {
    match v {
        // A JSON number's text always reads as a decimal.
        Json::Number(n) => Bound::new(n.as_str().to_string())
            .ok_or_else(|| error(at, cat!("expected a number, got ", n.as_str()))),
        other => Err(error(at, cat!("expected a number, got ", other.kind(), " (JSON Schema draft 4's boolean exclusiveMinimum/Maximum is not supported: give the bound itself)"))),
    }
}

fn count(v: &Json, at: &str) -> Result<u64, PlanError> {
    v.as_u64().ok_or_else(|| {
        error(
            at,
            cat!("expected a whole number of at least 0, got ", v.to_text()),
        )
    })
}

/// Appends `key` to a violation path: `.name`, or `["odd key"]`.
fn push_member(path: &mut String, key: &str) {
    // ASCII only: Unicode's letter tables would grow the browser build.
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        push_string(path, key);
        path.push(']');
    }
}

/// How a violation shows a value: `string "9.99"`, `number 42`, `array of 3`.
pub(crate) fn describe(v: &View<'_>) -> String {
    match v {
        View::Null => "null".into(),
        View::Bool(b) => cat!("boolean ", if *b { "true" } else { "false" }),
        View::Number(n) => cat!("number ", *n),
        View::Str(s) => {
            // Long strings are cut: the message goes into every event's context.
            let mut out = String::from("string ");
            let cut: String = s.chars().take(MAX_SHOWN_CHARS).collect();
            push_string(&mut out, &cut);
            if cut.len() < s.len() {
                out.push('…');
            }
            out
        }
        View::Array(a) => cat!("array of ", a.len()),
        View::Object(_) => "object".into(),
    }
}

/// Characters of a string value shown in a violation.
const MAX_SHOWN_CHARS: usize = 40;

fn type_list(types: u8) -> String {
    let mut out = String::new();
    for (name, bit) in TYPE_NAMES {
        if types & bit != 0 {
            if !out.is_empty() {
                out.push_str(" or ");
            }
            out.push_str(name);
        }
    }
    out
}

/// Whether `v` is of one of `types`; `number` is `v` read as a decimal,
/// when it is a number.
fn has_type(types: u8, v: &View<'_>, number: Option<&Decimal<'_>>) -> bool {
    let bit = match v {
        View::Null => NULL,
        View::Bool(_) => BOOLEAN,
        View::Number(_) => {
            let integer = number.is_some_and(Decimal::is_integer);
            return types & NUMBER != 0 || (types & INTEGER != 0 && integer);
        }
        View::Str(_) => STRING,
        View::Array(_) => ARRAY,
        View::Object(_) => OBJECT,
    };
    types & bit != 0
}

/// JSON Schema's equality of a plan's value and a call's: numbers by
/// value (`1` equals `1.0`), objects regardless of member order.
pub(crate) fn same(a: &Json, b: &View<'_>) -> bool {
    match (a, b) {
        (Json::Null, View::Null) => true,
        (Json::Bool(x), View::Bool(y)) => x == y,
        (Json::String(x), View::Str(y)) => x == y,
        (Json::Number(x), View::Number(y)) => {
            number::compare(x.as_str(), y) == Some(Ordering::Equal)
        }
        (Json::Array(x), View::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Json::Object(x), View::Object(y)) => {
            // Both sorted by key, keys unique.
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => false,
    }
}

#[path = "walk.rs"]
mod walk;

/// One step from the root of a payload to a value in it.
#[derive(Clone)]
enum Step<'w> {
    /// A member's name (owned only when its text had escapes).
    Member(Cow<'w, str>),
    Item(usize),
}

/// What a check found, and where it is in the payload. The path is kept as
/// steps and written out only for a violation: walking a payload that
/// meets the plan, the usual case, writes no path text (core/benches/plan.rs).
struct Out<'f, 'w> {
    root: &'f str,
    steps: Vec<Step<'w>>,
    found: &'f mut Vec<Violation>,
}

impl Out<'_, '_> {
    /// Where the check is, as violations show it.
    fn path(&self) -> String {
        let mut path = String::from(self.root);
        for step in &self.steps {
            match step {
                Step::Member(key) => push_member(&mut path, key),
                Step::Item(i) => {
                    path.push('[');
                    crate::text::push_u64(&mut path, *i as u64);
                    path.push(']');
                }
            }
        }
        path
    }

    fn add(&mut self, rule: &str, message: String) {
        let path = self.path();
        self.found.push(Violation {
            rule: rule.to_string(),
            path,
            message,
        });
    }
}

/// What stripping removed, and the path of the member being looked at.
struct StripOut<'a> {
    path: String,
    found: &'a mut Vec<Violation>,
}

impl Schema {
    fn get(&self, name: &str) -> Option<&Schema> {
        self.properties
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .and_then(|i| self.properties.get(i))
            .map(|(_, s)| s)
    }

    /// Nothing left to do once compiled: `properties` come from a
    /// [`crate::json::Object`], sorted by name already (no sorting code in
    /// the browser build).
    pub(crate) fn finish(&mut self) {}

    /// How many properties it names (top level).
    pub(crate) fn property_count(&self) -> usize {
        self.properties.len()
    }

    /// How many properties it requires (top level).
    pub(crate) fn required_count(&self) -> usize {
        self.required.len()
    }

    /// The definition a `$ref` points to directly, for cycle checks.
    pub(crate) fn reference(&self) -> Option<usize> {
        self.reference
    }

    /// Checks `v` (the `properties` or `traits` object) found at `path`,
    /// adding what it breaks to `found`.
    pub(crate) fn check_root(
        &self,
        defs: &[Schema],
        v: &View<'_>,
        path: &str,
        found: &mut Vec<Violation>,
    ) {
        let mut out = Out {
            root: path,
            // Room for the usual nesting, so walking the payload does not grow it.
            steps: Vec::with_capacity(8),
            found,
        };
        self.check(defs, v, &mut out);
    }

    fn check<'w>(&'w self, defs: &'w [Schema], v: &'w View<'_>, out: &mut Out<'_, 'w>) {
        if self.never {
            out.add(
                "false",
                cat!("the plan allows no value here, got ", describe(v)),
            );
            return;
        }
        if let Some(d) = self.reference.and_then(|i| defs.get(i)) {
            d.check(defs, v, out);
        }
        if !self.check_own(v, out) {
            return;
        }
        match v {
            View::Array(items) => {
                let n = items.len() as u64;
                self.check_count(n, out);
                if let Some(item) = &self.items {
                    for (i, x) in items.iter().enumerate() {
                        out.steps.push(Step::Item(i));
                        item.check(defs, x, out);
                        out.steps.pop();
                    }
                }
            }
            View::Object(members) => self.check_members(defs, members, out),
            _ => {}
        }
    }

    /// `minItems` and `maxItems` for an array of `n` items.
    fn check_count(&self, n: u64, out: &mut Out<'_, '_>) {
        if let Some(m) = self.min_items.filter(|m| n < *m) {
            out.add("minItems", cat!("expected at least ", m, " items, got ", n));
        }
        if let Some(m) = self.max_items.filter(|m| n > *m) {
            out.add("maxItems", cat!("expected at most ", m, " items, got ", n));
        }
    }

    /// The rules on `v` itself, not on its members or items (`false` and
    /// `$ref` are the caller's); false when its type is wrong, as the other
    /// keywords would only repeat that.
    fn check_own(&self, v: &View<'_>, out: &mut Out<'_, '_>) -> bool {
        // A number is read once, for its type and its bounds.
        let number = match v {
            View::Number(n) => Decimal::parse(n),
            _ => None,
        };
        if self.types != 0 && !has_type(self.types, v, number.as_ref()) {
            out.add(
                "type",
                cat!("expected ", type_list(self.types), ", got ", describe(v)),
            );
            return false;
        }
        if let Some(values) = &self.one_of {
            if !values.iter().any(|x| same(x, v)) {
                let mut listed = String::new();
                for (i, x) in values.iter().enumerate() {
                    if i > 0 {
                        listed.push_str(", ");
                    }
                    x.write(&mut listed);
                }
                out.add(
                    "enum",
                    cat!("expected one of ", listed, ", got ", describe(v)),
                );
            }
        }
        if let Some(c) = &self.constant {
            if !same(c, v) {
                out.add(
                    "const",
                    cat!("expected ", c.to_text(), ", got ", describe(v)),
                );
            }
        }
        match v {
            View::Number(_) => {
                if let Some(n) = &number {
                    self.check_number(n, v, out);
                }
            }
            View::Str(s) => self.check_string(s, v, out),
            _ => {}
        }
        true
    }

    fn check_number(&self, n: &Decimal<'_>, v: &View<'_>, out: &mut Out<'_, '_>) {
        fn cmp<'b>(n: &Decimal<'_>, bound: &'b Option<Bound>) -> Option<(Ordering, &'b str)> {
            bound
                .as_ref()
                .map(|b| (n.cmp(&b.decimal()), b.text.as_str()))
        }
        if let Some((Ordering::Less, b)) = cmp(n, &self.minimum) {
            out.add(
                "minimum",
                cat!("expected at least ", b, ", got ", describe(v)),
            );
        }
        if let Some((Ordering::Greater, b)) = cmp(n, &self.maximum) {
            out.add(
                "maximum",
                cat!("expected at most ", b, ", got ", describe(v)),
            );
        }
        if let Some((Ordering::Less | Ordering::Equal, b)) = cmp(n, &self.exclusive_minimum) {
            out.add(
                "exclusiveMinimum",
                cat!("expected more than ", b, ", got ", describe(v)),
            );
        }
        if let Some((Ordering::Greater | Ordering::Equal, b)) = cmp(n, &self.exclusive_maximum) {
            out.add(
                "exclusiveMaximum",
                cat!("expected less than ", b, ", got ", describe(v)),
            );
        }
    }

    fn check_string(&self, s: &str, v: &View<'_>, out: &mut Out<'_, '_>) {
        if self.min_length.is_some() || self.max_length.is_some() {
            // JSON Schema counts characters (code points), not bytes.
            let n = s.chars().count() as u64;
            if let Some(m) = self.min_length.filter(|m| n < *m) {
                out.add(
                    "minLength",
                    cat!("expected at least ", m, " characters, got ", n),
                );
            }
            if let Some(m) = self.max_length.filter(|m| n > *m) {
                out.add(
                    "maxLength",
                    cat!("expected at most ", m, " characters, got ", n),
                );
            }
        }
        if let Some((p, m)) = &self.pattern {
            if !m.is_match(s) {
                out.add(
                    "pattern",
                    cat!("expected to match ", p, ", got ", describe(v)),
                );
            }
        }
        if let Some(f) = self.format {
            if !f.matches(s) {
                out.add(
                    "format",
                    cat!("expected ", f.expected(), ", got ", describe(v)),
                );
            }
        }
    }

    fn check_members<'w>(
        &'w self,
        defs: &'w [Schema],
        o: &'w [(Cow<'_, str>, View<'_>)],
        out: &mut Out<'_, 'w>,
    ) {
        for name in &self.required {
            if View::member(o, name).is_none() {
                out.steps.push(Step::Member(Cow::Borrowed(name)));
                out.add("required", "required by the plan, missing".into());
                out.steps.pop();
            }
        }
        if self.properties.is_empty()
            && matches!(self.additional, Additional::Unsaid | Additional::Allow)
        {
            return;
        }
        // Both lists are sorted by name: one merge, no search per member.
        let mut declared = self.properties.iter().peekable();
        for (name, value) in o {
            let name: &str = name;
            while declared.next_if(|(d, _)| d.as_str() < name).is_some() {}
            let own = declared
                .next_if(|(d, _)| d.as_str() == name)
                .map(|(_, s)| s);
            out.steps.push(Step::Member(Cow::Borrowed(name)));
            match (own, &self.additional) {
                (Some(s), _) => s.check(defs, value, out),
                (None, Additional::Schema(s)) => s.check(defs, value, out),
                (None, Additional::Deny) => {
                    out.add("additionalProperties", "not in the tracking plan".into())
                }
                (None, _) => {}
            }
            out.steps.pop();
        }
    }

    /// Removes from `o` (at `path`) the members the plan does not name, at
    /// every level, as the `strip` policy does; each removal is added to
    /// `found` (rule `additionalProperties`).
    pub(crate) fn strip_object(
        &self,
        defs: &[Schema],
        o: &mut Object,
        path: &str,
        found: &mut Vec<Violation>,
    ) {
        let mut out = StripOut {
            path: path.to_string(),
            found,
        };
        self.strip_members(defs, o, &mut out);
    }

    fn strip(&self, defs: &[Schema], v: &mut Json, out: &mut StripOut<'_>) {
        if let Some(d) = self.reference.and_then(|i| defs.get(i)) {
            d.strip(defs, v, out);
        }
        match v {
            Json::Object(o) => self.strip_members(defs, o, out),
            Json::Array(items) => {
                if let Some(item) = &self.items {
                    let len = out.path.len();
                    for (i, x) in items.iter_mut().enumerate() {
                        out.path.push('[');
                        crate::text::push_u64(&mut out.path, i as u64);
                        out.path.push(']');
                        item.strip(defs, x, out);
                        out.path.truncate(len);
                    }
                }
            }
            _ => {}
        }
    }

    fn strip_members(&self, defs: &[Schema], o: &mut Object, out: &mut StripOut<'_>) {
        let removes = match self.additional {
            Additional::Deny => true,
            Additional::Unsaid => !self.properties.is_empty(),
            Additional::Allow | Additional::Schema(_) => false,
        };
        let len = out.path.len();
        let mut unknown = Vec::new();
        for (name, value) in core::mem::take(o) {
            push_member(&mut out.path, &name);
            let mut value = value;
            let keep = match (self.get(&name), &self.additional) {
                (Some(s), _) => {
                    s.strip(defs, &mut value, out);
                    true
                }
                (None, Additional::Schema(s)) => {
                    s.strip(defs, &mut value, out);
                    true
                }
                (None, _) => !removes,
            };
            if keep {
                o.insert(name, value);
            } else {
                unknown.push(out.path.clone());
            }
            out.path.truncate(len);
        }
        for path in unknown {
            out.found.push(Violation {
                rule: "additionalProperties".into(),
                path,
                message: "not in the tracking plan; removed".into(),
            });
        }
    }
}
