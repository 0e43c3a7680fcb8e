//! Waiting for room in a full calls channel, woken once per take.
//!
//! std's bounded channel wakes a blocked sender every time the receiver takes
//! one message. With the channel full, the worker taking a group commit one
//! message at a time and the caller blocked in `send`, that made the two
//! threads take turns slot by slot: the worker took one call and woke the
//! caller, the caller (often on the same CPU, preempting the worker) sent one
//! call, found the channel full again and blocked. Each of those calls paid a
//! futex sleep and wake-up, several microseconds in a VM, and `perf sched`
//! counted about 28,000 such sleeps in 1,000,000 calls: they were track's p99.
//!
//! So callers never block inside the channel: they `try_send`, and when it is
//! full they wait here until the worker has finished taking its next group
//! commit out of it, then find up to that many slots free.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How much earlier than `record_wait` a caller's timed wait for room
/// ends: 1 ms, at most a quarter of `record_wait`. A thread whose timer
/// fires is not running yet: on 2 busy CPUs the scheduler took up to 2 ms
/// to run it again (`cairn bench`'s longest waits were 5.1 to 7.0 ms with a
/// 5 ms timer), so a timer set at `record_wait` itself would overshoot the
/// promise by that much.
pub(crate) const WAKE_MARGIN: Duration = Duration::from_millis(1);

/// How long an event call's timed wait for room lasts, so that with the
/// wake-up it returns within `record_wait`: `record_wait` less
/// [`WAKE_MARGIN`] (less a quarter of it, for a `record_wait` under 4 ms).
pub(crate) fn timed_wait(record_wait: Duration) -> Duration {
    record_wait.saturating_sub(WAKE_MARGIN.min(record_wait / 4))
}

/// The worker's take count, and the callers waiting for it to move.
#[derive(Debug, Default)]
pub(crate) struct Room {
    takes: AtomicU64,
    /// Events dropped because no room came within `record_wait` and the
    /// spill was full: counted here, since the channel that would carry the
    /// count is the full one.
    overflowed: AtomicU64,
    /// Calls that found no room within `record_wait`, and those after them.
    pub(crate) spill: super::spill::Spill<super::worker::Command>,
    /// Event calls that waited for room, their waits in all and the
    /// longest, in nanoseconds (`stats().waited_for_room`).
    waits: AtomicU64,
    waited_ns: AtomicU64,
    longest_wait_ns: AtomicU64,
    waiting: AtomicUsize,
    lock: Mutex<()>,
    moved: Condvar,
}

impl Room {
    /// How many takes the worker has made; read before a `try_send`, so a
    /// take that lands between a full channel and [`wait_past`](Self::wait_past)
    /// is not waited for again.
    pub(crate) fn takes(&self) -> u64 {
        self.takes.load(Ordering::SeqCst)
    }

    /// Blocks until the worker's take count is past `seen` (it took calls, or stopped).
    pub(crate) fn wait_past(&self, seen: u64) {
        // SeqCst pairs with `took`: either it sees this waiter and notifies
        // under the lock, or this thread sees its new count before waiting.
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        while self.takes.load(Ordering::SeqCst) == seen {
            guard = self.moved.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
        drop(guard);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }

    /// Like [`wait_past`](Self::wait_past), but gives up at `deadline`:
    /// true if the worker took calls (or stopped) in time.
    pub(crate) fn wait_past_until(&self, seen: u64, deadline: Instant) -> bool {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut moved = self.takes.load(Ordering::SeqCst) != seen;
        while !moved {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            guard = self
                .moved
                .wait_timeout(guard, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
            moved = self.takes.load(Ordering::SeqCst) != seen;
        }
        drop(guard);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        moved
    }

    /// Counts an event call's wait for room, from `since` (when it found the
    /// channel full) to now.
    pub(crate) fn waited_since(&self, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.waited_ns.fetch_add(ns, Ordering::Relaxed);
        self.longest_wait_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// The event calls' waits so far.
    pub(crate) fn waits(&self) -> crate::stats::RoomWaits {
        crate::stats::RoomWaits {
            calls: self.waits.load(Ordering::Relaxed),
            total_us: self.waited_ns.load(Ordering::Relaxed) / 1_000,
            longest_us: self.longest_wait_ns.load(Ordering::Relaxed) / 1_000,
        }
    }

    /// Counts an event dropped for want of room.
    pub(crate) fn overflowed(&self) {
        self.overflowed.fetch_add(1, Ordering::Relaxed);
    }

    /// The events dropped for want of room since the last call, for the
    /// worker to count in `stats()`.
    pub(crate) fn take_overflowed(&self) -> u64 {
        self.overflowed.swap(0, Ordering::Relaxed)
    }

    /// The worker took calls out of the channel (or is stopping): wakes the
    /// callers waiting for room. No syscall when nobody waits.
    pub(crate) fn took(&self) {
        self.takes.fetch_add(1, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            // Taking the lock orders this wake after a waiter's check of the count.
            drop(self.lock.lock().unwrap_or_else(|p| p.into_inner()));
            self.moved.notify_all();
        }
    }
}

/// Wakes waiting callers when the worker thread ends, however it ends (its
/// receiver is gone by then, so they find the channel disconnected).
pub(crate) struct WakeOnExit(pub(crate) Arc<Room>);

impl Drop for WakeOnExit {
    fn drop(&mut self) {
        // Calls spilled after the worker's last take were made while it was
        // stopping (after a shutdown); later ones get `ShutDown`, as from the
        // closed channel.
        drop(self.0.spill.close());
        self.0.took();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_timed_wait_leaves_room_for_the_wake_up() {
        let ms = Duration::from_millis;
        assert_eq!(timed_wait(ms(5)), ms(4), "the default: 1 ms early");
        assert_eq!(timed_wait(ms(100)), ms(99));
        assert_eq!(timed_wait(ms(2)), Duration::from_micros(1_500), "a quarter");
        assert_eq!(timed_wait(Duration::ZERO), Duration::ZERO, "never waits");
    }

    #[test]
    fn a_waiter_wakes_on_the_next_take_only() {
        let room = Arc::new(Room::default());
        let seen = room.takes();
        let r = Arc::clone(&room);
        let waiter = std::thread::spawn(move || r.wait_past(seen));
        std::thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished(), "no take yet");
        room.took();
        waiter.join().expect("the waiter returns after a take");
        // A take already made is not waited for.
        room.wait_past(seen);
    }
}
