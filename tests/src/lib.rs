//! Helpers shared by the end-to-end tests: a collector on 127.0.0.1, a free
//! port with nothing listening, and checks over what arrived.

use std::collections::HashMap;

use serde_json::Value;

/// A 127.0.0.1 URL on which nothing listens (connections are refused).
pub fn dead_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = l.local_addr().expect("local addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Counts events per `messageId`.
pub fn by_message_id(events: &[Value]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for e in events {
        *m.entry(e["messageId"].as_str().unwrap_or_default().to_string())
            .or_insert(0) += 1;
    }
    m
}

/// The `properties.n` numbers of `events`, in arrival order.
pub fn numbers(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| e["properties"]["n"].as_u64())
        .collect()
}
