//! JSON values, read and written by hand, for everything cairn parses or
//! builds on its own path: the state it persists (identity, consent,
//! session, drop counters), the context every event carries, the page's
//! options in the browser, and the check that properties and traits are one
//! valid JSON object.
//!
//! It decides three things:
//! - what counts as valid JSON: RFC 8259 exactly (no `NaN`, no trailing
//!   commas, no lone surrogates in `\u` escapes), nesting at most
//!   [`MAX_DEPTH`] deep, numbers a 64-bit float can hold (`1e999` is
//!   RFC 8259's grammar but a strict backend refuses the whole batch that
//!   carries it), and errors that say what was expected and where
//!   (`expected value at line 1 column 7`);
//! - how a number is kept: as the text it was written with ([`Number`]),
//!   so nothing is rounded on the way through and no float code is needed;
//! - in which order an object's members are written: sorted by key, the
//!   last of duplicate keys winning, as `serde_json`'s default map does, so
//!   state written by earlier versions and by the native API reads the same.
//!
//! It exists so the browser build ships no `serde_json`: the native public
//! API still takes `serde_json::Value` and converts with `From`.

use crate::prelude::*;

use core::fmt;
use core::ops::Index;

use crate::json_text::push_string;

/// Deepest nesting of arrays and objects accepted: 127, as `serde_json`'s
/// default (its recursion limit of 128 refuses the 128th level).
pub const MAX_DEPTH: usize = 127;

/// [`ParseError::what`] for arrays and objects nested too deep.
pub const TOO_DEEP: &str = "recursion limit exceeded";

/// [`ParseError::what`] for a number too large for a 64-bit float.
pub const NUMBER_OUT_OF_RANGE: &str = "number out of range";

/// A JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object.
    Object(Object),
}

/// A JSON number, kept as its (valid) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// The number's text, e.g. `-1.5e3`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number, if it is written as a whole number from 0 to `u64::MAX`
    /// (no fraction, no exponent).
    pub fn as_u64(&self) -> Option<u64> {
        crate::text::parse_u64(&self.0)
    }

    /// The number, if it is written as a whole number that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        crate::text::parse_i64(&self.0)
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Self {
        Number(crate::text::u64_text(n))
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Self {
        Number(crate::text::i64_text(n))
    }
}

/// A JSON object: members sorted by key, keys unique.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object(Vec<(String, Json)>);

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object(Vec::new())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaces.
    pub fn insert(&mut self, key: String, value: Json) -> Option<Json> {
        match self.find(&key) {
            Ok(i) => Some(core::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// Members in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends the object's text to `out`.
    pub fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_string(out, k);
            out.push(':');
            v.write(out);
        }
        out.push('}');
    }

    /// The object's text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

impl IntoIterator for Object {
    type Item = (String, Json);
    type IntoIter = alloc::vec::IntoIter<(String, Json)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a String, &'a Json);
    type IntoIter = core::iter::Map<
        core::slice::Iter<'a, (String, Json)>,
        fn(&'a (String, Json)) -> (&'a String, &'a Json),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Extend<(String, Json)> for Object {
    fn extend<I: IntoIterator<Item = (String, Json)>>(&mut self, members: I) {
        for (k, v) in members {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, Json)> for Object {
    fn from_iter<I: IntoIterator<Item = (String, Json)>>(members: I) -> Self {
        let mut o = Object::new();
        o.extend(members);
        o
    }
}

static NULL: Json = Json::Null;

impl Index<&str> for Object {
    type Output = Json;
    /// The value under `key`, or `null` when absent.
    fn index(&self, key: &str) -> &Json {
        self.get(key).unwrap_or(&NULL)
    }
}

impl Index<&str> for Json {
    type Output = Json;
    /// The member `key` of an object, or `null` (absent, or not an object).
    fn index(&self, key: &str) -> &Json {
        self.get(key).unwrap_or(&NULL)
    }
}

impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<bool> for Json {
    fn eq(&self, other: &bool) -> bool {
        *self == Json::Bool(*other)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::String(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::String(s)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

impl From<i64> for Json {
    fn from(n: i64) -> Self {
        Json::Number(n.into())
    }
}

impl From<u64> for Json {
    fn from(n: u64) -> Self {
        Json::Number(n.into())
    }
}

impl From<Option<String>> for Json {
    fn from(s: Option<String>) -> Self {
        s.map_or(Json::Null, Json::String)
    }
}

impl From<Object> for Json {
    fn from(o: Object) -> Self {
        Json::Object(o)
    }
}

impl Json {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a whole number from 0 to `u64::MAX`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The number, if this is a whole number that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        *self == Json::Null
    }

    /// The member `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object().and_then(|o| o.get(key))
    }

    /// What kind of value this is, for error messages: `null`, `a boolean`,
    /// `a number`, `a string`, `an array` or `an object`.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// Appends the value's text to `out` (compact, object keys sorted).
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&n.0),
            Json::String(s) => push_string(out, s),
            Json::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Object(o) => o.write(out),
        }
    }

    /// The value's text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

impl Json {
    /// Whether arrays and objects nest at most `max_depth` deep (this value
    /// itself, if one, is the first level). Stops looking past the limit.
    pub fn within_depth(&self, max_depth: usize) -> bool {
        match self {
            Json::Array(items) => {
                max_depth > 0 && items.iter().all(|v| v.within_depth(max_depth - 1))
            }
            Json::Object(o) => max_depth > 0 && o.values_within_depth(max_depth - 1),
            _ => true,
        }
    }
}

impl Object {
    /// Whether every member's value nests at most `max_depth` deep (see
    /// [`Json::within_depth`]; the object itself is not counted).
    pub fn values_within_depth(&self, max_depth: usize) -> bool {
        self.0.iter().all(|(_, v)| v.within_depth(max_depth))
    }
}

impl fmt::Display for Json {
    /// The value's JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl From<&serde_json::Value> for Json {
    /// The same value; numbers keep the text `serde_json` writes for them.
    fn from(v: &serde_json::Value) -> Self {
        use serde_json::Value as V;
        match v {
            V::Null => Json::Null,
            V::Bool(b) => Json::Bool(*b),
            V::Number(n) => Json::Number(Number(n.to_string())),
            V::String(s) => Json::String(s.clone()),
            V::Array(a) => Json::Array(a.iter().map(Json::from).collect()),
            V::Object(m) => Json::Object(Object::from(m)),
        }
    }
}

impl From<&serde_json::Map<String, serde_json::Value>> for Object {
    fn from(m: &serde_json::Map<String, serde_json::Value>) -> Self {
        m.iter().map(|(k, v)| (k.clone(), Json::from(v))).collect()
    }
}

/// JSON text known to hold exactly one valid JSON object (properties,
/// traits, an encoded context), spliced into events as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Checks that `text` is one JSON object (whitespace around it is
    /// dropped). On failure, says what is wrong: invalid JSON (with where),
    /// or valid JSON of another kind (`Err(Ok(kind))`, see [`Json::kind`]).
    pub fn object(text: &str) -> Result<Self, Result<&'static str, ParseError>> {
        check_object(text, MAX_DEPTH).map(|t| RawJson(t.into()))
    }

    /// Text written by cairn's own writers (or `serde_json`), already valid.
    pub(crate) fn trusted(text: String) -> Self {
        RawJson(text.into_boxed_str())
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

/// [`RawJson::object`]'s check without the copy, with nesting at most
/// `max_depth` deep: the object's text, trimmed.
pub(crate) fn check_object(
    text: &str,
    max_depth: usize,
) -> Result<&str, Result<&'static str, ParseError>> {
    let text = text.trim_matches([' ', '\t', '\n', '\r']);
    validate_within(text, max_depth).map_err(Err)?;
    if !text.starts_with('{') {
        let kind = match text.as_bytes().first() {
            Some(b'n') => "null",
            Some(b't' | b'f') => "a boolean",
            Some(b'"') => "a string",
            Some(b'[') => "an array",
            _ => "a number",
        };
        return Err(Ok(kind));
    }
    Ok(text)
}

/// Why text is not valid JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong, e.g. `expected value`.
    pub what: &'static str,
    /// Line of the problem, from 1.
    pub line: usize,
    /// Column (in bytes) of the problem, from 1.
    pub column: usize,
}

impl ParseError {
    /// The text `Display` writes, e.g. `expected value at line 2 column 8`
    /// (built without the formatting machinery, for the browser build).
    pub fn message(&self) -> String {
        crate::cat!(self.what, " at line ", self.line, " column ", self.column)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for ParseError {}

/// Parses `text` as one JSON value (whitespace around it allowed).
pub fn parse(text: &str) -> Result<Json, ParseError> {
    Parser {
        text,
        i: 0,
        depth: 0,
        max_depth: MAX_DEPTH,
    }
    .document(true)
}

/// Checks that `text` is one JSON value, building nothing.
pub fn validate(text: &str) -> Result<(), ParseError> {
    validate_within(text, MAX_DEPTH)
}

/// [`validate`] with nesting at most `max_depth` deep (at most [`MAX_DEPTH`]).
pub(crate) fn validate_within(text: &str, max_depth: usize) -> Result<(), ParseError> {
    Parser {
        text,
        i: 0,
        depth: 0,
        max_depth: max_depth.min(MAX_DEPTH),
    }
    .document(false)
    .map(drop)
}

struct Parser<'a> {
    text: &'a str,
    i: usize,
    depth: usize,
    max_depth: usize,
}

impl Parser<'_> {
    /// The text from the current position (empty past its end). Slices are
    /// taken with `get`: the parser only stops on ASCII bytes, so they cannot
    /// fail, and the browser build then carries no string-slicing panic.
    fn rest(&self) -> &str {
        self.text.get(self.i..).unwrap_or_default()
    }

    fn slice(&self, start: usize) -> &str {
        self.text.get(start..self.i).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
        self.peek()
    }

    fn err<T>(&self, what: &'static str) -> Result<T, ParseError> {
        let before = &self.text.as_bytes()[..self.i.min(self.text.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + before.iter().rev().take_while(|&&b| b != b'\n').count();
        Err(ParseError { what, line, column })
    }

    fn document(mut self, build: bool) -> Result<Json, ParseError> {
        let v = self.value(build)?;
        if self.ws().is_some() {
            return self.err("trailing characters");
        }
        Ok(v)
    }

    fn value(&mut self, build: bool) -> Result<Json, ParseError> {
        let Some(c) = self.ws() else {
            return self.err("EOF while parsing a value");
        };
        match c {
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'"' => Ok(Json::String(self.string(build)?)),
            b'-' | b'0'..=b'9' => self.number(build),
            b'[' | b'{' => {
                self.depth += 1;
                if self.depth > self.max_depth {
                    return self.err(TOO_DEEP);
                }
                self.i += 1;
                let v = if c == b'[' {
                    self.array(build)
                } else {
                    self.object(build)
                };
                self.depth -= 1;
                v
            }
            _ => self.err("expected value"),
        }
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, ParseError> {
        if self.rest().starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            self.err("expected value")
        }
    }

    fn array(&mut self, build: bool) -> Result<Json, ParseError> {
        let mut items = Vec::new();
        if self.ws() == Some(b']') {
            self.i += 1;
            return Ok(Json::Array(items));
        }
        loop {
            let v = self.value(build)?;
            if build {
                items.push(v);
            }
            match self.ws() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                None => return self.err("EOF while parsing a list"),
                _ => return self.err("expected `,` or `]`"),
            }
        }
    }

    fn object(&mut self, build: bool) -> Result<Json, ParseError> {
        let mut members = Object::new();
        if self.ws() == Some(b'}') {
            self.i += 1;
            return Ok(Json::Object(members));
        }
        loop {
            match self.ws() {
                Some(b'"') => {}
                None => return self.err("EOF while parsing an object"),
                _ => return self.err("key must be a string"),
            }
            let key = self.string(build)?;
            if self.ws() != Some(b':') {
                return self.err("expected `:`");
            }
            self.i += 1;
            let v = self.value(build)?;
            if build {
                members.insert(key, v);
            }
            match self.ws() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(members));
                }
                None => return self.err("EOF while parsing an object"),
                _ => return self.err("expected `,` or `}`"),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self, build: bool) -> Result<Json, ParseError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.err("invalid number"),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        if !is_finite_number(self.slice(start)) {
            self.i = start;
            return self.err(NUMBER_OUT_OF_RANGE);
        }
        Ok(if build {
            Json::Number(Number(self.slice(start).to_string()))
        } else {
            Json::Null
        })
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut n = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return self.err("invalid escape"),
            };
            n = n * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(n)
    }

    /// Reads the string starting at the opening quote; empty unless `build`.
    fn string(&mut self, build: bool) -> Result<String, ParseError> {
        self.i += 1;
        let mut out = String::new();
        let mut start = self.i;
        loop {
            match self.peek() {
                None => return self.err("EOF while parsing a string"),
                Some(b'"') => {
                    if build {
                        out.push_str(self.slice(start));
                    }
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    if build {
                        out.push_str(self.slice(start));
                    }
                    self.i += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.rest().starts_with("\\u") {
                                    return self.err("lone leading surrogate in hex escape");
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return self.err("lone leading surrogate in hex escape");
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            self.i -= 1;
                            match char::from_u32(code) {
                                Some(c) => c,
                                None => return self.err("lone trailing surrogate in hex escape"),
                            }
                        }
                        _ => return self.err("invalid escape"),
                    };
                    if build {
                        out.push(c);
                    }
                    self.i += 1;
                    start = self.i;
                }
                Some(0..=0x1f) => {
                    return self
                        .err("control character (\\u0000-\\u001F) found while parsing a string")
                }
                Some(_) => self.i += 1,
            }
        }
    }
}

/// The digits of the smallest decimal that rounds to infinity as a 64-bit
/// float (2^1024 - 2^970, half an ulp above `f64::MAX`, 309 digits): a number
/// `0.d1d2... × 10^309` is finite when its digits are below these.
const OVERFLOW_DIGITS: &[u8] = b"179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

/// Whether `text`, a number in JSON's grammar, is finite once read as a
/// 64-bit float (what `serde_json`, JavaScript and most backends read it
/// as). Decided on the digits, without float code (none in the browser
/// build): tiny numbers round to zero, which every parser accepts.
fn is_finite_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let unsigned = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let e_at = unsigned
        .iter()
        .position(|b| matches!(b, b'e' | b'E'))
        .unwrap_or(unsigned.len());
    let (mantissa, exponent) = unsigned.split_at(e_at);
    let dot_at = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    let int_digits = dot_at as i64;
    let digits = || mantissa.iter().copied().filter(u8::is_ascii_digit);
    let Some(leading_zeros) = digits().position(|d| d != b'0') else {
        return true; // zero
    };
    // Saturated (a thousand-digit exponent must not overflow) past where the
    // digits could no longer move the scale below across the float's range:
    // they shift it by at most the text's length.
    let cap = bytes.len() as i64 + 400;
    let mut exp: i64 = 0;
    for &d in exponent.iter().filter(|b| b.is_ascii_digit()) {
        exp = (exp * 10 + i64::from(d - b'0')).min(cap);
    }
    if exponent.get(1) == Some(&b'-') {
        exp = -exp;
    }
    // The value is 0.d1d2... × 10^scale, d1 its first non-zero digit.
    let scale = int_digits - leading_zeros as i64 + exp;
    if scale != OVERFLOW_DIGITS.len() as i64 {
        return scale < OVERFLOW_DIGITS.len() as i64;
    }
    let mut significant = digits().skip(leading_zeros);
    for &limit in OVERFLOW_DIGITS {
        match significant.next() {
            // Shorter, or ends in zeros: below the limit, whose last digit is not 0.
            None => return true,
            Some(d) if d != limit => return d < limit,
            Some(_) => {}
        }
    }
    // Equal to the limit (ties round to infinity), or above it.
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_serde_json_writes_them() {
        for text in [
            r#"{"b":[1,-2.5e3,0.1,true,false,null],"a":{"z":"é\n\"\\😀","y":{}},"c":[]}"#,
            r#"  {"k" : "\u00e9\ud83d\ude00\/\b\f\r\t\u0001" , "n": -0}  "#,
            "\"plain\"",
            "123456789012345678901234567890",
            "[[[]]]",
        ] {
            let ours = parse(text).unwrap();
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            let back: serde_json::Value = serde_json::from_str(&ours.to_text()).unwrap();
            assert_eq!(back, theirs, "{text}");
            assert!(validate(text).is_ok());
        }
        // Without floats, the very same text (numbers as written otherwise).
        let text = r#"{"b":[1,-7,true,null],"a":{"z":"é\n\"\\😀\u0001","y":{}},"c":[]}"#;
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            parse(text).unwrap().to_text(),
            serde_json::to_string(&theirs).unwrap()
        );
        assert_eq!(parse(text).unwrap(), Json::from(&theirs));
    }

    #[test]
    fn invalid_text_is_refused_where_it_goes_wrong() {
        for (text, what, column) in [
            ("", "EOF while parsing a value", 1),
            ("{\"a\": NaN}", "expected value", 7),
            ("{\"a\": 1,}", "key must be a string", 9),
            ("{\"a\" 1}", "expected `:`", 6),
            ("[1 2]", "expected `,` or `]`", 4),
            ("{\"a\":1", "EOF while parsing an object", 7),
            ("01", "trailing characters", 2),
            ("1.", "invalid number", 3),
            ("-", "invalid number", 2),
            (
                "\"a\u{1}\"",
                "control character (\\u0000-\\u001F) found while parsing a string",
                3,
            ),
            ("\"\\x\"", "invalid escape", 3),
            ("\"\\ud800\"", "lone leading surrogate in hex escape", 8),
            ("\"\\udc00\"", "lone trailing surrogate in hex escape", 7),
            ("tru", "expected value", 1),
            ("{} {}", "trailing characters", 4),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!((e.what, e.line, e.column), (what, 1, column), "{text:?}");
            assert_eq!(validate(text).unwrap_err(), e);
            assert!(
                serde_json::from_str::<serde_json::Value>(text).is_err(),
                "serde_json agrees: {text:?}"
            );
        }
        let e = parse("{\n  \"a\": x}").unwrap_err();
        assert_eq!(e.to_string(), "expected value at line 2 column 8");
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&deep).unwrap_err().what, "recursion limit exceeded");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn objects_keep_keys_sorted_and_unique() {
        let mut o = Object::new();
        o.insert("b".into(), 1u64.into());
        o.insert("a".into(), "x".into());
        assert_eq!(o.insert("b".into(), true.into()), Some(Json::from(1u64)));
        assert_eq!(o.to_text(), r#"{"a":"x","b":true}"#);
        assert_eq!(
            parse(r#"{"k":1,"k":2}"#).unwrap()["k"].as_u64(),
            Some(2),
            "the last duplicate wins"
        );
        assert_eq!(o.remove("a"), Some(Json::from("x")));
        assert!(o["a"].is_null() && o["b"] == true && !o.contains_key("a"));
    }

    #[test]
    fn numbers_are_kept_as_written() {
        let v = parse("[18446744073709551615, -9223372036854775808, 1.5, 1e3, 1.0]").unwrap();
        let Json::Array(a) = &v else { panic!("{v}") };
        assert_eq!(a[0].as_u64(), Some(u64::MAX));
        assert_eq!(a[1].as_i64(), Some(i64::MIN));
        assert_eq!(
            (a[2].as_u64(), a[3].as_u64(), a[4].as_u64()),
            (None, None, None),
            "whole numbers only"
        );
        assert_eq!(
            v.to_text(),
            "[18446744073709551615,-9223372036854775808,1.5,1e3,1.0]"
        );
    }

    #[test]
    fn numbers_a_float_cannot_hold_are_refused_as_serde_json_refuses_them() {
        let max = "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368";
        let limit = core::str::from_utf8(OVERFLOW_DIGITS).unwrap();
        let just_below = format!("{}1", &limit[..limit.len() - 1]);
        for (text, finite) in [
            ("1e999", false),
            ("-1e999", false),
            ("1E+309", false),
            ("1e308", true),
            ("1.7976931348623157e308", true),
            ("1.7976931348623159e308", false),
            ("0.00017976931348623157e312", true),
            ("17976931348623157e292", true),
            ("1e-999", true),
            ("0e99999", true),
            ("-0.0e999999999999999999999", true),
            ("123456789012345678901234567890", true),
            ("1e99999999999999999999999", false),
            (max, true),
            (limit, false),
            (&just_below, true),
            (&format!("{max}0"), false),
            (&format!("0.{max}e309"), true),
            (&"9".repeat(400), false),
        ] {
            assert_eq!(is_finite_number(text), finite, "{text}");
            // serde_json agrees away from the boundary (within a few units
            // of the last place of f64::MAX, it refuses some finite numbers
            // that correctly rounding parsers, Go's and JavaScript's, take).
            if text.len() < 300 {
                let theirs = serde_json::from_str::<serde_json::Value>(text);
                assert_eq!(
                    theirs.is_ok(),
                    finite,
                    "serde_json agrees on {text}: {theirs:?}"
                );
            }
            let doc = format!("{{\"n\": {text}}}");
            match validate(&doc) {
                Ok(()) => assert!(finite, "{text}"),
                Err(e) => {
                    assert!(!finite, "{text}: {e}");
                    assert_eq!((e.what, e.column), (NUMBER_OUT_OF_RANGE, 7));
                }
            }
        }
    }

    #[test]
    fn raw_objects_are_one_object() {
        assert_eq!(RawJson::object(" {\"a\":1} \n").unwrap().get(), "{\"a\":1}");
        for (text, kind) in [
            ("[1]", "an array"),
            ("42", "a number"),
            ("\"s\"", "a string"),
            ("true", "a boolean"),
            ("null", "null"),
        ] {
            assert_eq!(RawJson::object(text).unwrap_err(), Ok(kind), "{text}");
        }
        assert!(matches!(RawJson::object("{"), Err(Err(_))));
    }
}
