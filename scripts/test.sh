#!/usr/bin/env bash
# Runs every test of the project. Installs what it needs (idempotently) first.
# Fails if anything fails; prints one closing line per suite and a total.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rust_components

step "build (workspace, all targets)"
cargo build --workspace --all-targets --locked

step "cargo test (workspace)"
cargo test --workspace --locked 2>&1 | tee "$LOG_DIR/cargo-test.log"
rust_summary "$LOG_DIR/cargo-test.log"
# The crash harness's figures, the crash window among them (docs/delivery.md).
for f in crash-harness crash-harness-backlog; do
    echo "== $f"; cat "target/tmp/$f.txt" 2>/dev/null && echo || echo "no figures written"
done

# Front-end suites: each script installs what it needs, runs its tests, fails
# on any failure, and prints one line "NAME: N passed, M failed".
run_suite bindings ./scripts/test-bindings.sh
run_suite web ./scripts/test-web.sh
run_suite bench ./scripts/bench-short.sh

step "clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "docs build (no broken intra-doc links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked >/dev/null

finish
