//! # cairn-cli
//!
//! cairn's developer tools, as a library so tests and examples can use them:
//!
//! - [`collector`]: a local Segment/RudderStack-compatible `/v1/batch`
//!   collector with fault injection, used by `cairn collect`, the demo and
//!   the workspace's end-to-end tests.
//! - [`demo`]: `cairn demo`, the README quickstart run end to end against a
//!   local collector, ending with an exactly-once check.
//! - [`inspect`]: `cairn inspect`, what a device's buffer file holds.
//! - [`send`]: `cairn send`, NDJSON events through the SDK.
//! - [`plan`]: `cairn plan check`, `import` and `codegen`: tools for tracking plans (typed calls generated from one).
//! - [`bench`](mod@bench): `cairn bench`, cairn end to end against this machine's limits.
//!
//! The `cairn` binary (`src/main.rs`) only parses arguments and calls these.

#![warn(missing_docs)]

pub mod bench;
pub mod collector;
pub mod demo;
pub mod inspect;
pub mod plan;
pub mod send;
