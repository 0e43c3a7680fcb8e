#!/usr/bin/env bash
# Installs what the browser build and its tests need, skipping what is
# present: Debian's chromium + chromium-driver (+ clang), the wasm32 target,
# wasm-bindgen-cli at the exact version of the wasm-bindgen crate, and, in a
# project-local node_modules (wasm/.tools), binaryen's wasm-opt, terser (which
# minifies the shipped JS) and playwright-core. Safe to run again; prints what
# it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal the `wasm-bindgen = "=…"` pin in wasm/Cargo.toml
BINARYEN_VERSION=132.0.0       # npm's binaryen; Debian's 108 breaks the module (TOOLCHAIN G6)
PLAYWRIGHT_VERSION=1.65.1
TERSER_VERSION=5.51.4          # minifies the glue and index.js (scripts/build-web.sh)
TOOLS=wasm/.tools

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v clang >/dev/null 2>&1 || missing+=(clang)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-web: installing ${missing[*]} (apt)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo "setup-web: adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}\$"; then
    # No --locked: the CLI's lockfile pins a webpki-roots the index here does
    # not have (TOOLCHAIN G1). Takes about 6 minutes on 2 cores.
    echo "setup-web: installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (cargo install, ~6 min)"
    cargo install wasm-bindgen-cli --version "=${WASM_BINDGEN_VERSION}"
fi

have_npm() { [ -f "$TOOLS/node_modules/$1/package.json" ] && grep -q "\"version\": \"$2\"" "$TOOLS/node_modules/$1/package.json"; }
have_all_npm() { have_npm binaryen "$BINARYEN_VERSION" && have_npm playwright-core "$PLAYWRIGHT_VERSION" && have_npm terser "$TERSER_VERSION"; }
if ! have_all_npm; then
    echo "setup-web: installing binaryen@${BINARYEN_VERSION}, terser@${TERSER_VERSION} and playwright-core@${PLAYWRIGHT_VERSION} into $TOOLS"
    mkdir -p "$TOOLS"
    [ -f "$TOOLS/package.json" ] || echo '{ "name": "cairn-web-tools", "private": true }' > "$TOOLS/package.json"
    (cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error \
        "binaryen@${BINARYEN_VERSION}" "terser@${TERSER_VERSION}" "playwright-core@${PLAYWRIGHT_VERSION}" 2>&1 | grep -v 'Unknown user config' || true)
    have_all_npm || {
        echo "setup-web: npm could not install binaryen/terser/playwright-core into $TOOLS" >&2
        exit 1
    }
fi
