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

/// The page's tracking-plan checker (`compilePlan(...).judge` in
/// js/plan.js) as the core's [`Judge`](cairn::plan::Judge): the core hands
/// it each call's JSON text and reads back the verdict.
#[cfg(feature = "tracking-plan")]
pub struct PageJudge {
    judge: crate::js::Function,
    /// Whether any planned event has rules on the user's traits: only then
    /// are they written out for each call.
    traits: bool,
}

#[cfg(feature = "tracking-plan")]
impl PageJudge {
    /// The page's `judge` function; `traits`: whether it asks for the
    /// user's traits.
    pub fn new(judge: crate::js::Function, traits: bool) -> PageJudge {
        PageJudge { judge, traits }
    }
}

// SAFETY: the wasm32 build has no threads (no atomics, no workers sharing
// the module's memory): the page's function is only ever touched on the one
// thread that made it. The core asks for `Send + Sync` for native clients.
#[cfg(feature = "tracking-plan")]
unsafe impl Send for PageJudge {}
// SAFETY: as for `Send` above.
#[cfg(feature = "tracking-plan")]
unsafe impl Sync for PageJudge {}

#[cfg(feature = "tracking-plan")]
impl cairn::plan::Judge for PageJudge {
    fn judge(
        &self,
        kind: cairn::model::EventKind,
        name: Option<&str>,
        payload: Option<&str>,
        traits_in_force: Option<&cairn::json::Object>,
    ) -> cairn::plan::Verdict {
        let traits = match traits_in_force {
            Some(t) if self.traits => t.to_text(),
            _ => String::new(),
        };
        let answer = self.judge.judge(
            &wasm_bindgen::JsValue::UNDEFINED,
            kind.as_str(),
            name.unwrap_or_default(),
            payload.unwrap_or_default(),
            &traits,
        );
        // A judge that throws (a bug of the page's checker) lets the call
        // through as a plan would that has no rule for it.
        match answer {
            Ok(Some(text)) => read_verdict(&text),
            _ => cairn::plan::Verdict::default(),
        }
    }
}

/// The verdict `judge` answers: `[drop, payload or null, rule, path,
/// message, rule, path, message, ...]`.
#[cfg(feature = "tracking-plan")]
fn read_verdict(text: &str) -> cairn::plan::Verdict {
    use cairn::json::Json;
    let mut verdict = cairn::plan::Verdict::default();
    let Ok(Json::Array(items)) = cairn::json::parse(text) else {
        return verdict;
    };
    let mut items = items.into_iter();
    verdict.drop = matches!(items.next(), Some(Json::Number(n)) if n.as_u64() == Some(1));
    if let Some(Json::Object(kept)) = items.next() {
        verdict.replaced = Some(kept);
    }
    let mut take = || match items.next() {
        Some(Json::String(s)) => Some(s),
        _ => None,
    };
    while let (Some(rule), Some(path), Some(message)) = (take(), take(), take()) {
        verdict.violations.push(cairn::plan::Violation {
            rule,
            path,
            message,
        });
    }
    verdict
}
