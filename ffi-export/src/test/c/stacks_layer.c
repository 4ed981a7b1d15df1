/*
 * stacks_layer.c - a stand-in for libplatform_memory.so around pm_stacks.c, for test_stacks: the entries a
 * game calls (Platform_Alloc, Platform_Alloc_Dbg, ... on malloc) capture the caller's stack as the shim's do,
 * from a helper of their own, so the frames pm_stack_capture must drop are those of a real shared object;
 * stacks_* export the module's calls to the test (they are hidden in the shim).
 */
#include "platform_memory.h"
#include "pm_stacks.h"

#include <stdlib.h>
#include <string.h>

#define STACKS_API __attribute__((visibility("default")))
/* after a call, so that the call is not a tail call and its caller stays a frame */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static _Thread_local int32_t last_stack;

/* The shim's path: an entry, then the call that captures. */
static __attribute__((noinline)) int32_t layer_capture(const char *file, int line) {
    int32_t id = pm_stack_capture(file, line);
    KEEP_FRAME();
    return id;
}

static __attribute__((noinline)) void *layer_alloc(size_t size, const char *file, int line) {
    last_stack = layer_capture(file, line);
    return malloc(size == 0 ? 1 : size);
}

PLATFORM_MEMORY_API void *Platform_Alloc(size_t size, uint32_t flags) {
    (void) flags;
    void *p = layer_alloc(size, NULL, 0);
    KEEP_FRAME();
    return p;
}

PLATFORM_MEMORY_API void *Platform_Alloc_Dbg(size_t size, uint32_t flags, const char *file, int line) {
    (void) flags;
    void *p = layer_alloc(size, file, line);
    KEEP_FRAME();
    return p;
}

PLATFORM_MEMORY_API void *Platform_HeapAlloc(PlatformHeap heap, size_t size, uint32_t flags) {
    (void) heap;
    (void) flags;
    void *p = layer_alloc(size, NULL, 0);
    KEEP_FRAME();
    return p;
}

PLATFORM_MEMORY_API void Platform_Free(void *ptr, size_t size) {
    (void) size;
    free(ptr);
}

PLATFORM_MEMORY_API size_t Platform_Mem_GetAllocated(void) {
    return 0;
}

PLATFORM_MEMORY_API size_t Platform_Ram_Free(void) {
    return (size_t) 1 << 30;
}

PLATFORM_MEMORY_API const char *Platform_Mem_LastError(void) {
    return "";
}

/* The stack id the calling thread's last allocation captured. */
STACKS_API int32_t stacks_last(void) {
    return last_stack;
}

/* Captures the caller's stack through the layer's own path, as an entry would. */
STACKS_API int32_t stacks_capture(const char *file, int line) {
    int32_t id = layer_capture(file, line);
    KEEP_FRAME();
    return id;
}

static __attribute__((noinline)) int32_t layer_deep(int levels, const char *file, int line) {
    int32_t id = levels > 0 ? layer_deep(levels - 1, file, line) : layer_capture(file, line);
    KEEP_FRAME();
    return id;
}

/* The same through levels more frames of the layer (an entry with a long way to the capture). */
STACKS_API int32_t stacks_capture_deep(int levels, const char *file, int line) {
    int32_t id = layer_deep(levels, file, line);
    KEEP_FRAME();
    return id;
}

STACKS_API int stacks_open(int depth, char *why, size_t size) {
    return pm_stacks_open(depth, 1, why, size);
}

STACKS_API size_t stacks_describe(int32_t id, char *out, size_t size) {
    return pm_stack_describe(id, out, size);
}

STACKS_API void stacks_site(int32_t id, const char **file, int *line) {
    pm_stack_site(id, file, line);
}

STACKS_API void stacks_usage(uint64_t *stacks, uint64_t *bytes) {
    pm_stacks_usage(stacks, bytes);
}
