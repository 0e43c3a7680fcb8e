//! The errors cairn's public API returns.
//!
//! Every variant says what was wrong and what to do about it, in words a
//! developer can act on without reading cairn's source. Storage and HTTP
//! failures are *not* public errors of the recording calls: those calls never
//! touch disk or network, and delivery problems show up in `stats()` instead.

use crate::prelude::*;

use crate::cat;
#[cfg(feature = "std")]
use crate::text::push_u64;

/// An error returned by a cairn call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or malformed. `field` names the
    /// builder method to fix.
    InvalidConfig {
        /// The builder method whose value is wrong, e.g. `endpoint`.
        field: &'static str,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// The event given to a recording call is not valid. Nothing was recorded;
    /// the drop is counted as `invalid` in `stats()`.
    InvalidEvent(String),
    /// The event is larger than `max_event_bytes` once encoded. Nothing was
    /// recorded; the drop is counted as `oversize` in `stats()`.
    EventTooLarge {
        /// Encoded size of the event's own parts (name, properties or traits).
        size: usize,
        /// The configured `max_event_bytes`.
        limit: usize,
    },
    /// The call breaks the tracking plan and the client is in strict mode
    /// (`strict_tracking_plan`): nothing was recorded; the violations are
    /// counted in `stats()` and the call as dropped `plan_violation`.
    PlanViolation {
        /// The event name (`track`), or `identify` / `group`.
        event: String,
        /// The plan's `id`.
        plan: String,
        /// What is wrong, where.
        violations: Vec<crate::plan::Violation>,
    },
    // The native client's errors: the browser build leaves them (and their texts) out.
    #[cfg(feature = "std")]
    /// The storage file could not be opened or created.
    Storage {
        /// The `storage_path` that failed.
        path: String,
        /// What SQLite or the file system said, and what to check.
        reason: String,
    },
    #[cfg(feature = "std")]
    /// Another `Client` in this process already uses this storage file.
    StorageInUse {
        /// The `storage_path` in use.
        path: String,
    },
    #[cfg(feature = "std")]
    /// Another process has this storage file open with cairn.
    StorageLocked {
        /// The `storage_path` in use.
        path: String,
    },
    #[cfg(feature = "std")]
    /// A call that waits (`commit`, `forget`) did not finish in time; the
    /// work goes on in the background.
    Timeout {
        /// The call that timed out.
        what: &'static str,
        /// The timeout it was given.
        timeout: core::time::Duration,
    },
    #[cfg(feature = "std")]
    /// The client was shut down; create a new one to record again.
    ShutDown,
    #[cfg(feature = "std")]
    /// The client was built in another process, before a `fork()`: it has
    /// no worker in this one. Nothing was recorded; build a client after
    /// the fork.
    Forked,
}

impl Error {
    /// The message `Display` writes: what was wrong and what to do. Built by
    /// concatenation (no formatting machinery in the browser build).
    pub fn message(&self) -> String {
        match self {
            Error::InvalidConfig { field, reason } => cat!("invalid config `", field, "`: ", reason),
            Error::InvalidEvent(reason) => cat!("invalid event: ", reason),
            Error::EventTooLarge { size, limit } => {
                cat!("event is ", size, " bytes once encoded, over max_event_bytes = ", limit, ": send fewer or smaller properties")
            }
            Error::PlanViolation { event, plan, violations } => cat!(
                "\"",
                event,
                "\" breaks tracking plan ",
                plan,
                ": ",
                crate::plan::violations_text(violations),
                " (fix the call, or the plan; strict_tracking_plan refuses such calls)"
            ),
            #[cfg(feature = "std")]
            Error::Storage { path, reason } => cat!("cannot open the event buffer at ", path, ": ", reason),
            #[cfg(feature = "std")]
            Error::StorageInUse { path } => cat!(
                "the event buffer ",
                path,
                " is already used by another cairn Client in this process: share that Client, or give this one its own storage_path"
            ),
            #[cfg(feature = "std")]
            Error::StorageLocked { path } => cat!(
                "the event buffer ",
                path,
                " is in use by another process: give each process its own storage_path (two processes on one file would send the same events twice)"
            ),
            #[cfg(feature = "std")]
            Error::Timeout { what, timeout } => cat!(
                "`",
                what,
                "` did not finish within ",
                duration_text(*timeout),
                ": the disk may be slow; try again with a longer timeout"
            ),
            #[cfg(feature = "std")]
            Error::ShutDown => "this cairn Client has been shut down: create a new Client to record more events".to_string(),
            #[cfg(feature = "std")]
            Error::Forked => "this cairn Client was created in the parent of this forked process and cannot deliver from here: create the client after fork, in the process that records (each process with its own storage_path)".to_string(),
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for Error {}

/// `timeout` as `Duration`'s `Debug` writes it for whole milliseconds and
/// seconds (`250ms`, `5s`, `1.5s`), without the float-style formatting code
/// (the browser build carries every message's code).
#[cfg(feature = "std")]
fn duration_text(timeout: core::time::Duration) -> String {
    let (secs, nanos) = (timeout.as_secs(), timeout.subsec_nanos());
    let mut out = String::new();
    if secs == 0 && nanos % 1_000_000 == 0 {
        push_u64(&mut out, u64::from(nanos / 1_000_000));
        out.push_str("ms");
        return out;
    }
    push_u64(&mut out, secs);
    if nanos != 0 {
        // Nine digits with leading zeros, trailing zeros dropped.
        let mut fraction = String::new();
        push_u64(&mut fraction, u64::from(nanos) + 1_000_000_000);
        out.push('.');
        out.push_str(fraction.get(1..).unwrap_or("").trim_end_matches('0'));
    }
    out.push('s');
    out
}

/// Shorthand for results of cairn calls.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn timeouts_read_as_duration_debug_does() {
        assert_eq!(duration_text(Duration::ZERO), "0ms");
        for d in [
            Duration::from_millis(250),
            Duration::from_secs(5),
            Duration::from_millis(1_500),
            Duration::from_micros(1_000_001),
        ] {
            assert_eq!(duration_text(d), format!("{d:?}"));
        }
        let e = Error::Timeout {
            what: "commit",
            timeout: Duration::from_millis(5),
        };
        assert_eq!(e.to_string(), "`commit` did not finish within 5ms: the disk may be slow; try again with a longer timeout");
    }

    #[test]
    fn messages_read_as_before() {
        let cases = [
            (Error::InvalidConfig { field: "flush_at", reason: "must be at least 1".into() }, "invalid config `flush_at`: must be at least 1"),
            (Error::InvalidEvent("x".into()), "invalid event: x"),
            (
                Error::EventTooLarge { size: 40_000, limit: 32_768 },
                "event is 40000 bytes once encoded, over max_event_bytes = 32768: send fewer or smaller properties",
            ),
            (Error::Storage { path: "a.db".into(), reason: "denied".into() }, "cannot open the event buffer at a.db: denied"),
            (
                Error::StorageInUse { path: "a.db".into() },
                "the event buffer a.db is already used by another cairn Client in this process: share that Client, or give this one its own storage_path",
            ),
            (
                Error::StorageLocked { path: "a.db".into() },
                "the event buffer a.db is in use by another process: give each process its own storage_path (two processes on one file would send the same events twice)",
            ),
            (Error::ShutDown, "this cairn Client has been shut down: create a new Client to record more events"),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
            assert_eq!(e.message(), text);
        }
    }
}
