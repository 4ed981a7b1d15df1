/*
 * The shim's per-thread caches (pm_cache.c, pm_tags.c) without the JVM: a C-only harness whose facade is a
 * table of plain C functions, so that the caches' cross-thread paths can run under AddressSanitizer and
 * ThreadSanitizer, which a process with a JVM in it cannot.
 *
 *   test_caches SECONDS
 *
 * Built with PM_TEST_HOOKS (pm_cache.h): every thread's set of handed-out blocks starts with two slots,
 * so it grows as often as it can, ended threads' records are never reused, and every reader of another
 * thread's set calls pm_test_reader_pause() between loading what it reads and using it, which this file
 * stretches at random (a yield, or a spin). The workload keeps those windows busy:
 *   - owner threads, a few alive at once and replaced as they end, hand out blocks of several classes, each
 *     in a 64 KiB page of its own (the fake facade lends them so), so each owner's index grows again and
 *     again; they pass each block, with a pattern written in it, to the freers through a queue, free some
 *     themselves, and end with blocks still live (their records are then orphaned);
 *   - freer threads check each block's pattern, then free it (which looks the block up in its owner's set
 *     while the owner grows it), sometimes with its size, sometimes after resizing it (another thread's
 *     block moved), and now and then first free a pointer 16 bytes into it (which walks every thread's
 *     set to name the block it is inside);
 *   - a reporter lists every cache's live blocks (pm_cache_dump) again and again.
 * At the end every block has been freed: the caches' counters must show exactly the allocations, frees and
 * reallocations made, nothing live; every bad free must have been reported as an interior pointer, and
 * nothing else reported; the fake facade must never have been asked for anything but lending blocks and
 * taking them back.
 */
#define _GNU_SOURCE
#include "pm_cache.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

enum {
    OWNERS_ALIVE = 3,      /* owner threads alive at once */
    OWNER_BLOCKS = 600,    /* blocks an owner hands out before it ends */
    FREERS = 2,
    QUEUE_CAP = 1024,      /* blocks on their way from owners to freers */
    SLOT = 1 << 16,        /* the fake facade lends each block in a 64 KiB page of its own */
    SLOTS = 1 << 15,       /* 2 GiB of address space for them */
};

static const size_t sizes[] = {16, 48, 64, 100, 256, 1000};

/* ---- The fake facade: lends blocks for the caches, takes them back; anything else is counted ---------- */

static char *region;
static pthread_mutex_t facade_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t slots_used;
static void *free_blocks[PM_CACHE_CLASSES][SLOTS / 8];  /* blocks taken back, by class, lent again first */
static size_t free_count[PM_CACHE_CLASSES];
static size_t lent, taken_back;
static atomic_int unexpected_calls;                     /* anything but lending and taking back */
static atomic_int reports[64];                          /* reports, by error code */
static char first_report[512];

static int32_t fake_refill(size_t size, void *out, int32_t n) {
    unsigned c = pm_class_of(size);
    void **blocks = out;
    int32_t given = 0;
    pthread_mutex_lock(&facade_lock);
    for (; given < n; given++) {
        if (free_count[c] > 0) {
            blocks[given] = free_blocks[c][--free_count[c]];
        } else if (slots_used < SLOTS) {
            /* the block starts 16 bytes into its slot (the header before it), at a granule that varies */
            blocks[given] = region + slots_used * SLOT + 16 + (slots_used % 7) * 1024;
            slots_used++;
        } else {
            break;
        }
    }
    lent += (size_t) given;
    pthread_mutex_unlock(&facade_lock);
    return given;
}

static void fake_release(size_t size, void *blocks, int32_t n) {
    unsigned c = pm_class_of(size);
    pthread_mutex_lock(&facade_lock);
    for (int32_t i = 0; i < n; i++) {
        if (free_count[c] < SLOTS / 8) {
            free_blocks[c][free_count[c]++] = ((void **) blocks)[i];
        }
    }
    taken_back += (size_t) n;
    pthread_mutex_unlock(&facade_lock);
}

static size_t fake_cache_limit(void) {
    return PM_CACHE_LARGEST;
}

static void fake_report(int32_t code, const char *message, void *ptr) {
    (void) ptr;
    if (code >= 0 && code < 64) {
        atomic_fetch_add(&reports[code], 1);
    }
    if (code != PLATFORM_MEM_ERR_INTERIOR_POINTER) {
        pthread_mutex_lock(&facade_lock);
        if (first_report[0] == 0) {
            snprintf(first_report, sizeof first_report, "code %d: %s", (int) code, message);
        }
        pthread_mutex_unlock(&facade_lock);
    }
}

static void *fake_alloc(size_t size, uint32_t flags) {
    (void) size, (void) flags;
    atomic_fetch_add(&unexpected_calls, 1);
    return NULL;
}

static void *fake_alloc_aligned(size_t size, size_t alignment, uint32_t flags) {
    (void) size, (void) alignment, (void) flags;
    atomic_fetch_add(&unexpected_calls, 1);
    return NULL;
}

static void fake_free(void *ptr, size_t size) {
    (void) ptr, (void) size;
    atomic_fetch_add(&unexpected_calls, 1);
}

static void *fake_realloc(void *ptr, size_t old_size, size_t new_size) {
    (void) ptr, (void) old_size, (void) new_size;
    atomic_fetch_add(&unexpected_calls, 1);
    return NULL;
}

/* a pointer the caches do not know as live: not the facade's either (1, "unknown": the caches diagnose it) */
static int64_t fake_free_if_live(void *ptr, size_t size) {
    (void) ptr, (void) size;
    return 1;
}

static void *fake_realloc_if_live(void *ptr, size_t old_size, size_t new_size) {
    (void) ptr, (void) old_size, (void) new_size;
    return (void *) 1;
}

static int32_t fake_tag_id(const char *name) {
    (void) name;
    atomic_fetch_add(&unexpected_calls, 1);
    return 0;
}

static void fake_set_mode(int32_t mode) {
    (void) mode;
}

static PmCalls fake_table = {
    .alloc = fake_alloc,
    .free = fake_free,
    .realloc = fake_realloc,
    .alloc_aligned = fake_alloc_aligned,
    .cache_refill = fake_refill,
    .cache_release = fake_release,
    .free_if_live = fake_free_if_live,
    .realloc_if_live = fake_realloc_if_live,
    .report = fake_report,
    .tag_id = fake_tag_id,
    .set_mode = fake_set_mode,
};

/* What platform_memory.c does around the caches' fast paths, for a layer that is always ready. */
PM_HIDDEN void *pm_alloc_fallback(size_t size, uint32_t flags) {
    void *p = pm_cache_alloc_slow(size, flags);
    return p != NULL ? p : fake_table.alloc(size, flags);
}

PM_HIDDEN void pm_free_fallback(void *ptr, size_t size) {
    if (pm_cache_free_slow(ptr, size) != PM_CACHE_DONE) {
        fake_table.free(ptr, size);
    }
}

/* ---- The window a reader leaves between its loads, stretched ------------------------------------------ */

static _Thread_local uint64_t pause_random;

PM_HIDDEN void pm_test_reader_pause(void) {
    uint64_t r = next_random(&pause_random);
    if ((r & 7) == 0) {
        sched_yield(); /* long enough for another thread to grow its set several times */
    } else {
        for (volatile unsigned i = 0, n = (unsigned) (r >> 48) % 2000; i < n; i++) {
        }
    }
}

/* ---- The workload ---------------------------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t size;
    uint64_t serial;
} Block;

static unsigned char pattern(uint64_t serial, size_t i) {
    return (unsigned char) (serial * 0x9Du ^ (serial >> 7) ^ i * 31u);
}

static void fill(const Block *b) {
    for (size_t i = 0; i < b->size; i++) {
        b->p[i] = pattern(b->serial, i);
    }
}

static int intact(const Block *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (b->p[i] != pattern(b->serial, i)) {
            return 0;
        }
    }
    return 1;
}

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    Block blocks[QUEUE_CAP];
    size_t head, count;
} queue = {.lock = PTHREAD_MUTEX_INITIALIZER, .not_empty = PTHREAD_COND_INITIALIZER};

static atomic_int stopping;    /* no new owners; freers empty the queue and end */
static atomic_int owners_alive;
static atomic_llong made, freed, resized, bad_frees, damaged, serials;
static atomic_llong failed_allocs, failed_resizes; /* NULL, misaligned, or not handled by the caches */

/* Puts b on the queue; 0 if it is full. */
static int queue_put(const Block *b) {
    pthread_mutex_lock(&queue.lock);
    int put = queue.count < QUEUE_CAP;
    if (put) {
        queue.blocks[(queue.head + queue.count++) % QUEUE_CAP] = *b;
        pthread_cond_signal(&queue.not_empty);
    }
    pthread_mutex_unlock(&queue.lock);
    return put;
}

/* Takes a block off the queue, waiting up to 10 ms; 0 if none came. */
static int queue_take(Block *out) {
    pthread_mutex_lock(&queue.lock);
    if (queue.count == 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 10 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&queue.not_empty, &queue.lock, &until);
    }
    int took = queue.count > 0;
    if (took) {
        *out = queue.blocks[queue.head];
        queue.head = (queue.head + 1) % QUEUE_CAP;
        queue.count--;
    }
    pthread_mutex_unlock(&queue.lock);
    return took;
}

static void free_block(const Block *b, size_t size_given) {
    if (!intact(b, b->size)) {
        atomic_fetch_add(&damaged, 1);
    }
    pm_cache_free(b->p, size_given);
    atomic_fetch_add(&freed, 1);
}

static void *owner(void *arg) {
    uint64_t random = (uint64_t) (uintptr_t) arg;
    Block kept[8];
    int nkept = 0;
    for (int i = 0; i < OWNER_BLOCKS; i++) {
        Block b = {NULL, sizes[below(&random, sizeof sizes / sizeof *sizes)], (uint64_t) atomic_fetch_add(&serials, 1)};
        b.p = pm_cache_alloc(b.size, PLATFORM_MEM_NORMAL);
        if (b.p == NULL || ((uintptr_t) b.p & 15) != 0) {
            atomic_fetch_add(&failed_allocs, 1);
            break;
        }
        atomic_fetch_add(&made, 1);
        fill(&b);
        if (below(&random, 8) == 0 && nkept < 8) {
            kept[nkept++] = b; /* freed here, by the thread that handed it out */
        } else if (!queue_put(&b)) {
            free_block(&b, 0);
        }
        if (nkept == 8) {
            while (nkept > 0) {
                nkept--;
                free_block(&kept[nkept], below(&random, 2) ? kept[nkept].size : 0);
            }
        }
    }
    while (nkept > 0) {
        free_block(&kept[--nkept], 0);
    }
    atomic_fetch_sub(&owners_alive, 1);
    return NULL; /* the blocks still on the queue are live: this thread's record is orphaned */
}

static void *freer(void *arg) {
    uint64_t random = (uint64_t) (uintptr_t) arg;
    for (;;) {
        Block b;
        if (!queue_take(&b)) {
            if (atomic_load(&stopping) && atomic_load(&owners_alive) == 0) {
                pthread_mutex_lock(&queue.lock);
                size_t left = queue.count;
                pthread_mutex_unlock(&queue.lock);
                if (left == 0) {
                    return NULL;
                }
            }
            continue;
        }
        unsigned what = (unsigned) below(&random, 16);
        if (what == 0 && b.size >= 64) {
            /* 16 bytes into a live block of another thread: reported, nothing done */
            pm_cache_free(b.p + 16, 0);
            atomic_fetch_add(&bad_frees, 1);
        }
        if (what == 1 || what == 2) {
            size_t to = sizes[below(&random, sizeof sizes / sizeof *sizes)];
            size_t keep = to < b.size ? to : b.size;
            if (!intact(&b, keep)) {
                atomic_fetch_add(&damaged, 1);
            }
            int handled = 0;
            unsigned char *q = pm_cache_realloc(b.p, what == 2 ? b.size : 0, to, &handled);
            if (!handled || q == NULL) {
                atomic_fetch_add(&failed_resizes, 1);
                continue;
            }
            atomic_fetch_add(&resized, 1);
            b.p = q;
            b.size = keep;
            if (!intact(&b, keep)) {
                atomic_fetch_add(&damaged, 1);
            }
            b.size = to;
            fill(&b);
        }
        free_block(&b, what == 3 ? b.size : 0);
    }
}

static void *reporter(void *arg) {
    (void) arg;
    while (!atomic_load(&stopping)) {
        (void) pm_cache_dump();
        usleep(2000);
    }
    return NULL;
}

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    region = mmap(NULL, (size_t) SLOTS * SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
    if (region == MAP_FAILED) {
        perror("test_caches: mmap");
        return 2;
    }
    /* the caches' listing of live blocks goes to stderr: to /dev/null while the workload runs (a
     * sanitizer's report still reaches file descriptor 2) */
    FILE *saved_stderr = stderr;
    FILE *null = fopen("/dev/null", "w");
    if (null == NULL) {
        perror("test_caches: /dev/null");
        return 2;
    }
    stderr = null;
    pm_cache_start(&fake_table);
    pm_cache_open(fake_cache_limit());

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_t freers[FREERS], dumper;
    for (int i = 0; i < FREERS; i++) {
        pthread_create(&freers[i], NULL, freer, (void *) (uintptr_t) (1000 + i));
    }
    pthread_create(&dumper, NULL, reporter, NULL);
    long owners_started = 0;
    pthread_t owners[OWNERS_ALIVE];
    while (seconds_since(&start) < seconds) {
        atomic_fetch_add(&owners_alive, OWNERS_ALIVE);
        for (int i = 0; i < OWNERS_ALIVE; i++) {
            pthread_create(&owners[i], NULL, owner, (void *) (uintptr_t) (7 + owners_started++));
        }
        for (int i = 0; i < OWNERS_ALIVE; i++) {
            pthread_join(owners[i], NULL);
        }
    }
    atomic_store(&stopping, 1);
    for (int i = 0; i < FREERS; i++) {
        pthread_join(freers[i], NULL);
    }
    pthread_join(dumper, NULL);

    stderr = saved_stderr;
    fclose(null);
    int64_t totals[5];
    pm_service_cache_totals(totals);
    size_t listed = pm_cache_dump();
    printf("test_caches: %.1f s, %ld owner threads, %lld blocks, %lld resized, %lld bad frees, %zu blocks lent\n",
           seconds_since(&start), owners_started, (long long) made, (long long) resized, (long long) bad_frees, lent);
    CHECK(failed_allocs == 0, "%lld allocations gave NULL or a misaligned block", (long long) failed_allocs);
    CHECK(failed_resizes == 0, "%lld resizes failed", (long long) failed_resizes);
    CHECK(damaged == 0, "%lld blocks lost their pattern", (long long) damaged);
    CHECK(totals[0] == 0 && totals[1] == 0, "live bytes %lld, live blocks %lld after every block was freed",
          (long long) totals[0], (long long) totals[1]);
    CHECK(listed == 0, "the caches list %zu live blocks after every block was freed", listed);
    CHECK(totals[2] == made, "allocations counted %lld, made %lld", (long long) totals[2], (long long) made);
    CHECK(totals[3] == freed, "frees counted %lld, made %lld", (long long) totals[3], (long long) freed);
    CHECK(freed == made, "freed %lld of %lld blocks", (long long) freed, (long long) made);
    CHECK(totals[4] == resized, "reallocations counted %lld, made %lld", (long long) totals[4], (long long) resized);
    CHECK(reports[PLATFORM_MEM_ERR_INTERIOR_POINTER] == bad_frees, "%d interior pointers reported for %lld bad frees",
          reports[PLATFORM_MEM_ERR_INTERIOR_POINTER], (long long) bad_frees);
    int other = 0;
    for (int i = 0; i < 64; i++) {
        other += i != PLATFORM_MEM_ERR_INTERIOR_POINTER ? reports[i] : 0;
    }
    CHECK(other == 0, "%d other reports, the first: %s", other, first_report);
    CHECK(unexpected_calls == 0, "the facade was asked %d times for something but lending blocks", unexpected_calls);
    CHECK(made > 1000, "only %lld blocks made: the workload did not run", (long long) made);
    pm_cache_stop();
    CHECK(lent == taken_back, "the facade lent %zu blocks and took %zu back after the stop", lent, taken_back);
    return check_summary();
}
