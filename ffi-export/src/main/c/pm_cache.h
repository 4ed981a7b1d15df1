/*
 * pm_cache.h - the shim's fast path: per-thread caches of free blocks in front of the Java facade.
 * Internal to libplatform_memory.so (platform_memory.c and pm_cache.c); a game never sees it.
 *
 * Blocks up to PM_CACHE_LARGEST bytes (1 MiB) are served here, in C, without an upcall and without a
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
 *     word0  requested size (32 bits) | placement (8) | tag (8) | flags (8) | size class (8)
 *     word1  check of (address, word0) (32) | state (2): LIVE, REMOTE once another thread freed it, and
 *            FREED once it is back on a stack: a later free of the address is then told as a double
 *            free as long as nobody has written over the header (pm_diagnose reads it with a checked read)
 * An aligned block (Platform_AllocAligned, alignment 32 to PM_CACHE_ALIGN_MAX) is a block of the class of
 * size + alignment - 16 whose first aligned address is handed out, the header just before it as always;
 * the placement byte keeps where the class block starts (the offset in 16-byte units, 4 bits) and the
 * alignment (log2 - 4, 4 bits), so a free gives the whole block back and a reallocation keeps the alignment.
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
    PM_CACHE_CLASSES = 64,     /* 16..256 in 16-byte steps, then 4 classes per doubling up to 1 MiB */
    PM_CACHE_SMALL_CLASSES = 48, /* classes up to 64 KiB: stacks of several; above, one block a class */
    PM_CACHE_SMALL_LARGEST = 65536, /* the block size of the last of those (checked in pm_cache.c) */
    PM_CACHE_LARGEST = PLATFORM_MEM_CACHE_LARGEST, /* the largest size the caches can serve (1 MiB) */
    PM_CACHE_RECENT = 64,      /* recently freed addresses a thread remembers, to tell a double free */
    PM_CACHE_ALIGN_MAX = 256,  /* the largest alignment served from the caches */
    PM_TAGS = 256              /* allocation tags (Platform_Mem_PushTag): ids 0 (untagged) to 255 */
};

#define PM_SIZE_MASK ((UINT64_C(1) << 32) - 1)
#define PM_PLACE_MASK (UINT64_C(0xFF) << 32)
/* pm_mode: this thread's tag id (bits 0-7), and PM_MODE_FORBID while it forbids allocations */
#define PM_MODE_FORBID (UINT32_C(1) << 16)
#define PM_STATE_MASK UINT64_C(3)
#define PM_STATE_LIVE UINT64_C(1)
#define PM_STATE_REMOTE UINT64_C(2)
#define PM_STATE_FREED UINT64_C(3)

/* The handed-out blocks of one thread, by page: for each 64 KiB page it handed out blocks in, a bitmap of
 * the 16-byte granules where one starts. Blocks handed out together mostly share pages, so a lookup
 * touches the same few cache lines again and again, whatever the number of live blocks.
 *
 * Written by its thread only; other threads read it at any moment, without a lock and without retrying,
 * so every read must be safe in the middle of any change (pm_set_holds, pm_diagnose, pm_cache_dump):
 *   - a bit is set or cleared with one release store of its word; a reader sees the block or not;
 *   - a page record is filled before one release store puts it in a slot, its page never changes, and
 *     records are freed only under the registry's write lock (readers hold its read lock);
 *   - the page index is one object that knows its own capacity (PmIndex): the owner grows it by building
 *     a larger copy and publishing it with one release store of PmSet.index, so a reader probes the
 *     table it loaded with that table's own mask. A replaced index is never written again (the link to
 *     it is in the index that replaced it) and is freed with the thread, under the write lock;
 *   - an index is at most half full, so a probe ends at an empty slot; it is bounded by the capacity
 *     all the same.
 * A reader that loaded the index before a page was added misses that page: only a block handed out
 * after the load lives there, and nobody can free a block before it is handed out to them. */
enum { PM_PAGE_SHIFT_BITS = 16, PM_PAGE_WORDS = (1 << PM_PAGE_SHIFT_BITS) / 16 / 64, PM_RECENT_PAGES = 64 };

typedef struct PmPage {
    uintptr_t page;                          /* address >> 16 */
    _Atomic uint64_t bits[PM_PAGE_WORDS];    /* bit i: a block starts at page << 16 | i << 4 */
} PmPage;

typedef _Atomic(PmPage *) PmSlot;

/* A page index: open addressing by page number; capacity, mask and shift fixed when it is made. */
typedef struct PmIndex {
    size_t mask;             /* capacity - 1 */
    unsigned shift;          /* 64 - log2(capacity): the shift of pm_page_home */
    struct PmIndex *older;   /* the index this one replaced, kept readable until the thread goes */
    PmSlot slots[];
} PmIndex;

typedef struct PmSet {
    _Atomic(PmIndex *) index; /* the current page index; replaced by a larger one, never shrinks */
    size_t pages;            /* pages in the index (owner only) */
    size_t used;             /* live blocks (owner only; read by the registry under its write lock) */
    /* the owner's last lookups, one a slot by page number modulo PM_RECENT_PAGES (4 MiB of address space
     * direct-mapped): with one slot (the last page) the C++ client's frees missed it 91% of the time and the
     * Lua client's 45%, each miss a probe of the index out of line; with 16 slots 31% and 1.5%, with 64 1.8%
     * and 0.1% (uprobe counts, pm_clients --scale 8) */
    PmPage *recent[PM_RECENT_PAGES];
} PmSet;

/* The test build of the caches (PM_TEST_HOOKS, the C-only harness test_caches.c): a reader of another
 * thread's set calls pm_test_reader_pause() between loading what it reads and using it, so the harness can
 * stretch that window; sets start with two slots (they grow as often as possible) and ended threads'
 * records are never kept as spares (a new thread starts small). */
#ifdef PM_TEST_HOOKS
PM_HIDDEN void pm_test_reader_pause(void);
#define PM_READER_PAUSE() pm_test_reader_pause()
#else
#define PM_READER_PAUSE() ((void) 0)
#endif

/* What one thread counted for one tag: the blocks it handed out under the tag, and the blocks of the tag
 * it took back (whoever handed them out); live bytes are bytes_in - bytes_out summed over threads. */
typedef struct PmTagCount {
    _Atomic int64_t allocations, frees, bytes_in, bytes_out;
} PmTagCount;

/* One thread's cache. The fields up to `live` are its own; the counters are written by it only and
 * read by anyone (relaxed atomics: plain loads and stores on x86-64, no read-modify-write). */
typedef struct PmThread {
    uint64_t epoch;                        /* the start of the layer this cache belongs to */
    uint32_t count[PM_CACHE_CLASSES];      /* blocks on each class stack */
    void **stack[PM_CACHE_CLASSES];        /* each class's stack, in `storage` */
    PmSet live;
    _Atomic int64_t reallocations;
    /* the frame figures: run = bytes this thread handed out minus bytes it took back; run_max = the most
     * run has been since its first allocation in frame run_frame; frame_base = run when the frame began
     * (written by the thread that marks frames, under the registry lock) */
    _Atomic int64_t run, run_max;
    _Atomic uint64_t run_frame;
    int64_t frame_base;
    _Atomic(uintptr_t) recent[PM_CACHE_RECENT];
    unsigned recent_next;
    _Atomic(void *) remote;                /* blocks other threads freed: owner-bound, linked by word 0 */
    int orphaned;                          /* its thread has ended; changed under the registry lock */
    int refills;                           /* refills from Java so far */
    uint8_t fills[PM_CACHE_CLASSES];       /* refills of each class so far (a new thread's first ones are small) */
    struct PmThread *next;                 /* the registry, under its lock */
    PmTagCount tags[PM_TAGS];              /* the counters, by tag: live blocks are allocations - frees */
    void *storage[];                       /* the class stacks */
} PmThread;

/* The cache's global state: set when the layer starts, read on every call. */
typedef struct PmCacheState {
    _Atomic uint64_t epoch;   /* changes at every start and stop; 0 before the first start */
    _Atomic size_t largest;   /* the largest size the caches serve now; 0: off */
    _Atomic uint64_t frame;   /* the frame under way (Platform_Mem_FrameMark counts it up) */
} PmCacheState;

extern PM_HIDDEN PmCacheState pm_cache;
extern PM_HIDDEN _Thread_local PmThread *pm_self __attribute__((tls_model("initial-exec")));
extern PM_HIDDEN const uint16_t pm_class_capacity[PM_CACHE_CLASSES];
/* How many blocks the free fast path may leave on a class stack: its capacity up to 64 KiB, 0 above (a free
 * of a larger block takes pm_cache_push_spilling, which keeps the thread within PLATFORM_MEM_CACHE_LARGE_HELD). */
extern PM_HIDDEN const uint16_t pm_class_room[PM_CACHE_CLASSES];
/* This thread's tag and forbidden flag (see PM_MODE_FORBID), set by Platform_Mem_PushTag/PopTag/Forbid. */
extern PM_HIDDEN _Thread_local uint32_t pm_mode __attribute__((tls_model("initial-exec")));
/* Tags whose allocations take the facade's path (a budget needs one shared total); set by Java. */
extern PM_HIDDEN _Atomic uint8_t pm_tag_detour[PM_TAGS];
/* One more than the largest tag id any thread has pushed since the start (bounds the counter sums). */
extern PM_HIDDEN _Atomic uint32_t pm_tags_known;

/* Each thread's tags (pm_tags.c): push, pop and the forbidden flag change pm_mode without a call into the
 * JVM; pm_mode_sync tells the facade the thread's mode before a call that may allocate there. */
extern PM_HIDDEN _Thread_local uint32_t pm_java_mode __attribute__((tls_model("initial-exec")));
PM_HIDDEN int pm_tags_push(const PmCalls *calls, const char *name);
PM_HIDDEN void pm_tags_pop(void);
PM_HIDDEN void pm_tags_forbid(int on);
PM_HIDDEN void pm_tags_reset(void);
PM_HIDDEN void pm_mode_sync_slow(const PmCalls *calls);
static inline void pm_mode_sync(const PmCalls *calls) {
    if (PM_CACHE_UNLIKELY(pm_mode != pm_java_mode) || PM_CACHE_UNLIKELY(pm_mode != 0)) {
        pm_mode_sync_slow(calls);
    }
}

/* The slow paths (pm_cache.c). Each returns what its fast path would, or, for free, PM_CACHE_* below. */
PM_HIDDEN void *pm_cache_alloc_slow(size_t size, uint32_t flags);
PM_HIDDEN void *pm_cache_alloc_aligned(size_t size, size_t alignment, uint32_t flags);
PM_HIDDEN int pm_cache_free_slow(void *ptr, size_t size);
PM_HIDDEN void pm_cache_spill(PmThread *t, unsigned cls);
PM_HIDDEN void *pm_cache_realloc(void *ptr, size_t old_size, size_t new_size, int *handled);
PM_HIDDEN size_t pm_cache_size(const void *ptr, int *handled);
/* Platform_Mem_Discard of a block the caches handed out: zeroes the range (1), or reports a pointer that is
 * not a live block or a range outside it (0); *handled 0: not the caches' block, the facade decides. */
PM_HIDDEN int pm_cache_discard(void *ptr, size_t offset, size_t size, int *handled);
/* Platform_Mem_Trim's part here: the calling thread's cached blocks and the depot's go back to the facade. */
PM_HIDDEN void pm_cache_trim(void);
PM_HIDDEN size_t pm_cache_dump(void);
/* The layer started (the table is installed: a new epoch, the depot emptied), then its caches open for
 * requests up to largest bytes (0: they stay off), or it is stopping (before the facade closes). */
PM_HIDDEN void pm_cache_start(const PmCalls *calls);
PM_HIDDEN void pm_cache_open(size_t largest);
PM_HIDDEN void pm_cache_stop(void);

enum { PM_CACHE_DONE = 1, PM_CACHE_NOT_MINE = 0 };

/* The services Java calls (PM_SERVICES in platform_memory_shim.h): pm_service_<name>. */
#define PM_SERVICE_DECLARE(name, ret, params) PM_HIDDEN ret pm_service_##name params;
PM_SERVICES(PM_SERVICE_DECLARE)

/* ---- Size classes ---------------------------------------------------------------------------------- */

/* The class of a request of 1..PM_CACHE_LARGEST bytes (classes 0-47 up to 64 KiB, 48-63 up to 1 MiB). */
static inline unsigned pm_class_of(size_t n) {
    if (n <= 256) {
        return (unsigned) ((n - 1) >> 4);
    }
    size_t m = n - 1;
    unsigned k = 63u - (unsigned) __builtin_clzll((unsigned long long) m); /* m >= 256: k >= 8 */
    return 16u + (k - 8u) * 4u + (unsigned) (m >> (k - 2u)) - 4u;
}

/* The usable bytes of every block of class c: 16-byte steps to 256, then (5..8) << (6 + (c - 16) / 4). A
 * constant expression for a constant c (pm_cache.c builds its capacity table from it). */
#define PM_CLASS_SIZE(c) \
    ((c) < 16 ? (size_t) ((c) + 1) * 16 : (size_t) (5 + ((c) - 16) % 4) << (6 + ((c) - 16) / 4))

static inline size_t pm_class_size(unsigned c) {
    return PM_CLASS_SIZE(c);
}

/* ---- Block headers --------------------------------------------------------------------------------- */

/* The placement bits of word0: the block handed out starts offset16 * 16 bytes into its class block and is
 * aligned to 2^align_log2 bytes (4 to 8). */
static inline uint64_t pm_placement(unsigned offset16, unsigned align_log2) {
    return (uint64_t) (offset16 | (align_log2 - 4u) << 4) << 32;
}

/* The start of the class block that holds the block handed out at user (word0 w0): what goes on a stack. */
static inline void *pm_block_start(void *user, uint64_t w0) {
    return (char *) user - ((w0 >> 28) & 0xF0u);
}

/* The alignment the block was asked with (16 for every block but Platform_AllocAligned's). */
static inline size_t pm_alignment_of(uint64_t w0) {
    return (size_t) 16 << ((w0 >> 36) & 0xFu);
}

/* The bytes past the request an aligned block's class block needs: room to move up to the alignment. */
static inline size_t pm_align_pad(size_t alignment) {
    return alignment > 16 ? alignment - 16 : 0;
}

static inline uint64_t pm_word0(size_t size, uint32_t flags, unsigned cls, unsigned tag) {
    return (uint64_t) size | (uint64_t) (tag & 0xFFu) << 40 | (uint64_t) (flags & 0xFFu) << 48 | (uint64_t) cls << 56;
}

static inline unsigned pm_tag_of(uint64_t w0) {
    return (unsigned) (w0 >> 40) & 0xFFu;
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

/* word1 of a block at p with word0 w0 once it has been freed. */
static inline uint64_t pm_word1_freed(uint64_t live) {
    return (live & ~PM_STATE_MASK) | PM_STATE_FREED;
}

/* ---- The set of handed-out blocks ------------------------------------------------------------------- */

PM_HIDDEN PmPage *pm_cache_new_page(PmThread *t, uintptr_t page);

static inline size_t pm_page_home(uintptr_t page, unsigned shift) {
    return (size_t) (((uint64_t) page * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
}

/* The record of a page in an index, or NULL: within the index's capacity, whoever is changing it. */
static inline PmPage *pm_pages_find(const PmIndex *index, uintptr_t page) {
    size_t mask = index->mask;
    size_t i = pm_page_home(page, index->shift);
    for (size_t probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
        PmPage *r = atomic_load_explicit(&index->slots[i], memory_order_acquire);
        if (r == NULL || r->page == page) {
            return r;
        }
    }
    return NULL;
}

/* The owner's record of a page, or NULL. */
static inline PmPage *pm_page_of(PmThread *t, uintptr_t page);

static inline uint64_t pm_bit(uintptr_t p) {
    return UINT64_C(1) << ((p >> 4) & 63);
}

static inline _Atomic uint64_t *pm_word(PmPage *r, uintptr_t p) {
    return &r->bits[(p & 0xFFFF) >> 10];
}

/* Whether this thread handed out p and has not taken it back. A bit stands for a 16-byte granule: p
 * must be its start (an unaligned pointer into a block is an interior pointer, for the slow path). */
static inline int pm_set_has(PmThread *t, uintptr_t p) {
    if (PM_CACHE_UNLIKELY((p & 15) != 0)) {
        return 0;
    }
    PmPage *r = pm_page_of(t, p >> PM_PAGE_SHIFT_BITS);
    return r != NULL && (atomic_load_explicit(pm_word(r, p), memory_order_relaxed) & pm_bit(p)) != 0;
}

/* The owner's record of a page, added if it has none. */
static inline PmPage *pm_page_for(PmThread *t, uintptr_t page) {
    PmPage *r = pm_page_of(t, page);
    return PM_CACHE_LIKELY(r != NULL) ? r : pm_cache_new_page(t, page);
}

/* Records p (not present, in the page of record r) as handed out. Readers may miss it until the store:
 * nobody can free a block not yet returned to the caller. */
static inline void pm_set_add_in(PmThread *t, PmPage *r, uintptr_t p) {
    _Atomic uint64_t *w = pm_word(r, p);
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) | pm_bit(p), memory_order_release);
    t->live.used++;
}

/* Records p (not present) as handed out. */
static inline void pm_set_add(PmThread *t, uintptr_t p) {
    pm_set_add_in(t, pm_page_for(t, p >> PM_PAGE_SHIFT_BITS), p);
}

/* Forgets p (present). */
static inline void pm_set_remove(PmThread *t, uintptr_t p) {
    PmPage *r = pm_page_of(t, p >> PM_PAGE_SHIFT_BITS);
    _Atomic uint64_t *w = pm_word(r, p);
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) & ~pm_bit(p), memory_order_release);
    t->live.used--;
}

static inline PmPage **pm_recent_slot(PmThread *t, uintptr_t page) {
    return &t->live.recent[page & (PM_RECENT_PAGES - 1)];
}

/* The record of a page when one of the owner's recent lookups found it (the common case), else NULL. */
static inline PmPage *pm_recent_page(PmThread *t, uintptr_t page) {
    PmPage *recent = *pm_recent_slot(t, page);
    return PM_CACHE_LIKELY(recent != NULL) && PM_CACHE_LIKELY(recent->page == page) ? recent : NULL;
}

static inline PmPage *pm_page_of(PmThread *t, uintptr_t page) {
    PmPage *recent = pm_recent_page(t, page);
    if (PM_CACHE_LIKELY(recent != NULL)) {
        return recent;
    }
    PmPage *r = pm_pages_find(atomic_load_explicit(&t->live.index, memory_order_relaxed), page);
    if (r != NULL) {
        *pm_recent_slot(t, page) = r;
    }
    return r;
}

/* ---- Counters (owner-written) ----------------------------------------------------------------------- */

static inline void pm_count(_Atomic int64_t *counter, int64_t delta) {
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

/* Adds `bytes` (> 0) handed out to this thread's run, and to the most it has been in this frame. */
static inline void pm_run_up(PmThread *t, int64_t bytes) {
    int64_t run = atomic_load_explicit(&t->run, memory_order_relaxed) + bytes;
    atomic_store_explicit(&t->run, run, memory_order_relaxed);
    uint64_t frame = atomic_load_explicit(&pm_cache.frame, memory_order_relaxed);
    if (PM_CACHE_UNLIKELY(atomic_load_explicit(&t->run_frame, memory_order_relaxed) != frame)) {
        atomic_store_explicit(&t->run_frame, frame, memory_order_relaxed); /* its first allocation in the frame */
        atomic_store_explicit(&t->run_max, run, memory_order_relaxed);
    } else if (run > atomic_load_explicit(&t->run_max, memory_order_relaxed)) {
        atomic_store_explicit(&t->run_max, run, memory_order_relaxed);
    }
}

/* Counts a block handed out under `tag`. */
static inline void pm_count_in(PmThread *t, unsigned tag, uint64_t bytes) {
    PmTagCount *k = &t->tags[tag];
    pm_count(&k->allocations, 1);
    pm_count(&k->bytes_in, (int64_t) bytes);
    pm_run_up(t, (int64_t) bytes);
}

/* Counts a free of the block whose word0 is w0: the freeing thread counts it, whoever handed it out. */
static inline void pm_count_free(PmThread *t, uint64_t w0) {
    PmTagCount *k = &t->tags[pm_tag_of(w0)];
    int64_t bytes = (int64_t) (w0 & PM_SIZE_MASK);
    pm_count(&k->frees, 1);
    pm_count(&k->bytes_out, bytes);
    pm_count(&t->run, -bytes);
}

/* Counts a block of `tag` that grew (delta > 0) or shrank in place or within the caches. */
static inline void pm_count_resize(PmThread *t, unsigned tag, int64_t delta) {
    if (delta > 0) {
        pm_count(&t->tags[tag].bytes_in, delta);
        pm_run_up(t, delta);
    } else {
        pm_count(&t->tags[tag].bytes_out, -delta);
        pm_count(&t->run, delta);
    }
}

/* Remembers a freed address, so that a later free of it is told as a double free, not a foreign pointer. */
static inline void pm_remember_freed(PmThread *t, uintptr_t p) {
    atomic_store_explicit(&t->recent[t->recent_next++ % PM_CACHE_RECENT], p, memory_order_relaxed);
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

/* The fast paths below are leaves in the common case: every other case leaves them by a tail call (to the
 * slow paths in pm_cache.c, or to the caller's fallback in platform_memory.c), so the compiler saves no
 * registers and sets up no frame for the common case (6 pushes and pops an allocation before). */

/* What the caller does when the cache cannot serve or does not know a block (platform_memory.c): start the
 * layer if needed, the cache's slow paths, then the facade. */
PM_HIDDEN void *pm_alloc_fallback(size_t size, uint32_t flags);
PM_HIDDEN void pm_free_fallback(void *ptr, size_t size);

/* Hands out p (of class cls, in the page of record r) for a request of size bytes under tag: header, live
 * set, counters, zeroing. */
static inline void *pm_cache_hand_out_in(PmThread *t, PmPage *r, void *p, size_t size, uint32_t flags,
                                         unsigned cls, unsigned tag) {
    uint64_t *h = pm_header(p);
    uint64_t w0 = pm_word0(size, flags, cls, tag);
    h[0] = w0;
    atomic_store_explicit(pm_header_word1(p), pm_word1((uintptr_t) p, w0), memory_order_relaxed);
    pm_set_add_in(t, r, (uintptr_t) p);
    pm_count_in(t, tag, size);
    if (flags & PLATFORM_MEM_CLEAR) {
        return memset(p, 0, size);
    }
    return p;
}

/* pm_cache_hand_out for a block in a page no recent lookup found (pm_cache.c: finds or adds the page). */
PM_HIDDEN void *pm_cache_hand_out_paged(PmThread *t, void *p, size_t size, uint32_t flags, unsigned cls, unsigned tag);

/* Hands out p (of class cls) for a request of size bytes under tag. */
static inline void *pm_cache_hand_out(PmThread *t, void *p, size_t size, uint32_t flags, unsigned cls, unsigned tag) {
    PmPage *r = pm_recent_page(t, (uintptr_t) p >> PM_PAGE_SHIFT_BITS);
    if (PM_CACHE_UNLIKELY(r == NULL)) {
        return pm_cache_hand_out_paged(t, p, size, flags, cls, tag);
    }
    return pm_cache_hand_out_in(t, r, p, size, flags, cls, tag);
}

/* Whether a thread in this mode allocates through the facade: it forbids allocations or its tag has a
 * budget (the facade reports the one and checks the other). */
static inline int pm_mode_detours(uint32_t mode) {
    return PM_CACHE_UNLIKELY(mode >= PM_TAGS) ||
        PM_CACHE_UNLIKELY(atomic_load_explicit(&pm_tag_detour[mode], memory_order_relaxed) != 0);
}

/* A block of size (1..PM_CACHE_LARGEST) bytes for a ready layer with the caches on; anything this cannot serve
 * (an empty stack, a thread's first call, a thread that forbids allocations or whose tag has a budget: the
 * facade reports the one and checks the other) goes to pm_alloc_fallback. */
static inline void *pm_cache_alloc(size_t size, uint32_t flags) {
    uint32_t mode = pm_mode;
    PmThread *t = pm_cache_self();
    if (PM_CACHE_LIKELY(t != NULL) && !pm_mode_detours(mode)) {
        unsigned c = pm_class_of(size);
        uint32_t n = t->count[c];
        if (PM_CACHE_LIKELY(n != 0)) {
            t->count[c] = n - 1;
            return pm_cache_hand_out(t, t->stack[c][n - 1], size, flags, c, mode);
        }
    }
    return pm_alloc_fallback(size, flags);
}

/* Pushes the start of a freed block of class c onto a full stack (spilling half of it first), or of a block
 * above 64 KiB (pm_cache.c). */
PM_HIDDEN void pm_cache_push_spilling(PmThread *t, unsigned c, void *start);

/* Frees ptr (16-byte aligned, in the page of record r) if this thread handed it out and all is well; anything
 * else goes to pm_free_fallback, which tells what is wrong with it or whose it is. */
static inline void pm_cache_free_in(PmThread *t, PmPage *r, void *ptr, size_t size) {
    uintptr_t p = (uintptr_t) ptr;
    _Atomic uint64_t *w = pm_word(r, p);
    uint64_t bits = atomic_load_explicit(w, memory_order_relaxed);
    if (PM_CACHE_UNLIKELY((bits & pm_bit(p)) == 0)) {
        pm_free_fallback(ptr, size); /* not one this thread handed out: its header may not even be readable */
        return;
    }
    uint64_t w0 = pm_header(ptr)[0];
    uint64_t live = pm_word1(p, w0);
    if (PM_CACHE_UNLIKELY(atomic_load_explicit(pm_header_word1(ptr), memory_order_relaxed) != live) ||
        PM_CACHE_UNLIKELY(size != 0 && size != (w0 & PM_SIZE_MASK))) {
        pm_free_fallback(ptr, size);
        return;
    }
    atomic_store_explicit(w, bits & ~pm_bit(p), memory_order_release);
    t->live.used--;
    atomic_store_explicit(pm_header_word1(ptr), pm_word1_freed(live), memory_order_relaxed);
    pm_count_free(t, w0);
    pm_remember_freed(t, p);
    unsigned c = (unsigned) (w0 >> 56);
    void *start = pm_block_start(ptr, w0);
    uint32_t n = t->count[c];
    if (PM_CACHE_UNLIKELY(n >= pm_class_room[c])) {
        pm_cache_push_spilling(t, c, start);
        return;
    }
    t->stack[c][n] = start;
    t->count[c] = n + 1;
}

/* pm_cache_free for a block in a page no recent lookup found (pm_cache.c). */
PM_HIDDEN void pm_cache_free_paged(PmThread *t, void *ptr, size_t size);

/* Frees ptr (not NULL) for a ready layer with the caches on. */
static inline void pm_cache_free(void *ptr, size_t size) {
    PmThread *t = pm_cache_self();
    uintptr_t p = (uintptr_t) ptr;
    if (PM_CACHE_UNLIKELY(t == NULL) || PM_CACHE_UNLIKELY((p & 15) != 0)) {
        pm_free_fallback(ptr, size);
        return;
    }
    PmPage *r = pm_recent_page(t, p >> PM_PAGE_SHIFT_BITS);
    if (PM_CACHE_UNLIKELY(r == NULL)) {
        pm_cache_free_paged(t, ptr, size);
        return;
    }
    pm_cache_free_in(t, r, ptr, size);
}

#endif
