/*
 * pm_bench: the allocator workloads of the C-ABI benchmark, run against one subject per process.
 *
 *   pm_bench --subject NAME [--workloads speed|frame-mix|realloc-growth|trace-replay|big-block|mass]
 *            [--scale N] [--samples N] [--max-threads N] [--trace FILE] --out FILE
 *
 * A subject is a backend of platform-memory, called through the C ABI exactly as the game calls it
 * (Platform_Alloc, with PLATFORM_MEM_CLEAR for a zeroed block, Platform_Free, Platform_Realloc; the
 * backend comes from --subject), or a native peer: "glibc" (this process's malloc, calloc for a zeroed
 * block). The jemalloc and mimalloc peers are this same source built into pm_bench_jemalloc and
 * pm_bench_mimalloc, linked against those libraries (see CMakeLists.txt).
 *
 * "speed" runs every throughput/latency workload, ending with thread-100-calls (a new thread's first
 * 100 calls, thread after thread), churn-4t (four threads of server-style requests, responses freed by
 * the next thread), live-500k-alloc/-free (alloc and free among 500,000 live 16-byte blocks, times
 * --scale: live-5m at scale 10), larson-4t (four threads replacing random blocks of 8 B..1 KiB in sets
 * of slots they hand on to the next thread every round), producer-consumer-4t (two threads allocate
 * blocks of 16..256 B, two others free them, through a bounded queue) and mass-500k-alloc/-free (500,000
 * 16-byte blocks, times --scale, allocated, then all freed in a shuffled order: a level's unload);
 * each memory workload runs in its own process (started fresh, so its RSS growth is its own): a short
 * warm-up, then one pass measuring peak RSS growth over peak live bytes, then a throughput pass and a
 * sampled latency pass. "big-block", in a fresh process too, allocates one 512 MiB block (a level's
 * pool) plain and one cleared, and reads how much of each is resident after the allocation and after
 * half of it is written. "mass" runs the speed run's mass-N-alloc/-free alone, then its memory records.
 *
 * The output file (read by org.platformmemory.bench.report.HarnessOutput) has one record a line:
 *   pm-bench 1
 *   subject NAME
 *   timer KIND OVERHEAD_NS              the clock used for per-call samples and its subtracted cost
 *   workload NAME THREADS OPS NANOS PEAK_LIVE RSS_GROWTH    throughput pass: OPS calls in NANOS;
 *                                        PEAK_LIVE/RSS_GROWTH in bytes, 0 when not measured
 *   samples NAME V V V ...               per-call latencies in ns of the sampled pass
 *                                        (thread-100-calls: OPS 100 in NANOS the median thread's time,
 *                                        one sample per thread)
 *   memory POINT RSS ANON                what the process holds beyond what it held when main began,
 *                                        in bytes (VmRSS, RssAnon): "start" right after the subject's
 *                                        first call (the layer's start), "end" after the speed workloads
 *                                        have run and freed their blocks, "trimmed" after the subject then
 *                                        gave its free memory back (Platform_Mem_Trim, malloc_trim(0),
 *                                        jemalloc's purge of every arena, mi_collect) (speed and mass)
 *   block NAME BYTES ALLOC_NS RESIDENT_AFTER_ALLOC RESIDENT_AFTER_TOUCH FREE_NS
 *                                        a big block (big-block only): the allocation call's wall time,
 *                                        the block's resident bytes (mincore) right after it and after a
 *                                        byte of every page of its first half is written, the free's
 *                                        wall time
 *   end
 * Exit status 0 only if every workload ran and every allocation succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#  include <x86intrin.h>
#endif

#if defined(PM_BENCH_JEMALLOC)
#  include <jemalloc/jemalloc.h>
#elif defined(PM_BENCH_MIMALLOC)
#  include <mimalloc.h>
#else
#  include <malloc.h>
#  include "platform_memory.h"
#  include "pm_bench_insights.h"
#endif

/* ---- The subject: four calls through function pointers, the same indirection for everyone -------- */

typedef struct Subject {
    const char *name;
    void *(*alloc)(size_t size);
    void *(*alloc_clear)(size_t size); /* zeroed: PLATFORM_MEM_CLEAR, calloc */
    void (*free)(void *ptr, size_t size);
    void *(*realloc)(void *ptr, size_t old_size, size_t new_size);
    void (*trim)(void); /* gives free memory back to the system: Platform_Mem_Trim, malloc_trim, purge, collect */
} Subject;

#if defined(PM_BENCH_JEMALLOC)
static void *peer_alloc(size_t size) { return malloc(size); }
static void *peer_alloc_clear(size_t size) { return calloc(1, size); }
static void peer_free(void *ptr, size_t size) { (void) size; free(ptr); }
static void *peer_realloc(void *ptr, size_t old_size, size_t new_size) { (void) old_size; return realloc(ptr, new_size); }
#define PM_STRING(x) PM_STRING_(x)
#define PM_STRING_(x) #x
static void peer_trim(void) { mallctl("arena." PM_STRING(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL, NULL, 0); }
static const char *PEER_NAME = "jemalloc";
#elif defined(PM_BENCH_MIMALLOC)
static void *peer_alloc(size_t size) { return mi_malloc(size); }
static void *peer_alloc_clear(size_t size) { return mi_calloc(1, size); }
static void peer_free(void *ptr, size_t size) { (void) size; mi_free(ptr); }
static void *peer_realloc(void *ptr, size_t old_size, size_t new_size) { (void) old_size; return mi_realloc(ptr, new_size); }
static void peer_trim(void) { mi_collect(true); }
static const char *PEER_NAME = "mimalloc";
#else
static void *peer_alloc(size_t size) { return malloc(size); }
static void *peer_alloc_clear(size_t size) { return calloc(1, size); }
static void peer_free(void *ptr, size_t size) { (void) size; free(ptr); }
static void *peer_realloc(void *ptr, size_t old_size, size_t new_size) { (void) old_size; return realloc(ptr, new_size); }
static void peer_trim(void) { malloc_trim(0); }
static const char *PEER_NAME = "glibc";

static void *abi_alloc(size_t size) { return Platform_Alloc(size, PLATFORM_MEM_NORMAL); }
static void *abi_alloc_clear(size_t size) { return Platform_Alloc(size, PLATFORM_MEM_CLEAR); }
/* an "+insights" subject: each thread pushes its tag before its first allocation */
static _Thread_local int abi_tagged;
static inline void abi_tag(void) {
    if (__builtin_expect(!abi_tagged, 0)) {
        abi_tagged = Platform_Mem_PushTag("bench") > 0;
    }
}
static void *abi_alloc_tagged(size_t size) {
    abi_tag();
    return Platform_Alloc(size, PLATFORM_MEM_NORMAL);
}
static void *abi_alloc_clear_tagged(size_t size) {
    abi_tag();
    return Platform_Alloc(size, PLATFORM_MEM_CLEAR);
}
static void abi_free(void *ptr, size_t size) { Platform_Free(ptr, size); }
static void *abi_realloc(void *ptr, size_t old_size, size_t new_size) { return Platform_Realloc(ptr, old_size, new_size); }
static void abi_trim(void) { Platform_Mem_Trim(); }
#endif

static Subject subject;

/* ---- Clocks: wall time for throughput, a cycle counter for per-call samples ------------------------- */

static uint64_t wall_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

#if defined(__x86_64__)
static const char *TIMER_KIND = "rdtscp";
static inline uint64_t ticks(void) {
    unsigned aux;
    return __rdtscp(&aux);
}
#else
static const char *TIMER_KIND = "clock_gettime";
static inline uint64_t ticks(void) { return wall_ns(); }
#endif

static double ns_per_tick = 1.0;
static uint64_t timer_overhead_ticks;

/* Ticks to ns against the monotonic clock over 20 ms, and the cheapest empty interval (subtracted). */
static void calibrate_timer(void) {
    uint64_t w0 = wall_ns(), t0 = ticks();
    while (wall_ns() - w0 < 20000000u) {
    }
    uint64_t w1 = wall_ns(), t1 = ticks();
    ns_per_tick = (double) (w1 - w0) / (double) (t1 - t0);
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 100000; i++) {
        uint64_t a = ticks(), b = ticks();
        if (b - a < best) {
            best = b - a;
        }
    }
    timer_overhead_ticks = best;
}

/* ---- Per-thread state: a deterministic random stream, live-byte accounting, the sample buffer ------ */

typedef struct Context {
    uint64_t rng;
    uint64_t ops;
    size_t live, peak_live;
    uint32_t *samples; /* per-call latency, ns */
    size_t sample_count, sample_capacity;
    int sampling;
    int failed;
} Context;

static uint64_t next_random(Context *c) {
    uint64_t x = c->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 2685821657736338717ull;
}

static void context_init(Context *c, uint64_t seed, size_t sample_capacity) {
    memset(c, 0, sizeof *c);
    c->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    c->sample_capacity = sample_capacity;
    if (sample_capacity > 0) {
        c->samples = malloc(sample_capacity * sizeof *c->samples);
        if (c->samples == NULL) {
            fprintf(stderr, "pm_bench: no memory for %zu samples\n", sample_capacity);
            exit(2);
        }
    }
}

static void context_reset(Context *c, uint64_t seed, int sampling) {
    c->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    c->ops = 0;
    c->live = c->peak_live = 0;
    c->sample_count = 0;
    c->sampling = sampling;
}

static __attribute__((noinline)) void record(Context *c, uint64_t t0, uint64_t t1) {
    uint64_t d = t1 - t0;
    d = d > timer_overhead_ticks ? d - timer_overhead_ticks : 0;
    double ns = (double) d * ns_per_tick + 0.5;
    c->samples[c->sample_count++] = ns > 4e9 ? 4000000000u : (uint32_t) ns;
    if (c->sample_count == c->sample_capacity) {
        c->sampling = 0;
    }
}

/* The three calls every workload makes: counted, live bytes tracked, timed while sampling. */
static inline void *b_alloc(Context *c, size_t size) {
    void *p;
    if (c->sampling) {
        uint64_t t0 = ticks();
        p = subject.alloc(size);
        record(c, t0, ticks());
    } else {
        p = subject.alloc(size);
    }
    c->ops++;
    if (__builtin_expect(p == NULL, 0)) {
        c->failed = 1;
        return NULL;
    }
    c->live += size;
    if (c->live > c->peak_live) {
        c->peak_live = c->live;
    }
    return p;
}

static inline void b_free(Context *c, void *p, size_t size) {
    if (p == NULL) {
        return;
    }
    if (c->sampling) {
        uint64_t t0 = ticks();
        subject.free(p, size);
        record(c, t0, ticks());
    } else {
        subject.free(p, size);
    }
    c->ops++;
    c->live -= size;
}

static inline void *b_realloc(Context *c, void *p, size_t old_size, size_t new_size) {
    void *q;
    if (c->sampling) {
        uint64_t t0 = ticks();
        q = subject.realloc(p, old_size, new_size);
        record(c, t0, ticks());
    } else {
        q = subject.realloc(p, old_size, new_size);
    }
    c->ops++;
    if (__builtin_expect(q == NULL, 0)) {
        c->failed = 1;
        return p;
    }
    c->live = c->live - old_size + new_size;
    if (c->live > c->peak_live) {
        c->peak_live = c->live;
    }
    return q;
}

/* ---- Workloads ------------------------------------------------------------------------------------- */

typedef void (*WorkloadFn)(Context *c, uint64_t amount, size_t param);

/* Allocate size bytes, write the first byte, free: the pure cost of a pair. amount = pairs. */
static void run_pairs(Context *c, uint64_t amount, size_t size) {
    for (uint64_t i = 0; i < amount; i++) {
        unsigned char *p = b_alloc(c, size);
        if (p == NULL) {
            return;
        }
        p[0] = (unsigned char) i;
        b_free(c, p, size);
    }
}

/* A block resized back and forth between size and 3/4 of it, amount times (a warm-up of the resize path). */
static void run_resizes(Context *c, uint64_t amount, size_t size) {
    unsigned char *p = b_alloc(c, size);
    size_t now = size;
    for (uint64_t i = 0; i < amount && p != NULL; i++) {
        size_t next = now == size ? size / 4 * 3 : size;
        unsigned char *q = b_realloc(c, p, now, next);
        if (q == NULL) {
            break;
        }
        p = q;
        now = next;
        p[0] = (unsigned char) i;
    }
    if (p != NULL) {
        b_free(c, p, now);
    }
}

enum { MIX_OBJECTS = 16384, MIX_REPLACED = 256, MIX_TEMPS = 256, MIX_BUFFERS = 8 };

static size_t mix_object_size(Context *c) {
    uint64_t r = next_random(c);
    unsigned kind = (unsigned) (r % 100);
    r >>= 8;
    if (kind < 70) {
        return 16 + r % 113;    /* 16..128: units, nodes, strings */
    }
    if (kind < 95) {
        return 129 + r % 896;   /* 129..1024 */
    }
    return 1025 + r % 15360;    /* 1 KiB..16 KiB */
}

typedef struct Mix {
    void *objects[MIX_OBJECTS];
    size_t object_size[MIX_OBJECTS];
    void *buffers[MIX_BUFFERS];
    size_t buffer_size[MIX_BUFFERS];
    void *temps[MIX_TEMPS];
    size_t temp_size[MIX_TEMPS];
} Mix;

static void *fill_new(void *p, size_t size) {
    if (p != NULL) {
        memset(p, 0x5A, size);
    }
    return p;
}

/* A game frame loop, amount = frames: MIX_OBJECTS long-lived objects of which MIX_REPLACED random
 * ones die and are replaced each frame (so lifetimes vary geometrically), MIX_TEMPS per-frame
 * temporaries freed at the end of the frame in another order, and MIX_BUFFERS large buffers
 * (64 KiB..2 MiB) of which one is resized each frame. Every new byte is written, as a game does. */
static void run_frame_mix(Context *c, uint64_t amount, size_t unused) {
    (void) unused;
    Mix *m = calloc(1, sizeof *m);
    if (m == NULL) {
        c->failed = 1;
        return;
    }
    for (int i = 0; i < MIX_OBJECTS && !c->failed; i++) {
        m->object_size[i] = mix_object_size(c);
        m->objects[i] = fill_new(b_alloc(c, m->object_size[i]), m->object_size[i]);
    }
    for (int i = 0; i < MIX_BUFFERS && !c->failed; i++) {
        m->buffer_size[i] = 65536 + (size_t) (next_random(c) % (2u << 20));
        m->buffers[i] = fill_new(b_alloc(c, m->buffer_size[i]), m->buffer_size[i]);
    }
    for (uint64_t f = 0; f < amount && !c->failed; f++) {
        for (int i = 0; i < MIX_TEMPS; i++) {
            m->temp_size[i] = 16 + (size_t) (next_random(c) % 4081);
            m->temps[i] = fill_new(b_alloc(c, m->temp_size[i]), m->temp_size[i]);
        }
        for (int i = 0; i < MIX_REPLACED; i++) {
            size_t slot = (size_t) (next_random(c) % MIX_OBJECTS);
            b_free(c, m->objects[slot], m->object_size[slot]);
            m->object_size[slot] = mix_object_size(c);
            m->objects[slot] = fill_new(b_alloc(c, m->object_size[slot]), m->object_size[slot]);
        }
        size_t b = (size_t) (f % MIX_BUFFERS);
        size_t size = 65536 + (size_t) (next_random(c) % (2u << 20));
        unsigned char *q = b_realloc(c, m->buffers[b], m->buffer_size[b], size);
        if (c->failed) {
            break;
        }
        if (size > m->buffer_size[b]) {
            memset(q + m->buffer_size[b], 0x5A, size - m->buffer_size[b]);
        }
        m->buffers[b] = q;
        m->buffer_size[b] = size;
        for (int i = 0; i < MIX_TEMPS; i += 2) { /* evens, then odds: not a stack order */
            b_free(c, m->temps[i], m->temp_size[i]);
        }
        for (int i = 1; i < MIX_TEMPS; i += 2) {
            b_free(c, m->temps[i], m->temp_size[i]);
        }
    }
    for (int i = 0; i < MIX_OBJECTS; i++) {
        b_free(c, m->objects[i], m->object_size[i]);
    }
    for (int i = 0; i < MIX_BUFFERS; i++) {
        b_free(c, m->buffers[i], m->buffer_size[i]);
    }
    free(m);
}

enum { GROWING_VECTORS = 16 };

/* Vectors growing by half again from 16 B to beyond 256 KiB (writing each new tail), then freed and
 * started over, 16 of them interleaved so no block can always grow in place. amount = reallocs. */
static void run_realloc_growth(Context *c, uint64_t amount, size_t unused) {
    (void) unused;
    unsigned char *v[GROWING_VECTORS];
    size_t size[GROWING_VECTORS];
    for (int i = 0; i < GROWING_VECTORS; i++) {
        size[i] = 16;
        v[i] = fill_new(b_alloc(c, 16), 16);
    }
    for (uint64_t n = 0; n < amount && !c->failed; n++) {
        int i = (int) (n % GROWING_VECTORS);
        if (size[i] > (256u << 10)) {
            b_free(c, v[i], size[i]);
            size[i] = 16 + (size_t) (next_random(c) % 48);
            v[i] = fill_new(b_alloc(c, size[i]), size[i]);
            continue;
        }
        size_t grown = size[i] + size[i] / 2 + 16;
        unsigned char *q = b_realloc(c, v[i], size[i], grown);
        if (c->failed) {
            break;
        }
        memset(q + size[i], 0x5A, grown - size[i]);
        v[i] = q;
        size[i] = grown;
    }
    for (int i = 0; i < GROWING_VECTORS; i++) {
        b_free(c, v[i], size[i]);
    }
}

/* ---- Cross-thread frees: a producer allocates, a consumer frees, through a bounded ring ------------ */

enum { RING = 1024 };

typedef struct Handoff {
    _Atomic uint64_t head; /* written by the producer */
    char pad1[56];
    _Atomic uint64_t tail; /* written by the consumer */
    char pad2[56];
    void *ptr[RING];
    uint32_t size[RING];
    uint64_t amount;
    Context consumer;
} Handoff;

static void *consume(void *arg) {
    Handoff *h = arg;
    uint64_t tail = 0;
    for (uint64_t n = 0; n < h->amount; n++) {
        while (atomic_load_explicit(&h->head, memory_order_acquire) == tail) {
            sched_yield();
        }
        size_t slot = tail % RING;
        b_free(&h->consumer, h->ptr[slot], h->size[slot]);
        atomic_store_explicit(&h->tail, ++tail, memory_order_release);
    }
    return NULL;
}

/* amount = blocks handed over; ops count both sides' calls. param: a Handoff prepared by the caller. */
static void run_cross_thread(Context *c, uint64_t amount, size_t param) {
    Handoff *h = (Handoff *) (uintptr_t) param;
    atomic_store(&h->head, 0);
    atomic_store(&h->tail, 0);
    h->amount = amount;
    context_reset(&h->consumer, 99, c->sampling);
    pthread_t consumer;
    if (pthread_create(&consumer, NULL, consume, h) != 0) {
        c->failed = 1;
        return;
    }
    uint64_t head = 0;
    for (uint64_t n = 0; n < amount; n++) {
        while (head - atomic_load_explicit(&h->tail, memory_order_acquire) == RING) {
            sched_yield();
        }
        size_t size = 16 + (size_t) (next_random(c) % 1009);
        unsigned char *p = b_alloc(c, size);
        if (p != NULL) {
            p[0] = 1;
        }
        h->ptr[head % RING] = p;
        h->size[head % RING] = (uint32_t) size;
        atomic_store_explicit(&h->head, ++head, memory_order_release);
    }
    pthread_join(consumer, NULL);
    c->ops += h->consumer.ops;
}

/* ---- Trace replay (format: docs/trace-format.md) ------------------------------------------------ */

typedef struct TraceOp {
    char kind; /* 'a', 'f', 'r' */
    uint32_t id;
    size_t size;
} TraceOp;

typedef struct Trace {
    TraceOp *ops;
    size_t count;
    uint32_t max_id;
} Trace;

static Trace trace;

static int load_trace(const char *path) {
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        fprintf(stderr, "pm_bench: cannot open trace %s: %s\n", path, strerror(errno));
        return 0;
    }
    size_t capacity = 4096;
    trace.ops = malloc(capacity * sizeof *trace.ops);
    char line[256];
    int number = 0;
    while (trace.ops != NULL && fgets(line, sizeof line, in) != NULL) {
        number++;
        if (line[0] == '#' || line[0] == '\n' || line[0] == 'n') {
            continue;
        }
        TraceOp op = {0};
        unsigned long id = 0, size = 0;
        int fields = sscanf(line, "%c %lu %lu", &op.kind, &id, &size);
        int ok = (op.kind == 'f' && fields >= 2) || ((op.kind == 'a' || op.kind == 'r') && fields == 3 && size > 0);
        if (!ok || id > 10000000ul) {
            fprintf(stderr, "pm_bench: %s:%d: not a trace record: %s", path, number, line);
            fclose(in);
            return 0;
        }
        op.id = (uint32_t) id;
        op.size = size;
        if (op.id > trace.max_id) {
            trace.max_id = op.id;
        }
        if (trace.count == capacity) {
            capacity *= 2;
            trace.ops = realloc(trace.ops, capacity * sizeof *trace.ops);
            if (trace.ops == NULL) {
                break;
            }
        }
        trace.ops[trace.count++] = op;
    }
    fclose(in);
    if (trace.ops == NULL || trace.count == 0) {
        fprintf(stderr, "pm_bench: trace %s holds no records\n", path);
        return 0;
    }
    return 1;
}

/* Replays the trace amount times; blocks still live at the end of a replay are freed. Writes every
 * new byte, as the recorded program did. Frees of unknown ids are skipped (a trace may start late). */
static void run_trace(Context *c, uint64_t amount, size_t unused) {
    (void) unused;
    void **block = calloc((size_t) trace.max_id + 1, sizeof *block);
    size_t *size = calloc((size_t) trace.max_id + 1, sizeof *size);
    if (block == NULL || size == NULL) {
        c->failed = 1;
        free(block);
        free(size);
        return;
    }
    for (uint64_t round = 0; round < amount && !c->failed; round++) {
        for (size_t i = 0; i < trace.count && !c->failed; i++) {
            const TraceOp *op = &trace.ops[i];
            if (op->kind == 'a') {
                b_free(c, block[op->id], size[op->id]);
                block[op->id] = fill_new(b_alloc(c, op->size), op->size);
                size[op->id] = op->size;
            } else if (op->kind == 'f') {
                b_free(c, block[op->id], size[op->id]);
                block[op->id] = NULL;
            } else if (block[op->id] == NULL) {
                block[op->id] = fill_new(b_alloc(c, op->size), op->size);
                size[op->id] = op->size;
            } else {
                unsigned char *q = b_realloc(c, block[op->id], size[op->id], op->size);
                if (c->failed) {
                    break;
                }
                if (op->size > size[op->id]) {
                    memset(q + size[op->id], 0x5A, op->size - size[op->id]);
                }
                block[op->id] = q;
                size[op->id] = op->size;
            }
        }
        for (uint32_t id = 0; id <= trace.max_id; id++) {
            b_free(c, block[id], size[id]);
            block[id] = NULL;
        }
    }
    free(block);
    free(size);
}

/* ---- Running a workload on N threads and writing its records ------------------------------------- */

typedef struct Run {
    WorkloadFn fn;
    uint64_t amount;
    size_t param;
    Context context;
    pthread_barrier_t *start;
    pthread_t thread;
    uint64_t began, ended;
} Run;

/* Each thread times itself: the main thread may be scheduled late on a busy machine. */
static void *run_thread(void *arg) {
    Run *r = arg;
    pthread_barrier_wait(r->start);
    r->began = wall_ns();
    r->fn(&r->context, r->amount, r->param);
    r->ended = wall_ns();
    return NULL;
}

static FILE *out;
static int any_failed;
static size_t sample_target = 20000;

static size_t read_status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return 0;
    }
    char line[256];
    size_t value = 0, n = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, n) == 0) {
            value = (size_t) strtoull(line + n, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

static void reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f != NULL) {
        fputs("5", f); /* resets VmHWM to the current RSS */
        fclose(f);
    }
}

/* Runs fn on threads threads, each with its own random stream; returns wall ns. Samples, when on,
 * are shared evenly between threads. */
static uint64_t run_on_threads(Run *runs, int threads, WorkloadFn fn, uint64_t amount, size_t param, int sampling,
                               uint64_t *ops) {
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned) threads + 1);
    for (int t = 0; t < threads; t++) {
        runs[t].fn = fn;
        runs[t].amount = amount;
        runs[t].param = param;
        runs[t].start = &start;
        context_reset(&runs[t].context, 1000 + (uint64_t) t, sampling);
        if (sampling) {
            runs[t].context.sample_capacity = sample_target / (size_t) threads;
        }
        if (pthread_create(&runs[t].thread, NULL, run_thread, &runs[t]) != 0) {
            fprintf(stderr, "pm_bench: cannot start a thread\n");
            exit(2);
        }
    }
    pthread_barrier_wait(&start);
    uint64_t began = UINT64_MAX, ended = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(runs[t].thread, NULL);
        began = runs[t].began < began ? runs[t].began : began;
        ended = runs[t].ended > ended ? runs[t].ended : ended;
    }
    uint64_t elapsed = ended - began;
    pthread_barrier_destroy(&start);
    *ops = 0;
    for (int t = 0; t < threads; t++) {
        *ops += runs[t].context.ops;
        if (runs[t].context.failed) {
            any_failed = 1;
            fprintf(stderr, "pm_bench: %s: an allocation failed\n", subject.name);
        }
    }
    return elapsed;
}

/* One workload: warm-up (a tenth), optional memory pass, throughput pass, sampled latency pass. */
static void measure(const char *name, int threads, WorkloadFn fn, uint64_t amount, size_t param, int memory) {
    Run runs[64];
    for (int t = 0; t < threads; t++) {
        context_init(&runs[t].context, 0, sample_target);
    }
    uint64_t ops = 0;
    size_t peak_live = 0, growth = 0;
    if (memory) { /* this process is fresh: the first pass's RSS growth is the workload's own */
        reset_peak_rss();
        size_t before = read_status_kb("VmRSS:");
        run_on_threads(runs, threads, fn, amount, param, 0, &ops);
        size_t hwm = read_status_kb("VmHWM:");
        growth = hwm > before ? (hwm - before) * 1024 : 0;
        for (int t = 0; t < threads; t++) {
            peak_live += runs[t].context.peak_live;
        }
    } else {
        run_on_threads(runs, threads, fn, amount / 10 + 1, param, 0, &ops);
    }
    uint64_t elapsed = run_on_threads(runs, threads, fn, amount, param, 0, &ops);
    fprintf(out, "workload %s %d %llu %llu %zu %zu\n", name, threads, (unsigned long long) ops,
            (unsigned long long) elapsed, peak_live, growth);
    /* the sampled pass: a quarter of the workload again, every call timed until the buffers are full */
    run_on_threads(runs, threads, fn, amount / 4 + 1, param, 1, &ops);
    fprintf(out, "samples %s", name);
    for (int t = 0; t < threads; t++) {
        for (size_t i = 0; i < runs[t].context.sample_count; i++) {
            fprintf(out, " %u", runs[t].context.samples[i]);
        }
        free(runs[t].context.samples);
    }
    fputc('\n', out);
    fflush(out);
}

/* The first allocation on a thread that never called the subject before (attach cost for the JVM). */
typedef struct FirstCall {
    uint64_t ticks;
    int failed;
} FirstCall;

static void *first_call(void *arg) {
    FirstCall *f = arg;
    uint64_t t0 = ticks();
    void *p = subject.alloc(64);
    f->ticks = ticks() - t0;
    f->failed = p == NULL;
    subject.free(p, 64);
    return NULL;
}

static void measure_first_calls(int count) {
    fprintf(out, "workload first-call-thread 1 %d 0 0 0\nsamples first-call-thread", count);
    for (int i = 0; i < count; i++) {
        FirstCall f = {0, 0};
        pthread_t thread;
        if (pthread_create(&thread, NULL, first_call, &f) != 0) {
            exit(2);
        }
        pthread_join(thread, NULL);
        any_failed |= f.failed;
        fprintf(out, " %.0f", (double) f.ticks * ns_per_tick);
    }
    fputc('\n', out);
}

/* A new thread's first 100 calls: time from the thread's first instruction until its 100th call
 * returned (for the backends this includes attaching the thread to the JVM). */
typedef struct ShortThread {
    uint64_t seed;
    uint64_t ticks;
    int failed;
} ShortThread;

static void *hundred_calls(void *arg) {
    ShortThread *s = arg;
    uint64_t t0 = ticks();
    Context c; /* only its random stream: the calls go straight to the subject */
    c.rng = s->seed * 0x9E3779B97F4A7C15ull + 1;
    void *live[8] = {NULL};
    size_t size[8] = {0};
    /* 50 allocations of 16..512 bytes, up to 8 live at once, and 50 frees */
    for (int i = 0; i < 50; i++) {
        int slot = i % 8;
        if (live[slot] != NULL) {
            subject.free(live[slot], size[slot]);
        }
        size[slot] = 16 + (size_t) (next_random(&c) % 497);
        unsigned char *p = subject.alloc(size[slot]);
        if (p == NULL) {
            s->failed = 1;
        } else {
            p[0] = (unsigned char) i;
        }
        live[slot] = p;
    }
    for (int slot = 0; slot < 8; slot++) {
        subject.free(live[slot], size[slot]);
    }
    s->ticks = ticks() - t0;
    return NULL;
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

/* count threads one after another; the record's OPS/NANOS are 100 calls in the median thread's time,
 * so the throughput ratio to glibc is the ratio of the medians. */
static void measure_thread_100_calls(int count) {
    uint32_t *ns = malloc((size_t) count * sizeof *ns);
    uint32_t *sorted = malloc((size_t) count * sizeof *sorted);
    if (ns == NULL || sorted == NULL) {
        exit(2);
    }
    for (int i = 0; i < count; i++) {
        ShortThread s = {(uint64_t) i + 1, 0, 0};
        pthread_t thread;
        if (pthread_create(&thread, NULL, hundred_calls, &s) != 0) {
            exit(2);
        }
        pthread_join(thread, NULL);
        any_failed |= s.failed;
        double v = (double) s.ticks * ns_per_tick + 0.5;
        ns[i] = v > 4e9 ? 4000000000u : (uint32_t) v;
    }
    memcpy(sorted, ns, (size_t) count * sizeof *ns);
    qsort(sorted, (size_t) count, sizeof *sorted, compare_u32);
    fprintf(out, "workload thread-100-calls 1 100 %u 0 0\nsamples thread-100-calls", sorted[count / 2]);
    for (int i = 0; i < count; i++) {
        fprintf(out, " %u", ns[i]);
    }
    fputc('\n', out);
    free(ns);
    free(sorted);
}

/* ---- Server-style churn on four threads: requests of mixed sizes, responses freed by another thread -- */

enum { CHURN_THREADS = 4, CHURN_RING = 256 };

typedef struct ChurnInbox { /* one producer (the thread before), one consumer (the owner) */
    _Atomic uint64_t head;
    char pad1[56];
    _Atomic uint64_t tail;
    char pad2[56];
    void *ptr[CHURN_RING];
    uint32_t size[CHURN_RING];
} ChurnInbox;

typedef struct Churn {
    _Atomic uint64_t joined;   /* tickets: thread index and pass */
    _Atomic uint64_t finished; /* threads done with their requests, over every pass */
    ChurnInbox inbox[CHURN_THREADS];
} Churn;

/* Writes a new buffer as a server fills it: its first 256 bytes, one byte a page, its last byte. */
static void *touch(void *block, size_t size) {
    unsigned char *p = block;
    if (p != NULL) {
        memset(p, 0x5A, size < 256 ? size : 256);
        for (size_t i = 4096; i < size; i += 4096) {
            p[i] = 1;
        }
        p[size - 1] = 1;
    }
    return p;
}

static size_t body_size(Context *c) {
    uint64_t r = next_random(c);
    unsigned kind = (unsigned) (r % 100);
    r >>= 8;
    if (kind < 60) {
        return 512 + r % 3585;     /* 512 B..4 KiB */
    }
    if (kind < 95) {
        return 4097 + r % 28672;   /* 4..32 KiB */
    }
    return 32769 + r % 98304;      /* 32..128 KiB */
}

static int churn_drain(Context *c, ChurnInbox *in) {
    uint64_t tail = atomic_load_explicit(&in->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&in->head, memory_order_acquire);
    int n = 0;
    for (; tail != head; tail++, n++) {
        b_free(c, in->ptr[tail % CHURN_RING], in->size[tail % CHURN_RING]);
    }
    atomic_store_explicit(&in->tail, tail, memory_order_release);
    return n;
}

/* Hands a block to the next thread, draining this thread's own inbox while the next one's is full. */
static void churn_send(Context *c, ChurnInbox *to, ChurnInbox *mine, void *p, size_t size) {
    uint64_t head = atomic_load_explicit(&to->head, memory_order_relaxed);
    while (head - atomic_load_explicit(&to->tail, memory_order_acquire) == CHURN_RING) {
        if (churn_drain(c, mine) == 0) {
            sched_yield();
        }
    }
    to->ptr[head % CHURN_RING] = p;
    to->size[head % CHURN_RING] = (uint32_t) size;
    atomic_store_explicit(&to->head, head + 1, memory_order_release);
}

/* amount = requests per thread. A request: a header (64..512 B), four parsed fields (16..128 B), a
 * body (512 B..128 KiB, mostly small) and a response (256 B..16 KiB), all written; the fields and the
 * header are freed here, the response is handed to the next thread (which sends and frees it), and so
 * is the body of one request in four; the other bodies are freed here. param: a Churn. */
static void run_churn(Context *c, uint64_t amount, size_t param) {
    Churn *ch = (Churn *) (uintptr_t) param;
    uint64_t ticket = atomic_fetch_add(&ch->joined, 1);
    uint64_t pass = ticket / CHURN_THREADS;
    ChurnInbox *mine = &ch->inbox[ticket % CHURN_THREADS], *next = &ch->inbox[(ticket + 1) % CHURN_THREADS];
    for (uint64_t n = 0; n < amount && !c->failed; n++) {
        churn_drain(c, mine);
        size_t header_size = 64 + (size_t) (next_random(c) % 449);
        void *header = touch(b_alloc(c, header_size), header_size);
        void *field[4];
        size_t field_size[4];
        for (int i = 0; i < 4; i++) {
            field_size[i] = 16 + (size_t) (next_random(c) % 113);
            field[i] = touch(b_alloc(c, field_size[i]), field_size[i]);
        }
        size_t size = body_size(c);
        void *body = touch(b_alloc(c, size), size);
        size_t response_size = 256 + (size_t) (next_random(c) % 16129);
        void *response = touch(b_alloc(c, response_size), response_size);
        for (int i = 3; i >= 0; i--) {
            b_free(c, field[i], field_size[i]);
        }
        b_free(c, header, header_size);
        if (n % 4 == 3) {
            churn_send(c, next, mine, body, size);
        } else {
            b_free(c, body, size);
        }
        churn_send(c, next, mine, response, response_size);
    }
    atomic_fetch_add(&ch->finished, 1);
    while (atomic_load(&ch->finished) < (pass + 1) * CHURN_THREADS) { /* the others may still send */
        if (churn_drain(c, mine) == 0) {
            sched_yield();
        }
    }
    churn_drain(c, mine);
}

/* ---- Larson-style ownership passing on four threads: slots of blocks, handed on every round -------- */

enum { LARSON_THREADS = 4, LARSON_SLOTS = 8192, LARSON_STEPS = 4096 };

typedef struct LarsonSet {
    void *ptr[LARSON_SLOTS];
    uint32_t size[LARSON_SLOTS];
} LarsonSet;

typedef struct Larson {
    _Atomic uint64_t joined; /* tickets: thread index and pass */
    pthread_barrier_t round; /* the four threads between rounds, so that no set has two holders */
    LarsonSet set[LARSON_THREADS];
} Larson;

static size_t larson_size(Context *c) {
    return 8 + (size_t) (next_random(c) % 1017); /* 8 B..1 KiB */
}

static void *larson_new(Context *c, size_t size) {
    unsigned char *p = b_alloc(c, size);
    if (p != NULL) {
        p[0] = 1;
    }
    return p;
}

/* amount = steps per thread. Each thread fills a set of LARSON_SLOTS blocks (8 B..1 KiB, the first byte
 * written); then, round after round of LARSON_STEPS steps, it works on the set the thread before it held
 * in the round before: a step frees a random slot's block and allocates one of a new size in its place.
 * A round replaces about 40% of a set's blocks, so about four frees in five are of blocks another thread
 * allocated. Then each thread frees the set it holds. A failed allocation leaves its slot empty and
 * the thread goes on: the others wait for it at every round. param: a Larson, its barrier set to four. */
static void run_larson(Context *c, uint64_t amount, size_t param) {
    Larson *l = (Larson *) (uintptr_t) param;
    uint64_t me = atomic_fetch_add(&l->joined, 1) % LARSON_THREADS;
    LarsonSet *s = &l->set[me];
    for (int i = 0; i < LARSON_SLOTS; i++) {
        s->size[i] = (uint32_t) larson_size(c);
        s->ptr[i] = larson_new(c, s->size[i]);
    }
    uint64_t done = 0;
    for (uint64_t round = 1; done < amount; round++) {
        pthread_barrier_wait(&l->round);
        s = &l->set[(me + LARSON_THREADS - round % LARSON_THREADS) % LARSON_THREADS];
        uint64_t steps = amount - done < LARSON_STEPS ? amount - done : LARSON_STEPS;
        for (uint64_t k = 0; k < steps; k++) {
            size_t slot = (size_t) (next_random(c) % LARSON_SLOTS);
            b_free(c, s->ptr[slot], s->size[slot]);
            s->size[slot] = (uint32_t) larson_size(c);
            s->ptr[slot] = larson_new(c, s->size[slot]);
        }
        done += steps;
    }
    for (int i = 0; i < LARSON_SLOTS; i++) { /* every thread ran as many rounds: each set has one holder */
        b_free(c, s->ptr[i], s->size[i]);
        s->ptr[i] = NULL;
    }
}

/* ---- Producers and consumers: two threads allocate, two others free, through a bounded queue ------- */

enum { PC_THREADS = 4, PC_PRODUCERS = 2, PC_QUEUE = 4096, PC_BATCH = 64 };

typedef struct PcBlock {
    void *ptr;
    size_t size;
} PcBlock;

/* A ring under a mutex, with a condition variable for each side: a waiting thread sleeps instead of
 * spinning, which matters with four threads on fewer cores. The lock is taken once a batch. */
typedef struct ProducerConsumer {
    _Atomic uint64_t joined; /* tickets: role and pass */
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    uint64_t head, tail; /* blocks put and taken, over every pass */
    uint64_t finished;   /* producers done, over every pass */
    PcBlock queue[PC_QUEUE];
} ProducerConsumer;

static void pc_put(ProducerConsumer *q, const PcBlock *batch, size_t n) {
    pthread_mutex_lock(&q->lock);
    while (PC_QUEUE - (q->head - q->tail) < n) {
        pthread_cond_wait(&q->not_full, &q->lock);
    }
    for (size_t i = 0; i < n; i++) {
        q->queue[(q->head + i) % PC_QUEUE] = batch[i];
    }
    q->head += n;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

/* Takes up to PC_BATCH blocks; 0 once the queue is empty and finished has reached producers_done. */
static size_t pc_take(ProducerConsumer *q, PcBlock *batch, uint64_t producers_done) {
    pthread_mutex_lock(&q->lock);
    while (q->head == q->tail && q->finished < producers_done) {
        pthread_cond_wait(&q->not_empty, &q->lock);
    }
    size_t n = q->head - q->tail < PC_BATCH ? (size_t) (q->head - q->tail) : PC_BATCH;
    for (size_t i = 0; i < n; i++) {
        batch[i] = q->queue[(q->tail + i) % PC_QUEUE];
    }
    q->tail += n;
    if (n > 0) {
        pthread_cond_signal(&q->not_full);
    }
    if (q->head != q->tail) { /* more than a batch waits: the other consumer may take it */
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* amount = blocks per producer. The first two tickets of a pass produce: each allocates a batch of
 * PC_BATCH blocks (16..256 B, the first byte written), then puts it in the queue; the other two
 * consume: each takes up to a batch and frees it. So every free is of a block another thread allocated,
 * and the queue's costs stay outside the allocator's calls. param: a ProducerConsumer. */
static void run_producer_consumer(Context *c, uint64_t amount, size_t param) {
    ProducerConsumer *q = (ProducerConsumer *) (uintptr_t) param;
    uint64_t ticket = atomic_fetch_add(&q->joined, 1);
    PcBlock batch[PC_BATCH];
    if (ticket % PC_THREADS >= PC_PRODUCERS) {
        size_t n;
        while ((n = pc_take(q, batch, (ticket / PC_THREADS + 1) * PC_PRODUCERS)) > 0) {
            for (size_t i = 0; i < n; i++) {
                b_free(c, batch[i].ptr, batch[i].size);
            }
        }
        return;
    }
    for (uint64_t done = 0; done < amount;) {
        size_t n = amount - done < PC_BATCH ? (size_t) (amount - done) : PC_BATCH;
        for (size_t i = 0; i < n; i++) {
            batch[i].size = 16 + (size_t) (next_random(c) % 241);
            unsigned char *p = b_alloc(c, batch[i].size);
            if (p != NULL) {
                p[0] = 1;
            }
            batch[i].ptr = p;
        }
        pc_put(q, batch, n);
        done += n;
    }
    pthread_mutex_lock(&q->lock);
    q->finished++;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

/* ---- Alloc and free with millions of small blocks live ------------------------------------------- */

enum { LIVE_BATCH = 1000 };

/* One pass of churn over the live set: batches of LIVE_BATCH distinct random blocks (a partial
 * Fisher-Yates shuffle moves them to the end of the array) are freed, then as many 16-byte blocks are
 * allocated in their place; each loop is timed as a whole, so the clock costs nothing per call. */
static void live_churn(Context *allocs, Context *frees, void **blocks, uint64_t count, uint64_t amount,
                       uint64_t *alloc_ns, uint64_t *free_ns) {
    for (uint64_t done = 0; done < amount && !allocs->failed; done += LIVE_BATCH) {
        for (uint64_t k = 0; k < LIVE_BATCH; k++) {
            uint64_t r = next_random(frees) % (count - k), last = count - 1 - k;
            void *t = blocks[r];
            blocks[r] = blocks[last];
            blocks[last] = t;
        }
        uint64_t t0 = wall_ns();
        for (uint64_t k = count - LIVE_BATCH; k < count; k++) {
            b_free(frees, blocks[k], 16);
        }
        uint64_t t1 = wall_ns();
        for (uint64_t k = count - LIVE_BATCH; k < count; k++) {
            unsigned char *p = b_alloc(allocs, 16);
            if (p != NULL) {
                p[0] = (unsigned char) k;
            }
            blocks[k] = p;
        }
        uint64_t t2 = wall_ns();
        *free_ns += t1 - t0;
        *alloc_ns += t2 - t1;
    }
}

/* The records of a workload timed as two: LABEL-alloc (ops calls of allocs in alloc_ns) and LABEL-free,
 * each with its context's samples. */
static void report_alloc_free(const char *label, const Context *allocs, uint64_t alloc_ops, uint64_t alloc_ns,
                              const Context *frees, uint64_t free_ops, uint64_t free_ns) {
    const Context *contexts[2] = {allocs, frees};
    const char *what[2] = {"alloc", "free"};
    uint64_t ops[2] = {alloc_ops, free_ops}, ns[2] = {alloc_ns, free_ns};
    for (int k = 0; k < 2; k++) {
        fprintf(out, "workload %s-%s 1 %llu %llu 0 0\nsamples %s-%s", label, what[k], (unsigned long long) ops[k],
                (unsigned long long) ns[k], label, what[k]);
        for (size_t i = 0; i < contexts[k]->sample_count; i++) {
            fprintf(out, " %u", contexts[k]->samples[i]);
        }
        fputc('\n', out);
    }
}

/* A workload's name for count blocks: prefix-500k, prefix-5m. */
static void count_label(char *label, size_t capacity, const char *prefix, uint64_t count) {
    if (count % 1000000 == 0) {
        snprintf(label, capacity, "%s-%llum", prefix, (unsigned long long) (count / 1000000));
    } else {
        snprintf(label, capacity, "%s-%lluk", prefix, (unsigned long long) (count / 1000));
    }
}

/* count 16-byte blocks allocated (and written) first and kept live; then amount frees and as many
 * allocations among them, reported as two workloads: live-N-alloc and live-N-free. */
static void measure_live(uint64_t count, uint64_t amount) {
    char label[32];
    count_label(label, sizeof label, "live", count);
    void **blocks = malloc(count * sizeof *blocks);
    if (blocks == NULL || count <= LIVE_BATCH) {
        fprintf(stderr, "pm_bench: no room for %llu block pointers\n", (unsigned long long) count);
        exit(2);
    }
    Context allocs, frees;
    context_init(&allocs, 11, sample_target / 2);
    context_init(&frees, 12, sample_target / 2);
    for (uint64_t i = 0; i < count; i++) {
        blocks[i] = fill_new(b_alloc(&allocs, 16), 16);
    }
    uint64_t alloc_ns = 0, free_ns = 0;
    live_churn(&allocs, &frees, blocks, count, amount / 10, &alloc_ns, &free_ns); /* warm-up */
    allocs.ops = frees.ops = alloc_ns = free_ns = 0;
    live_churn(&allocs, &frees, blocks, count, amount, &alloc_ns, &free_ns);
    uint64_t alloc_ops = allocs.ops, free_ops = frees.ops;
    allocs.sampling = frees.sampling = 1;
    live_churn(&allocs, &frees, blocks, count, amount / 4, &alloc_ns, &free_ns);
    report_alloc_free(label, &allocs, alloc_ops, alloc_ns, &frees, free_ops, free_ns);
    if (allocs.failed) {
        any_failed = 1;
        fprintf(stderr, "pm_bench: %s: an allocation failed\n", subject.name);
    }
    allocs.sampling = 0;
    for (uint64_t i = 0; i < count; i++) {
        b_free(&allocs, blocks[i], 16);
    }
    free(blocks);
    free(allocs.samples);
    free(frees.samples);
}

/* ---- A level's unload: millions of small blocks allocated, then all freed in a scattered order ----- */

/* Allocates count 16-byte blocks (the first byte written) into blocks, shuffles them (Fisher-Yates on
 * frees' random stream, not timed), then frees them all in that order; each of the two loops is timed as
 * a whole. With sample_every above 0, every sample_every-th call of each loop is timed on its own, so
 * that the samples span the whole pass, not only its start. */
static void mass_pass(Context *allocs, Context *frees, void **blocks, uint64_t count, uint64_t sample_every,
                      uint64_t *alloc_ns, uint64_t *free_ns) {
    uint64_t t0 = wall_ns();
    for (uint64_t i = 0; i < count; i++) {
        if (sample_every > 0) {
            allocs->sampling = i % sample_every == 0 && allocs->sample_count < allocs->sample_capacity;
        }
        unsigned char *p = b_alloc(allocs, 16);
        if (p != NULL) {
            p[0] = (unsigned char) i;
        }
        blocks[i] = p;
    }
    uint64_t t1 = wall_ns();
    for (uint64_t i = count - 1; i > 0; i--) {
        uint64_t j = next_random(frees) % (i + 1);
        void *t = blocks[i];
        blocks[i] = blocks[j];
        blocks[j] = t;
    }
    uint64_t t2 = wall_ns();
    for (uint64_t i = 0; i < count; i++) {
        if (sample_every > 0) {
            frees->sampling = i % sample_every == 0 && frees->sample_count < frees->sample_capacity;
        }
        b_free(frees, blocks[i], 16);
    }
    uint64_t t3 = wall_ns();
    allocs->sampling = frees->sampling = 0;
    *alloc_ns = t1 - t0;
    *free_ns = t3 - t2;
}

/* count 16-byte blocks allocated one after another, all live at once, then all freed in a shuffled
 * order, reported as two workloads: mass-N-alloc and mass-N-free. The pointers live in an array of this
 * process's malloc, not the subject's. A warm-up pass of a tenth, the timed pass, then a sampled pass of
 * the same size; every pass starts from the same random seed, so the free order is the same each time. */
static void measure_mass(uint64_t count) {
    char label[32];
    count_label(label, sizeof label, "mass", count);
    void **blocks = malloc(count * sizeof *blocks);
    if (blocks == NULL || count < 10) {
        fprintf(stderr, "pm_bench: no room for %llu block pointers\n", (unsigned long long) count);
        exit(2);
    }
    Context allocs, frees;
    context_init(&allocs, 21, sample_target / 2);
    context_init(&frees, 22, sample_target / 2);
    uint64_t alloc_ns = 0, free_ns = 0, sampled_alloc_ns, sampled_free_ns;
    mass_pass(&allocs, &frees, blocks, count / 10, 0, &alloc_ns, &free_ns); /* warm-up */
    context_reset(&allocs, 21, 0);
    context_reset(&frees, 22, 0);
    mass_pass(&allocs, &frees, blocks, count, 0, &alloc_ns, &free_ns);
    uint64_t alloc_ops = allocs.ops, free_ops = frees.ops;
    context_reset(&frees, 22, 0);
    uint64_t every = count > allocs.sample_capacity ? count / allocs.sample_capacity : 1;
    mass_pass(&allocs, &frees, blocks, count, every, &sampled_alloc_ns, &sampled_free_ns);
    report_alloc_free(label, &allocs, alloc_ops, alloc_ns, &frees, free_ops, free_ns);
    fflush(out);
    if (allocs.failed) {
        any_failed = 1;
        fprintf(stderr, "pm_bench: %s: an allocation failed\n", subject.name);
    }
    free(blocks);
    free(allocs.samples);
    free(frees.samples);
}

/* ---- A big pool: one 512 MiB block, its resident pages after the allocation and after half is written -- */

#define BIG_BLOCK_BYTES ((size_t) 512 << 20)

typedef struct BigBlock {
    const char *name;
    unsigned char *ptr;
    uint64_t alloc_ns, free_ns;
    size_t after_alloc, after_touch; /* resident bytes */
} BigBlock;

/* The block's resident pages in bytes (mincore over every page it spans; vec: a byte a page). */
static size_t resident_bytes(const void *block, size_t size, unsigned char *vec) {
    uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t) block & ~(page - 1);
    uintptr_t end = ((uintptr_t) block + size + page - 1) & ~(page - 1);
    if (mincore((void *) start, end - start, vec) != 0) {
        fprintf(stderr, "pm_bench: mincore: %s\n", strerror(errno));
        any_failed = 1;
        return 0;
    }
    size_t resident = 0;
    for (uintptr_t i = 0; i < (end - start) / page; i++) {
        resident += vec[i] & 1;
    }
    return resident * page;
}

/* Allocates the block through alloc, the call alone timed, and writes a byte in every page of its first
 * half (a level filling part of its pool), reading the block's resident pages after each; a cleared block
 * must read zero in every page it writes. */
static void big_block(BigBlock *b, void *(*alloc)(size_t size), int cleared, unsigned char *vec) {
    uint64_t t0 = wall_ns();
    b->ptr = alloc(BIG_BLOCK_BYTES);
    b->alloc_ns = wall_ns() - t0;
    if (b->ptr == NULL) {
        fprintf(stderr, "pm_bench: %s: %s: the allocation failed\n", subject.name, b->name);
        any_failed = 1;
        return;
    }
    b->after_alloc = resident_bytes(b->ptr, BIG_BLOCK_BYTES, vec);
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < BIG_BLOCK_BYTES / 2; i += page) {
        if (cleared && b->ptr[i] != 0) {
            fprintf(stderr, "pm_bench: %s: %s: byte %zu is not zero\n", subject.name, b->name, i);
            any_failed = 1;
            break;
        }
        b->ptr[i] = 1;
    }
    b->after_touch = resident_bytes(b->ptr, BIG_BLOCK_BYTES, vec);
}

/* big-block-512m through the subject's allocation, big-block-512m-clear through its zeroing one, the
 * second allocated while the first is still live (so that it cannot be given the first one's pages);
 * then both freed, each free timed. */
static void measure_big_blocks(void) {
    unsigned char *vec = malloc(BIG_BLOCK_BYTES / (size_t) sysconf(_SC_PAGESIZE) + 2);
    if (vec == NULL) {
        fprintf(stderr, "pm_bench: no memory for mincore's vector\n");
        exit(2);
    }
    BigBlock blocks[2] = {{.name = "big-block-512m"}, {.name = "big-block-512m-clear"}};
    big_block(&blocks[0], subject.alloc, 0, vec);
    big_block(&blocks[1], subject.alloc_clear, 1, vec);
    for (int i = 0; i < 2; i++) {
        if (blocks[i].ptr == NULL) {
            continue;
        }
        uint64_t t0 = wall_ns();
        subject.free(blocks[i].ptr, BIG_BLOCK_BYTES);
        blocks[i].free_ns = wall_ns() - t0;
        fprintf(out, "block %s %zu %llu %zu %zu %llu\n", blocks[i].name, BIG_BLOCK_BYTES,
                (unsigned long long) blocks[i].alloc_ns, blocks[i].after_alloc, blocks[i].after_touch,
                (unsigned long long) blocks[i].free_ns);
    }
    free(vec);
}

/* ---- main ------------------------------------------------------------------------------------------ */

/* The memory records (kB figures from /proc/self/status, written as bytes added since main began): after
 * the subject's first call, now, and after the subject's trim. */
static void memory_points(size_t rss_at_main, size_t anon_at_main, size_t rss_at_start, size_t anon_at_start) {
    long long rss0 = (long long) rss_at_main, anon0 = (long long) anon_at_main;
    fprintf(out, "memory start %lld %lld\nmemory end %lld %lld\n", ((long long) rss_at_start - rss0) * 1024,
            ((long long) anon_at_start - anon0) * 1024, ((long long) read_status_kb("VmRSS:") - rss0) * 1024,
            ((long long) read_status_kb("RssAnon:") - anon0) * 1024);
    subject.trim();
    fprintf(out, "memory trimmed %lld %lld\n", ((long long) read_status_kb("VmRSS:") - rss0) * 1024,
            ((long long) read_status_kb("RssAnon:") - anon0) * 1024);
}

static void usage(void) {
    fprintf(stderr, "usage: pm_bench --subject NAME --out FILE [--workloads speed|frame-mix|realloc-growth|"
                    "trace-replay|big-block|mass] [--scale N] [--samples N] [--max-threads N] [--trace FILE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *name = NULL, *out_path = NULL, *workloads = "speed", *trace_path = NULL;
    uint64_t scale = 1;
    int max_threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) {
            usage();
        }
        if (strcmp(argv[i], "--subject") == 0) {
            name = value;
        } else if (strcmp(argv[i], "--out") == 0) {
            out_path = value;
        } else if (strcmp(argv[i], "--workloads") == 0) {
            workloads = value;
        } else if (strcmp(argv[i], "--trace") == 0) {
            trace_path = value;
        } else if (strcmp(argv[i], "--scale") == 0) {
            scale = strtoull(value, NULL, 10);
        } else if (strcmp(argv[i], "--samples") == 0) {
            sample_target = (size_t) strtoull(value, NULL, 10);
        } else if (strcmp(argv[i], "--max-threads") == 0) {
            max_threads = atoi(value);
        } else {
            usage();
        }
        i++;
    }
    if (name == NULL || out_path == NULL || scale == 0 || sample_target < 100 || max_threads < 1 || max_threads > 64) {
        usage();
    }
    size_t rss_at_main = read_status_kb("VmRSS:"), anon_at_main = read_status_kb("RssAnon:");
    uint64_t start_t0 = wall_ns();
    if (strcmp(name, PEER_NAME) == 0) {
        subject = (Subject) {PEER_NAME, peer_alloc, peer_alloc_clear, peer_free, peer_realloc, peer_trim};
    } else {
#if defined(PM_BENCH_JEMALLOC) || defined(PM_BENCH_MIMALLOC)
        fprintf(stderr, "pm_bench: this binary measures %s only, not '%s'\n", PEER_NAME, name);
        return 2;
#else
        char backend[96], options[512];
        int insights = pm_insights_subject(name, backend, sizeof backend);
        pm_subject_options(name, backend, options, sizeof options);
        if (Platform_Mem_Init(options) != 0) {
            fprintf(stderr, "pm_bench: backend %s: %s\n", backend, Platform_Mem_LastError());
            return 3;
        }
        subject = (Subject) {name, insights ? abi_alloc_tagged : abi_alloc,
                             insights ? abi_alloc_clear_tagged : abi_alloc_clear, abi_free, abi_realloc, abi_trim};
        if (insights) {
            pm_insights_start();
        }
#endif
    }
    void *first = subject.alloc(64); /* start-up: the layer's start (the JVM) and its first call */
    uint64_t start_ns = wall_ns() - start_t0;
    size_t rss_at_start = read_status_kb("VmRSS:"), anon_at_start = read_status_kb("RssAnon:");
    subject.free(first, 64);
#if defined(PM_BENCH_JEMALLOC)
    const char *version = NULL;
    size_t length = sizeof version;
    if (mallctl("version", &version, &length, NULL, 0) != 0 || version == NULL) {
        fprintf(stderr, "pm_bench: jemalloc is not the allocator of this process\n");
        return 3;
    }
#endif
    if (trace_path != NULL && !load_trace(trace_path)) {
        return 2;
    }
    out = fopen(out_path, "w");
    if (out == NULL) {
        fprintf(stderr, "pm_bench: cannot write %s: %s\n", out_path, strerror(errno));
        return 2;
    }
    calibrate_timer();
    fprintf(out, "pm-bench 1\nsubject %s\ntimer %s %.1f\n", subject.name, TIMER_KIND,
            (double) timer_overhead_ticks * ns_per_tick);

    /* warm the call path (JIT of the upcall path for the backends) before anything is measured */
    Context warm;
    context_init(&warm, 7, 0);
    run_pairs(&warm, 20000 * scale, 64);
    run_pairs(&warm, 5000 * scale, 256);
    /* and the path of blocks too large for the shim's caches (above 1 MiB: through the JVM), pairs and
     * resizes: without them, pair-1m and frame-mix's buffers measured the JIT's first compilations there */
    run_pairs(&warm, 2000 * scale, 2u << 20);
    run_resizes(&warm, 2000 * scale, 2u << 20);

    if (strcmp(workloads, "speed") == 0) {
        static const struct { const char *name; size_t size; uint64_t pairs; } pairs[] = {
            {"pair-16", 16, 200000}, {"pair-64", 64, 200000}, {"pair-256", 256, 200000},
            {"pair-4k", 4096, 100000}, {"pair-64k", 65536, 20000}, {"pair-1m", 1u << 20, 2000},
        };
        for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
            measure(pairs[i].name, 1, run_pairs, pairs[i].pairs * scale, pairs[i].size, 0);
        }
        Handoff *h = calloc(1, sizeof *h);
        context_init(&h->consumer, 99, sample_target / 2);
        measure("cross-thread", 1, run_cross_thread, 50000 * scale, (size_t) (uintptr_t) h, 0);
        /* the consumer's frees of blocks another thread allocated, sampled: latency only */
        fprintf(out, "workload cross-thread-free 1 0 0 0 0\nsamples cross-thread-free");
        for (size_t i = 0; i < h->consumer.sample_count; i++) {
            fprintf(out, " %u", h->consumer.samples[i]);
        }
        fputc('\n', out);
        for (int threads = 2; threads <= max_threads; threads *= 2) {
            char label[64];
            snprintf(label, sizeof label, "pair-64-%dt", threads);
            measure(label, threads, run_pairs, 200000 * scale, 64, 0);
            snprintf(label, sizeof label, "frame-mix-%dt", threads);
            measure(label, threads, run_frame_mix, 40 * scale, 0, 0);
        }
        measure_first_calls(8);
        fprintf(out, "workload start 1 1 %llu 0 0\nsamples start %llu\n", (unsigned long long) start_ns,
                (unsigned long long) start_ns);
        measure_thread_100_calls(scale >= 5 ? 1000 : 200);
        Churn *churn = calloc(1, sizeof *churn);
        measure("churn-4t", CHURN_THREADS, run_churn, 3000 * scale, (size_t) (uintptr_t) churn, 0);
        free(churn);
        measure_live(500000 * scale, 50000 * (scale + 1)); /* the live set grows with scale, the churn less */
        Larson *larson = calloc(1, sizeof *larson);
        pthread_barrier_init(&larson->round, NULL, LARSON_THREADS);
        measure("larson-4t", LARSON_THREADS, run_larson, 100000 * scale, (size_t) (uintptr_t) larson, 0);
        pthread_barrier_destroy(&larson->round);
        free(larson);
        ProducerConsumer *pc = calloc(1, sizeof *pc);
        pthread_mutex_init(&pc->lock, NULL);
        pthread_cond_init(&pc->not_empty, NULL);
        pthread_cond_init(&pc->not_full, NULL);
        measure("producer-consumer-4t", PC_THREADS, run_producer_consumer, 100000 * scale, (size_t) (uintptr_t) pc, 0);
        pthread_cond_destroy(&pc->not_full);
        pthread_cond_destroy(&pc->not_empty);
        pthread_mutex_destroy(&pc->lock);
        free(pc);
        measure_mass(500000 * scale); /* 5 million at scale 10 */
        memory_points(rss_at_main, anon_at_main, rss_at_start, anon_at_start);
    } else if (strcmp(workloads, "frame-mix") == 0) {
        measure("frame-mix", 1, run_frame_mix, 80 * scale, 0, 1);
    } else if (strcmp(workloads, "realloc-growth") == 0) {
        measure("realloc-growth", 1, run_realloc_growth, 20000 * scale, 0, 1);
    } else if (strcmp(workloads, "big-block") == 0) {
        measure_big_blocks();
    } else if (strcmp(workloads, "mass") == 0) {
        measure_mass(500000 * scale); /* the speed run's mass-N workloads alone */
        memory_points(rss_at_main, anon_at_main, rss_at_start, anon_at_start);
    } else if (strcmp(workloads, "trace-replay") == 0) {
        if (trace_path == NULL) {
            fprintf(stderr, "pm_bench: trace-replay needs --trace FILE\n");
            return 2;
        }
        measure("trace-replay", 1, run_trace, 4 * scale, 0, 1);
    } else {
        usage();
    }
    fprintf(out, "%s\n", any_failed ? "failed" : "end");
    fclose(out);
#if !defined(PM_BENCH_JEMALLOC) && !defined(PM_BENCH_MIMALLOC)
    if (subject.alloc == abi_alloc) {
        Platform_Mem_Shutdown();
    }
#endif
    return any_failed ? 1 : 0;
}
