//! Handles for the recording fast path ([`crate::record`]): which
//! [`cairn::Client`] a `u64` handle names, and for how long.
//!
//! Every [`CairnClient`](crate::CairnClient) registers its core client under
//! a fresh handle when it is built and removes it when it is dropped (Kotlin
//! `close()`, Python garbage collection, Swift `deinit`). Handles are never
//! reused, so a handle kept past `close()` finds nothing, never another
//! client. After `shutdown()` the entry stays: the core itself then answers
//! every call with its own `ShutDown` error, as the uniffi path does.
//!
//! The hand-written entry point cannot use uniffi's object handles: their
//! layout is uniffi's private business and may change with any version.
//!
//! Fork: a lock is copied into a forked child as it was, so a lookup under
//! way on another thread at the instant of `fork()` would leave the
//! registry locked in the child for good, and the child's own client (what
//! it should build there) would hang in `register`. A `pthread_atfork`
//! handler takes the lock for writing before the fork (lookups last
//! nanoseconds) and lets it go on both sides after.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Live clients by handle. A read lock per call: calls from many threads
/// only contend with `register`/`unregister`, which happen once per client.
static CLIENTS: RwLock<BTreeMap<u64, Arc<cairn::Client>>> = RwLock::new(BTreeMap::new());

/// The next handle. Starts at 1, so 0 never names a client (a zeroed or
/// unset handle on the other side finds nothing).
static NEXT: AtomicU64 = AtomicU64::new(1);

// Nothing panics while holding the lock (inserts, removes and lookups of a
// BTreeMap), so a poisoned lock still holds a consistent map: use it.
fn read() -> RwLockReadGuard<'static, BTreeMap<u64, Arc<cairn::Client>>> {
    CLIENTS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write() -> RwLockWriteGuard<'static, BTreeMap<u64, Arc<cairn::Client>>> {
    CLIENTS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers `client` and returns its handle (never 0, never reused).
pub(crate) fn register(client: Arc<cairn::Client>) -> u64 {
    #[cfg(unix)]
    fork::watch();
    let handle = NEXT.fetch_add(1, Ordering::Relaxed);
    write().insert(handle, client);
    handle
}

/// Holding the registry across a `fork()` (see the module doc).
#[cfg(unix)]
mod fork {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Once, RwLockWriteGuard};

    type Held = Option<RwLockWriteGuard<'static, BTreeMap<u64, Arc<cairn::Client>>>>;

    thread_local! {
        /// The forking thread's hold on the registry; the child is a copy
        /// of that thread, so it finds the guard there too.
        static HELD: RefCell<Held> = const { RefCell::new(None) };
    }

    extern "C" fn before_fork() {
        let guard = super::write();
        HELD.with(|h| *h.borrow_mut() = Some(guard));
    }

    /// In the parent and in the child: the lock is free again (a futex
    /// word, released with an atomic store, fit for a forked child).
    extern "C" fn after_fork() {
        HELD.with(|h| drop(h.borrow_mut().take()));
    }

    /// Registers the handlers once per process (a child inherits them).
    pub(super) fn watch() {
        static REGISTERED: Once = Once::new();
        REGISTERED.call_once(|| {
            // SAFETY: plain `extern "C" fn`s; the prepare handler only
            // waits for the registry's lock in the forking thread, the
            // others release it.
            let status = unsafe {
                libc::pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork))
            };
            if status != 0 {
                eprintln!("cairn: cannot watch for fork() (pthread_atfork: {status}); a forked child may hang registering a client");
            }
        });
    }
}

/// Removes `handle`; later lookups find nothing. A call that already looked
/// the client up keeps its own reference and finishes normally; if that
/// turns out to be the last reference, the calling thread then runs the
/// client's drop (a final commit), as whoever released it last always does.
pub(crate) fn unregister(handle: u64) {
    // The client is dropped outside the lock: if this was the last
    // reference, its drop joins the worker thread.
    let removed = write().remove(&handle);
    drop(removed);
}

/// The client registered under `handle`, if it is still open. The returned
/// reference (not the lock) is held for the call, so a call that waits for
/// room in the core's channel never holds up `register` or `unregister`.
pub(crate) fn lookup(handle: u64) -> Option<Arc<cairn::Client>> {
    read().get(&handle).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(dir: &std::path::Path) -> Arc<cairn::Client> {
        let c = cairn::Client::builder("key")
            .endpoint("http://127.0.0.1:9")
            .storage_path(dir.join("registry.db"))
            .build()
            .unwrap();
        Arc::new(c)
    }

    #[test]
    fn a_handle_names_its_client_until_unregistered_and_is_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let h = register(Arc::clone(&c));
        assert_ne!(h, 0);
        assert!(Arc::ptr_eq(&lookup(h).unwrap(), &c));
        unregister(h);
        assert!(lookup(h).is_none());
        unregister(h); // twice is harmless
        let h2 = register(c);
        assert_ne!(h2, h);
        assert!(lookup(h).is_none());
        unregister(h2);
        assert!(lookup(0).is_none());
    }

    /// A process forked while another thread looks a client up (a
    /// pre-fork server whose threads record) can still register its own
    /// client: the lookup's lock is not inherited held. Each child gets
    /// 2 s (SIGALRM ends a hung one).
    #[cfg(unix)]
    #[test]
    fn a_child_forked_during_lookups_can_register() {
        use std::sync::atomic::AtomicBool;
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let h = register(Arc::clone(&c));
        let stop = Arc::new(AtomicBool::new(false));
        let looking = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::black_box(lookup(h));
                }
            })
        };
        let mut failed = 0;
        for _ in 0..50 {
            // SAFETY: the child only takes the registry's lock and exits
            // with `_exit`, running nothing of the test harness.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: plain calls; a hung child is ended by the alarm,
                // and `_exit` ends it without unwinding into the harness.
                unsafe { libc::alarm(2) };
                drop(write());
                unsafe { libc::_exit(0) };
            }
            let mut status = 0;
            // SAFETY: waiting for the child just forked.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            if status != 0 {
                failed += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        looking.join().unwrap();
        unregister(h);
        assert_eq!(
            failed, 0,
            "children that hung on the registry's lock, of 50"
        );
    }
}
