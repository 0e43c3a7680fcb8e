//! Where calls go when the calls channel stayed full for `record_wait`.
//!
//! The channel to the worker is bounded (`max_pending_calls`): callers wait
//! for room while the worker writes to the disk, which keeps a fast caller
//! at the disk's pace. But the worker sometimes stalls for longer than an
//! app's thread may wait (a WAL checkpoint with its fsync, a slow flash
//! chip, the thread not scheduled on a busy device). An event call that
//! finds no room within `record_wait` puts its call here instead, and from
//! then on every call goes here, in order, until the worker has taken all
//! of it: a call of one thread is never overtaken by a later one of the
//! same thread.
//!
//! It decides:
//! - order: while it holds anything, every call goes to it, none to the
//!   channel; the worker takes from it only once the channel is empty, so
//!   the calls in the channel (all made before it filled) go first;
//! - its pace: past [`SPILL_PACE_BYTES`] held, an event call first waits
//!   for the worker's next take (at most `record_wait`, as for the channel),
//!   so a caller that outruns a slow worker is still held to its pace,
//!   within `record_wait` a call, instead of filling the spill at once;
//! - its bound: [`SPILL_MAX_BYTES`] of event calls; an event call past that
//!   is dropped and counted `overflow` by the caller. Calls that change
//!   identity, consent or lifecycle (`identify`, `flush`, `shutdown`...) are
//!   rare and never dropped for room;
//! - the end: once the worker has stopped, nothing more is taken in, so a
//!   late call gets the same `ShutDown` error as from a closed channel.
//!
//! Its calls are in memory, not on disk: a crash loses them as it loses the
//! calls in the channel (docs/delivery.md).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Most bytes of event calls held: 8 MiB (about 25,000 calls of the size the
/// benchmark records), on top of the channel's `max_pending_calls`.
pub(crate) const SPILL_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Bytes held past which an event call waits for the worker's next take
/// (at most `record_wait`) before joining the spill: 1 MiB. Without that
/// pace a caller on a CPU-starved device filled the 8 MiB in a fraction of a
/// second and the rest of its burst was dropped (the crash harness's
/// backlog, recorded on a loaded machine, lost events so).
pub(crate) const SPILL_PACE_BYTES: usize = 1024 * 1024;

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed<T> {
    /// Queued behind the calls already spilled.
    Queued,
    /// Nothing is spilled: the caller should use the channel. The item comes back.
    NotSpilling(T),
    /// An event call past [`SPILL_MAX_BYTES`]: the caller counts it `overflow`.
    Full,
    /// The worker has stopped.
    Closed,
}

#[derive(Debug)]
struct Held<T> {
    items: VecDeque<(T, usize)>,
    bytes: usize,
    closed: bool,
}

/// The spilled calls, shared by callers and the worker.
pub(crate) struct Spill<T> {
    /// Whether anything is held: read without the lock on every call, so
    /// the common path costs one atomic load.
    active: AtomicBool,
    held: Mutex<Held<T>>,
}

impl<T> Default for Spill<T> {
    fn default() -> Self {
        Spill {
            active: AtomicBool::new(false),
            held: Mutex::new(Held {
                items: VecDeque::new(),
                bytes: 0,
                closed: false,
            }),
        }
    }
}

impl<T> std::fmt::Debug for Spill<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("active", &self.active())
            .finish_non_exhaustive()
    }
}

impl<T> Spill<T> {
    /// Whether calls are being spilled (a hint: [`push`](Self::push)
    /// decides under the lock).
    pub(crate) fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Queues `item` if calls are being spilled (`start` false), or starts
    /// spilling with it (`start` true: the channel stayed full past
    /// `record_wait`). `bytes` counts against [`SPILL_MAX_BYTES`] when
    /// `droppable` (an event call); other calls are never refused for room.
    pub(crate) fn push(&self, item: T, bytes: usize, droppable: bool, start: bool) -> Pushed<T> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.closed {
            return Pushed::Closed;
        }
        if !start && held.items.is_empty() {
            return Pushed::NotSpilling(item);
        }
        if droppable && !held.items.is_empty() && held.bytes + bytes > SPILL_MAX_BYTES {
            // The held calls remain: spilling goes on, and later calls
            // still queue behind them.
            return Pushed::Full;
        }
        held.bytes += bytes;
        held.items.push_back((item, bytes));
        self.active.store(true, Ordering::Release);
        Pushed::Queued
    }

    /// Whether event calls should wait for the worker's next take before
    /// joining (see [`SPILL_PACE_BYTES`]).
    pub(crate) fn pacing(&self) -> bool {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.bytes > SPILL_PACE_BYTES
    }

    /// Moves up to `max` of the oldest spilled calls into `out`, for the
    /// worker once the channel is empty. Taking the last ends spilling.
    pub(crate) fn take(&self, max: usize, out: &mut Vec<T>) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..max {
            let Some((item, bytes)) = held.items.pop_front() else {
                break;
            };
            held.bytes -= bytes;
            out.push(item);
        }
        if held.items.is_empty() {
            self.active.store(false, Ordering::Release);
        }
    }

    /// The worker has stopped: refuse what comes later, and hand back what is
    /// held (made after a shutdown was asked for, or while the worker was
    /// ending).
    pub(crate) fn close(&self) -> Vec<T> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.closed = true;
        held.bytes = 0;
        self.active.store(false, Ordering::Release);
        held.items.drain(..).map(|(item, _)| item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_queue_in_order_only_while_spilling() {
        let spill = Spill::default();
        assert_eq!(spill.push(1, 10, true, false), Pushed::NotSpilling(1));
        assert_eq!(spill.push(1, 10, true, true), Pushed::Queued);
        assert!(spill.active());
        assert_eq!(spill.push(2, 10, false, false), Pushed::Queued);
        assert_eq!(spill.push(3, 10, true, false), Pushed::Queued);
        let mut out = Vec::new();
        spill.take(2, &mut out);
        assert_eq!(out, [1, 2]);
        assert!(spill.active(), "one is left");
        spill.take(10, &mut out);
        assert_eq!(out, [1, 2, 3]);
        assert!(!spill.active());
        assert_eq!(spill.push(4, 10, true, false), Pushed::NotSpilling(4));
    }

    #[test]
    fn event_calls_past_the_bound_are_refused_others_are_not() {
        let spill = Spill::default();
        assert_eq!(spill.push(1, SPILL_MAX_BYTES, true, true), Pushed::Queued);
        assert_eq!(spill.push(2, 1, true, false), Pushed::Full);
        assert_eq!(spill.push(3, 1, false, false), Pushed::Queued);
        let mut out = Vec::new();
        spill.take(10, &mut out);
        assert_eq!(out, [1, 3]);
    }

    #[test]
    fn a_closed_spill_refuses_and_hands_back_what_it_held() {
        let spill = Spill::default();
        assert_eq!(spill.push(1, 1, true, true), Pushed::Queued);
        assert_eq!(spill.close(), [1]);
        assert_eq!(spill.push(2, 1, true, true), Pushed::Closed);
        assert_eq!(spill.push(3, 1, false, false), Pushed::Closed);
        assert!(!spill.active());
    }
}
