/* Compiles every header as C99 with -Wall -Wextra -Werror -pedantic. */
#include "platform_memory.h"
#include "compat/memory_wrapper.h"
#include "compat/wwmem.h"

int header_check_c(void);
int header_check_c(void) {
    PlatformMemStats stats;
    Platform_Mem_GetStats(&stats);
    return (int) stats.live_blocks + PLATFORM_MEM_CLEAR;
}
