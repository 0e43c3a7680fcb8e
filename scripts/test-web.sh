#!/usr/bin/env bash
# The browser build's suite: installs what it needs (scripts/setup-web.sh),
# builds the npm package (scripts/build-web.sh), prints the size report and
# checks it, then runs the tests in real headless Chromium (Debian's) against
# the real collector on 127.0.0.1. Ends with one line "web: N passed, M failed";
# exits non-zero if anything failed or if no test ran. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
LOG_DIR="${CAIRN_LOG_DIR:-$CARGO_TARGET_DIR/test-logs}"
mkdir -p "$LOG_DIR"

passed=0
failed=0
finish() {
    echo "web: $passed passed, $failed failed"
    if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
}

echo "==> web: tools"
./scripts/setup-web.sh

echo "==> web: build (cargo wasm32 + wasm-bindgen + wasm-opt)"
./scripts/build-web.sh

echo "==> web: size of what a page loads"
if node wasm/tests/size.mjs wasm/pkg; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "==> web: typed calls generated from the sample plan (tsc)"
# examples/plans/generated/tracking-plan.ts against the package's index.d.ts,
# with wasm/tests/plan/usage.ts (uses that must compile, misuses that must
# not); the compiled module is what the browser suite's plan test runs.
export CAIRN_PLAN_JS="$CARGO_TARGET_DIR/web-plan"
rm -rf "$CAIRN_PLAN_JS"
if wasm/.tools/node_modules/.bin/tsc -p wasm/tests/plan/tsconfig.json --outDir "$CAIRN_PLAN_JS" 2>&1 | tee "$LOG_DIR/web-tsc.log"; then
    echo "tsc: the generated TypeScript compiles; every misuse in usage.ts is a type error"
    passed=$((passed + 1))
else
    echo "tsc: failed (above)"
    failed=$((failed + 1))
fi

echo "==> web: the collector (cairn collect)"
source scripts/cargo-builds.sh
cargo_build debug cairn-cli
export CAIRN_BIN="$CARGO_TARGET_DIR/debug/cairn"

# Runs `node --test` with ARGS, its output in LOG_DIR/NAME.log, and counts
# its passes and failures; a run that exits non-zero without a failure (a
# timeout, a crash) fails, and so does one that ran no test at all: a suite
# that can skip silently is a broken one. `timeout SECONDS` bounds it.
browser_suite() {
    local name=$1 seconds=$2 status=0 p f
    shift 2
    timeout "$seconds" node --test --test-reporter=spec --test-concurrency=1 "$@" 2>&1 \
        | tee "$LOG_DIR/$name.log" || status=$?
    p=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$LOG_DIR/$name.log" | tail -1)
    f=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$LOG_DIR/$name.log" | tail -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "${p:-0}" -eq 0 ] || { [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
        echo "web: $name ran nothing, or exited with status $status (timeout or crash)"
        failed=$((failed + 1))
    fi
}

echo "==> web: headless Chromium tests"
# Bounded: each test has its own timeout; the whole run gets 8 minutes.
browser_suite web-browser 480 wasm/tests/browser/

# Tracking plans are a feature of their own (5,680 bytes gzip; the default
# package leaves them out): their tests run on a package built with it, and
# the default package is built again after, so wasm/pkg stays the default.
echo "==> web: tracking plans (a package built with CAIRN_WEB_FEATURES=tracking-plan)"
CAIRN_WEB_FEATURES=tracking-plan ./scripts/build-web.sh
if node wasm/tests/size.mjs wasm/pkg --tracking-plan; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
CAIRN_WEB_PLANS=1 browser_suite web-plans 240 --test-name-pattern 'tracking plans' wasm/tests/browser/

# Several destinations are a feature of their own too (13.3 KB gzip): their
# tests run on a package built with it.
echo "==> web: several destinations (a package built with CAIRN_WEB_FEATURES=destinations)"
CAIRN_WEB_FEATURES=destinations ./scripts/build-web.sh
if node wasm/tests/size.mjs wasm/pkg --destinations; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
CAIRN_WEB_DESTINATIONS=1 browser_suite web-destinations 240 wasm/tests/browser/destinations.test.mjs
./scripts/build-web.sh
finish
