// Check 2: the module map in include/CairnFFI/ is found by module name and
// imports as a clang module, as Swift will import it from the XCFramework.
@import CairnFFI;

int main(void) {
    return ffi_cairn_ffi_uniffi_contract_version() == 0;
}
