/* Check 5: one real call through the C ABI, as Swift makes it: ask the
 * library for the core's version and free the buffer it returns. Prints the
 * version; exits non-zero when the call reports an error. */
#include <stdio.h>
#include "CairnFFI.h"

int main(void) {
    RustCallStatus status = {0};
    RustBuffer version = uniffi_cairn_ffi_fn_func_cairn_version(&status);
    if (status.code != 0) {
        fprintf(stderr, "call failed with status %d\n", status.code);
        return 1;
    }
    printf("%.*s\n", (int)version.len, (const char *)version.data);
    RustCallStatus free_status = {0};
    ffi_cairn_ffi_rustbuffer_free(version, &free_status);
    return free_status.code;
}
