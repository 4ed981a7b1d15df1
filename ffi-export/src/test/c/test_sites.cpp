/*
 * Call stacks as allocation sites, through the real ABI from a C++ host whose global operator new and
 * delete go to the game's Alloc/Free as include/compat/wwmem.h shows. Built with -g twice: with and
 * without frame pointers (unwinding then needs the unwind tables). Scenarios (argv[1]):
 *   leaks     tracking=leaks: each leaked object's first frame is the function that did new, with its
 *             file:line; a leak from a static function inside a shared object names that function
 *   sample    counters with sample=: two functions allocate live bytes 3:1; the JSON report's top stacks
 *             name both, as estimates within 25% of the truth
 *   break     breakAlloc=N: the handler hears BREAK_ALLOC at allocation N from the function that made it,
 *             and without a debugger the call goes on and returns its block (under gdb it stops: the
 *             ctest case break_under_gdb reads the backtrace)
 *   checkevery tracking=debug, checkEvery=1000: a write after free is reported within 1000 calls, with
 *             the stacks of the allocation and of the free
 *   exit      tracking=debug, leakReport=exit: writes after a free and leaks, then returns from main;
 *             sites_exit.cmake reads what the exit wrote
 */
#include <new>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <fcntl.h>

#include "compat/wwmem.h"

extern "C" {
#include "check.h"
void *sites_library_leak(size_t size);
}

void *operator new(std::size_t size) {
    void *block = Alloc(size == 0 ? 1 : (unsigned long) size, MEM_NEW);
    if (block == nullptr) {
        throw std::bad_alloc();
    }
    return block;
}
void *operator new[](std::size_t size) { return operator new(size); }
void operator delete(void *block) noexcept { Free(block); }
void operator delete[](void *block) noexcept { Free(block); }
void operator delete(void *block, std::size_t) noexcept { Free(block); }
void operator delete[](void *block, std::size_t) noexcept { Free(block); }

struct Enemy {
    char name[40];
    int hp;
};

static int enemy_line, tower_line, break_line, a_line, b_line;

#define KEEP() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) Enemy *make_enemy() {
    enemy_line = __LINE__ + 1;
    Enemy *e = new Enemy();
    KEEP();
    return e;
}

__attribute__((noinline)) char *build_tower(size_t n) {
    tower_line = __LINE__ + 1;
    char *t = new char[n];
    KEEP();
    return t;
}

/* Everything the layer writes to stderr while fn runs. */
template <typename F> static std::string captured_stderr(F fn) {
    fflush(stderr);
    char path[] = "/tmp/pm-sites-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::string text;
    char chunk[4096];
    lseek(fd, 0, SEEK_SET);
    for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) {
        text.append(chunk, (size_t) n);
    }
    close(fd);
    unlink(path);
    return text;
}

/* The site of the leak report's block line for address p: what follows "  at ". */
static std::string site_of(const std::string &report, const void *p) {
    char address[32];
    snprintf(address, sizeof address, "  %p  ", p);
    size_t at = report.find(address);
    if (at == std::string::npos) {
        return "(not in the report)";
    }
    size_t site = report.find("  at ", at);
    size_t end = report.find('\n', at);
    return site == std::string::npos || site > end ? "(no site)" : report.substr(site + 5, end - site - 5);
}

static bool starts_with(const std::string &s, const std::string &prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

static int leaks_scenario() {
    Enemy *e1 = make_enemy();
    Enemy *e2 = make_enemy();
    char *tower = build_tower(300);
    void *part = sites_library_leak(72);
    delete make_enemy(); /* freed: not in the report */
    PlatformMemStats stats;
    Platform_Mem_GetStats(&stats);
    CHECK(stats.live_blocks == 4, "4 live blocks, not %llu", (unsigned long long) stats.live_blocks);
    std::string report = captured_stderr([] { Platform_Mem_DumpLeaks(); });
    char line[64];
    snprintf(line, sizeof line, "test_sites.cpp:%d)", enemy_line);
    for (Enemy *e : {e1, e2}) {
        std::string site = site_of(report, e);
        CHECK(starts_with(site, "make_enemy"), "the first frame is the function that did new: %s\n%s", site.c_str(),
              report.c_str());
        CHECK(site.substr(0, site.find(" <- ")).find(line) != std::string::npos, "with its line %s: %s", line, site.c_str());
        CHECK(site.find(" <- ") != std::string::npos && site.find("main") != std::string::npos,
              "and its callers up to main: %s", site.c_str());
        CHECK(site.find("operator new") == std::string::npos && site.find("Alloc") == std::string::npos,
              "no frame of the compat wrappers: %s", site.c_str());
    }
    std::string tower_site = site_of(report, tower);
    snprintf(line, sizeof line, "test_sites.cpp:%d)", tower_line);
    CHECK(starts_with(tower_site, "build_tower") && tower_site.find(line) != std::string::npos, "new[]: %s",
          tower_site.c_str());
    std::string part_site = site_of(report, part);
    CHECK(starts_with(part_site, "library_make_part"), "a static function of a shared object: %s", part_site.c_str());
    CHECK(part_site.find("sites_lib.c:") != std::string::npos, "with its file:line: %s", part_site.c_str());
    CHECK(part_site.find("sites_library_leak") != std::string::npos, "then its caller: %s", part_site.c_str());
    CHECK(report.find("by site:\n  build_tower") != std::string::npos, "grouped by stack, the most bytes first:\n%s",
          report.c_str());
    CHECK(report.find("      from ") != std::string::npos, "a stack a frame a line:\n%s", report.c_str());
    CHECK(report.find("  #") != std::string::npos, "allocation numbers:\n%s", report.c_str());
    delete e1;
    delete e2;
    delete[] tower;
    Platform_Free(part, 0);
    return check_summary();
}

/* ---- sample ---------------------------------------------------------------------------------------- */

static void *kept[200000];
static size_t kept_count;

__attribute__((noinline)) void alloc_from_a(size_t n) {
    a_line = __LINE__ + 2;
    for (size_t i = 0; i < n; i++) {
        kept[kept_count++] = Platform_Alloc(96 + (i % 7) * 16, PLATFORM_MEM_NORMAL);
        KEEP();
    }
}

__attribute__((noinline)) void alloc_from_b(size_t n) {
    b_line = __LINE__ + 2;
    for (size_t i = 0; i < n; i++) {
        kept[kept_count++] = Platform_Alloc(96 + (i % 7) * 16, PLATFORM_MEM_NORMAL);
        KEEP();
    }
}

/* The estimate of the JSON report's "sites" entry (the current figures: the first "sites") naming fn. */
static long long estimate_for(const std::string &json, const char *fn, bool *labelled) {
    size_t sites = json.find("\"sites\":[");
    size_t end = json.find(']', sites);
    size_t at = json.find(std::string("\"site\":\"") + fn, sites);
    if (sites == std::string::npos || at == std::string::npos || at > end) {
        return -1;
    }
    size_t bytes = json.find("\"liveBytes\":", at);
    size_t close = json.find('}', at);
    *labelled = json.substr(at, close - at).find("\"estimate\":true") != std::string::npos;
    return atoll(json.c_str() + bytes + 12);
}

static int sample_scenario() {
    /* live bytes from a : from b = 3 : 1, mixed in time */
    long long truth_a = 0, truth_b = 0;
    for (int round = 0; round < 40; round++) {
        size_t before = kept_count;
        alloc_from_a(3000);
        for (size_t i = before; i < kept_count; i++) truth_a += (long long) Platform_Mem_Size(kept[i]);
        before = kept_count;
        alloc_from_b(1000);
        for (size_t i = before; i < kept_count; i++) truth_b += (long long) Platform_Mem_Size(kept[i]);
    }
    const char *path = "/tmp/pm-sites-sample.json";
    CHECK(Platform_Mem_WriteReport(path) == 0, "the report is written");
    FILE *f = fopen(path, "r");
    std::string json;
    if (f != NULL) {
        char chunk[8192];
        for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0;) json.append(chunk, n);
        fclose(f);
    }
    remove(path);
    bool la = false, lb = false;
    long long a = estimate_for(json, "alloc_from_a", &la), b = estimate_for(json, "alloc_from_b", &lb);
    printf("sample: a %lld bytes estimated %lld, b %lld estimated %lld\n", truth_a, a, truth_b, b);
    CHECK(a > 0 && b > 0, "both functions are among the top stacks:\n%.2000s", json.c_str());
    CHECK(la && lb, "labelled as estimates");
    CHECK(a > truth_a * 0.75 && a < truth_a * 1.25, "a within 25%%: %lld of %lld", a, truth_a);
    CHECK(b > truth_b * 0.75 && b < truth_b * 1.25, "b within 25%%: %lld of %lld", b, truth_b);
    for (size_t i = 0; i < kept_count; i++) Platform_Free(kept[i], 0);
    json.clear();
    json.shrink_to_fit(); /* its block came from operator new, so from the layer too */
    PlatformMemStats stats;
    Platform_Mem_GetStats(&stats);
    CHECK(stats.live_blocks == 0, "every block freed, sampled or not: %llu live", (unsigned long long) stats.live_blocks);
    return check_summary();
}

/* ---- break --------------------------------------------------------------------------------------- */

static std::atomic<int> breaks;
static std::string break_message;

static void on_error(int code, const char *message, void *) {
    if (code == PLATFORM_MEM_ERR_BREAK_ALLOC) {
        breaks++;
        break_message = message;
    }
}

__attribute__((noinline)) void *allocate_the_fifth(void) {
    break_line = __LINE__ + 1;
    void *p = Platform_Alloc(55, PLATFORM_MEM_NORMAL);
    KEEP();
    return p;
}

static int break_scenario() {
    Platform_Mem_SetErrorHandler(on_error);
    void *first[4];
    for (int i = 0; i < 4; i++) first[i] = Platform_Alloc(8, PLATFORM_MEM_NORMAL);
    CHECK(breaks == 0, "no break before the fifth allocation");
    void *fifth = allocate_the_fifth();
    CHECK(fifth != NULL, "the fifth allocation is served");
    CHECK(breaks == 1, "the handler heard BREAK_ALLOC once: %d", breaks.load());
    CHECK(break_message.find("allocation #5 (55 bytes") != std::string::npos, "%s", break_message.c_str());
    CHECK(break_message.find("allocate_the_fifth") != std::string::npos, "with its stack: %s", break_message.c_str());
    Platform_Mem_BreakAlloc(7);
    void *sixth = Platform_Alloc(8, PLATFORM_MEM_NORMAL), *seventh = Platform_Alloc(8, PLATFORM_MEM_NORMAL);
    CHECK(breaks == 2, "Platform_Mem_BreakAlloc sets it at run time: %d", breaks.load());
    PlatformMemStats stats;
    Platform_Mem_GetStats(&stats);
    CHECK(stats.caller_errors == 0, "a break is not an error: %llu", (unsigned long long) stats.caller_errors);
    for (void *p : first) Platform_Free(p, 0);
    Platform_Free(fifth, 0);
    Platform_Free(sixth, 0);
    Platform_Free(seventh, 0);
    return check_summary();
}

/* ---- debug: checkEvery, exit --------------------------------------------------------------------- */

static std::atomic<int> use_after_free;
static std::string uaf_message;

static void on_uaf(int code, const char *message, void *) {
    if (code == PLATFORM_MEM_ERR_USE_AFTER_FREE && use_after_free++ == 0) {
        uaf_message = message;
    }
}

__attribute__((noinline)) char *allocate_victim(void) {
    char *p = (char *) Platform_Alloc(64, PLATFORM_MEM_NORMAL);
    KEEP();
    return p;
}

__attribute__((noinline)) void release_victim(char *p) {
    Platform_Free(p, 64);
    KEEP();
}

static int checkevery_scenario() {
    Platform_Mem_SetErrorHandler(on_uaf);
    char *victim = allocate_victim();
    release_victim(victim);
    victim[10] = 'x'; /* a write after free: the block is held in the quarantine */
    int calls = 0;
    while (use_after_free == 0 && calls < 1000) {
        void *p = Platform_Alloc(24, PLATFORM_MEM_NORMAL);
        Platform_Free(p, 24);
        calls += 2;
    }
    CHECK(use_after_free == 1, "reported once within 1000 calls, without a heap check: %d after %d calls",
          use_after_free.load(), calls);
    CHECK(uaf_message.find("allocated at allocate_victim") != std::string::npos, "the allocation's stack: %s",
          uaf_message.c_str());
    CHECK(uaf_message.find("freed at release_victim") != std::string::npos, "the free's stack: %s", uaf_message.c_str());
    CHECK(Platform_Mem_CheckHeap() == 0, "reported once: a later check finds nothing new");
    printf("checkevery: reported after %d calls\n", calls);
    return check_summary();
}

static int exit_scenario() {
    char *victim = allocate_victim();
    release_victim(victim);
    victim[3] = 'y';
    (void) make_enemy(); /* leaked */
    printf("exit: wrote after a free and leaked; returning from main\n");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    const char *scenario = argc > 1 ? argv[1] : "";
    if (strcmp(scenario, "leaks") == 0) return leaks_scenario();
    if (strcmp(scenario, "sample") == 0) return sample_scenario();
    if (strcmp(scenario, "break") == 0) return break_scenario();
    if (strcmp(scenario, "checkevery") == 0) return checkevery_scenario();
    if (strcmp(scenario, "exit") == 0) return exit_scenario();
    fprintf(stderr, "usage: test_sites leaks|sample|break|checkevery|exit\n");
    return 2;
}
