/*
 * demo_game: a small RTS-like frame loop that allocates as the ported game does, through the
 * compatibility headers and the C ABI, with a loader thread and an audio thread allocating too.
 *
 *   demo_game [--frames N] [--pace MS] [--leak] [--quiet]
 *
 * It charges its memory to tags (units, projectiles, level, audio), gives audio a budget, marks every
 * frame, takes snapshots after frame 100 (or the first quarter of the frames, if fewer), after twice
 * that, and at the end, and prints the diff between the first and the last, the tags and the last frame. --pace MS sleeps MS milliseconds per frame (to watch
 * it in the live view: PLATFORM_MEMORY_OPTIONS="insights=127.0.0.1:8123").
 *
 * The backend comes from PLATFORM_MEMORY_OPTIONS (for example "backend=arena"). --leak plants one
 * known leak (4242 bytes) and turns on leak tracking, so the report at exit names its file:line.
 * At exit it prints the backend, the statistics and the leak report, and "backend NAME: ok" when
 * everything it allocated (but the planted leak) was freed and no error was reported.
 */
#define _GNU_SOURCE
#include "compat/memory_wrapper.h"
#include "compat/wwmem.h"
#include "platform_memory.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_UNITS = 600, MAX_PROJECTILES = 2000, GRAPHICS_BUFFERS = 3, DIBS = 4 };

typedef struct Unit {
    int id, x, y, health;
    char name[32];
    struct Unit *target;
    unsigned char *path; /* a waypoint list that grows */
    size_t path_size;
    unsigned char ai_state[128];
} Unit;

typedef struct Projectile {
    float x, y, dx, dy;
    int damage, ttl;
    Unit *owner;
} Projectile;

static Unit *units[MAX_UNITS];
static Projectile *projectiles[MAX_PROJECTILES];
static unsigned char *graphics[GRAPHICS_BUFFERS];
static size_t graphics_size[GRAPHICS_BUFFERS];
static HGLOBAL dibs[DIBS];
static atomic_int running = 1;
static atomic_int errors;
static unsigned long rng = 12345;

static unsigned next_random(void) {
    rng = rng * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned) (rng >> 33);
}

static void on_error(int code, const char *message, void *ptr) {
    (void) ptr;
    atomic_fetch_add(&errors, 1);
    fprintf(stderr, "demo_game: error %d: %s\n", code, message);
}

static void memory_error(void) {
    fprintf(stderr, "demo_game: Memory_Error called: %s\n", Platform_Mem_LastError());
}

/* ---- the world ------------------------------------------------------------------------------------ */

static void spawn_unit(int slot) {
    Unit *u = Alloc(sizeof(Unit), MEM_CLEAR); /* the game's Alloc(n, MEM_CLEAR): zeroed */
    if (u == NULL) {
        return;
    }
    u->id = slot;
    u->health = 100;
    snprintf(u->name, sizeof u->name, "unit-%d", slot);
    u->path_size = 16;
    u->path = Alloc((unsigned long) u->path_size, MEM_NORMAL);
    units[slot] = u;
}

static void kill_unit(int slot) {
    Unit *u = units[slot];
    if (u == NULL) {
        return;
    }
    for (int p = 0; p < MAX_PROJECTILES; p++) {
        if (projectiles[p] != NULL && projectiles[p]->owner == u) {
            projectiles[p]->owner = NULL;
        }
    }
    for (int i = 0; i < MAX_UNITS; i++) {
        if (units[i] != NULL && units[i]->target == u) {
            units[i]->target = NULL;
        }
    }
    Free(u->path);
    Free(u);
    units[slot] = NULL;
}

static void frame(int number, HANDLE level_heap) {
    /* units come and go */
    Platform_Mem_PushTag("units");
    for (int i = 0; i < 12; i++) {
        int slot = (int) (next_random() % MAX_UNITS);
        if (units[slot] == NULL) {
            spawn_unit(slot);
        } else if (next_random() % 4 == 0) {
            kill_unit(slot);
        }
    }
    /* paths grow as units walk */
    for (int i = 0; i < 8; i++) {
        Unit *u = units[next_random() % MAX_UNITS];
        if (u != NULL && u->path_size < 4096) {
            unsigned char *longer = Resize_Alloc(u->path, (unsigned long) u->path_size * 2);
            if (longer != NULL) {
                u->path = longer;
                u->path_size *= 2;
            }
        }
    }
    Platform_Mem_PopTag();
    /* projectiles: many small, short-lived blocks */
    Platform_Mem_PushTag("projectiles");
    for (int i = 0; i < 40; i++) {
        int slot = (int) (next_random() % MAX_PROJECTILES);
        if (projectiles[slot] == NULL) {
            projectiles[slot] = Platform_Alloc(sizeof(Projectile), PLATFORM_MEM_NORMAL);
            if (projectiles[slot] != NULL) {
                projectiles[slot]->ttl = 5 + (int) (next_random() % 30);
                projectiles[slot]->owner = units[next_random() % MAX_UNITS];
            }
        }
    }
    for (int slot = 0; slot < MAX_PROJECTILES; slot++) {
        if (projectiles[slot] != NULL && --projectiles[slot]->ttl <= 0) {
            Platform_Free(projectiles[slot], sizeof(Projectile));
            projectiles[slot] = NULL;
        }
    }
    Platform_Mem_PopTag();
    /* per-frame temporaries (untagged) */
    void *temps[24];
    for (int i = 0; i < 24; i++) {
        temps[i] = Alloc(64 + next_random() % 2048, MEM_TEMP);
    }
    for (int i = 0; i < 24; i++) {
        Free(temps[i]);
    }
    /* a few large graphics buffers, resized now and then (a window resize, a new video mode): level data */
    Platform_Mem_PushTag("level");
    if (number % 60 == 0) {
        int b = (int) (next_random() % GRAPHICS_BUFFERS);
        size_t size = ((size_t) 640 + next_random() % 1280) * 480 * 2;
        unsigned char *resized = Resize_Alloc(graphics[b], (unsigned long) size);
        if (resized != NULL) {
            graphics[b] = resized;
            graphics_size[b] = size;
            memset(graphics[b], (int) number, size);
        }
    }
    /* DIB sections: moveable handles locked to draw into */
    HGLOBAL dib = dibs[number % DIBS];
    unsigned char *bits = GlobalLock(dib);
    if (bits != NULL) {
        bits[number % 1024] = (unsigned char) number;
        GlobalUnlock(dib);
    }
    if (number % 90 == 0) {
        HGLOBAL bigger = GlobalReAlloc(dib, 40 + (size_t) (64 + number % 256) * 256, GMEM_ZEROINIT);
        if (bigger != NULL) {
            dibs[number % DIBS] = bigger;
        }
    }
    /* level data in a private heap */
    for (int i = 0; i < 4; i++) {
        HeapAlloc(level_heap, HEAP_ZERO_MEMORY, 32 + next_random() % 512);
    }
    Platform_Mem_PopTag();
}

/* ---- the other threads ---------------------------------------------------------------------------- */

static void *loader(void *arg) {
    (void) arg;
    unsigned long seed = 99;
    void *assets[64] = {0};
    while (atomic_load(&running)) {
        seed = seed * 6364136223846793005UL + 1;
        int slot = (int) ((seed >> 33) % 64);
        Free(assets[slot]);
        assets[slot] = Alloc(1024 + (unsigned long) ((seed >> 20) % 65536), MEM_NORMAL);
        if (assets[slot] != NULL) {
            memset(assets[slot], 7, 1024);
        }
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
    for (int i = 0; i < 64; i++) {
        Free(assets[i]);
    }
    return NULL;
}

static void *audio(void *arg) {
    (void) arg;
    Platform_Mem_PushTag("audio"); /* everything this thread allocates */
    while (atomic_load(&running)) {
        short *mix = Platform_Alloc(4096, PLATFORM_MEM_CLEAR);
        if (mix != NULL) {
            mix[100] = 1;
        }
        struct timespec pause = {0, 500000};
        nanosleep(&pause, NULL);
        Platform_Free(mix, 4096);
    }
    Platform_Mem_PopTag();
    return NULL;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    int frames = 1000, leak = 0, quiet = 0, pace = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
            frames = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--pace") == 0 && i + 1 < argc) {
            pace = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--leak") == 0) {
            leak = 1;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
        } else {
            fprintf(stderr, "usage: demo_game [--frames N] [--pace MS] [--leak] [--quiet]\n");
            return 2;
        }
    }
    if (leak) {
        /* leak reports name sites only when tracking them */
        const char *env = getenv("PLATFORM_MEMORY_OPTIONS");
        char options[1024];
        snprintf(options, sizeof options, "%s%s%s", env != NULL ? env : "", env != NULL && env[0] ? ";" : "",
                 env != NULL && strstr(env, "tracking=") != NULL ? "" : "tracking=leaks");
        if (Platform_Mem_Init(options) != 0) {
            fprintf(stderr, "demo_game: %s\n", Platform_Mem_LastError());
            return 1;
        }
    }
    Platform_Mem_SetErrorHandler(on_error);
    Memory_Error = memory_error;
    if (Platform_Mem_Backend()[0] == '\0') { /* starts the layer if --leak did not */
        fprintf(stderr, "demo_game: the allocator did not start: %s\n", Platform_Mem_LastError());
        return 1;
    }
    printf("demo_game: backend %s, %d frames\n", Platform_Mem_Backend(), frames);
    /* audio may use 256 KiB; past 192 KiB the error handler hears of it */
    Platform_Mem_SetTagBudget("audio", 192 * 1024, 256 * 1024);
    fflush(stdout);

    unsigned char *map = VirtualAlloc(NULL, 4 << 20, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    for (int i = 0; i < DIBS; i++) {
        dibs[i] = GlobalAlloc(GHND, 40 + 256 * 256);
    }
    pthread_t loader_thread, audio_thread;
    pthread_create(&loader_thread, NULL, loader, NULL);
    pthread_create(&audio_thread, NULL, audio, NULL);

    HANDLE level = HeapCreate(0, 0, 0);
    uint64_t menu = 0;
    int menu_frame = (frames + 3) / 4 < 100 ? (frames + 3) / 4 : 100;
    double start = now_ms();
    for (int f = 1; f <= frames; f++) {
        frame(f, level);
        Platform_Mem_FrameMark();
        if (f == menu_frame) {
            menu = Platform_Mem_Snapshot(); /* "the menu": what grows after it shows in the diff */
        } else if (f == 2 * menu_frame) {
            Platform_Mem_Snapshot(); /* "the first mission": a second snapshot to compare in the live view */
        }
        if (pace > 0) {
            struct timespec pause = {pace / 1000, (long) (pace % 1000) * 1000000L};
            nanosleep(&pause, NULL);
        }
        if (f % 250 == 0) { /* a new level: the whole level heap goes at once */
            HeapDestroy(level);
            level = HeapCreate(0, 0, 0);
        }
        if (!quiet && f % 200 == 0) {
            printf("  frame %d: %zu live blocks, %zu bytes, peak %zu\n", f, Platform_Mem_GetCount(),
                   Platform_Mem_GetAllocated(), Platform_Mem_GetPeak());
        }
    }
    double elapsed = now_ms() - start;
    atomic_store(&running, 0);
    pthread_join(loader_thread, NULL);
    pthread_join(audio_thread, NULL);

    PlatformMemFrameStats last;
    Platform_Mem_GetFrameStats(&last);
    printf("last frame (%llu): %llu allocations, %llu frees, %llu bytes in, %llu out, peak %llu, live %llu\n",
           (unsigned long long) last.number, (unsigned long long) last.allocations, (unsigned long long) last.frees,
           (unsigned long long) last.bytes_allocated, (unsigned long long) last.bytes_freed,
           (unsigned long long) last.peak_live_bytes, (unsigned long long) last.live_bytes_at_end);
    PlatformMemTagStats tags[16];
    size_t tag_count = Platform_Mem_GetTagStats(tags, 16);
    printf("tags:\n");
    for (size_t i = 0; i < tag_count && i < 16; i++) {
        printf("  %-12s %10llu bytes live in %6llu blocks, peak %10llu, %8llu allocations\n", tags[i].name,
               (unsigned long long) tags[i].live_bytes, (unsigned long long) tags[i].live_blocks,
               (unsigned long long) tags[i].peak_bytes, (unsigned long long) tags[i].allocations);
    }
    fflush(stdout);
    if (menu != 0) {
        printf("what grew since the snapshot after frame %d:\n", menu_frame);
        fflush(stdout);
        Platform_Mem_DumpDiff(menu, Platform_Mem_Snapshot());
        fflush(stderr);
    }

    if (leak) {
        void *planted = Platform_Alloc(4242, PLATFORM_MEM_NORMAL); /* the planted leak: never freed */
        if (planted != NULL) {
            memset(planted, 0x4C, 4242);
        }
    }

    /* tear the world down */
    HeapDestroy(level);
    for (int i = 0; i < MAX_UNITS; i++) {
        kill_unit(i);
    }
    for (int i = 0; i < MAX_PROJECTILES; i++) {
        Platform_Free(projectiles[i], 0);
    }
    for (int i = 0; i < GRAPHICS_BUFFERS; i++) {
        Free(graphics[i]);
    }
    for (int i = 0; i < DIBS; i++) {
        GlobalFree(dibs[i]);
    }
    VirtualFree(map, 0, MEM_RELEASE);

    PlatformMemStats s;
    Platform_Mem_GetStats(&s);
    printf("demo_game: %d frames in %.1f ms (%.1f us per frame)\n", frames, elapsed, elapsed * 1000.0 / frames);
    printf("statistics: live %llu bytes in %llu blocks, peak %llu bytes, %llu allocations, %llu frees, "
           "%llu reallocations, %llu failed, %llu caller errors; MaxRam %lu, MinRam %lu\n",
           (unsigned long long) s.live_bytes, (unsigned long long) s.live_blocks, (unsigned long long) s.peak_bytes,
           (unsigned long long) s.allocations, (unsigned long long) s.frees, (unsigned long long) s.reallocations,
           (unsigned long long) s.failed_allocations, (unsigned long long) s.caller_errors, MaxRam, MinRam);
    fflush(stdout);
    size_t live = Platform_Mem_DumpLeaks();
    fflush(stderr);
    /* with --leak, the planted block is the only live block */
    size_t expected = (size_t) leak;
    int ok = live == expected && atomic_load(&errors) == 0 && s.caller_errors == 0;
    if (leak) {
        printf("planted leak: 4242 bytes, expected in the report above\n");
    }
    printf("backend %s: %s\n", Platform_Mem_Backend(), ok ? "ok" : "FAILED");
    Platform_Mem_Shutdown();
    return ok ? 0 : 1;
}
