/*
 * pm_cache.h - the shim's fast path: per-thread caches of free blocks in front of the Java facade.
 * Internal to libplatform_memory.so (platform_memory.c and pm_cache.c); a game never sees it.
 *
 * Small blocks (up to PM_CACHE_LARGEST bytes) are served here, in C, without an upcall and without a
 * shared atomic, from blocks the Java facade lent in batches (so the active backend still decides
 * where every block lives):
 *
 *     Platform_Alloc(n)   pop a block of n's size class from this thread's stack, write its header,
 *                         record it in this thread's set of live blocks, count it
 *     Platform_Free(p)    find p in this thread's set, verify its header, push it back, count it
 *
 *   this thread:  [class stacks] <--> [depot: blocks for any thread, kept full by a Java thread]
 *                        ^  refill / spill in batches, one upcall each (cache_refill, cache_release)
 *                        v
 *                 Java facade (BlockSupply) -> backend
 *
 * Everything else is a slow path, out of line in pm_cache.c: an empty or full stack, a block another
 * thread handed out (found in that thread's set, claimed with one compare-and-set on its header and
 * handed back through the owner's queue), a pointer no cache knows (the facade frees or diagnoses
 * it), a thread's first call (its cache comes from the depot, so it does not wait for the JVM), and
 * a thread's end (its blocks go to the depot). Errors are reported through the facade, with the same
 * codes as every other path.
 *
 * The header a cached block carries while it is handed out (the 16 bytes before it, where the
 * facade's own header would be):
 *     word0  requested size (48 bits) | flags (8) | size class (8)
 *     word1  check of (address, word0) (32) | state (2): LIVE, or REMOTE once another thread freed it
 */
#ifndef PM_CACHE_H
#define PM_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform_memory_shim.h"

#define PM_HIDDEN __attribute__((visibility("hidden")))
#define PM_CACHE_LIKELY(x) __builtin_expect(!!(x), 1)
#define PM_CACHE_UNLIKELY(x) __builtin_expect(!!(x), 0)

enum {
    PM_CACHE_CLASSES = 36,     /* 16..256 in 16-byte steps, then 4 classes per doubling up to 8192 */
    PM_CACHE_LARGEST = 8192,   /* the largest size served from the caches */
    PM_CACHE_RECENT = 64       /* recently freed addresses a thread remembers, to tell a double free */
};

#define PM_SIZE_MASK ((UINT64_C(1) << 48) - 1)
#define PM_STATE_MASK UINT64_C(3)
#define PM_STATE_LIVE UINT64_C(1)
#define PM_STATE_REMOTE UINT64_C(2)

/* The handed-out blocks of one thread: open addressing, linear probing, removal by backward shift.
 * Written by its thread only; read by others under the thread's sequence counter (seqlock). */
typedef _Atomic(uintptr_t) PmSlot;

typedef struct PmSet {
    _Atomic(PmSlot *) slots;
    _Atomic unsigned shift; /* 64 - log2(capacity) */
    size_t used;            /* owner only */
} PmSet;

/* One thread's cache. The fields up to `live` are its own; the counters are written by it only and
 * read by anyone (relaxed atomics: plain loads and stores on x86-64, no read-modify-write). */
typedef struct PmThread {
    uint64_t epoch;                        /* the start of the layer this cache belongs to */
    uint32_t count[PM_CACHE_CLASSES];      /* blocks on each class stack */
    void **stack[PM_CACHE_CLASSES];        /* each class's stack, in `storage` */
    PmSet live;
    _Atomic uint64_t seq;                  /* odd while `live` moves entries */
    _Atomic int64_t live_bytes, allocations, frees, reallocations; /* live blocks: allocations - frees */
    _Atomic(uintptr_t) recent[PM_CACHE_RECENT];
    unsigned recent_next;
    _Atomic(void *) remote;                /* blocks other threads freed: owner-bound, linked by word 0 */
    int orphaned;                          /* its thread has ended; changed under the registry lock */
    int refills;                           /* refills from Java so far */
    struct PmThread *next;                 /* the registry, under its lock */
    void *retired;                         /* set tables replaced by larger ones, freed with the thread */
    void *storage[];                       /* the class stacks */
} PmThread;

/* The cache's global state: set when the layer starts, read on every call. */
typedef struct PmCacheState {
    _Atomic uint64_t epoch;   /* changes at every start and stop; 0 before the first start */
    _Atomic size_t largest;   /* the largest size the caches serve now; 0: off */
} PmCacheState;

extern PM_HIDDEN PmCacheState pm_cache;
extern PM_HIDDEN _Thread_local PmThread *pm_self __attribute__((tls_model("initial-exec")));
extern PM_HIDDEN const uint16_t pm_class_capacity[PM_CACHE_CLASSES];

/* The slow paths (pm_cache.c). Each returns what its fast path would, or, for free, PM_CACHE_* below. */
PM_HIDDEN void *pm_cache_alloc_slow(size_t size, uint32_t flags);
PM_HIDDEN int pm_cache_free_slow(void *ptr, size_t size);
PM_HIDDEN void pm_cache_spill(PmThread *t, unsigned cls);
PM_HIDDEN void pm_cache_grow(PmThread *t);
PM_HIDDEN void *pm_cache_realloc(void *ptr, size_t old_size, size_t new_size, int *handled);
PM_HIDDEN size_t pm_cache_size(const void *ptr, int *handled);
PM_HIDDEN size_t pm_cache_dump(void);
/* The layer started (the table is installed) or is stopping (before the facade closes). */
PM_HIDDEN void pm_cache_start(const PmTable *calls);
PM_HIDDEN void pm_cache_stop(void);

enum { PM_CACHE_DONE = 1, PM_CACHE_NOT_MINE = 0 };

/* The services Java calls (PM_SERVICES in platform_memory_shim.h): pm_service_<name>. */
#define PM_SERVICE_DECLARE(name, ret, params) PM_HIDDEN ret pm_service_##name params;
PM_SERVICES(PM_SERVICE_DECLARE)

/* ---- Size classes ---------------------------------------------------------------------------------- */

/* The class of a request of 1..PM_CACHE_LARGEST bytes. */
static inline unsigned pm_class_of(size_t n) {
    if (n <= 256) {
        return (unsigned) ((n - 1) >> 4);
    }
    size_t m = n - 1;
    unsigned k = 63u - (unsigned) __builtin_clzll((unsigned long long) m); /* m >= 256: k >= 8 */
    return 16u + (k - 8u) * 4u + (unsigned) (m >> (k - 2u)) - 4u;
}

/* The usable bytes of every block of class c. */
static inline size_t pm_class_size(unsigned c) {
    if (c < 16) {
        return (size_t) (c + 1) * 16;
    }
    unsigned j = c - 16, k = 8 + j / 4;
    return (size_t) (5 + j % 4) << (k - 2);
}

/* ---- Block headers --------------------------------------------------------------------------------- */

static inline uint64_t pm_word0(size_t size, uint32_t flags, unsigned cls) {
    return (uint64_t) size | (uint64_t) (flags & 0xFFu) << 48 | (uint64_t) cls << 56;
}

/* word1 of a live block at p with word0 w0. */
static inline uint64_t pm_word1(uintptr_t p, uint64_t w0) {
    uint64_t h = ((uint64_t) p ^ w0) * UINT64_C(0x9E3779B97F4A7C15);
    h = (h ^ (h >> 29)) * UINT64_C(0xBF58476D1CE4E5B9);
    return (h & ~PM_STATE_MASK) | PM_STATE_LIVE;
}

static inline uint64_t *pm_header(const void *ptr) {
    return (uint64_t *) ptr - 2;
}

static inline _Atomic uint64_t *pm_header_word1(const void *ptr) {
    return (_Atomic uint64_t *) ((uint64_t *) ptr - 1);
}

/* ---- The set of handed-out blocks ------------------------------------------------------------------- */

static inline size_t pm_slot_home(uintptr_t p, unsigned shift) {
    return (size_t) (((uint64_t) p * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
}

/* The slot holding p in a table of 2^(64 - shift) slots, or SIZE_MAX. */
static inline size_t pm_slots_find(PmSlot *slots, unsigned shift, uintptr_t p) {
    size_t mask = ((size_t) 1 << (64 - shift)) - 1;
    for (size_t i = pm_slot_home(p, shift);; i = (i + 1) & mask) {
        uintptr_t v = atomic_load_explicit(&slots[i], memory_order_relaxed);
        if (v == p) {
            return i;
        }
        if (v == 0) {
            return SIZE_MAX;
        }
    }
}

/* The owner's lookup: the slot holding p, or SIZE_MAX. */
static inline size_t pm_set_find(PmSet *s, uintptr_t p) {
    return pm_slots_find(atomic_load_explicit(&s->slots, memory_order_relaxed),
                         atomic_load_explicit(&s->shift, memory_order_relaxed), p);
}

/* Adds p (not present). Readers may miss it until the store: nobody can free a block not yet returned. */
static inline void pm_set_add(PmThread *t, uintptr_t p) {
    PmSet *s = &t->live;
    unsigned shift = atomic_load_explicit(&s->shift, memory_order_relaxed);
    if (PM_CACHE_UNLIKELY((s->used + 1) * 2 > ((size_t) 1 << (64 - shift)))) {
        pm_cache_grow(t);
        shift = atomic_load_explicit(&s->shift, memory_order_relaxed);
    }
    PmSlot *slots = atomic_load_explicit(&s->slots, memory_order_relaxed);
    size_t mask = ((size_t) 1 << (64 - shift)) - 1;
    size_t i = pm_slot_home(p, shift);
    while (atomic_load_explicit(&slots[i], memory_order_relaxed) != 0) {
        i = (i + 1) & mask;
    }
    atomic_store_explicit(&slots[i], p, memory_order_relaxed);
    s->used++;
}

/* Removes the entry in slot i, moving later entries of its run back, inside a seqlock write. */
static inline void pm_set_remove_at(PmThread *t, size_t i) {
    PmSet *s = &t->live;
    PmSlot *slots = atomic_load_explicit(&s->slots, memory_order_relaxed);
    unsigned shift = atomic_load_explicit(&s->shift, memory_order_relaxed);
    size_t mask = ((size_t) 1 << (64 - shift)) - 1;
    uint64_t q = atomic_load_explicit(&t->seq, memory_order_relaxed);
    atomic_store_explicit(&t->seq, q + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    size_t hole = i;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        uintptr_t v = atomic_load_explicit(&slots[j], memory_order_relaxed);
        if (v == 0) {
            break;
        }
        size_t home = pm_slot_home(v, shift);
        /* v may fill the hole if its home is not in (hole, j] (cyclically) */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            atomic_store_explicit(&slots[hole], v, memory_order_relaxed);
            hole = j;
        }
    }
    atomic_store_explicit(&slots[hole], 0, memory_order_relaxed);
    s->used--;
    atomic_store_explicit(&t->seq, q + 2, memory_order_release);
}

/* ---- Counters (owner-written) ----------------------------------------------------------------------- */

static inline void pm_count(_Atomic int64_t *counter, int64_t delta) {
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

/* ---- The fast paths --------------------------------------------------------------------------------- */

/* This thread's cache when it is ready for the current start of the layer, else NULL. */
static inline PmThread *pm_cache_self(void) {
    PmThread *t = pm_self;
    if (PM_CACHE_LIKELY(t != NULL) &&
        PM_CACHE_LIKELY(t->epoch == atomic_load_explicit(&pm_cache.epoch, memory_order_relaxed))) {
        return t;
    }
    return NULL;
}

/* Hands out p (of class cls) for a request of size bytes: header, live set, counters. */
static inline void *pm_cache_hand_out(PmThread *t, void *p, size_t size, uint32_t flags, unsigned cls) {
    uint64_t *h = pm_header(p);
    uint64_t w0 = pm_word0(size, flags, cls);
    h[0] = w0;
    atomic_store_explicit(pm_header_word1(p), pm_word1((uintptr_t) p, w0), memory_order_relaxed);
    pm_set_add(t, (uintptr_t) p);
    pm_count(&t->allocations, 1);
    pm_count(&t->live_bytes, (int64_t) size);
    if (flags & PLATFORM_MEM_CLEAR) {
        memset(p, 0, size);
    }
    return p;
}

/* A block of size (1..PM_CACHE_LARGEST) bytes, or NULL when the caller must ask the facade. */
static inline void *pm_cache_alloc(size_t size, uint32_t flags) {
    PmThread *t = pm_cache_self();
    if (PM_CACHE_LIKELY(t != NULL)) {
        unsigned c = pm_class_of(size);
        uint32_t n = t->count[c];
        if (PM_CACHE_LIKELY(n != 0)) {
            t->count[c] = n - 1;
            return pm_cache_hand_out(t, t->stack[c][n - 1], size, flags, c);
        }
    }
    return pm_cache_alloc_slow(size, flags);
}

/* Frees ptr (not NULL) if this thread handed it out and all is well: PM_CACHE_DONE. Anything else
 * goes to the slow path, which returns PM_CACHE_DONE too, or PM_CACHE_NOT_MINE for the facade. */
static inline int pm_cache_free(void *ptr, size_t size) {
    PmThread *t = pm_cache_self();
    if (PM_CACHE_UNLIKELY(t == NULL)) {
        return pm_cache_free_slow(ptr, size);
    }
    uintptr_t p = (uintptr_t) ptr;
    size_t i = pm_set_find(&t->live, p);
    if (PM_CACHE_UNLIKELY(i == SIZE_MAX)) {
        return pm_cache_free_slow(ptr, size);
    }
    uint64_t w0 = pm_header(ptr)[0];
    uint64_t recorded = w0 & PM_SIZE_MASK;
    if (PM_CACHE_UNLIKELY(atomic_load_explicit(pm_header_word1(ptr), memory_order_relaxed) != pm_word1(p, w0)) ||
        PM_CACHE_UNLIKELY(size != 0 && size != recorded)) {
        return pm_cache_free_slow(ptr, size);
    }
    pm_set_remove_at(t, i);
    atomic_store_explicit(pm_header_word1(ptr), 0, memory_order_relaxed);
    pm_count(&t->frees, 1);
    pm_count(&t->live_bytes, -(int64_t) recorded);
    atomic_store_explicit(&t->recent[t->recent_next++ % PM_CACHE_RECENT], p, memory_order_relaxed);
    unsigned c = (unsigned) (w0 >> 56);
    if (PM_CACHE_UNLIKELY(t->count[c] == pm_class_capacity[c])) {
        pm_cache_spill(t, c);
    }
    t->stack[c][t->count[c]++] = ptr;
    return PM_CACHE_DONE;
}

#endif
