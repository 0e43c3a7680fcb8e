//! The runtime's two clocks: the wall clock for what an event says about
//! time, a monotonic one for how long cairn waits.
//!
//! - [`Clocks::stamp_ms`] is the wall clock read at each call: it stamps
//!   each event's `timestamp` and each request's `sentAt`. A phone that
//!   slept all night stamps the morning's events with the morning's time,
//!   and a clock corrected by the network is followed at once, also
//!   backwards. Only a step back of at most a second is held at the last
//!   stamp, so timestamps keep recording order through small corrections
//!   ([`crate::time::next_stamp`], the rule the browser keeps too).
//! - [`Clocks::timer_ms`] drives the engine's timers and backoff: the wall
//!   clock as read once at start, plus monotonic time since. It never jumps
//!   when the wall clock is set, so a clock set back by an hour cannot hold
//!   a retry back for an hour. It stands still while the device sleeps
//!   (`Instant` does, on Linux, Android and Apple platforms), which only
//!   delays timers by that sleep: nothing is sent while asleep anyway.
//!
//! Which reading each rule needs is the engine's decision (it takes the
//! timer clock as `now_ms` and reads the wall clock through
//! [`Engine::set_wall_clock`](crate::engine::Engine::set_wall_clock)); this
//! module only reads the clocks. [`TimeSource`] lets a test move the two
//! apart, as a sleeping device does.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the runtime reads time. [`SystemTime`] and [`Instant`] in a real
/// client; tests replace it to play a device that sleeps or whose clock is
/// corrected (see `ClientBuilder::build_with_time_source`).
#[doc(hidden)]
pub trait TimeSource: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch, as the system's wall clock says now
    /// (it may jump either way).
    fn wall_ms(&self) -> i64;
    /// Time on a clock that never goes backwards, since any fixed origin.
    fn monotonic(&self) -> Duration;
}

/// The operating system's clocks.
#[derive(Debug)]
pub(crate) struct SystemClocks {
    origin: Instant,
}

impl SystemClocks {
    pub(crate) fn new() -> Self {
        SystemClocks {
            origin: Instant::now(),
        }
    }
}

impl TimeSource for SystemClocks {
    fn wall_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            // A clock set before 1970: no reading (`next_stamp` holds the
            // last good one).
            .unwrap_or(0)
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// The two readings a client needs, shared by its callers and its worker.
pub(crate) struct Clocks {
    source: Arc<dyn TimeSource>,
    /// The last stamp handed out, for [`crate::time::next_stamp`].
    last_stamp: AtomicI64,
    /// Wall clock at start minus the monotonic reading then: timer readings
    /// look like wall-clock milliseconds (they are persisted and shown as
    /// such) without following the wall clock's jumps.
    timer_offset_ms: i64,
}

impl std::fmt::Debug for Clocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clocks")
            .field("last_stamp", &self.last_stamp)
            .finish()
    }
}

impl Clocks {
    pub(crate) fn new(source: Arc<dyn TimeSource>) -> Self {
        let wall = source.wall_ms();
        let mono = source.monotonic().as_millis() as i64;
        Clocks {
            source,
            last_stamp: AtomicI64::new(wall),
            timer_offset_ms: wall - mono,
        }
    }

    /// The wall clock now; a step back of at most a second after a stamp
    /// already handed out stamps that one again.
    pub(crate) fn stamp_ms(&self) -> i64 {
        let reading = self.source.wall_ms();
        let step = |last| Some(crate::time::next_stamp(last, reading));
        match (self.last_stamp).fetch_update(Ordering::Relaxed, Ordering::Relaxed, step) {
            // `step` always answers `Some`, so this is `Ok`; both carry the
            // stamp before this one.
            Ok(last) | Err(last) => crate::time::next_stamp(last, reading),
        }
    }

    /// Milliseconds on the timer clock (monotonic, anchored at the wall
    /// clock as it was at start).
    pub(crate) fn timer_ms(&self) -> i64 {
        self.timer_offset_ms + self.source.monotonic().as_millis() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A device: its wall clock and its monotonic clock are set by the test.
    #[derive(Default)]
    struct Device(Mutex<(i64, Duration)>);
    impl Device {
        fn set(&self, wall_ms: i64, mono: Duration) {
            *self.0.lock().unwrap() = (wall_ms, mono);
        }
    }
    impl TimeSource for Device {
        fn wall_ms(&self) -> i64 {
            self.0.lock().unwrap().0
        }
        fn monotonic(&self) -> Duration {
            self.0.lock().unwrap().1
        }
    }

    const NIGHT_MS: i64 = 8 * 3600 * 1000;

    #[test]
    fn after_a_night_asleep_stamps_follow_the_wall_clock_and_timers_do_not_jump() {
        let device = Arc::new(Device::default());
        device.set(1_700_000_000_000, Duration::from_secs(100));
        let clocks = Clocks::new(device.clone());
        assert_eq!(clocks.stamp_ms(), 1_700_000_000_000);
        let timer_before = clocks.timer_ms();
        // Asleep: the monotonic clock stands still, the wall clock moves on.
        device.set(1_700_000_000_000 + NIGHT_MS, Duration::from_secs(100));
        assert_eq!(clocks.stamp_ms(), 1_700_000_000_000 + NIGHT_MS);
        assert_eq!(clocks.timer_ms(), timer_before);
        // Awake again: both move on together.
        device.set(
            1_700_000_000_000 + NIGHT_MS + 1_500,
            Duration::from_millis(101_500),
        );
        assert_eq!(clocks.stamp_ms(), 1_700_000_000_000 + NIGHT_MS + 1_500);
        assert_eq!(clocks.timer_ms(), timer_before + 1_500);
    }

    #[test]
    fn a_clock_set_back_an_hour_is_followed_and_leaves_timers_alone() {
        let device = Arc::new(Device::default());
        device.set(10_000_000, Duration::from_secs(5));
        let clocks = Clocks::new(device.clone());
        assert_eq!(clocks.stamp_ms(), 10_000_000);
        device.set(10_000_000 - 3_600_000, Duration::from_secs(6));
        assert_eq!(
            clocks.stamp_ms(),
            10_000_000 - 3_600_000,
            "the wall-clock time of the call, not the last stamp"
        );
        assert_eq!(clocks.timer_ms(), 10_001_000, "timers ran on by 1 s");
        device.set(10_000_000 - 3_600_000 + 250, Duration::from_secs(7));
        assert_eq!(clocks.stamp_ms(), 10_000_000 - 3_600_000 + 250);
    }

    #[test]
    fn a_clock_nudged_back_a_little_keeps_stamps_in_recording_order() {
        let device = Arc::new(Device::default());
        device.set(10_000_000, Duration::from_secs(5));
        let clocks = Clocks::new(device.clone());
        assert_eq!(clocks.stamp_ms(), 10_000_000);
        device.set(
            10_000_000 - crate::time::STAMP_HOLD_MAX_MS,
            Duration::from_secs(6),
        );
        assert_eq!(clocks.stamp_ms(), 10_000_000, "held at the last stamp");
        device.set(10_000_001, Duration::from_secs(7));
        assert_eq!(clocks.stamp_ms(), 10_000_001, "followed once past it");
        device.set(
            10_000_001 - crate::time::STAMP_HOLD_MAX_MS - 1,
            Duration::from_secs(8),
        );
        assert_eq!(
            clocks.stamp_ms(),
            10_000_001 - crate::time::STAMP_HOLD_MAX_MS - 1,
            "a step back beyond the hold is followed"
        );
    }

    #[test]
    fn a_clock_before_1970_is_no_reading() {
        let device = Arc::new(Device::default());
        device.set(10_000_000, Duration::from_secs(5));
        let clocks = Clocks::new(device.clone());
        device.set(0, Duration::from_secs(6));
        assert_eq!(clocks.stamp_ms(), 10_000_000);
    }

    #[test]
    fn the_system_clocks_read_the_wall_clock_at_each_call() {
        let clocks = Clocks::new(Arc::new(SystemClocks::new()));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((clocks.stamp_ms() - now).abs() < 1_000);
        let (a, b) = (clocks.timer_ms(), clocks.timer_ms());
        assert!(b >= a);
    }
}
