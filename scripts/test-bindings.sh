#!/usr/bin/env bash
# The bindings suite: Kotlin on a real JVM, Python with pytest, the Swift
# checks that need no Swift compiler, and the two track micro-benchmarks.
# Installs what it needs (skipping what is present), builds the library and
# the in-workspace uniffi-bindgen, generates the bindings, runs everything,
# and ends with one line "bindings: N passed, M failed". Exits non-zero when
# anything failed, or when a suite ran no test at all.
set -uo pipefail
source "$(dirname "$0")/bindings-lib.sh"
cd "$BINDINGS_ROOT"

passed=0
failed=0
problems=()
step() { printf '\n--> %s\n' "$*"; }
# count_line NAME FILE: adds the "NAME: N passed, M failed" line a suite printed.
count_line() {
    local line
    line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$2" | tail -1)
    if [[ -z $line ]]; then
        problems+=("$1 printed no result line")
        failed=$((failed + 1))
        return
    fi
    local p f
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    passed=$((passed + p))
    failed=$((failed + f))
    [[ $p -gt 0 ]] || problems+=("$1 ran no test")
}
finish() {
    for p in "${problems[@]}"; do echo "problem: $p"; done
    echo "bindings: $passed passed, $failed failed"
    [[ $failed -eq 0 && $passed -gt 0 && ${#problems[@]} -eq 0 ]] && exit 0
    exit 1
}
fatal() { problems+=("$1"); failed=$((failed + 1)); finish; }

LOGS="$BUILD/logs"
mkdir -p "$LOGS"

step "install (skipped when present)"
ensure_apt || fatal "apt-get install libjna-java junit4 clang failed"
ensure_kotlinc || fatal "npm install kotlin-compiler@$KOTLIN_VERSION failed"
ensure_venv || fatal "creating the Python venv with pytest failed"

step "build libcairn_ffi (debug) and uniffi-bindgen"
build_debug || fatal "cargo build -p cairn-ffi -p uniffi-bindgen failed"
GEN="$BUILD/generated"
step "generate Kotlin, Python and Swift bindings"
generate "$LIB_DEBUG" "$GEN" || fatal "uniffi-bindgen generate failed"
ls "$GEN"/kotlin/dev/cairn/ffi/cairn_ffi.kt "$GEN"/python/cairn_ffi.py "$GEN"/swift/CairnBindings.swift "$GEN"/include/CairnFFI/*

# ---------------------------------------------------------------- Kotlin
step "Kotlin: compile (kotlinc $KOTLIN_VERSION), then JUnit on the JVM"
KT="$BUILD/kotlin"
if kotlin_jar "$GEN" "$LIB_DEBUG" &&
    "$KOTLINC" -module-name cairn -Xfriend-paths="$KOTLIN_JAR" -cp "$KOTLIN_JAR:$JNA_JAR:$JUNIT_JAR:$HAMCREST_JAR" \
        bindings/kotlin/src/test/kotlin bindings/kotlin/src/bench/kotlin examples/kotlin-jvm/Main.kt \
        examples/plans/generated/TrackingPlan.kt examples/plans/generated/edge/TrackingPlan.kt \
        -d "$KT/tests.jar"; then
    # No jna.library.path: JNA loads libcairn_ffi.so from cairn-kotlin.jar, as an app would.
    java -cp "$KT/tests.jar:$KOTLIN_JAR:$JNA_JAR:$JUNIT_JAR:$HAMCREST_JAR:$KOTLIN_LIB/kotlin-stdlib.jar" \
        dev.cairn.TestMain 2>&1 | tee "$LOGS/kotlin.log"
    count_line kotlin "$LOGS/kotlin.log"
else
    problems+=("Kotlin compilation failed")
    failed=$((failed + 1))
fi

step "Kotlin: the Android source set type-checks (against SDK stubs; no android.jar here)"
if [[ -n ${KOTLIN_JAR:-} && -f $KOTLIN_JAR ]] && rm -rf "$KT/android-stubs" &&
    javac -d "$KT/android-stubs" $(find bindings/kotlin/src/androidStubs -name '*.java') &&
    "$KOTLINC" -module-name cairn -Xfriend-paths="$KOTLIN_JAR" -cp "$KOTLIN_JAR:$KT/android-stubs" \
        bindings/kotlin/src/android/kotlin -d "$KT/android-check.jar"; then
    echo "android-check: 1 passed, 0 failed" | tee "$LOGS/android.log"
else
    echo "android-check: 0 passed, 1 failed" | tee "$LOGS/android.log"
fi
count_line android-check "$LOGS/android.log"

# ---------------------------------------------------------------- Python
step "Python: pytest"
PY_PKG=bindings/python/src/cairn
stage_python "$GEN" "$LIB_DEBUG" "$PY_PKG"
(cd bindings/python && PYTHONPATH=src "$VENV/bin/python" -m pytest -q -p no:cacheprovider 2>&1) | tee "$LOGS/python.log"
py_status=${PIPESTATUS[0]}
summary=$(tail -1 "$LOGS/python.log")
number() { grep -oE "[0-9]+ $1" <<<"$summary" | grep -oE '^[0-9]+' || echo 0; }
py_passed=$(number passed)
py_failed=$(($(number failed) + $(number 'errors?')))
# A non-zero exit with nothing counted as failed (collection error, exit 5
# for "no tests collected") is a failure all the same.
if [[ $py_status -ne 0 && $py_failed -eq 0 ]]; then
    py_failed=1
    problems+=("pytest exited with $py_status ($([[ $py_status -eq 5 ]] && echo 'no test collected' || echo "$summary"))")
fi
echo "python: $py_passed passed, $py_failed failed" | tee -a "$LOGS/python.log"
count_line python "$LOGS/python.log"

# ---------------------------------------------------------------- Swift
step "Swift: checks without a Swift compiler"
scripts/bindings-swift-checks.sh "$GEN" "$LIB_DEBUG" 2>&1 | tee "$LOGS/swift.log"
count_line swift-checks "$LOGS/swift.log"

# ---------------------------------------------------------------- benchmarks
step "micro-benchmarks: one track call (release library; timings never fail the suite)"
if build_release; then
    java -Djna.library.path="$(dirname "$LIB_RELEASE")" \
        -cp "$KT/tests.jar:$KOTLIN_JAR:$JNA_JAR:$KOTLIN_LIB/kotlin-stdlib.jar" dev.cairn.bench.TrackBench ||
        problems+=("the Kotlin benchmark did not run")
    PY_BENCH="$BUILD/python-release"
    rm -rf "$PY_BENCH" && mkdir -p "$PY_BENCH" && cp -r "$PY_PKG" "$PY_BENCH/" && rm -rf "$PY_BENCH/cairn/__pycache__"
    stage_python "$GEN" "$LIB_RELEASE" "$PY_BENCH/cairn"
    PYTHONPATH="$PY_BENCH" "$VENV/bin/python" bindings/python/bench/track_bench.py ||
        problems+=("the Python benchmark did not run")
else
    problems+=("cargo build --release -p cairn-ffi failed")
fi

finish
