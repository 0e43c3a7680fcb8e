//! A value with several owners in one page: the key-value layer, held by the
//! store inside the engine and by the runtime beside it.
//!
//! The engine takes its store as `Send` (the native client moves it to a
//! worker thread), so the handle must be `Send`. In the wasm build there is
//! one thread and no std `Mutex`: an `Rc<RefCell>`, `Send` because nothing
//! can reach another thread. On the host, where the tests run on threads, an
//! `Arc<Mutex>`. This module decides only that; what is shared is the
//! caller's business.

use core::ops::DerefMut;

#[cfg(target_arch = "wasm32")]
use {alloc::rc::Rc, core::cell::RefCell};

/// A shared, mutable value (see the module doc).
#[cfg(target_arch = "wasm32")]
pub struct Shared<T>(Rc<RefCell<T>>);

// SAFETY: the wasm build is wasm32 without the atomics feature (the core
// refuses to build otherwise): there is one thread, so the handle and its
// clones are never used from two.
#[cfg(target_arch = "wasm32")]
unsafe impl<T> Send for Shared<T> {}

#[cfg(target_arch = "wasm32")]
impl<T> Shared<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Shared(Rc::new(RefCell::new(value)))
    }

    /// The value, for as long as the guard lives. The page's code never
    /// calls back into a holder while it holds the guard, so the borrow is
    /// never taken twice.
    pub fn lock(&self) -> impl DerefMut<Target = T> + '_ {
        self.0.borrow_mut()
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// A shared, mutable value (see the module doc).
pub struct Shared<T>(std::sync::Arc<std::sync::Mutex<T>>);

#[cfg(not(target_arch = "wasm32"))]
impl<T> Shared<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Shared(std::sync::Arc::new(std::sync::Mutex::new(value)))
    }

    /// The value, for as long as the guard lives.
    pub fn lock(&self) -> impl DerefMut<Target = T> + '_ {
        // A panic while holding the lock cannot leave the value half-updated
        // in a way that matters more than losing the page's events.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}
