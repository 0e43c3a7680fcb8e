//! Python: a module over `cairn.Client` (bindings/python). Enums are
//! `enum.Enum` classes, nested objects are dataclasses with `to_json()`,
//! optional properties are keyword-only arguments defaulting to `None`
//! (left out of the event). An enum argument may be the member or its value
//! (`ProductCategory("books")` checks it), so a wrong value raises
//! `ValueError` at the call.

use super::model::{Call, CallKind, Field, Plan, Ty, TypeDef};
use super::names::{join, Case};
use super::writer::{call_doc, field_doc, free, header, one_line, Out};

const KEYWORDS: &[&str] = &[
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    // Not keywords, but the method's receiver and the module's imports.
    "self",
    "dataclasses",
    "enum",
    "typing",
    "cairn",
];

const I: &str = "    ";

fn ident(words: &[String], case: Case) -> String {
    let name = join(words, case);
    if KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// A Python string literal (non-ASCII kept as is: the file is UTF-8).
fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn const_expr(c: &serde_json::Value) -> String {
    use serde_json::Value;
    match c {
        Value::String(s) => lit(s),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(const_expr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", lit(k), const_expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn ty_name(plan: &Plan, ty: &Ty) -> String {
    match ty {
        Ty::String => "str".into(),
        Ty::Integer => "int".into(),
        Ty::Number => "float".into(),
        Ty::Boolean => "bool".into(),
        Ty::Json => "Any".into(),
        Ty::Named(i) => plan.types[*i].name().to_string(),
        Ty::Array(t) => format!("Sequence[{}]", ty_name(plan, t)),
        Ty::Map(t) => format!("Mapping[str, {}]", ty_name(plan, t)),
        Ty::Nullable(t) => format!("Optional[{}]", ty_name(plan, t)),
    }
}

/// The JSON-ready value of `x`.
fn to_value(plan: &Plan, ty: &Ty, x: &str, depth: usize) -> String {
    let e = format!("e{depth}");
    let k = format!("k{depth}");
    match ty {
        Ty::Named(i) => match &plan.types[*i] {
            TypeDef::Enum { name, .. } => format!("{name}({x}).value"),
            TypeDef::Struct { .. } => format!("{x}.to_json()"),
        },
        Ty::Array(t) => {
            let inner = to_value(plan, t, &e, depth + 1);
            if inner == e {
                format!("list({x})")
            } else {
                format!("[{inner} for {e} in {x}]")
            }
        }
        Ty::Map(t) => {
            let inner = to_value(plan, t, &e, depth + 1);
            if inner == e {
                format!("dict({x})")
            } else {
                format!("{{{k}: {inner} for {k}, {e} in {x}.items()}}")
            }
        }
        Ty::Nullable(t) => {
            let inner = to_value(plan, t, x, depth + 1);
            if inner == x {
                x.to_string()
            } else {
                format!("(None if {x} is None else {inner})")
            }
        }
        _ => x.to_string(),
    }
}

fn docstring(out: &mut Out, level: usize, lines: &[String]) {
    let lines: Vec<String> = lines.iter().map(|l| l.replace('\\', "\\\\")).collect();
    if lines.len() == 1 {
        out.line(level, I, &format!("\"\"\"{}\"\"\"", lines[0]));
        return;
    }
    out.line(level, I, &format!("\"\"\"{}", lines[0]));
    for l in &lines[1..] {
        out.line(level, I, l);
    }
    out.line(level, I, "\"\"\"");
}

fn sets(plan: &Plan, out: &mut Out, level: usize, map: &str, fields: &[Field], receiver: &str) {
    for f in fields {
        let key = lit(&f.key);
        let name = format!("{receiver}{}", ident(&f.words, Case::Snake));
        if let Some(c) = &f.constant {
            out.line(level, I, &format!("{map}[{key}] = {}", const_expr(c)));
        } else if f.required {
            out.line(
                level,
                I,
                &format!("{map}[{key}] = {}", to_value(plan, &f.ty, &name, 0)),
            );
        } else {
            out.line(level, I, &format!("if {name} is not None:"));
            out.line(
                level + 1,
                I,
                &format!("{map}[{key}] = {}", to_value(plan, &f.ty, &name, 0)),
            );
        }
    }
}

/// The module for `plan`.
pub fn generate(plan: &Plan) -> String {
    let mut out = Out::default();
    let mut head = header(plan, "python");
    head.push(String::new());
    head.push("Needs the `cairn` package (cairn-analytics).".into());
    docstring(&mut out, 0, &head);
    out.line(0, I, "");
    out.line(0, I, "from __future__ import annotations");
    out.line(0, I, "");
    out.line(0, I, "import dataclasses");
    out.line(0, I, "import enum");
    out.line(0, I, "import typing");
    out.line(
        0,
        I,
        "from typing import Any, Dict, Mapping, Optional, Sequence",
    );
    out.line(0, I, "");
    out.line(0, I, "if typing.TYPE_CHECKING:");
    out.line(1, I, "import cairn");
    out.line(0, I, "");
    out.line(0, I, &format!("PLAN_ID = {}", lit(&plan.id)));
    out.line(0, I, "\"\"\"The plan's id.\"\"\"");
    out.line(0, I, &format!("PLAN_VERSION = {}", lit(&plan.version)));
    out.line(0, I, "\"\"\"The plan's version.\"\"\"");
    for t in &plan.types {
        out.line(0, I, "");
        out.line(0, I, "");
        match t {
            TypeDef::Enum {
                name,
                description,
                values,
            } => {
                out.line(0, I, &format!("class {name}(enum.Enum):"));
                docstring(
                    &mut out,
                    1,
                    &[description
                        .as_deref()
                        .map(one_line)
                        .unwrap_or_else(|| format!("The values of {name}."))],
                );
                out.line(0, I, "");
                for (value, words) in values {
                    out.line(
                        1,
                        I,
                        &format!("{} = {}", ident(words, Case::ScreamingSnake), lit(value)),
                    );
                }
            }
            TypeDef::Struct {
                name,
                description,
                fields,
            } => {
                out.line(0, I, "@dataclasses.dataclass");
                out.line(0, I, &format!("class {name}:"));
                docstring(
                    &mut out,
                    1,
                    &[description
                        .as_deref()
                        .map(one_line)
                        .unwrap_or_else(|| format!("The fields of {name}."))],
                );
                out.line(0, I, "");
                for f in fields.iter().filter(|f| f.constant.is_none()) {
                    let n = ident(&f.words, Case::Snake);
                    if f.required {
                        out.line(1, I, &format!("{n}: {}", ty_name(plan, &f.ty)));
                    } else {
                        out.line(
                            1,
                            I,
                            &format!("{n}: Optional[{}] = None", ty_name(plan, &f.ty)),
                        );
                    }
                    if let Some(d) = field_doc(f) {
                        docstring(&mut out, 1, &[d]);
                    }
                }
                out.line(0, I, "");
                out.line(1, I, "def to_json(self) -> Dict[str, Any]:");
                out.line(2, I, "\"\"\"This value as the JSON object sent.\"\"\"");
                out.line(2, I, "json: Dict[str, Any] = {}");
                sets(plan, &mut out, 2, "json", fields, "self.");
                out.line(2, I, "return json");
            }
        }
    }
    out.line(0, I, "");
    out.line(0, I, "");
    out.line(0, I, "class TrackingPlan:");
    docstring(&mut out, 1, &["The plan's calls over a ``cairn.Client``: one method per event. Each raises ``cairn.CairnError`` as the client does.".into()]);
    out.line(0, I, "");
    out.line(1, I, "def __init__(self, client: cairn.Client) -> None:");
    out.line(2, I, "self.client = client");
    out.line(2, I, "\"\"\"The client the calls are recorded by.\"\"\"");
    for call in &plan.calls {
        out.line(0, I, "");
        method(plan, &mut out, call);
    }
    out.finish()
}

fn method(plan: &Plan, out: &mut Out, call: &Call) {
    let mut ps = vec!["self".to_string()];
    match call.kind {
        CallKind::Track => {}
        CallKind::Identify => ps.push("user_id: str".into()),
        CallKind::Group => ps.push("group_id: str".into()),
    }
    let mut star = false;
    for f in call.fields.iter().filter(|f| f.constant.is_none()) {
        let n = ident(&f.words, Case::Snake);
        if f.required {
            ps.push(format!("{n}: {}", ty_name(plan, &f.ty)));
        } else {
            if !star {
                ps.push("*".into());
                star = true;
            }
            ps.push(format!("{n}: Optional[{}] = None", ty_name(plan, &f.ty)));
        }
    }
    let name = ident(&call.words, Case::Snake);
    out.line(1, I, &format!("def {name}("));
    for p in &ps {
        out.line(2, I, &format!("{p},"));
    }
    out.line(1, I, ") -> None:");
    let mut lines = call_doc(call);
    let documented: Vec<String> = call
        .fields
        .iter()
        .filter(|f| f.constant.is_none())
        .filter_map(|f| field_doc(f).map(|d| format!("``{}``: {d}", ident(&f.words, Case::Snake))))
        .collect();
    if !documented.is_empty() {
        lines.push(String::new());
        lines.extend(documented);
    }
    docstring(out, 2, &lines);
    let map = free("properties", &call.fields);
    let arg = if call.fields.is_empty() {
        String::new()
    } else {
        out.line(2, I, &format!("{map}: Dict[str, Any] = {{}}"));
        sets(plan, out, 2, &map, &call.fields, "");
        format!(", {map}")
    };
    out.line(
        2,
        I,
        &match call.kind {
            CallKind::Track => format!("self.client.track({}{arg})", lit(&call.name)),
            CallKind::Identify => format!("self.client.identify(user_id{arg})"),
            CallKind::Group => format!("self.client.group(group_id{arg})"),
        },
    );
}
