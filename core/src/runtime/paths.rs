//! One `Client` per buffer file in a process.
//!
//! Two clients on one file would each keep their own claims and counters, and
//! send the same events twice; this module refuses the second with a clear
//! error. In one process a registry of open paths does it; across processes an
//! exclusive lock on `<file>.lock`, which the OS releases when the holder
//! exits, even on a kill -9.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};

fn open_paths() -> &'static Mutex<HashSet<PathBuf>> {
    static OPEN: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(HashSet::new()))
}

thread_local! {
    /// The forking thread's hold on the open paths across a `fork()`; the
    /// child is a copy of that thread, so it finds the guard there too.
    static HELD_FOR_FORK: RefCell<Option<MutexGuard<'static, HashSet<PathBuf>>>> =
        const { RefCell::new(None) };
}

/// Before a `fork()` (runtime/fork.rs): takes the open paths' lock, so that
/// no other thread holds it at the fork. A lock held there would stay held
/// in the child for good, and the child's own client would hang in `build`.
pub(crate) fn hold_for_fork() {
    let guard = open_paths().lock().unwrap_or_else(|p| p.into_inner());
    HELD_FOR_FORK.with(|h| *h.borrow_mut() = Some(guard));
}

/// After a `fork()`, in the parent and in the child: lets the lock go (a
/// futex word released with an atomic store, fit for a forked child).
pub(crate) fn release_after_fork() {
    HELD_FOR_FORK.with(|h| drop(h.borrow_mut().take()));
}

/// Holds a storage path for one client; releases it on drop. The lock file
/// is held open only for its lock.
#[derive(Debug)]
pub(crate) struct PathGuard(
    PathBuf,
    #[expect(dead_code, reason = "never read: held open for the lock it keeps")]
    Option<std::fs::File>,
);

impl PathGuard {
    pub(crate) fn acquire(path: &Path) -> Result<Self> {
        let key = normalize(path);
        let mut open = open_paths().lock().unwrap_or_else(|p| p.into_inner());
        if !open.insert(key.clone()) {
            return Err(Error::StorageInUse {
                path: path.display().to_string(),
            });
        }
        match lock_file(path) {
            Ok(file) => Ok(PathGuard(key, file)),
            Err(e) => {
                open.remove(&key);
                Err(e)
            }
        }
    }
}

impl Drop for PathGuard {
    fn drop(&mut self) {
        let mut open = open_paths().lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&self.0);
    }
}

/// Takes the cross-process lock. A directory that cannot hold the lock file
/// is reported when the store itself fails to open there.
fn lock_file(path: &Path) -> Result<Option<std::fs::File>> {
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(lock))
    else {
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::StorageLocked {
            path: path.display().to_string(),
        }),
        // Locking unsupported on this file system: go on without it.
        Err(std::fs::TryLockError::Error(_)) => Ok(Some(file)),
    }
}

/// The absolute form of `path`, resolving the directory when the file does
/// not exist yet.
fn normalize(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}
