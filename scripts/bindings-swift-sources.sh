#!/usr/bin/env bash
# Regenerates the committed Swift sources of the package
# (bindings/swift/Sources/CairnBindings/CairnBindings.swift) from the
# library. Run it after changing an export in bindings/src and commit the
# result; scripts/test-bindings.sh fails while the committed file is stale.
set -euo pipefail
source "$(dirname "$0")/bindings-lib.sh"
build_debug
generate "$LIB_DEBUG" "$BUILD/generated"
cp "$BUILD/generated/swift/CairnBindings.swift" "$BINDINGS_ROOT/bindings/swift/Sources/CairnBindings/CairnBindings.swift"
echo "bindings/swift/Sources/CairnBindings/CairnBindings.swift regenerated"
