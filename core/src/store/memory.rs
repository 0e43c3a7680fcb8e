//! An in-memory [`Store`]: the same contract as the SQLite store, nothing kept
//! across a restart. Used by engine tests and wherever durability is not
//! wanted; `fail_writes` lets tests play a failing disk.

use crate::prelude::*;

use std::collections::{BTreeMap, HashMap};

use super::{cut_to_bytes, Loss, NewEvent, QueueSummary, Removed, Store, StoreError, StoredEvent};

/// A [`Store`] held in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    events: BTreeMap<u64, (String, i64, String)>,
    state: HashMap<String, String>,
    acked: HashMap<String, u64>,
    claimed: HashMap<String, u64>,
    last_seq: u64,
    losses: Vec<Loss>,
    routes: HashMap<String, crate::routing::Routing>,
    /// While true, every write fails with [`StoreError::Write`] (a full disk).
    pub fail_writes: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn check_write(&self) -> Result<(), StoreError> {
        if self.fail_writes {
            return Err(StoreError::Write(
                "database or disk is full (simulated)".into(),
            ));
        }
        Ok(())
    }

    fn floor(&self, destination: &str) -> u64 {
        let acked = self.acked.get(destination).copied().unwrap_or(0);
        self.claimed
            .get(destination)
            .copied()
            .unwrap_or(0)
            .max(acked)
    }

    fn max_claimed(&self) -> u64 {
        self.claimed.values().copied().max().unwrap_or(0)
    }

    fn remove_where(
        &mut self,
        mut pred: impl FnMut(u64, &(String, i64, String)) -> bool,
        limit: u64,
    ) -> Removed {
        let mut removed = Removed::default();
        let several = self.acked.len() > 1;
        let mut losses: Vec<Loss> = if several {
            let mut names: Vec<&String> = self.acked.keys().collect();
            names.sort();
            names
                .into_iter()
                .map(|n| Loss {
                    destination: n.clone(),
                    removed: Removed::default(),
                    routed_events: 0,
                })
                .collect()
        } else {
            Vec::new()
        };
        let seqs: Vec<u64> = self
            .events
            .iter()
            .filter(|(s, v)| pred(**s, v))
            .map(|(s, _)| *s)
            .take(limit as usize)
            .collect();
        for s in seqs {
            if let Some((_, _, json)) = self.events.remove(&s) {
                removed.events += 1;
                removed.bytes += json.len() as u64;
                for loss in &mut losses {
                    if self.acked.get(&loss.destination).is_some_and(|c| s > *c) {
                        loss.removed.events += 1;
                        loss.removed.bytes += json.len() as u64;
                        if self
                            .routes
                            .get(&loss.destination)
                            .is_none_or(|r| r.takes(&json))
                        {
                            loss.routed_events += 1;
                        }
                    }
                }
            }
        }
        self.losses = losses;
        removed
    }
}

impl Store for MemoryStore {
    fn append(
        &mut self,
        events: &[NewEvent],
        state: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        self.check_write()?;
        for e in events {
            self.last_seq += 1;
            self.events.insert(
                self.last_seq,
                (e.message_id.clone(), e.created_ms, e.json.clone()),
            );
        }
        for (k, v) in state {
            match v {
                Some(v) => self.state.insert(k.clone(), v.clone()),
                None => self.state.remove(k),
            };
        }
        Ok(self.last_seq)
    }

    fn claim(
        &mut self,
        destination: &str,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let floor = self.floor(destination);
        let mut out = self.read(floor, max_events)?;
        cut_to_bytes(&mut out, max_bytes);
        if let Some(last) = out.last() {
            self.claimed.insert(destination.to_string(), last.seq);
        }
        Ok(out)
    }

    fn release(&mut self, destination: &str) {
        self.claimed.remove(destination);
    }

    fn ack(&mut self, destination: &str, through_seq: u64) -> Result<(), StoreError> {
        self.check_write()?;
        let acked = self.acked.entry(destination.to_string()).or_insert(0);
        *acked = (*acked).max(through_seq);
        if self
            .claimed
            .get(destination)
            .is_some_and(|c| *c <= through_seq)
        {
            self.claimed.remove(destination);
        }
        let done = self.acked.values().copied().min().unwrap_or(0);
        self.events.retain(|seq, _| *seq > done);
        Ok(())
    }

    fn set_destinations(&mut self, names: &[&str]) -> Result<(), StoreError> {
        self.check_write()?;
        let start = self.acked.values().copied().min().unwrap_or(0);
        self.acked.retain(|k, _| names.contains(&k.as_str()));
        self.claimed.retain(|k, _| names.contains(&k.as_str()));
        if names.len() > 1 || !self.acked.is_empty() {
            for name in names {
                self.acked.entry((*name).to_string()).or_insert(start);
            }
        }
        let done = self.acked.values().copied().min().unwrap_or(0);
        self.events.retain(|seq, _| *seq > done);
        Ok(())
    }

    fn take_losses(&mut self) -> Vec<Loss> {
        core::mem::take(&mut self.losses)
    }

    fn set_routing(&mut self, destination: &str, routing: &crate::routing::Routing) {
        self.routes.insert(destination.to_string(), routing.clone());
    }

    fn pending(&mut self, destination: &str) -> Result<Removed, StoreError> {
        let cursor = self.acked.get(destination).copied().unwrap_or(0);
        let mut r = Removed::default();
        for (_, (_, _, json)) in self.events.range(cursor + 1..) {
            r.events += 1;
            r.bytes += json.len() as u64;
        }
        Ok(r)
    }

    fn drop_oldest(&mut self, keep_events: u64, keep_bytes: u64) -> Result<Removed, StoreError> {
        self.check_write()?;
        let floor = self.max_claimed();
        let mut count = self.events.len() as u64;
        let mut bytes: u64 = self.events.values().map(|v| v.2.len() as u64).sum();
        let removed = self.remove_where(
            |seq, v| {
                if seq <= floor || (count <= keep_events && bytes <= keep_bytes) {
                    return false;
                }
                count -= 1;
                bytes -= v.2.len() as u64;
                true
            },
            u64::MAX,
        );
        Ok(removed)
    }

    fn drop_older_than(&mut self, cutoff_ms: i64) -> Result<Removed, StoreError> {
        self.check_write()?;
        let floor = self.max_claimed();
        Ok(self.remove_where(|seq, v| seq > floor && v.1 < cutoff_ms, u64::MAX))
    }

    fn clear(&mut self) -> Result<Removed, StoreError> {
        self.check_write()?;
        self.claimed.clear();
        Ok(self.remove_where(|_, _| true, u64::MAX))
    }

    fn read(&mut self, after_seq: u64, max_events: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .events
            .range(after_seq + 1..)
            .take(max_events)
            .map(|(seq, (id, created, json))| StoredEvent {
                seq: *seq,
                message_id: id.clone(),
                created_ms: *created,
                json: json.clone(),
            })
            .collect())
    }

    fn summary(&mut self) -> Result<QueueSummary, StoreError> {
        Ok(QueueSummary {
            events: self.events.len() as u64,
            bytes: self.events.values().map(|v| v.2.len() as u64).sum(),
            oldest_created_ms: self.events.values().map(|v| v.1).min(),
            last_seq: self.last_seq,
        })
    }

    fn get_state(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state.get(key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::super::contract;
    use super::*;

    #[test]
    fn append_claim_ack() {
        contract::append_claim_ack(&mut MemoryStore::new());
    }
    #[test]
    fn byte_cap_keeps_first() {
        contract::byte_cap_keeps_first(&mut MemoryStore::new());
    }
    #[test]
    fn drops_skip_claimed() {
        contract::drops_skip_claimed(&mut MemoryStore::new());
    }
    #[test]
    fn two_destinations() {
        contract::two_destinations(&mut MemoryStore::new());
    }
    #[test]
    fn two_destinations_workload() {
        contract::two_destinations_workload(&mut MemoryStore::new());
    }
    #[test]
    fn state_roundtrip() {
        contract::state_roundtrip(&mut MemoryStore::new());
    }
}
