//! The few JavaScript APIs the module calls, declared here (wasm32 only).
//!
//! `js-sys` and `web-sys` would declare them too, but linking `js-sys` brings
//! its futures executor along (a waker vtable in the data segment keeps its
//! functions in the module's table, used or not): about 1 KB gzip of what a
//! page loads, for five calls. This module decides only the signatures; what
//! a thrown error means is `web.rs`'s business.

use crate::prelude::*;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `Date.now()`: milliseconds since the Unix epoch.
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    pub fn date_now() -> f64;

    /// `Math.random()`: a number in [0, 1).
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    pub fn math_random() -> f64;

    /// `Reflect.get(target, key)`, which throws when `target` is not an object.
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    pub fn reflect_get(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;

    /// A JavaScript function the page passes in.
    pub type Function;

    /// `f.call(this_arg, arg)`; a throw comes back as the error.
    #[wasm_bindgen(method, catch, js_name = call)]
    pub fn call1(this: &Function, this_arg: &JsValue, arg: &JsValue) -> Result<JsValue, JsValue>;

    /// The page's `localStorage` (a Web Storage object).
    pub type Storage;

    /// `storage.getItem(key)`: `None` when the key is absent.
    #[wasm_bindgen(method, catch, js_name = getItem)]
    pub fn get_item(this: &Storage, key: &str) -> Result<Option<String>, JsValue>;

    /// `storage.setItem(key, value)`: throws a `QuotaExceededError` when full.
    #[wasm_bindgen(method, catch, js_name = setItem)]
    pub fn set_item(this: &Storage, key: &str, value: &str) -> Result<(), JsValue>;

    /// `storage.removeItem(key)`.
    #[wasm_bindgen(method, catch, js_name = removeItem)]
    pub fn remove_item(this: &Storage, key: &str) -> Result<(), JsValue>;

    /// `storage.key(index)`: the name of the index-th key, if any.
    #[wasm_bindgen(method, catch, js_name = key)]
    pub fn key(this: &Storage, index: u32) -> Result<Option<String>, JsValue>;

    /// `storage.length`: how many keys it holds.
    #[wasm_bindgen(method, getter, catch)]
    pub fn length(this: &Storage) -> Result<u32, JsValue>;
}
