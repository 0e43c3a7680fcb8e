//! [`CairnClient`]: the one exported object, a thin shell over [`cairn::Client`].
//!
//! Each method converts its arguments, calls the core and maps the error;
//! none keeps state of its own. Recording calls return as soon as the core's
//! worker has the call (microseconds); `flush`, `shutdown`, `forget` and
//! `commit` wait up to their timeout, so apps call them off the UI thread.

use std::sync::Arc;
use std::time::Duration;

use crate::config::CairnConfig;
use crate::error::CairnError;
use crate::registry;
use crate::types::{ConsentState, FlushReport, Forgotten, Stats};
use crate::MAX_TIMEOUT_MS;

/// A cairn client: records events into the on-disk buffer and delivers them
/// in the background. Share one per buffer file; it is safe to call from any
/// thread.
#[derive(Debug, uniffi::Object)]
pub struct CairnClient {
    // Shared with the fast path's registry, which hands it to
    // `cairn_ffi_record` calls by handle.
    inner: Arc<cairn::Client>,
    handle: u64,
}

impl Drop for CairnClient {
    fn drop(&mut self) {
        // The handle stops working with this object: a fast-path call on a
        // closed client gets `ERR_CLOSED`, never a dangling client.
        registry::unregister(self.handle);
    }
}

fn timeout(ms: u64) -> Duration {
    Duration::from_millis(ms.min(MAX_TIMEOUT_MS))
}

#[uniffi::export]
impl CairnClient {
    /// Validates `config` and starts the worker, which opens the buffer file
    /// and loads its state in the background: no disk work on the calling
    /// thread, here or in any later recording call. `stats`, `anonymous_id`
    /// and `user_id` wait for that first load (milliseconds).
    #[uniffi::constructor]
    pub fn new(config: CairnConfig) -> Result<Arc<Self>, CairnError> {
        let inner = Arc::new(config.to_builder()?.build()?);
        let handle = registry::register(Arc::clone(&inner));
        Ok(Arc::new(CairnClient { inner, handle }))
    }

    /// The handle of this client for `cairn_ffi_record`, the recording fast
    /// path of the Kotlin and Python packages (see the `record` module). It
    /// names this client until the object is destroyed (`close()`, garbage
    /// collection); never reused. Swift does not need it.
    pub fn record_handle(&self) -> u64 {
        self.handle
    }

    /// Counts a recording call the foreign package refused before it got
    /// here (a lone surrogate, a value JSON cannot hold) as dropped
    /// `invalid` in `stats()`.
    pub fn count_invalid_call(&self) {
        self.inner.count_invalid_call();
    }

    /// Records that the user did `event`. `properties_json` is a JSON object
    /// as text, or empty for none.
    pub fn track(&self, event: String, properties_json: String) -> Result<(), CairnError> {
        Ok(self.inner.track_json(&event, &properties_json)?)
    }

    /// Says who the user is; `traits_json` (a JSON object as text, or empty)
    /// is merged into the stored traits.
    pub fn identify(&self, user_id: String, traits_json: String) -> Result<(), CairnError> {
        Ok(self.inner.identify_json(&user_id, &traits_json)?)
    }

    /// Links the current user (or anonymous id) to `new_id`, which becomes the user id.
    pub fn alias(&self, new_id: String) -> Result<(), CairnError> {
        Ok(self.inner.alias(&new_id)?)
    }

    /// Says the user belongs to `group_id`, with the group's traits (JSON text, or empty).
    pub fn group(&self, group_id: String, traits_json: String) -> Result<(), CairnError> {
        Ok(self.inner.group_json(&group_id, &traits_json)?)
    }

    /// Records that a mobile screen `name` was viewed.
    pub fn screen(&self, name: String, properties_json: String) -> Result<(), CairnError> {
        Ok(self.inner.screen_json(&name, &properties_json)?)
    }

    /// Records that a web page `name` was viewed (the name may be empty).
    pub fn page(&self, name: String, properties_json: String) -> Result<(), CairnError> {
        Ok(self.inner.page_json(&name, &properties_json)?)
    }

    /// Records a complete Segment-spec event (JSON text) as given, keeping its
    /// `userId`, `anonymousId`, `messageId`, `timestamp` and `context`: for
    /// backend services that record on behalf of many users.
    pub fn enqueue(&self, event_json: String) -> Result<(), CairnError> {
        Ok(self.inner.enqueue_json(&event_json)?)
    }

    /// Forgets the user on this device: clears user id, traits and group and
    /// makes a new anonymous id.
    pub fn reset(&self) -> Result<(), CairnError> {
        Ok(self.inner.reset()?)
    }

    /// Replaces the anonymous id (for example with one the web app set).
    pub fn set_anonymous_id(&self, anonymous_id: String) -> Result<(), CairnError> {
        Ok(self.inner.set_anonymous_id(&anonymous_id)?)
    }

    /// Merges `context_json` (a JSON object as text) into the context of
    /// every later event; a `null` value removes a key.
    pub fn set_context(&self, context_json: String) -> Result<(), CairnError> {
        Ok(self.inner.set_context_json(&context_json)?)
    }

    /// Replaces the tracking plan (JSON text) for every later call; fails
    /// with `InvalidConfig` naming where the plan is wrong (the plan in force
    /// then stays).
    pub fn set_tracking_plan(&self, plan_json: String) -> Result<(), CairnError> {
        Ok(self.inner.set_tracking_plan(&plan_json)?)
    }

    /// Removes the tracking plan: later calls are not checked.
    pub fn remove_tracking_plan(&self) -> Result<(), CairnError> {
        Ok(self.inner.remove_tracking_plan()?)
    }

    /// Records the user's decision for one consent category.
    pub fn set_consent(&self, category: String, state: ConsentState) -> Result<(), CairnError> {
        Ok(self.inner.set_consent(&category, state.into())?)
    }

    /// `true`: nothing is stored or sent from now on and the buffer is purged
    /// (it persists across restarts); `false` resumes recording.
    pub fn opt_out(&self, opted_out: bool) -> Result<(), CairnError> {
        Ok(self.inner.opt_out(opted_out)?)
    }

    /// Erases the user from this device (queued events, identity, consent,
    /// session) and returns the ids erased. Waits up to `timeout_ms` (at most
    /// one day): it touches disk.
    pub fn forget(&self, timeout_ms: u64) -> Result<Forgotten, CairnError> {
        let forgotten = self.inner.forget(timeout(timeout_ms))?;
        Ok(forgotten.into())
    }

    /// Waits up to `timeout_ms` until every earlier call is committed to the
    /// buffer file. `false` if events are held in memory because the disk fails.
    pub fn commit(&self, timeout_ms: u64) -> Result<bool, CairnError> {
        Ok(self.inner.commit(timeout(timeout_ms))?)
    }

    /// Sends everything recorded so far and waits up to `timeout_ms` for it
    /// to be delivered; what is left stays on disk and goes out later.
    pub fn flush(&self, timeout_ms: u64) -> Result<FlushReport, CairnError> {
        Ok(self.inner.flush(timeout(timeout_ms))?.into())
    }

    /// Flushes for up to `timeout_ms`, then stops the worker; later calls
    /// fail with `ShutDown`. What is not delivered stays on disk for the
    /// next client on this file.
    pub fn shutdown(&self, timeout_ms: u64) -> Result<FlushReport, CairnError> {
        Ok(self.inner.shutdown(timeout(timeout_ms))?.into())
    }

    /// A snapshot of the queue, delivery and drops (no disk access).
    pub fn stats(&self) -> Stats {
        self.inner.stats().into()
    }

    /// The anonymous id in force.
    pub fn anonymous_id(&self) -> String {
        self.inner.anonymous_id()
    }

    /// The user id in force, if the user was identified.
    pub fn user_id(&self) -> Option<String> {
        self.inner.user_id()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A config whose endpoint refuses: nothing is delivered, events stay queued.
    pub(crate) fn config(dir: &std::path::Path) -> CairnConfig {
        CairnConfig {
            write_key: "key".into(),
            // Port 9 (discard) refuses: nothing is delivered, events stay queued.
            endpoint: Some("http://127.0.0.1:9".into()),
            destination: None,
            storage_path: Some(dir.join("ffi.db").display().to_string()),
            flush_at: None,
            flush_interval_ms: None,
            max_batch_events: None,
            max_batch_bytes: None,
            max_event_bytes: None,
            request_timeout_ms: None,
            gzip: None,
            retry_base_delay_ms: None,
            max_retry_delay_ms: None,
            max_queue_events: None,
            max_queue_bytes: None,
            max_event_age_ms: None,
            max_pending_calls: None,
            record_wait_ms: None,
            session_timeout_ms: None,
            session_events: None,
            reset_on_user_switch: None,
            consent: HashMap::new(),
            required_consent: Vec::new(),
            context_json: None,
            anonymous_id: None,
            tracking_plan_json: None,
            strict_tracking_plan: None,
            destinations: Vec::new(),
            allow_events: Vec::new(),
            deny_events: Vec::new(),
            call_types: Vec::new(),
            consent_categories: Vec::new(),
        }
    }

    #[test]
    fn strict_tracking_plan_crosses_as_plan_violation() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.tracking_plan_json = Some(
            r#"{"id": "p", "version": 1, "events": {"Paid": {"properties": {"properties": {"amount": {"type": "number"}}}}}}"#.into(),
        );
        cfg.strict_tracking_plan = Some(true);
        let c = CairnClient::new(cfg).unwrap();
        c.track("Paid".into(), r#"{"amount": 3}"#.into()).unwrap();
        let e = c
            .track("Paid".into(), r#"{"amount": "3"}"#.into())
            .unwrap_err();
        assert!(
            matches!(&e, CairnError::PlanViolation(m) if m.contains("properties.amount: expected number, got string \"3\"")),
            "{e:?}"
        );
        c.commit(5_000).unwrap();
        let s = c.stats();
        assert_eq!(s.dropped.plan_violation, 1);
        assert_eq!(
            s.plan_violations,
            [crate::types::ViolationCount {
                event: "Paid".into(),
                rule: "type".into(),
                count: 1
            }]
        );
        assert_eq!(s.recent_violations[0].path, "properties.amount");
        let e = c
            .set_tracking_plan(
                r#"{"id": "p", "events": {"Paid": {"properties": {"not": {}}}}}"#.into(),
            )
            .unwrap_err();
        assert!(
            matches!(&e, CairnError::InvalidConfig(m) if m.contains("at /events/Paid/properties/not: unsupported keyword `not`")),
            "{e:?}"
        );
        c.remove_tracking_plan().unwrap();
        c.track("Paid".into(), r#"{"amount": "3"}"#.into()).unwrap();
    }

    #[test]
    fn calls_reach_the_core_and_bad_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let c = CairnClient::new(config(dir.path())).unwrap();
        c.track("Signed Up".into(), r#"{"plan": "pro"}"#.into())
            .unwrap();
        c.track("No Props".into(), String::new()).unwrap();
        c.identify("user-7".into(), "{}".into()).unwrap();
        assert!(c.commit(5_000).unwrap());
        let stats = c.stats();
        assert_eq!(stats.queued_events, 3, "{stats:?}");
        assert_eq!(c.user_id().as_deref(), Some("user-7"));

        assert!(matches!(
            c.track(String::new(), String::new()),
            Err(CairnError::InvalidEvent(_))
        ));
        match c.track("X".into(), "[1]".into()) {
            Err(CairnError::InvalidEvent(m)) => {
                assert!(m.contains("properties must be a JSON object"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.set_context("nope".into()),
            Err(CairnError::InvalidEvent(_))
        ));
        assert!(matches!(
            c.set_consent(" ".into(), ConsentState::Granted),
            Err(CairnError::InvalidEvent(_))
        ));
        c.commit(5_000).unwrap();
        assert_eq!(c.stats().dropped.invalid, 2);
    }

    #[test]
    fn after_forget_the_new_identity_is_visible_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let c = CairnClient::new(config(dir.path())).unwrap();
        c.identify("user-1".into(), String::new()).unwrap();
        c.commit(5_000).unwrap();
        let before = c.anonymous_id();
        let gone = c.forget(5_000).unwrap();
        assert!(gone.anonymous_ids.contains(&before));
        assert_eq!(gone.user_ids, vec!["user-1".to_string()]);
        assert_ne!(c.anonymous_id(), before);
        assert_eq!(c.user_id(), None);
    }

    #[test]
    fn huge_timeouts_are_clamped_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let c = CairnClient::new(config(dir.path())).unwrap();
        assert!(c.commit(u64::MAX).unwrap());
        let report = c.shutdown(0).unwrap();
        assert_eq!(report.remaining, 0);
        assert!(matches!(
            c.track("Late".into(), String::new()),
            Err(CairnError::ShutDown(_))
        ));
    }

    #[test]
    fn a_second_client_on_the_same_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = CairnClient::new(config(dir.path())).unwrap();
        match CairnClient::new(config(dir.path())) {
            Err(CairnError::StorageInUse(m)) => assert!(m.contains("own storage_path"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stats_show_each_destination_when_there_are_several() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.destinations = vec![crate::types::DestinationConfig {
            name: "orders".into(),
            kind: crate::types::DestinationKind::Segment,
            endpoint: "http://127.0.0.1:9".into(),
            key: "k2".into(),
            allow_events: vec!["Order *".into()],
            deny_events: Vec::new(),
            call_types: Vec::new(),
            consent_categories: Vec::new(),
            max_batch_events: None,
        }];
        let c = CairnClient::new(cfg).unwrap();
        c.track("Viewed".into(), String::new()).unwrap();
        c.commit(5_000).unwrap();
        let s = c.stats();
        let names: Vec<_> = s.destinations.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["default", "orders"]);
        assert_eq!(s.waited_for_room.calls, 0);
        // Without extra destinations the list stays empty, as in the core.
        let dir = tempfile::tempdir().unwrap();
        let one = CairnClient::new(config(dir.path())).unwrap();
        assert!(one.stats().destinations.is_empty());
        // One that routes is listed: its skipped events show nowhere else.
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.allow_events = vec!["Order *".into()];
        let routed = CairnClient::new(cfg).unwrap();
        let names: Vec<_> = routed
            .stats()
            .destinations
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["default"]);
    }
}
