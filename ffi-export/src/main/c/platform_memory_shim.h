/*
 * The contract between the C shim and the Java side (org.platformmemory.ffi.NativeExports).
 * Not installed: a game never sees it. Keep PmTable in the order of NativeExports.ENTRIES.
 */
#ifndef PLATFORM_MEMORY_SHIM_H
#define PLATFORM_MEMORY_SHIM_H

#include "platform_memory.h"

/* One FFM upcall stub per operation, filled by Java through pm_install. */
typedef struct PmTable {
    uint64_t entries; /* PM_TABLE_ENTRIES: checks that both sides agree */
    void *(*alloc)(size_t size, uint32_t flags);
    void (*free)(void *ptr, size_t size);
    void *(*realloc)(void *ptr, size_t old_size, size_t new_size);
    void *(*alloc_aligned)(size_t size, size_t alignment, uint32_t flags);
    void *(*alloc_dbg)(size_t size, uint32_t flags, const char *file, int line);
    size_t (*size)(const void *ptr);
    void (*get_stats)(PlatformMemStats *out);
    size_t (*dump_leaks)(void);
    int32_t (*heap_create)(void);
    void *(*heap_alloc)(int64_t heap, size_t size, uint32_t flags);
    int32_t (*heap_free)(int64_t heap, void *ptr);
    int32_t (*heap_destroy)(int64_t heap);
    void (*shutdown)(void);
    uint64_t (*stat)(int32_t which); /* one PM_STAT_* figure, without building the whole struct */
} PmTable;

#define PM_TABLE_ENTRIES 14

enum { PM_STAT_LIVE_BYTES = 0, PM_STAT_PEAK_BYTES = 1, PM_STAT_LIVE_BLOCKS = 2, PM_STAT_RAM_FREE = 3,
       PM_STAT_RAM_TOTAL = 4 };

/* Java calls these back (their addresses are passed to NativeExports.install). */
typedef int (*PmInstallFn)(const PmTable *table, const char *backend);
typedef void (*PmReportFn)(int code, const char *message, void *ptr);

#endif
