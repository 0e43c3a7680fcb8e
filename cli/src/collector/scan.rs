//! Each event's digest from a batch body as cairn writes it, found by
//! searching for three keys instead of reading the JSON.
//!
//! `cairn bench` runs its collectors on the CPUs the client uses, and with
//! two destinations the second collector's reading was most of what the
//! second destination cost (0.7-0.9 µs an event, 70% of it reading the
//! JSON). A backend runs elsewhere; the bench's stand-in should cost as
//! little as it can while still telling every event apart.
//!
//! It decides how a digest is found, and relies on what JSON itself
//! guarantees: inside a string every `"` is escaped, so the bytes
//! `"messageId":"` and `{"type":"` occur only as keys. Each event has one
//! `messageId`; its type is the last `{"type":"` before that (cairn writes
//! `type` first, and the event's own object opens there); its index is the
//! first `"index":` between the two (in `properties`, which cairn writes
//! before `messageId`).
//!
//! It leaves to `server.rs` every body it cannot vouch for: a body not in
//! cairn's shape, an event with no `messageId`, a nested object that opens
//! with a `type` key or has a `messageId` of its own could be misread, so
//! [`scan`] answers `None` for anything unexpected (as many `{"type":"` as
//! message ids, an empty batch only when it is `[]`) and `server.rs` also
//! reads a sample of the bodies in full and compares ([`SAMPLE_EVERY`]).

use memchr::memmem;

use super::Digest;

/// One body in this many is also read in full and its digests compared
/// with the scan's: a disagreement marks the body's events invalid, which
/// fails the bench's audit loudly.
pub(crate) const SAMPLE_EVERY: u64 = 8;

const MESSAGE_ID: &[u8] = b"\"messageId\":\"";
const TYPE: &[u8] = b"{\"type\":\"";
const INDEX: &[u8] = b"\"index\":";

/// The digests of `events`, the text of a body after its `{"batch":[`, or
/// `None` when anything in it is not as cairn writes it.
pub(crate) fn scan(events: &[u8]) -> Option<Vec<Digest>> {
    let ids = memmem::Finder::new(MESSAGE_ID);
    let types = memmem::FinderRev::new(TYPE);
    let index = memmem::Finder::new(INDEX);
    let mut digests = Vec::new();
    // Where the previous event's message id ended: this event's type is
    // after it.
    let mut after = 0;
    for at in ids.find_iter(events) {
        let id = string_at(events, at + MESSAGE_ID.len())?;
        let start = after + types.rfind(&events[after..at])?;
        let event_type = string_at(events, start + TYPE.len())?;
        let index = match index.find(&events[start..at]) {
            Some(i) => Some(integer_at(events, start + i + INDEX.len())?),
            None => None,
        };
        digests.push(Digest {
            event_type: event_type.to_string(),
            message_id: id.to_string(),
            index,
        });
        after = at + MESSAGE_ID.len() + id.len() + 1;
    }
    // Every event opened by a type has its message id, and an event with
    // neither (not an object, say) is not in a batch taken as empty: the
    // full reading counts what the search would miss.
    if memmem::find_iter(events, TYPE).count() != digests.len() {
        return None;
    }
    if digests.is_empty() && !events.trim_ascii_start().starts_with(b"]") {
        return None;
    }
    Some(digests)
}

/// The string that starts at `from` (just after its opening quote), when
/// it has no escape: the ids and types cairn writes have none.
fn string_at(text: &[u8], from: usize) -> Option<&str> {
    let rest = text.get(from..)?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    if rest[end] != b'"' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

/// The non-negative integer at `from`, up to the next `,` or `}`; `None`
/// for anything else (a float, a negative number, a string), which the
/// full reading then judges.
fn integer_at(text: &[u8], from: usize) -> Option<u64> {
    let rest = text.get(from..)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    match rest.get(digits) {
        Some(b',' | b'}') if digits > 0 => std::str::from_utf8(&rest[..digits]).ok()?.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(t: &str, id: &str, index: Option<u64>) -> Digest {
        Digest {
            event_type: t.into(),
            message_id: id.into(),
            index,
        }
    }

    /// Events as cairn writes them: type first, properties (index among
    /// them, a nested object after it), ids, then the context.
    #[test]
    fn finds_each_events_type_id_and_index() {
        let body = br#"{"type":"track","event":"A","properties":{"sku":"s-1","index":7,"item":{"category":"books"}},"anonymousId":"a","messageId":"m-1","timestamp":"t","context":{"library":{"name":"cairn"}}},{"type":"identify","traits":{"x":1},"userId":"u","messageId":"m-2","context":{}},{"type":"screen","name":"Home","properties":{"index":12},"messageId":"m-3"}],"sentAt":"t"}"#;
        assert_eq!(
            scan(body).unwrap(),
            [
                digest("track", "m-1", Some(7)),
                digest("identify", "m-2", None),
                digest("screen", "m-3", Some(12)),
            ]
        );
    }

    /// The keys' bytes inside a string value are escaped there, so they
    /// are never found as keys.
    #[test]
    fn keys_inside_strings_are_not_keys() {
        let body = br#"{"type":"track","event":"{\"type\":\"x\",\"messageId\":\"no\"}","properties":{"note":"\"index\":9","index":3},"messageId":"m-1"}]}"#;
        assert_eq!(scan(body).unwrap(), [digest("track", "m-1", Some(3))]);
    }

    /// What the scan cannot vouch for is left to the full reading.
    #[test]
    fn anything_unexpected_is_left_to_the_full_reading() {
        // An index that is not a non-negative integer.
        assert!(scan(br#"{"type":"track","properties":{"index":-1},"messageId":"m"}]}"#).is_none());
        assert!(
            scan(br#"{"type":"track","properties":{"index":1.5},"messageId":"m"}]}"#).is_none()
        );
        // A message id with an escape in it.
        assert!(scan(br#"{"type":"track","messageId":"m\"1"}]}"#).is_none());
        // A message id with no event opening before it.
        assert!(scan(br#"{"event":"A","messageId":"m"}]}"#).is_none());
        // An event with no message id, among others.
        assert!(scan(br#"{"type":"track","messageId":"m"},{"type":"track"}]}"#).is_none());
        // An event that is not an object.
        assert!(scan(br#"1]}"#).is_none());
        // A nested object that opens with a type.
        assert!(
            scan(br#"{"type":"track","properties":{"o":{"type":"x"}},"messageId":"m"}]}"#)
                .is_none()
        );
        // But an empty batch is empty.
        assert_eq!(scan(b" ]}").unwrap(), []);
    }
}
