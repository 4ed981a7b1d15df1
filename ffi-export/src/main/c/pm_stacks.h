/*
 * pm_stacks.h - the call stacks of allocations, recorded in C and named only when a report asks.
 * Internal to libplatform_memory.so; a game never sees it.
 *
 * The shim's entries (Platform_Alloc and the others) capture the calling thread's stack when the tracking
 * mode keeps sites (leaks, debug) and for sampled allocations:
 *
 *     pm_stack_capture(file, line)   unwind (libunwind's unw_backtrace, loaded by pm_stacks_open; else
 *                                    glibc's backtrace()), drop the frames of this shared object, look the
 *                                    frames + file + line up in a hash index without a lock: a known stack
 *                                    returns its id, a new one is stored once under a mutex
 *     pm_stack_describe(id)          names the frames with libdw (loaded at the first call; else dladdr):
 *                                    inlined calls expanded, C++ demangled, the compat wrappers left out
 *
 * Stacks live in memory mapped for them (never malloc: the game's malloc may be routed to this layer), at
 * most PM_STACKS_MAX_BYTES and PM_STACKS_MAX of them; once full, a new stack gets id 0. Ids are dense from
 * 1 and are never reused or freed while the process lives.
 */
#ifndef PM_STACKS_H
#define PM_STACKS_H

#include <stddef.h>
#include <stdint.h>

#ifndef PM_HIDDEN
#define PM_HIDDEN __attribute__((visibility("hidden")))
#endif

#define PM_STACK_DEPTH_DEFAULT 16
#define PM_STACK_DEPTH_MAX 64
#define PM_STACKS_MAX (1 << 22)                       /* distinct stacks kept at most */
#define PM_STACKS_MAX_BYTES ((size_t) 64 * 1024 * 1024) /* memory the stacks and their index may map */

/* Opens the stacks with depth frames kept per stack (clamped to 1..PM_STACK_DEPTH_MAX). The first call loads
 * the unwinder: libunwind.so.8 through dlopen when native_host says every thread that allocates runs native
 * code only (this library started the JVM), or glibc's backtrace() in a Java host (whose threads may come
 * from compiled Java code without unwind tables, where backtrace() stops) or when libunwind cannot be
 * loaded; it calls dlopen
 * and may allocate with malloc, so it must not run inside an allocation the layer is serving. Called again,
 * it changes the depth of stacks captured from then on (those kept stay as they are). Returns 1 when unwinding
 * through libunwind, 0 when through backtrace(); why (size bytes) gets one line saying which and why. */
PM_HIDDEN int pm_stacks_open(int depth, int native_host, char *why, size_t size);

/* The id (> 0) of the calling thread's current stack, with file:line (file may be NULL, line 0) kept with it:
 * the file text is copied when the stack is first stored, so it may come from a module unloaded later. The
 * frames of this shared object are dropped, so the first frame is the code that called into the layer.
 * 0 when the stacks are not open, when they are full, and for a capture made while this thread is already
 * capturing (an allocation from inside the unwinder). Any thread, any time after pm_stacks_open; no lock when
 * the stack is known; not async-signal-safe. */
PM_HIDDEN int32_t pm_stack_capture(const char *file, int line);

/* Writes the frames of stack id into out (size bytes), innermost first, one a line ('\n' between lines, none
 * at the end, NUL-terminated), and returns the length written; 0 for an unknown id. Each line is
 *     function (file:line)          debug information has the line
 *     function (module+0xOFFSET)    only a symbol is known
 *     module+0xOFFSET               not even that (0xADDRESS when no loaded module holds the address)
 * with module the file name of the shared object or executable and OFFSET that of the call instruction (the
 * return address - 1, so addr2line on it names the call's line). Inlined calls are a line each, the inlined
 * function first and then the function it was inlined into at the call's line. C++ names are demangled.
 * Leading frames of the layer's compat wrappers are left out, so the first line is the code that called
 * operator new, Alloc, HeapAlloc or Platform_Alloc: operator new/new[]/delete/delete[] in all their forms,
 * and code of include/platform_memory.h, include/compat/wwmem.h and include/compat/memory_wrapper.h (by the
 * line's source file when there is debug information, by the wrappers' names otherwise). Whole lines only
 * when out is too small (the first line alone is cut to fit). Takes a lock, and the first call opens the
 * debug information of every loaded module (libdw): for reports, not for allocation paths. */
PM_HIDDEN size_t pm_stack_describe(int32_t id, char *out, size_t size);

/* The file and line given to pm_stack_capture for stack id (*file NULL and *line 0 for none or an unknown id). */
PM_HIDDEN void pm_stack_site(int32_t id, const char **file, int *line);

/* The distinct stacks kept, and the bytes mapped for them (their records, the index, the id directory). */
PM_HIDDEN void pm_stacks_usage(uint64_t *stacks, uint64_t *bytes);

#endif
