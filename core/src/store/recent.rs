//! The newest rows of the SQLite queue, kept in memory until claimed, so the
//! claim that follows an append seldom reads the file back.
//!
//! This module decides only when the copy in memory may stand in for the
//! file: it holds rows with consecutive sequence numbers ending at the last
//! one appended, and answers a claim only when its first row is the very next
//! one after the claimant's floor. Anything else (a gap, a claim from a retry
//! further back, a window over its byte cap) is answered from the file by the
//! caller. Rows deleted by a drop or a purge make the caller clear it; acks
//! only remove rows below a claim, which the window no longer holds.
//!
//! A claim that starts at the window's first row takes its rows out of it.
//! With several destinations ([`RecentRows::serve`]) the window also keeps
//! the latest claims, shared: a destination whose cursor meets one of them
//! (they deliver at the same pace) gets the same rows, not a copy and not a
//! read of the file, and a claim from behind is cut to end where a kept
//! claim starts, so the next one meets it. A claim further into the window
//! (a destination ahead of another) copies its rows; a row leaves once every
//! destination has taken it (or claimed past it from the file). When the
//! window is full its oldest rows make room for new ones, so a destination
//! that is down never keeps the others reading the file.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{NewEvent, StoredEvent};

/// Bytes of event JSON the window holds at most per destination served: a
/// few batches' worth (4 of the default 500 KB), so it stays small however
/// far delivery falls behind. With several destinations the claims kept
/// for sharing hold at most as much again.
pub const RECENT_MAX_BYTES: usize = 2 * 1024 * 1024;

/// Consecutive newest rows of one destination's queue.
#[derive(Debug, Default)]
pub(crate) struct RecentRows {
    rows: VecDeque<StoredEvent>,
    bytes: usize,
    /// The destination whose claims it answers (the first to claim), with one.
    owner: Option<String>,
    /// With several destinations: each one's last row taken (or passed).
    shared: Vec<(String, u64)>,
    /// With several destinations: the latest claims with their JSON bytes,
    /// oldest first, until every destination has passed them.
    claims: VecDeque<(Arc<Vec<StoredEvent>>, usize)>,
    claims_bytes: usize,
}

impl RecentRows {
    /// The most JSON bytes held: [`RECENT_MAX_BYTES`] per destination served.
    fn max_bytes(&self) -> usize {
        RECENT_MAX_BYTES * self.shared.len().max(1)
    }

    /// Adds rows just committed with sequence numbers `seqs`, when they follow
    /// on from what is held (`previous_last_seq` was the last row before
    /// them) and fit under the cap. Otherwise the window stops growing until
    /// claims empty it.
    pub(crate) fn appended(
        &mut self,
        previous_last_seq: u64,
        events: impl IntoIterator<Item = NewEvent>,
        seqs: &[u64],
    ) {
        let mut last = match self.rows.back() {
            Some(r) => r.seq,
            None => previous_last_seq,
        };
        if last != previous_last_seq {
            return;
        }
        let shared = !self.shared.is_empty();
        for (e, &seq) in events.into_iter().zip(seqs) {
            // Shared: the oldest rows make room (a destination behind them
            // reads them from the file).
            while shared && self.bytes + e.json.len() > self.max_bytes() {
                match self.rows.pop_front() {
                    Some(r) => self.bytes -= r.json.len(),
                    None => break,
                }
            }
            if seq != last + 1 || self.bytes + e.json.len() > self.max_bytes() {
                // A hole would make the window lie about what follows `last`.
                if seq != last + 1 {
                    self.clear();
                }
                return;
            }
            self.bytes += e.json.len();
            self.rows.push_back(StoredEvent {
                seq,
                message_id: e.message_id,
                created_ms: e.created_ms,
                json: e.json,
            });
            last = seq;
        }
    }

    /// The claim of `destination` for the rows after `floor`, when the window
    /// holds them: at most `max_events`, cut to `max_bytes` (but at least one).
    /// `None` means: read the file.
    pub(crate) fn take(
        &mut self,
        destination: &str,
        floor: u64,
        max_events: usize,
        max_bytes: usize,
    ) -> Option<Vec<StoredEvent>> {
        if !self.shared.is_empty() {
            return self.copy(destination, floor, max_events, max_bytes);
        }
        let owner = self.owner.get_or_insert_with(|| destination.to_string());
        if owner != destination || self.rows.front()?.seq != floor + 1 {
            return None;
        }
        let mut out = Vec::new();
        let mut total = 0;
        while let Some(r) = self.rows.front() {
            if out.len() >= max_events || (!out.is_empty() && total + r.json.len() > max_bytes) {
                break;
            }
            total += r.json.len();
            self.bytes -= r.json.len();
            out.extend(self.rows.pop_front());
        }
        Some(out)
    }

    /// Answers claims of several destinations, named `destinations` (one or
    /// none: a claim takes its rows, as before). Empties the window.
    pub(crate) fn serve(&mut self, destinations: &[&str]) {
        self.clear();
        self.owner = None;
        self.shared = if destinations.len() > 1 {
            destinations.iter().map(|d| ((*d).to_string(), 0)).collect()
        } else {
            Vec::new()
        };
    }

    /// [`take`](Self::take) with several destinations: copies of the rows
    /// after `floor`, when the window holds the next one.
    fn copy(
        &mut self,
        destination: &str,
        floor: u64,
        max_events: usize,
        max_bytes: usize,
    ) -> Option<Vec<StoredEvent>> {
        let front = self.rows.front()?.seq;
        if floor + 1 < front {
            return None;
        }
        let start = usize::try_from(floor + 1 - front).ok()?;
        if start >= self.rows.len() {
            return None;
        }
        // From the front the rows leave with this claim, moved, not copied
        // (the JSON is most of a row's bytes): a destination behind it
        // shares the claim (`share`) or reads them from the file.
        let mut out: Vec<StoredEvent> = Vec::new();
        let mut total = 0;
        let mut at = start;
        while let Some(r) = self.rows.get(at) {
            if out.len() >= max_events || (!out.is_empty() && total + r.json.len() > max_bytes) {
                break;
            }
            total += r.json.len();
            if at == 0 {
                if let Some(r) = self.rows.pop_front() {
                    self.bytes -= r.json.len();
                    out.push(r);
                }
            } else {
                out.push(r.clone());
                at += 1;
            }
        }
        if let Some(last) = out.last() {
            self.passed(destination, last.seq);
        }
        Some(out)
    }

    /// With several destinations: a kept claim that starts right after
    /// `floor` and fits within `max_events` and `max_bytes` (one event
    /// always fits), for `destination` to send too.
    pub(crate) fn share(
        &mut self,
        destination: &str,
        floor: u64,
        max_events: usize,
        max_bytes: usize,
    ) -> Option<Arc<Vec<StoredEvent>>> {
        let (claim, bytes) = self
            .claims
            .iter()
            .find(|(c, _)| c.first().is_some_and(|e| e.seq == floor + 1))?;
        if claim.len() > max_events || (claim.len() > 1 && *bytes > max_bytes) {
            return None;
        }
        let claim = Arc::clone(claim);
        if let Some(last) = claim.last() {
            self.passed(destination, last.seq);
        }
        Some(claim)
    }

    /// At most how many events a claim after `floor` takes: `max_events`, or
    /// fewer so that it ends right before a kept claim, whose rows the next
    /// claim then shares.
    pub(crate) fn aligned(&self, floor: u64, max_events: usize) -> usize {
        let next_kept = (self.claims.iter())
            .filter_map(|(c, _)| c.first().map(|e| e.seq))
            .filter(|&first| first > floor + 1)
            .min();
        match next_kept {
            Some(first) => {
                usize::try_from(first - floor - 1).map_or(max_events, |n| n.min(max_events))
            }
            None => max_events,
        }
    }

    /// With several destinations: keeps the claim of `destination` for the
    /// others to share, up to [`RECENT_MAX_BYTES`] of claims (the oldest go
    /// first).
    pub(crate) fn keep_claim(&mut self, destination: &str, claim: &Arc<Vec<StoredEvent>>) {
        let Some(last) = claim.last() else { return };
        // Only another destination still behind its end can share it.
        if !(self.shared.iter()).any(|p| p.0 != destination && p.1 < last.seq) {
            return;
        }
        let bytes = claim.iter().map(|e| e.json.len()).sum();
        self.claims.push_back((Arc::clone(claim), bytes));
        self.claims_bytes += bytes;
        while self.claims_bytes > RECENT_MAX_BYTES {
            match self.claims.pop_front() {
                Some((_, b)) => self.claims_bytes -= b,
                None => break,
            }
        }
    }

    /// With several destinations: `destination` is done with the rows
    /// through `seq`; rows every one is done with leave.
    fn passed(&mut self, destination: &str, seq: u64) {
        if let Some(p) = self.shared.iter_mut().find(|p| p.0 == destination) {
            p.1 = p.1.max(seq);
        }
        let done = self.shared.iter().map(|p| p.1).min().unwrap_or(0);
        while self.rows.front().is_some_and(|r| r.seq <= done) {
            if let Some(r) = self.rows.pop_front() {
                self.bytes -= r.json.len();
            }
        }
        while (self.claims.front()).is_some_and(|(c, _)| c.last().is_none_or(|e| e.seq <= done)) {
            if let Some((_, b)) = self.claims.pop_front() {
                self.claims_bytes -= b;
            }
        }
    }

    /// Forgets rows at or below `seq` (claimed from the file instead).
    pub(crate) fn forget_through(&mut self, destination: &str, seq: u64) {
        if !self.shared.is_empty() {
            self.passed(destination, seq);
            return;
        }
        if self.owner.as_deref().is_some_and(|o| o != destination) {
            return;
        }
        while self.rows.front().is_some_and(|r| r.seq <= seq) {
            if let Some(r) = self.rows.pop_front() {
                self.bytes -= r.json.len();
            }
        }
    }

    /// The rows held and their JSON bytes as counted, for the store's
    /// consistency check.
    #[cfg(any(test, feature = "store-contract"))]
    pub(crate) fn held(&self) -> (&VecDeque<StoredEvent>, usize) {
        (&self.rows, self.bytes)
    }

    /// The claims kept for other destinations, for the store's consistency
    /// check.
    #[cfg(any(test, feature = "store-contract"))]
    pub(crate) fn kept_claims(&self) -> impl Iterator<Item = &Arc<Vec<StoredEvent>>> {
        self.claims.iter().map(|(c, _)| c)
    }

    /// Forgets everything (rows were deleted from the file), kept claims too.
    pub(crate) fn clear(&mut self) {
        self.rows.clear();
        self.bytes = 0;
        self.claims.clear();
        self.claims_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(n: usize, size: usize) -> Vec<NewEvent> {
        (0..n)
            .map(|i| NewEvent {
                message_id: format!("m{i}"),
                created_ms: i as i64,
                json: "x".repeat(size),
            })
            .collect()
    }

    #[test]
    fn answers_only_the_claim_that_starts_right_after_the_floor() {
        let mut w = RecentRows::default();
        w.appended(10, events(3, 10), &[11, 12, 13]);
        assert!(w.take("d", 9, 10, 1_000).is_none(), "row 10 is not held");
        assert!(
            w.take("other", 10, 10, 1_000).is_none(),
            "owned by the first claimant"
        );
        let got = w.take("d", 10, 2, 1_000).unwrap();
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), [11, 12]);
        let got = w.take("d", 12, 10, 1_000).unwrap();
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), [13]);
        assert!(w.take("d", 13, 10, 1_000).is_none(), "empty: read the file");
    }

    #[test]
    fn cuts_to_bytes_but_always_gives_one() {
        let mut w = RecentRows::default();
        w.appended(0, events(3, 100), &[1, 2, 3]);
        assert_eq!(w.take("d", 0, 10, 150).unwrap().len(), 1);
        assert_eq!(
            w.take("d", 1, 10, 50).unwrap().len(),
            1,
            "one event over the cap still goes alone"
        );
    }

    #[test]
    fn stops_at_a_gap_or_the_cap_and_never_holds_a_hole() {
        let mut w = RecentRows::default();
        w.appended(0, events(2, 10), &[1, 2]);
        w.appended(5, events(1, 10), &[6]);
        assert_eq!(
            w.take("d", 0, 10, 1_000).unwrap().len(),
            2,
            "rows after a missed append are not added"
        );
        assert!(w.take("d", 2, 10, 1_000).is_none());

        let mut w = RecentRows::default();
        let big = RECENT_MAX_BYTES / 2 + 1;
        w.appended(0, events(3, big), &[1, 2, 3]);
        w.appended(3, events(1, 10), &[4]);
        assert_eq!(
            w.take("d", 0, 10, usize::MAX).unwrap().len(),
            1,
            "over the cap: growth stops"
        );
        assert!(w.take("d", 1, 10, usize::MAX).is_none());
    }

    fn seqs<'r>(rows: impl IntoIterator<Item = &'r StoredEvent>) -> Vec<u64> {
        rows.into_iter().map(|e| e.seq).collect()
    }

    #[test]
    fn destinations_at_one_pace_share_a_claim_and_rows_leave_once_all_passed() {
        let mut w = RecentRows::default();
        w.serve(&["a", "b"]);
        w.appended(0, events(6, 10), &[1, 2, 3, 4, 5, 6]);
        // The front's rows leave with the claim, moved: none is copied.
        let a = Arc::new(w.take("a", 0, 3, 1_000).unwrap());
        assert_eq!(seqs(a.iter()), [1, 2, 3]);
        assert_eq!(seqs(w.held().0), [4, 5, 6]);
        w.keep_claim("a", &a);
        // b's cursor meets it: the same rows, the same allocation.
        assert!(
            w.share("b", 0, 2, 1_000).is_none(),
            "more than b's limit takes"
        );
        assert!(
            w.share("b", 0, 10, 25).is_none(),
            "more bytes than b's limit"
        );
        let b = w.share("b", 0, 10, 1_000).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(w.claims.is_empty(), "passed by both: no longer kept");
        // A claim from the window's middle (b is ahead of a now) is a copy.
        let b = Arc::new(w.take("b", 4, 10, 1_000).unwrap());
        assert_eq!(seqs(b.iter()), [5, 6]);
        w.keep_claim("b", &b);
        assert_eq!(seqs(w.held().0), [4, 5, 6], "a has not taken them");
        // a reads 4 from the front, cut to end where b's kept claim starts,
        // and then shares that claim.
        assert_eq!(w.aligned(3, 10), 1);
        let a4 = w.take("a", 3, w.aligned(3, 10), 1_000).unwrap();
        assert_eq!(seqs(&a4), [4]);
        assert!(Arc::ptr_eq(&w.share("a", 4, 10, 1_000).unwrap(), &b));
        assert!(w.held().0.is_empty() && w.claims.is_empty());
    }

    #[test]
    fn kept_claims_are_capped_and_forgotten_with_the_rows() {
        let mut w = RecentRows::default();
        w.serve(&["a", "b"]);
        let claim = |first: u64, n: u64, size: usize| {
            Arc::new(
                (first..first + n)
                    .map(|seq| StoredEvent {
                        seq,
                        message_id: format!("m{seq}"),
                        created_ms: 0,
                        json: "x".repeat(size),
                    })
                    .collect::<Vec<_>>(),
            )
        };
        // Nobody else behind it: nothing to keep it for.
        w.passed("b", 10);
        w.keep_claim("a", &claim(1, 10, 10));
        assert!(w.claims.is_empty());
        // Over the cap the oldest go.
        let big = RECENT_MAX_BYTES / 2 + 1;
        for first in [11, 12, 13] {
            w.keep_claim("a", &claim(first, 1, big));
        }
        assert_eq!(
            w.claims.iter().map(|(c, _)| c[0].seq).collect::<Vec<_>>(),
            [13]
        );
        assert!(
            w.share("b", 10, 10, usize::MAX).is_none(),
            "11 went: the file"
        );
        // Rows deleted from the file (a drop, a purge): no claim is shared.
        w.clear();
        assert!(w.share("b", 12, 10, usize::MAX).is_none());
        assert_eq!(w.claims_bytes, 0);
    }

    #[test]
    fn a_full_shared_window_makes_room_with_its_oldest_rows() {
        let mut w = RecentRows::default();
        w.serve(&["a", "b"]);
        // Full (the cap is per destination served): the oldest rows make
        // room, the newest stay, so a destination that is down (b) does not
        // keep the other reading the file.
        let big = RECENT_MAX_BYTES + 1;
        w.appended(0, events(3, big), &[1, 2, 3]);
        assert_eq!(w.held().0.front().unwrap().seq, 3);
        assert!(w.take("a", 0, 10, usize::MAX).is_none(), "1 went: the file");
        w.forget_through("a", 2);
        assert_eq!(seqs(&w.take("a", 2, 10, usize::MAX).unwrap()), [3]);
    }

    #[test]
    fn forgets_rows_claimed_from_the_file() {
        let mut w = RecentRows::default();
        w.appended(0, events(4, 10), &[1, 2, 3, 4]);
        assert!(w.take("d", 0, 1, 1_000).is_some());
        w.forget_through("d", 3);
        assert_eq!(w.take("d", 3, 10, 1_000).unwrap()[0].seq, 4);
    }
}
