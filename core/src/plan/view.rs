//! A call's properties or traits read for checking, borrowed from their
//! JSON text: strings without escapes and numbers are slices of the text,
//! so judging an event costs one small allocation per object or array, not
//! one per value as a [`Json`] tree would (the plan's cost on `track` is
//! budgeted, see core/benches/plan.rs).
//!
//! It decides only how text becomes a [`View`]: members of an object are
//! kept sorted by key, the last of duplicate keys winning (as
//! [`crate::json::Object`] does, so violations come in the same order
//! whichever way a payload arrived). The text it reads was checked as JSON
//! when the call was made; anything unexpected makes it give up (`None`),
//! never panic.

use crate::prelude::*;

use alloc::borrow::Cow;

use crate::json::Json;

/// A JSON value borrowed from text (or from a [`Json`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum View<'a> {
    Null,
    Bool(bool),
    /// The number's text.
    Number(&'a str),
    Str(Cow<'a, str>),
    Array(Vec<View<'a>>),
    /// Sorted by key, keys unique.
    Object(Vec<(Cow<'a, str>, View<'a>)>),
}

impl<'a> View<'a> {
    /// Reads JSON text already known to be valid.
    pub(crate) fn parse(text: &'a str) -> Option<View<'a>> {
        let mut r = Reader::new(text);
        let v = r.value(0)?;
        r.ws();
        (r.i == text.len()).then_some(v)
    }

    /// A view of a [`Json`] value.
    pub(crate) fn of(v: &'a Json) -> View<'a> {
        match v {
            Json::Null => View::Null,
            Json::Bool(b) => View::Bool(*b),
            Json::Number(n) => View::Number(n.as_str()),
            Json::String(s) => View::Str(Cow::Borrowed(s)),
            Json::Array(a) => View::Array(a.iter().map(View::of).collect()),
            // Already sorted and unique.
            Json::Object(o) => View::of_object(o),
        }
    }

    /// A view of an object.
    pub(crate) fn of_object(o: &'a crate::json::Object) -> View<'a> {
        View::Object(
            o.iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), View::of(v)))
                .collect(),
        )
    }

    /// The member `key` of an object's members.
    pub(crate) fn member<'m>(
        members: &'m [(Cow<'a, str>, View<'a>)],
        key: &str,
    ) -> Option<&'m View<'a>> {
        members
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .and_then(|i| members.get(i))
            .map(|(_, v)| v)
    }
}

/// Deepest nesting read; the calls' payloads are held to less.
pub(super) const MAX_DEPTH: usize = crate::json::MAX_DEPTH + 1;

/// Reads JSON text known to be valid, value by value (also for
/// `plan::walk`, which checks as it reads).
pub(super) struct Reader<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Reader { text, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    /// Skips white space; the next byte, if any.
    pub(super) fn ws(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
        self.peek()
    }

    /// Steps over the byte [`ws`](Self::ws) showed.
    pub(super) fn bump(&mut self) {
        self.i += 1;
    }

    /// True once the text is read to its end (but for white space).
    pub(super) fn at_end(&mut self) -> bool {
        self.ws().is_none()
    }

    pub(super) fn eat(&mut self, c: u8) -> Option<()> {
        (self.ws()? == c).then(|| self.i += 1)
    }

    /// Reads past one value without keeping it.
    pub(super) fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let close = match self.ws()? {
            b'{' => b'}',
            b'[' => b']',
            _ => return self.value(depth).map(drop),
        };
        self.i += 1;
        if self.ws()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            if close == b'}' {
                if self.ws()? != b'"' {
                    return None;
                }
                self.string()?;
                self.eat(b':')?;
            }
            self.skip(depth + 1)?;
            match self.ws()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    pub(super) fn value(&mut self, depth: usize) -> Option<View<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.ws()? {
            b'n' => self.word("null", View::Null),
            b't' => self.word("true", View::Bool(true)),
            b'f' => self.word("false", View::Bool(false)),
            b'"' => self.string().map(View::Str),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                let rest = self.text.as_bytes().get(start..)?;
                let len = rest
                    .iter()
                    .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .unwrap_or(rest.len());
                self.i += len;
                self.text.get(start..self.i).map(View::Number)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if self.ws()? == b']' {
                    self.i += 1;
                    return Some(View::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    match self.ws()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(View::Array(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.i += 1;
                // One allocation for the usual payload (a handful of members).
                let mut members: Vec<(Cow<'a, str>, View<'a>)> = Vec::with_capacity(8);
                if self.ws()? == b'}' {
                    self.i += 1;
                    return Some(View::Object(members));
                }
                loop {
                    if self.ws()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    self.eat(b':')?;
                    let v = self.value(depth + 1)?;
                    // serde_json writes keys sorted: appending is the usual case.
                    if members
                        .last()
                        .is_none_or(|(last, _)| last.as_ref() < key.as_ref())
                    {
                        members.push((key, v));
                    } else {
                        match members.binary_search_by(|(k, _)| k.as_ref().cmp(key.as_ref())) {
                            Ok(at) => {
                                if let Some(m) = members.get_mut(at) {
                                    m.1 = v;
                                }
                            }
                            Err(at) => members.insert(at, (key, v)),
                        }
                    }
                    match self.ws()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(View::Object(members));
                        }
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    fn word(&mut self, w: &str, v: View<'a>) -> Option<View<'a>> {
        let end = self.i + w.len();
        (self.text.get(self.i..end)? == w).then(|| {
            self.i = end;
            v
        })
    }

    /// The string starting at the current `"`, unescaped only if it must be.
    pub(super) fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        let rest = self.text.as_bytes().get(start..)?;
        let len = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
        self.i += len;
        if rest.get(len) == Some(&b'\\') {
            return self.escaped(start).map(Cow::Owned);
        }
        let s = self.text.get(start..self.i)?;
        self.i += 1;
        Some(Cow::Borrowed(s))
    }

    fn escaped(&mut self, start: usize) -> Option<String> {
        let mut out = String::from(self.text.get(start..self.i)?);
        loop {
            let rest = self.text.get(self.i..)?;
            let c = rest.chars().next()?;
            self.i += c.len_utf8();
            match c {
                '"' => return Some(out),
                '\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                // A pair: the validated text has its low half next.
                                if self.text.get(self.i..self.i + 2)? != "\\u" {
                                    return None;
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code)?);
                        }
                        _ => return None,
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.i..self.i + 4)?;
        self.i += 4;
        digits
            .chars()
            .try_fold(0u32, |acc, c| Some(acc * 16 + c.to_digit(16)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_json_parser_reads() {
        for text in [
            r#"{"b": 1, "a": [true, false, null, -1.5e3], "c": {"d": "x\"y\\u00e9\ud83d\ude00\n"}}"#,
            r#"{"k": 1, "k": 2, "a": {}}"#,
            r#"[]"#,
            r#"  "plain"  "#,
            r#"{"": ""}"#,
        ] {
            let json = crate::json::parse(text).unwrap();
            assert_eq!(View::parse(text), Some(View::of(&json)), "{text}");
        }
        for bad in ["", "{", "[1,", r#"{"a" 1}"#, "nul", r#""\x""#, "{} x"] {
            assert_eq!(View::parse(bad), None, "{bad}");
        }
    }
}
