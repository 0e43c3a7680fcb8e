#!/usr/bin/env bash
# Builds the npm package into wasm/pkg: cairn-wasm for wasm32-unknown-unknown
# (profile release-wasm), wasm-bindgen (--target web), wasm-opt -Oz (npm
# binaryen), then the hand-written index.js / plan.js / index.d.ts / package.json;
# the shipped JS (glue, index.js, plan.js) is minified with terser (npm).
# Run scripts/setup-web.sh first (test-web.sh does). Honours CARGO_TARGET_DIR
# and CAIRN_WEB_FEATURES.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PKG=wasm/pkg
WASM_OPT=wasm/.tools/node_modules/.bin/wasm-opt
TERSER=wasm/.tools/node_modules/.bin/terser

# CAIRN_WEB_FEATURES (e.g. `amplitude,posthog`) adds cairn-wasm features: the
# Amplitude and PostHog wires are left out of the default package for size.
cargo build -p cairn-wasm --target wasm32-unknown-unknown --profile release-wasm --locked \
  ${CAIRN_WEB_FEATURES:+--features "$CAIRN_WEB_FEATURES"}
rm -rf "$PKG"
mkdir -p "$PKG"
# The package ships its own typed API (index.d.ts); the generated glue's
# types would only describe the internal Core class.
wasm-bindgen "$TARGET_DIR/wasm32-unknown-unknown/release-wasm/cairn_wasm.wasm" --target web --no-typescript --out-dir "$PKG"
# --low-memory-unused: Rust's data and stack lie above the first KB (the
# stack starts at 1 MiB), so loads and stores may fold offsets;
# --zero-filled-memory: the module's own memory starts zeroed (it is not
# imported), so zero data need not be written; --flatten --rereloop -Oz
# rebuilds the control flow, which -Oz then shrinks further (a second round
# still gains; a third loses).
"$WASM_OPT" -Oz --converge --strip-producers --strip-target-features --low-memory-unused --zero-filled-memory \
  --flatten --rereloop -Oz --flatten --rereloop -Oz "$PKG/cairn_wasm_bg.wasm" -o "$PKG/cairn_wasm_bg.wasm"
cp wasm/js/index.d.ts wasm/js/package.json "$PKG/"
# What a page loads is minified (ES modules: exports keep their names); the
# sources with their comments stay in wasm/js and the generated glue.
minify() { "$TERSER" "$1" --module --ecma 2020 --compress passes=2 --mangle --comments false -o "$2" "${@:3}"; }
minify "$PKG/cairn_wasm.js" "$PKG/cairn_wasm.js"
# index.js's own properties start with `_` and are private to it (nothing
# outside reads them, nor by string): their names are shortened too. Not in
# the glue, whose `__wbindgen_*` names are the module's exports.
minify wasm/js/index.js "$PKG/index.js" --mangle-props 'regex=/^_/'
# Tracking plans (feature `tracking-plan`): the page's checker, or in its
# place a module that refuses plans saying how to build one with them.
case ",${CAIRN_WEB_FEATURES:-}," in
  *,tracking-plan,*) minify wasm/js/plan.js "$PKG/plan.js" ;;
  *) minify wasm/js/no-plan.js "$PKG/plan.js" ;;
esac
cp docs/web.md "$PKG/README.md" 2>/dev/null || true
echo "build-web: package in $PKG"
