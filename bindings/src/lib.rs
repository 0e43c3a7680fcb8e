//! # cairn-ffi
//!
//! cairn's core ([`cairn::Client`]) exported over uniffi, for the Kotlin,
//! Swift and Python packages in `bindings/`. This crate decides only how the
//! API crosses the FFI; it re-implements nothing the core does.
//!
//! - [`CairnClient`] ([`client`]): the object with every call.
//! - [`CairnConfig`] ([`config`]): every builder option, each optional so the
//!   core's defaults stay the only defaults.
//! - [`CairnError`] ([`error`]): uniffi's error enum, mapped from [`cairn::Error`].
//! - [`types`]: the records and enums that cross (stats, reports, consent).
//! - [`record`]: `cairn_ffi_record`, a hand-written C function for the
//!   recording calls of Kotlin and Python, which pass bytes instead of the
//!   JNA structures uniffi's calls allocate; `registry` maps its handles
//!   to clients.
//!
//! Rules of the crossing:
//! - Properties, traits and context cross as JSON text; each language's
//!   wrapper encodes its native maps and names the key it cannot encode.
//! - Sync exports only: every recording call hands work to the core's worker
//!   and returns in microseconds. `flush`, `shutdown`, `forget` and `commit`
//!   wait, up to the timeout they are given.
//! - No panic crosses: nothing here unwraps input, numbers are converted with
//!   checks, and timeouts are clamped to [`MAX_TIMEOUT_MS`] (the core adds
//!   timeouts to `Instant::now()`, which would overflow). The release profile
//!   keeps `panic = "unwind"` so that uniffi could still turn an unexpected
//!   panic into an exception instead of an abort, and `cairn_ffi_record`
//!   catches any panic itself.

pub mod client;
pub mod config;
pub mod error;
pub mod record;
mod registry;
pub mod types;

pub use client::CairnClient;
pub use config::CairnConfig;
pub use error::CairnError;
pub use types::{
    ConsentState, DestinationConfig, DestinationStats, DropCounts, FlushReport, Forgotten,
    RoomWaits, Stats,
};

uniffi::setup_scaffolding!();

/// The longest timeout a waiting call accepts: one day. Longer values are
/// treated as one day (an app never means more, and the core's deadline
/// arithmetic must not overflow).
pub const MAX_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

/// The version of the cairn core inside this library (as sent in
/// `context.library.version`).
#[uniffi::export]
pub fn cairn_version() -> String {
    cairn::VERSION.to_string()
}
