/* The smallest game: what README shows. Needs nothing but JAVA_HOME at run time. */
#include <platform_memory.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    char *name = Platform_Alloc(32, PLATFORM_MEM_CLEAR);
    if (name == NULL) {
        fprintf(stderr, "sdk_game: %s\n", Platform_Mem_LastError());
        return 1;
    }
    strcpy(name, "ok");
    printf("sdk_game: %s with backend %s\n", name, Platform_Mem_Backend());
    Platform_Free(name, 0);
    return Platform_Mem_GetCount() == 0 ? 0 : 1;
}
