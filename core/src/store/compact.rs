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
#[cfg(feature = "native")]
use crate::time::Iso8601Text;

/// Writes the middle of the event with `message_id` recorded at
/// `created_ms` into `out` (cleared first). The id is written as it is: one
/// that needs escaping in JSON is escaped in the event, so [`split`] does
/// not find its middle and such an event is kept whole.
pub fn write_middle(out: &mut String, message_id: &str, created_ms: i64) {
    let mut buf = [0; crate::time::ISO8601_MAX];
    write_middle_at(
        out,
        message_id,
        crate::time::iso8601_ms_in(created_ms, &mut buf),
    );
}

/// [`write_middle`] with the recording time already written as text.
fn write_middle_at(out: &mut String, message_id: &str, t: &str) {
    out.clear();
    out.push_str(",\"messageId\":\"");
    out.push_str(message_id);
    out.push_str("\",\"timestamp\":\"");
    out.push_str(t);
    out.push_str("\",\"originalTimestamp\":\"");
    out.push_str(t);
    out.push('"');
}

/// Where `needle` (a middle, which begins with a comma) first occurs in
/// `hay`. Only the commas are tried, a few dozen in an event: on native
/// found with `memchr`'s vector search (a byte at a time took a tenth of
/// the worker's time, and a `memmem` searcher built for each event more),
/// in the browser a byte at a time, as its size budget has no room for
/// more. A differential test holds the two to memmem's answers.
#[cfg(feature = "native")]
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b',', hay).find(|&i| hay.get(i..).is_some_and(|h| h.starts_with(needle)))
}

#[cfg(not(feature = "native"))]
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find_at_commas(hay, needle)
}

/// [`find`] for a needle that begins with a comma, by hand.
#[cfg(any(test, not(feature = "native")))]
fn find_at_commas(hay: &[u8], needle: &[u8]) -> Option<usize> {
    (0..hay.len())
        .filter(|&i| hay[i] == b',')
        .find(|&i| hay[i..].starts_with(needle))
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
    let at = find(json.as_bytes(), scratch.as_bytes())?;
    Some((json.get(..at)?, json.get(at + scratch.len()..)?))
}

/// Makes `head` (an event's head, as stored) the event's JSON again, from
/// its message id, its recording time and its `tail`; `scratch` is a buffer
/// for the middle. In place: a row read back from the file is not copied.
pub fn join(
    head: &mut String,
    message_id: &str,
    created_ms: i64,
    tail: &str,
    scratch: &mut String,
) {
    write_middle(scratch, message_id, created_ms);
    head.reserve_exact(scratch.len() + tail.len());
    head.push_str(scratch);
    head.push_str(tail);
}

/// The head of `json` when it ends with its middle and then `tail` (a tail
/// a store already keeps): checked from the end, with no search, for the
/// common case of the next event of the same device and session. `None`
/// when it does not end so; [`split`] then searches. `created` writes the
/// recording time (keeping the last second's text). Native only: the
/// browser's store splits each event once, as it is written.
#[cfg(feature = "native")]
pub fn head_before<'j>(
    json: &'j str,
    tail: &str,
    message_id: &str,
    created: &mut Iso8601Text,
    created_ms: i64,
    scratch: &mut String,
) -> Option<&'j str> {
    let rest = json.strip_suffix(tail)?;
    write_middle_at(scratch, message_id, created.of(created_ms));
    rest.strip_suffix(scratch.as_str())
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
        let mut joined = head.to_string();
        join(&mut joined, "m-1", 1_796_411_609_838, tail, &mut scratch);
        assert_eq!(joined, json);
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

    /// [`head_before`] with buffers of its own.
    #[cfg(feature = "native")]
    fn head_of<'j>(json: &'j str, tail: &str, id: &str, ms: i64) -> Option<&'j str> {
        head_before(
            json,
            tail,
            id,
            &mut Iso8601Text::default(),
            ms,
            &mut String::new(),
        )
    }

    #[cfg(feature = "native")]
    #[test]
    fn the_head_before_a_known_tail_is_split_s_head() {
        let json = event("m-1", 1_000, r#"{"library":{"name":"cairn"}}"#);
        let (head, tail) = split(&json, "m-1", 1_000, &mut String::new()).unwrap();
        assert_eq!(head_of(&json, tail, "m-1", 1_000), Some(head));
        let other = event("m-1", 1_000, r#"{"library":{"name":"other"}}"#);
        assert_eq!(head_of(&other, tail, "m-1", 1_000), None);
        assert_eq!(head_of(&json, tail, "m-2", 1_000), None);
        assert_eq!(head_of(&json, tail, "m-1", 1_001), None);
    }

    proptest::proptest! {
        /// Whenever the check from the end answers, the event is its head,
        /// middle and tail, as `split` would have kept it: the store
        /// rebuilds it byte for byte either way.
        #[cfg(feature = "native")]
        #[test]
        fn the_head_before_a_tail_joins_back_to_the_event(
            head in "[,\"a-c:{}0-9]{0,24}",
            tail in "[,\"a-c:{}0-9]{0,24}",
            other in "[,\"a-c:{}0-9]{0,24}",
            id in "[a-c0-9-]{0,6}",
            ms in 0i64..4_000_000_000_000,
        ) {
            let mut json = head.clone();
            let mut scratch = String::new();
            write_middle(&mut scratch, &id, ms);
            json.push_str(&scratch);
            json.push_str(&tail);
            proptest::prop_assert_eq!(head_of(&json, &tail, &id, ms), Some(head.as_str()));
            if let Some(h) = head_of(&json, &other, &id, ms) {
                let mut joined = h.to_string();
                join(&mut joined, &id, ms, &other, &mut scratch);
                proptest::prop_assert_eq!(joined, json);
            }
        }

        /// Both searches give memmem's answer, on
        /// texts made of the characters events are made of, with the
        /// middle in them zero, one or more times.
        #[test]
        fn both_searches_find_what_memmem_finds(
            parts in proptest::collection::vec("[,\"a-c:{}0-9]{0,12}", 0..12),
            at in proptest::collection::vec(0usize..12, 0..3),
            id in "[a-c0-9-]{0,6}",
            ms in 0i64..4_000_000_000_000,
        ) {
            let mut needle = String::new();
            write_middle(&mut needle, &id, ms);
            let mut hay = String::new();
            for (i, p) in parts.iter().enumerate() {
                if at.contains(&i) {
                    hay.push_str(&needle);
                }
                hay.push_str(p);
            }
            let by_hand = find_at_commas(hay.as_bytes(), needle.as_bytes());
            let memmem = memchr::memmem::find(hay.as_bytes(), needle.as_bytes());
            proptest::prop_assert_eq!(by_hand, memmem);
            proptest::prop_assert_eq!(find(hay.as_bytes(), needle.as_bytes()), memmem);
            proptest::prop_assert_eq!(by_hand.is_some(), !at.is_empty() && at.iter().any(|&i| i < parts.len()));
        }
    }
}
