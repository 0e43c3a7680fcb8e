//! Message ids: unique, UUID-shaped, and cheap to send.
//!
//! A message id is the backend's dedup key, so it must never repeat across
//! devices and restarts, and a retry must carry the one its event was stored
//! with (it is fixed when the call is made; see [`crate::model::Call`]).
//! A random UUID v4 would do, but its 122 random bits are about 19 of the
//! 50 bytes a gzip-compressed event costs on the wire, and it needs a random
//! draw on the caller's thread for every call.
//!
//! So an id here is an RFC 9562 version-8 UUID made of a random 74-bit
//! prefix and a 48-bit counter: `pppppppp-pppp-8ppp-vppp-cccccccccccc`. Each
//! thread draws its own prefix and counts from 1; ids in one batch share
//! their prefix and differ in the last few digits, which gzip carries in a
//! few bytes. Two threads, processes or devices collide only if they draw
//! the same 74 random bits.
//!
//! A shared prefix tells the backend that two events came from the same
//! thread since the same moment, so every prefix is dropped by [`rotate`]:
//! called on `identify`, `alias`, `reset`, `forget`, opt-out and a new
//! anonymous id, so events of a user before and after those are not linked
//! by their ids. The native client rotates on the caller's thread, before
//! the call is queued; the recorder rotates again when it applies the
//! change (for front ends that drive it directly, and for a user switch).

use crate::prelude::*;

use core::cell::Cell;
use core::sync::atomic::{AtomicU64, Ordering};

const COUNTER_BITS: u32 = 48;
const COUNTER_MASK: u64 = (1 << COUNTER_BITS) - 1;
const VERSION_BITS: u128 = 0xF << 76;
const VARIANT_BITS: u128 = 0b11 << 62;
/// Version 8 ("custom") and the RFC 9562 variant.
const VERSION_8: u128 = (0x8 << 76) | (0b10 << 62);
/// Version 4 (random) and the RFC 9562 variant.
const VERSION_4: u128 = (0x4 << 76) | (0b10 << 62);

/// Bumped by [`rotate`]; a thread whose prefix is from an older epoch draws a new one.
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// (epoch, prefix, last counter) of the thread making ids.
type IdState = Cell<(u64, u128, u64)>;

#[cfg(feature = "std")]
std::thread_local! {
    static STATE: IdState = const { Cell::new((0, 0, 0)) };
}

#[cfg(feature = "std")]
fn with_state<R>(f: impl FnOnce(&IdState) -> R) -> R {
    STATE.with(f)
}

#[cfg(all(not(feature = "std"), target_feature = "atomics"))]
compile_error!("the browser build keeps one id state for its one thread: a threaded wasm build needs the `std` feature");

/// The browser build's one thread's state (no `thread_local!` without std).
#[cfg(not(feature = "std"))]
struct OneThread(IdState);

// SAFETY: without std the core is built only for wasm32 without the atomics
// feature (see the compile_error!s here and in lib.rs): there is one thread,
// so the cell is never reached from two.
#[cfg(not(feature = "std"))]
unsafe impl Sync for OneThread {}

#[cfg(not(feature = "std"))]
static STATE: OneThread = OneThread(Cell::new((0, 0, 0)));

#[cfg(not(feature = "std"))]
fn with_state<R>(f: impl FnOnce(&IdState) -> R) -> R {
    f(&STATE.0)
}

/// 128 random bits from the operating system's generator (through `uuid`).
#[cfg(feature = "std")]
fn random_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

#[cfg(not(feature = "std"))]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The page's (or worker's) `crypto.getRandomValues`.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// 128 random bits from the browser's `crypto.getRandomValues`.
#[cfg(not(feature = "std"))]
fn random_u128() -> u128 {
    let mut bytes = [0u8; 16];
    get_random_values(&mut bytes);
    u128::from_le_bytes(bytes)
}

fn draw_prefix() -> u128 {
    prefix_from(random_u128())
}

/// A message-id prefix made of `random`: version 8, the RFC 9562 variant,
/// the counter's bits clear.
fn prefix_from(random: u128) -> u128 {
    (random & !u128::from(COUNTER_MASK) & !VERSION_BITS & !VARIANT_BITS) | VERSION_8
}

/// A version 4 UUID made of `random`.
fn v4_from(random: u128) -> u128 {
    (random & !VERSION_BITS & !VARIANT_BITS) | VERSION_4
}

/// Bytes in a message id (and any hyphenated UUID).
pub const MESSAGE_ID_BYTES: usize = 36;

/// A new message id, e.g. `3f2a9c1e-07b4-8d21-a5c3-000000000001`.
pub fn message_id() -> String {
    let mut buf = [0; MESSAGE_ID_BYTES];
    message_id_in(&mut buf).to_owned()
}

/// A new message id, written into `buf` (no allocation: a call carries its
/// id in its own buffer, see [`crate::model::Call`]).
pub fn message_id_in(buf: &mut [u8; MESSAGE_ID_BYTES]) -> &str {
    let value = with_state(|s| {
        let (mut epoch, mut prefix, mut counter) = s.get();
        let now = EPOCH.load(Ordering::SeqCst);
        counter = (counter + 1) & COUNTER_MASK;
        if epoch != now || counter == 0 {
            epoch = now;
            prefix = draw_prefix();
            counter = 1;
        }
        s.set((epoch, prefix, counter));
        prefix | u128::from(counter)
    });
    uuid_text_in(value, buf)
}

/// A new random (version 4) UUID, e.g. for an anonymous id.
pub fn random_uuid() -> String {
    let mut buf = [0; MESSAGE_ID_BYTES];
    random_uuid_in(&mut buf).to_owned()
}

/// [`random_uuid`] written into `buf`, without an allocation.
pub fn random_uuid_in(buf: &mut [u8; MESSAGE_ID_BYTES]) -> &str {
    uuid_text_in(v4_from(random_u128()), buf)
}

/// Writes the hyphenated lower-case text of a UUID (8-4-4-4-12 hex digits)
/// into `buf`: natively with the `uuid` crate (a byte at a time, once per
/// event id).
#[cfg(feature = "std")]
fn uuid_text_in(value: u128, buf: &mut [u8; MESSAGE_ID_BYTES]) -> &str {
    uuid::Uuid::from_u128(value).hyphenated().encode_lower(buf)
}

/// [`uuid_text_in`] for the browser, which has no `uuid`.
#[cfg(not(feature = "std"))]
fn uuid_text_in(value: u128, buf: &mut [u8; MESSAGE_ID_BYTES]) -> &str {
    uuid_text_compact(value, buf)
}

/// The browser's UUID text: a nibble at a time, the smallest code (the
/// page's size budget counts every byte). Tested natively against `uuid`.
#[cfg(any(not(feature = "std"), test))]
fn uuid_text_compact(value: u128, buf: &mut [u8; MESSAGE_ID_BYTES]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut at = 0;
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            buf[at] = b'-';
            at += 1;
        }
        // The nibble is masked to 0..16, so the index is in bounds.
        buf[at] = HEX[((value >> (124 - 4 * i)) & 0xF) as usize];
        at += 1;
    }
    // Only ASCII hex digits and hyphens were written.
    core::str::from_utf8(buf).unwrap_or_default()
}

/// Drops every thread's prefix: ids made from now on share nothing with
/// earlier ones.
pub fn rotate() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_8_uuids_that_count() {
        let a = message_id();
        let b = message_id();
        let ua = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(ua.get_version_num(), 8);
        assert_eq!(ua.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(a.len(), 36);
        // Another test may rotate in between; then b starts a new prefix.
        if a[..24] == b[..24] {
            let (na, nb) = (
                u64::from_str_radix(&a[24..], 16).unwrap(),
                u64::from_str_radix(&b[24..], 16).unwrap(),
            );
            assert_eq!(nb, na + 1, "{a} {b}");
        } else {
            assert!(b.ends_with("000000000001"), "{a} {b}");
        }
    }

    #[test]
    fn rotation_and_threads_change_the_prefix() {
        let a = message_id();
        rotate();
        let b = message_id();
        assert_ne!(a[..24], b[..24]);
        assert!(b.ends_with("000000000001"));
        let other = std::thread::spawn(message_id).join().unwrap();
        assert_ne!(other[..24], b[..24]);
        let many: std::collections::HashSet<String> = (0..10_000).map(|_| message_id()).collect();
        assert_eq!(many.len(), 10_000);
    }

    #[test]
    fn ids_read_as_uuid_writes_them() {
        for value in [0u128, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            assert_eq!(
                uuid_text_compact(value, &mut [0; MESSAGE_ID_BYTES]),
                uuid::Uuid::from_u128(value).hyphenated().to_string()
            );
        }
        let a = random_uuid();
        let ua = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(
            (ua.get_version_num(), ua.get_variant()),
            (4, uuid::Variant::RFC4122)
        );
        assert_ne!(a, random_uuid());
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_config(50_000))]

        /// The text the browser writes by hand is `uuid`'s, for any 128
        /// bits, and `uuid` reads it back to the same value.
        #[test]
        fn any_value_is_written_as_uuid_writes_it(value: u128) {
            let mut buf = [0; MESSAGE_ID_BYTES];
            let text = uuid_text_compact(value, &mut buf);
            let theirs = uuid::Uuid::from_u128(value);
            proptest::prop_assert_eq!(text, theirs.hyphenated().to_string());
            let back = uuid::Uuid::parse_str(text).map(|u| u.as_u128());
            proptest::prop_assert_eq!(back, Ok(value));
        }

        /// Version and variant bits are set as `uuid`'s builders set them
        /// on the same random bytes, and no other bit is touched (but the
        /// counter's, which a prefix leaves clear).
        #[test]
        fn versions_are_set_as_uuid_sets_them(random: u128) {
            let v8 = uuid::Builder::from_custom_bytes(random.to_be_bytes()).into_uuid();
            let counter = u128::from(COUNTER_MASK);
            proptest::prop_assert_eq!(prefix_from(random), v8.as_u128() & !counter);
            let rfc = uuid::Variant::RFC4122;
            proptest::prop_assert_eq!((v8.get_version_num(), v8.get_variant()), (8, rfc));
            let v4 = uuid::Builder::from_random_bytes(random.to_be_bytes()).into_uuid();
            proptest::prop_assert_eq!(v4_from(random), v4.as_u128());
            proptest::prop_assert_eq!((v4.get_version_num(), v4.get_variant()), (4, rfc));
        }
    }
}
