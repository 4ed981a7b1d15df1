/*
 * pm_cache.c - the slow paths of the shim's per-thread caches (the fast paths are in pm_cache.h).
 *
 * Threads, each with a PmThread, are kept in a registry (a read-write lock): a thread reads the others
 * only to free or resize a block they handed out, to sum counters, and to diagnose a bad pointer.
 * A block another thread frees is claimed with one compare-and-set on its header (LIVE -> REMOTE) and
 * pushed onto its owner's queue; the owner takes it back on its next slow path. A thread that ends
 * gives its cached blocks to the depot and stays registered, "orphaned", until the blocks it handed
 * out are freed. Every start of the layer is an epoch: a cache of an older one is forgotten on its
 * thread's next call, so no block of a closed facade is handed out again.
 *
 * What a thread reads of another's without waiting for it, and the rule each read relies on (a reader must
 * be safe at any moment of the writer's change, not only when the answer turns out current):
 *   - the registry (the list of records, each record's epoch and orphaned flag): read under the read lock,
 *     changed and freed under the write lock only;
 *   - a thread's set of handed-out blocks (pm_set_holds, pm_diagnose, pm_cache_dump): the set's rules in
 *     pm_cache.h, one pointer to an index that knows its own size, records freed under the write lock;
 *   - a block's header: claimed by one compare-and-set (LIVE -> REMOTE), so one thread at most frees a
 *     block of another; a header found only through another thread's set, not given by the caller, may
 *     belong to a block that is being freed and given back to the backend: read with pm_read_checked;
 *   - the remote queues (pm_give_to_owner): see there;
 *   - the pages known to hold cached blocks (pm_page_known): leaves published by one compare-and-set,
 *     never freed, bits only ever set;
 *   - the depot: under its lock, but a class's count, read without it as a hint;
 *   - the counters: each written by its thread only, as relaxed atomic stores, read as relaxed loads.
 */
#define _GNU_SOURCE
#include "pm_cache.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

PM_HIDDEN PmCacheState pm_cache;
PM_HIDDEN _Thread_local PmThread *pm_self __attribute__((tls_model("initial-exec")));
PM_HIDDEN _Thread_local uint32_t pm_mode __attribute__((tls_model("initial-exec")));
PM_HIDDEN _Atomic uint8_t pm_tag_detour[PM_TAGS];
PM_HIDDEN _Atomic uint32_t pm_tags_known = 1;

/* Stack depth per class: about 32 KiB of blocks, 8 to 512 of them, up to 8 KiB. Deep enough that a thread
 * building and tearing down a structure of a few hundred small objects (a tree of Lua tables, a frame's
 * temporaries) stays inside its cache; refills and spills move half a stack in one upcall. Above 8 KiB about
 * 64 KiB, 2 to 6 blocks: a vector or string buffer that grows (a new block, then the old one freed) or a frame's
 * scratch buffer finds the block the last one left, without the facade's large-block path (the C++ client's
 * 576 blocks of 8-64 KiB a run went through it, each one upcall and, early on, interpreted Java: serving
 * them from the heap instead took its run from 1.5x to 1.08x glibc's wall time; pm_clients --scale 8).
 * Above 64 KiB (classes 48-63, to 1 MiB) one block a class, and at most PLATFORM_MEM_CACHE_LARGE_HELD bytes of
 * them a thread (pm_push_large): a frame's scratch buffer or a level's 1 MiB block freed and taken again is
 * then a stack pop in C, not two upcalls into the facade's large-block path (under the JIT the shim picks on 2
 * CPUs, C1, that path took 120-240 ns a pair; glibc keeps such a block at the top of its heap as well).
 * Together at most PLATFORM_MEM_CACHE_HELD bytes a thread (checked below when this file compiles). */
#define PM_CAP_SMALL(size) ((32768 / (size)) > 512 ? 512 : (32768 / (size)) < 8 ? 8 : (32768 / (size)))
#define PM_CAP_LARGE(size) ((65536 / (size)) < 2 ? 2 : (65536 / (size)))
#define PM_CAP(size) ((size) <= 8192 ? PM_CAP_SMALL(size) : (size) <= PM_CACHE_SMALL_LARGEST ? PM_CAP_LARGE(size) : 1)
/* every class, in order (the table below has an entry a class, checked) */
#define PM_CLASSES_4(X, c) X(c) X((c) + 1) X((c) + 2) X((c) + 3)
#define PM_CLASSES_16(X, c) PM_CLASSES_4(X, c) PM_CLASSES_4(X, (c) + 4) PM_CLASSES_4(X, (c) + 8) PM_CLASSES_4(X, (c) + 12)
#define PM_CLASS_LIST(X) PM_CLASSES_16(X, 0) PM_CLASSES_16(X, 16) PM_CLASSES_16(X, 32) PM_CLASSES_16(X, 48)
#define PM_CAP_ENTRY(c) PM_CAP(PM_CLASS_SIZE(c)),
#define PM_ROOM_ENTRY(c) ((c) < PM_CACHE_SMALL_CLASSES ? PM_CAP(PM_CLASS_SIZE(c)) : 0),
#define PM_HELD_TERM(c) + ((c) < PM_CACHE_SMALL_CLASSES ? (size_t) PM_CAP(PM_CLASS_SIZE(c)) * PM_CLASS_SIZE(c) : 0)
#define PM_COUNT_TERM(c) + 1
PM_HIDDEN const uint16_t pm_class_capacity[PM_CACHE_CLASSES] = {PM_CLASS_LIST(PM_CAP_ENTRY)};
PM_HIDDEN const uint16_t pm_class_room[PM_CACHE_CLASSES] = {PM_CLASS_LIST(PM_ROOM_ENTRY)};
/* the bound platform_memory.h states holds, the table has one entry a class, and the classes end where the
 * header says: 64 KiB for the small ones, PLATFORM_MEM_CACHE_LARGEST for all (compile-time checks) */
typedef char pm_cache_held_check[(0 PM_CLASS_LIST(PM_HELD_TERM)) + PLATFORM_MEM_CACHE_LARGE_HELD <= PLATFORM_MEM_CACHE_HELD
                                 ? 1 : -1];
typedef char pm_cache_classes_check[(0 PM_CLASS_LIST(PM_COUNT_TERM)) == PM_CACHE_CLASSES ? 1 : -1];
typedef char pm_cache_small_check[PM_CLASS_SIZE(PM_CACHE_SMALL_CLASSES - 1) == PM_CACHE_SMALL_LARGEST ? 1 : -1];
typedef char pm_cache_largest_check[PM_CLASS_SIZE(PM_CACHE_CLASSES - 1) == PLATFORM_MEM_CACHE_LARGEST &&
                                    PLATFORM_MEM_CACHE_LARGEST <= PLATFORM_MEM_CACHE_LARGE_HELD ? 1 : -1];

enum { PM_DEPOT_PREFILLED = 23 }; /* classes up to 1 KiB are kept in the depot for new threads */

static const PmCalls *pm_calls;

static int pm_batch(unsigned c) {
    return pm_class_capacity[c] > 1 ? pm_class_capacity[c] / 2 : 1;
}

/* ---- Errors: found here, reported through the facade (counted, logged, told to the handler) -------- */

static void pm_cache_report(int code, void *ptr, const char *format, ...) __attribute__((format(printf, 3, 4)));

static void pm_cache_report(int code, void *ptr, const char *format, ...) {
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (pm_calls != NULL) {
        pm_calls->report(code, message, ptr);
    }
}

/* Copies n bytes at address into out without risking a fault, whatever the address: 1, or 0 when any
 * of them cannot be read (unmapped, protected). A system call: for diagnosing pointers nobody vouches for. */
static int pm_read_checked(uintptr_t address, void *out, size_t n) {
    struct iovec local = {out, n};
    struct iovec remote = {(void *) address, n};
    ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (got == (ssize_t) n) {
        return 1;
    }
    if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
        /* no such system call here (a sandbox): the process's memory file does the same */
        int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            got = pread(fd, out, n, (off_t) address);
            close(fd);
            return got == (ssize_t) n;
        }
    }
    return 0;
}

/* ---- Pages that hold cached blocks: a pointer elsewhere is not a cache's, without reading it ------- */

#define PM_PAGE_SHIFT 16
static _Atomic(_Atomic uint64_t *) pm_pages[1u << 15]; /* by address >> 32, for 47-bit addresses */

static int pm_page_known(uintptr_t p) {
    if (p >> 47) {
        return 0;
    }
    _Atomic uint64_t *leaf = atomic_load_explicit(&pm_pages[p >> 32], memory_order_acquire);
    if (leaf == NULL) {
        return 0;
    }
    size_t bit = (p >> PM_PAGE_SHIFT) & 0xFFFF;
    return (int) ((atomic_load_explicit(&leaf[bit >> 6], memory_order_relaxed) >> (bit & 63)) & 1);
}

static int pm_page_mark(uintptr_t p) {
    if (p >> 47) {
        return 0;
    }
    _Atomic uint64_t *leaf = atomic_load_explicit(&pm_pages[p >> 32], memory_order_acquire);
    if (leaf == NULL) {
        _Atomic uint64_t *fresh = calloc(1024, sizeof *fresh);
        if (fresh == NULL) {
            return 0;
        }
        _Atomic uint64_t *expected = NULL;
        if (atomic_compare_exchange_strong(&pm_pages[p >> 32], &expected, fresh)) {
            leaf = fresh;
        } else {
            free(fresh);
            leaf = expected;
        }
    }
    size_t bit = (p >> PM_PAGE_SHIFT) & 0xFFFF;
    uint64_t mask = UINT64_C(1) << (bit & 63);
    /* a batch's blocks mostly share a few pages already marked: a plain load, not a locked or, for those */
    if ((atomic_load_explicit(&leaf[bit >> 6], memory_order_relaxed) & mask) == 0) {
        atomic_fetch_or_explicit(&leaf[bit >> 6], mask, memory_order_release);
    }
    return 1;
}

/* Marks every page the class block of `size` bytes at p lies in, so that a pointer anywhere inside a block
 * above 64 KiB is known to be near a cache's (pm_diagnose tells an interior pointer), not taken for a stranger's. */
static int pm_block_mark(uintptr_t p, size_t size) {
    for (uintptr_t page = p >> PM_PAGE_SHIFT, last = (p + size - 1) >> PM_PAGE_SHIFT; page <= last; page++) {
        if (!pm_page_mark(page << PM_PAGE_SHIFT)) {
            return 0;
        }
    }
    return 1;
}

/* ---- The depot: blocks any thread may take, kept between a low and a high mark by a Java thread ---- */

/* Everything in it is read and written under its lock, but a class's count, which pm_depot_get reads without
 * the lock to skip it when there is nothing to take (a stale count costs only a lock or a refill). */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    void **blocks[PM_CACHE_CLASSES];
    int count[PM_CACHE_CLASSES];        /* stored atomically (pm_depot_set_count) */
    int room[PM_CACHE_CLASSES];
    size_t bytes; /* of the blocks held, over all classes */
    int stop;
} pm_depot = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Sets class c's count. Under the lock; an atomic store all the same, for pm_depot_get's look without it. */
static void pm_depot_set_count(unsigned c, int n) {
    __atomic_store_n(&pm_depot.count[c], n, __ATOMIC_RELAXED);
}

static int pm_depot_target(unsigned c) {
    return c <= PM_DEPOT_PREFILLED ? 2 * pm_batch(c) : 0;
}

/* Whether the depot keeps n more blocks of class c: up to PLATFORM_MEM_DEPOT_HELD bytes of blocks over all
 * classes, whatever their mix. A script's garbage collection or a level's teardown frees far more than a
 * thread's stacks hold, and the same program allocates as much again soon after; kept here, that round trip
 * never crosses into Java. With eight stacks a class (10 MiB at most) the Lua client still sent 245,000 blocks
 * a run back to Java and took 267,000 from it; with a budget over all classes, 26,000 and 90,000 (pm_clients
 * --scale 8). glibc keeps every freed small block; this is still the thriftier of the two. Under the lock. */
static int pm_depot_keeps(unsigned c, int n) {
    return c < PM_CACHE_SMALL_CLASSES && pm_depot.bytes + (size_t) n * pm_class_size(c) <= PLATFORM_MEM_DEPOT_HELD;
}

/* Whether the depot needs the Java thread: a class below half its target (that class), or the depot over its
 * budget (the class with most to spare, | 256). Under the lock. */
static int pm_depot_work(void) {
    for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
        if (pm_depot.count[c] * 2 < pm_depot_target(c)) {
            return (int) c;
        }
    }
    for (unsigned c = PM_CACHE_SMALL_CLASSES; c < PM_CACHE_CLASSES; c++) {
        if (pm_depot.count[c] > 0) {
            return (int) c | 256; /* a block above 64 KiB an ended thread left: back to the facade */
        }
    }
    if (pm_depot.bytes > PLATFORM_MEM_DEPOT_HELD) {
        /* over its budget (threads that ended left their stacks here): the class with the most bytes to spare */
        int most = -1;
        size_t spare = 0;
        for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
            int extra = pm_depot.count[c] - pm_depot_target(c);
            if (extra > 0 && (size_t) extra * pm_class_size(c) > spare) {
                spare = (size_t) extra * pm_class_size(c);
                most = (int) c;
            }
        }
        if (most >= 0) {
            return most | 256;
        }
    }
    return -1;
}

/* Adds n blocks of class c; the depot grows to hold them. Under the lock. Returns how many it took: none
 * once the layer is stopping (its blocks go with the closing facade). */
static int pm_depot_add(unsigned c, void *const *blocks, int n) {
    if (pm_depot.stop) {
        return 0;
    }
    if (pm_depot.count[c] + n > pm_depot.room[c]) {
        int room = pm_depot.room[c] * 2 + n + 16;
        void **grown = realloc(pm_depot.blocks[c], (size_t) room * sizeof *grown);
        if (grown == NULL) {
            return 0;
        }
        pm_depot.blocks[c] = grown;
        pm_depot.room[c] = room;
    }
    memcpy(pm_depot.blocks[c] + pm_depot.count[c], blocks, (size_t) n * sizeof *blocks);
    pm_depot_set_count(c, pm_depot.count[c] + n);
    pm_depot.bytes += (size_t) n * pm_class_size(c);
    if (c >= PM_CACHE_SMALL_CLASSES) {
        pthread_cond_signal(&pm_depot.wake); /* kept only until the keeper takes it back (pm_depot_work) */
    }
    return n;
}

/* Moves the top n blocks of class c (n at most its count) into out. Under the lock. */
static void pm_depot_remove(unsigned c, void **out, int n) {
    if (n == 0) {
        return; /* a class never filled has no array (memcpy from NULL is undefined, even of 0 bytes) */
    }
    pm_depot_set_count(c, pm_depot.count[c] - n);
    pm_depot.bytes -= (size_t) n * pm_class_size(c);
    memcpy(out, pm_depot.blocks[c] + pm_depot.count[c], (size_t) n * sizeof *out);
}

/* Takes up to n blocks of class c into out; with surplus_only, only blocks above the class's target
 * (what threads spilled), leaving the target for threads new to the JVM. */
static int pm_depot_get(unsigned c, void **out, int n, int surplus_only) {
    if (surplus_only && __atomic_load_n(&pm_depot.count[c], __ATOMIC_RELAXED) <= pm_depot_target(c)) {
        return 0; /* a look without the lock, to skip it: the common case for a thread past its first refills */
    }
    pthread_mutex_lock(&pm_depot.lock);
    int available = surplus_only ? pm_depot.count[c] - pm_depot_target(c) : pm_depot.count[c];
    int taken = n < available ? n : available > 0 ? available : 0;
    int was_low = pm_depot.count[c] * 2 < pm_depot_target(c);
    pm_depot_remove(c, out, taken);
    if (taken > 0 && !was_low && pm_depot.count[c] * 2 < pm_depot_target(c)) {
        pthread_cond_signal(&pm_depot.wake); /* once, as the class falls below half its target */
    }
    pthread_mutex_unlock(&pm_depot.lock);
    return taken;
}

/* Service: waits up to timeout_ms for depot work. */
PM_HIDDEN int32_t pm_service_depot_wait(int32_t timeout_ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pm_depot.lock);
    int work = -1;
    while (!pm_depot.stop && (work = pm_depot_work()) < 0) {
        if (pthread_cond_timedwait(&pm_depot.wake, &pm_depot.lock, &until) != 0) {
            work = pm_depot_work();
            break;
        }
    }
    if (pm_depot.stop) {
        work = -2;
    }
    pthread_mutex_unlock(&pm_depot.lock);
    return work;
}

/* Service: adds blocks Java lent for the depot; 0 once the layer is stopping (Java keeps them). */
PM_HIDDEN int32_t pm_service_depot_put(int32_t cls, void *blocks, int32_t n) {
    if (cls < 0 || cls >= PM_CACHE_CLASSES || n <= 0) {
        return 0;
    }
    for (int32_t i = 0; i < n; i++) {
        if (!pm_block_mark((uintptr_t) ((void **) blocks)[i], pm_class_size((unsigned) cls))) {
            return 0;
        }
    }
    pthread_mutex_lock(&pm_depot.lock);
    int taken = pm_depot.stop ? 0 : pm_depot_add((unsigned) cls, (void *const *) blocks, n);
    pthread_mutex_unlock(&pm_depot.lock);
    return taken;
}

/* Service: takes blocks out of the depot (above its high mark) for Java to take back. */
PM_HIDDEN int32_t pm_service_depot_take(int32_t cls, void *out, int32_t max) {
    if (cls < 0 || cls >= PM_CACHE_CLASSES || max <= 0) {
        return 0;
    }
    pthread_mutex_lock(&pm_depot.lock);
    int extra = pm_depot.count[cls] - pm_depot_target((unsigned) cls); /* what pm_depot_work counts as spare */
    int taken = extra < 0 ? 0 : extra < max ? extra : max;
    pm_depot_remove((unsigned) cls, out, taken);
    pthread_mutex_unlock(&pm_depot.lock);
    return taken;
}

/* Service: a class's block size, batch and depot target (0 past the last class). */
PM_HIDDEN int32_t pm_service_cache_class_info(int32_t cls, int64_t *out) {
    if (cls < 0 || cls >= PM_CACHE_CLASSES) {
        return 0;
    }
    out[0] = (int64_t) pm_class_size((unsigned) cls);
    out[1] = pm_batch((unsigned) cls);
    out[2] = pm_depot_target((unsigned) cls);
    return 1;
}

/* ---- The registry of threads ----------------------------------------------------------------------- */

static pthread_rwlock_t pm_registry_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t pm_orphan_lock = PTHREAD_MUTEX_INITIALIZER;
static PmThread *pm_threads;
static int64_t pm_retired_totals[5]; /* counters of this epoch's threads that are gone */
static int64_t pm_retired_tags[PM_TAGS * 4]; /* and their counters by tag (as PmTagCount) */
static pthread_key_t pm_thread_key;
static pthread_once_t pm_thread_key_once = PTHREAD_ONCE_INIT;

static void pm_thread_exit(void *arg);

static void pm_make_key(void) {
    pthread_key_create(&pm_thread_key, pm_thread_exit);
}

#ifdef PM_TEST_HOOKS
enum { PM_INDEX_INITIAL_SHIFT = 64 - 1 }; /* 2 pages: grown as often as possible */
#else
enum { PM_INDEX_INITIAL_SHIFT = 64 - 6 }; /* 64 pages */
#endif

/* An empty page index of 2^(64 - shift) slots, or NULL. */
static PmIndex *pm_index_new(unsigned shift) {
    size_t capacity = (size_t) 1 << (64 - shift);
    PmIndex *index = calloc(1, sizeof *index + capacity * sizeof(PmSlot));
    if (index != NULL) {
        index->mask = capacity - 1;
        index->shift = shift;
    }
    return index;
}

/* Frees a thread's page records and empties its index. Under the registry's write lock (no reader). */
static void pm_pages_free(PmThread *t) {
    PmIndex *index = atomic_load_explicit(&t->live.index, memory_order_relaxed);
    for (size_t i = 0; i <= index->mask; i++) {
        free(atomic_load_explicit(&index->slots[i], memory_order_relaxed));
        atomic_store_explicit(&index->slots[i], NULL, memory_order_relaxed);
    }
    t->live.pages = 0;
    t->live.used = 0;
    memset(t->live.recent, 0, sizeof t->live.recent);
}

/* Adds a thread's counters by tag, for the first n tags, to tags[4 * tag + 0..3]. */
static void pm_tags_into(const PmThread *t, int64_t *tags, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        const PmTagCount *k = &t->tags[i];
        tags[4 * i] += atomic_load_explicit(&k->allocations, memory_order_relaxed);
        tags[4 * i + 1] += atomic_load_explicit(&k->frees, memory_order_relaxed);
        tags[4 * i + 2] += atomic_load_explicit(&k->bytes_in, memory_order_relaxed);
        tags[4 * i + 3] += atomic_load_explicit(&k->bytes_out, memory_order_relaxed);
    }
}

static unsigned pm_tags_in_use(void) {
    unsigned n = atomic_load_explicit(&pm_tags_known, memory_order_acquire);
    return n < 1 ? 1 : n > PM_TAGS ? PM_TAGS : n;
}

static void pm_counters_into(const PmThread *t, int64_t *totals) {
    int64_t allocations = 0, frees = 0, bytes = 0;
    for (unsigned i = 0, n = pm_tags_in_use(); i < n; i++) {
        const PmTagCount *k = &t->tags[i];
        allocations += atomic_load_explicit(&k->allocations, memory_order_relaxed);
        frees += atomic_load_explicit(&k->frees, memory_order_relaxed);
        bytes += atomic_load_explicit(&k->bytes_in, memory_order_relaxed)
            - atomic_load_explicit(&k->bytes_out, memory_order_relaxed);
    }
    totals[0] += bytes;
    totals[1] += allocations - frees; /* every path that counts a block in or out counts one of these */
    totals[2] += allocations;
    totals[3] += frees;
    totals[4] += atomic_load_explicit(&t->reallocations, memory_order_relaxed);
}

/* Frees a thread's record, its page records and every index it had. Under the registry's write lock. */
static void pm_thread_free(PmThread *t) {
    pm_pages_free(t);
    PmIndex *index = atomic_load_explicit(&t->live.index, memory_order_relaxed);
    while (index != NULL) {
        PmIndex *older = index->older;
        free(index);
        index = older;
    }
    free(t);
}

/* Zeroes a thread's counters, remote queue and memory of recent frees. Nobody else reads the record: it
 * is a spare, or the registry's write lock is held. */
static void pm_thread_clear_counters(PmThread *t) {
    atomic_store_explicit(&t->remote, NULL, memory_order_relaxed);
    memset(t->tags, 0, sizeof t->tags);
    atomic_store_explicit(&t->reallocations, 0, memory_order_relaxed);
    atomic_store_explicit(&t->run, 0, memory_order_relaxed);
    atomic_store_explicit(&t->run_max, 0, memory_order_relaxed);
    t->frame_base = 0;
    for (int i = 0; i < PM_CACHE_RECENT; i++) {
        atomic_store_explicit(&t->recent[i], 0, memory_order_relaxed);
    }
    t->refills = 0;
}

/* Forgets everything a thread had from an older start of the layer; its blocks went with that facade. */
static void pm_thread_renew(PmThread *t, uint64_t epoch) {
    pm_pages_free(t); /* under the registry's write lock: nobody reads them */
    memset(t->count, 0, sizeof t->count);
    pm_thread_clear_counters(t);
    t->epoch = epoch;
}

/* The records of threads that ended with nothing live, kept for the next threads to start (registry write
 * lock): a program that starts short threads again and again (a job system, a thread per request) then
 * pays no malloc of the record and its stacks, no zeroing of its counters' pages and no page records for
 * the blocks it is handed (those of the thread before it, on the same pages). */
enum { PM_SPARE_THREADS = 4 };
#ifdef PM_TEST_HOOKS
enum { PM_SPARES_KEPT = 0 }; /* every new thread starts with a new, small set */
#else
enum { PM_SPARES_KEPT = PM_SPARE_THREADS };
#endif
static PmThread *pm_spares[PM_SPARE_THREADS];
static int pm_spare_count;

/* An ended thread's record, no longer in the registry: kept as a spare when it may be, else freed. */
static void pm_thread_retire(PmThread *t, uint64_t epoch) {
    if (PM_SPARES_KEPT > 0 && t->epoch == epoch && t->live.used == 0 && pm_spare_count < PM_SPARES_KEPT) {
        pm_spares[pm_spare_count++] = t; /* its page records stay, every bit clear */
    } else {
        pm_thread_free(t);
    }
}

/* A spare record made ready for a new thread: fresh counters (the old ones were retired), a new thread's
 * small first refills; the blocks on its stacks (if any) are this start's and stay. */
static void pm_thread_reuse(PmThread *t, uint64_t epoch) {
    if (t->epoch != epoch) {
        pm_thread_renew(t, epoch);
    } else {
        pm_thread_clear_counters(t);
    }
    memset(t->fills, 0, sizeof t->fills);
    atomic_store_explicit(&t->run_frame, 0, memory_order_relaxed);
    t->orphaned = 0;
}

/* A new thread's record for this start: zeroed counters, empty stacks and page index; NULL if out of memory. */
static PmThread *pm_thread_new(uint64_t epoch) {
    size_t slots = 0;
    for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
        slots += pm_class_capacity[c];
    }
    /* the stacks need no zeroing (a slot is written before it is read): clearing them would cost a
     * thread's first call a microsecond for nothing */
    PmThread *t = malloc(sizeof *t + slots * sizeof(void *));
    if (t != NULL) {
        memset(t, 0, sizeof *t);
    }
    PmIndex *index = t != NULL ? pm_index_new(PM_INDEX_INITIAL_SHIFT) : NULL;
    if (index == NULL) {
        free(t);
        return NULL;
    }
    size_t at = 0;
    for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
        t->stack[c] = t->storage + at;
        at += pm_class_capacity[c];
    }
    atomic_store_explicit(&t->live.index, index, memory_order_relaxed); /* published with the record */
    t->epoch = epoch;
    return t;
}

/* This thread's cache for the current start, made or renewed; NULL if the caches are off or out of memory. */
static PmThread *pm_thread_ready(void) {
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_acquire);
    if (atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) == 0) {
        return NULL;
    }
    PmThread *t = pm_self;
    if (t != NULL && t->epoch == epoch) {
        return t;
    }
    pthread_rwlock_wrlock(&pm_registry_lock);
    if (t != NULL) {
        pm_thread_renew(t, epoch);
        pm_mode = 0; /* tags pushed before a restart belonged to the facade that closed */
    } else {
        if (pm_spare_count > 0) {
            t = pm_spares[--pm_spare_count];
            pm_thread_reuse(t, epoch);
        } else {
            t = pm_thread_new(epoch);
        }
        if (t != NULL) {
            t->next = pm_threads;
            pm_threads = t;
            pthread_once(&pm_thread_key_once, pm_make_key);
            pthread_setspecific(pm_thread_key, t);
            pm_self = t;
        }
    }
    pthread_rwlock_unlock(&pm_registry_lock);
    return t;
}

/* A page's record for this thread, new; the index doubles when half full (the set's rules, pm_cache.h: the
 * larger copy is published with one store, and the index it replaces stays as it is until the thread goes). */
PM_HIDDEN PmPage *pm_cache_new_page(PmThread *t, uintptr_t page) {
    PmPage *r = calloc(1, sizeof *r);
    if (r == NULL) {
        fprintf(stderr, "platform-memory: out of memory for a thread's record of its live blocks\n");
        abort();
    }
    r->page = page;
    PmIndex *index = atomic_load_explicit(&t->live.index, memory_order_relaxed);
    if ((t->live.pages + 1) * 2 > index->mask + 1) {
        PmIndex *grown = pm_index_new(index->shift - 1);
        if (grown == NULL) {
            fprintf(stderr, "platform-memory: out of memory growing a thread's record of its live blocks\n");
            abort();
        }
        for (size_t i = 0; i <= index->mask; i++) {
            PmPage *v = atomic_load_explicit(&index->slots[i], memory_order_relaxed);
            if (v != NULL) {
                size_t j = pm_page_home(v->page, grown->shift);
                while (atomic_load_explicit(&grown->slots[j], memory_order_relaxed) != NULL) {
                    j = (j + 1) & grown->mask;
                }
                atomic_store_explicit(&grown->slots[j], v, memory_order_relaxed);
            }
        }
        grown->older = index;
        atomic_store_explicit(&t->live.index, grown, memory_order_release); /* the copy, whole, to readers */
        index = grown;
    }
    size_t i = pm_page_home(page, index->shift);
    while (atomic_load_explicit(&index->slots[i], memory_order_relaxed) != NULL) {
        i = (i + 1) & index->mask;
    }
    atomic_store_explicit(&index->slots[i], r, memory_order_release); /* the record, filled, to readers */
    t->live.pages++;
    *pm_recent_slot(t, page) = r;
    return r;
}

/* Whether thread o's set holds p now. With the registry read-locked; safe at any moment of o's changes
 * (the set's rules, pm_cache.h): one load of o's index, a probe within that index, one load of a bit. */
static int pm_set_holds(PmThread *o, uintptr_t p) {
    if ((p & 15) != 0) {
        return 0; /* a bit stands for a 16-byte granule: only its start is a block */
    }
    PmIndex *index = atomic_load_explicit(&o->live.index, memory_order_acquire);
    PM_READER_PAUSE();
    PmPage *r = pm_pages_find(index, p >> PM_PAGE_SHIFT_BITS);
    return r != NULL && (atomic_load_explicit(pm_word(r, p), memory_order_acquire) & pm_bit(p)) != 0;
}

/* ---- Giving blocks back and taking them ------------------------------------------------------------ */

/* Gives the older half of class c's full stack to the depot (below its high mark) or to the facade. */
PM_HIDDEN void pm_cache_spill(PmThread *t, unsigned c) {
    int half = pm_batch(c);
    int given = 0;
    pthread_mutex_lock(&pm_depot.lock);
    if (!pm_depot.stop && pm_depot_keeps(c, half)) {
        given = pm_depot_add(c, t->stack[c], half);
    }
    pthread_mutex_unlock(&pm_depot.lock);
    if (given == 0) {
        pm_calls->cache_release(pm_class_size(c), t->stack[c], half);
    }
    t->count[c] -= (uint32_t) half;
    memmove(t->stack[c], t->stack[c] + half, t->count[c] * sizeof(void *));
}

/* Keeps a freed block above 64 KiB (class c) as its class's one block, within PLATFORM_MEM_CACHE_LARGE_HELD
 * bytes of such blocks a thread: the block it replaces, then the largest others while over the bound, go
 * back to the facade (not to the depot, whose budget serves the small classes). */
static void pm_push_large(PmThread *t, void *p, unsigned c) {
    size_t held = 0;
    for (unsigned k = PM_CACHE_SMALL_CLASSES; k < PM_CACHE_CLASSES; k++) {
        held += t->count[k] * pm_class_size(k);
    }
    for (unsigned k = PM_CACHE_CLASSES; k-- > PM_CACHE_SMALL_CLASSES;) {
        if (t->count[k] != 0 && (k == c || held + pm_class_size(c) > PLATFORM_MEM_CACHE_LARGE_HELD)) {
            pm_calls->cache_release(pm_class_size(k), t->stack[k], 1);
            t->count[k] = 0;
            held -= pm_class_size(k);
        }
    }
    t->stack[c][0] = p;
    t->count[c] = 1;
}

/* Pushes a freed block (already out of the set, counted) onto its class stack. */
static void pm_push(PmThread *t, void *p, unsigned c) {
    if (c >= PM_CACHE_SMALL_CLASSES) {
        pm_push_large(t, p, c);
        return;
    }
    if (t->count[c] == pm_class_capacity[c]) {
        pm_cache_spill(t, c);
    }
    t->stack[c][t->count[c]++] = p;
}

PM_HIDDEN void pm_cache_push_spilling(PmThread *t, unsigned c, void *start) {
    pm_push(t, start, c);
}

PM_HIDDEN void *pm_cache_hand_out_paged(PmThread *t, void *p, size_t size, uint32_t flags, unsigned cls, unsigned tag) {
    return pm_cache_hand_out_in(t, pm_page_for(t, (uintptr_t) p >> PM_PAGE_SHIFT_BITS), p, size, flags, cls, tag);
}

PM_HIDDEN void pm_cache_free_paged(PmThread *t, void *ptr, size_t size) {
    PmPage *r = pm_page_of(t, (uintptr_t) ptr >> PM_PAGE_SHIFT_BITS);
    if (r == NULL) {
        pm_free_fallback(ptr, size);
        return;
    }
    pm_cache_free_in(t, r, ptr, size);
}

/* Takes back the blocks other threads freed for this one (they counted the frees). */
static void pm_drain_remote(PmThread *t) {
    if (atomic_load_explicit(&t->remote, memory_order_relaxed) == NULL) {
        return;
    }
    void *p = atomic_exchange_explicit(&t->remote, NULL, memory_order_acquire);
    while (p != NULL) {
        void *next = *(void **) p;
        if (pm_set_has(t, (uintptr_t) p)) {
            pm_set_remove(t, (uintptr_t) p);
        }
        uint64_t w0 = pm_header(p)[0];
        unsigned c = (unsigned) (w0 >> 56);
        atomic_store_explicit(pm_header_word1(p), pm_word1_freed(pm_word1((uintptr_t) p, w0)), memory_order_relaxed);
        pm_push(t, pm_block_start(p, w0), c);
        p = next;
    }
}

enum { PM_NEW_THREAD_REFILLS = 16 }; /* a thread's first refills come from the depot, not the JVM */

/* Fills class c's empty stack: blocks freed by others; then the depot (a thread still new to the JVM
 * takes anything, others only what was spilled beyond the depot's target); then the facade (one upcall);
 * then the depot after all. */
static int pm_refill(PmThread *t, unsigned c) {
    pm_drain_remote(t);
    if (t->count[c] != 0) {
        return 1;
    }
    /* a thread new to the JVM may take anything the depot has; later, what threads spilled beyond its target
     * (a burst of frees and then of allocations never crosses into Java) */
    int want = pm_batch(c);
    if (t->fills[c] < 6) {
        /* a class's first refills take 8, 16, 32... blocks: a short-lived thread that makes a few calls
         * of many sizes copies (and gives back at its end) a few blocks per class, not half a stack */
        int ramp = 8 << t->fills[c]++;
        want = ramp < want ? ramp : want;
    }
    int n = pm_depot_get(c, t->stack[c], want, t->refills >= PM_NEW_THREAD_REFILLS);
    if (n == 0) {
        n = pm_calls->cache_refill(pm_class_size(c), t->stack[c], pm_batch(c));
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (pm_block_mark((uintptr_t) t->stack[c][i], pm_class_size(c))) {
                t->stack[c][kept++] = t->stack[c][i];
            } else {
                pm_calls->cache_release(pm_class_size(c), &t->stack[c][i], 1);
            }
        }
        n = kept;
        t->refills++;
        if (n == 0) {
            n = pm_depot_get(c, t->stack[c], pm_batch(c), 0);
        }
    }
    t->count[c] = (uint32_t) n;
    return n > 0;
}

PM_HIDDEN void *pm_cache_alloc_slow(size_t size, uint32_t flags) {
    PmThread *t = pm_thread_ready();
    if (t == NULL) {
        return NULL;
    }
    unsigned c = pm_class_of(size);
    if (t->count[c] == 0 && !pm_refill(t, c)) {
        return NULL; /* the facade serves it and reports a failure */
    }
    uint32_t n = t->count[c] - 1;
    t->count[c] = n;
    return pm_cache_hand_out(t, t->stack[c][n], size, flags, c, pm_mode & 0xFFu);
}

/* ---- Freeing: this thread's blocks, other threads' blocks, and pointers no cache knows --------------- */

static const char *pm_op(int realloc_op) {
    return realloc_op ? "reallocate" : "free";
}

/* Reports a non-zero size that is not the block's own (the call goes on with the recorded one). */
static void pm_report_size(void *ptr, size_t given, uint64_t recorded, int realloc_op) {
    if (given != 0 && given != recorded) {
        pm_cache_report(PLATFORM_MEM_ERR_SIZE_MISMATCH, ptr, "%s(%p, %zu%s): the block was allocated with %llu bytes; "
                        "%s %llu", pm_op(realloc_op), ptr, given, realloc_op ? ", ..." : "",
                        (unsigned long long) recorded, realloc_op ? "used" : "freed it as", (unsigned long long) recorded);
    }
}

/* Frees a block this thread handed out; counted as a free when counted is set, else the old block of a
 * resize that moved, which above 64 KiB goes straight back to the facade instead of staying on its class
 * stack: a buffer that grows by steps would leave one block of each size behind it. */
static void pm_free_own(PmThread *t, void *ptr, size_t size, int counted) {
    uint64_t w0 = pm_header(ptr)[0];
    uint64_t recorded = w0 & PM_SIZE_MASK;
    pm_report_size(ptr, size, recorded, 0);
    pm_set_remove(t, (uintptr_t) ptr);
    atomic_store_explicit(pm_header_word1(ptr), pm_word1_freed(pm_word1((uintptr_t) ptr, w0)), memory_order_relaxed);
    if (counted) {
        pm_count_free(t, w0);
    }
    pm_remember_freed(t, (uintptr_t) ptr);
    unsigned c = (unsigned) (w0 >> 56);
    void *start = pm_block_start(ptr, w0);
    if (!counted && c >= PM_CACHE_SMALL_CLASSES) {
        pm_calls->cache_release(pm_class_size(c), &start, 1); /* the old block of a resize, above 64 KiB */
        return;
    }
    pm_push(t, start, c);
}

/* Whether a live-looking entry's header is sound; reports a double free or a damaged header if not. */
static int pm_header_sound(void *ptr, int realloc_op) {
    uint64_t w0 = pm_header(ptr)[0];
    uint64_t w1 = atomic_load_explicit(pm_header_word1(ptr), memory_order_acquire);
    uint64_t live = pm_word1((uintptr_t) ptr, w0);
    if (w1 == live) {
        return 1;
    }
    if ((w1 & ~PM_STATE_MASK) == (live & ~PM_STATE_MASK) && (w1 & PM_STATE_MASK) != PM_STATE_LIVE) {
        pm_cache_report(realloc_op ? PLATFORM_MEM_ERR_REALLOC_FREED : PLATFORM_MEM_ERR_DOUBLE_FREE, ptr,
                        "%s(%p): the block was already freed; nothing was done", pm_op(realloc_op), ptr);
    } else {
        pm_cache_report(PLATFORM_MEM_ERR_HEADER_CORRUPTED, ptr, "the header before block %p was overwritten (a write "
                        "before the start of the block?); the block is kept, not freed", ptr);
    }
    return 0;
}

/* Hands a block another thread freed to its owner (or, for an ended owner, to the depot). With the registry
 * read-locked, so the owner cannot end meanwhile (it sets orphaned and drains its queue under the write lock).
 * The remote queue is a stack that any thread pushes onto with a compare-and-set (release) and that only
 * its owner empties, all of it at once with one exchange (acquire): no element is ever popped alone, so no
 * ABA; the link is the block's first word, written only by the thread that claimed the block. */
static void pm_give_to_owner(PmThread *owner, void *ptr) {
    if (owner->orphaned) {
        pthread_mutex_lock(&pm_orphan_lock);
        /* an ended thread's set changes only under this lock, one writer at a time */
        if (pm_set_has(owner, (uintptr_t) ptr)) {
            pm_set_remove(owner, (uintptr_t) ptr);
        }
        pthread_mutex_unlock(&pm_orphan_lock);
        uint64_t w0 = pm_header(ptr)[0];
        unsigned c = (unsigned) (w0 >> 56);
        atomic_store_explicit(pm_header_word1(ptr), pm_word1_freed(pm_word1((uintptr_t) ptr, w0)), memory_order_relaxed);
        void *start = pm_block_start(ptr, w0);
        pthread_mutex_lock(&pm_depot.lock);
        int taken = pm_depot_add(c, &start, 1);
        if (pm_depot.bytes > PLATFORM_MEM_DEPOT_HELD) {
            pthread_cond_signal(&pm_depot.wake);
        }
        pthread_mutex_unlock(&pm_depot.lock);
        if (taken == 0) {
            pm_calls->cache_release(pm_class_size(c), &start, 1);
        }
        return;
    }
    void *head = atomic_load_explicit(&owner->remote, memory_order_relaxed);
    do {
        *(void **) ptr = head;
    } while (!atomic_compare_exchange_weak_explicit(&owner->remote, &head, ptr, memory_order_release,
                                                    memory_order_relaxed));
}

/* The live owner of p among the other threads of this start, with the registry read-locked; or NULL. */
static PmThread *pm_owner_of(PmThread *self, uintptr_t p, uint64_t epoch) {
    for (PmThread *o = pm_threads; o != NULL; o = o->next) {
        if (o != self && o->epoch == epoch && pm_set_holds(o, p)) {
            return o;
        }
    }
    return NULL;
}

/* Claims a block another thread handed out (LIVE -> REMOTE): 1 claimed, else 0 (to report afterwards). */
static int pm_claim_remote(void *ptr) {
    uint64_t w0 = pm_header(ptr)[0];
    uint64_t live = pm_word1((uintptr_t) ptr, w0);
    uint64_t expected = live;
    return atomic_compare_exchange_strong_explicit(pm_header_word1(ptr), &expected,
                                                   (live & ~PM_STATE_MASK) | PM_STATE_REMOTE,
                                                   memory_order_acq_rel, memory_order_acquire);
}

enum { PM_FACADE_FREED = 0, PM_FACADE_UNKNOWN = 1, PM_FACADE_KNOWN = 3 };

/* Says why ptr, which is no cache's and not a live block of the facade's, is not a live block: inside a
 * cached block, else the facade's to report when it knows it (facade_knows), else freed a moment ago
 * by a cache, else never ours. Only reports, through the facade. */
static void pm_diagnose(PmThread *self, void *ptr, size_t size, int realloc_op, int facade_knows) {
    uintptr_t p = (uintptr_t) ptr;
    uint64_t epoch = self->epoch;
    int freed = 0;
    uintptr_t owner_block = 0;
    uint64_t owner_size = 0;
    pthread_rwlock_rdlock(&pm_registry_lock);
    for (PmThread *o = pm_threads; o != NULL; o = o->next) {
        if (o->epoch != epoch) {
            continue;
        }
        for (int i = 0; i < PM_CACHE_RECENT && !freed; i++) {
            freed = atomic_load_explicit(&o->recent[i], memory_order_relaxed) == p;
        }
        if (owner_block == 0 && pm_page_known(p)) {
            /* inside a live block? the nearest block start before p, in p's page or the one before; o may be
             * changing its set meanwhile (the set's rules, pm_cache.h), and the block o may be freeing, even
             * giving back to the backend: its header is read without risking a fault */
            PmIndex *index = atomic_load_explicit(&o->live.index, memory_order_acquire);
            PM_READER_PAUSE();
            /* a bitmap word at a time: 64 granules, 1 KiB of addresses */
            for (uintptr_t q = (p - 1) & ~(uintptr_t) 15; q + PM_CACHE_LARGEST > p && q >= 16;) {
                uintptr_t word_start = q & ~(uintptr_t) 1023;
                PmPage *r = pm_pages_find(index, q >> PM_PAGE_SHIFT_BITS);
                if (r == NULL) {
                    q = ((q >> PM_PAGE_SHIFT_BITS) << PM_PAGE_SHIFT_BITS) - 16; /* the page before */
                    continue;
                }
                unsigned bit = (unsigned) (q >> 4) & 63;
                uint64_t starts = atomic_load_explicit(pm_word(r, q), memory_order_acquire) &
                    (bit == 63 ? ~UINT64_C(0) : (UINT64_C(2) << bit) - 1); /* blocks starting at q or before */
                if (starts != 0) {
                    uintptr_t start = word_start | (uintptr_t) (63 - __builtin_clzll(starts)) << 4;
                    uint64_t w0 = 0;
                    uint64_t size = pm_read_checked(start - 16, &w0, sizeof w0) ? w0 & PM_SIZE_MASK : 0;
                    if (p < start + size) {
                        owner_block = start;
                        owner_size = size;
                    }
                    break; /* the nearest start before p: p is inside it or inside no block of o */
                }
                if (word_start < 1024) {
                    break;
                }
                q = word_start - 16;
            }
        }
    }
    pthread_rwlock_unlock(&pm_registry_lock);
    if (owner_block == 0 && !facade_knows && !freed && pm_page_known(p)) {
        /* freed long ago, with its header as the free left it? read it without risking a fault */
        uint64_t h[2];
        freed = pm_read_checked(p - 16, h, sizeof h) && h[1] == pm_word1_freed(pm_word1(p, h[0]));
    }
    if (owner_block == 0 && facade_knows) {
        /* inside one of the facade's blocks, or freed by it: its own message */
        if (realloc_op) {
            (void) pm_calls->realloc(ptr, size, 1);
        } else {
            pm_calls->free(ptr, size);
        }
    } else if (owner_block != 0) {
        pm_cache_report(PLATFORM_MEM_ERR_INTERIOR_POINTER, ptr, "%s(%p): points %llu bytes into the live block %p "
                        "(%llu bytes), not at its start; nothing was done", pm_op(realloc_op), ptr,
                        (unsigned long long) (p - owner_block), (void *) owner_block, (unsigned long long) owner_size);
    } else if (freed) {
        pm_cache_report(realloc_op ? PLATFORM_MEM_ERR_REALLOC_FREED : PLATFORM_MEM_ERR_DOUBLE_FREE, ptr,
                        "%s(%p): the block was already freed; nothing was done", pm_op(realloc_op), ptr);
    } else {
        pm_cache_report(PLATFORM_MEM_ERR_INVALID_POINTER, ptr, "%s(%p): not a block this allocator handed out (or "
                        "freed long ago); nothing was done", pm_op(realloc_op), ptr);
    }
}

PM_HIDDEN int pm_cache_free_slow(void *ptr, size_t size) {
    PmThread *t = pm_thread_ready();
    if (t == NULL) {
        return PM_CACHE_NOT_MINE;
    }
    uintptr_t p = (uintptr_t) ptr;
    pm_drain_remote(t);
    if (pm_set_has(t, p)) {
        if (pm_header_sound(ptr, 0)) {
            pm_free_own(t, ptr, size, 1);
        }
        return PM_CACHE_DONE;
    }
    if (!pm_page_known(p)) {
        return PM_CACHE_NOT_MINE;
    }
    pthread_rwlock_rdlock(&pm_registry_lock);
    PmThread *owner = pm_owner_of(t, p, t->epoch);
    if (owner != NULL) {
        if (pm_claim_remote(ptr)) {
            uint64_t w0 = pm_header(ptr)[0];
            uint64_t recorded = w0 & PM_SIZE_MASK;
            pm_count_free(t, w0);
            pm_remember_freed(t, p);
            pm_give_to_owner(owner, ptr);
            pthread_rwlock_unlock(&pm_registry_lock);
            pm_report_size(ptr, size, recorded, 0);
            return PM_CACHE_DONE;
        }
        pthread_rwlock_unlock(&pm_registry_lock);
        (void) pm_header_sound(ptr, 0); /* freed already, or damaged: reported */
        return PM_CACHE_DONE;
    }
    pthread_rwlock_unlock(&pm_registry_lock);
    int64_t facade = pm_calls->free_if_live(ptr, size);
    if (facade != PM_FACADE_FREED) {
        pm_diagnose(t, ptr, size, 0, facade == PM_FACADE_KNOWN);
    }
    return PM_CACHE_DONE;
}

/* ---- Resizing and sizes --------------------------------------------------------------------------- */

/* A block of new_size bytes (new_size + pm_align_pad(alignment) at most PM_CACHE_LARGEST) aligned to
 * alignment (a power of two up to PM_CACHE_ALIGN_MAX) from this cache, with its header and in the set, not
 * counted; or NULL when its class is empty and cannot be refilled. */
static void *pm_take_quiet(PmThread *t, size_t new_size, size_t alignment, uint32_t flags, unsigned tag) {
    unsigned c = pm_class_of(new_size + pm_align_pad(alignment));
    if (t->count[c] == 0 && !pm_refill(t, c)) {
        return NULL;
    }
    void *block = t->stack[c][--t->count[c]];
    uint64_t w0 = pm_word0(new_size, flags, c, tag);
    void *q = block;
    if (alignment > 16) {
        uintptr_t at = ((uintptr_t) block + alignment - 1) & ~(uintptr_t) (alignment - 1);
        q = (void *) at;
        w0 |= pm_placement((unsigned) ((at - (uintptr_t) block) >> 4), (unsigned) __builtin_ctzll(alignment));
        if ((at >> PM_PAGE_SHIFT) != ((uintptr_t) block >> PM_PAGE_SHIFT)) {
            pm_page_mark(at); /* the class block crosses into a page of its own: the address is known there too */
        }
    }
    pm_header(q)[0] = w0;
    atomic_store_explicit(pm_header_word1(q), pm_word1((uintptr_t) q, w0), memory_order_relaxed);
    pm_set_add(t, (uintptr_t) q);
    return q;
}

PM_HIDDEN void *pm_cache_alloc_aligned(size_t size, size_t alignment, uint32_t flags) {
    uint32_t mode = pm_mode;
    if (pm_mode_detours(mode)) {
        return NULL;
    }
    PmThread *t = pm_thread_ready();
    void *q = t != NULL ? pm_take_quiet(t, size, alignment, flags, mode) : NULL;
    if (q == NULL) {
        return NULL; /* the facade serves it and reports a failure */
    }
    pm_count_in(t, mode, size);
    if (flags & PLATFORM_MEM_CLEAR) {
        memset(q, 0, size);
    }
    return q;
}

/* Whether a reallocation of a block of `tag` must go through the facade: the thread forbids allocations,
 * or the tag has a budget (the facade checks it: the block keeps its tag there too). */
static int pm_realloc_detour(unsigned tag) {
    return pm_mode >= PM_TAGS || atomic_load_explicit(&pm_tag_detour[tag], memory_order_relaxed) != 0;
}

/* Moves a claimed cache block to a new one, which keeps its tag: from this cache when it fits, else from
 * the facade. Counts one reallocation; the facade's allocation count and live block are taken back here. */
static void *pm_move(PmThread *t, void *ptr, uint64_t w0, size_t new_size) {
    uint64_t recorded = w0 & PM_SIZE_MASK;
    uint32_t flags = (uint32_t) (w0 >> 48) & 0xFF;
    unsigned tag = pm_tag_of(w0);
    size_t alignment = pm_alignment_of(w0); /* a reallocated block keeps its alignment, as the facade's do */
    /* a new size above 64 KiB goes to the facade: the backend may grow, shrink or remap its block in place
     * later, where a move between cached blocks copies every time (pm_bench's frame-mix, whose buffers of
     * 64 KiB-2 MiB are resized one a frame, took 1.18-1.75x the time of fastpath.largest=64k when the caches
     * moved them); the large classes serve allocations and frees */
    size_t largest = atomic_load_explicit(&pm_cache.largest, memory_order_relaxed);
    largest = largest < PM_CACHE_SMALL_LARGEST ? largest : PM_CACHE_SMALL_LARGEST;
    void *q = new_size <= largest && new_size + pm_align_pad(alignment) <= largest && !pm_realloc_detour(tag)
        ? pm_take_quiet(t, new_size, alignment, flags & ~(uint32_t) PLATFORM_MEM_CLEAR, tag) : NULL;
    int from_facade = 0;
    if (q == NULL) {
        /* the new block keeps the old one's tag: the facade charges (and budgets) it to that tag; the
         * thread's own tag is told to the facade again before its next call there */
        uint32_t mode = pm_mode;
        pm_mode = (mode & ~(uint32_t) 0xFFFF) | tag;
        pm_mode_sync(pm_calls);
        pm_mode = mode;
        q = alignment > 16 ? pm_calls->alloc_aligned(new_size, alignment, flags & ~(uint32_t) PLATFORM_MEM_CLEAR)
                           : pm_calls->alloc(new_size, flags & ~(uint32_t) PLATFORM_MEM_CLEAR);
        if (q == NULL) {
            return NULL;
        }
        from_facade = 1;
    }
    memcpy(q, ptr, recorded < new_size ? recorded : new_size);
    pm_count(&t->reallocations, 1);
    if (from_facade) {
        /* the facade counted a new block (under the block's tag); this one was never counted as freed */
        pm_count(&t->tags[tag].allocations, -1);
        pm_count(&t->tags[tag].bytes_in, -(int64_t) recorded);
        pm_count(&t->run, -(int64_t) recorded);
    } else {
        pm_count_resize(t, tag, (int64_t) new_size - (int64_t) recorded);
    }
    return q;
}

PM_HIDDEN void *pm_cache_realloc(void *ptr, size_t old_size, size_t new_size, int *handled) {
    *handled = 1;
    PmThread *t = pm_thread_ready();
    if (t == NULL) {
        *handled = 0;
        return NULL;
    }
    uintptr_t p = (uintptr_t) ptr;
    pm_drain_remote(t);
    if (pm_set_has(t, p)) {
        if (!pm_header_sound(ptr, 1)) {
            return NULL;
        }
        uint64_t w0 = pm_header(ptr)[0];
        uint64_t recorded = w0 & PM_SIZE_MASK;
        pm_report_size(ptr, old_size, recorded, 1);
        if (new_size == 0) {
            pm_free_own(t, ptr, 0, 1);
            return NULL;
        }
        unsigned c = (unsigned) (w0 >> 56);
        size_t pad = pm_align_pad(pm_alignment_of(w0));
        if (new_size <= PM_CACHE_LARGEST - pad && pm_class_of(new_size + pad) == c && !pm_realloc_detour(pm_tag_of(w0))) {
            uint64_t resized = pm_word0(new_size, (uint32_t) (w0 >> 48) & 0xFF, c, pm_tag_of(w0)) | (w0 & PM_PLACE_MASK);
            pm_header(ptr)[0] = resized;
            atomic_store_explicit(pm_header_word1(ptr), pm_word1(p, resized), memory_order_relaxed);
            pm_count(&t->reallocations, 1);
            pm_count_resize(t, pm_tag_of(w0), (int64_t) new_size - (int64_t) recorded);
            return ptr;
        }
        void *q = pm_move(t, ptr, w0, new_size);
        if (q != NULL) {
            pm_free_own(t, ptr, 0, 0);
        }
        return q;
    }
    if (!pm_page_known(p)) {
        *handled = 0;
        return NULL;
    }
    pthread_rwlock_rdlock(&pm_registry_lock);
    PmThread *owner = pm_owner_of(t, p, t->epoch);
    if (owner == NULL) {
        pthread_rwlock_unlock(&pm_registry_lock);
        pm_mode_sync(pm_calls);
        void *moved = pm_calls->realloc_if_live(ptr, old_size, new_size);
        if (moved != (void *) PM_FACADE_UNKNOWN && moved != (void *) PM_FACADE_KNOWN) {
            return moved;
        }
        pm_diagnose(t, ptr, old_size, 1, moved == (void *) PM_FACADE_KNOWN);
        return NULL;
    }
    if (!pm_claim_remote(ptr)) {
        pthread_rwlock_unlock(&pm_registry_lock);
        (void) pm_header_sound(ptr, 1); /* freed already, or damaged: reported */
        return NULL;
    }
    uint64_t w0 = pm_header(ptr)[0];
    uint64_t recorded = w0 & PM_SIZE_MASK;
    void *q = new_size == 0 ? NULL : pm_move(t, ptr, w0, new_size);
    if (new_size != 0 && q == NULL) {
        /* no memory: the block stays as it was, its owner's */
        atomic_store_explicit(pm_header_word1(ptr), pm_word1(p, w0), memory_order_release);
        pthread_rwlock_unlock(&pm_registry_lock);
        return NULL;
    }
    if (new_size == 0) {
        pm_count_free(t, w0);
    }
    pm_give_to_owner(owner, ptr);
    pthread_rwlock_unlock(&pm_registry_lock);
    pm_report_size(ptr, old_size, recorded, 1);
    return q;
}

PM_HIDDEN size_t pm_cache_size(const void *ptr, int *handled) {
    *handled = 1;
    uintptr_t p = (uintptr_t) ptr;
    PmThread *t = pm_cache_self();
    if (t != NULL && pm_set_has(t, p)) {
        uint64_t w0 = pm_header(ptr)[0];
        return atomic_load_explicit(pm_header_word1(ptr), memory_order_relaxed) == pm_word1(p, w0)
            ? (size_t) (w0 & PM_SIZE_MASK) : 0;
    }
    if (!pm_page_known(p)) {
        *handled = 0;
        return 0;
    }
    size_t size = 0;
    pthread_rwlock_rdlock(&pm_registry_lock);
    PmThread *owner = pm_owner_of(t, p, atomic_load_explicit(&pm_cache.epoch, memory_order_acquire));
    if (owner != NULL) {
        uint64_t w0 = pm_header(ptr)[0];
        if (atomic_load_explicit(pm_header_word1(ptr), memory_order_relaxed) == pm_word1(p, w0)) {
            size = (size_t) (w0 & PM_SIZE_MASK);
        }
    } else {
        *handled = 0;
    }
    pthread_rwlock_unlock(&pm_registry_lock);
    return size;
}

PM_HIDDEN int pm_cache_discard(void *ptr, size_t offset, size_t size, int *handled) {
    size_t whole = pm_cache_size(ptr, handled);
    if (!*handled) {
        return 0;
    }
    if (whole == 0) {
        pm_cache_report(PLATFORM_MEM_ERR_INVALID_POINTER, ptr, "discard(%p): not a live block; nothing was done", ptr);
        return 0;
    }
    if (offset > whole || size > whole - offset) {
        pm_cache_report(PLATFORM_MEM_ERR_SIZE_MISMATCH, ptr,
                        "discard(%p, %zu, %zu): the range is not inside the block (%zu bytes); nothing was done", ptr,
                        offset, size, whole);
        return 0;
    }
    /* as the facade's Pages.discard: the whole pages go back to the system, the partial ones are zeroed */
    uintptr_t from = (uintptr_t) ptr + offset, to = from + size;
    uintptr_t first = (from + 4095) & ~(uintptr_t) 4095, last = to & ~(uintptr_t) 4095;
    if (first < last && madvise((void *) first, last - first, MADV_DONTNEED) == 0) {
        memset((void *) from, 0, first - from);
        memset((void *) last, 0, to - last);
    } else {
        memset((void *) from, 0, size);
    }
    return 1;
}

/* ---- Statistics and the leak report ---------------------------------------------------------------- */

/* Service: the caches' counters of this start, summed over every thread (exact when no call runs). */
PM_HIDDEN void pm_service_cache_totals(int64_t *out) {
    int64_t totals[5];
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_acquire);
    pthread_rwlock_rdlock(&pm_registry_lock);
    memcpy(totals, pm_retired_totals, sizeof totals);
    for (PmThread *o = pm_threads; o != NULL; o = o->next) {
        if (o->epoch == epoch) {
            pm_counters_into(o, totals);
        }
    }
    pthread_rwlock_unlock(&pm_registry_lock);
    memcpy(out, totals, sizeof totals);
}

/* Service: the caches' counters by tag (allocations, frees, bytes in, bytes out) for tags 0..n-1. */
PM_HIDDEN void pm_service_cache_tag_totals(int64_t *out, int32_t n) {
    unsigned tags = n < 0 ? 0 : n > PM_TAGS ? PM_TAGS : (unsigned) n;
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_acquire);
    memset(out, 0, (size_t) tags * 4 * sizeof *out);
    unsigned known = pm_tags_in_use();
    tags = tags < known ? tags : known;
    pthread_rwlock_rdlock(&pm_registry_lock);
    for (unsigned i = 0; i < 4 * tags; i++) {
        out[i] = pm_retired_tags[i];
    }
    for (PmThread *o = pm_threads; o != NULL; o = o->next) {
        if (o->epoch == epoch) {
            pm_tags_into(o, out, tags);
        }
    }
    pthread_rwlock_unlock(&pm_registry_lock);
}

/* Service: ends the caches' frame. Returns the sum over threads of the most each one's run rose above
 * where it stood when the frame began (exact for one thread when no call is in flight), and starts the
 * next frame from where each run stands now. */
PM_HIDDEN int64_t pm_service_cache_frame_end(int32_t end) {
    if (end == 0) {
        return 0; /* Java warms the call at start, so the first frame mark is not the one that pays for it */
    }
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_acquire);
    int64_t rise = 0;
    pthread_rwlock_wrlock(&pm_registry_lock); /* frame_base is written under it */
    uint64_t frame = atomic_fetch_add_explicit(&pm_cache.frame, 1, memory_order_acq_rel);
    for (PmThread *o = pm_threads; o != NULL; o = o->next) {
        if (o->epoch != epoch) {
            continue;
        }
        if (atomic_load_explicit(&o->run_frame, memory_order_relaxed) == frame) {
            int64_t up = atomic_load_explicit(&o->run_max, memory_order_relaxed) - o->frame_base;
            rise += up > 0 ? up : 0;
        }
        o->frame_base = atomic_load_explicit(&o->run, memory_order_relaxed);
    }
    pthread_rwlock_unlock(&pm_registry_lock);
    return rise;
}

/* Service: tag id's allocations take the facade's path (budgeted != 0) or the caches' again. */
PM_HIDDEN void pm_service_cache_tag_route(int32_t id, int32_t budgeted) {
    if (id >= 0 && id < PM_TAGS) {
        atomic_store_explicit(&pm_tag_detour[id], budgeted != 0, memory_order_release);
    }
}

/* Writes the blocks handed out from the caches to stderr; returns how many there are. */
PM_HIDDEN size_t pm_cache_dump(void) {
    size_t blocks = 0;
    uint64_t bytes = 0;
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_acquire);
    pthread_rwlock_rdlock(&pm_registry_lock);
    for (PmThread *o = pm_threads; o != NULL; o = o->next) {
        if (o->epoch != epoch) {
            continue;
        }
        /* o may be running and changing its set (the set's rules, pm_cache.h), and freeing a block whose bit
         * was just read, even giving it back to the backend: headers are read without risking a fault */
        PmIndex *index = atomic_load_explicit(&o->live.index, memory_order_acquire);
        PM_READER_PAUSE();
        for (size_t i = 0; i <= index->mask; i++) {
            PmPage *r = atomic_load_explicit(&index->slots[i], memory_order_acquire);
            for (int w = 0; r != NULL && w < PM_PAGE_WORDS; w++) {
                for (uint64_t bits = atomic_load_explicit(&r->bits[w], memory_order_acquire); bits != 0;
                     bits &= bits - 1) {
                    uintptr_t v = r->page << PM_PAGE_SHIFT_BITS | (uintptr_t) (w * 64 + __builtin_ctzll(bits)) << 4;
                    uint64_t h[2];
                    if (!pm_read_checked(v - 16, h, sizeof h) || h[1] != pm_word1(v, h[0])) {
                        continue; /* freed by another thread, not yet taken back, or by its owner just now */
                    }
                    uint64_t w0 = h[0];
                    if (blocks == 0) {
                        fprintf(stderr, "blocks served by the per-thread caches (no sites in counters mode):\n");
                    }
                    fprintf(stderr, "  %p  %llu bytes\n", (void *) v, (unsigned long long) (w0 & PM_SIZE_MASK));
                    blocks++;
                    bytes += w0 & PM_SIZE_MASK;
                }
            }
        }
    }
    pthread_rwlock_unlock(&pm_registry_lock);
    if (blocks > 0) {
        fprintf(stderr, "total from the caches: %zu live block%s, %llu bytes\n", blocks, blocks == 1 ? "" : "s",
                (unsigned long long) bytes);
    }
    return blocks;
}

/* ---- Threads that end, starting and stopping ------------------------------------------------------- */

/* Frees ended threads whose blocks are all freed. Under the registry's write lock. */
static void pm_sweep_orphans(uint64_t epoch) {
    for (PmThread **link = &pm_threads; *link != NULL;) {
        PmThread *o = *link;
        if (o->orphaned && (o->live.used == 0 || o->epoch != epoch)) {
            if (o->epoch == epoch) {
                pm_counters_into(o, pm_retired_totals);
                pm_tags_into(o, pm_retired_tags, pm_tags_in_use());
            }
            *link = o->next;
            pm_thread_retire(o, epoch);
        } else {
            link = &o->next;
        }
    }
}

static void pm_thread_exit(void *arg) {
    PmThread *t = arg;
    pm_self = NULL;
    pthread_rwlock_wrlock(&pm_registry_lock);
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_acquire);
    if (t->epoch == epoch && atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) != 0) {
        pthread_mutex_lock(&pm_depot.lock);
        int signal = 0;
        /* blocks other threads freed for this one: straight to the depot (no upcall from a thread's end) */
        for (void *p = atomic_exchange_explicit(&t->remote, NULL, memory_order_acquire); p != NULL;) {
            void *next = *(void **) p;
            if (pm_set_has(t, (uintptr_t) p)) {
                pm_set_remove(t, (uintptr_t) p);
            }
            uint64_t w0 = pm_header(p)[0];
            atomic_store_explicit(pm_header_word1(p), pm_word1_freed(pm_word1((uintptr_t) p, w0)), memory_order_relaxed);
            void *start = pm_block_start(p, w0);
            pm_depot_add((unsigned) (w0 >> 56), &start, 1);
            p = next;
        }
        for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
            if (t->count[c] > 0 && pm_depot_add(c, t->stack[c], (int) t->count[c]) > 0) {
                t->count[c] = 0;
                signal |= pm_depot.bytes > PLATFORM_MEM_DEPOT_HELD;
            }
        }
        if (signal) {
            pthread_cond_signal(&pm_depot.wake);
        }
        pthread_mutex_unlock(&pm_depot.lock);
    }
    t->orphaned = 1;
    pm_sweep_orphans(epoch);
    pthread_rwlock_unlock(&pm_registry_lock);
}

PM_HIDDEN void pm_cache_start(const PmCalls *calls) {
    pm_calls = calls;
    pthread_rwlock_wrlock(&pm_registry_lock);
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_relaxed) + 1;
    atomic_store_explicit(&pm_cache.epoch, epoch, memory_order_release);
    memset(pm_retired_totals, 0, sizeof pm_retired_totals);
    memset(pm_retired_tags, 0, sizeof pm_retired_tags);
    for (int i = 0; i < PM_TAGS; i++) {
        atomic_store_explicit(&pm_tag_detour[i], 0, memory_order_relaxed);
    }
    atomic_store_explicit(&pm_tags_known, 1, memory_order_relaxed);
    pm_sweep_orphans(epoch);
    pthread_rwlock_unlock(&pm_registry_lock);
    pthread_mutex_lock(&pm_depot.lock);
    for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
        pm_depot_set_count(c, 0);
    }
    pm_depot.bytes = 0; /* blocks a thread left here after the stop belong to the closed facade: forgotten */
    pm_depot.stop = 0;
    pthread_mutex_unlock(&pm_depot.lock);
}

PM_HIDDEN void pm_cache_open(size_t largest) {
    atomic_store_explicit(&pm_cache.largest, largest > PM_CACHE_LARGEST ? PM_CACHE_LARGEST : largest,
                          memory_order_release);
}

/* Gives every block t holds back to the facade: those other threads freed for it, then its class stacks.
 * t is the calling thread's record, of this epoch. */
static void pm_thread_release_cached(PmThread *t) {
    pm_drain_remote(t);
    for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
        if (t->count[c] > 0) {
            pm_calls->cache_release(pm_class_size(c), t->stack[c], (int32_t) t->count[c]);
            t->count[c] = 0;
        }
    }
}

/* Empties the depot and gives its blocks back to the facade; with stopping, also stops it (its keeper is
 * woken to end). A trim while it is stopping leaves it to the stop. */
static void pm_depot_give_back(int stopping) {
    void **held[PM_CACHE_CLASSES];
    int counts[PM_CACHE_CLASSES];
    pthread_mutex_lock(&pm_depot.lock);
    if (pm_depot.stop && !stopping) {
        pthread_mutex_unlock(&pm_depot.lock);
        return;
    }
    if (stopping) {
        pm_depot.stop = 1;
        pthread_cond_broadcast(&pm_depot.wake);
    }
    for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
        held[c] = pm_depot.blocks[c];
        counts[c] = pm_depot.count[c];
        pm_depot.blocks[c] = NULL;
        pm_depot_set_count(c, 0);
        pm_depot.room[c] = 0;
    }
    pm_depot.bytes = 0;
    pthread_mutex_unlock(&pm_depot.lock);
    /* given back outside the lock: a report from the facade may reach a handler that calls in again */
    for (unsigned c = 0; c < PM_CACHE_CLASSES; c++) {
        if (counts[c] > 0) {
            pm_calls->cache_release(pm_class_size(c), held[c], counts[c]);
        }
        free(held[c]);
    }
}

PM_HIDDEN void pm_cache_trim(void) {
    if (atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) == 0) {
        return;
    }
    PmThread *t = pm_self;
    if (t != NULL && t->epoch == atomic_load_explicit(&pm_cache.epoch, memory_order_acquire)) {
        pm_thread_release_cached(t);
    }
    /* the depot's blocks too: spread over the backend's slabs, a depot's worth of scattered blocks keeps
     * every slab they lie in from going back. Its keeper fills it to its targets again when threads ask. */
    pm_depot_give_back(0);
}

PM_HIDDEN void pm_cache_stop(void) {
    if (atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) == 0) {
        return;
    }
    atomic_store_explicit(&pm_cache.largest, 0, memory_order_release);
    PmThread *t = pm_self;
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_acquire);
    /* this thread's cached blocks and the depot's go back before the facade closes */
    if (t != NULL && t->epoch == epoch) {
        pm_thread_release_cached(t);
    }
    pm_depot_give_back(1);
    /* every other cache belongs to the closing facade from now on: forgotten on its thread's next call */
    atomic_store_explicit(&pm_cache.epoch, epoch + 1, memory_order_release);
}
