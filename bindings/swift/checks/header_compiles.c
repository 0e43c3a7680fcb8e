/* Check 1: the generated header compiles as plain C (clang, -Werror). It is
 * included from a .c file because `-x c-header` on it trips over its
 * `#pragma once` (TOOLCHAIN.md G12). */
#include "CairnFFI.h"

int main(void) { return 0; }
