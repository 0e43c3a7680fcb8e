//! The names std's prelude gives and the `no_std` wasm build must import
//! (the same types std re-exports from `alloc`).

pub(crate) use alloc::boxed::Box;
pub(crate) use alloc::string::{String, ToString};
pub(crate) use alloc::vec::Vec;
