//! The recorder: turns the app's calls into stored events, applying identity,
//! session, context and consent in recording order.
//!
//! It is sans-IO like the engine and sits in front of it: each call goes
//! through [`Recorder::record`], which asks [`Consent`] whether the event may
//! be kept, stamps it with the identity and session in force at that moment,
//! encodes it once, and queues it for the next [`Recorder::commit`] (one store
//! transaction, together with any identity, consent or session change). Events
//! waiting for an undecided consent are held here, in memory only, and are
//! stamped with the consent in force when they are released. Under a tracking
//! plan each call is judged before anything else happens to it (see
//! [`crate::plan`]): dropped (counted `plan_violation`), stripped, or kept,
//! and every kept event carries `context.trackingPlan` and, when it breaks
//! the plan, `context.violations`; the violations are counted for `stats()`
//! and persisted with the events. Delivery is left to the [`Engine`].

use crate::prelude::*;

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::consent::{self, Consent, ConsentState, Gate};
use crate::engine::{Engine, Recorded};
use crate::error::Error;
use crate::identity::{self, EventIds, Identity};
use crate::json::{Json, Object, RawJson};
use crate::model::{encode_parts, Call, EventKind, Stamp};
use crate::plan::{self, PlanStats, TrackingPlan, Violation};
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
    /// `context.violations` (JSON array text) when the call broke the plan.
    violations: Option<Box<str>>,
}

/// Identity, consent, session and context, and the events on their way to the store.
pub struct Recorder {
    config: RecorderSettings,
    identity: Identity,
    consent: Consent,
    session: Option<Session>,
    context: Object,
    context_cache: Option<(i64, RawJson)>,
    /// The context of a complete event that brings none (see `own_context`).
    library_context: Option<RawJson>,
    /// Events' timestamps as text, the last second's kept.
    #[cfg(feature = "native")]
    timestamps: crate::time::Iso8601Text,
    held: VecDeque<Held>,
    held_bytes: usize,
    pending: Vec<NewEvent>,
    pending_state: Vec<(String, Option<String>)>,
    // The session moves with every event, but is written only when a new one
    // begins or its last activity moved by `session::save_step_ms` since it
    // was (`session_saved_ms`): the browser paid a storage write per call.
    session_dirty: bool,
    session_saved_ms: i64,
    plan: Option<Arc<TrackingPlan>>,
    plan_stats: PlanStats,
    // Like the session, violation counts are written once per commit.
    plan_stats_dirty: bool,
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
    /// See [`Config::tracking_plan`].
    pub tracking_plan: Option<Arc<TrackingPlan>>,
    /// See [`Config::strict_tracking_plan`].
    pub strict_tracking_plan: bool,
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
            tracking_plan: c.tracking_plan.clone(),
            strict_tracking_plan: c.strict_tracking_plan,
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
        let plan_stats = store
            .get_state(plan::VIOLATIONS_STATE_KEY)
            .ok()
            .flatten()
            .filter(|_| cfg!(feature = "plan"))
            .and_then(|t| PlanStats::from_json(&t))
            .unwrap_or_default();
        Recorder {
            plan: config.tracking_plan.clone(),
            plan_stats,
            plan_stats_dirty: false,
            context: config.context.clone(),
            config,
            identity,
            consent,
            session,
            context_cache: None,
            library_context: None,
            #[cfg(feature = "native")]
            timestamps: Default::default(),
            held: VecDeque::new(),
            held_bytes: 0,
            pending: Vec::new(),
            pending_state,
            session_dirty: false,
            session_saved_ms: session.map_or(0, |s| s.last_event_ms),
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
        let mut call = call;
        let mut violations = None;
        if self.active_plan().is_some() {
            match self.judge(call, engine, now_ms) {
                Some((judged, v)) => {
                    call = judged;
                    violations = v;
                }
                None => return,
            }
        }
        self.record_passed(call, violations, gate, engine, now_ms);
    }

    /// Takes one call judged by a tracking-plan checker outside the core
    /// (the browser's, wasm/js/plan.js, which keeps its own counts):
    /// `drop` counts it `plan_violation`, else it is recorded as `call`
    /// (already stripped) with `violations` (JSON array text) in its
    /// `context.violations`. Consent comes first, as for [`record`](Self::record):
    /// `false` when consent dropped the call before its verdict counted.
    pub fn record_judged(
        &mut self,
        call: Call,
        drop: bool,
        violations: Option<Box<str>>,
        engine: &mut Engine,
        now_ms: i64,
    ) -> bool {
        let gate = self.consent.gate();
        if gate == Gate::Drop {
            engine.count_external_drop(DropReason::Consent, 1, now_ms);
            return false;
        }
        if drop {
            engine.count_external_drop(DropReason::PlanViolation, 1, now_ms);
        } else {
            self.record_passed(call, violations, gate, engine, now_ms);
        }
        true
    }

    /// Records a call past consent and the plan.
    fn record_passed(
        &mut self,
        call: Call,
        violations: Option<Box<str>>,
        gate: Gate,
        engine: &mut Engine,
        now_ms: i64,
    ) {
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
                    violations,
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
            self.encode_event(
                &call,
                None,
                session_id,
                violations.as_deref(),
                engine,
                now_ms,
            );
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
                violations,
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
                                violations: None,
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
                            violations: None,
                        },
                        gate,
                        engine,
                        now_ms,
                    );
                }
            }
        }
        // Back too: a clock set back moves the last activity back.
        let moved = self.session.map_or(0, |s| s.last_event_ms) - self.session_saved_ms;
        if matches!(touch, Touch::Started { .. })
            || moved.abs() >= session::save_step_ms(self.config.session_timeout_ms)
        {
            self.session_dirty = true;
        }
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
        self.encode_event(
            &held.call,
            Some(&held.ids),
            held.session_id,
            held.violations.as_deref(),
            engine,
            now_ms,
        );
    }

    /// The plan's verdict on `call`: `None` when it is dropped (counted),
    /// else the call to record (stripped, if the policy says so) and its
    /// `context.violations`.
    fn judge(
        &mut self,
        call: Call,
        engine: &mut Engine,
        now_ms: i64,
    ) -> Option<(Call, Option<Box<str>>)> {
        let plan = self.active_plan()?;
        // A complete event speaks for its own user: the device's traits are not its.
        let traits = call.explicit().is_none().then_some(&self.identity.traits);
        let verdict = plan.check_call(&call, traits);
        if verdict.is_clean() {
            return Some((call, None));
        }
        self.count_violations(&call, &verdict.violations);
        if verdict.drop {
            engine.count_external_drop(DropReason::PlanViolation, 1, now_ms);
            return None;
        }
        let call = match &verdict.replaced {
            None => call,
            Some(kept) => {
                let text = (!kept.is_empty()).then(|| kept.to_text());
                // The stripped payload is smaller than the call's: it fits.
                match call.with_payload(text.as_deref()) {
                    Ok(c) => c,
                    Err(_) => call,
                }
            }
        };
        Some((
            call,
            Some(plan::violations_json(&verdict.violations).into()),
        ))
    }

    fn count_violations(&mut self, call: &Call, violations: &[Violation]) {
        let event = match call.kind {
            EventKind::Track => call.name().unwrap_or_default(),
            other => other.as_str(),
        };
        self.plan_stats.count(event, violations);
        self.plan_stats_dirty = true;
    }

    /// Strict mode's check, before [`record`](Self::record): with a plan
    /// and `strict_tracking_plan` on, a call that breaks the plan is refused
    /// with [`Error::PlanViolation`] (its violations counted, the call
    /// dropped as `plan_violation`). Without strict mode it passes.
    pub fn check_strict(
        &mut self,
        call: &Call,
        engine: &mut Engine,
        now_ms: i64,
    ) -> Result<(), Error> {
        let Some(plan) = self
            .active_plan()
            .filter(|_| self.config.strict_tracking_plan)
        else {
            return Ok(());
        };
        let traits = call.explicit().is_none().then_some(&self.identity.traits);
        let verdict = plan.check_call(call, traits);
        if verdict.is_clean() {
            return Ok(());
        }
        let error = strict_error(plan, call, verdict.violations);
        if let Error::PlanViolation { violations, .. } = &error {
            self.count_violations(call, violations);
        }
        engine.count_external_drop(DropReason::PlanViolation, 1, now_ms);
        Err(error)
    }

    /// Counts a call that strict mode refused on another thread (the
    /// native client checks on the caller's): its violations, and the call
    /// as dropped `plan_violation`.
    pub fn count_refused(&mut self, error: &Error, engine: &mut Engine, now_ms: i64) {
        if let Error::PlanViolation {
            event, violations, ..
        } = error
        {
            self.plan_stats.count(event, violations);
            self.plan_stats_dirty = true;
            engine.count_external_drop(DropReason::PlanViolation, 1, now_ms);
        }
    }

    /// Replaces the tracking plan (`None`: no plan) for the calls after
    /// this one; events already recorded keep the verdict they had.
    pub fn set_tracking_plan(&mut self, plan: Option<Arc<TrackingPlan>>) {
        self.plan = plan;
        self.context_cache = None;
    }

    /// The tracking plan in force.
    pub fn tracking_plan(&self) -> Option<&Arc<TrackingPlan>> {
        self.plan.as_ref()
    }

    /// The plan calls are judged by: none in a build without the `plan`
    /// feature (the default browser package), where the checker is then
    /// left out of the build as code never reached.
    fn active_plan(&self) -> Option<&TrackingPlan> {
        if cfg!(feature = "plan") {
            self.plan.as_deref()
        } else {
            None
        }
    }

    /// The latest violations quote the values that broke the plan (an
    /// email, a name): a purge or `forget` erases them with the events. The
    /// counts (event names and rules only) stay.
    fn forget_violation_values(&mut self) {
        if cfg!(feature = "plan") && !self.plan_stats.recent.is_empty() {
            self.plan_stats.recent.clear();
            self.plan_stats_dirty = true;
        }
    }

    /// Violations counted so far (over the life of the buffer file).
    pub fn plan_stats(&self) -> &PlanStats {
        &self.plan_stats
    }

    /// Encodes `call` and queues it for the next commit; `ids` `None` means
    /// the identity's own (a track, screen or page sent at once).
    /// `violations` (JSON array text) go into its `context.violations`.
    fn encode_event(
        &mut self,
        call: &Call,
        ids: Option<&EventIds>,
        session_id: i64,
        violations: Option<&str>,
        engine: &mut Engine,
        now_ms: i64,
    ) {
        let max = self.config.max_event_bytes;
        // A complete event (`enqueue`) speaks for its own user, often one of
        // many a backend serves: it carries the context it brought and the
        // library, never this device's session, consent or context.
        let built;
        let own_context = match call.explicit() {
            None => None,
            // The backend's usual event brings no context: its context is
            // the library alone, the same text every time (kept native
            // only: the browser records few complete events, and its size
            // budget counts every byte).
            Some(_)
                if cfg!(feature = "native")
                    && call.context().is_none()
                    && self.active_plan().is_none() =>
            {
                Some(
                    &*self
                        .library_context
                        .get_or_insert_with(|| own_context(None, None)),
                )
            }
            Some(_) => {
                built = own_context(call.context(), self.active_plan());
                Some(&built)
            }
        };
        let parts = call.parts();
        let json = {
            let context = match own_context {
                Some(c) => c,
                None => context_json(
                    &mut self.context_cache,
                    &self.context,
                    &self.consent,
                    if cfg!(feature = "plan") {
                        self.plan.as_deref()
                    } else {
                        None
                    },
                    session_id,
                ),
            };
            // This event's violations join the context it shares with others.
            let flagged = violations.map(|v| {
                let shared = context.get();
                let mut text = String::with_capacity(shared.len() + v.len() + 16);
                text.push_str(shared.strip_suffix('}').unwrap_or(shared));
                if text.len() > 1 {
                    text.push(',');
                }
                text.push_str("\"violations\":");
                text.push_str(v);
                text.push('}');
                RawJson::trusted(text)
            });
            let context = flagged.as_ref().unwrap_or(context);
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
            #[cfg(feature = "native")]
            let timestamp = self.timestamps.of(call.timestamp_ms);
            // The browser writes each in full (its size budget).
            #[cfg(not(feature = "native"))]
            let mut buf = [0; crate::time::ISO8601_MAX];
            #[cfg(not(feature = "native"))]
            let timestamp = crate::time::iso8601_ms_in(call.timestamp_ms, &mut buf);
            encode_parts(call, &parts, &stamp, timestamp)
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
            self.session_saved_ms = self.session.map_or(0, |s| s.last_event_ms);
            self.pending_state
                .push((session::STATE_KEY.into(), self.session.map(|s| s.to_json())));
        }
        if cfg!(feature = "plan") && self.plan_stats_dirty {
            self.plan_stats_dirty = false;
            self.pending_state.push((
                plan::VIOLATIONS_STATE_KEY.into(),
                Some(self.plan_stats.to_json()),
            ));
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

    /// Events recorded since the last commit, on their way to it.
    #[cfg(feature = "native")]
    pub fn pending_events(&self) -> usize {
        self.pending.len()
    }

    /// Stores `mark` with the next commit, in the same transaction as the
    /// events recorded before it ([`crate::runtime::MARK_STATE_KEY`]).
    #[cfg(feature = "native")]
    pub fn set_mark(&mut self, mark: String) {
        self.pending_state
            .push((crate::runtime::MARK_STATE_KEY.into(), Some(mark)));
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
    /// A category that only some destinations need (their
    /// `consent_categories`) purges only those destinations' queues.
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
        // The destinations that need this category lose their queued
        // events (counted `consent` for them); the others keep theirs.
        // What no destination needs any more leaves the disk too.
        #[cfg(feature = "lanes")]
        if state != ConsentState::Granted && engine.purge_for_category(category, now_ms) > 0 {
            engine.compact(now_ms);
        }
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
                    self.forget_violation_values();
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

        self.forget_violation_values();
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
    plan: Option<&TrackingPlan>,
    session_id: i64,
) -> &'a RawJson {
    if cache.as_ref().is_some_and(|(s, _)| *s != session_id) {
        *cache = None;
    }
    &cache
        .get_or_insert_with(|| {
            let member = |k: &str, v: Json| (k.to_string(), v);
            let mut ctx = context.clone();
            ctx.insert("library".into(), library());
            let preferences: Object = [member("categoryPreferences", consent.preferences().into())]
                .into_iter()
                .collect();
            ctx.insert("consent".into(), preferences.into());
            ctx.insert("sessionId".into(), Json::from(session_id));
            if let Some(plan) = plan {
                ctx.insert("trackingPlan".into(), plan_stamp(plan));
                // cairn's own under a plan: each event adds its violations.
                ctx.remove("violations");
            }
            (session_id, RawJson::trusted(ctx.to_text()))
        })
        .1
}

/// `context.trackingPlan`: `{"id":…,"version":…}`.
fn plan_stamp(plan: &TrackingPlan) -> Json {
    let stamp: Object = [
        ("id".to_string(), Json::from(plan.id())),
        ("version".to_string(), plan.version().clone()),
    ]
    .into_iter()
    .collect();
    stamp.into()
}

/// Strict mode's error for `call`.
fn strict_error(plan: &TrackingPlan, call: &Call, violations: Vec<Violation>) -> Error {
    let event = match call.kind {
        EventKind::Track => call.name().unwrap_or_default(),
        other => other.as_str(),
    };
    Error::PlanViolation {
        event: event.to_string(),
        plan: plan.id().to_string(),
        violations,
    }
}

/// Strict mode's check on its own, for a caller that holds the plan
/// outside the recorder (the native client checks on the caller's thread):
/// `Err` with [`Error::PlanViolation`] when `call` breaks `plan`. The user's
/// traits are not known there; a track's rules on them are checked when
/// the event is recorded.
pub fn strict_check(plan: &TrackingPlan, call: &Call) -> Result<(), Error> {
    let verdict = plan.check_call(call, None);
    if verdict.is_clean() {
        return Ok(());
    }
    Err(strict_error(plan, call, verdict.violations))
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;

/// The context of a complete event (`enqueue`): the one it brought, with the
/// library added unless it names one, and the tracking plan's stamp.
fn own_context(brought: Option<&Object>, plan: Option<&TrackingPlan>) -> RawJson {
    let mut own = brought.cloned().unwrap_or_default();
    if !own.contains_key("library") {
        own.insert("library".into(), library());
    }
    if let Some(plan) = plan {
        own.insert("trackingPlan".into(), plan_stamp(plan));
    }
    RawJson::trusted(own.to_text())
}

/// `context.library`: `{"name":"cairn","version":…}`.
fn library() -> Json {
    let library: Object = [
        ("name".to_string(), Json::from(crate::LIBRARY_NAME)),
        ("version".to_string(), Json::from(crate::VERSION)),
    ]
    .into_iter()
    .collect();
    library.into()
}
