//! Counting what the collector received against what was recorded: lost,
//! duplicated, and duplicates that do not share their `messageId` (which a
//! backend could not remove).
//!
//! A delivered track event is matched to its recorded call by its `index`
//! property (see [`workload`](super::workload)); the scenario's one
//! `identify` has its own slot. An event that matches nothing is counted as
//! unexplained.

use serde::Serialize;
use serde_json::Value;

use super::workload::INDEX_PROPERTY;

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
pub fn audit(received: &[Value], events: u64) -> Audit {
    let slots = events as usize + 1;
    let identify_slot = events as usize;
    let mut first: Vec<Option<&str>> = vec![None; slots];
    let mut a = Audit { expected: slots as u64, received: received.len() as u64, ..Audit::default() };
    for e in received {
        let slot = match e.get("type").and_then(Value::as_str) {
            Some("identify") => Some(identify_slot),
            Some("track") => e
                .get("properties")
                .and_then(|p| p.get(INDEX_PROPERTY))
                .and_then(Value::as_u64)
                .filter(|i| *i < events)
                .map(|i| i as usize),
            _ => None,
        };
        let id = e.get("messageId").and_then(Value::as_str).unwrap_or("");
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
    use serde_json::json;

    fn track(i: u64, id: &str) -> Value {
        json!({"type": "track", "messageId": id, "properties": {INDEX_PROPERTY: i}})
    }

    #[test]
    fn counts_lost_duplicates_and_strangers() {
        let got = vec![
            track(0, "a"),
            track(1, "b"),
            track(1, "b"),
            track(1, "x"),
            json!({"type": "identify", "messageId": "i"}),
            json!({"type": "page", "messageId": "p"}),
        ];
        let a = audit(&got, 3);
        assert_eq!(a, Audit { expected: 4, received: 6, lost: 1, duplicates: 2, unexplained: 2 });
        assert!(!a.ok());
        assert!(audit(&[track(0, "a"), json!({"type": "identify", "messageId": "i"})], 1).ok());
    }
}
