#!/usr/bin/env bash
# The short end-to-end bench (docs/performance.md): N = 100,000 in every
# phase. Fails on any lost or unexplained duplicate event and on the memory
# and wire budgets; prints the timing figures without failing on them (a
# shared CI machine is too noisy for that). Ends with one line
# "bench: N passed, M failed" and exits non-zero when a check fails.
# Every figure goes as one JSON line to <target>/bench/last.json (the path is
# printed), not to the log. Honours CARGO_TARGET_DIR.
set -uo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
source scripts/cargo-builds.sh
if ! cargo_build release cairn-cli; then
    echo "bench: 0 passed, 1 failed"
    exit 1
fi
"$target/release/cairn" bench --short --json-out "$target/bench/last.json"
