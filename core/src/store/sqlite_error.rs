//! What can go wrong inside the SQLite store, with the cause kept.
//!
//! The store's own functions return [`SqliteError`]: SQLite's error as
//! `rusqlite` gave it (so `?` needs no mapping, and the code SQLite answered
//! stays readable), or one of the store's own refusals. Only at the
//! [`Store`](super::Store) boundary is it sorted into the [`StoreError`] the
//! engine acts on (a write refused, a corrupt file, a lock held elsewhere,
//! anything else), with the same text. This module decides that sorting; the
//! engine decides what to do with each kind.

use std::path::PathBuf;

use rusqlite::ErrorCode;

use super::sqlite::SCHEMA_VERSION;
use super::StoreError;

/// A failure inside [`SqliteStore`](super::SqliteStore), before it is
/// sorted into a [`StoreError`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum SqliteError {
    /// A SQLite call failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// `PRAGMA journal_mode=WAL` answered another mode (a file system
    /// without shared memory, a read-only one).
    #[error("the file system refused WAL mode (got {mode})")]
    WalRefused {
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The file was written by a newer cairn.
    #[error("the file has schema version {version}, newer than this cairn ({SCHEMA_VERSION}): upgrade cairn or use another storage_path")]
    NewerSchema {
        /// The file's `user_version`.
        version: i64,
    },
    /// A corrupt file could not be moved aside to make room for a new one.
    #[error("{reason}; moving it aside failed too: {source}")]
    MoveAside {
        /// Why the file was found corrupt.
        reason: String,
        /// Why the rename failed.
        source: std::io::Error,
    },
    /// The file was deleted or replaced while in use, and its events could
    /// not be moved into a new file at its path.
    #[error("the buffer file {} was deleted or replaced while in use, and its events could not be moved to a new file yet: {}", path.display(), source.to_store_error())]
    FileReplaced {
        /// The storage path.
        path: PathBuf,
        /// Why the move failed.
        source: Box<SqliteError>,
    },
}

/// Shorthand for the store's internal results.
pub(crate) type Result<T, E = SqliteError> = core::result::Result<T, E>;

impl SqliteError {
    /// The [`StoreError`] this is to the engine, with this error's text.
    pub(crate) fn to_store_error(&self) -> StoreError {
        let text = self.to_string();
        match self {
            SqliteError::Sqlite(e) => match e.sqlite_error_code() {
                Some(
                    ErrorCode::DiskFull
                    | ErrorCode::ReadOnly
                    | ErrorCode::CannotOpen
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::PermissionDenied,
                ) => StoreError::Write(text),
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                    StoreError::Corrupt(text)
                }
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy(text),
                _ => StoreError::Other(text),
            },
            SqliteError::WalRefused { .. } | SqliteError::NewerSchema { .. } => {
                StoreError::Other(text)
            }
            SqliteError::MoveAside { .. } => StoreError::Corrupt(text),
            SqliteError::FileReplaced { .. } => StoreError::Write(text),
        }
    }

    /// The reason, when SQLite found the file corrupt (or not a database).
    pub(crate) fn corrupt_reason(&self) -> Option<String> {
        match self.to_store_error() {
            StoreError::Corrupt(reason) => Some(reason),
            _ => None,
        }
    }
}

impl From<SqliteError> for StoreError {
    fn from(e: SqliteError) -> Self {
        e.to_store_error()
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        SqliteError::from(e).to_store_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn sqlite_codes_sort_into_what_the_engine_acts_on() {
        let code = |c: i32| {
            SqliteError::from(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(c),
                None,
            ))
            .to_store_error()
        };
        assert!(matches!(
            code(rusqlite::ffi::SQLITE_FULL),
            StoreError::Write(_)
        ));
        assert!(matches!(
            code(rusqlite::ffi::SQLITE_CORRUPT),
            StoreError::Corrupt(_)
        ));
        assert!(matches!(
            code(rusqlite::ffi::SQLITE_NOTADB),
            StoreError::Corrupt(_)
        ));
        assert!(matches!(
            code(rusqlite::ffi::SQLITE_BUSY),
            StoreError::Busy(_)
        ));
        assert!(matches!(
            code(rusqlite::ffi::SQLITE_MISMATCH),
            StoreError::Other(_)
        ));
    }

    #[test]
    fn the_cause_stays_reachable_and_the_text_names_it() {
        let full = SqliteError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        ));
        let e = SqliteError::FileReplaced {
            path: PathBuf::from("/tmp/a.db"),
            source: Box::new(full),
        };
        assert_eq!(
            e.to_store_error(),
            StoreError::Write(
                "the buffer file /tmp/a.db was deleted or replaced while in use, and its events could not be moved to a new file yet: storage write failed: database or disk is full".into()
            )
        );
        let cause = e
            .source()
            .and_then(|s| s.downcast_ref::<Box<SqliteError>>())
            .map(|b| &**b);
        assert!(
            matches!(cause, Some(SqliteError::Sqlite(s)) if s.sqlite_error_code() == Some(ErrorCode::DiskFull)),
            "{cause:?}"
        );
    }
}
