//! The browser's [`Store`]: one tab's durable queue in `localStorage`, and
//! the state keys the tabs of a site share.
//!
//! Why `localStorage` and not IndexedDB: cairn's `Store` trait is
//! synchronous (the engine calls it inline and acts on the answer), and
//! `localStorage` is the browser's only synchronous durable storage.
//! IndexedDB would need an in-memory copy written back asynchronously, so an
//! event could be "committed" without being on disk yet, the very gap the
//! store exists to close. The price is a quota of about 5 MiB characters
//! per site, shared with the page: events are stored compactly (below), one
//! tab's queue keeps to [`STORAGE_SHARE`], and a full storage falls back to
//! memory (see [`crate::kv`]).
//!
//! Layout, under a site-wide prefix `P` (`cairn` unless configured):
//! - `P:t:<tab>:e:<seq>`: one queued event, `"<created_ms> <id length>:<message_id><json>"`,
//!   or compact (below) `"<created_ms> <id length>:<message_id><n><head>"`.
//! - `P:t:<tab>:c:<n>`: text that queued events have in common (their ids
//!   and their context), kept once for all of them.
//! - `P:t:<tab>:s:<key>`: the tab's own state (drop counters, delivery condition);
//!   `s:done` is the last event every destination is done with, while
//!   delivered events' keys wait to be removed (below).
//! - `P:t:<tab>:alive`: when the tab last showed it is alive (see [`crate::runtime`] and `js/index.js`).
//! - `P:s:<key>`: state every tab shares: identity, consent, session.
//!
//! Each tab writes only under its own `P:t:<tab>:` prefix, which it holds
//! exclusively (a Web Lock held by `js/index.js`), so two tabs never append to
//! or claim from the same queue. That is what keeps one event from being sent
//! by two tabs. An in-memory index of the tab's events (sequence, size,
//! time) keeps counts and caps cheap; the values are read back only to send.
//!
//! Delivered events leave the queue at once (counts, caps and reads no
//! longer see them), but their keys stay until no upload is out: the page
//! then calls [`Store::tidy`], [`TIDY_KEYS`] at a time. Removing an
//! answered batch's 100 keys before the next request cost each upload
//! about 1.8 ms of the page's and the browser's time (a drain after a
//! 10,000-event task: 1.24-1.43x the page's own fetch of the same
//! requests, 1.10-1.22x without); a write per answer, `s:done`, does
//! instead, and whoever opens the queue skips the keys at or below it (a
//! page that dies before tidying sends none of them again). They give
//! their room first when the queue's share or the quota is reached, and
//! go at once when `s:done` cannot be written or the queue is purged
//! ([`Store::compact`]).
//!
//! Compact events: an event as the recorder writes it is
//! `<head>` (type, name, properties or traits), `<ids>` (`,"userId":…`,
//! `,"anonymousId":…`), `,"messageId":"<id>","timestamp":"<t>","originalTimestamp":"<t>"`
//! and `<context>` (`,"context":{…}}`). Only the head is stored per event: the
//! message id and the time are in the value already (the timestamps are
//! written again from `created_ms`), and `<ids>` and `<context>`, the same
//! for every event of a visitor and page, are kept once under `c:<n>` (as
//! `"<ids>\n<context>"`; JSON text holds no raw newline). A typical track
//! call keeps a third to a half of its JSON size in storage this way, which
//! is what lets a page record 10,000 events in one task without yielding.
//! An event that does not have that shape (a message id that needs escaping,
//! a time that does not match) is stored whole, as are all events when the
//! common text could not be stored durably. The text is rebuilt exactly:
//! the head and the common parts are slices of the event's own JSON.

use crate::prelude::*;

use cairn::cat;
use cairn::store::{
    compact, cut_to_bytes, NewEvent, QueueSummary, Removed, Store, StoreError, StoredEvent,
};

use crate::kv::{Backend, Kv};

/// The state keys every tab of a site shares; other state keys are per tab.
pub const SHARED_STATE_KEYS: [&str; 3] = [
    cairn::identity::STATE_KEY,
    cairn::consent::STATE_KEY,
    cairn::session::STATE_KEY,
];

/// Names the keys of one site prefix and one tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
    tab: String,
}

impl Keys {
    /// Keys under the site prefix `prefix` for tab `tab`.
    pub fn new(prefix: &str, tab: &str) -> Self {
        Keys {
            prefix: prefix.to_string(),
            tab: tab.to_string(),
        }
    }

    /// The tab these keys belong to.
    pub fn tab(&self) -> &str {
        &self.tab
    }

    /// The site prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Everything of this tab starts with this.
    pub fn tab_prefix(&self) -> String {
        cat!(self.prefix, ":t:", self.tab, ":")
    }

    fn event(&self, seq: u64) -> String {
        cat!(self.tab_prefix(), "e:", seq)
    }

    fn common(&self, n: u64) -> String {
        cat!(self.tab_prefix(), "c:", n)
    }

    /// Where the tab's liveness mark is kept.
    pub fn alive(&self) -> String {
        cat!(self.tab_prefix(), "alive")
    }

    /// Where state `key` lives: shared by every tab, or this tab's own.
    pub fn state(&self, key: &str) -> String {
        if SHARED_STATE_KEYS.contains(&key) {
            shared_state_key(&self.prefix, key)
        } else {
            cat!(self.tab_prefix(), "s:", key)
        }
    }

    /// Every tab id that has keys under `prefix`.
    pub fn tabs_in<B: Backend>(kv: &Kv<B>, prefix: &str) -> Vec<String> {
        let start = cat!(prefix, ":t:");
        let mut tabs: Vec<String> = Vec::new();
        for key in kv.keys_with_prefix(&start) {
            if let Some(tab) = key
                .strip_prefix(start.as_str())
                .and_then(|rest| rest.split(':').next())
            {
                if !tabs.iter().any(|t| t == tab) {
                    tabs.push(tab.to_string());
                }
            }
        }
        tabs
    }
}

/// The key of shared state `key` under `prefix`.
pub fn shared_state_key(prefix: &str, key: &str) -> String {
    cat!(prefix, ":s:", key)
}

/// A stored event's value, whole: `"<created_ms> <id length>:<message_id><json>"`.
/// The JSON is kept as is (not escaped into another JSON string), and the
/// length prefix lets a message id hold any character.
/// With `n` other than 0, the value of a compact event whose common text is
/// `c:<n>` and whose `body` is its head (see the module doc).
fn encode_value(e: &NewEvent, n: u64, body: &str) -> String {
    let mut value = cat!(e.created_ms, " ", e.message_id.len(), ":", e.message_id);
    if n > 0 {
        cairn::text::push_u64(&mut value, n);
    }
    value.push_str(body);
    value
}

/// Reads a value: `(created_ms, message_id, n, rest)`, where `rest` is the
/// whole JSON when `n` is 0, else the head of a compact event whose common
/// text is `c:<n>` (JSON starts with `{`, so the number cannot be mistaken).
fn decode_value(value: &str) -> Option<(i64, &str, u64, &str)> {
    let (created, rest) = value.split_once(' ')?;
    let (len, rest) = rest.split_once(':')?;
    let len = usize::try_from(cairn::text::parse_u64(len)?).ok()?;
    // `get` is None past the end or inside a character.
    let (id, rest) = (rest.get(..len)?, rest.get(len..)?);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let n = match digits {
        0 => 0,
        _ => cairn::text::parse_u64(rest.get(..digits)?)?,
    };
    Some((cairn::text::parse_i64(created)?, id, n, rest.get(digits..)?))
}

/// Splits an event's JSON for compact storage: `(head, common text)`, or
/// `None` when it has not the shape (see the module doc).
fn split_event(e: &NewEvent) -> Option<(&str, String)> {
    let (before, context) =
        compact::split(&e.json, &e.message_id, e.created_ms, &mut String::new())?;
    // The payload's closing brace: ids hold strings only, in which a quote
    // is escaped, so no `},"` follows it.
    let ids_at = before
        .as_bytes()
        .windows(3)
        .rposition(|w| w == b"},\"")
        .map_or(before.len(), |p| p + 1);
    let (head, ids) = (before.get(..ids_at)?, before.get(ids_at..)?);
    if !head.starts_with('{') || ids.contains('\n') {
        return None;
    }
    Some((head, cat!(ids, "\n", context)))
}

/// At most this many common texts are kept until the queue is next empty;
/// past it, events are stored whole (a page whose context changes with
/// every call gains nothing from them).
const MAX_COMMONS: u64 = 32;

/// Most characters (keys and values, counted as UTF-8 bytes) one tab's
/// queued events may take in storage: 3,000,000, under 60% of the 5 MiB
/// characters browsers give a site (Chromium, Firefox), so the page keeps
/// room of its own. About 14,000 typical events stored compactly; past it,
/// new events are held in memory ([`Kv::hold`]) until delivery makes room.
pub const STORAGE_SHARE: u64 = 3_000_000;

/// A sequence number per destination (a page has one or two: a list, not
/// a hash map, keeps hashing code out of the module).
#[derive(Debug, Default)]
struct Cursors(Vec<(String, u64)>);

impl Cursors {
    fn get(&self, destination: &str) -> Option<u64> {
        self.0
            .iter()
            .find(|(d, _)| d == destination)
            .map(|(_, s)| *s)
    }

    fn insert(&mut self, destination: &str, seq: u64) {
        self.remove(destination);
        self.0.push((destination.to_string(), seq));
    }

    fn remove(&mut self, destination: &str) {
        self.0.retain(|(d, _)| d != destination);
    }

    fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().map(|(_, s)| *s)
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    created_ms: i64,
    /// Bytes of its JSON (what the engine's caps count).
    bytes: u64,
    /// What it takes in storage (key and value).
    stored: u64,
}

/// One tab's queue and state in browser storage.
pub struct BrowserStore<B> {
    kv: Kv<B>,
    keys: Keys,
    /// `(seq, entry)` in increasing `seq` order.
    index: Vec<(u64, Entry)>,
    bytes: u64,
    /// The sum of the entries' `stored`, held in memory or not.
    stored: u64,
    last_seq: u64,
    acked: Cursors,
    claimed: Cursors,
    /// Common texts `c:<n>` may exist for `first_common <= n <= last_common`;
    /// they are removed together once the queue is empty.
    first_common: u64,
    last_common: u64,
    /// The text of `c:<last_common>`, while new events may use it.
    common: Option<String>,
    /// Whether the cursors are kept in storage (`s:cursors`): with several
    /// destinations, where an event one of them delivered stays for the
    /// others, and a reload must not send it to that one again.
    #[cfg(feature = "destinations")]
    durable_cursors: bool,
    /// Each destination's routing, for counting its losses.
    #[cfg(feature = "destinations")]
    routes: Vec<(String, cairn::routing::Routing)>,
    /// What the last drop removed of each destination's events.
    #[cfg(feature = "destinations")]
    losses: Vec<cairn::store::Loss>,
    /// The next removal is a drop (caps, age), whose losses are counted.
    #[cfg(feature = "destinations")]
    dropping: bool,
    /// Delivered events whose keys are still in storage, `(seq, stored)`:
    /// removing each answered batch's keys before the next request cost a
    /// drain a sixth of its time, so they go once no upload is out
    /// ([`Store::tidy`]), or at once when their room is needed. `s:done`
    /// says how far they go, so a page that dies first never sends them.
    delivered: Vec<(u64, u64)>,
    /// Queued events found gone or unreadable since the engine last asked
    /// ([`Store::take_repair`]): counted dropped `corrupt`, never forgotten
    /// without a trace.
    lost: u64,
}

/// The tab's state key of its destinations' cursors, as lines
/// `<seq> <name>`.
#[cfg(feature = "destinations")]
const CURSORS_KEY: &str = "cursors";

/// The tab's state key of the last event every destination is done with,
/// while delivered events' keys wait to be removed.
const DONE_KEY: &str = "done";

/// Most delivered events' keys one [`Store::tidy`] call of the page
/// removes: 5 to 9 ms of its time (`removeItem` takes 10 to 17 µs in
/// Chromium).
pub const TIDY_KEYS: usize = 500;

impl<B: Backend> BrowserStore<B> {
    /// Opens the queue of `keys.tab()`, indexing the events already there
    /// (a value that cannot be read is removed).
    pub fn open(kv: Kv<B>, keys: Keys) -> Self {
        let mut store = BrowserStore {
            kv,
            keys,
            index: Vec::new(),
            bytes: 0,
            stored: 0,
            last_seq: 0,
            acked: Cursors::default(),
            claimed: Cursors::default(),
            first_common: u64::MAX,
            last_common: 0,
            common: None,
            #[cfg(feature = "destinations")]
            durable_cursors: false,
            #[cfg(feature = "destinations")]
            routes: Vec::new(),
            #[cfg(feature = "destinations")]
            losses: Vec::new(),
            #[cfg(feature = "destinations")]
            dropping: false,
            delivered: Vec::new(),
            lost: 0,
        };
        let done = (store.kv.get(&store.keys.state(DONE_KEY)))
            .and_then(|t| cairn::text::parse_u64(&t))
            .unwrap_or(0);
        store.last_seq = done;
        #[cfg(feature = "destinations")]
        store.load_cursors();
        let prefix = store.keys.tab_prefix();
        for key in store.kv.keys_with_prefix(&prefix) {
            let Some(rest) = key.strip_prefix(prefix.as_str()) else {
                continue;
            };
            if let Some(n) = rest.strip_prefix("c:").and_then(cairn::text::parse_u64) {
                store.first_common = store.first_common.min(n);
                store.last_common = store.last_common.max(n);
                continue;
            }
            let Some(seq) = rest.strip_prefix("e:") else {
                continue;
            };
            let seq = cairn::text::parse_u64(seq);
            if let Some(n) = seq.filter(|n| *n <= done) {
                store.delivered.push((n, key.len() as u64));
                store.stored += key.len() as u64;
                continue;
            }
            match (seq, store.load(&key)) {
                (Some(seq), Some(e)) => {
                    let bytes = e.json.len() as u64;
                    let at = store.index.partition_point(|(s, _)| *s < seq);
                    // Whole, as the share is counted (a reopened queue
                    // may hold older, uncompacted values).
                    let stored = (key.len() + bytes as usize) as u64;
                    let entry = Entry {
                        created_ms: e.created_ms,
                        bytes,
                        stored,
                    };
                    store.index.insert(at, (seq, entry));
                    store.bytes += bytes;
                    store.stored += stored;
                    store.last_seq = store.last_seq.max(seq);
                }
                (seq, _) => {
                    // An event of this queue whose value cannot be read back.
                    store.lost += u64::from(seq.is_some());
                    store.kv.remove(&key);
                }
            }
        }
        store.first_common = store.first_common.min(store.last_common + 1);
        store.drop_commons_if_empty();
        store
    }

    /// The keys this store writes under.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The events after `after_seq`, as many as fit `max_events` and
    /// `max_bytes` by the index's sizes (at least one): only those are read
    /// from storage. Reading up to `max_events` and cutting afterwards read
    /// ten events for every one sent with the browser's batch limits
    /// (1,000 events, 60,000 bytes), and each read crosses into JavaScript.
    fn read_within(
        &mut self,
        after_seq: u64,
        max_events: usize,
        max_bytes: usize,
    ) -> Vec<StoredEvent> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        let from = self.index.partition_point(|(s, _)| *s <= after_seq);
        let mut total = 0u64;
        for &(seq, ref entry) in &self.index[from..] {
            if out.len() >= max_events
                || (!out.is_empty() && total + entry.bytes > max_bytes as u64)
            {
                break;
            }
            total += entry.bytes;
            match self.load(&self.keys.event(seq)) {
                Some(e) => out.push(StoredEvent {
                    seq,
                    message_id: e.message_id,
                    created_ms: e.created_ms,
                    json: e.json,
                }),
                // Gone from storage (cleared by the user or the browser) or
                // written over: forget it here too, so counts follow what is
                // really there, and report it lost.
                None => missing.push(seq),
            }
        }
        if !missing.is_empty() {
            self.lost += missing.len() as u64;
            self.remove_where(|seq, _| !missing.contains(&seq));
        }
        out
    }

    /// The event stored under `key`, whole again.
    fn load(&self, key: &str) -> Option<NewEvent> {
        let value = self.kv.get(key)?;
        let (created_ms, id, n, rest) = decode_value(&value)?;
        let mut json = rest.to_string();
        if n > 0 {
            // The common text in force is at hand (a drain reads it for
            // every event); an older one is read from storage.
            let stored;
            let text = match &self.common {
                Some(text) if n == self.last_common => text,
                _ => {
                    stored = self.kv.get(&self.keys.common(n))?;
                    &stored
                }
            };
            let (ids, context) = text.split_once('\n')?;
            json.push_str(ids);
            compact::join(&mut json, id, created_ms, context, &mut String::new());
        }
        Some(NewEvent {
            message_id: id.to_string(),
            created_ms,
            json,
        })
    }

    /// Once the queue is empty, its common texts go too.
    fn drop_commons_if_empty(&mut self) {
        if !self.index.is_empty() {
            return;
        }
        for n in self.first_common..=self.last_common {
            self.kv.remove(&self.keys.common(n));
        }
        self.first_common = self.last_common + 1;
        self.common = None;
    }

    /// The value to store for `e`: compact when it has the shape and its
    /// common text is (or can be made) durable, else whole.
    fn encode(&mut self, e: &NewEvent) -> String {
        let Some((head, text)) = split_event(e) else {
            return encode_value(e, 0, &e.json);
        };
        if self.common.as_ref() != Some(&text) {
            let n = self.last_common + 1;
            let key = self.keys.common(n);
            // Only a durable common text is used: an event whose common
            // text is in memory only would not outlive the page.
            if n - self.first_common >= MAX_COMMONS || !self.write(&key, &text) {
                self.kv.remove(&key);
                return encode_value(e, 0, &e.json);
            }
            self.last_common = n;
            self.common = Some(text);
        }
        encode_value(e, self.last_common, head)
    }

    /// Every event of the queue, in order, and removes the whole tab (events
    /// and state) from storage. Returns the events, the tab's drop counters
    /// as stored and how many of its events could not be read back. For
    /// adopting the queue of a tab that is gone.
    pub fn drain_tab(kv: &Kv<B>, keys: &Keys) -> (Vec<NewEvent>, Option<String>, u64) {
        let mut store = BrowserStore::open(kv.clone(), keys.clone());
        let mut events = Vec::with_capacity(store.index.len());
        for (seq, _) in &store.index {
            match store.load(&store.keys.event(*seq)) {
                Some(e) => events.push(e),
                None => store.lost += 1,
            }
        }
        let drops = store
            .get_state(cairn::stats::DROPS_STATE_KEY)
            .ok()
            .flatten();
        Self::erase_tab(kv, keys);
        (events, drops, store.lost)
    }

    /// Each destination's progress in tab `keys`' queue: how many of its
    /// first events the destination is done with, by its cursor, and its
    /// drop counts as stored. Read before [`drain_tab`](Self::drain_tab)
    /// takes the queue, so that its events are not sent twice to a
    /// destination that had them and its losses still show. Empty unless
    /// the tab kept cursors (it delivered to several destinations).
    #[cfg(feature = "destinations")]
    pub fn progress(kv: &Kv<B>, keys: &Keys) -> Vec<(String, usize, Option<String>)> {
        if kv.get(&keys.state(CURSORS_KEY)).is_none() {
            return Vec::new();
        }
        let store = BrowserStore::open(kv.clone(), keys.clone());
        let found = |cursor: u64| store.index.partition_point(|(s, _)| *s <= cursor);
        let drops = |name: &str| {
            let key = cairn::cat!(cairn::stats::DROPS_STATE_KEY, ":", name);
            kv.get(&keys.state(&key))
        };
        (store.acked.0.iter())
            .map(|(name, cursor)| (name.clone(), found(*cursor), drops(name)))
            .collect()
    }

    /// Removes every key of the tab in `keys`.
    pub fn erase_tab(kv: &Kv<B>, keys: &Keys) {
        for key in kv.keys_with_prefix(&keys.tab_prefix()) {
            kv.remove(&key);
        }
    }

    /// Reads the cursors kept by a page that delivered to several
    /// destinations. New events number on from the highest: one at or
    /// below a cursor would count as delivered there.
    #[cfg(feature = "destinations")]
    fn load_cursors(&mut self) {
        let Some(text) = self.kv.get(&self.keys.state(CURSORS_KEY)) else {
            return;
        };
        for line in text.lines() {
            if let Some((seq, name)) = line.split_once(' ') {
                if let Some(seq) = cairn::text::parse_u64(seq) {
                    self.acked.insert(name, seq);
                    self.last_seq = self.last_seq.max(seq);
                }
            }
        }
        self.durable_cursors = true;
    }

    /// Writes the cursors, while they are kept in storage.
    #[cfg(feature = "destinations")]
    fn save_cursors(&mut self) {
        let key = self.keys.state(CURSORS_KEY);
        if !self.durable_cursors {
            return self.kv.remove(&key);
        }
        let mut text = String::new();
        for (name, seq) in &self.acked.0 {
            text.push_str(&cairn::text::u64_text(*seq));
            text.push(' ');
            text.push_str(name);
            text.push('\n');
        }
        self.kv.set(&key, &text);
    }

    /// What removing `gone` takes from each destination, with several:
    /// the events past its cursor, and of those the ones its routing takes.
    #[cfg(feature = "destinations")]
    fn count_losses(&mut self, gone: &[(u64, Entry)]) {
        let mut losses = Vec::new();
        for (name, cursor) in &self.acked.0 {
            let route = self.routes.iter().find(|(d, _)| d == name).map(|(_, r)| r);
            let mut loss = cairn::store::Loss {
                destination: name.clone(),
                removed: Removed::default(),
                routed_events: 0,
            };
            for (seq, e) in gone.iter().filter(|(seq, _)| seq > cursor) {
                loss.removed.events += 1;
                loss.removed.bytes += e.bytes;
                let takes = match route {
                    Some(r) if !r.takes_all() => self
                        .load(&self.keys.event(*seq))
                        .is_some_and(|ev| r.takes(&ev.json)),
                    _ => true,
                };
                loss.routed_events += u64::from(takes);
            }
            losses.push(loss);
        }
        // With one destination a drop's `Removed` is its loss.
        if losses.len() > 1 {
            self.losses = losses;
        } else {
            self.losses.clear();
        }
    }

    /// Takes the events through `done`, delivered everywhere, out of the
    /// queue; their keys wait for [`Store::tidy`] once `s:done` is durable.
    fn retire(&mut self, done: u64) {
        let n = self.index.partition_point(|(s, _)| *s <= done);
        if n == 0 {
            return;
        }
        let rest = self.index.split_off(n);
        for (seq, e) in core::mem::replace(&mut self.index, rest) {
            self.bytes -= e.bytes;
            self.delivered.push((seq, e.stored));
        }
        #[cfg(feature = "destinations")]
        self.losses.clear();
        // Without room for `s:done` they all went to make it; then it has
        // nothing left to say.
        let key = self.keys.state(DONE_KEY);
        self.write(&key, &cairn::text::u64_text(done));
        if self.delivered.is_empty() {
            self.kv.remove(&key);
        }
        self.drop_commons_if_empty();
    }

    /// Writes `key`, making room from delivered events' keys, a hundred at
    /// a time, while the browser refuses it: a refusal that room cures is
    /// not a storage error, and no call frees more than it needs.
    fn write(&mut self, key: &str, value: &str) -> bool {
        while !self.delivered.is_empty() {
            if self.kv.try_set(key, value) {
                return true;
            }
            self.sweep(100);
        }
        self.kv.set(key, value)
    }

    /// [`Store::tidy`]: one copy of the code for its callers.
    #[inline(never)]
    fn sweep(&mut self, max_keys: usize) -> bool {
        let from = self.delivered.len().saturating_sub(max_keys);
        if from == self.delivered.len() {
            return false;
        }
        for (seq, stored) in self.delivered.split_off(from) {
            self.kv.remove(&self.keys.event(seq));
            self.stored -= stored;
        }
        if from == 0 {
            self.kv.remove(&self.keys.state(DONE_KEY));
        }
        from > 0
    }

    fn floor(&self, destination: &str) -> u64 {
        let acked = self.acked.get(destination).unwrap_or(0);
        self.claimed.get(destination).unwrap_or(0).max(acked)
    }

    fn max_claimed(&self) -> u64 {
        self.claimed.values().max().unwrap_or(0)
    }

    #[cfg(not(feature = "destinations"))]
    fn remove_where(&mut self, mut keep: impl FnMut(u64, &Entry) -> bool) -> Removed {
        let mut removed = Removed::default();
        let (kv, keys, stored) = (&self.kv, &self.keys, &mut self.stored);
        self.index.retain(|(seq, e)| {
            if keep(*seq, e) {
                return true;
            }
            kv.remove(&keys.event(*seq));
            removed.events += 1;
            removed.bytes += e.bytes;
            *stored -= e.stored;
            false
        });
        self.bytes -= removed.bytes;
        self.drop_commons_if_empty();
        removed
    }

    /// `remove_where` with several destinations: what each loses is
    /// counted first, from the values about to go.
    #[cfg(feature = "destinations")]
    fn remove_where(&mut self, mut keep: impl FnMut(u64, &Entry) -> bool) -> Removed {
        let mut gone = Vec::new();
        self.index.retain(|(seq, e)| {
            let kept = keep(*seq, e);
            if !kept {
                gone.push((*seq, *e));
            }
            kept
        });
        // Only a drop's losses are asked for: an ack removes what every
        // destination is done with, a purge counts on its own.
        if core::mem::take(&mut self.dropping) {
            self.count_losses(&gone);
        } else {
            self.losses.clear();
        }
        let mut removed = Removed::default();
        for (seq, e) in gone {
            self.kv.remove(&self.keys.event(seq));
            removed.events += 1;
            removed.bytes += e.bytes;
            self.stored -= e.stored;
        }
        self.bytes -= removed.bytes;
        self.drop_commons_if_empty();
        removed
    }
}

impl<B: Backend> Store for BrowserStore<B> {
    fn append(
        &mut self,
        events: &[NewEvent],
        state: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        // Writes never fail upwards: a refused one is held in memory by the
        // key-value layer and counted there.
        for e in events {
            self.last_seq += 1;
            let (key, value) = (self.keys.event(self.last_seq), self.encode(e));
            let stored = (key.len() + value.len()) as u64;
            // Delivered events' keys give their room first, as much as needed.
            while self.stored + stored > STORAGE_SHARE && !self.delivered.is_empty() {
                self.sweep(100);
            }
            // Past the share, in memory only: the page keeps its room.
            if self.stored + stored > STORAGE_SHARE {
                self.kv.hold(&key, &value);
            } else {
                self.write(&key, &value);
            }
            let bytes = e.json.len() as u64;
            self.index.push((
                self.last_seq,
                Entry {
                    created_ms: e.created_ms,
                    bytes,
                    stored,
                },
            ));
            self.bytes += bytes;
            self.stored += stored;
        }
        for (k, v) in state {
            let key = self.keys.state(k);
            match v {
                Some(v) => {
                    self.kv.set(&key, v);
                }
                None => self.kv.remove(&key),
            }
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
        let mut out = self.read_within(floor, max_events, max_bytes);
        // `read_within` goes by the sizes in the index; a value written over
        // behind cairn's back may read back bigger, and the limit is the
        // engine's promise.
        cut_to_bytes(&mut out, max_bytes);
        if let Some(last) = out.last() {
            self.claimed.insert(destination, last.seq);
        }
        Ok(out)
    }

    fn release(&mut self, destination: &str) {
        self.claimed.remove(destination);
    }

    fn take_repair(&mut self) -> Option<cairn::store::Repair> {
        let lost = core::mem::take(&mut self.lost);
        (lost > 0).then(|| cairn::store::Repair {
            lost,
            message: cat!(
                lost,
                " queued events were gone from localStorage or unreadable"
            ),
        })
    }

    fn ack(&mut self, destination: &str, through_seq: u64) -> Result<(), StoreError> {
        let acked = self.acked.get(destination).unwrap_or(0).max(through_seq);
        self.acked.insert(destination, acked);
        if self
            .claimed
            .get(destination)
            .is_some_and(|c| c <= through_seq)
        {
            self.claimed.remove(destination);
        }
        #[cfg(feature = "destinations")]
        if self.durable_cursors {
            self.save_cursors();
        }
        let done = self.acked.values().min().unwrap_or(0);
        self.retire(done);
        Ok(())
    }

    #[cfg(feature = "destinations")]
    fn set_destinations(&mut self, names: &[&str]) -> Result<(), StoreError> {
        // Where the slowest known destination is: a new one starts there.
        let start = self.acked.values().min().unwrap_or(0);
        self.acked.0.retain(|(d, _)| names.contains(&d.as_str()));
        self.claimed.0.retain(|(d, _)| names.contains(&d.as_str()));
        self.durable_cursors = names.len() > 1;
        if self.durable_cursors {
            for name in names {
                if self.acked.get(name).is_none() {
                    self.acked.insert(name, start);
                }
            }
        }
        self.save_cursors();
        let done = self.acked.values().min().unwrap_or(0);
        self.retire(done);
        Ok(())
    }

    #[cfg(feature = "destinations")]
    fn pending(&mut self, destination: &str) -> Result<Removed, StoreError> {
        let cursor = self.acked.get(destination).unwrap_or(0);
        let mut r = Removed::default();
        for (_, e) in self.index.iter().filter(|(seq, _)| *seq > cursor) {
            r.events += 1;
            r.bytes += e.bytes;
        }
        Ok(r)
    }

    #[cfg(feature = "destinations")]
    fn take_losses(&mut self) -> Vec<cairn::store::Loss> {
        core::mem::take(&mut self.losses)
    }

    #[cfg(feature = "destinations")]
    fn set_routing(&mut self, destination: &str, routing: &cairn::routing::Routing) {
        self.routes.retain(|(d, _)| d != destination);
        self.routes.push((destination.to_string(), routing.clone()));
    }

    fn drop_oldest(&mut self, keep_events: u64, keep_bytes: u64) -> Result<Removed, StoreError> {
        #[cfg(feature = "destinations")]
        {
            self.dropping = true;
        }
        let floor = self.max_claimed();
        let mut count = self.index.len() as u64;
        let mut bytes = self.bytes;
        Ok(self.remove_where(|seq, e| {
            if seq <= floor || (count <= keep_events && bytes <= keep_bytes) {
                return true;
            }
            count -= 1;
            bytes -= e.bytes;
            false
        }))
    }

    fn drop_older_than(&mut self, cutoff_ms: i64) -> Result<Removed, StoreError> {
        #[cfg(feature = "destinations")]
        {
            self.dropping = true;
        }
        let floor = self.max_claimed();
        Ok(self.remove_where(|seq, e| seq <= floor || e.created_ms >= cutoff_ms))
    }

    fn clear(&mut self) -> Result<Removed, StoreError> {
        self.claimed.clear();
        Ok(self.remove_where(|_, _| false))
    }

    fn read(&mut self, after_seq: u64, max_events: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.read_within(after_seq, max_events, usize::MAX))
    }

    fn compact(&mut self) -> Result<(), StoreError> {
        // localStorage keeps nothing of a removed key: only the delivered
        // events' keys are left to remove.
        self.sweep(usize::MAX);
        Ok(())
    }

    fn tidy(&mut self, max_keys: usize) -> bool {
        self.sweep(max_keys)
    }

    fn summary(&mut self) -> Result<QueueSummary, StoreError> {
        Ok(QueueSummary {
            events: self.index.len() as u64,
            bytes: self.bytes,
            oldest_created_ms: self.index.iter().map(|(_, e)| e.created_ms).min(),
            last_seq: self.last_seq,
        })
    }

    fn get_state(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.kv.get(&self.keys.state(key)))
    }
}

#[cfg(test)]
mod tests {
    //! The Store contract (core's own checks, which its MemoryStore and
    //! SqliteStore pass too), plus what is particular to the browser.
    use super::*;
    use crate::kv::MemoryBackend;
    use cairn::store::contract::{self, ev};
    use cairn::store::DEFAULT_DESTINATION as D;

    fn fresh() -> (Kv<MemoryBackend>, BrowserStore<MemoryBackend>) {
        let kv = Kv::new(MemoryBackend::new());
        let store = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab1"));
        (kv, store)
    }

    fn ids(events: &[StoredEvent]) -> Vec<&str> {
        events.iter().map(|e| e.message_id.as_str()).collect()
    }

    #[test]
    fn append_claim_ack() {
        contract::append_claim_ack(&mut fresh().1);
    }

    /// A claim cut by bytes reads from storage only the events it returns:
    /// with the browser's limits (1,000 events, 60,000 bytes) it read up to
    /// 1,000 and kept about 100, each read a call into JavaScript on the
    /// page's main thread.
    #[test]
    fn a_claim_cut_by_bytes_reads_only_what_it_returns() {
        let (kv, mut store) = fresh();
        let events: Vec<NewEvent> = (1..=200).map(ev).collect();
        store.append(&events, &[]).unwrap();
        let size = events[10].json.len();
        let reads = || kv.with_backend(|b| b.reads.get());
        let before = reads();
        let claimed = store.claim(D, 1_000, 5 * size).unwrap();
        assert_eq!(ids(&claimed), ["m1", "m2", "m3", "m4", "m5"]);
        assert_eq!(reads() - before, 5, "values read for a claim of 5");
        // At least one event, however small the byte cap.
        store.release(D);
        assert_eq!(ids(&store.claim(D, 1_000, 1).unwrap()), ["m1"]);
    }

    /// Events that are gone from storage or cannot be read back, found by a
    /// claim or when the queue is opened, are reported lost once.
    #[test]
    fn events_gone_or_unreadable_are_reported_lost() {
        let (kv, mut store) = fresh();
        store
            .append(&(1..=5).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        kv.remove(&store.keys().event(2));
        assert!(kv.set(&store.keys().event(4), "garbage"));
        assert!(store.take_repair().is_none(), "nothing found lost yet");
        assert_eq!(
            ids(&store.claim(D, 10, 10_000).unwrap()),
            ["m1", "m3", "m5"]
        );
        let repair = store.take_repair().unwrap();
        assert_eq!(repair.lost, 2);
        assert!(
            repair.message.starts_with("2 queued events"),
            "{}",
            repair.message
        );
        assert!(store.take_repair().is_none(), "reported once");
        assert_eq!(store.summary().unwrap().events, 3);

        store.append(&[ev(6), ev(7)], &[]).unwrap();
        assert!(kv.set(&store.keys().event(7), "7 x"));
        let mut reopened = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab1"));
        assert_eq!(reopened.take_repair().map(|r| r.lost), Some(1));
        assert_eq!(reopened.summary().unwrap().events, 4);
    }

    #[test]
    fn byte_cap_keeps_first() {
        contract::byte_cap_keeps_first(&mut fresh().1);
    }

    #[test]
    fn drops_skip_claimed() {
        contract::drops_skip_claimed(&mut fresh().1);
    }

    #[test]
    fn state_roundtrip() {
        contract::state_roundtrip(&mut fresh().1);
    }

    #[cfg(feature = "destinations")]
    #[test]
    fn two_destinations() {
        contract::two_destinations(&mut fresh().1);
    }

    #[cfg(feature = "destinations")]
    #[test]
    fn two_destinations_workload() {
        contract::two_destinations_workload(&mut fresh().1);
    }

    /// A page that delivers to two destinations is reloaded after one of
    /// them took some events: that one does not get them again, the other
    /// still gets every one, and new events are numbered past both cursors
    /// even once the queue was empty (a number at or below a cursor would
    /// count as delivered there).
    #[cfg(feature = "destinations")]
    #[test]
    fn each_destinations_progress_outlives_a_reload() {
        let (kv, mut store) = fresh();
        let both = [D, contract::SECOND];
        store.set_destinations(&both).unwrap();
        store
            .append(&(1..=4).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        let a = store.claim(D, 3, 10_000).unwrap();
        store.ack(D, a.last().unwrap().seq).unwrap();

        let mut store = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab1"));
        store.set_destinations(&both).unwrap();
        assert_eq!(ids(&store.claim(D, 10, 10_000).unwrap()), ["m4"]);
        let b = store.claim(contract::SECOND, 10, 10_000).unwrap();
        assert_eq!(ids(&b), ["m1", "m2", "m3", "m4"]);
        store.ack(D, 4).unwrap();
        store.ack(contract::SECOND, 4).unwrap();
        assert_eq!(store.summary().unwrap().events, 0);

        let mut store = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab1"));
        store.set_destinations(&both).unwrap();
        let seq = store.append(&[ev(5)], &[]).unwrap();
        assert!(seq > 4, "numbered past the cursors, got {seq}");
        assert_eq!(ids(&store.claim(D, 10, 10_000).unwrap()), ["m5"]);
        assert_eq!(
            ids(&store.claim(contract::SECOND, 10, 10_000).unwrap()),
            ["m5"]
        );

        // Back to one destination: its cursors are no longer kept.
        store.set_destinations(&[D]).unwrap();
        assert_eq!(kv.get("cairn:t:tab1:s:cursors"), None);
    }

    #[test]
    fn state_roundtrip_shared_and_per_tab() {
        let (kv, mut store) = fresh();
        store
            .append(
                &[],
                &[
                    ("identity".into(), Some("{}".into())),
                    ("dropped".into(), Some("2".into())),
                ],
            )
            .unwrap();
        assert_eq!(
            kv.get("cairn:s:identity").as_deref(),
            Some("{}"),
            "identity is shared by the site's tabs"
        );
        assert_eq!(
            kv.get("cairn:t:tab1:s:dropped").as_deref(),
            Some("2"),
            "drop counters are the tab's own"
        );
        let mut other = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab2"));
        assert_eq!(other.get_state("identity").unwrap().as_deref(), Some("{}"));
        assert_eq!(other.get_state("dropped").unwrap(), None);
        store.append(&[], &[("dropped".into(), None)]).unwrap();
        assert_eq!(store.get_state("dropped").unwrap(), None);
    }

    #[test]
    fn reopening_finds_the_queue_and_json_is_stored_verbatim() {
        let (kv, mut store) = fresh();
        let e = NewEvent {
            message_id: "m 1".into(),
            created_ms: 5,
            json: r#"{"a":"x y"}"#.into(),
        };
        store.append(&[e], &[]).unwrap();
        assert_eq!(
            kv.get("cairn:t:tab1:e:1").as_deref(),
            Some(r#"5 3:m 1{"a":"x y"}"#)
        );
        let mut again = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab1"));
        let s = again.summary().unwrap();
        assert_eq!((s.events, s.last_seq), (1, 1));
        let back = again.read(0, 10).unwrap();
        assert_eq!(
            (
                back[0].message_id.as_str(),
                back[0].json.as_str(),
                back[0].created_ms
            ),
            ("m 1", r#"{"a":"x y"}"#, 5)
        );
        for bad in ["", "5", "x 1:a{}", "5 9:a{}", "5 z:a{}"] {
            assert_eq!(decode_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn drain_takes_a_gone_tabs_queue_whole() {
        let (kv, mut store) = fresh();
        store
            .append(
                &(1..=3).map(ev).collect::<Vec<_>>(),
                &[("dropped".into(), Some("{\"invalid\":1}".into()))],
            )
            .unwrap();
        let mine = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab9"));
        assert_eq!(
            Keys::tabs_in(&kv, "cairn"),
            ["tab1"],
            "a tab with nothing stored leaves no key"
        );
        drop(mine);
        let (events, drops, unreadable) = BrowserStore::drain_tab(&kv, &Keys::new("cairn", "tab1"));
        assert_eq!(unreadable, 0);
        assert_eq!(
            events
                .iter()
                .map(|e| e.message_id.as_str())
                .collect::<Vec<_>>(),
            ["m1", "m2", "m3"]
        );
        assert_eq!(events[0], ev(1));
        assert_eq!(drops.as_deref(), Some("{\"invalid\":1}"));
        assert!(kv.keys_with_prefix("cairn:t:tab1:").is_empty());
    }

    #[test]
    fn a_full_storage_keeps_the_queue_working_in_memory() {
        let kv = Kv::new(MemoryBackend::with_quota(60));
        let mut store = BrowserStore::open(kv.clone(), Keys::new("cairn", "t"));
        store
            .append(&(1..=4).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        assert!(kv.stats().quota_errors > 0);
        let got = store.claim(D, 10, 10_000).unwrap();
        assert_eq!(
            ids(&got),
            ["m1", "m2", "m3", "m4"],
            "every event is still there to send"
        );
        store.ack(D, 4).unwrap();
        assert_eq!(kv.stats().volatile_values, 0);
        assert!(kv.keys_with_prefix("cairn:").is_empty());
    }

    /// An event shaped as the recorder writes it, with context `ctx`.
    fn shaped(i: u32, ctx: &str) -> NewEvent {
        let id = format!("m-{i}");
        let created_ms = 1_800_000_000_000 + i64::from(i);
        let t = cairn::time::iso8601_ms(created_ms);
        let json = format!(
            r#"{{"type":"track","event":"E{i}","properties":{{"i":{i},"n":{{"userId":"x"}},"s":"}},\"q"}},"userId":"u","anonymousId":"a-1","messageId":"{id}","timestamp":"{t}","originalTimestamp":"{t}","context":{ctx}}}"#
        );
        NewEvent {
            message_id: id,
            created_ms,
            json,
        }
    }

    fn stored(kv: &Kv<MemoryBackend>, infix: &str) -> Vec<String> {
        let mut keys = kv.keys_with_prefix(&format!("cairn:t:tab1:{infix}"));
        keys.sort();
        keys.iter().filter_map(|k| kv.get(k)).collect()
    }

    #[test]
    fn compact_events_come_back_exactly_and_keep_their_common_text_once() {
        let (kv, mut store) = fresh();
        let ctx =
            r#"{"library":{"name":"cairn","version":"0"},"page":{"url":"https://example.com/"}}"#;
        let events: Vec<NewEvent> = (1..=3).map(|i| shaped(i, ctx)).collect();
        store.append(&events, &[]).unwrap();
        let commons = stored(&kv, "c:");
        assert_eq!(
            commons,
            [format!(
                ",\"userId\":\"u\",\"anonymousId\":\"a-1\"\n,\"context\":{ctx}}}"
            )],
            "ids and context are kept once"
        );
        for (value, e) in stored(&kv, "e:").iter().zip(&events) {
            assert!(
                !value.contains("library") && !value.contains("anonymousId"),
                "{value}"
            );
            assert!(
                !value.contains("timestamp"),
                "times are written again: {value}"
            );
            assert!(
                value.starts_with(&format!(
                    "{} {}:{}1{{",
                    e.created_ms,
                    e.message_id.len(),
                    e.message_id
                )),
                "{value}"
            );
            assert!(value.len() * 2 < e.json.len(), "{value}");
        }
        let read = |store: &mut BrowserStore<MemoryBackend>| -> Vec<NewEvent> {
            store
                .read(0, 10)
                .unwrap()
                .into_iter()
                .map(|e| NewEvent {
                    message_id: e.message_id,
                    created_ms: e.created_ms,
                    json: e.json,
                })
                .collect()
        };
        assert_eq!(
            read(&mut store),
            events,
            "the JSON is rebuilt byte for byte"
        );
        let mut again = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab1"));
        assert_eq!(read(&mut again), events, "and after a reload");
        assert_eq!(
            again.summary().unwrap().bytes,
            store.summary().unwrap().bytes,
            "caps count JSON bytes"
        );
        // A new context gets its own common text; the old ones go once the queue is empty.
        let later = shaped(4, r#"{"library":{"name":"cairn","version":"0"}}"#);
        again.append(std::slice::from_ref(&later), &[]).unwrap();
        assert_eq!(stored(&kv, "c:").len(), 2);
        let got = again.claim(D, 3, 100_000).unwrap();
        again.ack(D, got[2].seq).unwrap();
        assert_eq!(read(&mut again), [later]);
        again.clear().unwrap();
        again.tidy(usize::MAX);
        assert!(
            kv.keys_with_prefix("cairn:t:tab1:").is_empty(),
            "nothing is left behind"
        );
    }

    #[test]
    fn events_without_the_shape_are_stored_whole() {
        let (kv, mut store) = fresh();
        let mut quoted = shaped(1, "{}");
        quoted.message_id = "m\"1".into();
        let mut moved = shaped(2, "{}");
        moved.created_ms += 1;
        let plain = ev(3);
        let events = [quoted, moved, plain];
        store.append(&events, &[]).unwrap();
        assert!(stored(&kv, "c:").is_empty());
        for (value, e) in stored(&kv, "e:").iter().zip(&events) {
            assert_eq!(value, &encode_value(e, 0, &e.json));
        }
        let back = store.read(0, 10).unwrap();
        assert!(back.iter().zip(&events).all(|(b, e)| b.json == e.json));
    }

    #[test]
    fn a_common_text_is_used_only_when_durable_and_their_number_is_bounded() {
        let kv = Kv::new(MemoryBackend::with_quota(0));
        let mut store = BrowserStore::open(kv.clone(), Keys::new("cairn", "t"));
        let e = shaped(1, "{}");
        store.append(std::slice::from_ref(&e), &[]).unwrap();
        assert_eq!(
            kv.get("cairn:t:t:e:1"),
            Some(encode_value(&e, 0, &e.json)),
            "held in memory whole, not leaning on a common text that is not on disk"
        );
        assert!(kv.keys_with_prefix("cairn:t:t:c:").is_empty());
        let (kv, mut store) = fresh();
        let events: Vec<NewEvent> = (1..=40)
            .map(|i| shaped(i, &format!(r#"{{"n":{i}}}"#)))
            .collect();
        store.append(&events, &[]).unwrap();
        assert_eq!(stored(&kv, "c:").len() as u64, MAX_COMMONS);
        let back = store.read(0, 100).unwrap();
        assert!(back.iter().zip(&events).all(|(b, e)| b.json == e.json));
        assert_eq!(back.len(), 40);
    }

    #[test]
    fn delivered_events_keys_wait_for_tidying_and_are_never_sent_again() {
        let (kv, mut store) = fresh();
        store
            .append(&(1..=5).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        let got = store.claim(D, 3, usize::MAX).unwrap();
        store.ack(D, got[2].seq).unwrap();
        assert_eq!(store.summary().unwrap().events, 2, "no longer queued");
        assert_eq!(
            kv.keys_with_prefix("cairn:t:tab1:e:").len(),
            5,
            "their keys go later, not between an answer and the next request"
        );
        assert_eq!(kv.get("cairn:t:tab1:s:done").as_deref(), Some("3"));
        // The page dies here: whoever opens the queue next skips them,
        // neither sent again nor counted lost.
        let mut again = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab1"));
        assert_eq!(ids(&again.read(0, 10).unwrap()), ["m4", "m5"]);
        assert!(again.take_repair().is_none());
        let (events, _, unreadable) =
            BrowserStore::drain_tab(&kv.clone(), &Keys::new("cairn", "tab1"));
        assert_eq!((events, unreadable), (vec![ev(4), ev(5)], 0));
        assert!(
            kv.keys_with_prefix("cairn:").is_empty(),
            "adoption erases the tab"
        );

        // Tidying goes a share at a time, `s:done` last.
        let (kv, mut store) = fresh();
        store
            .append(&(1..=5).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        store.claim(D, 5, usize::MAX).unwrap();
        store.ack(D, 5).unwrap();
        let reopened = BrowserStore::open(kv.clone(), Keys::new("cairn", "tab1"));
        assert_eq!(
            reopened.last_seq, 5,
            "new events number on past the delivered"
        );
        assert!(store.tidy(3), "some remain");
        assert_eq!(kv.keys_with_prefix("cairn:t:tab1:e:").len(), 2);
        assert!(kv.get("cairn:t:tab1:s:done").is_some());
        assert!(!store.tidy(TIDY_KEYS));
        assert!(kv.keys_with_prefix("cairn:").is_empty());
        assert!(!store.tidy(TIDY_KEYS), "nothing to do");
    }

    /// Event `i` with `pad` bytes of padding.
    fn padded(i: u32, pad: usize) -> NewEvent {
        NewEvent {
            json: format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(pad)),
            ..ev(i)
        }
    }

    /// Appends `events`, then claims and acknowledges every queued event.
    fn append_and_deliver(store: &mut BrowserStore<MemoryBackend>, events: &[NewEvent]) {
        let last = store.append(events, &[]).unwrap();
        store.claim(D, usize::MAX, usize::MAX).unwrap();
        store.ack(D, last).unwrap();
    }

    #[test]
    fn delivered_events_keys_give_their_room_and_go_with_a_purge() {
        // The queue's share: new events take the delivered ones' room.
        let (kv, mut store) = fresh();
        let big: Vec<NewEvent> = (1..=58).map(|i| padded(i, 100_000)).collect();
        append_and_deliver(&mut store, &big[..29]);
        store.append(&big[29..], &[]).unwrap();
        let s = kv.stats();
        assert_eq!((s.volatile_values, s.quota_errors), (0, 0), "all durable");
        assert_eq!(kv.keys_with_prefix("cairn:t:tab1:e:").len(), 29);

        // The browser's quota: the same when the page's own data fills it.
        let kv = Kv::new(MemoryBackend::with_quota(140));
        let mut store = BrowserStore::open(kv.clone(), Keys::new("cairn", "t"));
        append_and_deliver(&mut store, &(1..=4).map(ev).collect::<Vec<_>>());
        store
            .append(&(5..=8).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        assert_eq!(kv.stats().volatile_values, 0, "all durable");
        assert_eq!(kv.keys_with_prefix("cairn:t:t:e:").len(), 4);

        // Round after round, delivered events' keys make room for the next
        // ones and their common texts, and that is no storage error.
        let kv = Kv::new(MemoryBackend::with_quota(6_000));
        let mut store = BrowserStore::open(kv.clone(), Keys::new("cairn", "t"));
        let ctx = r#"{"library":{"name":"cairn","version":"0"}}"#;
        for round in 0..20 {
            let events: Vec<NewEvent> = (round * 10 + 1..=round * 10 + 10)
                .map(|i| shaped(i, ctx))
                .collect();
            store.append(&events, &[]).unwrap();
            let got = store.claim(D, 100, usize::MAX).unwrap();
            assert!(got.iter().zip(&events).all(|(g, e)| g.json == e.json));
            store.ack(D, got[9].seq).unwrap();
        }
        let s = kv.stats();
        assert_eq!(
            (s.quota_errors, s.volatile_values),
            (0, 0),
            "{:?}",
            kv.last_error()
        );
        assert!(kv.with_backend(|b| b.used_chars()) <= 6_000);

        // Past the share, only as many keys go as the new event needs.
        let (kv, mut store) = fresh();
        let mid: Vec<NewEvent> = (1..=298).map(|i| padded(i, 10_000)).collect();
        append_and_deliver(&mut store, &mid);
        assert_eq!(kv.stats().volatile_values, 0, "all 298 fit the share");
        store.append(&[padded(299, 10_000)], &[]).unwrap();
        assert_eq!(store.delivered.len(), 198, "a hundred went, not all");
        assert_eq!(kv.stats().volatile_values, 0);

        // No room even for `s:done`: the delivered keys go to make it.
        let kv = Kv::new(MemoryBackend::with_quota(120));
        let mut store = BrowserStore::open(kv.clone(), Keys::new("cairn", "t"));
        append_and_deliver(&mut store, &(1..=4).map(ev).collect::<Vec<_>>());
        assert!(kv.keys_with_prefix("cairn:").is_empty());

        // A purge (forget, opt-out) leaves no delivered event behind either.
        let (kv, mut store) = fresh();
        append_and_deliver(&mut store, &[ev(1), ev(2)]);
        store.compact().unwrap();
        assert!(kv.keys_with_prefix("cairn:").is_empty());
    }

    #[test]
    fn past_its_share_of_storage_the_queue_holds_new_events_in_memory() {
        let (kv, mut store) = fresh();
        let events: Vec<NewEvent> = (1..=40).map(|i| padded(i, 100_000)).collect();
        store.append(&events, &[]).unwrap();
        let on_disk = kv.with_backend(|b| b.used_chars()) as u64;
        assert!(on_disk <= STORAGE_SHARE, "{on_disk}");
        assert!(
            on_disk > STORAGE_SHARE - 200_000,
            "up to the share: {on_disk}"
        );
        let s = kv.stats();
        assert_eq!(s.volatile_values, 11, "the rest waits in memory");
        assert_eq!(s.quota_errors, 11, "counted");
        assert!(kv.last_error().unwrap().contains("share"));
        let got = store.claim(D, 100, usize::MAX).unwrap();
        assert_eq!(got.len(), 40, "every event is still there to send");
        assert!(got.iter().zip(&events).all(|(g, e)| g.json == e.json));
        store.ack(D, 40).unwrap();
        store.tidy(usize::MAX);
        assert_eq!(kv.stats().volatile_values, 0);
        assert!(kv.keys_with_prefix("cairn:").is_empty());
    }
}
