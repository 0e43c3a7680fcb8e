//! Rust: a module over [`cairn::Client`]. Enums are `Copy` enums with
//! `as_str`, nested objects are structs with public fields and `to_json`,
//! a call's optional properties are one `<Call>Options` struct with
//! `Default` (so `..Default::default()` skips them), and every call returns
//! `cairn::Result<()>`. The module uses `serde_json` as `cairn::Client` does.

use super::model::{Call, CallKind, Field, Plan, Ty, TypeDef};
use super::names::{join, Case};
use super::writer::{call_doc, field_doc, free, header, Out};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

fn ident(words: &[String], case: Case) -> String {
    let name = join(words, case);
    match name.as_str() {
        // Not allowed as raw identifiers.
        "self" | "Self" | "super" | "crate" => format!("{name}_"),
        n if KEYWORDS.contains(&n) => format!("r#{name}"),
        _ => name,
    }
}

/// A Rust string literal.
fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn ty_name(plan: &Plan, ty: &Ty) -> String {
    match ty {
        Ty::String => "String".into(),
        Ty::Integer => "i64".into(),
        Ty::Number => "f64".into(),
        Ty::Boolean => "bool".into(),
        Ty::Json => "Value".into(),
        Ty::Named(i) => plan.types[*i].name().to_string(),
        Ty::Array(t) => format!("Vec<{}>", ty_name(plan, t)),
        Ty::Map(t) => format!("BTreeMap<String, {}>", ty_name(plan, t)),
        Ty::Nullable(t) => format!("Option<{}>", ty_name(plan, t)),
    }
}

/// A required parameter's type: text as `&str`, the rest by value.
fn param_ty(plan: &Plan, ty: &Ty) -> String {
    match ty {
        Ty::String => "&str".into(),
        Ty::Nullable(t) if **t == Ty::String => "Option<&str>".into(),
        t => ty_name(plan, t),
    }
}

/// How the expression is held.
#[derive(Clone, Copy, PartialEq)]
enum Held {
    /// A parameter, by value (`&str` for text).
    Param,
    /// A place of the type itself (`self.field`).
    Place,
    /// A reference to the type (`&T`).
    Ref,
}

fn is_enum(plan: &Plan, ty: &Ty) -> bool {
    matches!(ty, Ty::Named(i) if matches!(plan.types[*i], TypeDef::Enum { .. }))
}

/// The `serde_json::Value` of `x`.
fn to_value(plan: &Plan, ty: &Ty, x: &str, held: Held) -> String {
    match ty {
        Ty::String if held == Held::Param => format!("Value::from({x})"),
        Ty::String => format!("Value::from({x}.as_str())"),
        Ty::Integer | Ty::Number | Ty::Boolean if held == Held::Ref => format!("Value::from(*{x})"),
        Ty::Integer | Ty::Number | Ty::Boolean => format!("Value::from({x})"),
        Ty::Json if held == Held::Param => x.to_string(),
        Ty::Json => format!("{x}.clone()"),
        Ty::Named(_) if is_enum(plan, ty) => format!("Value::from({x}.as_str())"),
        Ty::Named(_) => format!("{x}.to_json()"),
        Ty::Array(t) => format!(
            "Value::Array({x}.iter().map(|e| {}).collect())",
            to_value(plan, t, "e", Held::Ref)
        ),
        Ty::Map(t) => format!(
            "Value::Object({x}.iter().map(|(k, e)| (k.clone(), {})).collect())",
            to_value(plan, t, "e", Held::Ref)
        ),
        Ty::Nullable(t) if held == Held::Param => format!(
            "match {x} {{ Some(e) => {}, None => Value::Null }}",
            to_value(plan, t, "e", Held::Param)
        ),
        Ty::Nullable(t) => format!(
            "{x}.as_ref().map_or(Value::Null, |e| {})",
            to_value(plan, t, "e", Held::Ref)
        ),
    }
}

/// A constant as a `serde_json::Value` expression.
fn const_expr(c: &serde_json::Value) -> String {
    fn json(c: &serde_json::Value) -> String {
        match c {
            serde_json::Value::String(s) => lit(s),
            serde_json::Value::Array(items) => format!(
                "[{}]",
                items.iter().map(json).collect::<Vec<_>>().join(", ")
            ),
            serde_json::Value::Object(map) => format!(
                "{{{}}}",
                map.iter()
                    .map(|(k, v)| format!("{}: {}", lit(k), json(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.to_string(),
        }
    }
    match c {
        serde_json::Value::String(s) => format!("Value::from({})", lit(s)),
        serde_json::Value::Null => "Value::Null".into(),
        serde_json::Value::Bool(_) | serde_json::Value::Number(_) => format!("Value::from({c})"),
        other => format!("serde_json::json!({})", json(other)),
    }
}

fn uses_map(ty: &Ty) -> bool {
    match ty {
        Ty::Map(_) => true,
        Ty::Array(t) | Ty::Nullable(t) => uses_map(t),
        _ => false,
    }
}

/// Inserts the fields into `target`: required and constant ones always, optional ones when set.
fn insert_fields(
    plan: &Plan,
    out: &mut Out,
    level: usize,
    target: &str,
    fields: &[Field],
    required_from: &str,
    optional_from: &str,
) {
    for f in fields {
        let key = lit(&f.key);
        let name = ident(&f.words, Case::Snake);
        if let Some(c) = &f.constant {
            out.line(
                level,
                "    ",
                &format!("{target}.insert({key}.into(), {});", const_expr(c)),
            );
        } else if f.required {
            let held = if required_from.is_empty() {
                Held::Param
            } else {
                Held::Place
            };
            let value = to_value(plan, &f.ty, &format!("{required_from}{name}"), held);
            out.line(
                level,
                "    ",
                &format!("{target}.insert({key}.into(), {value});"),
            );
        } else {
            out.line(
                level,
                "    ",
                &format!("if let Some(v) = &{optional_from}{name} {{"),
            );
            out.line(
                level + 1,
                "    ",
                &format!(
                    "{target}.insert({key}.into(), {});",
                    to_value(plan, &f.ty, "v", Held::Ref)
                ),
            );
            out.line(level, "    ", "}");
        }
    }
}

fn doc(out: &mut Out, level: usize, lines: &[String]) {
    for l in lines {
        out.line(
            level,
            "    ",
            &if l.is_empty() {
                "///".to_string()
            } else {
                format!("/// {l}")
            },
        );
    }
}

/// Declares the fields of a struct (public, optional ones as `Option`).
fn declare_fields<'f>(plan: &Plan, out: &mut Out, fields: impl Iterator<Item = &'f Field>) {
    for f in fields {
        if let Some(d) = field_doc(f) {
            doc(out, 1, &[d]);
        }
        let ty = if f.required {
            ty_name(plan, &f.ty)
        } else {
            format!("Option<{}>", ty_name(plan, &f.ty))
        };
        out.line(
            1,
            "    ",
            &format!("pub {}: {ty},", ident(&f.words, Case::Snake)),
        );
    }
}

/// The module for `plan`.
pub fn generate(plan: &Plan) -> String {
    let mut out = Out::default();
    for l in header(plan, "rust") {
        out.line(
            0,
            "",
            &if l.is_empty() {
                "//!".to_string()
            } else {
                format!("//! {l}")
            },
        );
    }
    out.line(0, "", "//!");
    out.line(
        0,
        "",
        "//! Needs `cairn` and `serde_json` in the crate's dependencies.",
    );
    out.line(0, "", "");
    let any_map = plan
        .calls
        .iter()
        .flat_map(|c| &c.fields)
        .chain(plan.types.iter().flat_map(|t| match t {
            TypeDef::Struct { fields, .. } => fields.as_slice(),
            TypeDef::Enum { .. } => &[],
        }));
    if any_map.into_iter().any(|f| uses_map(&f.ty)) {
        out.line(0, "", "use std::collections::BTreeMap;");
        out.line(0, "", "");
    }
    let any_struct = plan
        .types
        .iter()
        .any(|t| matches!(t, TypeDef::Struct { .. }));
    let any_fields = any_struct || plan.calls.iter().any(|c| !c.fields.is_empty());
    // Only what is used: the module compiles without warnings whatever the plan.
    if any_fields {
        out.line(0, "", "use serde_json::{Map, Value};");
    } else if !plan.calls.is_empty() {
        out.line(0, "", "use serde_json::Value;");
    }
    out.line(0, "", "");
    out.line(0, "", "/// The plan's id.");
    out.line(
        0,
        "",
        &format!("pub const PLAN_ID: &str = {};", lit(&plan.id)),
    );
    out.line(0, "", "/// The plan's version.");
    out.line(
        0,
        "",
        &format!("pub const PLAN_VERSION: &str = {};", lit(&plan.version)),
    );
    out.line(0, "", "");
    for t in &plan.types {
        match t {
            TypeDef::Enum {
                name,
                description,
                values,
            } => {
                if let Some(d) = description {
                    doc(&mut out, 0, &[super::writer::one_line(d)]);
                }
                out.line(0, "", "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]");
                out.line(0, "", &format!("pub enum {name} {{"));
                for (value, words) in values {
                    doc(&mut out, 1, &[format!("`{}`", value.replace('`', "'"))]);
                    out.line(1, "    ", &format!("{},", ident(words, Case::Pascal)));
                }
                out.line(0, "", "}");
                out.line(0, "", "");
                out.line(0, "", &format!("impl {name} {{"));
                out.line(1, "    ", "/// The value sent.");
                out.line(1, "    ", "pub fn as_str(self) -> &'static str {");
                out.line(2, "    ", "match self {");
                for (value, words) in values {
                    out.line(
                        3,
                        "    ",
                        &format!("Self::{} => {},", ident(words, Case::Pascal), lit(value)),
                    );
                }
                out.line(2, "    ", "}");
                out.line(1, "    ", "}");
                out.line(0, "", "}");
            }
            TypeDef::Struct {
                name,
                description,
                fields,
            } => {
                if let Some(d) = description {
                    doc(&mut out, 0, &[super::writer::one_line(d)]);
                }
                let derive_default = fields.iter().all(|f| !f.required || f.constant.is_some());
                out.line(
                    0,
                    "",
                    if derive_default {
                        "#[derive(Debug, Clone, PartialEq, Default)]"
                    } else {
                        "#[derive(Debug, Clone, PartialEq)]"
                    },
                );
                out.line(0, "", &format!("pub struct {name} {{"));
                declare_fields(
                    plan,
                    &mut out,
                    fields.iter().filter(|f| f.constant.is_none()),
                );
                out.line(0, "", "}");
                out.line(0, "", "");
                out.line(0, "", &format!("impl {name} {{"));
                out.line(1, "    ", "/// This value as the JSON object sent.");
                out.line(1, "    ", "pub fn to_json(&self) -> Value {");
                out.line(2, "    ", "let mut map = Map::new();");
                insert_fields(plan, &mut out, 2, "map", fields, "self.", "self.");
                out.line(2, "    ", "Value::Object(map)");
                out.line(1, "    ", "}");
                out.line(0, "", "}");
            }
        }
        out.line(0, "", "");
    }
    for call in plan.calls.iter().filter(|c| has_options(c)) {
        let name = format!("{}Options", join(&call.words, Case::Pascal));
        doc(&mut out, 0, &[format!("The optional parameters of [`TrackingPlan::{}`]: `..Default::default()` leaves them out.", ident(&call.words, Case::Snake))]);
        out.line(0, "", "#[derive(Debug, Clone, PartialEq, Default)]");
        out.line(0, "", &format!("pub struct {name} {{"));
        declare_fields(
            plan,
            &mut out,
            call.fields
                .iter()
                .filter(|f| !f.required && f.constant.is_none()),
        );
        out.line(0, "", "}");
        out.line(0, "", "");
    }
    out.line(
        0,
        "",
        "/// The plan's calls over a [`cairn::Client`]: one method per event.",
    );
    out.line(0, "", "#[derive(Debug, Clone, Copy)]");
    out.line(0, "", "pub struct TrackingPlan<'a> {");
    out.line(1, "    ", "client: &'a cairn::Client,");
    out.line(0, "", "}");
    out.line(0, "", "");
    out.line(0, "", "impl<'a> TrackingPlan<'a> {");
    out.line(1, "    ", "/// The plan's calls, recorded by `client`.");
    out.line(1, "    ", "pub fn new(client: &'a cairn::Client) -> Self {");
    out.line(2, "    ", "Self { client }");
    out.line(1, "    ", "}");
    out.line(0, "", "");
    out.line(1, "    ", "/// The client the calls are recorded by.");
    out.line(1, "    ", "pub fn client(&self) -> &'a cairn::Client {");
    out.line(2, "    ", "self.client");
    out.line(1, "    ", "}");
    for call in &plan.calls {
        out.line(0, "", "");
        method(plan, &mut out, call);
    }
    out.line(0, "", "}");
    out.finish()
}

fn has_options(call: &Call) -> bool {
    call.fields
        .iter()
        .any(|f| !f.required && f.constant.is_none())
}

fn method(plan: &Plan, out: &mut Out, call: &Call) {
    let mut lines = call_doc(call);
    let documented: Vec<&Field> = call
        .fields
        .iter()
        .filter(|f| f.required && f.constant.is_none())
        .collect();
    if documented.iter().any(|f| field_doc(f).is_some()) {
        lines.push(String::new());
        for f in &documented {
            if let Some(d) = field_doc(f) {
                lines.push(format!("- `{}`: {d}", ident(&f.words, Case::Snake)));
            }
        }
    }
    doc(out, 1, &lines);
    let mut params = vec!["&self".to_string()];
    match call.kind {
        CallKind::Track => {}
        CallKind::Identify => params.push("user_id: &str".into()),
        CallKind::Group => params.push("group_id: &str".into()),
    }
    for f in &documented {
        params.push(format!(
            "{}: {}",
            ident(&f.words, Case::Snake),
            param_ty(plan, &f.ty)
        ));
    }
    let options = free("options", &call.fields);
    let map = free("properties", &call.fields);
    if has_options(call) {
        params.push(format!(
            "{options}: {}Options",
            join(&call.words, Case::Pascal)
        ));
    }
    if params.len() > 7 {
        out.line(1, "    ", "#[allow(clippy::too_many_arguments)]");
    }
    out.line(
        1,
        "    ",
        &format!(
            "pub fn {}({}) -> cairn::Result<()> {{",
            ident(&call.words, Case::Snake),
            params.join(", ")
        ),
    );
    let value = if call.fields.is_empty() {
        "Value::Null".to_string()
    } else {
        out.line(2, "    ", &format!("let mut {map} = Map::new();"));
        insert_fields(plan, out, 2, &map, &call.fields, "", &format!("{options}."));
        format!("Value::Object({map})")
    };
    out.line(
        2,
        "    ",
        &match call.kind {
            CallKind::Track => format!("self.client.track({}, {value})", lit(&call.name)),
            CallKind::Identify => format!("self.client.identify(user_id, {value})"),
            CallKind::Group => format!("self.client.group(group_id, {value})"),
        },
    );
    out.line(1, "    ", "}");
}
