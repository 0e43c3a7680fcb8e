//! TypeScript: a module over the web package's `Cairn` (`cairn-web`,
//! wasm/js/index.d.ts), imported as a type only, so the compiled module has
//! no import of its own. Enums are `as const` objects with a type of the
//! same name (`Currency.Eur` or `'EUR'`), nested objects are interfaces
//! with camelCase fields, and a call's optional properties are one last
//! `options` object argument.

use super::model::{Call, CallKind, Field, Plan, Ty, TypeDef};
use super::names::{join, Case};
use super::writer::{call_doc, field_doc, free, header, one_line, Out};

const KEYWORDS: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "let",
    "static",
    "implements",
    "interface",
    "package",
    "private",
    "protected",
    "public",
    "await",
    "arguments",
    "eval",
];

const I: &str = "  ";

/// A parameter's name.
fn param(words: &[String]) -> String {
    let name = join(words, Case::Camel);
    if KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// A single-quoted string literal.
fn lit(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn const_expr(c: &serde_json::Value) -> String {
    use serde_json::Value;
    match c {
        Value::String(s) => lit(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(const_expr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", lit(k), const_expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn ty_name(plan: &Plan, ty: &Ty) -> String {
    match ty {
        Ty::String => "string".into(),
        Ty::Integer | Ty::Number => "number".into(),
        Ty::Boolean => "boolean".into(),
        Ty::Json => "unknown".into(),
        Ty::Named(i) => plan.types[*i].name().to_string(),
        Ty::Array(t) => match **t {
            Ty::Nullable(_) => format!("({})[]", ty_name(plan, t)),
            _ => format!("{}[]", ty_name(plan, t)),
        },
        Ty::Map(t) => format!("Record<string, {}>", ty_name(plan, t)),
        Ty::Nullable(t) => format!("{} | null", ty_name(plan, t)),
    }
}

fn to_json_fn(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string())
        .unwrap_or_default();
    format!("{first}{}ToJson", chars.as_str())
}

/// The JSON value of `x`.
fn to_value(plan: &Plan, ty: &Ty, x: &str, depth: usize) -> String {
    let e = format!("e{depth}");
    let k = format!("k{depth}");
    match ty {
        Ty::Named(i) => match &plan.types[*i] {
            TypeDef::Enum { .. } => x.to_string(),
            TypeDef::Struct { name, .. } => format!("{}({x})", to_json_fn(name)),
        },
        Ty::Array(t) => {
            let inner = to_value(plan, t, &e, depth + 1);
            if inner == e {
                x.to_string()
            } else {
                format!("{x}.map(({e}) => {inner})")
            }
        }
        Ty::Map(t) => {
            let inner = to_value(plan, t, &e, depth + 1);
            if inner == e {
                x.to_string()
            } else {
                format!(
                    "Object.fromEntries(Object.entries({x}).map(([{k}, {e}]) => [{k}, {inner}]))"
                )
            }
        }
        Ty::Nullable(t) => {
            let inner = to_value(plan, t, x, depth + 1);
            if inner == x {
                x.to_string()
            } else {
                format!("({x} === null ? null : {inner})")
            }
        }
        _ => x.to_string(),
    }
}

fn doc(out: &mut Out, level: usize, lines: &[String]) {
    if lines.len() == 1 {
        out.line(level, I, &format!("/** {} */", lines[0]));
        return;
    }
    out.line(level, I, "/**");
    for l in lines {
        out.line(
            level,
            I,
            &if l.is_empty() {
                " *".to_string()
            } else {
                format!(" * {l}")
            },
        );
    }
    out.line(level, I, " */");
}

fn sets(
    plan: &Plan,
    out: &mut Out,
    level: usize,
    map: &str,
    fields: &[Field],
    required_from: &str,
    optional_from: &str,
) {
    for f in fields {
        let key = lit(&f.key);
        if let Some(c) = &f.constant {
            out.line(level, I, &format!("{map}[{key}] = {};", const_expr(c)));
        } else if f.required {
            let name = if required_from.is_empty() {
                param(&f.words)
            } else {
                format!("{required_from}{}", join(&f.words, Case::Camel))
            };
            out.line(
                level,
                I,
                &format!("{map}[{key}] = {};", to_value(plan, &f.ty, &name, 0)),
            );
        } else {
            let name = format!("{optional_from}{}", join(&f.words, Case::Camel));
            out.line(
                level,
                I,
                &format!(
                    "if ({name} !== undefined) {map}[{key}] = {};",
                    to_value(plan, &f.ty, &name, 0)
                ),
            );
        }
    }
}

/// `name: type;` members of an interface or options object for the fields.
fn members<'f>(plan: &Plan, out: &mut Out, level: usize, fields: impl Iterator<Item = &'f Field>) {
    for f in fields {
        if let Some(d) = field_doc(f) {
            doc(out, level, &[d]);
        }
        let opt = if f.required { "" } else { "?" };
        out.line(
            level,
            I,
            &format!(
                "{}{opt}: {};",
                join(&f.words, Case::Camel),
                ty_name(plan, &f.ty)
            ),
        );
    }
}

/// The module for `plan`.
pub fn generate(plan: &Plan) -> String {
    let mut out = Out::default();
    for l in header(plan, "typescript") {
        out.line(
            0,
            I,
            &if l.is_empty() {
                "//".to_string()
            } else {
                format!("// {l}")
            },
        );
    }
    out.line(0, I, "");
    // Only what is used: a `noUnusedLocals` build stays clean whatever the plan.
    let any_fields = plan
        .types
        .iter()
        .any(|t| matches!(t, TypeDef::Struct { .. }))
        || plan.calls.iter().any(|c| !c.fields.is_empty());
    out.line(
        0,
        I,
        if any_fields {
            "import type { Cairn, JsonObject } from 'cairn-web';"
        } else {
            "import type { Cairn } from 'cairn-web';"
        },
    );
    out.line(0, I, "");
    out.line(0, I, "/** The plan's id. */");
    out.line(0, I, &format!("export const PLAN_ID = {};", lit(&plan.id)));
    out.line(0, I, "/** The plan's version. */");
    out.line(
        0,
        I,
        &format!("export const PLAN_VERSION = {};", lit(&plan.version)),
    );
    out.line(0, I, "");
    for t in &plan.types {
        match t {
            TypeDef::Enum {
                name,
                description,
                values,
            } => {
                if let Some(d) = description {
                    doc(&mut out, 0, &[one_line(d)]);
                }
                out.line(0, I, &format!("export const {name} = {{"));
                for (value, words) in values {
                    out.line(
                        1,
                        I,
                        &format!("{}: {},", join(words, Case::Pascal), lit(value)),
                    );
                }
                out.line(0, I, "} as const;");
                out.line(
                    0,
                    I,
                    &format!("export type {name} = (typeof {name})[keyof typeof {name}];"),
                );
            }
            TypeDef::Struct {
                name,
                description,
                fields,
            } => {
                if let Some(d) = description {
                    doc(&mut out, 0, &[one_line(d)]);
                }
                out.line(0, I, &format!("export interface {name} {{"));
                members(
                    plan,
                    &mut out,
                    1,
                    fields.iter().filter(|f| f.constant.is_none()),
                );
                out.line(0, I, "}");
                out.line(0, I, "");
                out.line(
                    0,
                    I,
                    &format!(
                        "function {}(value: {name}): JsonObject {{",
                        to_json_fn(name)
                    ),
                );
                out.line(1, I, "const json: JsonObject = {};");
                sets(plan, &mut out, 1, "json", fields, "value.", "value.");
                out.line(1, I, "return json;");
                out.line(0, I, "}");
            }
        }
        out.line(0, I, "");
    }
    out.line(0, I, "/** The plan's calls over a `Cairn` (cairn-web): one method per event. Each throws a TypeError on invalid input, as the client does. */");
    out.line(0, I, "export class TrackingPlan {");
    out.line(1, I, "/** The client the calls are recorded by. */");
    out.line(1, I, "readonly cairn: Cairn;");
    out.line(0, I, "");
    out.line(1, I, "constructor(cairn: Cairn) {");
    out.line(2, I, "this.cairn = cairn;");
    out.line(1, I, "}");
    for call in &plan.calls {
        out.line(0, I, "");
        method(plan, &mut out, call);
    }
    out.line(0, I, "}");
    out.finish()
}

fn method(plan: &Plan, out: &mut Out, call: &Call) {
    let mut lines = call_doc(call);
    let documented: Vec<String> = call
        .fields
        .iter()
        .filter(|f| f.required && f.constant.is_none())
        .filter_map(|f| field_doc(f).map(|d| format!("@param {} {d}", param(&f.words))))
        .collect();
    if !documented.is_empty() {
        lines.push(String::new());
        lines.extend(documented);
    }
    doc(out, 1, &lines);
    let mut ps = Vec::new();
    match call.kind {
        CallKind::Track => {}
        CallKind::Identify => ps.push("userId: string".to_string()),
        CallKind::Group => ps.push("groupId: string".to_string()),
    }
    for f in call
        .fields
        .iter()
        .filter(|f| f.required && f.constant.is_none())
    {
        ps.push(format!("{}: {}", param(&f.words), ty_name(plan, &f.ty)));
    }
    let optional: Vec<&Field> = call
        .fields
        .iter()
        .filter(|f| !f.required && f.constant.is_none())
        .collect();
    let options = free("options", &call.fields);
    let name = join(&call.words, Case::Camel);
    if optional.is_empty() {
        out.line(1, I, &format!("{name}({}): void {{", ps.join(", ")));
    } else {
        out.line(1, I, &format!("{name}("));
        for p in &ps {
            out.line(2, I, &format!("{p},"));
        }
        out.line(2, I, &format!("{options}: {{"));
        members(plan, out, 3, optional.into_iter());
        out.line(2, I, "} = {},");
        out.line(1, I, "): void {");
    }
    let map = free("properties", &call.fields);
    let arg = if call.fields.is_empty() {
        String::new()
    } else {
        out.line(2, I, &format!("const {map}: JsonObject = {{}};"));
        sets(plan, out, 2, &map, &call.fields, "", &format!("{options}."));
        format!(", {map}")
    };
    out.line(
        2,
        I,
        &match call.kind {
            CallKind::Track => format!("this.cairn.track({}{arg});", lit(&call.name)),
            CallKind::Identify => format!("this.cairn.identify(userId{arg});"),
            CallKind::Group => format!("this.cairn.group(groupId{arg});"),
        },
    );
    out.line(1, I, "}");
}
