/*
 * Insights through the C ABI, for one backend (each scenario starts the layer with its own options):
 *
 *   test_insights BACKEND tags       a model-based run: threads push nested tags, allocate (sizes served
 *                                    by the caches and by the facade), reallocate and free their own and
 *                                    each other's blocks; afterwards every tag's live bytes and blocks
 *                                    equal the model's, and the tags add up to the totals
 *   test_insights BACKEND budget     a soft budget is reported once per crossing, a hard one fails the
 *                                    allocation (NULL, ALLOCATION_FAILED naming the tag)
 *   test_insights BACKEND frames     frame figures equal a replayed sequence's: counts, bytes, live at
 *                                    the end, and the peak (exact with one thread on one path, bounded
 *                                    when small and large blocks mix)
 *   test_insights BACKEND forbid     allocations in a forbidden region are reported and served
 *   test_insights BACKEND snapshots  a diff equals the net events between two snapshots; the JSON report;
 *                                    a restart forgets the tags
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
#include <unistd.h>

#include "check.h"

static atomic_int reports[128];
static char last_message[1024];
static pthread_mutex_t message_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_error(int code, const char *message, void *ptr) {
    (void) ptr;
    if (code >= 0 && code < 128) {
        atomic_fetch_add(&reports[code], 1);
    }
    pthread_mutex_lock(&message_lock);
    snprintf(last_message, sizeof last_message, "%s", message != NULL ? message : "");
    pthread_mutex_unlock(&message_lock);
}

static void clear_reports(void) {
    for (int i = 0; i < 128; i++) {
        atomic_store(&reports[i], 0);
    }
}

static int start(const char *backend, const char *extra) {
    char options[256];
    snprintf(options, sizeof options, "backend=%s;log=quiet%s", backend, extra);
    int rc = Platform_Mem_Init(options);
    CHECK(rc == 0, "init %s: %s", options, Platform_Mem_LastError());
    Platform_Mem_SetErrorHandler(on_error);
    clear_reports();
    return rc == 0;
}

/* The figures of the tag called name, or zeros (found = 0). */
static PlatformMemTagStats tag_named(const char *name, int *found) {
    PlatformMemTagStats tags[256];
    size_t n = Platform_Mem_GetTagStats(tags, 256);
    for (size_t i = 0; i < n && i < 256; i++) {
        if (strcmp(tags[i].name, name) == 0) {
            *found = 1;
            return tags[i];
        }
    }
    PlatformMemTagStats none;
    memset(&none, 0, sizeof none);
    *found = 0;
    return none;
}

/* ---- tags: a model of every block's tag, from several threads ------------------------------------ */

enum { THREADS = 4, OPS = 40000, SLOTS = 512, NAMES = 5, LARGEST_CACHED = PLATFORM_MEM_CACHE_LARGEST };
static const char *names[NAMES] = {"units", "projectiles", "level", "audio", "ui"};

typedef struct Block {
    void *p;
    size_t size;
    int tag; /* index into names, -1 untagged */
} Block;

/* blocks any thread may free: a shared pool under a lock (cross-thread frees) */
static Block pool[SLOTS];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int tag_ids[NAMES];
static atomic_int id_mismatches;

static size_t random_size(uint64_t *rng) {
    size_t kind = below(rng, 100);
    return kind < 80 ? 1 + below(rng, 512) : kind < 95 ? 513 + below(rng, LARGEST_CACHED - 512) : LARGEST_CACHED + 1 + below(rng, 40000);
}

static void *tag_worker(void *arg) {
    uint64_t rng = (uint64_t) (uintptr_t) arg * 7919 + 1;
    int stack[8];
    int depth = 0;
    Block mine[SLOTS];
    memset(mine, 0, sizeof mine);
    for (int op = 0; op < OPS; op++) {
        int current = depth == 0 ? -1 : stack[depth - 1];
        size_t what = below(&rng, 100);
        if (what < 6 && depth < 8) {
            int name = (int) below(&rng, NAMES);
            int id = Platform_Mem_PushTag(names[name]);
            int expected = 0;
            if (!atomic_compare_exchange_strong(&tag_ids[name], &expected, id) && expected != id) {
                atomic_fetch_add(&id_mismatches, 1);
            }
            stack[depth++] = name;
        } else if (what < 12 && depth > 0) {
            Platform_Mem_PopTag();
            depth--;
        } else if (what < 60) {
            Block *b = &mine[below(&rng, SLOTS)];
            if (b->p == NULL) {
                b->size = random_size(&rng);
                b->p = Platform_Alloc(b->size, 0);
                b->tag = current;
            } else {
                Platform_Free(b->p, below(&rng, 2) ? b->size : 0);
                b->p = NULL;
            }
        } else if (what < 75) {
            Block *b = &mine[below(&rng, SLOTS)];
            if (b->p != NULL) {
                size_t size = random_size(&rng);
                void *q = Platform_Realloc(b->p, 0, size);
                if (q != NULL) { /* a block keeps its tag, wherever a reallocation moves it */
                    b->p = q;
                    b->size = size;
                }
            }
        } else {
            /* swap a block with the shared pool: another thread frees or keeps it */
            Block *b = &mine[below(&rng, SLOTS)];
            pthread_mutex_lock(&pool_lock);
            Block *s = &pool[below(&rng, SLOTS)];
            Block swap = *s;
            *s = *b;
            *b = swap;
            pthread_mutex_unlock(&pool_lock);
        }
    }
    while (depth-- > 0) {
        Platform_Mem_PopTag();
    }
    /* hand everything still live to the pool's overflow: the main thread checks, then frees it */
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < SLOTS; i++) {
        if (mine[i].p != NULL) {
            for (int j = 0; j < SLOTS; j++) {
                if (pool[j].p == NULL) {
                    pool[j] = mine[i];
                    mine[i].p = NULL;
                    break;
                }
            }
            if (mine[i].p != NULL) {
                Platform_Free(mine[i].p, 0); /* no room left: freed here, out of the model */
                mine[i].p = NULL;
            }
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return NULL;
}

static void check_tags_add_up(const char *when) {
    PlatformMemTagStats tags[256];
    size_t n = Platform_Mem_GetTagStats(tags, 256);
    PlatformMemStats stats;
    Platform_Mem_GetStats(&stats);
    uint64_t bytes = 0, blocks = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += tags[i].live_bytes;
        blocks += tags[i].live_blocks;
    }
    CHECK(bytes == stats.live_bytes, "%s: tags' live bytes %llu, total %llu", when, (unsigned long long) bytes,
          (unsigned long long) stats.live_bytes);
    CHECK(blocks == stats.live_blocks, "%s: tags' live blocks %llu, total %llu", when, (unsigned long long) blocks,
          (unsigned long long) stats.live_blocks);
}

static void scenario_tags(const char *backend) {
    if (!start(backend, "")) {
        return;
    }
    check_tags_add_up("at the start");
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&threads[i], NULL, tag_worker, (void *) (uintptr_t) (i + 1));
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    CHECK(atomic_load(&id_mismatches) == 0, "a name got two ids");
    uint64_t model_bytes[NAMES + 1] = {0}, model_blocks[NAMES + 1] = {0};
    for (int i = 0; i < SLOTS; i++) {
        if (pool[i].p != NULL) {
            model_bytes[pool[i].tag + 1] += pool[i].size;
            model_blocks[pool[i].tag + 1]++;
        }
    }
    check_tags_add_up("after the threads");
    for (int t = -1; t < NAMES; t++) {
        int found;
        PlatformMemTagStats s = tag_named(t < 0 ? "untagged" : names[t], &found);
        CHECK(found, "tag %s listed", t < 0 ? "untagged" : names[t]);
        CHECK(s.live_bytes == model_bytes[t + 1] && s.live_blocks == model_blocks[t + 1],
              "tag %s: %llu bytes in %llu blocks, the model says %llu in %llu", s.name,
              (unsigned long long) s.live_bytes, (unsigned long long) s.live_blocks,
              (unsigned long long) model_bytes[t + 1], (unsigned long long) model_blocks[t + 1]);
        CHECK(s.peak_bytes >= s.live_bytes, "tag %s: peak %llu below live %llu", s.name,
              (unsigned long long) s.peak_bytes, (unsigned long long) s.live_bytes);
        CHECK(t < 0 || s.id == (uint64_t) atomic_load(&tag_ids[t]), "tag %s: id %llu, push gave %d", s.name,
              (unsigned long long) s.id, atomic_load(&tag_ids[t]));
        CHECK(s.allocations - s.frees == s.live_blocks, "tag %s: allocations - frees = live blocks", s.name);
    }
    for (int i = 0; i < SLOTS; i++) {
        if (pool[i].p != NULL) {
            Platform_Free(pool[i].p, pool[i].size);
            pool[i].p = NULL;
        }
    }
    check_tags_add_up("after freeing everything");
    int found;
    PlatformMemTagStats units = tag_named("units", &found);
    CHECK(units.live_bytes == 0 && units.live_blocks == 0, "units empty at the end");
    CHECK(atomic_load(&reports[PLATFORM_MEM_ERR_INTERNAL]) == 0, "no internal errors");
    Platform_Mem_Shutdown();
}

/* ---- budgets --------------------------------------------------------------------------------------- */

static void scenario_budget(const char *backend) {
    if (!start(backend, "")) {
        return;
    }
    void *early = Platform_Alloc(100, 0);
    CHECK(Platform_Mem_PushTag("audio") > 0, "push audio");
    void *before = Platform_Alloc(1000, 0); /* charged before the budget: through the cache */
    int id = Platform_Mem_SetTagBudget("audio", 64 * 1024, 128 * 1024);
    CHECK(id > 0, "SetTagBudget gives the tag's id");
    void *blocks[200];
    int n = 0;
    /* 1000 (before) + 63 * 1000 = 64000: under the soft budget of 65536 */
    for (; n < 63; n++) {
        blocks[n] = Platform_Alloc(1000, 0);
    }
    CHECK(atomic_load(&reports[PLATFORM_MEM_ERR_BUDGET]) == 0, "under the soft budget: no report (%d)",
          atomic_load(&reports[PLATFORM_MEM_ERR_BUDGET]));
    blocks[n++] = Platform_Alloc(1000, 0); /* 65000 */
    blocks[n++] = Platform_Alloc(1000, 0); /* 66000: crosses */
    CHECK(atomic_load(&reports[PLATFORM_MEM_ERR_BUDGET]) == 1, "crossing the soft budget: one report (%d)",
          atomic_load(&reports[PLATFORM_MEM_ERR_BUDGET]));
    pthread_mutex_lock(&message_lock);
    CHECK(strstr(last_message, "audio") != NULL, "the report names the tag: %s", last_message);
    pthread_mutex_unlock(&message_lock);
    for (; n < 127; n++) {
        blocks[n] = Platform_Alloc(1000, 0);
    }
    CHECK(atomic_load(&reports[PLATFORM_MEM_ERR_BUDGET]) == 1, "still over: no second report (%d)",
          atomic_load(&reports[PLATFORM_MEM_ERR_BUDGET]));
    /* 1000 + 127 * 1000 = 128000; one more 1000 would pass 131072? no: 129000 fits; 3 more do not */
    int failed_at = -1;
    for (; n < 140; n++) {
        blocks[n] = Platform_Alloc(1000, 0);
        if (blocks[n] == NULL) {
            failed_at = n;
            break;
        }
    }
    CHECK(failed_at == 130, "the hard budget fails the allocation that would pass it (failed at %d)", failed_at);
    CHECK(atomic_load(&reports[PLATFORM_MEM_ERR_ALLOCATION_FAILED]) == 1, "one ALLOCATION_FAILED (%d)",
          atomic_load(&reports[PLATFORM_MEM_ERR_ALLOCATION_FAILED]));
    pthread_mutex_lock(&message_lock);
    CHECK(strstr(last_message, "audio") != NULL, "the failure names the tag: %s", last_message);
    pthread_mutex_unlock(&message_lock);
    int found;
    PlatformMemTagStats audio = tag_named("audio", &found);
    CHECK(audio.live_bytes == 1000 + 130 * 1000ull, "audio live bytes %llu", (unsigned long long) audio.live_bytes);
    CHECK(audio.soft_budget == 65536 && audio.hard_budget == 131072, "budgets listed");
    CHECK(audio.peak_bytes == audio.live_bytes, "audio peak %llu", (unsigned long long) audio.peak_bytes);
    void *other = Platform_Alloc(100000, 0); /* the limit is the tag's, not the total's: untagged is fine */
    Platform_Mem_PopTag();
    void *untagged = Platform_Alloc(200000, 0);
    CHECK(untagged != NULL, "another tag is not limited");
    CHECK(other == NULL, "under audio still limited");
    /* back under the soft budget, then across it again: a second report */
    for (int i = 0; i < failed_at; i++) {
        Platform_Free(blocks[i], 0);
    }
    Platform_Free(before, 0);
    Platform_Mem_PushTag("audio");
    for (int i = 0; i < 70; i++) {
        blocks[i] = Platform_Alloc(1000, 0);
    }
    CHECK(atomic_load(&reports[PLATFORM_MEM_ERR_BUDGET]) == 2, "a second crossing: a second report (%d)",
          atomic_load(&reports[PLATFORM_MEM_ERR_BUDGET]));
    for (int i = 0; i < 70; i++) {
        Platform_Free(blocks[i], 0);
    }
    Platform_Mem_PopTag();
    CHECK(Platform_Mem_SetTagBudget("audio", 0, 0) == id, "budgets removed");
    Platform_Free(untagged, 0);
    Platform_Free(early, 0);
    check_tags_add_up("budget");
    Platform_Mem_Shutdown();
}

/* ---- frames ----------------------------------------------------------------------------------------- */

typedef struct Expect {
    uint64_t allocations, frees, bytes_in, bytes_out, peak, live;
} Expect;

/* Replays one frame of n steps over slots: size > 0 allocates into an empty slot or frees a full one. */
static Expect replay(void **slots, size_t *sizes, int count, uint64_t *rng, size_t lo, size_t hi, int steps,
                     uint64_t live_at_start) {
    Expect e = {0, 0, 0, 0, live_at_start, live_at_start};
    for (int i = 0; i < steps; i++) {
        int k = (int) below(rng, (size_t) count);
        if (slots[k] == NULL) {
            sizes[k] = lo + below(rng, hi - lo + 1);
            slots[k] = Platform_Alloc(sizes[k], 0);
            e.allocations++;
            e.bytes_in += sizes[k];
            e.live += sizes[k];
            e.peak = e.live > e.peak ? e.live : e.peak;
        } else {
            Platform_Free(slots[k], 0);
            slots[k] = NULL;
            e.frees++;
            e.bytes_out += sizes[k];
            e.live -= sizes[k];
        }
    }
    return e;
}

static void check_frame(const char *name, Expect e, uint64_t number, int exact_peak) {
    PlatformMemFrameStats f;
    Platform_Mem_GetFrameStats(&f);
    CHECK(f.number == number, "%s: frame number %llu, expected %llu", name, (unsigned long long) f.number,
          (unsigned long long) number);
    CHECK(f.allocations == e.allocations && f.frees == e.frees, "%s: %llu allocations, %llu frees; replay %llu, %llu",
          name, (unsigned long long) f.allocations, (unsigned long long) f.frees,
          (unsigned long long) e.allocations, (unsigned long long) e.frees);
    CHECK(f.bytes_allocated == e.bytes_in && f.bytes_freed == e.bytes_out, "%s: %llu bytes in, %llu out; replay "
          "%llu, %llu", name, (unsigned long long) f.bytes_allocated, (unsigned long long) f.bytes_freed,
          (unsigned long long) e.bytes_in, (unsigned long long) e.bytes_out);
    CHECK(f.live_bytes_at_end == e.live, "%s: live at end %llu, replay %llu", name,
          (unsigned long long) f.live_bytes_at_end, (unsigned long long) e.live);
    if (exact_peak) {
        CHECK(f.peak_live_bytes == e.peak, "%s: peak %llu, replay %llu", name, (unsigned long long) f.peak_live_bytes,
              (unsigned long long) e.peak);
    } else {
        uint64_t start = e.live + e.bytes_out - e.bytes_in;
        CHECK(f.peak_live_bytes >= e.peak && f.peak_live_bytes <= start + e.bytes_in, "%s: peak %llu outside "
              "[%llu, %llu]", name, (unsigned long long) f.peak_live_bytes, (unsigned long long) e.peak,
              (unsigned long long) (start + e.bytes_in));
    }
}

static void scenario_frames(const char *backend) {
    if (!start(backend, "")) {
        return;
    }
    enum { N = 300 };
    /* small, large and mixed blocks in slots of their own: a frame frees only blocks of its own kind */
    static void *slots[3][N];
    static size_t sizes[3][N];
    uint64_t rng = 42;
    PlatformMemFrameStats f;
    Platform_Mem_GetFrameStats(&f);
    CHECK(f.number == 0 && f.allocations == 0, "no frame before the first mark");
    Platform_Mem_FrameMark(); /* frame 1: nothing */
    Platform_Mem_GetFrameStats(&f);
    uint64_t live = f.live_bytes_at_end;
    Expect e = replay(slots[0], sizes[0], N, &rng, 1, 4096, 5000, live);
    Platform_Mem_FrameMark();
    check_frame("small blocks", e, 2, 1);
    e = replay(slots[1], sizes[1], N, &rng, PLATFORM_MEM_CACHE_LARGEST + 1, PLATFORM_MEM_CACHE_LARGEST + 200000, 3000, e.live);
    Platform_Mem_FrameMark();
    check_frame("large blocks", e, 3, 1);
    e = replay(slots[2], sizes[2], N, &rng, 1, 2 * PLATFORM_MEM_CACHE_LARGEST, 5000, e.live);
    Platform_Mem_FrameMark();
    check_frame("mixed blocks", e, 4, 0);
    Platform_Mem_FrameMark();
    Expect none = {0, 0, 0, 0, e.live, e.live};
    check_frame("an empty frame", none, 5, 1);
    for (int k = 0; k < 3 * N; k++) {
        Platform_Free(slots[k / N][k % N], 0);
    }
    Platform_Mem_Shutdown();
}

/* ---- forbidden regions ------------------------------------------------------------------------------ */

static void scenario_forbid(const char *backend) {
    if (!start(backend, "")) {
        return;
    }
    Platform_Mem_ForbidAllocations(1);
    void *small = Platform_Alloc(64, 0);
    void *large = Platform_Alloc(100000, 0);
    Platform_Mem_ForbidAllocations(0);
    void *after = Platform_Alloc(64, 0);
    CHECK(small != NULL && large != NULL && after != NULL, "forbidden allocations are still served");
    CHECK(atomic_load(&reports[PLATFORM_MEM_ERR_FORBIDDEN]) == 2, "two FORBIDDEN reports (%d)",
          atomic_load(&reports[PLATFORM_MEM_ERR_FORBIDDEN]));
    Platform_Free(small, 0);
    Platform_Free(large, 0);
    Platform_Free(after, 0);
    PlatformMemStats s;
    Platform_Mem_GetStats(&s);
    CHECK(s.live_blocks == 0 && s.caller_errors == 2, "counted as caller errors, nothing live (%llu, %llu)",
          (unsigned long long) s.caller_errors, (unsigned long long) s.live_blocks);
    Platform_Mem_Shutdown();
}

/* ---- snapshots and the report ---------------------------------------------------------------------- */

/* Runs DumpDiff with stderr sent to a file; returns what it printed (malloc'd). */
static char *captured_diff(uint64_t from, uint64_t to, int *changed) {
    char path[] = "/tmp/pm-diff-XXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    *changed = Platform_Mem_DumpDiff(from, to);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t end = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t) end + 1);
    if (pread(fd, text, (size_t) end, 0) < 0) {
        text[0] = 0;
    }
    close(fd);
    unlink(path);
    return text;
}

/* The byte and block change the diff text gives for one tag line, or 0 (found = 0). */
static long long diff_bytes(const char *text, const char *tag, long long *blocks, int *found) {
    char key[80];
    snprintf(key, sizeof key, "tag  %s ", tag);
    const char *line = strstr(text, key);
    *found = line != NULL;
    long long bytes = 0;
    *blocks = 0;
    if (line != NULL && sscanf(line + strlen(key), " %lld bytes %lld blocks", &bytes, blocks) != 2) {
        *found = 0;
    }
    return bytes;
}

static void scenario_snapshots(const char *backend) {
    if (!start(backend, "")) {
        return;
    }
    void *old[8];
    for (int i = 0; i < 8; i++) {
        old[i] = Platform_Alloc(256, 0);
    }
    uint64_t first = Platform_Mem_Snapshot();
    CHECK(first > 0, "a snapshot id");
    Platform_Mem_PushTag("units");
    void *units[10];
    for (int i = 0; i < 10; i++) {
        units[i] = Platform_Alloc(100, 0);
    }
    Platform_Mem_PushTag("level");
    void *level = Platform_Alloc(20000, 0);
    Platform_Mem_PopTag();
    Platform_Mem_PopTag();
    for (int i = 0; i < 3; i++) {
        Platform_Free(old[i], 0); /* untagged shrinks by 3 blocks */
    }
    uint64_t second = Platform_Mem_Snapshot();
    CHECK(second == first + 1, "ids count up");
    int changed;
    char *text = captured_diff(first, second, &changed);
    CHECK(changed == 3, "three tags changed (%d):\n%s", changed, text);
    long long blocks;
    int found;
    long long bytes = diff_bytes(text, "units", &blocks, &found);
    CHECK(found && bytes == 1000 && blocks == 10, "units grew by 1000 bytes in 10 blocks (%lld, %lld):\n%s", bytes,
          blocks, text);
    bytes = diff_bytes(text, "level", &blocks, &found);
    CHECK(found && bytes == 20000 && blocks == 1, "level grew by 20000 bytes in 1 block (%lld, %lld)", bytes, blocks);
    bytes = diff_bytes(text, "untagged", &blocks, &found);
    CHECK(found && bytes == -768 && blocks == -3, "untagged shrank by 768 bytes in 3 blocks (%lld, %lld)", bytes,
          blocks);
    free(text);
    /* to now: units freed since the second snapshot */
    for (int i = 0; i < 10; i++) {
        Platform_Free(units[i], 0);
    }
    text = captured_diff(second, 0, &changed);
    bytes = diff_bytes(text, "units", &blocks, &found);
    CHECK(changed == 1 && found && bytes == -1000 && blocks == -10, "to now: units shrank by 1000 (%d, %lld):\n%s",
          changed, bytes, text);
    free(text);
    text = captured_diff(999, 0, &changed);
    CHECK(changed == -1, "an unknown snapshot: -1");
    free(text);
    char report[] = "/tmp/pm-report-XXXXXX";
    int fd = mkstemp(report);
    close(fd);
    CHECK(Platform_Mem_WriteReport(report) == 0, "the report is written");
    FILE *in = fopen(report, "r");
    char json[65536] = {0};
    size_t n = in != NULL ? fread(json, 1, sizeof json - 1, in) : 0;
    if (in != NULL) {
        fclose(in);
    }
    CHECK(n > 0 && strstr(json, "\"tags\"") != NULL && strstr(json, "\"level\"") != NULL &&
          strstr(json, "\"snapshots\"") != NULL && strstr(json, "\"frames\"") != NULL, "the report has the figures");
    unlink(report);
    CHECK(Platform_Mem_WriteReport("/nonexistent-dir/report.json") == -1, "an unwritable path: -1");
    Platform_Free(level, 0);
    for (int i = 3; i < 8; i++) {
        Platform_Free(old[i], 0);
    }
    /* a restart forgets the tags: a tag pushed before it no longer charges anything */
    Platform_Mem_PushTag("units");
    Platform_Mem_Shutdown();
    if (start(backend, "")) {
        void *p = Platform_Alloc(48, 0);
        void *q = Platform_Alloc(48000, 0);
        PlatformMemTagStats tags[4];
        size_t n = Platform_Mem_GetTagStats(tags, 4);
        CHECK(n == 1 && strcmp(tags[0].name, "untagged") == 0 && tags[0].live_bytes == 48048,
              "after a restart only untagged (%zu tags, %s, %llu bytes)", n, tags[0].name,
              (unsigned long long) tags[0].live_bytes);
        Platform_Free(p, 0);
        Platform_Free(q, 0);
    }
    Platform_Mem_Shutdown();
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_insights BACKEND tags|budget|frames|forbid|snapshots\n");
        return 2;
    }
    const char *backend = argv[1];
    const char *scenario = argv[2];
    if (strcmp(scenario, "tags") == 0) {
        scenario_tags(backend);
    } else if (strcmp(scenario, "budget") == 0) {
        scenario_budget(backend);
    } else if (strcmp(scenario, "frames") == 0) {
        scenario_frames(backend);
    } else if (strcmp(scenario, "forbid") == 0) {
        scenario_forbid(backend);
    } else if (strcmp(scenario, "snapshots") == 0) {
        scenario_snapshots(backend);
    } else {
        fprintf(stderr, "unknown scenario %s\n", scenario);
        return 2;
    }
    return check_summary();
}
