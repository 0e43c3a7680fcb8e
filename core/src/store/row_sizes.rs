//! The JSON size of each row appended since the store opened, kept until
//! every destination is done with it, so moving the lowest cursor needs no
//! read of the file to know what left the counts.
//!
//! With one destination an ack covers whole claimed batches whose sizes the
//! store already knows. With several, the rows that become done when the
//! slowest cursor moves seldom match one batch, and counting them was a
//! `COUNT`/`SUM` over rows written long before, read back from disk: with
//! two destinations it was the worker's third largest cost
//! (docs/performance.md). This module only answers "how many rows and
//! bytes are in `(from, through]`" when it holds every one of them; the
//! store reads the file otherwise, and decides when the rows change under
//! it (a drop, a purge), which empties it.

use std::collections::VecDeque;

/// Rows held at most: 512 KiB of sizes. A backlog longer than that, all
/// appended in this run, is counted from the file as before.
pub const ROW_SIZES_MAX: usize = 128 * 1024;

/// Sizes of the consecutive rows `(after, after + sizes.len()]`.
#[derive(Debug, Default)]
pub(crate) struct RowSizes {
    after: u64,
    sizes: VecDeque<u32>,
}

impl RowSizes {
    /// Holds nothing; the next rows appended after `last_seq` are held.
    pub(crate) fn clear(&mut self, last_seq: u64) {
        self.after = last_seq;
        self.sizes.clear();
    }

    /// Rows just appended after `previous_last_seq`, with these JSON sizes.
    /// Rows that do not follow on from those held start the ledger again.
    pub(crate) fn appended(&mut self, previous_last_seq: u64, sizes: impl Iterator<Item = usize>) {
        if self.end() != previous_last_seq {
            self.clear(previous_last_seq);
        }
        for size in sizes {
            if self.sizes.len() >= ROW_SIZES_MAX {
                // Full: the rows after stay unknown; the next append starts
                // again past them (its rows no longer follow on).
                return;
            }
            self.sizes
                .push_back(u32::try_from(size).unwrap_or(u32::MAX));
        }
    }

    /// The number and bytes of rows `(from, through]`, when every one is
    /// held; `None` means: count them in the file. Either way the rows at
    /// or below `through` are let go (every destination is done with them).
    pub(crate) fn take(&mut self, from: u64, through: u64) -> Option<(u64, u64)> {
        let held = from >= self.after && through <= self.end();
        let sum = held.then(|| {
            let skip = usize::try_from(from - self.after).unwrap_or(usize::MAX);
            let n = usize::try_from(through - from).unwrap_or(usize::MAX);
            let bytes = self.sizes.iter().skip(skip).take(n).map(|&s| u64::from(s));
            (n as u64, bytes.sum())
        });
        let gone = usize::try_from(through.saturating_sub(self.after))
            .unwrap_or(usize::MAX)
            .min(self.sizes.len());
        self.sizes.drain(..gone);
        self.after = self.after.max(through);
        sum
    }

    /// The rows held and where they start, for the store's consistency check.
    #[cfg(any(test, feature = "store-contract"))]
    pub(crate) fn held(&self) -> (u64, &VecDeque<u32>) {
        (self.after, &self.sizes)
    }

    fn end(&self) -> u64 {
        self.after + self.sizes.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_only_for_rows_it_holds_and_lets_done_rows_go() {
        let mut r = RowSizes::default();
        r.clear(10);
        r.appended(10, [5, 6, 7, 8].into_iter());
        assert_eq!(r.take(10, 12), Some((2, 11)));
        // Rows 11 and 12 are gone: a range starting below 12 is not held.
        assert_eq!(r.take(11, 13), None);
        assert_eq!(r.take(13, 14), Some((1, 8)));
        assert_eq!(r.take(14, 14), Some((0, 0)));
        // Past the end: not held.
        assert_eq!(r.take(14, 15), None);
    }

    #[test]
    fn rows_that_do_not_follow_on_start_it_again() {
        let mut r = RowSizes::default();
        r.clear(0);
        r.appended(0, [1, 2].into_iter());
        // Rows 3 to 5 went by while it was full: 6 does not follow on.
        r.appended(5, [3].into_iter());
        assert_eq!(r.take(0, 6), None);
        r.appended(6, [4].into_iter());
        assert_eq!(r.take(6, 7), Some((1, 4)));
    }

    #[test]
    fn a_full_ledger_stops_holding_and_starts_again_later() {
        let mut r = RowSizes::default();
        r.clear(0);
        r.appended(0, std::iter::repeat_n(1, ROW_SIZES_MAX + 3));
        let held = ROW_SIZES_MAX as u64;
        assert_eq!(r.take(0, held), Some((held, held)));
        let last = held + 3;
        assert_eq!(r.take(held, last), None);
        r.appended(last, [9].into_iter());
        assert_eq!(r.take(last, last + 1), Some((1, 9)));
    }
}
