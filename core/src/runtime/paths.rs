//! One `Client` per buffer file in a process.
//!
//! Two clients on one file in one process would each keep their own claims
//! and counters, and send the same events twice; this module refuses the
//! second with a clear error. (Across processes SQLite's own locking keeps the
//! file consistent; see docs/architecture.md.)

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

fn open_paths() -> &'static Mutex<HashSet<PathBuf>> {
    static OPEN: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Holds a storage path for one client; releases it on drop.
#[derive(Debug)]
pub(crate) struct PathGuard(PathBuf);

impl PathGuard {
    pub(crate) fn acquire(path: &Path) -> Result<Self> {
        let key = normalize(path);
        let mut open = open_paths().lock().unwrap_or_else(|p| p.into_inner());
        if !open.insert(key.clone()) {
            return Err(Error::StorageInUse { path: path.display().to_string() });
        }
        Ok(PathGuard(key))
    }
}

impl Drop for PathGuard {
    fn drop(&mut self) {
        let mut open = open_paths().lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&self.0);
    }
}

/// The absolute form of `path`, resolving the directory when the file does
/// not exist yet.
fn normalize(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}
