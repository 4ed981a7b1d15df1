/*
 * platform_memory.h - the C ABI of platform-memory.
 *
 * A memory allocator whose backends are written in Java (java.lang.foreign; README names the JDK it needs). A C program
 * links libplatform_memory.so; the library starts a JVM the first time it is needed (or when the
 * program calls Platform_Mem_Init) and every call below is then a direct call into the active backend.
 *
 * Rules every function keeps:
 *   - Every block is aligned to 16 bytes. A size of 0 allocates nothing and returns NULL.
 *   - A size of 0 passed to Platform_Free / Platform_Realloc means "unknown": the layer records each
 *     block's size itself. A different non-zero size is reported as PLATFORM_MEM_ERR_SIZE_MISMATCH
 *     and the recorded size is used.
 *   - NULL is always accepted where a block is expected and means "no block".
 *   - Bad calls (double free, foreign or interior pointers, overflowing sizes, bad alignment) never
 *     crash and never touch another block: they are counted, reported to the error handler and
 *     recorded for Platform_Mem_LastError(); the call returns NULL / 0.
 *   - Every function is thread-safe and may be called from any thread, including threads the JVM
 *     has never seen.
 */
#ifndef PLATFORM_MEMORY_H
#define PLATFORM_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  define PLATFORM_MEMORY_API __declspec(dllimport)
#elif defined(__GNUC__)
#  define PLATFORM_MEMORY_API __attribute__((visibility("default")))
#else
#  define PLATFORM_MEMORY_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Flags: the game's own MemoryFlagType values, passed through unchanged ---------------------- */

#define PLATFORM_MEM_NORMAL 0x00u /* nothing special */
#define PLATFORM_MEM_NEW    0x01u /* accepted, no effect */
#define PLATFORM_MEM_CLEAR  0x02u /* zero the block */
#define PLATFORM_MEM_REAL   0x04u /* accepted, no effect */
#define PLATFORM_MEM_TEMP   0x08u /* short-lived block; a backend may keep it apart */
#define PLATFORM_MEM_LOCK   0x10u /* accepted, no effect */

/* ---- Error codes, passed to the error handler ------------------------------------------------- */

#define PLATFORM_MEM_OK                    0
#define PLATFORM_MEM_ERR_DOUBLE_FREE       1  /* a block freed twice */
#define PLATFORM_MEM_ERR_INVALID_POINTER   2  /* a pointer the layer never handed out */
#define PLATFORM_MEM_ERR_INTERIOR_POINTER  3  /* a pointer into the middle of a live block */
#define PLATFORM_MEM_ERR_SIZE_MISMATCH     4  /* a wrong non-zero size (the recorded one was used), or a discard outside the block */
#define PLATFORM_MEM_ERR_SIZE_OVERFLOW     5  /* a size such as SIZE_MAX that overflows with the header */
#define PLATFORM_MEM_ERR_BAD_ALIGNMENT     6  /* not a power of two, or above 1 GiB */
#define PLATFORM_MEM_ERR_REALLOC_FREED     7  /* realloc of a freed block */
#define PLATFORM_MEM_ERR_GUARD_CORRUPTED   8  /* guard bytes overwritten (tracking=debug) */
#define PLATFORM_MEM_ERR_HEADER_CORRUPTED  9  /* the layer's header overwritten; block kept */
#define PLATFORM_MEM_ERR_BACKEND_FAILURE  10  /* the backend failed; nothing else was touched */
#define PLATFORM_MEM_ERR_ALLOCATION_FAILED 11 /* out of memory or over allocator.limit */
#define PLATFORM_MEM_ERR_CLOSED           12  /* a call after Platform_Mem_Shutdown */
#define PLATFORM_MEM_ERR_INVALID_HEAP     13  /* a heap never created or already destroyed */
#define PLATFORM_MEM_ERR_USE_AFTER_FREE   14  /* a freed block written to (tracking=debug, quarantine) */
#define PLATFORM_MEM_ERR_BUDGET           15  /* a tag crossed its soft budget (once per crossing); not a caller error */
#define PLATFORM_MEM_ERR_FORBIDDEN        16  /* an allocation where the thread forbade them; it was served */
#define PLATFORM_MEM_ERR_BREAK_ALLOC      17  /* the allocation allocator.breakAlloc names is being made; not an error */
#define PLATFORM_MEM_ERR_START           100  /* the layer could not start (see Platform_Mem_LastError) */
#define PLATFORM_MEM_ERR_INTERNAL        101  /* an unexpected failure inside the layer; call returned 0 */

/*
 * Messages. Each error is also written to stderr as ONE line (unless the option log=quiet):
 *     platform-memory: CODE at PTR: MESSAGE
 * CODE is the error's name without PLATFORM_MEM_ERR_ (DOUBLE_FREE, INVALID_POINTER, START...); " at PTR"
 * is there when a pointer is involved; MESSAGE names the call, and ends with "; allocated at FILE:LINE"
 * when the block is live and its site is recorded (tracking=leaks or debug, Platform_Alloc_Dbg). For example:
 *     platform-memory: DOUBLE_FREE at 0x7f3a2c001230: free(0x7f3a2c001230): the block was already freed; nothing was done
 * The option log=verbose adds "platform-memory: info: ..." lines (such as blocks still live at
 * Platform_Mem_Shutdown); log=errors is the default. The error handler is called whatever log says.
 *
 * The option failOnError=1 makes allocator errors fail the run, for test runs: every error reported from
 * then on is counted (all codes but ALLOCATION_FAILED, which a game is expected to handle); if any was,
 * Platform_Mem_Shutdown writes
 *     platform-memory: failOnError: N allocator errors since the layer started (the first: CODE at PTR); the process will exit with status 70
 * and when the process exits (exit() or a return from main) it writes
 *     platform-memory: failOnError: N allocator errors in this process (the first: CODE at PTR); exit status 70
 * and ends with status PLATFORM_MEM_EXIT_ON_ERROR instead of the program's own (after flushing stdio;
 * atexit handlers registered before the layer first started with failOnError=1 and library destructors
 * do not run). These lines are written whatever log says. Without errors nothing changes.
 */
#define PLATFORM_MEM_EXIT_ON_ERROR 70

/* ---- Types -------------------------------------------------------------------------------------- */

/* Every counter at once. All figures are exact; bytes are the sizes callers asked for. */
typedef struct PlatformMemStats {
    uint64_t live_bytes;         /* bytes in live blocks */
    uint64_t live_blocks;        /* blocks allocated and not yet freed */
    uint64_t peak_bytes;         /* the most live_bytes has been: never below it, see PLATFORM_MEM_CACHE_HELD */
    uint64_t allocations;        /* successful allocations */
    uint64_t frees;              /* blocks freed (including by heap destroy) */
    uint64_t reallocations;      /* successful reallocations */
    uint64_t failed_allocations; /* allocations/reallocations that returned NULL */
    uint64_t caller_errors;      /* bad calls detected */
    uint64_t limit;              /* the allocator.limit budget, 0 for none */
    uint64_t ram_free;           /* as Platform_Ram_Free() */
    uint64_t ram_total;          /* as Platform_Total_Ram_Free() */
    uint64_t start_failures;     /* attempts to start the layer that failed (no JDK, bad options...) */
    uint64_t start_us;           /* microseconds the last successful start took (the JVM's start included) */
    uint64_t aot_cache;          /* 1 when the JVM this library started uses the SDK's ahead-of-time cache */
    uint64_t mapped_bytes;       /* bytes the backend holds from the system for blocks, in use or not (chunks,
                                    slabs, huge blocks; system: the C library's whole heap); UINT64_MAX when
                                    it cannot tell */
    uint64_t resident_bytes;     /* of mapped_bytes, what is resident now where the backend can ask the
                                    system (arena: its own mappings); UINT64_MAX when it cannot tell */
} PlatformMemStats;

/*
 * peak_bytes is never below the true peak. While the per-thread caches of blocks up to
 * PLATFORM_MEM_CACHE_LARGEST bytes are on (tracking "counters" without a limit, fastpath not off) it may
 * lie above it by the blocks the caches hold unused
 * at the time: at most PLATFORM_MEM_CACHE_HELD bytes on each thread's stacks (of which at most
 * PLATFORM_MEM_CACHE_LARGE_HELD in blocks above 64 KiB), PLATFORM_MEM_DEPOT_HELD in
 * the shared depot (plus the stacks of threads that ended since the depot keeper last ran), and the
 * blocks other threads freed that their owner has not taken back yet; plus the rounding of each live
 * cached block to its size class (at most 15 bytes for blocks up to 256 bytes, at most a quarter of the
 * block above; a block of Platform_AllocAligned up to alignment - 16 bytes more). Every other figure is
 * exact whenever no call is in flight.
 */
#define PLATFORM_MEM_CACHE_HELD ((size_t) 4160 * 1024)
#define PLATFORM_MEM_CACHE_LARGE_HELD ((size_t) 2 * 1024 * 1024)
#define PLATFORM_MEM_DEPOT_HELD ((size_t) 32 * 1024 * 1024)
/* The largest block the per-thread caches can serve (with Platform_AllocAligned: size + alignment - 16);
 * the option fastpath.largest (4k to 1m, default 1m) lowers it. */
#define PLATFORM_MEM_CACHE_LARGEST ((size_t) 1024 * 1024)

/* Called on every error, on the thread that made the failing call. message is valid only during
 * the call; ptr is the pointer involved or NULL. It must not call back into the layer. */
typedef void (*PlatformMemErrorHandler)(int code, const char *message, void *ptr);

/* A private heap (HeapCreate). Opaque. */
typedef struct PlatformHeap_ *PlatformHeap;

/* ---- The seed ABI ------------------------------------------------------------------------------ */

/* Allocates size bytes, 16-byte aligned; PLATFORM_MEM_CLEAR zeroes them.
 * size 0: returns NULL. Failure: NULL (counted; error handler gets ALLOCATION_FAILED). */
PLATFORM_MEMORY_API void *Platform_Alloc(size_t size, uint32_t flags);

/* Frees a block. NULL: does nothing. size 0: unknown (normal). A pointer that is not a live block:
 * reported, nothing freed. */
PLATFORM_MEMORY_API void Platform_Free(void *ptr, size_t size);

/* Resizes a block, keeping min(old, new) bytes. ptr NULL: allocates. new_size 0: frees, returns NULL.
 * old_size 0: unknown. Failure: NULL and the old block is intact and still live. */
PLATFORM_MEMORY_API void *Platform_Realloc(void *ptr, size_t old_size, size_t new_size);

/* Bytes still available: allocator.limit minus live bytes when a limit is set, else what the
 * operating system reports as available. 0 if the layer cannot start. */
PLATFORM_MEMORY_API size_t Platform_Ram_Free(void);

/* The budget when allocator.limit is set, else the machine's total memory. 0 if the layer cannot start. */
PLATFORM_MEMORY_API size_t Platform_Total_Ram_Free(void);

/* Bytes in live blocks. 0 if the layer cannot start. */
PLATFORM_MEMORY_API size_t Platform_Mem_GetAllocated(void);

/* The most bytes that were live at once. 0 if the layer cannot start. */
PLATFORM_MEMORY_API size_t Platform_Mem_GetPeak(void);

/* Live blocks. 0 if the layer cannot start. */
PLATFORM_MEMORY_API size_t Platform_Mem_GetCount(void);

/* Writes the leak report (every live block with address, size, flags and allocation site, then
 * totals) to stderr; returns the number of live blocks. Sites need allocator.tracking=leaks or debug. */
PLATFORM_MEMORY_API size_t Platform_Mem_DumpLeaks(void);

/* Checks the whole heap now (tracking=debug): every live block's guard bytes (PLATFORM_MEM_ERR_GUARD_CORRUPTED)
 * and every freed block held in the quarantine for writes after free (PLATFORM_MEM_ERR_USE_AFTER_FREE,
 * with the block's allocation site). Each damaged block is reported once; returns how many were found.
 * Other tracking modes keep no guards or quarantine: returns 0. Cost: a pass over every live block. */
PLATFORM_MEMORY_API int Platform_Mem_CheckHeap(void);

/* Makes allocation number n (1 for the first; tracking=leaks and debug number every allocation, the same
 * numbers run after run for a single-threaded program, and leak reports and error messages show them)
 * tell the error handler PLATFORM_MEM_ERR_BREAK_ALLOC as it is made, and then raise SIGTRAP in the
 * allocating call when a debugger is attached (without one, a line on stderr says so and the call goes
 * on). 0 turns it off. The same as the option allocator.breakAlloc=N. */
PLATFORM_MEMORY_API void Platform_Mem_BreakAlloc(uint64_t n);

/* memcpy: n bytes, the ranges must not overlap. NULL with n 0: allowed. Returns dst. Done in C. */
PLATFORM_MEMORY_API void *Platform_MemCopy(void *dst, const void *src, size_t n);

/* memmove: n bytes, the ranges may overlap. Returns dst. Done in C. */
PLATFORM_MEMORY_API void *Platform_MemMove(void *dst, const void *src, size_t n);

/* memset: n bytes of (unsigned char) value. Returns dst. Done in C. */
PLATFORM_MEMORY_API void *Platform_MemSet(void *dst, int value, size_t n);

/* memcmp: <0, 0 or >0. n 0: 0. Done in C. */
PLATFORM_MEMORY_API int Platform_MemCmp(const void *a, const void *b, size_t n);

/* Zeroes n bytes. NULL with n 0: allowed. Done in C. */
PLATFORM_MEMORY_API void Platform_ZeroMemory(void *dst, size_t n);

/* ---- Extensions -------------------------------------------------------------------------------- */

/* Starts the layer with "key=value;key=value" options (the allocator.* settings, the prefix may be
 * left out: "backend=arena;limit=256m;tracking=leaks"). NULL or "" uses PLATFORM_MEMORY_OPTIONS.
 * Without it, the first call starts the layer from PLATFORM_MEMORY_OPTIONS.
 * Returns 0, or PLATFORM_MEM_ERR_START with Platform_Mem_LastError() saying why (no JDK, no jars,
 * unknown backend, bad option). Calling it again while started returns 0 if the options are the
 * same, else PLATFORM_MEM_ERR_START (shut down first to change them). */
PLATFORM_MEMORY_API int Platform_Mem_Init(const char *options);

/* Frees every live block, closes the backend. The next Platform_* call starts the layer again (pointers
 * from before are unknown to it); calls under way on other threads get 20 ms, then PLATFORM_MEM_ERR_CLOSED. */
PLATFORM_MEMORY_API void Platform_Mem_Shutdown(void);

/* The active backend's name ("system", "arena", ...), or "" if the layer has not started. */
PLATFORM_MEMORY_API const char *Platform_Mem_Backend(void);

/* This library's version, as the project's pom.xml states it (e.g. "0.1.0-SNAPSHOT"; the release
 * archive's name carries the same). A constant string: it may be called at any time, before
 * Platform_Mem_Init or after Platform_Mem_Shutdown, and never starts the layer or a JVM. */
PLATFORM_MEMORY_API const char *Platform_Mem_Version(void);

/* The last error's message on this thread ("" if none), as errno: each thread has its own. Valid
 * until the thread's next error. */
PLATFORM_MEMORY_API const char *Platform_Mem_LastError(void);

/* The requested size of a live block; 0 for NULL or a pointer that is not a live block. */
PLATFORM_MEMORY_API size_t Platform_Mem_Size(const void *ptr);

/* Discards part of a live block (VirtualFree's MEM_DECOMMIT): afterwards its bytes [offset, offset + size)
 * read as zero, and the whole pages among them are given back to the system (no longer resident until
 * written again). The block stays live, with its size. Returns 1; 0 when block is not a live block's start
 * (PLATFORM_MEM_ERR_INVALID_POINTER and its kin) or the range is not inside it
 * (PLATFORM_MEM_ERR_SIZE_MISMATCH), with nothing touched. size 0 within a live block: 1, nothing done. */
PLATFORM_MEMORY_API int Platform_Mem_Discard(void *block, size_t offset, size_t size);

/* Gives memory that no block uses back to the system: the calling thread's cached free blocks, then the
 * backend's empty slabs and chunks and the C library's free pages. After a program frees what it
 * allocated (a level unloaded), resident memory falls back near where it was before. Milliseconds for a
 * large heap: call it at a loading screen, not every frame. Other threads' cached blocks stay cached. */
PLATFORM_MEMORY_API void Platform_Mem_Trim(void);

/* As Platform_Alloc, aligned to alignment (a power of two up to 1 GiB; below 16 means 16); a reallocation
 * keeps the alignment. A bad alignment: NULL, PLATFORM_MEM_ERR_BAD_ALIGNMENT. */
PLATFORM_MEMORY_API void *Platform_AllocAligned(size_t size, size_t alignment, uint32_t flags);

/* As Platform_Alloc, recording file:line as the block's site for leak reports (file NULL: no site). */
PLATFORM_MEMORY_API void *Platform_Alloc_Dbg(size_t size, uint32_t flags, const char *file, int line);

/* Fills *out with every counter. out NULL: does nothing. Zeroes if the layer cannot start. */
PLATFORM_MEMORY_API void Platform_Mem_GetStats(PlatformMemStats *out);

/* Sets the error handler (NULL removes it). */
PLATFORM_MEMORY_API void Platform_Mem_SetErrorHandler(PlatformMemErrorHandler handler);

/* Creates a private heap; NULL on failure. */
PLATFORM_MEMORY_API PlatformHeap Platform_HeapCreate(void);

/* Allocates in a heap (as Platform_Alloc). An unknown heap: NULL, PLATFORM_MEM_ERR_INVALID_HEAP. */
PLATFORM_MEMORY_API void *Platform_HeapAlloc(PlatformHeap heap, size_t size, uint32_t flags);

/* Frees a block of the heap; returns 1, or 0 if it is not a live block of that heap, or the heap is
 * unknown or destroyed (reported; nothing is freed). NULL: returns 1. Heap blocks may also be freed and resized with Platform_Free/Platform_Realloc. */
PLATFORM_MEMORY_API int Platform_HeapFree(PlatformHeap heap, void *ptr);

/* The requested size of a live block of that heap; 0 (reported: PLATFORM_MEM_ERR_INVALID_HEAP for an
 * unknown or destroyed heap, PLATFORM_MEM_ERR_INVALID_POINTER for a block of another heap or of none, or
 * not a live block). NULL: 0, not reported. */
PLATFORM_MEMORY_API size_t Platform_HeapSize(PlatformHeap heap, const void *ptr);

/* Frees every block of the heap at once, then the heap. An unknown heap: reported, nothing freed.
 * A handle is never handed out twice: a destroyed heap's handle stays unknown for good. */
PLATFORM_MEMORY_API void Platform_HeapDestroy(PlatformHeap heap);

/* ---- Insights: tags, budgets, frames, snapshots --------------------------------------------------- */

/* One tag's figures (Platform_Mem_GetTagStats). The live figures of all tags add up to the totals of
 * PlatformMemStats whenever no call is in flight. */
typedef struct PlatformMemTagStats {
    char name[64];          /* the tag's name, cut to 63 bytes; "untagged" for blocks allocated with no tag */
    uint64_t id;            /* what Platform_Mem_PushTag returned for it (0: untagged) */
    uint64_t live_bytes;    /* bytes in its live blocks */
    uint64_t live_blocks;   /* its live blocks */
    uint64_t peak_bytes;    /* the most live_bytes was seen to be (see below) */
    uint64_t allocations;   /* blocks allocated under it */
    uint64_t frees;         /* blocks of it freed */
    uint64_t soft_budget;   /* 0: none */
    uint64_t hard_budget;   /* 0: none */
} PlatformMemTagStats;

/* The last completed frame (Platform_Mem_GetFrameStats). Counts and bytes are exact when no call is in
 * flight at the marks: live_bytes_at_end = the previous frame's live_bytes_at_end + bytes_allocated - bytes_freed. */
typedef struct PlatformMemFrameStats {
    uint64_t number;            /* 1 for the frame ended by the first Platform_Mem_FrameMark; 0 before it */
    uint64_t allocations;       /* blocks allocated in the frame */
    uint64_t frees;             /* blocks freed in the frame */
    uint64_t bytes_allocated;   /* bytes of those blocks, and bytes reallocations grew blocks by */
    uint64_t bytes_freed;       /* bytes of the blocks freed, and bytes reallocations shrank blocks by */
    uint64_t peak_live_bytes;   /* the most bytes live within the frame (see below) */
    uint64_t live_bytes_at_end; /* live bytes when it ended */
} PlatformMemFrameStats;

/*
 * Tags. Every block is charged to the innermost tag the allocating thread has pushed ("untagged" when
 * none) and stays charged to it until it is freed (a reallocation keeps it); a private heap's block to
 * the tag current at Platform_HeapAlloc. Up to 256 tags (untagged included).
 *
 * Cost: a thread's tag is one thread-local word; blocks up to 8 KiB keep being served by the per-thread
 * caches, which count per tag and thread. A name's first push asks the JVM for its id; later pushes and
 * pops of it (on any thread) stay in the library. Nesting is kept up to 64 levels deep (deeper pushes
 * count, and charge to the 64th). A tag with a budget sends its allocations through the JVM (about
 * 0.05-0.1 us each), where its total is one shared counter.
 *
 * peak_bytes of a tag is the most its live bytes were seen to be: at every allocation of it that went
 * through the JVM (every one while it has a budget; for untagged only while it has one), at frame marks,
 * statistics reads and snapshots.
 * peak_live_bytes of a frame is exact when one thread allocated and freed in it through one path (blocks
 * up to PLATFORM_MEM_CACHE_LARGEST through the caches, or only larger ones); otherwise it is an upper bound: the live bytes at
 * the frame's start plus each thread's own rise within it (never more than start plus bytes_allocated).
 */

/* Pushes a tag on the calling thread (the name is copied; NULL or "" means untagged). Returns its id
 * (> 0; the same name always gets the same id), or 0 when all tags are in use (reported as
 * ALLOCATION_FAILED; the thread's blocks then go to untagged until the matching pop). */
PLATFORM_MEMORY_API int Platform_Mem_PushTag(const char *name);

/* Pops the calling thread's innermost tag. Without a pushed tag: does nothing. */
PLATFORM_MEMORY_API void Platform_Mem_PopTag(void);

/* Sets a tag's budgets (creating the tag if needed; 0: none). When its live bytes cross soft_bytes, the
 * error handler gets PLATFORM_MEM_ERR_BUDGET naming the tag, once per crossing (again only after it has
 * gone back under); an allocation that would take it past hard_bytes returns NULL as
 * PLATFORM_MEM_ERR_ALLOCATION_FAILED naming the tag. allocator.limit still applies to the total.
 * Returns the tag's id, or -1 (name NULL, all tags in use, or a budget above SIZE_MAX / 2: reported as
 * PLATFORM_MEM_ERR_SIZE_OVERFLOW, and no budget is changed). */
PLATFORM_MEMORY_API int Platform_Mem_SetTagBudget(const char *name, size_t soft_bytes, size_t hard_bytes);

/* Returns the number of tags and fills up to capacity records, untagged first (out may be NULL with
 * capacity 0, to ask for the count). */
PLATFORM_MEMORY_API size_t Platform_Mem_GetTagStats(PlatformMemTagStats *out, size_t capacity);

/* Ends a frame: its figures become what Platform_Mem_GetFrameStats returns. Call it once per game frame. */
PLATFORM_MEMORY_API void Platform_Mem_FrameMark(void);

/* Fills *out with the last completed frame (all zeros before the first mark). out NULL: does nothing. */
PLATFORM_MEMORY_API void Platform_Mem_GetFrameStats(PlatformMemFrameStats *out);

/* on != 0 starts a region of the calling thread where every allocation (and reallocation) is reported as
 * PLATFORM_MEM_ERR_FORBIDDEN and still served; 0 ends it. Regions do not nest. */
PLATFORM_MEMORY_API void Platform_Mem_ForbidAllocations(int on);

/* Records the live figures per tag (and per allocation site with tracking=leaks or debug). Returns the
 * snapshot's id (> 0), or 0 if the layer cannot start. The last 256 snapshots are kept. */
PLATFORM_MEMORY_API uint64_t Platform_Mem_Snapshot(void);

/* Writes what grew and shrank between two snapshots (to 0: now), by tag and site, to stderr:
 *     memory diff from snapshot 1 to now: 2 tags, 1 sites changed
 *       tag  units                               +65536 bytes       +64 blocks  (1024 -> 66560 bytes)
 * Returns the number of tags and sites that changed, or -1 for an unknown snapshot. */
PLATFORM_MEMORY_API int Platform_Mem_DumpDiff(uint64_t from, uint64_t to);

/* Writes the current figures to path as one JSON object: backend, tracking, timeMillis, totals,
 * backendFigures, tags, frames (the last 240), sites, and snapshots (each with its tags and sites); the
 * records' fields are named as in PlatformMemTagStats and PlatformMemFrameStats, in camelCase. Returns 0,
 * or -1 if the file could not be written (nothing is left half written). */
PLATFORM_MEMORY_API int Platform_Mem_WriteReport(const char *path);

/* ---- Leak sites --------------------------------------------------------------------------------- */

/* Define PLATFORM_MEMORY_DEBUG before including this header to record file:line for every
 * Platform_Alloc in that file (leak reports then name the site). */
#if defined(PLATFORM_MEMORY_DEBUG) && !defined(PLATFORM_MEMORY_BUILDING)
#  define Platform_Alloc(size, flags) Platform_Alloc_Dbg((size), (flags), __FILE__, __LINE__)
#endif

#ifdef __cplusplus
}
#endif

#endif /* PLATFORM_MEMORY_H */
