//! The runtime's clock: wall-clock milliseconds that never go backwards.
//!
//! The engine takes time as input; this is where the native runtime reads it.
//! It anchors a monotonic `Instant` to the wall clock once, so timers are not
//! thrown off when the system clock is changed while the process runs.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn anchor() -> &'static (Instant, i64) {
    static ANCHOR: OnceLock<(Instant, i64)> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        (Instant::now(), wall)
    })
}

/// Milliseconds since the Unix epoch, non-decreasing within this process.
pub(crate) fn wall_ms() -> i64 {
    let (start, wall) = anchor();
    wall + start.elapsed().as_millis() as i64
}
