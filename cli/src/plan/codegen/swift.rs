//! Swift: a file over the `Cairn` package's `Cairn` class. Enums are
//! `String` raw-value enums, nested objects are structs with a memberwise
//! `init` and `toJson()`, optional properties are parameters defaulting to
//! `nil` (left out of the event), and every call `throws` `CairnError` as
//! the client's own do.

use super::model::{Call, CallKind, Field, Plan, Ty, TypeDef};
use super::names::{join, Case};
use super::writer::{call_doc, field_doc, free, header, one_line, Out};

const KEYWORDS: &[&str] = &[
    "associatedtype",
    "class",
    "deinit",
    "enum",
    "extension",
    "fileprivate",
    "func",
    "import",
    "init",
    "inout",
    "internal",
    "let",
    "open",
    "operator",
    "private",
    "precedencegroup",
    "protocol",
    "public",
    "rethrows",
    "static",
    "struct",
    "subscript",
    "typealias",
    "var",
    "break",
    "case",
    "catch",
    "continue",
    "default",
    "defer",
    "do",
    "else",
    "fallthrough",
    "for",
    "guard",
    "if",
    "in",
    "repeat",
    "return",
    "throw",
    "switch",
    "where",
    "while",
    "Any",
    "as",
    "await",
    "false",
    "is",
    "nil",
    "self",
    "Self",
    "super",
    "throws",
    "true",
    "try",
    "Type",
    "Protocol",
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

/// A Swift string literal (`\(` cannot start an interpolation: every `\` is escaped).
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

fn const_expr(c: &serde_json::Value) -> String {
    use serde_json::Value;
    match c {
        Value::String(s) => lit(s),
        Value::Null => "NSNull()".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => format!("Double({n})"),
        Value::Number(n) => format!("Int({n})"),
        Value::Array(items) => format!(
            "[{}] as [Any]",
            items.iter().map(const_expr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => "[:] as [String: Any]".into(),
        Value::Object(map) => format!(
            "[{}] as [String: Any]",
            map.iter()
                .map(|(k, v)| format!("{}: {}", lit(k), const_expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn ty_name(plan: &Plan, ty: &Ty) -> String {
    match ty {
        Ty::String => "String".into(),
        Ty::Integer => "Int".into(),
        Ty::Number => "Double".into(),
        Ty::Boolean => "Bool".into(),
        Ty::Json => "Any".into(),
        Ty::Named(i) => plan.types[*i].name().to_string(),
        Ty::Array(t) => format!("[{}]", ty_name(plan, t)),
        Ty::Map(t) => format!("[String: {}]", ty_name(plan, t)),
        Ty::Nullable(t) => format!("{}?", ty_name(plan, t)),
    }
}

/// Whether the value is sent as it is: no enum, struct or null inside
/// (a dictionary holds a nil as no entry, so nulls become NSNull).
fn plain(ty: &Ty) -> bool {
    match ty {
        Ty::Named(_) | Ty::Nullable(_) => false,
        Ty::Array(t) | Ty::Map(t) => plain(t),
        _ => true,
    }
}

/// The value `JSONText` encodes, of `x`, as `Any`.
fn to_value(plan: &Plan, ty: &Ty, x: &str, depth: usize) -> String {
    if plain(ty) {
        return x.to_string();
    }
    let e = format!("e{depth}");
    match ty {
        Ty::Named(i) => match plan.types[*i] {
            TypeDef::Enum { .. } => format!("{x}.rawValue"),
            TypeDef::Struct { .. } => format!("{x}.toJson()"),
        },
        Ty::Array(t) => format!(
            "{x}.map {{ {e} -> Any in {} }}",
            to_value(plan, t, &e, depth + 1)
        ),
        Ty::Map(t) => format!(
            "{x}.mapValues {{ {e} -> Any in {} }}",
            to_value(plan, t, &e, depth + 1)
        ),
        // A required nullable value is sent as null, which a dictionary holds as NSNull.
        Ty::Nullable(t) => format!(
            "({x}.map {{ {e} -> Any in {} }} ?? NSNull())",
            to_value(plan, t, &e, depth + 1)
        ),
        _ => x.to_string(),
    }
}

fn doc(out: &mut Out, level: usize, lines: &[String]) {
    for l in lines {
        out.line(
            level,
            I,
            &if l.is_empty() {
                "///".to_string()
            } else {
                format!("/// {l}")
            },
        );
    }
}

fn sets(plan: &Plan, out: &mut Out, level: usize, map: &str, fields: &[Field], receiver: &str) {
    for f in fields {
        let key = lit(&f.key);
        let name = format!("{receiver}{}", ident(&f.words, Case::Camel));
        if let Some(c) = &f.constant {
            out.line(level, I, &format!("{map}[{key}] = {}", const_expr(c)));
        } else if f.required {
            out.line(
                level,
                I,
                &format!("{map}[{key}] = {}", to_value(plan, &f.ty, &name, 0)),
            );
        } else {
            out.line(
                level,
                I,
                &format!(
                    "if let value = {name} {{ {map}[{key}] = {} }}",
                    to_value(plan, &f.ty, "value", 0)
                ),
            );
        }
    }
}

/// Parameters for the fields: required ones, then optional ones defaulting to nil.
fn params(plan: &Plan, fields: &[Field]) -> Vec<String> {
    fields
        .iter()
        .filter(|f| f.constant.is_none())
        .map(|f| {
            let name = ident(&f.words, Case::Camel);
            if f.required {
                format!("{name}: {}", ty_name(plan, &f.ty))
            } else {
                format!("{name}: {}? = nil", ty_name(plan, &f.ty))
            }
        })
        .collect()
}

/// The file for `plan`.
pub fn generate(plan: &Plan) -> String {
    let mut out = Out::default();
    for l in header(plan, "swift") {
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
    out.line(0, I, "import Cairn");
    out.line(0, I, "import Foundation");
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
                out.line(
                    0,
                    I,
                    &format!("public enum {name}: String, CaseIterable, Sendable {{"),
                );
                for (value, words) in values {
                    out.line(
                        1,
                        I,
                        &format!("case {} = {}", ident(words, Case::Camel), lit(value)),
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
                    doc(&mut out, 0, &[one_line(d)]);
                }
                out.line(0, I, &format!("public struct {name} {{"));
                for f in fields.iter().filter(|f| f.constant.is_none()) {
                    if let Some(d) = field_doc(f) {
                        doc(&mut out, 1, &[d]);
                    }
                    let ty = if f.required {
                        ty_name(plan, &f.ty)
                    } else {
                        format!("{}?", ty_name(plan, &f.ty))
                    };
                    out.line(
                        1,
                        I,
                        &format!("public var {}: {ty}", ident(&f.words, Case::Camel)),
                    );
                }
                out.line(0, I, "");
                out.line(
                    1,
                    I,
                    &format!("public init({}) {{", params(plan, fields).join(", ")),
                );
                for f in fields.iter().filter(|f| f.constant.is_none()) {
                    let n = ident(&f.words, Case::Camel);
                    out.line(2, I, &format!("self.{n} = {n}"));
                }
                out.line(1, I, "}");
                out.line(0, I, "");
                out.line(1, I, "/// This value as the JSON object sent.");
                out.line(1, I, "public func toJson() -> [String: Any] {");
                let map = free("json", fields);
                out.line(2, I, &format!("var {map}: [String: Any] = [:]"));
                sets(plan, &mut out, 2, &map, fields, "self.");
                out.line(2, I, &format!("return {map}"));
                out.line(1, I, "}");
                out.line(0, I, "}");
            }
        }
        out.line(0, I, "");
    }
    out.line(0, I, "/// The plan's calls over a `Cairn` client: one method per event. Each throws `CairnError` as the client does.");
    out.line(0, I, "public struct TrackingPlan {");
    out.line(1, I, "/// The plan's id.");
    out.line(
        1,
        I,
        &format!("public static let planId = {}", lit(&plan.id)),
    );
    out.line(1, I, "/// The plan's version.");
    out.line(
        1,
        I,
        &format!("public static let planVersion = {}", lit(&plan.version)),
    );
    out.line(0, I, "");
    out.line(1, I, "/// The client the calls are recorded by.");
    out.line(1, I, "public let cairn: Cairn");
    out.line(0, I, "");
    out.line(1, I, "/// The plan's calls, recorded by `cairn`.");
    out.line(1, I, "public init(_ cairn: Cairn) {");
    out.line(2, I, "self.cairn = cairn");
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
        .filter(|f| f.constant.is_none())
        .filter_map(|f| {
            field_doc(f).map(|d| format!("- Parameter {}: {d}", join(&f.words, Case::Camel)))
        })
        .collect();
    if !documented.is_empty() {
        lines.push(String::new());
        lines.extend(documented);
    }
    doc(out, 1, &lines);
    let mut ps = Vec::new();
    match call.kind {
        CallKind::Track => {}
        CallKind::Identify => ps.push("_ userId: String".to_string()),
        CallKind::Group => ps.push("_ groupId: String".to_string()),
    }
    ps.extend(params(plan, &call.fields));
    out.line(
        1,
        I,
        &format!(
            "public func {}({}) throws {{",
            ident(&call.words, Case::Camel),
            ps.join(", ")
        ),
    );
    let map = free("properties", &call.fields);
    let arg = if call.fields.is_empty() {
        String::new()
    } else {
        out.line(2, I, &format!("var {map}: [String: Any] = [:]"));
        sets(plan, out, 2, &map, &call.fields, "");
        match call.kind {
            CallKind::Track => format!(", properties: {map}"),
            _ => format!(", traits: {map}"),
        }
    };
    out.line(
        2,
        I,
        &match call.kind {
            CallKind::Track => format!("try self.cairn.track({}{arg})", lit(&call.name)),
            CallKind::Identify => format!("try self.cairn.identify(userId{arg})"),
            CallKind::Group => format!("try self.cairn.group(groupId{arg})"),
        },
    );
    out.line(1, I, "}");
}
