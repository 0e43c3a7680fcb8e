//! Read-only inspection of a buffer file, for `cairn inspect`: what is queued,
//! the persisted state (identity, consent, session, drop counts, delivery
//! condition) and the file's health.
//!
//! It opens the file read-only and never writes to it, so it is safe on a
//! file a killed app left behind (its WAL is read, not checkpointed) and next
//! to a running app. Rendering is the CLI's job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};
use serde::Serialize;
use serde_json::Value;

use super::{StoreError, LOWEST_CURSOR};

/// What a buffer file holds.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The file inspected.
    pub path: PathBuf,
    /// Size of the database file, in bytes.
    pub file_bytes: u64,
    /// Size of its write-ahead log (`-wal`), in bytes; committed events may
    /// live there until the next checkpoint.
    pub wal_bytes: u64,
    /// `PRAGMA user_version`.
    pub schema_version: i64,
    /// `ok`, or the first problem `PRAGMA quick_check` found.
    pub integrity: String,
    /// True when a running process holds the file (its lock file is locked).
    pub in_use: bool,
    /// Events queued (not yet delivered or dropped).
    pub queued_events: u64,
    /// Their size in bytes.
    pub queued_bytes: u64,
    /// Delivered events still in the file: since schema 3 a table's
    /// delivered rows wait at its front until the whole table is
    /// delivered, then go at once. They are never sent again.
    pub delivered_waiting_events: u64,
    /// Recording time of the oldest queued event.
    pub oldest_created_ms: Option<i64>,
    /// Recording time of the newest queued event.
    pub newest_created_ms: Option<i64>,
    /// Delivery cursor per destination: everything up to it is done.
    pub cursors: BTreeMap<String, u64>,
    /// Each destination with a cursor in the file, when there are several.
    pub destinations: Vec<DestinationReport>,
    /// Persisted state by key (`identity`, `consent`, `session`, `dropped`, `delivery`).
    pub state: BTreeMap<String, Value>,
    /// The first queued events, oldest first.
    pub events: Vec<Value>,
    /// The anonymous id in the mirror file beside the database.
    pub mirrored_anonymous_id: Option<String>,
    /// Corrupt files moved aside next to this one.
    pub moved_aside: Vec<PathBuf>,
}

/// One destination of a buffer file shared by several.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationReport {
    /// Its name.
    pub name: String,
    /// Its cursor: every event up to it is done for it.
    pub cursor: u64,
    /// Events past its cursor (to deliver, or to pass over by its routing).
    pub queued_events: u64,
    /// Their bytes.
    pub queued_bytes: u64,
    /// Its delivery condition (failures, next retry, last error), as the
    /// engine persisted it (state `delivery:<name>`; `delivery` for `default`).
    pub delivery: Value,
    /// Its drops by reason (state `dropped:<name>`), if any were counted.
    pub dropped: Value,
}

/// The state key of a destination's delivery condition.
pub fn delivery_key(name: &str) -> String {
    if name == super::DEFAULT_DESTINATION {
        crate::stats::DELIVERY_STATE_KEY.to_string()
    } else {
        format!("{}:{name}", crate::stats::DELIVERY_STATE_KEY)
    }
}

/// Inspects the buffer file at `path`, listing up to `list_events` queued events.
pub fn inspect(path: &Path, list_events: usize) -> Result<Inspection, StoreError> {
    // A path no client could use (a directory, a device...) is named as
    // `build()` names it.
    crate::runtime::check_storage_path(path).map_err(|e| StoreError::Other(e.to_string()))?;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() > 0 => {}
        // SQLite reads an empty file as an empty database, which would be
        // reported as one without cairn's tables.
        Ok(m) if m.is_file() => {
            return Err(StoreError::Other(format!(
                "{} is empty (0 bytes): no cairn client has written it; give the storage_path the app uses",
                path.display()
            )))
        }
        _ => {
            return Err(StoreError::Other(format!(
                "no buffer file at {}: give the storage_path the app uses",
                path.display()
            )))
        }
    }
    let side = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Other(format!("cannot open {} read-only: {e}", path.display())))?;
    let bad = |e: rusqlite::Error| {
        StoreError::Corrupt(format!(
            "{} is not a readable cairn buffer: {e}",
            path.display()
        ))
    };
    // One read transaction for every read below: a running app's commits
    // land between them otherwise, and a row could name a shared tail
    // (`commons`) written after the tails were read.
    conn.execute_batch("BEGIN").map_err(bad)?;
    let schema_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(bad)?;
    let integrity: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .unwrap_or_else(|e| e.to_string());
    // Delivered rows may wait at the front of their table to be freed with
    // it (schema 3): the queue is what comes after the lowest cursor.
    let lowest: i64 = conn
        .query_row(&format!("SELECT {LOWEST_CURSOR}"), [], |r| r.get(0))
        .map_err(bad)?;
    let (queued_events, queued_bytes, oldest, newest): (i64, i64, Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0), MIN(created_ms), MAX(created_ms) FROM events WHERE seq > ?1",
            [lowest],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(bad)?;
    let delivered_waiting: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM events WHERE seq <= ?1",
            [lowest],
            |r| r.get(0),
        )
        .map_err(bad)?;
    let mut cursors = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT name, acked_through FROM destinations")
            .map_err(bad)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(bad)?;
        for row in rows {
            let (name, seq) = row.map_err(bad)?;
            cursors.insert(name, seq);
        }
    }
    let mut state = BTreeMap::new();
    {
        let mut stmt = conn.prepare("SELECT key, value FROM state").map_err(bad)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(bad)?;
        for row in rows {
            let (k, v) = row.map_err(bad)?;
            state.insert(k, serde_json::from_str(&v).unwrap_or(Value::String(v)));
        }
    }
    let mut destinations = Vec::new();
    if cursors.len() > 1 {
        for (name, cursor) in &cursors {
            let (n, b): (i64, i64) = conn
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events WHERE seq > ?1",
                    params![*cursor as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(bad)?;
            destinations.push(DestinationReport {
                name: name.clone(),
                cursor: *cursor,
                queued_events: n as u64,
                queued_bytes: b as u64,
                delivery: state
                    .get(&delivery_key(name))
                    .cloned()
                    .unwrap_or(Value::Null),
                dropped: state
                    .get(&format!("{}:{name}", crate::stats::DROPS_STATE_KEY))
                    .cloned()
                    .unwrap_or(Value::Null),
            });
        }
    }
    let mut events = Vec::new();
    {
        // Rows that keep only their head are shown whole (schema 2).
        let tails = super::commons::read_tails(&conn);
        let sql = match tails {
            Some(_) => {
                "SELECT seq, message_id, created_ms, body, common FROM events WHERE seq > ?2 ORDER BY seq LIMIT ?1"
            }
            None => {
                "SELECT seq, message_id, created_ms, body, NULL FROM events WHERE seq > ?2 ORDER BY seq LIMIT ?1"
            }
        };
        let tails = tails.unwrap_or_default();
        let mut stmt = conn.prepare(sql).map_err(bad)?;
        let rows = stmt
            .query_map(params![list_events as i64, lowest], |r| {
                let (seq, id, created_ms, mut body) = (
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                );
                if let Some(tail) = r.get::<_, Option<i64>>(4)?.and_then(|c| tails.get(&c)) {
                    super::compact::join(&mut body, &id, created_ms, tail, &mut String::new());
                }
                Ok((seq, body))
            })
            .map_err(bad)?;
        for row in rows {
            let (seq, body) = row.map_err(bad)?;
            let mut v: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
            if let Value::Object(m) = &mut v {
                m.insert("_seq".into(), Value::from(seq));
            }
            events.push(v);
        }
    }
    let moved_aside = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let prefix = format!("{}.corrupt-", name.to_string_lossy());
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            found.retain(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                n.starts_with(&prefix) && !n.ends_with("-wal") && !n.ends_with("-shm")
            });
            found.sort();
            found
        }
        _ => Vec::new(),
    };
    Ok(Inspection {
        path: path.to_path_buf(),
        file_bytes: size(path),
        wal_bytes: size(&side("-wal")),
        schema_version,
        integrity,
        in_use: lock_is_held(&side(".lock")),
        queued_events: queued_events as u64,
        queued_bytes: queued_bytes as u64,
        delivered_waiting_events: delivered_waiting as u64,
        oldest_created_ms: oldest,
        newest_created_ms: newest,
        cursors,
        destinations,
        state,
        events,
        mirrored_anonymous_id: std::fs::read_to_string(side(".anonymous-id"))
            .ok()
            .map(|s| s.trim().to_string()),
        moved_aside,
    })
}

/// Whether another process holds the client's lock on this file.
fn lock_is_held(lock: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().read(true).open(lock) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            // Taken only to test it; let go at once.
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}
