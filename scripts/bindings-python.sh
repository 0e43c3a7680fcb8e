#!/usr/bin/env bash
# Makes bindings/python installable: builds the release libcairn_ffi.so,
# generates cairn_ffi.py, and puts both in bindings/python/src/cairn. Then:
#   python3 -m pip install ./bindings/python
set -euo pipefail
source "$(dirname "$0")/bindings-lib.sh"
build_bindgen
build_release
generate "$LIB_RELEASE" "$BUILD/generated"
stage_python "$BUILD/generated" "$LIB_RELEASE" "$BINDINGS_ROOT/bindings/python/src/cairn"
echo "bindings/python is ready: python3 -m pip install ./bindings/python"
