//! The errors cairn's public API returns.
//!
//! Every variant says what was wrong and what to do about it, in words a
//! developer can act on without reading cairn's source. Storage and HTTP
//! failures are *not* public errors of the recording calls: those calls never
//! touch disk or network, and delivery problems show up in `stats()` instead.

use thiserror::Error;

/// An error returned by a cairn call.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or malformed. `field` names the
    /// builder method to fix.
    #[error("invalid config `{field}`: {reason}")]
    InvalidConfig {
        /// The builder method whose value is wrong, e.g. `endpoint`.
        field: &'static str,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// The event given to a recording call is not valid. Nothing was recorded;
    /// the drop is counted as `invalid` in `stats()`.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// The event is larger than `max_event_bytes` once encoded. Nothing was
    /// recorded; the drop is counted as `oversize` in `stats()`.
    #[error("event is {size} bytes once encoded, over max_event_bytes = {limit}: send fewer or smaller properties")]
    EventTooLarge {
        /// Encoded size of the event's own parts (name, properties or traits).
        size: usize,
        /// The configured `max_event_bytes`.
        limit: usize,
    },
    /// The storage file could not be opened or created.
    #[error("cannot open the event buffer at {path}: {reason}")]
    Storage {
        /// The `storage_path` that failed.
        path: String,
        /// What SQLite or the file system said, and what to check.
        reason: String,
    },
    /// Another `Client` in this process already uses this storage file.
    #[error("the event buffer {path} is already used by another cairn Client in this process: share that Client, or give this one its own storage_path")]
    StorageInUse {
        /// The `storage_path` in use.
        path: String,
    },
    /// Another process has this storage file open with cairn.
    #[error("the event buffer {path} is in use by another process: give each process its own storage_path (two processes on one file would send the same events twice)")]
    StorageLocked {
        /// The `storage_path` in use.
        path: String,
    },
    /// A call that waits (`commit`, `forget`) did not finish in time; the
    /// work goes on in the background.
    #[error("`{what}` did not finish within {}: the disk may be slow; try again with a longer timeout", duration_text(*timeout))]
    Timeout {
        /// The call that timed out.
        what: &'static str,
        /// The timeout it was given.
        timeout: std::time::Duration,
    },
    /// The client was shut down; create a new one to record again.
    #[error("this cairn Client has been shut down: create a new Client to record more events")]
    ShutDown,
}

/// `timeout` as `Duration`'s `Debug` writes it for whole milliseconds and
/// seconds (`250ms`, `5s`, `1.5s`), without the float-style formatting code
/// (the browser build carries every message's code).
fn duration_text(timeout: std::time::Duration) -> String {
    let (secs, nanos) = (timeout.as_secs(), timeout.subsec_nanos());
    if secs == 0 && nanos % 1_000_000 == 0 {
        return format!("{}ms", nanos / 1_000_000);
    }
    if nanos == 0 {
        return format!("{secs}s");
    }
    let fraction = format!("{nanos:09}");
    format!("{secs}.{}s", fraction.trim_end_matches('0'))
}

/// Shorthand for results of cairn calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timeouts_read_as_duration_debug_does() {
        assert_eq!(duration_text(Duration::ZERO), "0ms");
        for d in [Duration::from_millis(250), Duration::from_secs(5), Duration::from_millis(1_500), Duration::from_micros(1_000_001)] {
            assert_eq!(duration_text(d), format!("{d:?}"));
        }
        let e = Error::Timeout { what: "commit", timeout: Duration::from_millis(5) };
        assert_eq!(e.to_string(), "`commit` did not finish within 5ms: the disk may be slow; try again with a longer timeout");
    }
}
