//! `localStorage` as a [`Backend`] (wasm32 only): which browser errors mean
//! "full" and which mean "unavailable". Nothing here throws at the page.

use crate::prelude::*;

use core::cell::RefCell;

use cairn::cat;
use wasm_bindgen::{JsCast, JsValue};

use crate::js::{reflect_get, Storage};
use crate::kv::{Backend, KvError};

/// The page's `localStorage`, or why there is none. `index.js` reads
/// `globalThis.localStorage` (which throws when storage is disabled) and
/// hands the result to [`use_storage`], so the module needs no code to
/// find the window; the error is reported on each write.
static STORAGE: OneThread<Result<Storage, String>> = OneThread(RefCell::new(Err(String::new())));

/// A static for the page's one thread (no `thread_local!` without std).
struct OneThread<T>(RefCell<T>);

// SAFETY: the module is built for wasm32 without the atomics feature (one
// thread; a JS object cannot leave it either), so the cell is never reached
// from two threads.
unsafe impl<T> Sync for OneThread<T> {}

impl<T> OneThread<T> {
    fn with<R>(&self, f: impl FnOnce(&RefCell<T>) -> R) -> R {
        f(&self.0)
    }
}

/// Takes what `index.js` found for `localStorage`: the storage when `found`
/// is true (`undefined` where there is no window, as in a worker; `null`
/// where the browser has none), else what reading it threw.
pub fn use_storage(storage: JsValue, found: bool) {
    let storage = if !found {
        Err(describe(&storage))
    } else if storage.is_object() {
        Ok(storage.unchecked_into::<Storage>())
    } else if storage.is_undefined() {
        Err("no window (a worker?)".to_string())
    } else {
        Err("localStorage is not available".to_string())
    };
    STORAGE.with(|cell| *cell.borrow_mut() = storage);
}

fn with_storage<T>(f: impl FnOnce(&Storage) -> T) -> Result<T, String> {
    STORAGE.with(|cell| match &*cell.borrow() {
        Ok(storage) => Ok(f(storage)),
        Err(why) if why.is_empty() => Err("localStorage is not available".to_string()),
        Err(why) => Err(why.clone()),
    })
}

/// The text property `key` of a thrown value, or "" when it has none.
fn text_field(e: &JsValue, key: &str) -> String {
    reflect_get(e, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// `name: message` of a thrown DOMException or Error.
fn describe(e: &JsValue) -> String {
    let (name, message) = (text_field(e, "name"), text_field(e, "message"));
    match (name.is_empty(), message.is_empty()) {
        (true, true) => e.as_string().unwrap_or_else(|| "unknown error".into()),
        (false, true) => name,
        (true, false) => message,
        (false, false) => cat!(name, ": ", message),
    }
}

fn is_quota(e: &JsValue) -> bool {
    // Chromium and the spec say QuotaExceededError; older Firefox said
    // NS_ERROR_DOM_QUOTA_REACHED.
    let name = text_field(e, "name");
    let has = |text: &str, word: &str| {
        text.as_bytes()
            .windows(word.len())
            .any(|w| w == word.as_bytes())
    };
    has(&name, "Quota") || has(&name, "QUOTA") || has(&text_field(e, "message"), "quota")
}

/// The page's `localStorage`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalStorage;

impl Backend for LocalStorage {
    fn get(&self, key: &str) -> Option<String> {
        with_storage(|s| s.get_item(key).ok().flatten())
            .ok()
            .flatten()
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), KvError> {
        match with_storage(|s| s.set_item(key, value)) {
            Err(unavailable) => Err(KvError::Unavailable(unavailable)),
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if is_quota(&e) => Err(KvError::Quota),
            Ok(Err(e)) => Err(KvError::Unavailable(describe(&e))),
        }
    }

    fn remove(&mut self, key: &str) {
        // Removing cannot run out of room; an unavailable storage has nothing to remove.
        let _ = with_storage(|s| s.remove_item(key));
    }

    fn keys(&self) -> Vec<String> {
        with_storage(|s| {
            let n = s.length().unwrap_or(0);
            (0..n).filter_map(|i| s.key(i).ok().flatten()).collect()
        })
        .unwrap_or_default()
    }
}
