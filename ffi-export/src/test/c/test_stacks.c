/*
 * test_stacks.c - the call stacks module (pm_stacks.c) without the JVM. This program is the game: C built
 * -O2 -fomit-frame-pointer, C++ (stacks_cpp.cpp) whose operator new goes through wwmem.h's Alloc
 * (stacks_new.cpp), and a static function in a shared object (libstacks_game.so); the module sits in
 * libstacks_layer.so behind stand-ins for the shim's entries (stacks_layer.c), so the frames it must drop
 * are those of its own shared object.
 *
 *     test_stacks            libunwind and libdw: names, lines, inlined calls, ids, threads, growth, timing
 *     test_stacks fallback   built with a layer that cannot load either: glibc's backtrace(), dladdr
 *     test_stacks full       the table filled to its bound: captures of new stacks get 0, known ones their id
 */
#define _GNU_SOURCE
#include "check.h"
#include "compat/memory_wrapper.h"
#include "compat/wwmem.h"
#include "pm_stacks.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

/* libstacks_layer.so */
int32_t stacks_last(void);
int32_t stacks_capture(const char *file, int line);
int32_t stacks_capture_deep(int levels, const char *file, int line);
int stacks_open(int depth, char *why, size_t size);
size_t stacks_describe(int32_t id, char *out, size_t size);
void stacks_site(int32_t id, const char **file, int *line);
void stacks_usage(uint64_t *stacks, uint64_t *bytes);
/* libstacks_game.so */
void *stacks_game_alloc(size_t size);
extern int stacks_game_static_line, stacks_game_entry_line;
/* stacks_cpp.cpp */
void *stacks_make_widget(int *line);
void stacks_delete_widget(void *widget);
void *stacks_make_array(int *line, size_t n);
void stacks_delete_array(void *array);

static int fallback; /* the layer unwinds with backtrace() and names with dladdr */
/* 2, as a loop bound the compiler cannot see: a loop run twice stays one call site for every call in it */
static volatile int twice = 2;
static char text[1 << 16];

/* ---- Reading descriptions -------------------------------------------------------------------------- */

/* Line i of a description (without its newline) into out; 0 when there is no line i. */
static int line_at(const char *description, int i, char *out, size_t size) {
    const char *p = description;
    for (int k = 0; k < i; k++) {
        p = strchr(p, '\n');
        if (p == NULL) {
            return 0;
        }
        p++;
    }
    if (*p == '\0') {
        return 0;
    }
    size_t n = strcspn(p, "\n");
    n = n < size - 1 ? n : size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static int lines_in(const char *description) {
    if (description[0] == '\0') {
        return 0;
    }
    int n = 1;
    for (const char *p = description; *p != '\0'; p++) {
        n += *p == '\n';
    }
    return n;
}

/* Line i is "function (.../file:line)" (file the source file's name, with or without its folder). */
static int frame_is(const char *description, int i, const char *function, const char *file, int line) {
    char got[4096], tail[512], head[512];
    if (!line_at(description, i, got, sizeof got)) {
        return 0;
    }
    snprintf(head, sizeof head, "%s (", function);
    snprintf(tail, sizeof tail, "%s:%d)", file, line);
    size_t n = strlen(got), t = strlen(tail);
    return strncmp(got, head, strlen(head)) == 0 && n >= t && strcmp(got + n - t, tail) == 0
        && (got[n - t - 1] == '/' || got[n - t - 1] == '(');
}

/* Line i is "function (.../file:LINE)", whatever LINE. */
static int frame_named(const char *description, int i, const char *function, const char *file) {
    char got[4096], head[512], at[512];
    snprintf(head, sizeof head, "%s (", function);
    snprintf(at, sizeof at, "%s:", file);
    return line_at(description, i, got, sizeof got) && strncmp(got, head, strlen(head)) == 0
        && strstr(got + strlen(head), at) != NULL;
}

/* Line i is "module+0xOFFSET" alone, or "function (module+0xOFFSET)" when function is not NULL; *offset
 * gets OFFSET. */
static int frame_in_module(const char *description, int i, const char *function, const char *module,
                           uintptr_t *offset) {
    char got[4096], expect[512];
    if (!line_at(description, i, got, sizeof got)) {
        return 0;
    }
    const char *p = got;
    if (function != NULL) {
        snprintf(expect, sizeof expect, "%s (", function);
        if (strncmp(p, expect, strlen(expect)) != 0 || got[strlen(got) - 1] != ')') {
            return 0;
        }
        p += strlen(expect);
        got[strlen(got) - 1] = '\0';
    }
    snprintf(expect, sizeof expect, "%s+0x", module);
    if (strncmp(p, expect, strlen(expect)) != 0) {
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long value = strtoull(p + strlen(expect), &end, 16);
    *offset = (uintptr_t) value;
    return errno == 0 && *end == '\0' && end != p + strlen(expect);
}

/* No line of the description names the layer: its frames were dropped at capture. */
static int names_no_layer(const char *description) {
    return strstr(description, "stacks_layer") == NULL && strstr(description, "pm_stack") == NULL
        && strstr(description, "layer_") == NULL && strstr(description, "Platform_") == NULL;
}

static const char *describe(int32_t id) {
    stacks_describe(id, text, sizeof text);
    return text;
}

/* The offset of function's code in this executable (its address less the load bias). */
static uintptr_t offset_here(void *function) {
    Dl_info info;
    struct link_map *map = NULL;
    if (dladdr1(function, &info, (void **) &map, RTLD_DL_LINKMAP) == 0 || map == NULL) {
        return 0;
    }
    return (uintptr_t) function - (uintptr_t) map->l_addr;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e9 + (double) t.tv_nsec;
}

/* ---- The game -------------------------------------------------------------------------------------- */

static int line_level1, line_level2, line_level3, line_alloc_c, line_heap_alloc, line_inner, line_outer;

static __attribute__((noinline)) void *level3(void) {
    line_level3 = __LINE__; void *p = Platform_Alloc(16, PLATFORM_MEM_NORMAL);
    KEEP_FRAME();
    return p;
}

static __attribute__((noinline)) void *level2(void) {
    line_level2 = __LINE__; void *p = level3();
    KEEP_FRAME();
    return p;
}

static __attribute__((noinline)) void *level1(void) {
    line_level1 = __LINE__; void *p = level2();
    KEEP_FRAME();
    return p;
}

/* wwmem.h's Alloc, inlined here at -O2 with pm_ww_alloc: the call's line must be this file's. */
static __attribute__((noinline)) void *game_alloc_c(void) {
    line_alloc_c = __LINE__; void *p = Alloc(48, MEM_NORMAL);
    KEEP_FRAME();
    return p;
}

/* memory_wrapper.h's HeapAlloc on the process heap, inlined the same way. */
static __attribute__((noinline)) void *game_heap_alloc(void) {
    line_heap_alloc = __LINE__; void *p = HeapAlloc(GetProcessHeap(), 0, 24);
    KEEP_FRAME();
    return p;
}

/* The game's own inline function, expanded into its caller: two lines for one frame. */
static inline __attribute__((always_inline)) void *game_inner(void) {
    line_inner = __LINE__; void *p = Platform_Alloc(8, PLATFORM_MEM_NORMAL);
    return p;
}

static __attribute__((noinline)) void *game_outer(void) {
    line_outer = __LINE__; void *p = game_inner();
    KEEP_FRAME();
    return p;
}

/* A capture from levels frames down. */
static __attribute__((noinline)) int32_t deep_capture(int levels, int layer_levels, const char *file, int line) {
    int32_t id = levels > 0 ? deep_capture(levels - 1, layer_levels, file, line)
                            : stacks_capture_deep(layer_levels, file, line);
    KEEP_FRAME();
    return id;
}

/* Two call sites of the same function. */
static __attribute__((noinline)) int32_t site_a(void) {
    int32_t id = stacks_capture(NULL, 0);
    KEEP_FRAME();
    return id;
}

static __attribute__((noinline)) int32_t site_b(void) {
    int32_t id = stacks_capture(NULL, 0);
    KEEP_FRAME();
    return id;
}

/* ---- The cases ------------------------------------------------------------------------------------- */

static void test_open(void) {
    char why[256];
    int loaded = stacks_open(PM_STACK_DEPTH_DEFAULT, why, sizeof why);
    printf("open: %d, %s\n", loaded, why);
    CHECK(strchr(why, '\n') == NULL && why[0] != '\0', "why is one line: '%s'", why);
    if (fallback) {
        CHECK(loaded == 0, "the fallback layer cannot load libunwind, yet open returned %d", loaded);
        CHECK(strstr(why, "backtrace()") != NULL && strstr(why, "libpm-test-absent-unwind.so") != NULL,
              "why names backtrace() and the library that could not be loaded: '%s'", why);
    } else {
        CHECK(loaded == 1, "libunwind.so.8 is installed here, yet open returned %d (%s)", loaded, why);
        CHECK(strstr(why, "libunwind") != NULL, "why names libunwind: '%s'", why);
    }
    char clamped[256];
    stacks_open(1000, clamped, sizeof clamped);
    CHECK(strstr(clamped, "64 frames") != NULL, "depth 1000 is clamped to 64: '%s'", clamped);
    stacks_open(PM_STACK_DEPTH_DEFAULT, why, sizeof why);
}

static void test_unknown(void) {
    uint64_t stacks, bytes;
    stacks_usage(&stacks, &bytes);
    char out[64] = "x";
    CHECK(stacks_describe(0, out, sizeof out) == 0 && out[0] == '\0', "id 0 is unknown: '%s'", out);
    CHECK(stacks_describe(-5, out, sizeof out) == 0 && out[0] == '\0', "id -5 is unknown: '%s'", out);
    CHECK(stacks_describe((int32_t) stacks + 1, out, sizeof out) == 0, "id %d is not handed out yet",
          (int) stacks + 1);
    CHECK(stacks_describe(INT32_MAX, out, sizeof out) == 0, "id INT32_MAX is unknown");
    const char *file = "x";
    int line = 7;
    stacks_site(0, &file, &line);
    CHECK(file == NULL && line == 0, "no site for id 0");
}

static void test_levels(void) {
    int here = __LINE__; free(level1());
    int32_t id = stacks_last();
    CHECK(id > 0, "a stack was captured: %d", id);
    double start = now_ns();
    const char *d = describe(id);
    printf("time: the first pm_stack_describe (loads the symbol reader, reads the modules): %.1f ms\n",
           (now_ns() - start) / 1e6);
    printf("level1 -> level2 -> level3 -> Platform_Alloc:\n%s\n", d);
    CHECK(names_no_layer(d), "the layer's frames are dropped:\n%s", d);
    if (!fallback) {
        CHECK(frame_is(d, 0, "level3", "test_stacks.c", line_level3), "first line level3:%d:\n%s", line_level3, d);
        CHECK(frame_is(d, 1, "level2", "test_stacks.c", line_level2), "then level2:%d:\n%s", line_level2, d);
        CHECK(frame_is(d, 2, "level1", "test_stacks.c", line_level1), "then level1:%d:\n%s", line_level1, d);
        CHECK(frame_is(d, 3, "test_levels", "test_stacks.c", here), "then test_levels:%d:\n%s", here, d);
        CHECK(strstr(d, "main (") != NULL, "main is a frame:\n%s", d);
    } else {
        uintptr_t offset = 0;
        CHECK(frame_in_module(d, 0, NULL, program_invocation_short_name, &offset),
              "first line %s+0x... (its functions are not exported):\n%s", program_invocation_short_name, d);
        uintptr_t start = offset_here((void *) level3);
        CHECK(offset > start && offset < start + 256, "the first frame is in level3 (0x%lx, level3 at 0x%lx)",
              (unsigned long) offset, (unsigned long) start);
        CHECK(frame_in_module(d, 1, NULL, program_invocation_short_name, &offset)
                  && frame_in_module(d, 2, NULL, program_invocation_short_name, &offset),
              "then two more frames of this program:\n%s", d);
    }
    CHECK(lines_in(d) >= 5 && lines_in(d) <= PM_STACK_DEPTH_DEFAULT, "5..16 frames: %d", lines_in(d));
    CHECK(d[strlen(d) - 1] != '\n', "no newline after the last line");

    /* the same stack again: the same id; the same function from another call site: another id */
    /* one call site run twice (a loop the compiler cannot unroll: every frame the same) */
    int32_t ids[2] = {0, 0}, a[2] = {0, 0}, b[2] = {0, 0};
    for (int i = 0; i < twice; i++) {
        free(level1());
        ids[i] = stacks_last();
        a[i] = site_a();
        b[i] = site_b();
    }
    CHECK(ids[0] > 0 && ids[0] == ids[1], "the same stack, the same id: %d then %d", ids[0], ids[1]);
    CHECK(ids[0] != id, "level1 called from another line is another stack: %d and %d", id, ids[0]);
    CHECK(a[0] > 0 && b[0] > 0 && a[0] != b[0], "two functions at the same place, two ids: %d %d", a[0], b[0]);
    CHECK(a[0] == a[1] && b[0] == b[1], "each keeps its id: %d %d, %d %d", a[0], a[1], b[0], b[1]);

    /* the site given with the stack: a different file or line is a different stack */
    int32_t at42 = stacks_capture("game.c", 42), at43 = stacks_capture("game.c", 43), none = stacks_capture(NULL, 0);
    CHECK(at42 > 0 && at43 > 0 && none > 0 && at42 != at43 && at42 != none && at43 != none,
          "file:line tell stacks apart: %d %d %d", at42, at43, none);
    const char *file;
    int line;
    stacks_site(at42, &file, &line);
    CHECK(file != NULL && strcmp(file, "game.c") == 0 && line == 42, "site of %d: %s:%d", at42,
          file != NULL ? file : "(null)", line);
    stacks_site(none, &file, &line);
    CHECK(file == NULL && line == 0, "no site given, none kept");
    char buffer[32] = "game.c";
    int32_t copied = stacks_capture(buffer, 9);
    strcpy(buffer, "changed.c");
    stacks_site(copied, &file, &line);
    CHECK(file != NULL && strcmp(file, "game.c") == 0, "the file's text is kept: %s", file != NULL ? file : "-");
}

static void test_shared_object(void) {
    int here = __LINE__; free(stacks_game_alloc(32));
    const char *d = describe(stacks_last());
    printf("a static function in libstacks_game.so:\n%s\n", d);
    CHECK(names_no_layer(d), "the layer's frames are dropped:\n%s", d);
    if (!fallback) {
        CHECK(frame_is(d, 0, "game_static_alloc", "stacks_game.c", stacks_game_static_line),
              "first line the static function with its line %d:\n%s", stacks_game_static_line, d);
        CHECK(frame_is(d, 1, "stacks_game_alloc", "stacks_game.c", stacks_game_entry_line),
              "then the exported entry:%d:\n%s", stacks_game_entry_line, d);
        CHECK(frame_is(d, 2, "test_shared_object", "test_stacks.c", here), "then this function:%d:\n%s", here, d);
    } else {
        uintptr_t offset;
        CHECK(frame_in_module(d, 0, NULL, "libstacks_game.so", &offset),
              "the static function has no exported symbol: module+offset, not the entry's name:\n%s", d);
        CHECK(frame_in_module(d, 1, "stacks_game_alloc", "libstacks_game.so", &offset),
              "the exported entry is named by dladdr:\n%s", d);
    }
}

/* A shared object loaded after the first description: its frames are outside every module reported so far. */
static void test_late_module(void) {
    void *late = dlopen(STACKS_LATE, RTLD_NOW | RTLD_LOCAL);
    CHECK(late != NULL, "dlopen %s: %s", STACKS_LATE, dlerror());
    if (late == NULL) {
        return;
    }
    void *(*alloc)(size_t) = (void *(*)(size_t)) (uintptr_t) dlsym(late, "stacks_game_alloc");
    free(alloc(8));
    const char *d = describe(stacks_last());
    printf("the same code in libstacks_late.so, loaded after the first description:\n%s\n", d);
    uintptr_t offset;
    if (!fallback) {
        CHECK(frame_named(d, 0, "game_static_alloc", "stacks_game.c") && frame_named(d, 1, "stacks_game_alloc", "stacks_game.c"),
              "named with lines: the modules were reported again:\n%s", d);
    } else {
        CHECK(frame_in_module(d, 0, NULL, "libstacks_late.so", &offset)
                  && frame_in_module(d, 1, "stacks_game_alloc", "libstacks_late.so", &offset),
              "its module and exported entry:\n%s", d);
    }
}

static void test_cxx(void) {
    int line = 0;
    stacks_delete_widget(stacks_make_widget(&line));
    const char *d = describe(stacks_last());
    printf("new Widget() through operator new -> Alloc:\n%s\n", d);
    CHECK(names_no_layer(d), "the layer's frames are dropped:\n%s", d);
    CHECK(strncmp(d, "operator new", 12) != 0 && strstr(d, "wwmem.h") == NULL && strncmp(d, "_Znw", 4) != 0,
          "operator new and the wwmem.h wrappers are left out:\n%s", d);
    if (!fallback) {
        CHECK(frame_is(d, 0, "game::make_widget(int*)", "stacks_cpp.cpp", line),
              "first line the caller of new, demangled, at the line of new (%d):\n%s", line, d);
        CHECK(frame_named(d, 1, "stacks_make_widget", "stacks_cpp.cpp"), "then its caller:\n%s", d);
    } else {
        uintptr_t offset;
        CHECK(frame_in_module(d, 0, NULL, program_invocation_short_name, &offset),
              "first line make_widget's frame (not exported):\n%s", d);
        uintptr_t start = offset_here((void *) stacks_make_widget);
        CHECK(frame_in_module(d, 1, NULL, program_invocation_short_name, &offset) && offset > start
                  && offset < start + 64,
              "then stacks_make_widget's (0x%lx, at 0x%lx):\n%s", (unsigned long) offset, (unsigned long) start, d);
    }
    stacks_delete_array(stacks_make_array(&line, 10));
    d = describe(stacks_last());
    printf("new int[10]:\n%s\n", d);
    CHECK(strncmp(d, "operator new", 12) != 0 && strncmp(d, "_Zna", 4) != 0, "operator new[] is left out:\n%s", d);
    if (!fallback) {
        CHECK(frame_is(d, 0, "game::make_array(int*, unsigned long)", "stacks_cpp.cpp", line),
              "first line the caller of new[] at its line (%d):\n%s", line, d);
    }
}

static void test_inlined(void) {
    free(game_alloc_c());
    const char *d = describe(stacks_last());
    printf("Alloc (wwmem.h) inlined into game_alloc_c:\n%s\n", d);
    CHECK(strstr(d, "wwmem.h") == NULL && strstr(d, "pm_ww_alloc") == NULL && strncmp(d, "Alloc", 5) != 0,
          "the wrappers are left out:\n%s", d);
    if (!fallback) {
        CHECK(frame_is(d, 0, "game_alloc_c", "test_stacks.c", line_alloc_c),
              "first line the caller of Alloc at the call's line %d:\n%s", line_alloc_c, d);
    }
    free(game_heap_alloc());
    d = describe(stacks_last());
    printf("HeapAlloc (memory_wrapper.h) inlined into game_heap_alloc:\n%s\n", d);
    CHECK(strstr(d, "memory_wrapper.h") == NULL && strncmp(d, "HeapAlloc", 9) != 0, "the wrapper is left out:\n%s", d);
    if (!fallback) {
        CHECK(frame_is(d, 0, "game_heap_alloc", "test_stacks.c", line_heap_alloc),
              "first line the caller of HeapAlloc at its line %d:\n%s", line_heap_alloc, d);
    }
    free(game_outer());
    d = describe(stacks_last());
    printf("the game's own inline function:\n%s\n", d);
    if (!fallback) {
        CHECK(frame_is(d, 0, "game_inner", "test_stacks.c", line_inner), "first the inlined function at %d:\n%s",
              line_inner, d);
        CHECK(frame_is(d, 1, "game_outer", "test_stacks.c", line_outer), "then where it was inlined, %d:\n%s",
              line_outer, d);
    }
}

static void test_depth(void) {
    char why[256];
    stacks_open(2, why, sizeof why);
    free(level1());
    const char *d = describe(stacks_last());
    CHECK(lines_in(d) == 2, "depth 2: two frames:\n%s", d);
    if (!fallback) {
        CHECK(frame_is(d, 0, "level3", "test_stacks.c", line_level3) && frame_is(d, 1, "level2", "test_stacks.c", line_level2),
              "the innermost two:\n%s", d);
    }
    stacks_open(PM_STACK_DEPTH_DEFAULT, why, sizeof why);

    /* a stack deeper than the depth: exactly depth frames, however many frames of its own the layer has */
    int32_t deep[2] = {0, 0};
    for (int i = 0; i < twice; i++) {
        deep[i] = deep_capture(30, i == 0 ? 0 : 12, "deep", 1);
    }
    int32_t plain = deep[0], through = deep[1];
    char first[sizeof text];
    stacks_describe(plain, first, sizeof first);
    CHECK(lines_in(first) == PM_STACK_DEPTH_DEFAULT, "16 frames of a 30-deep stack: %d\n%s", lines_in(first), first);
    d = describe(through);
    CHECK(strcmp(d, first) == 0, "12 more frames of the layer take no depth:\n%s\n---\n%s", first, d);
    CHECK(through == plain, "and it is the same stack: %d %d", plain, through);
}

static void test_truncated(void) {
    free(level1());
    int32_t id = stacks_last();
    char full[sizeof text];
    size_t n = stacks_describe(id, full, sizeof full);
    CHECK(n == strlen(full) && n > 0, "the length written: %zu, %zu", n, strlen(full));
    int bad = 0;
    size_t first_line = strcspn(full, "\n");
    for (size_t size = 1; size <= n + 1; size++) {
        char out[sizeof text];
        memset(out, 'x', sizeof out);
        size_t got = stacks_describe(id, out, size);
        int whole_lines = got == n || (got < n && full[got] == '\n');
        int cut_first = got == size - 1 && size - 1 < first_line;
        if (got >= size || out[got] != '\0' || strncmp(out, full, got) != 0 || !(whole_lines || cut_first)
            || (whole_lines && got + 1 < size && got < n && strchr(full + got + 1, '\n') != NULL
                && (size_t) (strchr(full + got + 1, '\n') - full) < size)) {
            bad++;
        }
    }
    CHECK(bad == 0, "%d buffer sizes gave something other than whole lines (the first cut to fit)", bad);
    char none[1] = {'x'};
    CHECK(stacks_describe(id, none, 1) == 0 && none[0] == '\0', "size 1: an empty string");
}

/* ---- Threads --------------------------------------------------------------------------------------- */

enum { SITES = 64, THREADS = 4, CAPTURES = 100000 };
static _Atomic int32_t site_ids[SITES];
static atomic_int inconsistent, zeros;

static __attribute__((noinline)) int32_t thread_site(int k) {
    int32_t id = stacks_capture("threads.c", k + 1);
    KEEP_FRAME();
    return id;
}

static void *capture_loop(void *arg) {
    uint64_t random = (uint64_t) (uintptr_t) arg;
    for (int i = 0; i < CAPTURES; i++) {
        int k = (int) below(&random, SITES);
        int32_t id = thread_site(k), expected = 0;
        if (id == 0) {
            atomic_fetch_add(&zeros, 1);
        } else if (!atomic_compare_exchange_strong(&site_ids[k], &expected, id) && expected != id) {
            atomic_fetch_add(&inconsistent, 1);
        }
    }
    return NULL;
}

static void test_threads(void) {
    uint64_t before, after, bytes;
    stacks_usage(&before, &bytes);
    pthread_t threads[THREADS];
    double start = now_ns();
    for (int t = 0; t < THREADS; t++) {
        pthread_create(&threads[t], NULL, capture_loop, (void *) (uintptr_t) (t + 1));
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
    }
    double took = now_ns() - start;
    stacks_usage(&after, &bytes);
    printf("threads: %d x %d captures of %d stacks in %.0f ms\n", THREADS, CAPTURES, SITES, took / 1e6);
    CHECK(atomic_load(&inconsistent) == 0 && atomic_load(&zeros) == 0, "%d captures saw another id, %d got 0",
          atomic_load(&inconsistent), atomic_load(&zeros));
    CHECK(after - before == SITES, "%d sites, %d new stacks", SITES, (int) (after - before));
    int distinct = 1;
    for (int i = 0; i < SITES; i++) {
        for (int j = i + 1; j < SITES; j++) {
            distinct &= site_ids[i] != site_ids[j];
        }
    }
    CHECK(distinct, "every site its own id");
}

/* ---- Growth ---------------------------------------------------------------------------------------- */

static __attribute__((noinline)) int32_t growth_site(int line) {
    int32_t id = stacks_capture("growth.c", line);
    KEEP_FRAME();
    return id;
}

enum { GROWTH = 20000 }; /* past the first index's 4096 slots three times over */

/* Captures lines 1..GROWTH into ids[line - 1], in the order given: the same call sites every time. */
static __attribute__((noinline)) void growth_pass(const int *lines, int32_t *ids) {
    for (int i = 0; i < GROWTH; i++) {
        ids[lines[i] - 1] = growth_site(lines[i]);
    }
    KEEP_FRAME();
}

static void test_growth(void) {
    enum { N = GROWTH };
    static int32_t ids[2][N];
    static int lines[2][N];
    for (int i = 0; i < N; i++) {
        lines[0][i] = i + 1;
        lines[1][i] = N - i; /* found again in the other order */
    }
    uint64_t before, bytes_before, after, bytes_after;
    stacks_usage(&before, &bytes_before);
    for (int pass = 0; pass < twice; pass++) {
        growth_pass(lines[pass], ids[pass]);
    }
    int good[2] = {1, 1};
    for (int i = 0; i < N; i++) {
        good[0] &= ids[0][i] == (int32_t) before + 1 + i;
        good[1] &= ids[1][i] == ids[0][i];
    }
    CHECK(good[0], "new stacks get ids one after another from %d", (int) before + 1);
    CHECK(good[1], "every stack found again after the index grew");
    stacks_usage(&after, &bytes_after);
    printf("growth: %llu stacks in %llu bytes\n", (unsigned long long) after, (unsigned long long) bytes_after);
    CHECK(after == before + N, "%d more stacks: %llu -> %llu", N, (unsigned long long) before,
          (unsigned long long) after);
    CHECK(bytes_after >= bytes_before + (uint64_t) N * 40 && bytes_after < (uint64_t) 64 << 20,
          "their memory is counted: %llu -> %llu bytes", (unsigned long long) bytes_before,
          (unsigned long long) bytes_after);
    const char *file;
    int line;
    stacks_site(ids[0][N - 1], &file, &line);
    CHECK(file != NULL && strcmp(file, "growth.c") == 0 && line == N, "the last one's site: %s:%d",
          file != NULL ? file : "-", line);
}

/* ---- Time ------------------------------------------------------------------------------------------ */

typedef int (*Unwind)(void **buffer, int size);

/* levels frames down, n captures of one known stack (or, with unwind, n unwinds of 20 frames alone); the ns
 * each took. */
static __attribute__((noinline)) double timed_captures(int levels, int n, int32_t *id, Unwind unwind) {
    double ns;
    if (levels > 0) {
        ns = timed_captures(levels - 1, n, id, unwind);
    } else if (unwind != NULL) {
        void *frames[20];
        int got = 0;
        double start = now_ns();
        for (int i = 0; i < n; i++) {
            got += unwind(frames, 20);
        }
        ns = (now_ns() - start) / n;
        *id = got == 20 * n;
    } else {
        double start = now_ns();
        int32_t first = 0, same = 1;
        for (int i = 0; i < n; i++) {
            int32_t got = stacks_capture("time", 1);
            first = i == 0 ? got : first;
            same &= got == first;
        }
        *id = same ? first : 0;
        ns = (now_ns() - start) / n;
    }
    KEEP_FRAME();
    return ns;
}

static void test_time(void) {
    int32_t id = 0;
    double ns = 0;
    for (int i = 0; i < twice; i++) { /* the first pass warms libunwind's cache for these return addresses */
        ns = timed_captures(24, i == 0 ? 10000 : 200000, &id, NULL);
    }
    CHECK(id > 0, "every capture in the loop found the stack");
    char out[sizeof text];
    stacks_describe(id, out, sizeof out);
    CHECK(lines_in(out) == PM_STACK_DEPTH_DEFAULT, "the timed stack has 16 frames: %d", lines_in(out));
    int32_t fresh = deep_capture(3, 0, "time", 2); /* frames not described yet */
    double start = now_ns();
    stacks_describe(fresh, out, sizeof out);
    double first = now_ns() - start;
    start = now_ns();
    for (int i = 0; i < 100; i++) {
        stacks_describe(id, out, sizeof out);
    }
    double again = (now_ns() - start) / 100;
    printf("time: pm_stack_capture of a known stack, depth 16 (24 frames below the caller): %.0f ns\n", ns);
    void *libunwind = fallback ? NULL : dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    Unwind unwind = libunwind != NULL ? (Unwind) (uintptr_t) dlsym(libunwind, "unw_backtrace") : NULL;
    if (unwind != NULL) {
        int32_t all = 0;
        double alone = 0;
        for (int i = 0; i < twice; i++) {
            alone = timed_captures(24, i == 0 ? 10000 : 200000, &all, unwind);
        }
        printf("time: of which unw_backtrace of the 20 frames it asks for (16 + the layer's 4): %.0f ns\n", alone);
    }
    printf("time: pm_stack_describe: %.1f us for new frames, %.1f us for 16 frames described before\n", first / 1e3,
           again / 1e3);
}

/* ---- Full ------------------------------------------------------------------------------------------ */

static void test_full(void) {
    char why[256];
    stacks_open(1, why, sizeof why);
    int32_t known = growth_site(-1), last = known;
    int line = 0;
    double start = now_ns();
    for (line = 1; line <= PM_STACKS_MAX + 1; line++) {
        int32_t id = growth_site(line);
        if (id == 0) {
            break;
        }
        last = id;
    }
    uint64_t stacks, bytes;
    stacks_usage(&stacks, &bytes);
    printf("full: %llu stacks in %llu bytes, %.0f ms\n", (unsigned long long) stacks, (unsigned long long) bytes,
           (now_ns() - start) / 1e6);
    CHECK(line <= PM_STACKS_MAX, "a new stack gets 0 once the table is full (%d stacks made)", line);
    CHECK(bytes <= PM_STACKS_MAX_BYTES, "at most %zu bytes: %llu", PM_STACKS_MAX_BYTES, (unsigned long long) bytes);
    CHECK(stacks == (uint64_t) last, "the last id %d is the count %llu", last, (unsigned long long) stacks);
    CHECK(growth_site(-1) == known && growth_site(line - 1) == last, "known stacks keep their ids");
    CHECK(growth_site(line + 1) == 0 && growth_site(line + 2) == 0, "new ones still get 0");
    CHECK(stacks_describe(last, text, sizeof text) > 0, "the last one is described");
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "all";
    fallback = strcmp(mode, "fallback") == 0;
    char out[8] = "x";
    CHECK(stacks_capture(NULL, 0) == 0, "no stack before pm_stacks_open");
    CHECK(stacks_describe(1, out, sizeof out) == 0, "nothing to describe before pm_stacks_open");
    test_open();
    if (strcmp(mode, "full") == 0) {
        test_full();
        return check_summary();
    }
    test_unknown();
    test_levels();
    test_shared_object();
    test_late_module();
    test_cxx();
    test_inlined();
    test_time(); /* before test_depth, whose deep layer path makes every later capture unwind 12 frames more */
    test_depth();
    test_truncated();
    test_threads();
    test_growth();
    return check_summary();
}
