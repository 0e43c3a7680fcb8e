//! # cairn
//!
//! Product-analytics events (`track`, `identify`, `screen`, ...) recorded
//! durably and delivered at least once to a Segment- or RudderStack-compatible
//! `/v1/batch` endpoint, or to Amplitude or PostHog
//! ([`ClientBuilder::destination`], docs/destinations.md).
//!
//! ```no_run
//! use std::time::Duration;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), cairn::Error> {
//! let client = cairn::Client::builder("WRITE_KEY")
//!     .endpoint("https://api.segment.io")
//!     .storage_path("app-data/cairn.db")
//!     .build()?;
//! client.track("Order Completed", json!({ "order_id": "o-1", "total": 42.5 }))?;
//! client.identify("user-7", json!({ "plan": "pro" }))?;
//! let report = client.flush(Duration::from_secs(5))?;
//! println!("delivered {}, still queued {}", report.delivered, report.remaining);
//! client.shutdown(Duration::from_secs(5))?;
//! # Ok(()) }
//! ```
//!
//! ## Layout
//! - [`model`]: the event and its validation.
//! - [`identity`]: anonymous id, user id, traits and group as transitions.
//! - [`plan`]: tracking plans, compiled once and checked at every call.
//! - [`consent`]: whether an event may be kept and sent.
//! - [`session`]: session ids renewed after inactivity.
//! - [`recorder`]: applies identity, session, context and consent to each call, in order.
//! - [`engine`]: the sans-IO state machine deciding every batching, retry and drop rule.
//! - [`store`]: the durable queue ([`store::SqliteStore`]) and [`store::MemoryStore`].
//! - [`destination`]: where events go and in which format (Segment, Amplitude, PostHog).
//! - [`wire`]: backend formats ([`wire::SegmentWire`], [`wire::AmplitudeWire`], [`wire::PostHogWire`]).
//! - Internal, not part of the API (public only for the browser build, the
//!   CLI and the tests of this workspace; hidden from these docs, and free to
//!   change in any release): `ids` (message ids), `json` and `json_text`
//!   (JSON parsed and written by hand), `text` and its `cat!` (messages
//!   built without `format!`), `time` (ISO 8601 timestamps).
//! - Feature `std` (in `native`): the standard library; without it the core is
//!   `no_std` + `alloc`, for the browser build.
//! - [`Client`] (feature `native`, on by default): a worker thread driving the
//!   engine, with HTTP over ureq.
//! - Feature `store-contract` (tests only): `store::contract`, the checks every
//!   [`store::Store`] must pass, for stores written in other crates.

#![warn(missing_docs)]
// Without `std` (the browser build) the core needs only `alloc`: std's panic
// machinery and formatting stay out of the page's download.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(all(not(feature = "std"), not(target_arch = "wasm32")))]
compile_error!("cairn without its `std` feature is the browser build: build it for wasm32-unknown-unknown, or enable `std` (or `native`)");

mod prelude;

pub mod config;
pub mod consent;
pub mod destination;
pub mod engine;
mod error;
pub mod identity;
#[doc(hidden)]
pub mod ids;
#[doc(hidden)]
pub mod json;
#[doc(hidden)]
pub mod json_text;
pub mod model;
pub mod plan;
pub mod recorder;
#[cfg(feature = "lanes")]
pub mod routing;
pub mod session;
pub mod stats;
pub mod store;
#[doc(hidden)]
pub mod text;
#[doc(hidden)]
pub mod time;
pub mod wire;

#[cfg(feature = "native")]
mod runtime;

/// The property tests' settings inside the crate: `cases` cases, or as many
/// as `CAIRN_PROPTEST_CASES` says (the long runs), and no persisted
/// failures (those found become named tests). core/tests/common/mod.rs does
/// the same for the integration tests, which cannot see this.
#[cfg(test)]
pub(crate) fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: std::env::var("CAIRN_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

pub use config::{ClientBuilder, Config};
pub use consent::ConsentState;
pub use destination::{Destination, DestinationKind};
pub use error::{Error, Result};
pub use recorder::Forgotten;
#[cfg(feature = "lanes")]
pub use stats::DestinationStats;
pub use stats::{DropCounts, DropReason, RoomWaits, Stats, StorageState};

#[cfg(feature = "native")]
pub use runtime::{Client, FlushReport, ANSWER_GRACE};
#[cfg(feature = "native")]
#[doc(hidden)]
pub use runtime::{TimeSource, MARK_STATE_KEY};

/// This library's name, as sent in `context.library.name`.
pub const LIBRARY_NAME: &str = "cairn";
/// This library's version, as sent in `context.library.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
