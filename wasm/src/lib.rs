//! # cairn-wasm
//!
//! cairn in the browser: the same [`cairn`] engine and recorder as native
//! (batching, retries, order, identity, consent), driven by a browser
//! runtime, over a queue in `localStorage`. The npm package (`js/`) wraps the
//! `bindings` this crate exports with wasm-bindgen (wasm32 only).
//!
//! - [`kv`]: synchronous string storage, and the in-memory fallback when the
//!   browser refuses a write (quota).
//! - [`store`]: the core's `Store` over browser storage, one queue per tab.
//! - [`options`]: the page's `Cairn.load` options as a validated core config.
//! - [`runtime`]: the counterpart of the native worker: calls, uploads, page
//!   hide, adoption of gone tabs' queues, cross-tab identity and consent.
//! - `web` and `bindings` (wasm32 only): `localStorage` and the `Core` class.
//! - [`shared`]: a value held by the store and the runtime both.
//! - [`heap`]: the wasm build's small allocator (size classes, free lists).
//!
//! Everything but `web` and `bindings` builds and is tested on the host.

#![warn(missing_docs)]
// The wasm build has no std: none of std's panic machinery and formatting
// (panics trap, see `panic` below). On the host (tests) std is there.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod prelude;

pub mod heap;
pub mod kv;
pub mod options;
pub mod runtime;
pub mod shared;
pub mod store;

#[cfg(target_arch = "wasm32")]
pub mod bindings;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// The wasm build allocates with [`heap::WasmAllocator`] (dlmalloc, the
/// default, is about 8 KB of the module).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: heap::WasmAllocator = heap::WasmAllocator::new();

/// A panic in the page traps (`RuntimeError: unreachable`), as with std and
/// `panic = "abort"`, without formatting a message nobody would read.
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
