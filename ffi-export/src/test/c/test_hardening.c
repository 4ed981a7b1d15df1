/*
 * Hardening through the C ABI, for one backend (each scenario starts the layer with its own options):
 *
 *   test_hardening BACKEND heaps        NULL, bogus and stale heap handles are INVALID_HEAP and touch
 *                                       nothing; HeapSize/HeapFree check the block's heap
 *   test_hardening BACKEND quarantine   tracking=debug: a stale free after the address could have been
 *                                       reused is a DOUBLE_FREE; three writes after free are found (heap
 *                                       check, leaving the quarantine, shutdown) with their sites;
 *                                       Platform_Mem_CheckHeap finds a damaged guard
 *   test_hardening BACKEND late         a double free long after the fact is still a DOUBLE_FREE
 *   test_hardening BACKEND bounded      with 5 million live blocks (through the caches, then through the
 *                                       facade alone) a bad free takes under 1 ms (median of 21)
 *   test_hardening BACKEND start-once   a failed Platform_Mem_Init reaches the handler exactly once
 *   test_hardening BACKEND aligned      Platform_AllocAligned blocks (32 to 512 bytes of alignment, sizes on
 *                                       both sides of what the caches serve), with the caches and without:
 *                                       aligned, zeroed, sized and counted exactly; a reallocation keeps the
 *                                       alignment and the bytes; interior, double and cross-thread frees
 *
 * Ends with "N passed, M failed" and exits non-zero if anything failed.
 */
#define _GNU_SOURCE
#include "platform_memory.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static atomic_int last_code;
static atomic_int reports;
static char last_message[1024];
static int uaf_seen[3];
static const char *uaf_sites[3] = {"uaf_check.c:1", "uaf_leave.c:2", "uaf_shutdown.c:3"};

static void on_error(int code, const char *message, void *ptr) {
    (void) ptr;
    atomic_store(&last_code, code);
    atomic_fetch_add(&reports, 1);
    snprintf(last_message, sizeof last_message, "%s", message != NULL ? message : "");
    if (code == PLATFORM_MEM_ERR_USE_AFTER_FREE) {
        for (int i = 0; i < 3; i++) {
            if (strstr(last_message, uaf_sites[i]) != NULL) {
                uaf_seen[i]++;
            }
        }
    }
}

static int start(const char *backend, const char *extra) {
    char options[256];
    snprintf(options, sizeof options, "backend=%s;log=quiet%s", backend, extra); /* the handler sees every error */
    int rc = Platform_Mem_Init(options);
    CHECK(rc == 0, "init %s: %s", options, Platform_Mem_LastError());
    return rc == 0;
}

static void fill(void *p, size_t n, unsigned char v) {
    memset(p, v, n);
}

static int holds(const void *p, size_t n, unsigned char v) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != v) {
            return 0;
        }
    }
    return 1;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* ---- heap handles ------------------------------------------------------------------------------------ */

static void heaps(void) {
    void *p = Platform_Alloc(64, 0);
    fill(p, 64, 0x5A);
    PlatformMemStats before;
    Platform_Mem_GetStats(&before);

    CHECK(Platform_HeapFree(NULL, p) == 0, "HeapFree(NULL, p) refuses");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_HEAP, "NULL heap: code %d", atomic_load(&last_code));
    CHECK(Platform_HeapFree((PlatformHeap) (intptr_t) 0x7ffdeadbeef0, p) == 0, "HeapFree(bogus, p) refuses");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_HEAP, "bogus heap: code %d", atomic_load(&last_code));
    CHECK(Platform_HeapFree((PlatformHeap) (intptr_t) 1, p) == 0, "HeapFree(1, p) (an old-style id) refuses");
    CHECK(Platform_Mem_Size(p) == 64 && holds(p, 64, 0x5A), "p is live and untouched");

    PlatformHeap h1 = Platform_HeapCreate();
    void *in_h1 = Platform_HeapAlloc(h1, 32, 0);
    CHECK(h1 != NULL && in_h1 != NULL, "h1");
    Platform_HeapDestroy(h1);
    PlatformHeap h2 = Platform_HeapCreate();
    CHECK(h2 != NULL && h2 != h1, "a new heap never gets a destroyed heap's handle: %p %p", (void *) h1, (void *) h2);
    void *q = Platform_HeapAlloc(h2, 100, 0);
    fill(q, 100, 0x33);
    int seen = atomic_load(&reports);
    Platform_HeapDestroy(h1); /* stale: must not destroy h2 */
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_HEAP && atomic_load(&reports) == seen + 1,
          "stale destroy reported once: code %d", atomic_load(&last_code));
    CHECK(Platform_Mem_Size(q) == 100 && holds(q, 100, 0x33), "h2's block survives a stale destroy of h1");
    CHECK(Platform_HeapAlloc(h1, 10, 0) == NULL && atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_HEAP,
          "stale alloc refused");
    CHECK(Platform_HeapFree(h1, q) == 0 && Platform_Mem_Size(q) == 100, "stale HeapFree refused, q live");

    CHECK(Platform_HeapSize(h2, q) == 100, "HeapSize of its own block");
    CHECK(Platform_HeapSize(h2, p) == 0 && atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_POINTER,
          "HeapSize of a block of no heap: code %d", atomic_load(&last_code));
    CHECK(Platform_HeapSize(h1, q) == 0 && atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_HEAP,
          "HeapSize through a stale handle");
    CHECK(Platform_HeapFree(h2, p) == 0 && atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_POINTER,
          "HeapFree of a block of no heap: code %d %s", atomic_load(&last_code), last_message);
    CHECK(Platform_Mem_Size(p) == 64 && holds(p, 64, 0x5A), "p still live and untouched");

    PlatformMemStats after;
    Platform_Mem_GetStats(&after);
    CHECK(after.live_bytes == before.live_bytes + 100 && after.live_blocks == before.live_blocks + 1,
          "only q was added: %llu -> %llu bytes", (unsigned long long) before.live_bytes,
          (unsigned long long) after.live_bytes);
    CHECK(Platform_HeapFree(h2, q) == 1, "HeapFree of its own block");
    Platform_HeapDestroy(h2);
    Platform_Free(p, 64);
    CHECK(Platform_Mem_GetCount() == 0, "nothing live at the end");
}

/* ---- the debug quarantine ---------------------------------------------------------------------------- */

static void quarantine(void) {
    /* a stale free of an address the allocator could have handed out again */
    void *a = Platform_Alloc_Dbg(48, 0, "level.c", 10);
    Platform_Free(a, 0);
    void *b = Platform_Alloc(48, 0);
    fill(b, 48, 0x42);
    CHECK(b != a, "the quarantine keeps a freed address from being handed out at once");
    int seen = atomic_load(&reports);
    Platform_Free(a, 0);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_DOUBLE_FREE && atomic_load(&reports) == seen + 1,
          "stale free: code %d %s", atomic_load(&last_code), last_message);
    CHECK(Platform_Mem_Size(b) == 48 && holds(b, 48, 0x42), "the block allocated since is untouched");
    Platform_Free(b, 0);

    /* three writes after free */
    unsigned char *w1 = Platform_Alloc_Dbg(64, 0, "uaf_check.c", 1);
    unsigned char *w2 = Platform_Alloc_Dbg(200, 0, "uaf_leave.c", 2);
    unsigned char *w3 = Platform_Alloc_Dbg(32, 0, "uaf_shutdown.c", 3);
    Platform_Free(w1, 0);
    Platform_Free(w2, 0);
    Platform_Free(w3, 0);
    w1[0] = 1;     /* found by a heap check */
    w2[199] = 2;   /* found when it leaves the quarantine */
    w3[16] = 3;    /* found when the layer shuts down */
    CHECK(Platform_Mem_CheckHeap() == 3, "the heap check finds all three writes");
    CHECK(uaf_seen[0] == 1 && uaf_seen[1] == 1 && uaf_seen[2] == 1, "each reported once with its site: %d %d %d",
          uaf_seen[0], uaf_seen[1], uaf_seen[2]);
    CHECK(Platform_Mem_CheckHeap() == 0, "a write is reported once");
    w2[100] = 4;
    /* push w2 out of a 1 MiB quarantine with 2 MiB of other frees */
    for (int i = 0; i < 64; i++) {
        Platform_Free(Platform_Alloc(32768, 0), 0);
    }
    CHECK(uaf_seen[1] == 2, "the write found as the block left the quarantine: %d (%s)", uaf_seen[1], last_message);

    /* planted guard damage in a live block */
    unsigned char *g = Platform_Alloc(32, 0);
    g[32] = 0;
    seen = atomic_load(&reports);
    CHECK(Platform_Mem_CheckHeap() == 1, "CheckHeap finds the damaged guard");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_GUARD_CORRUPTED && atomic_load(&reports) == seen + 1,
          "as GUARD_CORRUPTED: %d", atomic_load(&last_code));
    g[32] = 0xFD;
    CHECK(Platform_Mem_CheckHeap() == 0, "repaired");
    Platform_Free(g, 0);

    /* a write to a block still held when the layer shuts down */
    unsigned char *s = Platform_Alloc_Dbg(40, 0, "uaf_shutdown.c", 3);
    Platform_Free(s, 0);
    s[39] = 6;
    Platform_Mem_Shutdown();
    CHECK(uaf_seen[2] == 2, "the write found at shutdown: %d", uaf_seen[2]);
}

/* ---- a double free long after the fact ---------------------------------------------------------------- */

static void late(void) {
    /* blocks of the caches' small and large classes, and one only the facade serves */
    size_t sizes[] = {48, 3000, 100000, PLATFORM_MEM_CACHE_LARGEST + 100000};
    for (int k = 0; k < 4; k++) {
        void *a = Platform_Alloc(sizes[k], 0);
        void *keep = Platform_Alloc(sizes[k], 0); /* a live neighbour the stale free must not touch */
        fill(keep, sizes[k], 0x77);
        Platform_Free(a, 0);
        /* plenty of other traffic since, of other sizes, through the caches and through the facade (enough
         * frees that no memory of recent frees still holds a) */
        for (int i = 0; i < 20000; i++) {
            size_t other = i % 2 ? 200 + (size_t) (i % 7) * 16 : PLATFORM_MEM_CACHE_LARGEST + 50000 + (size_t) (i % 3) * 4096;
            Platform_Free(Platform_Alloc(other, 0), 0);
        }
        PlatformMemStats before;
        Platform_Mem_GetStats(&before);
        Platform_Free(a, 0);
        if (sizes[k] > PLATFORM_MEM_CACHE_LARGEST && (strcmp(Platform_Mem_Backend(), "system") == 0 ||
                                strcmp(Platform_Mem_Backend(), "agrona") == 0)) {
            /* glibc keeps its free-list links in a freed chunk's first 16 bytes, where the mark was: a stale
             * free of a block the caches do not serve can only be told as a pointer nobody vouches for when
             * the backend's large blocks are malloc's (system; agrona's LargeBlocks), as it is when glibc
             * has reused or linked that chunk (it depends on the heap's state: a CI run saw it on agrona) */
            CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_DOUBLE_FREE ||
                  atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_POINTER, "late double free of %zu bytes: code %d",
                  sizes[k], atomic_load(&last_code));
        } else {
            CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_DOUBLE_FREE, "late double free of %zu bytes: code %d (%s)",
                  sizes[k], atomic_load(&last_code), last_message);
        }
        PlatformMemStats after;
        Platform_Mem_GetStats(&after);
        CHECK(after.live_bytes == before.live_bytes && holds(keep, sizes[k], 0x77), "nothing touched");
        Platform_Free(keep, 0);
    }
}

/* ---- aligned blocks ------------------------------------------------------------------------------------ */

static void *free_elsewhere(void *p) {
    Platform_Free(p, 0);
    return NULL;
}

static void expect_live(const PlatformMemStats *base, int64_t bytes, int64_t blocks, const char *when, size_t a,
                        size_t size) {
    PlatformMemStats now;
    Platform_Mem_GetStats(&now);
    CHECK((int64_t) (now.live_bytes - base->live_bytes) == bytes && (int64_t) (now.live_blocks - base->live_blocks) == blocks,
          "alignment %zu, %zu bytes, %s: live %+lld bytes %+lld blocks, expected %+lld %+lld", a, size, when,
          (long long) (now.live_bytes - base->live_bytes), (long long) (now.live_blocks - base->live_blocks),
          (long long) bytes, (long long) blocks);
}

/* Aligned and plain blocks of one class, freed and taken again many times, each full of its own byte:
 * none may overlap another (a freed aligned block must go back whole, from its start). */
static void aligned_reuse(const char *mode) {
    enum { N = 300 };
    unsigned char *blocks[N] = {0};
    size_t sizes[N] = {0};
    unsigned seed = 7;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < N; i++) {
            if (blocks[i] != NULL && (seed = seed * 1103515245u + 12345u) % 2 == 0) {
                continue;
            }
            if (blocks[i] != NULL) {
                CHECK(holds(blocks[i], sizes[i], (unsigned char) i), "%s: round %d: block %d was written over", mode,
                      round, i);
                Platform_Free(blocks[i], sizes[i]);
            }
            size_t a = (size_t) 16 << (i % 5); /* 16 to 256 */
            sizes[i] = 200 + (seed >> 8) % 300;
            blocks[i] = Platform_AllocAligned(sizes[i], a, 0);
            CHECK(blocks[i] != NULL && (uintptr_t) blocks[i] % a == 0, "%s: aligned to %zu", mode, a);
            if (blocks[i] == NULL) {
                return;
            }
            fill(blocks[i], sizes[i], (unsigned char) i);
        }
    }
    for (int i = 0; i < N; i++) {
        CHECK(holds(blocks[i], sizes[i], (unsigned char) i), "%s: at the end: block %d was written over", mode, i);
        Platform_Free(blocks[i], sizes[i]);
    }
}

static void aligned(const char *mode) {
    aligned_reuse(mode);
    static const size_t alignments[] = {32, 64, 128, 256, 512};
    for (size_t k = 0; k < sizeof alignments / sizeof alignments[0]; k++) {
        size_t a = alignments[k];
        /* the caches serve up to PLATFORM_MEM_CACHE_LARGEST including the room to align: the last size they
         * serve and the first they do not, beside small, mid-sized and large ones */
        size_t sizes[] = {1, 24, 100, 1000, 20000, PLATFORM_MEM_CACHE_LARGEST - (a - 16),
                          PLATFORM_MEM_CACHE_LARGEST - (a - 16) + 1, 100000};
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            size_t size = sizes[j];
            PlatformMemStats base;
            Platform_Mem_GetStats(&base);
            /* a block freed just before, of the same class, is dirty: CLEAR must still zero it */
            void *dirty = Platform_AllocAligned(size, a, 0);
            fill(dirty, size, 0xEE);
            Platform_Free(dirty, size);
            unsigned char *p = Platform_AllocAligned(size, a, PLATFORM_MEM_CLEAR);
            CHECK(p != NULL && (uintptr_t) p % a == 0, "%s: %zu bytes aligned to %zu: %p", mode, size, a, (void *) p);
            if (p == NULL) {
                continue;
            }
            CHECK(Platform_Mem_Size(p) == size && holds(p, size, 0), "%s: %zu bytes aligned to %zu: size %zu, zeroed %d",
                  mode, size, a, Platform_Mem_Size(p), holds(p, size, 0));
            expect_live(&base, (int64_t) size, 1, "allocated", a, size);
            fill(p, size, 0x3C);
            unsigned char *q = Platform_Realloc(p, size, size * 2 + 100);
            CHECK(q != NULL && (uintptr_t) q % a == 0 && holds(q, size, 0x3C) && Platform_Mem_Size(q) == size * 2 + 100,
                  "%s: grown from %zu bytes aligned to %zu: %p", mode, size, a, (void *) q);
            if (q == NULL) {
                continue;
            }
            unsigned char *r = Platform_Realloc(q, 0, size);
            CHECK(r != NULL && (uintptr_t) r % a == 0 && holds(r, size, 0x3C), "%s: shrunk back to %zu bytes aligned to %zu",
                  mode, size, a);
            if (r == NULL) {
                continue;
            }
            expect_live(&base, (int64_t) size, 1, "reallocated", a, size);
            if (size >= 64) {
                Platform_Free(r + 32, 0);
                CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INTERIOR_POINTER, "%s: interior free of %zu bytes "
                      "aligned to %zu: code %d (%s)", mode, size, a, atomic_load(&last_code), last_message);
            }
            CHECK(holds(r, size, 0x3C), "%s: nothing touched", mode);
            Platform_Free(r, size);
            expect_live(&base, 0, 0, "freed", a, size);
            Platform_Free(r, size);
            CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_DOUBLE_FREE, "%s: double free of %zu bytes aligned to "
                  "%zu: code %d (%s)", mode, size, a, atomic_load(&last_code), last_message);
            expect_live(&base, 0, 0, "after the double free", a, size);
            /* handed out here, freed by another thread */
            void *s = Platform_AllocAligned(size, a, 0);
            pthread_t other;
            CHECK(s != NULL && pthread_create(&other, NULL, free_elsewhere, s) == 0, "%s: thread", mode);
            pthread_join(other, NULL);
            expect_live(&base, 0, 0, "freed by another thread", a, size);
        }
    }
}

/* ---- bounded diagnosis --------------------------------------------------------------------------------- */

enum { LIVE = 5000000, TIMES = 21 };

static double median_bad_free_ns(void *bad) {
    double t[TIMES];
    for (int i = 0; i < TIMES; i++) {
        double t0 = now_ns();
        Platform_Free(bad, 0);
        t[i] = now_ns() - t0;
    }
    qsort(t, TIMES, sizeof t[0], by_value);
    return t[TIMES / 2];
}

static void bounded(const char *backend, const char *mode) {
    void **live = malloc(sizeof(void *) * LIVE);
    for (size_t i = 0; i < LIVE; i++) {
        live[i] = Platform_Alloc(16, 0);
    }
    CHECK(Platform_Mem_GetCount() == LIVE, "%d live blocks", LIVE);
    int on_stack;
    void *foreign = malloc(64);
    struct {
        const char *what;
        void *ptr;
        int code;
    } cases[] = {
        {"stack pointer", &on_stack, PLATFORM_MEM_ERR_INVALID_POINTER},
        {"libc pointer", foreign, PLATFORM_MEM_ERR_INVALID_POINTER},
        {"interior pointer", (char *) live[LIVE / 2] + 8, PLATFORM_MEM_ERR_INTERIOR_POINTER},
        {"unmapped pointer", (void *) (uintptr_t) 0x7f00deadbee0, PLATFORM_MEM_ERR_INVALID_POINTER},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double ns = median_bad_free_ns(cases[c].ptr);
        CHECK(atomic_load(&last_code) == cases[c].code, "%s: code %d", cases[c].what, atomic_load(&last_code));
        CHECK(ns < 1e6, "%s with %d live blocks: %.0f ns (median of %d)", cases[c].what, LIVE, ns, TIMES);
        printf("bad free (%s, %s, %s) with %d live blocks: %.1f us\n", cases[c].what, backend, mode, LIVE, ns / 1000);
    }
    void *freed = live[LIVE - 1];
    Platform_Free(freed, 0);
    live[LIVE - 1] = NULL;
    double ns = median_bad_free_ns(freed);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_DOUBLE_FREE, "double free: code %d", atomic_load(&last_code));
    CHECK(ns < 1e6, "double free with %d live blocks: %.0f ns", LIVE, ns);
    printf("bad free (double free, %s, %s) with %d live blocks: %.1f us\n", backend, mode, LIVE, ns / 1000);
    for (size_t i = 0; i < LIVE; i++) {
        Platform_Free(live[i], 0);
    }
    CHECK(Platform_Mem_GetCount() == 0, "all freed");
    free(foreign);
    free(live);
}

static int all(const unsigned char *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] != v) {
            return 0;
        }
    }
    return 1;
}

/* Platform_Mem_Discard on a block the caches serve (100 bytes) and one the facade serves (3 MiB): the
 * range reads as zero, the bytes around it are kept, the counts do not move; a range past the block, a
 * foreign pointer and a freed block are refused with a code and nothing touched. Then Platform_Mem_Trim. */
static void pages(const char *mode) {
    size_t sizes[] = {100, (size_t) 3 << 20};
    int on_stack[16];
    memset(on_stack, 0x44, sizeof on_stack);
    for (size_t k = 0; k < 2; k++) {
        size_t n = sizes[k];
        unsigned char *p = Platform_Alloc(n, 0);
        size_t count = Platform_Mem_GetCount(), bytes = Platform_Mem_GetAllocated();
        fill(p, n, 0x55);
        size_t at = n > 4096 ? 4096 + 100 : 10, len = n > 4096 ? (size_t) 2 << 20 : 20;
        CHECK(Platform_Mem_Discard(p, at, len) == 1, "%s: discard inside a %zu-byte block", mode, n);
        CHECK(all(p + at, len, 0) && all(p, at, 0x55) && all(p + at + len, n - at - len, 0x55),
              "%s: the range reads as zero, the rest is kept (%zu bytes)", mode, n);
        CHECK(Platform_Mem_GetCount() == count && Platform_Mem_GetAllocated() == bytes && Platform_Mem_Size(p) == n,
              "%s: the block stays live, its size and the counts as they were", mode);
        fill(p, n, 0x66);
        int seen = atomic_load(&reports);
        CHECK(Platform_Mem_Discard(p, n - 8, 16) == 0 && atomic_load(&last_code) == PLATFORM_MEM_ERR_SIZE_MISMATCH
                  && atomic_load(&reports) == seen + 1 && all(p, n, 0x66),
              "%s: a range past the block's end is refused, reported once, nothing touched: code %d", mode,
              atomic_load(&last_code));
        CHECK(Platform_Mem_Discard(p, (size_t) -1, 2) == 0 && atomic_load(&reports) == seen + 2 && all(p, n, 0x66),
              "%s: an overflowing offset is refused too", mode);
        CHECK(Platform_Mem_Discard(p, 0, 0) == 1 && all(p, n, 0x66), "%s: an empty range does nothing", mode);
        Platform_Free(p, n);
        seen = atomic_load(&reports);
        CHECK(Platform_Mem_Discard(p, 0, 8) == 0 && atomic_load(&reports) == seen + 1,
              "%s: a freed block is refused and reported: code %d", mode, atomic_load(&last_code));
    }
    CHECK(Platform_Mem_Discard(on_stack, 0, 8) == 0 && atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_POINTER
              && on_stack[0] == 0x44444444,
          "%s: a foreign pointer is refused and left alone: code %d", mode, atomic_load(&last_code));
    CHECK(Platform_Mem_Discard(NULL, 0, 8) == 0, "%s: NULL is refused", mode);
    void *kept = Platform_Alloc(64, 0);
    for (int i = 0; i < 1000; i++) {
        Platform_Free(Platform_Alloc(16 + (size_t) i % 300, 0), 0); /* blocks in this thread's cache */
    }
    size_t count = Platform_Mem_GetCount();
    Platform_Mem_Trim();
    CHECK(Platform_Mem_GetCount() == count && Platform_Mem_Size(kept) == 64, "%s: a trim keeps live blocks live", mode);
    Platform_Free(kept, 0);
}

/* This process's anonymous resident memory (RssAnon), in MiB. */
static long anon_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "RssAnon: %ld kB", &kib) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib / 1024;
}

/* count 16-byte blocks allocated and written, then freed in a scattered order (a level's unload). */
static void unload(void **blocks, size_t count) {
    for (size_t i = 0; i < count; i++) {
        blocks[i] = Platform_Alloc(16, 0);
        memset(blocks[i], 1, 16);
    }
    srand(7);
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = (size_t) rand() % (i + 1);
        void *t = blocks[i];
        blocks[i] = blocks[j];
        blocks[j] = t;
    }
    for (size_t i = 0; i < count; i++) {
        Platform_Free(blocks[i], 16);
    }
}

/* Platform_Mem_Trim after a level's unload: 2 million blocks (about 64 MiB with their headers) freed,
 * then trimmed. A first, smaller unload and a trim warm the same paths up (the JIT's code, the caches'
 * records), so that what the second leaves is the blocks' memory alone. arena gives back all but a
 * few MiB; every backend gives back at least part and keeps its counts. */
static void trim(const char *backend) {
    size_t count = 2000000;
    void **blocks = malloc(count * sizeof *blocks);
    memset(blocks, 0xA5, count * sizeof *blocks); /* the test's own array: resident before the figures */
    unload(blocks, count / 10);
    Platform_Mem_Trim();
    long before = anon_mib();
    unload(blocks, count);
    long freed = anon_mib();
    Platform_Mem_Trim();
    long trimmed = anon_mib();
    PlatformMemStats stats;
    Platform_Mem_GetStats(&stats);
    printf("trim (%s): %ld MiB anonymous before, %ld with 2 million blocks freed, %ld after the trim; the backend "
           "maps %.1f MiB\n", backend, before, freed, trimmed, (double) stats.mapped_bytes / (1 << 20));
    CHECK(Platform_Mem_GetCount() == 0, "%s: every block freed", backend);
    CHECK(freed > before + 32, "%s: the freed blocks' memory stayed resident until the trim (%ld -> %ld MiB)", backend,
          before, freed);
    CHECK(trimmed < freed, "%s: a trim gives memory back (%ld -> %ld MiB)", backend, freed, trimmed);
    if (strcmp(backend, "arena") == 0) {
        CHECK(trimmed <= before + 8, "arena: back within 8 MiB of where it was (%ld -> %ld -> %ld MiB)", before, freed,
              trimmed);
    }
    free(blocks);
}

/* Trims while other threads allocate, write, check and free: every block keeps its bytes, no error is
 * reported, and the counts come back to zero. Bounded: about a second. */
enum { TRIM_WORKERS = 2, TRIM_SLOTS = 4096 };
static atomic_int trim_stop;
static atomic_int trim_damaged;

static void *trim_worker(void *arg) {
    unsigned seed = (unsigned) (uintptr_t) arg;
    static _Thread_local void *slots[TRIM_SLOTS];
    static _Thread_local size_t sizes[TRIM_SLOTS];
    memset(slots, 0, sizeof slots);
    while (!atomic_load(&trim_stop)) {
        size_t i = rand_r(&seed) % TRIM_SLOTS;
        if (slots[i] != NULL) {
            if (!holds(slots[i], sizes[i], (unsigned char) i)) {
                atomic_fetch_add(&trim_damaged, 1);
            }
            Platform_Free(slots[i], sizes[i]);
        }
        sizes[i] = 16 + (size_t) (rand_r(&seed) % (i % 64 == 0 ? 300000 : 2000));
        slots[i] = Platform_Alloc(sizes[i], 0);
        if (slots[i] != NULL) {
            fill(slots[i], sizes[i], (unsigned char) i);
        }
    }
    for (size_t i = 0; i < TRIM_SLOTS; i++) {
        if (slots[i] != NULL && !holds(slots[i], sizes[i], (unsigned char) i)) {
            atomic_fetch_add(&trim_damaged, 1);
        }
        Platform_Free(slots[i], sizes[i]);
    }
    return NULL;
}

static void trim_race(const char *backend) {
    int seen = atomic_load(&reports);
    pthread_t workers[TRIM_WORKERS];
    for (uintptr_t w = 0; w < TRIM_WORKERS; w++) {
        pthread_create(&workers[w], NULL, trim_worker, (void *) (w + 1));
    }
    struct timespec began, now;
    clock_gettime(CLOCK_MONOTONIC, &began);
    int trims = 0;
    do {
        Platform_Mem_Trim();
        trims++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - began.tv_sec) * 1000 + (now.tv_nsec - began.tv_nsec) / 1000000 < 1000);
    atomic_store(&trim_stop, 1);
    for (int w = 0; w < TRIM_WORKERS; w++) {
        pthread_join(workers[w], NULL);
    }
    printf("trim race (%s): %d trims beside %d threads\n", backend, trims, TRIM_WORKERS);
    CHECK(trims > 1, "%s: trimmed more than once", backend);
    CHECK(atomic_load(&trim_damaged) == 0, "%s: every block kept its bytes through the trims (%d damaged)", backend,
          atomic_load(&trim_damaged));
    CHECK(atomic_load(&reports) == seen, "%s: no error reported (%d)", backend, atomic_load(&reports) - seen);
    CHECK(Platform_Mem_GetCount() == 0 && Platform_Mem_GetAllocated() == 0, "%s: every block freed, counted exactly",
          backend);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "system";
    const char *scenario = argc > 2 ? argv[2] : "heaps";
    Platform_Mem_SetErrorHandler(on_error);
    if (strcmp(scenario, "heaps") == 0) {
        if (start(backend, "")) {
            heaps();
        }
    } else if (strcmp(scenario, "quarantine") == 0) {
        if (start(backend, ";tracking=debug;quarantine=1m")) {
            quarantine();
        }
    } else if (strcmp(scenario, "late") == 0) {
        if (start(backend, "")) {
            late();
        }
    } else if (strcmp(scenario, "bounded") == 0) {
        if (start(backend, "")) {
            bounded(backend, "caches");
        }
        Platform_Mem_Shutdown();
        if (start(backend, ";fastpath=off")) {
            bounded(backend, "facade");
        }
    } else if (strcmp(scenario, "aligned") == 0) {
        if (start(backend, "")) {
            aligned("caches");
        }
        Platform_Mem_Shutdown();
        if (start(backend, ";fastpath=off")) {
            aligned("facade");
        }
    } else if (strcmp(scenario, "pages") == 0) {
        if (start(backend, "")) {
            pages("caches");
        }
        Platform_Mem_Shutdown();
        if (start(backend, ";fastpath=off")) {
            pages("facade");
        }
    } else if (strcmp(scenario, "trim") == 0) {
        if (start(backend, "")) {
            trim(backend);
        }
        Platform_Mem_Shutdown();
        if (start(backend, "")) {
            trim_race(backend);
        }
    } else if (strcmp(scenario, "start-once") == 0) {
        CHECK(Platform_Mem_Init("backend=nope") == PLATFORM_MEM_ERR_START, "an unknown backend fails");
        CHECK(atomic_load(&reports) == 1, "the handler heard of it once: %d", atomic_load(&reports));
        CHECK(Platform_Mem_Init("backend=system;limit=abc") == PLATFORM_MEM_ERR_START, "a bad limit fails");
        CHECK(atomic_load(&reports) == 2, "once more: %d", atomic_load(&reports));
        CHECK(Platform_Alloc(16, 0) == NULL && atomic_load(&reports) == 2, "a call after a failed init does not start");
    } else {
        fprintf(stderr, "unknown scenario %s\n", scenario);
        return 2;
    }
    Platform_Mem_Shutdown();
    return check_summary();
}
