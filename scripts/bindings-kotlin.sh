#!/usr/bin/env bash
# Builds bindings/build/kotlin/cairn-kotlin.jar for JVM apps: the Kotlin
# facade, the generated bindings and a release libcairn_ffi.so for
# linux-x86-64 (JNA loads it from the jar). The app adds JNA and the Kotlin
# stdlib. Installs kotlinc (npm) and JNA (Debian) when missing.
set -euo pipefail
source "$(dirname "$0")/bindings-lib.sh"
ensure_apt
ensure_kotlinc
build_bindgen
build_release
generate "$LIB_RELEASE" "$BUILD/generated"
kotlin_jar "$BUILD/generated" "$LIB_RELEASE"
echo "$KOTLIN_JAR"
