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
/// Browser default for `maxQueueBytes`: 8,000,000 bytes of event JSON
/// (what every store's caps count). The browser store keeps events
/// compactly, at about a third of their JSON, and never past its
/// [`STORAGE_SHARE`](crate::store::STORAGE_SHARE) of `localStorage`, so
/// this admits 10,000 typical events recorded in one task (about 5.6 MB of
/// JSON with a page context) while the page keeps room of its own.
pub const BROWSER_MAX_QUEUE_BYTES: u64 = 8_000_000;
/// Browser default for `maxQueueEvents`: 20,000 (twice the 10,000 events a
/// page may record in one task).
pub const BROWSER_MAX_QUEUE_EVENTS: u64 = 20_000;

/// The options the core reads besides the [`SETTINGS`]: the texts and the
/// structured ones. The JS layer handles its own (see `index.js`).
/// `destination` exists in a package built with the `amplitude` or
/// `posthog` feature: the default package speaks Segment only, and its size
/// budget has no room for the option.
#[cfg(any(feature = "amplitude", feature = "posthog"))]
const OTHER: [&str; 9] = [
    "writeKey",
    "endpoint",
    "consent",
    "requiredConsent",
    "context",
    "anonymousId",
    "trackingPlan",
    "strictTrackingPlan",
    "destination",
];
#[cfg(not(any(feature = "amplitude", feature = "posthog")))]
const OTHER: [&str; 8] = [
    "writeKey",
    "endpoint",
    "consent",
    "requiredConsent",
    "context",
    "anonymousId",
    "trackingPlan",
    "strictTrackingPlan",
];

/// Every option the core reads joined with `, `, as unknown-option errors
/// list them: the first two of [`OTHER`], the [`SETTINGS`], then the rest of
/// [`OTHER`] (written out: `join` would bring its own code into the browser
/// build; a test checks it against the two lists).
#[cfg(any(feature = "amplitude", feature = "posthog"))]
const KNOWN_TEXT: &str = "writeKey, endpoint, flushAt, flushInterval, maxBatchEvents, maxBatchBytes, maxEventBytes, \
requestTimeout, retryBaseDelay, maxRetryDelay, maxQueueEvents, maxQueueBytes, maxEventAge, sessionTimeout, sessionEvents, \
resetOnUserSwitch, consent, requiredConsent, context, anonymousId, trackingPlan, strictTrackingPlan, destination";
#[cfg(not(any(feature = "amplitude", feature = "posthog")))]
const KNOWN_TEXT: &str = "writeKey, endpoint, flushAt, flushInterval, maxBatchEvents, maxBatchBytes, maxEventBytes, \
requestTimeout, retryBaseDelay, maxRetryDelay, maxQueueEvents, maxQueueBytes, maxEventAge, sessionTimeout, sessionEvents, \
resetOnUserSwitch, consent, requiredConsent, context, anonymousId, trackingPlan, strictTrackingPlan";

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
    SETTINGS.contains(&name)
        || OTHER.contains(&name)
        || (cfg!(feature = "destinations") && name == "destinations")
}

/// The end of the unknown-option error: the `destinations` option in a
/// package that has it, else where to read of the packages that take more.
#[cfg(feature = "destinations")]
const KNOWN_MORE: &str = ", destinations";
#[cfg(not(feature = "destinations"))]
const KNOWN_MORE: &str = "; more with build features (docs/web.md)";

/// What each entry of the `destinations` option may say.
#[cfg(feature = "destinations")]
pub const DESTINATION_FIELDS: [&str; 9] = [
    "name",
    "destination",
    "endpoint",
    "writeKey",
    "allowEvents",
    "denyEvents",
    "callTypes",
    "consentCategories",
    "maxBatchEvents",
];

/// [`DESTINATION_FIELDS`] joined with `, ` (written out: `join` brings
/// its own code; a test checks it against the list).
#[cfg(feature = "destinations")]
const DESTINATION_FIELDS_TEXT: &str =
    "name, destination, endpoint, writeKey, allowEvents, denyEvents, callTypes, consentCategories, maxBatchEvents";

/// Reads the `destinations` option: more destinations, each delivered on
/// its own from the one queue (with the `destinations` feature).
#[cfg(feature = "destinations")]
fn more_destinations(value: &Json, mut b: ClientBuilder) -> Result<ClientBuilder, String> {
    const SHAPE: &str = "cairn: option `destinations` must be an array of objects like { name: \"warehouse\", endpoint, writeKey }";
    let list = match value {
        Json::Null => return Ok(b),
        Json::Array(list) => list,
        _ => return Err(SHAPE.into()),
    };
    for (i, entry) in list.iter().enumerate() {
        let obj = entry.as_object().ok_or(SHAPE)?;
        let at = |field: &str| cat!("destinations[", i, "].", field);
        if let Some(k) = obj
            .keys()
            .find(|k| !DESTINATION_FIELDS.contains(&k.as_str()))
        {
            return Err(cat!(
                "cairn: unknown option `",
                at(k),
                "`; a destination takes ",
                DESTINATION_FIELDS_TEXT
            ));
        }
        let text = |k: &str| {
            opt_text(obj, k).map_err(|_| cat!("cairn: option `", at(k), "` must be a string"))
        };
        let kind = match text("destination")? {
            None => cairn::DestinationKind::Segment,
            #[cfg(any(feature = "amplitude", feature = "posthog"))]
            Some(d) => destination(&d).map_err(|e| e.replace("`destination`", &cat!("`", at("destination"), "`")))?,
            #[cfg(not(any(feature = "amplitude", feature = "posthog")))]
            Some(d) if d == "segment" => cairn::DestinationKind::Segment,
            #[cfg(not(any(feature = "amplitude", feature = "posthog")))]
            Some(d) => {
                return Err(cat!(
                    "cairn: option `",
                    at("destination"),
                    "` \"",
                    d,
                    "\": this package speaks Segment only; build it with the `amplitude` or `posthog` feature"
                ))
            }
        };
        let mut d = cairn::Destination::new(
            text("name")?.unwrap_or_default(),
            kind,
            text("endpoint")?.unwrap_or_default(),
            text("writeKey")?.unwrap_or_default(),
        );
        let names = |k: &str| -> Result<Vec<String>, String> {
            match obj.get(k) {
                None | Some(Json::Null) => Ok(Vec::new()),
                Some(Json::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| cat!("cairn: option `", at(k), "` must be an array of strings")),
                Some(_) => Err(cat!(
                    "cairn: option `",
                    at(k),
                    "` must be an array of strings"
                )),
            }
        };
        d = d
            .allow_events(names("allowEvents")?)
            .deny_events(names("denyEvents")?)
            .call_types(names("callTypes")?)
            .consent_categories(names("consentCategories")?);
        if let Some(n) = opt_setting(obj, "maxBatchEvents", false).map_err(|_| {
            cat!(
                "cairn: option `",
                at("maxBatchEvents"),
                "` must be a whole number ≥ 1"
            )
        })? {
            d = d.max_batch_events(usize::try_from(n).unwrap_or(usize::MAX));
        }
        b = b.add_destination(d);
    }
    Ok(b)
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

/// Declares [`Setting`] and [`SETTINGS`] from one table of (the option's
/// name as the page spells it, the setter its value goes to), and
/// [`Setting::at`], the setting at a position of that table.
macro_rules! settings {
    ($($name:literal => $setter:ident,)*) => {
        /// A numeric or yes/no option, named for the builder setter it feeds
        /// ([`Setting::apply`]); in the order of [`SETTINGS`].
        #[derive(Clone, Copy)]
        enum Setting {
            $($setter,)*
        }

        /// The numeric and yes/no options as the page spells them, in the
        /// order they are applied (and listed in unknown-option errors).
        const SETTINGS: [&str; [$($name,)*].len()] = [$($name,)*];

        impl Setting {
            /// The setting at position `i` of [`SETTINGS`]. Written as a
            /// comparison per entry, which the compiler folds into `i`
            /// itself: the browser build then reads the options by position
            /// as before the table (7 bytes more gzip than the index-based
            /// code; pairs read at run time cost 57 to 83, a function
            /// pointer per setter 296).
            fn at(i: usize) -> Option<Setting> {
                $(if i == Setting::$setter as usize {
                    return Some(Setting::$setter);
                })*
                None
            }
        }
    };
}

settings! {
    "flushAt" => FlushAt,
    "flushInterval" => FlushInterval,
    "maxBatchEvents" => MaxBatchEvents,
    "maxBatchBytes" => MaxBatchBytes,
    "maxEventBytes" => MaxEventBytes,
    "requestTimeout" => RequestTimeout,
    "retryBaseDelay" => RetryBaseDelay,
    "maxRetryDelay" => MaxRetryDelay,
    "maxQueueEvents" => MaxQueueEvents,
    "maxQueueBytes" => MaxQueueBytes,
    "maxEventAge" => MaxEventAge,
    "sessionTimeout" => SessionTimeout,
    "sessionEvents" => SessionEvents,
    "resetOnUserSwitch" => ResetOnUserSwitch,
}

impl Setting {
    /// Whether the page gives this option as `true`/`false` (else as a
    /// whole number: a count, a size, or a duration in milliseconds).
    fn is_flag(self) -> bool {
        matches!(self, Setting::SessionEvents | Setting::ResetOnUserSwitch)
    }

    /// Calls the builder setter with the page's value (a yes/no one as 1 or 0).
    /// One function with one match, not a function per option: the browser
    /// build's size budget (a setter per table entry measured 296 bytes more
    /// gzip).
    #[inline(never)]
    fn apply(self, b: ClientBuilder, n: u64) -> ClientBuilder {
        let ms = Duration::from_millis(n);
        match self {
            Setting::FlushAt => b.flush_at(n as usize),
            Setting::FlushInterval => b.flush_interval(ms),
            Setting::MaxBatchEvents => b.max_batch_events(n as usize),
            Setting::MaxBatchBytes => b.max_batch_bytes(n as usize),
            Setting::MaxEventBytes => b.max_event_bytes(n as usize),
            Setting::RequestTimeout => b.request_timeout(ms),
            Setting::RetryBaseDelay => b.retry_base_delay(ms),
            Setting::MaxRetryDelay => b.max_retry_delay(ms),
            Setting::MaxQueueEvents => b.max_queue_events(n),
            Setting::MaxQueueBytes => b.max_queue_bytes(n),
            Setting::MaxEventAge => b.max_event_age(ms),
            Setting::SessionTimeout => b.session_timeout(ms),
            Setting::SessionEvents => b.session_events(n != 0),
            Setting::ResetOnUserSwitch => b.reset_on_user_switch(n != 0),
        }
    }
}

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
            KNOWN_TEXT,
            KNOWN_MORE
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
        let Some(setting) = Setting::at(i) else {
            break;
        };
        if let Some(v) = opt_setting(obj, k, setting.is_flag())? {
            b = setting.apply(b, v);
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
    #[cfg(feature = "destinations")]
    if let Some(v) = obj.get("destinations") {
        b = more_destinations(v, b)?;
    }
    // `trackingPlan` is compiled and applied by the page (js/plan.js),
    // which also reads `strictTrackingPlan`; the core checks its type here.
    match obj.get("strictTrackingPlan") {
        None | Some(Json::Null) => {}
        Some(Json::Bool(on)) => b = b.strict_tracking_plan(*on),
        Some(_) => return Err("cairn: option `strictTrackingPlan` must be true or false".into()),
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

    #[cfg(feature = "destinations")]
    #[test]
    fn destination_fields_text_lists_the_fields() {
        assert_eq!(DESTINATION_FIELDS_TEXT, DESTINATION_FIELDS.join(", "));
    }

    #[test]
    fn known_text_lists_the_known_options() {
        let settings: Vec<&str> = SETTINGS.to_vec();
        let all = [&OTHER[..2], &settings[..], &OTHER[2..]].concat();
        assert_eq!(KNOWN_TEXT, all.join(", "));
    }
    use serde_json::json;

    fn config_from(v: &serde_json::Value) -> Result<Config, String> {
        super::config_from(&Json::from(v))
    }

    /// Every entry of the table reaches the field its name says, with the
    /// page's value (durations in milliseconds, yes/no as given): a setter
    /// paired with the wrong name would fail here.
    #[test]
    fn each_setting_sets_its_own_field() {
        let base = json!({"writeKey": "k", "endpoint": "http://h"});
        let default = config_from(&base).unwrap();
        let ms = Duration::from_millis;
        // (option, the page's value, the Config field it must reach, the field's expected text)
        type Case = (
            &'static str,
            serde_json::Value,
            fn(&Config) -> String,
            String,
        );
        let cases: [Case; 14] = [
            ("flushAt", json!(7), |c| c.flush_at.to_string(), "7".into()),
            (
                "flushInterval",
                json!(1234),
                |c| format!("{:?}", c.flush_interval),
                format!("{:?}", ms(1234)),
            ),
            (
                "maxBatchEvents",
                json!(77),
                |c| c.max_batch_events.to_string(),
                "77".into(),
            ),
            (
                "maxBatchBytes",
                json!(50_000),
                |c| c.max_batch_bytes.to_string(),
                "50000".into(),
            ),
            (
                "maxEventBytes",
                json!(20_000),
                |c| c.max_event_bytes.to_string(),
                "20000".into(),
            ),
            (
                "requestTimeout",
                json!(4321),
                |c| format!("{:?}", c.request_timeout),
                format!("{:?}", ms(4321)),
            ),
            (
                "retryBaseDelay",
                json!(321),
                |c| format!("{:?}", c.retry_base_delay),
                format!("{:?}", ms(321)),
            ),
            (
                "maxRetryDelay",
                json!(65_000),
                |c| format!("{:?}", c.max_retry_delay),
                format!("{:?}", ms(65_000)),
            ),
            (
                "maxQueueEvents",
                json!(999),
                |c| c.max_queue_events.to_string(),
                "999".into(),
            ),
            (
                "maxQueueBytes",
                json!(900_000),
                |c| c.max_queue_bytes.to_string(),
                "900000".into(),
            ),
            (
                "maxEventAge",
                json!(172_800_000u64),
                |c| format!("{:?}", c.max_event_age),
                format!("{:?}", ms(172_800_000)),
            ),
            (
                "sessionTimeout",
                json!(600_000),
                |c| format!("{:?}", c.session_timeout),
                format!("{:?}", ms(600_000)),
            ),
            (
                "sessionEvents",
                json!(!default.session_events),
                |c| c.session_events.to_string(),
                (!default.session_events).to_string(),
            ),
            (
                "resetOnUserSwitch",
                json!(!default.reset_on_user_switch),
                |c| c.reset_on_user_switch.to_string(),
                (!default.reset_on_user_switch).to_string(),
            ),
        ];
        let names: Vec<&str> = SETTINGS.to_vec();
        assert_eq!(names, cases.iter().map(|c| c.0).collect::<Vec<_>>());
        for (name, value, field, want) in cases {
            let mut opts = base.clone();
            opts[name] = value;
            let c = config_from(&opts).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                field(&c),
                want,
                "{name} set another field, or another value"
            );
            assert_ne!(
                field(&default),
                want,
                "{name}: the test value is the default, it proves nothing"
            );
        }
        let err =
            config_from(&json!({"writeKey": "k", "endpoint": "http://h", "sessionEvents": 1}))
                .unwrap_err();
        assert!(
            err.contains("`sessionEvents` must be true or false"),
            "{err}"
        );
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
