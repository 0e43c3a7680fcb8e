//! The message id `cairn send` gives a line that has none: decides how such
//! an event is named so that a re-run of the same file names it the same,
//! and the backend can drop a copy of it as a duplicate.
//!
//! The id is the UUID v5 of `PATH\nLINE\nTEXT` in the namespace
//! `uuid5(NAMESPACE_URL, "cairn:send")`: PATH is the input file's absolute
//! path with symbolic links resolved (`-` for standard input), LINE its
//! 1-based line number (blank lines count), TEXT the line without its line
//! ending. In Python:
//! `uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "cairn:send"), f"{path}\n{line}\n{text}")`.
//! An edited line is a new event with a new id; a moved or renamed file
//! gives new ids too (its path changed).

use std::path::{Path, PathBuf};

use serde_json::Value;
use uuid::Uuid;

/// Where the lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file, by its absolute path with symbolic links resolved.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

impl Source {
    /// The file at `path`, made absolute.
    pub fn file(path: &Path) -> std::io::Result<Source> {
        std::fs::canonicalize(path).map(Source::File)
    }

    /// The name ids are derived from and messages show: the absolute path, or `-`.
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => p.to_string_lossy().into_owned(),
            Source::Stdin => "-".to_string(),
        }
    }
}

/// The namespace of every derived id: `uuid5(NAMESPACE_URL, "cairn:send")`.
pub fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"cairn:send")
}

/// Names the lines of one source.
#[derive(Debug, Clone)]
pub struct LineIds {
    namespace: Uuid,
    source: String,
}

impl LineIds {
    /// Ids for the lines of `source`.
    pub fn new(source: &Source) -> LineIds {
        LineIds {
            namespace: namespace(),
            source: source.name(),
        }
    }

    /// The id of line `number` (1-based), whose text is `text`.
    pub fn derive(&self, number: u64, text: &str) -> String {
        let name = format!("{}\n{number}\n{text}", self.source);
        Uuid::new_v5(&self.namespace, name.as_bytes()).to_string()
    }

    /// Gives `event` the derived id when it has no `messageId` of its own
    /// (none, `null` or blank, as cairn would then draw a random one), and
    /// returns the id it now carries. A `messageId` that is not a string is
    /// left for cairn to refuse with its own words.
    pub fn ensure(&self, event: &mut Value, number: u64, text: &str) -> Option<String> {
        let object = event.as_object_mut()?;
        match object.get("messageId") {
            Some(Value::String(id)) if !id.trim().is_empty() => Some(id.clone()),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                let id = self.derive(number, text);
                object.insert("messageId".into(), Value::String(id.clone()));
                Some(id)
            }
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derived_ids_are_the_documented_uuid5() {
        // Python: uuid.uuid5(uuid.NAMESPACE_URL, "cairn:send")
        assert_eq!(
            namespace().to_string(),
            "7fd40ec9-a1e1-5e74-94cd-7ff932f5e115"
        );
        let ids = LineIds::new(&Source::File("/data/events.ndjson".into()));
        // Python: uuid.uuid5(ns, "/data/events.ndjson\n7\n{\"type\":\"track\"}")
        assert_eq!(
            ids.derive(7, r#"{"type":"track"}"#),
            "59eda06e-748e-5cb2-a7b0-eb4902c88cf8"
        );
        assert_ne!(ids.derive(7, "a"), ids.derive(8, "a"));
        assert_ne!(
            ids.derive(7, "a"),
            LineIds::new(&Source::Stdin).derive(7, "a")
        );
    }

    #[test]
    fn only_events_without_an_id_get_one() {
        let ids = LineIds::new(&Source::Stdin);
        let mut own = json!({"type": "track", "messageId": "m-1"});
        assert_eq!(ids.ensure(&mut own, 1, "x").as_deref(), Some("m-1"));
        for mut e in [
            json!({"type": "track"}),
            json!({"type": "track", "messageId": null}),
            json!({"type": "track", "messageId": " "}),
        ] {
            let id = ids.ensure(&mut e, 3, "t");
            assert_eq!(id, Some(ids.derive(3, "t")));
            assert_eq!(e["messageId"], json!(ids.derive(3, "t")));
        }
        let mut bad = json!({"type": "track", "messageId": 5});
        assert_eq!(ids.ensure(&mut bad, 1, "x"), None);
        assert_eq!(bad["messageId"], json!(5));
        assert_eq!(ids.ensure(&mut json!([1]), 1, "x"), None);
    }
}
