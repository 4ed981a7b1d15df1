/*
 * A deliberately broken build of the shim (see "contract_*" in CMakeLists.txt: the real sources with one
 * side of the C/Java contract changed) must refuse to start: Platform_Mem_Init fails with a message that
 * names the difference, every call returns NULL/0, and the process goes on.
 *
 *   test_contract EXPECTED     EXPECTED: a part of the message
 */
#include "platform_memory.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv) {
    const char *expected = argc > 1 ? argv[1] : "";
    int rc = Platform_Mem_Init("backend=system");
    CHECK(rc == PLATFORM_MEM_ERR_START, "Platform_Mem_Init refuses: %d", rc);
    CHECK(strstr(Platform_Mem_LastError(), expected) != NULL, "message names '%s': %s", expected,
          Platform_Mem_LastError());
    CHECK(Platform_Alloc(64, 0) == NULL, "nothing is allocated through a mismatched table");
    CHECK(Platform_Mem_GetAllocated() == 0, "figures are 0");
    printf("Platform_Mem_Init: %s\n", Platform_Mem_LastError());
    return check_summary();
}
