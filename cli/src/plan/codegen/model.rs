//! The plan as the generators see it: every planned call (events, identify,
//! group) with its fields typed, and the named types (enums and structs) the
//! fields use. Read from the plan's JSON with serde_json.
//!
//! This module decides how a JSON Schema maps to a type, and refuses what
//! no language here can type faithfully (a keyword it does not know, a
//! non-string enum, a recursive `$ref`, two names that become one
//! identifier). It does not check values against the schema: validation
//! keywords (`minimum`, `pattern`, `format`...) are accepted and left to the
//! tracking-plan check the core runs at every call.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::names::{self, Case};
use super::CodegenError;

/// Every JSON Schema keyword a plan may use (issue 17's subset), plus the
/// annotations that never change a type. Anything else is refused: code
/// generated while ignoring `oneOf` (say) would be wrong.
const KEYWORDS: &[&str] = &[
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
    "definitions",
    "$defs",
    // Annotations: they describe and never change a type (the core's plan
    // reader accepts the same ones).
    "description",
    "title",
    "$schema",
    "$id",
    "$comment",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Keywords that shape a type: next to a `$ref` they would contradict it.
const SHAPING: &[&str] = &[
    "type",
    "properties",
    "items",
    "enum",
    "const",
    "additionalProperties",
];

/// Type names the generated code itself uses in some language: a plan type
/// of that name would shadow it.
const RESERVED_TYPES: &[&str] = &[
    "TrackingPlan",
    "String",
    "Option",
    "Vec",
    "Value",
    "Map",
    "Result",
    "Error",
    "Self",
    "Any",
    "Int",
    "Long",
    "Double",
    "Bool",
    "Boolean",
    "List",
    "Dict",
    "Optional",
    "Sequence",
    "Mapping",
    "Enum",
    "Cairn",
    "Client",
    "Object",
    "Number",
    "Array",
    "Record",
    "JsonObject",
    "Unit",
    "Float",
    "Nothing",
    "Never",
    "Void",
    "Unknown",
];

/// Member names of the generated wrapper: an event whose function would
/// have one of these names is refused.
const WRAPPER_MEMBERS: &[&str] = &["new", "client", "cairn", "identify", "group"];

/// A field's or element's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// Text.
    String,
    /// A whole number (64-bit).
    Integer,
    /// Any number (a double).
    Number,
    /// `true` or `false`.
    Boolean,
    /// Any JSON value: a schema with no type, or a union of types.
    Json,
    /// One of [`Plan::types`], an [`TypeDef::Enum`] or a [`TypeDef::Struct`].
    Named(usize),
    /// A list of elements.
    Array(Box<Ty>),
    /// An object with free keys whose values share one type.
    Map(Box<Ty>),
    /// The inner type, or JSON `null`.
    Nullable(Box<Ty>),
}

/// One property of an event, trait of identify or group, or field of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key on the wire, as the plan spells it.
    pub key: String,
    /// The key's words, for each language's identifier.
    pub words: Vec<String>,
    /// Its type. A required field may be [`Ty::Nullable`] (null is passed
    /// explicitly); an optional one never is at the top (absent means none).
    pub ty: Ty,
    /// Must be given.
    pub required: bool,
    /// The schema's `description`.
    pub description: Option<String>,
    /// The schema's `const`: sent as is, never a parameter.
    pub constant: Option<Value>,
}

/// A named type the fields use.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    /// A string enum: each value becomes a case.
    Enum {
        /// The type's name (PascalCase).
        name: String,
        /// The schema's `description`.
        description: Option<String>,
        /// The values, in the plan's order, with their words.
        values: Vec<(String, Vec<String>)>,
    },
    /// A nested object with known properties.
    Struct {
        /// The type's name (PascalCase).
        name: String,
        /// The schema's `description`.
        description: Option<String>,
        /// Its fields, required ones first, each group in alphabetical order.
        fields: Vec<Field>,
    },
}

impl TypeDef {
    /// The type's name (PascalCase).
    pub fn name(&self) -> &str {
        match self {
            TypeDef::Enum { name, .. } | TypeDef::Struct { name, .. } => name,
        }
    }
}

/// What a planned call records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `track(event, properties)`.
    Track,
    /// `identify(user_id, traits)`.
    Identify,
    /// `group(group_id, traits)`.
    Group,
}

/// One generated function.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// What it records.
    pub kind: CallKind,
    /// The event name (for identify and group: "identify", "group").
    pub name: String,
    /// The function's name as words.
    pub words: Vec<String>,
    /// The event's `description`.
    pub description: Option<String>,
    /// The event's `version`, as written.
    pub version: Option<String>,
    /// Its properties (track) or traits (identify, group): required ones
    /// first, each group in the alphabetical order of the keys.
    pub fields: Vec<Field>,
}

/// The plan, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The plan's `id`.
    pub id: String,
    /// The plan's `version`, as written (a number or a string).
    pub version: String,
    /// Every function to generate: events in alphabetical order, then identify and group.
    pub calls: Vec<Call>,
    /// Every named type, in the order first used.
    pub types: Vec<TypeDef>,
}

impl Plan {
    /// The plan from its JSON text.
    pub fn from_json(text: &str) -> Result<Plan, CodegenError> {
        let value: Value = serde_json::from_str(text).map_err(|e| CodegenError::Parse {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        Reader::new(&value)?.read()
    }
}

/// Where a `$ref` is resolved: the schema it appears in, then the plan.
struct Reader<'a> {
    plan: &'a Map<String, Value>,
    /// The plan as a value: the scope of plan-level definitions.
    plan_value: &'a Value,
    types: Vec<TypeDef>,
    /// Definitions already typed, by "scope#name" (a definition used twice is one type).
    resolved: HashMap<String, Ty>,
    /// Definitions being typed, to refuse a recursive `$ref`.
    resolving: Vec<String>,
}

fn invalid(path: &str, problem: impl Into<String>) -> CodegenError {
    CodegenError::Invalid {
        path: path.to_string(),
        problem: problem.into(),
    }
}

fn unsupported(path: &str, problem: impl Into<String>) -> CodegenError {
    CodegenError::Unsupported {
        path: path.to_string(),
        problem: problem.into(),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `"a b"` with the plan's own quotes, for messages.
fn quoted(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

impl<'a> Reader<'a> {
    fn new(value: &'a Value) -> Result<Self, CodegenError> {
        let plan = value.as_object().ok_or_else(|| {
            invalid(
                "(plan)",
                "a plan is a JSON object with \"id\", \"version\" and \"events\"",
            )
        })?;
        Ok(Reader {
            plan,
            plan_value: value,
            types: Vec::new(),
            resolved: HashMap::new(),
            resolving: Vec::new(),
        })
    }

    fn read(mut self) -> Result<Plan, CodegenError> {
        let id = self
            .plan
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("id", "the plan needs an \"id\": a non-empty string"))?
            .to_string();
        let version = self.plan.get("version").and_then(text).ok_or_else(|| {
            invalid(
                "version",
                "the plan needs a \"version\": a number or a string",
            )
        })?;
        let events = self
            .plan
            .get("events")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                invalid(
                    "events",
                    "the plan needs \"events\": an object of event name to event",
                )
            })?;
        let mut calls = Vec::new();
        for (name, event) in events {
            let path = format!("events.{}", quoted(name));
            let event = event.as_object().ok_or_else(|| {
                invalid(
                    &path,
                    "an event is an object with \"properties\" (a JSON Schema)",
                )
            })?;
            let words = names::words(name);
            if words.is_empty() {
                return Err(unsupported(&path, "the event name has no ASCII letter or digit to make a function name of: rename the event"));
            }
            let fields = match event.get("properties") {
                None => Vec::new(),
                Some(schema) => self.root_fields(schema, &format!("{path}.properties"), &words)?,
            };
            calls.push(Call {
                kind: CallKind::Track,
                name: name.clone(),
                words,
                description: event
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                version: event.get("version").and_then(text),
                fields,
            });
        }
        for (key, kind, id_words) in [
            ("identify", CallKind::Identify, ["user", "id"]),
            ("group", CallKind::Group, ["group", "id"]),
        ] {
            let Some(section) = self.plan.get(key) else {
                continue;
            };
            let path = key.to_string();
            let section = section.as_object().ok_or_else(|| {
                invalid(
                    &path,
                    format!("\"{key}\" is an object with \"traits\" (a JSON Schema)"),
                )
            })?;
            let Some(schema) = section.get("traits") else {
                continue;
            };
            let words = vec![key.to_string()];
            let fields = self.root_fields(schema, &format!("{path}.traits"), &words)?;
            if let Some(f) = fields.iter().find(|f| f.words == id_words) {
                return Err(unsupported(
                    &format!("{path}.traits.{}", quoted(&f.key)),
                    format!("the trait's parameter would clash with the {} parameter of {key}: rename the trait", id_words.join("_")),
                ));
            }
            calls.push(Call {
                kind,
                name: key.to_string(),
                words,
                description: section
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                version: None,
                fields,
            });
        }
        check_distinct(
            calls
                .iter()
                .map(|c| (c.words.clone(), format!("events.{}", quoted(&c.name)))),
            "functions",
        )?;
        for call in calls.iter().filter(|c| c.kind == CallKind::Track) {
            let joined = call.words.join(" ");
            if WRAPPER_MEMBERS
                .iter()
                .any(|m| names::words(m).join(" ") == joined)
            {
                return Err(unsupported(
                    &format!("events.{}", quoted(&call.name)),
                    format!("its function would be named like the wrapper's own `{joined}`: rename the event"),
                ));
            }
        }
        // Rust names the optional parameters of a call `<Call>Options`.
        for call in calls
            .iter()
            .filter(|c| c.fields.iter().any(|f| !f.required && f.constant.is_none()))
        {
            let name = format!("{}Options", names::join(&call.words, Case::Pascal));
            if self.types.iter().any(|t| t.name() == name) {
                return Err(unsupported(
                    &format!("events.{}", quoted(&call.name)),
                    format!("the type `{name}` of its optional parameters would clash with a type of the plan: rename one"),
                ));
            }
        }
        Ok(Plan {
            id,
            version,
            calls,
            types: self.types,
        })
    }

    /// The fields of an event's properties (or traits) schema, which must describe an object.
    fn root_fields(
        &mut self,
        schema: &'a Value,
        path: &str,
        hint: &[String],
    ) -> Result<Vec<Field>, CodegenError> {
        let obj = self.schema_object(schema, path)?;
        if let Some(t) = obj.get("type") {
            if t != "object" {
                return Err(invalid(
                    path,
                    "must describe an object: \"type\": \"object\"",
                ));
            }
        }
        if obj.contains_key("$ref")
            || obj.contains_key("enum")
            || obj.contains_key("const")
            || obj.contains_key("items")
        {
            return Err(unsupported(path, "the properties schema must list its properties itself (\"$ref\", \"enum\", \"const\" and \"items\" are refused at this level)"));
        }
        self.fields(obj, schema, path, hint)
    }

    fn schema_object(
        &self,
        schema: &'a Value,
        path: &str,
    ) -> Result<&'a Map<String, Value>, CodegenError> {
        let obj = schema
            .as_object()
            .ok_or_else(|| invalid(path, "a schema is a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| !KEYWORDS.contains(&k.as_str())) {
            return Err(unsupported(
                path,
                format!("the keyword \"{k}\" is not in the tracking-plan subset of JSON Schema (see docs/tracking-plans.md)"),
            ));
        }
        Ok(obj)
    }

    /// Fields of an object schema, required ones first, each group in the
    /// alphabetical order of the keys (serde_json's map order): reordering
    /// the plan's file never reorders a call's parameters.
    fn fields(
        &mut self,
        obj: &'a Map<String, Value>,
        root: &'a Value,
        path: &str,
        hint: &[String],
    ) -> Result<Vec<Field>, CodegenError> {
        let props = match obj.get("properties") {
            None => return Ok(Vec::new()),
            Some(p) => p.as_object().ok_or_else(|| {
                invalid(
                    &format!("{path}.properties"),
                    "\"properties\" is an object of name to schema",
                )
            })?,
        };
        let required: Vec<&str> = match obj.get("required") {
            None => Vec::new(),
            Some(Value::Array(r)) => r
                .iter()
                .map(|v| {
                    v.as_str().ok_or_else(|| {
                        invalid(
                            &format!("{path}.required"),
                            "\"required\" lists property names (strings)",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(invalid(
                    &format!("{path}.required"),
                    "\"required\" is a list of property names",
                ))
            }
        };
        if let Some(r) = required.iter().find(|r| !props.contains_key(**r)) {
            return Err(unsupported(
                &format!("{path}.required"),
                format!("{} is required but has no schema in \"properties\", so it has no type: add one", quoted(r)),
            ));
        }
        let mut fields = Vec::new();
        for (key, schema) in props {
            let fpath = format!("{path}.{}", key_path(key));
            // `false`: the property must never be present, so it is no parameter.
            if schema == &Value::Bool(false) {
                if required.contains(&key.as_str()) {
                    return Err(invalid(
                        &fpath,
                        "required, but its schema is `false` (never valid): no call could be valid",
                    ));
                }
                continue;
            }
            let words = names::words(key);
            if words.is_empty() {
                return Err(unsupported(
                    &fpath,
                    "the name has no ASCII letter or digit to make an identifier of: rename it",
                ));
            }
            if words == ["to", "json"] {
                return Err(unsupported(
                    &fpath,
                    "the name would clash with the generated to_json/toJson method: rename it",
                ));
            }
            let hint: Vec<String> = hint.iter().chain(words.iter()).cloned().collect();
            let (mut ty, constant) = self.ty(schema, root, &fpath, &hint)?;
            let is_required = required.contains(&key.as_str());
            if !is_required {
                if let Ty::Nullable(inner) = ty {
                    ty = *inner;
                }
            }
            let description = schema
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string);
            fields.push(Field {
                key: key.clone(),
                words,
                ty,
                required: is_required,
                description,
                constant,
            });
        }
        check_distinct(
            fields
                .iter()
                .map(|f| (f.words.clone(), format!("{path}.{}", key_path(&f.key)))),
            "identifiers",
        )?;
        fields.sort_by_key(|f| !f.required);
        Ok(fields)
    }

    /// The type of a schema, and its `const` if it has one.
    fn ty(
        &mut self,
        schema: &'a Value,
        root: &'a Value,
        path: &str,
        hint: &[String],
    ) -> Result<(Ty, Option<Value>), CodegenError> {
        if schema == &Value::Bool(true) {
            return Ok((Ty::Json, None));
        }
        let obj = self.schema_object(schema, path)?;
        if let Some(r) = obj.get("$ref") {
            if let Some(k) = SHAPING.iter().find(|k| obj.contains_key(**k)) {
                return Err(unsupported(
                    path,
                    format!("\"{k}\" next to \"$ref\": put the whole type in the definition"),
                ));
            }
            let r = r
                .as_str()
                .ok_or_else(|| invalid(path, "\"$ref\" is a string like \"#/definitions/Name\""))?;
            return self.reference(r, root, path);
        }
        if let Some(c) = obj.get("const") {
            let ty = match c {
                Value::String(_) => Ty::String,
                Value::Bool(_) => Ty::Boolean,
                Value::Number(n) if n.is_i64() || n.is_u64() => Ty::Integer,
                Value::Number(_) => Ty::Number,
                _ => Ty::Json,
            };
            return Ok((ty, Some(c.clone())));
        }
        let (types, nullable) = self.types_of(obj, path)?;
        let ty = if let Some(e) = obj.get("enum") {
            self.enumeration(e, obj, path, hint, &types)?
        } else {
            match types.as_slice() {
                [] if obj.contains_key("properties") => self.object(obj, root, path, hint)?,
                [] if obj.contains_key("items") => self.array(obj, root, path, hint)?,
                [] => Ty::Json,
                [t] => match t.as_str() {
                    "string" => Ty::String,
                    "integer" => Ty::Integer,
                    "number" => Ty::Number,
                    "boolean" => Ty::Boolean,
                    "object" => self.object(obj, root, path, hint)?,
                    "array" => self.array(obj, root, path, hint)?,
                    _ => unreachable!("types_of returns known type names only"),
                },
                [a, b]
                    if (a == "integer" && b == "number") || (a == "number" && b == "integer") =>
                {
                    Ty::Number
                }
                // A union of several types: any JSON value, checked by the core at the call.
                _ => Ty::Json,
            }
        };
        let ty = if nullable && ty != Ty::Json {
            Ty::Nullable(Box::new(ty))
        } else {
            ty
        };
        Ok((ty, None))
    }

    /// The schema's `type` as a list without "null", and whether "null" was in it.
    fn types_of(
        &self,
        obj: &Map<String, Value>,
        path: &str,
    ) -> Result<(Vec<String>, bool), CodegenError> {
        const NAMES: &[&str] = &[
            "string", "integer", "number", "boolean", "object", "array", "null",
        ];
        let list: Vec<&Value> = match obj.get("type") {
            None => return Ok((Vec::new(), false)),
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
        };
        let mut types = Vec::new();
        let mut nullable = false;
        for t in list {
            match t.as_str() {
                Some("null") => nullable = true,
                Some(name) if NAMES.contains(&name) => types.push(name.to_string()),
                _ => {
                    return Err(invalid(
                        &format!("{path}.type"),
                        format!("{t} is not a JSON Schema type: use string, integer, number, boolean, object, array or null"),
                    ))
                }
            }
        }
        Ok((types, nullable))
    }

    fn enumeration(
        &mut self,
        e: &Value,
        obj: &Map<String, Value>,
        path: &str,
        hint: &[String],
        types: &[String],
    ) -> Result<Ty, CodegenError> {
        let values = e.as_array().filter(|v| !v.is_empty()).ok_or_else(|| {
            invalid(
                &format!("{path}.enum"),
                "\"enum\" is a non-empty list of values",
            )
        })?;
        if types.iter().any(|t| t != "string") {
            return Err(unsupported(
                path,
                "only string enums become enum types: use \"type\": \"string\" with the enum",
            ));
        }
        let mut cases = Vec::new();
        for v in values {
            match v {
                Value::String(s) => {
                    let words = names::words(s);
                    if words.is_empty() {
                        return Err(unsupported(
                            &format!("{path}.enum"),
                            format!("the value {} has no ASCII letter or digit to name its case with", quoted(s)),
                        ));
                    }
                    cases.push((s.clone(), words));
                }
                // `null` among the values: the field may be null, which the "null" type says.
                Value::Null => {}
                other => {
                    return Err(unsupported(
                        &format!("{path}.enum"),
                        format!("the value {other} is not a string: only string enums become enum types (use \"minimum\"/\"maximum\" for numbers)"),
                    ))
                }
            }
        }
        check_distinct(
            cases
                .iter()
                .map(|(v, w)| (w.clone(), format!("{path}.enum {}", quoted(v)))),
            "enum cases",
        )?;
        let description = obj
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string);
        let index = self.add_type(
            TypeDef::Enum {
                name: names::join(hint, Case::Pascal),
                description,
                values: cases,
            },
            path,
        )?;
        let ty = Ty::Named(index);
        Ok(if values.contains(&Value::Null) {
            Ty::Nullable(Box::new(ty))
        } else {
            ty
        })
    }

    fn object(
        &mut self,
        obj: &'a Map<String, Value>,
        root: &'a Value,
        path: &str,
        hint: &[String],
    ) -> Result<Ty, CodegenError> {
        let has_fields = obj
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        if has_fields {
            let fields = self.fields(obj, root, path, hint)?;
            let description = obj
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string);
            let index = self.add_type(
                TypeDef::Struct {
                    name: names::join(hint, Case::Pascal),
                    description,
                    fields,
                },
                path,
            )?;
            return Ok(Ty::Named(index));
        }
        match obj.get("additionalProperties") {
            Some(extra @ Value::Object(_)) => {
                let mut item_hint = hint.to_vec();
                item_hint.push("value".into());
                let (ty, _) = self.ty(
                    extra,
                    root,
                    &format!("{path}.additionalProperties"),
                    &item_hint,
                )?;
                Ok(Ty::Map(Box::new(ty)))
            }
            _ => Ok(Ty::Map(Box::new(Ty::Json))),
        }
    }

    fn array(
        &mut self,
        obj: &'a Map<String, Value>,
        root: &'a Value,
        path: &str,
        hint: &[String],
    ) -> Result<Ty, CodegenError> {
        match obj.get("items") {
            None => Ok(Ty::Array(Box::new(Ty::Json))),
            Some(items @ (Value::Object(_) | Value::Bool(true))) => {
                let mut item_hint = hint.to_vec();
                item_hint.push("item".into());
                let (ty, _) = self.ty(items, root, &format!("{path}.items"), &item_hint)?;
                Ok(Ty::Array(Box::new(ty)))
            }
            Some(_) => Err(unsupported(
                &format!("{path}.items"),
                "\"items\" must be one schema for every element (tuples are not supported)",
            )),
        }
    }

    /// `#/definitions/Name` (or `#/$defs/Name`): in the schema it appears
    /// in, else in the plan.
    fn reference(
        &mut self,
        r: &str,
        root: &'a Value,
        path: &str,
    ) -> Result<(Ty, Option<Value>), CodegenError> {
        let name = r
            .strip_prefix("#/definitions/")
            .or_else(|| r.strip_prefix("#/$defs/"))
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .map(|n| n.replace("~1", "/").replace("~0", "~"))
            .ok_or_else(|| {
                unsupported(
                    path,
                    format!(
                        "\"$ref\": {} is not a local definition: use \"#/definitions/Name\"",
                        quoted(r)
                    ),
                )
            })?;
        let section = if r.starts_with("#/$defs/") {
            "$defs"
        } else {
            "definitions"
        };
        let local = root.get(section).and_then(|d| d.get(&name));
        let (scope, target) = match local {
            Some(t) => (root, t),
            None => match self.plan_value.get(section).and_then(|d| d.get(&name)) {
                Some(t) => (self.plan_value, t),
                None => {
                    return Err(invalid(
                        path,
                        format!("\"$ref\": {} names no definition in the schema's or the plan's \"definitions\"", quoted(r)),
                    ))
                }
            },
        };
        let key = format!("{:p}#{name}", scope as *const Value);
        if let Some(ty) = self.resolved.get(&key) {
            return Ok((ty.clone(), None));
        }
        if self.resolving.contains(&key) {
            return Err(unsupported(
                path,
                format!(
                    "{} refers to itself: recursive types are not supported",
                    quoted(r)
                ),
            ));
        }
        let words = names::words(&name);
        if words.is_empty() {
            return Err(unsupported(
                path,
                format!(
                    "the definition {} has no ASCII letter or digit to name its type with",
                    quoted(&name)
                ),
            ));
        }
        self.resolving.push(key.clone());
        let result = self.ty(
            target,
            scope,
            &format!("definitions.{}", quoted(&name)),
            &words,
        );
        self.resolving.pop();
        let (ty, constant) = result?;
        if constant.is_none() {
            self.resolved.insert(key, ty.clone());
        }
        Ok((ty, constant))
    }

    fn add_type(&mut self, def: TypeDef, path: &str) -> Result<usize, CodegenError> {
        if RESERVED_TYPES.contains(&def.name()) {
            return Err(unsupported(
                path,
                format!(
                    "its type would be named `{}`, which the generated code uses itself: rename it",
                    def.name()
                ),
            ));
        }
        if self.types.iter().any(|t| t.name() == def.name()) {
            return Err(unsupported(
                path,
                format!("two types would be named `{}`: rename one (or share one definition with \"$ref\")", def.name()),
            ));
        }
        self.types.push(def);
        Ok(self.types.len() - 1)
    }
}

/// A property key in a path: plain when it is a simple name, quoted otherwise.
fn key_path(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        key.to_string()
    } else {
        quoted(key)
    }
}

/// Refuses two names that give the same words (so the same identifier in every language).
fn check_distinct(
    items: impl Iterator<Item = (Vec<String>, String)>,
    what: &str,
) -> Result<(), CodegenError> {
    let mut seen: HashMap<Vec<String>, String> = HashMap::new();
    for (words, path) in items {
        if let Some(first) = seen.get(&words) {
            return Err(CodegenError::NameClash {
                first: first.clone(),
                second: path,
                ident: names::join(&words, Case::Snake),
                what: what.to_string(),
            });
        }
        seen.insert(words, path);
    }
    Ok(())
}
