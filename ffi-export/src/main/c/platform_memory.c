/*
 * libplatform_memory.so: the C side of platform-memory.
 *
 * Exports the ABI of platform_memory.h. Allocation calls go through a table of FFM upcall stubs that
 * the Java side installs once (pm_install); pure memory operations are done here in C. The first call
 * (or Platform_Mem_Init) starts the layer: it finds the JVM already running in the process (a Java
 * host) or starts one with the JNI Invocation API (a C host: libjvm is dlopen'ed from JAVA_HOME, so
 * the library has no link-time dependency on a JDK), then asks NativeExports.install to fill the table.
 */
#define _GNU_SOURCE
#define PLATFORM_MEMORY_BUILDING
#include "platform_memory.h"
#include "platform_memory_shim.h"

#include <dirent.h>
#include <stddef.h>
#include <dlfcn.h>
#include <jni.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The oldest JDK whose JVM can load the jars (they are compiled for it): the pom's jdk.minimum, passed
 * by CMake. */
#ifndef PM_JDK_MINIMUM
#error "PM_JDK_MINIMUM is not defined: build with CMake, which passes the pom's jdk.minimum"
#endif

#define PM_LIKELY(x) __builtin_expect(!!(x), 1)
#define PM_UNLIKELY(x) __builtin_expect(!!(x), 0)

enum { PM_STOPPED = 0, PM_READY = 1, PM_FAILED = 2 };

/* ---- State: the installed table, the error slot, and what starting needs ---------------------- */

static struct {
    PmTable calls;                        /* the installed upcall stubs */
    atomic_int state;                     /* PM_STOPPED, PM_READY or PM_FAILED */
    pthread_mutex_t lock;                 /* guards starting, stopping and the fields below */
    char backend[64];                     /* the active backend's name */
    char options[1024];                   /* the options it was started with */
    _Atomic(PlatformMemErrorHandler) handler;
    atomic_ullong start_failures;         /* failed attempts to start, for PlatformMemStats */
    JavaVM *vm;                           /* the JVM, once found or created */
} pm = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The error slot: the last error's message, per thread (as errno), so concurrent reports never tear. */
static _Thread_local char pm_error[1024];

static void pm_set_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void pm_set_error(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(pm_error, sizeof pm_error, format, args);
    va_end(args);
}

/* Java reports every error here: it fills the error slot and tells the game's handler. */
static void pm_report(int code, const char *message, void *ptr) {
    const char *text = message != NULL ? message : "";
    pm_set_error("%s", text);
    PlatformMemErrorHandler handler = atomic_load_explicit(&pm.handler, memory_order_acquire);
    if (handler != NULL) {
        handler(code, text, ptr); /* valid for the whole call: Java keeps it until this returns */
    }
}

/* A start that failed: counted, on stderr, and told to the game's handler. Called with pm.lock held. */
static void pm_start_failed(void) {
    atomic_fetch_add(&pm.start_failures, 1);
    fprintf(stderr, "platform-memory: cannot start: %s\n", pm_error);
    PlatformMemErrorHandler handler = atomic_load_explicit(&pm.handler, memory_order_acquire);
    if (handler != NULL) {
        handler(PLATFORM_MEM_ERR_START, pm_error, NULL);
    }
}

/* Java installs the upcall stubs here, from inside NativeExports.install. */
static int pm_install(const PmTable *table, const char *backend) {
    if (table == NULL || table->entries != PM_TABLE_ENTRIES) {
        pm_set_error("the Java side's call table has %llu entries, this library expects %d: "
                     "the jars and libplatform_memory.so come from different builds",
                     table == NULL ? 0ULL : (unsigned long long) table->entries, PM_TABLE_ENTRIES);
        return PLATFORM_MEM_ERR_START;
    }
    pm.calls = *table;
    snprintf(pm.backend, sizeof pm.backend, "%s", backend != NULL ? backend : "");
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
    (void) index;
    return pm_description;
}

/* ---- Starting the JVM (C host) ------------------------------------------------------------------ */

typedef jint (*PmCreateVm)(JavaVM **, void **, void *);
typedef jint (*PmGetCreatedVms)(JavaVM **, jsize, jsize *);

/* The feature version in $JAVA_HOME/release (JAVA_VERSION="25.0.3"), or 0 when it cannot be read. */
static int pm_jdk_version(const char *java_home) {
    char path[4096];
    snprintf(path, sizeof path, "%s/release", java_home);
    FILE *release = fopen(path, "r");
    if (release == NULL) {
        return 0;
    }
    char line[256];
    int version = 0;
    while (fgets(line, sizeof line, release) != NULL) {
        if (strncmp(line, "JAVA_VERSION=\"", 14) == 0) {
            version = atoi(line + 14);
            break;
        }
    }
    fclose(release);
    return version;
}

static int pm_has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

static int pm_compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The folder holding this library, into dir. */
static int pm_library_dir(char *dir, size_t size) {
    Dl_info info;
    if (dladdr((void *) &Platform_Mem_Init, &info) == 0 || info.dli_fname == NULL) {
        return -1;
    }
    snprintf(dir, size, "%s", info.dli_fname);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, size, ".");
    } else {
        *slash = '\0';
    }
    return 0;
}

/* "-Djava.class.path=" followed by every jar in jar_dir, sorted; NULL with the error set if none. */
static char *pm_class_path_of(const char *jar_dir) {
    DIR *dir = opendir(jar_dir);
    if (dir == NULL) {
        pm_set_error("no Java classes: %s does not exist; install the jars there (dist/lib/java) or set "
                     "PLATFORM_MEMORY_CLASSPATH", jar_dir);
        return NULL;
    }
    char *names[256];
    size_t count = 0, length = strlen("-Djava.class.path=") + 1;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 256) {
        if (pm_has_suffix(entry->d_name, ".jar")) {
            names[count] = strdup(entry->d_name);
            length += strlen(jar_dir) + strlen(entry->d_name) + 2;
            count++;
        }
    }
    closedir(dir);
    if (count == 0) {
        pm_set_error("no Java classes: %s holds no .jar files; install them there or set PLATFORM_MEMORY_CLASSPATH",
                     jar_dir);
        return NULL;
    }
    qsort(names, count, sizeof names[0], pm_compare_names);
    char *option = malloc(length);
    strcpy(option, "-Djava.class.path=");
    for (size_t i = 0; i < count; i++) {
        if (i > 0) {
            strcat(option, ":");
        }
        strcat(option, jar_dir);
        strcat(option, "/");
        strcat(option, names[i]);
        free(names[i]);
    }
    return option;
}

/* Appends the whitespace-separated words of text to options. */
static void pm_add_words(char *text, JavaVMOption *options, int *count, int max) {
    char *rest = NULL; /* strtok_r: the game may be using strtok on another thread */
    for (char *word = strtok_r(text, " \t\r\n", &rest); word != NULL && *count < max;
         word = strtok_r(NULL, " \t\r\n", &rest)) {
        if (word[0] != '#') {
            options[(*count)++].optionString = word;
        }
    }
}

static char *pm_read_file(const char *path) {
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return NULL;
    }
    char *text = calloc(1, 8192);
    size_t n = fread(text, 1, 8191, file);
    text[n] = '\0';
    fclose(file);
    return text;
}

/* Starts a JVM in this process. Returns NULL with the error slot set on failure. */
static JavaVM *pm_create_vm(void) {
    const char *java_home = getenv("JAVA_HOME");
    if (java_home == NULL || java_home[0] == '\0') {
        pm_set_error("JAVA_HOME is not set: platform-memory needs a JDK %d or newer to run its allocator; "
                     "set JAVA_HOME to one, for example /usr/lib/jvm/temurin-25-jdk-amd64", PM_JDK_MINIMUM);
        return NULL;
    }
    int version = pm_jdk_version(java_home);
    if (version != 0 && version < PM_JDK_MINIMUM) {
        pm_set_error("JAVA_HOME=%s is JDK %d: platform-memory needs a JDK %d or newer (its classes are compiled "
                     "for %d); point JAVA_HOME at one", java_home, version, PM_JDK_MINIMUM, PM_JDK_MINIMUM);
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/lib/server/libjvm.so", java_home);
    void *libjvm = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (libjvm == NULL) {
        pm_set_error("cannot load the JVM from JAVA_HOME=%s (%s); set JAVA_HOME to a JDK %d or newer", java_home,
                     dlerror(), PM_JDK_MINIMUM);
        return NULL;
    }
    PmCreateVm create = (PmCreateVm) dlsym(libjvm, "JNI_CreateJavaVM");
    if (create == NULL) {
        pm_set_error("%s has no JNI_CreateJavaVM; set JAVA_HOME to a JDK %d or newer", path, PM_JDK_MINIMUM);
        return NULL;
    }

    /* the jars: PLATFORM_MEMORY_JAR_DIR, else the java/ folder beside this library (dist/lib/java) */
    char dir[4096], jar_dir[4096 + 8];
    const char *jar_override = getenv("PLATFORM_MEMORY_JAR_DIR");
    if (jar_override != NULL && jar_override[0] != '\0') {
        snprintf(jar_dir, sizeof jar_dir, "%s", jar_override);
    } else {
        if (pm_library_dir(dir, sizeof dir) != 0) {
            snprintf(dir, sizeof dir, ".");
        }
        snprintf(jar_dir, sizeof jar_dir, "%s/java", dir);
    }
    char *class_path;
    const char *explicit_path = getenv("PLATFORM_MEMORY_CLASSPATH");
    if (explicit_path != NULL && explicit_path[0] != '\0') {
        class_path = malloc(strlen(explicit_path) + 32);
        sprintf(class_path, "-Djava.class.path=%s", explicit_path);
    } else if ((class_path = pm_class_path_of(jar_dir)) == NULL) {
        return NULL;
    }

    /* The flags the backends need, as the build wrote them beside the jars; then the user's. */
    JavaVMOption options[64];
    int count = 0;
    options[count++].optionString = class_path;
    char file[4096 + 32];
    snprintf(file, sizeof file, "%s/jvm.options", jar_dir);
    char *flags = pm_read_file(file);
    if (flags == NULL) {
        flags = strdup("--enable-native-access=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED");
    }
    pm_add_words(flags, options, &count, 48);
    const char *user = getenv("PLATFORM_MEMORY_JVM_OPTIONS");
    char *user_flags = user != NULL ? strdup(user) : NULL;
    if (user_flags != NULL) {
        pm_add_words(user_flags, options, &count, 64);
    }

    JavaVMInitArgs args;
    memset(&args, 0, sizeof args);
    args.version = JNI_VERSION_21;
    args.nOptions = count;
    args.options = options;
    args.ignoreUnrecognized = JNI_FALSE;
    JavaVM *vm = NULL;
    void *env = NULL;
    jint rc = create(&vm, &env, &args);
    /* the JVM copies its options; flags and user_flags hold the strings until here */
    free(class_path);
    free(flags);
    free(user_flags);
    if (rc != JNI_OK) {
        pm_set_error("the JVM from JAVA_HOME=%s failed to start (JNI error %d); check the options in %s "
                     "and PLATFORM_MEMORY_JVM_OPTIONS (the JVM's own message is on stderr)",
                     java_home, (int) rc, file);
        return NULL;
    }
    return vm;
}

/* The JVM of this process: one already running (a Java host, or started earlier), else a new one. */
static JavaVM *pm_find_vm(void) {
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
    return pm.vm = pm_create_vm();
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

/* Starts the layer with options. Called with pm.lock held. */
static int pm_start_locked(const char *options) {
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
    JavaVM *vm = pm_find_vm();
    if (vm == NULL) {
        return PLATFORM_MEM_ERR_START;
    }
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
    pm_error[0] = '\0';
    jclass exports = pm_find_exports(env);
    if (exports == NULL) {
        pm_take_exception(env, "the class org.platformmemory.ffi.NativeExports is not on the class path "
                               "(are the jars of dist/lib/java installed beside the library?)");
    } else {
        jmethodID install = (*env)->GetStaticMethodID(env, exports, "install", "(Ljava/lang/String;JJJ)I");
        jstring text = install != NULL ? (*env)->NewStringUTF(env, options) : NULL;
        if (install == NULL || text == NULL) {
            pm_take_exception(env, "NativeExports.install(String, long, long, long) is missing: the jars and "
                                   "libplatform_memory.so come from different builds");
        } else {
            result = (*env)->CallStaticIntMethod(env, exports, install, text, (jlong) (intptr_t) &pm_install,
                                                 (jlong) (intptr_t) &pm_report,
                                                 (jlong) (intptr_t) pm_abi_description());
            if ((*env)->ExceptionCheck(env)) {
                pm_take_exception(env, "NativeExports.install failed");
                result = PLATFORM_MEM_ERR_START;
            }
            (*env)->DeleteLocalRef(env, text);
        }
    }
    if (attached) {
        (*vm)->DetachCurrentThread(vm);
    }
    if (result == PLATFORM_MEM_OK && atomic_load(&pm.state) == PM_READY) {
        snprintf(pm.options, sizeof pm.options, "%s", options);
        return PLATFORM_MEM_OK;
    }
    if (pm_error[0] == '\0') {
        pm_set_error("the Java side failed to start (code %d)", result);
    }
    return PLATFORM_MEM_ERR_START;
}

/* The slow path of every call before the layer is ready: start it from the environment, once. */
static __attribute__((noinline)) int pm_start_lazily(void) {
    pthread_mutex_lock(&pm.lock);
    int state = atomic_load(&pm.state);
    if (state == PM_STOPPED) {
        if (pm_start_locked(NULL) != PLATFORM_MEM_OK) {
            atomic_store(&pm.state, PM_FAILED);
            pm_start_failed();
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

static inline void *pm_fast_alloc(size_t size, uint32_t flags) {
    if (PM_UNLIKELY(size == 0) || PM_UNLIKELY(!pm_ready())) {
        return NULL;
    }
    return pm.calls.alloc(size, flags);
}

static inline void pm_fast_free(void *ptr, size_t size) {
    if (PM_UNLIKELY(ptr == NULL) || PM_UNLIKELY(!pm_ready())) {
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
    return pm_ready() ? pm.calls.realloc(ptr, old_size, new_size) : NULL;
}

static void pm_stats(PlatformMemStats *out) {
    memset(out, 0, sizeof *out);
    if (pm_ready()) {
        pm.calls.get_stats(out);
    }
    out->start_failures = atomic_load(&pm.start_failures);
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

PLATFORM_MEMORY_API size_t Platform_Mem_DumpLeaks(void) {
    fflush(stderr);
    return pm_ready() ? pm.calls.dump_leaks() : 0;
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
        pm_start_failed();
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
        pm.calls.shutdown();
        pm.backend[0] = '\0';
        pm.options[0] = '\0';
    } else if (atomic_load(&pm.state) == PM_FAILED) {
        atomic_store(&pm.state, PM_STOPPED); /* the next call may try again */
    }
    pthread_mutex_unlock(&pm.lock);
}

PLATFORM_MEMORY_API const char *Platform_Mem_Backend(void) {
    return pm_ready() ? pm.backend : "";
}

PLATFORM_MEMORY_API const char *Platform_Mem_LastError(void) {
    return pm_error;
}

PLATFORM_MEMORY_API size_t Platform_Mem_Size(const void *ptr) {
    return ptr != NULL && pm_ready() ? pm.calls.size(ptr) : 0;
}

PLATFORM_MEMORY_API void *Platform_AllocAligned(size_t size, size_t alignment, uint32_t flags) {
    return size != 0 && pm_ready() ? pm.calls.alloc_aligned(size, alignment, flags) : NULL;
}

PLATFORM_MEMORY_API void *Platform_Alloc_Dbg(size_t size, uint32_t flags, const char *file, int line) {
    return size != 0 && pm_ready() ? pm.calls.alloc_dbg(size, flags, file, line) : NULL;
}

PLATFORM_MEMORY_API void Platform_Mem_GetStats(PlatformMemStats *out) {
    if (out != NULL) {
        pm_stats(out);
    }
}

PLATFORM_MEMORY_API void Platform_Mem_SetErrorHandler(PlatformMemErrorHandler handler) {
    atomic_store_explicit(&pm.handler, handler, memory_order_release);
}

/* Heaps cross the ABI as their id (1..4096) disguised as an opaque pointer. */
PLATFORM_MEMORY_API PlatformHeap Platform_HeapCreate(void) {
    return pm_ready() ? (PlatformHeap) (intptr_t) pm.calls.heap_create() : NULL;
}

PLATFORM_MEMORY_API void *Platform_HeapAlloc(PlatformHeap heap, size_t size, uint32_t flags) {
    return size != 0 && pm_ready() ? pm.calls.heap_alloc((int64_t) (intptr_t) heap, size, flags) : NULL;
}

PLATFORM_MEMORY_API int Platform_HeapFree(PlatformHeap heap, void *ptr) {
    if (ptr == NULL) {
        return 1;
    }
    return pm_ready() ? pm.calls.heap_free((int64_t) (intptr_t) heap, ptr) : 0;
}

PLATFORM_MEMORY_API void Platform_HeapDestroy(PlatformHeap heap) {
    if (pm_ready()) {
        pm.calls.heap_destroy((int64_t) (intptr_t) heap);
    }
}
