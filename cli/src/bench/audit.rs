//! Counting what the collector received against what was recorded: lost,
//! duplicated, and duplicates that do not share their `messageId` (which a
//! backend could not remove).
//!
//! A delivered track event is matched to its recorded call by its `index`
//! property (see [`workload`](super::workload)); the scenario's one
//! `identify` has its own slot. An event that matches nothing is counted as
//! unexplained.

use serde::Serialize;

use crate::collector::Digest;

/// The verdict on one phase's deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// Events that should have arrived (tracks plus the identify).
    pub expected: u64,
    /// Events the collector stored, duplicates included.
    pub received: u64,
    /// Expected events that never arrived.
    pub lost: u64,
    /// Extra copies of events that did arrive.
    pub duplicates: u64,
    /// Duplicates whose `messageId` differs from the first copy's, plus
    /// events that match no recorded call: neither can be deduplicated.
    pub unexplained: u64,
}

impl Audit {
    /// Nothing lost and nothing a backend could not deduplicate.
    pub fn ok(&self) -> bool {
        self.lost == 0 && self.unexplained == 0
    }
}

/// Audits `received` against `events` recorded tracks and one identify.
/// A track is matched by its `index` property (the collector's
/// [`Digest::index`], which the workload fills in).
pub fn audit(received: &[Digest], events: u64) -> Audit {
    let slots = events as usize + 1;
    let identify_slot = events as usize;
    let mut first: Vec<Option<&str>> = vec![None; slots];
    let mut a = Audit {
        expected: slots as u64,
        received: received.len() as u64,
        ..Audit::default()
    };
    for e in received {
        let slot = match e.event_type.as_str() {
            "identify" => Some(identify_slot),
            "track" => e.index.filter(|i| *i < events).map(|i| i as usize),
            _ => None,
        };
        let id = e.message_id.as_str();
        match slot {
            None => a.unexplained += 1,
            Some(s) => match first[s] {
                None => first[s] = Some(id),
                Some(seen) => {
                    a.duplicates += 1;
                    if seen != id || id.is_empty() {
                        a.unexplained += 1;
                    }
                }
            },
        }
    }
    a.lost = first.iter().filter(|f| f.is_none()).count() as u64;
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload::INDEX_PROPERTY;
    use serde_json::{json, Value};

    fn track(i: u64, id: &str) -> Digest {
        Digest::of(&json!({"type": "track", "messageId": id, "properties": {INDEX_PROPERTY: i}}))
    }

    fn other(v: Value) -> Digest {
        Digest::of(&v)
    }

    #[test]
    fn counts_lost_duplicates_and_strangers() {
        let got = vec![
            track(0, "a"),
            track(1, "b"),
            track(1, "b"),
            track(1, "x"),
            other(json!({"type": "identify", "messageId": "i"})),
            other(json!({"type": "page", "messageId": "p"})),
        ];
        let a = audit(&got, 3);
        assert_eq!(
            a,
            Audit {
                expected: 4,
                received: 6,
                lost: 1,
                duplicates: 2,
                unexplained: 2
            }
        );
        assert!(!a.ok());
        assert!(audit(
            &[
                track(0, "a"),
                other(json!({"type": "identify", "messageId": "i"}))
            ],
            1
        )
        .ok());
    }
}
