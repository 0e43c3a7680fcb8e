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
//! workers wait for the fork to finish before entering another.
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
        BUSY.fetch_add(1, Ordering::SeqCst);
        if !FORKING.load(Ordering::SeqCst) {
            return Busy(());
        }
        // A fork began meanwhile: let it go first.
        BUSY.fetch_sub(1, Ordering::SeqCst);
    }
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
}

/// Runs in the parent after the fork: workers go on.
#[cfg(unix)]
extern "C" fn in_parent() {
    FORKING.store(false, Ordering::SeqCst);
}

/// How many forks this process is away from the one that started the
/// program; only ever changed by [`in_child`].
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Runs in the child right after a fork. Only async-signal-safe work here:
/// atomics.
#[cfg(unix)]
extern "C" fn in_child() {
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
        // touches atomics, which is what a handler run in a forked child may
        // do, and `before_fork` only waits on atomics in the forking thread.
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
