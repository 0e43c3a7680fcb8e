//! Identity stitching for backend services: which anonymous ids, user ids and
//! device ids belong to the same person.
//!
//! Fed the edges that identify and alias events carry (an anonymous id and a
//! user id seen together; a previous id and a new one), the resolver keeps
//! the connected components incrementally (union-find with union by size and
//! path halving, so each edge costs near-constant time) and gives each
//! component a canonical id with a fixed priority: a user id beats a device id,
//! which beats an anonymous id; among equals the one seen first wins. A
//! component's canonical id therefore only changes when it merges with a
//! component whose canonical id outranks it, and every such merge is logged,
//! so a warehouse can rewrite the absorbed id. This is the deterministic
//! stitching that customer-data pipelines run in batch, as a library; it does
//! no I/O and keeps everything in memory.

use crate::prelude::*;

use std::collections::HashMap;

use serde_json::Value;

/// The kind of an id. The order is the canonical priority (highest last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKind {
    /// `anonymousId`: a browser or app install before login.
    Anonymous,
    /// A device identifier (`context.device.id`).
    Device,
    /// `userId`: the app's own account id.
    User,
}

/// The id that stands for a whole component.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalId {
    /// What kind of id it is.
    pub kind: IdKind,
    /// The id itself.
    pub id: String,
}

/// One merge of two components, in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// The canonical id that stops being canonical.
    pub absorbed: CanonicalId,
    /// The canonical id of the merged component.
    pub into: CanonicalId,
}

/// Incremental connected components over ids.
#[derive(Debug, Default)]
pub struct Resolver {
    /// One map per kind, so a lookup borrows the id instead of allocating.
    index: [HashMap<String, u32>; 3],
    nodes: Vec<(IdKind, String)>,
    parent: Vec<u32>,
    size: Vec<u32>,
    /// For each root: the node whose id is the component's canonical id.
    canonical: Vec<u32>,
    merges: Vec<Merge>,
}

impl Resolver {
    /// An empty resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// The node for an id, created on first sight.
    fn node(&mut self, kind: IdKind, id: &str) -> u32 {
        if let Some(&n) = self.index[kind as usize].get(id) {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.index[kind as usize].insert(id.to_string(), n);
        self.nodes.push((kind, id.to_string()));
        self.parent.push(n);
        self.size.push(1);
        self.canonical.push(n);
        n
    }

    fn find(&mut self, mut n: u32) -> u32 {
        while self.parent[n as usize] != n {
            let grand = self.parent[self.parent[n as usize] as usize];
            self.parent[n as usize] = grand;
            n = grand;
        }
        n
    }

    /// Ranks two nodes for canonical-ness: higher kind first, then first seen.
    fn outranks(&self, a: u32, b: u32) -> bool {
        let (ka, kb) = (self.nodes[a as usize].0, self.nodes[b as usize].0);
        ka > kb || (ka == kb && a < b)
    }

    fn canonical_id(&self, node: u32) -> CanonicalId {
        let (kind, id) = &self.nodes[node as usize];
        CanonicalId {
            kind: *kind,
            id: id.clone(),
        }
    }

    /// Records that two ids belong to the same person. Returns the merge if
    /// two different components became one.
    pub fn link(&mut self, a: (IdKind, &str), b: (IdKind, &str)) -> Option<Merge> {
        if a.1.is_empty() || b.1.is_empty() {
            return None;
        }
        let (na, nb) = (self.node(a.0, a.1), self.node(b.0, b.1));
        let (ra, rb) = (self.find(na), self.find(nb));
        if ra == rb {
            return None;
        }
        let (ca, cb) = (self.canonical[ra as usize], self.canonical[rb as usize]);
        let (winner, loser) = if self.outranks(ca, cb) {
            (ca, cb)
        } else {
            (cb, ca)
        };
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        self.canonical[big as usize] = winner;
        let merge = Merge {
            absorbed: self.canonical_id(loser),
            into: self.canonical_id(winner),
        };
        self.merges.push(merge.clone());
        Some(merge)
    }

    /// Makes an id known without linking it (a visitor who never logs in).
    pub fn observe(&mut self, kind: IdKind, id: &str) {
        if !id.is_empty() {
            self.node(kind, id);
        }
    }

    /// Reads the edges a Segment-spec event carries: `anonymousId`–`userId`
    /// (identify, and any event that has both), `previousId`–`userId`
    /// (alias), and `context.device.id`–`anonymousId`. Returns the merges.
    pub fn observe_event(&mut self, event: &Value) -> Vec<Merge> {
        let s = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let anon = s(&event["anonymousId"]);
        let user = s(&event["userId"]);
        let previous = s(&event["previousId"]);
        let device = s(&event["context"]["device"]["id"]);
        let mut merges = Vec::new();
        if let Some(a) = &anon {
            self.observe(IdKind::Anonymous, a);
        }
        if let (Some(a), Some(u)) = (&anon, &user) {
            merges.extend(self.link((IdKind::Anonymous, a), (IdKind::User, u)));
        }
        if let (Some(p), Some(u)) = (&previous, &user) {
            // A previous id is a user id, or the anonymous id when there was none.
            let kind = if anon.as_deref() == Some(p.as_str()) {
                IdKind::Anonymous
            } else {
                IdKind::User
            };
            merges.extend(self.link((kind, p), (IdKind::User, u)));
        }
        if let (Some(d), Some(a)) = (&device, &anon) {
            merges.extend(self.link((IdKind::Device, d), (IdKind::Anonymous, a)));
        }
        merges
    }

    /// The canonical id of the component `id` belongs to, if `id` is known.
    pub fn canonical(&mut self, kind: IdKind, id: &str) -> Option<CanonicalId> {
        let n = *self.index[kind as usize].get(id)?;
        let root = self.find(n);
        Some(self.canonical_id(self.canonical[root as usize]))
    }

    /// Whether two known ids are in one component.
    pub fn same_person(&mut self, a: (IdKind, &str), b: (IdKind, &str)) -> bool {
        match (
            self.index[a.0 as usize].get(a.1).copied(),
            self.index[b.0 as usize].get(b.1).copied(),
        ) {
            (Some(x), Some(y)) => self.find(x) == self.find(y),
            _ => false,
        }
    }

    /// Every merge so far, oldest first.
    pub fn merges(&self) -> &[Merge] {
        &self.merges
    }

    /// How many ids are known.
    pub fn ids(&self) -> usize {
        self.nodes.len()
    }

    /// How many components (people) there are.
    pub fn components(&self) -> usize {
        self.nodes.len() - self.merges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_components_and_stable_canonical_ids() {
        let mut r = Resolver::new();
        // Person 1: two browsers, logs in as u1 on both.
        r.observe_event(&json!({"type": "identify", "anonymousId": "a1", "userId": "u1"}));
        r.observe_event(&json!({"type": "identify", "anonymousId": "a2", "userId": "u1"}));
        // Person 2: anonymous only, with a device id.
        r.observe_event(
            &json!({"type": "track", "anonymousId": "a3", "context": {"device": {"id": "d3"}}}),
        );
        // Person 3: never linked.
        r.observe_event(&json!({"type": "track", "anonymousId": "a4"}));
        assert_eq!(r.ids(), 6);
        assert_eq!(r.components(), 3);
        let u1 = CanonicalId {
            kind: IdKind::User,
            id: "u1".into(),
        };
        assert_eq!(r.canonical(IdKind::Anonymous, "a1"), Some(u1.clone()));
        assert_eq!(r.canonical(IdKind::Anonymous, "a2"), Some(u1.clone()));
        assert_eq!(
            r.canonical(IdKind::Anonymous, "a3").unwrap().id,
            "d3",
            "a device id beats an anonymous id"
        );
        assert_eq!(r.canonical(IdKind::Anonymous, "a4").unwrap().id, "a4");
        assert!(!r.same_person((IdKind::Anonymous, "a1"), (IdKind::Anonymous, "a3")));

        // alias u1 -> u9: the older user id stays canonical.
        let merges = r.observe_event(
            &json!({"type": "alias", "previousId": "u1", "userId": "u9", "anonymousId": "a2"}),
        );
        assert_eq!(
            merges,
            vec![Merge {
                absorbed: CanonicalId {
                    kind: IdKind::User,
                    id: "u9".into()
                },
                into: u1.clone()
            }]
        );
        assert_eq!(r.canonical(IdKind::User, "u9"), Some(u1.clone()));
        // Person 2 logs in as u1 too: the components merge, u1 absorbs d3.
        r.observe_event(&json!({"type": "identify", "anonymousId": "a3", "userId": "u1"}));
        assert_eq!(r.canonical(IdKind::Device, "d3"), Some(u1));
        assert_eq!(r.merges().last().unwrap().absorbed.id, "d3");
        assert_eq!(r.components(), 2);
    }

    #[test]
    fn matches_a_generated_graph() {
        // 200 people, each with 1 user id and 5 anonymous ids linked in a
        // shuffled order; every id must end in its person's component.
        let mut edges = Vec::new();
        for p in 0..200u64 {
            for a in 0..5u64 {
                edges.push((format!("anon-{p}-{a}"), format!("user-{p}")));
            }
        }
        let mut x = 0x9E37_79B9u64;
        for i in (1..edges.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            edges.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut r = Resolver::new();
        for (a, u) in &edges {
            r.link((IdKind::Anonymous, a), (IdKind::User, u));
        }
        assert_eq!(r.components(), 200);
        assert_eq!(r.merges().len(), 1_000);
        for p in 0..200u64 {
            for a in 0..5u64 {
                let c = r
                    .canonical(IdKind::Anonymous, &format!("anon-{p}-{a}"))
                    .unwrap();
                assert_eq!(
                    c,
                    CanonicalId {
                        kind: IdKind::User,
                        id: format!("user-{p}")
                    }
                );
            }
        }
    }
}
