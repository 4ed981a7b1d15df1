/*
 * Thread churn through the C ABI: nothing leaks when threads come and go.
 *
 *   test_churn BACKEND [ROUNDS [THREADS_PER_ROUND]]
 *
 * Each round starts THREADS_PER_ROUND short-lived threads, at most ALIVE of them at once. Each thread
 * allocates blocks of random sizes, frees and resizes some, fills a burst of small blocks and frees
 * them (what a per-thread cache would keep), hands blocks to others through a locked pool and takes
 * theirs, then ends: half the time freeing what it holds, half the time leaving it in the pool for
 * threads that start later (or the main thread) to free. Every block carries a pattern checked before
 * it is freed or resized.
 *
 * After each round every thread has been joined and the pool emptied, so the statistics must show
 * nothing live and agree exactly with what the threads did: allocations == frees for the round (a
 * Platform_Realloc of a live block to a non-zero size counts as a reallocation, of NULL as an
 * allocation, to 0 as a free), reallocations as made, no caller error, no failed allocation.
 * The process's resident memory after the last round must stay within a generous bound of what it
 * was after the first (read from /proc/self/statm): memory kept per ended thread would grow with
 * every round.
 *
 * Ends with "N passed, M failed" and exits non-zero if anything failed.
 */
#define _GNU_SOURCE
#include "platform_memory.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

enum {
    ALIVE = 16,       /* threads alive at once, at most */
    OPS = 80,         /* random calls per thread */
    BURST = 64,       /* small blocks a thread allocates and frees at once */
    MAX_OWNED = 32,   /* blocks a thread holds at most */
    POOL_CAP = 8192,  /* blocks on their way between threads */
};

/* RSS after the last round may be at most RSS_FACTOR times RSS after the first, plus RSS_SLACK_MIB. */
#define RSS_FACTOR 1.5
#define RSS_SLACK_MIB 48

/* ---- random numbers and patterns ----------------------------------------------------------------- */

/* next_random and below: check.h */

typedef struct {
    unsigned char *p;
    size_t size;
    uint32_t tag;
} Block;

static unsigned char pattern_byte(uint32_t tag, size_t i) {
    return (unsigned char) (tag * 0x9Du ^ (tag >> 11) ^ i * 37u ^ (i >> 9));
}

static void fill_range(const Block *b, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        b->p[i] = pattern_byte(b->tag, i);
    }
}

static int holds(const Block *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (b->p[i] != pattern_byte(b->tag, i)) {
            return 0;
        }
    }
    return 1;
}

/* ---- what the threads did ------------------------------------------------------------------------- */

static atomic_llong did_alloc, did_free, did_realloc;
static atomic_int damaged;     /* blocks whose pattern changed */
static atomic_int null_blocks; /* good allocations that returned NULL */
static atomic_int errors_seen;
static atomic_int last_error;
static atomic_uint tags;

static void on_error(int code, const char *message, void *ptr) {
    (void) message;
    (void) ptr;
    atomic_fetch_add(&errors_seen, 1);
    atomic_store(&last_error, code);
}

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static Block pool[POOL_CAP];
static int pool_n;

static int pool_put(Block b) {
    pthread_mutex_lock(&pool_lock);
    int room = pool_n < POOL_CAP;
    if (room) {
        pool[pool_n++] = b;
    }
    pthread_mutex_unlock(&pool_lock);
    return room;
}

static int pool_take(size_t pick, Block *out) {
    pthread_mutex_lock(&pool_lock);
    int have = pool_n > 0;
    if (have) {
        int i = (int) (pick % (size_t) pool_n);
        *out = pool[i];
        pool[i] = pool[--pool_n];
    }
    pthread_mutex_unlock(&pool_lock);
    return have;
}

static size_t random_size(uint64_t *rng) {
    size_t r = below(rng, 100);
    if (r < 80) {
        return 1 + below(rng, 512);
    }
    if (r < 95) {
        return 513 + below(rng, 4096);
    }
    return 4609 + below(rng, 60000);
}

static int new_block(uint64_t *rng, Block *out) {
    size_t size = random_size(rng);
    void *p = Platform_Alloc(size, below(rng, 4) == 0 ? PLATFORM_MEM_CLEAR : 0);
    if (p == NULL) {
        atomic_fetch_add(&null_blocks, 1);
        return 0;
    }
    atomic_fetch_add(&did_alloc, 1);
    *out = (Block){p, size, atomic_fetch_add(&tags, 1)};
    fill_range(out, 0, size);
    return 1;
}

static void free_block(uint64_t *rng, Block b) {
    if (!holds(&b, b.size)) {
        atomic_fetch_add(&damaged, 1);
    }
    if (below(rng, 5) == 0) {
        void *p = Platform_Realloc(b.p, below(rng, 2) ? b.size : 0, 0);
        if (p != NULL) {
            atomic_fetch_add(&damaged, 1);
        }
    } else {
        Platform_Free(b.p, below(rng, 2) ? b.size : 0);
    }
    atomic_fetch_add(&did_free, 1);
}

/* Resizes b; on success *b is the new block (contents kept to min size, the rest patterned). */
static void resize_block(uint64_t *rng, Block *b) {
    if (!holds(b, b->size)) {
        atomic_fetch_add(&damaged, 1);
    }
    size_t new_size = below(rng, 2) ? b->size + 1 + below(rng, 3000) : 1 + below(rng, b->size);
    void *p = Platform_Realloc(b->p, below(rng, 2) ? b->size : 0, new_size);
    if (p == NULL) {
        atomic_fetch_add(&null_blocks, 1);
        return;
    }
    atomic_fetch_add(&did_realloc, 1);
    size_t kept = b->size < new_size ? b->size : new_size;
    b->p = p;
    if (!holds(b, kept)) {
        atomic_fetch_add(&damaged, 1);
    }
    b->size = new_size;
    fill_range(b, kept, new_size);
}

static void *churner(void *arg) {
    uint64_t rng = (uint64_t) (uintptr_t) arg * 0x100000001B3ULL + 17;
    Block owned[MAX_OWNED];
    int n = 0;
    /* a burst of small blocks, freed at once: what a per-thread cache would keep */
    Block burst[BURST];
    int nb = 0;
    for (int i = 0; i < BURST; i++) {
        size_t size = 1 + below(&rng, 1024);
        void *p = Platform_Alloc(size, 0);
        if (p == NULL) {
            atomic_fetch_add(&null_blocks, 1);
            continue;
        }
        atomic_fetch_add(&did_alloc, 1);
        burst[nb] = (Block){p, size, atomic_fetch_add(&tags, 1)};
        fill_range(&burst[nb], 0, burst[nb].size);
        nb++;
    }
    for (int i = 0; i < nb; i++) {
        free_block(&rng, burst[i]);
    }
    for (int op = 0; op < OPS; op++) {
        size_t r = below(&rng, 100);
        if (r < 35) {
            if (n == MAX_OWNED) {
                free_block(&rng, owned[--n]);
            }
            n += new_block(&rng, &owned[n]);
        } else if (r < 55) {
            if (n > 0) {
                int i = (int) below(&rng, (size_t) n);
                free_block(&rng, owned[i]);
                owned[i] = owned[--n];
            }
        } else if (r < 65) {
            if (n > 0) {
                resize_block(&rng, &owned[below(&rng, (size_t) n)]);
            }
        } else if (r < 80) {
            if (n > 0) {
                int i = (int) below(&rng, (size_t) n);
                if (pool_put(owned[i])) {
                    owned[i] = owned[--n];
                }
            }
        } else {
            Block b;
            if (pool_take((size_t) next_random(&rng), &b)) {
                if (n < MAX_OWNED && below(&rng, 2)) {
                    resize_block(&rng, &b); /* another thread's block, resized here and kept */
                    owned[n++] = b;
                } else {
                    free_block(&rng, b);
                }
            }
        }
    }
    /* end: free everything, or leave it to threads that start later */
    int leave = below(&rng, 2) == 0;
    while (n > 0) {
        Block b = owned[--n];
        if (!leave || !pool_put(b)) {
            free_block(&rng, b);
        }
    }
    return NULL;
}

static size_t resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }
    unsigned long size = 0, resident = 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return (size_t) resident * (size_t) sysconf(_SC_PAGESIZE);
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_churn BACKEND [ROUNDS [THREADS_PER_ROUND]]\n");
        return 2;
    }
    const char *backend = argv[1];
    int rounds = argc > 2 ? atoi(argv[2]) : 6;
    int per_round = argc > 3 ? atoi(argv[3]) : 500;
    Platform_Mem_SetErrorHandler(on_error);
    char options[128];
    /* thousands of bad calls on purpose, each checked through the handler: no line on stderr for each */
    snprintf(options, sizeof options, "backend=%s;log=quiet", backend);
    int rc = Platform_Mem_Init(options);
    CHECK(rc == 0, "Platform_Mem_Init(%s): %s", options, Platform_Mem_LastError());
    if (rc != 0) {
        return check_summary();
    }
    CHECK(strcmp(Platform_Mem_Backend(), backend) == 0, "backend %s", Platform_Mem_Backend());

    size_t rss_first = 0, rss_last = 0, rss_most = 0;
    long threads = 0;
    double t0 = seconds_now();
    for (int round = 0; round < rounds; round++) {
        PlatformMemStats before, after;
        Platform_Mem_GetStats(&before);
        long long alloc0 = atomic_load(&did_alloc), free0 = atomic_load(&did_free);
        long long realloc0 = atomic_load(&did_realloc);
        pthread_t ring[ALIVE];
        int used[ALIVE] = {0};
        int not_created = 0;
        for (int i = 0; i < per_round; i++) {
            int slot = i % ALIVE;
            if (used[slot]) {
                pthread_join(ring[slot], NULL);
            }
            uintptr_t id = (uintptr_t) round * 1000003u + (uintptr_t) i;
            int created = pthread_create(&ring[slot], NULL, churner, (void *) id);
            used[slot] = created == 0;
            threads += created == 0;
            not_created += created != 0;
        }
        CHECK(not_created == 0, "round %d: %d threads could not be created", round, not_created);
        for (int slot = 0; slot < ALIVE; slot++) {
            if (used[slot]) {
                pthread_join(ring[slot], NULL);
            }
        }
        /* every thread has ended: free what they left behind */
        uint64_t rng = (uint64_t) round;
        while (pool_n > 0) {
            free_block(&rng, pool[--pool_n]);
        }
        Platform_Mem_GetStats(&after);
        long long allocs = atomic_load(&did_alloc) - alloc0, frees = atomic_load(&did_free) - free0;
        long long reallocs = atomic_load(&did_realloc) - realloc0;
        CHECK(after.live_blocks == 0 && after.live_bytes == 0, "round %d: nothing live: %llu blocks, %llu bytes",
              round, (unsigned long long) after.live_blocks, (unsigned long long) after.live_bytes);
        CHECK(Platform_Mem_GetCount() == 0 && Platform_Mem_GetAllocated() == 0, "round %d: the accessors agree", round);
        CHECK(allocs == frees, "round %d: the threads allocated %lld and freed %lld", round, allocs, frees);
        CHECK((long long) (after.allocations - before.allocations) == allocs,
              "round %d: allocations %llu, the threads made %lld", round,
              (unsigned long long) (after.allocations - before.allocations), allocs);
        CHECK((long long) (after.frees - before.frees) == frees, "round %d: frees %llu, the threads made %lld", round,
              (unsigned long long) (after.frees - before.frees), frees);
        CHECK(after.allocations - before.allocations == after.frees - before.frees,
              "round %d: allocations == frees in the statistics", round);
        CHECK((long long) (after.reallocations - before.reallocations) == reallocs,
              "round %d: reallocations %llu, the threads made %lld", round,
              (unsigned long long) (after.reallocations - before.reallocations), reallocs);
        CHECK(after.caller_errors == 0, "round %d: caller errors %llu (last code %d)", round,
              (unsigned long long) after.caller_errors, atomic_load(&last_error));
        CHECK(after.failed_allocations == 0, "round %d: failed allocations %llu", round,
              (unsigned long long) after.failed_allocations);
        size_t rss = resident_bytes();
        if (round == 0) {
            rss_first = rss;
        }
        rss_last = rss;
        rss_most = rss > rss_most ? rss : rss_most;
        printf("round %d: %d threads, %lld allocations, %lld reallocations, peak %llu bytes, RSS %.1f MiB, %.2f s\n",
               round, per_round, allocs, reallocs, (unsigned long long) after.peak_bytes,
               (double) rss / 1048576.0, seconds_now() - t0);
    }
    CHECK(atomic_load(&damaged) == 0, "%d blocks changed under their owner", atomic_load(&damaged));
    CHECK(atomic_load(&null_blocks) == 0, "%d good allocations returned NULL", atomic_load(&null_blocks));
    CHECK(atomic_load(&errors_seen) == 0, "the error handler was called %d times (last code %d)",
          atomic_load(&errors_seen), atomic_load(&last_error));
    if (rounds > 1) {
        double bound = RSS_FACTOR * (double) rss_first + RSS_SLACK_MIB * 1048576.0;
        CHECK(rss_first > 0 && (double) rss_last <= bound,
              "RSS grew with thread churn: %.1f MiB after round 1, %.1f MiB after round %d (bound %.1f MiB)",
              (double) rss_first / 1048576.0, (double) rss_last / 1048576.0, rounds, bound / 1048576.0);
    }
    printf("%ld threads in %.2f s; RSS %.1f MiB after round 1, %.1f MiB after round %d, at most %.1f MiB\n", threads,
           seconds_now() - t0, (double) rss_first / 1048576.0, (double) rss_last / 1048576.0, rounds,
           (double) rss_most / 1048576.0);
    Platform_Mem_Shutdown();
    return check_summary();
}
