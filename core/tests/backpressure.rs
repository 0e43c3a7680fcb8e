//! Calls made faster than the worker takes them wait for room in the calls
//! channel (back-pressure), are never lost, and never wait past shutdown.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

fn client(dir: &tempfile::TempDir, pending: usize) -> cairn::Client {
    cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path(dir.path().join("c.db"))
        .max_pending_calls(pending)
        // These tests are about waiting for room: no event is dropped for it.
        .record_wait(Duration::from_secs(3600))
        .build()
        .unwrap()
}

#[test]
fn calls_into_a_full_channel_wait_for_room_and_all_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let client = Arc::new(client(&dir, 4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let c = Arc::clone(&client);
            std::thread::spawn(move || {
                for i in 0..500 {
                    c.track("Tapped", json!({"thread": t, "i": i})).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(client.commit(Duration::from_secs(30)).unwrap());
    assert_eq!(client.stats().queued_events, 2_000);
}

#[test]
fn callers_waiting_for_room_are_released_by_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let client = Arc::new(client(&dir, 1));
    let c = Arc::clone(&client);
    let caller = std::thread::spawn(move || loop {
        if let Err(e) = c.track("Tapped", json!({"k": 1})) {
            return e;
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    client.shutdown(Duration::ZERO).unwrap();
    let err = caller.join().unwrap();
    assert!(matches!(err, cairn::Error::ShutDown), "{err}");
}
