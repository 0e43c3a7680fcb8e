//! The recording fast path: one hand-written C function, [`cairn_ffi_record`],
//! for the calls an app makes on its own threads (`track`, `screen`, `page`,
//! `identify`, `group`, `alias`). This module decides that C ABI: the call
//! and error codes, how strings cross (UTF-8 bytes and a length) and how an
//! error comes back (a kind byte and the core's message, in a buffer the
//! caller owns).
//!
//! Why it exists: through uniffi's generated Kotlin every call allocates JNA
//! `Structure`s (the call status, a buffer per string, by-value returns),
//! 6–13 µs each on a CI machine, so one `track` cost 55–110 µs there while
//! the core needs under a microsecond. Here every argument is a primitive or
//! a byte array, which JNA's direct mapping (and Python's ctypes) pass
//! without building any structure. Everything else (config, flush, stats,
//! consent...) stays on uniffi, where a few microseconds do not matter; the
//! uniffi recording methods stay too (Swift calls the C ABI directly and
//! does not need this path).
//!
//! The contract, for a wrapper:
//! - `handle` comes from `CairnClient.record_handle()` (the `registry` module).
//! - `name`/`json` are UTF-8 bytes, `len` bytes long; a null pointer is
//!   allowed when its length is 0. `json` is a JSON object as text, or empty
//!   for none; `alias` ignores it.
//! - Returns 0 when the core took the call. Otherwise it wrote `n` bytes to
//!   `err` and returns `n` > 0: `err[0]` is an `ERR_*` kind and
//!   `err[1..n]` the message in UTF-8, cut at a character boundary (ending
//!   in "…") if `err_cap` is too small. A negative return means `err` was
//!   null or `err_cap` < 1, so the error could not be written.
//! - It never panics across the boundary and never blocks on disk or
//!   network; it waits only when the core's call channel is full, like
//!   every recording call.
//!
//! Errors found here, before the core sees the call (an unknown call kind, a
//! null pointer, invalid UTF-8, a closed client), are not counted in
//! `stats()`: like the wrappers' own JSON-encoding errors, they are the
//! caller's mistakes, not events. Everything the core refuses is counted by
//! the core, once, as on the uniffi path.

use std::panic::{self, AssertUnwindSafe};

use crate::error::CairnError;
use crate::registry;

/// The version of this C ABI. A wrapper checks it once, when it loads the
/// library, so a wrapper and a library from different builds fail loudly
/// instead of misreading each other's codes.
pub const RECORD_ABI_VERSION: u32 = 1;

/// `kind` of a `track(event, properties)` call.
pub const CALL_TRACK: i32 = 0;
/// `kind` of a `screen(name, properties)` call.
pub const CALL_SCREEN: i32 = 1;
/// `kind` of a `page(name, properties)` call.
pub const CALL_PAGE: i32 = 2;
/// `kind` of an `identify(user_id, traits)` call.
pub const CALL_IDENTIFY: i32 = 3;
/// `kind` of a `group(group_id, traits)` call.
pub const CALL_GROUP: i32 = 4;
/// `kind` of an `alias(new_id)` call (`json` is ignored).
pub const CALL_ALIAS: i32 = 5;

/// `err[0]`: [`CairnError::InvalidConfig`].
pub const ERR_INVALID_CONFIG: u8 = 1;
/// `err[0]`: [`CairnError::InvalidEvent`].
pub const ERR_INVALID_EVENT: u8 = 2;
/// `err[0]`: [`CairnError::EventTooLarge`].
pub const ERR_EVENT_TOO_LARGE: u8 = 3;
/// `err[0]`: [`CairnError::Storage`].
pub const ERR_STORAGE: u8 = 4;
/// `err[0]`: [`CairnError::StorageInUse`].
pub const ERR_STORAGE_IN_USE: u8 = 5;
/// `err[0]`: [`CairnError::Timeout`].
pub const ERR_TIMEOUT: u8 = 6;
/// `err[0]`: [`CairnError::ShutDown`] (the client was shut down).
pub const ERR_SHUT_DOWN: u8 = 7;
/// `err[0]`: [`CairnError::Internal`], including a caught panic.
pub const ERR_INTERNAL: u8 = 8;
/// `err[0]`: the handle names no open client (it was closed, or never was).
/// Wrappers raise their `ShutDown` error, worded as for other calls on a
/// closed client.
pub const ERR_CLOSED: u8 = 9;
/// `err[0]`: [`CairnError::Forked`] (the client was made before a fork).
pub const ERR_FORKED: u8 = 10;
/// `err[0]`: [`CairnError::PlanViolation`] (strict mode refused a call that
/// breaks the tracking plan).
pub const ERR_PLAN_VIOLATION: u8 = 11;

/// Every `ERR_*` kind with the error each wrapper raises for it (the
/// variant of `CairnError` / `CairnException`): the one list the Kotlin
/// (`RecordCall.kt`) and Python (`_record.py`) tables are checked against.
pub const ERROR_KINDS: [(u8, &str); 11] = [
    (ERR_INVALID_CONFIG, "InvalidConfig"),
    (ERR_INVALID_EVENT, "InvalidEvent"),
    (ERR_EVENT_TOO_LARGE, "EventTooLarge"),
    (ERR_STORAGE, "Storage"),
    (ERR_STORAGE_IN_USE, "StorageInUse"),
    (ERR_TIMEOUT, "Timeout"),
    (ERR_SHUT_DOWN, "ShutDown"),
    (ERR_INTERNAL, "Internal"),
    (ERR_CLOSED, "ShutDown"),
    (ERR_FORKED, "Forked"),
    (ERR_PLAN_VIOLATION, "PlanViolation"),
];

/// What went wrong, as it crosses: an `ERR_*` kind and a message.
#[derive(Debug)]
struct Failure {
    kind: u8,
    message: String,
}

impl Failure {
    fn invalid(what: impl std::fmt::Display) -> Self {
        Failure {
            kind: ERR_INVALID_EVENT,
            message: format!("invalid event: {what}"),
        }
    }

    fn internal(what: impl std::fmt::Display) -> Self {
        Failure {
            kind: ERR_INTERNAL,
            message: format!("cairn failed unexpectedly: {what}"),
        }
    }
}

impl From<cairn::Error> for Failure {
    fn from(e: cairn::Error) -> Self {
        // Through CairnError, so the kinds match the uniffi path's exactly.
        let e = CairnError::from(e);
        let kind = match &e {
            CairnError::InvalidConfig(_) => ERR_INVALID_CONFIG,
            CairnError::InvalidEvent(_) => ERR_INVALID_EVENT,
            CairnError::EventTooLarge(_) => ERR_EVENT_TOO_LARGE,
            CairnError::Storage(_) => ERR_STORAGE,
            CairnError::StorageInUse(_) => ERR_STORAGE_IN_USE,
            CairnError::Timeout(_) => ERR_TIMEOUT,
            CairnError::ShutDown(_) => ERR_SHUT_DOWN,
            CairnError::Forked(_) => ERR_FORKED,
            CairnError::PlanViolation(_) => ERR_PLAN_VIOLATION,
            CairnError::Internal(_) => ERR_INTERNAL,
        };
        Failure {
            kind,
            message: e.to_string(),
        }
    }
}

/// The version of the fast path's C ABI ([`RECORD_ABI_VERSION`]).
#[no_mangle]
pub extern "C" fn cairn_ffi_record_abi_version() -> u32 {
    RECORD_ABI_VERSION
}

/// Records one call (`kind`: a `CALL_*` code) on the client `handle` names.
/// See the module documentation for the contract and return values.
///
/// # Safety
///
/// `name` must be null or valid for reads of `name_len` bytes, `json` null
/// or valid for reads of `json_len` bytes, and `err` null or valid for
/// writes of `err_cap` bytes, all for the duration of the call; `err` must
/// not overlap the other two. Lengths and contents are checked: a negative
/// length, a null pointer with a length, or bytes that are not UTF-8 give an
/// error, not undefined behaviour.
#[no_mangle]
pub unsafe extern "C" fn cairn_ffi_record(
    handle: u64,
    kind: i32,
    name: *const u8,
    name_len: i32,
    json: *const u8,
    json_len: i32,
    err: *mut u8,
    err_cap: i32,
) -> i32 {
    // SAFETY: the caller's promise on `name` and `json` (this function's
    // contract) is what `record` needs.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
        record(handle, kind, name, name_len, json, json_len)
    }));
    let failure = match outcome {
        Ok(Ok(())) => return 0,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::internal(panic_text(payload.as_ref())),
    };
    // Writing the error does not panic (checked bounds, no unwrap), but
    // nothing may unwind into the caller's frames, whatever changes later.
    // SAFETY: the caller's promise on `err` is what `write_error` needs.
    panic::catch_unwind(AssertUnwindSafe(|| unsafe {
        write_error(&failure, err, err_cap)
    }))
    .unwrap_or(-1)
}

/// The call itself, with every check that can fail as an error.
///
/// # Safety
///
/// As [`cairn_ffi_record`] for `name` and `json`.
unsafe fn record(
    handle: u64,
    kind: i32,
    name: *const u8,
    name_len: i32,
    json: *const u8,
    json_len: i32,
) -> Result<(), Failure> {
    let what = match kind {
        CALL_TRACK => "event name",
        CALL_SCREEN => "screen name",
        CALL_PAGE => "page name",
        CALL_IDENTIFY => "user id",
        CALL_GROUP => "group id",
        CALL_ALIAS => "new id",
        other => {
            return Err(Failure::internal(format!(
                "unknown call kind {other}: the wrapper and libcairn_ffi come from different builds"
            )))
        }
    };
    // A closed client is the answer whatever the arguments, as on the uniffi
    // path (where the object is checked before its arguments).
    let client = registry::lookup(handle).ok_or_else(|| Failure {
        kind: ERR_CLOSED,
        message: "this cairn client was closed: create a new client to record more events".into(),
    })?;
    // SAFETY: forwarded from this function's contract.
    let name = unsafe { text(name, name_len, what) }?;
    if kind == CALL_ALIAS {
        return Ok(client.alias(name)?);
    }
    let field = if matches!(kind, CALL_IDENTIFY | CALL_GROUP) {
        "traits"
    } else {
        "properties"
    };
    // SAFETY: forwarded from this function's contract.
    let json = unsafe { text(json, json_len, field) }?;
    let result = match kind {
        CALL_TRACK => client.track_json(name, json),
        CALL_SCREEN => client.screen_json(name, json),
        CALL_PAGE => client.page_json(name, json),
        CALL_IDENTIFY => client.identify_json(name, json),
        _ => client.group_json(name, json),
    };
    Ok(result?)
}

/// The UTF-8 text at `ptr`, `len` bytes long; `what` names it in errors.
///
/// # Safety
///
/// `ptr` must be null or valid for reads of `len` bytes for `'a`.
unsafe fn text<'a>(ptr: *const u8, len: i32, what: &str) -> Result<&'a str, Failure> {
    let len = usize::try_from(len)
        .map_err(|_| Failure::invalid(format_args!("{what} has a negative length ({len})")))?;
    if len == 0 {
        return Ok("");
    }
    if ptr.is_null() {
        return Err(Failure::invalid(format_args!(
            "{what} is a null pointer with a length of {len}"
        )));
    }
    // SAFETY: `ptr` is non-null and, by the caller's promise, valid for reads
    // of `len` bytes for 'a; `len` came from an i32, so it is under isize::MAX;
    // u8 has no alignment requirement.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    std::str::from_utf8(bytes)
        .map_err(|e| Failure::invalid(format_args!("{what} is not valid UTF-8 ({e})")))
}

/// Writes `failure` to `err` as the module documentation says; returns the
/// bytes written, or -1 when `err` cannot hold even the kind.
///
/// # Safety
///
/// `err` must be null or valid for writes of `cap` bytes.
unsafe fn write_error(failure: &Failure, err: *mut u8, cap: i32) -> i32 {
    let cap = match usize::try_from(cap) {
        Ok(cap) if cap >= 1 && !err.is_null() => cap,
        _ => return -1,
    };
    let message = fit(&failure.message, cap - 1);
    // SAFETY: `err` is non-null and, by the caller's promise, valid for
    // writes of `cap` bytes; `cap` came from an i32 (under isize::MAX), and
    // nothing else refers to that memory during the call.
    let out = unsafe { std::slice::from_raw_parts_mut(err, cap) };
    out[0] = failure.kind;
    let mut n = 1;
    for part in message {
        out[n..n + part.len()].copy_from_slice(part.as_bytes());
        n += part.len();
    }
    // n <= cap, and cap came from an i32.
    i32::try_from(n).unwrap_or(-1)
}

/// `message` in at most `room` bytes, as parts to write in order: whole, or
/// cut at a character boundary and followed by "…" (when that fits too).
fn fit(message: &str, room: usize) -> [&str; 2] {
    if message.len() <= room {
        return [message, ""];
    }
    const MORE: &str = "…";
    let (limit, tail) = if room >= MORE.len() {
        (room - MORE.len(), MORE)
    } else {
        (room, "")
    };
    let mut end = limit;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    [&message[..end], tail]
}

/// The text of a panic payload (`panic!` with a literal or a format).
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::CairnClient;

    /// The Kotlin and Python tables of error kinds say what [`ERROR_KINDS`]
    /// says, kind for kind (Kotlin's `else` stands for `Internal`): a kind
    /// added or renumbered here without them fails this test.
    #[test]
    fn wrappers_map_every_error_kind_as_rust_defines_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let python = read("python/src/cairn/_record.py");
        let kotlin = read("kotlin/src/main/kotlin/dev/cairn/RecordCall.kt");
        let kinds = |text: &str, arrow: &str, prefix: &str| -> Vec<(u8, String)> {
            text.lines()
                .filter_map(|l| {
                    let (code, rest) = l.trim().split_once(arrow)?;
                    let name = rest.trim().strip_prefix(prefix)?;
                    let name: String = name
                        .chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect();
                    Some((code.trim().parse().ok()?, name))
                })
                .collect()
        };
        let want: Vec<(u8, String)> = ERROR_KINDS
            .iter()
            .map(|(c, n)| (*c, n.to_string()))
            .collect();
        assert_eq!(
            kinds(&python, ":", "CairnError."),
            want,
            "_ERRORS in _record.py"
        );
        let mut kt = kinds(&kotlin, "->", "CairnException.");
        assert!(
            kotlin.contains("else -> CairnException.Internal("),
            "RecordCall.kt's default"
        );
        kt.push((ERR_INTERNAL, "Internal".into()));
        kt.sort();
        assert_eq!(kt, want, "the `when` in RecordCall.kt");
    }

    /// Calls the C function as a wrapper would; returns the code and, on
    /// error, the kind and message.
    fn call(handle: u64, kind: i32, name: &[u8], json: &[u8], cap: usize) -> (i32, u8, String) {
        let mut err = vec![0u8; cap];
        // SAFETY: the slices are valid for their lengths during the call.
        let n = unsafe {
            cairn_ffi_record(
                handle,
                kind,
                name.as_ptr(),
                name.len() as i32,
                json.as_ptr(),
                json.len() as i32,
                err.as_mut_ptr(),
                cap as i32,
            )
        };
        if n <= 0 {
            return (n, 0, String::new());
        }
        let n = n as usize;
        (
            n as i32,
            err[0],
            String::from_utf8(err[1..n].to_vec()).unwrap(),
        )
    }

    fn client(dir: &std::path::Path) -> Arc<CairnClient> {
        CairnClient::new(crate::client::tests::config(dir)).unwrap()
    }

    #[test]
    fn every_call_kind_reaches_the_core() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let h = c.record_handle();
        for kind in [
            CALL_TRACK,
            CALL_SCREEN,
            CALL_PAGE,
            CALL_IDENTIFY,
            CALL_GROUP,
            CALL_ALIAS,
        ] {
            assert_eq!(
                call(h, kind, "Ünïcode ✓".as_bytes(), br#"{"k": "v"}"#, 64).0,
                0,
                "kind {kind}"
            );
        }
        // Empty properties, and a null pointer with a zero length, mean none.
        assert_eq!(call(h, CALL_TRACK, b"Bare", b"", 64).0, 0);
        let mut err = [0u8; 64];
        // SAFETY: name is valid for its length; json is null with length 0.
        let n = unsafe {
            cairn_ffi_record(
                h,
                CALL_TRACK,
                b"Null".as_ptr(),
                4,
                std::ptr::null(),
                0,
                err.as_mut_ptr(),
                64,
            )
        };
        assert_eq!(n, 0);
        assert!(c.commit(5_000).unwrap());
        // alias emits an event too; identify and group change state and record one each.
        assert_eq!(c.stats().queued_events, 8);
        assert_eq!(c.user_id().as_deref(), Some("Ünïcode ✓"));
    }

    #[test]
    fn the_core_refuses_in_its_words_and_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let h = c.record_handle();
        let (_, kind, m) = call(h, CALL_TRACK, b"X", b"[1]", 1024);
        assert_eq!(kind, ERR_INVALID_EVENT);
        let uniffi = c.track("X".into(), "[1]".into()).unwrap_err().to_string();
        assert_eq!(m, uniffi, "the same message as the uniffi path");
        let (_, kind, m) = call(h, CALL_TRACK, b" ", b"", 1024);
        assert_eq!(kind, ERR_INVALID_EVENT);
        assert!(m.contains("event name is empty"), "{m}");
        c.commit(5_000).unwrap();
        assert_eq!(
            c.stats().dropped.invalid,
            3,
            "two fast calls and one uniffi call"
        );
        assert_eq!(c.stats().queued_events, 0);
    }

    #[test]
    fn bad_bytes_and_pointers_are_errors_not_undefined_behaviour() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let h = c.record_handle();
        let (_, kind, m) = call(h, CALL_TRACK, b"\xff\xfe", b"", 256);
        assert_eq!(kind, ERR_INVALID_EVENT);
        assert!(m.contains("event name is not valid UTF-8"), "{m}");
        let (_, kind, m) = call(h, CALL_IDENTIFY, b"u", b"{\"a\": \"\xc3\"}", 256);
        assert_eq!(kind, ERR_INVALID_EVENT);
        assert!(m.contains("traits is not valid UTF-8"), "{m}");
        let mut err = [0u8; 256];
        // SAFETY: null pointers with lengths are what is under test; the
        // function must refuse them without reading.
        let n = unsafe {
            cairn_ffi_record(
                h,
                CALL_TRACK,
                std::ptr::null(),
                5,
                std::ptr::null(),
                0,
                err.as_mut_ptr(),
                256,
            )
        };
        assert_eq!(err[0], ERR_INVALID_EVENT);
        assert!(std::str::from_utf8(&err[1..n as usize])
            .unwrap()
            .contains("null pointer"));
        // SAFETY: as above, with a negative length.
        let n = unsafe {
            cairn_ffi_record(
                h,
                CALL_TRACK,
                b"x".as_ptr(),
                -1,
                std::ptr::null(),
                0,
                err.as_mut_ptr(),
                256,
            )
        };
        assert!(std::str::from_utf8(&err[1..n as usize])
            .unwrap()
            .contains("negative length"));
        let (_, kind, m) = call(h, 42, b"x", b"", 256);
        assert_eq!(kind, ERR_INTERNAL);
        assert!(m.contains("unknown call kind 42"), "{m}");
        // None of these reached the core, so none is counted.
        c.commit(5_000).unwrap();
        assert_eq!(c.stats().dropped.invalid, 0);
        // No room for the error: a negative code, nothing written; the core
        // refused (and counted) the empty name all the same.
        // SAFETY: a null error buffer is allowed.
        let n = unsafe {
            cairn_ffi_record(
                h,
                CALL_TRACK,
                b"".as_ptr(),
                0,
                std::ptr::null(),
                0,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(n, -1);
        c.commit(5_000).unwrap();
        assert_eq!(c.stats().dropped.invalid, 1);
    }

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        assert_eq!(fit("abc", 3), ["abc", ""]);
        assert_eq!(fit("abcdef", 5), ["ab", "…"]);
        assert_eq!(fit("aé", 2), ["a", ""]);
        assert_eq!(fit("ééé", 5), ["é", "…"]);
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let (n, kind, m) = call(c.record_handle(), CALL_TRACK, b"", b"", 12);
        assert_eq!((n, kind), (12, ERR_INVALID_EVENT));
        assert_eq!(m, "invalid …");
    }

    #[test]
    fn after_shutdown_the_core_says_so_and_after_drop_the_handle_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let h = c.record_handle();
        c.shutdown(0).unwrap();
        let (_, kind, m) = call(h, CALL_TRACK, b"Late", b"", 256);
        assert_eq!(kind, ERR_SHUT_DOWN);
        assert_eq!(
            m,
            c.track("Late".into(), String::new())
                .unwrap_err()
                .to_string()
        );
        drop(c);
        let (_, kind, m) = call(h, CALL_TRACK, b"Later", b"", 256);
        assert_eq!(kind, ERR_CLOSED);
        assert!(m.contains("closed"), "{m}");
        assert_eq!(call(0, CALL_TRACK, b"Never", b"", 256).1, ERR_CLOSED);
    }

    #[test]
    fn the_abi_version_is_exported() {
        assert_eq!(cairn_ffi_record_abi_version(), RECORD_ABI_VERSION);
    }
}
