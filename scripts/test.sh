#!/usr/bin/env bash
# Runs every test of the project. Installs what it needs (idempotently) first.
# Fails if anything fails; prints one closing line per suite and a total.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

source scripts/cargo-builds.sh
ensure_rust_components

# Each artifact is built once and shared by the suites (scripts/cargo-builds.sh).
export CAIRN_SHARED_BUILD=1
step "build, debug: the workspace, all targets (cargo ${CAIRN_DEBUG_BUILD[*]})"
cargo "${CAIRN_DEBUG_BUILD[@]}"
step "build, release: libcairn_ffi and the cairn CLI, for the benchmarks (cargo ${CAIRN_RELEASE_BUILD[*]})"
cargo "${CAIRN_RELEASE_BUILD[@]}"

step "cargo test (workspace)"
cargo test --workspace --locked 2>&1 | tee "$LOG_DIR/cargo-test.log"
# The browser runtime with several destinations (feature `destinations`),
# on the host: its own feature set, so its own build of cairn-wasm.
cargo test -p cairn-wasm --features destinations --locked 2>&1 | tee -a "$LOG_DIR/cargo-test.log"
rust_summary "$LOG_DIR/cargo-test.log"
# The crash harness's figures, the crash window among them (docs/delivery.md).
for f in crash-harness crash-harness-backlog crash-harness-two-destinations; do
    echo "== $f"; cat "target/tmp/$f.txt" 2>/dev/null && echo || echo "no figures written"
done

# Front-end suites: each script installs what it needs, runs its tests, fails
# on any failure, and prints one line "NAME: N passed, M failed".
run_suite bindings ./scripts/test-bindings.sh
run_suite web ./scripts/test-web.sh
run_suite bench ./scripts/bench-short.sh

step "clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The browser build is no_std with other features: what it compiles, the
# native run above does not see (test-web.sh installed the wasm32 target).
cargo clippy -p cairn-wasm --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p cairn-wasm --target wasm32-unknown-unknown --locked --features amplitude,posthog,tracking-plan,destinations -- -D warnings
cargo clippy -p cairn-wasm --target wasm32-unknown-unknown --locked --features destinations -- -D warnings
cargo clippy -p cairn-wasm --all-targets --locked --features destinations -- -D warnings

step "docs build (no broken intra-doc links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked >/dev/null

finish
