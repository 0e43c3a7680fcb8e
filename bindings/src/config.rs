//! [`CairnConfig`]: every option of the core's `ClientBuilder`, as one record.
//!
//! Every option but the write key is optional (the core itself says that the
//! endpoint is required when it is missing), and an unset
//! option is simply not passed to the builder, so the core's constants stay
//! the only defaults (see docs/configuration.md). This module decides only
//! the FFI shapes: durations in milliseconds, counts as unsigned integers,
//! the context as JSON text; the core validates the values themselves and
//! names the option that is wrong.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::CairnError;
use crate::types::{ConsentState, DestinationConfig, DestinationKind};

/// The longest duration an option accepts: 100 years. The core does its
/// clock arithmetic in signed milliseconds; a larger value would overflow it.
pub const MAX_DURATION_MS: u64 = 100 * 365 * 24 * 60 * 60 * 1000;

/// Settings for a `CairnClient`. `None` (or an empty
/// list/map) means "the core's default".
#[derive(Debug, Clone, uniffi::Record)]
pub struct CairnConfig {
    /// The write key of your Segment/RudderStack source.
    pub write_key: String,
    /// The backend's base URL, `http://` or `https://`; events go to
    /// `{endpoint}/v1/batch`. Required: left unset, the core says so.
    #[uniffi(default)]
    pub endpoint: Option<String>,
    /// The backend's format: Segment (the default; RudderStack too),
    /// Amplitude or PostHog. With Amplitude or PostHog, `write_key` is that
    /// project's API key. See docs/destinations.md.
    #[uniffi(default)]
    pub destination: Option<DestinationKind>,
    /// The SQLite file that buffers events. On a device, a path inside the
    /// app's private files directory.
    #[uniffi(default)]
    pub storage_path: Option<String>,
    /// Send a batch as soon as this many events are queued.
    #[uniffi(default)]
    pub flush_at: Option<u32>,
    /// Send queued events at the latest this long after the first arrived.
    #[uniffi(default)]
    pub flush_interval_ms: Option<u64>,
    /// Most events in one upload.
    #[uniffi(default)]
    pub max_batch_events: Option<u32>,
    /// Most bytes in one upload, before compression.
    #[uniffi(default)]
    pub max_batch_bytes: Option<u64>,
    /// Largest single event once encoded.
    #[uniffi(default)]
    pub max_event_bytes: Option<u64>,
    /// Time limit of one HTTP request.
    #[uniffi(default)]
    pub request_timeout_ms: Option<u64>,
    /// Compress upload bodies with gzip.
    #[uniffi(default)]
    pub gzip: Option<bool>,
    /// Window of the first retry; it doubles with each failure.
    #[uniffi(default)]
    pub retry_base_delay_ms: Option<u64>,
    /// Longest wait between retries.
    #[uniffi(default)]
    pub max_retry_delay_ms: Option<u64>,
    /// Most events kept in the buffer.
    #[uniffi(default)]
    pub max_queue_events: Option<u64>,
    /// Most bytes kept in the buffer.
    #[uniffi(default)]
    pub max_queue_bytes: Option<u64>,
    /// Oldest an event may be and still be sent.
    #[uniffi(default)]
    pub max_event_age_ms: Option<u64>,
    /// Calls that may wait for the worker before a recording call waits for room.
    #[uniffi(default)]
    pub max_pending_calls: Option<u32>,
    /// Longest an event call waits for room before its event is held in
    /// memory (or, past that bound, dropped as `overflow`); 0 never waits.
    #[uniffi(default)]
    pub record_wait_ms: Option<u64>,
    /// A session ends after this long without events.
    #[uniffi(default)]
    pub session_timeout_ms: Option<u64>,
    /// Record `Session Started` / `Session Ended` events.
    #[uniffi(default)]
    pub session_events: Option<bool>,
    /// Whether `identify` with a different user id first resets the identity.
    #[uniffi(default)]
    pub reset_on_user_switch: Option<bool>,
    /// Consent categories and their state before the user decides (a stored
    /// decision overrides it).
    #[uniffi(default)]
    pub consent: HashMap<String, ConsentState>,
    /// Categories that must be granted before any event is stored or sent.
    #[uniffi(default)]
    pub required_consent: Vec<String>,
    /// Context every event carries, as JSON object text, e.g.
    /// `{"app": {"name": "Shop", "version": "2.1"}}`.
    #[uniffi(default)]
    pub context_json: Option<String>,
    /// The anonymous id to use on first start instead of a new UUID.
    #[uniffi(default)]
    pub anonymous_id: Option<String>,
    /// The tracking plan every call is checked against, as JSON text (see
    /// docs/tracking-plans.md); a plan that does not load fails the client's
    /// creation, naming where it is wrong.
    #[uniffi(default)]
    pub tracking_plan_json: Option<String>,
    /// Strict mode: a call that breaks the plan fails with `PlanViolation`
    /// and records nothing (for debug builds and tests).
    #[uniffi(default)]
    pub strict_tracking_plan: Option<bool>,
    /// More destinations besides `endpoint` (named `default`), each fed
    /// from the same buffer with its own routing, batches and retries.
    /// Empty (the default): one destination, as configured above. See
    /// docs/destinations.md.
    #[uniffi(default)]
    pub destinations: Vec<DestinationConfig>,
    /// The routing of the config's own destination (the one at `endpoint`,
    /// named `default`), as [`DestinationConfig::allow_events`]: takes only
    /// events whose name is one of these (exact, or a prefix ending in `*`,
    /// as in `Order *`); empty: every name. Calls without a name (identify,
    /// group, alias) are not concerned.
    #[uniffi(default)]
    pub allow_events: Vec<String>,
    /// The own destination never takes events whose name is one of these
    /// (exact or prefix `*`).
    #[uniffi(default)]
    pub deny_events: Vec<String>,
    /// The own destination takes only these call types (`track`,
    /// `identify`, `alias`, `group`, `screen`, `page`); empty: every type.
    #[uniffi(default)]
    pub call_types: Vec<String>,
    /// The own destination takes an event only when every one of these
    /// consent categories was granted when it was recorded; revoking one
    /// purges its queued events (not those of the other destinations).
    #[uniffi(default)]
    pub consent_categories: Vec<String>,
}

impl CairnConfig {
    /// Turns the record into the core's builder, converting each set option.
    /// Fails with [`CairnError::InvalidConfig`] naming an option that cannot
    /// be converted (a duration over [`MAX_DURATION_MS`], a count this
    /// platform cannot hold, a context that is not a JSON object).
    pub fn to_builder(&self) -> Result<cairn::ClientBuilder, CairnError> {
        let mut b = cairn::Client::builder(self.write_key.clone());
        if let Some(url) = &self.endpoint {
            b = b.endpoint(url.clone());
        }
        if let Some(d) = self.destination {
            b = b.destination(d.into());
        }
        if let Some(p) = &self.storage_path {
            b = b.storage_path(p);
        }
        if let Some(n) = self.flush_at {
            b = b.flush_at(count("flush_at", n.into())?);
        }
        if let Some(ms) = self.flush_interval_ms {
            b = b.flush_interval(duration("flush_interval_ms", ms)?);
        }
        if let Some(n) = self.max_batch_events {
            b = b.max_batch_events(count("max_batch_events", n.into())?);
        }
        if let Some(n) = self.max_batch_bytes {
            b = b.max_batch_bytes(count("max_batch_bytes", n)?);
        }
        if let Some(n) = self.max_event_bytes {
            b = b.max_event_bytes(count("max_event_bytes", n)?);
        }
        if let Some(ms) = self.request_timeout_ms {
            b = b.request_timeout(duration("request_timeout_ms", ms)?);
        }
        if let Some(on) = self.gzip {
            b = b.gzip(on);
        }
        if let Some(ms) = self.retry_base_delay_ms {
            b = b.retry_base_delay(duration("retry_base_delay_ms", ms)?);
        }
        if let Some(ms) = self.max_retry_delay_ms {
            b = b.max_retry_delay(duration("max_retry_delay_ms", ms)?);
        }
        if let Some(n) = self.max_queue_events {
            b = b.max_queue_events(n);
        }
        if let Some(n) = self.max_queue_bytes {
            b = b.max_queue_bytes(n);
        }
        if let Some(ms) = self.max_event_age_ms {
            b = b.max_event_age(duration("max_event_age_ms", ms)?);
        }
        if let Some(n) = self.max_pending_calls {
            b = b.max_pending_calls(count("max_pending_calls", n.into())?);
        }
        if let Some(ms) = self.record_wait_ms {
            b = b.record_wait(duration("record_wait_ms", ms)?);
        }
        if let Some(ms) = self.session_timeout_ms {
            b = b.session_timeout(duration("session_timeout_ms", ms)?);
        }
        if let Some(on) = self.session_events {
            b = b.session_events(on);
        }
        if let Some(on) = self.reset_on_user_switch {
            b = b.reset_on_user_switch(on);
        }
        // Sorted, so that the same record always gives the same builder.
        let mut consent: Vec<_> = self.consent.iter().collect();
        consent.sort_by(|a, b| a.0.cmp(b.0));
        for (category, state) in consent {
            b = b.consent(category.clone(), (*state).into());
        }
        if !self.required_consent.is_empty() {
            b = b.required_consent(self.required_consent.iter().cloned());
        }
        if let Some(text) = &self.context_json {
            b = b.context(context(text)?);
        }
        if let Some(id) = &self.anonymous_id {
            b = b.anonymous_id(id.clone());
        }
        if let Some(plan) = &self.tracking_plan_json {
            b = b.tracking_plan(plan.clone());
        }
        if let Some(on) = self.strict_tracking_plan {
            b = b.strict_tracking_plan(on);
        }
        for d in &self.destinations {
            b = b.add_destination(d.to_core()?);
        }
        let own = routing(
            &self.allow_events,
            &self.deny_events,
            &self.call_types,
            &self.consent_categories,
        );
        if !own.takes_all() {
            b = b.routing(own);
        }
        Ok(b)
    }
}

impl DestinationConfig {
    /// The core's `Destination`; the core validates it (name, endpoint,
    /// routing) when the client is built, naming the destination.
    fn to_core(&self) -> Result<cairn::Destination, CairnError> {
        let mut d = cairn::Destination::new(
            self.name.clone(),
            self.kind.into(),
            self.endpoint.clone(),
            self.key.clone(),
        );
        d.routing = routing(
            &self.allow_events,
            &self.deny_events,
            &self.call_types,
            &self.consent_categories,
        );
        if let Some(n) = self.max_batch_events {
            d = d.max_batch_events(count("max_batch_events", n.into())?);
        }
        Ok(d)
    }
}

/// The core's routing from the four lists a [`CairnConfig`] (for its own
/// destination) and a [`DestinationConfig`] carry alike; empty lists are no
/// restriction, the core's default. The core validates it when the client
/// is built, naming the option (`call_types`) or the destination.
fn routing(
    allow_events: &[String],
    deny_events: &[String],
    call_types: &[String],
    consent_categories: &[String],
) -> cairn::routing::Routing {
    cairn::routing::Routing {
        allow_events: allow_events.to_vec(),
        deny_events: deny_events.to_vec(),
        call_types: call_types.to_vec(),
        consent_categories: consent_categories.to_vec(),
    }
}

fn duration(field: &str, ms: u64) -> Result<Duration, CairnError> {
    if ms > MAX_DURATION_MS {
        return Err(CairnError::config(
            field,
            format!("{ms} ms is longer than the 100-year limit ({MAX_DURATION_MS} ms)"),
        ));
    }
    Ok(Duration::from_millis(ms))
}

fn count(field: &str, n: u64) -> Result<usize, CairnError> {
    usize::try_from(n).map_err(|_| {
        CairnError::config(field, format!("{n} is more than this platform can address"))
    })
}

fn context(text: &str) -> Result<serde_json::Value, CairnError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(CairnError::config(
            "context",
            "must be a JSON object like {\"app\": {\"version\": \"2.1\"}}",
        )),
        Err(e) => Err(CairnError::config(
            "context",
            format!("is not valid JSON ({e})"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CairnConfig {
        CairnConfig {
            write_key: "key".into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            destination: None,
            storage_path: None,
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

    fn invalid_config(c: CairnConfig) -> String {
        match c
            .to_builder()
            .and_then(|b| b.config().map_err(CairnError::from))
        {
            Err(CairnError::InvalidConfig(m)) => m,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn destination_reaches_the_core() {
        let mut c = config();
        c.destination = Some(DestinationKind::Amplitude {
            batch_api: true,
            min_id_length: Some(3),
        });
        let core = c.to_builder().unwrap().config().unwrap();
        assert_eq!(
            core.destination,
            cairn::DestinationKind::Amplitude {
                batch_api: true,
                min_id_length: Some(3)
            }
        );
        c.destination = Some(DestinationKind::PostHog);
        let core = c.to_builder().unwrap().config().unwrap();
        assert_eq!(core.destinations()[0].kind.path(), "/batch/");
        c.destination = Some(DestinationKind::Amplitude {
            batch_api: false,
            min_id_length: Some(0),
        });
        assert!(invalid_config(c).contains("`destination`"));
    }

    fn extra(name: &str) -> DestinationConfig {
        DestinationConfig {
            name: name.into(),
            kind: DestinationKind::PostHog,
            endpoint: "https://eu.i.posthog.com/".into(),
            key: "phc_x".into(),
            allow_events: Vec::new(),
            deny_events: Vec::new(),
            call_types: Vec::new(),
            consent_categories: Vec::new(),
            max_batch_events: None,
        }
    }

    #[test]
    fn extra_destinations_reach_the_core_with_their_routing() {
        let mut c = config();
        let mut d = extra("posthog");
        d.allow_events = vec!["Order *".into()];
        d.deny_events = vec!["Order Refunded".into()];
        d.call_types = vec!["track".into(), "screen".into()];
        d.consent_categories = vec!["analytics".into()];
        d.max_batch_events = Some(25);
        c.destinations = vec![d];
        let core = c.to_builder().unwrap().config().unwrap();
        let all = core.destinations();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].name, cairn::destination::DEFAULT_DESTINATION);
        let p = &all[1];
        assert_eq!(p.name, "posthog");
        assert_eq!(p.kind, cairn::DestinationKind::PostHog);
        assert_eq!(p.endpoint, "https://eu.i.posthog.com");
        assert_eq!(p.key, "phc_x");
        assert_eq!(p.routing.allow_events, ["Order *"]);
        assert_eq!(p.routing.deny_events, ["Order Refunded"]);
        assert_eq!(p.routing.call_types, ["track", "screen"]);
        assert_eq!(p.routing.consent_categories, ["analytics"]);
        assert_eq!(p.max_batch_events, Some(25));
        // Unset routing takes every event, as the core's own default.
        let mut c = config();
        c.destinations = vec![extra("posthog")];
        let core = c.to_builder().unwrap().config().unwrap();
        assert_eq!(
            core.destinations()[1].routing,
            cairn::Destination::new("x", cairn::DestinationKind::Segment, "http://x", "k").routing
        );
    }

    #[test]
    fn bad_extra_destinations_are_refused_in_the_core_words() {
        let mut c = config();
        c.destinations = vec![extra("default")];
        let m = invalid_config(c);
        assert!(m.contains("two destinations are named `default`"), "{m}");

        let mut c = config();
        c.destinations = vec![extra("a"), extra("a")];
        assert!(invalid_config(c).contains("`a`"));

        let mut c = config();
        let mut d = extra("a");
        d.call_types = vec!["Track".into()];
        c.destinations = vec![d];
        let m = invalid_config(c);
        assert!(m.contains("use track, identify"), "{m}");

        let mut c = config();
        let mut d = extra("p");
        d.key = " ".into();
        c.destinations = vec![d];
        let m = invalid_config(c);
        assert!(m.contains("p: the key is empty"), "{m}");
    }

    #[test]
    fn the_own_routing_reaches_the_core_and_is_refused_naming_the_option() {
        let mut c = config();
        c.allow_events = vec!["Order *".into()];
        c.deny_events = vec!["Order Refunded".into()];
        c.call_types = vec!["track".into()];
        c.consent_categories = vec!["analytics".into()];
        c.destinations = vec![extra("posthog")];
        let core = c.to_builder().unwrap().config().unwrap();
        let all = core.destinations();
        assert_eq!(all[0].name, cairn::destination::DEFAULT_DESTINATION);
        let own = &all[0].routing;
        assert_eq!(own.allow_events, ["Order *"]);
        assert_eq!(own.deny_events, ["Order Refunded"]);
        assert_eq!(own.call_types, ["track"]);
        assert_eq!(own.consent_categories, ["analytics"]);
        assert!(all[1].routing.takes_all(), "the extra keeps its own");

        let mut c = config();
        c.call_types = vec!["Track".into()];
        assert_eq!(
            invalid_config(c),
            "invalid config `call_types`: unknown call type `Track`: use track, identify, alias, group, screen or page"
        );
        let mut c = config();
        c.deny_events = vec!["Or*der".into()];
        let m = invalid_config(c);
        assert!(
            m.starts_with("invalid config `deny_events`: event name pattern `Or*der`"),
            "{m}"
        );
        let mut c = config();
        c.consent_categories = vec![" ".into()];
        let m = invalid_config(c);
        assert!(m.starts_with("invalid config `consent_categories`"), "{m}");
    }

    #[test]
    fn unset_options_keep_the_core_defaults() {
        let ours = config().to_builder().unwrap().config().unwrap();
        let core = cairn::Client::builder("key")
            .endpoint("http://127.0.0.1:9")
            .config()
            .unwrap();
        assert_eq!(ours, core);
    }

    #[test]
    fn every_set_option_reaches_the_core() {
        let mut c = config();
        c.storage_path = Some("/tmp/x.db".into());
        c.flush_at = Some(3);
        c.flush_interval_ms = Some(250);
        c.max_batch_events = Some(7);
        c.max_batch_bytes = Some(90_000);
        c.max_event_bytes = Some(8_000);
        c.request_timeout_ms = Some(1_500);
        c.gzip = Some(false);
        c.retry_base_delay_ms = Some(20);
        c.max_retry_delay_ms = Some(40);
        c.max_queue_events = Some(50);
        c.max_queue_bytes = Some(1_000_000);
        c.max_event_age_ms = Some(60_000);
        c.max_pending_calls = Some(9);
        c.record_wait_ms = Some(0);
        c.session_timeout_ms = Some(5_000);
        c.session_events = Some(true);
        c.reset_on_user_switch = Some(false);
        c.consent.insert("analytics".into(), ConsentState::Unknown);
        c.required_consent = vec!["analytics".into()];
        c.context_json = Some(r#"{"app": {"version": "2.1"}}"#.into());
        c.anonymous_id = Some("anon-1".into());
        let got = c.to_builder().unwrap().config().unwrap();
        assert_eq!(got.storage_path, std::path::PathBuf::from("/tmp/x.db"));
        assert_eq!(got.flush_at, 3);
        assert_eq!(got.flush_interval, Duration::from_millis(250));
        assert_eq!(got.max_batch_events, 7);
        assert_eq!(got.max_batch_bytes, 90_000);
        assert_eq!(got.max_event_bytes, 8_000);
        assert_eq!(got.request_timeout, Duration::from_millis(1_500));
        assert!(!got.gzip);
        assert_eq!(got.retry_base_delay, Duration::from_millis(20));
        assert_eq!(got.max_retry_delay, Duration::from_millis(40));
        assert_eq!(got.max_queue_events, 50);
        assert_eq!(got.max_queue_bytes, 1_000_000);
        assert_eq!(got.max_event_age, Duration::from_millis(60_000));
        assert_eq!(got.max_pending_calls, 9);
        assert_eq!(got.record_wait, Duration::ZERO);
        assert_eq!(got.session_timeout, Duration::from_millis(5_000));
        assert!(got.session_events);
        assert!(!got.reset_on_user_switch);
        assert_eq!(
            got.consent,
            vec![("analytics".to_string(), cairn::ConsentState::Unknown)]
        );
        assert_eq!(got.required_consent, vec!["analytics".to_string()]);
        assert_eq!(got.context["app"]["version"], "2.1");
        assert_eq!(got.anonymous_id.as_deref(), Some("anon-1"));
    }

    #[test]
    fn bad_values_name_their_option() {
        let mut c = config();
        c.endpoint = Some("ftp://x".into());
        assert!(invalid_config(c).contains("`endpoint`"));

        let mut c = config();
        c.endpoint = None;
        assert!(invalid_config(c).contains("`endpoint`: is required"));

        let mut c = config();
        c.flush_interval_ms = Some(u64::MAX);
        let m = invalid_config(c);
        assert!(
            m.contains("`flush_interval_ms`") && m.contains("100-year"),
            "{m}"
        );

        let mut c = config();
        c.context_json = Some("[1, 2]".into());
        assert!(invalid_config(c).contains("`context`: must be a JSON object"));

        let mut c = config();
        c.context_json = Some("{oops".into());
        assert!(invalid_config(c).contains("is not valid JSON"));

        let mut c = config();
        c.flush_at = Some(0);
        assert!(invalid_config(c).contains("`flush_at`"));
    }
}
