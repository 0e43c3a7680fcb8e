#!/usr/bin/env bash
# Builds bindings/swift/CairnFFI.xcframework: the static Rust library for iOS
# devices (arm64), the iOS simulator (arm64 + x86_64) and macOS (arm64 +
# x86_64), each with include/CairnFFI/{CairnFFI.h,module.modulemap}.
# Needs a Mac with Xcode (xcodebuild, lipo) and rustup; it was written on
# Linux, where none of the Apple steps can run: see docs/swift.md.
set -euo pipefail
source "$(dirname "$0")/bindings-lib.sh"

if [[ $(uname -s) != Darwin ]] || ! command -v xcodebuild >/dev/null; then
    echo "bindings-xcframework.sh needs macOS with Xcode (xcodebuild, lipo, the iOS SDK)." >&2
    echo "On Linux, scripts/test-bindings.sh runs the checks that can run without them." >&2
    exit 2
fi

TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${TARGETS[@]}"
export IPHONEOS_DEPLOYMENT_TARGET=13.0 MACOSX_DEPLOYMENT_TARGET=10.15
for t in "${TARGETS[@]}"; do
    (cd "$BINDINGS_ROOT" && cargo build --locked --release -p cairn-ffi --target "$t")
done
rel() { echo "$TARGET_DIR/$1/release/libcairn_ffi.a"; }

OUT="$BUILD/xcframework"
rm -rf "$OUT" && mkdir -p "$OUT/ios" "$OUT/ios-sim" "$OUT/macos"
cp "$(rel aarch64-apple-ios)" "$OUT/ios/libcairn_ffi.a"
lipo -create "$(rel aarch64-apple-ios-sim)" "$(rel x86_64-apple-ios)" -output "$OUT/ios-sim/libcairn_ffi.a"
lipo -create "$(rel aarch64-apple-darwin)" "$(rel x86_64-apple-darwin)" -output "$OUT/macos/libcairn_ffi.a"

# Header, module map and Swift sources come from the (unstripped) macOS
# dylib of the same build, with this workspace's uniffi-bindgen (G9).
(cd "$BINDINGS_ROOT" && cargo build --locked -q -p uniffi-bindgen)
BINDGEN_SWIFT="$TARGET_DIR/debug/uniffi-bindgen-swift"
DYLIB="$TARGET_DIR/aarch64-apple-darwin/release/libcairn_ffi.dylib"
(cd "$BINDINGS_ROOT" && "$BINDGEN_SWIFT" --headers --modulemap --metadata-no-deps --module-name CairnFFI \
    --modulemap-filename module.modulemap "$DYLIB" "$OUT/include/CairnFFI")
(cd "$BINDINGS_ROOT" && "$BINDGEN_SWIFT" --swift-sources --metadata-no-deps "$DYLIB" "$OUT/swift")
cp "$OUT/swift/CairnBindings.swift" "$BINDINGS_ROOT/bindings/swift/Sources/CairnBindings/CairnBindings.swift"

XCF="$BINDINGS_ROOT/bindings/swift/CairnFFI.xcframework"
rm -rf "$XCF"
xcodebuild -create-xcframework \
    -library "$OUT/ios/libcairn_ffi.a" -headers "$OUT/include" \
    -library "$OUT/ios-sim/libcairn_ffi.a" -headers "$OUT/include" \
    -library "$OUT/macos/libcairn_ffi.a" -headers "$OUT/include" \
    -output "$XCF"
echo "built bindings/swift/CairnFFI.xcframework; now: cd bindings/swift && swift build && swift test"
