//! Keeping the search for a poison event across restarts (native builds).
//!
//! An app that runs a few seconds at a time (a CLI run per event, a
//! serverless function, a mobile app the system keeps stopping) makes a
//! handful of requests per run; the search for a poison event takes about
//! 60 for a batch of 1,000 (halvings of 5 failures each, then 5 probes).
//! Begun again each run it never ended, and the event held the queue until
//! the age limit. So the lane's delivery state carries the search: the 5xx
//! count, the batch limit the halving reached and the suspect with its
//! probes so far, which the engine takes up when it starts.
//!
//! This module only writes and reads them; what they mean is the engine's
//! (`count_server_error`, `on_probe_answer`). The browser build leaves it
//! out: a reload there is a new tab that takes the old one's queue over
//! with new sequence numbers (docs/delivery.md).

use super::{Engine, Json, Lane, SplitLimit, Suspect};
use crate::json::Object;
use crate::text::{parse_u64, push_u64};

/// The state key under the lane's delivery state.
const KEY: &str = "poison_search";

impl Lane {
    /// The search as kept: 5xx answers in a row, the batch limit (its
    /// events, 0 for none; the sequence number it lasts until; 1 if it
    /// grows back; the last refused), the suspect's sequence number (0 for
    /// none) and its probes confirmed. `None` when there is no search.
    fn search(&self) -> Option<[u64; 7]> {
        if self.server_errors == 0 && self.split.is_none() && self.suspect.is_none() {
            return None;
        }
        let (events, until, grow, refused) = self.split.map_or((0, 0, false, 0), |l| {
            (l.max_events as u64, l.until_seq, l.grow, l.refused_through)
        });
        let (seq, confirmed) = (self.suspect.as_ref()).map_or((0, 0), |s| (s.seq, s.confirmed));
        Some([
            u64::from(self.server_errors),
            events,
            until,
            u64::from(grow),
            refused,
            seq,
            u64::from(confirmed),
        ])
    }
}

impl Engine {
    /// Adds lane `i`'s search to its delivery `state` (the numbers
    /// separated by spaces; `null` when there is none), and notes whether
    /// the store now holds one.
    pub(super) fn save_search(&mut self, i: usize, state: &mut Object) {
        let lane = &mut self.lanes[super::at(i)];
        let search = lane.search();
        lane.search_saved = search.is_some();
        let value = search.map_or(Json::Null, |numbers| {
            let mut text = String::new();
            for (k, n) in numbers.into_iter().enumerate() {
                if k > 0 {
                    text.push(' ');
                }
                push_u64(&mut text, n);
            }
            Json::from(text)
        });
        state.insert(KEY.to_string(), value);
    }

    /// Takes up lane `i`'s search where the last run left it. Its failures
    /// and backoff are not kept: a new run tries at once.
    pub(super) fn resume_search(&mut self, i: usize) {
        let key = self.lanes[super::at(i)].delivery_key();
        let Some(saved) =
            (self.store.get_state(&key).ok().flatten()).and_then(|t| crate::json::parse(&t).ok())
        else {
            return;
        };
        let Some(Json::String(text)) = saved.get(KEY) else {
            return;
        };
        let numbers: Vec<u64> = text.split(' ').map(|t| parse_u64(t).unwrap_or(0)).collect();
        let [errors, max_events, until_seq, grow, refused_through, seq, confirmed] = numbers[..]
        else {
            return;
        };
        let small = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let lane = &mut self.lanes[super::at(i)];
        lane.server_errors = small(errors);
        lane.split = (max_events > 0).then(|| SplitLimit {
            max_events: usize::try_from(max_events).unwrap_or(usize::MAX),
            until_seq,
            grow: grow == 1,
            refused_through,
        });
        lane.suspect = (seq > 0).then_some(Suspect {
            seq,
            flight: None,
            confirmed: small(confirmed),
            probe_next: false,
        });
        lane.search_saved = true;
    }
}
