//! The names std's prelude gives every module and a `no_std` crate must
//! import: the browser build compiles the core without std, so the modules
//! it uses take these from `alloc` (the same types std re-exports).

pub(crate) use alloc::borrow::ToOwned;
pub(crate) use alloc::boxed::Box;
pub(crate) use alloc::format;
pub(crate) use alloc::string::{String, ToString};
pub(crate) use alloc::vec;
pub(crate) use alloc::vec::Vec;
