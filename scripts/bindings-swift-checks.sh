#!/usr/bin/env bash
# What can be checked of the Swift package without a Swift compiler (none
# exists for Debian; see docs/swift.md): the generated C header and module
# map, the library's exports, the checksums Swift verifies at load time, a
# real C-ABI call, the committed generated Swift being current, the syntax
# of the hand-written Swift and of the typed calls `cairn plan codegen`
# generates for the sample plan, and the package layout.
# Usage: bindings-swift-checks.sh GENERATED_DIR LIBRARY   (as test-bindings.sh calls it)
# Prints "ok"/"FAIL" per check and ends with "swift-checks: N passed, M failed".
set -uo pipefail
source "$(dirname "$0")/bindings-lib.sh"
GEN=$1
LIB=$2
STATIC="${LIB%.so}.a"
SWIFT="$BINDINGS_ROOT/bindings/swift"
CHECKS="$SWIFT/checks"
WORK="$BUILD/swift-checks"
rm -rf "$WORK" && mkdir -p "$WORK"
INCLUDE="$GEN/include"
passed=0
failed=0

check() {
    local name=$1; shift
    local log="$WORK/check-$((passed + failed)).log"
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$log" | tail -20
    fi
}

# The functions the header declares, one per line.
header_functions() {
    grep -oE '^[A-Za-z_][A-Za-z0-9_ ]*[ *]((uniffi|ffi)_cairn_ffi_[A-Za-z0-9_]+)\(' "$INCLUDE/CairnFFI/CairnFFI.h" |
        grep -oE '(uniffi|ffi)_cairn_ffi_[A-Za-z0-9_]+' | sort -u
}

exported_by() {
    local missing
    missing=$(comm -23 <(header_functions) <(nm "$@" 2>/dev/null | awk '$2 == "T" {print $3}' | sort -u))
    local count; count=$(header_functions | wc -l)
    [[ $count -gt 0 ]] || { echo "the header declares no function"; return 1; }
    [[ -z $missing ]] || { echo "declared but not exported:"; echo "$missing"; return 1; }
    echo "$count functions, all exported"
}

checksums_match() {
    local swift="$GEN/swift/CairnBindings.swift"
    # What Swift compares at load time: "if (uniffi_..._checksum_x() != 123)" and the contract version.
    grep -oE 'uniffi_cairn_ffi_checksum_[a-z0-9_]+\(\) != [0-9]+' "$swift" | sed -E 's/\(\) != / /' | sort >"$WORK/expected"
    echo "contract_version $(grep -oE 'bindings_contract_version = [0-9]+' "$swift" | grep -oE '[0-9]+$')" >>"$WORK/expected"
    [[ $(wc -l <"$WORK/expected") -gt 1 ]] || { echo "no checksum found in $swift"; return 1; }
    {
        echo '#include <stdio.h>'
        echo '#include "CairnFFI.h"'
        echo 'int main(void) {'
        while read -r fn _; do
            [[ $fn == contract_version ]] && continue
            echo "    printf(\"$fn %u\\n\", (unsigned)$fn());"
        done <"$WORK/expected"
        echo '    printf("contract_version %u\n", (unsigned)ffi_cairn_ffi_uniffi_contract_version());'
        echo '    return 0;'
        echo '}'
    } >"$WORK/checksums.c"
    clang -std=c11 -I "$INCLUDE/CairnFFI" "$WORK/checksums.c" -L "$(dirname "$LIB")" -lcairn_ffi -o "$WORK/checksums" &&
        LD_LIBRARY_PATH="$(dirname "$LIB")" "$WORK/checksums" | sort >"$WORK/actual" &&
        diff <(sort "$WORK/expected") "$WORK/actual" &&
        echo "$(($(wc -l <"$WORK/expected") - 1)) checksums and the contract version match"
}

abi_call() {
    clang -std=c11 -I "$INCLUDE/CairnFFI" "$CHECKS/abi_call.c" -L "$(dirname "$LIB")" -lcairn_ffi -o "$WORK/abi_call" || return 1
    local got want
    got=$(LD_LIBRARY_PATH="$(dirname "$LIB")" "$WORK/abi_call") || return 1
    want=$(grep -m1 -oE '^version = "[^"]+"' "$BINDINGS_ROOT/Cargo.toml" | cut -d'"' -f2)
    echo "core version through the C ABI: $got (workspace: $want)"
    [[ $got == "$want" ]]
}

generated_swift_current() {
    diff -u "$SWIFT/Sources/CairnBindings/CairnBindings.swift" "$GEN/swift/CairnBindings.swift" | head -40
    cmp -s "$SWIFT/Sources/CairnBindings/CairnBindings.swift" "$GEN/swift/CairnBindings.swift" ||
        { echo "out of date: run scripts/bindings-swift-sources.sh and commit the result"; return 1; }
}

package_layout() {
    local ok=0
    for f in Package.swift Sources/CairnBindings/CairnBindings.swift Sources/Cairn/Cairn.swift Tests/CairnTests/CairnTests.swift; do
        [[ -f $SWIFT/$f ]] || { echo "missing bindings/swift/$f"; ok=1; }
    done
    for t in CairnFFI CairnBindings Cairn CairnTests; do
        grep -q "name: \"$t\"" "$SWIFT/Package.swift" || { echo "Package.swift has no target $t"; ok=1; }
    done
    grep -q 'binaryTarget(name: "CairnFFI", path: "CairnFFI.xcframework")' "$SWIFT/Package.swift" ||
        { echo "the binary target must be CairnFFI.xcframework"; ok=1; }
    grep -q 'bindings/swift/CairnFFI.xcframework' "$BINDINGS_ROOT/scripts/bindings-xcframework.sh" ||
        { echo "bindings-xcframework.sh does not write the path Package.swift names"; ok=1; }
    [[ -x $BINDINGS_ROOT/scripts/bindings-xcframework.sh ]] || { echo "bindings-xcframework.sh is not executable"; ok=1; }
    grep -q '^module CairnFFI {' "$INCLUDE/CairnFFI/module.modulemap" || { echo "the module map does not declare CairnFFI"; ok=1; }
    grep -q 'canImport(CairnFFI)' "$GEN/swift/CairnBindings.swift" || { echo "the generated Swift does not import CairnFFI"; ok=1; }
    return $ok
}

check "header compiles as C11 (clang -Wall -Wextra -Werror)" \
    clang -std=c11 -Wall -Wextra -Werror -fsyntax-only -I "$INCLUDE/CairnFFI" "$CHECKS/header_compiles.c"
check "header compiles with gcc (nullability annotations defined away)" \
    gcc -std=c11 -Wall -Werror -fsyntax-only -D_Nullable= -D_Nonnull= -I "$INCLUDE/CairnFFI" "$CHECKS/header_compiles.c"
check "module map imports CairnFFI as a clang module from include/CairnFFI/" \
    clang -x objective-c -fmodules -fmodules-cache-path="$WORK/module-cache" -fsyntax-only -I "$INCLUDE" "$CHECKS/module_import.m"
check "every header function is exported by libcairn_ffi.so" exported_by -D --defined-only "$LIB"
if [[ -f $STATIC ]]; then
    check "every header function is in libcairn_ffi.a (what the XCFramework links)" exported_by --defined-only "$STATIC"
fi
check "contract version and API checksums in the Swift sources equal the library's" checksums_match
check "a real call through the C ABI returns the core version" abi_call
check "committed Sources/CairnBindings/CairnBindings.swift is the freshly generated one" generated_swift_current
check "hand-written Swift and Package.swift parse (tree-sitter-swift)" \
    "$VENV/bin/python" "$CHECKS/syntax_check.py" "$SWIFT/Package.swift" "$SWIFT"/Sources/Cairn/*.swift "$SWIFT"/Tests/CairnTests/*.swift
check "Swift typed calls generated from the sample plans parse (tree-sitter-swift; examples/plans/generated)" \
    "$VENV/bin/python" "$CHECKS/syntax_check.py" "$BINDINGS_ROOT/examples/plans/generated/TrackingPlan.swift" \
    "$BINDINGS_ROOT/examples/plans/generated/edge/TrackingPlan.swift"
check "package layout is complete (targets, binary target, XCFramework script, module names)" package_layout

echo "swift-checks: $passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
