/*
 * memory_wrapper.h - the Win32 memory API on top of platform_memory.h, for a game ported off Windows.
 *
 * Real semantics, not stubs:
 *   - VirtualAlloc: page-aligned (4096), zeroed; VirtualFree(MEM_RELEASE) needs the base address and
 *     size 0, MEM_DECOMMIT zeroes the range and keeps it.
 *   - HeapCreate makes a real private heap: HeapDestroy frees every block still in it at once.
 *     HEAP_ZERO_MEMORY (0x08) zeroes; on HeapReAlloc only the grown tail. HEAP_REALLOC_IN_PLACE_ONLY
 *     (0x10) fails, leaving the block as it was, unless the size does not change. HeapSize returns
 *     (SIZE_T)-1 for a pointer that is not a live block. GetProcessHeap's blocks are ordinary blocks.
 *   - GlobalAlloc/LocalAlloc: GMEM_FIXED (0) returns the pointer itself; GMEM_MOVEABLE (2) returns a
 *     real handle that GlobalLock turns into a pointer (with a lock count per block), GlobalReAlloc may
 *     move (unless the block is locked and GMEM_MOVEABLE is not passed), and a failed GlobalReAlloc
 *     leaves the original valid. GlobalHandle maps a pointer back to its handle. GMEM_ZEROINIT (0x40).
 *   - ZeroMemory/CopyMemory/MoveMemory/FillMemory.
 *   - GlobalMemoryStatus: the machine's figures from the OS (/proc/meminfo), not the layer's budget.
 * Every function is static inline; nothing to link but libplatform_memory. Win32 types are defined
 * only when the game has none (define PLATFORM_MEMORY_HAVE_WIN32_TYPES if it has its own).
 */
#ifndef PLATFORM_MEMORY_WRAPPER_H
#define PLATFORM_MEMORY_WRAPPER_H

#include "../platform_memory.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(__linux__)
#  include <sys/resource.h>
#  include <sys/sysinfo.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Types and constants, only where the game has none ------------------------------------------ */

#if !defined(_WIN32) && !defined(PLATFORM_MEMORY_HAVE_WIN32_TYPES)
typedef int BOOL;
typedef uint32_t DWORD;
typedef unsigned int UINT;
typedef size_t SIZE_T;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef void *HANDLE;
typedef HANDLE HGLOBAL;
typedef HANDLE HLOCAL;
#  ifndef TRUE
#    define TRUE 1
#  endif
#  ifndef FALSE
#    define FALSE 0
#  endif
#  ifndef WINAPI
#    define WINAPI
#  endif
#endif

#ifndef MEM_COMMIT
#  define MEM_COMMIT 0x00001000u
#  define MEM_RESERVE 0x00002000u
#  define MEM_DECOMMIT 0x00004000u
#  define MEM_RELEASE 0x00008000u
#  define PAGE_READWRITE 0x04u
#  define PAGE_NOACCESS 0x01u
#endif
#ifndef HEAP_ZERO_MEMORY
#  define HEAP_NO_SERIALIZE 0x00000001u
#  define HEAP_GENERATE_EXCEPTIONS 0x00000004u
#  define HEAP_ZERO_MEMORY 0x00000008u
#  define HEAP_REALLOC_IN_PLACE_ONLY 0x00000010u
#endif
#ifndef GMEM_FIXED
#  define GMEM_FIXED 0x0000u
#  define GMEM_MOVEABLE 0x0002u
#  define GMEM_ZEROINIT 0x0040u
#  define GPTR (GMEM_FIXED | GMEM_ZEROINIT)
#  define GHND (GMEM_MOVEABLE | GMEM_ZEROINIT)
#  define LMEM_FIXED GMEM_FIXED
#  define LMEM_MOVEABLE GMEM_MOVEABLE
#  define LMEM_ZEROINIT GMEM_ZEROINIT
#  define LPTR GPTR
#  define LHND GHND
#endif

/* GlobalMemoryStatus's record, laid out as Win32's: dwLength and dwMemoryLoad are DWORDs, the figures
 * SIZE_T (so 8 bytes each, at offset 8 onwards, on a 64-bit build). Define
 * PLATFORM_MEMORY_HAVE_MEMORYSTATUS if the game declares its own. */
#if !defined(_WIN32) && !defined(PLATFORM_MEMORY_HAVE_MEMORYSTATUS)
typedef struct _MEMORYSTATUS {
    DWORD dwLength;         /* sizeof(MEMORYSTATUS), set by GlobalMemoryStatus */
    DWORD dwMemoryLoad;     /* per cent of physical memory in use, 0 to 100 */
    SIZE_T dwTotalPhys;     /* physical memory */
    SIZE_T dwAvailPhys;     /* physical memory available without paging anything out */
    SIZE_T dwTotalPageFile; /* the commit limit: physical memory plus swap */
    SIZE_T dwAvailPageFile; /* what of it is available: available physical memory plus free swap */
    SIZE_T dwTotalVirtual;  /* the process's user address space (its RLIMIT_AS, if one is set) */
    SIZE_T dwAvailVirtual;  /* what of it the process has not mapped yet */
} MEMORYSTATUS, *LPMEMORYSTATUS;
#endif

#define PM_PAGE_SIZE ((SIZE_T) 4096)

/* ---- Virtual memory ------------------------------------------------------------------------------- */

/* Reserves and commits size bytes, page-aligned and zeroed, as Windows does: the pages are mapped, not
 * written, so nothing is resident until the game writes it and a large reservation costs address space
 * only (MEM_RESERVE alone is served the same way). Committing a range inside a block this function
 * returned (address != NULL, MEM_COMMIT only) returns address. Failure: NULL. */
static inline LPVOID VirtualAlloc(LPVOID address, SIZE_T size, DWORD type, DWORD protect) {
    (void) protect;
    if (size == 0) {
        return NULL;
    }
    if (address != NULL) {
        return (type & MEM_RESERVE) == 0 ? address : NULL;
    }
    return Platform_AllocAligned(size, PM_PAGE_SIZE, PLATFORM_MEM_CLEAR);
}

/* MEM_RELEASE: frees the whole block; size must be 0 and address its base. MEM_DECOMMIT: discards the
 * range (size 0 means the whole block when address is its base) with Platform_Mem_Discard: its whole
 * pages go back to the system and read as zero when next touched, its partial pages are zeroed, and the
 * block stays. Returns TRUE, or FALSE for a bad call: a range that is not inside one block is refused,
 * never touched. */
static inline BOOL VirtualFree(LPVOID address, SIZE_T size, DWORD type) {
    if (address == NULL) {
        return FALSE;
    }
    if (type == MEM_RELEASE) {
        if (size != 0 || Platform_Mem_Size(address) == 0) {
            return FALSE;
        }
        Platform_Free(address, 0);
        return TRUE;
    }
    if (type == MEM_DECOMMIT) {
        SIZE_T whole = Platform_Mem_Size(address);
        if (whole != 0) { /* address is a block's base */
            if (size > whole) {
                return FALSE;
            }
            return Platform_Mem_Discard(address, 0, size == 0 ? whole : size) ? TRUE : FALSE;
        }
        /* inside a block: find its base, the page-aligned start at or before address */
        for (unsigned char *base = (unsigned char *) ((uintptr_t) address & ~(uintptr_t) (PM_PAGE_SIZE - 1));
             base != NULL; base -= PM_PAGE_SIZE) {
            SIZE_T block = Platform_Mem_Size(base);
            if (block != 0) {
                SIZE_T offset = (SIZE_T) ((unsigned char *) address - base);
                if (size == 0 || offset >= block || size > block - offset) {
                    return FALSE;
                }
                return Platform_Mem_Discard(base, offset, size) ? TRUE : FALSE;
            }
            if ((uintptr_t) base < PM_PAGE_SIZE || (SIZE_T) ((unsigned char *) address - base) > ((SIZE_T) 1 << 30)) {
                break;
            }
        }
        return FALSE;
    }
    return FALSE;
}

/* Accepted; memory is never paged out from under the game here. TRUE for a non-NULL range. */
static inline BOOL VirtualLock(LPVOID address, SIZE_T size) {
    (void) size;
    return address != NULL;
}

static inline BOOL VirtualUnlock(LPVOID address, SIZE_T size) {
    (void) size;
    return address != NULL;
}

/* ---- Heaps ---------------------------------------------------------------------------------------- */

/* The process heap: its blocks are ordinary Platform_Alloc blocks. */
#define PM_PROCESS_HEAP ((HANDLE) (intptr_t) 0x50524F43)

static inline HANDLE GetProcessHeap(void) {
    return PM_PROCESS_HEAP;
}

/* A new private heap (sizes are hints and ignored); NULL on failure. */
static inline HANDLE HeapCreate(DWORD options, SIZE_T initial_size, SIZE_T maximum_size) {
    (void) options;
    (void) initial_size;
    (void) maximum_size;
    return (HANDLE) Platform_HeapCreate();
}

/* Frees every block still in the heap, then the heap. FALSE for the process heap or NULL. */
static inline BOOL HeapDestroy(HANDLE heap) {
    if (heap == NULL || heap == PM_PROCESS_HEAP) {
        return FALSE;
    }
    Platform_HeapDestroy((PlatformHeap) heap);
    return TRUE;
}

static inline LPVOID HeapAlloc(HANDLE heap, DWORD flags, SIZE_T bytes) {
    uint32_t pm_flags = (flags & HEAP_ZERO_MEMORY) ? PLATFORM_MEM_CLEAR : PLATFORM_MEM_NORMAL;
    if (bytes == 0) {
        bytes = 1; /* Win32 hands out a valid block for 0 bytes */
    }
    return heap == PM_PROCESS_HEAP ? Platform_Alloc(bytes, pm_flags)
                                   : Platform_HeapAlloc((PlatformHeap) heap, bytes, pm_flags);
}

/* The size of a live block of that heap (any live block for the process heap); (SIZE_T)-1 otherwise,
 * and the layer reports a block of another heap or an unknown heap. */
static inline SIZE_T HeapSize(HANDLE heap, DWORD flags, LPCVOID pointer) {
    (void) flags;
    SIZE_T size = heap == PM_PROCESS_HEAP ? Platform_Mem_Size(pointer)
                                          : Platform_HeapSize((PlatformHeap) heap, pointer);
    return size == 0 ? (SIZE_T) -1 : size;
}

/* Resizes a live block of that heap (it stays in its heap). HEAP_ZERO_MEMORY zeroes only the grown tail;
 * HEAP_REALLOC_IN_PLACE_ONLY fails unless the size is unchanged. Failure: NULL, the block as it was. */
static inline LPVOID HeapReAlloc(HANDLE heap, DWORD flags, LPVOID pointer, SIZE_T bytes) {
    SIZE_T old = HeapSize(heap, 0, pointer);
    if (old == (SIZE_T) -1) {
        return NULL; /* not a live block of that heap: reported, nothing changed */
    }
    if (bytes == 0) {
        bytes = 1;
    }
    if (flags & HEAP_REALLOC_IN_PLACE_ONLY) {
        return bytes == old ? pointer : NULL;
    }
    unsigned char *moved = (unsigned char *) Platform_Realloc(pointer, old, bytes);
    if (moved != NULL && (flags & HEAP_ZERO_MEMORY) && bytes > old) {
        Platform_ZeroMemory(moved + old, bytes - old);
    }
    return moved;
}

/* TRUE if pointer was a live block of that heap (NULL counts), else FALSE (and the layer reports it). */
static inline BOOL HeapFree(HANDLE heap, DWORD flags, LPVOID pointer) {
    (void) flags;
    if (pointer == NULL) {
        return TRUE;
    }
    if (heap == PM_PROCESS_HEAP) {
        BOOL live = Platform_Mem_Size(pointer) != 0;
        Platform_Free(pointer, 0);
        return live;
    }
    return Platform_HeapFree((PlatformHeap) heap, pointer) ? TRUE : FALSE;
}

/* ---- Global and local memory ---------------------------------------------------------------------- */

/* A moveable block: the handle is this record's address + 8, so it can never be taken for a 16-byte
 * aligned fixed block. The block keeps a pointer back to its record in its first 16 bytes. */
typedef struct PmGlobalRecord {
    uint32_t magic;
    uint32_t locks;
    UINT flags;
    unsigned char *block; /* the record pointer, then the caller's bytes at block + 16; NULL if empty */
} PmGlobalRecord;

#define PM_GLOBAL_MAGIC 0x474C4F42u /* "GLOB" */
#define PM_GLOBAL_PREFIX ((SIZE_T) 16)

static inline int pm_is_moveable(HGLOBAL handle) {
    return ((uintptr_t) handle & 15u) == 8u;
}

/* The record behind a moveable handle, or NULL if it is not a live one (checked without reading
 * memory that is not ours). */
static inline PmGlobalRecord *pm_record(HGLOBAL handle) {
    if (!pm_is_moveable(handle)) {
        return NULL;
    }
    PmGlobalRecord *record = (PmGlobalRecord *) ((unsigned char *) handle - 8);
    if (Platform_Mem_Size(record) != sizeof(PmGlobalRecord) || record->magic != PM_GLOBAL_MAGIC) {
        return NULL;
    }
    return record;
}

static inline HGLOBAL GlobalAlloc(UINT flags, SIZE_T bytes) {
    uint32_t pm_flags = (flags & GMEM_ZEROINIT) ? PLATFORM_MEM_CLEAR : PLATFORM_MEM_NORMAL;
    if (!(flags & GMEM_MOVEABLE)) {
        return (HGLOBAL) Platform_Alloc(bytes == 0 ? 1 : bytes, pm_flags);
    }
    PmGlobalRecord *record = (PmGlobalRecord *) Platform_Alloc(sizeof(PmGlobalRecord), PLATFORM_MEM_CLEAR);
    if (record == NULL) {
        return NULL;
    }
    record->magic = PM_GLOBAL_MAGIC;
    record->flags = flags;
    if (bytes != 0) {
        if (bytes > SIZE_MAX - PM_GLOBAL_PREFIX) {
            Platform_Free(record, 0);
            return NULL;
        }
        record->block = (unsigned char *) Platform_Alloc(bytes + PM_GLOBAL_PREFIX, pm_flags);
        if (record->block == NULL) {
            Platform_Free(record, 0);
            return NULL;
        }
        *(PmGlobalRecord **) record->block = record;
    }
    return (HGLOBAL) ((unsigned char *) record + 8);
}

/* The caller's pointer: a fixed block is its own pointer; a moveable one gains a lock. */
static inline LPVOID GlobalLock(HGLOBAL handle) {
    if (!pm_is_moveable(handle)) {
        return Platform_Mem_Size(handle) != 0 ? handle : NULL;
    }
    PmGlobalRecord *record = pm_record(handle);
    if (record == NULL || record->block == NULL) {
        return NULL;
    }
    record->locks++;
    return record->block + PM_GLOBAL_PREFIX;
}

/* TRUE while the block is still locked, FALSE once its lock count reaches 0 (or it was not locked). */
static inline BOOL GlobalUnlock(HGLOBAL handle) {
    PmGlobalRecord *record = pm_record(handle);
    if (record == NULL || record->locks == 0) {
        return FALSE;
    }
    record->locks--;
    return record->locks != 0;
}

static inline SIZE_T GlobalSize(HGLOBAL handle) {
    if (!pm_is_moveable(handle)) {
        return Platform_Mem_Size(handle);
    }
    PmGlobalRecord *record = pm_record(handle);
    return record == NULL || record->block == NULL ? 0 : Platform_Mem_Size(record->block) - PM_GLOBAL_PREFIX;
}

/* The handle of a pointer GlobalLock (or a fixed GlobalAlloc) returned; NULL if there is none. */
static inline HGLOBAL GlobalHandle(LPCVOID pointer) {
    if (pointer == NULL) {
        return NULL;
    }
    if (Platform_Mem_Size(pointer) != 0) {
        return (HGLOBAL) pointer; /* a fixed block */
    }
    unsigned char *block = (unsigned char *) pointer - PM_GLOBAL_PREFIX;
    if (((uintptr_t) block & 15u) != 0 || Platform_Mem_Size(block) == 0) {
        return NULL;
    }
    PmGlobalRecord *record = *(PmGlobalRecord **) block;
    HGLOBAL handle = (HGLOBAL) ((unsigned char *) record + 8);
    return pm_record(handle) == record && record->block == block ? handle : NULL;
}

/* Resizes. A moveable block may move unless it is locked and GMEM_MOVEABLE is not in flags; a fixed
 * block moves only with GMEM_MOVEABLE. GMEM_ZEROINIT zeroes the grown tail. Returns the (same or new)
 * handle, or NULL with the original left valid. */
static inline HGLOBAL GlobalReAlloc(HGLOBAL handle, SIZE_T bytes, UINT flags) {
    if (bytes == 0) {
        bytes = 1;
    }
    if (!pm_is_moveable(handle)) {
        SIZE_T old = Platform_Mem_Size(handle);
        if (old == 0) {
            return NULL;
        }
        if (!(flags & GMEM_MOVEABLE)) {
            return bytes == old ? handle : NULL;
        }
        unsigned char *moved = (unsigned char *) Platform_Realloc(handle, old, bytes);
        if (moved != NULL && (flags & GMEM_ZEROINIT) && bytes > old) {
            Platform_ZeroMemory(moved + old, bytes - old);
        }
        return (HGLOBAL) moved;
    }
    PmGlobalRecord *record = pm_record(handle);
    if (record == NULL || bytes > SIZE_MAX - PM_GLOBAL_PREFIX) {
        return NULL;
    }
    SIZE_T old = record->block == NULL ? 0 : Platform_Mem_Size(record->block) - PM_GLOBAL_PREFIX;
    if (bytes == old && record->block != NULL) {
        return handle; /* nothing to do, and a locked pointer stays valid */
    }
    if (record->locks != 0 && !(flags & GMEM_MOVEABLE)) {
        return NULL; /* locked: it may not move */
    }
    uint32_t pm_flags = (flags & GMEM_ZEROINIT) ? PLATFORM_MEM_CLEAR : PLATFORM_MEM_NORMAL;
    unsigned char *moved = record->block == NULL
        ? (unsigned char *) Platform_Alloc(bytes + PM_GLOBAL_PREFIX, pm_flags)
        : (unsigned char *) Platform_Realloc(record->block, 0, bytes + PM_GLOBAL_PREFIX);
    if (moved == NULL) {
        return NULL;
    }
    if ((flags & GMEM_ZEROINIT) && bytes > old && record->block != NULL) {
        Platform_ZeroMemory(moved + PM_GLOBAL_PREFIX + old, bytes - old);
    }
    record->block = moved;
    *(PmGlobalRecord **) moved = record;
    return handle;
}

/* Frees the block (and a moveable block's handle). Returns NULL, or the handle if it was not valid. */
static inline HGLOBAL GlobalFree(HGLOBAL handle) {
    if (handle == NULL) {
        return NULL;
    }
    if (!pm_is_moveable(handle)) {
        if (Platform_Mem_Size(handle) == 0) {
            Platform_Free(handle, 0); /* reported by the layer */
            return handle;
        }
        Platform_Free(handle, 0);
        return NULL;
    }
    PmGlobalRecord *record = pm_record(handle);
    if (record == NULL) {
        return handle;
    }
    if (record->block != NULL) {
        Platform_Free(record->block, 0);
    }
    record->magic = 0;
    Platform_Free(record, 0);
    return NULL;
}

static inline HLOCAL LocalAlloc(UINT flags, SIZE_T bytes) {
    return GlobalAlloc(flags, bytes);
}

static inline HLOCAL LocalFree(HLOCAL handle) {
    return GlobalFree(handle);
}

static inline LPVOID LocalLock(HLOCAL handle) {
    return GlobalLock(handle);
}

static inline BOOL LocalUnlock(HLOCAL handle) {
    return GlobalUnlock(handle);
}

/* ---- Memory status -------------------------------------------------------------------------------- */

/* A figure clamped to SIZE_T, as Win32 clamps on a 32-bit build (where SIZE_T is 4 bytes). */
static inline SIZE_T pm_clamp_size(uint64_t bytes) {
    return bytes > (uint64_t) (SIZE_T) -1 ? (SIZE_T) -1 : (SIZE_T) bytes;
}

/* Reads "Key:  N kB" lines of a /proc file into out[i] (bytes) for each keys[i]; returns how many were
 * found (0 if the file cannot be read). */
static inline int pm_read_kb(const char *path, const char *const *keys, uint64_t *out, int count) {
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return 0;
    }
    char line[256];
    int found = 0;
    while (found < count && fgets(line, sizeof line, file) != NULL) {
        for (int i = 0; i < count; i++) {
            size_t length = strlen(keys[i]);
            unsigned long long kb;
            if (strncmp(line, keys[i], length) == 0 && sscanf(line + length, " %llu", &kb) == 1) {
                out[i] = (uint64_t) kb * 1024u;
                found++;
                break;
            }
        }
    }
    fclose(file);
    return found;
}

/* Fills *status with the machine's memory figures, as Win32's GlobalMemoryStatus (dwLength is set to
 * sizeof(MEMORYSTATUS); the caller need not set it). Physical memory and swap come from /proc/meminfo
 * (MemTotal, MemAvailable, SwapTotal, SwapFree; sysinfo(2) if it cannot be read, with free plus buffer
 * memory as available); the address space from getrlimit(RLIMIT_AS), else 128 TiB on a 64-bit build
 * (x86-64's user half) or 3 GiB on a 32-bit one, less the process's VmSize (/proc/self/status).
 * These are the OS's figures for the whole machine (a container's cgroup limit is not applied) and do not
 * reflect allocator.limit: Ram_Free and Heap_Size (wwmem.h) and Platform_Ram_Free() report the budget.
 * Figures above SIZE_T's range are clamped to (SIZE_T)-1. NULL does nothing. */
static inline void GlobalMemoryStatus(LPMEMORYSTATUS status) {
    if (status == NULL) {
        return;
    }
    memset(status, 0, sizeof *status);
    status->dwLength = (DWORD) sizeof *status;
    static const char *const memory_keys[] = {"MemTotal:", "MemAvailable:", "SwapTotal:", "SwapFree:"};
    uint64_t memory[4] = {0, 0, 0, 0};
    uint64_t total_virtual = sizeof(void *) >= 8 ? (uint64_t) 1 << 47 : (uint64_t) 3 << 30;
    uint64_t used_virtual = 0;
#if defined(__linux__)
    if (pm_read_kb("/proc/meminfo", memory_keys, memory, 4) < 4) {
        struct sysinfo info;
        if (sysinfo(&info) == 0) {
            uint64_t unit = info.mem_unit == 0 ? 1 : info.mem_unit;
            memory[0] = (uint64_t) info.totalram * unit;
            memory[1] = ((uint64_t) info.freeram + (uint64_t) info.bufferram) * unit;
            memory[2] = (uint64_t) info.totalswap * unit;
            memory[3] = (uint64_t) info.freeswap * unit;
        }
    }
    struct rlimit limit;
    if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
        && (uint64_t) limit.rlim_cur < total_virtual) {
        total_virtual = (uint64_t) limit.rlim_cur;
    }
    static const char *const process_keys[] = {"VmSize:"};
    pm_read_kb("/proc/self/status", process_keys, &used_virtual, 1);
#else
    (void) memory_keys;
#endif
    if (memory[1] > memory[0]) {
        memory[1] = memory[0];
    }
    status->dwMemoryLoad = memory[0] == 0 ? 0 : (DWORD) ((memory[0] - memory[1]) * 100u / memory[0]);
    status->dwTotalPhys = pm_clamp_size(memory[0]);
    status->dwAvailPhys = pm_clamp_size(memory[1]);
    status->dwTotalPageFile = pm_clamp_size(memory[0] + memory[2]);
    status->dwAvailPageFile = pm_clamp_size(memory[1] + memory[3]);
    status->dwTotalVirtual = pm_clamp_size(total_virtual);
    status->dwAvailVirtual = pm_clamp_size(used_virtual < total_virtual ? total_virtual - used_virtual : 0);
}

/* ---- Memory operations ---------------------------------------------------------------------------- */

#ifndef ZeroMemory
#  define ZeroMemory(dst, n) Platform_ZeroMemory((dst), (n))
#  define CopyMemory(dst, src, n) ((void) Platform_MemCopy((dst), (src), (n)))
#  define MoveMemory(dst, src, n) ((void) Platform_MemMove((dst), (src), (n)))
#  define FillMemory(dst, n, value) ((void) Platform_MemSet((dst), (int) (value), (n)))
#endif

#ifdef __cplusplus
}
#endif

#endif /* PLATFORM_MEMORY_WRAPPER_H */
