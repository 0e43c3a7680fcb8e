//! The worker's latest [`Snapshot`], and the wait for its first one.
//!
//! `build()` returns before the buffer file is opened and its state loaded
//! (with a large backlog that takes tens of milliseconds, too long for an
//! app's main thread): the worker thread does it first thing. Recording calls
//! made meanwhile queue in the calls channel as usual; only the getters
//! (`stats()`, `anonymous_id()`, `user_id()`) need what the load found, so
//! they wait here for the first snapshot. This module decides that wait; what
//! a snapshot holds is the worker's business.

use std::sync::{Condvar, Mutex, MutexGuard};

use super::Snapshot;
use crate::stats::{DropCounts, Stats, StorageState};

#[expect(
    clippy::large_enum_variant,
    reason = "one per client, replaced in place after every worker step: boxing the snapshot would only add an allocation per step"
)]
enum State {
    /// The worker has not finished loading the buffer file yet.
    Loading,
    Ready(Snapshot),
    /// The worker thread ended before its first snapshot (it panicked).
    Gone,
}

/// Shared by the client and its worker.
pub(crate) struct Published {
    state: Mutex<State>,
    changed: Condvar,
}

impl Published {
    /// A slot with no snapshot yet.
    pub(crate) fn loading() -> Self {
        Published {
            state: Mutex::new(State::Loading),
            changed: Condvar::new(),
        }
    }

    /// Replaces the snapshot, waking getters waiting for the first one.
    pub(crate) fn set(&self, snapshot: Snapshot) {
        let first = !matches!(
            core::mem::replace(&mut *self.lock(), State::Ready(snapshot)),
            State::Ready(_)
        );
        // Only the first snapshot has getters waiting: a notify is a system
        // call whether or not anyone waits (std's futex condvar), and the
        // worker publishes after every step.
        if first {
            self.changed.notify_all();
        }
    }

    /// The latest snapshot; waits while the worker is still loading.
    pub(crate) fn get(&self) -> Snapshot {
        let mut state = self.lock();
        loop {
            match &*state {
                State::Ready(s) => return s.clone(),
                State::Gone => return stopped(),
                State::Loading => {
                    state = match self.changed.wait(state) {
                        Ok(s) => s,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                }
            }
        }
    }

    /// The latest snapshot without waiting, for a process forked from the
    /// one with the worker (runtime/fork.rs): there, nothing will ever set
    /// it, and a lock held by the parent's worker at the fork stays held,
    /// so the slot is only tried.
    pub(crate) fn peek(&self) -> Option<Snapshot> {
        match self.state.try_lock().as_deref() {
            Ok(State::Ready(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// Called as the worker thread ends (on a panic too): getters waiting
    /// for a first snapshot that will never come stop waiting.
    pub(crate) fn worker_ended(&self) {
        let mut state = self.lock();
        if matches!(*state, State::Loading) {
            *state = State::Gone;
        }
        drop(state);
        self.changed.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a whole `State` behind: the
        // guard only ever assigns one.
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// What the getters answer when the worker died before loading anything.
fn stopped() -> Snapshot {
    failing(
        "cairn's worker thread stopped while opening the buffer file; \
         events are not being recorded: build a new Client"
            .to_string(),
    )
}

/// A snapshot of a client that records nothing, saying why in
/// `storage` and `last_error`.
pub(crate) fn failing(error: String) -> Snapshot {
    Snapshot {
        stats: Stats {
            queued_events: 0,
            queued_bytes: 0,
            oldest_queued_age_ms: None,
            memory_events: 0,
            in_flight_events: 0,
            delivered_events: 0,
            requests: 0,
            retries: 0,
            next_retry_in_ms: None,
            last_error: Some(error.clone()),
            last_rejection: None,
            auth_failed: false,
            storage: StorageState::Failing { error },
            dropped: DropCounts::default(),
            waited_for_room: Default::default(),
            plan: Default::default(),
            destinations: Vec::new(),
        },
        anonymous_id: String::new(),
        user_id: None,
    }
}

/// Marks the slot when the worker thread ends, however it ends.
pub(crate) struct EndOnDrop(pub(crate) std::sync::Arc<Published>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.0.worker_ended();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn snapshot(anonymous_id: &str) -> Snapshot {
        let mut s = stopped();
        s.anonymous_id = anonymous_id.to_string();
        s
    }

    #[test]
    fn a_getter_waits_for_the_first_snapshot() {
        let slot = Arc::new(Published::loading());
        let setter = Arc::clone(&slot);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            setter.set(snapshot("a"));
        });
        assert_eq!(slot.get().anonymous_id, "a");
        t.join().unwrap();
        slot.set(snapshot("b"));
        assert_eq!(slot.get().anonymous_id, "b");
    }

    #[test]
    fn a_worker_that_dies_loading_releases_the_getters() {
        let slot = Arc::new(Published::loading());
        let guard = EndOnDrop(Arc::clone(&slot));
        let t = std::thread::spawn(move || {
            let _guard = guard;
            panic!("load failed");
        });
        assert!(t.join().is_err());
        let s = slot.get();
        assert!(matches!(s.stats.storage, StorageState::Failing { .. }));
        assert!(s.stats.last_error.unwrap().contains("build a new Client"));
    }

    #[test]
    fn a_snapshot_outlives_the_worker() {
        let slot = Published::loading();
        slot.set(snapshot("kept"));
        slot.worker_ended();
        assert_eq!(slot.get().anonymous_id, "kept");
    }
}
