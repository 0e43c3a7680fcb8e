//! The key-value layer under the browser store: what "a write failed" means
//! in a browser, and what happens then.
//!
//! A [`Backend`] is synchronous storage of strings (the browser's
//! `localStorage`, or [`MemoryBackend`] in tests and where a page has no
//! storage). [`Kv`] wraps one and decides the fallback: when the backend
//! refuses a write (`QuotaExceededError`, or storage disabled altogether), the
//! old durable value is removed, the write is tried once more in the room
//! that freed, and if it still does not fit the value is kept in an
//! in-memory overlay instead. Reads see the overlay first. Nothing is ever
//! reported upwards as an error: the page keeps working and events keep
//! being delivered while it lives; what is only in memory is counted
//! ([`KvStats`]) so `stats()` can say so.

use crate::prelude::*;

use alloc::collections::BTreeMap;
use core::ops::DerefMut;

use crate::shared::Shared;

use cairn::cat;

/// Why a backend refused a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// The origin's storage quota is used up (`QuotaExceededError`).
    Quota,
    /// Storage cannot be used at all (disabled by the user, a sandboxed
    /// frame, a browser that throws on access); the text says what happened.
    Unavailable(String),
}

/// Synchronous string storage, as `localStorage` offers it.
pub trait Backend: Send {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Option<String>;
    /// Stores `value` under `key`.
    fn set(&mut self, key: &str, value: &str) -> Result<(), KvError>;
    /// Removes `key` (absent keys are fine).
    fn remove(&mut self, key: &str);
    /// Every key stored (in no particular order).
    fn keys(&self) -> Vec<String>;
}

/// A [`Backend`] in memory, with an optional quota counted like browsers
/// count theirs (characters of keys and values).
#[derive(Debug, Default, Clone)]
pub struct MemoryBackend {
    map: BTreeMap<String, String>,
    /// When set, writes that would bring the total over this many
    /// characters fail with [`KvError::Quota`].
    pub quota_chars: Option<usize>,
    /// When true, every write fails with [`KvError::Unavailable`].
    pub unavailable: bool,
    /// Values read so far (what a page would fetch from its storage).
    pub reads: core::cell::Cell<u64>,
}

impl MemoryBackend {
    /// An empty backend without a quota.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty backend that refuses writes past `quota_chars` characters.
    pub fn with_quota(quota_chars: usize) -> Self {
        MemoryBackend {
            quota_chars: Some(quota_chars),
            ..Self::default()
        }
    }

    /// An empty backend that refuses every write (storage disabled).
    pub fn disabled() -> Self {
        MemoryBackend {
            unavailable: true,
            ..Self::default()
        }
    }

    /// Characters used by keys and values.
    pub fn used_chars(&self) -> usize {
        self.map
            .iter()
            .map(|(k, v)| k.chars().count() + v.chars().count())
            .sum()
    }
}

impl Backend for MemoryBackend {
    fn get(&self, key: &str) -> Option<String> {
        self.reads.set(self.reads.get() + 1);
        self.map.get(key).cloned()
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), KvError> {
        if self.unavailable {
            return Err(KvError::Unavailable("storage is disabled".into()));
        }
        if let Some(quota) = self.quota_chars {
            let old = self
                .map
                .get(key)
                .map_or(0, |v| key.chars().count() + v.chars().count());
            let new = key.chars().count() + value.chars().count();
            if self.used_chars() - old + new > quota {
                return Err(KvError::Quota);
            }
        }
        self.map.insert(key.to_string(), value.to_string());
        Ok(())
    }

    fn remove(&mut self, key: &str) {
        self.map.remove(key);
    }

    fn keys(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }
}

/// What the fallback has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvStats {
    /// Writes the backend refused for lack of room (`QuotaExceededError`).
    pub quota_errors: u64,
    /// Writes refused because storage is unavailable altogether.
    pub unavailable_errors: u64,
    /// Values held only in memory right now (lost if the page goes away
    /// before they are deleted or written again with room to spare).
    pub volatile_values: u64,
}

struct Inner<B> {
    backend: B,
    overlay: Vec<(String, String)>,
    stats: KvStats,
    last_error: Option<String>,
}

impl<B> Inner<B> {
    /// Drops `key` from the overlay (the overlay stays small: only what did
    /// not fit, and queued events leave it as they are delivered).
    fn forget_overlay(&mut self, key: &str) {
        self.overlay.retain(|(k, _)| k != key);
        self.stats.volatile_values = self.overlay.len() as u64;
    }

    /// Holds `value` in the overlay.
    fn keep(&mut self, key: &str, value: &str) {
        self.forget_overlay(key);
        self.overlay.push((key.to_string(), value.to_string()));
        self.stats.volatile_values = self.overlay.len() as u64;
    }
}

/// A shared handle on a backend with the in-memory fallback. Cloning it
/// shares the same storage (the store inside the engine and the runtime
/// beside it both hold one).
pub struct Kv<B> {
    inner: Shared<Inner<B>>,
}

impl<B> Clone for Kv<B> {
    fn clone(&self) -> Self {
        Kv {
            inner: self.inner.clone(),
        }
    }
}

impl<B: Backend> Kv<B> {
    /// Wraps `backend`.
    pub fn new(backend: B) -> Self {
        Kv {
            inner: Shared::new(Inner {
                backend,
                overlay: Vec::new(),
                stats: KvStats::default(),
                last_error: None,
            }),
        }
    }

    fn lock(&self) -> impl DerefMut<Target = Inner<B>> + '_ {
        self.inner.lock()
    }

    /// The value under `key`: the in-memory one if the backend refused it.
    pub fn get(&self, key: &str) -> Option<String> {
        let inner = self.lock();
        match inner.overlay.iter().find(|(k, _)| k == key) {
            Some((_, v)) => Some(v.clone()),
            None => inner.backend.get(key),
        }
    }

    /// Stores `value`; never fails (see the module doc). Returns true when
    /// the value is durable.
    pub fn set(&self, key: &str, value: &str) -> bool {
        let mut inner = self.lock();
        let first = inner.backend.set(key, value);
        let err = match first {
            Ok(()) => {
                inner.forget_overlay(key);
                return true;
            }
            Err(e) => e,
        };
        // The old value must not outlive the new one (an erased identity
        // would come back on the next load); removing it may also free the
        // room the new one needs.
        inner.backend.remove(key);
        let err = match (err, inner.backend.set(key, value)) {
            (_, Ok(())) => {
                inner.forget_overlay(key);
                return true;
            }
            (_, Err(second)) => second,
        };
        match &err {
            KvError::Quota => {
                inner.stats.quota_errors += 1;
                inner.last_error = Some(
                    "browser storage is full (QuotaExceededError): holding new data in memory"
                        .into(),
                );
            }
            KvError::Unavailable(why) => {
                inner.stats.unavailable_errors += 1;
                inner.last_error = Some(cat!(
                    "browser storage is unavailable (",
                    why,
                    "): holding data in memory"
                ));
            }
        }
        inner.keep(key, value);
        false
    }

    /// Stores `value` if the backend takes it, and says whether it did; a
    /// refusal is neither counted nor held in memory (the caller makes room
    /// and tries again, or calls [`set`](Self::set)).
    pub fn try_set(&self, key: &str, value: &str) -> bool {
        let mut inner = self.lock();
        let done = inner.backend.set(key, value).is_ok();
        if done {
            inner.forget_overlay(key);
        }
        done
    }

    /// Keeps `value` in memory only, as [`set`](Self::set) keeps a value the
    /// backend refuses for lack of room (counted as a quota error), without
    /// trying the backend: for a writer past its own share of the storage.
    /// An older durable value under `key` is removed.
    pub fn hold(&self, key: &str, value: &str) {
        let mut inner = self.lock();
        inner.backend.remove(key);
        inner.stats.quota_errors += 1;
        inner.last_error =
            Some("the queue is past its share of storage: new events wait in memory".into());
        inner.keep(key, value);
    }

    /// Removes `key` from the backend and from memory.
    pub fn remove(&self, key: &str) {
        let mut inner = self.lock();
        inner.forget_overlay(key);
        inner.backend.remove(key);
    }

    /// Every key starting with `prefix`, from the backend and from memory.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let inner = self.lock();
        let mut keys: Vec<String> = inner
            .backend
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .collect();
        for (k, _) in &inner.overlay {
            if k.starts_with(prefix) && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        keys
    }

    /// Counters of the fallback.
    pub fn stats(&self) -> KvStats {
        self.lock().stats
    }

    /// The last refusal, in words.
    pub fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    /// Runs `f` on the backend itself (tests use it to fill or inspect it).
    pub fn with_backend<T>(&self, f: impl FnOnce(&mut B) -> T) -> T {
        f(&mut self.lock().backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_past_the_quota_stay_readable_in_memory_and_are_counted() {
        let kv = Kv::new(MemoryBackend::with_quota(20));
        assert!(kv.set("a", "0123456789"));
        assert!(!kv.set("b", "0123456789abc"), "over the quota");
        assert_eq!(kv.get("b").as_deref(), Some("0123456789abc"));
        assert_eq!(
            kv.stats(),
            KvStats {
                quota_errors: 1,
                unavailable_errors: 0,
                volatile_values: 1
            }
        );
        assert!(kv.last_error().unwrap().contains("QuotaExceededError"));
        let mut keys = kv.keys_with_prefix("");
        keys.sort();
        assert_eq!(keys, ["a", "b"]);
        kv.remove("b");
        assert_eq!(kv.get("b"), None);
        assert_eq!(kv.stats().volatile_values, 0);
    }

    #[test]
    fn a_refused_overwrite_removes_the_stale_durable_value_first() {
        let kv = Kv::new(MemoryBackend::with_quota(12));
        assert!(kv.set("id", "old-value"));
        // 2 + 9 chars used; the new value fits once the old one is gone.
        assert!(kv.set("id", "new-value"));
        assert_eq!(kv.get("id").as_deref(), Some("new-value"));
        // Too big even alone: the durable copy is gone, the new one is in memory.
        assert!(!kv.set("id", "a-much-longer-value"));
        assert_eq!(
            kv.with_backend(|b| b.get("id")),
            None,
            "no stale durable copy left"
        );
        assert_eq!(kv.get("id").as_deref(), Some("a-much-longer-value"));
    }

    #[test]
    fn unavailable_storage_is_memory_only() {
        let kv = Kv::new(MemoryBackend::disabled());
        assert!(!kv.set("k", "v"));
        assert_eq!(kv.get("k").as_deref(), Some("v"));
        assert_eq!(kv.stats().unavailable_errors, 1);
    }
}
