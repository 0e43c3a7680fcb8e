# Shared by the bindings scripts (sourced, not run): where things are, the
# installs they need (each skipped when already present), and the build and
# generate steps, written once so the test suite and the packaging scripts
# do them the same way.

BINDINGS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$BINDINGS_ROOT/target}"
TOOLS="$BINDINGS_ROOT/bindings/.tools"
BUILD="$BINDINGS_ROOT/bindings/build"
KOTLIN_VERSION="2.4.20"
KOTLIN_HOME="$TOOLS/node_modules/kotlin-compiler"
KOTLINC="$KOTLIN_HOME/bin/kotlinc"
KOTLIN_LIB="$KOTLIN_HOME/lib"
VENV="$TOOLS/venv"
JNA_JAR=/usr/share/java/jna.jar
JUNIT_JAR=/usr/share/java/junit4.jar
HAMCREST_JAR=/usr/share/java/hamcrest-core.jar

say() { printf '  %s\n' "$*"; }
source "$BINDINGS_ROOT/scripts/cargo-builds.sh"

# Debian packages: JNA and JUnit for the JVM tests, clang for the Swift header checks.
ensure_apt() {
    if [[ -f $JNA_JAR && -f $JUNIT_JAR && -f $HAMCREST_JAR ]] && command -v clang >/dev/null; then
        say "apt: libjna-java, junit4, clang present"
        return
    fi
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    say "apt: installing libjna-java libjna-jni junit4 clang (Debian packages)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends libjna-java libjna-jni junit4 clang >/dev/null
}

# The Kotlin compiler from npm, into bindings/.tools (not global, not committed).
ensure_kotlinc() {
    if [[ -x $KOTLINC ]] && grep -q "\"version\": \"$KOTLIN_VERSION\"" "$KOTLIN_HOME/package.json" 2>/dev/null; then
        say "kotlinc $KOTLIN_VERSION present"
        return
    fi
    say "npm: installing kotlin-compiler@$KOTLIN_VERSION into bindings/.tools (a JDK-hosted kotlinc)"
    mkdir -p "$TOOLS"
    [[ -f $TOOLS/package.json ]] || printf '{\n  "name": "cairn-bindings-tools",\n  "private": true\n}\n' >"$TOOLS/package.json"
    (cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
}

# A virtual environment with pytest, and tree-sitter-swift for the Swift syntax check.
ensure_venv() {
    if [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c "import pytest, tree_sitter, tree_sitter_swift" 2>/dev/null; then
        say "venv with pytest present"
        return
    fi
    say "python: creating the venv bindings/.tools/venv, pip installing pytest tree-sitter tree-sitter-swift"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check pytest tree-sitter tree-sitter-swift
}

# The debug cdylib and the bindgen, in ONE cargo invocation (TOOLCHAIN.md G4:
# separate invocations would alternate uniffi's `cli` feature and rebuild it
# each time); under test.sh, its shared workspace build (cargo-builds.sh).
build_debug() {
    (cd "$BINDINGS_ROOT" && cargo_build debug -q cairn-ffi uniffi-bindgen)
    LIB_DEBUG="$TARGET_DIR/debug/libcairn_ffi.so"
    BINDGEN="$TARGET_DIR/debug/uniffi-bindgen"
    BINDGEN_SWIFT="$TARGET_DIR/debug/uniffi-bindgen-swift"
}

# The bindgen alone, for the packaging scripts: they generate from the
# release library they ship (not stripped: the release profile keeps the
# symbols the metadata is read from, G9), so no debug cdylib is built for them.
build_bindgen() {
    (cd "$BINDINGS_ROOT" && cargo_build debug -q uniffi-bindgen)
    BINDGEN="$TARGET_DIR/debug/uniffi-bindgen"
    BINDGEN_SWIFT="$TARGET_DIR/debug/uniffi-bindgen-swift"
}

# The release cdylib (no `cli` feature in it): what ships, and what the
# benchmarks measure. Under test.sh it comes from the release build shared
# with the bench suite (cairn-cli's features unified in, the same code paths).
build_release() {
    (cd "$BINDINGS_ROOT" && cargo_build release -q cairn-ffi)
    LIB_RELEASE="$TARGET_DIR/release/libcairn_ffi.so"
}

# generate LIB OUT: Kotlin, Python and Swift sources, plus the XCFramework's
# header directory (include/CairnFFI/{CairnFFI.h,module.modulemap}: one
# subdirectory per module so that two uniffi libraries in one app never
# collide on include/module.modulemap). Needs the unstripped library (G9).
generate() {
    local lib=$1 out=$2
    rm -rf "$out"
    mkdir -p "$out"
    (
        cd "$BINDINGS_ROOT"
        for lang in kotlin python swift; do
            "$BINDGEN" generate --no-format --metadata-no-deps --library "$lib" --language "$lang" --out-dir "$out/$lang" >/dev/null
        done
        "$BINDGEN_SWIFT" --headers --modulemap --metadata-no-deps --module-name CairnFFI \
            --modulemap-filename module.modulemap "$lib" "$out/include/CairnFFI" >/dev/null
    )
}

# stage_python GEN LIB DIR: the generated module and the library beside the
# package's own sources (the generated module loads the library from its
# own directory, G5).
stage_python() {
    local gen=$1 lib=$2 dir=$3
    cp "$gen/python/cairn_ffi.py" "$dir/cairn_ffi.py"
    cp "$lib" "$dir/libcairn_ffi.so"
}

# kotlin_jar GEN LIB: compiles the generated bindings and the facade and
# packs them with the library under JNA's resource prefix (linux-x86-64/),
# so a JVM app needs only this jar, JNA and the Kotlin stdlib. kotlinc is
# slow (G11): each step is skipped while its inputs are unchanged.
kotlin_jar() {
    local gen=$1 lib=$2 out="$BUILD/kotlin"
    mkdir -p "$out"
    local gen_kt="$gen/kotlin/dev/cairn/ffi/cairn_ffi.kt"
    local ffi_hash facade_hash
    ffi_hash=$(sha256sum "$gen_kt" | cut -c1-16)
    facade_hash=$( (echo "$ffi_hash"; cat "$BINDINGS_ROOT"/bindings/kotlin/src/main/kotlin/dev/cairn/*.kt) | sha256sum | cut -c1-16)
    if [[ ! -f $out/ffi-$ffi_hash.jar ]]; then
        say "kotlinc: generated bindings"
        rm -f "$out"/ffi-*.jar
        "$KOTLINC" -nowarn -module-name cairn-ffi -cp "$JNA_JAR" "$gen_kt" -d "$out/ffi-$ffi_hash.jar" 2>&1 | grep -v "^warning: unable to find kotlin-stdlib" || true
    fi
    if [[ ! -f $out/facade-$facade_hash.jar ]]; then
        say "kotlinc: facade"
        rm -f "$out"/facade-*.jar
        "$KOTLINC" -module-name cairn -cp "$JNA_JAR:$out/ffi-$ffi_hash.jar" "$BINDINGS_ROOT/bindings/kotlin/src/main/kotlin" \
            -d "$out/facade-$facade_hash.jar"
    fi
    [[ -f $out/ffi-$ffi_hash.jar && -f $out/facade-$facade_hash.jar ]] || return 1
    local stage="$out/stage"
    rm -rf "$stage" && mkdir -p "$stage/linux-x86-64"
    (cd "$stage" && jar xf "$out/ffi-$ffi_hash.jar" && jar xf "$out/facade-$facade_hash.jar" && rm -f META-INF/MANIFEST.MF)
    # The distinct module names keep both META-INF/*.kotlin_module files, which
    # Kotlin needs to see top-level declarations (the ConsentState typealias).
    # Debug info is not needed at run time; generation already read the full library (G9).
    objcopy --strip-debug "$lib" "$stage/linux-x86-64/libcairn_ffi.so"
    jar cf "$out/cairn-kotlin.jar" -C "$stage" .
    rm -rf "$stage"
    KOTLIN_JAR="$out/cairn-kotlin.jar"
}
