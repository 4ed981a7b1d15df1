/*
 * A game's crash handler and the JVM's own signals (docs/signals.md), through the real ABI:
 *
 *   test_signals where    prints where this program's sigaction comes from and whether libjsig is
 *                         loaded; starts nothing
 *   test_signals before   installs a SIGSEGV handler, then starts the layer, then dereferences NULL
 *   test_signals after    starts the layer, then installs the handler, then makes the JVM work: two
 *                         threads allocate and free 2 MiB blocks (through the facade, by upcalls), two
 *                         write reports over 48 tags, 240 frames and 60 snapshots (compiled loops, garbage,
 *                         collections: safepoints and handshakes that the JVM's polls take as SIGSEGVs);
 *                         checks the layer still works, then dereferences NULL
 *
 * The handler writes "game handler: SIGSEGV" to stderr and exits with 42 for the NULL dereference; for any
 * other SIGSEGV (one the JVM should have kept: its own faults, some at NULL too, are its implicit null
 * checks) it writes "game handler: SIGSEGV at ADDR, not the game's fault" and exits with 43. Checks that fail print FAILED lines and exit with 1 before the dereference.
 * One process per case: signals_check.cmake runs each in an empty folder and checks the exit status, the
 * lines, that no JVM crash report was printed and that no hs_err_pid*.log was written.
 */
#define _GNU_SOURCE
#include "platform_memory.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

enum { EXIT_GAME_FAULT = 42, EXIT_OTHER_FAULT = 43 };

/* ---- the game's crash handler: async-signal-safe, write(2) and _exit only ------------------------- */

static void say(const char *text) {
    size_t n = strlen(text);
    while (n > 0) {
        ssize_t written = write(2, text, n);
        if (written <= 0) {
            return;
        }
        text += written;
        n -= (size_t) written;
    }
}

static volatile sig_atomic_t crashing; /* set just before the game's own NULL dereference */

static void game_handler(int sig, siginfo_t *info, void *context) {
    (void) context;
    if (sig == SIGSEGV && crashing && info->si_addr == NULL) {
        say("game handler: SIGSEGV\n");
        _exit(EXIT_GAME_FAULT);
    }
    char hex[2 + 16 + 1] = "0x";
    uintptr_t address = (uintptr_t) info->si_addr;
    for (int i = 0; i < 16; i++) {
        hex[2 + i] = "0123456789abcdef"[(address >> (60 - 4 * i)) & 0xf];
    }
    hex[18] = '\0';
    say(sig == SIGSEGV ? "game handler: SIGSEGV at " : "game handler: another signal at ");
    say(hex);
    say(", not the game's fault\n");
    _exit(EXIT_OTHER_FAULT);
}

static void install_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = game_handler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGSEGV, &action, NULL) == 0, "sigaction failed");
}

/* The handler the kernel would run for sig, asked of the kernel itself (not through sigaction, which
 * libjsig answers from its own records once the JVM has started): the first word of the kernel's
 * struct sigaction. */
static void *kernel_handler(int sig) {
    unsigned long kernel_action[4] = {0}; /* handler, flags, restorer, mask */
    if (syscall(SYS_rt_sigaction, sig, NULL, kernel_action, (size_t) (_NSIG / 8)) != 0) {
        return NULL;
    }
    return (void *) kernel_action[0];
}

static int *volatile null_pointer; /* volatile: the compiler cannot know it is NULL, and keeps the store */

static int crash(const char *name) {
    if (failed > 0) {
        return check_summary(); /* a check failed: say so rather than crash */
    }
    printf("%s: %d checks passed, dereferencing NULL\n", name, passed);
    fflush(stdout);
    crashing = 1;
    *null_pointer = 1;
    printf("%s: still running after the NULL dereference\n", name);
    return 1;
}

/* ---- the layer at work ------------------------------------------------------------------------------ */

static void start_layer(const char *name) {
    void *blocks[8];
    for (int i = 0; i < 8; i++) {
        blocks[i] = Platform_Alloc((size_t) 64 << i, PLATFORM_MEM_CLEAR);
        CHECK(blocks[i] != NULL, "%s: Platform_Alloc(%zu): %s", name, (size_t) 64 << i, Platform_Mem_LastError());
    }
    for (int i = 0; i < 8; i++) {
        Platform_Free(blocks[i], 0);
    }
    const char *backend = Platform_Mem_Backend();
    CHECK(backend[0] != '\0', "%s: the layer did not start: %s", name, Platform_Mem_LastError());
    if (failed > 0) {
        exit(check_summary());
    }
    printf("%s: layer started, backend %s\n", name, backend);
    fflush(stdout);
}

enum { LOADERS = 2, REPORTERS = 2, LOADER_PAIRS = 6000, WINDOW = 8 };
#define BIG_BLOCK ((size_t) 2 * 1024 * 1024)

typedef struct {
    int index;
    size_t pairs;
    size_t failures;
    size_t bad_contents;
} Loader;

static atomic_int loaders_done; /* set by main once every loader has ended (joined) */

/* Allocates and frees blocks of 2 MiB and a little more (never the shim's caches: through the facade),
 * keeping WINDOW of them live, writing and reading back their first and last bytes. */
static void *loader(void *arg) {
    Loader *self = arg;
    void *window[WINDOW] = {0};
    uint64_t random = 0x5167u + (uint64_t) self->index;
    for (size_t i = 0; i < LOADER_PAIRS; i++) {
        size_t slot = below(&random, WINDOW);
        if (window[slot] != NULL) {
            unsigned char *old = window[slot];
            size_t size = Platform_Mem_Size(old);
            if (size < BIG_BLOCK || old[0] != (unsigned char) self->index || old[size - 1] != 0x5a) {
                self->bad_contents++;
            }
            Platform_Free(old, 0);
            self->pairs++;
        }
        size_t size = BIG_BLOCK + 4096 * below(&random, 64);
        unsigned char *block = Platform_Alloc(size, PLATFORM_MEM_NORMAL);
        if (block == NULL) {
            self->failures++;
            window[slot] = NULL;
            continue;
        }
        block[0] = (unsigned char) self->index;
        block[size - 1] = 0x5a;
        window[slot] = block;
    }
    for (int slot = 0; slot < WINDOW; slot++) {
        if (window[slot] != NULL) {
            Platform_Free(window[slot], 0);
            self->pairs++;
        }
    }
    return NULL;
}

typedef struct {
    char path[4096]; /* a report file of its own */
    size_t reports;
    size_t report_failures;
    size_t heap_problems;
} Reporter;

/* Runs the Java side's longer paths while the loaders work: the JSON report (garbage on the Java heap:
 * collections, safepoints) and the heap check (a walk of every live block). */
static void *reporter(void *arg) {
    Reporter *self = arg;
    do {
        if (Platform_Mem_WriteReport(self->path) != 0) {
            self->report_failures++;
        }
        if (Platform_Mem_CheckHeap() != 0) {
            self->heap_problems++;
        }
        PlatformMemStats stats;
        Platform_Mem_GetStats(&stats);
        self->reports++;
    } while (!atomic_load(&loaders_done));
    return NULL;
}

/* Gives the reports something to walk: tags with blocks, the last 240 frames, snapshots. */
static void fill_report(void) {
    for (int round = 0; round < 240; round++) {
        char name[32];
        snprintf(name, sizeof name, "signals/tag%02d", round % 48);
        CHECK(Platform_Mem_PushTag(name) > 0, "Platform_Mem_PushTag(%s)", name);
        void *block = Platform_Alloc(4096 + (size_t) round * 64, PLATFORM_MEM_NORMAL);
        CHECK(block != NULL, "Platform_Alloc in tag %s", name);
        Platform_Free(block, 0);
        Platform_Mem_PopTag();
        Platform_Mem_FrameMark();
        if (round % 4 == 0) {
            CHECK(Platform_Mem_Snapshot() > 0, "Platform_Mem_Snapshot");
        }
    }
}

static void work_hard(void) {
    fill_report();
    const char *tmp = getenv("TMPDIR");
    PlatformMemStats before, after;
    Platform_Mem_GetStats(&before);
    Loader loaders[LOADERS];
    Reporter reporters[REPORTERS];
    pthread_t loader_threads[LOADERS], reporter_threads[REPORTERS];
    memset(loaders, 0, sizeof loaders);
    memset(reporters, 0, sizeof reporters);
    atomic_store(&loaders_done, 0);
    for (int i = 0; i < REPORTERS; i++) {
        snprintf(reporters[i].path, sizeof reporters[i].path, "%s/test_signals_report_%ld_%d.json",
                 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", (long) getpid(), i);
        CHECK(pthread_create(&reporter_threads[i], NULL, reporter, &reporters[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < LOADERS; i++) {
        loaders[i].index = i + 1;
        CHECK(pthread_create(&loader_threads[i], NULL, loader, &loaders[i]) == 0, "pthread_create");
    }
    size_t pairs = 0, failures = 0, bad_contents = 0, reports = 0, report_failures = 0, heap_problems = 0;
    for (int i = 0; i < LOADERS; i++) {
        pthread_join(loader_threads[i], NULL);
        pairs += loaders[i].pairs;
        failures += loaders[i].failures;
        bad_contents += loaders[i].bad_contents;
    }
    atomic_store(&loaders_done, 1);
    for (int i = 0; i < REPORTERS; i++) {
        pthread_join(reporter_threads[i], NULL);
        reports += reporters[i].reports;
        report_failures += reporters[i].report_failures;
        heap_problems += reporters[i].heap_problems;
        remove(reporters[i].path);
    }
    Platform_Mem_GetStats(&after);

    CHECK(failures == 0, "%zu allocations of 2 MiB failed", failures);
    CHECK(pairs == (size_t) LOADERS * LOADER_PAIRS, "%zu blocks freed, expected %zu", pairs,
          (size_t) LOADERS * LOADER_PAIRS);
    CHECK(bad_contents == 0, "%zu blocks did not keep their size or their bytes", bad_contents);
    CHECK(report_failures == 0, "%zu of %zu reports could not be written", report_failures, reports);
    CHECK(heap_problems == 0, "Platform_Mem_CheckHeap found problems %zu times", heap_problems);
    CHECK(after.live_blocks == before.live_blocks && after.live_bytes == before.live_bytes,
          "live blocks %llu (%llu bytes) after, %llu (%llu bytes) before", (unsigned long long) after.live_blocks,
          (unsigned long long) after.live_bytes, (unsigned long long) before.live_blocks,
          (unsigned long long) before.live_bytes);
    CHECK(after.allocations - before.allocations >= pairs, "%llu allocations counted for %zu made",
          (unsigned long long) (after.allocations - before.allocations), pairs);
    CHECK(after.allocations - after.frees == after.live_blocks, "allocations %llu - frees %llu != live %llu",
          (unsigned long long) after.allocations, (unsigned long long) after.frees,
          (unsigned long long) after.live_blocks);
    CHECK(after.failed_allocations == 0 && after.caller_errors == 0, "failed allocations %llu, caller errors %llu",
          (unsigned long long) after.failed_allocations, (unsigned long long) after.caller_errors);
    printf("after: %zu allocations and frees of 2 MiB+ and %zu reports and heap checks from %d threads\n", pairs,
           reports, LOADERS + REPORTERS);
    fflush(stdout);
}

/* ---- the cases ---------------------------------------------------------------------------------------- */

static int where(void) {
    struct sigaction current;
    sigaction(SIGSEGV, NULL, &current); /* a call, so that the dynamic linker binds it */
    Dl_info info;
    void *function = (void *) sigaction;
    if (dladdr(function, &info) != 0 && info.dli_fname != NULL) {
        printf("sigaction: %s\n", info.dli_fname);
    } else {
        printf("sigaction: unknown\n");
    }
    printf("libjsig: %s\n", dlsym(RTLD_DEFAULT, "JVM_begin_signal_setting") != NULL ? "loaded" : "not loaded");
    return 0;
}

static int before(void) {
    install_handler();
    CHECK(kernel_handler(SIGSEGV) == (void *) game_handler, "the game's handler is not installed");
    start_layer("before");
    CHECK(kernel_handler(SIGSEGV) != (void *) game_handler, "the JVM did not install its SIGSEGV handler");
    return crash("before");
}

static int after(void) {
    start_layer("after");
    void *jvm_handler = kernel_handler(SIGSEGV);
    install_handler();
    printf("after: handler installed; the kernel's SIGSEGV handler is %s\n",
           kernel_handler(SIGSEGV) == jvm_handler ? "still the JVM's" : "the game's");
    CHECK(kernel_handler(SIGSEGV) == jvm_handler,
          "the game's sigaction replaced the JVM's SIGSEGV handler (is libjsig linked before libc?)");
    fflush(stdout);
    work_hard();
    start_layer("after");
    return crash("after");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "where") == 0) {
        return where();
    }
    if (argc == 2 && strcmp(argv[1], "before") == 0) {
        return before();
    }
    if (argc == 2 && strcmp(argv[1], "after") == 0) {
        return after();
    }
    fprintf(stderr, "usage: test_signals where|before|after\n");
    return 2;
}
