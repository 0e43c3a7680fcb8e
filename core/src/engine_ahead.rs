//! Events finished with ahead of the delivery cursor.
//!
//! The store keeps one cursor per destination: everything at or below it is
//! done. A backend that answers per event (Amplitude's 400 listing refused
//! positions, its 429 naming throttled users) lets the engine finish events
//! out of order: refused ones are dropped while earlier ones are resent, and
//! the events of a throttled user wait while later ones are delivered. This
//! module remembers, in memory, which events past the cursor are settled and
//! which are held, and until when; it decides what a claim leaves out and
//! how far the cursor may move. When to send, and what to count, stays the
//! engine's. After a crash the memory is gone and those events go out again
//! with their ids (the backend deduplicates).
//!
//! Only the Amplitude wire answers per event: without feature
//! `wire-amplitude` (the default browser build) this is an empty type whose
//! methods do nothing, so none of it reaches the download.

#[cfg(feature = "wire-amplitude")]
use crate::prelude::*;
use crate::store::Claimed;

/// What is settled or held past the cursor (sequence numbers, sorted).
#[cfg(feature = "wire-amplitude")]
#[derive(Debug, Default)]
pub(super) struct Ahead {
    settled: Vec<u64>,
    held: Vec<u64>,
    held_until: i64,
}

#[cfg(feature = "wire-amplitude")]
impl Ahead {
    /// Takes out of a claim the events settled already, and the held ones
    /// while their hold lasts (a hold that is over is lifted first).
    pub(super) fn leave_out(&mut self, events: &mut Claimed, now_ms: i64) {
        if self.settled.is_empty() && self.held.is_empty() {
            return;
        }
        if now_ms >= self.held_until {
            self.held.clear();
        }
        let (settled, held) = (&self.settled, &self.held);
        crate::store::claimed_mut(events).retain(|e| {
            settled.binary_search(&e.seq).is_err() && held.binary_search(&e.seq).is_err()
        });
    }

    /// How far the cursor may move for a batch ending at `last_seq`: to
    /// just before the first held event, if one lies at or before it.
    pub(super) fn cursor_limit(&self, last_seq: u64) -> u64 {
        match self.held.first() {
            Some(&h) if h <= last_seq => h.saturating_sub(1),
            _ => last_seq,
        }
    }

    /// When the held events may go, while some are held.
    pub(super) fn holding(&self) -> Option<i64> {
        (!self.held.is_empty()).then_some(self.held_until)
    }

    /// Notes `seqs` as finished with (delivered or dropped).
    pub(super) fn settle(&mut self, seqs: impl Iterator<Item = u64>) {
        insert_sorted(&mut self.settled, seqs);
    }

    /// Holds `seqs` back until `until_ms` (or a later hold's end).
    pub(super) fn hold(&mut self, seqs: impl Iterator<Item = u64>, until_ms: i64) {
        insert_sorted(&mut self.held, seqs);
        self.held_until = self.held_until.max(until_ms);
    }

    /// The cursor moved to `through`: forgets what it passed.
    pub(super) fn passed(&mut self, through: u64) {
        self.settled.retain(|s| *s > through);
    }

    /// Every queued event is gone (purge).
    pub(super) fn clear(&mut self) {
        self.settled.clear();
        self.held.clear();
    }
}

/// Inserts `seqs` into the sorted `into`, without repeats (a binary search:
/// the browser build carries no sorting code).
#[cfg(feature = "wire-amplitude")]
fn insert_sorted(into: &mut Vec<u64>, seqs: impl Iterator<Item = u64>) {
    for seq in seqs {
        if let Err(at) = into.binary_search(&seq) {
            into.insert(at, seq);
        }
    }
}

/// Without a wire that answers per event nothing is ever settled ahead.
#[cfg(not(feature = "wire-amplitude"))]
#[derive(Debug, Default)]
pub(super) struct Ahead;

#[cfg(not(feature = "wire-amplitude"))]
impl Ahead {
    #[inline]
    pub(super) fn leave_out(&mut self, _events: &mut Claimed, _now_ms: i64) {}

    #[inline]
    pub(super) fn cursor_limit(&self, last_seq: u64) -> u64 {
        last_seq
    }

    #[inline]
    pub(super) fn holding(&self) -> Option<i64> {
        None
    }

    #[inline]
    pub(super) fn passed(&mut self, _through: u64) {}

    #[inline]
    pub(super) fn clear(&mut self) {}
}
