//! Kotlin: a file over `dev.cairn.Cairn` (bindings/kotlin). Enums are enum
//! classes carrying their `wire` value, nested objects are data classes
//! with `toJson()`, optional properties are parameters defaulting to `null`
//! (left out of the event), and the calls throw `CairnException` as the
//! client's own do.

use super::model::{Call, CallKind, Field, Plan, Ty, TypeDef};
use super::names::{join, Case};
use super::writer::{call_doc, field_doc, free, header, one_line, Out};

const KEYWORDS: &[&str] = &[
    "as",
    "break",
    "class",
    "continue",
    "do",
    "else",
    "false",
    "for",
    "fun",
    "if",
    "in",
    "interface",
    "is",
    "null",
    "object",
    "package",
    "return",
    "super",
    "this",
    "throw",
    "true",
    "try",
    "typealias",
    "typeof",
    "val",
    "var",
    "when",
    "while",
];

const I: &str = "    ";

fn ident(words: &[String], case: Case) -> String {
    let name = join(words, case);
    if KEYWORDS.contains(&name.as_str()) {
        format!("`{name}`")
    } else {
        name
    }
}

/// A Kotlin string literal (`$` escaped: no templates).
fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A constant as a Kotlin value the client encodes to the same JSON.
fn const_expr(c: &serde_json::Value) -> String {
    use serde_json::Value;
    match c {
        Value::String(s) => lit(s),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => {
            let t = n.to_string();
            if t.contains(['.', 'e', 'E']) {
                t
            } else {
                format!("{t}.0")
            }
        }
        Value::Number(n) => format!("{n}L"),
        Value::Array(items) => format!(
            "listOf<Any?>({})",
            items.iter().map(const_expr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "mapOf<String, Any?>({})",
            map.iter()
                .map(|(k, v)| format!("{} to {}", lit(k), const_expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn ty_name(plan: &Plan, ty: &Ty) -> String {
    match ty {
        Ty::String => "String".into(),
        Ty::Integer => "Long".into(),
        Ty::Number => "Double".into(),
        Ty::Boolean => "Boolean".into(),
        Ty::Json => "Any?".into(),
        Ty::Named(i) => plan.types[*i].name().to_string(),
        Ty::Array(t) => format!("List<{}>", ty_name(plan, t)),
        Ty::Map(t) => format!("Map<String, {}>", ty_name(plan, t)),
        Ty::Nullable(t) => format!("{}?", ty_name(plan, t)),
    }
}

/// Whether the value is sent as it is (no enum or struct inside).
fn plain(ty: &Ty) -> bool {
    match ty {
        Ty::Named(_) => false,
        Ty::Array(t) | Ty::Map(t) | Ty::Nullable(t) => plain(t),
        _ => true,
    }
}

/// The value the client encodes, of `x` (depth names the lambda parameters).
fn to_value(plan: &Plan, ty: &Ty, x: &str, depth: usize) -> String {
    if plain(ty) {
        return x.to_string();
    }
    let e = format!("e{depth}");
    match ty {
        Ty::Named(i) => match plan.types[*i] {
            TypeDef::Enum { .. } => format!("{x}.wire"),
            TypeDef::Struct { .. } => format!("{x}.toJson()"),
        },
        Ty::Array(t) => format!("{x}.map {{ {e} -> {} }}", to_value(plan, t, &e, depth + 1)),
        Ty::Map(t) => format!(
            "{x}.mapValues {{ ({e}k, {e}) -> {} }}",
            to_value(plan, t, &e, depth + 1)
        )
        .replace(&format!("({e}k, "), "(_, "),
        Ty::Nullable(t) => format!("{x}?.let {{ {e} -> {} }}", to_value(plan, t, &e, depth + 1)),
        _ => x.to_string(),
    }
}

fn kdoc(out: &mut Out, level: usize, lines: &[String]) {
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

/// `put(...)` lines for `fields` into the map being built.
fn puts(plan: &Plan, out: &mut Out, level: usize, fields: &[Field], receiver: &str) {
    for f in fields {
        let key = lit(&f.key);
        let name = format!("{receiver}{}", ident(&f.words, Case::Camel));
        if let Some(c) = &f.constant {
            out.line(level, I, &format!("put({key}, {})", const_expr(c)));
        } else if f.required {
            out.line(
                level,
                I,
                &format!("put({key}, {})", to_value(plan, &f.ty, &name, 0)),
            );
        } else {
            out.line(
                level,
                I,
                &format!(
                    "{name}?.let {{ put({key}, {}) }}",
                    to_value(plan, &f.ty, "it", 0)
                ),
            );
        }
    }
}

/// Parameters (or data class properties) for the fields: required ones, then optional ones defaulting to null.
fn params(plan: &Plan, fields: &[Field], prefix: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|f| f.constant.is_none())
        .map(|f| {
            let name = ident(&f.words, Case::Camel);
            if f.required {
                format!("{prefix}{name}: {}", ty_name(plan, &f.ty))
            } else {
                let ty = ty_name(plan, &f.ty);
                let ty = if ty.ends_with('?') {
                    ty
                } else {
                    format!("{ty}?")
                };
                format!("{prefix}{name}: {ty} = null")
            }
        })
        .collect()
}

/// The file for `plan`, in `package` if given.
pub fn generate(plan: &Plan, package: Option<&str>) -> String {
    let mut out = Out::default();
    for l in header(plan, "kotlin") {
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
    if let Some(p) = package {
        out.line(0, I, &format!("package {p}"));
    }
    out.line(0, I, "");
    out.line(0, I, "import dev.cairn.Cairn");
    out.line(0, I, "");
    for t in &plan.types {
        match t {
            TypeDef::Enum {
                name,
                description,
                values,
            } => {
                if let Some(d) = description {
                    kdoc(&mut out, 0, &[one_line(d)]);
                }
                out.line(
                    0,
                    I,
                    &format!("enum class {name}(/** The value sent. */ val wire: String) {{"),
                );
                for (i, (value, words)) in values.iter().enumerate() {
                    let end = if i + 1 == values.len() { ";" } else { "," };
                    out.line(
                        1,
                        I,
                        &format!(
                            "{}({}){end}",
                            ident(words, Case::ScreamingSnake),
                            lit(value)
                        ),
                    );
                }
                out.line(0, I, "}");
            }
            TypeDef::Struct {
                name,
                description,
                fields,
            } => {
                if let Some(d) = description {
                    kdoc(&mut out, 0, &[one_line(d)]);
                }
                out.line(0, I, &format!("data class {name}("));
                for (f, p) in fields
                    .iter()
                    .filter(|f| f.constant.is_none())
                    .zip(params(plan, fields, "val "))
                {
                    if let Some(d) = field_doc(f) {
                        kdoc(&mut out, 1, &[d]);
                    }
                    out.line(1, I, &format!("{p},"));
                }
                out.line(0, I, ") {");
                out.line(1, I, "/** This value as the JSON object sent. */");
                out.line(
                    1,
                    I,
                    "fun toJson(): Map<String, Any?> = buildMap<String, Any?> {",
                );
                // `this@` because inside buildMap the map's own members
                // (size, keys, values...) would win over the properties.
                puts(plan, &mut out, 2, fields, &format!("this@{name}."));
                out.line(1, I, "}");
                out.line(0, I, "}");
            }
        }
        out.line(0, I, "");
    }
    out.line(0, I, "/** The plan's calls over a [Cairn] client: one method per event. Each throws [dev.cairn.CairnException] as the client does. */");
    out.line(0, I, "class TrackingPlan(");
    out.line(1, I, "/** The client the calls are recorded by. */");
    out.line(1, I, "val cairn: Cairn,");
    out.line(0, I, ") {");
    for call in &plan.calls {
        method(plan, &mut out, call);
        out.line(0, I, "");
    }
    out.line(1, I, "companion object {");
    out.line(2, I, "/** The plan's id. */");
    out.line(
        2,
        I,
        &format!("const val PLAN_ID: String = {}", lit(&plan.id)),
    );
    out.line(0, I, "");
    out.line(2, I, "/** The plan's version. */");
    out.line(
        2,
        I,
        &format!("const val PLAN_VERSION: String = {}", lit(&plan.version)),
    );
    out.line(1, I, "}");
    out.line(0, I, "}");
    out.finish()
}

fn method(plan: &Plan, out: &mut Out, call: &Call) {
    let mut lines = call_doc(call);
    let documented: Vec<String> = call
        .fields
        .iter()
        .filter(|f| f.constant.is_none())
        .filter_map(|f| field_doc(f).map(|d| format!("@param {} {d}", join(&f.words, Case::Camel))))
        .collect();
    if !documented.is_empty() {
        lines.push(String::new());
        lines.extend(documented);
    }
    kdoc(out, 1, &lines);
    let mut ps = Vec::new();
    match call.kind {
        CallKind::Track => {}
        CallKind::Identify => ps.push("userId: String".to_string()),
        CallKind::Group => ps.push("groupId: String".to_string()),
    }
    ps.extend(params(plan, &call.fields, ""));
    let name = ident(&call.words, Case::Camel);
    let value = if call.fields.is_empty() {
        "emptyMap()".to_string()
    } else {
        "properties".to_string()
    };
    let properties = free("properties", &call.fields);
    if ps.is_empty() {
        out.line(1, I, &format!("fun {name}() {{"));
    } else {
        out.line(1, I, &format!("fun {name}("));
        for p in &ps {
            out.line(2, I, &format!("{p},"));
        }
        out.line(1, I, ") {");
    }
    if !call.fields.is_empty() {
        out.line(
            2,
            I,
            &format!("val {properties} = buildMap<String, Any?> {{"),
        );
        puts(plan, out, 3, &call.fields, "");
        out.line(2, I, "}");
    }
    let value = if value == "properties" {
        properties
    } else {
        value
    };
    out.line(
        2,
        I,
        &match call.kind {
            CallKind::Track => format!("this.cairn.track({}, {value})", lit(&call.name)),
            CallKind::Identify => format!("this.cairn.identify(userId, {value})"),
            CallKind::Group => format!("this.cairn.group(groupId, {value})"),
        },
    );
    out.line(1, I, "}");
}
