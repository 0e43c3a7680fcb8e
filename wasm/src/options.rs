//! The options a page passes to `Cairn.load`, turned into a validated core
//! [`Config`]: the names the page uses (camelCase, durations in
//! milliseconds), the defaults that differ in a browser, and errors that
//! name the option to fix.
//!
//! Validation itself is the core's ([`ClientBuilder::config`]); this module
//! only maps names and types, and rejects options it does not know (a typo
//! silently ignored is a setting silently lost).

use crate::prelude::*;

use core::time::Duration;

use cairn::cat;
use cairn::json::Json;
use cairn::{ClientBuilder, Config, ConsentState};

/// Browser default for `maxBatchBytes`: 60,000 bytes, so that every batch
/// fits in a keepalive request or a beacon (the browser allows 64 KiB).
pub const BROWSER_MAX_BATCH_BYTES: usize = 60_000;
/// Browser default for `maxQueueBytes`: 1,000,000 bytes; `localStorage`
/// holds a few MB per site and the page needs room too.
pub const BROWSER_MAX_QUEUE_BYTES: u64 = 1_000_000;
/// Browser default for `maxQueueEvents`: 5,000.
pub const BROWSER_MAX_QUEUE_EVENTS: u64 = 5_000;

/// The options the core reads besides the [`SETTINGS`]: the texts and the
/// structured ones. The JS layer handles its own (see `index.js`).
/// `destination` exists in a package built with the `amplitude` or
/// `posthog` feature: the default package speaks Segment only, and its size
/// budget has no room for the option.
#[cfg(any(feature = "amplitude", feature = "posthog"))]
const OTHER: [&str; 7] = [
    "writeKey",
    "endpoint",
    "consent",
    "requiredConsent",
    "context",
    "anonymousId",
    "destination",
];
#[cfg(not(any(feature = "amplitude", feature = "posthog")))]
const OTHER: [&str; 6] = [
    "writeKey",
    "endpoint",
    "consent",
    "requiredConsent",
    "context",
    "anonymousId",
];

/// Every option the core reads joined with `, `, as unknown-option errors
/// list them: the first two of [`OTHER`], the [`SETTINGS`], then the rest of
/// [`OTHER`] (written out: `join` would bring its own code into the browser
/// build; a test checks it against the two lists).
#[cfg(any(feature = "amplitude", feature = "posthog"))]
const KNOWN_TEXT: &str = "writeKey, endpoint, flushAt, flushInterval, maxBatchEvents, maxBatchBytes, maxEventBytes, \
requestTimeout, retryBaseDelay, maxRetryDelay, maxQueueEvents, maxQueueBytes, maxEventAge, sessionTimeout, sessionEvents, \
resetOnUserSwitch, consent, requiredConsent, context, anonymousId, destination";
#[cfg(not(any(feature = "amplitude", feature = "posthog")))]
const KNOWN_TEXT: &str = "writeKey, endpoint, flushAt, flushInterval, maxBatchEvents, maxBatchBytes, maxEventBytes, \
requestTimeout, retryBaseDelay, maxRetryDelay, maxQueueEvents, maxQueueBytes, maxEventAge, sessionTimeout, sessionEvents, \
resetOnUserSwitch, consent, requiredConsent, context, anonymousId";

/// The values of the `destination` option, as the page writes them.
#[cfg(any(feature = "amplitude", feature = "posthog"))]
pub const DESTINATIONS: &str = "\"segment\", \"amplitude\", \"amplitude-batch\", \"posthog\"";

/// Reads the `destination` option.
#[cfg(any(feature = "amplitude", feature = "posthog"))]
fn destination(text: &str) -> Result<cairn::DestinationKind, String> {
    use cairn::DestinationKind as D;
    Ok(match text {
        "segment" => D::Segment,
        "amplitude" => D::amplitude(),
        "amplitude-batch" => D::Amplitude {
            batch_api: true,
            min_id_length: None,
        },
        "posthog" => D::PostHog,
        _ => {
            return Err(cat!(
                "cairn: option `destination` \"",
                text,
                "\" is not one of ",
                DESTINATIONS
            ))
        }
    })
}

/// Whether the core reads option `name`.
fn known(name: &str) -> bool {
    SETTINGS.contains(&name) || OTHER.contains(&name)
}

/// Reads a consent state as the page writes it.
pub fn consent_state(text: &str) -> Result<ConsentState, String> {
    ConsentState::from_name(text).ok_or_else(|| {
        cat!(
            "consent state \"",
            text,
            "\" is not one of \"granted\", \"denied\", \"unknown\""
        )
    })
}

fn camel(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The numeric options (whole numbers, durations in ms), then from
/// [`FIRST_FLAG`] on the yes/no ones, in the order [`set`] applies them.
const SETTINGS: [&str; 14] = [
    "flushAt",
    "flushInterval",
    "maxBatchEvents",
    "maxBatchBytes",
    "maxEventBytes",
    "requestTimeout",
    "retryBaseDelay",
    "maxRetryDelay",
    "maxQueueEvents",
    "maxQueueBytes",
    "maxEventAge",
    "sessionTimeout",
    "sessionEvents",
    "resetOnUserSwitch",
];
/// Index in [`SETTINGS`] of the first yes/no option.
const FIRST_FLAG: usize = 12;
/// Reads a string option; absent or null is `None`.
#[inline(never)]
fn opt_text(obj: &cairn::json::Object, k: &str) -> Result<Option<String>, String> {
    match obj.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(cat!("cairn: option `", k, "` must be a string")),
    }
}

/// Reads a whole-number option, or with `flag` a true/false one (as 1 or 0);
/// absent or null is `None`.
#[inline(never)]
fn opt_setting(obj: &cairn::json::Object, k: &str, flag: bool) -> Result<Option<u64>, String> {
    match obj.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(b)) if flag => Ok(Some(u64::from(*b))),
        Some(_) if flag => Err(cat!("cairn: option `", k, "` must be true or false")),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            cat!(
                "cairn: option `",
                k,
                "` must be a whole number ≥ 0, got ",
                v.to_text()
            )
        }),
    }
}

/// Applies option `i` of [`SETTINGS`] (a yes/no one as 1 or 0).
#[inline(never)]
fn set(b: ClientBuilder, i: usize, n: u64) -> ClientBuilder {
    let ms = Duration::from_millis(n);
    match i {
        0 => b.flush_at(n as usize),
        1 => b.flush_interval(ms),
        2 => b.max_batch_events(n as usize),
        3 => b.max_batch_bytes(n as usize),
        4 => b.max_event_bytes(n as usize),
        5 => b.request_timeout(ms),
        6 => b.retry_base_delay(ms),
        7 => b.max_retry_delay(ms),
        8 => b.max_queue_events(n),
        9 => b.max_queue_bytes(n),
        10 => b.max_event_age(ms),
        11 => b.session_timeout(ms),
        12 => b.session_events(n != 0),
        _ => b.reset_on_user_switch(n != 0),
    }
}

/// Turns the page's options (JSON text of an object) into a validated [`Config`].
pub fn config_from_text(options_json: &str) -> Result<Config, String> {
    let options = cairn::json::parse(options_json)
        .map_err(|e| cat!("cairn: options are not valid JSON (", e.message(), ")"))?;
    config_from(&options)
}

/// Turns the page's options (a JSON object) into a validated [`Config`].
pub fn config_from(options: &Json) -> Result<Config, String> {
    let obj = options
        .as_object()
        .ok_or("cairn: options must be an object like { writeKey, endpoint }")?;
    if let Some(unknown) = obj.keys().find(|k| !known(k)) {
        return Err(cat!(
            "cairn: unknown option `",
            unknown,
            "`; known options: ",
            KNOWN_TEXT
        ));
    }
    let text = |k: &str| opt_text(obj, k);
    let mut b = ClientBuilder::new(text("writeKey")?.unwrap_or_default())
        .max_batch_bytes(BROWSER_MAX_BATCH_BYTES)
        .max_queue_bytes(BROWSER_MAX_QUEUE_BYTES)
        .max_queue_events(BROWSER_MAX_QUEUE_EVENTS)
        // Compressing needs Content-Encoding, which makes every request a
        // CORS preflight and cannot go in a beacon: batches go plain.
        .gzip(false);
    if let Some(e) = text("endpoint")? {
        b = b.endpoint(e);
    }
    #[cfg(any(feature = "amplitude", feature = "posthog"))]
    if let Some(d) = text("destination")? {
        b = b.destination(destination(&d)?);
    }
    // One loop over the numeric and yes/no options, one setter call site
    // (not one inlined copy of the reading per option).
    for (i, k) in SETTINGS.iter().enumerate() {
        if let Some(v) = opt_setting(obj, k, i >= FIRST_FLAG)? {
            b = set(b, i, v);
        }
    }
    match obj.get("consent") {
        None | Some(Json::Null) => {}
        Some(Json::Object(m)) => {
            for (category, state) in m {
                let state = state.as_str().ok_or_else(|| {
                    cat!(
                        "cairn: option `consent.",
                        category,
                        "` must be \"granted\", \"denied\" or \"unknown\""
                    )
                })?;
                b = b.consent(
                    category.clone(),
                    consent_state(state)
                        .map_err(|e| cat!("cairn: option `consent.", category, "`: ", e))?,
                );
            }
        }
        Some(_) => {
            return Err(
                "cairn: option `consent` must be an object like { analytics: \"unknown\" }".into(),
            )
        }
    }
    match obj.get("requiredConsent") {
        None | Some(Json::Null) => {}
        Some(Json::Array(a)) => {
            let names: Option<Vec<String>> =
                a.iter().map(|v| v.as_str().map(str::to_string)).collect();
            b = b.required_consent(
                names
                    .ok_or("cairn: option `requiredConsent` must be an array of category names")?,
            );
        }
        Some(_) => {
            return Err("cairn: option `requiredConsent` must be an array of category names".into())
        }
    }
    if let Some(ctx) = obj.get("context").filter(|v| !v.is_null()) {
        b = b.context_value(ctx.clone());
    }
    if let Some(id) = text("anonymousId")? {
        b = b.anonymous_id(id);
    }
    b.config().map_err(|e| match e {
        cairn::Error::InvalidConfig { field, reason } => {
            cat!("cairn: invalid option `", camel(field), "`: ", reason)
        }
        other => cat!("cairn: ", other.message()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_text_lists_the_known_options() {
        let all = [&OTHER[..2], &SETTINGS[..], &OTHER[2..]].concat();
        assert_eq!(KNOWN_TEXT, all.join(", "));
    }
    use serde_json::json;

    fn config_from(v: &serde_json::Value) -> Result<Config, String> {
        super::config_from(&Json::from(v))
    }

    #[test]
    fn browser_defaults_and_names() {
        let c = config_from(&json!({"writeKey": "k", "endpoint": "http://127.0.0.1:9/"})).unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:9");
        assert_eq!(c.max_batch_bytes, BROWSER_MAX_BATCH_BYTES);
        assert_eq!(
            (c.max_queue_bytes, c.max_queue_events, c.gzip),
            (BROWSER_MAX_QUEUE_BYTES, BROWSER_MAX_QUEUE_EVENTS, false)
        );
        let c = config_from(&json!({
            "writeKey": "k", "endpoint": "http://h", "flushAt": 1, "flushInterval": 250,
            "consent": {"analytics": "unknown"}, "requiredConsent": ["analytics"], "context": {"app": {"name": "Shop"}}
        }))
        .unwrap();
        assert_eq!(
            (c.flush_at, c.flush_interval),
            (1, Duration::from_millis(250))
        );
        assert_eq!(
            c.consent,
            vec![("analytics".to_string(), ConsentState::Unknown)]
        );
        assert_eq!(c.required_consent, ["analytics"]);
    }

    #[test]
    #[cfg(not(any(feature = "amplitude", feature = "posthog")))]
    fn the_default_package_has_no_destination_option() {
        let e = config_from(
            &json!({"writeKey": "k", "endpoint": "http://h", "destination": "posthog"}),
        )
        .unwrap_err();
        assert!(e.contains("unknown option `destination`"), "{e}");
    }

    #[test]
    #[cfg(any(feature = "amplitude", feature = "posthog"))]
    fn destination_picks_the_wire() {
        use cairn::DestinationKind as D;
        for (name, kind) in [
            ("segment", D::Segment),
            ("amplitude", D::amplitude()),
            (
                "amplitude-batch",
                D::Amplitude {
                    batch_api: true,
                    min_id_length: None,
                },
            ),
            ("posthog", D::PostHog),
        ] {
            let c =
                config_from(&json!({"writeKey": "k", "endpoint": "http://h", "destination": name}));
            if kind.built_in() {
                assert_eq!(c.unwrap().destination, kind, "{name}");
            } else {
                // A package built without that wire says how to get one.
                let e = c.unwrap_err();
                assert!(
                    e.contains("invalid option `destination`") && e.contains("not in this build"),
                    "{e}"
                );
            }
        }
        let c = config_from(&json!({"writeKey": "k", "endpoint": "http://h"})).unwrap();
        assert_eq!(c.destination, D::Segment);
        let e = config_from(
            &json!({"writeKey": "k", "endpoint": "http://h", "destination": "mixpanel"}),
        )
        .unwrap_err();
        assert!(
            e.contains("`destination` \"mixpanel\" is not one of") && e.contains("\"posthog\""),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_option_as_the_page_spells_it() {
        for (opts, needle) in [
            (json!([]), "options must be an object"),
            (json!({"endpoint": "http://h"}), "`writeKey`"),
            (json!({"writeKey": "k"}), "`endpoint`"),
            (
                json!({"writeKey": "k", "endpoint": "http://h", "flushAt": 0}),
                "`flushAt`",
            ),
            (
                json!({"writeKey": "k", "endpoint": "http://h", "flushAt": 1.5}),
                "`flushAt` must be a whole number",
            ),
            (
                json!({"writeKey": "k", "endpoint": "http://h", "flushat": 1}),
                "unknown option `flushat`",
            ),
            (
                json!({"writeKey": "k", "endpoint": "http://h", "maxBatchBytes": 1000}),
                "`maxBatchBytes`",
            ),
            (
                json!({"writeKey": "k", "endpoint": "http://h", "consent": {"a": "yes"}}),
                "`consent.a`",
            ),
            (
                json!({"writeKey": "k", "endpoint": "http://h", "context": 3}),
                "`context`",
            ),
        ] {
            let err = config_from(&opts).unwrap_err();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
        let err = config_from_text("{\"writeKey\": }").unwrap_err();
        assert_eq!(
            err,
            "cairn: options are not valid JSON (expected value at line 1 column 14)"
        );
        assert!(
            config_from_text(r#"{"writeKey": "k", "endpoint": "http://h", "flushAt": 2}"#).is_ok()
        );
    }
}
