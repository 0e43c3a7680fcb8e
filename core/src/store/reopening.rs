//! A [`SqliteStore`] that may not be open yet.
//!
//! When the buffer file cannot be opened at start (read-only, locked by
//! another program, on a full disk), the client still starts: this wrapper
//! reports every operation as a storage failure, so the engine holds events in
//! memory, and tries to open the file again each time the engine retries the
//! store. Deciding *when* to retry is the engine's; this only opens.

use std::path::{Path, PathBuf};

use super::{
    Loss, NewEvent, QueueSummary, Removed, Repair, SqliteStore, Store, StoreError, StoredEvent,
};

/// A SQLite store opened lazily, and re-opened after a failed open.
#[derive(Debug)]
pub struct ReopeningStore {
    path: PathBuf,
    inner: Result<SqliteStore, StoreError>,
    /// The destinations declared, declared again to a store opened later.
    destinations: Vec<String>,
    /// Their routings, given again to a store opened later.
    routes: Vec<(String, crate::routing::Routing)>,
    /// The queue's byte cap, for the WAL's bound ([`SqliteStore::limit_wal`]).
    wal_limit: Option<u64>,
}

impl ReopeningStore {
    /// Tries to open `path` now; a failure is kept and retried later.
    pub fn open(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        // The backlog is counted by the engine, in steps (Store::count_backlog).
        let inner = SqliteStore::open_counting_later(&path);
        ReopeningStore {
            path,
            inner,
            destinations: Vec::new(),
            routes: Vec::new(),
            wal_limit: None,
        }
    }

    /// [`SqliteStore::limit_wal`], now and for a store opened later.
    pub fn limit_wal(&mut self, max_queue_bytes: u64) {
        self.wal_limit = Some(max_queue_bytes);
        if let Ok(store) = self.inner.as_mut() {
            store.limit_wal(max_queue_bytes);
        }
    }

    /// The store, if open.
    pub fn store(&self) -> Option<&SqliteStore> {
        self.inner.as_ref().ok()
    }

    /// Why the store is not open, if it is not.
    pub fn open_error(&self) -> Option<&StoreError> {
        self.inner.as_ref().err()
    }

    fn get(&mut self) -> Result<&mut SqliteStore, StoreError> {
        self.inner.as_mut().map_err(|e| e.clone())
    }
}

impl Store for ReopeningStore {
    fn append(
        &mut self,
        events: &[NewEvent],
        state: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        self.get()?.append(events, state)
    }
    fn append_owned(
        &mut self,
        events: &mut Vec<NewEvent>,
        state: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        self.get()?.append_owned(events, state)
    }
    fn claim(
        &mut self,
        destination: &str,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.get()?.claim(destination, max_events, max_bytes)
    }
    fn claim_shared(
        &mut self,
        destination: &str,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<super::Claimed, StoreError> {
        self.get()?.claim_shared(destination, max_events, max_bytes)
    }
    fn release(&mut self, destination: &str) {
        if let Ok(s) = self.inner.as_mut() {
            s.release(destination);
        }
    }
    fn ack(&mut self, destination: &str, through_seq: u64) -> Result<(), StoreError> {
        self.get()?.ack(destination, through_seq)
    }
    fn drop_oldest(&mut self, keep_events: u64, keep_bytes: u64) -> Result<Removed, StoreError> {
        self.get()?.drop_oldest(keep_events, keep_bytes)
    }
    fn save_acks(&mut self) -> Result<(), StoreError> {
        self.get()?.save_acks()
    }
    fn drop_older_than(&mut self, cutoff_ms: i64) -> Result<Removed, StoreError> {
        self.get()?.drop_older_than(cutoff_ms)
    }
    fn clear(&mut self) -> Result<Removed, StoreError> {
        self.get()?.clear()
    }
    fn read(&mut self, after_seq: u64, max_events: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.get()?.read(after_seq, max_events)
    }
    fn recover(&mut self) -> Result<u64, StoreError> {
        if self.inner.is_err() {
            self.inner = SqliteStore::open(&self.path);
            if let Ok(store) = self.inner.as_mut() {
                if let Some(bytes) = self.wal_limit {
                    store.limit_wal(bytes);
                }
                let names: Vec<&str> = self.destinations.iter().map(String::as_str).collect();
                store.set_destinations(&names)?;
                for (name, routing) in &self.routes {
                    store.set_routing(name, routing);
                }
            }
        }
        self.get()?.recover()
    }
    fn take_repair(&mut self) -> Option<Repair> {
        self.inner.as_mut().ok()?.take_repair()
    }
    fn compact(&mut self) -> Result<(), StoreError> {
        self.get()?.compact()
    }
    fn summary(&mut self) -> Result<QueueSummary, StoreError> {
        self.get()?.summary()
    }
    fn count_backlog(&mut self, max_rows: usize) -> Result<bool, StoreError> {
        match self.inner.as_mut() {
            Ok(s) => s.count_backlog(max_rows),
            // Opened later by `recover`, which counts everything at once.
            Err(_) => Ok(true),
        }
    }
    fn get_state(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.get()?.get_state(key)
    }
    fn set_destinations(&mut self, names: &[&str]) -> Result<(), StoreError> {
        self.destinations = names.iter().map(|n| (*n).to_string()).collect();
        match self.inner.as_mut() {
            Ok(s) => s.set_destinations(names),
            // Declared when `recover` opens it.
            Err(_) => Ok(()),
        }
    }
    fn take_losses(&mut self) -> Vec<Loss> {
        self.inner
            .as_mut()
            .map(|s| s.take_losses())
            .unwrap_or_default()
    }
    fn set_routing(&mut self, destination: &str, routing: &crate::routing::Routing) {
        self.routes.push((destination.to_string(), routing.clone()));
        if let Ok(s) = self.inner.as_mut() {
            s.set_routing(destination, routing);
        }
    }
    fn pending(&mut self, destination: &str) -> Result<Removed, StoreError> {
        self.get()?.pending(destination)
    }
}
