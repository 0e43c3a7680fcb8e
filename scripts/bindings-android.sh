#!/usr/bin/env bash
# Prepares the Android library module (bindings/kotlin/android):
#  - libcairn_ffi.so for each ABI, built with cargo-ndk into
#    bindings/kotlin/android/src/main/jniLibs/<abi>/ (release, stripped by cargo-ndk);
#  - the generated Kotlin bindings in bindings/kotlin/generated/, from the
#    unstripped host library of this workspace's uniffi-bindgen (identical for
#    every ABI).
# Then: cd bindings/kotlin && gradle :android:assembleRelease
# Needs the Android NDK (ANDROID_NDK_HOME) and cargo-ndk; neither exists on
# cairn's CI machines, so this script was written but not run: docs/kotlin.md.
set -euo pipefail
source "$(dirname "$0")/bindings-lib.sh"
ABIS=(${CAIRN_ANDROID_ABIS:-arm64-v8a armeabi-v7a x86_64 x86})
API_LEVEL=${CAIRN_ANDROID_API:-21}

if [[ -z ${ANDROID_NDK_HOME:-} || ! -d ${ANDROID_NDK_HOME:-/nonexistent} ]]; then
    echo "set ANDROID_NDK_HOME to an Android NDK (r26 or newer); none was found." >&2
    exit 2
fi
command -v cargo-ndk >/dev/null || cargo install cargo-ndk --version '^3' --locked
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android

JNI="$BINDINGS_ROOT/bindings/kotlin/android/src/main/jniLibs"
rm -rf "$JNI"
targets=()
for abi in "${ABIS[@]}"; do targets+=(-t "$abi"); done
(cd "$BINDINGS_ROOT" && cargo ndk "${targets[@]}" -P "$API_LEVEL" -o "$JNI" build --locked --release -p cairn-ffi)

build_debug
generate "$LIB_DEBUG" "$BUILD/generated"
rm -rf "$BINDINGS_ROOT/bindings/kotlin/generated"
mkdir -p "$BINDINGS_ROOT/bindings/kotlin/generated"
cp -r "$BUILD/generated/kotlin" "$BINDINGS_ROOT/bindings/kotlin/generated/kotlin"
find "$JNI" -name 'libcairn_ffi.so' | sort
echo "next: cd bindings/kotlin && gradle :android:assembleRelease   (AAR in android/build/outputs/aar/)"
