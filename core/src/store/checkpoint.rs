//! WAL checkpoints on a thread of their own, so a commit never waits for
//! the disk's sync.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the WAL
//! past 1,000 pages: it copies them into the database file and syncs both
//! files, several milliseconds on this project's test machine (tens on a
//! phone's flash) in which the worker took no calls. Those stalls were the
//! only time a caller of `cairn bench` waited `record_wait` out and spilled
//! (longest waits 5.1-6.5 ms); with no checkpoint in the commit, the longest
//! were 2.3-4.4 ms and the worker committed about a quarter faster.
//!
//! It decides:
//! - when: the store's connection has no automatic checkpoint; its WAL hook
//!   asks this module's thread for one once the WAL holds
//!   [`CHECKPOINT_PAGES`] (SQLite's own default), and the thread runs a
//!   `PASSIVE` checkpoint on a connection of its own, which never blocks
//!   the store's writes;
//! - the WAL's bound: a passive checkpoint cannot start the WAL over while
//!   the store commits faster than a checkpoint takes (SQLite rewinds it
//!   only once every page is copied back), so in a long burst the WAL
//!   grows. Past [`CATCH_UP_PAGES`] the commit that notices waits for the
//!   thread's checkpoint under way and copies the rest itself (as SQLite's
//!   own checkpoint would, once per [`CATCH_UP_PAGES`] instead of once per
//!   [`CHECKPOINT_PAGES`]); the next write then starts the WAL over, and
//!   `journal_size_limit` cuts the file back;
//! - failure: a thread that cannot be started or cannot open the file
//!   leaves the checkpoints to the commits, as SQLite's default does;
//! - fork: the thread opens its connection and checkpoints only while it
//!   holds off `fork()`, as the worker does (runtime/fork.rs): a lock it
//!   held would stay held in the child; its connection is closed by
//!   whoever stops it, not on the thread. In a forked child, a store's
//!   close leaves the parent's thread alone;
//! - `compact()`: while it empties the WAL it holds the thread off
//!   ([`Checkpoints::hold`]): SQLite lets one connection checkpoint at a
//!   time, and a `TRUNCATE` checkpoint meeting the thread's fails at once.
//!
//! It leaves durability to SQLite (a checkpoint is safe at any kill) and
//! the WAL's size after a checkpoint to `journal_size_limit` (sqlite.rs).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};

/// WAL pages (4 KiB each) past which the thread is asked for a checkpoint:
/// 1,000, SQLite's `wal_autocheckpoint` default.
pub const CHECKPOINT_PAGES: i32 = 1_000;

/// WAL pages past which a commit copies the rest back itself: 16,384 (64
/// MiB of 4 KiB pages), or fewer for a smaller queue ([`catch_up_pages_for`]).
/// The WAL of a burst of 100,000 events of `cairn bench` stays under it
/// (about 11,500 pages).
pub const CATCH_UP_PAGES: i32 = 16_384;

/// The fewest WAL pages a queue's byte cap brings the catch-up down to:
/// 2,048 (8 MiB), twice [`CHECKPOINT_PAGES`] and then some, so the thread
/// still does most of the copying.
pub const MIN_CATCH_UP_PAGES: i32 = 2_048;

/// The catch-up bound for a queue of at most `max_queue_bytes`: the WAL of
/// a burst grows no larger than the queue it writes, within
/// [`MIN_CATCH_UP_PAGES`] and [`CATCH_UP_PAGES`].
pub(crate) fn catch_up_pages_for(max_queue_bytes: u64) -> i32 {
    let pages = i32::try_from(max_queue_bytes / 4096).unwrap_or(i32::MAX);
    pages.clamp(MIN_CATCH_UP_PAGES, CATCH_UP_PAGES)
}

/// How long a commit that catches up waits for the thread's checkpoint
/// under way before copying what it can: a checkpoint of a few thousand
/// pages and two syncs.
const CATCH_UP_WAIT: Duration = Duration::from_millis(200);

/// How often the thread looks again while a `fork()` is under way.
const FORK_POLL: Duration = Duration::from_micros(200);

/// What the store's WAL hook and the thread share.
#[derive(Debug, Default)]
struct State {
    /// A checkpoint is asked for and not begun.
    asked: bool,
    /// The thread is inside a checkpoint.
    running: bool,
    /// The store is closing: the thread ends.
    stopping: bool,
    /// The thread could not be started or open the file: commits
    /// checkpoint as SQLite's default does.
    failed: bool,
    /// The store is emptying the WAL itself ([`Checkpoints::hold`]): the
    /// thread starts no checkpoint, commits checkpoint themselves.
    held: bool,
    /// WAL pages copied back as of the thread's last checkpoint: the next
    /// is asked for once [`CHECKPOINT_PAGES`] more are written, not at
    /// every commit (back-to-back checkpoints would sync for a few pages).
    copied: i32,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// WAL pages past which a commit catches up itself.
    catch_up_pages: AtomicI32,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            state: Mutex::default(),
            changed: Condvar::new(),
            catch_up_pages: AtomicI32::new(CATCH_UP_PAGES),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the thread is not inside a checkpoint, or `deadline`.
    fn idle<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        deadline: Option<Instant>,
    ) -> MutexGuard<'a, State> {
        while state.running {
            state = match deadline {
                None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        break;
                    };
                    self.changed
                        .wait_timeout(state, left)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0)
                }
            };
        }
        state
    }
}

/// The thread, once started; it hands its connection back when it ends.
type Thread = Arc<Mutex<Option<JoinHandle<Option<Connection>>>>>;

/// The checkpoint thread of one store's file, started at the first
/// checkpoint asked for. Stopped (and joined) by [`stop`](Self::stop) or on drop.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    shared: Arc<Shared>,
    thread: Thread,
    /// The process that installed it: a forked child has a copy of this
    /// value but not the thread.
    process: u32,
}

/// Keeps the thread out of the file while the store empties the WAL
/// itself; see [`Checkpoints::hold`].
pub(crate) struct Hold<'a>(&'a Shared);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.lock().held = false;
    }
}

impl Checkpoints {
    /// Takes over the checkpoints of `conn`, the store's connection to
    /// `path`: turns SQLite's automatic one off and hooks the WAL.
    pub(crate) fn install(conn: &mut Connection, path: &Path) -> rusqlite::Result<Self> {
        let shared = Arc::new(Shared::default());
        let thread = Arc::new(Mutex::new(None));
        let hook = Hook {
            shared: Arc::clone(&shared),
            thread: Arc::clone(&thread),
            path: path.to_path_buf(),
        };
        // Before the hook: the pragma installs SQLite's own hook.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.wal_hook(Some(move |wal: &mut Wal, pages: i32| {
            hook.committed(wal, pages);
            // A failed checkpoint is no failed commit: never an error here,
            // or the commit that called would report one.
            Ok(())
        }))?;
        Ok(Checkpoints {
            shared,
            thread,
            process: std::process::id(),
        })
    }

    /// WAL pages past which a commit copies the rest back itself.
    pub(crate) fn catch_up_pages(&self) -> i32 {
        self.shared.catch_up_pages.load(Ordering::Relaxed)
    }

    /// Sets [`catch_up_pages`](Self::catch_up_pages).
    pub(crate) fn set_catch_up_pages(&self, pages: i32) {
        self.shared.catch_up_pages.store(pages, Ordering::Relaxed);
    }

    /// Waits for the thread's checkpoint under way and keeps it from
    /// starting another until the returned guard is dropped; commits
    /// checkpoint themselves meanwhile. For the store's own checkpoints
    /// (`compact()`), which SQLite would refuse while the thread's runs.
    pub(crate) fn hold(&self) -> Hold<'_> {
        let mut state = self.shared.lock();
        state.held = true;
        state.asked = false;
        drop(self.shared.idle(state, None));
        Hold(&self.shared)
    }

    /// Ends the thread after its checkpoint under way, and closes its
    /// connection on the calling thread (the worker, inside its guard
    /// against `fork()`). The store calls it before its own connection
    /// closes, which then checkpoints last.
    pub(crate) fn stop(&mut self) {
        if std::process::id() != self.process {
            // A forked child: the thread is the parent's, and a lock the
            // parent held at the fork may be held here forever. Touch
            // nothing, and never let the handle be joined or detached.
            std::mem::forget(Arc::clone(&self.thread));
            return;
        }
        self.shared.lock().stopping = true;
        self.shared.changed.notify_all();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            // A panic in the thread has been reported by the panic hook;
            // the store's own close checkpoints anyway.
            drop(handle.join());
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the store's connection calls after each commit.
struct Hook {
    shared: Arc<Shared>,
    thread: Thread,
    path: PathBuf,
}

impl Hook {
    fn committed(&self, wal: &mut Wal, pages: i32) {
        if pages < CHECKPOINT_PAGES {
            return;
        }
        let mut state = self.shared.lock();
        if state.failed || state.stopping || state.held {
            drop(state);
            checkpoint_here(wal);
            return;
        }
        if pages >= self.shared.catch_up_pages.load(Ordering::Relaxed) {
            drop(state);
            self.catch_up(wal);
            return;
        }
        if pages < state.copied {
            // The WAL was started over since.
            state.copied = 0;
        }
        let due = pages - state.copied >= CHECKPOINT_PAGES;
        drop(state);
        if due {
            self.ask();
        }
    }

    /// Asks the thread for a checkpoint, starting it the first time.
    fn ask(&self) {
        let mut thread = self.thread.lock().unwrap_or_else(|p| p.into_inner());
        if thread.is_none() {
            match self.spawn() {
                Ok(handle) => *thread = Some(handle),
                Err(e) => {
                    log::warn!("cairn: cannot start the thread that checkpoints the buffer file's WAL ({e}); commits checkpoint instead");
                    self.shared.lock().failed = true;
                    return;
                }
            }
        }
        drop(thread);
        let mut state = self.shared.lock();
        if !state.asked {
            state.asked = true;
            self.shared.changed.notify_all();
        }
    }

    fn spawn(&self) -> std::io::Result<JoinHandle<Option<Connection>>> {
        let shared = Arc::clone(&self.shared);
        let path = self.path.clone();
        std::thread::Builder::new()
            .name("cairn-checkpoint".into())
            .spawn(move || run(&shared, &path))
    }

    /// Waits for the thread's checkpoint under way (at most
    /// [`CATCH_UP_WAIT`]), then copies the rest of the WAL back on the
    /// store's own connection, so that the next write starts it over.
    fn catch_up(&self, wal: &mut Wal) {
        let mut state = self.shared.lock();
        // Nothing new is written meanwhile: this is the only writer, and
        // it is here. A checkpoint asked for and not begun would only find
        // the pages this one copies.
        state.asked = false;
        drop(
            self.shared
                .idle(state, Some(Instant::now() + CATCH_UP_WAIT)),
        );
        checkpoint_here(wal);
    }
}

/// A passive checkpoint on the committing connection, as SQLite's default
/// would run; a busy or failed one is left to the next commit.
fn checkpoint_here(wal: &mut Wal) {
    if let Err(e) = wal.checkpoint_v2(CheckpointMode::PASSIVE) {
        log::debug!("cairn: WAL checkpoint left for later: {e}");
    }
}

/// The thread: a connection of its own, a passive checkpoint each time one
/// is asked for, until the store closes; the connection goes back to the
/// one who stopped it.
fn run(shared: &Shared, path: &Path) -> Option<Connection> {
    let mut conn = None;
    loop {
        let mut state = shared.lock();
        while (!state.asked || state.held) && !state.stopping {
            state = shared
                .changed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        if state.stopping {
            return conn;
        }
        // Inside the fork guard before it counts as running: a commit
        // catching up waits for a running checkpoint, and a fork waits for
        // that commit's worker. Not waiting inside `fork::busy()` either: a
        // worker inside its own busy stretch may be stopping this thread,
        // and the fork waits for that worker.
        let Some(busy) = crate::runtime::fork::try_busy() else {
            drop(
                shared
                    .changed
                    .wait_timeout(state, FORK_POLL)
                    .unwrap_or_else(|p| p.into_inner()),
            );
            continue;
        };
        state.asked = false;
        state.running = true;
        drop(state);
        if conn.is_none() {
            match open(path) {
                Ok(opened) => conn = Some(opened),
                Err(e) => log::warn!(
                    "cairn: cannot open {} to checkpoint its WAL ({e}); commits checkpoint instead",
                    path.display()
                ),
            }
        }
        let copied = conn.as_ref().map_or(0, |conn| {
            match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
                Ok((_, copied)) => copied,
                Err(e) => {
                    log::debug!("cairn: WAL checkpoint left for later: {e}");
                    0
                }
            }
        });
        drop(busy);
        let mut state = shared.lock();
        state.running = false;
        state.copied = copied.max(0);
        state.failed = conn.is_none();
        let failed = state.failed;
        drop(state);
        shared.changed.notify_all();
        if failed {
            return None;
        }
    }
}

/// The thread's connection: the file must exist (the store made it).
fn open(path: &Path) -> Result<Connection, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| e.to_string())?;
    // Opening reads the schema, which waits for a moment's exclusive lock
    // (the store's VACUUM) instead of failing for good.
    conn.busy_timeout(super::sqlite::BUSY_TIMEOUT)
        .map_err(|e| e.to_string())?;
    // A connection finds the file in WAL mode at its first read; until
    // then a checkpoint does nothing.
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("the file is in journal mode {mode}, not WAL"));
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;

    /// A WAL-mode file with one table, its checkpoints taken over.
    fn file(dir: &tempfile::TempDir) -> (Connection, Checkpoints, PathBuf) {
        let path = dir.path().join("q.db");
        let mut conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.execute_batch("PRAGMA synchronous=NORMAL; CREATE TABLE t (b BLOB NOT NULL);")
            .unwrap();
        let checkpoints = Checkpoints::install(&mut conn, &path).unwrap();
        (conn, checkpoints, path)
    }

    /// Commits `pages` pages of rows, one commit.
    fn commit_pages(conn: &Connection, pages: usize) {
        let tx = conn.unchecked_transaction().unwrap();
        let mut insert = tx.prepare_cached("INSERT INTO t (b) VALUES (?)").unwrap();
        for _ in 0..pages {
            // Random bytes do not shrink, and a row just under a page
            // takes one page (and one WAL frame).
            insert.execute([vec![0x5a_u8; 4000]]).unwrap();
        }
        drop(insert);
        tx.commit().unwrap();
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    fn wal(path: &Path) -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push("-wal");
        PathBuf::from(p)
    }

    /// Past CHECKPOINT_PAGES, the pages reach the database file without
    /// any commit copying them: the thread does.
    #[test]
    fn the_thread_copies_the_wal_back_while_commits_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, _checkpoints, path) = file(&dir);
        let before = size(&path);
        for _ in 0..(CHECKPOINT_PAGES as usize / 100 + 1) {
            commit_pages(&conn, 100);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while size(&path) < before + 900 * PAGE {
            assert!(
                Instant::now() < deadline,
                "no checkpoint: the database file has {} bytes, the WAL {}",
                size(&path),
                size(&wal(&path))
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A writer that never pauses long enough for the thread to finish
    /// still gets its WAL started over: the commit past CATCH_UP_PAGES
    /// copies the rest itself, and the next one writes from the start.
    #[test]
    fn a_writer_that_never_pauses_keeps_the_wal_bounded() {
        never_pausing_writer(CATCH_UP_PAGES);
    }

    #[test]
    fn a_smaller_bound_holds_too() {
        never_pausing_writer(MIN_CATCH_UP_PAGES);
    }

    fn never_pausing_writer(catch_up: i32) {
        let dir = tempfile::tempdir().unwrap();
        let (conn, checkpoints, path) = file(&dir);
        checkpoints.set_catch_up_pages(catch_up);
        let per_commit = 64;
        // Room for commits past the bound while a slow disk keeps the
        // thread's checkpoint longer than a catch-up waits; without the
        // catch-up the WAL reaches three times the bound.
        let bound = (catch_up as u64 + 1_024) * (PAGE + 24) + 32;
        let mut largest = 0;
        for _ in 0..(3 * catch_up as usize / per_commit) {
            commit_pages(&conn, per_commit);
            largest = largest.max(size(&wal(&path)));
        }
        assert!(
            largest <= bound,
            "the WAL reached {largest} bytes (bound {bound})"
        );
        assert!(
            size(&path) > catch_up as u64 * PAGE,
            "the pages were copied back into the database file"
        );
    }

    /// The store's own checkpoint (compact) is never refused for the
    /// thread's: held, the thread finishes and starts no other.
    #[test]
    fn a_held_thread_lets_the_store_empty_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, checkpoints, path) = file(&dir);
        for round in 0..20 {
            // Each round asks the thread for a checkpoint and, at once,
            // empties the WAL as `compact()` does.
            for _ in 0..(CHECKPOINT_PAGES as usize / 250 + 1) {
                commit_pages(&conn, 250);
            }
            let held = checkpoints.hold();
            let busy: i64 = conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .unwrap();
            assert_eq!(busy, 0, "round {round}: the checkpoint was refused");
            assert_eq!(size(&wal(&path)), 0, "round {round}: the WAL was emptied");
            drop(held);
        }
    }

    #[test]
    fn a_smaller_queue_brings_the_bound_down_to_8_mib() {
        let mib = 1024 * 1024;
        assert_eq!(
            catch_up_pages_for(64 * mib),
            CATCH_UP_PAGES,
            "the default cap"
        );
        assert_eq!(catch_up_pages_for(u64::MAX), CATCH_UP_PAGES);
        assert_eq!(catch_up_pages_for(16 * mib), 4_096);
        assert_eq!(catch_up_pages_for(mib), MIN_CATCH_UP_PAGES);
    }

    /// With the thread stopped (the store closing), commits checkpoint as
    /// SQLite's default does, and no thread is started again.
    #[test]
    fn after_stop_commits_checkpoint_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, mut checkpoints, path) = file(&dir);
        checkpoints.stop();
        let before = size(&path);
        for _ in 0..(CHECKPOINT_PAGES as usize / 100 + 1) {
            commit_pages(&conn, 100);
        }
        assert!(
            size(&path) >= before + 900 * PAGE,
            "the commit checkpointed"
        );
        assert!(checkpoints.thread.lock().unwrap().is_none());
    }
}
