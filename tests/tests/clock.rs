//! Time on a device that sleeps: a real `Client` whose clocks a test moves
//! apart, against the collector on 127.0.0.1.
//!
//! While a phone sleeps its monotonic clock stands still and its wall clock
//! moves on; the network may also set the wall clock back. Events must carry
//! the wall-clock time of their call (and requests the wall-clock `sentAt`),
//! and timers must keep running whatever the wall clock does.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn::TimeSource;
use cairn_cli::collector::{Collector, CollectorConfig};
use serde_json::{json, Value};

/// Real time, except that the wall clock can be moved by the test, as a
/// device's is by a night asleep (its monotonic clock stands still) or by a
/// correction from the network.
struct Device {
    origin: Instant,
    wall_offset_ms: AtomicI64,
}

impl Device {
    fn new() -> Arc<Self> {
        Arc::new(Device {
            origin: Instant::now(),
            wall_offset_ms: AtomicI64::new(0),
        })
    }
    fn move_wall_clock(&self, by_ms: i64) {
        self.wall_offset_ms.fetch_add(by_ms, Ordering::SeqCst);
    }
}

impl TimeSource for Device {
    fn wall_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        real + self.wall_offset_ms.load(Ordering::SeqCst)
    }
    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

fn ms(iso: &Value) -> i64 {
    cairn::time::parse_iso8601_ms(iso.as_str().expect("a timestamp")).expect("ISO-8601")
}

const NIGHT_MS: i64 = 8 * 3600 * 1000;

/// A collector, and a client on a device whose clocks the test moves,
/// built by `configure` from the defaults.
fn rig(
    configure: impl FnOnce(cairn::ClientBuilder) -> cairn::ClientBuilder,
) -> (Collector, tempfile::TempDir, Arc<Device>, cairn::Client) {
    let server = Collector::start(CollectorConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let device = Device::new();
    let builder = cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(dir.path().join("cairn.db"));
    let client = configure(builder)
        .build_with_time_source(device.clone())
        .unwrap();
    (server, dir, device, client)
}

#[test]
fn after_a_night_asleep_events_and_sent_at_carry_the_wall_clock_time_of_the_call() {
    let (server, _dir, device, client) = rig(|b| b);
    client.track("Before Sleep", json!({})).unwrap();
    client.flush(Duration::from_secs(10)).unwrap();
    device.move_wall_clock(NIGHT_MS);
    client.track("After Sleep", json!({})).unwrap();
    assert_eq!(client.flush(Duration::from_secs(10)).unwrap().remaining, 0);

    let events = server.events();
    assert_eq!(events.len(), 2);
    let slept = ms(&events[1]["timestamp"]) - ms(&events[0]["timestamp"]);
    assert!(
        (NIGHT_MS..NIGHT_MS + 5_000).contains(&slept),
        "the second event is stamped 8 h after the first, not {slept} ms"
    );
    let requests = server.requests();
    let last = &requests.last().unwrap().body;
    let sent_after = ms(&last["sentAt"]) - ms(&events[1]["timestamp"]);
    assert!(
        (0..5_000).contains(&sent_after),
        "sentAt is the wall-clock time of the request, {sent_after} ms after the event"
    );
}

#[test]
fn a_wall_clock_set_back_is_followed_by_timestamps_and_holds_no_delivery_back() {
    let (server, _dir, device, client) = rig(|b| b.flush_interval(Duration::from_millis(200)));
    client.track("First", json!({})).unwrap();
    device.move_wall_clock(-3_600_000);
    client.track("Second", json!({})).unwrap();
    // No flush: the flush interval's timer must fire although the wall
    // clock now reads an hour earlier than when the first event waited.
    let start = Instant::now();
    while server.events().len() < 2 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let events = server.events();
    assert_eq!(
        events.len(),
        2,
        "delivered by the flush interval: {:?}",
        client.stats()
    );
    let back = ms(&events[0]["timestamp"]) - ms(&events[1]["timestamp"]);
    assert!(
        (3_600_000 - 5_000..=3_600_000).contains(&back),
        "the second event carries the wall-clock time of its call, an hour earlier: {back} ms"
    );
    client.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_wall_clock_nudged_back_keeps_timestamps_in_recording_order() {
    let (server, _dir, device, client) = rig(|b| b);
    client.track("First", json!({})).unwrap();
    // A time service's small correction: half a second back.
    device.move_wall_clock(-500);
    client.track("Second", json!({})).unwrap();
    assert_eq!(client.flush(Duration::from_secs(10)).unwrap().remaining, 0);
    let events = server.events();
    assert_eq!(events.len(), 2);
    assert!(
        ms(&events[1]["timestamp"]) >= ms(&events[0]["timestamp"]),
        "held at the first stamp: {:?} then {:?}",
        events[0]["timestamp"],
        events[1]["timestamp"]
    );
}

/// A batch compressed while the one before it is out (a backlog) carries
/// the time it leaves as `sentAt`, not the time it was prepared: here the
/// wall clock moves an hour on (a device asleep, or set by the network)
/// while the first request hangs, and every request after it says so, so
/// the backend's skew correction sees the clock the request left with.
#[test]
fn a_batch_prepared_while_one_was_out_carries_the_time_it_leaves() {
    use cairn_cli::collector::Fault;
    let (server, _dir, device, client) = rig(|b| b);
    server.push_faults(vec![Fault::Stall(Duration::from_millis(2_500))]);
    // 1,000 on the wire, more than a full batch behind: the next one is
    // read and compressed while the first hangs.
    for i in 0..2_500 {
        client.track("Queued", json!({ "i": i })).unwrap();
    }
    client.commit(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(1_000));
    device.move_wall_clock(3_600_000);
    assert_eq!(client.flush(Duration::from_secs(20)).unwrap().remaining, 0);

    let requests = server.requests();
    let recorded_at = server
        .events()
        .iter()
        .map(|e| ms(&e["timestamp"]))
        .max()
        .unwrap();
    let after_first: Vec<i64> = requests
        .iter()
        .filter(|r| r.body["batch"][0]["properties"]["i"] != json!(0))
        .map(|r| ms(&r.body["sentAt"]) - recorded_at)
        .collect();
    assert!(after_first.len() >= 2, "{} requests", requests.len());
    assert!(
        after_first.iter().all(|&d| d >= 3_600_000 - 5_000),
        "sentAt of each request after the first, less the last event's time: {after_first:?}"
    );
    client.shutdown(Duration::from_secs(5)).unwrap();
}
