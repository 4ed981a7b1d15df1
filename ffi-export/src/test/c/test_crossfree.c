/*
 * Cross-thread frees through the C ABI: one thread frees the blocks another thread allocated, in the
 * shapes allocator benchmarks use.
 *
 *   test_crossfree SHAPE THREADS SECONDS     (options from PLATFORM_MEMORY_OPTIONS, e.g.
 *                                             backend=arena;tracking=debug; the layer starts on the first call)
 *
 * prodcons: THREADS/2 producers (THREADS >= 2) allocate blocks, mostly of 64 bytes and one in four of a
 *   random size from 16 B to 1 KiB (so several size classes are used), write a pattern derived from the
 *   block's sequence number into each and push them into a bounded lock-free queue, one queue per
 *   producer/consumer pair. THREADS/2 consumers pop them, check the pattern and that the sequence numbers
 *   come in order with none missing, and free them with Platform_Free(p, 0), one in four with the exact
 *   size. Every consumer free is a cross-thread free.
 * larson: as the larson benchmark. Each of THREADS threads holds an array of SLOTS blocks of random sizes
 *   from 8 B to 1 KiB; it frees a random slot's block and allocates a new one in its place, again and
 *   again. Every EXCHANGE_EVERY operations it swaps its whole array for the one in a shared hand-off
 *   (there is one array more than threads), so it goes on freeing blocks other threads allocated. After
 *   a random number of operations a thread ends with its array still full of live blocks and the main
 *   thread starts a new thread that takes the array over. Each block keeps its own sequence number in
 *   its first 8 bytes and a pattern derived from it in the rest; both are checked before it is freed.
 *
 * Both run for SECONDS (a decimal number), then stop, drain and free everything still held and join every
 * thread. The checks, against the statistics read before the workload started: no block or byte more is
 * live, allocations - frees over the run is 0, the allocations counted equal the ones the test made (and
 * the frees likewise), no caller error, no failed allocation, nothing for Platform_Mem_CheckHeap (which
 * looks at the quarantine with tracking=debug), the error handler never called, every Platform_Alloc
 * non-NULL and 16-byte aligned, every pattern intact. A watchdog aborts the run SECONDS + 60 s after the
 * start, so it never hangs.
 *
 * Prints one line with what ran, then "N passed, M failed", and exits non-zero if anything failed.
 */
#define _GNU_SOURCE
#include "platform_memory.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

enum {
    MAX_THREADS = 64,       /* THREADS at most */
    QUEUE_CAP = 256,        /* prodcons: blocks on their way from a producer to its consumer (a power of 2) */
    SLOTS = 2000,           /* larson: blocks in each array */
    EXCHANGE_EVERY = 1000,  /* larson: operations between two swaps with the hand-off */
    LIFETIME_MIN = 5000,    /* larson: a thread makes LIFETIME_MIN..LIFETIME_MIN + LIFETIME_SPAN - 1 */
    LIFETIME_SPAN = 20000,  /*   operations before it ends */
    GRACE_SECONDS = 60,     /* the watchdog aborts this long after SECONDS */
    MAX_REPORTED = 5,       /* damaged blocks and errors described in full */
};

/* ---- time --------------------------------------------------------------------------------------- */

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static void sleep_seconds(double s) {
    struct timespec t = {(time_t) s, (long) ((s - (double) (time_t) s) * 1e9)};
    while (nanosleep(&t, &t) != 0) {
        /* interrupted by a signal: sleep the rest */
    }
}

/* ---- blocks and their patterns ---------------------------------------------------------------------- */

/* A live block as the test holds it: where, how big, its sequence number, the thread that allocated it. */
typedef struct {
    unsigned char *p;
    size_t size;
    uint64_t seq;
    int owner;
} Block;

/* A sequence number unique over the run: the thread's id in the high bits, its own count below. */
static uint64_t seq_of(int thread, uint64_t n) {
    return (uint64_t) thread << 40 | n;
}

static unsigned char pattern_byte(uint64_t seq, size_t i) {
    uint32_t h = (uint32_t) (seq ^ seq >> 29) * 0x9E3779B1u;
    return (unsigned char) (h >> 24 ^ i * 37u ^ i >> 8);
}

/* The first 8 bytes hold the sequence number, the rest the pattern derived from it. Every size is >= 8. */
static void block_fill(const Block *b) {
    memcpy(b->p, &b->seq, sizeof b->seq);
    for (size_t i = sizeof b->seq; i < b->size; i++) {
        b->p[i] = pattern_byte(b->seq, i);
    }
}

static atomic_int reported; /* damaged blocks and errors described on stderr so far */

/* Whether the block still holds what block_fill wrote; describes the first few damaged ones. */
static int block_holds(const Block *b) {
    uint64_t stored;
    memcpy(&stored, b->p, sizeof stored);
    size_t bad = stored == b->seq ? b->size : 0;
    for (size_t i = sizeof b->seq; i < b->size && bad == b->size; i++) {
        bad = b->p[i] == pattern_byte(b->seq, i) ? bad : i;
    }
    if (bad == b->size) {
        return 1;
    }
    if (atomic_fetch_add(&reported, 1) < MAX_REPORTED) {
        if (bad == 0) {
            fprintf(stderr, "damaged block %p (%zu bytes, allocated by thread %d): holds sequence %#llx, "
                    "expected %#llx\n", (void *) b->p, b->size, b->owner, (unsigned long long) stored,
                    (unsigned long long) b->seq);
        } else {
            fprintf(stderr, "damaged block %p (%zu bytes, sequence %#llx, allocated by thread %d): byte %zu is "
                    "%#x, expected %#x\n", (void *) b->p, b->size, (unsigned long long) b->seq, b->owner, bad,
                    b->p[bad], pattern_byte(b->seq, bad));
        }
    }
    return 0;
}

/* ---- what the threads did ------------------------------------------------------------------------- */

/* Each thread counts in its own Tally and adds it to the totals when it ends (all are joined before the
 * totals are read). */
typedef struct {
    long long allocs, frees, cross, damaged, nulls, misaligned, out_of_order;
} Tally;

static atomic_llong total_allocs, total_frees, total_cross, total_damaged, total_nulls, total_misaligned,
    total_out_of_order;

static void tally_flush(const Tally *t) {
    atomic_fetch_add(&total_allocs, t->allocs);
    atomic_fetch_add(&total_frees, t->frees);
    atomic_fetch_add(&total_cross, t->cross);
    atomic_fetch_add(&total_damaged, t->damaged);
    atomic_fetch_add(&total_nulls, t->nulls);
    atomic_fetch_add(&total_misaligned, t->misaligned);
    atomic_fetch_add(&total_out_of_order, t->out_of_order);
}

/* Allocates and fills a block; on failure out->p is NULL and the failure is counted. */
static int block_new(Tally *t, size_t size, uint64_t seq, int owner, Block *out) {
    unsigned char *p = Platform_Alloc(size, 0);
    *out = (Block){p, size, seq, owner};
    if (p == NULL) {
        t->nulls++;
        return 0;
    }
    t->allocs++;
    if ((uintptr_t) p % 16 != 0) {
        t->misaligned++;
    }
    block_fill(out);
    return 1;
}

/* Checks and frees a block on thread me, with size 0 or, if exact, its size. */
static void block_free(Tally *t, const Block *b, int me, int exact) {
    if (!block_holds(b)) {
        t->damaged++;
    }
    Platform_Free(b->p, exact ? b->size : 0);
    t->frees++;
    if (b->owner != me) {
        t->cross++;
    }
}

/* The error handler: counts, and keeps the first code and message (valid only during the call). */
static atomic_int errors_seen, first_code;
static char first_message[256];

static void on_error(int code, const char *message, void *ptr) {
    if (atomic_fetch_add(&errors_seen, 1) == 0) {
        atomic_store(&first_code, code);
        snprintf(first_message, sizeof first_message, "%s", message != NULL ? message : "(none)");
    }
    if (atomic_fetch_add(&reported, 1) < MAX_REPORTED) {
        fprintf(stderr, "error handler: code %d at %p: %s\n", code, ptr, message != NULL ? message : "(none)");
    }
}

static atomic_int stop; /* set by the main thread when SECONDS are over */

static int stopping(void) {
    return atomic_load_explicit(&stop, memory_order_relaxed);
}

/* ---- prodcons ------------------------------------------------------------------------------------- */

/* A bounded single-producer single-consumer queue. */
typedef struct {
    _Alignas(64) atomic_size_t head; /* the next entry the consumer reads */
    _Alignas(64) atomic_size_t tail; /* the next entry the producer writes */
    _Alignas(64) atomic_int done;    /* the producer has pushed its last block */
    Block ring[QUEUE_CAP];
} Queue;

static Queue queues[MAX_THREADS / 2];

static int queue_push(Queue *q, const Block *b) {
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (tail - atomic_load_explicit(&q->head, memory_order_acquire) == QUEUE_CAP) {
        return 0;
    }
    q->ring[tail % QUEUE_CAP] = *b;
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release); /* publishes the entry and the block */
    return 1;
}

static int queue_pop(Queue *q, Block *out) {
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (head == atomic_load_explicit(&q->tail, memory_order_acquire)) {
        return 0;
    }
    *out = q->ring[head % QUEUE_CAP];
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    return 1;
}

/* Waiting for the other side of a queue: yield first, then sleep 50 us at a time. */
static void back_off(int *idle) {
    if (++*idle < 64) {
        sched_yield();
    } else {
        sleep_seconds(50e-6);
    }
}

static int pairs; /* producer/consumer pairs */

/* Producer i (thread id 1 + i) feeds queue i until stop. */
static void *producer(void *arg) {
    int i = (int) (intptr_t) arg, me = 1 + i;
    Queue *q = &queues[i];
    uint64_t rng = 0x5EED0000u + (uint64_t) me, n = 0;
    Tally t = {0};
    while (!stopping()) {
        size_t size = below(&rng, 4) != 0 ? 64 : 16 + below(&rng, 1024 - 16 + 1);
        Block b;
        if (!block_new(&t, size, seq_of(i, n), me, &b)) {
            continue;
        }
        n++;
        int idle = 0;
        while (!queue_push(q, &b)) {
            if (stopping()) { /* the last block, never pushed: freed here, so the consumer sees no gap */
                block_free(&t, &b, me, 0);
                break;
            }
            back_off(&idle);
        }
    }
    atomic_store_explicit(&q->done, 1, memory_order_release);
    tally_flush(&t);
    return NULL;
}

/* Consumer i (thread id 1 + pairs + i) empties queue i until its producer is done and it is empty. */
static void *consumer(void *arg) {
    int i = (int) (intptr_t) arg, me = 1 + pairs + i;
    Queue *q = &queues[i];
    uint64_t rng = 0xC0000000u + (uint64_t) me, expect = 0;
    Tally t = {0};
    int idle = 0;
    for (;;) {
        /* done read before the pop: if it was set and the pop finds nothing, nothing more will come */
        int done = atomic_load_explicit(&q->done, memory_order_acquire);
        Block b;
        if (queue_pop(q, &b)) {
            if (b.seq != seq_of(i, expect)) {
                t.out_of_order++;
            }
            expect = (b.seq & (((uint64_t) 1 << 40) - 1)) + 1;
            block_free(&t, &b, me, below(&rng, 4) == 0);
            idle = 0;
        } else if (done) {
            break;
        } else {
            back_off(&idle);
        }
    }
    tally_flush(&t);
    return NULL;
}

/* Runs prodcons; returns the number of threads that could not be created. */
static int run_prodcons(int threads, double seconds) {
    pairs = threads / 2;
    pthread_t prod[MAX_THREADS / 2], cons[MAX_THREADS / 2];
    int prod_ok[MAX_THREADS / 2], cons_ok[MAX_THREADS / 2], not_created = 0;
    for (int i = 0; i < pairs; i++) {
        cons_ok[i] = pthread_create(&cons[i], NULL, consumer, (void *) (intptr_t) i) == 0;
        prod_ok[i] = pthread_create(&prod[i], NULL, producer, (void *) (intptr_t) i) == 0;
        if (!prod_ok[i]) { /* its consumer must still see the end */
            atomic_store(&queues[i].done, 1);
        }
        not_created += !cons_ok[i] + !prod_ok[i];
    }
    sleep_seconds(seconds);
    atomic_store(&stop, 1);
    for (int i = 0; i < pairs; i++) {
        if (prod_ok[i]) {
            pthread_join(prod[i], NULL);
        }
    }
    for (int i = 0; i < pairs; i++) {
        if (cons_ok[i]) {
            pthread_join(cons[i], NULL);
        }
    }
    /* a queue whose consumer never started: the main thread (id 0) frees what is in it */
    Tally t = {0};
    uint64_t rng = 1;
    for (int i = 0; i < pairs; i++) {
        Block b;
        while (queue_pop(&queues[i], &b)) {
            block_free(&t, &b, 0, below(&rng, 2) == 0);
        }
    }
    tally_flush(&t);
    return not_created;
}

/* ---- larson --------------------------------------------------------------------------------------- */

typedef struct {
    Block slot[SLOTS];
} Array;

/* One worker's place: the array it works on, its thread, and whether the thread has ended. */
typedef struct {
    Array *array;
    pthread_t thread;
    int running;          /* a thread was started and not joined yet */
    atomic_int finished;  /* the thread has ended; array is the one it held last */
} Lane;

static Array *arrays;     /* THREADS + 1 arrays */
static Array *handoff;    /* the array waiting in the hand-off */
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int next_id = 1; /* thread ids: the main thread is 0 */
static atomic_llong exchanges;

/* Leaves a in the hand-off and takes the array that was there. */
static Array *handoff_swap(Array *a) {
    pthread_mutex_lock(&handoff_lock);
    Array *other = handoff;
    handoff = a;
    pthread_mutex_unlock(&handoff_lock);
    atomic_fetch_add(&exchanges, 1);
    return other;
}

static size_t larson_size(uint64_t *rng) {
    return 8 + below(rng, 1024 - 8 + 1);
}

/* A larson thread: replaces random blocks of its array, swaps arrays now and then, ends after a while. */
static void *larson_worker(void *arg) {
    Lane *lane = arg;
    int me = atomic_fetch_add(&next_id, 1);
    uint64_t rng = 0x1A2500000ull + (uint64_t) me, n = 0;
    Tally t = {0};
    Array *a = lane->array;
    long lifetime = LIFETIME_MIN + (long) below(&rng, LIFETIME_SPAN);
    for (long op = 1; op <= lifetime && !stopping(); op++) {
        Block *s = &a->slot[below(&rng, SLOTS)];
        if (s->p != NULL) {
            block_free(&t, s, me, below(&rng, 4) == 0);
        }
        block_new(&t, larson_size(&rng), seq_of(me, n++), me, s);
        if (op % EXCHANGE_EVERY == 0) {
            a = handoff_swap(a);
        }
    }
    /* ends with every block of the array live: the next thread in this lane frees them */
    lane->array = a;
    tally_flush(&t);
    atomic_store_explicit(&lane->finished, 1, memory_order_release);
    return NULL;
}

static int lane_start(Lane *lane) {
    atomic_store(&lane->finished, 0);
    lane->running = pthread_create(&lane->thread, NULL, larson_worker, lane) == 0;
    return lane->running;
}

static atomic_llong replacements;

/* Runs larson; returns the number of threads that could not be created. */
static int run_larson(int threads, double seconds) {
    Lane lanes[MAX_THREADS];
    arrays = calloc((size_t) threads + 1, sizeof *arrays);
    if (arrays == NULL) {
        fprintf(stderr, "out of memory for the test's own arrays\n");
        exit(2);
    }
    /* the main thread fills every array: the workers' first frees are cross-thread already */
    Tally t = {0};
    uint64_t rng = 7, n = 0;
    for (int i = 0; i <= threads; i++) {
        for (int s = 0; s < SLOTS; s++) {
            block_new(&t, larson_size(&rng), seq_of(0, n++), 0, &arrays[i].slot[s]);
        }
    }
    handoff = &arrays[threads];
    int not_created = 0;
    for (int i = 0; i < threads; i++) {
        lanes[i].array = &arrays[i];
        not_created += !lane_start(&lanes[i]);
    }
    /* a thread that ended is joined and replaced by a new one that takes over its array */
    double end = seconds_now() + seconds;
    while (seconds_now() < end) {
        for (int i = 0; i < threads; i++) {
            if (lanes[i].running && atomic_load_explicit(&lanes[i].finished, memory_order_acquire)) {
                pthread_join(lanes[i].thread, NULL);
                not_created += !lane_start(&lanes[i]);
                atomic_fetch_add(&replacements, 1);
            }
        }
        sleep_seconds(1e-3);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < threads; i++) {
        if (lanes[i].running) {
            pthread_join(lanes[i].thread, NULL);
        }
    }
    /* every array, wherever it ended up, is freed by the main thread */
    for (int i = 0; i <= threads; i++) {
        for (int s = 0; s < SLOTS; s++) {
            Block *b = &arrays[i].slot[s];
            if (b->p != NULL) {
                block_free(&t, b, 0, below(&rng, 2) == 0);
                b->p = NULL;
            }
        }
    }
    tally_flush(&t);
    free(arrays);
    return not_created;
}

/* ---- the watchdog ----------------------------------------------------------------------------------- */

static atomic_int finished_run;

/* Aborts the process if the run has not ended limit seconds after the watchdog started. */
static void *watchdog(void *arg) {
    double limit = *(const double *) arg, t0 = seconds_now();
    while (!atomic_load(&finished_run)) {
        if (seconds_now() - t0 > limit) {
            fprintf(stderr, "test_crossfree: watchdog: still running after %.1f s (SECONDS + %d); aborting\n",
                    limit, GRACE_SECONDS);
            abort();
        }
        sleep_seconds(0.05);
    }
    return NULL;
}

/* ---- main ----------------------------------------------------------------------------------------- */

/* The difference of a counter over the run, signed so that a counter going down shows as negative. */
static long long delta(uint64_t after, uint64_t before) {
    return (long long) (after - before);
}

static void check_statistics(const PlatformMemStats *before, const PlatformMemStats *after) {
    long long allocs = delta(after->allocations, before->allocations);
    long long frees = delta(after->frees, before->frees);
    CHECK(after->live_blocks == before->live_blocks && after->live_bytes == before->live_bytes,
          "nothing more live: %llu blocks, %llu bytes after; %llu blocks, %llu bytes before",
          (unsigned long long) after->live_blocks, (unsigned long long) after->live_bytes,
          (unsigned long long) before->live_blocks, (unsigned long long) before->live_bytes);
    CHECK(allocs - frees == 0, "allocations - frees over the run: %lld - %lld = %lld", allocs, frees, allocs - frees);
    CHECK(allocs == atomic_load(&total_allocs), "allocations over the run %lld, the test made %lld", allocs,
          (long long) atomic_load(&total_allocs));
    CHECK(frees == atomic_load(&total_frees), "frees over the run %lld, the test made %lld", frees,
          (long long) atomic_load(&total_frees));
    CHECK(delta(after->reallocations, before->reallocations) == 0, "reallocations over the run %lld, the test made 0",
          delta(after->reallocations, before->reallocations));
    CHECK(delta(after->caller_errors, before->caller_errors) == 0, "caller errors over the run: %lld",
          delta(after->caller_errors, before->caller_errors));
    CHECK(delta(after->failed_allocations, before->failed_allocations) == 0, "failed allocations over the run: %lld",
          delta(after->failed_allocations, before->failed_allocations));
}

static void check_blocks(void) {
    CHECK(atomic_load(&total_nulls) == 0, "%lld allocations returned NULL", (long long) atomic_load(&total_nulls));
    CHECK(atomic_load(&total_misaligned) == 0, "%lld blocks not 16-byte aligned",
          (long long) atomic_load(&total_misaligned));
    CHECK(atomic_load(&total_damaged) == 0, "%lld blocks changed while the test held them",
          (long long) atomic_load(&total_damaged));
    CHECK(atomic_load(&total_out_of_order) == 0, "%lld blocks arrived out of sequence",
          (long long) atomic_load(&total_out_of_order));
    CHECK(atomic_load(&total_allocs) == atomic_load(&total_frees), "the test allocated %lld blocks and freed %lld",
          (long long) atomic_load(&total_allocs), (long long) atomic_load(&total_frees));
    CHECK(atomic_load(&total_cross) > 0, "no cross-thread free happened");
}

int main(int argc, char **argv) {
    const char *shape = argc == 4 ? argv[1] : "";
    int threads = argc == 4 ? atoi(argv[2]) : 0;
    double seconds = argc == 4 ? strtod(argv[3], NULL) : 0;
    int prodcons = strcmp(shape, "prodcons") == 0, larson = strcmp(shape, "larson") == 0;
    if ((!prodcons && !larson) || threads < (prodcons ? 2 : 1) || threads > MAX_THREADS || !(seconds > 0)) {
        fprintf(stderr, "usage: test_crossfree prodcons|larson THREADS SECONDS   (prodcons: THREADS >= 2; "
                "THREADS <= %d; options from PLATFORM_MEMORY_OPTIONS)\n", MAX_THREADS);
        return 2;
    }
    pthread_t dog;
    double limit = seconds + GRACE_SECONDS;
    int dog_ok = pthread_create(&dog, NULL, watchdog, &limit) == 0;
    CHECK(dog_ok, "the watchdog thread could not be created");

    /* the handler first, so that it sees the start too; the first call then starts the layer */
    Platform_Mem_SetErrorHandler(on_error);
    PlatformMemStats before, after;
    Platform_Mem_GetStats(&before);
    CHECK(Platform_Mem_Backend()[0] != '\0', "the layer started: %s", Platform_Mem_LastError());
    if (Platform_Mem_Backend()[0] == '\0') {
        return check_summary();
    }

    double t0 = seconds_now();
    int not_created = prodcons ? run_prodcons(threads, seconds) : run_larson(threads, seconds);
    double took = seconds_now() - t0;
    CHECK(not_created == 0, "%d threads could not be created", not_created);

    /* with tracking=debug: every block in the quarantine still holds its fill (no write after free) */
    int damaged = Platform_Mem_CheckHeap();
    CHECK(damaged == 0, "Platform_Mem_CheckHeap found %d damaged blocks", damaged);
    Platform_Mem_GetStats(&after);
    check_statistics(&before, &after);
    check_blocks();
    CHECK(atomic_load(&errors_seen) == 0, "the error handler was called %d times; the first: code %d: %s",
          atomic_load(&errors_seen), atomic_load(&first_code), first_message);

    long long ops = atomic_load(&total_allocs) + atomic_load(&total_frees);
    printf("crossfree %s: %d threads, %.2f s (ran %.2f s), backend %s, options \"%s\": %lld operations "
           "(%lld allocations, %lld frees), %lld cross-thread frees",
           shape, threads, seconds, took, Platform_Mem_Backend(),
           getenv("PLATFORM_MEMORY_OPTIONS") != NULL ? getenv("PLATFORM_MEMORY_OPTIONS") : "",
           ops, (long long) atomic_load(&total_allocs), (long long) atomic_load(&total_frees),
           (long long) atomic_load(&total_cross));
    if (larson) {
        printf(", %lld array exchanges, %lld threads replaced", (long long) atomic_load(&exchanges),
               (long long) atomic_load(&replacements));
    }
    printf("\n");
    Platform_Mem_Shutdown();
    atomic_store(&finished_run, 1);
    if (dog_ok) {
        pthread_join(dog, NULL);
    }
    return check_summary();
}
