/*
 * aot_training: the build's training run for the SDK's ahead-of-time cache (runtime.cmake runs it).
 *
 *   aot_training LIBRARY BACKEND...
 *
 * Loads the shim from LIBRARY (dist/lib/libplatform_memory.so, so that it starts the runtime bundled beside
 * it, with the jars and flags a game gets) and starts the layer the way a C host does, once per backend:
 * its first calls from a thread the JVM has never seen, blocks of every size class (refills from Java,
 * spills back), blocks above the caches' largest, cleared ones (a 64 MiB pool among them), resizes,
 * aligned blocks, a private heap, tags and frames, frees from another thread; then shuts the layer down.
 * At the end it destroys the JVM, which is when a JVM started with -XX:AOTCacheOutput writes the cache
 * (runtime.cmake passes that flag through PLATFORM_MEMORY_JVM_OPTIONS). The classes and profiles recorded
 * are those of these starts; what only tracking=leaks or debug, the live view or JFR load is left out, so
 * that a start that uses none of them does not pay for loading them.
 */
#define _GNU_SOURCE
#include "platform_memory.h"

#include <dlfcn.h>
#include <jni.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    int (*init)(const char *);
    void (*shutdown)(void);
    const char *(*last_error)(void);
    void *(*alloc)(size_t, uint32_t);
    void (*free)(void *, size_t);
    void *(*realloc)(void *, size_t, size_t);
    void *(*alloc_aligned)(size_t, size_t, uint32_t);
    PlatformHeap (*heap_create)(void);
    void *(*heap_alloc)(PlatformHeap, size_t, uint32_t);
    int (*heap_free)(PlatformHeap, void *);
    void (*heap_destroy)(PlatformHeap);
    int (*push_tag)(const char *);
    void (*pop_tag)(void);
    void (*frame_mark)(void);
    void (*get_stats)(PlatformMemStats *);
} pm;

static void *need(void *library, const char *name) {
    void *f = dlsym(library, name);
    if (f == NULL) {
        fprintf(stderr, "aot_training: %s has no %s\n", "the library", name);
        exit(2);
    }
    return f;
}

enum { BLOCKS = 1500 };

/* Allocates and frees BLOCKS blocks of each size a few times: refills from Java, spills back. */
static void sizes_round(void) {
    static void *blocks[BLOCKS];
    for (size_t size = 16; size <= ((size_t) 1 << 20); size = size < 256 ? size + 16 : size * 5 / 4) {
        int n = size <= 4096 ? BLOCKS : size <= 65536 ? 64 : 4;
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < n; i++) {
                blocks[i] = pm.alloc(size, i % 7 == 0 ? PLATFORM_MEM_CLEAR : PLATFORM_MEM_NORMAL);
            }
            for (int i = 0; i < n; i++) {
                pm.free(blocks[i], i % 3 == 0 ? size : 0);
            }
        }
    }
}

/* Blocks the caches do not serve, resizes, alignment, a heap, tags, frames. */
static void other_calls(void) {
    for (int i = 0; i < 200; i++) {
        void *big = pm.alloc((size_t) (2 + i % 6) << 20, PLATFORM_MEM_NORMAL);
        void *grown = pm.realloc(big, 0, (size_t) (3 + i % 6) << 20);
        pm.free(grown != NULL ? grown : big, 0);
        void *small = pm.alloc(100, PLATFORM_MEM_NORMAL);
        small = pm.realloc(small, 100, 5000);
        pm.free(small, 0);
        void *aligned = pm.alloc_aligned(500, (size_t) 64 << (i % 3), PLATFORM_MEM_NORMAL);
        pm.free(aligned, 0);
    }
    for (int i = 0; i < 20; i++) { /* cleared blocks that zero by discarding pages, and a cleared pool */
        void *cleared = pm.alloc((size_t) (1 + i % 3) << 20, PLATFORM_MEM_CLEAR);
        pm.free(cleared, 0);
    }
    void *pool = pm.alloc_aligned((size_t) 64 << 20, 4096, PLATFORM_MEM_CLEAR);
    pm.free(pool, 0);
    PlatformHeap heap = pm.heap_create();
    for (int i = 0; i < 500; i++) {
        void *p = pm.heap_alloc(heap, 64 + (size_t) i, PLATFORM_MEM_NORMAL);
        if (i % 2 == 0) {
            pm.heap_free(heap, p);
        }
    }
    pm.heap_destroy(heap);
    for (int frame = 0; frame < 50; frame++) {
        pm.push_tag("training");
        void *p = pm.alloc(4096, PLATFORM_MEM_NORMAL);
        pm.pop_tag();
        pm.free(p, 0);
        pm.frame_mark();
    }
    PlatformMemStats stats;
    pm.get_stats(&stats);
}

static void *freed_elsewhere[BLOCKS];

static void *free_them(void *arg) {
    (void) arg;
    for (int i = 0; i < BLOCKS; i++) {
        pm.free(freed_elsewhere[i], 0);
    }
    return NULL;
}

/* A thread the JVM never saw: its first blocks, and blocks it hands to another thread to free. */
static void *new_thread(void *arg) {
    (void) arg;
    sizes_round();
    for (int i = 0; i < BLOCKS; i++) {
        freed_elsewhere[i] = pm.alloc(64 + (size_t) (i % 16) * 16, PLATFORM_MEM_NORMAL);
    }
    pthread_t other;
    pthread_create(&other, NULL, free_them, NULL);
    pthread_join(other, NULL);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: aot_training LIBRARY BACKEND...\n");
        return 2;
    }
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (library == NULL) {
        fprintf(stderr, "aot_training: %s\n", dlerror());
        return 2;
    }
    pm.init = need(library, "Platform_Mem_Init");
    pm.shutdown = need(library, "Platform_Mem_Shutdown");
    pm.last_error = need(library, "Platform_Mem_LastError");
    pm.alloc = need(library, "Platform_Alloc");
    pm.free = need(library, "Platform_Free");
    pm.realloc = need(library, "Platform_Realloc");
    pm.alloc_aligned = need(library, "Platform_AllocAligned");
    pm.heap_create = need(library, "Platform_HeapCreate");
    pm.heap_alloc = need(library, "Platform_HeapAlloc");
    pm.heap_free = need(library, "Platform_HeapFree");
    pm.heap_destroy = need(library, "Platform_HeapDestroy");
    pm.push_tag = need(library, "Platform_Mem_PushTag");
    pm.pop_tag = need(library, "Platform_Mem_PopTag");
    pm.frame_mark = need(library, "Platform_Mem_FrameMark");
    pm.get_stats = need(library, "Platform_Mem_GetStats");
    for (int i = 2; i < argc; i++) {
        char options[128];
        snprintf(options, sizeof options, "backend=%s", argv[i]);
        if (pm.init(options) != PLATFORM_MEM_OK) {
            fprintf(stderr, "aot_training: cannot start %s: %s\n", options, pm.last_error());
            return 1;
        }
        pthread_t thread;
        pthread_create(&thread, NULL, new_thread, NULL);
        pthread_join(thread, NULL);
        sizes_round();
        other_calls();
        pm.shutdown();
    }
    jint (*created)(JavaVM **, jsize, jsize *) = (jint (*)(JavaVM **, jsize, jsize *)) dlsym(RTLD_DEFAULT,
                                                                                            "JNI_GetCreatedJavaVMs");
    JavaVM *vm = NULL;
    jsize n = 0;
    if (created == NULL || created(&vm, 1, &n) != JNI_OK || n != 1) {
        fprintf(stderr, "aot_training: no JVM to destroy\n");
        return 1;
    }
    /* the cache is written as the JVM goes; this thread was attached by the shim's first call */
    if ((*vm)->DestroyJavaVM(vm) != JNI_OK) {
        fprintf(stderr, "aot_training: DestroyJavaVM failed\n");
        return 1;
    }
    return 0;
}
