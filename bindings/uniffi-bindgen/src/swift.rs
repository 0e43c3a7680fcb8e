//! `uniffi-bindgen-swift`: the Swift generator with the options an
//! XCFramework needs (`--xcframework`, `--module-name`, `--modulemap-filename`).

fn main() {
    uniffi::uniffi_bindgen_swift()
}
