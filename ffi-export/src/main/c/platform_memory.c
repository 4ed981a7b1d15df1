/*
 * libplatform_memory.so: the C side of platform-memory.
 *
 * Exports the ABI of platform_memory.h. Allocation calls go through a table of FFM upcall stubs that
 * the Java side makes (pm_take_table, pm_resolve); pure memory operations are done here in C. The first
 * call (or Platform_Mem_Init) starts the layer: it finds the JVM already running in the process (a Java
 * host) or starts one with the JNI Invocation API (a C host: pm_jvm.c chooses the Java runtime and starts
 * it), then asks NativeExports.install for the table.
 */
#define _GNU_SOURCE
#define PLATFORM_MEMORY_BUILDING
#include "platform_memory.h"
#include "platform_memory_shim.h"
#include "pm_cache.h"
#include "pm_jvm.h"
#include "pm_stacks.h"

#include <stddef.h>
#include <dlfcn.h>
#include <jni.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <unistd.h>

/* The oldest JDK whose JVM can load the jars (they are compiled for it): the pom's jdk.minimum, passed
 * by CMake. */
#ifndef PM_JDK_MINIMUM
#error "PM_JDK_MINIMUM is not defined: build with CMake, which passes the pom's jdk.minimum"
#endif

/* The project's version (the root pom's <version>), passed by CMake. */
#ifndef PM_VERSION
#error "PM_VERSION is not defined: build with CMake, which passes the pom's version"
#endif

#define PM_LIKELY(x) __builtin_expect(!!(x), 1)
#define PM_UNLIKELY(x) __builtin_expect(!!(x), 0)

enum { PM_STOPPED = 0, PM_READY = 1, PM_FAILED = 2 };

/* ---- State: the installed table, the error slot, and what starting needs ---------------------- */

static struct {
    PmCalls calls;                        /* the table: upcall stubs, and stand-ins for those not made yet */
    atomic_int state;                     /* PM_STOPPED, PM_READY or PM_FAILED */
    pthread_mutex_t lock;                 /* guards starting, stopping and the fields below */
    char backend[64];                     /* the active backend's name */
    char options[1024];                   /* the options it was started with */
    _Atomic(PlatformMemErrorHandler) handler;
    atomic_ullong start_failures;         /* failed attempts to start, for PlatformMemStats */
    JavaVM *vm;                           /* the JVM, once found or created */
    jclass exports;                       /* NativeExports (a global reference), once started */
    jmethodID entry;                      /* NativeExports.entry(int): an entry's stub, made on demand */
    jmethodID jni[PM_ENTRY_COUNT];        /* NativeExports.<entry> of PM_JNI_ROUTES, for JNI until its stub is made */
    char jni_kind[PM_ENTRY_COUNT];        /* its JNI return type: 'I', 'J' or 'V' */
    const PmTable *made;                  /* Java's table, whose slots fill as the stubs are made */
    PmJvmStart jvm;                       /* how this library started it (a C host), else zeroed */
    atomic_ullong start_us;               /* how long the last successful start took */
    atomic_int log_level;                 /* PM_LOG_*: what reaches stderr (allocator.log) */
    atomic_int fail_on_error;             /* allocator.failOnError of the current start */
    atomic_ullong errors_since_start;     /* errors counted while fail_on_error was on, this start */
    atomic_ullong errors_in_process;      /* the same, since the process began */
    atomic_int first_error;               /* the first of those: its code... */
    _Atomic(void *) first_error_ptr;      /* ...and its pointer */
    atomic_int exit_check;                /* pm_at_exit is registered (atexit) */
    atomic_int exit_checks;               /* the process's exit calls the facade's exit checks (a C host) */
    atomic_int stacks;                    /* allocations cross with their call stack (leaks, debug) */
    atomic_int free_stacks;               /* frees do too (debug) */
    _Atomic int64_t sample;               /* mean bytes between sampled allocations (counters), 0: none */
} pm = {.lock = PTHREAD_MUTEX_INITIALIZER, .log_level = 1};

/* Bytes this thread may still allocate before its next sampled allocation (allocator.sample). It starts
 * at 0, so a thread's first allocation looks at the sampling rate; with sampling off it looks again after
 * PM_SAMPLE_RECHECK bytes, so a later start that turns sampling on reaches every thread. */
static _Thread_local int64_t pm_sample_left __attribute__((tls_model("initial-exec")));
static _Thread_local uint64_t pm_sample_random;
#define PM_SAMPLE_RECHECK ((int64_t) 1 << 30)

/* Set by pm_report when Java tells BREAK_ALLOC on this thread: the entry point then stops a debugger. */
static _Thread_local int pm_break_pending;

static void pm_stacks_start(int64_t settings);

/* allocator.log, as NativeExports.logLevel numbers it (LogLevel's order) */
enum { PM_LOG_QUIET = 0, PM_LOG_ERRORS = 1, PM_LOG_VERBOSE = 2 };

/* The error slot: the last error's message, per thread (as errno), so concurrent reports never tear. */
static _Thread_local char pm_error[1024];

static void pm_set_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void pm_set_error(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(pm_error, sizeof pm_error, format, args);
    va_end(args);
}

/* ---- Messages: one line each on stderr ----------------------------------------------------------- */

/* The name of an error code (PM_ERRORS), as the line on stderr gives it. */
static const char *pm_code_name(int code) {
    switch (code) {
#define PM_CODE_NAME(name) case PLATFORM_MEM_ERR_##name: return #name;
        PM_ERRORS(PM_CODE_NAME)
    default:
        return "ERROR";
    }
}

/*
 * Writes one line to stderr: "platform-memory: " then what (an error code's name, "info" or
 * "failOnError"), " at PTR" when ptr is not NULL, ": " and the text with any line break turned into a
 * space. The line is written with one write(2), so lines from several threads never interleave.
 */
static void pm_line(const char *what, const void *ptr, const char *text) {
    char line[2048];
    int n = ptr != NULL ? snprintf(line, sizeof line - 1, "platform-memory: %s at %p: ", what, ptr)
                        : snprintf(line, sizeof line - 1, "platform-memory: %s: ", what);
    size_t used = n > 0 && (size_t) n < sizeof line - 1 ? (size_t) n : 0;
    for (const char *c = text != NULL ? text : ""; *c != '\0' && used < sizeof line - 1; c++) {
        line[used++] = *c == '\n' || *c == '\r' ? ' ' : *c;
    }
    line[used++] = '\n';
    fflush(stderr); /* the game's own buffered lines first */
    for (size_t done = 0; done < used;) {
        ssize_t w = write(STDERR_FILENO, line + done, used - done);
        if (w <= 0) {
            break;
        }
        done += (size_t) w;
    }
}

/* The value options (a "key=value;key=value" string) gives key, with or without "allocator.": its first
 * character, with its length in *length (blanks around it left out), or NULL when key is not set. */
static const char *pm_option_value(const char *options, const char *key, size_t *length) {
    if (options == NULL) {
        return NULL;
    }
    size_t key_length = strlen(key);
    const char *c = options;
    while (*c != '\0') {
        while (*c == ';' || *c == '\n' || *c == ' ' || *c == '\t') {
            c++;
        }
        const char *end = c + strcspn(c, ";\n");
        const char *k = strncmp(c, "allocator.", 10) == 0 ? c + 10 : c;
        const char *v = k + key_length;
        while (v < end && (*v == ' ' || *v == '\t')) {
            v++;
        }
        if (strncmp(k, key, key_length) == 0 && v < end && *v == '=') {
            v++;
            while (v < end && (*v == ' ' || *v == '\t')) {
                v++;
            }
            const char *w = end;
            while (w > v && (w[-1] == ' ' || w[-1] == '\t' || w[-1] == '\r')) {
                w--;
            }
            *length = (size_t) (w - v);
            return v;
        }
        c = end;
    }
    return NULL;
}

/* Whether options sets key to value (any case). For the one case Java cannot answer: the layer did not
 * start, but the options may have asked for quiet. */
static int pm_option_is(const char *options, const char *key, const char *value) {
    size_t length = 0;
    const char *v = pm_option_value(options, key, &length);
    return v != NULL && length == strlen(value) && strncasecmp(v, value, length) == 0;
}

/* "N errors ... (the first: CODE at PTR)" for the fail-on-error lines. */
static void pm_error_count_line(unsigned long long errors, const char *since, const char *then) {
    char text[512];
    void *first_ptr = atomic_load(&pm.first_error_ptr);
    char at[64] = "";
    if (first_ptr != NULL) {
        snprintf(at, sizeof at, " at %p", first_ptr);
    }
    snprintf(text, sizeof text, "%llu allocator error%s %s (the first: %s%s)%s", errors, errors == 1 ? "" : "s",
             since, pm_code_name(atomic_load(&pm.first_error)), at, then);
    pm_line("failOnError", NULL, text);
}

/* At process exit: in a C host, the facade's exit checks (tracking=debug's heap check, leakReport=exit's
 * report), then, with failOnError, any error counted makes the process exit with
 * PLATFORM_MEM_EXIT_ON_ERROR, after one line saying so. */
static void pm_at_exit(void) {
    if (atomic_load(&pm.exit_checks) && atomic_load(&pm.state) == PM_READY) {
        pm.calls.exit_checks();
    }
    unsigned long long errors = atomic_load(&pm.errors_in_process); /* counted only with failOnError */
    if (errors == 0) {
        return;
    }
    char then[64];
    snprintf(then, sizeof then, "; exit status %d", PLATFORM_MEM_EXIT_ON_ERROR);
    pm_error_count_line(errors, "in this process", then);
    fflush(NULL);
    _exit(PLATFORM_MEM_EXIT_ON_ERROR);
}

/* Java reports every error here (and, with code PLATFORM_MEM_OK, its informational lines): an error
 * fills the error slot, is counted for failOnError, printed as one line unless allocator.log=quiet, and
 * told to the game's handler. A failed start only fills the slot: pm_start_failed prints it and tells the
 * handler, once per failed start. */
static void pm_report(int code, const char *message, void *ptr) {
    const char *text = message != NULL ? message : "";
    if (code == PLATFORM_MEM_OK) {
        /* Java sends these only with allocator.log=verbose (ErrorReporter.inform), also while it starts,
         * before pm.log_level is known here (the live view's address is such a line) */
        pm_line("info", NULL, text);
        return;
    }
    int level = atomic_load_explicit(&pm.log_level, memory_order_relaxed);
    if (code == PLATFORM_MEM_ERR_BREAK_ALLOC) {
        pm_break_pending = 1; /* not an error: no error slot, no count */
    } else {
        pm_set_error("%s", text);
    }
    if (atomic_load_explicit(&pm.fail_on_error, memory_order_relaxed) && code != PLATFORM_MEM_ERR_ALLOCATION_FAILED &&
        code != PLATFORM_MEM_ERR_BREAK_ALLOC) {
        if (atomic_fetch_add(&pm.errors_in_process, 1) == 0) {
            atomic_store(&pm.first_error, code);
            atomic_store(&pm.first_error_ptr, ptr);
        }
        atomic_fetch_add(&pm.errors_since_start, 1);
    }
    /* a failed start is printed once, by pm_start_failed, with what the shim adds */
    if (code == PLATFORM_MEM_ERR_START) {
        return;
    }
    if (level >= PM_LOG_ERRORS) {
        pm_line(pm_code_name(code), ptr, text);
    }
    PlatformMemErrorHandler handler = atomic_load_explicit(&pm.handler, memory_order_acquire);
    if (handler != NULL) {
        handler(code, text, ptr); /* valid for the whole call: Java keeps it until this returns */
    }
}

/* A start that failed: counted, on stderr (unless the options asked for quiet), and told to the game's
 * handler. Called with pm.lock held. */
static void pm_start_failed(const char *options) {
    atomic_fetch_add(&pm.start_failures, 1);
    if (options == NULL || options[0] == '\0') {
        options = getenv("PLATFORM_MEMORY_OPTIONS");
    }
    if (!pm_option_is(options, "log", "quiet")) {
        char text[sizeof pm_error + 32];
        snprintf(text, sizeof text, "cannot start: %s", pm_error);
        pm_line(pm_code_name(PLATFORM_MEM_ERR_START), NULL, text);
    }
    PlatformMemErrorHandler handler = atomic_load_explicit(&pm.handler, memory_order_acquire);
    if (handler != NULL) {
        handler(PLATFORM_MEM_ERR_START, pm_error, NULL);
    }
}

/*
 * The stub of table entry index, made by Java now (NativeExports.entry, through JNI), or NULL when it
 * could not be made (Java has reported why, or the error is reported here). A thread the JVM does not
 * know yet is attached for the call and detached after it; its first upcall attaches it again.
 */
typedef void (*PmAnyFn)(void);

static PmAnyFn pm_resolve(int index, const char *field) {
    JavaVM *vm = pm.vm;
    JNIEnv *env = NULL;
    int attached = 0;
    jlong address = 0;
    if (vm == NULL || pm.exports == NULL) {
        pm_report(PLATFORM_MEM_ERR_INTERNAL, "a call before the layer's start reached the table", NULL);
        return NULL;
    }
    jint rc = (*vm)->GetEnv(vm, (void **) &env, JNI_VERSION_21);
    if (rc == JNI_EDETACHED && (*vm)->AttachCurrentThreadAsDaemon(vm, (void **) &env, NULL) == JNI_OK) {
        attached = 1;
        rc = JNI_OK;
    }
    if (rc == JNI_OK) {
        address = (*env)->CallStaticLongMethod(env, pm.exports, pm.entry, (jint) index);
        if ((*env)->ExceptionCheck(env)) {
            (*env)->ExceptionClear(env);
            address = 0;
        }
        if (attached) {
            (*vm)->DetachCurrentThread(vm);
        }
    }
    if (address == 0 && rc != JNI_OK) {
        char text[160];
        snprintf(text, sizeof text, "cannot make the upcall for table entry %s: this thread cannot enter the JVM", field);
        pm_report(PLATFORM_MEM_ERR_INTERNAL, text, NULL);
    }
    return (PmAnyFn) (intptr_t) address;
}

/* The stub of an entry if Java has made it by now (its slot in Java's table, written with release). */
#define PM_MADE(field) (pm.made != NULL ? __atomic_load_n(&pm.made->field, __ATOMIC_ACQUIRE) : NULL)

/* This thread's JNIEnv if the JVM knows the thread (it started the JVM, or is a Java thread), else NULL. */
static JNIEnv *pm_known_env(void) {
    JNIEnv *env = NULL;
    JavaVM *vm = pm.vm;
    if (vm == NULL || pm.exports == NULL || (*vm)->GetEnv(vm, (void **) &env, JNI_VERSION_21) != JNI_OK) {
        return NULL;
    }
    return env;
}

/* The entries a process's first calls reach through JNI until their stubs are made: X(field, Java name,
 * JNI signature). NativeExports has a static method of that name for each, the entry's twin. */
#define PM_JNI_ROUTES(X)                                                                                  \
    X(cache_refill, "cacheRefill", "(JJI)I")                                                              \
    X(alloc, "alloc", "(JI)J")                                                                            \
    X(alloc_aligned, "allocAligned", "(JJI)J")                                                            \
    X(free, "free", "(JJ)V")

/* Calls entry's Java method through JNI with args, as its signature's return type says ('I', 'J' or
 * 'V'); an int result comes back widened into .j. The Java methods catch everything; should anything
 * still be pending, it is cleared and the result is 0. */
static jvalue pm_jni_call(JNIEnv *env, int entry, const jvalue *args) {
    jvalue result = {.j = 0};
    jmethodID method = pm.jni[entry];
    if (pm.jni_kind[entry] == 'I') {
        result.j = (*env)->CallStaticIntMethodA(env, pm.exports, method, args);
    } else if (pm.jni_kind[entry] == 'J') {
        result.j = (*env)->CallStaticLongMethodA(env, pm.exports, method, args);
    } else {
        (*env)->CallStaticVoidMethodA(env, pm.exports, method, args);
    }
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        result.j = 0;
    }
    return result;
}

/* An entry's arguments as JNI values: each widened to a jlong (a pointer through intptr_t); a Java int
 * parameter reads the low half of it, which on these little-endian ABIs is .i. (void) gives one unused. */
typedef char PM_jvalue_int_is_the_low_half_of_its_long[__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 1 : -1];
#define PM_JV(x) {.j = (jlong) (intptr_t) (x)}
#define PM_JVALUES(params) PM_CAT(PM_JVALUES_, PM_COUNT params) params
#define PM_JVALUES_1(a) PM_CAT(PM_JVALUE1_, PM_IS_VOID(a))
#define PM_JVALUE1_0 PM_JV(p1)
#define PM_JVALUE1_1 {.j = 0}
#define PM_JVALUES_2(a, b) PM_JV(p1), PM_JV(p2)
#define PM_JVALUES_3(a, b, c) PM_JV(p1), PM_JV(p2), PM_JV(p3)
#define PM_JVALUES_4(a, b, c, d) PM_JV(p1), PM_JV(p2), PM_JV(p3), PM_JV(p4)
#define PM_JNI_RETURN_0(ret, r) return (ret) (intptr_t) (r).j;
#define PM_JNI_RETURN_1(ret, r) return;

/*
 * The stand-ins: pm_stub_<field> has the type of the entry. It takes the entry's stub from Java's table
 * once the warm-up thread (CallTable.warmUp) has made it, else asks Java for it (which makes it now, or
 * waits for the thread making it), puts it in the shim's table in its own place and calls it. Two
 * threads may both ask; Java makes one stub and gives it to both. When no stub can be made the call
 * returns 0 (nothing, for a void entry), with the error reported. The entries of PM_JNI_ROUTES do not
 * wait on a thread the JVM knows (the one that started it, a Java thread): until the stub is there
 * they call their Java method through JNI, so a process's first allocations wait for no stub.
 */
#define PM_LAZY_FAIL_0(ret) return (ret) 0;
#define PM_LAZY_FAIL_1(ret) return;
#define PM_LAZY_RETURN_0 return
#define PM_LAZY_RETURN_1
#define PM_LAZY(field, ret, params)                                                                       \
    static ret pm_stub_##field(PM_PARAMS(params)) {                                                     \
        ret (*stub) params = PM_MADE(field);                                                          \
        JNIEnv *env;                                                                                  \
        if (stub == NULL && pm.jni[PM_ENTRY_##field] != NULL && (env = pm_known_env()) != NULL) {       \
            jvalue args[] = {PM_JVALUES(params)};                                                     \
            jvalue r = pm_jni_call(env, PM_ENTRY_##field, args);                                      \
            (void) r;                                                                                 \
            PM_CAT(PM_JNI_RETURN_, PM_IS_VOID(ret))(ret, r)                                           \
        }                                                                                             \
        if (stub == NULL) {                                                                           \
            stub = (ret (*) params) pm_resolve(PM_ENTRY_##field, #field);                             \
        }                                                                                             \
        if (stub == NULL) {                                                                           \
            PM_CAT(PM_LAZY_FAIL_, PM_IS_VOID(ret))(ret)                                               \
        }                                                                                             \
        atomic_store_explicit(&pm.calls.field, stub, memory_order_release);                           \
        PM_CAT(PM_LAZY_RETURN_, PM_IS_VOID(ret)) stub(PM_ARGS(params));                                \
    }
PM_CALLS(PM_LAZY)

/* Takes the table NativeExports.install returned: its stubs, and stand-ins for those not made yet. */
static int pm_take_table(const PmTable *table) {
    if (table == NULL || table->entries != PM_TABLE_ENTRIES) {
        pm_set_error("the Java side's call table has %llu entries, this library expects %d: "
                     "the jars and libplatform_memory.so come from different builds",
                     table == NULL ? 0ULL : (unsigned long long) table->entries, PM_TABLE_ENTRIES);
        return PLATFORM_MEM_ERR_START;
    }
    pm.made = table;
#define PM_TAKE_ENTRY(field, ret, params)                                                                 \
    atomic_store_explicit(&pm.calls.field, table->field != NULL ? table->field : pm_stub_##field,           \
                          memory_order_release);
    PM_CALLS(PM_TAKE_ENTRY)
    atomic_store_explicit(&pm.state, PM_READY, memory_order_release);
    return PLATFORM_MEM_OK;
}

/* ---- The contract, described for the Java side (platform_memory_shim.h) ---------------------------- */

/* PM_STATS_FIELDS covers PlatformMemStats exactly: a field added to the header and not to the list (or
 * the other way round) fails the build here, and a field listed out of order fails Platform_Mem_Init
 * (the description gives each field's offset). C99 has no _Static_assert: a negative array size. */
#define PM_STATS_FIELD_SIZE(field, writer) +sizeof(((PlatformMemStats *) 0)->field)
typedef char PM_STATS_FIELDS_does_not_list_every_field_of_PlatformMemStats
    [(0 PM_STATS_FIELDS(PM_STATS_FIELD_SIZE)) == sizeof(PlatformMemStats) ? 1 : -1];
/* pointers and sizes cross the table as Java longs: this shim is for 64-bit ABIs */
typedef char PM_pointers_and_sizes_must_be_8_bytes[sizeof(void *) == 8 && sizeof(size_t) == 8 ? 1 : -1];

/*
 * The text NativeExports.install compares with its own before it installs anything, one item a line:
 *   abi 1                                   the format
 *   type NAME SIZE                          a C type of the table and its sizeof
 *   call INDEX FIELD RET(PARAM, ...)        the call table in order (PM_CALLS)
 *   stats FIELD OFFSET SIZE WRITER          PlatformMemStats (PM_STATS_FIELDS), WRITER JAVA or C
 *   stats_size SIZE                         sizeof(PlatformMemStats)
 *   error NAME VALUE                        PLATFORM_MEM_OK and PLATFORM_MEM_ERR_<NAME> (PM_ERRORS)
 *   stat NAME ID                            PM_STAT_<NAME> (PM_STAT_IDS)
 *   service INDEX NAME RET(PARAM, ...) ADDR the shim's services to Java (PM_SERVICES) and their addresses
 *   bound NAME VALUE                        a bound of the shim's that the jars follow rather than repeat:
 *                                           CACHE_LARGEST, PLATFORM_MEM_CACHE_LARGEST (fastpath.largest's top)
 * Built once, on the first start (under pm.lock).
 */
static char pm_description[8192];

static void pm_describe_line(size_t *used, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void pm_describe_line(size_t *used, const char *format, ...) {
    if (*used >= sizeof pm_description) {
        return;
    }
    va_list args;
    va_start(args, format);
    int n = vsnprintf(pm_description + *used, sizeof pm_description - *used, format, args);
    va_end(args);
    *used += n > 0 ? (size_t) n : 0;
}

static const char *pm_abi_description(void) {
    if (pm_description[0] != '\0') {
        return pm_description;
    }
    size_t used = 0;
    int index = 0;
    pm_describe_line(&used, "abi 1\n");
#define PM_DESCRIBE_TYPE(type) pm_describe_line(&used, "type %s %zu\n", #type, sizeof(type));
    PM_TYPES(PM_DESCRIBE_TYPE)
#define PM_DESCRIBE_CALL(field, ret, params) pm_describe_line(&used, "call %d %s %s%s\n", index++, #field, #ret, #params);
    PM_CALLS(PM_DESCRIBE_CALL)
#define PM_DESCRIBE_STATS(field, writer)                                                                  \
    pm_describe_line(&used, "stats %s %zu %zu %s\n", #field, offsetof(PlatformMemStats, field),         \
                     sizeof(((PlatformMemStats *) 0)->field), #writer);
    PM_STATS_FIELDS(PM_DESCRIBE_STATS)
    pm_describe_line(&used, "stats_size %zu\n", sizeof(PlatformMemStats));
    pm_describe_line(&used, "error OK %d\n", PLATFORM_MEM_OK);
#define PM_DESCRIBE_ERROR(name) pm_describe_line(&used, "error %s %d\n", #name, PLATFORM_MEM_ERR_##name);
    PM_ERRORS(PM_DESCRIBE_ERROR)
#define PM_DESCRIBE_STAT(name) pm_describe_line(&used, "stat %s %d\n", #name, PM_STAT_##name);
    PM_STAT_IDS(PM_DESCRIBE_STAT)
    index = 0;
#define PM_DESCRIBE_SERVICE(name, ret, params)                                                            \
    pm_describe_line(&used, "service %d %s %s%s %p\n", index++, #name, #ret, #params, (void *) &pm_service_##name);
    PM_SERVICES(PM_DESCRIBE_SERVICE)
    (void) index;
    pm_describe_line(&used, "bound CACHE_LARGEST %zu\n", (size_t) PLATFORM_MEM_CACHE_LARGEST);
    return pm_description;
}

/* ---- Starting the JVM (C host) ------------------------------------------------------------------ */

typedef jint (*PmGetCreatedVms)(JavaVM **, jsize, jsize *);

/* The JVM of this process: one already running (a Java host, or started earlier), else a new one, with
 * the ahead-of-time cache of the backend options name (else ALLOCATOR_BACKEND's, else the default's: the
 * Java side decides, this only picks which classes the JVM loads as it starts). */
static JavaVM *pm_find_vm(const char *options) {
    if (pm.vm != NULL) {
        return pm.vm;
    }
    PmGetCreatedVms created = (PmGetCreatedVms) dlsym(RTLD_DEFAULT, "JNI_GetCreatedJavaVMs");
    if (created != NULL) {
        JavaVM *vm = NULL;
        jsize n = 0;
        if (created(&vm, 1, &n) == JNI_OK && n > 0) {
            return pm.vm = vm;
        }
    }
    char backend[64] = "";
    size_t length = 0;
    const char *named = pm_option_value(options, "backend", &length);
    if (named == NULL && (named = getenv("ALLOCATOR_BACKEND")) != NULL) {
        length = strlen(named);
    }
    if (named != NULL && length < sizeof backend) {
        memcpy(backend, named, length);
        backend[length] = '\0';
    }
    return pm.vm = pm_jvm_create(&pm.jvm, backend, pm_error, sizeof pm_error);
}

/* Describes and clears a pending Java exception into the error slot. */
static void pm_take_exception(JNIEnv *env, const char *what) {
    jthrowable thrown = (*env)->ExceptionOccurred(env);
    (*env)->ExceptionClear(env);
    const char *text = "(no description)";
    jstring description = NULL;
    jclass object = (*env)->FindClass(env, "java/lang/Object");
    if (thrown != NULL && object != NULL) {
        jmethodID to_string = (*env)->GetMethodID(env, object, "toString", "()Ljava/lang/String;");
        if (to_string != NULL) {
            description = (jstring) (*env)->CallObjectMethod(env, thrown, to_string);
        }
    }
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        description = NULL;
    }
    const char *chars = description != NULL ? (*env)->GetStringUTFChars(env, description, NULL) : NULL;
    pm_set_error("%s: %s", what, chars != NULL ? chars : text);
    if (chars != NULL) {
        (*env)->ReleaseStringUTFChars(env, description, chars);
    }
}

/* Calls loader.loadClass(name) for a loader returned by a static or instance method; NULL if it fails. */
static jclass pm_load_with(JNIEnv *env, jobject loader, const char *name) {
    if (loader == NULL) {
        return NULL;
    }
    jclass loader_class = (*env)->FindClass(env, "java/lang/ClassLoader");
    jmethodID load = loader_class != NULL
        ? (*env)->GetMethodID(env, loader_class, "loadClass", "(Ljava/lang/String;)Ljava/lang/Class;") : NULL;
    jstring text = load != NULL ? (*env)->NewStringUTF(env, name) : NULL;
    jclass found = text != NULL ? (jclass) (*env)->CallObjectMethod(env, loader, load, text) : NULL;
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        return NULL;
    }
    return found;
}

/*
 * Finds NativeExports. JNI's FindClass uses the loader of the calling Java frame, which for a call that
 * came down through an FFM downcall is the boot loader; so also try the thread's context class loader
 * (a Java host such as a test runner) and the system class loader (a C host: the class path we set).
 */
static jclass pm_find_exports(JNIEnv *env) {
    jclass found = (*env)->FindClass(env, "org/platformmemory/ffi/NativeExports");
    if (found != NULL) {
        return found;
    }
    (*env)->ExceptionClear(env);
    jclass thread_class = (*env)->FindClass(env, "java/lang/Thread");
    jmethodID current = (*env)->GetStaticMethodID(env, thread_class, "currentThread", "()Ljava/lang/Thread;");
    jmethodID context = (*env)->GetMethodID(env, thread_class, "getContextClassLoader", "()Ljava/lang/ClassLoader;");
    jobject thread = (*env)->CallStaticObjectMethod(env, thread_class, current);
    jobject loader = thread != NULL ? (*env)->CallObjectMethod(env, thread, context) : NULL;
    found = pm_load_with(env, loader, "org.platformmemory.ffi.NativeExports");
    if (found == NULL) {
        jclass loader_class = (*env)->FindClass(env, "java/lang/ClassLoader");
        jmethodID system = (*env)->GetStaticMethodID(env, loader_class, "getSystemClassLoader",
                                                     "()Ljava/lang/ClassLoader;");
        found = pm_load_with(env, (*env)->CallStaticObjectMethod(env, loader_class, system),
                             "org.platformmemory.ffi.NativeExports");
    }
    if (found == NULL && !(*env)->ExceptionCheck(env)) {
        (*env)->ThrowNew(env, (*env)->FindClass(env, "java/lang/NoClassDefFoundError"),
                         "org/platformmemory/ffi/NativeExports");
    }
    return found;
}

/* The log=verbose line of a start: how long it took, which runtime, and whether its AOT cache was used. */
static void pm_start_line(int64_t start_us, int created) {
    char text[sizeof pm.jvm.runtime + sizeof pm.jvm.aot_cache + 256];
    const PmJvmStart *j = &pm.jvm;
    if (!created) {
        snprintf(text, sizeof text, "started %s in %.1f ms, in the JVM already running", pm.backend, start_us / 1e3);
    } else {
        const char *cache = j->aot_cache[0] == '\0' ? "no ahead-of-time cache"
            : j->aot_used ? "ahead-of-time cache used: " : "ahead-of-time cache not used (made for another runtime "
                                                          "or other jars, or damaged): ";
        snprintf(text, sizeof text, "started %s in %.1f ms (the JVM %.1f ms), runtime %s (%s); %s%s", pm.backend,
                 start_us / 1e3, j->create_us / 1e3, j->runtime, j->chosen_by, cache, j->aot_cache);
    }
    pm_line("info", NULL, text);
}

/* Starts the layer with options. Called with pm.lock held. */
static int pm_start_locked(const char *options) {
    int64_t began = pm_jvm_now_us();
    int created = pm.vm == NULL;
    if (options == NULL || options[0] == '\0') {
        options = getenv("PLATFORM_MEMORY_OPTIONS");
    }
    if (options == NULL) {
        options = "";
    }
    if (atomic_load(&pm.state) == PM_READY) {
        if (strcmp(options, pm.options) == 0) {
            return PLATFORM_MEM_OK;
        }
        pm_set_error("already started with options \"%s\"; call Platform_Mem_Shutdown before starting with \"%s\"",
                     pm.options, options);
        return PLATFORM_MEM_ERR_START;
    }
    JavaVM *vm = pm_find_vm(options);
    if (vm == NULL) {
        return PLATFORM_MEM_ERR_START;
    }
    created = created && pm.jvm.chosen_by != NULL;
    JNIEnv *env = NULL;
    int attached = 0;
    jint rc = (*vm)->GetEnv(vm, (void **) &env, JNI_VERSION_21);
    if (rc == JNI_EDETACHED) {
        if ((*vm)->AttachCurrentThreadAsDaemon(vm, (void **) &env, NULL) != JNI_OK) {
            pm_set_error("cannot attach this thread to the JVM");
            return PLATFORM_MEM_ERR_START;
        }
        attached = 1;
    } else if (rc != JNI_OK) {
        pm_set_error("the JVM refused JNI version 21 (error %d): JAVA_HOME must be a JDK %d or newer", (int) rc,
                     PM_JDK_MINIMUM);
        return PLATFORM_MEM_ERR_START;
    }
    int result = PLATFORM_MEM_ERR_START;
    jlong start_settings = 0; /* NativeExports.startSettings: log level, failOnError, stacks, sampling */
    pm_error[0] = '\0';
    jclass exports = pm_find_exports(env);
    if (exports == NULL) {
        pm_take_exception(env, "the class org.platformmemory.ffi.NativeExports is not on the class path "
                               "(are the jars of dist/lib/java installed beside the library?)");
    } else {
        jmethodID install = (*env)->GetStaticMethodID(env, exports, "install", "(Ljava/lang/String;JJ)J");
        jmethodID backend = (*env)->GetStaticMethodID(env, exports, "backendName", "()Ljava/lang/String;");
        jmethodID entry = (*env)->GetStaticMethodID(env, exports, "entry", "(I)J");
        jmethodID settings = (*env)->GetStaticMethodID(env, exports, "startSettings", "()J");
        jmethodID caches = (*env)->GetStaticMethodID(env, exports, "startCaches", "()J");
        int routes = 1;
#define PM_FIND_JNI_ROUTE(field, name, signature)                                                         \
    pm.jni_kind[PM_ENTRY_##field] = signature[sizeof signature - 2];                                      \
    routes = routes && (pm.jni[PM_ENTRY_##field] = (*env)->GetStaticMethodID(env, exports, name, signature)) != NULL;
        PM_JNI_ROUTES(PM_FIND_JNI_ROUTE)
        jstring text = install != NULL && backend != NULL && entry != NULL && settings != NULL && caches != NULL
                && routes
            ? (*env)->NewStringUTF(env, options) : NULL;
        if (text == NULL) {
            pm_take_exception(env, "NativeExports.install(String, long, long), backendName(), entry(int), "
                                   "startSettings(), startCaches() or a table entry's JNI twin (cacheRefill, alloc, "
                                   "allocAligned, free) is missing: the jars and libplatform_memory.so come from "
                                   "different builds");
        } else {
            if (pm.exports == NULL) {
                pm.exports = (jclass) (*env)->NewGlobalRef(env, exports);
            }
            pm.entry = entry;
            jlong table = (*env)->CallStaticLongMethod(env, exports, install, text, (jlong) (intptr_t) &pm_report,
                                                       (jlong) (intptr_t) pm_abi_description());
            jstring name = NULL;
            if (!(*env)->ExceptionCheck(env) && table != 0) {
                name = (jstring) (*env)->CallStaticObjectMethod(env, exports, backend);
            }
            if (!(*env)->ExceptionCheck(env) && table != 0) {
                start_settings = (*env)->CallStaticLongMethod(env, exports, settings);
            }
            if ((*env)->ExceptionCheck(env)) {
                pm_take_exception(env, "NativeExports.install failed");
            } else if (table != 0 && pm.exports != NULL) {
                const char *chars = name != NULL ? (*env)->GetStringUTFChars(env, name, NULL) : NULL;
                snprintf(pm.backend, sizeof pm.backend, "%s", chars != NULL ? chars : "");
                if (chars != NULL) {
                    (*env)->ReleaseStringUTFChars(env, name, chars);
                }
                result = pm_take_table((const PmTable *) (intptr_t) table);
                if (result == PLATFORM_MEM_OK) {
                    /* the caches start here, while this thread can still ask Java through JNI: their depot is
                     * reset first, then Java starts its keeper and says how large a block they serve */
                    pm_tags_reset();
                    pm_cache_start(&pm.calls);
                    jlong largest = (*env)->CallStaticLongMethod(env, exports, caches);
                    if ((*env)->ExceptionCheck(env)) { /* it catches everything; should it not, the caches stay off */
                        (*env)->ExceptionClear(env);
                        largest = 0;
                    }
                    pm_cache_open(largest > 0 ? (size_t) largest : 0);
                }
            }
            (*env)->DeleteLocalRef(env, text);
        }
    }
    if (attached) {
        (*vm)->DetachCurrentThread(vm);
    }
    if (result == PLATFORM_MEM_OK) {
        snprintf(pm.options, sizeof pm.options, "%s", options);
        atomic_store(&pm.log_level, (int) (start_settings & 0xFF));
        atomic_store(&pm.errors_since_start, 0);
        int failing = (int) (start_settings >> 8 & 1);
        pm_stacks_start(start_settings);
        /* a Java host runs the exit checks from its own shutdown; a C host's JVM never shuts down */
        int exit_checks = (int) (start_settings >> 25 & 1) && pm.jvm.chosen_by != NULL;
        atomic_store(&pm.exit_checks, exit_checks);
        if ((failing || exit_checks) && !atomic_exchange(&pm.exit_check, 1)) {
            atexit(pm_at_exit);
        }
        atomic_store(&pm.fail_on_error, failing);
        int64_t took = pm_jvm_now_us() - began;
        atomic_store(&pm.start_us, (unsigned long long) took);
        if (atomic_load(&pm.log_level) >= PM_LOG_VERBOSE) {
            pm_start_line(took, created);
        }
        return PLATFORM_MEM_OK;
    }
    if (pm_error[0] == '\0') {
        pm_set_error("the Java side failed to start (code %d)", result);
    }
    return PLATFORM_MEM_ERR_START;
}

/* ---- Call stacks: what a start records, and the calls that cross with a stack -------------------- */

/* Takes the stack bits of NativeExports.startSettings: frames per stack (bits 16-23, 0: none), frees too
 * (bit 24), the sampling rate (bits 32-63). Called with pm.lock held, before the layer is ready. */
static void pm_stacks_start(int64_t settings) {
    int depth = (int) (settings >> 16 & 0xFF);
    int64_t sample = (int64_t) ((uint64_t) settings >> 32);
    if (depth > 0) {
        char why[256];
        pm_stacks_open(depth, pm.jvm.chosen_by != NULL, why, sizeof why);
        if (atomic_load(&pm.log_level) >= PM_LOG_VERBOSE) {
            pm_line("info", NULL, why);
        }
    }
    atomic_store(&pm.sample, depth > 0 ? sample : 0);
    atomic_store(&pm.free_stacks, depth > 0 && (settings >> 24 & 1));
    atomic_store(&pm.stacks, depth > 0 && sample == 0);
}

/* Whether a debugger traces this process (TracerPid in /proc/self/status is not 0). */
static int pm_debugger_attached(void) {
    char status[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t n = read(fd, status, sizeof status - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    status[n] = '\0';
    const char *tracer = strstr(status, "TracerPid:");
    return tracer != NULL && atoi(tracer + 10) != 0;
}

/* After a call that made the allocation allocator.breakAlloc names (Java has told the handler): stops a
 * debugger here, in the game's call, with SIGTRAP. Without a debugger a SIGTRAP would end the process,
 * so the call goes on after one line saying so. */
static __attribute__((noinline)) void pm_break_here(void) {
    if (pm_debugger_attached()) {
        raise(SIGTRAP);
    } else if (atomic_load_explicit(&pm.log_level, memory_order_relaxed) >= PM_LOG_ERRORS) {
        pm_line("info", NULL, "allocator.breakAlloc: no debugger is attached, so no SIGTRAP; going on");
    }
}

/* Around a call into Java that may make the allocation: the break is this call's only when its own
 * report set it (a handler that allocates while told of an outer break makes calls of its own). */
static inline int pm_break_enter(void) {
    int outer = pm_break_pending;
    pm_break_pending = 0;
    return outer;
}

static inline void pm_break_leave(int outer) {
    int mine = pm_break_pending;
    pm_break_pending = outer;
    if (PM_UNLIKELY(mine)) {
        pm_break_here();
    }
}

/* An allocation that crosses with its call stack (leaks, debug, a sampled one). */
static __attribute__((noinline)) void *pm_alloc_at(size_t size, size_t alignment, uint32_t flags, const char *file,
                                                   int line) {
    int32_t stack = pm_stack_capture(file, line);
    pm_mode_sync(&pm.calls);
    int outer = pm_break_enter();
    void *p = pm.calls.alloc_at(size, alignment, flags, stack);
    pm_break_leave(outer);
    return p;
}

/* The bytes until the next sampled allocation: exponentially distributed with mean rate (a Poisson
 * process over the bytes allocated), from this thread's xorshift generator. */
static int64_t pm_sample_interval(int64_t rate) {
    uint64_t x = pm_sample_random;
    if (x == 0) {
        x = (uint64_t) (uintptr_t) &pm_sample_random ^ (uint64_t) pm_jvm_now_us() * 0x9E3779B97F4A7C15ULL;
        x |= 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pm_sample_random = x;
    double u = ((double) (x >> 11) + 0.5) * (1.0 / 9007199254740992.0); /* (0, 1) */
    double next = -log(u) * (double) rate;
    return next < (double) INT64_MAX / 2 ? (int64_t) next : INT64_MAX / 2;
}

/* This thread's countdown to its next sample ran out: with sampling on, the allocation under way is
 * sampled (1) and the countdown starts again; otherwise the countdown is only reset (0). */
static int pm_sample_due(void) {
    int64_t rate = atomic_load_explicit(&pm.sample, memory_order_relaxed);
    pm_sample_left = rate > 0 ? pm_sample_interval(rate) : PM_SAMPLE_RECHECK;
    return rate > 0;
}

/* The slow path of every call before the layer is ready: start it from the environment, once. */
static __attribute__((noinline)) int pm_start_lazily(void) {
    pthread_mutex_lock(&pm.lock);
    int state = atomic_load(&pm.state);
    if (state == PM_STOPPED) {
        if (pm_start_locked(NULL) != PLATFORM_MEM_OK) {
            atomic_store(&pm.state, PM_FAILED);
            pm_start_failed(NULL);
        }
        state = atomic_load(&pm.state);
    }
    pthread_mutex_unlock(&pm.lock);
    return state == PM_READY;
}

static inline int pm_ready(void) {
    return PM_LIKELY(atomic_load_explicit(&pm.state, memory_order_acquire) == PM_READY) || pm_start_lazily();
}

/* ---- The fast path: every allocation and free goes through these two ----------------------------- */

/* Small blocks come from this thread's cache (pm_cache.h); everything else, and whatever the cache
 * cannot serve or does not know, from the facade through one upcall. The common case is one check of the
 * layer's state and size, then the cache's leaf fast path; the rest is out of line (pm_*_fallback). */
static __attribute__((noinline)) void *pm_sample_alloc(size_t size, uint32_t flags);

static inline void *pm_fast_alloc(size_t size, uint32_t flags) {
    if (PM_LIKELY(atomic_load_explicit(&pm.state, memory_order_acquire) == PM_READY) &&
        PM_LIKELY(size - 1 < atomic_load_explicit(&pm_cache.largest, memory_order_relaxed))) {
        if (PM_UNLIKELY((pm_sample_left -= (int64_t) size) < 0)) {
            return pm_sample_alloc(size, flags);
        }
        return pm_cache_alloc(size, flags); /* size 0 wraps around: never here */
    }
    return pm_alloc_fallback(size, flags);
}

PM_HIDDEN __attribute__((noinline)) void *pm_alloc_fallback(size_t size, uint32_t flags) {
    if (size == 0 || !pm_ready()) {
        return NULL;
    }
    if (PM_UNLIKELY(atomic_load_explicit(&pm.stacks, memory_order_relaxed))) {
        return pm_alloc_at(size, 16, flags, NULL, 0);
    }
    size_t largest = atomic_load_explicit(&pm_cache.largest, memory_order_relaxed);
    if (size <= largest && !pm_mode_detours(pm_mode)) {
        void *p = pm_cache_alloc_slow(size, flags);
        if (p != NULL) {
            return p;
        }
    }
    /* a block the caches do not serve counts towards the next sample here; theirs in pm_fast_alloc */
    if (size > largest && PM_UNLIKELY((pm_sample_left -= (int64_t) size) < 0) && pm_sample_due()) {
        return pm_alloc_at(size, 16, flags, NULL, 0);
    }
    pm_mode_sync(&pm.calls);
    return pm.calls.alloc(size, flags);
}

/* A cached block during whose allocation this thread's countdown to its next sample ran out. */
static __attribute__((noinline)) void *pm_sample_alloc(size_t size, uint32_t flags) {
    return pm_sample_due() ? pm_alloc_at(size, 16, flags, NULL, 0) : pm_cache_alloc(size, flags);
}

static inline void pm_fast_free(void *ptr, size_t size) {
    if (PM_LIKELY(atomic_load_explicit(&pm.state, memory_order_acquire) == PM_READY) &&
        PM_LIKELY(atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) != 0) && PM_LIKELY(ptr != NULL)) {
        pm_cache_free(ptr, size);
        return;
    }
    pm_free_fallback(ptr, size);
}

PM_HIDDEN __attribute__((noinline)) void pm_free_fallback(void *ptr, size_t size) {
    if (ptr == NULL || !pm_ready()) {
        return;
    }
    if (atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) != 0 &&
        pm_cache_free_slow(ptr, size) == PM_CACHE_DONE) {
        return;
    }
    if (PM_UNLIKELY(atomic_load_explicit(&pm.free_stacks, memory_order_relaxed))) {
        pm.calls.free_at(ptr, size, pm_stack_capture(NULL, 0));
        return;
    }
    pm.calls.free(ptr, size);
}

/* ---- The seed ABI -------------------------------------------------------------------------------- */

PLATFORM_MEMORY_API void *Platform_Alloc(size_t size, uint32_t flags) {
    return pm_fast_alloc(size, flags);
}

PLATFORM_MEMORY_API void Platform_Free(void *ptr, size_t size) {
    pm_fast_free(ptr, size);
}

PLATFORM_MEMORY_API void *Platform_Realloc(void *ptr, size_t old_size, size_t new_size) {
    if (ptr == NULL) {
        return pm_fast_alloc(new_size, PLATFORM_MEM_NORMAL);
    }
    if (!pm_ready()) {
        return NULL;
    }
    if (atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) != 0) {
        int handled;
        void *moved = pm_cache_realloc(ptr, old_size, new_size, &handled);
        if (handled) {
            return moved;
        }
    }
    pm_mode_sync(&pm.calls);
    if (PM_UNLIKELY(atomic_load_explicit(&pm.stacks, memory_order_relaxed))) {
        int32_t stack = pm_stack_capture(NULL, 0);
        int outer = pm_break_enter();
        void *moved = pm.calls.realloc_at(ptr, old_size, new_size, stack);
        pm_break_leave(outer);
        return moved;
    }
    return pm.calls.realloc(ptr, old_size, new_size);
}

static void pm_stats(PlatformMemStats *out) {
    memset(out, 0, sizeof *out);
    if (pm_ready()) {
        pm.calls.get_stats(out);
        out->mapped_bytes = pm.calls.stat(PM_STAT_MAPPED);
        out->resident_bytes = pm.calls.stat(PM_STAT_RESIDENT);
    }
    out->start_failures = atomic_load(&pm.start_failures);
    out->start_us = atomic_load(&pm.start_us);
    out->aot_cache = pm.jvm.aot_used != 0;
}

static size_t pm_stat(int32_t which) {
    return pm_ready() ? (size_t) pm.calls.stat(which) : 0;
}

PLATFORM_MEMORY_API size_t Platform_Ram_Free(void) {
    return pm_stat(PM_STAT_RAM_FREE);
}

PLATFORM_MEMORY_API size_t Platform_Total_Ram_Free(void) {
    return pm_stat(PM_STAT_RAM_TOTAL);
}

PLATFORM_MEMORY_API size_t Platform_Mem_GetAllocated(void) {
    return pm_stat(PM_STAT_LIVE_BYTES);
}

PLATFORM_MEMORY_API size_t Platform_Mem_GetPeak(void) {
    return pm_stat(PM_STAT_PEAK_BYTES);
}

PLATFORM_MEMORY_API size_t Platform_Mem_GetCount(void) {
    return pm_stat(PM_STAT_LIVE_BLOCKS);
}

/* ---- Insights: the facade keeps the figures; this thread's tag is also kept here for its cache ---- */

_Static_assert(sizeof(PlatformMemTagStats) == 64 + 8 * 8, "PlatformMemTagStats as InsightEntries writes it");
_Static_assert(sizeof(PlatformMemFrameStats) == 7 * 8, "PlatformMemFrameStats as InsightEntries writes it");

PLATFORM_MEMORY_API int Platform_Mem_PushTag(const char *name) {
    return pm_ready() ? pm_tags_push(&pm.calls, name) : 0;
}

PLATFORM_MEMORY_API void Platform_Mem_PopTag(void) {
    if (pm_ready()) {
        pm_tags_pop();
    }
}

PLATFORM_MEMORY_API int Platform_Mem_SetTagBudget(const char *name, size_t soft_bytes, size_t hard_bytes) {
    if (name == NULL || !pm_ready()) {
        return -1;
    }
    return pm.calls.set_tag_budget(name, soft_bytes, hard_bytes);
}

PLATFORM_MEMORY_API size_t Platform_Mem_GetTagStats(PlatformMemTagStats *out, size_t capacity) {
    if (!pm_ready()) {
        return 0;
    }
    return pm.calls.tag_stats(out, out == NULL ? 0 : capacity);
}

PLATFORM_MEMORY_API void Platform_Mem_FrameMark(void) {
    if (pm_ready()) {
        pm.calls.frame_mark();
    }
}

PLATFORM_MEMORY_API void Platform_Mem_GetFrameStats(PlatformMemFrameStats *out) {
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof *out);
    if (pm_ready()) {
        pm.calls.frame_stats(out);
    }
}

PLATFORM_MEMORY_API void Platform_Mem_ForbidAllocations(int on) {
    if (pm_ready()) {
        pm_tags_forbid(on != 0); /* the caches send this thread's allocations to the facade, which reports them */
    }
}

PLATFORM_MEMORY_API uint64_t Platform_Mem_Snapshot(void) {
    return pm_ready() ? pm.calls.snapshot() : 0;
}

PLATFORM_MEMORY_API int Platform_Mem_DumpDiff(uint64_t from, uint64_t to) {
    fflush(stderr);
    return pm_ready() ? pm.calls.dump_diff(from, to) : -1;
}

PLATFORM_MEMORY_API int Platform_Mem_WriteReport(const char *path) {
    return path != NULL && pm_ready() ? pm.calls.write_report(path) : -1;
}

PLATFORM_MEMORY_API int Platform_Mem_CheckHeap(void) {
    return pm_ready() ? pm.calls.check_heap() : 0;
}

PLATFORM_MEMORY_API size_t Platform_Mem_DumpLeaks(void) {
    fflush(stderr);
    if (!pm_ready()) {
        return 0;
    }
    size_t blocks = pm.calls.dump_leaks();
    return blocks + pm_cache_dump();
}

/* ---- Pure memory operations: done here, they touch no allocator state ------------------------------ */

PLATFORM_MEMORY_API void *Platform_MemCopy(void *dst, const void *src, size_t n) {
    return n == 0 ? dst : memcpy(dst, src, n);
}

PLATFORM_MEMORY_API void *Platform_MemMove(void *dst, const void *src, size_t n) {
    return n == 0 ? dst : memmove(dst, src, n);
}

PLATFORM_MEMORY_API void *Platform_MemSet(void *dst, int value, size_t n) {
    return n == 0 ? dst : memset(dst, value, n);
}

PLATFORM_MEMORY_API int Platform_MemCmp(const void *a, const void *b, size_t n) {
    return n == 0 ? 0 : memcmp(a, b, n);
}

PLATFORM_MEMORY_API void Platform_ZeroMemory(void *dst, size_t n) {
    if (n != 0) {
        memset(dst, 0, n);
    }
}

/* ---- Extensions ---------------------------------------------------------------------------------- */

PLATFORM_MEMORY_API int Platform_Mem_Init(const char *options) {
    pthread_mutex_lock(&pm.lock);
    int rc = pm_start_locked(options);
    if (rc != PLATFORM_MEM_OK) {
        pm_start_failed(options);
        if (atomic_load(&pm.state) != PM_READY) {
            atomic_store(&pm.state, PM_FAILED);
        }
    }
    pthread_mutex_unlock(&pm.lock);
    return rc;
}

PLATFORM_MEMORY_API void Platform_Mem_Shutdown(void) {
    pthread_mutex_lock(&pm.lock);
    if (atomic_load(&pm.state) == PM_READY) {
        /* new calls now start the layer again; calls already past pm_ready() still find valid stubs
         * (the table is never cleared, the stubs live as long as the JVM) and get "closed" from Java */
        atomic_store(&pm.state, PM_STOPPED);
        pm_cache_stop();
        pm.calls.shutdown();
        pm.backend[0] = '\0';
        pm.options[0] = '\0';
        unsigned long long errors = atomic_exchange(&pm.errors_since_start, 0);
        if (atomic_exchange(&pm.fail_on_error, 0) && errors > 0) {
            char then[96];
            snprintf(then, sizeof then, "; the process will exit with status %d", PLATFORM_MEM_EXIT_ON_ERROR);
            pm_error_count_line(errors, "since the layer started", then);
        }
    } else if (atomic_load(&pm.state) == PM_FAILED) {
        atomic_store(&pm.state, PM_STOPPED); /* the next call may try again */
    }
    pthread_mutex_unlock(&pm.lock);
}

PLATFORM_MEMORY_API const char *Platform_Mem_Backend(void) {
    return pm_ready() ? pm.backend : "";
}

PLATFORM_MEMORY_API const char *Platform_Mem_Version(void) {
    return PM_VERSION; /* a constant: no start, no JVM */
}

PLATFORM_MEMORY_API const char *Platform_Mem_LastError(void) {
    return pm_error;
}

PLATFORM_MEMORY_API size_t Platform_Mem_Size(const void *ptr) {
    if (ptr == NULL || !pm_ready()) {
        return 0;
    }
    if (atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) != 0) {
        int handled;
        size_t size = pm_cache_size(ptr, &handled);
        if (handled) {
            return size;
        }
    }
    return pm.calls.size(ptr);
}

PLATFORM_MEMORY_API int Platform_Mem_Discard(void *block, size_t offset, size_t size) {
    if (!pm_ready()) {
        return 0;
    }
    if (block != NULL && atomic_load_explicit(&pm_cache.largest, memory_order_relaxed) != 0) {
        int handled;
        int done = pm_cache_discard(block, offset, size, &handled);
        if (handled) {
            return done;
        }
    }
    return pm.calls.discard(block, offset, size);
}

PLATFORM_MEMORY_API void Platform_Mem_Trim(void) {
    if (!pm_ready()) {
        return;
    }
    pm_cache_trim();
    pm.calls.trim();
}

PLATFORM_MEMORY_API void *Platform_AllocAligned(size_t size, size_t alignment, uint32_t flags) {
    if (size == 0 || !pm_ready()) {
        return NULL;
    }
    /* small blocks of a power-of-two alignment up to PM_CACHE_ALIGN_MAX come from the caches too (a C++
     * program's alignas(64) objects); any other alignment goes to the facade, which reports a bad one */
    size_t largest = atomic_load_explicit(&pm_cache.largest, memory_order_relaxed);
    if (alignment != 0 && (alignment & (alignment - 1)) == 0 && alignment <= PM_CACHE_ALIGN_MAX &&
        size <= largest && size <= largest - pm_align_pad(alignment)) {
        if (alignment <= 16) {
            return pm_fast_alloc(size, flags);
        }
        void *p = pm_cache_alloc_aligned(size, alignment, flags);
        if (p != NULL) {
            return p;
        }
    }
    if (PM_UNLIKELY(atomic_load_explicit(&pm.stacks, memory_order_relaxed))) {
        return pm_alloc_at(size, alignment, flags, NULL, 0);
    }
    pm_mode_sync(&pm.calls);
    return pm.calls.alloc_aligned(size, alignment, flags);
}

PLATFORM_MEMORY_API void *Platform_Alloc_Dbg(size_t size, uint32_t flags, const char *file, int line) {
    if (size == 0 || !pm_ready()) {
        return NULL;
    }
    /* the caches run only in counters mode, which records no sites: the same block as Platform_Alloc */
    if (PM_LIKELY(size <= atomic_load_explicit(&pm_cache.largest, memory_order_relaxed))) {
        return pm_fast_alloc(size, flags);
    }
    if (PM_UNLIKELY(atomic_load_explicit(&pm.stacks, memory_order_relaxed))) {
        return pm_alloc_at(size, 16, flags, file, line);
    }
    pm_mode_sync(&pm.calls);
    return pm.calls.alloc_dbg(size, flags, file, line);
}

PLATFORM_MEMORY_API void Platform_Mem_GetStats(PlatformMemStats *out) {
    if (out != NULL) {
        pm_stats(out);
    }
}

PLATFORM_MEMORY_API void Platform_Mem_SetErrorHandler(PlatformMemErrorHandler handler) {
    atomic_store_explicit(&pm.handler, handler, memory_order_release);
}

/* Heaps cross the ABI as a 64-bit handle disguised as an opaque pointer: never a canonical address and
 * never handed out twice (HeapHandles), so a stale or bogus handle is reported, not taken for a heap. */
PLATFORM_MEMORY_API PlatformHeap Platform_HeapCreate(void) {
    return pm_ready() ? (PlatformHeap) (intptr_t) pm.calls.heap_create() : NULL;
}

PLATFORM_MEMORY_API size_t Platform_HeapSize(PlatformHeap heap, const void *ptr) {
    return ptr != NULL && pm_ready() ? pm.calls.heap_size((int64_t) (intptr_t) heap, ptr) : 0;
}

PLATFORM_MEMORY_API void *Platform_HeapAlloc(PlatformHeap heap, size_t size, uint32_t flags) {
    if (size == 0 || !pm_ready()) {
        return NULL;
    }
    pm_mode_sync(&pm.calls);
    if (PM_UNLIKELY(atomic_load_explicit(&pm.stacks, memory_order_relaxed))) {
        int32_t stack = pm_stack_capture(NULL, 0);
        int outer = pm_break_enter();
        void *p = pm.calls.heap_alloc_at((int64_t) (intptr_t) heap, size, flags, stack);
        pm_break_leave(outer);
        return p;
    }
    return pm.calls.heap_alloc((int64_t) (intptr_t) heap, size, flags);
}

PLATFORM_MEMORY_API int Platform_HeapFree(PlatformHeap heap, void *ptr) {
    if (ptr == NULL) {
        return 1;
    }
    if (!pm_ready()) {
        return 0;
    }
    if (PM_UNLIKELY(atomic_load_explicit(&pm.free_stacks, memory_order_relaxed))) {
        return pm.calls.heap_free_at((int64_t) (intptr_t) heap, ptr, pm_stack_capture(NULL, 0));
    }
    return pm.calls.heap_free((int64_t) (intptr_t) heap, ptr);
}

PLATFORM_MEMORY_API void Platform_Mem_BreakAlloc(uint64_t number) {
    if (pm_ready()) {
        pm.calls.set_break(number);
    }
}

/* The shim's stack names for Java (PM_SERVICES): the frames, then "@file:line" of Platform_Alloc_Dbg. */
PM_HIDDEN size_t pm_service_stack_describe(int32_t id, void *out, size_t size) {
    char *text = out;
    if (text == NULL || size < 2) {
        return 0;
    }
    size_t n = pm_stack_describe(id, text, size);
    const char *file = NULL;
    int line = 0;
    pm_stack_site(id, &file, &line);
    if (file != NULL) {
        int more = snprintf(text + n, size - n, "%s@%s:%d", n > 0 ? "\n" : "", file, line);
        n = more > 0 && (size_t) more < size - n ? n + (size_t) more : n;
        text[n] = '\0';
    }
    return n;
}

PLATFORM_MEMORY_API void Platform_HeapDestroy(PlatformHeap heap) {
    if (pm_ready()) {
        pm.calls.heap_destroy((int64_t) (intptr_t) heap);
    }
}
