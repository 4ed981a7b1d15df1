/*
 * wwmem.h - the game's own memory API (Alloc, Free, Resize_Alloc, Ram_Free, Heap_Size,
 * Total_Ram_Free) on top of platform_memory.h, with its hooks and records:
 *
 *   Memory_Error       called (if set) when an allocation fails, before NULL is returned;
 *   Memory_Error_Exit  called (if set) after that with a message, for a game that exits on it;
 *   MinRam / MaxRam    the least free memory and the most allocated memory seen so far by Alloc
 *                      (sampled: on a thread's first Alloc and every 1024th after, and on Resize_Alloc).
 *
 * The hooks and records are weak definitions here, so every file can include this header and the
 * game can still define them itself; set them with  Memory_Error = my_handler;  as the game does.
 * Flags are the game's MemoryFlagType values: MEM_CLEAR zeroes.
 *
 * Mem_Copy(source, dest, bytes) keeps the game's argument order: SOURCE FIRST, the reverse of memcpy.
 *
 * Routing the game's C++ global operator new/delete to Alloc(size, MEM_NEW)/Free, in one .cpp file of
 * the game (the bench's C++ client, allocator-bench/src/main/c/pm_client_game.cpp, does the same for
 * every form of new and delete):
 *
 *     #include <new>
 *     #include "compat/wwmem.h"
 *
 *     void *operator new(std::size_t size) {
 *         void *block = Alloc(size == 0 ? 1 : (unsigned long) size, MEM_NEW); // new(0) is a real block
 *         if (block == nullptr) {
 *             throw std::bad_alloc();                                          // Alloc returns NULL
 *         }
 *         return block;
 *     }
 *     void *operator new[](std::size_t size) { return operator new(size); }
 *     void *operator new(std::size_t size, const std::nothrow_t &) noexcept {
 *         return Alloc(size == 0 ? 1 : (unsigned long) size, MEM_NEW);
 *     }
 *     void *operator new[](std::size_t size, const std::nothrow_t &t) noexcept { return operator new(size, t); }
 *     void operator delete(void *block) noexcept { Free(block); }
 *     void operator delete[](void *block) noexcept { Free(block); }
 *     void operator delete(void *block, std::size_t) noexcept { Free(block); }   // C++14 sized forms
 *     void operator delete[](void *block, std::size_t) noexcept { Free(block); }
 *
 * Alloc blocks are 16-byte aligned, enough for every type up to alignof(std::max_align_t). Types with a
 * larger alignas() use the C++17 std::align_val_t forms, which these lines leave to the C++ library
 * (route them too with Platform_AllocAligned(size, (size_t) alignment, PLATFORM_MEM_NEW) and
 * Platform_Free, as the bench's client does). The Memory_Error hooks run before the throw. The first
 * new, even from a static constructor before main, starts the layer; the JVM it starts does not call
 * the game's operator new (the bench's client counts such calls and finds none).
 */
#ifndef PLATFORM_MEMORY_WWMEM_H
#define PLATFORM_MEMORY_WWMEM_H

#include "../platform_memory.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef PLATFORM_MEMORY_HAVE_MEMORYFLAGTYPE
typedef enum MemoryFlagType {
    MEM_NORMAL = 0x00,
    MEM_NEW = 0x01,
    MEM_CLEAR = 0x02,
    MEM_REAL = 0x04,
    MEM_TEMP = 0x08,
    MEM_LOCK = 0x10
} MemoryFlagType;
#endif

#if defined(__GNUC__)
#  define PM_WEAK __attribute__((weak))
#else
#  define PM_WEAK
#endif

PM_WEAK void (*Memory_Error)(void) = 0;
PM_WEAK void (*Memory_Error_Exit)(char *string) = 0;
PM_WEAK unsigned long MinRam = 0;
PM_WEAK unsigned long MaxRam = 0;

/* Calls the game's hooks for a failed allocation. */
static inline void pm_memory_error(const char *what) {
    if (Memory_Error != 0) {
        Memory_Error();
    }
    if (Memory_Error_Exit != 0) {
        static char message[256];
        const char *why = Platform_Mem_LastError();
        int i = 0;
        for (const char *s = what; *s != '\0' && i < 120; s++) {
            message[i++] = *s;
        }
        message[i++] = ':';
        message[i++] = ' ';
        for (const char *s = why; *s != '\0' && i < 255; s++) {
            message[i++] = *s;
        }
        message[i] = '\0';
        Memory_Error_Exit(message);
    }
}

/* Keeps MinRam/MaxRam: a new high of allocated memory is also when free memory is lowest. */
static inline void pm_update_records(void) {
    unsigned long allocated = (unsigned long) Platform_Mem_GetAllocated();
    if (allocated > MaxRam) {
        MaxRam = allocated;
        unsigned long free_now = (unsigned long) Platform_Ram_Free();
        if (MinRam == 0 || free_now < MinRam) {
            MinRam = free_now;
        }
    }
}

/* Alloc's records: reading the layer's totals costs more than an allocation from the fast path, so Alloc
 * samples them, on the first and then every 1024th call of a thread (the records are figures for a debug
 * display; Platform_Mem_GetPeak() is exact). */
static inline void pm_update_records_sometimes(void) {
#if defined(__GNUC__)
    static __thread unsigned pm_ww_calls;
#else
    static unsigned pm_ww_calls;
#endif
    if ((pm_ww_calls++ & 1023u) == 0u) {
        pm_update_records();
    }
}

/* Allocates bytes_to_alloc bytes (MEM_CLEAR zeroes), recording file:line as the site when given.
 * 0 bytes: NULL, no error. Failure: the hooks are called, then NULL. */
static inline void *pm_ww_alloc(unsigned long bytes_to_alloc, MemoryFlagType flags, const char *file, int line) {
    if (bytes_to_alloc == 0) {
        return 0;
    }
    void *block = Platform_Alloc_Dbg((size_t) bytes_to_alloc, (uint32_t) flags, file, line);
    if (block == 0) {
        pm_memory_error("Alloc");
        return 0;
    }
    pm_update_records_sometimes();
    return block;
}

/* Allocates bytes_to_alloc bytes (MEM_CLEAR zeroes). With PLATFORM_MEMORY_DEBUG defined, leak reports
 * name the caller's file:line. */
static inline void *Alloc(unsigned long bytes_to_alloc, MemoryFlagType flags) {
    return pm_ww_alloc(bytes_to_alloc, flags, 0, 0);
}
#if defined(PLATFORM_MEMORY_DEBUG)
#  define Alloc(bytes, flags) pm_ww_alloc((bytes), (flags), __FILE__, __LINE__)
#endif

/* Frees a block from Alloc; NULL does nothing; a bad pointer is reported by the layer. */
static inline void Free(void const *pointer) {
    Platform_Free((void *) pointer, 0);
}

/* Resizes a block, keeping its contents. NULL allocates. Failure: the hooks, then NULL (the original
 * block stays valid). */
static inline void *Resize_Alloc(void *original_ptr, unsigned long new_size_in_bytes) {
    void *block = Platform_Realloc(original_ptr, 0, (size_t) new_size_in_bytes);
    if (block == 0 && new_size_in_bytes != 0) {
        pm_memory_error("Resize_Alloc");
        return 0;
    }
    pm_update_records();
    return block;
}

/* Memory still available (the budget left, or what the system has free), clamped to 2 GiB - 1 as the
 * game's 32-bit arithmetic expects. */
static inline long Ram_Free(MemoryFlagType flag) {
    (void) flag;
    size_t free_bytes = Platform_Ram_Free();
    return free_bytes > (size_t) 0x7FFFFFFFL ? 0x7FFFFFFFL : (long) free_bytes;
}

/* The size of the whole heap: the budget, or the machine's memory (clamped as Ram_Free). */
static inline long Heap_Size(MemoryFlagType flag) {
    (void) flag;
    size_t total = Platform_Total_Ram_Free();
    return total > (size_t) 0x7FFFFFFFL ? 0x7FFFFFFFL : (long) total;
}

/* All free memory (the same figure as Ram_Free here: there is no fragmentation to subtract). */
static inline long Total_Ram_Free(MemoryFlagType flag) {
    return Ram_Free(flag);
}

/* Copies bytes_to_copy bytes from source to dest: the game's order, SOURCE FIRST (memcpy's is dest,
 * source). Overlapping ranges are allowed, in either direction: the copy is done as by memmove, as if
 * through a buffer, so sliding a block along inside itself works (code written for a copy routine that
 * tolerated overlap keeps working, and one that did not could only have relied on undefined results).
 * Done in C by the library, no call into the allocator; 0 bytes or source == dest does nothing. */
static inline void Mem_Copy(void const *source, void *dest, unsigned long bytes_to_copy) {
    if (bytes_to_copy != 0 && source != dest) {
        Platform_MemMove(dest, source, (size_t) bytes_to_copy);
    }
}

#ifdef __cplusplus
}
#endif

#endif /* PLATFORM_MEMORY_WWMEM_H */
