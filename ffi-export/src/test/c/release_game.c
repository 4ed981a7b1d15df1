/* A game built against the unpacked release archive (release_check.cmake builds it with pkg-config and
 * with find_package). "release_game version" prints Platform_Mem_Version() and nothing else: no JVM may
 * start, so it runs without JAVA_HOME. Without an argument it also allocates through the layer, and says
 * which libplatform_memory.so it was given, so the check can tell it is the archive's. */
#define _GNU_SOURCE
#include <platform_memory.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *version = Platform_Mem_Version(); /* before any other call */
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("version %s\n", version);
        return 0;
    }
    Dl_info info;
    char library[PATH_MAX];
    if (dladdr((void *) &Platform_Mem_Version, &info) == 0 || info.dli_fname == NULL ||
        realpath(info.dli_fname, library) == NULL) {
        fprintf(stderr, "release_game: cannot tell where libplatform_memory.so is\n");
        return 1;
    }
    char *block = Platform_Alloc(64, PLATFORM_MEM_CLEAR);
    if (block == NULL || block[63] != 0) {
        fprintf(stderr, "release_game: %s\n", Platform_Mem_LastError());
        return 1;
    }
    Platform_Free(block, 0);
    int clean = Platform_Mem_GetCount() == 0;
    PlatformMemStats stats;
    Platform_Mem_GetStats(&stats);
    printf("library %s\n", library);
    printf("release_game: version %s, backend %s, ahead-of-time cache %llu, %s\n", version, Platform_Mem_Backend(),
           (unsigned long long) stats.aot_cache, clean ? "ok" : "leaked");
    Platform_Mem_Shutdown();
    printf("after shutdown: version %s\n", Platform_Mem_Version());
    return clean ? 0 : 1;
}
