//! Which storage paths `build()` refuses: those that can never hold the
//! buffer file, whatever happens later.
//!
//! A fault that may pass (a full disk, a file or directory that is read-only
//! or not ours for now, a lock held by another program) does not stop a
//! client: it starts, holds events in memory and tries the file again (see
//! `store/reopening.rs`). A misconfiguration that no retry can fix would
//! leave a client holding events in memory until they die with the process,
//! so it is refused at `build()` with what is wrong and what to do:
//!
//! - the path is a directory, or something other than a regular file (a
//!   device, a pipe, a socket);
//! - its directory does not exist, or is a file (or a part of the path is);
//! - its directory is on a special file system that cannot hold a file
//!   (Linux's `/proc`, `/sys`, cgroup, debugfs, ...).
//!
//! Permission denied (on the file or its directory) is taken as passing:
//! permissions can be fixed while the app runs (a restore, a data migration,
//! a volume mounted read-only for a while), and the client then writes what it
//! held. The checks are metadata only (`stat`, `statfs`), microseconds on the
//! caller's thread: SQLite opens the file on the worker thread.

use std::io::ErrorKind;
use std::path::Path;

use crate::error::{Error, Result};

/// Refuses a storage path that can never hold the buffer file.
pub(crate) fn check(path: &Path) -> Result<()> {
    let refuse = |reason: String| {
        Err(Error::Storage {
            path: path.display().to_string(),
            reason,
        })
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return refuse(format!(
                "it is a directory, and storage_path names the buffer file itself: give a file inside it, e.g. {}",
                path.join("cairn.db").display()
            ))
        }
        Ok(m) if !m.is_file() => {
            return refuse(
                "it is not a regular file (a device, a pipe or a socket): choose a storage_path in the app's data directory"
                    .into(),
            )
        }
        Err(e) if e.kind() == ErrorKind::NotADirectory => {
            return refuse(not_a_directory(path));
        }
        // A file to open, a file to create, or one we may not look at
        // now (permissions can change): the worker finds out.
        _ => {}
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return refuse(not_a_directory(path)),
        Err(e) if e.kind() == ErrorKind::NotADirectory => return refuse(not_a_directory(path)),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return refuse(format!(
                "the directory {} does not exist: create it, or choose another storage_path",
                dir.display()
            ))
        }
        // Permission denied on a directory above: may pass (see the module doc).
        Err(_) => return Ok(()),
    }
    if let Some(fs) = special_file_system(dir) {
        return refuse(format!(
            "{} is on {fs}, a special file system that cannot hold files: choose a storage_path in the app's data directory",
            dir.display()
        ));
    }
    Ok(())
}

fn not_a_directory(path: &Path) -> String {
    let dir = path.parent().unwrap_or(path);
    format!(
        "{} is not a directory (it, or a directory above it, is a file): choose a storage_path whose directory exists",
        dir.display()
    )
}

/// The name of the special (pseudo) file system `dir` is on, if it is one
/// that cannot hold a regular file.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn special_file_system(dir: &Path) -> Option<&'static str> {
    // From linux/magic.h. Each of these either refuses to create a file
    // (proc, sysfs, ...) or cannot hold SQLite's file (hugetlbfs).
    const SPECIAL: &[(u32, &str)] = &[
        (0x0000_9fa0, "procfs"),
        (0x6265_6572, "sysfs"),
        (0x0027_e0eb, "cgroupfs"),
        (0x6367_7270, "cgroup2fs"),
        (0x6462_6720, "debugfs"),
        (0x7472_6163, "tracefs"),
        (0x7363_6673, "securityfs"),
        (0x0000_1cd1, "devpts"),
        (0x6165_676c, "pstore"),
        (0xcafe_4a11, "bpffs"),
        (0x6265_6570, "configfs"),
        (0xde5e_81e4, "efivarfs"),
        (0xf97c_ff8c, "selinuxfs"),
        (0x6e73_6673, "nsfs"),
        (0x4249_4e4d, "binfmt_misc"),
        (0x9584_58f6, "hugetlbfs"),
    ];
    let stat = rustix::fs::statfs(dir).ok()?;
    // `allow`, not `expect`: the lint fires only where `f_type` is already a u64.
    #[allow(
        clippy::unnecessary_cast,
        reason = "the magic numbers are 32-bit; f_type's width differs by platform"
    )]
    let magic = stat.f_type as u64 as u32;
    SPECIAL
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn special_file_system(_dir: &Path) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(path: &Path) -> String {
        match check(path) {
            Err(e @ Error::Storage { .. }) => e.to_string(),
            other => panic!("{} was not refused: {other:?}", path.display()),
        }
    }

    #[test]
    fn a_file_to_create_or_open_in_a_directory_passes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cairn.db");
        check(&db).unwrap();
        std::fs::write(&db, b"").unwrap();
        check(&db).unwrap();
    }

    #[test]
    fn what_can_never_hold_the_file_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let text = refused(dir.path());
        assert!(
            text.contains("is a directory") && text.contains("cairn.db"),
            "{text}"
        );
        for p in [file.join("cairn.db"), file.join("a").join("cairn.db")] {
            let text = refused(&p);
            assert!(text.contains("not a directory"), "{text}");
        }
        let text = refused(&dir.path().join("missing").join("cairn.db"));
        assert!(text.contains("does not exist: create it"), "{text}");
        #[cfg(target_os = "linux")]
        {
            let text = refused(Path::new("/proc/cairn.db"));
            assert!(
                text.contains("procfs") && text.contains("cannot hold"),
                "{text}"
            );
            let text = refused(Path::new("/dev/null"));
            assert!(text.contains("not a regular file"), "{text}");
        }
    }
}
