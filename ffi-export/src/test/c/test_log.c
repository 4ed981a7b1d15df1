/*
 * What reaches stderr from a C host, through the real ABI (platform_memory.h, "Messages"):
 *   - a double free: exactly one line, "platform-memory: DOUBLE_FREE at PTR: ..." (with and without the
 *     per-thread caches), and none with log=quiet, while the error handler still gets it;
 *   - failOnError=1: the error line, one line at Platform_Mem_Shutdown, one at exit, and exit status
 *     PLATFORM_MEM_EXIT_ON_ERROR; no line and status 0 when nothing went wrong;
 *   and with "all" also: the allocation site in the line (tracking=leaks), log=verbose's info line,
 *   failOnError with log=quiet, a failed allocation (not counted by failOnError), a failed start.
 *
 *   test_log BACKEND [all]
 *
 * Each case runs in a child process of its own (forked before any JVM starts) whose stdout and stderr go
 * to files; the parent checks the child's exit status and every line it wrote. Ends with
 * "N passed, M failed".
 */
#define _GNU_SOURCE
#include "platform_memory.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static atomic_int handled;
static atomic_int handled_code;

static void on_error(int code, const char *message, void *ptr) {
    (void) message;
    (void) ptr;
    atomic_fetch_add(&handled, 1);
    atomic_store(&handled_code, code);
}

/* ---- the children: each starts the layer with its options, does one thing, and exits --------------- */

/* exit statuses of a child that found something wrong itself (beside what the parent checks) */
enum { CHILD_NO_START = 11, CHILD_NO_BLOCK = 12, CHILD_HANDLER = 13 };

static void start(const char *options) {
    Platform_Mem_SetErrorHandler(on_error);
    if (Platform_Mem_Init(options) != PLATFORM_MEM_OK) {
        exit(CHILD_NO_START);
    }
}

/* Frees a block twice; prints its address on stdout. The handler must have been told exactly once. */
static void double_free(const char *options) {
    start(options);
    void *p = Platform_Alloc(64, PLATFORM_MEM_NORMAL);
    if (p == NULL) {
        exit(CHILD_NO_BLOCK);
    }
    printf("%p\n", p);
    fflush(stdout);
    Platform_Free(p, 0);
    Platform_Free(p, 0);
    if (atomic_load(&handled) != 1 || atomic_load(&handled_code) != PLATFORM_MEM_ERR_DOUBLE_FREE ||
        Platform_Mem_LastError()[0] == '\0') {
        exit(CHILD_HANDLER);
    }
    Platform_Mem_Shutdown();
    exit(0);
}

/* Frees a block allocated at game.c:42 with a wrong size (tracking=leaks records the site: the call stack,
 * and the file:line given). */
static void wrong_size_with_site(const char *options) {
    start(options);
    void *p = Platform_Alloc_Dbg(100, PLATFORM_MEM_NORMAL, "game.c", 42);
    if (p == NULL) {
        exit(CHILD_NO_BLOCK);
    }
    printf("%p\n", p);
    fflush(stdout);
    void *q = Platform_Realloc(p, 99, 200); /* the recorded size, 100, is used */
    if (q == NULL || atomic_load(&handled) != 1 || atomic_load(&handled_code) != PLATFORM_MEM_ERR_SIZE_MISMATCH) {
        exit(CHILD_HANDLER);
    }
    Platform_Free(q, 0);
    Platform_Mem_Shutdown();
    exit(0);
}

/* Shuts down with one block live. */
static void live_at_shutdown(const char *options) {
    start(options);
    if (Platform_Alloc(64, PLATFORM_MEM_NORMAL) == NULL) {
        exit(CHILD_NO_BLOCK);
    }
    Platform_Mem_Shutdown();
    exit(0);
}

/* Allocates and frees one block: nothing goes wrong. */
static void clean_run(const char *options) {
    start(options);
    void *p = Platform_Alloc(64, PLATFORM_MEM_NORMAL);
    if (p == NULL) {
        exit(CHILD_NO_BLOCK);
    }
    Platform_Free(p, 0);
    Platform_Mem_Shutdown();
    exit(atomic_load(&handled) == 0 ? 0 : CHILD_HANDLER);
}

/* Asks for more than the budget: ALLOCATION_FAILED. */
static void over_budget(const char *options) {
    start(options);
    if (Platform_Alloc((size_t) 4 << 20, PLATFORM_MEM_NORMAL) != NULL ||
        atomic_load(&handled_code) != PLATFORM_MEM_ERR_ALLOCATION_FAILED) {
        exit(CHILD_HANDLER);
    }
    Platform_Mem_Shutdown();
    exit(0);
}

/* A start that fails (the options name no backend there is). */
static void bad_start(const char *options) {
    Platform_Mem_SetErrorHandler(on_error);
    int rc = Platform_Mem_Init(options);
    exit(rc == PLATFORM_MEM_ERR_START && atomic_load(&handled_code) == PLATFORM_MEM_ERR_START ? 0 : CHILD_HANDLER);
}

/* ---- the parent: runs a child, then checks its status and output ------------------------------------ */

typedef struct {
    int status;          /* the child's exit status, or -1 */
    char out[64];        /* the start of its stdout (the block's address) */
    char err[16384];     /* its stderr */
    char *lines[64];     /* err split into lines (without their '\n') */
    int line_count;
    int unterminated;    /* err did not end with '\n' */
} Child;

static void read_file(const char *path, char *buffer, size_t size) {
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buffer, 1, size - 1, f) : 0;
    buffer[n] = '\0';
    if (f != NULL) {
        fclose(f);
    }
}

static void run_child(Child *c, void (*body)(const char *), const char *options) {
    char out_path[] = "/tmp/pm_test_log_out_XXXXXX", err_path[] = "/tmp/pm_test_log_err_XXXXXX";
    int out = mkstemp(out_path), err = mkstemp(err_path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        body(options);
        exit(99); /* bodies exit themselves */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(out);
    close(err);
    c->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    read_file(out_path, c->out, sizeof c->out);
    read_file(err_path, c->err, sizeof c->err);
    unlink(out_path);
    unlink(err_path);
    size_t length = strlen(c->err);
    c->unterminated = length > 0 && c->err[length - 1] != '\n';
    c->line_count = 0;
    for (char *line = c->err; *line != '\0' && c->line_count < 64;) {
        char *end = strchr(line, '\n');
        c->lines[c->line_count++] = line;
        if (end == NULL) {
            break;
        }
        *end = '\0';
        line = end + 1;
    }
    c->out[strcspn(c->out, "\n")] = '\0'; /* the first line: the block's address */
}

static int starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* "platform-memory: CODE at ADDRESS: " for the address the child printed */
static const char *error_prefix(char *buffer, size_t size, const char *code, const char *address) {
    snprintf(buffer, size, "platform-memory: %s at %s: ", code, address);
    return buffer;
}

static void show(const char *what, const Child *c) {
    fprintf(stderr, "-- %s: status %d, %d line(s) on stderr:\n", what, c->status, c->line_count);
    for (int i = 0; i < c->line_count; i++) {
        fprintf(stderr, "   %s\n", c->lines[i]);
    }
}

static void check_double_free(const char *backend, const char *extra) {
    char options[256], prefix[256];
    snprintf(options, sizeof options, "backend=%s%s", backend, extra);
    Child c;
    run_child(&c, double_free, options);
    show(options, &c);
    CHECK(c.status == 0, "%s: exit status %d", options, c.status);
    CHECK(starts_with(c.out, "0x"), "%s: the child printed its block's address: '%s'", options, c.out);
    CHECK(c.line_count == 1 && !c.unterminated, "%s: exactly one line on stderr, got %d", options, c.line_count);
    if (c.line_count >= 1) {
        error_prefix(prefix, sizeof prefix, "DOUBLE_FREE", c.out);
        CHECK(starts_with(c.lines[0], prefix), "%s: '%s' starts with '%s'", options, c.lines[0], prefix);
        CHECK(strstr(c.lines[0], "already freed") != NULL, "%s: '%s' says what happened", options, c.lines[0]);
    }
}

static void check_quiet(const char *backend) {
    char options[256];
    snprintf(options, sizeof options, "backend=%s;log=quiet", backend);
    Child c;
    run_child(&c, double_free, options);
    show(options, &c);
    CHECK(c.status == 0, "%s: exit status %d (%d: the handler was not told)", options, c.status, CHILD_HANDLER);
    CHECK(c.err[0] == '\0' && c.line_count == 0, "%s: nothing on stderr, got '%s'", options, c.err);
}

static void check_fail_on_error(const char *backend, int quiet) {
    char options[256], line[512];
    snprintf(options, sizeof options, "backend=%s;failOnError=1%s", backend, quiet ? ";log=quiet" : "");
    Child c;
    run_child(&c, double_free, options);
    show(options, &c);
    CHECK(c.status == PLATFORM_MEM_EXIT_ON_ERROR, "%s: exit status %d, expected %d", options, c.status,
          PLATFORM_MEM_EXIT_ON_ERROR);
    int first = quiet ? 0 : 1; /* the error's own line, unless quiet */
    CHECK(c.line_count == first + 2 && !c.unterminated, "%s: %d lines on stderr, expected %d", options, c.line_count,
          first + 2);
    if (c.line_count == first + 2) {
        if (!quiet) {
            CHECK(starts_with(c.lines[0], error_prefix(line, sizeof line, "DOUBLE_FREE", c.out)), "%s: '%s'", options,
                  c.lines[0]);
        }
        snprintf(line, sizeof line, "platform-memory: failOnError: 1 allocator error since the layer started (the "
                 "first: DOUBLE_FREE at %s); the process will exit with status %d", c.out, PLATFORM_MEM_EXIT_ON_ERROR);
        CHECK(strcmp(c.lines[first], line) == 0, "%s: at shutdown '%s', expected '%s'", options, c.lines[first], line);
        snprintf(line, sizeof line, "platform-memory: failOnError: 1 allocator error in this process (the first: "
                 "DOUBLE_FREE at %s); exit status %d", c.out, PLATFORM_MEM_EXIT_ON_ERROR);
        CHECK(strcmp(c.lines[first + 1], line) == 0, "%s: at exit '%s', expected '%s'", options, c.lines[first + 1],
              line);
    }

    snprintf(options, sizeof options, "backend=%s;failOnError=1", backend);
    run_child(&c, clean_run, options);
    show("failOnError=1, no error", &c);
    CHECK(c.status == 0 && c.line_count == 0, "%s without an error: status %d, stderr '%s'", options, c.status, c.err);
}

static void check_site(void) {
    char prefix[256];
    const char *options = "backend=arena;tracking=leaks";
    Child c;
    run_child(&c, wrong_size_with_site, options);
    show(options, &c);
    CHECK(c.status == 0, "%s: exit status %d", options, c.status);
    CHECK(c.line_count == 1, "%s: one line, got %d", options, c.line_count);
    if (c.line_count == 1) {
        CHECK(starts_with(c.lines[0], error_prefix(prefix, sizeof prefix, "SIZE_MISMATCH", c.out)), "%s: '%s'",
              options, c.lines[0]);
        /* the site: the call stack, the function that allocated first, then Platform_Alloc_Dbg's file:line
         * and the allocation number */
        const char *tail = " [game.c:42], allocation #1";
        size_t n = strlen(c.lines[0]);
        CHECK(n > strlen(tail) && strcmp(c.lines[0] + n - strlen(tail), tail) == 0,
              "%s: '%s' ends with the block's file:line and number", options, c.lines[0]);
        const char *site = strstr(c.lines[0], "; allocated at wrong_size_with_site (");
        CHECK(site != NULL && strstr(site, "test_log.c:") != NULL && strstr(site, "test_log.c:") < strstr(site, " <- "),
              "%s: '%s' names the allocating function first, with its file:line", options, c.lines[0]);
    }
}

static void check_verbose(void) {
    const char *options = "backend=arena;log=verbose;fastpath=off";
    Child c;
    run_child(&c, live_at_shutdown, options);
    show(options, &c);
    CHECK(c.status == 0, "%s: exit status %d", options, c.status);
    /* the start's line (how long, which runtime, the ahead-of-time cache), then the one about the live block */
    CHECK(c.line_count == 2 && starts_with(c.lines[0], "platform-memory: info: started arena in ") &&
          strstr(c.lines[0], " ms (the JVM ") != NULL && strstr(c.lines[0], "), runtime ") != NULL &&
          starts_with(c.lines[1], "platform-memory: info: closing with 1 live blocks (64 bytes)"),
          "%s: the start's info line and one about the live block, got %d: '%s'", options, c.line_count, c.err);

    run_child(&c, live_at_shutdown, "backend=arena;fastpath=off");
    show("log=errors, a block live at shutdown", &c);
    CHECK(c.status == 0 && c.line_count == 0, "the default log=errors prints no info line: '%s'", c.err);
}

static void check_over_budget(void) {
    const char *options = "backend=arena;limit=1m;failOnError=1";
    Child c;
    run_child(&c, over_budget, options);
    show(options, &c);
    CHECK(c.status == 0, "%s: a failed allocation is not counted by failOnError; status %d", options, c.status);
    CHECK(c.line_count == 1 && starts_with(c.lines[0], "platform-memory: ALLOCATION_FAILED: "),
          "%s: one ALLOCATION_FAILED line (no pointer), got '%s'", options, c.err);
}

static void check_bad_start(void) {
    Child c;
    run_child(&c, bad_start, "backend=nope");
    show("backend=nope", &c);
    CHECK(c.status == 0, "backend=nope: status %d", c.status);
    CHECK(c.line_count == 1 && starts_with(c.lines[0], "platform-memory: START: cannot start: ") &&
              strstr(c.lines[0], "nope") != NULL,
          "backend=nope: one START line naming the backend, got '%s'", c.err);

    run_child(&c, bad_start, "backend=nope;log=quiet");
    show("backend=nope;log=quiet", &c);
    CHECK(c.status == 0 && c.line_count == 0, "backend=nope;log=quiet: status %d, stderr '%s'", c.status, c.err);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_log BACKEND [all]\n");
        return 2;
    }
    const char *backend = argv[1];
    check_double_free(backend, "");
    check_double_free(backend, ";fastpath=off");
    check_quiet(backend);
    check_fail_on_error(backend, 0);
    if (argc > 2 && strcmp(argv[2], "all") == 0) {
        check_fail_on_error(backend, 1);
        check_site();
        check_verbose();
        check_over_budget();
        check_bad_start();
    }
    return check_summary();
}
