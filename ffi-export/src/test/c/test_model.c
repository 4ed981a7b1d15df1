/*
 * A model-based test of the C ABI: several threads drive random good and bad calls through
 * platform_memory.h, and every result, every reported error and, at quiescent points, every counter
 * of Platform_Mem_GetStats is compared with a model kept by the test.
 *
 *   test_model BACKEND [SEED ...]     runs each seed (default: a fixed list) on a fresh start of BACKEND
 *
 * Each seed runs ROUNDS rounds. In a round WORKERS threads each make OPS random calls at once:
 * allocations of random sizes (mostly 1..1024 B, some up to 64 KiB, some 0), aligned allocations,
 * frees with the right size or 0, reallocations (grow, shrink, same, NULL, to 0), Platform_Mem_Size,
 * blocks handed to other threads through a locked pool (freed or reallocated there), and bad calls
 * (foreign, stack, global, malloc'd and interior pointers, a wrong size, SIZE_MAX, a bad alignment, a
 * double free and a realloc of a block freed a moment ago). Every block carries a pattern that is
 * checked before it is freed or resized and at every quiescent point. Each bad call must be reported
 * exactly once, with its code, to the error handler on the calling thread; good calls never.
 *
 * Then all threads stop at a barrier and the main thread compares the statistics with the model,
 * probes the peak with a block larger than any interleaving could have reached, and the threads free
 * one block on one thread and free it again on another (and on the main thread). Some threads end
 * holding live blocks (they go to the pool; others free them later) and new threads take their places.
 *
 * Each thread's sequence of calls is fixed by the seed; which pooled block a thread takes depends on
 * timing. A failure names the seed, the round, the thread, the call and what was expected; rerun it
 * with `test_model BACKEND SEED`.
 *
 * Ends with "N passed, M failed" and exits non-zero if anything failed.
 */
#define _GNU_SOURCE
#include "platform_memory.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

enum {
    WORKERS = 4,        /* threads making calls at once */
    ROUNDS = 8,         /* quiescent points per seed */
    OPS = 1500,         /* calls per thread per round */
    MAX_OWNED = 192,    /* blocks a thread holds at most */
    POOL_CAP = 4096,    /* blocks on their way between threads */
    MAX_REPORTED = 40,  /* failures printed in full */
};

/*
 * How far peak_bytes may lie above the highest live total any interleaving of the threads' calls could
 * have reached: the bound platform_memory.h documents (PLATFORM_MEM_CACHE_HELD) for the blocks the
 * per-thread caches hold unused - on each thread that ever ran (stacks; an ended thread's go to the
 * depot) and in the depot (PLATFORM_MEM_DEPOT_HELD) - plus the rounding of live blocks to their size
 * classes (at most a quarter, or 15 bytes; for an aligned block up to alignment - 16 = 240 bytes more).
 * With the caches off it is 0 and the probe pins the peak exactly.
 */
#define PEAK_SLACK ((int64_t) (threads_started + 2) * 2 * (int64_t) PLATFORM_MEM_CACHE_HELD \
                    + (int64_t) PLATFORM_MEM_DEPOT_HELD + peak_high / 4 \
                    + 256 * (int64_t) (baseline.live_blocks + 64 * WORKERS))
static int threads_started;

static const unsigned long long default_seeds[] = {1, 2, 3, 4};

/* ---- random numbers (splitmix64: each thread its own stream) --------------------------------------- */

/* next_random and below: check.h */

/* ---- blocks and their patterns ----------------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t size;
    uint64_t tag; /* unique per block: the pattern's seed */
    size_t alignment; /* what it was allocated with (16 at least): a reallocation keeps it */
} Block;

static unsigned char pattern_byte(uint64_t tag, size_t i) {
    return (unsigned char) ((tag * 0x2545F491u) ^ (tag >> 13) ^ (i * 131u) ^ (i >> 8) ^ 0x5Au);
}

static void fill_range(const Block *b, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        b->p[i] = pattern_byte(b->tag, i);
    }
}

/* The first index below n whose byte is not the pattern, or n. */
static size_t first_bad(const Block *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (b->p[i] != pattern_byte(b->tag, i)) {
            return i;
        }
    }
    return n;
}

/* ---- errors seen by the handler, per thread -------------------------------------------------------- */

static _Thread_local struct {
    unsigned count;
    int code;
    void *ptr;
    unsigned without_message;
} seen;

static void on_error(int code, const char *message, void *ptr) {
    seen.count++;
    seen.code = code;
    seen.ptr = ptr;
    if (message == NULL || message[0] == '\0') {
        seen.without_message++;
    }
}

/* ---- the model --------------------------------------------------------------------------------------- */

typedef struct {
    int64_t live_bytes, live_blocks, allocations, frees, reallocations, failed, errors;
} Counts;

typedef struct {
    int slot;        /* 0..WORKERS-1, WORKERS for the main thread */
    int incarnation; /* how many threads have had this slot */
    uint64_t rng;
    Block owned[MAX_OWNED];
    int n_owned;
    Counts c; /* what this slot's calls did, over all its threads */
    /* live bytes this slot added since the main thread last collected, and the extremes on the way */
    int64_t net, net_max, net_min;
    long op;
    const char *opname;
    int leaving;
    int started;
    pthread_t thread;
    uint64_t tags;
    long bad_calls, calls;
} Worker;

static Worker workers[WORKERS + 1];
#define MAIN_SLOT WORKERS

static unsigned long long seed;
static atomic_int round_no;
static atomic_int failures;

/* The pool of blocks between threads. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static Block pool[POOL_CAP];
static int pool_n;

/* Ordinary calls hold it shared; a double free holds it alone, so no other call can take the freed
 * address before the second free. */
static pthread_rwlock_t exclusive;
static pthread_barrier_t barrier;

/* Foreign memory for the bad calls: never handed out by the layer. */
static unsigned char global_bytes[256];
static void *libc_block;

/* The cross-thread double free: the block one thread freed, for the others to free again. */
static Block handed_freed;

static void failf(const Worker *w, int line, const char *cond, const char *message) {
    int n = atomic_fetch_add(&failures, 1);
    if (n >= MAX_REPORTED) {
        return;
    }
    flockfile(stderr);
    fprintf(stderr, "FAILED test_model.c:%d: seed %llu round %d ", line, seed, round_no);
    if (w->slot == MAIN_SLOT) {
        fprintf(stderr, "main thread");
    } else {
        fprintf(stderr, "thread %d.%d", w->slot, w->incarnation);
    }
    fprintf(stderr, " call #%ld %s: %s: %s\n", w->op, w->opname != NULL ? w->opname : "-", cond, message);
    if (n + 1 == MAX_REPORTED) {
        fprintf(stderr, "(further failures are counted, not printed)\n");
    }
    funlockfile(stderr);
}

#define EXPECT(w, cond, ...)                                  \
    do {                                                      \
        if (!(cond)) {                                        \
            char message_[600];                               \
            snprintf(message_, sizeof message_, __VA_ARGS__); \
            failf((w), __LINE__, #cond, message_);            \
        }                                                     \
    } while (0)

static void begin(Worker *w, const char *name) {
    w->opname = name;
    w->op++;
    w->calls++;
}

static void account_live(Worker *w, int64_t bytes, int64_t blocks) {
    w->c.live_bytes += bytes;
    w->c.live_blocks += blocks;
    w->net += bytes;
    if (w->net > w->net_max) {
        w->net_max = w->net;
    }
    if (w->net < w->net_min) {
        w->net_min = w->net;
    }
}

static const char *code_name(int code) {
    static const char *const names[] = {"OK", "DOUBLE_FREE", "INVALID_POINTER", "INTERIOR_POINTER",
                                        "SIZE_MISMATCH", "SIZE_OVERFLOW", "BAD_ALIGNMENT", "REALLOC_FREED",
                                        "GUARD_CORRUPTED", "HEADER_CORRUPTED", "BACKEND_FAILURE",
                                        "ALLOCATION_FAILED", "CLOSED", "INVALID_HEAP"};
    return code >= 0 && code < (int) (sizeof names / sizeof names[0]) ? names[code] : "another code";
}

/* After a call: exactly one error with this code (and pointer, when ptr_check) if code != OK, else none. */
static void expect_reported(Worker *w, unsigned before, int code, int ptr_check, const void *ptr, int line) {
    unsigned got = seen.count - before;
    char message[600];
    if (code == PLATFORM_MEM_OK) {
        if (got != 0) {
            snprintf(message, sizeof message, "expected no error, the handler got %u (last %d %s, ptr %p)", got,
                     seen.code, code_name(seen.code), seen.ptr);
            failf(w, line, "no error", message);
        }
        return;
    }
    w->c.errors++;
    w->bad_calls++;
    if (got != 1 || seen.code != code || (ptr_check && seen.ptr != ptr)) {
        snprintf(message, sizeof message, "expected one error %d %s for %p, the handler got %u (last %d %s for %p)",
                 code, code_name(code), ptr, got, seen.code, code_name(seen.code), seen.ptr);
        failf(w, line, "one error", message);
    }
}

#define NO_ERROR(w, before) expect_reported((w), (before), PLATFORM_MEM_OK, 0, NULL, __LINE__)
#define ONE_ERROR(w, before, code) expect_reported((w), (before), (code), 0, NULL, __LINE__)
#define ONE_ERROR_AT(w, before, code, ptr) expect_reported((w), (before), (code), 1, (ptr), __LINE__)

/* ---- the calls, each checked and accounted ------------------------------------------------------------ */

static size_t random_size(Worker *w) {
    size_t r = below(&w->rng, 100);
    if (r < 5) {
        return 0;
    }
    if (r < 78) {
        return 1 + below(&w->rng, 1024);
    }
    if (r < 92) {
        return 1025 + below(&w->rng, 8192 - 1024);
    }
    if (r < 97) {
        return 8193 + below(&w->rng, PLATFORM_MEM_CACHE_LARGEST - 8192); /* the caches' largest classes */
    }
    return PLATFORM_MEM_CACHE_LARGEST + 1 + below(&w->rng, 100000); /* the facade's */
}

static void keep(Worker *w, Block b) {
    w->owned[w->n_owned++] = b;
}

static Block take(Worker *w, int i) {
    Block b = w->owned[i];
    w->owned[i] = w->owned[--w->n_owned];
    return b;
}

/* A new block of the layer, checked: aligned, sized, zeroed if asked; then patterned and kept. */
static void adopt_new(Worker *w, void *p, size_t size, size_t alignment, int cleared) {
    EXPECT(w, p != NULL, "allocation of %zu bytes returned NULL", size);
    if (p == NULL) {
        w->c.failed++;
        return;
    }
    w->c.allocations++;
    account_live(w, (int64_t) size, 1);
    EXPECT(w, (uintptr_t) p % alignment == 0, "%p is not aligned to %zu", p, alignment);
    size_t recorded = Platform_Mem_Size(p);
    EXPECT(w, recorded == size, "Platform_Mem_Size %zu, expected %zu", recorded, size);
    Block b = {p, size, ((uint64_t) w->slot << 56) ^ ((uint64_t) w->incarnation << 40) ^ ++w->tags, alignment};
    if (cleared) {
        for (size_t i = 0; i < size; i++) {
            if (b.p[i] != 0) {
                EXPECT(w, b.p[i] == 0, "PLATFORM_MEM_CLEAR block of %zu bytes has byte %zu = %u", size, i, b.p[i]);
                break;
            }
        }
    }
    fill_range(&b, 0, size);
    if (w->n_owned < MAX_OWNED) {
        keep(w, b);
    } else {
        /* cannot happen: callers make room first */
        Platform_Free(p, size);
        w->c.frees++;
        account_live(w, -(int64_t) size, -1);
    }
}

static void check_pattern(Worker *w, const Block *b, const char *when) {
    size_t bad = first_bad(b, b->size);
    EXPECT(w, bad == b->size, "%s: block %p (%zu bytes) changed at byte %zu: %u, expected %u", when, (void *) b->p,
           b->size, bad, bad < b->size ? b->p[bad] : 0, bad < b->size ? pattern_byte(b->tag, bad) : 0);
}

static void op_alloc(Worker *w) {
    size_t size = random_size(w);
    unsigned flags = below(&w->rng, 4) == 0 ? PLATFORM_MEM_CLEAR : (below(&w->rng, 4) == 0 ? PLATFORM_MEM_TEMP : 0);
    begin(w, "Platform_Alloc");
    unsigned before = seen.count;
    void *p = Platform_Alloc(size, flags);
    NO_ERROR(w, before);
    if (size == 0) {
        EXPECT(w, p == NULL, "Platform_Alloc(0) returned %p", p);
        return;
    }
    adopt_new(w, p, size, 16, (flags & PLATFORM_MEM_CLEAR) != 0);
}

static void op_alloc_aligned(Worker *w) {
    size_t alignment = (size_t) 1 << below(&w->rng, 13); /* 1 .. 4096 */
    size_t size = 1 + below(&w->rng, 2048);
    unsigned flags = below(&w->rng, 2) ? PLATFORM_MEM_CLEAR : 0;
    begin(w, "Platform_AllocAligned");
    unsigned before = seen.count;
    void *p = Platform_AllocAligned(size, alignment, flags);
    NO_ERROR(w, before);
    adopt_new(w, p, size, alignment < 16 ? 16 : alignment, flags != 0);
}

/* Frees b (which nobody else holds): the right size, 0, or now and then a wrong one. */
static void free_block(Worker *w, Block b, int allow_mismatch) {
    check_pattern(w, &b, "before free");
    size_t r = below(&w->rng, 12);
    size_t given = r < 6 ? b.size : 0;
    int mismatch = allow_mismatch && r == 11;
    if (mismatch) {
        given = b.size + 1 + below(&w->rng, 100);
    }
    begin(w, mismatch ? "Platform_Free with a wrong size" : "Platform_Free");
    unsigned before = seen.count;
    Platform_Free(b.p, given);
    if (mismatch) {
        ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_SIZE_MISMATCH, b.p);
    } else {
        NO_ERROR(w, before);
    }
    w->c.frees++;
    account_live(w, -(int64_t) b.size, -1);
}

/* Resizes b (which nobody else holds) and keeps the result; contents must survive to min(old, new). */
static void realloc_block(Worker *w, Block b, int allow_mismatch) {
    check_pattern(w, &b, "before realloc");
    size_t r = below(&w->rng, 20);
    size_t new_size;
    const char *kind;
    if (r < 7) {
        new_size = b.size + 1 + below(&w->rng, b.size < 4096 ? 2048 : 16384);
        kind = "Platform_Realloc grow";
    } else if (r < 14) {
        new_size = 1 + below(&w->rng, b.size);
        kind = "Platform_Realloc shrink";
    } else if (r < 17) {
        new_size = b.size;
        kind = "Platform_Realloc same size";
    } else {
        new_size = 0;
        kind = "Platform_Realloc to 0";
    }
    size_t q = below(&w->rng, 12);
    size_t given = q < 6 ? b.size : 0;
    int mismatch = allow_mismatch && q == 11;
    if (mismatch) {
        given = b.size + 1 + below(&w->rng, 100);
    }
    begin(w, kind);
    unsigned before = seen.count;
    void *p = Platform_Realloc(b.p, given, new_size);
    if (mismatch) {
        ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_SIZE_MISMATCH, b.p);
    } else {
        NO_ERROR(w, before);
    }
    if (new_size == 0) {
        EXPECT(w, p == NULL, "Platform_Realloc(%p, %zu, 0) returned %p", (void *) b.p, given, p);
        w->c.frees++;
        account_live(w, -(int64_t) b.size, -1);
        return;
    }
    EXPECT(w, p != NULL, "Platform_Realloc(%p, %zu, %zu) returned NULL", (void *) b.p, given, new_size);
    if (p == NULL) {
        w->c.failed++;
        keep(w, b);
        return;
    }
    w->c.reallocations++;
    account_live(w, (int64_t) new_size - (int64_t) b.size, 0);
    EXPECT(w, (uintptr_t) p % b.alignment == 0, "%p (reallocated from a block aligned to %zu) is not aligned to it", p,
           b.alignment);
    size_t old_size = b.size;
    size_t kept = old_size < new_size ? old_size : new_size;
    b.p = p;
    size_t bad = first_bad(&b, kept);
    EXPECT(w, bad == kept, "%zu -> %zu bytes: byte %zu of the %zu kept changed: %u, expected %u", old_size, new_size,
           bad, kept, bad < kept ? b.p[bad] : 0, bad < kept ? pattern_byte(b.tag, bad) : 0);
    size_t recorded = Platform_Mem_Size(p);
    EXPECT(w, recorded == new_size, "Platform_Mem_Size %zu after realloc to %zu", recorded, new_size);
    b.size = new_size;
    fill_range(&b, kept, new_size);
    keep(w, b);
}

static void op_realloc_null(Worker *w) {
    size_t size = below(&w->rng, 8) == 0 ? 0 : 1 + below(&w->rng, 3000);
    begin(w, "Platform_Realloc(NULL)");
    unsigned before = seen.count;
    void *p = Platform_Realloc(NULL, below(&w->rng, 2) ? 0 : 64, size);
    NO_ERROR(w, before);
    if (size == 0) {
        EXPECT(w, p == NULL, "Platform_Realloc(NULL, 0) returned %p", p);
        return;
    }
    adopt_new(w, p, size, 16, 0);
}

static void op_size(Worker *w) {
    if (w->n_owned == 0) {
        return;
    }
    Block *b = &w->owned[below(&w->rng, (size_t) w->n_owned)];
    begin(w, "Platform_Mem_Size");
    unsigned before = seen.count;
    size_t got = Platform_Mem_Size(b->p);
    size_t inside = b->size > 16 ? Platform_Mem_Size(b->p + 16) : 0;
    NO_ERROR(w, before);
    EXPECT(w, got == b->size, "Platform_Mem_Size(%p) %zu, expected %zu", (void *) b->p, got, b->size);
    EXPECT(w, inside == 0, "Platform_Mem_Size of an interior pointer %p is %zu", (void *) (b->p + 16), inside);
    check_pattern(w, b, "Platform_Mem_Size");
}

/* Puts a block this thread no longer owns into the pool for another thread to free; when the pool is
 * full, frees it here (a wrong size allowed with allow_mismatch, as free_block). */
static void pool_or_free(Worker *w, Block b, int allow_mismatch) {
    pthread_mutex_lock(&pool_lock);
    int room = pool_n < POOL_CAP;
    if (room) {
        pool[pool_n++] = b;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!room) {
        free_block(w, b, allow_mismatch);
    }
}

/* Hands one of this thread's blocks to whoever takes it from the pool. */
static void op_give(Worker *w) {
    if (w->n_owned == 0) {
        return;
    }
    pool_or_free(w, take(w, (int) below(&w->rng, (size_t) w->n_owned)), 1);
}

/* Takes a block another thread (perhaps one that has ended) allocated: frees or resizes it here. */
static void op_take(Worker *w) {
    size_t pick = (size_t) next_random(&w->rng);
    int resize = below(&w->rng, 3) == 0;
    pthread_mutex_lock(&pool_lock);
    int have = pool_n > 0;
    Block b = {0};
    if (have) {
        int i = (int) (pick % (size_t) pool_n);
        b = pool[i];
        pool[i] = pool[--pool_n];
    }
    pthread_mutex_unlock(&pool_lock);
    if (!have) {
        return;
    }
    if (resize && w->n_owned < MAX_OWNED) {
        realloc_block(w, b, 1);
    } else {
        free_block(w, b, 1);
    }
}

/* A double free and a realloc of a block freed a moment ago on this thread, with no other call between. */
static void op_double_free(Worker *w) {
    if (w->n_owned == 0) {
        return;
    }
    Block b = take(w, (int) below(&w->rng, (size_t) w->n_owned));
    check_pattern(w, &b, "before free");
    begin(w, "Platform_Free, then again (double free on the same thread)");
    unsigned before = seen.count;
    Platform_Free(b.p, below(&w->rng, 2) ? b.size : 0);
    NO_ERROR(w, before);
    w->c.frees++;
    account_live(w, -(int64_t) b.size, -1);
    before = seen.count;
    Platform_Free(b.p, below(&w->rng, 2) ? b.size : 0);
    ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_DOUBLE_FREE, b.p);
    begin(w, "Platform_Realloc of a block freed a moment ago");
    before = seen.count;
    void *p = Platform_Realloc(b.p, 0, 1 + below(&w->rng, 200));
    ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_REALLOC_FREED, b.p);
    EXPECT(w, p == NULL, "returned %p", p);
    begin(w, "Platform_Mem_Size of a freed block");
    before = seen.count;
    size_t size = Platform_Mem_Size(b.p);
    NO_ERROR(w, before);
    EXPECT(w, size == 0, "Platform_Mem_Size %zu", size);
}

/* One bad call that needs no other thread to stand still. */
static void op_bad(Worker *w) {
    int kind = (int) below(&w->rng, 9);
    unsigned before;
    void *p;
    int on_stack[4] = {0};
    switch (kind) {
        case 0:
            begin(w, "Platform_Free of a stack address");
            before = seen.count;
            Platform_Free(&on_stack[1], below(&w->rng, 2) ? 0 : 4);
            ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_INVALID_POINTER, &on_stack[1]);
            break;
        case 1: {
            unsigned char *g = global_bytes + 16 * below(&w->rng, 16);
            begin(w, "Platform_Free of a global");
            before = seen.count;
            Platform_Free(g, 0);
            ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_INVALID_POINTER, g);
            break;
        }
        case 2:
            begin(w, "Platform_Free of a malloc block");
            before = seen.count;
            Platform_Free(libc_block, below(&w->rng, 2) ? 0 : 64);
            ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_INVALID_POINTER, libc_block);
            break;
        case 3:
        case 4: {
            Block *b = NULL;
            for (int tries = 0; tries < 4 && w->n_owned > 0; tries++) {
                Block *c = &w->owned[below(&w->rng, (size_t) w->n_owned)];
                if (c->size > 16) {
                    b = c;
                    break;
                }
            }
            if (b == NULL) {
                break;
            }
            unsigned char *inside = b->p + 16;
            if (kind == 3) {
                begin(w, "Platform_Free of an interior pointer (p+16)");
                before = seen.count;
                Platform_Free(inside, 0);
            } else {
                begin(w, "Platform_Realloc of an interior pointer (p+16)");
                before = seen.count;
                p = Platform_Realloc(inside, 0, 100);
                EXPECT(w, p == NULL, "returned %p", p);
            }
            ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_INTERIOR_POINTER, inside);
            EXPECT(w, Platform_Mem_Size(b->p) == b->size, "the block itself is still live");
            check_pattern(w, b, "after an interior pointer was refused");
            break;
        }
        case 5:
            begin(w, "Platform_Alloc(SIZE_MAX)");
            before = seen.count;
            p = Platform_Alloc(SIZE_MAX - below(&w->rng, 2), below(&w->rng, 2) ? PLATFORM_MEM_CLEAR : 0);
            ONE_ERROR(w, before, PLATFORM_MEM_ERR_SIZE_OVERFLOW);
            EXPECT(w, p == NULL, "returned %p", p);
            w->c.failed++;
            break;
        case 6: {
            static const size_t bad_alignments[] = {0, 3, 24, 48, 1000, 4097, (size_t) 1 << 31, SIZE_MAX};
            size_t alignment = bad_alignments[below(&w->rng, sizeof bad_alignments / sizeof bad_alignments[0])];
            begin(w, "Platform_AllocAligned with a bad alignment");
            before = seen.count;
            p = Platform_AllocAligned(1 + below(&w->rng, 500), alignment, 0);
            ONE_ERROR(w, before, PLATFORM_MEM_ERR_BAD_ALIGNMENT);
            EXPECT(w, p == NULL, "alignment %zu returned %p", alignment, p);
            w->c.failed++;
            break;
        }
        case 7: {
            if (w->n_owned == 0) {
                break;
            }
            Block *b = &w->owned[below(&w->rng, (size_t) w->n_owned)];
            begin(w, "Platform_Realloc to SIZE_MAX");
            before = seen.count;
            p = Platform_Realloc(b->p, below(&w->rng, 2) ? 0 : b->size, SIZE_MAX);
            ONE_ERROR(w, before, PLATFORM_MEM_ERR_SIZE_OVERFLOW);
            EXPECT(w, p == NULL, "returned %p", p);
            w->c.failed++;
            size_t size = Platform_Mem_Size(b->p);
            EXPECT(w, size == b->size, "the old block must stay live with %zu bytes: %zu", b->size, size);
            check_pattern(w, b, "after a failed realloc");
            break;
        }
        default:
            begin(w, "Platform_Free of an address never handed out");
            p = (void *) (uintptr_t) (0x7f00deadb000ULL + 16 * below(&w->rng, 64));
            before = seen.count;
            Platform_Free(p, 0);
            ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_INVALID_POINTER, p);
            break;
    }
}

/* One random call. The caller holds `exclusive` shared. */
static void random_op(Worker *w) {
    size_t r = below(&w->rng, 100);
    if (r < 28) {
        if (w->n_owned >= MAX_OWNED) {
            free_block(w, take(w, (int) below(&w->rng, (size_t) w->n_owned)), 1);
        }
        op_alloc(w);
    } else if (r < 44) {
        if (w->n_owned > 0) {
            free_block(w, take(w, (int) below(&w->rng, (size_t) w->n_owned)), 1);
        }
    } else if (r < 56) {
        if (w->n_owned > 0) {
            realloc_block(w, take(w, (int) below(&w->rng, (size_t) w->n_owned)), 1);
        }
    } else if (r < 60) {
        if (w->n_owned < MAX_OWNED) {
            op_realloc_null(w);
        }
    } else if (r < 64) {
        if (w->n_owned < MAX_OWNED) {
            op_alloc_aligned(w);
        }
    } else if (r < 68) {
        op_size(w);
    } else if (r < 77) {
        op_give(w);
    } else if (r < 86) {
        op_take(w);
    } else {
        op_bad(w);
    }
}

/* ---- threads and quiescent points ------------------------------------------------------------------ */

static void wait_all(void) {
    pthread_barrier_wait(&barrier);
}

static void check_all_owned(Worker *w) {
    w->opname = "quiescent check of the thread's blocks";
    for (int i = 0; i < w->n_owned; i++) {
        check_pattern(w, &w->owned[i], "at a quiescent point");
        size_t size = Platform_Mem_Size(w->owned[i].p);
        EXPECT(w, size == w->owned[i].size, "Platform_Mem_Size(%p) %zu, expected %zu", (void *) w->owned[i].p, size,
               w->owned[i].size);
    }
}

static void *worker_main(void *arg) {
    Worker *w = arg;
    for (;;) {
        wait_all(); /* the round starts */
        for (int i = 0; i < OPS; i++) {
            if (below(&w->rng, 60) == 0) {
                pthread_rwlock_wrlock(&exclusive);
                op_double_free(w);
            } else {
                pthread_rwlock_rdlock(&exclusive);
                random_op(w);
            }
            pthread_rwlock_unlock(&exclusive);
        }
        wait_all(); /* quiescent: the main thread checks the statistics */
        wait_all();
        /* one thread frees a block, another (and then the main thread) frees it again */
        int giver = round_no % WORKERS, taker = (round_no + 1 + round_no / WORKERS % (WORKERS - 1)) % WORKERS;
        if (w->slot == giver && w->n_owned > 0) {
            Block b = take(w, (int) below(&w->rng, (size_t) w->n_owned));
            check_pattern(w, &b, "before free");
            begin(w, "Platform_Free of the block another thread frees again");
            unsigned before = seen.count;
            Platform_Free(b.p, 0);
            NO_ERROR(w, before);
            w->c.frees++;
            account_live(w, -(int64_t) b.size, -1);
            handed_freed = b;
        }
        wait_all();
        if (w->slot == taker && handed_freed.p != NULL) {
            Block b = handed_freed;
            begin(w, "Platform_Free of a block another thread freed a moment ago");
            unsigned before = seen.count;
            Platform_Free(b.p, below(&w->rng, 2) ? b.size : 0);
            ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_DOUBLE_FREE, b.p);
            begin(w, "Platform_Realloc of a block another thread freed a moment ago");
            before = seen.count;
            void *p = Platform_Realloc(b.p, 0, 64);
            ONE_ERROR_AT(w, before, PLATFORM_MEM_ERR_REALLOC_FREED, b.p);
            EXPECT(w, p == NULL, "returned %p", p);
        }
        wait_all();
        /* the main thread frees it a third time; meanwhile every thread checks its blocks */
        check_all_owned(w);
        w->leaving = round_no == ROUNDS - 1 || below(&w->rng, 3) == 0;
        wait_all(); /* the round ends */
        if (w->leaving) {
            break;
        }
    }
    /* this thread ends holding live blocks: they go to the pool for others to free */
    while (w->n_owned > 0) {
        pool_or_free(w, take(w, w->n_owned - 1), 0);
    }
    w->opname = "thread end";
    EXPECT(w, seen.without_message == 0, "%u errors were reported without a message", seen.without_message);
    return NULL;
}

/* The model's figures, the baseline they count from, and the bounds on the peak. */
static PlatformMemStats baseline;
static int64_t model_live; /* live bytes as of the last collect */
static int64_t peak_low, peak_high;

static int64_t max64(int64_t a, int64_t b) {
    return a > b ? a : b;
}

/*
 * Folds what every slot did since the last collect into the peak bounds. Whatever the interleaving, the
 * live total never exceeded start + sum of each slot's highest point, and at the moment slot i reached
 * its highest point every other slot stood at least at its lowest. Called only when no thread calls.
 */
static void collect(void) {
    int64_t sum_max = 0, sum_min = 0, sum_net = 0;
    for (int i = 0; i <= WORKERS; i++) {
        sum_max += workers[i].net_max;
        sum_min += workers[i].net_min;
        sum_net += workers[i].net;
    }
    peak_high = max64(peak_high, model_live + sum_max);
    for (int i = 0; i <= WORKERS; i++) {
        peak_low = max64(peak_low, model_live + workers[i].net_max + (sum_min - workers[i].net_min));
    }
    model_live += sum_net;
    peak_low = max64(peak_low, model_live);
    peak_high = max64(peak_high, model_live);
    for (int i = 0; i <= WORKERS; i++) {
        workers[i].net = workers[i].net_max = workers[i].net_min = 0;
    }
}

static Counts model_total(void) {
    Counts t = {0};
    for (int i = 0; i <= WORKERS; i++) {
        t.live_bytes += workers[i].c.live_bytes;
        t.live_blocks += workers[i].c.live_blocks;
        t.allocations += workers[i].c.allocations;
        t.frees += workers[i].c.frees;
        t.reallocations += workers[i].c.reallocations;
        t.failed += workers[i].c.failed;
        t.errors += workers[i].c.errors;
    }
    return t;
}

#define CHECK_FIGURE(field, expected, got)                                                                        \
    CHECK((got) == (expected), "seed %llu round %d, %s: %s expected %lld, got %lld", seed, round_no, where, field, \
          (long long) (expected), (long long) (got))

/* Compares every counter with the model. Called only when no thread calls. */
static void compare_stats(const char *where) {
    collect();
    Counts t = model_total();
    PlatformMemStats s;
    Platform_Mem_GetStats(&s);
    CHECK(model_live == (int64_t) baseline.live_bytes + t.live_bytes, "the model agrees with itself");
    CHECK_FIGURE("live_bytes", (int64_t) baseline.live_bytes + t.live_bytes, (int64_t) s.live_bytes);
    CHECK_FIGURE("live_blocks", (int64_t) baseline.live_blocks + t.live_blocks, (int64_t) s.live_blocks);
    CHECK_FIGURE("allocations", (int64_t) baseline.allocations + t.allocations, (int64_t) s.allocations);
    CHECK_FIGURE("frees", (int64_t) baseline.frees + t.frees, (int64_t) s.frees);
    CHECK_FIGURE("reallocations", (int64_t) baseline.reallocations + t.reallocations, (int64_t) s.reallocations);
    CHECK_FIGURE("failed_allocations", (int64_t) baseline.failed_allocations + t.failed, (int64_t) s.failed_allocations);
    CHECK_FIGURE("caller_errors", (int64_t) baseline.caller_errors + t.errors, (int64_t) s.caller_errors);
    CHECK((int64_t) s.peak_bytes >= peak_low, "seed %llu round %d, %s: peak_bytes %llu is below %lld, a live total "
          "every interleaving reached", seed, round_no, where, (unsigned long long) s.peak_bytes, (long long) peak_low);
    CHECK((int64_t) s.peak_bytes <= peak_high + PEAK_SLACK, "seed %llu round %d, %s: peak_bytes %llu is above %lld, "
          "the most any interleaving could reach, + PEAK_SLACK %lld", seed, round_no, where,
          (unsigned long long) s.peak_bytes, (long long) peak_high, (long long) PEAK_SLACK);
    /* the per-call accessors say the same */
    CHECK((int64_t) Platform_Mem_GetAllocated() == (int64_t) s.live_bytes, "%s: Platform_Mem_GetAllocated", where);
    CHECK((int64_t) Platform_Mem_GetCount() == (int64_t) s.live_blocks, "%s: Platform_Mem_GetCount", where);
    /* the depot keeper lends blocks in the background, which may raise the peak (an upper bound) */
    CHECK(Platform_Mem_GetPeak() >= s.peak_bytes, "%s: Platform_Mem_GetPeak", where);
}

/* A block bigger than any interleaving could have reached: the peak must then be exactly live + its size. */
static void probe_peak(Worker *m) {
    collect();
    size_t size = (size_t) (peak_high - model_live) + 1 + below(&m->rng, 4096);
    begin(m, "peak probe: Platform_Alloc");
    unsigned before = seen.count;
    void *p = Platform_Alloc(size, 0);
    NO_ERROR(m, before);
    EXPECT(m, p != NULL, "%zu bytes", size);
    if (p == NULL) {
        m->c.failed++;
        return;
    }
    m->c.allocations++;
    account_live(m, (int64_t) size, 1);
    collect(); /* peak_low == peak_high == live now */
    compare_stats("after the peak probe (peak must be exactly live bytes + the probe)");
    begin(m, "peak probe: Platform_Free");
    before = seen.count;
    Platform_Free(p, size);
    NO_ERROR(m, before);
    m->c.frees++;
    account_live(m, -(int64_t) size, -1);
    collect();
}

/* At a quiescent point the main thread also checks every block on its way between threads. */
static void check_pool(Worker *m) {
    m->opname = "quiescent check of the pool";
    for (int i = 0; i < pool_n; i++) {
        check_pattern(m, &pool[i], "in the pool");
        size_t size = Platform_Mem_Size(pool[i].p);
        EXPECT(m, size == pool[i].size, "Platform_Mem_Size(%p) %zu, expected %zu", (void *) pool[i].p, size,
               pool[i].size);
    }
}

static void start_worker(int slot) {
    Worker *w = &workers[slot];
    w->incarnation++;
    threads_started++;
    w->rng = seed * 0x100000001B3ULL + (uint64_t) slot * 7919u + (uint64_t) w->incarnation * 104729u;
    w->n_owned = 0;
    w->leaving = 0;
    w->started = 1;
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    CHECK(rc == 0, "pthread_create: %d", rc);
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static void run_seed(const char *backend, unsigned long long s) {
    double t0 = seconds_now();
    seed = s;
    round_no = 0;
    atomic_store(&failures, 0);
    memset(workers, 0, sizeof workers);
    for (int i = 0; i <= WORKERS; i++) {
        workers[i].slot = i;
    }
    Worker *m = &workers[MAIN_SLOT];
    m->rng = s ^ 0xA5A5A5A5DEADBEEFULL;
    pool_n = 0;
    handed_freed = (Block){0};

    char options[128];
    /* thousands of bad calls on purpose, each checked through the handler: no line on stderr for each */
    snprintf(options, sizeof options, "backend=%s;log=quiet", backend);
    int rc = Platform_Mem_Init(options);
    CHECK(rc == 0, "seed %llu: Platform_Mem_Init(%s): %s", s, options, Platform_Mem_LastError());
    if (rc != 0) {
        return;
    }
    CHECK(strcmp(Platform_Mem_Backend(), backend) == 0, "backend %s", Platform_Mem_Backend());
    Platform_Mem_GetStats(&baseline);
    model_live = (int64_t) baseline.live_bytes;
    peak_low = peak_high = (int64_t) baseline.peak_bytes;
    int threads_started = 0;

    for (round_no = 0; round_no < ROUNDS; round_no++) {
        for (int i = 0; i < WORKERS; i++) {
            if (!workers[i].started) {
                start_worker(i);
                threads_started++;
            }
        }
        wait_all(); /* start */
        wait_all(); /* every thread has made its calls */
        compare_stats("at the quiescent point");
        check_pool(m);
        probe_peak(m);
        wait_all();
        wait_all(); /* the giver has freed its block */
        wait_all(); /* the taker has freed it again */
        if (handed_freed.p != NULL) {
            begin(m, "Platform_Free on the main thread of a block two threads freed");
            unsigned before = seen.count;
            Platform_Free(handed_freed.p, 0);
            ONE_ERROR_AT(m, before, PLATFORM_MEM_ERR_DOUBLE_FREE, handed_freed.p);
            handed_freed = (Block){0};
        }
        wait_all(); /* end of the round */
        for (int i = 0; i < WORKERS; i++) {
            if (workers[i].leaving) {
                pthread_join(workers[i].thread, NULL);
                workers[i].started = 0;
            }
        }
        compare_stats("after the round's ending threads left their blocks");
    }

    /* every thread has ended; the main thread frees whatever they left, some by realloc to 0 */
    m->opname = "freeing what the ended threads left";
    while (pool_n > 0) {
        Block b = pool[--pool_n];
        if (below(&m->rng, 4) == 0) {
            check_pattern(m, &b, "before realloc to 0");
            begin(m, "Platform_Realloc to 0 of a block an ended thread left");
            unsigned before = seen.count;
            void *p = Platform_Realloc(b.p, below(&m->rng, 2) ? 0 : b.size, 0);
            NO_ERROR(m, before);
            EXPECT(m, p == NULL, "returned %p", p);
            m->c.frees++;
            account_live(m, -(int64_t) b.size, -1);
        } else {
            free_block(m, b, 1);
        }
    }
    compare_stats("at the end");
    PlatformMemStats end;
    Platform_Mem_GetStats(&end);
    CHECK(end.live_blocks == baseline.live_blocks && end.live_bytes == baseline.live_bytes,
          "seed %llu: every block is freed: %llu blocks, %llu bytes", s, (unsigned long long) end.live_blocks,
          (unsigned long long) end.live_bytes);
    long calls = 0, bad = 0;
    unsigned without_message = seen.without_message;
    for (int i = 0; i <= WORKERS; i++) {
        calls += workers[i].calls;
        bad += workers[i].bad_calls;
    }
    int f = atomic_load(&failures);
    CHECK(f == 0, "seed %llu: %d failed expectations on the threads (rerun: test_model %s %llu)", s, f, backend, s);
    CHECK(without_message == 0, "seed %llu: errors reported without a message on the main thread", s);
    printf("seed %llu: %d threads, %ld calls (%ld bad), peak %llu bytes, %.2f s\n", s, threads_started, calls, bad,
           (unsigned long long) end.peak_bytes, seconds_now() - t0);
    Platform_Mem_Shutdown();
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_model BACKEND [SEED ...]\n");
        return 2;
    }
    const char *backend = argv[1];
    /* before the layer starts, so no block of the layer ever had this address */
    libc_block = malloc(64);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&exclusive, &attr);
    pthread_barrier_init(&barrier, NULL, WORKERS + 1);
    Platform_Mem_SetErrorHandler(on_error);

    if (argc > 2) {
        for (int i = 2; i < argc; i++) {
            run_seed(backend, strtoull(argv[i], NULL, 0));
        }
    } else {
        for (size_t i = 0; i < sizeof default_seeds / sizeof default_seeds[0]; i++) {
            run_seed(backend, default_seeds[i]);
        }
    }
    free(libc_block);
    return check_summary();
}
