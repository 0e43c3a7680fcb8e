//! The durable [`Store`]: one SQLite file in WAL mode.
//!
//! This module decides the file's schema and how it is upgraded, the SQLite
//! settings (WAL, `synchronous=NORMAL`, a busy timeout), and that every write
//! is one `BEGIN IMMEDIATE` transaction. With `synchronous=NORMAL` in WAL mode
//! a committed transaction survives the process being killed; only a power
//! loss or OS crash can take back the last commits, in exchange for not
//! syncing the disk on every commit.
//!
//! A file that SQLite says is corrupt (or is not a database at all) is moved
//! aside as `<name>.corrupt-<millis>` (kept for inspection), a fresh file is
//! created in its place, and what can still be read of the old one is queued
//! again (`salvage.rs`). A file deleted or replaced while in use is noticed
//! before the next write and its events are copied into a new file at the
//! same path, so nothing is written into a file no one can find.
//!
//! # What is kept in memory, and how it ties to the file
//!
//! The store answers counts, claims and acks without reading the file back
//! each time. Each cache holds these invariants after every operation
//! (checked against the file by `check_consistency` in a randomized test of
//! the store contract):
//!
//! - `last_seq` is the larger of the file's AUTOINCREMENT counters for
//!   `events_a` and `events_b`, the two tables the `events` view reads
//!   (and, after opening, of every row's number). Each table counts alone:
//!   `counting` names the one whose counter stands at `last_seq`, and an
//!   append to the other sets its counter there first.
//! - `generations` holds which table is appended to and where each ends
//!   (`generations.rs`); every row of the other table comes before every
//!   row of the writing one.
//! - `acked` holds each destination's cursor; it is never behind the file's
//!   `destinations` row, and equal to it when `unsaved_acks` is false.
//!   `done_through` is the lowest cursor; once acks are saved no table
//!   holds only rows at or below it. Rows at or below it may stay at the
//!   front of a table until the whole table is delivered: every read
//!   starts after `done_through`, and so do counts, drops and claims.
//! - `count` and `bytes` are the number and JSON size of the rows after
//!   `done_through`, except those in `uncounted` (a backlog found at open
//!   and counted in steps). Every operation that deletes rows or acks them
//!   takes away only rows it counted: drops count the backlog first, and an
//!   ack skips the uncounted range and moves its start past the cursor.
//! - `claimed` is, per destination, the last row handed out and not yet
//!   acked or released: above the cursor, at most `last_seq`.
//! - `claimed_sizes` holds, per destination, the size of each batch claimed
//!   since the cursor, consecutive from the cursor on; a claim that does not
//!   follow on (after part of a batch was acked) empties it, so acks count
//!   from the file instead.
//! - `recent` holds consecutive rows, each exactly as the file has it.
//! - `row_sizes` holds the JSON size of consecutive rows, each as the file
//!   has it, none at or below `done_through`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::checkpoint::Checkpoints;
use super::commons::{Commons, Shape};
use super::generations::{Generations, TABLES};
use super::recent::RecentRows;
use super::row_sizes::RowSizes;
use super::salvage::{salvage, Salvaged};
use super::sqlite_error::{Result, SqliteError};
use super::{
    cut_to_bytes, Claimed, Loss, NewEvent, QueueSummary, Removed, Repair, Store, StoreError,
    StoredEvent,
};

/// The schema version this build writes. Files with a lower `user_version`
/// are upgraded step by step; a higher one means a newer cairn wrote it.
pub const SCHEMA_VERSION: i64 = 3;

/// The size in bytes the WAL file is cut back to after a checkpoint: 4 MiB,
/// what SQLite's automatic checkpoint (every 1,000 pages of 4 KiB) lets it
/// reach in normal use.
pub const JOURNAL_SIZE_LIMIT: i64 = 4 * 1024 * 1024;

/// SQL for the lowest delivery cursor of a buffer file (0 when none is
/// saved), for a reader of the file outside the store: the queued events
/// are the rows of the `events` view after it. Rows at or below it are
/// delivered; since schema 3 some wait there to be freed with their table.
///
/// ```
/// # fn main() -> rusqlite::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("q.db");
/// # drop(cairn::store::SqliteStore::open(&path).unwrap());
/// let conn = rusqlite::Connection::open(&path)?;
/// let sql = format!("SELECT COUNT(*) FROM events WHERE seq > {}", cairn::store::LOWEST_CURSOR);
/// let queued: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
/// assert_eq!(queued, 0);
/// # Ok(())
/// # }
/// ```
pub const LOWEST_CURSOR: &str = "(SELECT COALESCE(MIN(acked_through), 0) FROM destinations)";

/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 64;

/// How long a write waits for another connection's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Upgrade steps: `UPGRADES[n]` takes a file from version `n` to `n + 1`.
const UPGRADES: &[&str] = &[
    // 0 -> 1: the first schema. AUTOINCREMENT so a sequence number is never
    // reused after the queue empties: delivery cursors rely on that.
    "CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        body TEXT NOT NULL
     );
     CREATE TABLE destinations (
        name TEXT PRIMARY KEY,
        acked_through INTEGER NOT NULL
     );
     CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
     );",
    // 1 -> 2: events share their tails (see `commons.rs`): a row with a
    // `common` keeps only its head in `body`. Rows written before keep
    // their whole JSON (`common` NULL), so the step rewrites nothing.
    "ALTER TABLE events ADD COLUMN common INTEGER;
     CREATE TABLE commons (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        last_seq INTEGER NOT NULL
     );",
    // 2 -> 3: events in two tables, each freed whole once delivered
    // (`generations.rs`); the `events` view reads both, in `seq` order
    // when asked. The table keeps its rows and its AUTOINCREMENT counter
    // under its new name.
    "ALTER TABLE events RENAME TO events_a;
     CREATE TABLE events_b (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        body TEXT NOT NULL,
        common INTEGER
     );
     CREATE VIEW events AS
        SELECT seq, message_id, created_ms, bytes, body, common FROM events_a
        UNION ALL
        SELECT seq, message_id, created_ms, bytes, body, common FROM events_b;",
];

/// A [`Store`] in a SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    /// The WAL's checkpoints, off the committing thread (`checkpoint.rs`).
    checkpoints: Checkpoints,
    path: PathBuf,
    acked: HashMap<String, u64>,
    claimed: HashMap<String, u64>,
    /// Size of each claimed batch not yet acked, oldest first, per
    /// destination: `(last seq, events, bytes)`. An ack of whole batches
    /// then knows what it removes without reading the rows again.
    claimed_sizes: HashMap<String, std::collections::VecDeque<(u64, u64, u64)>>,
    /// Kept in memory so caps can be checked without a table scan per write.
    count: u64,
    bytes: u64,
    last_seq: u64,
    moved_aside: Option<PathBuf>,
    /// Identity of the file when opened, to notice it being deleted or replaced.
    file_id: Option<(u64, u64)>,
    /// A repair made on its own, not yet reported (see [`Store::take_repair`]).
    repair: Option<Repair>,
    /// The newest rows, so claims right after appends need not read them back.
    recent: RecentRows,
    /// The size of each row appended since opening, until done, so the
    /// lowest cursor can move without reading the rows it passes.
    row_sizes: RowSizes,
    /// Rows at or below this are done for every destination: already left
    /// out of `count` and `bytes`, and deleted once the acks are saved.
    done_through: u64,
    /// Acks taken since the last save (see [`Store::save_acks`]).
    unsaved_acks: bool,
    /// Rows `(after, through]` not yet in `count` and `bytes`: a store opened
    /// with [`open_counting_later`](Self::open_counting_later) counts its
    /// backlog in steps ([`Store::count_backlog`]).
    uncounted: Option<(u64, u64)>,
    /// What the last drop took from each destination, with several declared
    /// (see [`Store::take_losses`]).
    losses: Vec<Loss>,
    /// The routings of destinations that do not take every event (see
    /// [`Store::set_routing`]).
    routes: HashMap<String, crate::routing::Routing>,
    /// The tails rows share, as the `commons` table has them.
    commons: Commons,
    /// Which event table rows are appended to, and where each ends.
    generations: Generations,
    /// The table whose AUTOINCREMENT counter is known to stand at
    /// `last_seq` (the one that numbered the last rows); `None` after
    /// opening. Appends to another table set its counter first.
    counting: Option<usize>,
}

/// Rows one `INSERT` statement writes in an append (the rest one at a time):
/// each statement opens a cursor, finds the table's end and updates the
/// AUTOINCREMENT counter, which a multi-row statement does once for all.
const ROWS_PER_INSERT: usize = 25;

/// `INSERT OR FAIL INTO <table> ... VALUES (?, ?, ?, ?, ?), ...` for
/// `rows` rows (1 or [`ROWS_PER_INSERT`]) into table `t` of [`TABLES`].
/// `OR FAIL`, not the default `ABORT`: a
/// statement of several rows that may abort makes SQLite copy every page it
/// touches into a statement journal, to undo that statement alone (5% of
/// the worker's time in `cairn bench`). Nothing here needs that: any error
/// fails the whole transaction, which is rolled back (without the journal,
/// SQLite itself rolls back the whole transaction on a full disk or an I/O
/// error in the middle of the statement: the same outcome; test
/// `a_full_disk_keeps_recording_in_memory_and_loses_nothing_durable`).
///
/// SQLite numbers the rows (AUTOINCREMENT): a row given its number costs a
/// search of the table for it first, 12-16% of the store's criterion
/// `cycle_1000`. The table's counter is brought up to `last_seq` before its
/// first rows ([`SqliteStore::insert`]), since each table counts alone.
fn insert_rows_sql(t: usize, rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<[[String; 2]; 2]> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let insert = |table: &str, n: usize| {
            let values = vec!["(?, ?, ?, ?, ?)"; n].join(", ");
            format!("INSERT OR FAIL INTO {table} (message_id, created_ms, bytes, body, common) VALUES {values}")
        };
        TABLES.map(|table| [insert(table, 1), insert(table, ROWS_PER_INSERT)])
    });
    &sql[t][usize::from(rows == ROWS_PER_INSERT)]
}

/// The columns a row is read with, in this order, and how it becomes whole.
const ROW_COLUMNS: &str = "seq, message_id, created_ms, body, common";

/// A row read with [`ROW_COLUMNS`], its JSON whole again.
fn stored_event(r: &rusqlite::Row<'_>, commons: &mut Commons) -> rusqlite::Result<StoredEvent> {
    let mut e = StoredEvent {
        seq: r.get::<_, i64>(0)? as u64,
        message_id: r.get(1)?,
        created_ms: r.get(2)?,
        json: r.get(3)?,
    };
    if let Some(id) = r.get::<_, Option<i64>>(4)? {
        if !commons.join(&mut e.json, id, &e.message_id, e.created_ms) {
            // A row whose common is gone: the file was changed by
            // something other than cairn, or damaged.
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(format!(
                    "event {} refers to shared text {id}, which the file does not have",
                    e.seq
                )),
            ));
        }
    }
    Ok(e)
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`, upgrading its schema. A corrupt
    /// file is moved aside and replaced by a fresh one; see
    /// [`moved_aside`](Self::moved_aside).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let mut store = Self::open_counting_later(path)?;
        store.count_backlog(usize::MAX)?;
        Ok(store)
    }

    /// [`open`](Self::open), without counting the queued events yet:
    /// counting a backlog reads every row (tens of milliseconds for 100,000
    /// events), and the worker does it in steps
    /// ([`Store::count_backlog`]) so the calls made meanwhile are committed
    /// as promptly as any. Until the count is done, [`Store::summary`]
    /// reports only what was appended since.
    pub fn open_counting_later(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        match Self::open_once(&path) {
            Ok(store) => Ok(store),
            Err(e) => match e.corrupt_reason() {
                Some(reason) => Ok(Self::replace_corrupt(&path, &reason, None)?),
                None => Err(e.into()),
            },
        }
    }

    /// Moves the corrupt file at `path` aside, opens a fresh one and queues
    /// in it what can be read of the old one, keeping a [`Repair`] to report.
    /// `queued` is how many events the file held, when known (the store was
    /// open); otherwise the loss is estimated from the file.
    fn replace_corrupt(path: &Path, reason: &str, queued: Option<u64>) -> Result<Self> {
        let aside = move_aside(path).map_err(|source| SqliteError::MoveAside {
            reason: reason.to_string(),
            source,
        })?;
        let saved = salvage(&aside);
        let seeded = Self::open_once(path).and_then(|mut fresh| {
            fresh.seed(&saved.events, &saved.state, &saved.acked, saved.last_seq)?;
            Ok(fresh)
        });
        let mut store = match seeded {
            Ok(store) => store,
            Err(e) => {
                // Put the old file back, so the next try salvages it again
                // rather than finding an empty file and forgetting it.
                remove_with_sides(path);
                if let Err(back) = rename_with_sides(&aside, path) {
                    log::warn!(
                        "cairn: could not move {} back after a failed salvage: {back}",
                        aside.display()
                    );
                }
                return Err(e);
            }
        };
        store.repair = Some(salvage_report(path, &aside, reason, &saved, queued));
        store.moved_aside = Some(aside);
        Ok(store)
    }

    /// Bounds the WAL a sustained burst grows before a commit copies it
    /// back itself (`checkpoint.rs`) to the queue's byte cap, at least 8 MiB
    /// and at most 64 MiB (the default).
    pub fn limit_wal(&mut self, max_queue_bytes: u64) {
        self.checkpoints
            .set_catch_up_pages(super::checkpoint::catch_up_pages_for(max_queue_bytes));
    }

    /// Takes `fresh`'s place (a new file at the same path), keeping this
    /// store's settings, and closes this one without acting on the file.
    fn replace_with(&mut self, fresh: SqliteStore) {
        fresh
            .checkpoints
            .set_catch_up_pages(self.checkpoints.catch_up_pages());
        retire(std::mem::replace(self, fresh));
    }

    /// Where a corrupt file was moved when this store was opened, if it was.
    pub fn moved_aside(&self) -> Option<&Path> {
        self.moved_aside.as_deref()
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_once(path: &Path) -> Result<Self> {
        let mut conn = open_connection(path)?;
        let checkpoints = Checkpoints::install(&mut conn, path)?;
        let commons = Commons::load(&conn)?;
        let mut store = SqliteStore {
            commons,
            conn,
            checkpoints,
            path: path.to_path_buf(),
            acked: HashMap::new(),
            claimed: HashMap::new(),
            claimed_sizes: HashMap::new(),
            row_sizes: RowSizes::default(),
            count: 0,
            bytes: 0,
            last_seq: 0,
            moved_aside: None,
            file_id: file_id(path),
            repair: None,
            recent: RecentRows::default(),
            done_through: 0,
            unsaved_acks: false,
            uncounted: None,
            losses: Vec::new(),
            routes: HashMap::new(),
            generations: Generations::default(),
            counting: None,
        };
        store.load_cursors()?;
        Ok(store)
    }

    /// Reads the cursors and the counts of the whole file.
    fn load_counters(&mut self) -> Result<()> {
        self.load_cursors()?;
        self.count_rows(usize::MAX).map(|_| ())
    }

    /// Reads the last sequence number and the delivery cursors, and leaves
    /// the queued rows to be counted ([`Store::count_backlog`]).
    fn load_cursors(&mut self) -> Result<()> {
        self.count = 0;
        self.bytes = 0;
        let newest = [newest_in(&self.conn, 0)?, newest_in(&self.conn, 1)?];
        // Rows are given their number (`insert`): never one a row has, even
        // in a file whose counters were edited or damaged behind a row.
        self.last_seq = newest
            .iter()
            .flatten()
            .fold(file_last_seq(&self.conn)?, |a, &b| a.max(b));
        self.generations = Generations::from_newest(newest);
        let mut stmt = self
            .conn
            .prepare("SELECT name, acked_through FROM destinations")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        for row in rows {
            let (name, acked) = row?;
            self.acked.insert(name, acked);
        }
        self.done_through = self.acked.values().copied().min().unwrap_or(0);
        self.uncounted =
            (self.last_seq > self.done_through).then_some((self.done_through, self.last_seq));
        Ok(())
    }

    /// Whether the file at `path` is no longer the one this store has open
    /// (deleted, or replaced by another file).
    fn file_replaced(&self) -> bool {
        match (self.file_id, file_id(&self.path)) {
            (Some(open), Some(now)) => open != now,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Before a write: if the file at `path` is no longer the one open
    /// (deleted, or replaced), moves the events to a new file there first,
    /// so they are not written into a file no one can find. One `stat`: 6 µs
    /// on the test machine (slow system calls), under 2% of the worker's time
    /// for a commit of 125 events; not throttled, so no event goes into a
    /// deleted file after the first write that follows the deletion.
    fn check_file(&mut self) -> Result<()> {
        if !self.file_replaced() {
            return Ok(());
        }
        let queued = self.count;
        self.migrate_to_new_file()
            .map_err(|e| SqliteError::FileReplaced {
                path: self.path.clone(),
                source: Box::new(e),
            })?;
        let message = format!(
            "the buffer file {} was deleted or replaced while in use; its {queued} queued events were copied into a new file at the same path",
            self.path.display()
        );
        log::warn!("cairn: {message}");
        self.repair = Some(Repair { lost: 0, message });
        Ok(())
    }

    /// Copies everything from the open (deleted) file into a new file at
    /// `path`, keeping sequence numbers, and switches to it.
    fn migrate_to_new_file(&mut self) -> Result<()> {
        self.write_unsaved_acks()?;
        let events = self.read_rows(0, usize::MAX >> 1)?;
        let state: Vec<(String, String)> = {
            let mut stmt = self.conn.prepare("SELECT key, value FROM state")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<core::result::Result<_, _>>()?
        };
        let mut fresh = SqliteStore::open_once(&self.path)?;
        fresh.seed(&events, &state, &self.acked, self.last_seq)?;
        let claimed = std::mem::take(&mut self.claimed);
        self.replace_with(fresh);
        self.claimed = claimed;
        Ok(())
    }

    /// Writes `events` (keeping their sequence numbers), `state` and the
    /// delivery cursors into this (new) file in one transaction, with
    /// sequence numbers going on after `last_seq`, and reloads the counters.
    fn seed(
        &mut self,
        events: &[StoredEvent],
        state: &[(String, String)],
        acked: &HashMap<String, u64>,
        last_seq: u64,
    ) -> Result<()> {
        // A new file: every row goes to the first table, in order.
        write(&mut self.conn, |tx| {
            for e in events {
                tx.execute(
                    "INSERT OR IGNORE INTO events_a (seq, message_id, created_ms, bytes, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![e.seq as i64, e.message_id, e.created_ms, e.json.len() as i64, e.json],
                )?;
            }
            for (k, v) in state {
                tx.execute(
                    "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )?;
            }
            for (name, acked) in acked {
                tx.execute(
                    "INSERT OR REPLACE INTO destinations (name, acked_through) VALUES (?1, ?2)",
                    params![name, *acked as i64],
                )?;
            }
            // Keep sequence numbers growing past everything handed out so far.
            tx.execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = 'events_a'",
                params![last_seq as i64],
            )?;
            tx.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'events_a', ?1 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events_a')",
                params![last_seq as i64],
            )?;
            Ok(())
        })?;
        self.load_counters()
    }

    fn floor(&self, destination: &str) -> u64 {
        let acked = self.acked.get(destination).copied().unwrap_or(0);
        self.claimed
            .get(destination)
            .copied()
            .unwrap_or(0)
            .max(acked)
    }

    fn max_claimed(&self) -> u64 {
        self.claimed.values().copied().max().unwrap_or(0)
    }

    /// Rows after `after_seq` as the file has them (acks not yet saved are
    /// the caller's concern), none at or below `done_through`: those are
    /// delivered, left only until their table is freed whole.
    fn read_rows(&mut self, after_seq: u64, max_events: usize) -> Result<Vec<StoredEvent>> {
        let after_seq = after_seq.max(self.done_through);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))?;
        let commons = &mut self.commons;
        let rows = stmt.query_map(params![after_seq as i64, max_events as i64], |r| {
            stored_event(r, commons)
        })?;
        Ok(rows.collect::<core::result::Result<Vec<_>, _>>()?)
    }

    /// Deletes rows with `seq` in `(after, through]` and returns what went
    /// (rows at or below `done_through` are delivered: they go, uncounted).
    fn delete_range(&mut self, after: u64, through: u64) -> Result<Removed> {
        self.recent.clear();
        self.row_sizes.clear(self.last_seq);
        let (acked, routes, commons) = (&self.acked, &self.routes, &mut self.commons);
        // Every row goes (a purge: forget, consent revoked): the shared
        // tails go too, the one in use included, since a context can carry
        // what the purge is erasing.
        let everything = after == 0 && through >= self.last_seq;
        let done_through = self.done_through;
        let counted_after = after.max(done_through);
        let mut generations = self.generations;
        let written = write(&mut self.conn, |tx| {
            let counted: (i64, i64) = tx.query_row(
                "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events WHERE seq > ?1 AND seq <= ?2",
                params![counted_after as i64, through as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let losses =
                Self::losses_in(tx, acked, routes, commons, counted_after, through, i64::MAX)?;
            for (t, table) in TABLES.iter().enumerate() {
                if everything {
                    // No `WHERE`: the table's pages are freed whole.
                    tx.execute(&format!("DELETE FROM {table}"), [])?;
                } else {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE seq > ?1 AND seq <= ?2"),
                        params![after as i64, through as i64],
                    )?;
                }
                generations.set_newest(t, newest_in(tx, t)?);
            }
            // Acks are saved (both callers save them first): a table left
            // with delivered rows only goes too.
            free_done_tables(tx, &mut generations, done_through)?;
            if everything {
                commons.clear(tx)?;
            }
            Ok((counted, losses))
        });
        let ((events, bytes), losses) = match written {
            Ok(w) => {
                self.commons.committed();
                self.generations = generations;
                w
            }
            Err(e) => {
                self.commons.rolled_back();
                return Err(e);
            }
        };
        self.losses = losses;
        let removed = Removed {
            events: events as u64,
            bytes: bytes as u64,
        };
        self.count = self.count.saturating_sub(removed.events);
        self.bytes = self.bytes.saturating_sub(removed.bytes);
        Ok(removed)
    }

    /// Appends in one transaction; returns the last seq before and the
    /// events' seqs, for [`RecentRows::appended`].
    fn insert(
        &mut self,
        events: &[NewEvent],
        state: &[(String, Option<String>)],
    ) -> Result<(u64, Vec<u64>)> {
        self.check_file()?;
        let commons = &mut self.commons;
        let mut generations = self.generations;
        let mut counting = self.counting;
        let written = write(&mut self.conn, |tx| {
            if self.unsaved_acks {
                // Saved with the events: one transaction instead of two.
                write_acks(
                    tx,
                    &self.acked,
                    self.done_through,
                    commons,
                    &mut generations,
                )?;
            }
            // A write of state alone leaves the tables as they are.
            let t = match events.is_empty() {
                true => 0,
                false => generations.table_for_append(),
            };
            if !events.is_empty() && counting != Some(t) {
                // The other table numbered the last rows (or the file was
                // just opened): this one's counter goes on from them.
                set_counter(tx, t, self.last_seq)?;
                counting = Some(t);
            }
            let mut last = self.last_seq;
            let mut added = 0u64;
            let mut seqs = Vec::with_capacity(events.len());
            {
                let mut insert = tx.prepare_cached(insert_rows_sql(t, 1))?;
                let mut insert_many = tx.prepare_cached(insert_rows_sql(t, ROWS_PER_INSERT))?;
                for chunk in events.chunks(ROWS_PER_INSERT) {
                    if chunk.len() == ROWS_PER_INSERT {
                        for (i, e) in chunk.iter().enumerate() {
                            let at = 5 * i;
                            let (body, common) = split_row(tx, commons, e)?;
                            insert_many.raw_bind_parameter(at + 1, &e.message_id)?;
                            insert_many.raw_bind_parameter(at + 2, e.created_ms)?;
                            insert_many.raw_bind_parameter(at + 3, e.json.len() as i64)?;
                            insert_many.raw_bind_parameter(at + 4, body)?;
                            insert_many.raw_bind_parameter(at + 5, common)?;
                        }
                        insert_many.raw_execute()?;
                    } else {
                        for e in chunk {
                            let (body, common) = split_row(tx, commons, e)?;
                            insert.execute(params![
                                e.message_id,
                                e.created_ms,
                                e.json.len() as i64,
                                body,
                                common
                            ])?;
                        }
                    }
                    // One writer, rows in order, the counter at `last_seq`:
                    // AUTOINCREMENT gives each row the one after the row
                    // before, so the chunk's rowids end here.
                    last = tx.last_insert_rowid() as u64;
                    let first = last + 1 - chunk.len() as u64;
                    seqs.extend(first..=last);
                    added += chunk.iter().map(|e| e.json.len() as u64).sum::<u64>();
                }
                if !events.is_empty() {
                    generations.appended(last);
                }
                commons.save_uses(tx, last)?;
                let mut put = tx
                .prepare_cached("INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?;
                let mut del = tx.prepare_cached("DELETE FROM state WHERE key = ?1")?;
                for (k, v) in state {
                    match v {
                        Some(v) => put.execute(params![k, v])?,
                        None => del.execute(params![k])?,
                    };
                }
            }
            Ok((last, added, seqs))
        });
        let (last, added, seqs) = match written {
            Ok(w) => {
                self.commons.committed();
                self.generations = generations;
                self.counting = counting;
                w
            }
            Err(e) => {
                self.commons.rolled_back();
                return Err(e);
            }
        };
        self.unsaved_acks = false;
        let previous = self.last_seq;
        self.count += events.len() as u64;
        self.bytes += added;
        self.last_seq = last;
        Ok((previous, seqs))
    }

    /// Every destination is done with the rows through `done` (the lowest
    /// cursor moved there): takes them out of the counts. `known` is their
    /// number and bytes when the caller knows them (whole claimed batches).
    fn advance_done(&mut self, done: u64, known: Option<(u64, u64)>) -> Result<()> {
        if done <= self.done_through {
            return Ok(());
        }
        // Rows of a backlog not counted yet are not in the counts: they
        // are left out of what the ack takes away, and out of what is
        // still to count (the sizes of claimed batches include them).
        let (skip_after, skip_through) = self.uncounted.unwrap_or((0, 0));
        let held = self.row_sizes.take(self.done_through, done);
        let (events, bytes) = match known.or(held) {
            Some(sizes) if self.uncounted.is_none() => sizes,
            _ => {
                let (n, b): (i64, i64) = self
                    .conn
                    .prepare_cached(
                        "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events
                     WHERE seq > ?1 AND seq <= ?2 AND NOT (seq > ?3 AND seq <= ?4)",
                    )?
                    .query_row(
                        params![
                            self.done_through as i64,
                            done as i64,
                            skip_after as i64,
                            skip_through as i64
                        ],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                (n as u64, b as u64)
            }
        };
        if self.uncounted.is_some() {
            self.uncounted = (done < skip_through).then_some((skip_after.max(done), skip_through));
        }
        self.done_through = done;
        self.count = self.count.saturating_sub(events);
        self.bytes = self.bytes.saturating_sub(bytes);
        Ok(())
    }

    /// With several destinations, what deleting the rows `(after, through]`
    /// whose `created_ms` is under `before_ms` takes from each: the rows
    /// past its cursor. Read inside the deleting transaction, before the
    /// delete.
    fn losses_in(
        tx: &rusqlite::Transaction<'_>,
        acked: &HashMap<String, u64>,
        routes: &HashMap<String, crate::routing::Routing>,
        commons: &mut Commons,
        after: u64,
        through: u64,
        before_ms: i64,
    ) -> Result<Vec<Loss>> {
        if acked.len() < 2 {
            return Ok(Vec::new());
        }
        let mut stmt = tx.prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events
             WHERE seq > ?1 AND seq <= ?2 AND created_ms < ?3",
        )?;
        let mut out = Vec::with_capacity(acked.len());
        for (name, cursor) in acked {
            let from = after.max(*cursor) as i64;
            let (n, b): (i64, i64) = stmt
                .query_row(params![from, through as i64, before_ms], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            // Only a routing that passes events over needs the bodies; the
            // drops are the caps' and expiry's, a few rows at a time.
            let routed_events = match routes.get(name) {
                None => n as u64,
                Some(routing) => {
                    let mut bodies = tx.prepare_cached(&format!(
                        "SELECT {ROW_COLUMNS} FROM events WHERE seq > ?1 AND seq <= ?2 AND created_ms < ?3"
                    ))?;
                    let mut rows = bodies.query(params![from, through as i64, before_ms])?;
                    let mut taken = 0;
                    while let Some(row) = rows.next()? {
                        // A row that cannot be read whole is taken, as
                        // `takes` does with a body it cannot read.
                        let json = stored_event(row, commons).map(|e| e.json);
                        if routing.takes(json.as_deref().unwrap_or_default()) {
                            taken += 1;
                        }
                    }
                    taken
                }
            };
            out.push(Loss {
                destination: name.clone(),
                removed: Removed {
                    events: n as u64,
                    bytes: b as u64,
                },
                routed_events,
            });
        }
        out.sort_by(|a, b| a.destination.cmp(&b.destination));
        Ok(out)
    }

    /// [`Store::save_acks`]: writes the acks taken since the last save.
    fn write_unsaved_acks(&mut self) -> Result<()> {
        if !self.unsaved_acks {
            return Ok(());
        }
        let commons = &mut self.commons;
        let mut generations = self.generations;
        let written = write(&mut self.conn, |tx| {
            write_acks(
                tx,
                &self.acked,
                self.done_through,
                commons,
                &mut generations,
            )
        });
        match written {
            Ok(()) => {
                self.commons.committed();
                self.generations = generations;
            }
            Err(e) => {
                self.commons.rolled_back();
                return Err(e);
            }
        }
        self.unsaved_acks = false;
        Ok(())
    }

    /// [`Store::count_backlog`]: counts up to `max_rows` more rows of the
    /// backlog; true once all are counted.
    fn count_rows(&mut self, max_rows: usize) -> Result<bool> {
        let Some((after, through)) = self.uncounted else {
            return Ok(true);
        };
        let limit = i64::try_from(max_rows).unwrap_or(i64::MAX);
        let counted = self
            .conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(bytes), 0), MAX(seq) FROM
                   (SELECT seq, bytes FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3)",
                params![after as i64, through as i64, limit],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?)),
            )
            .map_err(SqliteError::from);
        let (rows, bytes, last) = match counted {
            Ok(counted) => counted,
            // The backlog is the first thing read whole: damage in it shows
            // here. Salvaged as at open (the count of the fresh file is done
            // by then); the loss is reported with the repair.
            Err(e) => match e.corrupt_reason() {
                Some(reason) => {
                    let fresh = Self::replace_corrupt(&self.path, &reason, None)?;
                    self.replace_with(fresh);
                    return Ok(true);
                }
                None => return Err(e),
            },
        };
        self.count += rows as u64;
        self.bytes += bytes as u64;
        self.uncounted = match last {
            Some(last) if (rows as u64) >= max_rows as u64 && (last as u64) < through => {
                Some((last as u64, through))
            }
            _ => None,
        };
        Ok(self.uncounted.is_none())
    }
}

impl Store for SqliteStore {
    fn append(
        &mut self,
        events: &[NewEvent],
        state: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        let (previous, seqs) = self.insert(events, state)?;
        self.row_sizes
            .appended(previous, events.iter().map(|e| e.json.len()));
        self.recent
            .appended(previous, events.iter().cloned(), &seqs);
        Ok(self.last_seq)
    }

    fn append_owned(
        &mut self,
        events: &mut Vec<NewEvent>,
        state: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        let (previous, seqs) = self.insert(events, state)?;
        self.row_sizes
            .appended(previous, events.iter().map(|e| e.json.len()));
        // Moved, not copied: the JSON is most of an event's bytes.
        self.recent.appended(previous, events.drain(..), &seqs);
        Ok(self.last_seq)
    }

    fn claim(
        &mut self,
        destination: &str,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.claim_shared(destination, max_events, max_bytes)
            .map(|rows| Arc::try_unwrap(rows).unwrap_or_else(|rows| rows.as_ref().clone()))
    }

    fn claim_shared(
        &mut self,
        destination: &str,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Claimed, StoreError> {
        // An idle client's next write may be far off; a retry's claim also
        // moves the events of a deleted file to safety.
        self.check_file()?;
        let floor = self.floor(destination);
        let out = match self.recent.share(destination, floor, max_events, max_bytes) {
            Some(rows) => rows,
            None => {
                let max_events = self.recent.aligned(floor, max_events);
                let rows = match self.recent.take(destination, floor, max_events, max_bytes) {
                    Some(rows) => rows,
                    None => {
                        let mut rows = self.read_rows(floor, max_events)?;
                        cut_to_bytes(&mut rows, max_bytes);
                        if let Some(last) = rows.last() {
                            self.recent.forget_through(destination, last.seq);
                        }
                        rows
                    }
                };
                let rows = Arc::new(rows);
                self.recent.keep_claim(destination, &rows);
                rows
            }
        };
        if let Some(last) = out.last() {
            self.claimed.insert(destination.to_string(), last.seq);
            let bytes = out.iter().map(|e| e.json.len() as u64).sum();
            let acked = self.acked.get(destination).copied().unwrap_or(0);
            let sizes = self
                .claimed_sizes
                .entry(destination.to_string())
                .or_default();
            // Sizes are kept only for batches that follow on from the cursor
            // with no gap: after part of a batch was acked (a 413 split), the
            // rest of it is still claimed but in no batch size, and an ack
            // summing the sizes would leave those rows counted.
            if floor == sizes.back().map_or(acked, |b| b.0) {
                sizes.push_back((last.seq, out.len() as u64, bytes));
            } else {
                sizes.clear();
            }
        }
        Ok(out)
    }

    fn release(&mut self, destination: &str) {
        self.claimed.remove(destination);
        self.claimed_sizes.remove(destination);
    }

    fn ack(&mut self, destination: &str, through_seq: u64) -> Result<(), StoreError> {
        // The ack is taken in memory and written by the next append or
        // `save_acks`, so the worker can start the next upload before the
        // rows are deleted. Until then claims, counts and reads act as if
        // the rows were gone; a crash before the save sends them again.
        let previous = self.acked.get(destination).copied().unwrap_or(0);
        let through = previous.max(through_seq);
        self.acked.insert(destination.to_string(), through);
        let done = self.acked.values().copied().min().unwrap_or(0);
        // Whole claimed batches acked by the only destination are exactly the
        // rows that become done (rows under its last ack are done already,
        // and a claim starts right after the previous one): their sizes are
        // known.
        let only = self.acked.len() == 1;
        let known = match self.claimed_sizes.get_mut(destination) {
            Some(sizes) => {
                let mut sum = (0u64, 0u64);
                let mut on_boundary = false;
                while let Some(&(last, events, bytes)) = sizes.front().filter(|b| b.0 <= through) {
                    sizes.pop_front();
                    sum = (sum.0 + events, sum.1 + bytes);
                    on_boundary = last == through;
                }
                if !on_boundary && sizes.front().is_some_and(|b| b.0 > through) {
                    // Part of a batch (a split after a 413): the sizes no
                    // longer match the rows; count this and later acks.
                    sizes.clear();
                }
                // With several destinations the rows that become done are
                // not this destination's batches: counted from the file.
                (on_boundary && only && done == through).then_some(sum)
            }
            None => None,
        };
        self.advance_done(done, known)?;
        self.unsaved_acks = true;
        self.recent.forget_through(destination, through);
        if self.claimed.get(destination).is_some_and(|c| *c <= through) {
            self.claimed.remove(destination);
        }
        Ok(())
    }

    fn set_destinations(&mut self, names: &[&str]) -> Result<(), StoreError> {
        if names.len() > 1 {
            // The newest rows in memory serve every destination's claims.
            self.recent.serve(names);
        }
        let gone: Vec<String> = self
            .acked
            .keys()
            .filter(|k| !names.contains(&k.as_str()))
            .cloned()
            .collect();
        let new: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !self.acked.contains_key(*n))
            .collect();
        // One destination and nothing else known: its missing cursor is 0,
        // as before destinations were declared; nothing to write.
        if gone.is_empty() && (new.is_empty() || (names.len() == 1 && self.acked.is_empty())) {
            return Ok(());
        }
        self.write_unsaved_acks()?;
        // A new destination receives what is still queued: it starts where
        // the slowest known one stands.
        let start = self.done_through;
        write(&mut self.conn, |tx| {
            let mut forget = tx.prepare_cached("DELETE FROM destinations WHERE name = ?1")?;
            for name in &gone {
                forget.execute(params![name])?;
            }
            let mut add = tx.prepare_cached(
                "INSERT OR REPLACE INTO destinations (name, acked_through) VALUES (?1, ?2)",
            )?;
            for name in &new {
                add.execute(params![name, start as i64])?;
            }
            Ok(())
        })?;
        for name in &gone {
            self.acked.remove(name);
            self.claimed.remove(name);
            self.claimed_sizes.remove(name);
        }
        for name in &new {
            self.acked.insert((*name).to_string(), start);
        }
        if !gone.is_empty() {
            // The window answered the claims of a forgotten one too.
            self.recent.serve(names);
        }
        let done = self.acked.values().copied().min().unwrap_or(start);
        if done > self.done_through {
            // A forgotten destination was the slowest: the rows only it
            // needed go with the next save (now).
            self.advance_done(done, None)?;
            self.unsaved_acks = true;
            self.write_unsaved_acks()?;
        }
        Ok(())
    }

    fn take_losses(&mut self) -> Vec<Loss> {
        std::mem::take(&mut self.losses)
    }

    fn set_routing(&mut self, destination: &str, routing: &crate::routing::Routing) {
        if routing.takes_all() {
            self.routes.remove(destination);
        } else {
            self.routes.insert(destination.to_string(), routing.clone());
        }
    }

    fn pending(&mut self, destination: &str) -> Result<Removed, StoreError> {
        let cursor = self.acked.get(destination).copied().unwrap_or(0);
        let (n, b): (i64, i64) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events WHERE seq > ?1",
            params![cursor.max(self.done_through) as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Removed {
            events: n as u64,
            bytes: b as u64,
        })
    }

    fn save_acks(&mut self) -> Result<(), StoreError> {
        Ok(self.write_unsaved_acks()?)
    }

    fn drop_oldest(&mut self, keep_events: u64, keep_bytes: u64) -> Result<Removed, StoreError> {
        self.save_acks()?;
        // A backlog not counted yet would be deleted without leaving the
        // counts (and the rows over the caps are not known before): counted
        // first, as `clear` does.
        self.count_rows(usize::MAX)?;
        if self.count <= keep_events && self.bytes <= keep_bytes {
            return Ok(Removed::default());
        }
        let floor = self.max_claimed().max(self.done_through);
        // Walk the oldest unclaimed rows until enough is freed, then delete
        // that range in one statement.
        let mut need_events = self.count.saturating_sub(keep_events);
        let mut need_bytes = self.bytes.saturating_sub(keep_bytes);
        let mut through = floor;
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT seq, bytes FROM events WHERE seq > ?1 ORDER BY seq")?;
            let mut rows = stmt.query(params![floor as i64])?;
            while need_events > 0 || need_bytes > 0 {
                let Some(row) = rows.next()? else {
                    break;
                };
                through = row.get::<_, i64>(0)? as u64;
                let b = row.get::<_, i64>(1)? as u64;
                need_events = need_events.saturating_sub(1);
                need_bytes = need_bytes.saturating_sub(b);
            }
        }
        if through == floor {
            return Ok(Removed::default());
        }
        Ok(self.delete_range(floor, through)?)
    }

    fn drop_older_than(&mut self, cutoff_ms: i64) -> Result<Removed, StoreError> {
        self.save_acks()?;
        // As in `drop_oldest`: the rows it deletes must be in the counts.
        self.count_rows(usize::MAX)?;
        self.recent.clear();
        self.row_sizes.clear(self.last_seq);
        // Delivered rows left in their table are not the queue's to drop.
        let done_through = self.done_through;
        let floor = self.max_claimed().max(done_through);
        let mut generations = self.generations;
        let (acked, routes, commons) = (&self.acked, &self.routes, &mut self.commons);
        let ((events, bytes), losses): ((i64, i64), _) = write(&mut self.conn, |tx| {
            let counted = tx.query_row(
                "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events WHERE seq > ?1 AND created_ms < ?2",
                params![floor as i64, cutoff_ms],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let losses = Self::losses_in(
                tx,
                acked,
                routes,
                commons,
                floor,
                i64::MAX as u64,
                cutoff_ms,
            )?;
            for (t, table) in TABLES.iter().enumerate() {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE seq > ?1 AND created_ms < ?2"),
                    params![floor as i64, cutoff_ms],
                )?;
                generations.set_newest(t, newest_in(tx, t)?);
            }
            free_done_tables(tx, &mut generations, done_through)?;
            Ok((counted, losses))
        })?;
        self.generations = generations;
        self.losses = losses;
        self.count = self.count.saturating_sub(events as u64);
        self.bytes = self.bytes.saturating_sub(bytes as u64);
        Ok(Removed {
            events: events as u64,
            bytes: bytes as u64,
        })
    }

    fn clear(&mut self) -> Result<Removed, StoreError> {
        self.save_acks()?;
        self.claimed.clear();
        self.claimed_sizes.clear();
        // Counted first: what was not counted yet is removed too.
        self.count_backlog(usize::MAX)?;
        Ok(self.delete_range(0, u64::MAX >> 1)?)
    }

    fn count_backlog(&mut self, max_rows: usize) -> Result<bool, StoreError> {
        Ok(self.count_rows(max_rows)?)
    }

    fn read(&mut self, after_seq: u64, max_events: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.save_acks()?;
        Ok(self.read_rows(after_seq, max_events)?)
    }

    fn recover(&mut self) -> Result<u64, StoreError> {
        let probe = self
            .conn
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            });
        if let Some(reason) = probe
            .err()
            .and_then(|e| SqliteError::from(e).corrupt_reason())
        {
            // The loss is reported with the repair (`take_repair`).
            let fresh = Self::replace_corrupt(&self.path, &reason, Some(self.count))?;
            self.replace_with(fresh);
            return Ok(0);
        }
        self.check_file()?;
        Ok(0)
    }

    fn take_repair(&mut self) -> Option<Repair> {
        self.repair.take()
    }

    fn compact(&mut self) -> Result<(), StoreError> {
        self.save_acks()?;
        // Delivered rows waiting for their table to be freed whole go
        // first: a purge done by moving a cursor (consent revoked for one
        // destination) leaves none of them on disk either.
        self.delete_range(0, self.done_through)?;
        // Checkpoint and empty the WAL, rebuild the file without free pages
        // (VACUUM), then empty the WAL again: deleted rows leave no bytes in
        // either file. The checkpoint thread is held off meanwhile: SQLite
        // refuses a checkpoint while another runs, and says so only in
        // the pragma's answer.
        let _held = self.checkpoints.hold();
        truncate_wal(&self.conn)?;
        self.conn.execute_batch("VACUUM;")?;
        truncate_wal(&self.conn)?;
        Ok(())
    }

    fn summary(&mut self) -> Result<QueueSummary, StoreError> {
        // The first row by seq is the oldest but for a wrong clock; close enough
        // to decide when to look for expired events.
        // Asked at every publish of the stats: prepared once (a
        // `Connection::query_row` parses its SQL each time, 2-3% of the
        // worker's time in a burst).
        // `seq` is read too: ordered by a column it returns, SQLite merges
        // the view's two tables in order instead of sorting all their rows.
        let oldest = self
            .conn
            .prepare_cached(
                "SELECT seq, created_ms FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1",
            )?
            .query_row(params![self.done_through as i64], |r| r.get::<_, i64>(1))
            .optional()?;
        Ok(QueueSummary {
            events: self.count,
            bytes: self.bytes,
            oldest_created_ms: oldest,
            last_seq: self.last_seq,
        })
    }

    fn get_state(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM state WHERE key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?)
    }

    #[cfg(any(test, feature = "store-contract"))]
    fn check_consistency(&mut self) -> Result<(), String> {
        self.check_caches()
            .and_then(|()| self.check_commons())
            .map_err(|e| match e {
                Check::Differs(what) => what,
                Check::Read(e) => format!("reading the file failed: {e}"),
            })
    }
}

/// Why [`SqliteStore::check_caches`] failed.
#[cfg(any(test, feature = "store-contract"))]
enum Check {
    /// A cache disagrees with the file.
    Differs(String),
    /// The file could not be read.
    Read(rusqlite::Error),
}

#[cfg(any(test, feature = "store-contract"))]
impl From<rusqlite::Error> for Check {
    fn from(e: rusqlite::Error) -> Self {
        Check::Read(e)
    }
}

/// `Err(Check::Differs)` with the text, when `ok` is false.
#[cfg(any(test, feature = "store-contract"))]
fn ensure(ok: bool, what: impl FnOnce() -> String) -> core::result::Result<(), Check> {
    if ok {
        Ok(())
    } else {
        Err(Check::Differs(what()))
    }
}

#[cfg(any(test, feature = "store-contract"))]
impl SqliteStore {
    /// The invariants of the module docs, each checked against the file.
    fn check_caches(&mut self) -> core::result::Result<(), Check> {
        let c = &self.conn;
        // last_seq: the file's AUTOINCREMENT counters (which SQLite keeps
        // at or past every row's number).
        let read = |e: SqliteError| Check::Differs(e.to_string());
        let file_last = [
            newest_in(c, 0).map_err(read)?,
            newest_in(c, 1).map_err(read)?,
        ]
        .into_iter()
        .flatten()
        .fold(file_last_seq(c).map_err(read)?, u64::max);
        ensure(self.last_seq == file_last, || {
            format!(
                "last_seq {} but the file's counters and rows end at {file_last}",
                self.last_seq
            )
        })?;
        if let Some(t) = self.counting {
            let counter: Option<i64> = c
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = ?1",
                    [TABLES[t]],
                    |r| r.get(0),
                )
                .optional()?;
            ensure(counter == Some(self.last_seq as i64), || {
                format!(
                    "{} counts the appends, its counter is {counter:?}, last_seq {}",
                    TABLES[t], self.last_seq
                )
            })?;
        }
        // done_through: the lowest cursor.
        let lowest = self.acked.values().copied().min().unwrap_or(0);
        ensure(self.done_through == lowest, || {
            format!(
                "done_through {} but the lowest cursor is {lowest}",
                self.done_through
            )
        })?;
        // acked: never behind the file's cursors; equal to them once saved,
        // and then no table holds only rows at or below done_through.
        let mut stmt = c.prepare("SELECT name, acked_through FROM destinations")?;
        let saved: HashMap<String, u64> = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<core::result::Result<_, _>>()?;
        for (name, through) in &saved {
            let mem = self.acked.get(name).copied().unwrap_or(0);
            ensure(mem >= *through, || {
                format!("cursor of {name} is {mem} in memory, behind the file's {through}")
            })?;
        }
        // generations: each table's end as the file has it, the other
        // table's rows all before the writing one's.
        let mut bounds = [None; 2];
        for (t, table) in TABLES.iter().enumerate() {
            let (first, last): (Option<i64>, Option<i64>) = c.query_row(
                &format!("SELECT MIN(seq), MAX(seq) FROM {table}"),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let last = last.map(|n| n as u64);
            ensure(last == self.generations.newest(t), || {
                format!(
                    "{table} ends at {last:?}, held as {:?}",
                    self.generations.newest(t)
                )
            })?;
            bounds[t] = first.zip(last).map(|(f, l)| (f as u64, l));
        }
        let writing = self.generations.writing();
        if let (Some((_, older_last)), Some((first, _))) = (bounds[1 - writing], bounds[writing]) {
            ensure(older_last < first, || {
                format!(
                    "{} ends at {older_last}, after the writing table {} starts at {first}",
                    TABLES[1 - writing],
                    TABLES[writing]
                )
            })?;
        }
        let tables_done = bounds
            .iter()
            .flatten()
            .filter(|(_, last)| *last <= self.done_through)
            .count();
        if !self.unsaved_acks {
            ensure(saved == self.acked, || {
                format!(
                    "acks saved, but the file's cursors {saved:?} are not {:?}",
                    self.acked
                )
            })?;
            ensure(tables_done == 0, || {
                format!(
                    "acks saved, but a table of rows all at or below {} is left",
                    self.done_through
                )
            })?;
        }
        // count and bytes: the rows after done_through, less a backlog not counted yet.
        let (uncounted_after, uncounted_through) = self.uncounted.unwrap_or((0, 0));
        let (rows, bytes): (i64, i64) = c.query_row(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events
             WHERE seq > ?1 AND NOT (seq > ?2 AND seq <= ?3)",
            params![
                self.done_through as i64,
                uncounted_after as i64,
                uncounted_through as i64
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        ensure(
            (self.count, self.bytes) == (rows as u64, bytes as u64),
            || {
                format!(
                    "count and bytes are {} and {}, the file has {rows} rows of {bytes} bytes",
                    self.count, self.bytes
                )
            },
        )?;
        // claimed: above the destination's cursor, within what was handed out.
        for (name, last) in &self.claimed {
            let cursor = self.acked.get(name).copied().unwrap_or(0);
            ensure(*last > cursor && *last <= self.last_seq, || {
                format!(
                    "{name} claims through {last}, cursor {cursor}, last seq {}",
                    self.last_seq
                )
            })?;
        }
        // claimed_sizes: consecutive batches from the cursor on, each the
        // size of its rows in the file.
        for (name, sizes) in &self.claimed_sizes {
            let mut start = self.acked.get(name).copied().unwrap_or(0);
            let claimed = self.claimed.get(name).copied().unwrap_or(0);
            for &(last, events, bytes) in sizes {
                let (n, b): (i64, i64) = c.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events WHERE seq > ?1 AND seq <= ?2",
                    params![start as i64, last as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                ensure(last > start && last <= claimed, || {
                    format!(
                        "{name}: a batch through {last} after {start}, claimed through {claimed}"
                    )
                })?;
                ensure((events, bytes) == (n as u64, b as u64), || {
                    format!("{name}: batch ({start}, {last}] kept as {events} events of {bytes} bytes, the file has {n} of {b}")
                })?;
                start = last;
            }
        }
        // row_sizes: consecutive rows after done_through, each the size the
        // file has.
        let (after, sizes) = self.row_sizes.held();
        ensure(sizes.is_empty() || after >= self.done_through, || {
            format!(
                "row sizes held from {after}, at or below done_through {}",
                self.done_through
            )
        })?;
        for (seq, &size) in (after + 1..).zip(sizes) {
            let in_file: Option<i64> = c
                .query_row(
                    "SELECT bytes FROM events WHERE seq = ?1",
                    params![seq as i64],
                    |r| r.get(0),
                )
                .optional()?;
            ensure(in_file == Some(i64::from(size)), || {
                format!("row {seq} held as {size} bytes, the file has {in_file:?}")
            })?;
        }
        // recent: consecutive rows, each as the file has it.
        let (held, held_bytes) = self.recent.held();
        let sum: usize = held.iter().map(|r| r.json.len()).sum();
        ensure(sum == held_bytes, || {
            format!("recent rows count {held_bytes} bytes, hold {sum}")
        })?;
        for (i, row) in held.iter().enumerate() {
            if let Some(prev) = i.checked_sub(1).and_then(|p| held.get(p)) {
                ensure(row.seq == prev.seq + 1, || {
                    format!("recent rows jump from {} to {}", prev.seq, row.seq)
                })?;
            }
            let in_file = c
                .query_row(
                    &format!("SELECT {ROW_COLUMNS} FROM events WHERE seq = ?1"),
                    params![row.seq as i64],
                    |r| {
                        let e = stored_event(r, &mut self.commons)?;
                        Ok((e.message_id, e.created_ms, e.json))
                    },
                )
                .optional()?;
            ensure(
                in_file.as_ref()
                    == Some(&(row.message_id.clone(), row.created_ms, row.json.clone())),
                || {
                    format!(
                        "recent row {} is {row:?}, the file has {in_file:?}",
                        row.seq
                    )
                },
            )?;
        }
        // Claims kept for other destinations to share: each row some
        // destination still needs is in the file as the claim has it.
        let kept: Vec<StoredEvent> = (self.recent.kept_claims())
            .flat_map(|c| c.iter())
            .filter(|r| r.seq > self.done_through)
            .cloned()
            .collect();
        for row in kept {
            let in_file = c
                .query_row(
                    &format!("SELECT {ROW_COLUMNS} FROM events WHERE seq = ?1"),
                    params![row.seq as i64],
                    |r| stored_event(r, &mut self.commons),
                )
                .optional()?;
            ensure(in_file.as_ref() == Some(&row), || {
                format!(
                    "a kept claim's row {} is {row:?}, the file has {in_file:?}",
                    row.seq
                )
            })?;
        }
        Ok(())
    }

    /// commons: as the file has them, at most `MAX_COMMONS`, each used only
    /// by rows at or below its `last_seq`, each row's there.
    fn check_commons(&mut self) -> core::result::Result<(), Check> {
        let c = &self.conn;
        let mut stmt = c.prepare("SELECT id, text, last_seq FROM commons ORDER BY id")?;
        let in_file = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let held = Commons::load(c).map_err(|e| Check::Differs(e.to_string()))?;
        ensure(
            held.len() == self.commons.len() && in_file.len() <= super::commons::MAX_COMMONS,
            || {
                format!(
                    "{} commons held, the file has {}",
                    self.commons.len(),
                    in_file.len()
                )
            },
        )?;
        for (id, text, last_seq) in &in_file {
            ensure(self.commons.has(*id, text), || {
                format!("common {id} is not held as the file has it")
            })?;
            let used_after: i64 = c.query_row(
                "SELECT COUNT(*) FROM events WHERE common = ?1 AND seq > ?2",
                params![id, last_seq],
                |r| r.get(0),
            )?;
            ensure(used_after == 0, || {
                format!("common {id} is used after its last_seq {last_seq}")
            })?;
        }
        // Delivered rows left in their table may name a tail gone with
        // them: they are never read again.
        let dangling: i64 = c.query_row(
            "SELECT COUNT(*) FROM events WHERE seq > ?1 AND common IS NOT NULL AND common NOT IN (SELECT id FROM commons)",
            params![self.done_through as i64],
            |r| r.get(0),
        )?;
        ensure(dangling == 0, || {
            format!("{dangling} rows refer to a common the file does not have")
        })
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // A file deleted since the last write would take its events with it
        // when this connection closes: move them to a new file first.
        if let Err(err) = self.check_file() {
            log::warn!("cairn: {}", err.to_store_error());
        }
        // A clean close keeps every ack; failing here only means those
        // events are sent again by the next client (same message ids).
        if let Err(err) = self.save_acks() {
            log::warn!("cairn: could not save delivery progress on close: {err}");
        }
        // Its connection closes first, so this one's close (after this
        // function) is the last and checkpoints what is left.
        self.checkpoints.stop();
    }
}

/// Copies the WAL back and empties it; a reader of an older snapshot (the
/// inspector, another process) that keeps it from finishing is logged, and
/// what it keeps goes at the next checkpoint.
fn truncate_wal(conn: &Connection) -> Result<()> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        log::warn!("cairn: the buffer file's WAL could not be emptied now: another connection is reading it; what it holds is copied back and cleared at the next checkpoint");
    }
    Ok(())
}

/// Closes a store that was replaced by a new one (its file moved aside,
/// deleted or replaced) without its `Drop` acting on the file now at its path.
fn retire(mut old: SqliteStore) {
    old.file_id = None;
    old.unsaved_acks = false;
}

/// What [`SqliteStore::replace_corrupt`] tells the app.
fn salvage_report(
    path: &Path,
    aside: &Path,
    reason: &str,
    saved: &Salvaged,
    queued: Option<u64>,
) -> Repair {
    let salvaged = saved.events.len() as u64;
    let lost = match queued {
        Some(q) => q.saturating_sub(salvaged),
        None => saved.lost,
    };
    let mut message = format!(
        "the buffer file {} was corrupt ({reason}) and was moved aside as {}; {salvaged} queued events were salvaged from it and will be sent, {lost} could not be read and are counted dropped as corrupt",
        path.display(),
        aside.display()
    );
    if let Some(why) = &saved.unreadable {
        message.push_str(&format!(" (nothing could be read: {why})"));
    }
    log::warn!("cairn: {message}");
    Repair { lost, message }
}

fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Renames `from` and its `-wal` and `-shm` files to `to`.
fn rename_with_sides(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    for suffix in ["-wal", "-shm"] {
        // The side files may not exist; a missing one is fine.
        let _ = std::fs::rename(side(from, suffix), side(to, suffix));
    }
    Ok(())
}

/// Removes `path` and its `-wal` and `-shm` files, those that exist.
fn remove_with_sides(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(side(path, suffix));
    }
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction: committed when `f`
/// succeeds, rolled back (when the transaction drops) when it fails. Every
/// write of the store goes through here, so none can forget the commit or
/// take a weaker lock (a deferred transaction could fail half-way with
/// SQLITE_BUSY when it upgrades to a write).
fn write<T>(
    conn: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// Writes saved-later acks into `tx`: each destination's cursor, and the
/// freeing of the tables every destination is done with. A table whose
/// last row is still to deliver keeps its delivered rows until it is
/// (`generations.rs`): freeing pages whole costs a fifteenth of deleting
/// row by row.
fn write_acks(
    tx: &rusqlite::Transaction<'_>,
    acked: &HashMap<String, u64>,
    done_through: u64,
    commons: &mut Commons,
    generations: &mut Generations,
) -> Result<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO destinations (name, acked_through) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET acked_through = excluded.acked_through",
    )?;
    for (name, through) in acked {
        upsert.execute(params![name, *through as i64])?;
    }
    free_done_tables(tx, generations, done_through)?;
    commons.prune(tx, done_through)
}

/// Empties each table whose rows every destination is done with (all at
/// or below `done_through`, the lowest cursor as saved in `tx`).
fn free_done_tables(
    tx: &rusqlite::Transaction<'_>,
    generations: &mut Generations,
    done_through: u64,
) -> Result<()> {
    for t in generations.free_done(done_through) {
        // No `WHERE`: SQLite frees the table's pages whole.
        tx.prepare_cached(&format!("DELETE FROM {}", TABLES[t]))?
            .execute([])?;
    }
    Ok(())
}

/// The largest sequence number the file handed out: its tables'
/// AUTOINCREMENT counters (which outlive the rows), 0 for a new file.
fn file_last_seq(conn: &Connection) -> Result<u64> {
    let last: Option<i64> = conn
        .prepare_cached(
            "SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('events_a', 'events_b')",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(last.unwrap_or(0).max(0) as u64)
}

/// Sets table `t`'s AUTOINCREMENT counter to `last_seq` (never back), so
/// its next row is numbered after every row of either table.
fn set_counter(tx: &rusqlite::Transaction<'_>, t: usize, last_seq: u64) -> Result<()> {
    let table = TABLES[t];
    let moved = tx
        .prepare_cached("UPDATE sqlite_sequence SET seq = MAX(seq, ?2) WHERE name = ?1")?
        .execute(params![table, last_seq as i64])?;
    if moved == 0 {
        tx.prepare_cached("INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)")?
            .execute(params![table, last_seq as i64])?;
    }
    Ok(())
}

/// The largest `seq` in table `t` of [`TABLES`], `None` if it is empty.
fn newest_in(conn: &Connection, t: usize) -> Result<Option<u64>> {
    let newest: Option<i64> = conn
        .prepare_cached(&format!("SELECT MAX(seq) FROM {}", TABLES[t]))?
        .query_row([], |r| r.get(0))?;
    Ok(newest.map(|n| n.max(0) as u64))
}

/// What to write for `e`: its head and common, or its whole JSON.
fn split_row<'e>(
    tx: &rusqlite::Transaction<'_>,
    commons: &mut Commons,
    e: &'e NewEvent,
) -> Result<(&'e str, Option<i64>)> {
    Ok(
        match commons.shape(tx, &e.json, &e.message_id, e.created_ms)? {
            Shape::Head(head, id) => (head, Some(id)),
            Shape::Whole => (e.json.as_str(), None),
        },
    )
}

/// Opens the file at `path` (creating it) the one way the store uses it:
/// the settings below, then the schema steps up to [`SCHEMA_VERSION`].
fn open_connection(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Every statement the store prepares stays prepared: rusqlite keeps 16
    // by default, fewer than the store uses, and a statement pushed out is
    // parsed again at its next use.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Defensive mode refuses what only a malicious or broken statement would
    // do (writable_schema, journal_mode=OFF, writes to shadow tables): none
    // of the store's statements needs them, and a file corrupted that way
    // would take queued events with it.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    // journal_mode answers with a row; WAL lets readers (the inspector) in
    // while the app writes, and makes commits cheap.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SqliteError::WalRefused { mode });
    }
    // journal_size_limit: after a checkpoint the WAL is cut back to this
    // size instead of keeping the largest size it ever reached (a backlog
    // of 100,000 events written in one burst would leave tens of MB).
    conn.execute_batch(&format!(
        "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT};"
    ))?;
    migrate(&conn)?;
    Ok(conn)
}

/// Runs the schema steps the file lacks, each in its own transaction.
fn migrate(conn: &Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(SqliteError::NewerSchema { version });
    }
    for (from, step) in UPGRADES.iter().enumerate().skip(version as usize) {
        let sql = format!(
            "BEGIN IMMEDIATE; {step} PRAGMA user_version = {}; COMMIT;",
            from + 1
        );
        if let Err(e) = conn.execute_batch(&sql) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
    }
    Ok(())
}

fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let aside = side(path, &format!(".corrupt-{millis}"));
    rename_with_sides(path, &aside)?;
    Ok(aside)
}

/// The (device, inode) of the file at `path`, if it exists.
#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::super::{contract, DEFAULT_DESTINATION};
    use super::*;

    fn temp() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cairn.db");
        (dir, path)
    }

    /// The store at `p` with events 1 to `n` appended.
    fn with_events(p: &Path, n: u32) -> SqliteStore {
        let mut s = SqliteStore::open(p).unwrap();
        s.append(&(1..=n).map(contract::ev).collect::<Vec<_>>(), &[])
            .unwrap();
        s
    }

    /// The rows of each event table, by `seq`, delivered ones included.
    fn tables(s: &SqliteStore) -> [Vec<i64>; 2] {
        TABLES.map(|table| {
            s.conn
                .prepare(&format!("SELECT seq FROM {table} ORDER BY seq"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        })
    }

    fn op() -> impl proptest::strategy::Strategy<Value = contract::Op> {
        use contract::Op;
        use proptest::prelude::*;
        prop_oneof![
            3 => (0u8..40).prop_map(Op::Append),
            3 => (1usize..30, 1usize..2_000).prop_map(|(max_events, max_bytes)| Op::Claim { max_events, max_bytes }),
            1 => Just(Op::Release),
            2 => Just(Op::AckClaim),
            1 => Just(Op::AckPart),
            1 => Just(Op::SaveAcks),
            1 => (0u64..60, 0u64..3_000).prop_map(|(keep_events, keep_bytes)| Op::DropOldest { keep_events, keep_bytes }),
            1 => (1_000i64..1_200).prop_map(Op::DropOlderThan),
            1 => Just(Op::Clear).prop_filter("rarely", |_| true),
            1 => Just(Op::Read),
            1 => (1usize..50).prop_map(Op::CountBacklog),
            2 => Just(Op::Switch),
        ]
    }

    proptest::proptest! {
        // 256: two destinations' claims meet (and are shared) in a few
        // workloads in ten; a sharing rule made too loose failed one run in
        // three at 48 cases and every run at 256 (about 5 s).
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]
        /// After every operation of a random workload, the in-memory caches
        /// (counts, cursors, claims and their sizes, recent rows, a backlog
        /// counted in steps) agree with the file.
        #[test]
        fn caches_agree_with_the_file_after_every_operation(
            backlog in 0u8..80,
            ops in proptest::collection::vec(op(), 1..50),
        ) {
            let (_d, p) = temp();
            {
                let mut store = SqliteStore::open(&p).unwrap();
                contract::run_ops(&mut store, &[contract::Op::Append(backlog)]);
            }
            let mut store = SqliteStore::open_counting_later(&p).unwrap();
            contract::run_ops(&mut store, &ops);
        }

        /// The same with two destinations sharing the queue, declared on a
        /// file with a backlog (the second starts where the first stands).
        #[test]
        fn caches_agree_with_the_file_with_two_destinations(
            backlog in 0u8..80,
            acked in 0u64..80,
            ops in proptest::collection::vec(op(), 1..50),
        ) {
            let (_d, p) = temp();
            {
                let mut store = SqliteStore::open(&p).unwrap();
                contract::run_ops(&mut store, &[contract::Op::Append(backlog)]);
                store.ack(DEFAULT_DESTINATION, acked.min(u64::from(backlog))).unwrap();
            }
            let mut store = SqliteStore::open_counting_later(&p).unwrap();
            contract::run_ops_on(&mut store, &[DEFAULT_DESTINATION, contract::SECOND], &ops);
            drop(store);
            // Reopened: the cursors and counts come back from the file.
            let mut store = SqliteStore::open(&p).unwrap();
            store.set_destinations(&[DEFAULT_DESTINATION, contract::SECOND]).unwrap();
            store.check_consistency().unwrap();
        }
    }

    #[test]
    fn contract_two_destinations() {
        let (_d, p) = temp();
        contract::two_destinations(&mut SqliteStore::open(&p).unwrap());
    }

    #[test]
    fn contract_two_destinations_workload() {
        let (_d, p) = temp();
        contract::two_destinations_workload(&mut SqliteStore::open(&p).unwrap());
    }

    /// The opener's hardening holds on the store's connection: the WAL is
    /// cut back after checkpoints, and defensive mode refuses a write to
    /// the schema table that would otherwise corrupt the file.
    #[test]
    fn the_connection_is_hardened() {
        let (_d, p) = temp();
        let store = SqliteStore::open(&p).unwrap();
        let limit: i64 = store
            .conn
            .query_row("PRAGMA journal_size_limit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(limit, JOURNAL_SIZE_LIMIT);
        assert!(store
            .conn
            .db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE)
            .unwrap());
        let tamper = store.conn.execute_batch(
            "PRAGMA writable_schema=ON; UPDATE sqlite_master SET sql = 'x' WHERE name = 'state';",
        );
        assert!(
            tamper.is_err(),
            "defensive mode let the schema be rewritten"
        );
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn contract_append_claim_ack() {
        let (_d, p) = temp();
        contract::append_claim_ack(&mut SqliteStore::open(&p).unwrap());
    }
    #[test]
    fn contract_byte_cap_keeps_first() {
        let (_d, p) = temp();
        contract::byte_cap_keeps_first(&mut SqliteStore::open(&p).unwrap());
    }
    #[test]
    fn contract_drops_skip_claimed() {
        let (_d, p) = temp();
        contract::drops_skip_claimed(&mut SqliteStore::open(&p).unwrap());
    }
    #[test]
    fn contract_state_roundtrip() {
        let (_d, p) = temp();
        contract::state_roundtrip(&mut SqliteStore::open(&p).unwrap());
    }

    #[test]
    fn survives_reopen_and_forgets_claims() {
        let (_d, p) = temp();
        {
            let mut s = SqliteStore::open(&p).unwrap();
            s.append(
                &(1..=4).map(contract::ev).collect::<Vec<_>>(),
                &[("k".into(), Some("v".into()))],
            )
            .unwrap();
            let b = s.claim(DEFAULT_DESTINATION, 2, 1 << 20).unwrap();
            s.ack(DEFAULT_DESTINATION, b[0].seq).unwrap();
            // m2 is claimed but not acked when the "process" ends.
        }
        let mut s = SqliteStore::open(&p).unwrap();
        let sum = s.summary().unwrap();
        assert_eq!((sum.events, sum.last_seq), (3, 4));
        assert_eq!(s.get_state("k").unwrap().as_deref(), Some("v"));
        let b = s.claim(DEFAULT_DESTINATION, 10, 1 << 20).unwrap();
        let ids: Vec<_> = b.iter().map(|e| e.message_id.as_str()).collect();
        assert_eq!(
            ids,
            ["m2", "m3", "m4"],
            "the unacked claim is sent again after a restart"
        );
        let version: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    /// Acks free what is delivered a table at a time (`generations.rs`):
    /// delivered rows wait at the front of a table whose last row is still
    /// to deliver, never read again, and the table is emptied whole once
    /// it is delivered. Sequence numbers go on from where they were, also
    /// after a restart with both tables empty.
    #[test]
    fn delivered_rows_go_a_table_at_a_time_and_numbers_go_on() {
        let (_d, p) = temp();
        let queued = |s: &mut SqliteStore| -> Vec<u64> {
            s.read(0, 100).unwrap().iter().map(|e| e.seq).collect()
        };
        {
            let mut s = with_events(&p, 3);
            let b = s.claim(DEFAULT_DESTINATION, 2, 1 << 20).unwrap();
            s.ack(DEFAULT_DESTINATION, b[1].seq).unwrap();
            // The ack is saved with this append, in one transaction; the
            // other table is empty, so the new row starts it.
            assert_eq!(s.append(&[contract::ev(4)], &[]).unwrap(), 4);
            assert_eq!(tables(&s), [vec![1, 2, 3], vec![4]]);
            assert_eq!(queued(&mut s), [3, 4], "delivered rows are not read");
            s.check_consistency().unwrap();
            // Nor counted or listed by a reader of the file.
            let seen = super::super::inspect::inspect(&p, 10).unwrap();
            assert_eq!((seen.queued_events, seen.delivered_waiting_events), (2, 2));
            let numbers: Vec<i64> = seen.events.iter().filter_map(|e| e["n"].as_i64()).collect();
            assert_eq!(numbers, [3, 4]);
            // The first table's last row delivered: it is emptied whole.
            let b = s.claim(DEFAULT_DESTINATION, 1, 1 << 20).unwrap();
            s.ack(DEFAULT_DESTINATION, b[0].seq).unwrap();
            s.save_acks().unwrap();
            assert_eq!(tables(&s), [Vec::<i64>::new(), vec![4]]);
            // Appends move to the emptied table.
            s.append(&[contract::ev(5), contract::ev(6)], &[]).unwrap();
            assert_eq!(tables(&s), [vec![5, 6], vec![4]]);
            assert_eq!(queued(&mut s), [4, 5, 6]);
            s.check_consistency().unwrap();
            let b = s.claim(DEFAULT_DESTINATION, 10, 1 << 20).unwrap();
            s.ack(DEFAULT_DESTINATION, b[2].seq).unwrap();
            s.save_acks().unwrap();
            assert_eq!(tables(&s), [Vec::<i64>::new(), Vec::new()]);
            s.check_consistency().unwrap();
        }
        let mut s = SqliteStore::open(&p).unwrap();
        assert_eq!(s.summary().unwrap().events, 0);
        assert_eq!(s.append(&[contract::ev(7)], &[]).unwrap(), 7);
        s.check_consistency().unwrap();
    }

    /// Delivered rows wait at a table's front until the table is freed
    /// whole; a purge that moved a cursor (consent revoked for one
    /// destination) then compacts, and none of them may stay on disk.
    #[test]
    fn compact_leaves_no_delivered_row_on_disk() {
        let (_d, p) = temp();
        let mut s = with_events(&p, 3);
        let b = s.claim(DEFAULT_DESTINATION, 2, 1 << 20).unwrap();
        s.ack(DEFAULT_DESTINATION, b[1].seq).unwrap();
        s.save_acks().unwrap();
        assert_eq!(
            tables(&s),
            [vec![1, 2, 3], vec![]],
            "the delivered rows wait behind row 3"
        );
        // Row 3 is on the wire as the purge compacts (it stays queued).
        let on_wire = s.claim(DEFAULT_DESTINATION, 10, 1 << 20).unwrap();
        s.compact().unwrap();
        assert_eq!(tables(&s), [vec![3], vec![]]);
        let queued: Vec<u64> = s.read(0, 10).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(queued, [3]);
        s.check_consistency().unwrap();
        let file = std::fs::read(&p).unwrap();
        let has = |needle: &[u8]| file.windows(needle.len()).any(|w| w == needle);
        assert!(has(br#"{"n":3}"#), "the queued event is in the file");
        assert!(
            !has(br#"{"n":1}"#) && !has(br#"{"n":2}"#),
            "the delivered ones are not"
        );
        // Its answer still counts: acknowledged, it leaves the file.
        s.ack(DEFAULT_DESTINATION, on_wire[0].seq).unwrap();
        s.save_acks().unwrap();
        assert_eq!(tables(&s), [Vec::<i64>::new(), vec![]]);
        assert_eq!(s.summary().unwrap().events, 0);
        s.check_consistency().unwrap();
        drop(s);
        let mut s = SqliteStore::open(&p).unwrap();
        assert_eq!(s.append(&[contract::ev(4)], &[]).unwrap(), 4);
        s.check_consistency().unwrap();
    }

    /// A file whose counter was set back behind its rows (edited, or
    /// damaged) still gets numbers no row has, though each table counts
    /// alone and the next rows go to the other, empty one.
    #[test]
    fn numbers_go_on_past_every_row_when_the_counter_is_behind() {
        let (_d, p) = temp();
        drop(with_events(&p, 5));
        Connection::open(&p)
            .unwrap()
            .execute_batch("UPDATE sqlite_sequence SET seq = 2")
            .unwrap();
        let mut s = SqliteStore::open(&p).unwrap();
        assert_eq!(s.append(&[contract::ev(6)], &[]).unwrap(), 6);
        s.check_consistency().unwrap();
        let seqs: Vec<u64> = s.read(0, 10).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    }

    /// A file whose events span both tables, with delivered rows waiting
    /// at the front of one: salvage reads what is queued, from both, in
    /// order, and nothing delivered.
    #[test]
    fn salvage_reads_the_queue_from_both_tables_in_order() {
        let (_d, p) = temp();
        let mut s = SqliteStore::open(&p).unwrap();
        s.append(&(1..=50).map(contract::shaped_ev).collect::<Vec<_>>(), &[])
            .unwrap();
        let b = s.claim(DEFAULT_DESTINATION, 10, 1 << 20).unwrap();
        s.ack(DEFAULT_DESTINATION, b[9].seq).unwrap();
        s.append(
            &(51..=100).map(contract::shaped_ev).collect::<Vec<_>>(),
            &[],
        )
        .unwrap();
        assert_eq!(s.generations.newest(0), Some(50));
        assert_eq!(s.generations.newest(1), Some(100));
        s.check_consistency().unwrap();
        drop(s);
        let saved = salvage(&p);
        let seqs: Vec<u64> = saved.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (11..=100).collect::<Vec<_>>());
        assert_eq!((saved.last_seq, saved.lost), (100, 0));
    }

    #[test]
    fn claims_from_memory_match_the_file_through_retries_drops_and_a_restart() {
        let (_d, p) = temp();
        let mut s = SqliteStore::open(&p).unwrap();
        let ids = |b: &[StoredEvent]| b.iter().map(|e| e.message_id.clone()).collect::<Vec<_>>();
        s.append(&(1..=5).map(contract::ev).collect::<Vec<_>>(), &[])
            .unwrap();
        assert_eq!(
            ids(&s.claim(DEFAULT_DESTINATION, 2, 1 << 20).unwrap()),
            ["m1", "m2"]
        );
        // A failed upload: the same events again (from the file), then on.
        s.release(DEFAULT_DESTINATION);
        assert_eq!(
            ids(&s.claim(DEFAULT_DESTINATION, 3, 1 << 20).unwrap()),
            ["m1", "m2", "m3"]
        );
        assert_eq!(
            ids(&s.claim(DEFAULT_DESTINATION, 10, 1 << 20).unwrap()),
            ["m4", "m5"]
        );
        s.ack(DEFAULT_DESTINATION, 5).unwrap();
        s.append(&(6..=9).map(contract::ev).collect::<Vec<_>>(), &[])
            .unwrap();
        // A cap drops the oldest unclaimed: the claim must not see them.
        s.drop_oldest(2, u64::MAX).unwrap();
        assert_eq!(
            ids(&s.claim(DEFAULT_DESTINATION, 10, 1 << 20).unwrap()),
            ["m8", "m9"]
        );
        s.ack(DEFAULT_DESTINATION, 9).unwrap();
        s.append(&(10..=11).map(contract::ev).collect::<Vec<_>>(), &[])
            .unwrap();
        drop(s);
        let mut s = SqliteStore::open(&p).unwrap();
        assert_eq!(
            ids(&s.claim(DEFAULT_DESTINATION, 10, 1 << 20).unwrap()),
            ["m10", "m11"]
        );
    }

    #[test]
    fn appends_of_many_rows_keep_their_order_and_sequence_numbers() {
        let (_d, p) = temp();
        let mut s = SqliteStore::open(&p).unwrap();
        // Two whole multi-row statements and a remainder, then a remainder alone.
        let n = 2 * ROWS_PER_INSERT as u32 + 3;
        assert_eq!(
            s.append(&(1..=n).map(contract::ev).collect::<Vec<_>>(), &[])
                .unwrap(),
            u64::from(n)
        );
        assert_eq!(
            s.append(&[contract::ev(n + 1)], &[]).unwrap(),
            u64::from(n) + 1
        );
        let from_memory = s.claim(DEFAULT_DESTINATION, 1_000, 1 << 30).unwrap();
        s.release(DEFAULT_DESTINATION);
        let from_file = s.read_rows(0, 1_000).unwrap();
        assert_eq!(from_memory, from_file);
        assert_eq!(from_file.len(), n as usize + 1);
        for (i, e) in (1..).zip(&from_file) {
            let want = contract::ev(i);
            assert_eq!(
                (e.seq, &e.message_id, e.created_ms, &e.json),
                (u64::from(i), &want.message_id, want.created_ms, &want.json)
            );
        }
    }

    #[test]
    fn acks_of_whole_batches_and_of_split_ones_keep_the_counts_right() {
        let (_d, p) = temp();
        let mut s = with_events(&p, 12);
        let counted = |s: &mut SqliteStore| {
            s.save_acks().unwrap();
            let sum = s.summary().unwrap();
            let (n, b): (i64, i64) = s
                .conn
                .query_row(
                    &format!("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events WHERE seq > {LOWEST_CURSOR}"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(
                (sum.events, sum.bytes),
                (n as u64, b as u64),
                "the kept counters match the file"
            );
            sum.events
        };
        let b = s.claim(DEFAULT_DESTINATION, 4, 1 << 20).unwrap();
        // A split (413): the first half, then the second.
        s.ack(DEFAULT_DESTINATION, b[1].seq).unwrap();
        assert_eq!(counted(&mut s), 10);
        s.ack(DEFAULT_DESTINATION, b[3].seq).unwrap();
        assert_eq!(counted(&mut s), 8);
        // Two batches claimed, acked one at a time, then both at once.
        let b1 = s.claim(DEFAULT_DESTINATION, 3, 1 << 20).unwrap();
        let b2 = s.claim(DEFAULT_DESTINATION, 3, 1 << 20).unwrap();
        s.ack(DEFAULT_DESTINATION, b1[2].seq).unwrap();
        assert_eq!(counted(&mut s), 5);
        s.ack(DEFAULT_DESTINATION, b2[2].seq).unwrap();
        assert_eq!(counted(&mut s), 2);
        let b3 = s.claim(DEFAULT_DESTINATION, 1, 1 << 20).unwrap();
        let b4 = s.claim(DEFAULT_DESTINATION, 1, 1 << 20).unwrap();
        assert_eq!(b3.len() + b4.len(), 2);
        s.ack(DEFAULT_DESTINATION, b4[0].seq).unwrap();
        assert_eq!(counted(&mut s), 0);
        // A released claim is claimed again and counted once.
        s.append(&(13..=15).map(contract::ev).collect::<Vec<_>>(), &[])
            .unwrap();
        s.claim(DEFAULT_DESTINATION, 3, 1 << 20).unwrap();
        s.release(DEFAULT_DESTINATION);
        let again = s.claim(DEFAULT_DESTINATION, 3, 1 << 20).unwrap();
        s.ack(DEFAULT_DESTINATION, again[2].seq).unwrap();
        assert_eq!(counted(&mut s), 0);
    }

    #[test]
    fn corrupt_file_is_moved_aside() {
        let (dir, p) = temp();
        std::fs::write(&p, b"this is not a database, just garbage bytes ............................................").unwrap();
        let mut s = SqliteStore::open(&p).unwrap();
        let aside = s.moved_aside().unwrap().to_path_buf();
        assert!(aside.exists());
        assert!(aside
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("cairn.db.corrupt-"));
        assert_eq!(s.append(&[contract::ev(1)], &[]).unwrap(), 1);
        drop(dir);
    }

    /// Event `i` as the recorder stores it: the body carries its message id.
    /// Event `i` as the recorder writes it, 300 bytes of properties and a
    /// context every event shares: stored as its head after the first.
    fn full_ev(i: u32) -> NewEvent {
        let mut e = with_context(i, "shared");
        e.json = e.json.replacen(
            "{\"n\":",
            &format!("{{\"pad\":\"{}\",\"n\":", "p".repeat(300)),
            1,
        );
        e
    }

    /// A file of 400 events, the first 50 delivered, closed (checkpointed).
    fn file_of_400(p: &Path) {
        let mut s = SqliteStore::open(p).unwrap();
        s.append(
            &(1..=400).map(full_ev).collect::<Vec<_>>(),
            &[("identity".into(), Some("{\"userId\":\"u-1\"}".into()))],
        )
        .unwrap();
        s.ack(DEFAULT_DESTINATION, 50).unwrap();
        s.save_acks().unwrap();
        drop(s);
        assert!(!side(p, "-wal").exists(), "closing checkpointed the WAL");
    }

    /// Claims everything the store holds, checking each event is the one written.
    fn claim_all_intact(s: &mut SqliteStore) -> Vec<u64> {
        let all = s.claim(DEFAULT_DESTINATION, 100_000, usize::MAX).unwrap();
        for e in &all {
            let want = full_ev(e.seq as u32);
            assert_eq!(
                (&e.message_id, e.created_ms, &e.json),
                (&want.message_id, want.created_ms, &want.json)
            );
        }
        all.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn a_truncated_file_is_salvaged_in_order_with_its_state_and_the_rest_counted() {
        let (_d, p) = temp();
        file_of_400(&p);
        let len = std::fs::metadata(&p).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(len / 2)
            .unwrap();

        let mut s = SqliteStore::open(&p).unwrap();
        let aside = s.moved_aside().expect("moved aside").to_path_buf();
        assert!(aside.exists());
        let repair = s.take_repair().expect("a repair to report");
        assert_eq!(s.take_repair(), None, "reported once");
        let seqs = claim_all_intact(&mut s);
        assert!(
            seqs.len() > 50,
            "the readable half came back: {}",
            seqs.len()
        );
        assert_eq!(seqs[0], 51, "delivered events stay delivered");
        // In order; not always a prefix: a leaf page of the table can lie
        // past the cut (B-tree splits place pages where there is room).
        assert!(seqs.windows(2).all(|w| w[1] > w[0]), "in order: {seqs:?}");
        assert_eq!(seqs.len() as u64 + repair.lost, 350, "{repair:?}");
        assert!(
            repair.message.contains(&aside.display().to_string()),
            "{}",
            repair.message
        );
        assert!(repair
            .message
            .contains(&format!("{} queued events were salvaged", seqs.len())));
        assert_eq!(
            s.get_state("identity").unwrap().as_deref(),
            Some("{\"userId\":\"u-1\"}")
        );
        assert_eq!(s.summary().unwrap().last_seq, 400);
        s.release(DEFAULT_DESTINATION);
        assert_eq!(
            s.append(&[full_ev(401)], &[]).unwrap(),
            401,
            "seqs are never reused"
        );
        drop(s);
        // Salvaged events are durable in the new file.
        let mut s = SqliteStore::open(&p).unwrap();
        assert_eq!(s.take_repair(), None);
        assert_eq!(s.summary().unwrap().events, seqs.len() as u64 + 1);
    }

    #[test]
    fn a_damaged_page_in_the_middle_loses_only_the_rows_on_it() {
        let (_d, p) = temp();
        file_of_400(&p);
        let page = 4096u64;
        let pages = std::fs::metadata(&p).unwrap().len() / page;
        {
            use std::io::{Seek, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            f.seek(std::io::SeekFrom::Start(pages / 2 * page)).unwrap();
            f.write_all(&vec![0x5a; page as usize]).unwrap();
        }
        let mut s = SqliteStore::open(&p).unwrap();
        let repair = s.take_repair().expect("the damage was found");
        let seqs = claim_all_intact(&mut s);
        assert_eq!(seqs.len() as u64 + repair.lost, 350, "{repair:?}");
        assert!(
            repair.lost > 0 && repair.lost < 40,
            "about one page of rows: {repair:?}"
        );
        assert_eq!(
            *seqs.last().unwrap(),
            400,
            "the rows after the bad page were read"
        );
    }

    #[test]
    fn a_file_deleted_while_open_is_recreated_before_the_next_write_or_on_close() {
        let (_d, p) = temp();
        let mut s = SqliteStore::open(&p).unwrap();
        s.append(&(1..=3).map(full_ev).collect::<Vec<_>>(), &[])
            .unwrap();
        remove_with_sides(&p);
        assert_eq!(s.append(&[full_ev(4)], &[]).unwrap(), 4);
        assert!(p.exists(), "recreated before the write");
        let repair = s.take_repair().expect("reported");
        assert_eq!(repair.lost, 0);
        assert!(repair.message.contains("deleted"), "{}", repair.message);
        remove_with_sides(&p);
        drop(s);
        let mut s = SqliteStore::open(&p).unwrap();
        assert_eq!(
            claim_all_intact(&mut s),
            [1, 2, 3, 4],
            "the close moved them to safety"
        );
    }

    #[test]
    fn newer_schema_is_refused_with_advice() {
        let (_d, p) = temp();
        Connection::open(&p)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        let err = SqliteStore::open(&p).unwrap_err();
        assert!(err.to_string().contains("upgrade cairn"), "{err}");
    }

    /// Bytes of the `body` column over all rows, and the number of commons.
    fn stored_bytes(p: &Path) -> (i64, i64) {
        let c = Connection::open(p).unwrap();
        let body: i64 = c
            .query_row(
                "SELECT COALESCE(SUM(LENGTH(body)), 0) FROM events",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let commons: i64 = c
            .query_row("SELECT COUNT(*) FROM commons", [], |r| r.get(0))
            .unwrap();
        (body, commons)
    }

    /// Event `i` as the recorder writes it, a track with `context`.
    fn with_context(i: u32, context: &str) -> NewEvent {
        contract::recorded(
            i,
            &format!("{{\"type\":\"track\",\"properties\":{{\"n\":{i}}}"),
            &format!("{{\"device\":\"{context}\"}}"),
        )
    }

    /// Everything the file at `p` holds, claimed by a store opened anew
    /// (nothing in memory: each row read back from the file).
    fn claimed_from_file(p: &Path) -> Vec<StoredEvent> {
        let mut s = SqliteStore::open(p).unwrap();
        s.claim(DEFAULT_DESTINATION, 100_000, usize::MAX).unwrap()
    }

    fn jsons<'a>(events: impl IntoIterator<Item = &'a NewEvent>) -> Vec<&'a str> {
        events.into_iter().map(|e| e.json.as_str()).collect()
    }

    #[test]
    fn events_with_one_context_keep_it_once_and_come_back_byte_for_byte() {
        let (_d, p) = temp();
        let context = "d".repeat(200);
        let events: Vec<NewEvent> = (1..=300).map(|i| with_context(i, &context)).collect();
        let mut s = SqliteStore::open(&p).unwrap();
        s.append(&events, &[]).unwrap();
        s.check_consistency().unwrap();
        let whole: usize = events.iter().map(|e| e.json.len()).sum();
        let (body, commons) = stored_bytes(&p);
        assert_eq!(commons, 1);
        assert!(
            (body as usize) < whole / 2,
            "stored {body} bytes of {whole}"
        );
        // Read back from the file.
        drop(s);
        let got: Vec<(String, i64, String)> = claimed_from_file(&p)
            .into_iter()
            .map(|e| (e.message_id, e.created_ms, e.json))
            .collect();
        let want: Vec<(String, i64, String)> = events
            .iter()
            .map(|e| (e.message_id.clone(), e.created_ms, e.json.clone()))
            .collect();
        assert_eq!(got, want);
        // The inspector shows them whole too.
        let inspected = super::super::inspect::inspect(&p, 10).unwrap();
        for (shown, e) in inspected.events.iter().zip(&events) {
            let mut shown = shown.clone();
            shown.as_object_mut().unwrap().remove("_seq");
            let recorded: serde_json::Value = serde_json::from_str(&e.json).unwrap();
            assert_eq!(shown, recorded);
        }
        assert_eq!(inspected.events.len(), 10);
    }

    #[test]
    fn a_context_no_longer_used_leaves_the_file_once_its_events_are_delivered() {
        let (_d, p) = temp();
        let mut s = SqliteStore::open(&p).unwrap();
        let old: Vec<NewEvent> = (1..=20).map(|i| with_context(i, "old")).collect();
        s.append(&old, &[]).unwrap();
        let new: Vec<NewEvent> = (21..=40).map(|i| with_context(i, "new")).collect();
        s.append(&new, &[]).unwrap();
        assert_eq!(stored_bytes(&p).1, 2);
        let last = s.summary().unwrap().last_seq;
        s.ack(DEFAULT_DESTINATION, 20).unwrap();
        s.save_acks().unwrap();
        s.check_consistency().unwrap();
        assert_eq!(
            stored_bytes(&p).1,
            1,
            "the old context went with its events"
        );
        s.ack(DEFAULT_DESTINATION, last).unwrap();
        s.save_acks().unwrap();
        s.check_consistency().unwrap();
        assert_eq!(
            stored_bytes(&p).1,
            1,
            "the context in use stays, so the next events need not write it again"
        );
        s.append(&[with_context(41, "new")], &[]).unwrap();
        assert_eq!(stored_bytes(&p).1, 1);
        s.check_consistency().unwrap();
    }

    #[test]
    fn a_file_of_schema_1_is_upgraded_and_its_events_sent_as_they_were() {
        let (_d, p) = temp();
        let old = contract::shaped_ev(1);
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch(&format!("{} PRAGMA user_version = 1;", UPGRADES[0]))
                .unwrap();
            c.execute(
                "INSERT INTO events (message_id, created_ms, bytes, body) VALUES (?1, ?2, ?3, ?4)",
                params![
                    old.message_id,
                    old.created_ms,
                    old.json.len() as i64,
                    old.json
                ],
            )
            .unwrap();
        }
        let mut s = SqliteStore::open(&p).unwrap();
        let new: Vec<NewEvent> = (2..=5).map(contract::shaped_ev).collect();
        s.append(&new, &[]).unwrap();
        s.check_consistency().unwrap();
        drop(s);
        let version: i64 = Connection::open(&p)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let got: Vec<String> = claimed_from_file(&p).into_iter().map(|e| e.json).collect();
        assert_eq!(got, jsons(std::iter::once(&old).chain(&new)));
    }

    #[test]
    fn two_contexts_that_alternate_are_each_kept_once_and_contexts_of_their_own_never() {
        let (_d, p) = temp();
        let mut s = SqliteStore::open(&p).unwrap();
        let long = |name: &str| format!("{name}-{}", "x".repeat(200));
        // An app's own events and a backend's, turn about.
        let alternating: Vec<NewEvent> = (1..=40)
            .map(|i| with_context(i, &long(if i % 2 == 0 { "app" } else { "backend" })))
            .collect();
        s.append(&alternating, &[]).unwrap();
        assert_eq!(stored_bytes(&p).1, 2);
        // Every event with a context of its own: none is shared.
        let own: Vec<NewEvent> = (41..=80)
            .map(|i| with_context(i, &long(&format!("user-{i}"))))
            .collect();
        s.append(&own, &[]).unwrap();
        assert_eq!(stored_bytes(&p).1, 2);
        s.check_consistency().unwrap();
        drop(s);
        let got: Vec<String> = claimed_from_file(&p).into_iter().map(|e| e.json).collect();
        assert_eq!(got, jsons(alternating.iter().chain(&own)));
    }
}
