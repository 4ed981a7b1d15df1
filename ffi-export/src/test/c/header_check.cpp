// Compiles every header as C++17 with -Wall -Wextra -Werror -pedantic.
#include "platform_memory.h"
#include "compat/memory_wrapper.h"
#include "compat/wwmem.h"

int header_check_cxx();
int header_check_cxx() {
    PlatformMemStats stats{};
    Platform_Mem_GetStats(&stats);
    return static_cast<int>(stats.live_blocks) + static_cast<int>(PLATFORM_MEM_CLEAR);
}
