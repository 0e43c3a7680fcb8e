//! The scenario's events: what one caller records, decided once so every
//! phase and every limit measures the same bytes.
//!
//! Event `i` is named from a set of 10 and carries 5 properties, one of each
//! kind the issue asks for: a string (`sku`), an integer (`index`, which is
//! `i` itself, so the audit can tell which recorded event a delivered one
//! is), a float (`price`), a boolean (`in_stock`) and a nested object
//! (`item`). The values are drawn from a fixed pseudo-random sequence of
//! realistic spread (1,000 SKUs, prices in cents, five categories), so
//! compression figures are neither flattered by constants nor spoiled by
//! noise no real app sends.

use serde_json::{json, Value};

/// The 10 event names the scenario draws from.
pub const NAMES: [&str; 10] = [
    "Product Viewed",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
    "Search Performed",
    "Promotion Clicked",
    "Signed In",
    "Page Scrolled",
    "Video Played",
];

const CATEGORIES: [&str; 5] = ["books", "games", "music", "tools", "garden"];

/// The user id the scenario identifies as halfway through.
pub const USER_ID: &str = "bench-user-42";

/// The property that carries the event's index, read back by the audit.
pub const INDEX_PROPERTY: &str = "index";

/// splitmix64: a fixed, fast pseudo-random sequence (same draws every run).
pub fn mix(i: u64) -> u64 {
    let mut z = i
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The name of event `i`.
pub fn name(i: u64) -> &'static str {
    NAMES[(mix(i) % NAMES.len() as u64) as usize]
}

/// Event `i` as a backend has it for `enqueue`: a complete track event with
/// a user id of its own (one of 10,000 users) and no message id (cairn
/// draws one).
///
/// Built once, as an app writing its event in place would: `json!` with
/// `properties` as a value would copy them through the serializer (a
/// second tree of maps, and the first dropped), app work the bench counted
/// against cairn.
pub fn complete_event(i: u64, name: &str, properties: Value) -> Value {
    let mut event = serde_json::Map::new();
    event.insert("type".into(), "track".into());
    event.insert("event".into(), name.into());
    let user = format!("user-{}", mix(i ^ 0x05E4) % 10_000);
    event.insert("userId".into(), user.into());
    event.insert("properties".into(), properties);
    Value::Object(event)
}

/// The properties of event `i`: string, integer, float, boolean, nested object.
pub fn properties(i: u64) -> Value {
    let r = mix(i ^ 0x5EED);
    let sku = r % 1_000;
    let cents = 100 + (r >> 10) % 9_900;
    json!({
        "sku": format!("SKU-{sku:04}"),
        INDEX_PROPERTY: i,
        "price": cents as f64 / 100.0,
        "in_stock": !(r >> 24).is_multiple_of(5),
        "item": { "category": CATEGORIES[((r >> 28) % 5) as usize], "rank": (r >> 32) % 50 },
    })
}

/// The traits sent with the scenario's `identify`.
pub fn traits() -> Value {
    json!({ "plan": "pro", "company": "Bench Co" })
}

/// Event `i` as it goes on the wire (identity and context applied, as cairn
/// writes it), for the limits that need the scenario's bytes without a client.
pub fn wire_event(i: u64, message_id: &str, timestamp: &str) -> Value {
    json!({
        "type": "track",
        "event": name(i),
        "properties": properties(i),
        "userId": USER_ID,
        "anonymousId": "0f6f1c3e-7f59-4b84-9d52-5c2f0c3e1a77",
        "messageId": message_id,
        "timestamp": timestamp,
        "originalTimestamp": timestamp,
        "context": {
            "consent": { "categoryPreferences": {} },
            "library": { "name": cairn::LIBRARY_NAME, "version": cairn::VERSION },
            "sessionId": 1_790_000_000_000i64,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_five_kinds_and_their_index() {
        let p = properties(7);
        assert!(
            p["sku"].is_string()
                && p["price"].is_f64()
                && p["in_stock"].is_boolean()
                && p["item"].is_object()
        );
        assert_eq!(p[INDEX_PROPERTY], 7);
        assert_eq!(
            properties(7),
            p,
            "the same index always gives the same event"
        );
        let names: std::collections::HashSet<_> = (0..1_000).map(name).collect();
        assert_eq!(names.len(), NAMES.len());
    }
}
