//! Noticing a client used in a process forked from the one that built it.
//!
//! `fork()` copies the client's memory into the child but not its threads:
//! the worker that would commit and send the child's calls does not exist
//! there, so every call would be accepted and go nowhere (and a full calls
//! channel would block forever). Pre-fork servers (gunicorn, uWSGI) and
//! Python's `multiprocessing` fork this way. A handler registered with
//! `pthread_atfork` counts forks in the child; a client remembers the count
//! it was built under, and every call compares it (one atomic load) and
//! answers [`Error::Forked`](crate::Error::Forked) in a child.
//!
//! The same handler makes the child draw new message-id prefixes: it
//! inherits the thread's id counter, and the parent and the child would
//! otherwise hand out the same ids, which a backend would drop as duplicates.
//!
//! A fork also copies every lock as it was: a SQLite mutex that a worker
//! thread held at that moment stays held in the child forever, and the
//! child's own client (the right thing to build there) then hangs at its
//! first SQLite call. So workers mark the stretches in which they use their
//! store ([`busy`]), and a `fork()` waits, in the atfork `prepare` handler,
//! until no worker is in one (a few milliseconds: one step of a worker);
//! workers wait for the fork to finish before entering another. The same
//! handler holds the lock on the process's open buffer files
//! (runtime/paths.rs) across the fork, so that a client being built or
//! dropped on another thread does not leave it held in the child.
//!
//! What a child should do instead (build its own client, on its own file) is
//! for the docs to say (docs/python.md).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

/// Workers of this process inside a [`busy`] stretch now.
static BUSY: AtomicUsize = AtomicUsize::new(0);
/// A fork is under way: workers wait before a new busy stretch.
static FORKING: AtomicBool = AtomicBool::new(false);

/// How often a waiting side looks again.
const POLL: Duration = Duration::from_micros(100);

/// Marks a stretch in which a worker thread uses SQLite; a fork waits until
/// every such stretch is over. Dropping it ends the stretch.
pub(crate) struct Busy(());

/// Starts a busy stretch, after any fork under way.
pub(crate) fn busy() -> Busy {
    loop {
        while FORKING.load(Ordering::SeqCst) {
            std::thread::sleep(POLL);
        }
        if let Some(busy) = try_busy() {
            return busy;
        }
    }
}

/// Starts a busy stretch unless a fork is under way. For a thread that
/// must not wait for a fork while its owner waits for it: the WAL's
/// checkpoint thread, which a worker inside a busy stretch may be
/// stopping (`store/checkpoint.rs`).
pub(crate) fn try_busy() -> Option<Busy> {
    BUSY.fetch_add(1, Ordering::SeqCst);
    if !FORKING.load(Ordering::SeqCst) {
        return Some(Busy(()));
    }
    // A fork began meanwhile: let it go first.
    BUSY.fetch_sub(1, Ordering::SeqCst);
    None
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs in the forking thread before the fork: waits until no worker is
/// inside SQLite, and keeps them out until the fork is done.
#[cfg(unix)]
extern "C" fn before_fork() {
    FORKING.store(true, Ordering::SeqCst);
    while BUSY.load(Ordering::SeqCst) > 0 {
        std::thread::sleep(POLL);
    }
    super::paths::hold_for_fork();
}

/// Runs in the parent after the fork: workers go on.
#[cfg(unix)]
extern "C" fn in_parent() {
    super::paths::release_after_fork();
    FORKING.store(false, Ordering::SeqCst);
}

/// How many forks this process is away from the one that started the
/// program; only ever changed by [`in_child`].
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Runs in the child right after a fork. Only async-signal-safe work here:
/// atomics, and releasing the lock the forking thread took.
#[cfg(unix)]
extern "C" fn in_child() {
    super::paths::release_after_fork();
    GENERATION.fetch_add(1, Ordering::SeqCst);
    crate::ids::rotate();
    // The parent's workers are not here; a client built here starts clean.
    FORKING.store(false, Ordering::SeqCst);
}

/// Registers the fork handler once per process (a child inherits it).
fn watch() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        #[cfg(unix)]
        // SAFETY: the handlers are plain `extern "C" fn`s; `in_child` only
        // touches atomics and releases a futex-based lock (an atomic store),
        // which is what a handler run in a forked child may do, and
        // `before_fork` only waits, on atomics and that lock, in the forking
        // thread.
        unsafe {
            let status = libc::pthread_atfork(Some(before_fork), Some(in_parent), Some(in_child));
            if status != 0 {
                log::warn!("cairn: cannot watch for fork() (pthread_atfork: {status}); a client used in a forked child will not notice");
            }
        }
    });
}

/// The current generation, with the handler registered: what a client
/// built now remembers.
pub(crate) fn generation_at_build() -> u64 {
    watch();
    GENERATION.load(Ordering::SeqCst)
}

/// True in a process forked after a client built under `generation`.
pub(crate) fn forked_since(generation: u64) -> bool {
    GENERATION.load(Ordering::Relaxed) != generation
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// A process forked while another thread opens and closes clients'
    /// files can still open its own: the open-paths lock is not inherited
    /// held. Each child gets 2 s (SIGALRM ends a hung one).
    #[test]
    fn a_child_forked_while_files_open_and_close_can_open_its_own() {
        generation_at_build();
        let dir = tempfile::tempdir().unwrap();
        let busy = dir.path().join("busy.db");
        let own = dir.path().join("own.db");
        let stop = Arc::new(AtomicBool::new(false));
        let opening = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    drop(super::super::paths::PathGuard::acquire(&busy));
                }
            })
        };
        let mut hung = 0;
        for _ in 0..50 {
            // SAFETY: the child only opens a path and exits with `_exit`,
            // running nothing of the test harness.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: plain calls; a hung child is ended by the alarm.
                unsafe { libc::alarm(2) };
                let ok = super::super::paths::PathGuard::acquire(&own).is_ok();
                // SAFETY: ends the child without unwinding into the harness.
                unsafe { libc::_exit(if ok { 0 } else { 3 }) };
            }
            let mut status = 0;
            // SAFETY: waiting for the child just forked.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            if status != 0 {
                hung += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        opening.join().unwrap();
        assert_eq!(
            hung, 0,
            "children that could not open their own file, of 50"
        );
    }
}
