//! Which of the SQLite store's two event tables rows are appended to, and
//! when a table is freed whole.
//!
//! Deleting delivered rows one by one was a fifth of the worker's work in a
//! burst: SQLite visits every row of a `DELETE ... WHERE seq <= ?`, about
//! 1 µs a row, while a `DELETE` with no `WHERE` frees the table's pages
//! whole (0.07 µs a row; docs/performance.md). So events live in two
//! tables, `events_a` and `events_b` (the `events` view reads both), and
//! rows are appended to one at a time, the *writing* table. Appends move to
//! the other table as soon as it is empty, so every row of the other table
//! comes before every row of the writing one. A table is freed whole once
//! every destination is done with its last row; until then the delivered
//! rows at its front stay in the file, never read again (every read starts
//! after the lowest cursor).
//!
//! This module only decides; the store runs the SQL and keeps this state in
//! step with the file (`newest` is each table's largest `seq`, reread after
//! any delete that may have emptied it).

/// The two tables, in the order their index is kept.
pub(crate) const TABLES: [&str; 2] = ["events_a", "events_b"];

/// The two tables' state, as the file has it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Generations {
    /// Index in [`TABLES`] of the table appends go to.
    writing: usize,
    /// Largest `seq` of each table; `None` when it is empty.
    newest: [Option<u64>; 2],
}

impl Generations {
    /// The state of a file whose tables end at `newest` (`SELECT MAX(seq)`
    /// of each): the table with the newer rows is the writing one.
    pub(crate) fn from_newest(newest: [Option<u64>; 2]) -> Self {
        let writing = usize::from(newest[1] > newest[0]);
        Generations { writing, newest }
    }

    /// The table the next rows go to, moving to the other one first when it
    /// is empty (its rows were all delivered) and this one is not.
    pub(crate) fn table_for_append(&mut self) -> usize {
        let other = 1 - self.writing;
        if self.newest[other].is_none() && self.newest[self.writing].is_some() {
            self.writing = other;
        }
        self.writing
    }

    /// Rows through `last_seq` were appended to the writing table.
    pub(crate) fn appended(&mut self, last_seq: u64) {
        self.newest[self.writing] = Some(last_seq);
    }

    /// The tables every destination is done with (each row at or below
    /// `done_through`), to be emptied whole, and marks them empty.
    pub(crate) fn free_done(&mut self, done_through: u64) -> impl Iterator<Item = usize> {
        let mut freed = [false; 2];
        for (t, newest) in self.newest.iter_mut().enumerate() {
            if newest.is_some_and(|n| n <= done_through) {
                *newest = None;
                freed[t] = true;
            }
        }
        (0..2).filter(move |&t| freed[t])
    }

    /// Table `t` now ends at `newest` (reread after rows were deleted).
    pub(crate) fn set_newest(&mut self, t: usize, newest: Option<u64>) {
        self.newest[t] = newest;
    }

    /// Largest `seq` of table `t`, `None` if empty.
    #[cfg(any(test, feature = "store-contract"))]
    pub(crate) fn newest(&self, t: usize) -> Option<u64> {
        self.newest[t]
    }

    /// Index of the writing table.
    #[cfg(any(test, feature = "store-contract"))]
    pub(crate) fn writing(&self) -> usize {
        self.writing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_move_to_the_other_table_once_it_is_empty() {
        let mut g = Generations::default();
        // An empty file: the first table, and it stays while the other is
        // empty and it is too.
        assert_eq!(g.table_for_append(), 0);
        g.appended(10);
        // The other table is empty: the next rows start a new generation.
        assert_eq!(g.table_for_append(), 1);
        g.appended(20);
        // Table 0 still holds rows not delivered: appends stay in 1.
        assert_eq!(g.table_for_append(), 1);
        g.appended(30);
        assert_eq!(g.free_done(5).collect::<Vec<_>>(), Vec::<usize>::new());
        assert_eq!(g.free_done(10).collect::<Vec<_>>(), vec![0]);
        assert_eq!(g.newest(0), None);
        assert_eq!(g.table_for_append(), 0);
        g.appended(40);
        // Everything delivered: both are freed.
        assert_eq!(g.free_done(40).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(g.table_for_append(), 0, "both empty: appends stay");
    }

    #[test]
    fn a_file_reopened_writes_where_its_newest_rows_are() {
        assert_eq!(Generations::from_newest([None, None]).writing(), 0);
        assert_eq!(Generations::from_newest([Some(5), None]).writing(), 0);
        assert_eq!(Generations::from_newest([None, Some(5)]).writing(), 1);
        assert_eq!(Generations::from_newest([Some(9), Some(12)]).writing(), 1);
        assert_eq!(Generations::from_newest([Some(12), Some(9)]).writing(), 0);
    }
}
