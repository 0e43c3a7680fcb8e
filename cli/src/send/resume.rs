//! Where an interrupted `cairn send` stopped, so that running it again takes
//! each line once.
//!
//! This module decides what is remembered and where: a progress file beside
//! the buffer (`FILE.send-progress`) holding the input's name, the last line
//! whose event is committed to the buffer, and a digest of every line up to
//! it. The sender writes it after each commit of the buffer; a re-run skips
//! the lines it covers (their events are in the buffer or delivered), after
//! checking by the digest that the input is the same. Each event carries its
//! line's progress into the buffer too ([`marked`], committed in the same
//! transaction as the event): when a run stopped between a commit and its
//! note, a re-run goes on after the last line committed. Lines past both
//! whose message id is already queued in the buffer are skipped too.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SendError;

/// What the progress file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The input's name: its absolute path, or `-` for standard input.
    pub source: String,
    /// The last line (1-based, blank lines counted) whose event is committed.
    pub through_line: u64,
    /// [`Digest`] of lines 1 to `through_line`.
    pub digest: String,
}

/// The progress file of the buffer file `storage`.
pub fn progress_path(storage: &Path) -> PathBuf {
    let mut p = storage.as_os_str().to_owned();
    p.push(".send-progress");
    PathBuf::from(p)
}

/// Reads the progress file, if there is one.
pub fn load(path: &Path) -> Result<Option<Progress>, SendError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SendError::Progress(path.to_path_buf(), e.to_string())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| SendError::Progress(path.to_path_buf(), e.to_string()))
}

/// Writes the progress file whole (a new file renamed over the old one), so
/// a kill leaves the old note or the new one, never half of one.
pub fn save(path: &Path, progress: &Progress) -> Result<(), SendError> {
    let fail = |e: std::io::Error| SendError::Progress(path.to_path_buf(), e.to_string());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let text = serde_json::to_string(progress)
        .map_err(|e| SendError::Progress(path.to_path_buf(), e.to_string()))?;
    std::fs::write(&tmp, text + "\n").map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// A running digest of lines: each line's text hashed into the previous
/// digest (UUID v5, the hash derived ids use), so two inputs agree up to a
/// line exactly when their digests there are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest(Uuid);

impl Digest {
    /// The digest of no line.
    pub fn new() -> Digest {
        Digest(super::line_id::namespace())
    }

    /// Takes in the next line's text (without its line ending).
    pub fn push(&mut self, text: &str) {
        self.0 = Uuid::new_v5(&self.0, text.as_bytes());
    }

    /// As the progress file writes it.
    pub fn text(&self) -> String {
        self.0.to_string()
    }
}

impl Default for Digest {
    fn default() -> Self {
        Digest::new()
    }
}

/// The progress the last event committed to the buffer file `storage`
/// carries (`Client::enqueue_marked`, in the same transaction as the event):
/// past the progress file's note when a run was stopped between a commit and
/// its note. `None` when there is none or it cannot be read.
pub fn marked(storage: &Path) -> Option<Progress> {
    let text: String = open_read_only(storage)
        .ok()?
        .query_row(
            "SELECT value FROM state WHERE key = ?1",
            [cairn::MARK_STATE_KEY],
            |r| r.get(0),
        )
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// The message ids of the events queued in the buffer file `storage` (none
/// when it does not exist yet), read before a client opens it.
///
/// Reads the `events` view of cairn's schema read-only, after the lowest
/// delivery cursor (delivered rows may wait before it): `cairn::store`
/// offers no list of queued ids without parsing every event, which for a
/// full buffer (100,000 events) would cost hundreds of MB here.
pub fn queued_message_ids(storage: &Path) -> HashSet<String> {
    let read = || -> rusqlite::Result<HashSet<String>> {
        let conn = open_read_only(storage)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT message_id FROM events WHERE seq > {}",
            cairn::store::LOWEST_CURSOR
        ))?;
        let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
        ids.collect()
    };
    // A file cairn cannot read is cairn's to repair or refuse when the
    // client opens it; here it only means no id is known to be queued.
    read().unwrap_or_default()
}

/// The buffer file, read-only, before a client opens it; an error when it
/// does not exist (read-only opening never creates it).
fn open_read_only(storage: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        storage,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_survives_a_round_trip_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = progress_path(&dir.path().join("send.db"));
        assert!(path.ends_with("send.db.send-progress"));
        assert_eq!(load(&path).unwrap(), None);
        let mut d = Digest::new();
        d.push("a");
        let p = Progress {
            source: "-".into(),
            through_line: 1,
            digest: d.text(),
        };
        save(&path, &p).unwrap();
        assert_eq!(load(&path).unwrap(), Some(p.clone()));
        let later = Progress {
            through_line: 2,
            ..p
        };
        save(&path, &later).unwrap();
        assert_eq!(load(&path).unwrap(), Some(later));
        std::fs::write(&path, "{").unwrap();
        assert!(load(&path).is_err());
    }

    #[test]
    fn digests_differ_when_any_line_does() {
        let of = |lines: &[&str]| {
            let mut d = Digest::new();
            lines.iter().for_each(|l| d.push(l));
            d
        };
        assert_eq!(of(&["a", "b"]), of(&["a", "b"]));
        assert_ne!(of(&["a", "b"]), of(&["a", "c"]));
        assert_ne!(of(&["ab"]), of(&["a", "b"]));
        assert_ne!(of(&[""]), of(&[]));
    }
}
