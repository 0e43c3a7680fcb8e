//! The recorder: turns the app's calls into stored events, applying identity,
//! session, context and consent in recording order.
//!
//! It is sans-IO like the engine and sits in front of it: each call goes
//! through [`Recorder::record`], which asks [`Consent`] whether the event may
//! be kept, stamps it with the identity and session in force at that moment,
//! encodes it once, and queues it for the next [`Recorder::commit`] (one store
//! transaction, together with any identity, consent or session change). Events
//! waiting for an undecided consent are held here, in memory only, and are
//! stamped with the consent in force when they are released. Delivery is left
//! to the [`Engine`].

use crate::prelude::*;

use alloc::collections::VecDeque;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::consent::{self, Consent, ConsentState, Gate};
use crate::engine::{Engine, Recorded};
use crate::identity::{self, EventIds, Identity};
use crate::json::{Json, Object, RawJson};
use crate::model::{encode_parts, Call, EventKind, Stamp};
use crate::session::{self, Session, Touch};
use crate::stats::DropReason;
use crate::store::{NewEvent, Store};

/// Most events held in memory while consent is undecided.
pub const MAX_HELD_EVENTS: usize = 1_000;
/// Most bytes of events held while consent is undecided: 1 MiB.
pub const MAX_HELD_BYTES: usize = 1024 * 1024;
/// Name of the event recorded when a session starts (if session events are on).
pub const SESSION_STARTED_EVENT: &str = "Session Started";
/// Name of the event recorded when a session times out (if session events are on).
pub const SESSION_ENDED_EVENT: &str = "Session Ended";

/// What [`Recorder::forget`] erased, so the app can ask the backend to delete
/// the same user server-side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// Every anonymous id the erased events and identity carried.
    pub anonymous_ids: Vec<String>,
    /// Every user id they carried.
    pub user_ids: Vec<String>,
    /// Events removed from the buffer (and from memory).
    pub events_erased: u64,
}

struct Held {
    call: Call,
    ids: EventIds,
    session_id: i64,
}

/// Identity, consent, session and context, and the events on their way to the store.
pub struct Recorder {
    config: RecorderSettings,
    identity: Identity,
    consent: Consent,
    session: Option<Session>,
    context: Object,
    context_cache: Option<(i64, RawJson)>,
    held: VecDeque<Held>,
    held_bytes: usize,
    pending: Vec<NewEvent>,
    pending_state: Vec<(String, Option<String>)>,
    // The session moves with every event; it is written once per commit.
    session_dirty: bool,
}

/// The settings the recorder acts on, taken from a [`Config`].
#[derive(Debug, Clone)]
pub struct RecorderSettings {
    /// See [`Config::max_event_bytes`].
    pub max_event_bytes: usize,
    /// See [`Config::session_timeout`], in ms.
    pub session_timeout_ms: i64,
    /// See [`Config::session_events`].
    pub session_events: bool,
    /// See [`Config::reset_on_user_switch`].
    pub reset_on_user_switch: bool,
    /// See [`Config::consent`].
    pub consent: Vec<(String, ConsentState)>,
    /// See [`Config::required_consent`].
    pub required_consent: Vec<String>,
    /// See [`Config::context`].
    pub context: Object,
    /// See [`Config::anonymous_id`].
    pub anonymous_id: Option<String>,
}

impl From<&Config> for RecorderSettings {
    fn from(c: &Config) -> Self {
        RecorderSettings {
            max_event_bytes: c.max_event_bytes,
            session_timeout_ms: c.session_timeout.as_millis() as i64,
            session_events: c.session_events,
            reset_on_user_switch: c.reset_on_user_switch,
            consent: c.consent.clone(),
            required_consent: c.required_consent.clone(),
            context: c.context.clone(),
            anonymous_id: c.anonymous_id.clone(),
        }
    }
}

impl Recorder {
    /// Loads identity, consent and session from `store`. `mirrored_anonymous_id`
    /// is the copy kept beside the database (used when the database lost it).
    pub fn load(
        config: RecorderSettings,
        store: &mut dyn Store,
        mirrored_anonymous_id: Option<String>,
    ) -> Self {
        let mut pending_state = Vec::new();
        let stored = store
            .get_state(identity::STATE_KEY)
            .ok()
            .flatten()
            .and_then(|t| Identity::from_json(&t));
        let identity = match stored {
            Some(id) => id,
            None => {
                let mut id = Identity::new();
                if let Some(anon) = mirrored_anonymous_id
                    .or_else(|| config.anonymous_id.clone())
                    .filter(|a| !a.trim().is_empty())
                {
                    id.anonymous_id = anon;
                }
                pending_state.push((identity::STATE_KEY.to_string(), Some(id.to_json())));
                id
            }
        };
        let mut consent = Consent::new(&config.consent, &config.required_consent);
        if let Some(text) = store.get_state(consent::STATE_KEY).ok().flatten() {
            consent.restore(&text);
        }
        let session = store
            .get_state(session::STATE_KEY)
            .ok()
            .flatten()
            .and_then(|t| Session::from_json(&t));
        Recorder {
            context: config.context.clone(),
            config,
            identity,
            consent,
            session,
            context_cache: None,
            held: VecDeque::new(),
            held_bytes: 0,
            pending: Vec::new(),
            pending_state,
            session_dirty: false,
        }
    }

    /// The anonymous id in force now.
    pub fn anonymous_id(&self) -> &str {
        &self.identity.anonymous_id
    }

    /// The identity in force now.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The consent in force now.
    pub fn consent(&self) -> &Consent {
        &self.consent
    }

    /// Events held in memory until consent is decided.
    pub fn held_events(&self) -> usize {
        self.held.len()
    }

    /// Takes one call, in recording order.
    pub fn record(&mut self, call: Call, engine: &mut Engine, now_ms: i64) {
        let gate = self.consent.gate();
        if gate == Gate::Drop {
            engine.count_external_drop(DropReason::Consent, 1, now_ms);
            return;
        }
        if let Some(explicit) = call.explicit() {
            // A complete event speaks for its own user: the device's identity
            // is neither applied nor changed, and no session is touched.
            // With neither id given, the event still needs one to be accepted.
            let anonymous_id = match (&explicit.anonymous_id, &explicit.user_id) {
                (Some(id), _) => id.clone(),
                (None, Some(_)) => String::new(),
                (None, None) => self.identity.anonymous_id.clone(),
            };
            let ids = EventIds {
                anonymous_id,
                user_id: explicit.user_id.clone(),
                previous_id: explicit.previous_id.clone(),
                group_id: call.group_id().map(str::to_owned),
            };
            // Not used: a complete event carries no device session.
            let session_id = 0;
            self.route(
                Held {
                    call,
                    ids,
                    session_id,
                },
                gate,
                engine,
                now_ms,
            );
            return;
        }
        if call.kind == EventKind::Identify
            && self.config.reset_on_user_switch
            && self.identity.user_id.is_some()
            && self.identity.user_id.as_deref() != call.user_id()
        {
            // A different person on this device: never merge them.
            self.reset();
        }
        // Only identify, alias and group change the identity; cloning it
        // (traits and all) for every track would cost more than the event.
        let changes = matches!(
            call.kind,
            EventKind::Identify | EventKind::Alias | EventKind::Group
        );
        if !changes && gate == Gate::Send {
            // Sent at once with the identity's own ids, read in place: the
            // copies a held event needs would cost two allocations per event.
            let session_id = self.touch_session(&call, gate, engine, now_ms);
            self.encode_event(&call, None, session_id, engine, now_ms);
            return;
        }
        let before = changes.then(|| self.identity.clone());
        let ids = self.identity.apply(&call);
        if before.is_some_and(|b| b != self.identity) {
            self.save_identity();
        }
        let session_id = self.touch_session(&call, gate, engine, now_ms);
        self.route(
            Held {
                call,
                ids,
                session_id,
            },
            gate,
            engine,
            now_ms,
        );
    }

    fn route(&mut self, held: Held, gate: Gate, engine: &mut Engine, now_ms: i64) {
        match gate {
            Gate::Send => self.encode_pending(held, engine, now_ms),
            Gate::Hold => self.hold(held, engine, now_ms),
            Gate::Drop => engine.count_external_drop(DropReason::Consent, 1, now_ms),
        }
    }

    /// After the identity has taken `call`.
    fn touch_session(&mut self, call: &Call, gate: Gate, engine: &mut Engine, now_ms: i64) -> i64 {
        let touch = Session::touch(
            &mut self.session,
            call.timestamp_ms,
            self.config.session_timeout_ms,
        );
        let current = self.session.map_or(call.timestamp_ms, |s| s.id);
        if let Touch::Started { ended } = touch {
            self.context_cache = None;
            if self.config.session_events {
                let plain = EventIds {
                    anonymous_id: self.identity.anonymous_id.clone(),
                    user_id: self.identity.user_id.clone(),
                    previous_id: None,
                    group_id: None,
                };
                if let Some(ended) = ended {
                    if let Ok(c) = Call::track(SESSION_ENDED_EVENT, None, ended.last_event_ms) {
                        self.route(
                            Held {
                                call: c,
                                ids: plain.clone(),
                                session_id: ended.id,
                            },
                            gate,
                            engine,
                            now_ms,
                        );
                    }
                }
                if let Ok(c) = Call::track(SESSION_STARTED_EVENT, None, call.timestamp_ms) {
                    self.route(
                        Held {
                            call: c,
                            ids: plain,
                            session_id: current,
                        },
                        gate,
                        engine,
                        now_ms,
                    );
                }
            }
        }
        self.session_dirty = true;
        current
    }

    fn hold(&mut self, held: Held, engine: &mut Engine, now_ms: i64) {
        self.held_bytes += held.call.payload_bytes();
        self.held.push_back(held);
        let mut overflow = 0;
        while self.held.len() > MAX_HELD_EVENTS || self.held_bytes > MAX_HELD_BYTES {
            if let Some(h) = self.held.pop_front() {
                self.held_bytes -= h.call.payload_bytes();
                overflow += 1;
            }
        }
        engine.count_external_drop(DropReason::Overflow, overflow, now_ms);
    }

    fn encode_pending(&mut self, held: Held, engine: &mut Engine, now_ms: i64) {
        self.encode_event(&held.call, Some(&held.ids), held.session_id, engine, now_ms);
    }

    /// Encodes `call` and queues it for the next commit; `ids` `None` means
    /// the identity's own (a track, screen or page sent at once).
    fn encode_event(
        &mut self,
        call: &Call,
        ids: Option<&EventIds>,
        session_id: i64,
        engine: &mut Engine,
        now_ms: i64,
    ) {
        let max = self.config.max_event_bytes;
        // A complete event (`enqueue`) speaks for its own user, often one of
        // many a backend serves: it carries the context it brought and the
        // library, never this device's session, consent or context.
        let own_context = call.explicit().map(|_| {
            let mut own = call.context().cloned().unwrap_or_default();
            if !own.contains_key("library") {
                let library: Object = [
                    ("name".to_string(), Json::from(crate::LIBRARY_NAME)),
                    ("version".to_string(), Json::from(crate::VERSION)),
                ]
                .into_iter()
                .collect();
                own.insert("library".into(), library.into());
            }
            RawJson::trusted(own.to_text())
        });
        let parts = call.parts();
        let json = {
            let context = match &own_context {
                Some(c) => c,
                None => context_json(
                    &mut self.context_cache,
                    &self.context,
                    &self.consent,
                    session_id,
                ),
            };
            let stamp = match ids {
                Some(ids) => Stamp {
                    anonymous_id: Some(ids.anonymous_id.as_str()).filter(|a| !a.is_empty()),
                    user_id: ids.user_id.as_deref(),
                    previous_id: ids.previous_id.as_deref(),
                    group_id: ids.group_id.as_deref(),
                    context,
                },
                None => Stamp {
                    anonymous_id: Some(self.identity.anonymous_id.as_str())
                        .filter(|a| !a.is_empty()),
                    user_id: self.identity.user_id.as_deref(),
                    previous_id: None,
                    group_id: None,
                    context,
                },
            };
            encode_parts(call, &parts, &stamp)
        };
        if json.len() > max {
            log::warn!("cairn: event {} is {} bytes with its envelope, over max_event_bytes = {max}; dropped", parts.message_id, json.len());
            engine.count_external_drop(DropReason::Oversize, 1, now_ms);
            return;
        }
        self.pending.push(NewEvent {
            message_id: parts.message_id.to_owned(),
            created_ms: call.timestamp_ms,
            json,
        });
    }

    /// Commits pending events and state changes in one transaction.
    pub fn commit(&mut self, engine: &mut Engine, now_ms: i64) -> Option<Recorded> {
        if self.session_dirty {
            self.session_dirty = false;
            self.pending_state
                .push((session::STATE_KEY.into(), self.session.map(|s| s.to_json())));
        }
        if self.pending.is_empty() && self.pending_state.is_empty() {
            return None;
        }
        // Only the last write of each key matters.
        let mut state: Vec<(String, Option<String>)> = Vec::new();
        for (k, v) in core::mem::take(&mut self.pending_state) {
            state.retain(|(key, _)| *key != k);
            state.push((k, v));
        }
        Some(engine.record(core::mem::take(&mut self.pending), state, now_ms))
    }

    fn save_identity(&mut self) {
        self.pending_state
            .push((identity::STATE_KEY.into(), Some(self.identity.to_json())));
    }

    fn save_consent(&mut self) {
        self.pending_state
            .push((consent::STATE_KEY.into(), Some(self.consent.to_json())));
    }

    /// Clears user id, traits and group, makes a new anonymous id and starts a
    /// new session with the next event.
    pub fn reset(&mut self) {
        // New message-id prefixes too, whichever front end drives the recorder.
        crate::ids::rotate();
        self.identity.reset();
        self.session = None;
        self.context_cache = None;
        self.save_identity();
        self.pending_state.push((session::STATE_KEY.into(), None));
    }

    /// Replaces the anonymous id (to reuse an id the app already has).
    pub fn set_anonymous_id(&mut self, anonymous_id: &str) {
        crate::ids::rotate();
        self.identity.anonymous_id = anonymous_id.to_string();
        self.save_identity();
    }

    /// Merges `context` into the context every later event carries; a `null`
    /// value removes that key. `library`, `consent` and `sessionId` are cairn's own.
    pub fn set_context(&mut self, context: Map<String, Value>) {
        self.set_context_object(Object::from(&context));
    }

    /// [`set_context`](Self::set_context) with cairn's own JSON object.
    pub fn set_context_object(&mut self, context: Object) {
        for (k, v) in context {
            if v.is_null() {
                self.context.remove(&k);
            } else {
                self.context.insert(k, v);
            }
        }
        self.context_cache = None;
    }

    /// Sets one consent category and acts on the change: held events are
    /// released (granted) or dropped (denied); a revocation purges every
    /// not-yet-sent event from the buffer and compacts its file, as
    /// [`forget`](Self::forget) does, so nothing of them stays on disk.
    pub fn set_consent(
        &mut self,
        category: &str,
        state: ConsentState,
        engine: &mut Engine,
        now_ms: i64,
    ) {
        let before = self.consent.gate();
        self.consent.set(category, state);
        self.save_consent();
        self.context_cache = None;
        self.after_consent_change(before, engine, now_ms);
    }

    /// Opts out (`true`): nothing more is stored or sent and the buffer is
    /// purged (its file compacted, as on a revocation); this persists across
    /// restarts. `false` resumes.
    pub fn opt_out(&mut self, opted_out: bool, engine: &mut Engine, now_ms: i64) {
        crate::ids::rotate();
        let before = self.consent.gate();
        self.consent.opted_out = opted_out;
        self.save_consent();
        self.after_consent_change(before, engine, now_ms);
    }

    fn after_consent_change(&mut self, before: Gate, engine: &mut Engine, now_ms: i64) {
        let mut purged = false;
        match self.consent.gate() {
            Gate::Send => {
                for held in core::mem::take(&mut self.held) {
                    self.encode_pending(held, engine, now_ms);
                }
                self.held_bytes = 0;
            }
            Gate::Drop => {
                let held = self.held.len() as u64;
                self.held.clear();
                self.held_bytes = 0;
                engine.count_external_drop(DropReason::Consent, held, now_ms);
                if before != Gate::Drop {
                    let pending = self.pending.len() as u64;
                    self.pending.clear();
                    engine.count_external_drop(DropReason::Consent, pending, now_ms);
                    engine.purge(DropReason::Consent, now_ms);
                    purged = true;
                }
            }
            Gate::Hold => {}
        }
        self.commit(engine, now_ms);
        if purged {
            // Deleted rows stay readable in the file's free pages and in the
            // WAL until rewritten: a revocation or an opt-out must leave no
            // more of the purged events on disk than `forget()` does.
            engine.compact(now_ms);
        }
    }

    /// Erases the user from this device: the buffer, identity, traits, group,
    /// consent and session; makes a new anonymous id, and has the store
    /// compact its file so the erased data is gone from the disk too.
    pub fn forget(&mut self, engine: &mut Engine, now_ms: i64) -> Forgotten {
        crate::ids::rotate();
        let mut anonymous_ids = vec![self.identity.anonymous_id.clone()];
        let mut user_ids: Vec<String> = self.identity.user_id.iter().cloned().collect();
        for h in &self.held {
            anonymous_ids.push(h.ids.anonymous_id.clone());
            user_ids.extend(h.ids.user_id.iter().cloned());
        }
        let (stored_anon, stored_users) = engine.ids_in_queue();
        anonymous_ids.extend(stored_anon);
        user_ids.extend(stored_users);
        crate::engine::sort_unique(&mut anonymous_ids);
        crate::engine::sort_unique(&mut user_ids);

        let erased_memory = (self.held.len() + self.pending.len()) as u64;
        self.held.clear();
        self.held_bytes = 0;
        self.pending.clear();
        let erased_stored = engine.purge(DropReason::Consent, now_ms);
        engine.count_external_drop(DropReason::Consent, erased_memory, now_ms);

        self.identity = Identity::new();
        self.consent = Consent::new(&self.config.consent, &self.config.required_consent);
        self.session = None;
        self.context_cache = None;
        self.pending_state.clear();
        self.save_identity();
        self.save_consent();
        self.pending_state.push((session::STATE_KEY.into(), None));
        self.commit(engine, now_ms);
        engine.compact(now_ms);
        Forgotten {
            anonymous_ids,
            user_ids,
            events_erased: erased_memory + erased_stored,
        }
    }
}

/// The `context` every event of session `session_id` carries, encoded once
/// per session (and again when the context or consent changes, which clears
/// `cache`). A function of the fields it reads, so the identity can be
/// borrowed beside it.
fn context_json<'a>(
    cache: &'a mut Option<(i64, RawJson)>,
    context: &Object,
    consent: &Consent,
    session_id: i64,
) -> &'a RawJson {
    if cache.as_ref().is_some_and(|(s, _)| *s != session_id) {
        *cache = None;
    }
    &cache
        .get_or_insert_with(|| {
            let member = |k: &str, v: Json| (k.to_string(), v);
            let mut ctx = context.clone();
            let library: Object = [
                member("name", crate::LIBRARY_NAME.into()),
                member("version", crate::VERSION.into()),
            ]
            .into_iter()
            .collect();
            ctx.insert("library".into(), library.into());
            let preferences: Object = [member("categoryPreferences", consent.preferences().into())]
                .into_iter()
                .collect();
            ctx.insert("consent".into(), preferences.into());
            ctx.insert("sessionId".into(), Json::from(session_id));
            (session_id, RawJson::trusted(ctx.to_text()))
        })
        .1
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
