//! The event: what a recording call says, how it is checked, and how it is
//! written out in Segment's spec.
//!
//! A [`Call`] is built and validated on the caller's thread: names and ids
//! must be non-empty and at most [`MAX_NAME_BYTES`] long, properties and
//! traits must be JSON objects that a strict backend can read inside a batch
//! (nested at most [`MAX_PAYLOAD_DEPTH`] deep, numbers a 64-bit float can
//! hold), and the event must fit in `max_event_bytes`. Every front end (the
//! `serde_json::Value` API, the text API, complete events, the FFI and the
//! browser) goes through these checks, so one bad value is refused at its
//! call instead of reaching a batch, where the backend's 400 would take the
//! good events with it. It carries its message id and timestamp from the
//! moment of the call. Identity (`userId`, `anonymousId`, `previousId`) and
//! context are applied later, in order, by whoever owns the identity state
//! (see [`crate::identity`]); [`encode`] then writes the final JSON once.

use crate::prelude::*;

use serde_json::Value;

use crate::cat;
use crate::error::{Error, Result};
use crate::json::{Object, RawJson, MAX_DEPTH};
use crate::json_text::push_string;
use crate::time::{iso8601_ms_in, ISO8601_MAX};

/// Longest name or id, in bytes: event, screen and page names, user ids
/// (`identify`, `alias`, a complete event's `userId` and `previousId`), group
/// ids, anonymous ids, message ids and consent category names. An id is
/// copied into every later event, so one too long would make each of them
/// too large.
pub const MAX_NAME_BYTES: usize = 1_024;

/// Deepest nesting of arrays and objects in properties, traits and context
/// (the object itself is the first level): 124. A batch puts three levels
/// around them (`{"batch":[{"properties":…}]}`), and the strictest parser
/// backends use, `serde_json`'s, accepts 127 ([`MAX_DEPTH`]).
pub const MAX_PAYLOAD_DEPTH: usize = MAX_DEPTH - 3;

/// What a name or an id given to a call names: how errors call it, and the
/// hint they give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// `track`'s event name.
    EventName,
    /// `screen`'s name.
    ScreenName,
    /// `page`'s name.
    PageName,
    /// `identify`'s user id.
    UserId,
    /// `alias`'s new id.
    NewId,
    /// `group`'s group id.
    GroupId,
    /// The id `set_anonymous_id` is given.
    AnonymousId,
    /// A consent category's name.
    ConsentCategory,
}

impl Subject {
    /// How errors name it, e.g. `user_id`.
    pub fn label(self) -> &'static str {
        match self {
            Subject::EventName => "event name",
            Subject::ScreenName => "screen name",
            Subject::PageName => "page name",
            Subject::UserId => "user_id",
            Subject::NewId => "new_id",
            Subject::GroupId => "group_id",
            Subject::AnonymousId => "anonymous_id",
            Subject::ConsentCategory => "consent category",
        }
    }

    /// What to pass instead of an empty one.
    fn hint(self) -> &'static str {
        match self {
            Subject::EventName => "give it a name, e.g. \"Order Completed\"",
            Subject::ScreenName => "give it a name, e.g. \"Checkout\"",
            Subject::PageName => "give it a name, e.g. \"Pricing\", or pass \"\" for none",
            Subject::UserId => "pass the id your backend knows the user by, e.g. \"user-42\"",
            Subject::NewId => "pass the id the user is known by from now on, e.g. \"user-42\"",
            Subject::GroupId => "pass the id of the account, company or team, e.g. \"acme-inc\"",
            Subject::AnonymousId => {
                "pass the id your app already uses for this device, or leave it to cairn"
            }
            Subject::ConsentCategory => "pass the category's name, e.g. \"analytics\"",
        }
    }
}

/// Checks a name or an id given to a call: not blank, at most
/// [`MAX_NAME_BYTES`] long. The error says which, with a hint for `subject`.
pub fn check_name(subject: Subject, s: &str) -> Result<&str> {
    if s.trim().is_empty() {
        return Err(Error::InvalidEvent(cat!(
            subject.label(),
            " is empty: ",
            subject.hint()
        )));
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(too_long(subject.label(), s.len()));
    }
    Ok(s)
}

fn too_long(what: &str, len: usize) -> Error {
    Error::InvalidEvent(cat!(
        what,
        " is ",
        len,
        " bytes, over the limit of ",
        MAX_NAME_BYTES,
        " bytes for a name or an id"
    ))
}

/// The kinds of call in Segment's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Something the user did (`event` + `properties`).
    Track,
    /// Who the user is (`userId` + `traits`).
    Identify,
    /// A new id for the same user (`userId` + `previousId`).
    Alias,
    /// The user belongs to a group (`groupId` + `traits`).
    Group,
    /// A mobile screen was viewed (`name` + `properties`).
    Screen,
    /// A web page was viewed (`name` + `properties`).
    Page,
}

impl EventKind {
    /// The `type` field on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Track => "track",
            EventKind::Identify => "identify",
            EventKind::Alias => "alias",
            EventKind::Group => "group",
            EventKind::Screen => "screen",
            EventKind::Page => "page",
        }
    }
}

/// Bytes of text a [`Call`] holds in itself; longer texts take one heap
/// allocation.
pub const INLINE_TEXT_BYTES: usize = 200;

/// One validated recording call, before identity is applied.
///
/// Its texts (the name, the properties or traits, the user or group id and
/// the message id) lie back to back in one buffer, held in the call itself
/// when they fit in [`INLINE_TEXT_BYTES`] (the scenario's events take about
/// 160) and in one heap allocation otherwise. A call is built on the app's
/// thread and dropped on the worker's: as three heap strings, it cost the
/// app's thread three mallocs that glibc could not serve from its
/// thread cache (their frees happen on the worker), under the lock of the
/// arena the worker frees into (docs/performance.md).
#[derive(Debug, Clone)]
pub struct Call {
    /// Which call it is.
    pub kind: EventKind,
    /// Wall-clock milliseconds since the epoch at the call.
    pub timestamp_ms: i64,
    text: Text,
    // Where the name, the payload and the target id end in `text`; the
    // message id is the rest.
    name_end: u32,
    payload_end: u32,
    target_end: u32,
    // Which of name, payload and target are present (an absent one is empty).
    present: u8,
    complete: Option<Box<Complete>>,
}

const NAME: u8 = 1;
const PAYLOAD: u8 = 2;
const TARGET: u8 = 4;

/// What only a complete event (see [`Call::from_event`]) brings.
#[derive(Debug, Clone)]
struct Complete {
    explicit: ExplicitIds,
    context: Option<Object>,
}

/// Ids a complete event brings with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExplicitIds {
    /// `userId`.
    pub user_id: Option<String>,
    /// `anonymousId`.
    pub anonymous_id: Option<String>,
    /// `previousId` (alias).
    pub previous_id: Option<String>,
}

/// A call's texts, back to back: in place when short, else on the heap.
#[derive(Clone)]
enum Text {
    Inline {
        len: u8,
        bytes: [u8; INLINE_TEXT_BYTES],
    },
    Heap(Box<str>),
}

impl Text {
    fn of(parts: &[&str]) -> Text {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len <= INLINE_TEXT_BYTES {
            let mut bytes = [0; INLINE_TEXT_BYTES];
            let mut rest = &mut bytes[..];
            for p in parts {
                // Zipped rather than sliced and copied: no panic path (and
                // its message formatting) is compiled into the browser build.
                for (to, from) in rest.iter_mut().zip(p.as_bytes()) {
                    *to = *from;
                }
                rest = rest.get_mut(p.len()..).unwrap_or_default();
            }
            // INLINE_TEXT_BYTES fits in a u8.
            Text::Inline {
                len: len as u8,
                bytes,
            }
        } else {
            let mut s = String::with_capacity(len);
            for p in parts {
                s.push_str(p);
            }
            Text::Heap(s.into_boxed_str())
        }
    }

    /// The whole text.
    fn as_str(&self) -> &str {
        match self {
            Text::Inline { len, bytes } => {
                let b = bytes.get(..usize::from(*len)).unwrap_or_default();
                debug_assert!(core::str::from_utf8(b).is_ok());
                // SAFETY: `Text::of`, the only place a `Text::Inline` is
                // made, copies whole `&str`s back to back and sets `len` to
                // their total, and nothing changes the bytes after: the
                // first `len` bytes are UTF-8. Checking them on every read
                // was 4% of a tracking plan's check (core/benches/plan.rs).
                unsafe { core::str::from_utf8_unchecked(b) }
            }
            Text::Heap(s) => s,
        }
    }
}

impl core::fmt::Debug for Text {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call's texts, read together (see [`Call::parts`]).
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    /// Event name (track) or screen/page name.
    pub name: Option<&'a str>,
    /// `properties` (track, screen, page) or `traits` (identify, group), as JSON text.
    pub payload: Option<&'a str>,
    /// The user id of identify or alias, the group id of group.
    pub target: Option<&'a str>,
    /// The message id.
    pub message_id: &'a str,
}

impl Call {
    /// Puts a call together. `payload` is JSON object text already checked;
    /// `message_id` `None` makes a new one.
    fn make(
        kind: EventKind,
        timestamp_ms: i64,
        name: Option<&str>,
        payload: Option<&str>,
        target: Option<&str>,
        message_id: Option<&str>,
    ) -> Result<Self> {
        let mut id_buf = [0; crate::ids::MESSAGE_ID_BYTES];
        let message_id = match message_id {
            Some(id) => id,
            None => crate::ids::message_id_in(&mut id_buf),
        };
        let (n, p, t) = (
            name.unwrap_or_default(),
            payload.unwrap_or_default(),
            target.unwrap_or_default(),
        );
        // Ends are kept as u32; the checks on max_event_bytes come later.
        let size = n.len() + p.len() + t.len();
        if size > u32::MAX as usize {
            return Err(Error::EventTooLarge {
                size,
                limit: u32::MAX as usize,
            });
        }
        let bit = |on: bool, bit: u8| if on { bit } else { 0 };
        let present = bit(name.is_some(), NAME)
            | bit(payload.is_some(), PAYLOAD)
            | bit(target.is_some(), TARGET);
        Ok(Call {
            kind,
            timestamp_ms,
            name_end: n.len() as u32,
            payload_end: (n.len() + p.len()) as u32,
            target_end: size as u32,
            text: Text::of(&[n, p, t, message_id]),
            present,
            complete: None,
        })
    }

    /// `kind`'s call for `subject` (the event, screen or page name; the user
    /// id of identify and alias; the group id of group) with `payload`, JSON
    /// object text already checked (properties or traits; alias has none).
    pub(crate) fn of(
        kind: EventKind,
        subject: &str,
        payload: Option<&str>,
        timestamp_ms: i64,
    ) -> Result<Self> {
        // One path for every kind, so the browser build carries one copy of it.
        let (what, is_name) = match kind {
            EventKind::Track => (Subject::EventName, true),
            EventKind::Screen => (Subject::ScreenName, true),
            EventKind::Page => (Subject::PageName, true),
            EventKind::Identify => (Subject::UserId, false),
            EventKind::Alias => (Subject::NewId, false),
            EventKind::Group => (Subject::GroupId, false),
        };
        if matches!(kind, EventKind::Identify | EventKind::Alias) {
            // Ids from here on share nothing with the ids of the previous user.
            crate::ids::rotate();
        }
        // A page view may have no name.
        let subject = if kind == EventKind::Page && subject.trim().is_empty() {
            None
        } else {
            Some(check_name(what, subject)?)
        };
        let payload = if kind == EventKind::Alias {
            None
        } else {
            payload
        };
        let (name, target) = if is_name {
            (subject, None)
        } else {
            (None, subject)
        };
        Call::make(kind, timestamp_ms, name, payload, target, None)
    }

    /// A complete Segment-spec event, as a backend or a backfill has it:
    /// `type` is required, with what that type needs (`event` for track,
    /// `groupId` for group, `userId` and `previousId` for alias, `userId` or
    /// `anonymousId` for identify). Its `userId`, `anonymousId`,
    /// `previousId`, `messageId`, `timestamp` and `context` are kept;
    /// missing ones are filled in (a new message id, the time now, the
    /// device's anonymous id when the event names no user at all). Its
    /// names and ids are held to [`MAX_NAME_BYTES`], its properties, traits
    /// and context to [`MAX_PAYLOAD_DEPTH`], as every other call's.
    pub fn from_event(event: &Value, now_ms: i64) -> Result<Self> {
        // serde_json's own `to_string` starts at 128 bytes too: fewer regrowths.
        Self::from_event_in(event, now_ms, &mut Vec::with_capacity(128))
    }

    /// [`from_event`](Self::from_event) with the properties' or traits' JSON
    /// written into `scratch` (cleared first) on the way: a caller that keeps
    /// one buffer per thread makes no allocation for it.
    pub fn from_event_in(event: &Value, now_ms: i64, scratch: &mut Vec<u8>) -> Result<Self> {
        let obj = event.as_object().ok_or_else(|| {
            Error::InvalidEvent(cat!("an event must be a JSON object, got ", kind_of(event)))
        })?;
        // One pass over the event's members, not a search per field: this
        // is the backend's hot path.
        let f = EventFields::of(obj);
        // Borrowed, not copied: each copy was an allocation on the caller's thread.
        fn text<'v>(k: &str, v: Option<&'v Value>) -> Result<Option<&'v str>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) if s.len() > MAX_NAME_BYTES => {
                    Err(too_long(&cat!("`", k, "`"), s.len()))
                }
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(other) => Err(Error::InvalidEvent(cat!(
                    "`",
                    k,
                    "` must be a string, got ",
                    kind_of(other)
                ))),
            }
        }
        let kind = match text("type", f.kind)? {
            Some("track") => EventKind::Track,
            Some("identify") => EventKind::Identify,
            Some("alias") => EventKind::Alias,
            Some("group") => EventKind::Group,
            Some("screen") => EventKind::Screen,
            Some("page") => EventKind::Page,
            Some(other) => {
                return Err(Error::InvalidEvent(cat!(
                    "unknown `type` \"",
                    other,
                    "\": use track, identify, alias, group, screen or page"
                )))
            }
            None => {
                return Err(Error::InvalidEvent(
                    "`type` is missing: use track, identify, alias, group, screen or page".into(),
                ))
            }
        };
        let timestamp_ms = match text("timestamp", f.timestamp)? {
            Some(t) => crate::time::parse_iso8601_ms(t).ok_or_else(|| {
                Error::InvalidEvent(cat!(
                    "`timestamp` \"",
                    t,
                    "\" is not ISO-8601, e.g. 2026-11-22T07:17:49.123Z"
                ))
            })?,
            None => now_ms,
        };
        // Both are checked whatever the type, properties first; only the
        // one the type sends is written (into `scratch`).
        let sends_traits = matches!(kind, EventKind::Identify | EventKind::Group);
        let sent_field = if sends_traits { "traits" } else { "properties" };
        scratch.clear();
        for (field, value) in [("properties", f.properties), ("traits", f.traits)] {
            let value = value.unwrap_or(&Value::Null);
            if field == sent_field {
                write_object(field, value, scratch)?;
            } else {
                check_object(field, value)?;
            }
        }
        let payload = if kind == EventKind::Alias || scratch.is_empty() {
            None
        } else {
            // serde_json writes UTF-8: the error is never taken.
            Some(core::str::from_utf8(scratch).map_err(|_| {
                Error::InvalidEvent(cat!(sent_field, " could not be encoded as UTF-8"))
            })?)
        };
        let user_id = text("userId", f.user_id)?;
        // What goes in the call's name, payload and target slots.
        let (name, payload, target) = match kind {
            EventKind::Track => {
                let name = text("event", f.event)?.ok_or_else(|| {
                    Error::InvalidEvent("a track event needs `event` (its name)".into())
                })?;
                check_name(Subject::EventName, name)?;
                (Some(name), payload, None)
            }
            EventKind::Screen => {
                let name = text("name", f.name)?.unwrap_or("Screen");
                check_name(Subject::ScreenName, name)?;
                (Some(name), payload, None)
            }
            // `text` has made a blank name `None`: a page view without a name.
            EventKind::Page => match text("name", f.name)? {
                Some(name) => {
                    check_name(Subject::PageName, name)?;
                    (Some(name), payload, None)
                }
                None => (None, payload, None),
            },
            EventKind::Identify => (None, payload, user_id),
            EventKind::Group => {
                let g = text("groupId", f.group_id)?
                    .ok_or_else(|| Error::InvalidEvent("a group event needs `groupId`".into()))?;
                check_name(Subject::GroupId, g)?;
                (None, payload, Some(g))
            }
            EventKind::Alias => {
                let u = user_id.ok_or_else(|| {
                    Error::InvalidEvent("an alias event needs `userId` (the new id)".into())
                })?;
                if text("previousId", f.previous_id)?.is_none() {
                    return Err(Error::InvalidEvent(
                        "an alias event needs `previousId`".into(),
                    ));
                }
                crate::ids::rotate();
                check_name(Subject::NewId, u)?;
                (None, None, Some(u))
            }
        };
        let explicit = ExplicitIds {
            user_id: user_id.map(str::to_owned),
            anonymous_id: text("anonymousId", f.anonymous_id)?.map(str::to_owned),
            previous_id: text("previousId", f.previous_id)?.map(str::to_owned),
        };
        if kind == EventKind::Identify
            && explicit.user_id.is_none()
            && explicit.anonymous_id.is_none()
        {
            return Err(Error::InvalidEvent(
                "an identify event needs `userId` or `anonymousId`".into(),
            ));
        }
        // Without one of its own, a complete event gets a random id, not one
        // from this thread's counter: ids sharing a prefix would tell the
        // backend that the events of different users came from one place.
        let mut id_buf = [0; crate::ids::MESSAGE_ID_BYTES];
        let message_id = match text("messageId", f.message_id)? {
            Some(id) => id,
            None => crate::ids::random_uuid_in(&mut id_buf),
        };
        let context = match f.context {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(m)) => {
                check_depth("context", v, MAX_PAYLOAD_DEPTH)?;
                Some(Object::from(m))
            }
            Some(other) => {
                return Err(Error::InvalidEvent(cat!(
                    "`context` must be a JSON object, got ",
                    kind_of(other)
                )))
            }
        };
        let mut call = Call::make(kind, timestamp_ms, name, payload, target, Some(message_id))?;
        call.complete = Some(Box::new(Complete { explicit, context }));
        Ok(call)
    }

    /// A `track` call.
    pub fn track(event: &str, properties: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        Call::of(
            EventKind::Track,
            event,
            properties.as_ref().map(RawJson::get),
            timestamp_ms,
        )
    }

    /// A `screen` call.
    pub fn screen(name: &str, properties: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        Call::of(
            EventKind::Screen,
            name,
            properties.as_ref().map(RawJson::get),
            timestamp_ms,
        )
    }

    /// A `page` call; the name may be empty (a page view without a name).
    pub fn page(name: &str, properties: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        Call::of(
            EventKind::Page,
            name,
            properties.as_ref().map(RawJson::get),
            timestamp_ms,
        )
    }

    /// An `identify` call.
    pub fn identify(user_id: &str, traits: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        Call::of(
            EventKind::Identify,
            user_id,
            traits.as_ref().map(RawJson::get),
            timestamp_ms,
        )
    }

    /// An `alias` call: `new_id` becomes the user id.
    pub fn alias(new_id: &str, timestamp_ms: i64) -> Result<Self> {
        Call::of(EventKind::Alias, new_id, None, timestamp_ms)
    }

    /// A `group` call.
    pub fn group(group_id: &str, traits: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        Call::of(
            EventKind::Group,
            group_id,
            traits.as_ref().map(RawJson::get),
            timestamp_ms,
        )
    }

    /// The same call (kind, time, names, message id, a complete event's ids
    /// and context) with `payload` (checked JSON object text, or none) as
    /// its properties or traits: what a tracking plan's `strip` sends.
    pub(crate) fn with_payload(&self, payload: Option<&str>) -> Result<Self> {
        let parts = self.parts();
        let mut call = Call::make(
            self.kind,
            self.timestamp_ms,
            parts.name,
            payload,
            parts.target,
            Some(parts.message_id),
        )?;
        call.complete = self.complete.clone();
        Ok(call)
    }

    /// All of the call's texts at once, the cheap way to read more than one.
    pub fn parts(&self) -> Parts<'_> {
        let text = self.text.as_str();
        let (name_end, payload_end, target_end) = (
            self.name_end as usize,
            self.payload_end as usize,
            self.target_end as usize,
        );
        // The ends are where whole parts ended: slicing there cannot fail.
        let part = |bit: u8, start: usize, end: usize| {
            (self.present & bit != 0).then(|| text.get(start..end).unwrap_or_default())
        };
        Parts {
            name: part(NAME, 0, name_end),
            payload: part(PAYLOAD, name_end, payload_end),
            target: part(TARGET, payload_end, target_end),
            message_id: text.get(target_end..).unwrap_or_default(),
        }
    }

    /// Event name (track) or screen/page name.
    pub fn name(&self) -> Option<&str> {
        self.parts().name
    }

    /// `properties` as JSON text (track, screen, page).
    pub fn properties(&self) -> Option<&str> {
        matches!(
            self.kind,
            EventKind::Track | EventKind::Screen | EventKind::Page
        )
        .then(|| self.parts().payload)
        .flatten()
    }

    /// `traits` as JSON text (identify, group).
    pub fn traits(&self) -> Option<&str> {
        matches!(self.kind, EventKind::Identify | EventKind::Group)
            .then(|| self.parts().payload)
            .flatten()
    }

    /// The user id given to identify, or the new id given to alias.
    pub fn user_id(&self) -> Option<&str> {
        matches!(self.kind, EventKind::Identify | EventKind::Alias)
            .then(|| self.parts().target)
            .flatten()
    }

    /// The group id given to group.
    pub fn group_id(&self) -> Option<&str> {
        (self.kind == EventKind::Group)
            .then(|| self.parts().target)
            .flatten()
    }

    /// Dedup key, fixed at the call and kept through every retry.
    pub fn message_id(&self) -> &str {
        self.parts().message_id
    }

    /// Whether the call changes the device's identity (`identify`, `alias`,
    /// `group` without ids of their own): such a call is never dropped for
    /// want of room, since every later event depends on it.
    pub fn changes_identity(&self) -> bool {
        self.complete.is_none()
            && matches!(
                self.kind,
                EventKind::Identify | EventKind::Alias | EventKind::Group
            )
    }

    /// Ids given with the event itself (see [`Call::from_event`]): the
    /// device's identity is then neither applied nor changed.
    pub fn explicit(&self) -> Option<&ExplicitIds> {
        self.complete.as_ref().map(|c| &c.explicit)
    }

    /// Context given with the event itself, merged over the client's context.
    pub fn context(&self) -> Option<&Object> {
        self.complete.as_ref().and_then(|c| c.context.as_ref())
    }

    /// Bytes this call adds to its event: names, ids, properties and traits.
    /// The envelope (ids, timestamp, context) comes on top.
    pub fn payload_bytes(&self) -> usize {
        let ctx = self.context().map_or(0, |c| c.to_text().len());
        self.target_end as usize + ctx
    }

    /// Fails with [`Error::EventTooLarge`] when the payload alone is over `max_event_bytes`.
    pub fn check_size(&self, max_event_bytes: usize) -> Result<()> {
        let size = self.payload_bytes();
        if size > max_event_bytes {
            return Err(Error::EventTooLarge {
                size,
                limit: max_event_bytes,
            });
        }
        Ok(())
    }
}

/// Fails when `value` nests arrays and objects deeper than `max_depth`
/// (`value` itself, if one, is the first level), as the text API does.
/// Looks no deeper than the limit, so a value nested thousands deep costs no
/// deep recursion here.
fn check_depth(field: &str, value: &Value, max_depth: usize) -> Result<()> {
    fn within(v: &Value, left: usize) -> bool {
        match v {
            Value::Array(items) => left > 0 && items.iter().all(|v| within(v, left - 1)),
            Value::Object(m) => left > 0 && m.values().all(|v| within(v, left - 1)),
            _ => true,
        }
    }
    if within(value, max_depth) {
        Ok(())
    } else {
        Err(too_deep(field))
    }
}

fn too_deep(field: &str) -> Error {
    Error::InvalidEvent(too_deep_text(field))
}

fn too_deep_text(field: &str) -> String {
    cat!(
        field,
        " is nested more than ",
        MAX_PAYLOAD_DEPTH,
        " levels deep, which backends refuse: flatten it"
    )
}

/// Fails when `context`, merged into every later event's context, nests
/// deeper than [`MAX_PAYLOAD_DEPTH`] (the context object is the first level).
pub fn check_context(context: &Object) -> Result<()> {
    if context.values_within_depth(MAX_PAYLOAD_DEPTH - 1) {
        Ok(())
    } else {
        Err(too_deep("context"))
    }
}

/// [`check_context`] for a `serde_json` map.
pub fn check_context_map(context: &serde_json::Map<String, Value>) -> Result<()> {
    context
        .values()
        .try_for_each(|v| check_depth("context", v, MAX_PAYLOAD_DEPTH - 1))
}

/// Turns a JSON value into an object payload: `null` means none; anything but
/// an object is an error naming `field` (`properties` or `traits`), and so is
/// an object nested deeper than [`MAX_PAYLOAD_DEPTH`].
pub fn object_from_value(field: &str, value: &Value) -> Result<Option<RawJson>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) if map.is_empty() => Ok(None),
        // serde_json writes valid JSON, its numbers finite: the text needs no
        // second check.
        Value::Object(_) => serde_json::to_string(&DepthChecked::new(value))
            .map(|text| Some(RawJson::trusted(text)))
            .map_err(|e| encode_error(field, value, e)),
        other => Err(not_an_object(field, other)),
    }
}

/// [`object_from_value`] into `out` (cleared first) instead of a new string:
/// `Ok(false)` (and `out` empty) means none.
pub(crate) fn write_object(field: &str, value: &Value, out: &mut Vec<u8>) -> Result<bool> {
    out.clear();
    match value {
        Value::Null => Ok(false),
        Value::Object(map) if map.is_empty() => Ok(false),
        Value::Object(_) => {
            let checked = DepthChecked::new(value);
            #[cfg(feature = "std")]
            let written = serde_json::to_writer(&mut *out, &checked);
            #[cfg(not(feature = "std"))]
            let written = serde_json::to_vec(&checked).map(|text| *out = text);
            written
                .map(|()| true)
                .map_err(|e| encode_error(field, value, e))
        }
        other => Err(not_an_object(field, other)),
    }
}

/// Why `value` (an object) could not be written: nested too deep (the
/// error [`DepthChecked`] stops at), or what serde_json said.
fn encode_error(field: &str, value: &Value, e: serde_json::Error) -> Error {
    match check_depth(field, value, MAX_PAYLOAD_DEPTH) {
        Err(too_deep) => too_deep,
        Ok(()) => Error::InvalidEvent(format!("{field} could not be encoded: {e}")),
    }
}

/// A value serialized as serde_json serializes it, refusing (with an error)
/// an array or object nested deeper than [`MAX_PAYLOAD_DEPTH`] on the way:
/// one walk of the caller's value instead of a depth check and then the
/// writing, on the hot path of `track` and `enqueue`. Same verdict as
/// [`check_depth`].
struct DepthChecked<'a> {
    value: &'a Value,
    /// Array or object levels still allowed, this one included.
    left: usize,
}

impl<'a> DepthChecked<'a> {
    fn new(value: &'a Value) -> Self {
        DepthChecked {
            value,
            left: MAX_PAYLOAD_DEPTH,
        }
    }

    fn inner(&self, value: &'a Value) -> Self {
        DepthChecked {
            value,
            left: self.left - 1,
        }
    }
}

impl serde::Serialize for DepthChecked<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap, SerializeSeq};
        match self.value {
            Value::Array(_) | Value::Object(_) if self.left == 0 => {
                Err(S::Error::custom("nested too deep"))
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&self.inner(v))?;
                }
                seq.end()
            }
            Value::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, &self.inner(v))?;
                }
                map.end()
            }
            scalar => scalar.serialize(s),
        }
    }
}

/// What [`object_from_value`] checks, without encoding anything.
fn check_object(field: &str, value: &Value) -> Result<()> {
    match value {
        Value::Null => Ok(()),
        Value::Object(_) => check_depth(field, value, MAX_PAYLOAD_DEPTH),
        other => Err(not_an_object(field, other)),
    }
}

/// The members of a complete event that [`Call::from_event`] reads, found
/// in one pass.
#[derive(Default)]
struct EventFields<'a> {
    kind: Option<&'a Value>,
    event: Option<&'a Value>,
    name: Option<&'a Value>,
    timestamp: Option<&'a Value>,
    properties: Option<&'a Value>,
    traits: Option<&'a Value>,
    user_id: Option<&'a Value>,
    anonymous_id: Option<&'a Value>,
    previous_id: Option<&'a Value>,
    group_id: Option<&'a Value>,
    message_id: Option<&'a Value>,
    context: Option<&'a Value>,
}

impl<'a> EventFields<'a> {
    fn of(obj: &'a serde_json::Map<String, Value>) -> Self {
        let mut f = EventFields::default();
        for (k, v) in obj {
            let slot = match k.as_str() {
                "type" => &mut f.kind,
                "event" => &mut f.event,
                "name" => &mut f.name,
                "timestamp" => &mut f.timestamp,
                "properties" => &mut f.properties,
                "traits" => &mut f.traits,
                "userId" => &mut f.user_id,
                "anonymousId" => &mut f.anonymous_id,
                "previousId" => &mut f.previous_id,
                "groupId" => &mut f.group_id,
                "messageId" => &mut f.message_id,
                "context" => &mut f.context,
                _ => continue,
            };
            *slot = Some(v);
        }
        f
    }
}

fn not_an_object(field: &str, value: &Value) -> Error {
    Error::InvalidEvent(cat!(
        field,
        " must be a JSON object like {\"plan\": \"pro\"}, got ",
        kind_of(value)
    ))
}

/// Parses JSON text into an object payload, for callers that hold text (the
/// FFI, the browser). Empty text and `null` mean none. Held to what
/// [`object_from_value`] holds a value to: nesting at most
/// [`MAX_PAYLOAD_DEPTH`] deep, and numbers a 64-bit float can hold (`1e999`
/// is JSON's grammar, but not a number a backend can read). `NaN` and
/// `Infinity` are named in the error, since they are the usual way a float
/// sneaks in that JSON cannot carry.
pub fn object_from_text(field: &str, text: &str) -> Result<Option<RawJson>> {
    object_text(field, text).map(|t| t.map(|t| RawJson::trusted(t.to_owned())))
}

/// [`object_from_text`] without the copy: the checked object text, trimmed.
pub(crate) fn object_text<'a>(field: &str, text: &'a str) -> Result<Option<&'a str>> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "null" || trimmed == "{}" {
        return Ok(None);
    }
    match crate::json::check_object(trimmed, MAX_PAYLOAD_DEPTH) {
        Ok(text) => Ok(Some(text)),
        Err(Ok(kind)) => Err(Error::InvalidEvent(cat!(
            field,
            " must be a JSON object like {\"plan\": \"pro\"}, got ",
            kind
        ))),
        Err(Err(e)) if e.what == crate::json::TOO_DEEP => Err(Error::InvalidEvent(cat!(
            too_deep_text(field),
            " (at line ",
            e.line,
            " column ",
            e.column,
            ")"
        ))),
        Err(Err(e)) if e.what == crate::json::NUMBER_OUT_OF_RANGE => {
            Err(Error::InvalidEvent(cat!(
                field,
                " holds a number out of range for a 64-bit float at line ",
                e.line,
                " column ",
                e.column,
                ", which backends refuse: send it as a string"
            )))
        }
        Err(Err(e)) => {
            // A byte search: `str::contains` would bring the substring searcher into the browser build.
            let mentions = |word: &str| {
                trimmed
                    .as_bytes()
                    .windows(word.len())
                    .any(|w| w == word.as_bytes())
            };
            let hint = if mentions("NaN") || mentions("Infinity") {
                ": NaN and Infinity are not JSON numbers; send null or a string instead"
            } else {
                ""
            };
            Err(Error::InvalidEvent(cat!(
                field,
                " is not valid JSON (",
                e.message(),
                ")",
                hint
            )))
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The ids an event carries once identity is applied.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    /// `anonymousId` (absent only on an explicit event that names a user).
    pub anonymous_id: Option<&'a str>,
    /// `userId`, if known.
    pub user_id: Option<&'a str>,
    /// `previousId` (alias only).
    pub previous_id: Option<&'a str>,
    /// `groupId` (group only).
    pub group_id: Option<&'a str>,
    /// The `context` object, already encoded.
    pub context: &'a RawJson,
}

/// Writes the event as Segment's spec has it. `properties` are written as
/// `{}` when absent on track/screen/page, `traits` likewise on identify/group.
/// Fields come in a fixed order: type, event or name, properties or traits,
/// userId, anonymousId, previousId, groupId, messageId, timestamp,
/// originalTimestamp, context.
pub fn encode(call: &Call, stamp: &Stamp<'_>) -> String {
    let mut buf = [0; ISO8601_MAX];
    let timestamp = iso8601_ms_in(call.timestamp_ms, &mut buf);
    encode_parts(call, &call.parts(), stamp, timestamp)
}

/// [`encode`] with the call's texts already read.
pub(crate) fn encode_parts(
    call: &Call,
    parts: &Parts<'_>,
    stamp: &Stamp<'_>,
    timestamp: &str,
) -> String {
    // Every member after `type` follows another, so each is written with its
    // comma, name and colon as one literal; the type names need no escaping.
    let payload = match call.kind {
        EventKind::Track | EventKind::Screen | EventKind::Page => {
            Some((",\"properties\":", parts.payload))
        }
        EventKind::Identify | EventKind::Group => Some((",\"traits\":", parts.payload)),
        EventKind::Alias => None,
    };
    let ids = [
        (",\"userId\":", stamp.user_id),
        (",\"anonymousId\":", stamp.anonymous_id),
        (",\"previousId\":", stamp.previous_id),
        (",\"groupId\":", stamp.group_id),
        (",\"messageId\":", Some(parts.message_id)),
    ];
    let len = |s: Option<&str>| s.map_or(0, str::len);
    // Field names, quotes and both timestamps take under 256 bytes: the text
    // is written without growing unless something needs escaping.
    let mut out = String::with_capacity(
        256 + len(parts.name)
            + payload.map_or(0, |(_, p)| len(p))
            + ids.iter().map(|(_, v)| len(*v)).sum::<usize>()
            + stamp.context.get().len(),
    );
    out.push_str("{\"type\":\"");
    out.push_str(call.kind.as_str());
    out.push('"');
    if let Some(name) = parts.name {
        out.push_str(if call.kind == EventKind::Track {
            ",\"event\":"
        } else {
            ",\"name\":"
        });
        push_string(&mut out, name);
    }
    if let Some((key, raw)) = payload {
        out.push_str(key);
        out.push_str(raw.unwrap_or("{}"));
    }
    for (key, value) in ids {
        if let Some(v) = value {
            out.push_str(key);
            push_string(&mut out, v);
        }
    }
    // `timestamp` is the call's, formatted by the caller; it needs no
    // escaping: digits and punctuation.
    for key in [",\"timestamp\":\"", ",\"originalTimestamp\":\""] {
        out.push_str(key);
        out.push_str(timestamp);
        out.push('"');
    }
    out.push_str(",\"context\":");
    out.push_str(stamp.context.get());
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Writing with the depth checked on the way gives serde_json's text
    /// and check_depth's verdict, at every depth around the limit, for
    /// arrays, objects and both mixed.
    #[test]
    fn depth_checked_writing_matches_serde_json_and_check_depth() {
        for depth in 0..MAX_PAYLOAD_DEPTH + 3 {
            for shape in 0..3 {
                let mut v = json!({"leaf": [1, "two", 3.5, null, true]});
                for level in 0..depth {
                    let as_array = match shape {
                        0 => false,
                        1 => true,
                        _ => level % 2 == 0,
                    };
                    v = if as_array {
                        json!([level, v])
                    } else {
                        json!({"k": v, "n": level})
                    };
                }
                let top = json!({ "p": v });
                let ours = object_from_value("properties", &top);
                let verdict = check_depth("properties", &top, MAX_PAYLOAD_DEPTH);
                match (ours, verdict) {
                    (Ok(Some(raw)), Ok(())) => {
                        assert_eq!(raw.get(), serde_json::to_string(&top).unwrap())
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    (a, b) => panic!("depth {depth} shape {shape}: {a:?} against {b:?}"),
                }
            }
        }
    }

    #[test]
    fn rejects_bad_input_with_clear_messages() {
        let e = Call::track("  ", None, 0).unwrap_err().to_string();
        assert!(e.contains("event name is empty"), "{e}");
        let e = object_from_value("properties", &json!([1, 2]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("properties must be a JSON object") && e.contains("an array"),
            "{e}"
        );
        let e = object_from_text("properties", r#"{"x": NaN}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("NaN and Infinity are not JSON numbers"), "{e}");
        let e = object_from_text("traits", "42").unwrap_err().to_string();
        assert!(
            e.contains("traits must be a JSON object") && e.contains("a number"),
            "{e}"
        );
        assert!(Call::identify("", None, 0).is_err());
        assert!(Call::track(&"x".repeat(MAX_NAME_BYTES + 1), None, 0).is_err());
    }

    #[test]
    fn each_kind_of_id_gets_its_own_hint() {
        fn err<T: core::fmt::Debug>(r: Result<T>) -> String {
            r.unwrap_err().to_string()
        }
        for (e, want) in [
            (
                err(Call::identify("", None, 0)),
                "user_id is empty: pass the id your backend knows the user by, e.g. \"user-42\"",
            ),
            (
                err(Call::group(" ", None, 0)),
                "group_id is empty: pass the id of the account, company or team, e.g. \"acme-inc\"",
            ),
            (
                err(Call::alias("", 0)),
                "new_id is empty: pass the id the user is known by from now on, e.g. \"user-42\"",
            ),
            (
                err(Call::track("", None, 0)),
                "event name is empty: give it a name, e.g. \"Order Completed\"",
            ),
            (
                err(Call::screen("", None, 0)),
                "screen name is empty: give it a name, e.g. \"Checkout\"",
            ),
            (
                err(check_name(Subject::AnonymousId, "")),
                "anonymous_id is empty: pass the id your app already uses for this device",
            ),
            (
                err(check_name(Subject::ConsentCategory, "\t")),
                "consent category is empty: pass the category's name, e.g. \"analytics\"",
            ),
        ] {
            assert!(e.starts_with(&cat!("invalid event: ", want)), "{e}");
        }
        for id in [
            Call::identify("", None, 0),
            Call::group("", None, 0),
            Call::alias("", 0),
        ] {
            assert!(!err(id).contains("Order Completed"));
        }
    }

    #[test]
    fn texts_read_back_in_place_and_on_the_heap() {
        for props in [
            json!({"plan": "pro"}),
            json!({"note": "ünïcødé ✔ 😀 ".repeat(40)}),
        ] {
            let raw = object_from_value("properties", &props).unwrap();
            let text = raw.as_ref().map(|r| r.get().to_owned());
            let c = Call::track("Tapped ✔", raw, 5).unwrap();
            assert_eq!(
                (
                    c.name(),
                    c.properties(),
                    c.traits(),
                    c.user_id(),
                    c.group_id()
                ),
                (Some("Tapped ✔"), text.as_deref(), None, None, None)
            );
            assert_eq!(c.message_id().len(), 36);
            assert_eq!(
                c.payload_bytes(),
                "Tapped ✔".len() + text.map_or(0, |t| t.len())
            );
        }
        let c = Call::page(" ", None, 0).unwrap();
        assert_eq!((c.name(), c.properties()), (None, None));
        let traits = object_from_value("traits", &json!({"a": 1})).unwrap();
        let c = Call::identify("u1", traits, 0).unwrap();
        assert_eq!(
            (c.name(), c.user_id(), c.traits(), c.properties()),
            (None, Some("u1"), Some(r#"{"a":1}"#), None)
        );
        let c = Call::group(&"g".repeat(MAX_NAME_BYTES), None, 0).unwrap();
        assert_eq!(
            (c.group_id().map(str::len), c.user_id(), c.traits()),
            (Some(MAX_NAME_BYTES), None, None)
        );
        let c = Call::alias("u2", 0).unwrap();
        assert_eq!((c.user_id(), c.group_id()), (Some("u2"), None));
        // The channel to the worker holds calls by value.
        assert!(
            std::mem::size_of::<Call>() <= 256,
            "{}",
            std::mem::size_of::<Call>()
        );
    }

    #[test]
    fn size_check_counts_payload() {
        let props = object_from_value("properties", &json!({"k": "v".repeat(100)})).unwrap();
        let c = Call::track("e", props, 0).unwrap();
        assert!(c.check_size(1000).is_ok());
        assert!(matches!(
            c.check_size(50),
            Err(Error::EventTooLarge { limit: 50, .. })
        ));
    }

    #[test]
    fn complete_events_keep_their_ids_and_time() {
        let e = json!({"type": "track", "event": "Paid", "userId": "u7", "messageId": "m-1",
                       "timestamp": "2026-11-22T07:17:49.123Z", "properties": {"amount": 5}, "context": {"ip": "1.2.3.4"}});
        let c = Call::from_event(&e, 0).unwrap();
        assert_eq!(
            (c.kind, c.message_id(), c.timestamp_ms),
            (EventKind::Track, "m-1", 1_795_331_869_123)
        );
        assert_eq!(
            (c.name(), c.properties()),
            (Some("Paid"), Some(r#"{"amount":5}"#))
        );
        let ex = c.explicit().unwrap();
        assert_eq!(
            (ex.user_id.as_deref(), ex.anonymous_id.as_deref()),
            (Some("u7"), None)
        );
        assert_eq!(c.context().unwrap()["ip"], "1.2.3.4");
        let c = Call::from_event(&json!({"type": "page"}), 42).unwrap();
        assert_eq!(c.timestamp_ms, 42);
        assert_eq!(c.message_id().len(), 36);
        for (bad, why) in [
            (json!([1]), "must be a JSON object"),
            (json!({"event": "x"}), "`type` is missing"),
            (json!({"type": "click"}), "unknown `type`"),
            (json!({"type": "track"}), "needs `event`"),
            (json!({"type": "group"}), "needs `groupId`"),
            (
                json!({"type": "alias", "userId": "u"}),
                "needs `previousId`",
            ),
            (
                json!({"type": "identify"}),
                "needs `userId` or `anonymousId`",
            ),
            (
                json!({"type": "track", "event": "x", "timestamp": "monday"}),
                "not ISO-8601",
            ),
            (
                json!({"type": "track", "event": "x", "userId": 7}),
                "`userId` must be a string",
            ),
            (
                json!({"type": "track", "event": "x", "properties": [1]}),
                "properties must be a JSON object",
            ),
            // The field a type does not send is still held to the rules.
            (
                json!({"type": "track", "event": "x", "traits": "pro"}),
                "traits must be a JSON object",
            ),
            (
                json!({"type": "identify", "userId": "u", "properties": 5}),
                "properties must be a JSON object",
            ),
        ] {
            let err = Call::from_event(&bad, 0).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn encodes_segment_fields() {
        let ctx = RawJson::object(r#"{"library":{"name":"cairn","version":"0"}}"#).unwrap();
        let props = object_from_value("properties", &json!({"plan": "pro"})).unwrap();
        let c = Call::track("Signed Up", props, 1_000).unwrap();
        let stamp = Stamp {
            anonymous_id: Some("a1"),
            user_id: Some("u1"),
            previous_id: None,
            group_id: None,
            context: &ctx,
        };
        let v: Value = serde_json::from_str(&encode(&c, &stamp)).unwrap();
        assert_eq!(v["type"], "track");
        assert_eq!(v["event"], "Signed Up");
        assert_eq!(v["properties"]["plan"], "pro");
        assert_eq!(v["userId"], "u1");
        assert_eq!(v["anonymousId"], "a1");
        assert_eq!(v["timestamp"], "1970-01-01T00:00:01.000Z");
        assert_eq!(v["context"]["library"]["name"], "cairn");
        assert_eq!(v["messageId"].as_str().unwrap().len(), 36);
        assert!(v.get("traits").is_none() && v.get("name").is_none());

        // The exact text, field order and escaping included.
        let e = json!({"type": "track", "event": "A \"b\"", "messageId": "m1", "timestamp": "1970-01-01T00:00:01.000Z", "properties": {"x": 1}});
        let c = Call::from_event(&e, 0).unwrap();
        let plain = Stamp {
            anonymous_id: Some("a1"),
            user_id: None,
            previous_id: None,
            group_id: None,
            context: &ctx,
        };
        assert_eq!(
            encode(&c, &plain),
            r#"{"type":"track","event":"A \"b\"","properties":{"x":1},"anonymousId":"a1","messageId":"m1","timestamp":"1970-01-01T00:00:01.000Z","originalTimestamp":"1970-01-01T00:00:01.000Z","context":{"library":{"name":"cairn","version":"0"}}}"#
        );

        let g = Call::group("g1", None, 0).unwrap();
        let stamp = Stamp {
            group_id: Some("g1"),
            ..stamp
        };
        let v: Value = serde_json::from_str(&encode(&g, &stamp)).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["groupId"].as_str()),
            (Some("group"), Some("g1"))
        );
        assert_eq!(v["traits"], json!({}));
    }
}
