/*
 * The C ABI from a C host: this program links libplatform_memory.so, which starts the JVM itself.
 *
 *   test_abi abi BACKEND     every seed function and extension, the bad-input matrix, foreign threads
 *   test_abi no-jdk          JAVA_HOME unset: calls fail cleanly with a message, the process goes on
 *   test_abi old-jdk N       JAVA_HOME points at a JDK N below the minimum: a message naming N and the minimum
 *   test_abi no-jars         no Java classes where the library looks: a clear message
 *   test_abi bad-backend     PLATFORM_MEMORY_OPTIONS names an unknown backend: the list of backends,
 *                            then a good Platform_Mem_Init works in the same process
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
#include <unistd.h>

#include "check.h"

/* ---- helpers -------------------------------------------------------------------------------------- */

static atomic_int last_code;
static atomic_int error_count;
static void *_Atomic last_ptr;

static void on_error(int code, const char *message, void *ptr) {
    atomic_store(&last_code, code);
    atomic_fetch_add(&error_count, 1);
    atomic_store(&last_ptr, ptr);
    if (message == NULL || message[0] == '\0') {
        fprintf(stderr, "error %d came without a message\n", code);
        failed++;
    }
}

static void fill(void *p, size_t n, unsigned seed) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        b[i] = (unsigned char) (seed * 31u + i * 7u);
    }
}

static int holds(const void *p, size_t n, unsigned seed) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != (unsigned char) (seed * 31u + i * 7u)) {
            return 0;
        }
    }
    return 1;
}

static int all_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e9 + (double) t.tv_nsec;
}

/* Runs f with stderr sent to a file; returns what it wrote (static buffer). */
static const char *capture_stderr(void (*f)(void)) {
    static char text[65536];
    char path[] = "/tmp/pm_stderr_XXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    f();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, text, sizeof text - 1);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return text;
}

static size_t leaks_reported;
static void dump_leaks(void) {
    leaks_reported = Platform_Mem_DumpLeaks();
}

/* ---- the scenarios -------------------------------------------------------------------------------- */

static void seed_functions(void) {
    PlatformMemStats before, after;
    Platform_Mem_GetStats(&before);

    CHECK(Platform_Alloc(0, 0) == NULL, "size 0 returns NULL");
    Platform_Free(NULL, 0);
    Platform_Free(NULL, 64);

    unsigned char *a = Platform_Alloc(100, PLATFORM_MEM_NORMAL);
    CHECK(a != NULL && ((uintptr_t) a & 15) == 0, "16-byte aligned block");
    fill(a, 100, 1);
    unsigned char *z = Platform_Alloc(5000, PLATFORM_MEM_CLEAR | PLATFORM_MEM_TEMP);
    CHECK(z != NULL && all_zero(z, 5000), "MEM_CLEAR (0x02) zeroes");
    CHECK(Platform_Mem_GetAllocated() == before.live_bytes + 5100, "live bytes %zu", Platform_Mem_GetAllocated());
    CHECK(Platform_Mem_GetCount() == before.live_blocks + 2, "live blocks");
    CHECK(Platform_Mem_GetPeak() >= before.live_bytes + 5100, "peak");

    a = Platform_Realloc(a, 100, 100000);
    CHECK(a != NULL && holds(a, 100, 1), "realloc grows and keeps contents");
    a = Platform_Realloc(a, 0, 50);
    CHECK(a != NULL && holds(a, 50, 1), "realloc with size 0 = unknown shrinks and keeps contents");
    CHECK(Platform_Mem_Size(a) == 50, "Platform_Mem_Size %zu", Platform_Mem_Size(a));
    void *fresh = Platform_Realloc(NULL, 0, 77);
    CHECK(fresh != NULL && Platform_Mem_Size(fresh) == 77, "realloc(NULL) allocates");
    CHECK(Platform_Realloc(fresh, 0, 0) == NULL, "realloc to 0 frees");
    CHECK(Platform_Mem_Size(fresh) == 0, "freed block has no size");

    Platform_Free(a, 50);
    Platform_Free(z, 0);
    Platform_Mem_GetStats(&after);
    CHECK(after.live_bytes == before.live_bytes && after.live_blocks == before.live_blocks, "all freed");
    CHECK(after.allocations == before.allocations + 3, "allocations %llu", (unsigned long long) after.allocations);
    CHECK(after.frees == before.frees + 3, "frees");
    CHECK(after.reallocations == before.reallocations + 2, "reallocations");
    CHECK(after.caller_errors == before.caller_errors, "no caller errors");
    CHECK(Platform_Ram_Free() > 0 && Platform_Ram_Free() <= Platform_Total_Ram_Free(), "RAM figures");
    CHECK(Platform_Total_Ram_Free() > (size_t) 64 << 20, "total RAM %zu", Platform_Total_Ram_Free());

    char src[64], dst[64];
    for (int i = 0; i < 64; i++) {
        src[i] = (char) i;
    }
    CHECK(Platform_MemCopy(dst, src, 64) == dst && memcmp(dst, src, 64) == 0, "MemCopy");
    CHECK(Platform_MemMove(dst + 1, dst, 32) == dst + 1 && dst[1] == 0 && dst[32] == 31, "MemMove overlaps");
    CHECK(Platform_MemSet(dst, 0xAB, 64) == dst && (unsigned char) dst[63] == 0xAB, "MemSet");
    CHECK(Platform_MemCmp(dst, src, 64) > 0 && Platform_MemCmp(src, dst, 64) < 0, "MemCmp sign");
    CHECK(Platform_MemCmp(NULL, NULL, 0) == 0, "MemCmp of nothing");
    Platform_ZeroMemory(dst, 64);
    CHECK(all_zero(dst, 64), "ZeroMemory");
    Platform_ZeroMemory(NULL, 0);
    CHECK(Platform_MemCopy(NULL, NULL, 0) == NULL, "MemCopy of nothing");
}

static void extensions(const char *backend) {
    CHECK(strcmp(Platform_Mem_Backend(), backend) == 0, "backend '%s'", Platform_Mem_Backend());
    for (size_t align = 1; align <= ((size_t) 1 << 20); align <<= 1) {
        void *p = Platform_AllocAligned(100, align, PLATFORM_MEM_CLEAR);
        CHECK(p != NULL && ((uintptr_t) p % (align < 16 ? 16 : align)) == 0 && all_zero(p, 100), "aligned %zu", align);
        Platform_Free(p, 0);
    }
    void *d = Platform_Alloc_Dbg(32, 0, "unit.c", 7);
    CHECK(d != NULL && Platform_Mem_Size(d) == 32, "Alloc_Dbg");
    Platform_Free(d, 32);

    PlatformHeap level = Platform_HeapCreate();
    PlatformHeap ui = Platform_HeapCreate();
    CHECK(level != NULL && ui != NULL && level != ui, "two heaps");
    void *blocks[300];
    for (int i = 0; i < 300; i++) {
        blocks[i] = Platform_HeapAlloc(level, 16 + (size_t) i * 13, i % 2 ? PLATFORM_MEM_CLEAR : 0);
        CHECK(blocks[i] != NULL, "heap block %d", i);
    }
    void *kept = Platform_HeapAlloc(ui, 4000, 0);
    fill(kept, 4000, 9);
    CHECK(Platform_HeapFree(level, blocks[0]) == 1, "HeapFree");
    CHECK(Platform_HeapFree(ui, blocks[1]) == 0, "HeapFree of another heap's block is refused");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_POINTER, "code %d", atomic_load(&last_code));
    blocks[2] = Platform_Realloc(blocks[2], 0, 100000);
    CHECK(blocks[2] != NULL, "heap block realloc");
    size_t live = Platform_Mem_GetCount();
    Platform_HeapDestroy(level);
    CHECK(Platform_Mem_GetCount() == live - 299, "destroy freed the heap's 299 blocks: %zu", Platform_Mem_GetCount());
    CHECK(Platform_Mem_Size(blocks[5]) == 0 && holds(kept, 4000, 9), "heap gone, other heap intact");
    Platform_HeapDestroy(level);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_HEAP, "destroying twice");
    CHECK(Platform_HeapAlloc(level, 10, 0) == NULL, "alloc in a destroyed heap");
    CHECK(Platform_HeapAlloc((PlatformHeap) (intptr_t) 0x7fff12345678, 10, 0) == NULL, "alloc in a bogus heap");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_HEAP, "bogus heap code %d", atomic_load(&last_code));
    Platform_HeapDestroy(ui);
    CHECK(Platform_Mem_Size(kept) == 0, "second heap destroyed");
}

/* A block of libc's that the layer never handed out, taken before the layer's first call: with the system
 * backend the layer frees to the same libc, and libc may hand a just-freed address straight back, which the
 * layer then tells (rightly, from what it saw) as a double free of its own block. */
static void *libc_block;

static void bad_input(void) {
    void *canaries[8];
    for (unsigned i = 0; i < 8; i++) {
        canaries[i] = Platform_Alloc((size_t) 16 << i, 0);
        fill(canaries[i], (size_t) 16 << i, 100 + i);
    }
    PlatformMemStats before;
    Platform_Mem_GetStats(&before);
    int errors = atomic_load(&error_count);

    void *p = Platform_Alloc(64, 0);
    Platform_Free(p, 0);
    Platform_Free(p, 0);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_DOUBLE_FREE, "double free: %d", atomic_load(&last_code));
    CHECK(strstr(Platform_Mem_LastError(), "already freed") != NULL, "message: %s", Platform_Mem_LastError());

    int on_stack;
    Platform_Free(&on_stack, 0);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_POINTER, "stack pointer");
    void *libc = libc_block;
    Platform_Free(libc, 32);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_POINTER, "malloc'd pointer");
    CHECK(atomic_load(&last_ptr) == libc, "the handler gets the pointer");
    Platform_Free((void *) (uintptr_t) 0x7f00deadbee0, 0);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INVALID_POINTER, "unmapped pointer");

    Platform_Free((char *) canaries[5] + 48, 0);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_INTERIOR_POINTER, "interior pointer");

    CHECK(Platform_Alloc(SIZE_MAX, 0) == NULL, "SIZE_MAX");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_SIZE_OVERFLOW, "SIZE_MAX code %d", atomic_load(&last_code));
    CHECK(Platform_Alloc(SIZE_MAX - 15, PLATFORM_MEM_CLEAR) == NULL, "SIZE_MAX - 15");
    CHECK(Platform_AllocAligned(64, 48, 0) == NULL, "alignment 48");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_BAD_ALIGNMENT, "alignment code");

    void *q = Platform_Alloc(256, 0);
    fill(q, 256, 5);
    CHECK(Platform_Realloc(q, 0, SIZE_MAX) == NULL, "realloc to SIZE_MAX fails");
    CHECK(holds(q, 256, 5) && Platform_Mem_Size(q) == 256, "the old block is intact after a failed realloc");
    Platform_Free(q, 300);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_SIZE_MISMATCH, "size mismatch");
    CHECK(Platform_Mem_Size(q) == 0, "freed with the recorded size");
    CHECK(Platform_Realloc(q, 0, 512) == NULL, "realloc of a freed block");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_REALLOC_FREED, "realloc freed code %d", atomic_load(&last_code));
    CHECK(Platform_Mem_Size(&on_stack) == 0, "size of a foreign pointer is 0");

    PlatformMemStats after;
    Platform_Mem_GetStats(&after);
    CHECK(after.caller_errors == before.caller_errors + 11, "caller errors %llu -> %llu",
          (unsigned long long) before.caller_errors, (unsigned long long) after.caller_errors);
    CHECK(atomic_load(&error_count) >= errors + 11, "the handler saw each");
    CHECK(after.live_bytes == before.live_bytes && after.live_blocks == before.live_blocks, "nothing lost");
    for (unsigned i = 0; i < 8; i++) {
        CHECK(holds(canaries[i], (size_t) 16 << i, 100 + i), "canary %u intact", i);
        Platform_Free(canaries[i], 0);
    }
}

/* ---- threads the JVM never saw -------------------------------------------------------------------- */

enum { THREADS = 4, ROUNDS = 20000 };
static void *_Atomic handoff[THREADS * 64];
static double first_call_ns[THREADS];

static void *worker(void *arg) {
    int id = (int) (intptr_t) arg;
    double t0 = now_ns();
    void *first = Platform_Alloc(64, 0);
    first_call_ns[id] = now_ns() - t0;
    Platform_Free(first, 64);
    void *mine[32] = {0};
    size_t sizes[32] = {0};
    unsigned seed = (unsigned) id * 7919u;
    int bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int slot = i & 31;
        if (mine[slot] != NULL) {
            if (!holds(mine[slot], sizes[slot], (unsigned) slot + seed)) {
                bad++;
            }
            /* every fourth block is handed to another thread to free */
            if ((i & 3) == 0) {
                void *old = atomic_exchange(&handoff[(id * 64 + (i & 63)) % (THREADS * 64)], mine[slot]);
                Platform_Free(old, 0);
            } else {
                Platform_Free(mine[slot], sizes[slot]);
            }
        }
        sizes[slot] = 1 + (size_t) ((i * 2654435761u) % 3000);
        mine[slot] = Platform_Alloc(sizes[slot], 0);
        if (mine[slot] == NULL) {
            bad++;
            continue;
        }
        fill(mine[slot], sizes[slot], (unsigned) slot + seed);
    }
    for (int slot = 0; slot < 32; slot++) {
        Platform_Free(mine[slot], 0);
    }
    return (void *) (intptr_t) bad;
}

static void foreign_threads(void) {
    size_t live = Platform_Mem_GetCount();
    int errors = atomic_load(&error_count);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&threads[i], NULL, worker, (void *) (intptr_t) i);
    }
    int bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(threads[i], &r);
        bad += (int) (intptr_t) r;
    }
    for (int i = 0; i < THREADS * 64; i++) {
        Platform_Free(atomic_exchange(&handoff[i], NULL), 0);
    }
    CHECK(bad == 0, "%d blocks changed or failed on foreign threads", bad);
    CHECK(Platform_Mem_GetCount() == live, "threads left nothing live: %zu vs %zu", Platform_Mem_GetCount(), live);
    CHECK(atomic_load(&error_count) == errors, "no errors from the threads");
    double worst = 0;
    for (int i = 0; i < THREADS; i++) {
        worst = first_call_ns[i] > worst ? first_call_ns[i] : worst;
    }
    printf("first call on a new thread: up to %.1f us\n", worst / 1000.0);
}

static void limit_and_leaks(const char *backend) {
    char options[256];
    Platform_Mem_Shutdown();
    snprintf(options, sizeof options, "backend=%s;limit=1m", backend);
    CHECK(Platform_Mem_Init(options) == 0, "init with a limit: %s", Platform_Mem_LastError());
    CHECK(Platform_Total_Ram_Free() == ((size_t) 1 << 20), "the budget is the total");
    void *a = Platform_Alloc(600000, 0);
    CHECK(a != NULL, "within the budget");
    CHECK(Platform_Alloc(600000, 0) == NULL, "beyond the budget");
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_ALLOCATION_FAILED, "allocation failed code");
    CHECK(Platform_Ram_Free() == ((size_t) 1 << 20) - 600000, "ram free %zu", Platform_Ram_Free());
    Platform_Free(a, 0);
    a = Platform_Alloc((size_t) 1 << 20, 0);
    CHECK(a != NULL, "freeing made room");
    Platform_Free(a, 0);
    CHECK(Platform_Mem_Init("backend=system;limit=2m") != 0, "a second init with other options is refused");
    CHECK(strstr(Platform_Mem_LastError(), "Platform_Mem_Shutdown") != NULL, "message: %s", Platform_Mem_LastError());

    Platform_Mem_Shutdown();
    snprintf(options, sizeof options, "backend=%s;tracking=leaks", backend);
    CHECK(Platform_Mem_Init(options) == 0, "init for leaks: %s", Platform_Mem_LastError());
    void *leak = Platform_Alloc_Dbg(123, PLATFORM_MEM_CLEAR, "game/units.c", 42);
    void *plain = Platform_Alloc(7, 0);
    const char *report = capture_stderr(dump_leaks);
    CHECK(leaks_reported == 2, "two live blocks reported: %zu", leaks_reported);
    CHECK(strstr(report, "game/units.c:42") != NULL, "the report names the site:\n%s", report);
    CHECK(strstr(report, "123 bytes") != NULL && strstr(report, "CLEAR") != NULL, "size and flags");
    CHECK(strstr(report, "total: 2 live blocks, 130 bytes") != NULL, "totals");
    Platform_Free(leak, 0);
    Platform_Free(plain, 0);
    Platform_Mem_Shutdown();
    CHECK(Platform_Mem_Init(NULL) == 0, "start again from PLATFORM_MEMORY_OPTIONS");
}

/* ---- shutdown while other threads still call (a game's audio thread at exit) ---------------------- */

static atomic_int churning;

static void *churn(void *arg) {
    (void) arg;
    /* only the allocator's own calls: touching a block that a shutdown has freed is the game's bug */
    while (atomic_load(&churning)) {
        Platform_Free(Platform_Alloc(48, 0), 0);
    }
    return NULL;
}

static void shutdown_under_load(const char *backend) {
    char options[128];
    snprintf(options, sizeof options, "backend=%s", backend);
    atomic_store(&churning, 1);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&threads[i], NULL, churn, NULL);
    }
    for (int round = 0; round < 10; round++) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
        Platform_Mem_Shutdown();
        CHECK(Platform_Mem_Init(options) == 0, "restart %d under load: %s", round, Platform_Mem_LastError());
    }
    atomic_store(&churning, 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
    }
    CHECK(strcmp(Platform_Mem_Backend(), backend) == 0, "still serving after ten restarts under load");
    void *p = Platform_Alloc(64, 0);
    CHECK(p != NULL, "and allocating");
    Platform_Free(p, 0);
}

/* ---- start-up failures ---------------------------------------------------------------------------- */

static void start_fails(const char *expected) {
    CHECK(Platform_Alloc(64, 0) == NULL, "no allocation without a layer");
    CHECK(strstr(Platform_Mem_LastError(), expected) != NULL, "message names '%s': %s", expected,
          Platform_Mem_LastError());
    CHECK(Platform_Mem_Init(NULL) == PLATFORM_MEM_ERR_START, "init reports the failure");
    CHECK(strcmp(Platform_Mem_Backend(), "") == 0, "no backend");
    CHECK(Platform_Mem_GetAllocated() == 0 && Platform_Mem_Size(&expected) == 0, "figures are 0");
    Platform_Free((void *) 0x1000, 0); /* does nothing, does not crash */
    PlatformMemStats s;
    Platform_Mem_GetStats(&s);
    CHECK(s.live_bytes == 0, "stats are zero");
    CHECK(s.start_failures == 2, "both failed starts are counted: %llu", (unsigned long long) s.start_failures);
    CHECK(atomic_load(&last_code) == PLATFORM_MEM_ERR_START, "the handler heard of it: %d", atomic_load(&last_code));
}

int main(int argc, char **argv) {
    const char *scenario = argc > 1 ? argv[1] : "abi";
    Platform_Mem_SetErrorHandler(on_error);
    if (strcmp(scenario, "abi") == 0) {
        const char *backend = argc > 2 ? argv[2] : "system";
        libc_block = malloc(32);
        void *first = Platform_Alloc(64, 0); /* starts the layer lazily from PLATFORM_MEMORY_OPTIONS */
        CHECK(first != NULL, "lazy start: %s", Platform_Mem_LastError());
        if (first == NULL) {
            return check_summary();
        }
        Platform_Free(first, 0);
        CHECK(Platform_Mem_Init(NULL) == 0, "init after a lazy start with the same options");
        seed_functions();
        extensions(backend);
        bad_input();
        foreign_threads();
        limit_and_leaks(backend);
        CHECK(Platform_Mem_GetCount() == 0, "nothing live at the end");
        shutdown_under_load(backend);
        Platform_Mem_Shutdown();
        free(libc_block);
    } else if (strcmp(scenario, "no-jdk") == 0) {
        start_fails("JAVA_HOME is not set");
    } else if (strcmp(scenario, "old-jdk") == 0) {
        char expected[128];
        snprintf(expected, sizeof expected, "is JDK %s: platform-memory needs a JDK %d or newer",
                 argc > 2 ? argv[2] : "17", PM_JDK_MINIMUM);
        start_fails(expected);
    } else if (strcmp(scenario, "no-jars") == 0) {
        start_fails("no Java classes");
    } else if (strcmp(scenario, "bad-backend") == 0) {
        start_fails("unknown backend 'nope'; available backends: ");
        CHECK(strstr(Platform_Mem_LastError(), "system") != NULL, "lists system: %s", Platform_Mem_LastError());
        CHECK(Platform_Mem_Init("backend=system") == 0, "a good init then works: %s", Platform_Mem_LastError());
        void *p = Platform_Alloc(10, 0);
        CHECK(p != NULL && strcmp(Platform_Mem_Backend(), "system") == 0, "and allocates");
        Platform_Free(p, 0);
        Platform_Mem_Shutdown();
    } else {
        fprintf(stderr, "unknown scenario %s\n", scenario);
        return 2;
    }
    return check_summary();
}
