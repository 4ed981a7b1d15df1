/*
 * pm_clients: real programs as clients of one subject (an allocator) per process, each with its own
 * allocator hook pointed at the subject, doing a fixed amount of work whose wall time is measured.
 *
 *   pm_clients --subject NAME --out FILE [--clients lua,sqlite,cpp] [--scale N] [--samples N]
 *
 *   lua     Lua 5.4 through lua_newstate(hook, ud): a script of interpreter churn (binary trees,
 *           string building, tables growing and shrinking, closures and coroutines)
 *   sqlite  SQLite through sqlite3_config(SQLITE_CONFIG_MALLOC): an in-memory database with two
 *           tables, rows with text and blobs inserted in transactions, indexes, selects, updates,
 *           deletes
 *   cpp     a C++17 game loop (pm_client_game.cpp) whose global operator new/delete (every form) go to
 *           the subject: the game's Alloc(size, MEM_NEW)/Free from compat/wwmem.h for the backends
 *
 * The subject is fixed when the program is built (see pm_clients.h): pm_clients calls the backends
 * through the C ABI (the backend named by --subject), pm_clients_glibc, pm_clients_jemalloc and
 * pm_clients_mimalloc the native peers. The hooks are the same code for every subject; only the three
 * or four calls inside them differ.
 *
 * Work comes in units (about 10 ms each with glibc): each client runs three times in the process, a
 * warm-up (an eighth of --scale units, at least one, after 20,000 calls that warm the call path), the
 * timed run (--scale units; wall time of the whole client, from creating its state to closing it) and
 * a sampled run (one unit, every allocator call timed with the cycle counter until the sample buffer
 * is full).
 * Output, one record a line, read by org.platformmemory.bench.report.HarnessOutput:
 *   pm-bench 1
 *   subject NAME
 *   timer KIND OVERHEAD_NS
 *   client NAME CALLS NANOS CHECK     the timed run: CALLS allocator calls in NANOS wall time; CHECK a
 *                                     digest of the client's results, equal for every subject
 *   samples NAME V V V ...            per-call latencies in ns of the sampled run
 *   end
 * Exit status 0 only if every client ran and every allocation succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <sqlite3.h>

#include "pm_clients.h"

#if defined(PM_CLIENT_ABI)
#  include "platform_memory.h"
#  include "pm_bench_insights.h"
static inline void *subject_alloc(size_t n) { return Platform_Alloc(n, PLATFORM_MEM_NORMAL); }
static inline void subject_free(void *p, size_t n) { Platform_Free(p, n); }
static inline void *subject_realloc(void *p, size_t old_size, size_t n) { return Platform_Realloc(p, old_size, n); }
static inline size_t subject_size(void *p) { return Platform_Mem_Size(p); }
#elif defined(PM_CLIENT_MIMALLOC)
#  include <mimalloc.h>
static const char *KIND = "mimalloc";
static inline void *subject_alloc(size_t n) { return mi_malloc(n); }
static inline void subject_free(void *p, size_t n) { (void) n; mi_free(p); }
static inline void *subject_realloc(void *p, size_t old_size, size_t n) { (void) old_size; return mi_realloc(p, n); }
static inline size_t subject_size(void *p) { return mi_usable_size(p); }
#else
#  include <malloc.h>
#  if defined(PM_CLIENT_JEMALLOC)
#    include <jemalloc/jemalloc.h>
static const char *KIND = "jemalloc";
#  else
static const char *KIND = "glibc";
#  endif
static inline void *subject_alloc(size_t n) { return malloc(n); }
static inline void subject_free(void *p, size_t n) { (void) n; free(p); }
static inline void *subject_realloc(void *p, size_t old_size, size_t n) { (void) old_size; return realloc(p, n); }
static inline size_t subject_size(void *p) { return malloc_usable_size(p); }
#endif

uint64_t pm_client_calls;
int pm_client_sampling;

static uint32_t *samples;
static size_t sample_count, sample_capacity = 20000;
static double ns_per_tick = 1.0;
static uint64_t timer_overhead_ticks;
static int failed;

static uint64_t wall_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

/* Ticks to ns against the monotonic clock over 20 ms, and the cheapest empty interval (subtracted). */
static void calibrate_timer(void) {
    uint64_t w0 = wall_ns(), t0 = pm_ticks();
    while (wall_ns() - w0 < 20000000u) {
    }
    uint64_t w1 = wall_ns(), t1 = pm_ticks();
    ns_per_tick = (double) (w1 - w0) / (double) (t1 - t0);
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 100000; i++) {
        uint64_t a = pm_ticks(), b = pm_ticks();
        if (b - a < best) {
            best = b - a;
        }
    }
    timer_overhead_ticks = best;
}

void pm_client_record(uint64_t t0, uint64_t t1) {
    uint64_t d = t1 - t0;
    d = d > timer_overhead_ticks ? d - timer_overhead_ticks : 0;
    double ns = (double) d * ns_per_tick + 0.5;
    samples[sample_count++] = ns > 4e9 ? 4000000000u : (uint32_t) ns;
    if (sample_count == sample_capacity) {
        pm_client_sampling = 0;
    }
}

/* A digest of a client's results: every figure it checks goes in, in order. */
static uint64_t digest(uint64_t h, uint64_t value) {
    h ^= value + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDull;
}

/* ---- Lua: lua_newstate with the subject as its allocator ------------------------------------------ */

/* Lua's allocator contract: nsize 0 frees (osize is the block's size), ptr NULL allocates (osize is
 * then an object kind, not a size), else resizes from osize to nsize. */
static void *lua_hook(void *ud, void *ptr, size_t osize, size_t nsize) {
    void *q;
    (void) ud;
    if (nsize == 0) {
        if (ptr != NULL) {
            PM_CLIENT_VOID_CALL(subject_free(ptr, osize));
        }
        return NULL;
    }
    if (ptr == NULL) {
        PM_CLIENT_CALL(q, subject_alloc(nsize));
    } else {
        PM_CLIENT_CALL(q, subject_realloc(ptr, osize, nsize));
    }
    if (q == NULL) {
        failed = 1;
    }
    return q;
}

/* The script: fixed work for a number of units (its only argument; a unit is ~10 ms with glibc on a
 * 2020s core); returns a checksum and asserts what it can check itself. */
static const char LUA_SCRIPT[] =
    "local units = ...\n"
    "local check = 0\n"
    "-- 1. binary trees: short-lived trees of growing depth beside a long-lived one\n"
    "local function tree(depth)\n"
    "  if depth == 0 then return {} end\n"
    "  depth = depth - 1\n"
    "  return { tree(depth), tree(depth) }\n"
    "end\n"
    "local function nodes(t)\n"
    "  local left = t[1]\n"
    "  if left == nil then return 1 end\n"
    "  return 1 + nodes(left) + nodes(t[2])\n"
    "end\n"
    "local maxdepth = 12\n"
    "local longlived = tree(maxdepth)\n"
    "for depth = 4, maxdepth, 2 do\n"
    "  local iterations = (1 << (maxdepth - depth - 1)) * units\n"
    "  local sum = 0\n"
    "  for _ = 1, iterations do sum = sum + nodes(tree(depth)) end\n"
    "  assert(sum == iterations * ((1 << (depth + 1)) - 1), 'binary trees')\n"
    "  check = check + sum\n"
    "end\n"
    "assert(nodes(longlived) == (1 << (maxdepth + 1)) - 1, 'long-lived tree')\n"
    "-- 2. strings: formatting, joining, upper-casing, splitting, piecewise concatenation\n"
    "local recent = {}\n"
    "for i = 1, 25 * units do\n"
    "  local parts = {}\n"
    "  for j = 1, 50 do\n"
    "    parts[#parts + 1] = string.format('%s-%d:%x', 'entity', i * 50 + j, (i * j) % 4096)\n"
    "  end\n"
    "  local line = table.concat(parts, ',')\n"
    "  local count = 0\n"
    "  for _ in line:upper():gmatch('[^,]+') do count = count + 1 end\n"
    "  assert(count == 50, 'split')\n"
    "  local s = ''\n"
    "  for j = 1, 20 do s = s .. tostring(i + j) .. ';' end\n"
    "  recent[#recent + 1] = line:sub(1, 40) .. s\n"
    "  if #recent > 100 then table.remove(recent, 1) end\n"
    "  check = check + #line + #s + #line:gsub('%d', '#')\n"
    "end\n"
    "-- 3. tables: a registry keyed by strings grows and shrinks; an array with inserts and removes inside\n"
    "local registry, live = {}, 0\n"
    "for i = 1, 2500 * units do\n"
    "  local key = 'obj' .. (i % 5003)\n"
    "  if registry[key] then\n"
    "    registry[key] = nil\n"
    "    live = live - 1\n"
    "  else\n"
    "    registry[key] = { id = i, name = key, tags = { i % 7, i % 11 } }\n"
    "    live = live + 1\n"
    "  end\n"
    "end\n"
    "local n = 0\n"
    "for _ in pairs(registry) do n = n + 1 end\n"
    "assert(n == live, 'registry')\n"
    "local list = {}\n"
    "for i = 1, 400 * units do\n"
    "  table.insert(list, (i * 7) % (#list + 1) + 1, { i })\n"
    "  if #list > 500 then table.remove(list, (i * 13) % #list + 1) end\n"
    "end\n"
    "check = check + live * 1000 + #list\n"
    "-- 4. closures and coroutines\n"
    "local function counter(step)\n"
    "  local total = 0\n"
    "  return function(times)\n"
    "    for _ = 1, times do total = total + step end\n"
    "    return total\n"
    "  end\n"
    "end\n"
    "local acc = 0\n"
    "for i = 1, 2500 * units do acc = acc + counter(i % 10 + 1)(3) end\n"
    "for i = 1, 60 * units do\n"
    "  local gen = coroutine.wrap(function(a) for k = 1, 10 do coroutine.yield(a + k) end end)\n"
    "  for _ = 1, 10 do acc = acc + gen(i) end\n"
    "end\n"
    "return check + acc\n";

static int run_lua(unsigned units, uint64_t *check) {
    lua_State *L = lua_newstate(lua_hook, NULL);
    if (L == NULL) {
        fprintf(stderr, "pm_clients: lua_newstate failed\n");
        return 0;
    }
    luaL_openlibs(L);
    int ok = luaL_loadbufferx(L, LUA_SCRIPT, sizeof LUA_SCRIPT - 1, "=churn", "t") == LUA_OK;
    if (ok) {
        lua_pushinteger(L, (lua_Integer) units);
        ok = lua_pcall(L, 1, 1, 0) == LUA_OK;
    }
    if (!ok) {
        fprintf(stderr, "pm_clients: lua: %s\n", lua_tostring(L, -1));
    } else {
        *check = digest(0, (uint64_t) lua_tointeger(L, -1));
    }
    lua_close(L);
    return ok;
}

/* ---- SQLite: sqlite3_config(SQLITE_CONFIG_MALLOC) with the subject -------------------------------- */

static void *sq_malloc(int n) {
    void *p;
    PM_CLIENT_CALL(p, subject_alloc((size_t) n));
    return p;
}

static void sq_free(void *p) {
    PM_CLIENT_VOID_CALL(subject_free(p, 0)); /* SQLite passes no size: 0 is "unknown" for the ABI */
}

static void *sq_realloc(void *p, int n) {
    void *q;
    PM_CLIENT_CALL(q, subject_realloc(p, 0, (size_t) n));
    return q;
}

static int sq_size(void *p) {
    return p == NULL ? 0 : (int) subject_size(p);
}

static int sq_roundup(int n) {
    return (n + 7) & ~7; /* what SQLite's own malloc wrapper does */
}

static int sq_init(void *data) {
    (void) data;
    return SQLITE_OK;
}

static void sq_shutdown(void *data) {
    (void) data;
}

static int sql_ok(sqlite3 *db, int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "pm_clients: sqlite: %s: %s\n", what, sqlite3_errmsg(db));
        return 0;
    }
    return 1;
}

static int sql_exec(sqlite3 *db, const char *sql) {
    return sql_ok(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

/* Runs sql (a query) and folds every column of every row into *h: integers as they are, text and
 * blobs by length. */
static int sql_fold(sqlite3 *db, const char *sql, uint64_t *h) {
    sqlite3_stmt *q;
    if (!sql_ok(db, sqlite3_prepare_v2(db, sql, -1, &q, NULL), sql)) {
        return 0;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(q); c++) {
            int type = sqlite3_column_type(q, c);
            *h = digest(*h, type == SQLITE_INTEGER ? (uint64_t) sqlite3_column_int64(q, c)
                                                   : (uint64_t) sqlite3_column_bytes(q, c));
        }
    }
    sqlite3_finalize(q);
    return sql_ok(db, rc, sql);
}

static uint64_t sq_random(uint64_t *state) {
    uint64_t x = *state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}

static const char *const KINDS[] = {"move", "attack", "chat", "trade", "loot", "craft"};
static const char *const SYLLABLES[] = {"ka", "ri", "mo", "zen", "tha", "lu", "vor", "e", "ash", "ul"};

/* units: 500 players and 1000 events a unit */
static int run_sqlite(unsigned units, uint64_t *check) {
    sqlite3 *db = NULL;
    uint64_t rng = 42, h = 0;
    unsigned rows = 500 * units;
    unsigned char blob[4096];
    char text[128];
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        fprintf(stderr, "pm_clients: sqlite: cannot open a database: %s\n", db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return 0;
    }
    int ok = sql_exec(db, "CREATE TABLE players(id INTEGER PRIMARY KEY, name TEXT NOT NULL, clan TEXT NOT NULL, "
                          "score INTEGER NOT NULL, profile BLOB);"
                          "CREATE TABLE events(id INTEGER PRIMARY KEY, player INTEGER NOT NULL, kind TEXT NOT NULL, "
                          "payload BLOB)");
    sqlite3_stmt *player = NULL, *event = NULL, *top = NULL;
    ok = ok && sql_ok(db, sqlite3_prepare_v2(db, "INSERT INTO players(name, clan, score, profile) VALUES(?, ?, ?, ?)",
                                             -1, &player, NULL), "prepare");
    ok = ok && sql_ok(db, sqlite3_prepare_v2(db, "INSERT INTO events(player, kind, payload) VALUES(?, ?, ?)", -1,
                                             &event, NULL), "prepare");
    ok = ok && sql_ok(db, sqlite3_prepare_v2(db, "SELECT name, score FROM players WHERE clan = ? "
                                                 "ORDER BY score DESC LIMIT 10", -1, &top, NULL), "prepare");
    /* players: names of 2..6 syllables and a number, 40 clans, profiles of 16..1515 bytes */
    for (unsigned i = 0; ok && i < rows; i++) {
        if (i % 500 == 0) {
            ok = sql_exec(db, "BEGIN");
        }
        int length = 0;
        for (unsigned s = 0, n = 2 + (unsigned) (sq_random(&rng) % 5); s < n; s++) {
            length += snprintf(text + length, sizeof text - (size_t) length, "%s",
                               SYLLABLES[sq_random(&rng) % (sizeof SYLLABLES / sizeof SYLLABLES[0])]);
        }
        snprintf(text + length, sizeof text - (size_t) length, "-%u", i);
        char clan[16];
        snprintf(clan, sizeof clan, "clan%02u", (i * 7) % 40);
        int size = 16 + (int) (sq_random(&rng) % 1500);
        memset(blob, (int) (i & 0xFF), (size_t) size);
        sqlite3_bind_text(player, 1, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(player, 2, clan, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(player, 3, (sqlite3_int64) (sq_random(&rng) % 100000));
        sqlite3_bind_blob(player, 4, blob, size, SQLITE_TRANSIENT);
        ok = sql_ok(db, sqlite3_step(player), "insert player") && sql_ok(db, sqlite3_reset(player), "reset");
        if (ok && (i % 500 == 499 || i + 1 == rows)) {
            ok = sql_exec(db, "COMMIT");
        }
    }
    ok = ok && sql_exec(db, "CREATE INDEX players_by_clan ON players(clan, score)");
    /* events: twice as many, 8..307 bytes of payload, in transactions of 1000 */
    for (unsigned i = 0; ok && i < 2 * rows; i++) {
        if (i % 1000 == 0) {
            ok = sql_exec(db, "BEGIN");
        }
        int size = 8 + (int) (sq_random(&rng) % 300);
        memset(blob, (int) (i * 3 & 0xFF), (size_t) size);
        sqlite3_bind_int64(event, 1, (sqlite3_int64) (sq_random(&rng) % rows + 1));
        sqlite3_bind_text(event, 2, KINDS[i % (sizeof KINDS / sizeof KINDS[0])], -1, SQLITE_STATIC);
        sqlite3_bind_blob(event, 3, blob, size, SQLITE_TRANSIENT);
        ok = sql_ok(db, sqlite3_step(event), "insert event") && sql_ok(db, sqlite3_reset(event), "reset");
        if (ok && (i % 1000 == 999 || i + 1 == 2 * rows)) {
            ok = sql_exec(db, "COMMIT");
        }
    }
    ok = ok && sql_exec(db, "CREATE INDEX events_by_player ON events(player)");
    /* selects: aggregates, a top-10 per clan many times over, a join, a long string built by SQLite */
    ok = ok && sql_fold(db, "SELECT clan, count(*), sum(score), max(length(profile)) FROM players GROUP BY clan "
                            "ORDER BY clan", &h);
    for (unsigned i = 0; ok && i < rows / 10; i++) {
        char clan[16];
        snprintf(clan, sizeof clan, "clan%02u", i % 40);
        sqlite3_bind_text(top, 1, clan, -1, SQLITE_TRANSIENT);
        int rc;
        while ((rc = sqlite3_step(top)) == SQLITE_ROW) {
            h = digest(h, (uint64_t) sqlite3_column_bytes(top, 0) * 100000u + (uint64_t) sqlite3_column_int64(top, 1));
        }
        ok = sql_ok(db, rc, "top 10") && sql_ok(db, sqlite3_reset(top), "reset");
    }
    ok = ok && sql_fold(db, "SELECT p.clan, e.kind, count(*), sum(length(e.payload)) FROM events e "
                            "JOIN players p ON p.id = e.player GROUP BY p.clan, e.kind ORDER BY 1, 2", &h);
    ok = ok && sql_fold(db, "SELECT length(group_concat(name, ',')) FROM players WHERE score < 20000", &h);
    /* updates and deletes, then what is left */
    ok = ok && sql_exec(db, "BEGIN; UPDATE players SET score = score + 17, name = name || '*' WHERE id % 7 = 3;"
                            "UPDATE players SET profile = zeroblob(length(profile) + 2000) WHERE id % 11 = 0;"
                            "COMMIT");
    ok = ok && sql_exec(db, "BEGIN; DELETE FROM events WHERE kind = 'chat'; DELETE FROM players WHERE id % 5 = 0;"
                            "DELETE FROM events WHERE player NOT IN (SELECT id FROM players); COMMIT");
    ok = ok && sql_fold(db, "SELECT count(*), sum(score), sum(length(name)), sum(length(profile)) FROM players", &h);
    ok = ok && sql_fold(db, "SELECT count(*), sum(length(payload)) FROM events", &h);
    sqlite3_finalize(player);
    sqlite3_finalize(event);
    sqlite3_finalize(top);
    if (sqlite3_close(db) != SQLITE_OK) {
        fprintf(stderr, "pm_clients: sqlite: the database did not close\n");
        ok = 0;
    }
    *check = h;
    return ok;
}

/* ---- The C++ game (pm_client_game.cpp) ------------------------------------------------------------ */

/* units: 30 frames a unit */
static int run_cpp(unsigned units, uint64_t *check) {
    *check = pm_client_game(30 * units);
    return 1;
}

/* ---- Running the clients -------------------------------------------------------------------------- */

typedef int (*ClientFn)(unsigned units, uint64_t *check);

static void usage(void) {
    fprintf(stderr, "usage: pm_clients --subject NAME --out FILE [--clients lua,sqlite,cpp] [--scale N] [--samples N]\n");
    exit(2);
}

/* Warm-up (an eighth of the work, at least a unit), timed run (scale units), sampled run (one unit);
 * writes the client's two records. */
static int measure_client(FILE *out, const char *name, ClientFn fn, unsigned scale) {
    uint64_t check = 0, ignored = 0;
    if (!fn(scale / 8 ? scale / 8 : 1, &ignored)) {
        return 0;
    }
    pm_client_calls = 0;
    uint64_t t0 = wall_ns();
    int ok = fn(scale, &check);
    uint64_t elapsed = wall_ns() - t0;
    uint64_t calls = pm_client_calls;
    sample_count = 0;
    pm_client_sampling = 1;
    ok = ok && fn(1, &ignored);
    pm_client_sampling = 0;
    if (!ok || failed || calls == 0) {
        fprintf(stderr, "pm_clients: %s failed%s\n", name, calls == 0 ? " (no allocator call went to the hook)" : "");
        return 0;
    }
    fprintf(out, "client %s %llu %llu %llu\nsamples %s", name, (unsigned long long) calls,
            (unsigned long long) elapsed, (unsigned long long) check, name);
    for (size_t i = 0; i < sample_count; i++) {
        fprintf(out, " %u", samples[i]);
    }
    fputc('\n', out);
    fflush(out);
    return 1;
}

int main(int argc, char **argv) {
    const char *name = NULL, *out_path = NULL, *clients = "lua,sqlite,cpp";
    unsigned scale = 4;
    for (int i = 1; i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) {
            usage();
        } else if (strcmp(argv[i], "--subject") == 0) {
            name = value;
        } else if (strcmp(argv[i], "--out") == 0) {
            out_path = value;
        } else if (strcmp(argv[i], "--clients") == 0) {
            clients = value;
        } else if (strcmp(argv[i], "--scale") == 0) {
            scale = (unsigned) strtoul(value, NULL, 10);
        } else if (strcmp(argv[i], "--samples") == 0) {
            sample_capacity = (size_t) strtoull(value, NULL, 10);
        } else {
            usage();
        }
    }
    if (name == NULL || out_path == NULL || scale == 0 || scale > 1000 || sample_capacity < 100) {
        usage();
    }
    uint64_t before_start = pm_client_calls; /* operator new calls so far (before main: none expected) */
#if defined(PM_CLIENT_ABI)
    char backend[96], options[512];
    int insights = pm_insights_subject(name, backend, sizeof backend);
    pm_subject_options(name, backend, options, sizeof options);
    if (Platform_Mem_Init(options) != 0) {
        fprintf(stderr, "pm_clients: backend %s: %s\n", backend, Platform_Mem_LastError());
        return 3;
    }
    if (insights) { /* the clients run on this thread: one tag, and the frame clock */
        Platform_Mem_PushTag("client");
        pm_insights_start();
    }
#else
    if (strcmp(name, KIND) != 0) {
        fprintf(stderr, "pm_clients: this binary measures %s only, not '%s'\n", KIND, name);
        return 2;
    }
#  if defined(PM_CLIENT_JEMALLOC)
    const char *version = NULL;
    size_t length = sizeof version;
    if (mallctl("version", &version, &length, NULL, 0) != 0 || version == NULL) {
        fprintf(stderr, "pm_clients: jemalloc is not the allocator of this process\n");
        return 3;
    }
#  endif
#endif
    if (pm_client_calls != before_start) {
        /* the JVM (or anything else) called the global operator new: it must not be in the figures */
        fprintf(stderr, "pm_clients: %llu operator new/delete calls while starting the subject\n",
                (unsigned long long) (pm_client_calls - before_start));
        return 3;
    }
    samples = malloc(sample_capacity * sizeof *samples);
    FILE *out = fopen(out_path, "w");
    if (samples == NULL || out == NULL) {
        fprintf(stderr, "pm_clients: cannot write %s: %s\n", out_path, strerror(errno));
        return 2;
    }
    int ok = 1;
    static const sqlite3_mem_methods methods = {sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup, sq_init,
                                                sq_shutdown, NULL};
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK || sqlite3_initialize() != SQLITE_OK) {
        fprintf(stderr, "pm_clients: sqlite3_config(SQLITE_CONFIG_MALLOC) refused\n");
        return 2;
    }
    /* warm the call path (JIT of the upcall path for the backends) before any client runs */
    for (int i = 0; i < 20000; i++) {
        void *p = subject_alloc(16 + (size_t) (i % 64) * 8);
        if (i % 4 == 0) {
            p = subject_realloc(p, 16 + (size_t) (i % 64) * 8, 1024);
        }
        ok = ok && p != NULL && subject_size(p) != 0;
        subject_free(p, 0);
    }
    calibrate_timer();
    fprintf(out, "pm-bench 1\nsubject %s\ntimer %s %.1f\n", name,
#if defined(__x86_64__)
            "rdtscp",
#else
            "clock_gettime",
#endif
            (double) timer_overhead_ticks * ns_per_tick);
    static const struct { const char *key, *name; ClientFn fn; } all[] = {
        {"lua", "client-lua", run_lua}, {"sqlite", "client-sqlite", run_sqlite}, {"cpp", "client-cpp", run_cpp}};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        size_t n = strlen(all[i].key);
        const char *at = strstr(clients, all[i].key);
        if (at != NULL && (at == clients || at[-1] == ',') && (at[n] == '\0' || at[n] == ',')) {
            ok = ok && measure_client(out, all[i].name, all[i].fn, scale);
        }
    }
    fprintf(out, "%s\n", ok ? "end" : "failed");
    fclose(out);
    sqlite3_shutdown();
#if defined(PM_CLIENT_ABI)
    Platform_Mem_Shutdown();
#endif
    return ok ? 0 : 1;
}
