//! A backlog found in the buffer file at start is counted in steps, and
//! calls recorded meanwhile are committed at once (a kill -9 then keeps
//! them): the engine over a real SQLite file, driven by hand.

use cairn::engine::{Engine, EngineConfig, Recorded};
use cairn::store::{NewEvent, ReopeningStore, SqliteStore, Store};
use cairn::wire::SegmentWire;

const NOW: i64 = 1_790_000_000_000;
const BACKLOG: u64 = 20_000;

fn event(n: u64) -> NewEvent {
    NewEvent {
        message_id: format!("m-{n}"),
        created_ms: NOW,
        json: format!("{{\"type\":\"track\",\"event\":\"Numbered\",\"messageId\":\"m-{n}\",\"properties\":{{\"n\":{n}}}}}"),
    }
}

#[test]
fn calls_made_while_a_backlog_is_counted_are_committed_before_the_count_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        let events: Vec<NewEvent> = (0..BACKLOG).map(event).collect();
        for chunk in events.chunks(2_000) {
            store.append(chunk, &[]).unwrap();
        }
    }
    let config = cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .config()
        .unwrap();
    let mut engine = Engine::starting(
        EngineConfig::from(&config),
        Box::new(ReopeningStore::open(&path)),
        Box::new(SegmentWire::new(&config.endpoint, &config.write_key, true)),
        7,
        NOW,
    );
    assert!(engine.loading(), "the backlog is not counted at start");
    let recorded = engine.record((BACKLOG..BACKLOG + 5).map(event).collect(), vec![], NOW);
    assert!(
        matches!(recorded, Recorded::Durable(_)),
        "committed while the backlog is still uncounted: {recorded:?}"
    );
    assert!(
        engine.poll_upload(NOW).is_none(),
        "no upload before the queue is known"
    );
    let mut steps = 1;
    while !engine.load_backlog(8_192, NOW) {
        steps += 1;
    }
    assert_eq!(steps, 3, "20,000 rows in steps of 8,192");
    assert_eq!(engine.queued_events(), BACKLOG + 5);
    let upload = engine
        .poll_upload(NOW)
        .expect("the backlog goes out at once");
    assert_eq!(upload.events, config.max_batch_events);
    // The events recorded during the load are in the file: a new store sees them.
    drop(engine);
    let mut reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.summary().unwrap().events, BACKLOG + 5);
}
