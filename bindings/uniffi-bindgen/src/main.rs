//! `uniffi-bindgen`: generates the Kotlin, Swift and Python sources for
//! `libcairn_ffi` (`generate --library <lib> --language <lang> --out-dir <dir>`).
//!
//! It is built from this workspace so that it always has the exact uniffi
//! version the library was built with (pinned in the root Cargo.toml).

fn main() {
    uniffi::uniffi_bindgen_main()
}
