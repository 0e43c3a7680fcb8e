//! Sessions: a session id (the millisecond the session started), renewed
//! after a stretch without events.
//!
//! [`Session::touch`] is called with each event's timestamp in recording
//! order and says whether a new session began. Whether to emit session
//! start/end events, and persisting the state, are the recorder's job.

use crate::prelude::*;

use crate::json;

/// The state key under which the session is persisted.
pub const STATE_KEY: &str = "session";

/// The current session, persisted as `{"id":…,"last_event_ms":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Milliseconds since the epoch at which the session started; its id.
    pub id: i64,
    /// Timestamp of the last event in it.
    pub last_event_ms: i64,
}

/// What [`Session::touch`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// The event belongs to the current session.
    Same,
    /// A new session began with this event; `ended` is the previous one, if any.
    Started {
        /// The session that timed out.
        ended: Option<Session>,
    },
}

/// How far a session's last activity may move before it is written again:
/// a 360th of the timeout, at most 5 s (the default 30 minutes' share). A
/// session read back after a restart may so end up to that much early, and
/// its `Session Ended` be stamped that much before its last event.
pub fn save_step_ms(timeout_ms: i64) -> i64 {
    (timeout_ms / 360).min(5_000)
}

impl Session {
    /// Reads a persisted session.
    pub fn from_json(text: &str) -> Option<Self> {
        let v = json::parse(text).ok()?;
        Some(Session {
            id: v.get("id")?.as_i64()?,
            last_event_ms: v.get("last_event_ms")?.as_i64()?,
        })
    }

    /// The persisted form.
    pub fn to_json(&self) -> String {
        crate::cat!(
            "{\"id\":",
            self.id,
            ",\"last_event_ms\":",
            self.last_event_ms,
            "}"
        )
    }

    /// Advances `current` to an event at `at_ms`: a new session starts when
    /// there is none or when more than `timeout_ms` passed since the last event.
    /// The last event's time follows `at_ms` as stamps follow the wall clock
    /// ([`crate::time::next_stamp`]): a clock set back moves it back too, or
    /// the session could not end until the clock caught up again.
    pub fn touch(current: &mut Option<Session>, at_ms: i64, timeout_ms: i64) -> Touch {
        match current {
            Some(s) if at_ms - s.last_event_ms <= timeout_ms => {
                s.last_event_ms = crate::time::next_stamp(s.last_event_ms, at_ms);
                Touch::Same
            }
            _ => {
                let ended = current.take();
                *current = Some(Session {
                    id: at_ms,
                    last_event_ms: at_ms,
                });
                Touch::Started { ended }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_after_inactivity() {
        let mut s = None;
        assert_eq!(
            Session::touch(&mut s, 1_000, 1_800_000),
            Touch::Started { ended: None }
        );
        assert_eq!(
            Session::touch(&mut s, 1_000 + 1_800_000, 1_800_000),
            Touch::Same
        );
        let before = s.unwrap();
        let t = Session::touch(&mut s, 1_000 + 3_600_001, 1_800_000);
        assert_eq!(
            t,
            Touch::Started {
                ended: Some(before)
            }
        );
        assert_eq!(s.unwrap().id, 1_000 + 3_600_001);
        assert_eq!(Session::from_json(&s.unwrap().to_json()), s);
        assert_eq!(
            s.unwrap().to_json(),
            format!(r#"{{"id":{0},"last_event_ms":{0}}}"#, 1_000 + 3_600_001)
        );
        assert_eq!(Session::from_json(r#"{"id":5}"#), None);
    }

    /// A clock that was an hour ahead is set right: the session goes on,
    /// and ends after `timeout_ms` without events on the corrected clock,
    /// not an hour later.
    #[test]
    fn a_clock_set_back_moves_the_last_activity_back() {
        const HOUR: i64 = 3_600_000;
        const TIMEOUT: i64 = 1_800_000;
        let t = 1_800_000_000_000;
        let mut s = None;
        Session::touch(&mut s, t + HOUR, TIMEOUT);
        assert_eq!(Session::touch(&mut s, t, TIMEOUT), Touch::Same);
        assert_eq!(s.unwrap().last_event_ms, t);
        let before = s.unwrap();
        assert_eq!(
            Session::touch(&mut s, t + TIMEOUT + 1, TIMEOUT),
            Touch::Started {
                ended: Some(before)
            }
        );
        // A step back within the stamps' hold keeps the later time.
        let mut s = None;
        Session::touch(&mut s, t, TIMEOUT);
        Session::touch(&mut s, t - 500, TIMEOUT);
        assert_eq!(s.unwrap().last_event_ms, t);
    }
}
