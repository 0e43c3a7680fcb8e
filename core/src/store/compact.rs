//! How an event's JSON splits into what is its own and what it can share
//! with other events, so a store keeps the shared part once.
//!
//! The recorder writes every event as `<head>`, then
//! `,"messageId":"<id>","timestamp":"<t>","originalTimestamp":"<t>"` (the
//! *middle*), then `,"context":{…}}` (the *tail*). The middle is written
//! again from the message id and the recording time a store keeps anyway,
//! and the tail is the same for every event of a device and session. This
//! module decides only that split, on the text itself: the event's JSON is
//! exactly `head + middle + tail` whenever [`split`] answers, so a store
//! that keeps the head and the tail rebuilds it byte for byte. Where the
//! tail is kept, and for how long, is each store's business.

use crate::prelude::*;

/// Writes the middle of the event with `message_id` recorded at
/// `created_ms` into `out` (cleared first). The id is written as it is: one
/// that needs escaping in JSON is escaped in the event, so [`split`] does
/// not find its middle and such an event is kept whole.
pub fn write_middle(out: &mut String, message_id: &str, created_ms: i64) {
    out.clear();
    out.push_str(",\"messageId\":\"");
    out.push_str(message_id);
    for key in ["\",\"timestamp\":\"", "\",\"originalTimestamp\":\""] {
        out.push_str(key);
        crate::time::push_iso8601_ms(out, created_ms);
    }
    out.push('"');
}

/// Splits `json` around its middle (written into `scratch` by
/// [`write_middle`]): `(head, tail)` with `json == head + middle + tail`, or
/// `None` when the middle is not in it (an event not written by the
/// recorder, or with a time other than `created_ms`).
pub fn split<'j>(
    json: &'j str,
    message_id: &str,
    created_ms: i64,
    scratch: &mut String,
) -> Option<(&'j str, &'j str)> {
    write_middle(scratch, message_id, created_ms);
    // The middle begins with a comma: only those are tried (a few dozen in
    // an event), each given up at its first differing byte. Smaller in the
    // browser build than `str::find`'s searcher, and as fast on events.
    let bytes = json.as_bytes();
    let at = (0..bytes.len())
        .filter(|&i| bytes[i] == b',')
        .find(|&i| bytes[i..].starts_with(scratch.as_bytes()))?;
    Some((json.get(..at)?, json.get(at + scratch.len()..)?))
}

/// The event's JSON again from its `head`, its message id, its recording
/// time and its `tail`; `scratch` is a buffer for the middle.
pub fn join(
    head: &str,
    message_id: &str,
    created_ms: i64,
    tail: &str,
    scratch: &mut String,
) -> String {
    write_middle(scratch, message_id, created_ms);
    let mut json = String::with_capacity(head.len() + scratch.len() + tail.len());
    json.push_str(head);
    json.push_str(scratch);
    json.push_str(tail);
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, ms: i64, context: &str) -> String {
        let mut middle = String::new();
        write_middle(&mut middle, id, ms);
        let mut json =
            String::from(r#"{"type":"track","event":"A","properties":{"k":1},"userId":"u""#);
        json.push_str(&middle);
        json.push_str(r#","context":"#);
        json.push_str(context);
        json.push('}');
        json
    }

    #[test]
    fn an_event_splits_and_joins_back_byte_for_byte() {
        let json = event("m-1", 1_796_411_609_838, r#"{"library":{"name":"cairn"}}"#);
        let mut scratch = String::new();
        let (head, tail) = split(&json, "m-1", 1_796_411_609_838, &mut scratch).unwrap();
        assert_eq!(
            head,
            r#"{"type":"track","event":"A","properties":{"k":1},"userId":"u""#
        );
        assert_eq!(tail, r#","context":{"library":{"name":"cairn"}}}"#);
        assert_eq!(
            join(head, "m-1", 1_796_411_609_838, tail, &mut scratch),
            json
        );
    }

    #[test]
    fn another_time_or_id_or_one_that_needs_escaping_does_not_split() {
        let json = event("m-1", 1_000, "{}");
        let mut scratch = String::new();
        assert!(split(&json, "m-1", 1_001, &mut scratch).is_none());
        assert!(split(&json, "m-2", 1_000, &mut scratch).is_none());
        // The id `a"b`, escaped in the event as the recorder writes it.
        let quoted = event(r#"a\"b"#, 1_000, "{}");
        assert!(split(&quoted, "a\"b", 1_000, &mut scratch).is_none());
    }
}
