//! What is read back from a corrupt buffer file before it is given up, and
//! how many of its queued events are counted lost.
//!
//! A file cut short (a truncated copy, a failed restore) or with some bad
//! pages still holds readable events. The moved-aside copy is opened
//! read-only and each table is read in rowid order; where a read fails, the
//! next readable row is found by probing further and further ahead (1, 2, 4,
//! ... rows) and then halving back, so one bad page costs a few reads and
//! the readable rows after it are kept. Events keep their sequence number,
//! message id, body and recording time, so they are sent in their original
//! order and a retry carries the same `messageId`; a row that keeps only its
//! head is made whole with its shared tail (`commons.rs`), when that could be
//! read. A row read from a page cut
//! in the middle may be garbage that SQLite does not notice; an event is
//! kept only if its body is a JSON object of the recorded size carrying its
//! message id.
//!
//! The loss is an estimate, since what could not be read cannot be counted:
//! the sequence numbers in the ranges that had to be skipped, and those after
//! the last readable event up to the file's last sequence number (from
//! `sqlite_sequence`, when that is readable). Sequence numbers are handed
//! out one per event, so this is exact unless events were dropped from the
//! middle of the queue before (a cap that skipped an upload in flight),
//! which it would count again; rows before the delivery cursor are never
//! counted. Events are read through the `events` view, which since schema
//! 3 merges two tables in `seq` order.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, Row};

use super::commons::read_tails;
use super::{compact, StoredEvent};

/// What could be read from a corrupt file.
#[derive(Debug, Default)]
pub(super) struct Salvaged {
    /// Readable queued events, in sequence order.
    pub events: Vec<StoredEvent>,
    /// Readable state rows (identity, consent, session, drop counts).
    pub state: Vec<(String, String)>,
    /// Readable delivery cursors.
    pub acked: HashMap<String, u64>,
    /// The highest sequence number the file had handed out, as far as known.
    pub last_seq: u64,
    /// Queued events that could not be read (see the module doc).
    pub lost: u64,
    /// Why nothing at all could be read, if so.
    pub unreadable: Option<String>,
}

/// Reads what it can from the (moved-aside) file at `path`; never fails.
pub(super) fn salvage(path: &Path) -> Salvaged {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(path, flags) {
        Ok(c) => c,
        Err(e) => {
            return Salvaged {
                unreadable: Some(e.to_string()),
                ..Salvaged::default()
            }
        }
    };
    // A file shorter than its header says is refused as a whole otherwise;
    // with this SQLite reads the pages that are there (and cannot write:
    // the connection is read-only).
    let _ = conn.execute_batch("PRAGMA writable_schema=ON");
    let mut out = Salvaged::default();
    if let Ok(mut stmt) = conn.prepare("SELECT name, acked_through FROM destinations") {
        if let Ok(rows) = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        {
            for (name, acked) in rows.flatten() {
                out.acked.insert(name, acked.max(0) as u64);
            }
        }
    }
    let cursor = out.acked.values().copied().min().unwrap_or(0);
    // One table before schema 3, two since (the `events` view reads both).
    let last_seq = conn
        .query_row(
            "SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('events', 'events_a', 'events_b')",
            [],
            |r| r.get::<_, Option<i64>>(0),
        )
        .ok()
        .flatten()
        .map(|s| s.max(0) as u64);
    // Rows that share a tail (schema 2) are whole again only with it; a
    // file of schema 1 has no `common` column.
    let commons = read_tails(&conn);
    let sql = match commons {
        Some(_) => "SELECT seq, message_id, created_ms, body, bytes, common FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1000",
        None => "SELECT seq, message_id, created_ms, body, bytes, NULL FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1000",
    };
    let commons = commons.unwrap_or_default();
    let events = read_skipping(
        &conn,
        sql,
        cursor,
        last_seq,
        |r| {
            let mut e = StoredEvent {
                seq: r.get::<_, i64>(0)? as u64,
                message_id: r.get(1)?,
                created_ms: r.get(2)?,
                json: r.get(3)?,
            };
            let bytes: i64 = r.get(4)?;
            if let Some(id) = r.get::<_, Option<i64>>(5)? {
                // A tail that could not be read leaves the head alone,
                // which `whole` refuses.
                if let Some(tail) = commons.get(&id) {
                    compact::join(
                        &mut e.json,
                        &e.message_id,
                        e.created_ms,
                        tail,
                        &mut String::new(),
                    );
                }
            }
            if whole(&e, bytes) {
                Ok(e)
            } else {
                Err(rusqlite::Error::FromSqlConversionFailure(
                    3,
                    rusqlite::types::Type::Text,
                    "the event's body does not hold together".into(),
                ))
            }
        },
        |e| e.seq,
    );
    out.events = events.rows;
    out.lost = events.skipped;
    out.last_seq = last_seq
        .unwrap_or(0)
        .max(out.events.last().map_or(0, |e| e.seq));
    let state = read_skipping(
        &conn,
        "SELECT rowid, key, value FROM state WHERE rowid > ?1 ORDER BY rowid LIMIT 1000",
        0,
        None,
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)),
        |s: &(u64, String, String)| s.0,
    );
    out.state = state.rows.into_iter().map(|(_, k, v)| (k, v)).collect();
    if out.events.is_empty() && out.state.is_empty() && out.acked.is_empty() {
        out.unreadable = events.first_error;
    }
    out
}

/// Whether a row read from a damaged page is the event that was written:
/// a page cut in the middle can yield rows SQLite does not notice are
/// broken. The body must be a JSON object of the recorded size carrying the
/// row's message id, so what is sent again is exactly what was recorded.
fn whole(e: &StoredEvent, bytes: i64) -> bool {
    if bytes != e.json.len() as i64 || e.message_id.is_empty() {
        return false;
    }
    match serde_json::from_str::<serde_json::Value>(&e.json) {
        Ok(v) => v.get("messageId").and_then(|m| m.as_str()) == Some(e.message_id.as_str()),
        Err(_) => false,
    }
}

/// Rows read past the unreadable parts, and how many keys were skipped.
struct Read<T> {
    rows: Vec<T>,
    skipped: u64,
    first_error: Option<String>,
}

/// Reads the rows of `sql` (which takes the key to read after as `?1`, in
/// key order, a page at a time) after `start`, skipping keys that cannot be
/// read. `upper` is the highest key the table can hold, when known: keys
/// after the last readable row up to it count as skipped.
fn read_skipping<T>(
    conn: &Connection,
    sql: &str,
    start: u64,
    upper: Option<u64>,
    row: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    key: impl Fn(&T) -> u64,
) -> Read<T> {
    let mut out = Read {
        rows: Vec::new(),
        skipped: 0,
        first_error: None,
    };
    // A probe: whether the first row after `k` can be read (or there is none).
    let readable_after = |k: u64| -> bool { first_after(conn, sql, k, &row).is_ok() };
    let mut after = start;
    loop {
        match page_after(conn, sql, after, &row, &mut out.rows) {
            Ok(true) => {
                after = out.rows.last().map_or(after, &key);
                continue;
            }
            Ok(false) => break,
            Err(e) => {
                after = out.rows.last().map_or(after, &key).max(after);
                out.first_error.get_or_insert(e.to_string());
            }
        }
        // Find a step after which reading works again: double, then halve back.
        let limit = upper.map_or(u64::MAX >> 2, |u| u.saturating_sub(after));
        let mut step = 1u64;
        while step < limit && !readable_after(after + step) {
            step = step.saturating_mul(2);
        }
        if step >= limit {
            // Nothing readable up to the last key: the rest is lost.
            if upper.is_some() {
                out.skipped += limit;
            }
            break;
        }
        let (mut bad, mut good) = (step / 2, step);
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2;
            if readable_after(after + mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        out.skipped += good;
        after += good;
    }
    out
}

/// Reads up to a page of rows after `after` into `rows`: `Ok(true)` if there
/// may be more, `Ok(false)` at the end, `Err` at the first row that failed
/// (rows before it are kept).
fn page_after<T>(
    conn: &Connection,
    sql: &str,
    after: u64,
    row: &impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    rows: &mut Vec<T>,
) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut cursor = stmt.query(params![after as i64])?;
    let mut n = 0;
    while let Some(r) = cursor.next()? {
        rows.push(row(r)?);
        n += 1;
    }
    Ok(n > 0)
}

fn first_after<T>(
    conn: &Connection,
    sql: &str,
    after: u64,
    row: &impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut cursor = stmt.query(params![after as i64])?;
    cursor.next()?.map(row).transpose()
}
