//! The tails events share in the SQLite file (see [`super::compact`]): each
//! kept once in the `commons` table, and the rows that have it store only
//! their head and its id.
//!
//! This module decides which tails are shared and when one is let go; the
//! store decides when to call it, inside its own transactions. A tail is
//! shared from the second event that has it among the last few
//! ([`CANDIDATES`]: an app mixing its own events with a backend's alternates
//! two contexts), so a backend whose every event brings a context of its
//! own gains no table row per event and is stored whole as before; at most
//! [`MAX_COMMONS`] at a time.
//! Each common row keeps the last sequence number that uses it; once every
//! destination is done with that row it is deleted in the transaction that
//! deletes the rows, except the one in use now, so a steady stream of events
//! writes its tail once, not once per commit.
//!
//! A common created in a transaction that then fails is forgotten with it
//! ([`Commons::rolled_back`]); until [`Commons::committed`] it is only staged.

use std::collections::HashMap;

use rusqlite::{params, Connection, Transaction};

use super::compact;
use super::sqlite_error::Result;

/// Most shared tails kept at once; past it, events with a new tail are
/// stored whole until delivery lets an old one go.
pub const MAX_COMMONS: usize = 32;

/// Tails seen once and not shared yet, kept to recognise their second event.
const CANDIDATES: usize = 4;

#[derive(Debug)]
struct Common {
    id: i64,
    tail: String,
    /// The last sequence number stored with it (at or after the true last).
    last_seq: u64,
    /// Used by a row of the open transaction: `last_seq` is written at its end.
    moved: bool,
    /// Whether the row is committed (else it goes if the transaction fails).
    durable: bool,
    /// Deleted in the open transaction: gone once it commits.
    doomed: bool,
}

/// The shared tails of one file, as its `commons` table has them.
#[derive(Debug, Default)]
pub(super) struct Commons {
    known: Vec<Common>,
    /// The index in `known` of the tail used last.
    current: Option<usize>,
    /// The last tails that matched none (the oldest replaced first): one
    /// is shared when another event has it.
    candidates: [String; CANDIDATES],
    /// The slot of `candidates` the next new tail takes.
    next_candidate: usize,
    next_id: i64,
    scratch: String,
    /// Recording times as text, for [`compact::head_before`].
    created: crate::time::Iso8601Text,
}

/// How to store one event: its head with a common's id, or whole.
pub(super) enum Shape<'e> {
    /// The head of the event, and the id of its tail in `commons`.
    Head(&'e str, i64),
    /// The whole JSON.
    Whole,
}

impl Commons {
    /// Reads the file's commons.
    pub(super) fn load(conn: &Connection) -> Result<Self> {
        let mut stmt = conn.prepare("SELECT id, text, last_seq FROM commons ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(Common {
                id: r.get(0)?,
                tail: r.get(1)?,
                last_seq: r.get::<_, i64>(2)? as u64,
                moved: false,
                durable: true,
                doomed: false,
            })
        })?;
        let known = rows.collect::<core::result::Result<Vec<_>, _>>()?;
        let next_id = known.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        let current = known.len().checked_sub(1);
        Ok(Commons {
            known,
            current,
            next_id,
            ..Commons::default()
        })
    }

    /// How to store `json` (the event `message_id` recorded at
    /// `created_ms`), creating its common in `tx` when its tail is one of
    /// the [`CANDIDATES`]. The transaction ends with
    /// [`save_uses`](Self::save_uses).
    pub(super) fn shape<'e>(
        &mut self,
        tx: &Transaction<'_>,
        json: &'e str,
        message_id: &str,
        created_ms: i64,
    ) -> Result<Shape<'e>> {
        // Most events end with the tail used last: checked from the end
        // first, with no search for the middle.
        if let Some(i) = self.current {
            if let Some(common) = self.known.get_mut(i) {
                let found = compact::head_before(
                    json,
                    &common.tail,
                    message_id,
                    &mut self.created,
                    created_ms,
                    &mut self.scratch,
                );
                if let Some(head) = found {
                    common.moved = true;
                    return Ok(Shape::Head(head, common.id));
                }
            }
        }
        let Some((head, tail)) = compact::split(json, message_id, created_ms, &mut self.scratch)
        else {
            return Ok(Shape::Whole);
        };
        let found = match self.current {
            Some(i) if self.known.get(i).is_some_and(|c| c.tail == tail) => Some(i),
            _ => self.known.iter().position(|c| !c.doomed && c.tail == tail),
        };
        let i = match found {
            Some(i) => i,
            None if self.known.len() < MAX_COMMONS && self.candidates.iter().any(|c| c == tail) => {
                let id = self.next_id;
                tx.prepare_cached("INSERT INTO commons (id, text, last_seq) VALUES (?1, ?2, ?3)")?
                    .execute(params![id, tail, 0])?;
                self.next_id += 1;
                for c in self.candidates.iter_mut().filter(|c| *c == tail) {
                    c.clear();
                }
                self.known.push(Common {
                    id,
                    tail: tail.to_string(),
                    last_seq: 0,
                    moved: false,
                    durable: false,
                    doomed: false,
                });
                self.known.len() - 1
            }
            None => {
                // Into the oldest slot, reusing its buffer.
                let slot = &mut self.candidates[self.next_candidate];
                slot.clear();
                slot.push_str(tail);
                self.next_candidate = (self.next_candidate + 1) % CANDIDATES;
                return Ok(Shape::Whole);
            }
        };
        self.current = Some(i);
        let common = &mut self.known[i];
        common.moved = true;
        Ok(Shape::Head(head, common.id))
    }

    /// Records `last_seq`, the last row the transaction stored, as the last
    /// use of each common it used (at or after the true last: a common may
    /// stay longer, never go early).
    pub(super) fn save_uses(&mut self, tx: &Transaction<'_>, last_seq: u64) -> Result<()> {
        for c in self.known.iter_mut().filter(|c| c.moved) {
            tx.prepare_cached("UPDATE commons SET last_seq = ?1 WHERE id = ?2")?
                .execute(params![last_seq as i64, c.id])?;
            c.last_seq = last_seq;
            c.moved = false;
        }
        Ok(())
    }

    /// The transaction that called [`shape`](Self::shape) or
    /// [`prune`](Self::prune) committed.
    pub(super) fn committed(&mut self) {
        self.keep(|c| !c.doomed);
        for c in &mut self.known {
            c.durable = true;
        }
    }

    /// It failed: the commons it created are not in the file, those it
    /// deleted still are. (Uses it recorded are in no row either; keeping
    /// them only delays a deletion.)
    pub(super) fn rolled_back(&mut self) {
        self.keep(|c| c.durable);
        for c in &mut self.known {
            c.doomed = false;
        }
    }

    /// Keeps the commons `f` keeps, and which one is current.
    fn keep(&mut self, f: impl Fn(&Common) -> bool) {
        let current = self.current.and_then(|i| self.known.get(i)).map(|c| c.id);
        self.known.retain(f);
        self.current = current.and_then(|id| self.known.iter().position(|c| c.id == id));
    }

    /// Deletes in `tx` the commons of rows at or below `done` only (the
    /// rows `tx` deletes), but the one in use.
    pub(super) fn prune(&mut self, tx: &Transaction<'_>, done: u64) -> Result<()> {
        let current = self.current;
        for (i, c) in self.known.iter_mut().enumerate() {
            if c.durable && !c.doomed && c.last_seq <= done && Some(i) != current {
                tx.prepare_cached("DELETE FROM commons WHERE id = ?1")?
                    .execute(params![c.id])?;
                c.doomed = true;
            }
        }
        Ok(())
    }

    /// Deletes every common in `tx` (all rows are deleted with them).
    pub(super) fn clear(&mut self, tx: &Transaction<'_>) -> Result<()> {
        tx.prepare_cached("DELETE FROM commons")?.execute([])?;
        for c in &mut self.known {
            c.doomed = true;
        }
        self.current = None;
        for c in &mut self.candidates {
            c.clear();
        }
        Ok(())
    }

    /// Makes the event stored as `head` with common `id` whole again; false
    /// if the file has no such common.
    pub(super) fn join(
        &mut self,
        head: &mut String,
        id: i64,
        message_id: &str,
        created_ms: i64,
    ) -> bool {
        let Some(common) = self.known.iter().find(|c| c.id == id) else {
            return false;
        };
        compact::join(
            head,
            message_id,
            created_ms,
            &common.tail,
            &mut self.scratch,
        );
        true
    }

    /// How many commons are kept (for the consistency check).
    #[cfg(any(test, feature = "store-contract"))]
    pub(super) fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether common `id` is held with this tail (for the consistency check).
    #[cfg(any(test, feature = "store-contract"))]
    pub(super) fn has(&self, id: i64, tail: &str) -> bool {
        self.known.iter().any(|c| c.id == id && c.tail == tail)
    }
}

/// The shared tails of a file of schema 2 by id (those readable), or
/// `None` for a file without them: for readers that do not open the file
/// as the store does (the inspector, a salvage).
pub(super) fn read_tails(conn: &Connection) -> Option<HashMap<i64, String>> {
    conn.prepare("SELECT common FROM events LIMIT 0").ok()?;
    let mut out = HashMap::new();
    if let Ok(mut stmt) = conn.prepare("SELECT id, text FROM commons") {
        if let Ok(rows) = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        {
            out.extend(rows.flatten());
        }
    }
    Some(out)
}
