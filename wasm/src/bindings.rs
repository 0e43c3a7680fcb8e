//! The JavaScript face of the crate (wasm32 only): the `Core` class that the
//! npm package's `index.js` wraps. It converts types and reads the clock;
//! every decision is the [`Runtime`]'s.
//!
//! Conventions: ids, sequence numbers and times cross as JS numbers (all
//! stay far below 2^53); JSON crosses as text (the page's own `JSON` does
//! the object side, so no JSON code is shipped twice); invalid input comes
//! back as a thrown `Error` with cairn's message, storage problems never do.

use crate::prelude::*;

use wasm_bindgen::prelude::*;

use crate::kv::Kv;
use crate::options::consent_state;
use crate::runtime::{forgotten_json, hand_off_json, Outgoing, Runtime};
use crate::web::LocalStorage;

/// One tab's cairn: recorder, engine and queue.
#[wasm_bindgen]
pub struct Core {
    rt: Runtime<LocalStorage>,
}

/// An upload for `fetch` or a beacon as one string for the page:
/// `"<id> <events> <keepalive 1|0> <url>\n<body>"`. The URL holds no white
/// space (the endpoint is checked for it), so the header ends at the first
/// newline; `index.js` reads it back. One string instead of a class spares
/// the module and the glue a class's code (constructor, getters, `free`).
fn upload_text(o: &Outgoing) -> String {
    let keepalive = if o.keepalive { " 1 " } else { " 0 " };
    let mut out = cairn::cat!(o.id, " ", o.events, keepalive, o.url, "\n");
    out.push_str(&o.body);
    out
}

fn now() -> i64 {
    crate::js::date_now() as i64
}

/// A thrown `Error` with cairn's message (built without `Display`, so no
/// formatting code is shipped for it).
fn err(e: impl Message) -> JsError {
    JsError::new(&e.message())
}

/// An error's text for the page.
trait Message {
    fn message(self) -> String;
}

impl Message for cairn::Error {
    fn message(self) -> String {
        cairn::Error::message(&self)
    }
}

impl Message for String {
    fn message(self) -> String {
        self
    }
}

#[wasm_bindgen]
impl Core {
    /// Loads tab `tab` of site prefix `prefix` with the page's options
    /// (JSON text). `cookie_anonymous_id` is the first-party cookie's copy
    /// of the anonymous id, if any. `storage` is `globalThis.localStorage`
    /// when `storage_found`, else what reading it threw (see
    /// [`crate::web::use_storage`]). Throws on invalid options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options_json: &str,
        prefix: &str,
        tab: &str,
        cookie_anonymous_id: Option<String>,
        storage: JsValue,
        storage_found: bool,
    ) -> Result<Core, JsError> {
        crate::web::use_storage(storage, storage_found);
        let seed = (crate::js::math_random() * 9_007_199_254_740_991.0) as u64;
        let rt = Runtime::new(
            Kv::new(LocalStorage),
            prefix,
            tab,
            options_json,
            cookie_anonymous_id,
            seed,
            now(),
        )
        .map_err(err)?;
        Ok(Core { rt })
    }

    /// Records `track`, `page`, `screen`, `identify`, `group` or `alias`.
    /// A package with tracking plans records every call with `recordJudged`
    /// (its .wasm then holds one copy of the recording path, not two).
    #[cfg(not(feature = "tracking-plan"))]
    pub fn record(&mut self, kind: &str, name: &str, payload_json: &str) -> Result<(), JsError> {
        self.rt.record(kind, name, payload_json, now()).map_err(err)
    }

    /// Counts a call whose payload could not be turned into JSON as dropped.
    #[wasm_bindgen(js_name = dropInvalid)]
    pub fn drop_invalid(&mut self) {
        self.rt.drop_invalid(now());
    }

    /// `requestTimeout` in milliseconds.
    #[wasm_bindgen(js_name = requestTimeout)]
    pub fn request_timeout(&self) -> f64 {
        self.rt.request_timeout_ms() as f64
    }

    /// The next upload to send, if one is due (see `upload_text`).
    pub fn poll(&mut self) -> Option<String> {
        self.rt.poll(now()).map(|o| upload_text(&o))
    }

    /// Reads the next batch while an upload is on the wire.
    #[wasm_bindgen(js_name = claimNext)]
    pub fn claim_next(&mut self) {
        self.rt.claim_next(now());
    }

    /// Removes some of the keys delivered events keep until no upload is
    /// out; true while some remain.
    pub fn tidy(&mut self) -> bool {
        self.rt.tidy()
    }

    /// The server answered upload `id`.
    #[wasm_bindgen(js_name = onResponse)]
    pub fn on_response(&mut self, id: f64, status: u16, retry_after: Option<String>, body: String) {
        self.rt
            .on_response(id as u64, status, retry_after, body, now());
    }

    /// Upload `id` failed without an answer.
    #[wasm_bindgen(js_name = onError)]
    pub fn on_error(&mut self, id: f64, reason: &str) {
        self.rt.on_error(id as u64, reason, now());
    }

    /// The upload on the wire whose events were purged, to abort.
    #[wasm_bindgen(js_name = purgedUpload)]
    pub fn purged_upload(&self) -> Option<f64> {
        self.rt.purged_upload().map(|id| id as f64)
    }

    /// When to poll next (ms since epoch), if ever.
    #[wasm_bindgen(js_name = nextWakeup)]
    pub fn next_wakeup(&mut self) -> Option<f64> {
        self.rt.next_wakeup(now()).map(|t| t as f64)
    }

    /// Sends everything recorded so far as soon as the backoff allows.
    pub fn flush(&mut self) {
        self.rt.flush();
    }

    /// Sequence number of the last committed event.
    #[wasm_bindgen(js_name = lastSeq)]
    pub fn last_seq(&self) -> f64 {
        self.rt.last_seq() as f64
    }

    /// True when nothing up to `seq` still waits to be delivered.
    #[wasm_bindgen(js_name = deliveredThrough)]
    pub fn delivered_through(&self, seq: f64) -> bool {
        self.rt.delivered_through(seq as u64)
    }

    /// The page is going away: hands queued batches to `send(upload)`,
    /// which returns true when the browser took it. Returns a JSON report.
    #[wasm_bindgen(js_name = handOff)]
    pub fn hand_off(&mut self, send: &crate::js::Function) -> String {
        let mut call = |o: &Outgoing| {
            let upload = JsValue::from(upload_text(o));
            send.call1(&JsValue::NULL, &upload)
                .map(|v| v.is_truthy())
                .unwrap_or(false)
        };
        hand_off_json(&self.rt.hand_off(now(), &mut call))
    }

    /// Other tabs of the site with something stored (only those not seen
    /// alive lately, with `stale_only`), each followed by `:` (a tab id
    /// never holds one: it is read from keys `<prefix>:t:<tab>:…`). One
    /// string rather than an array spares the module and the glue the
    /// conversion code.
    #[wasm_bindgen(js_name = otherTabs)]
    pub fn other_tabs(&mut self, stale_only: bool) -> String {
        let mut out = String::new();
        for tab in self.rt.other_tabs(now(), stale_only) {
            out.push_str(&tab);
            out.push(':');
        }
        out
    }

    /// Marks this tab alive now, or gone.
    #[wasm_bindgen(js_name = markAlive)]
    pub fn mark_alive(&mut self, alive: bool) {
        self.rt.mark_alive(now(), alive);
    }

    /// Takes over the queue of gone tab `tab` (hold its lock). Returns the
    /// number of events taken over.
    pub fn adopt(&mut self, tab: &str) -> f64 {
        self.rt.adopt(tab, now()) as f64
    }

    /// Another tab changed shared state: follow it.
    #[wasm_bindgen(js_name = syncShared)]
    pub fn sync_shared(&mut self) {
        self.rt.sync_shared(now());
    }

    /// New anonymous id; user id, traits and group cleared.
    pub fn reset(&mut self) {
        self.rt.reset();
    }

    /// Replaces the anonymous id.
    #[wasm_bindgen(js_name = setAnonymousId)]
    pub fn set_anonymous_id(&mut self, id: &str) -> Result<(), JsError> {
        self.rt.set_anonymous_id(id).map_err(err)
    }

    /// Merges a context object (JSON text) into later events.
    #[wasm_bindgen(js_name = setContext)]
    pub fn set_context(&mut self, context_json: &str) -> Result<(), JsError> {
        self.rt.set_context(context_json).map_err(err)
    }

    /// Records one call (as `record`) under the verdict of the page's
    /// tracking-plan checker (js/plan.js), or with no plan in force:
    /// `verdict` 0 keeps it, with
    /// `violations` (JSON array text, or empty) in its context; 1 drops it
    /// (policy `drop`); 2 refuses it (strict mode). `false` when consent
    /// dropped the call first: its violations do not count then.
    #[cfg(feature = "tracking-plan")]
    #[wasm_bindgen(js_name = recordJudged)]
    pub fn record_judged(
        &mut self,
        kind: &str,
        name: &str,
        payload_json: &str,
        verdict: u8,
        violations: String,
    ) -> Result<bool, JsError> {
        use crate::runtime::PageVerdict;
        let verdict = match verdict {
            1 => PageVerdict::Drop,
            2 => PageVerdict::Refuse,
            _ => PageVerdict::Keep((!violations.is_empty()).then(|| violations.into())),
        };
        self.rt
            .record_judged(kind, name, payload_json, verdict, now())
            .map_err(err)
    }

    /// The user's traits in force as JSON text, for the page's tracking
    /// plan checker.
    #[cfg(feature = "tracking-plan")]
    pub fn traits(&self) -> String {
        self.rt.traits_json()
    }

    /// Sets one consent category: `granted`, `denied` or `unknown`.
    #[wasm_bindgen(js_name = setConsent)]
    pub fn set_consent(&mut self, category: &str, state: &str) -> Result<(), JsError> {
        let state = consent_state(state).map_err(err)?;
        self.rt.set_consent(category, state, now()).map_err(err)
    }

    /// Opts out (true) or back in (false).
    #[wasm_bindgen(js_name = optOut)]
    pub fn opt_out(&mut self, opted_out: bool) {
        self.rt.opt_out(opted_out, now());
    }

    /// Erases the user from this browser; returns what was erased (JSON).
    pub fn forget(&mut self) -> String {
        forgotten_json(&self.rt.forget(now()))
    }

    /// The anonymous id in force.
    #[wasm_bindgen(js_name = anonymousId)]
    pub fn anonymous_id(&self) -> String {
        self.rt.anonymous_id().to_string()
    }

    /// The user id in force.
    #[wasm_bindgen(js_name = userId)]
    pub fn user_id(&self) -> Option<String> {
        self.rt.user_id().map(str::to_string)
    }

    /// This tab's id.
    pub fn tab(&self) -> String {
        self.rt.tab().to_string()
    }

    /// `stats()` as JSON text.
    pub fn stats(&mut self) -> String {
        self.rt.stats_json(now())
    }
}
