/*
 * The contract between the C shim and the Java side (org.platformmemory.ffi.NativeExports, checked by
 * org.platformmemory.ffi.AbiContract). Not installed: a game never sees it.
 *
 * Each part of the contract is one X-macro list below. The C side is generated from them (PmTable, the
 * PM_STAT_* ids) or checked against the public header by the compiler (PlatformMemStats), and the shim
 * describes all of them, by name, in a text it hands to NativeExports.install (pm_abi_description in
 * platform_memory.c). Java compares that description with its own and refuses to install - so
 * Platform_Mem_Init fails with a message naming the difference - when the two builds disagree.
 */
#ifndef PLATFORM_MEMORY_SHIM_H
#define PLATFORM_MEMORY_SHIM_H

#include "platform_memory.h"

/* The types that cross the table. Their names are what the description shows, their sizes (sizeof,
 * described too) what Java compares with its FunctionDescriptors: pointers and sizes cross as Java longs. */
typedef int32_t pm_i32;
typedef uint32_t pm_u32;
typedef int pm_int;
typedef int64_t pm_i64;
typedef uint64_t pm_u64;
typedef size_t pm_size;
typedef void *pm_ptr;
typedef const void *pm_cptr;
typedef const char *pm_cstr;
typedef PlatformMemStats *pm_stats_ptr;
typedef int64_t *pm_i64_ptr;

#define PM_TYPES(X) X(pm_i32) X(pm_u32) X(pm_int) X(pm_i64) X(pm_u64) X(pm_size) X(pm_ptr) X(pm_cptr) \
    X(pm_cstr) X(pm_stats_ptr) X(pm_i64_ptr)

/*
 * The call table, in order: X(field, return type, (parameter types)). One FFM upcall stub per entry,
 * made by Java when the shim first needs it (NativeExports.install makes the few a start needs); the Java
 * method of field foo_bar is NativeExports.fooBar. At most four parameters (PM_PARAMS).
 */
#define PM_CALLS(X) \
    X(alloc, pm_ptr, (pm_size, pm_u32)) \
    X(free, void, (pm_ptr, pm_size)) \
    X(realloc, pm_ptr, (pm_ptr, pm_size, pm_size)) \
    X(alloc_aligned, pm_ptr, (pm_size, pm_size, pm_u32)) \
    X(alloc_dbg, pm_ptr, (pm_size, pm_u32, pm_cstr, pm_int)) \
    X(size, pm_size, (pm_cptr)) \
    X(get_stats, void, (pm_stats_ptr)) \
    X(dump_leaks, pm_size, (void)) \
    X(heap_create, pm_i64, (void)) /* a handle: never a pointer, never reused */ \
    X(heap_alloc, pm_ptr, (pm_i64, pm_size, pm_u32)) \
    X(heap_free, pm_i32, (pm_i64, pm_ptr)) \
    X(heap_destroy, pm_i32, (pm_i64)) \
    X(heap_size, pm_size, (pm_i64, pm_cptr)) /* a live block of that heap: its size; else 0, reported */ \
    X(check_heap, pm_i32, (void)) /* damaged blocks found (guards, quarantine fills), each reported */ \
    X(shutdown, void, (void)) \
    X(stat, pm_u64, (pm_i32)) /* one PM_STAT_* figure, without building the whole struct */ \
    X(cache_refill, pm_i32, (pm_size, pm_ptr, pm_i32)) /* lends up to n blocks of a class size */ \
    X(cache_release, void, (pm_size, pm_ptr, pm_i32)) /* takes n lent blocks back */ \
    X(free_if_live, pm_i64, (pm_ptr, pm_size)) /* freed (0); not live: unknown (1), or known (3) */ \
    X(realloc_if_live, pm_ptr, (pm_ptr, pm_size, pm_size)) /* realloc'd; not live: 1 unknown, 3 known */ \
    X(report, void, (pm_i32, pm_cstr, pm_ptr)) /* an error the shim found: counted and told */ \
    X(tag_id, pm_i32, (pm_cstr)) /* a tag name's id, made on first use (0: none left, reported) */ \
    X(set_mode, void, (pm_i32)) /* this thread's tag (bits 0-7) and forbidden flag (PM_MODE_FORBID) */ \
    X(set_tag_budget, pm_i32, (pm_cstr, pm_size, pm_size)) \
    X(tag_stats, pm_size, (pm_ptr, pm_size)) /* PlatformMemTagStats records */ \
    X(frame_mark, void, (void)) \
    X(frame_stats, void, (pm_ptr)) /* a PlatformMemFrameStats */ \
    X(snapshot, pm_u64, (void)) \
    X(dump_diff, pm_i32, (pm_u64, pm_u64)) \
    X(write_report, pm_i32, (pm_cstr)) \
    X(discard, pm_i32, (pm_ptr, pm_size, pm_size)) /* 1: the range's pages given back; 0: refused, reported */ \
    X(trim, void, (void)) \
    X(alloc_at, pm_ptr, (pm_size, pm_size, pm_u32, pm_i32)) /* size, alignment, flags, stack id (0: none) */ \
    X(realloc_at, pm_ptr, (pm_ptr, pm_size, pm_size, pm_i32)) \
    X(free_at, void, (pm_ptr, pm_size, pm_i32)) /* debug: the free's stack goes in the block's record */ \
    X(heap_alloc_at, pm_ptr, (pm_i64, pm_size, pm_u32, pm_i32)) \
    X(heap_free_at, pm_i32, (pm_i64, pm_ptr, pm_i32)) \
    X(set_break, void, (pm_u64)) /* the allocation number that reports BREAK_ALLOC, 0: none */ \
    X(exit_checks, void, (void)) /* the process exits: debug's heap check, leakReport=exit's report */

#define PM_TABLE_FIELD(field, ret, params) ret (*field) params;
#define PM_TABLE_COUNT(field, ret, params) +1

/* The table as Java hands it over: an entry whose stub Java has not made yet is NULL. */
typedef struct PmTable {
    uint64_t entries; /* PM_TABLE_ENTRIES, written by Java */
    PM_CALLS(PM_TABLE_FIELD)
} PmTable;

#define PM_TABLE_ENTRIES (0 PM_CALLS(PM_TABLE_COUNT))

/* An entry's position in the table: PM_ENTRY_<field>. */
#define PM_ENTRY_ENUM(field, ret, params) PM_ENTRY_##field,
enum { PM_CALLS(PM_ENTRY_ENUM) PM_ENTRY_COUNT };

/*
 * The table as the shim calls it: every field always callable. A field holds the entry's stub, or until
 * Java has made it, the shim's stand-in that asks Java for it and calls it (platform_memory.c). Fields are
 * atomic because a stand-in replaces itself while other threads call through the table.
 */
#define PM_CALLS_FIELD(field, ret, params) _Atomic(ret (*) params) field;
typedef struct PmCalls {
    PM_CALLS(PM_CALLS_FIELD)
} PmCalls;

/*
 * Names for the parameters of a PM_CALLS list, for code that defines a function of an entry's type:
 * PM_PARAMS((pm_size, pm_u32)) is "pm_size p1, pm_u32 p2" and PM_ARGS of it "p1, p2"; (void) gives
 * "void" and nothing. PM_IS_VOID(t) is 1 for the type void, else 0 (for the PM_TYPES and void).
 */
#define PM_CAT(a, b) PM_CAT_(a, b)
#define PM_CAT_(a, b) a##b
#define PM_COUNT(...) PM_COUNT_(__VA_ARGS__, 4, 3, 2, 1, ~)
#define PM_COUNT_(a, b, c, d, n, ...) n
#define PM_SECOND(...) PM_SECOND_(__VA_ARGS__)
#define PM_SECOND_(a, b, ...) b
#define PM_VOID_PROBE_void ~, 1
#define PM_IS_VOID(t) PM_SECOND(PM_CAT(PM_VOID_PROBE_, t), 0, ~)
#define PM_PARAMS(params) PM_CAT(PM_PARAMS_, PM_COUNT params) params
#define PM_PARAMS_1(a) PM_CAT(PM_PARAM1_, PM_IS_VOID(a))(a)
#define PM_PARAM1_0(a) a p1
#define PM_PARAM1_1(a) void
#define PM_PARAMS_2(a, b) a p1, b p2
#define PM_PARAMS_3(a, b, c) a p1, b p2, c p3
#define PM_PARAMS_4(a, b, c, d) a p1, b p2, c p3, d p4
#define PM_ARGS(params) PM_CAT(PM_ARGS_, PM_COUNT params) params
#define PM_ARGS_1(a) PM_CAT(PM_ARG1_, PM_IS_VOID(a))
#define PM_ARG1_0 p1
#define PM_ARG1_1
#define PM_ARGS_2(a, b) p1, p2
#define PM_ARGS_3(a, b, c) p1, p2, p3
#define PM_ARGS_4(a, b, c, d) p1, p2, p3, p4

/*
 * The shim's services to Java, in order: X(name, return type, (parameter types)). Java calls them (FFM
 * downcalls) to keep the depot of new threads' blocks full and to read the caches' counters; the
 * description gives each one's address, and Java checks names and signatures as it does the table's.
 */
#define PM_SERVICES(X) \
    X(cache_totals, void, (pm_i64_ptr)) /* live_bytes, live_blocks, allocations, frees, reallocations */ \
    X(cache_class_info, pm_i32, (pm_i32, pm_i64_ptr)) /* class size, batch, depot target; 0 past the last */ \
    X(depot_wait, pm_i32, (pm_i32)) /* a class to refill, class|256 to trim, -1 timeout, -2 stop */ \
    X(depot_put, pm_i32, (pm_i32, pm_ptr, pm_i32)) /* blocks accepted */ \
    X(depot_take, pm_i32, (pm_i32, pm_ptr, pm_i32)) /* blocks taken */ \
    X(cache_tag_totals, void, (pm_i64_ptr, pm_i32)) /* per tag: allocations, frees, bytes in, bytes out */ \
    X(cache_frame_end, pm_i64, (pm_i32)) /* 1: ends the caches' frame, returns the sum of each thread's rise in it; 0: nothing (a warm-up) */ \
    X(cache_tag_route, void, (pm_i32, pm_i32)) /* tag id, 1: its allocations take the facade's path */ \
    X(stack_describe, pm_size, (pm_i32, pm_ptr, pm_size)) /* a stack's frames, a line each, then "@file:line" if given */

/*
 * PlatformMemStats (platform_memory.h), field by field in order: X(field, who fills it). JAVA fields are
 * written by NativeExports.getStats, C fields by the shim. The compiler checks that the list covers the
 * struct exactly; Java checks the names and offsets the shim describes against the order it writes.
 */
#define PM_STATS_FIELDS(X) \
    X(live_bytes, JAVA) \
    X(live_blocks, JAVA) \
    X(peak_bytes, JAVA) \
    X(allocations, JAVA) \
    X(frees, JAVA) \
    X(reallocations, JAVA) \
    X(failed_allocations, JAVA) \
    X(caller_errors, JAVA) \
    X(limit, JAVA) \
    X(ram_free, JAVA) \
    X(ram_total, JAVA) \
    X(start_failures, C) \
    X(start_us, C) \
    X(aot_cache, C) \
    X(mapped_bytes, C) \
    X(resident_bytes, C)

/* The error codes of platform_memory.h (PLATFORM_MEM_ERR_<name>), checked by name against
 * org.platformmemory.api.ErrorCode and NativeExports' ERR_START/ERR_INTERNAL. */
#define PM_ERRORS(X) \
    X(DOUBLE_FREE) X(INVALID_POINTER) X(INTERIOR_POINTER) X(SIZE_MISMATCH) X(SIZE_OVERFLOW) \
    X(BAD_ALIGNMENT) X(REALLOC_FREED) X(GUARD_CORRUPTED) X(HEADER_CORRUPTED) X(BACKEND_FAILURE) \
    X(ALLOCATION_FAILED) X(CLOSED) X(INVALID_HEAP) X(USE_AFTER_FREE) X(BUDGET) X(FORBIDDEN) X(BREAK_ALLOC) X(START) X(INTERNAL)

/* The figures of the table's stat entry: PM_STAT_<name> is its position in this list. */
#define PM_STAT_IDS(X) X(LIVE_BYTES) X(PEAK_BYTES) X(LIVE_BLOCKS) X(RAM_FREE) X(RAM_TOTAL) X(MAPPED) X(RESIDENT)

#define PM_STAT_ENUM(name) PM_STAT_##name,
enum { PM_STAT_IDS(PM_STAT_ENUM) PM_STAT_COUNT };

/* Java calls this back (its address is passed to NativeExports.install). Code PLATFORM_MEM_OK is an
 * informational line (allocator.log=verbose), not an error. */
typedef void (*PmReportFn)(int code, const char *message, void *ptr);

#endif
