//! The error every fallible export returns, and how [`cairn::Error`] maps to it.
//!
//! It is a *flat* uniffi error: each variant crosses as its name plus the
//! core's full message, which already says what was wrong and what to do.
//! Kotlin sees `CairnException.InvalidEvent(message)`, Swift
//! `CairnError.InvalidEvent(message:)`, Python `CairnError.InvalidEvent`.
//! (A structured variant would turn the message into `field=..., reason=...`
//! in Kotlin; the flat form keeps the sentence the core wrote.)

/// An error from a cairn call; its message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum CairnError {
    /// A configuration value is out of range or malformed; the message names
    /// the option.
    #[error("{0}")]
    InvalidConfig(String),
    /// The event, its properties or traits, or an argument is not valid.
    /// Nothing was recorded.
    #[error("{0}")]
    InvalidEvent(String),
    /// The event is over `max_event_bytes` once encoded. Nothing was recorded.
    #[error("{0}")]
    EventTooLarge(String),
    /// The buffer file could not be opened or created.
    #[error("{0}")]
    Storage(String),
    /// Another client in this process, or another process, uses the same
    /// buffer file.
    #[error("{0}")]
    StorageInUse(String),
    /// A waiting call (`forget`, `commit`) did not finish in time; the work
    /// goes on in the background.
    #[error("{0}")]
    Timeout(String),
    /// The client was shut down; create a new one to record again.
    #[error("{0}")]
    ShutDown(String),
    /// The client was created in the parent of this forked process
    /// (gunicorn, `multiprocessing`): create one after the fork instead.
    #[error("{0}")]
    Forked(String),
    /// The call breaks the tracking plan and strict mode is on
    /// (`strict_tracking_plan`); the message lists each violation with its
    /// path. Nothing was recorded.
    #[error("{0}")]
    PlanViolation(String),
    /// Something cairn did not expect; the message says what. Please report it.
    #[error("{0}")]
    Internal(String),
}

impl From<cairn::Error> for CairnError {
    fn from(e: cairn::Error) -> Self {
        let text = e.to_string();
        match e {
            cairn::Error::InvalidConfig { .. } => CairnError::InvalidConfig(text),
            cairn::Error::InvalidEvent(_) => CairnError::InvalidEvent(text),
            cairn::Error::EventTooLarge { .. } => CairnError::EventTooLarge(text),
            cairn::Error::Storage { .. } => CairnError::Storage(text),
            cairn::Error::StorageInUse { .. } | cairn::Error::StorageLocked { .. } => {
                CairnError::StorageInUse(text)
            }
            cairn::Error::Timeout { .. } => CairnError::Timeout(text),
            cairn::Error::ShutDown => CairnError::ShutDown(text),
            cairn::Error::Forked => CairnError::Forked(text),
            cairn::Error::PlanViolation { .. } => CairnError::PlanViolation(text),
            // cairn::Error is non_exhaustive: a variant added later still
            // crosses, with its own message.
            _ => CairnError::Internal(text),
        }
    }
}

impl CairnError {
    /// An [`CairnError::InvalidConfig`] in the core's words: "invalid config
    /// `option`: reason".
    pub(crate) fn config(field: &str, reason: impl std::fmt::Display) -> Self {
        CairnError::InvalidConfig(format!("invalid config `{field}`: {reason}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_keeps_its_message_and_kind() {
        let cases = [
            (
                cairn::Error::InvalidConfig {
                    field: "endpoint",
                    reason: "is required".into(),
                },
                "InvalidConfig",
            ),
            (
                cairn::Error::InvalidEvent("event name is empty".into()),
                "InvalidEvent",
            ),
            (
                cairn::Error::EventTooLarge {
                    size: 40_000,
                    limit: 32_000,
                },
                "EventTooLarge",
            ),
            (
                cairn::Error::Storage {
                    path: "/x".into(),
                    reason: "read-only".into(),
                },
                "Storage",
            ),
            (
                cairn::Error::StorageInUse { path: "/x".into() },
                "StorageInUse",
            ),
            (
                cairn::Error::StorageLocked { path: "/x".into() },
                "StorageInUse",
            ),
            (
                cairn::Error::Timeout {
                    what: "commit",
                    timeout: std::time::Duration::from_millis(5),
                },
                "Timeout",
            ),
            (cairn::Error::ShutDown, "ShutDown"),
            (cairn::Error::Forked, "Forked"),
        ];
        for (core, kind) in cases {
            let text = core.to_string();
            let ffi = CairnError::from(core);
            assert_eq!(ffi.to_string(), text);
            assert!(
                format!("{ffi:?}").starts_with(kind),
                "{ffi:?} should be {kind}"
            );
        }
    }
}
