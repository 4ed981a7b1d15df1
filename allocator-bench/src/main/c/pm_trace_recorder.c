/*
 * libpm_trace_recorder.so: records a program's allocation trace at the C ABI, unchanged program.
 *
 *   PM_TRACE_FILE=game.trace LD_PRELOAD=libpm_trace_recorder.so dist/bin/demo_game --frames 60
 *
 * It stands in front of libplatform_memory.so (LD_PRELOAD wins symbol lookup), forwards every
 * allocation call to the real one (dlsym RTLD_NEXT) and writes the trace format of
 * docs/trace-format.md: "a ID SIZE", "f ID", "r ID SIZE". Calls from every thread are written in
 * the order they return, under one lock; aligned and private-heap allocations are recorded as plain
 * ones, and a heap's destroy as the frees of its live blocks.
 */
#define _GNU_SOURCE
#include "platform_memory.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { SLOTS = 1 << 20 }; /* open addressing: live blocks by address; far above any demo's count */

typedef struct Block {
    void *ptr;
    uint32_t id;
    intptr_t heap; /* 0: not in a private heap */
} Block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *trace;
static Block *blocks;
static uint32_t next_id = 1;
static void *tomb = (void *) 1;

static void *(*real_alloc)(size_t, uint32_t);
static void *(*real_alloc_dbg)(size_t, uint32_t, const char *, int);
static void *(*real_alloc_aligned)(size_t, size_t, uint32_t);
static void (*real_free)(void *, size_t);
static void *(*real_realloc)(void *, size_t, size_t);
static void *(*real_heap_alloc)(PlatformHeap, size_t, uint32_t);
static int (*real_heap_free)(PlatformHeap, void *);
static void (*real_heap_destroy)(PlatformHeap);

static void *next_symbol(const char *name) {
    void *symbol = dlsym(RTLD_NEXT, name);
    if (symbol == NULL) {
        fprintf(stderr, "pm_trace_recorder: %s not found behind the recorder\n", name);
        abort();
    }
    return symbol;
}

static void open_trace(void) { /* with lock held */
    if (blocks != NULL) {
        return;
    }
    real_alloc = (void *(*)(size_t, uint32_t)) next_symbol("Platform_Alloc");
    real_alloc_dbg = (void *(*)(size_t, uint32_t, const char *, int)) next_symbol("Platform_Alloc_Dbg");
    real_alloc_aligned = (void *(*)(size_t, size_t, uint32_t)) next_symbol("Platform_AllocAligned");
    real_free = (void (*)(void *, size_t)) next_symbol("Platform_Free");
    real_realloc = (void *(*)(void *, size_t, size_t)) next_symbol("Platform_Realloc");
    real_heap_alloc = (void *(*)(PlatformHeap, size_t, uint32_t)) next_symbol("Platform_HeapAlloc");
    real_heap_free = (int (*)(PlatformHeap, void *)) next_symbol("Platform_HeapFree");
    real_heap_destroy = (void (*)(PlatformHeap)) next_symbol("Platform_HeapDestroy");
    blocks = calloc(SLOTS, sizeof *blocks);
    const char *path = getenv("PM_TRACE_FILE");
    trace = fopen(path != NULL ? path : "platform-memory.trace", "w");
    if (blocks == NULL || trace == NULL) {
        fprintf(stderr, "pm_trace_recorder: cannot start (PM_TRACE_FILE=%s)\n", path != NULL ? path : "");
        abort();
    }
    fprintf(trace, "# platform-memory allocation trace 1 (docs/trace-format.md)\n");
}

static size_t slot_of(const void *ptr) {
    uintptr_t h = (uintptr_t) ptr >> 4;
    h ^= h >> 17;
    h *= 0xED5AD4BBu;
    return (size_t) (h & (SLOTS - 1));
}

static Block *find(const void *ptr) {
    for (size_t i = slot_of(ptr);; i = (i + 1) & (SLOTS - 1)) {
        if (blocks[i].ptr == ptr) {
            return &blocks[i];
        }
        if (blocks[i].ptr == NULL) {
            return NULL;
        }
    }
}

static void record_alloc(void *ptr, size_t size, intptr_t heap) {
    if (ptr == NULL) {
        return;
    }
    size_t i = slot_of(ptr);
    while (blocks[i].ptr != NULL && blocks[i].ptr != tomb) {
        i = (i + 1) & (SLOTS - 1);
    }
    blocks[i] = (Block) {ptr, next_id++, heap};
    fprintf(trace, "a %u %zu\n", blocks[i].id, size);
}

static void record_free(void *ptr) {
    Block *b = ptr != NULL ? find(ptr) : NULL;
    if (b != NULL) {
        fprintf(trace, "f %u\n", b->id);
        b->ptr = tomb;
    }
}

#define RECORDED(call, record)           \
    pthread_mutex_lock(&lock);           \
    open_trace();                        \
    pthread_mutex_unlock(&lock);         \
    call;                                \
    pthread_mutex_lock(&lock);           \
    record;                              \
    pthread_mutex_unlock(&lock)

PLATFORM_MEMORY_API void *Platform_Alloc(size_t size, uint32_t flags) {
    void *p;
    RECORDED(p = real_alloc(size, flags), record_alloc(p, size, 0));
    return p;
}

PLATFORM_MEMORY_API void *Platform_Alloc_Dbg(size_t size, uint32_t flags, const char *file, int line) {
    void *p;
    RECORDED(p = real_alloc_dbg(size, flags, file, line), record_alloc(p, size, 0));
    return p;
}

PLATFORM_MEMORY_API void *Platform_AllocAligned(size_t size, size_t alignment, uint32_t flags) {
    void *p;
    RECORDED(p = real_alloc_aligned(size, alignment, flags), record_alloc(p, size, 0));
    return p;
}

PLATFORM_MEMORY_API void *Platform_HeapAlloc(PlatformHeap heap, size_t size, uint32_t flags) {
    void *p;
    RECORDED(p = real_heap_alloc(heap, size, flags), record_alloc(p, size, (intptr_t) heap));
    return p;
}

/* The free is recorded before the real call: once freed, the address may be handed out again. */
PLATFORM_MEMORY_API void Platform_Free(void *ptr, size_t size) {
    pthread_mutex_lock(&lock);
    open_trace();
    record_free(ptr);
    pthread_mutex_unlock(&lock);
    real_free(ptr, size);
}

PLATFORM_MEMORY_API int Platform_HeapFree(PlatformHeap heap, void *ptr) {
    pthread_mutex_lock(&lock);
    open_trace();
    record_free(ptr);
    pthread_mutex_unlock(&lock);
    return real_heap_free(heap, ptr);
}

PLATFORM_MEMORY_API void Platform_HeapDestroy(PlatformHeap heap) {
    pthread_mutex_lock(&lock);
    open_trace();
    for (size_t i = 0; i < SLOTS; i++) {
        if (blocks[i].ptr != NULL && blocks[i].ptr != tomb && blocks[i].heap == (intptr_t) heap) {
            fprintf(trace, "f %u\n", blocks[i].id);
            blocks[i].ptr = tomb;
        }
    }
    pthread_mutex_unlock(&lock);
    real_heap_destroy(heap);
}

/* Held across the call: the old address is reused by the new block or freed by it. */
PLATFORM_MEMORY_API void *Platform_Realloc(void *ptr, size_t old_size, size_t new_size) {
    pthread_mutex_lock(&lock);
    open_trace();
    void *q = real_realloc(ptr, old_size, new_size);
    Block *b = ptr != NULL ? find(ptr) : NULL;
    if (ptr == NULL) {
        record_alloc(q, new_size, 0);
    } else if (new_size == 0) {
        record_free(ptr);
    } else if (q != NULL && b != NULL) {
        fprintf(trace, "r %u %zu\n", b->id, new_size);
        uint32_t id = b->id;
        intptr_t heap = b->heap;
        b->ptr = tomb;
        size_t i = slot_of(q);
        while (blocks[i].ptr != NULL && blocks[i].ptr != tomb) {
            i = (i + 1) & (SLOTS - 1);
        }
        blocks[i] = (Block) {q, id, heap};
    }
    pthread_mutex_unlock(&lock);
    return q;
}

__attribute__((destructor)) static void close_trace(void) {
    pthread_mutex_lock(&lock);
    if (trace != NULL) {
        fclose(trace);
        trace = NULL;
    }
    pthread_mutex_unlock(&lock);
}
