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
//! What a child should do instead (build its own client, on its own file) is
//! for the docs to say (docs/python.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

/// How many forks this process is away from the one that started the
/// program; only ever changed by [`in_child`].
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Runs in the child right after a fork. Only async-signal-safe work here:
/// two atomic increments.
#[cfg(unix)]
extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    crate::ids::rotate();
}

/// Registers the fork handler once per process (a child inherits it).
fn watch() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        #[cfg(unix)]
        // SAFETY: `in_child` is a plain `extern "C" fn` that only touches
        // atomics, which is what a handler run in a forked child may do.
        unsafe {
            let status = libc::pthread_atfork(None, None, Some(in_child));
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
