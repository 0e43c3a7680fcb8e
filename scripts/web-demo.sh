#!/usr/bin/env bash
# The browser demo: builds the package, copies it next to the demo page,
# starts a collector on 127.0.0.1:8090 (it prints every event) and serves
# examples/web on 127.0.0.1:8080. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-web.sh
./scripts/build-web.sh
rm -rf examples/web/pkg && cp -r wasm/pkg examples/web/pkg
cargo build -q -p cairn-cli
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
"$TARGET_DIR/debug/cairn" collect --port "${COLLECTOR_PORT:-8090}" &
collector=$!
trap 'kill $collector 2>/dev/null || true' EXIT
node examples/web/serve.mjs "${DEMO_PORT:-8080}"
